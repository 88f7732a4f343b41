//! The history model: raw events as read from a file, and the operations
//! (invoke paired with completion) that every check works on.
//!
//! Architecture invariant: this module knows no file format. Readers turn
//! bytes into [`Event`]s; [`HistoryBuilder`] pairs them into [`Op`]s and is the
//! single place where the event-level rules (one open op per process, no
//! completion without invoke, ...) are enforced.

use crate::error::{InputError, InputErrorKind};
use crate::value::{quote, SharedList, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// What an event says about its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Invoke,
    /// Took effect; the result is known.
    Ok,
    /// Definitely did not take effect.
    Fail,
    /// Unknown: may or may not have taken effect, at any time after invoke.
    Info,
}

impl EventType {
    pub fn parse(s: &str) -> Option<EventType> {
        Some(match s {
            "invoke" => EventType::Invoke,
            "ok" => EventType::Ok,
            "fail" => EventType::Fail,
            "info" => EventType::Info,
            _ => return None,
        })
    }
}

/// Who issued an event.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Process {
    /// A client, `0..=MAX_CLIENT_PROCESS`.
    Client(u64),
    /// Fault injection; its events are faults, not operations.
    Nemesis,
    /// No process given (Elle's hand-written histories leave it out): all
    /// such events are one process, as Elle treats a nil process. After an
    /// `info` retires it, the next anonymous invoke starts a fresh one, as
    /// Jepsen would with a new process id. [`Pairing`] numbers these from
    /// [`ANONYMOUS_PROCESS_BASE`] up.
    Anonymous,
}

/// The largest client process id (2^63 - 1): the same in every format, and
/// leaves the ids above for anonymous processes.
pub const MAX_CLIENT_PROCESS: u64 = i64::MAX as u64;
/// [`Op::process`] of the first anonymous process; the n-th after it (each
/// after an `info` retired the previous) is this plus n.
pub const ANONYMOUS_PROCESS_BASE: u64 = MAX_CLIENT_PROCESS + 1;

/// How reports name an op's process: its number, or `nil` (`nil+1`, ...)
/// for anonymous ones.
pub fn process_name(p: u64) -> String {
    match p.checked_sub(ANONYMOUS_PROCESS_BASE) {
        None => p.to_string(),
        Some(0) => "nil".into(),
        Some(n) => format!("nil+{n}"),
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => f.write_str("nemesis"),
            Process::Anonymous => f.write_str("nil"),
        }
    }
}

/// The operation's function name. Common names are interned; anything else
/// is kept verbatim in `Other`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum F {
    Read,
    Write,
    Cas,
    Get,
    Put,
    Append,
    Add,
    Incr,
    Transfer,
    Acquire,
    Release,
    Enqueue,
    Dequeue,
    Txn,
    Other(Box<str>),
}

impl F {
    pub fn parse(s: &str) -> F {
        match s {
            "read" => F::Read,
            "write" => F::Write,
            "cas" => F::Cas,
            "get" => F::Get,
            "put" => F::Put,
            "append" => F::Append,
            "add" => F::Add,
            "incr" => F::Incr,
            "transfer" => F::Transfer,
            "acquire" => F::Acquire,
            "release" => F::Release,
            "enqueue" => F::Enqueue,
            "dequeue" => F::Dequeue,
            "txn" => F::Txn,
            other => F::Other(other.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            F::Read => "read",
            F::Write => "write",
            F::Cas => "cas",
            F::Get => "get",
            F::Put => "put",
            F::Append => "append",
            F::Add => "add",
            F::Incr => "incr",
            F::Transfer => "transfer",
            F::Acquire => "acquire",
            F::Release => "release",
            F::Enqueue => "enqueue",
            F::Dequeue => "dequeue",
            F::Txn => "txn",
            F::Other(s) => s,
        }
    }
}

impl fmt::Display for F {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for F {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One line (or one map) of a history file, format-independent.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// 1-based line number in the source file (for error messages and reports).
    pub line: u64,
    pub kind: EventType,
    pub process: Process,
    pub f: F,
    /// `None` when the history has a single object.
    pub key: Option<Value>,
    /// On invoke the argument; on ok the result.
    pub value: Value,
    /// Nanoseconds; optional, for display and staleness only. Line order
    /// is authoritative: times may go backwards (Jepsen records them per
    /// thread).
    pub time_ns: Option<i64>,
    /// Jepsen's `:index`, when the source has one.
    pub index: Option<u64>,
    /// The replica that served the op.
    pub node: Option<Box<str>>,
    /// A read issued after faults healed and the system quiesced.
    pub is_final: bool,
}

impl Event {
    /// A bare event with no key, time, index or node: convenient for readers
    /// and tests, which then set what they have.
    pub fn new(line: u64, kind: EventType, process: Process, f: F, value: Value) -> Event {
        Event { line, kind, process, f, key: None, value, time_ns: None, index: None, node: None, is_final: false }
    }
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Fail,
    /// Indeterminate: a timed-out op, or one still open at the end of the file.
    Info,
}

/// Index of an op in [`History::ops`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct OpId(pub u32);

/// An operation: an invoke paired with its completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub id: OpId,
    pub process: u64,
    pub f: F,
    pub key: Option<Value>,
    /// The invoke's value (the argument).
    pub input: Value,
    /// The completion's value (a read's result). `Nil` for info and fail ops
    /// and for ops that never completed.
    pub output: Value,
    pub outcome: Outcome,
    /// Position of the invoke among all events (0-based). Real-time order:
    /// `a` precedes `b` iff `a.ret < b.call`.
    pub call: u64,
    /// Position of the completion; `u64::MAX` for info ops, which may take
    /// effect at any time after their invoke.
    pub ret: u64,
    pub invoke_line: u64,
    /// `None` when the op never completed in the file.
    pub complete_line: Option<u64>,
    pub invoke_time_ns: Option<i64>,
    pub complete_time_ns: Option<i64>,
    pub node: Option<Box<str>>,
    pub is_final: bool,
}

impl Op {
    /// Stands in for an open op in [`HistoryBuilder`] until it finishes.
    fn placeholder(id: OpId) -> Op {
        Op {
            id,
            process: 0,
            f: F::Read,
            key: None,
            input: Value::Nil,
            output: Value::Nil,
            outcome: Outcome::Info,
            call: u64::MAX,
            ret: u64::MAX,
            invoke_line: 0,
            complete_line: None,
            invoke_time_ns: None,
            complete_time_ns: None,
            node: None,
            is_final: false,
        }
    }

    /// Real-time order: this op completed before `other` was invoked.
    pub fn precedes(&self, other: &Op) -> bool {
        self.ret < other.call
    }

    /// The value this op is "about": for ok ops the completion's value when it
    /// has one, else the invoke's. Jepsen puts a read's result on the ok event
    /// and a write's argument on both.
    pub fn value(&self) -> &Value {
        if self.outcome == Outcome::Ok && !self.output.is_nil() {
            &self.output
        } else {
            &self.input
        }
    }
}

/// A fault event from the nemesis, kept for reports and timelines.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fault {
    pub line: u64,
    /// Position among all events, comparable with [`Op::call`].
    pub position: u64,
    pub kind: EventType,
    pub f: F,
    pub value: Value,
    pub time_ns: Option<i64>,
}

/// A whole, validated history.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Ops in invoke order: `ops[i].id == OpId(i)` (in a shard: ascending ids,
    /// see [`History::shard_of`]). Code that edits `ops` must keep this.
    pub ops: Vec<Op>,
    pub faults: Vec<Fault>,
    /// Number of events read (invokes, completions and faults).
    pub events: u64,
    /// Set in a shard of a larger history, whose op ids are not dense.
    sparse: Option<SparseIds>,
}

/// Where each op of a shard sits in its `ops`: a bitmap of the ids present
/// with running counts, so a lookup is two array reads. 12 bytes per 64 ids
/// of the whole history (2 MB for 10M ops).
#[derive(Clone, Debug, Default)]
struct SparseIds {
    words: Vec<u64>,
    /// Ids present in the words before each word.
    before: Vec<u32>,
}

impl SparseIds {
    /// `ops` must be in ascending id order.
    fn new(ops: &[Op]) -> SparseIds {
        let words_len = ops.last().map_or(0, |o| o.id.0 as usize / 64 + 1);
        let mut words = vec![0u64; words_len];
        for o in ops {
            words[o.id.0 as usize / 64] |= 1 << (o.id.0 % 64);
        }
        let mut before = Vec::with_capacity(words_len);
        let mut n = 0u32;
        for w in &words {
            before.push(n);
            n += w.count_ones();
        }
        SparseIds { words, before }
    }

    fn index(&self, id: OpId) -> Option<usize> {
        let w = id.0 as usize / 64;
        let word = *self.words.get(w)?;
        let bit = 1u64 << (id.0 % 64);
        (word & bit != 0).then(|| self.before[w] as usize + (word & (bit - 1)).count_ones() as usize)
    }
}

impl History {
    /// Builds a history from events, enforcing the event-level rules.
    /// `file` names the source in errors.
    pub fn from_events<I>(file: &str, events: I) -> Result<History, InputError>
    where
        I: IntoIterator<Item = Event>,
    {
        let mut b = HistoryBuilder::new(file);
        for e in events {
            b.push(e)?;
        }
        b.finish()
    }

    /// Ops grouped by key, each group in invoke order. Keys are sorted so that
    /// reports are deterministic. Ops without a key form the `None` group.
    pub fn by_key(&self) -> BTreeMap<Option<&Value>, Vec<OpId>> {
        let mut m: BTreeMap<Option<&Value>, Vec<OpId>> = BTreeMap::new();
        for op in &self.ops {
            m.entry(op.key.as_ref()).or_default().push(op.id);
        }
        m
    }

    /// The op with this id. Ids are dense (`ops[i].id == OpId(i)`) except in
    /// one shard of a larger history, where ops keep the whole history's ids
    /// (so reports name the same ops) and are found through its rank bitmap.
    pub fn op(&self, id: OpId) -> &Op {
        self.get(id).unwrap_or_else(|| panic!("op {} is not in this history", id.0))
    }

    /// The op with this id, if the history has it.
    pub fn get(&self, id: OpId) -> Option<&Op> {
        if let Some(sparse) = &self.sparse {
            return sparse.index(id).and_then(|i| self.ops.get(i));
        }
        match self.ops.get(id.0 as usize) {
            Some(op) if op.id == id => Some(op),
            // Not built by `HistoryBuilder` or `shard_of`: search.
            _ => self.ops.binary_search_by_key(&id, |o| o.id).ok().map(|i| &self.ops[i]),
        }
    }

    /// A history of some of a larger history's ops (a shard), which keep
    /// their ids so that reports name the same ops. `ops` must be in ascending
    /// id order.
    pub fn shard_of(ops: Vec<Op>, faults: Vec<Fault>, events: u64) -> History {
        debug_assert!(ops.windows(2).all(|w| w[0].id < w[1].id));
        let sparse = Some(SparseIds::new(&ops));
        History { ops, faults, events, sparse }
    }
}

/// Where readers send events: a [`HistoryBuilder`] (the whole history in
/// memory) or a streaming consumer of finished ops (see [`Pairing`]).
pub trait EventTarget {
    type Output;
    fn push(&mut self, e: Event) -> Result<(), InputError>;
    fn finish(self) -> Result<Self::Output, InputError>;
}

/// What one event turned into.
#[derive(Debug)]
pub enum Paired {
    /// An invoke: its op (with this id) is open until its completion.
    Opened(OpId),
    Fault(Fault),
    /// A finished op (ok, fail or info), with the id it got at its invoke.
    /// Ops finish in completion order, not id order.
    Finished(Op),
}

const CLIENT_EXPECTED: &str = "a client process id from 0 to 2^63-1";

/// process id -> `T`: a vector for the small ids clients have (Jepsen's
/// grow by the concurrency at every `info`), a hash map beyond.
struct ByProcess<T> {
    dense: Vec<T>,
    sparse: rustc_hash::FxHashMap<u64, T>,
    /// What an id not in the table maps to.
    none: T,
}

/// Ids below this are kept in the vector (at most 4 bytes × this for open
/// ops and 8 for retired ones, and only up to the largest id seen).
const DENSE_PROCESSES: u64 = 1 << 22;

impl<T: Copy + PartialEq> ByProcess<T> {
    fn new(none: T) -> ByProcess<T> {
        ByProcess { dense: Vec::new(), sparse: Default::default(), none }
    }

    fn get(&self, p: u64) -> T {
        if p < DENSE_PROCESSES {
            self.dense.get(p as usize).copied().unwrap_or(self.none)
        } else {
            self.sparse.get(&p).copied().unwrap_or(self.none)
        }
    }

    fn set(&mut self, p: u64, v: T) {
        if p < DENSE_PROCESSES {
            let i = p as usize;
            if i >= self.dense.len() {
                if v == self.none {
                    return;
                }
                self.dense.resize((i + 1).max(2 * self.dense.len()).min(DENSE_PROCESSES as usize), self.none);
            }
            self.dense[i] = v;
        } else if v == self.none {
            self.sparse.remove(&p);
        } else {
            self.sparse.insert(p, v);
        }
    }
}

/// Where the open ops are kept while [`Pairing`] pairs events: a
/// [`HistoryBuilder`] keeps every op where it will stay, so that an op is
/// written once and completed in place; a stream ([`Pairing::push`]) keeps
/// only the open ones.
pub(crate) trait OpSlots {
    /// Keeps a newly invoked op; returns where.
    fn open(&mut self, op: Op) -> u32;
    fn op_mut(&mut self, slot: u32) -> &mut Op;
}

/// What one event did, with the op left in its slot.
pub(crate) enum Step {
    Opened,
    Fault(Fault),
    /// The op in this slot is complete.
    Finished(u32),
}

/// Open ops in reusable slots, for [`Pairing::push`].
#[derive(Default)]
struct Slab {
    slots: Vec<Op>,
    occupied: Vec<bool>,
    free: Vec<u32>,
}

impl OpSlots for Slab {
    fn open(&mut self, op: Op) -> u32 {
        match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = op;
                self.occupied[s as usize] = true;
                s
            }
            None => {
                self.slots.push(op);
                self.occupied.push(true);
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn op_mut(&mut self, slot: u32) -> &mut Op {
        &mut self.slots[slot as usize]
    }
}

impl Slab {
    fn take(&mut self, slot: u32) -> Op {
        self.free.push(slot);
        self.occupied[slot as usize] = false;
        std::mem::replace(&mut self.slots[slot as usize], Op::placeholder(OpId(u32::MAX)))
    }
}

const NO_SLOT: u32 = u32::MAX;
const NOT_RETIRED: u64 = u64::MAX;

/// The event-level rules, event by event: pairs each invoke with its
/// completion while holding only the open ops (at most one per process), so
/// that a history of any length can be streamed.
pub struct Pairing {
    file: String,
    /// process -> slot of its open op.
    open: ByProcess<u32>,
    /// process -> line of the info that retired it.
    retired: ByProcess<u64>,
    /// Id of the current anonymous process (see [`Process::Anonymous`]).
    anonymous: u64,
    last_index: Option<(u64, u64)>,
    events: u64,
    next_id: u64,
    /// The open ops, for [`Pairing::push`].
    slab: Slab,
}

impl Pairing {
    pub fn new(file: &str) -> Pairing {
        Pairing {
            file: file.to_string(),
            open: ByProcess::new(NO_SLOT),
            retired: ByProcess::new(NOT_RETIRED),
            anonymous: ANONYMOUS_PROCESS_BASE,
            last_index: None,
            events: 0,
            next_id: 0,
            slab: Slab::default(),
        }
    }

    fn err(&self, line: u64, kind: InputErrorKind) -> InputError {
        InputError::new(&self.file, line, kind)
    }

    /// Events seen so far (invokes, completions and faults).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Pairs one event, keeping open ops itself; a finished op is handed back.
    pub fn push(&mut self, e: Event) -> Result<Paired, InputError> {
        let mut slab = std::mem::take(&mut self.slab);
        let step = self.push_to(e, &mut slab);
        let out = match step {
            Ok(Step::Opened) => {
                // The op just opened is the last invoked.
                Ok(Paired::Opened(OpId(self.next_id as u32 - 1)))
            }
            Ok(Step::Fault(f)) => Ok(Paired::Fault(f)),
            Ok(Step::Finished(slot)) => Ok(Paired::Finished(slab.take(slot))),
            Err(e) => Err(e),
        };
        self.slab = slab;
        out
    }

    /// Pairs one event, with the open ops kept in `slots`.
    pub(crate) fn push_to<S: OpSlots>(&mut self, e: Event, slots: &mut S) -> Result<Step, InputError> {
        let position = self.events;
        // Times are not checked: Jepsen takes them per thread, so they may
        // go backwards in file order, which is what counts.
        if let Some(i) = e.index {
            if let Some((prev, prev_line)) = self.last_index {
                if i <= prev {
                    return Err(self.err(
                        e.line,
                        InputErrorKind::IndexNotIncreasing { index: i, previous: prev, previous_line: prev_line },
                    ));
                }
            }
            self.last_index = Some((i, e.line));
        }
        self.events += 1;
        let p = match e.process {
            Process::Nemesis => {
                let (line, kind, f, value, time_ns) = (e.line, e.kind, e.f, e.value, e.time_ns);
                return Ok(Step::Fault(Fault { line, position, kind, f, value, time_ns }));
            }
            Process::Client(p) if p > MAX_CLIENT_PROCESS => {
                let found = p.to_string();
                let kind = InputErrorKind::BadField { field: "process", expected: CLIENT_EXPECTED, found };
                return Err(self.err(e.line, kind));
            }
            Process::Client(p) => p,
            Process::Anonymous => {
                if e.kind == EventType::Invoke && self.retired.get(self.anonymous) != NOT_RETIRED {
                    self.anonymous += 1;
                }
                self.anonymous
            }
        };
        let slot = self.open.get(p);
        match e.kind {
            EventType::Invoke => {
                if slot != NO_SLOT {
                    let open_line = slots.op_mut(slot).invoke_line;
                    return Err(self.err(e.line, InputErrorKind::DoubleInvoke { process: p, open_line }));
                }
                let info_line = self.retired.get(p);
                if info_line != NOT_RETIRED {
                    return Err(self.err(e.line, InputErrorKind::InvokeAfterInfo { process: p, info_line }));
                }
                let id = self.next_id;
                if id >= u32::MAX as u64 {
                    return Err(self.err(e.line, InputErrorKind::TooManyOps { limit: u32::MAX as u64 }));
                }
                self.next_id += 1;
                let slot = slots.open(Op {
                    id: OpId(id as u32),
                    process: p,
                    f: e.f,
                    key: e.key,
                    input: e.value,
                    output: Value::Nil,
                    outcome: Outcome::Info,
                    call: position,
                    ret: u64::MAX,
                    invoke_line: e.line,
                    complete_line: None,
                    invoke_time_ns: e.time_ns,
                    complete_time_ns: None,
                    node: e.node,
                    is_final: e.is_final,
                });
                self.open.set(p, slot);
                Ok(Step::Opened)
            }
            kind => {
                if slot == NO_SLOT {
                    return Err(
                        self.err(e.line, InputErrorKind::CompletionWithoutInvoke { process: p, f: e.f.to_string() })
                    );
                }
                let op = slots.op_mut(slot);
                if op.f != e.f {
                    let (expected, found) = (op.f.to_string(), e.f.to_string());
                    let open_line = op.invoke_line;
                    return Err(
                        self.err(e.line, InputErrorKind::CompletionMismatch { process: p, expected, found, open_line })
                    );
                }
                // Keys usually come on both events; one given on only one
                // of them is the op's key (a Jepsen op's completion carries
                // what its invoke did, plus what it learned).
                match (&op.key, e.key) {
                    (Some(a), Some(b)) if *a != b => {
                        let found = format!("{} (its invoke at line {} has {})", quote(&b), op.invoke_line, quote(a));
                        let kind =
                            InputErrorKind::BadField { field: "key", expected: "the key of the op's invoke", found };
                        return Err(self.err(e.line, kind));
                    }
                    (None, Some(b)) => op.key = Some(b),
                    _ => {}
                }
                op.complete_line = Some(e.line);
                op.complete_time_ns = e.time_ns;
                if e.node.is_some() {
                    op.node = e.node;
                }
                op.is_final |= e.is_final;
                match kind {
                    EventType::Ok => {
                        op.outcome = Outcome::Ok;
                        op.ret = position;
                        op.output = e.value;
                    }
                    EventType::Fail => {
                        op.outcome = Outcome::Fail;
                        op.ret = position;
                    }
                    EventType::Info => {
                        op.outcome = Outcome::Info;
                        self.retired.set(p, e.line);
                    }
                    EventType::Invoke => unreachable!(),
                }
                self.open.set(p, NO_SLOT);
                Ok(Step::Finished(slot))
            }
        }
    }

    /// Ends the stream. Ops still open become info ops (indeterminate), as in
    /// Jepsen; they are taken out and returned in id order. An empty stream is
    /// an error.
    pub fn finish(&mut self) -> Result<Vec<Op>, InputError> {
        self.finish_slots()?;
        let slab = std::mem::take(&mut self.slab);
        let mut open: Vec<Op> =
            slab.slots.into_iter().zip(slab.occupied).filter_map(|(op, live)| live.then_some(op)).collect();
        open.sort_unstable_by_key(|o| o.id);
        Ok(open)
    }

    /// Ends the stream for a caller that keeps the ops: those still open
    /// stay as they are, info ops (indeterminate), as in Jepsen. An empty
    /// stream is an error.
    pub(crate) fn finish_slots(&mut self) -> Result<(), InputError> {
        if self.events == 0 {
            return Err(self.err(0, InputErrorKind::Empty));
        }
        Ok(())
    }
}

/// Incremental pairing of events into a whole [`History`] in memory; used
/// by [`History::from_events`] and by the readers.
pub struct HistoryBuilder {
    pairing: Pairing,
    /// Op `i` at index `i`: written at its invoke (open, as an info op) and
    /// completed in place.
    ops: Vec<Op>,
    faults: Vec<Fault>,
    lists: ListShare,
}

/// A builder's op slots are the ops themselves: slot = id.
struct InPlace<'a>(&'a mut Vec<Op>);

impl OpSlots for InPlace<'_> {
    fn open(&mut self, op: Op) -> u32 {
        debug_assert_eq!(op.id.0 as usize, self.0.len(), "ids are given in invoke order");
        self.0.push(op);
        (self.0.len() - 1) as u32
    }

    fn op_mut(&mut self, slot: u32) -> &mut Op {
        &mut self.0[slot as usize]
    }
}

impl HistoryBuilder {
    pub fn new(file: &str) -> HistoryBuilder {
        HistoryBuilder { pairing: Pairing::new(file), ops: Vec::new(), faults: Vec::new(), lists: ListShare::default() }
    }

    pub fn push(&mut self, e: Event) -> Result<(), InputError> {
        match self.pairing.push_to(e, &mut InPlace(&mut self.ops))? {
            Step::Opened => {}
            Step::Fault(f) => self.faults.push(f),
            Step::Finished(slot) => {
                let i = slot as usize;
                self.lists.take_in_place(&mut self.ops[i], i);
            }
        }
        Ok(())
    }

    /// Ends the history. Ops still open become info ops (indeterminate), as
    /// in Jepsen.
    pub fn finish(mut self) -> Result<History, InputError> {
        self.pairing.finish_slots()?;
        let events = self.pairing.events();
        let mut ops = self.ops;
        self.lists.finish(&mut ops);
        Ok(History { ops, faults: self.faults, events, sparse: None })
    }
}

impl EventTarget for HistoryBuilder {
    type Output = History;
    fn push(&mut self, e: Event) -> Result<(), InputError> {
        HistoryBuilder::push(self, e)
    }
    fn finish(self) -> Result<History, InputError> {
        HistoryBuilder::finish(self)
    }
}

/// Shares list reads per key while a history is built. A list-append read
/// returns the whole list, so storing every read costs elements × reads
/// (121M values, ~4 GB, for 1M ops on 1,000 keys). Instead, an ok read whose
/// list is a prefix of the longest list read so far on its key, or extends
/// it, keeps only its length; [`ListShare::finish`] turns those into
/// [`Value::SharedList`] views of one buffer per key. Reads that are neither
/// (in an invalid history) keep their own list. Lossless: a shared list is
/// indistinguishable from the list it replaces.
#[derive(Default)]
pub(crate) struct ListShare {
    slot_of_key: BTreeMap<Option<Value>, usize>,
    longest: Vec<Vec<Value>>,
    /// (op index, slot, length) of each read waiting for its view.
    pending: Vec<(u32, u32, u32)>,
}

impl ListShare {
    /// Files an ok read's list for sharing, leaving `Nil` in its place until
    /// [`ListShare::finish`]; other ops pass through.
    /// `index` is where the op will sit in the slice given to `finish`.
    pub(crate) fn take(&mut self, mut op: Op, index: usize) -> Op {
        self.take_in_place(&mut op, index);
        op
    }

    /// [`ListShare::take`] for an op that stays where it is.
    pub(crate) fn take_in_place(&mut self, op: &mut Op, index: usize) {
        if op.outcome == Outcome::Ok && op.f == F::Read && matches!(op.output, Value::List(_)) {
            let Value::List(items) = std::mem::take(&mut op.output) else { unreachable!("matched above") };
            op.output = self.offer(&op.key, items, index).map_or(Value::Nil, Value::List);
        }
    }

    /// Takes a read's list; gives it back when it cannot be shared.
    fn offer(&mut self, key: &Option<Value>, items: Vec<Value>, op_index: usize) -> Option<Vec<Value>> {
        if items.is_empty() || items.len() > u32::MAX as usize {
            return Some(items);
        }
        let slot = match self.slot_of_key.get(key) {
            Some(&s) => s,
            None => {
                self.slot_of_key.insert(key.clone(), self.longest.len());
                self.longest.push(Vec::new());
                self.longest.len() - 1
            }
        };
        let longest = &mut self.longest[slot];
        let n = items.len();
        if n <= longest.len() {
            if longest[..n] != items[..] {
                return Some(items);
            }
        } else if items[..longest.len()] != longest[..] {
            return Some(items);
        } else {
            *longest = items;
        }
        // Ops are fewer than u32::MAX (HistoryBuilder refuses more), and so are keys.
        self.pending.push((op_index as u32, slot as u32, n as u32));
        None
    }

    /// Gives each filed read its view.
    pub(crate) fn finish(self, ops: &mut [Op]) {
        let bufs: Vec<Arc<[Value]>> = self.longest.into_iter().map(Arc::from).collect();
        for (op, slot, len) in self.pending {
            let buf = bufs[slot as usize].clone();
            ops[op as usize].output = Value::SharedList(SharedList::new(buf, len as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: u64, kind: EventType, p: u64, f: &str, v: Value) -> Event {
        Event::new(line, kind, Process::Client(p), F::parse(f), v)
    }

    #[test]
    fn pairs_and_orders() {
        use EventType::*;
        let h = History::from_events(
            "t",
            vec![
                ev(1, Invoke, 0, "write", 1.into()),
                ev(2, Invoke, 1, "read", Value::Nil),
                ev(3, Ok, 0, "write", 1.into()),
                ev(4, Ok, 1, "read", 1.into()),
                ev(5, Invoke, 0, "read", Value::Nil),
                ev(6, Info, 0, "read", Value::str("timeout")),
            ],
        )
        .unwrap();
        assert_eq!(h.ops.len(), 3);
        assert_eq!(h.ops[1].output, Value::Int(1));
        assert!(!h.ops[0].precedes(&h.ops[1]));
        assert!(h.ops[0].precedes(&h.ops[2]));
        assert_eq!(h.ops[2].outcome, Outcome::Info);
        assert_eq!(h.ops[2].ret, u64::MAX);
    }

    #[test]
    fn list_reads_share_one_buffer_per_key_and_stay_exact() {
        use EventType::*;
        let list = |xs: &[i64]| Value::List(xs.iter().map(|&x| Value::Int(x)).collect());
        let mut events = Vec::new();
        let reads: [&[i64]; 5] = [&[1], &[1, 2, 3], &[1, 2], &[1, 9], &[]];
        for (i, r) in reads.iter().enumerate() {
            let line = 2 * i as u64 + 1;
            let mut inv = ev(line, Invoke, i as u64, "read", Value::Nil);
            inv.key = Some(Value::str("k"));
            events.push(inv);
            events.push(ev(line + 1, Ok, i as u64, "read", list(r)));
        }
        let h = History::from_events("t", events).unwrap();
        for (op, r) in h.ops.iter().zip(reads) {
            assert_eq!(op.output, list(r), "op {:?} keeps exactly what it read", op.id);
        }
        let shared = |i: usize| matches!(h.ops[i].output, Value::SharedList(_));
        assert!(shared(0) && shared(1) && shared(2), "prefixes of the longest read share its buffer");
        assert!(!shared(3), "a read that is not a prefix keeps its own list");
        assert_eq!(h.ops[4].output, Value::List(vec![]));
    }

    #[test]
    fn completion_without_invoke_names_line() {
        let err = History::from_events("h.jsonl", vec![ev(7, EventType::Ok, 3, "read", Value::Nil)]).unwrap_err();
        assert_eq!(err.line, 7);
        assert!(err.to_string().starts_with("h.jsonl:7:"), "{err}");
    }

    #[test]
    fn double_invoke_rejected() {
        use EventType::*;
        let err =
            History::from_events("h", vec![ev(1, Invoke, 3, "read", Value::Nil), ev(2, Invoke, 3, "read", Value::Nil)])
                .unwrap_err();
        assert!(matches!(err.kind, InputErrorKind::DoubleInvoke { process: 3, open_line: 1 }));
    }
}
