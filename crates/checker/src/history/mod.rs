//! The history model: raw events as read from a file, and the operations
//! (invoke paired with completion) that every check works on.
//!
//! - this file: the types ([`Event`], [`Op`], [`Fault`], [`History`]);
//! - `pairing`: [`Pairing`], the single place where the event-level rules
//!   (one open op per process, no completion without invoke, ...) are
//!   enforced, event by event, holding only the open ops;
//! - `builder`: [`HistoryBuilder`], a whole history in memory;
//! - `share`: list-append reads stored as views of one buffer per key.
//!
//! Architecture invariant: this module knows no file format. Readers turn
//! bytes into [`Event`]s and send them to an [`EventTarget`].

mod builder;
pub(crate) mod pairing;
pub mod raw_txn;
#[cfg(test)]
pub(crate) mod script;
mod share;

pub use builder::HistoryBuilder;
pub use pairing::{EventTarget, Paired, Pairing};
pub(crate) use pairing::{OpSlots, Step};
pub use raw_txn::RawTxn;
pub(crate) use share::ListShare;

use crate::error::InputError;
use crate::value::Value;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

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
        EventType::parse_bytes(s.as_bytes())
    }

    /// [`EventType::parse`] of a name given as bytes (readers match names
    /// before any UTF-8 check).
    pub fn parse_bytes(s: &[u8]) -> Option<EventType> {
        Some(match s {
            b"invoke" => EventType::Invoke,
            b"ok" => EventType::Ok,
            b"fail" => EventType::Fail,
            b"info" => EventType::Info,
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
        F::interned(s.as_bytes()).unwrap_or_else(|| F::Other(s.into()))
    }

    /// The interned name `s` stands for, if it is one (`None`: an
    /// [`F::Other`] name). Readers match names as bytes with this before
    /// any UTF-8 check or allocation.
    pub fn interned(s: &[u8]) -> Option<F> {
        Some(match s {
            b"read" => F::Read,
            b"write" => F::Write,
            b"cas" => F::Cas,
            b"get" => F::Get,
            b"put" => F::Put,
            b"append" => F::Append,
            b"add" => F::Add,
            b"incr" => F::Incr,
            b"transfer" => F::Transfer,
            b"acquire" => F::Acquire,
            b"release" => F::Release,
            b"enqueue" => F::Enqueue,
            b"dequeue" => F::Dequeue,
            b"txn" => F::Txn,
            _ => return None,
        })
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

display_as_str!(F);

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

    /// A bare event of client process `p`, for the unit tests.
    #[cfg(test)]
    pub(crate) fn client(line: u64, kind: EventType, p: u64, f: &str, value: Value) -> Event {
        Event::new(line, kind, Process::Client(p), F::parse(f), value)
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
    /// How reports name this op's process (see [`process_name`]).
    pub fn process_name(&self) -> String {
        process_name(self.process)
    }

    /// This op with `input` and `output` nil: what a checker that keeps the
    /// values in its own form (transactions' micro-ops) holds per op.
    pub fn without_values(&self) -> Op {
        let (input, output) = (Value::Nil, Value::Nil);
        Op { input, output, f: self.f.clone(), key: self.key.clone(), node: self.node.clone(), ..*self }
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
    pub(crate) sparse: Option<SparseIds>,
}

/// Where each op of a shard sits in its `ops`: a bitmap of the ids present
/// with running counts, so a lookup is two array reads. 12 bytes per 64 ids
/// of the whole history (2 MB for 10M ops).
#[derive(Clone, Debug, Default)]
pub(crate) struct SparseIds {
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
        // Grouped through a hash map (a B-tree descent per op was most of the
        // cost with many keys), then sorted once per key. `Value`'s hash and
        // equality agree with its order, so the groups are the same.
        let mut index: FxHashMap<Option<&Value>, usize> = FxHashMap::default();
        let mut groups: Vec<(Option<&Value>, Vec<OpId>)> = Vec::new();
        for op in &self.ops {
            let key = op.key.as_ref();
            let g = *index.entry(key).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(op.id);
        }
        groups.into_iter().collect()
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

    /// Asks the CPU to bring the op with this id into cache (a hint: no
    /// effect on results; nothing off x86-64). For scans that visit a key's
    /// ops, which lie far apart in a large history.
    pub(crate) fn prefetch(&self, id: OpId) {
        // Where the op should be, found without reading it (`get` would
        // load it to check its id: the very miss to avoid waiting for).
        let at = match &self.sparse {
            Some(sparse) => sparse.index(id),
            None => Some(id.0 as usize),
        };
        #[cfg(target_arch = "x86_64")]
        if let Some(op) = at.and_then(|i| self.ops.get(i)) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: a prefetch reads nothing and never faults, whatever the
            // address; this one is a live reference's.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((op as *const Op).cast::<i8>()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = at;
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
