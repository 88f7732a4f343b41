//! A transactional history in compact form: every `f: txn` op with its
//! micro-ops, keys and values interned to dense `u32` ids, list-append reads
//! stored as a length into one shared buffer per key.
//!
//! [`TxnBuilder`] takes finished ops one at a time (from a [`History`] or
//! straight from a reader through [`TxnReader`], so a large file is never
//! held as [`Value`] trees), checks every precondition the checker relies on,
//! and names the file and line of the first input that breaks one.

use crate::error::{InputError, InputErrorKind};
use crate::history::raw_txn::{RawF, RawTxn, RawVal, Scalar};
use crate::history::{Event, EventTarget, History, Op, Outcome, Paired, Pairing, F};
use crate::report::OpRef;
use crate::value::Value;
use hashbrown::{Equivalent, HashMap};
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::fmt;
use std::hash::{Hash, Hasher};

/// Index of an interned key.
pub type KeyId = u32;
/// Index of an interned `(key, value)`: an appended element or a register
/// value, written by at most one micro-op.
pub type ElemId = u32;

/// No such id.
pub const NONE: u32 = u32::MAX;
/// A register read of `nil` (the initial state), or a list read of `nil`
/// (the empty list), in [`Mop::v`].
pub const NIL: u32 = u32::MAX - 1;
/// A read whose result is unknown (its transaction did not complete `ok`).
pub const UNKNOWN: u32 = u32::MAX - 2;
/// The largest id the tables hand out.
const MAX_ID: u32 = u32::MAX - 3;

/// What a micro-op does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MopF {
    Read,
    Append,
    Write,
}

impl MopF {
    pub fn name(self) -> &'static str {
        match self {
            MopF::Read => "r",
            MopF::Append => "append",
            MopF::Write => "w",
        }
    }

    fn parse(s: &str) -> Option<MopF> {
        Some(match s {
            "r" | "read" => MopF::Read,
            "append" => MopF::Append,
            "w" | "write" => MopF::Write,
            _ => return None,
        })
    }
}

/// One micro-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mop {
    pub f: MopF,
    pub key: KeyId,
    /// Append and write: the [`ElemId`] written. Read: for list-append an
    /// index into [`TxnHistory::list_reads`], for rw-register the
    /// [`ElemId`] read; [`NIL`] for a read of nil, [`UNKNOWN`] when the
    /// transaction did not complete `ok`.
    pub v: u32,
}

/// One transaction (an op with `f: txn`): the op itself without its
/// values (they are in [`TxnHistory::mops`]), so every field the shared
/// history code keeps (process, outcome, positions, lines, times, node) is
/// kept the same way (through `Deref`). Real-time order is `a.ret < b.call`;
/// `ret` is `u64::MAX` for info.
#[derive(Clone, Debug, PartialEq)]
pub struct Txn {
    pub op: Op,
    /// This transaction's micro-ops: `mops[start..start + len]` of the history.
    pub mops_start: u32,
    pub mops_len: u32,
}

impl std::ops::Deref for Txn {
    type Target = Op;
    fn deref(&self) -> &Op {
        &self.op
    }
}

/// A list-append read: the first `len` elements of its key's longest read
/// ([`TxnHistory::longest`]), or, when it is not a prefix of that read, its
/// own elements at `explicit` in [`TxnHistory::explicit_elems`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListRead {
    pub len: u32,
    pub explicit: u32,
}

/// Which kind of transactional workload a history is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// `append` and `r` (reads return the whole list) on lists of unique elements.
    ListAppend,
    /// `w` and `r` on registers with unique values per key.
    RwRegister,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The element interned as `(key, value)`, with its one writer.
#[derive(Clone, Debug)]
pub struct Elem {
    pub key: KeyId,
    pub value: Value,
    /// Slot of the transaction that appended or wrote it, and the micro-op's
    /// index in it; `NONE` when no transaction did (a garbage read).
    pub writer: u32,
    pub writer_mop: u32,
}

/// A whole transactional history, validated.
#[derive(Clone, Debug)]
pub struct TxnHistory {
    pub file: String,
    pub workload: Workload,
    /// In op-id order; slot `i` is `txns[i]`.
    pub txns: Vec<Txn>,
    pub mops: Vec<Mop>,
    pub keys: Vec<Value>,
    pub elems: Vec<Elem>,
    pub list_reads: Vec<ListRead>,
    /// Per key, the longest list read that every shared read is a prefix of.
    pub longest: Vec<Vec<ElemId>>,
    pub explicit_elems: Vec<ElemId>,
    /// Events read and fault (nemesis) events among them, for the report.
    pub events: u64,
    pub faults: u64,
}

/// A micro-op's index in [`TxnHistory::mops`] and its interned value.
pub type MopValue = (u32, u32);

impl TxnHistory {
    pub fn mops_of(&self, t: &Txn) -> &[Mop] {
        &self.mops[t.mops_start as usize..(t.mops_start + t.mops_len) as usize]
    }

    /// What transaction `slot` read of `key` before it first wrote it (an
    /// ok transaction's reads only) and its last write of it, each as
    /// (micro-op index, value): the versions it saw and the one it left, as
    /// inference orders rw-register versions.
    pub fn saw_and_left(&self, slot: u32, key: KeyId) -> (Vec<MopValue>, Option<MopValue>) {
        let t = &self.txns[slot as usize];
        let ok = t.outcome == Outcome::Ok;
        let mut reads = Vec::new();
        let mut write = None;
        for i in t.mops_start..t.mops_start + t.mops_len {
            let m = &self.mops[i as usize];
            if m.key != key {
                continue;
            }
            match m.f {
                MopF::Read if ok && write.is_none() => reads.push((i, m.v)),
                MopF::Read => {}
                _ => write = Some((i, m.v)),
            }
        }
        (reads, write)
    }

    /// The elements a list-append read returned.
    pub fn list_read(&self, key: KeyId, r: u32) -> &[ElemId] {
        let lr = self.list_reads[r as usize];
        if lr.explicit == NONE {
            &self.longest[key as usize][..lr.len as usize]
        } else {
            &self.explicit_elems[lr.explicit as usize..(lr.explicit + lr.len) as usize]
        }
    }

    /// Elements of a read micro-op: empty for a read of nil, `None` when unknown.
    pub fn read_elems(&self, m: &Mop) -> Option<&[ElemId]> {
        match m.v {
            UNKNOWN => None,
            NIL => Some(&[]),
            r => Some(self.list_read(m.key, r)),
        }
    }

    /// A micro-op as the history wrote it, e.g. `[append 5 3]` or `[r 6 [1 2]]`.
    pub fn render_mop(&self, m: &Mop) -> Value {
        let v = match (m.f, self.workload) {
            (MopF::Read, _) if m.v == UNKNOWN || m.v == NIL => Value::Nil,
            (MopF::Read, Workload::ListAppend) => {
                Value::List(self.list_read(m.key, m.v).iter().map(|&e| self.elems[e as usize].value.clone()).collect())
            }
            _ => self.elems[m.v as usize].value.clone(),
        };
        Value::List(vec![Value::str(m.f.name()), self.keys[m.key as usize].clone(), v])
    }

    /// A transaction's micro-ops as a value (with the reads' results).
    pub fn render_txn(&self, t: &Txn) -> Value {
        Value::List(self.mops_of(t).iter().map(|m| self.render_mop(m)).collect())
    }

    /// The op of the transaction in `slot` as a report names it: its
    /// micro-ops as invoked (reads of nil) and, when it completed ok, as
    /// completed (with the reads' results).
    pub fn op_ref(&self, slot: usize) -> OpRef {
        let t = &self.txns[slot];
        let mut r = OpRef::new(&t.op);
        let invoked = self.mops_of(t).iter().map(|m| match m.f {
            MopF::Read => Value::List(vec![Value::str(m.f.name()), self.keys[m.key as usize].clone(), Value::Nil]),
            _ => self.render_mop(m),
        });
        r.input = Value::List(invoked.collect());
        if t.outcome == Outcome::Ok {
            r.output = self.render_txn(t);
        }
        r
    }
}

/// Builds a [`TxnHistory`] from finished ops.
pub struct TxnBuilder {
    file: String,
    /// Slot -> transaction; `None` until its op finishes.
    txns: Vec<Option<Txn>>,
    mops: Vec<Mop>,
    /// Keys interned: integers and strings apart (no value is built to
    /// look one up); `keys` holds each as a value for the report.
    key_ints: FxHashMap<i64, KeyId>,
    key_strs: HashMap<Box<str>, KeyId, FxBuildHasher>,
    keys: Vec<Value>,
    /// Elements interned by key and integer or string value.
    elem_ints: FxHashMap<(KeyId, i64), ElemId>,
    elem_strs: HashMap<(KeyId, Box<str>), ElemId, FxBuildHasher>,
    elems: Vec<Elem>,
    list_reads: Vec<ListRead>,
    /// Per key: the longest list read so far, as values (compared with
    /// each read, so kept together) and as ids.
    longest_vals: Vec<Vec<Value>>,
    longest: Vec<Vec<ElemId>>,
    explicit_elems: Vec<ElemId>,
    /// First line of each kind of evidence about the workload.
    first_append: Option<u64>,
    first_write: Option<u64>,
    first_list_read: Option<u64>,
    first_scalar_read: Option<u64>,
}

const MOP_SHAPE: &str = "a list of micro-ops like [append k v], [r k v] or [w k v]";

/// A short rendering of a value for error messages.
fn quote(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 60 {
        s
    } else {
        format!("{}...", s.chars().take(60).collect::<String>())
    }
}

/// Looks up `(key, string)` without allocating: hashes exactly as the
/// tuple does.
struct StrElem<'a>(KeyId, &'a str);

impl Hash for StrElem<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<(KeyId, Box<str>)> for StrElem<'_> {
    fn equivalent(&self, k: &(KeyId, Box<str>)) -> bool {
        self.0 == k.0 && *self.1 == *k.1
    }
}

/// A key or value as either source gives it: the raw scanner's scalars or
/// a value (an integer or string as such, anything else as `Other`, which
/// no table accepts).
#[derive(Clone, Copy)]
enum Sc<'a> {
    Int(i64),
    Str(&'a str),
    Other(&'a Value),
}

impl<'a> Sc<'a> {
    fn of(v: &'a Value) -> Sc<'a> {
        match v {
            Value::Int(i) => Sc::Int(*i),
            Value::Str(s) => Sc::Str(s),
            v => Sc::Other(v),
        }
    }

    fn raw(s: &'a Scalar) -> Sc<'a> {
        match s {
            Scalar::Int(i) => Sc::Int(*i),
            Scalar::Str(s) => Sc::Str(s),
        }
    }

    fn to_value(self) -> Value {
        match self {
            Sc::Int(i) => Value::Int(i),
            Sc::Str(s) => Value::Str(s.into()),
            Sc::Other(v) => v.clone(),
        }
    }

    fn same(self, o: Sc<'_>) -> bool {
        match (self, o) {
            (Sc::Int(a), Sc::Int(b)) => a == b,
            (Sc::Str(a), Sc::Str(b)) => a == b,
            (Sc::Other(a), Sc::Other(b)) => a == b,
            _ => false,
        }
    }
}

/// A list read's elements, from either source.
#[derive(Clone, Copy)]
enum Items<'a> {
    Values(&'a [Value]),
    Raw(&'a [Scalar]),
}

impl<'a> Items<'a> {
    fn len(self) -> usize {
        match self {
            Items::Values(v) => v.len(),
            Items::Raw(v) => v.len(),
        }
    }

    fn get(self, i: usize) -> Sc<'a> {
        match self {
            Items::Values(v) => Sc::of(&v[i]),
            Items::Raw(v) => Sc::raw(&v[i]),
        }
    }
}

/// A micro-op's third element.
#[derive(Clone, Copy)]
enum V<'a> {
    Nil,
    One(Sc<'a>),
    List(Items<'a>),
}

impl<'a> V<'a> {
    fn of(v: &'a Value) -> V<'a> {
        match v {
            Value::Nil => V::Nil,
            Value::Int(_) | Value::Str(_) => V::One(Sc::of(v)),
            v => match v.as_list() {
                Some(items) => V::List(Items::Values(items)),
                None => V::One(Sc::Other(v)),
            },
        }
    }

    fn same(self, o: V<'_>) -> bool {
        match (self, o) {
            (V::Nil, V::Nil) => true,
            (V::One(a), V::One(b)) => a.same(b),
            (V::List(a), V::List(b)) => a.len() == b.len() && (0..a.len()).all(|i| a.get(i).same(b.get(i))),
            _ => false,
        }
    }

    fn to_value(self) -> Value {
        match self {
            V::Nil => Value::Nil,
            V::One(s) => s.to_value(),
            V::List(items) => Value::List((0..items.len()).map(|i| items.get(i).to_value()).collect()),
        }
    }
}

/// One micro-op `[f k v]`, from either source.
#[derive(Clone, Copy)]
struct MopView<'a> {
    f: MopF,
    key: Sc<'a>,
    v: V<'a>,
}

/// A transaction's micro-ops, from either source.
#[derive(Clone, Copy)]
enum Mops<'a> {
    Values(&'a [Value]),
    Raw(&'a RawTxn),
}

impl<'a> Mops<'a> {
    fn len(self) -> usize {
        match self {
            Mops::Values(v) => v.len(),
            Mops::Raw(r) => r.mops.len(),
        }
    }

    /// Micro-op `i` (its value checked for shape; raw ones have it).
    fn get(self, b: &TxnBuilder, i: usize, line: u64) -> Result<MopView<'a>, InputError> {
        match self {
            Mops::Values(v) => b.parse_mop(&v[i], line),
            Mops::Raw(r) => {
                let m = &r.mops[i];
                let f = match m.f {
                    RawF::R | RawF::Read => MopF::Read,
                    RawF::Append => MopF::Append,
                    RawF::W | RawF::Write => MopF::Write,
                };
                let v = match &m.v {
                    RawVal::Nil => V::Nil,
                    RawVal::One(s) => V::One(Sc::raw(s)),
                    RawVal::List { start, len } => V::List(Items::Raw(r.list(*start, *len))),
                };
                Ok(MopView { f, key: Sc::raw(&m.key), v })
            }
        }
    }

    fn quote(self, i: usize) -> String {
        match self {
            Mops::Values(v) => quote(&v[i]),
            Mops::Raw(r) => quote(&r.mop_value(&r.mops[i])),
        }
    }
}

impl TxnBuilder {
    pub fn new(file: &str) -> TxnBuilder {
        TxnBuilder {
            file: file.to_string(),
            txns: Vec::new(),
            mops: Vec::new(),
            key_ints: FxHashMap::default(),
            key_strs: HashMap::default(),
            keys: Vec::new(),
            elem_ints: FxHashMap::default(),
            elem_strs: HashMap::default(),
            elems: Vec::new(),
            list_reads: Vec::new(),
            longest_vals: Vec::new(),
            longest: Vec::new(),
            explicit_elems: Vec::new(),
            first_append: None,
            first_write: None,
            first_list_read: None,
            first_scalar_read: None,
        }
    }

    fn err(&self, line: u64, reason: String) -> InputError {
        InputError::new(&self.file, line, InputErrorKind::BadTxn { reason })
    }

    /// The id of a new key or value when there are `count` (ids are dense
    /// from 0); an error naming `what` past [`MAX_ID`].
    fn next_id(&self, count: usize, line: u64, what: &str) -> Result<u32, InputError> {
        let id = count as u32;
        if id > MAX_ID {
            return Err(self.err(line, format!("more than {MAX_ID} {what}")));
        }
        Ok(id)
    }

    fn key(&mut self, k: Sc<'_>, line: u64) -> Result<KeyId, InputError> {
        let found = match k {
            Sc::Int(i) => self.key_ints.get(&i),
            Sc::Str(s) => self.key_strs.get(s),
            Sc::Other(v) => {
                return Err(self.err(line, format!("key {}: expected an integer, keyword or string", quote(v))))
            }
        };
        if let Some(&id) = found {
            return Ok(id);
        }
        let id = self.next_id(self.keys.len(), line, "keys")?;
        match k {
            Sc::Int(i) => self.key_ints.insert(i, id),
            Sc::Str(s) => self.key_strs.insert(s.into(), id),
            Sc::Other(_) => unreachable!("refused above"),
        };
        self.keys.push(k.to_value());
        self.longest_vals.push(Vec::new());
        self.longest.push(Vec::new());
        Ok(id)
    }

    fn elem(&mut self, key: KeyId, v: Sc<'_>, line: u64) -> Result<ElemId, InputError> {
        let found = match v {
            Sc::Int(i) => self.elem_ints.get(&(key, i)),
            Sc::Str(s) => self.elem_strs.get(&StrElem(key, s)),
            Sc::Other(v) => return Err(self.bad_value(key, v, line)),
        };
        if let Some(&id) = found {
            return Ok(id);
        }
        let id = self.next_id(self.elems.len(), line, "distinct values")?;
        match v {
            Sc::Int(i) => self.elem_ints.insert((key, i), id),
            Sc::Str(s) => self.elem_strs.insert((key, s.into()), id),
            Sc::Other(_) => unreachable!("refused above"),
        };
        self.elems.push(Elem { key, value: v.to_value(), writer: NONE, writer_mop: NONE });
        Ok(id)
    }

    fn bad_value(&self, key: KeyId, v: &Value, line: u64) -> InputError {
        let k = quote(&self.keys[key as usize]);
        self.err(line, format!("key {k}: value {}: expected an integer, keyword or string", quote(v)))
    }

    /// Parses one micro-op `[f k v]`.
    fn parse_mop<'v>(&self, m: &'v Value, line: u64) -> Result<MopView<'v>, InputError> {
        let shape = |what: String| self.err(line, what);
        let Some(items) = m.as_list() else {
            return Err(shape(format!("micro-op {}: expected [f k v] ({MOP_SHAPE})", quote(m))));
        };
        let [f, k, v] = items else {
            return Err(shape(format!("micro-op {}: expected three elements [f k v]", quote(m))));
        };
        let Some(mf) = f.as_str().and_then(MopF::parse) else {
            return Err(shape(format!(
                "micro-op {}: unknown function {}: expected append, r or w",
                quote(m),
                quote(f)
            )));
        };
        Ok(MopView { f: mf, key: Sc::of(k), v: V::of(v) })
    }

    /// Adds a finished op in slot `slot` (its op id, for a history read in
    /// one pass). Every client op of a transactional history must be a txn.
    pub fn add(&mut self, mut op: Op, slot: usize) -> Result<(), InputError> {
        let (input, output) = (std::mem::take(&mut op.input), std::mem::take(&mut op.output));
        self.add_parts(op, &input, &output, slot)
    }

    /// [`TxnBuilder::add`] of an op held elsewhere (its values are not copied).
    pub fn add_ref(&mut self, op: &Op, slot: usize) -> Result<(), InputError> {
        self.add_parts(op.without_values(), &op.input, &op.output, slot)
    }

    /// [`TxnBuilder::add`] of an op whose values are not built: the
    /// micro-ops its invoke and (when it completed ok) its completion had,
    /// as scanned ([`RawTxn`]).
    pub fn add_raw(
        &mut self,
        op: Op,
        invoked: &RawTxn,
        completed: Option<&RawTxn>,
        slot: usize,
    ) -> Result<(), InputError> {
        if op.f != F::Txn {
            return Err(self.not_txn(&op));
        }
        let completed = match (op.outcome, completed) {
            (Outcome::Ok, Some(c)) => Some(Mops::Raw(c)),
            (Outcome::Ok, None) => unreachable!("an ok raw txn comes with its completion's micro-ops"),
            _ => None,
        };
        self.add_mops(op, Mops::Raw(invoked), completed, slot)
    }

    fn not_txn(&self, op: &Op) -> InputError {
        self.err(
            op.invoke_line,
            format!("operation `{}` in a transactional history: every client op must be `txn`", op.f),
        )
    }

    /// Adds `op` (its values taken out: `input`, `output`).
    fn add_parts(&mut self, op: Op, input: &Value, output: &Value, slot: usize) -> Result<(), InputError> {
        let line = op.complete_line.unwrap_or(op.invoke_line);
        if op.f != F::Txn {
            return Err(self.not_txn(&op));
        }
        let Some(invoked) = input.as_list() else {
            return Err(self.err(op.invoke_line, format!("txn value {}: expected {MOP_SHAPE}", quote(input))));
        };
        let completed = match op.outcome {
            Outcome::Ok => match output.as_list() {
                Some(c) => Some(Mops::Values(c)),
                None => {
                    return Err(self.err(
                        line,
                        format!(
                            "ok txn value {}: expected the micro-ops with the reads' results ({MOP_SHAPE})",
                            quote(output)
                        ),
                    ))
                }
            },
            _ => None,
        };
        self.add_mops(op, Mops::Values(invoked), completed, slot)
    }

    fn add_mops(
        &mut self,
        op: Op,
        invoked: Mops<'_>,
        completed: Option<Mops<'_>>,
        slot: usize,
    ) -> Result<(), InputError> {
        let line = op.complete_line.unwrap_or(op.invoke_line);
        if let Some(c) = completed {
            if c.len() != invoked.len() {
                return Err(self.err(
                    line,
                    format!(
                        "the completion has {} micro-ops but its invoke (line {}) has {}",
                        c.len(),
                        op.invoke_line,
                        invoked.len()
                    ),
                ));
            }
        }
        let start = self.mops.len() as u32;
        for i in 0..invoked.len() {
            let m = invoked.get(self, i, op.invoke_line)?;
            let (m, mline) = match completed {
                Some(c) => {
                    let cm = c.get(self, i, line)?;
                    if cm.f != m.f || !cm.key.same(m.key) || (m.f != MopF::Read && !cm.v.same(m.v)) {
                        return Err(self.err(
                            line,
                            format!(
                                "the completion changes the txn's writes: micro-op {} is {} here but {} at the invoke (line {})",
                                i + 1,
                                c.quote(i),
                                invoked.quote(i),
                                op.invoke_line
                            ),
                        ));
                    }
                    (cm, line)
                }
                None => (m, op.invoke_line),
            };
            let (f, k, v) = (m.f, m.key, m.v);
            let key = self.key(k, mline)?;
            let v = match f {
                MopF::Append | MopF::Write => {
                    let first = if f == MopF::Append { &mut self.first_append } else { &mut self.first_write };
                    first.get_or_insert(op.invoke_line);
                    let sc = match v {
                        V::One(sc) => sc,
                        // A write of nil or of a list.
                        other => return Err(self.bad_value(key, &other.to_value(), op.invoke_line)),
                    };
                    let e = self.elem(key, sc, op.invoke_line)?;
                    let prev = &self.elems[e as usize];
                    if prev.writer != NONE {
                        // The first writer has finished (it is placed) unless it is this txn.
                        let prev_line =
                            self.txns.get(prev.writer as usize).and_then(|t| t.as_ref()).map_or(0, |t| t.invoke_line);
                        let other = if prev.writer as usize == slot {
                            "earlier in the same txn".to_string()
                        } else {
                            format!("at line {prev_line}")
                        };
                        let verb = if f == MopF::Append { "appended" } else { "written" };
                        // Knossos's multi-register histories are `txn`s of
                        // reads and writes too, but one register per key
                        // checked for linearizability, where values repeat.
                        let hint = if f == MopF::Write {
                            "; if this is a multi-register history (Knossos), check it with --model multi-register"
                        } else {
                            ""
                        };
                        return Err(self.err(
                            op.invoke_line,
                            format!(
                                "value {} {verb} to key {} twice ({other} and here): the checker needs unique values per key{hint}",
                                quote(&sc.to_value()),
                                quote(&k.to_value())
                            ),
                        ));
                    }
                    self.elems[e as usize].writer = slot as u32;
                    self.elems[e as usize].writer_mop = i as u32;
                    e
                }
                MopF::Read if completed.is_none() => UNKNOWN,
                MopF::Read => self.read(key, v, mline)?,
            };
            self.mops.push(Mop { f, key, v });
        }
        if self.mops.len() > MAX_ID as usize {
            return Err(self.err(line, format!("more than {MAX_ID} micro-ops")));
        }
        if slot >= self.txns.len() {
            self.txns.resize(slot + 1, None);
        }
        let mops_len = invoked.len() as u32;
        self.txns[slot] = Some(Txn { op, mops_start: start, mops_len });
        Ok(())
    }

    /// A read's result: list reads are shared with the key's longest read
    /// when they are a prefix of it (or extend it).
    fn read(&mut self, key: KeyId, v: V<'_>, line: u64) -> Result<u32, InputError> {
        match v {
            V::Nil => Ok(NIL),
            V::One(Sc::Other(v)) => {
                let k = quote(&self.keys[key as usize]);
                Err(self.err(line, format!("read of key {k} returned {}: expected a list, a value or nil", quote(v))))
            }
            V::One(sc) => {
                self.first_scalar_read.get_or_insert(line);
                self.elem(key, sc, line)
            }
            V::List(items) => {
                self.first_list_read.get_or_insert(line);
                let r = self.list_reads.len() as u32;
                if r > MAX_ID {
                    return Err(self.err(line, format!("more than {MAX_ID} reads")));
                }
                let len = items.len();
                let longest = &self.longest_vals[key as usize];
                let n = len.min(longest.len());
                // A prefix of the longest read so far: no lookup for its elements.
                let prefix = (0..n).all(|i| items.get(i).same(Sc::of(&longest[i])));
                let lr = if prefix {
                    for i in n..len {
                        let x = items.get(i);
                        let e = self.elem(key, x, line)?;
                        self.longest_vals[key as usize].push(x.to_value());
                        self.longest[key as usize].push(e);
                    }
                    ListRead { len: len as u32, explicit: NONE }
                } else {
                    let at = self.explicit_elems.len() as u32;
                    for i in 0..len {
                        let e = self.elem(key, items.get(i), line)?;
                        self.explicit_elems.push(e);
                    }
                    ListRead { len: len as u32, explicit: at }
                };
                self.list_reads.push(lr);
                Ok(r)
            }
        }
    }
    /// Ends the history: every slot must hold a transaction, and the
    /// evidence must point to one workload.
    pub fn finish(self, events: u64, faults: u64) -> Result<TxnHistory, InputError> {
        let workload = match (self.first_append, self.first_write) {
            (Some(a), Some(w)) => {
                let (line, what, other, other_line) = if a > w { (a, "append", "w", w) } else { (w, "w", "append", a) };
                return Err(self.err(
                    line,
                    format!(
                        "micro-op `{what}` in a history that also has `{other}` (line {other_line}): \
                         a history is either list-append (append, r) or rw-register (w, r)"
                    ),
                ));
            }
            (Some(_), None) => Workload::ListAppend,
            (None, Some(_)) => Workload::RwRegister,
            (None, None) if self.first_list_read.is_some() => Workload::ListAppend,
            (None, None) => Workload::RwRegister,
        };
        let wrong_read = match workload {
            Workload::ListAppend => self.first_scalar_read.map(|l| (l, "a single value", "a list")),
            Workload::RwRegister => self.first_list_read.map(|l| (l, "a list", "a single value or nil")),
        };
        if let Some((line, found, expected)) = wrong_read {
            return Err(self.err(line, format!("a read returned {found} in a {workload} history: expected {expected}")));
        }
        let mut txns = Vec::with_capacity(self.txns.len());
        for (slot, t) in self.txns.into_iter().enumerate() {
            // Slots are op ids; a gap is an op that never reached the builder.
            txns.push(t.ok_or_else(|| {
                InputError::new(&self.file, 0, InputErrorKind::BadTxn { reason: format!("op {slot} is missing") })
            })?);
        }
        if txns.is_empty() {
            return Err(InputError::new(&self.file, 0, InputErrorKind::Empty));
        }
        Ok(TxnHistory {
            file: self.file,
            workload,
            txns,
            mops: self.mops,
            keys: self.keys,
            elems: self.elems,
            list_reads: self.list_reads,
            longest: self.longest,
            explicit_elems: self.explicit_elems,
            events,
            faults,
        })
    }
}

impl TxnHistory {
    /// The transactional view of a history whose client ops are all `txn`.
    pub fn from_history(file: &str, h: &History) -> Result<TxnHistory, InputError> {
        let mut b = TxnBuilder::new(file);
        for (slot, op) in h.ops.iter().enumerate() {
            b.add_ref(op, slot)?;
        }
        b.finish(h.events, h.faults.len() as u64)
    }
}

/// Reads events straight into a [`TxnHistory`] (an [`EventTarget`]): ops are
/// converted as they finish, so the history is never held as values. From
/// the JSON Lines reader it takes micro-ops as scanned ([`RawTxn`]), so no
/// value is built for them at all.
pub struct TxnReader {
    pairing: Pairing,
    builder: TxnBuilder,
    faults: u64,
    /// Open ops' invoke micro-ops, when scanned raw, by op id.
    open_raw: FxHashMap<u32, Box<RawTxn>>,
}

impl TxnReader {
    pub fn new(file: &str) -> TxnReader {
        TxnReader::named(file, file)
    }

    /// A reader whose pairing errors name `file` and whose transaction
    /// errors name `txn_file` (`""` for a caller that names the file itself).
    pub fn named(file: &str, txn_file: &str) -> TxnReader {
        TxnReader {
            pairing: Pairing::new(file),
            builder: TxnBuilder::new(txn_file),
            faults: 0,
            open_raw: FxHashMap::default(),
        }
    }

    /// A finished op to the builder, with its invoke's raw micro-ops (if
    /// scanned so) and its completion's (`completed`, if this event had
    /// them). An ok op whose two events came apart (one raw, one a value)
    /// goes as values.
    fn finished(&mut self, mut op: Op, completed: Option<Box<RawTxn>>) -> Result<(), InputError> {
        let slot = op.id.0 as usize;
        match (self.open_raw.remove(&op.id.0), completed) {
            (None, None) => self.builder.add(op, slot),
            (Some(inv), c) if op.outcome != Outcome::Ok || c.is_some() => {
                self.builder.add_raw(op, &inv, c.as_deref(), slot)
            }
            (inv, c) => {
                if let Some(inv) = inv {
                    op.input = inv.to_value();
                }
                if let Some(c) = c {
                    op.output = c.to_value();
                }
                self.builder.add(op, slot)
            }
        }
    }
}

impl EventTarget for TxnReader {
    type Output = TxnHistory;

    fn push(&mut self, e: Event) -> Result<(), InputError> {
        match self.pairing.push(e)? {
            Paired::Opened(_) => Ok(()),
            Paired::Fault(_) => {
                self.faults += 1;
                Ok(())
            }
            Paired::Finished(op) => self.finished(op, None),
        }
    }

    fn wants_raw_txn(&self) -> bool {
        true
    }

    fn push_raw(&mut self, e: Event, raw: Option<Box<RawTxn>>) -> Result<(), InputError> {
        let Some(raw) = raw else { return self.push(e) };
        match self.pairing.push(e)? {
            Paired::Opened(id) => {
                self.open_raw.insert(id.0, raw);
                Ok(())
            }
            // The scanner gives nemesis events their values.
            Paired::Fault(_) => {
                self.faults += 1;
                Ok(())
            }
            Paired::Finished(op) => self.finished(op, Some(raw)),
        }
    }

    fn finish(mut self) -> Result<TxnHistory, InputError> {
        for op in self.pairing.finish()? {
            self.finished(op, None)?;
        }
        self.builder.finish(self.pairing.events(), self.faults)
    }
}
