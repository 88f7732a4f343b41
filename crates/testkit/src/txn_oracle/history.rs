//! The oracle's own history types: transactions of micro-ops on integer keys
//! and values, their validation, and conversion from and to the checker's
//! [`checker::History`] (ops with `f = txn` whose values are lists of
//! `[f k v]` micro-op triples).

use checker::{Event, EventType, History, OpId, Outcome, Process, Value, F};
use std::collections::BTreeMap;
use std::fmt;

/// A key, after interning (see [`Converted`]).
pub type Key = u64;
/// A value written or read, after interning.
pub type Val = u64;

/// Which micro-ops a history uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// `append k v` adds `v` to the end of the list at `k`; `r k [..]` reads the list.
    ListAppend,
    /// `w k v` overwrites the register at `k`; `r k v` reads it.
    RwRegister,
}

/// What a read returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Observed {
    /// Not known: the reads of `info` and `fail` transactions.
    Unknown,
    /// A list-append read; `nil` is the empty list.
    List(Vec<Val>),
    /// A register read; `None` is `nil`, the initial state.
    Reg(Option<Val>),
}

/// One micro-op of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mop {
    Append(Key, Val),
    Write(Key, Val),
    Read(Key, Observed),
}

impl Mop {
    pub fn key(&self) -> Key {
        match self {
            Mop::Append(k, _) | Mop::Write(k, _) | Mop::Read(k, _) => *k,
        }
    }

    pub fn is_write(&self) -> bool {
        !matches!(self, Mop::Read(..))
    }
}

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxnOutcome {
    /// Committed; its reads are known.
    Ok,
    /// Did not commit: reading its writes is an aborted read (G1a).
    Fail,
    /// May or may not have committed; its reads are unknown.
    Info,
}

/// One transaction: an invoke paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Txn {
    pub process: u64,
    pub outcome: TxnOutcome,
    /// Position of the invoke among the history's events.
    pub invoke_at: u64,
    /// Position of the completion; `None` for an info transaction that never
    /// completed. Real-time order: `a` precedes `b` iff `a` is ok and
    /// `a.complete_at < b.invoke_at`.
    pub complete_at: Option<u64>,
    pub mops: Vec<Mop>,
}

/// A history of transactions, in invoke order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TxnHistory {
    pub workload: Workload,
    pub txns: Vec<Txn>,
}

/// Why a history is not a well-formed input: what a checker must reject as
/// an input error (exit 2) rather than judge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHistory {
    #[error("T{txn} micro-op {mop}: {reason}")]
    WrongMop { txn: usize, mop: usize, reason: &'static str },
    /// Elle's precondition: every value is written to a key at most once.
    #[error("value {value} is written to key {key} twice (T{first} and T{second})")]
    DuplicateWrite { key: Key, value: Val, first: usize, second: usize },
    #[error("T{txn}: {reason}")]
    BadTimes { txn: usize, reason: &'static str },
    #[error("process {process} runs T{second} while T{first} is open or after it crashed (info)")]
    ProcessOverlap { process: u64, first: usize, second: usize },
    #[error("two events share position {position}")]
    SharedPosition { position: u64 },
}

impl TxnHistory {
    /// Checks the preconditions every judgement relies on: micro-ops of the
    /// history's workload, values unique per key (Elle's), completions after
    /// invokes, distinct event positions, and each process running one
    /// transaction at a time and nothing after an info.
    pub fn validate(&self) -> Result<(), InvalidHistory> {
        let mut written: BTreeMap<(Key, Val), usize> = BTreeMap::new();
        let mut positions = BTreeMap::new();
        for (t, txn) in self.txns.iter().enumerate() {
            for (i, m) in txn.mops.iter().enumerate() {
                let wrong = |reason| InvalidHistory::WrongMop { txn: t, mop: i, reason };
                match (self.workload, m) {
                    (Workload::ListAppend, Mop::Write(..)) => return Err(wrong("a write in a list-append history")),
                    (Workload::RwRegister, Mop::Append(..)) => {
                        return Err(wrong("an append in an rw-register history"))
                    }
                    (Workload::ListAppend, Mop::Read(_, Observed::Reg(_))) => {
                        return Err(wrong("a register read in a list-append history"))
                    }
                    (Workload::RwRegister, Mop::Read(_, Observed::List(_))) => {
                        return Err(wrong("a list read in an rw-register history"))
                    }
                    (_, Mop::Read(_, Observed::List(_) | Observed::Reg(_))) if txn.outcome != TxnOutcome::Ok => {
                        return Err(wrong("only ok transactions have known reads"))
                    }
                    _ => {}
                }
                if let Mop::Append(k, v) | Mop::Write(k, v) = m {
                    if let Some(&first) = written.get(&(*k, *v)) {
                        return Err(InvalidHistory::DuplicateWrite { key: *k, value: *v, first, second: t });
                    }
                    written.insert((*k, *v), t);
                }
            }
            let bad = |reason| InvalidHistory::BadTimes { txn: t, reason };
            match (txn.outcome, txn.complete_at) {
                (TxnOutcome::Ok | TxnOutcome::Fail, None) => {
                    return Err(bad("an ok or fail transaction needs a completion"))
                }
                (_, Some(c)) if c <= txn.invoke_at => return Err(bad("completes before it is invoked")),
                _ => {}
            }
            for p in std::iter::once(txn.invoke_at).chain(txn.complete_at) {
                if positions.insert(p, t).is_some() {
                    return Err(InvalidHistory::SharedPosition { position: p });
                }
            }
        }
        // Per process, in invoke order: each must have completed (not info)
        // before the next is invoked.
        let mut by_process: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (t, txn) in self.txns.iter().enumerate() {
            by_process.entry(txn.process).or_default().push(t);
        }
        for (process, mut ts) in by_process {
            ts.sort_by_key(|&t| self.txns[t].invoke_at);
            for w in ts.windows(2) {
                let (a, b) = (&self.txns[w[0]], &self.txns[w[1]]);
                let done = a.outcome != TxnOutcome::Info && a.complete_at.is_some_and(|c| c < b.invoke_at);
                if !done {
                    return Err(InvalidHistory::ProcessOverlap { process, first: w[0], second: w[1] });
                }
            }
        }
        Ok(())
    }

    /// The history as checker events (one invoke and at most one completion
    /// per transaction, ordered by position, lines numbered from 1), with
    /// integer keys and values. The invoke's reads are `nil`; an ok
    /// completion carries the reads; fail and info completions repeat the
    /// invoke's value, as Jepsen records them.
    pub fn to_events(&self) -> Vec<Event> {
        let mut at: Vec<(u64, Event)> = Vec::new();
        for txn in &self.txns {
            let process = Process::Client(txn.process);
            let invoke_value = mops_value(&txn.mops, false);
            at.push((txn.invoke_at, Event::new(0, EventType::Invoke, process.clone(), F::Txn, invoke_value.clone())));
            if let Some(c) = txn.complete_at {
                let (kind, value) = match txn.outcome {
                    TxnOutcome::Ok => (EventType::Ok, mops_value(&txn.mops, true)),
                    TxnOutcome::Fail => (EventType::Fail, invoke_value),
                    TxnOutcome::Info => (EventType::Info, invoke_value),
                };
                at.push((c, Event::new(0, kind, process, F::Txn, value)));
            }
        }
        at.sort_by_key(|(p, _)| *p);
        at.into_iter()
            .enumerate()
            .map(|(i, (_, mut e))| {
                e.line = i as u64 + 1;
                e
            })
            .collect()
    }

    /// The history as a checker [`History`]. `None` only if the history is
    /// not valid (see [`TxnHistory::validate`]).
    pub fn to_history(&self) -> Option<History> {
        self.validate().ok()?;
        History::from_events("<generated>", self.to_events()).ok()
    }
}

impl TxnHistory {
    /// Parses a compact notation, one transaction per line (blank lines and
    /// `#` comments are skipped):
    ///
    /// ```text
    /// 0 ok 0-3: a 1 5; r 2 [1 2]
    /// 1 info 1: w 1 7
    /// ```
    ///
    /// `process outcome invoke[-complete]: micro-ops`, the micro-ops `a k v`
    /// (append), `w k v` (write) and `r k V` with `V` a list `[1 2]`, `nil`,
    /// a value, or `?` (unknown). The workload is list-append if any micro-op
    /// is an append or reads a list. Reads of fail and info transactions are
    /// made unknown whatever they say. The history is not validated.
    pub fn parse(text: &str) -> Result<TxnHistory, String> {
        let mut txns = Vec::new();
        let mut is_list = false;
        let mut raw = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |what: &str| format!("line {}: {what}: {line:?}", i + 1);
            let (head, body) = line.split_once(':').ok_or_else(|| err("expected `head: micro-ops`"))?;
            let head: Vec<&str> = head.split_whitespace().collect();
            let [process, outcome, times] = head[..] else { return Err(err("expected `process outcome times`")) };
            let process: u64 = process.parse().map_err(|_| err("bad process"))?;
            let outcome = match outcome {
                "ok" => TxnOutcome::Ok,
                "fail" => TxnOutcome::Fail,
                "info" => TxnOutcome::Info,
                _ => return Err(err("outcome must be ok, fail or info")),
            };
            let (invoke_at, complete_at) = match times.split_once('-') {
                Some((a, b)) => {
                    (a.parse().map_err(|_| err("bad invoke"))?, Some(b.parse().map_err(|_| err("bad complete"))?))
                }
                None => (times.parse().map_err(|_| err("bad invoke"))?, None),
            };
            let mut mops = Vec::new();
            for m in body.split(';').map(str::trim).filter(|m| !m.is_empty()) {
                let (f, rest) = m.split_once(' ').ok_or_else(|| err("bad micro-op"))?;
                let (k, v) = rest.trim().split_once(' ').ok_or_else(|| err("bad micro-op"))?;
                let k: u64 = k.parse().map_err(|_| err("bad key"))?;
                let v = v.trim();
                is_list |= f == "a" || (f == "r" && v.starts_with('['));
                mops.push((f.to_string(), k, v.to_string()));
            }
            raw.push((process, outcome, invoke_at, complete_at, mops, i + 1));
        }
        let workload = if is_list { Workload::ListAppend } else { Workload::RwRegister };
        for (process, outcome, invoke_at, complete_at, mops, line) in raw {
            let err = |what: &str| format!("line {line}: {what}");
            let mut out = Vec::new();
            for (f, k, v) in mops {
                let num = |s: &str| s.parse::<u64>().map_err(|_| err("bad value"));
                out.push(match f.as_str() {
                    "a" => Mop::Append(k, num(&v)?),
                    "w" => Mop::Write(k, num(&v)?),
                    "r" if outcome != TxnOutcome::Ok || v == "?" => Mop::Read(k, Observed::Unknown),
                    "r" => match workload {
                        Workload::ListAppend if v == "nil" => Mop::Read(k, Observed::List(Vec::new())),
                        Workload::ListAppend => {
                            let inner =
                                v.strip_prefix('[').and_then(|v| v.strip_suffix(']')).ok_or_else(|| err("bad list"))?;
                            let l = inner.split_whitespace().map(num).collect::<Result<Vec<_>, _>>()?;
                            Mop::Read(k, Observed::List(l))
                        }
                        Workload::RwRegister if v == "nil" => Mop::Read(k, Observed::Reg(None)),
                        Workload::RwRegister => Mop::Read(k, Observed::Reg(Some(num(&v)?))),
                    },
                    _ => return Err(err("micro-op must be a, w or r")),
                });
            }
            txns.push(Txn { process, outcome, invoke_at, complete_at, mops: out });
        }
        Ok(TxnHistory { workload, txns })
    }
}

fn int(x: u64) -> Value {
    Value::Int(x as i64)
}

/// `[[append k v] [r k [..]] ...]`; with `results` false, reads are `nil`.
fn mops_value(mops: &[Mop], results: bool) -> Value {
    Value::List(
        mops.iter()
            .map(|m| {
                let (f, k, v) = match m {
                    Mop::Append(k, v) => ("append", k, int(*v)),
                    Mop::Write(k, v) => ("w", k, int(*v)),
                    Mop::Read(k, o) => {
                        let v = match o {
                            _ if !results => Value::Nil,
                            Observed::Unknown | Observed::Reg(None) => Value::Nil,
                            Observed::Reg(Some(v)) => int(*v),
                            Observed::List(l) => Value::List(l.iter().map(|&x| int(x)).collect()),
                        };
                        ("r", k, v)
                    }
                };
                Value::List(vec![Value::str(f), int(*k), v])
            })
            .collect(),
    )
}

/// Why a checker history could not be turned into a [`TxnHistory`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("op {} (line {line}): {reason}", op.0)]
pub struct ConvertError {
    pub op: OpId,
    pub line: u64,
    pub reason: String,
}

/// A converted history, with the original key and value behind each id
/// for reports.
#[derive(Clone, Debug)]
pub struct Converted {
    pub history: TxnHistory,
    pub keys: BTreeMap<u64, Value>,
    pub values: BTreeMap<u64, Value>,
    /// The checker op of each transaction.
    pub ops: Vec<OpId>,
}

/// Ids for values: a non-negative integer is its own id when every value
/// interned is one (so witnesses name the history's own numbers); otherwise
/// ids count up in order of first appearance.
struct Interner {
    identity: bool,
    ids: BTreeMap<Value, u64>,
    names: BTreeMap<u64, Value>,
}

impl Interner {
    fn new<'a>(all: impl IntoIterator<Item = &'a Value>) -> Interner {
        let identity = all.into_iter().all(|v| v.as_int().is_some_and(|i| i >= 0));
        Interner { identity, ids: BTreeMap::new(), names: BTreeMap::new() }
    }

    fn id(&mut self, v: &Value) -> u64 {
        if let Some(&i) = self.ids.get(v) {
            return i;
        }
        let i = match v.as_int() {
            Some(i) if self.identity => i as u64,
            _ => self.ids.len() as u64,
        };
        self.ids.insert(v.clone(), i);
        self.names.insert(i, v.clone());
        i
    }
}

/// Converts a checker history of `txn` ops. Micro-ops are `[f k v]` with
/// `f` one of `append`, `r`/`read`, `w`/`write` (strings or EDN keywords);
/// an ok op's micro-ops come from its completion (the reads' results), other
/// ops' from the invoke, with their reads unknown. A list-append read of
/// `nil` is the empty list. The workload is list-append if any micro-op is
/// an append or any read returned a list, else rw-register. Keys and values
/// may be any values; they are interned in order of appearance.
pub fn from_history(h: &History) -> Result<Converted, ConvertError> {
    /// An op with its micro-ops as (f, key, value).
    type RawTxn<'a> = (&'a checker::Op, Vec<(&'static str, &'a Value, &'a Value)>);
    let mut raw: Vec<RawTxn> = Vec::new();
    let mut is_list = false;
    for op in &h.ops {
        let err = |reason: String| ConvertError { op: op.id, line: op.invoke_line, reason };
        if op.f != F::Txn {
            return Err(err(format!("f is {}, expected txn", op.f)));
        }
        let value = if op.outcome == Outcome::Ok && !op.output.is_nil() { &op.output } else { &op.input };
        let Some(items) = value.as_list() else {
            return Err(err(format!("value {value} is not a list of micro-ops")));
        };
        let mut mops = Vec::new();
        for m in items {
            let Some([f, k, v]) = m.as_list() else {
                return Err(err(format!("micro-op {m} is not [f k v]")));
            };
            let f = match f.as_str() {
                Some("append") => "append",
                Some("r" | "read") => "r",
                Some("w" | "write") => "w",
                _ => return Err(err(format!("unknown micro-op {f} (expected append, r or w)"))),
            };
            is_list |= f == "append" || (f == "r" && v.as_list().is_some());
            mops.push((f, k, v));
        }
        raw.push((op, mops));
    }
    let workload = if is_list { Workload::ListAppend } else { Workload::RwRegister };
    let mops = || raw.iter().flat_map(|(_, ms)| ms.iter());
    let mut keys = Interner::new(mops().map(|(_, k, _)| *k));
    let mut values = Interner::new(mops().flat_map(|(_, _, v)| match v.as_list() {
        Some(l) => l.iter().collect::<Vec<_>>(),
        None if v.is_nil() => Vec::new(),
        None => vec![*v],
    }));
    let mut txns = Vec::new();
    let mut ops = Vec::new();
    for (op, mops) in raw {
        let err = |reason: String| ConvertError { op: op.id, line: op.invoke_line, reason };
        let outcome = match op.outcome {
            Outcome::Ok => TxnOutcome::Ok,
            Outcome::Fail => TxnOutcome::Fail,
            Outcome::Info => TxnOutcome::Info,
        };
        let mut out = Vec::new();
        for (f, k, v) in mops {
            let key = keys.id(k);
            let m = match f {
                "append" | "w" => {
                    if v.is_nil() {
                        return Err(err(format!("{f} of nil to key {k}")));
                    }
                    match (f, workload) {
                        ("append", _) => Mop::Append(key, values.id(v)),
                        (_, Workload::RwRegister) => Mop::Write(key, values.id(v)),
                        _ => return Err(err("a w micro-op in a list-append history".into())),
                    }
                }
                _ if outcome != TxnOutcome::Ok => Mop::Read(key, Observed::Unknown),
                _ => match workload {
                    Workload::ListAppend => match (v, v.as_list()) {
                        (Value::Nil, _) => Mop::Read(key, Observed::List(Vec::new())),
                        (_, Some(l)) => Mop::Read(key, Observed::List(l.iter().map(|x| values.id(x)).collect())),
                        _ => return Err(err(format!("read of key {k} returned {v}, expected a list or nil"))),
                    },
                    Workload::RwRegister => Mop::Read(key, Observed::Reg((!v.is_nil()).then(|| values.id(v)))),
                },
            };
            out.push(m);
        }
        let complete_at = match op.outcome {
            Outcome::Info => None,
            _ => Some(op.ret),
        };
        txns.push(Txn { process: op.process, outcome, invoke_at: op.call, complete_at, mops: out });
        ops.push(op.id);
    }
    Ok(Converted { history: TxnHistory { workload, txns }, keys: keys.names, values: values.names, ops })
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Unknown => f.write_str("?"),
            Observed::Reg(None) => f.write_str("nil"),
            Observed::Reg(Some(v)) => write!(f, "{v}"),
            Observed::List(l) => fmt_list(f, l),
        }
    }
}

pub(crate) fn fmt_list(f: &mut fmt::Formatter<'_>, l: &[Val]) -> fmt::Result {
    f.write_str("[")?;
    for (i, x) in l.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{x}")?;
    }
    f.write_str("]")
}

impl fmt::Display for Mop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mop::Append(k, v) => write!(f, "[append {k} {v}]"),
            Mop::Write(k, v) => write!(f, "[w {k} {v}]"),
            Mop::Read(k, o) => write!(f, "[r {k} {o}]"),
        }
    }
}

impl fmt::Display for TxnHistory {
    /// One line per transaction: `T1 p0 ok @2..5 [append 0 1] [r 1 [1 2]]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (t, txn) in self.txns.iter().enumerate() {
            let outcome = match txn.outcome {
                TxnOutcome::Ok => "ok",
                TxnOutcome::Fail => "fail",
                TxnOutcome::Info => "info",
            };
            write!(f, "T{t} p{} {outcome} @{}..", txn.process, txn.invoke_at)?;
            match txn.complete_at {
                Some(c) => write!(f, "{c}")?,
                None => f.write_str("")?,
            }
            for m in &txn.mops {
                write!(f, " {m}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
