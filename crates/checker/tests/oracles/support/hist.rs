//! The oracles' own history representation: deliberately tiny and separate
//! from `checker::history`, so that an oracle shares no code (and no bug)
//! with the checker it judges.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A value as the oracles see it. Maps keep their source order (so a
/// generator can write the same map with its fields permuted) but compare
/// as unordered through [`V::canon`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum V {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<V>),
    Map(Vec<(String, V)>),
}

impl V {
    pub fn s(s: &str) -> V {
        V::Str(s.to_string())
    }

    /// The canonical form: map entries sorted by field name, recursively.
    /// Two values are the same object iff their canonical forms are equal.
    pub fn canon(&self) -> V {
        match self {
            V::List(xs) => V::List(xs.iter().map(V::canon).collect()),
            V::Map(es) => {
                let mut es: Vec<(String, V)> = es.iter().map(|(k, v)| (k.clone(), v.canon())).collect();
                es.sort();
                V::Map(es)
            }
            v => v.clone(),
        }
    }

    pub fn same(&self, other: &V) -> bool {
        self.canon() == other.canon()
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, V::Nil)
    }

    pub fn write_json(&self, out: &mut String) {
        match self {
            V::Nil => out.push_str("null"),
            V::Bool(b) => write!(out, "{b}").unwrap(),
            V::Int(i) => write!(out, "{i}").unwrap(),
            V::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
            V::List(xs) => {
                out.push('[');
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    x.write_json(out);
                }
                out.push(']');
            }
            V::Map(es) => {
                out.push('{');
                for (i, (k, v)) in es.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    pub fn json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// Unknown: may have taken effect at any time after its invoke, or never.
    Info,
    Fail,
    /// Invoked, never completed in the file: the same as info.
    Pending,
}

impl Outcome {
    /// Whether the op may or may not have happened.
    pub fn maybe(self) -> bool {
        matches!(self, Outcome::Info | Outcome::Pending)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum F {
    Read,
    Write,
    Cas,
    Get,
    Put,
    Append,
    Add,
    Incr,
    Enqueue,
    Dequeue,
    Acquire,
    Release,
    /// A multi-register transaction: a list of micro-ops `[f k v]`, `f`
    /// `r` or `w`; an ok's value carries the reads' results.
    Txn,
}

impl F {
    pub fn name(self) -> &'static str {
        match self {
            F::Read => "read",
            F::Write => "write",
            F::Cas => "cas",
            F::Get => "get",
            F::Put => "put",
            F::Append => "append",
            F::Add => "add",
            F::Incr => "incr",
            F::Enqueue => "enqueue",
            F::Dequeue => "dequeue",
            F::Acquire => "acquire",
            F::Release => "release",
            F::Txn => "txn",
        }
    }

    /// Whether an ok completion carries a result of its own (the value
    /// read, dequeued, or the transaction with its reads filled in).
    pub fn has_result(self) -> bool {
        matches!(self, F::Read | F::Get | F::Dequeue | F::Txn)
    }

    pub fn is_read(self) -> bool {
        matches!(self, F::Read | F::Get)
    }
}

/// One operation. `call` and `ret` are positions in the event sequence;
/// real-time order is `a.ret < b.call`.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub process: u64,
    pub f: F,
    pub key: Option<V>,
    /// The argument (a cas's `[old new]`); `Nil` for reads.
    pub input: V,
    /// An ok read's result; `Nil` otherwise.
    pub output: V,
    pub outcome: Outcome,
    pub call: usize,
    /// `usize::MAX` for info and pending ops.
    pub ret: usize,
    pub is_final: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    Invoke(usize),
    Complete(usize),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hist {
    pub ops: Vec<Op>,
    /// Events in file order, naming ops by index.
    pub events: Vec<Ev>,
}

impl Hist {
    /// Ops grouped by key, in invoke order.
    pub fn by_key(&self) -> BTreeMap<Option<V>, Vec<&Op>> {
        let mut m: BTreeMap<Option<V>, Vec<&Op>> = BTreeMap::new();
        for op in &self.ops {
            m.entry(op.key.clone()).or_default().push(op);
        }
        for ops in m.values_mut() {
            ops.sort_by_key(|o| o.call);
        }
        m
    }

    /// The history in conch's native JSON Lines, written by hand so that a
    /// map keeps the field order the generator chose.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for ev in &self.events {
            let (i, invoke) = match *ev {
                Ev::Invoke(i) => (i, true),
                Ev::Complete(i) => (i, false),
            };
            let op = &self.ops[i];
            let ty = match (invoke, op.outcome) {
                (true, _) => "invoke",
                (false, Outcome::Ok) => "ok",
                (false, Outcome::Fail) => "fail",
                (false, Outcome::Info) => "info",
                (false, Outcome::Pending) => unreachable!("a pending op has no completion"),
            };
            write!(out, "{{\"type\":\"{ty}\",\"process\":{},\"f\":\"{}\"", op.process, op.f.name()).unwrap();
            if let Some(k) = &op.key {
                out.push_str(",\"key\":");
                k.write_json(&mut out);
            }
            out.push_str(",\"value\":");
            let value = if op.f.has_result() && !invoke && op.outcome == Outcome::Ok { &op.output } else { &op.input };
            value.write_json(&mut out);
            if op.is_final {
                out.push_str(",\"final\":true");
            }
            out.push_str("}\n");
        }
        out
    }

    /// Ops of one process, in order: a session.
    pub fn sessions<'a>(ops: &[&'a Op]) -> BTreeMap<u64, Vec<&'a Op>> {
        let mut m: BTreeMap<u64, Vec<&Op>> = BTreeMap::new();
        for &op in ops {
            m.entry(op.process).or_default().push(op);
        }
        for s in m.values_mut() {
            s.sort_by_key(|o| o.call);
        }
        m
    }
}

/// Builds a history event by event, for hand-written cases.
#[derive(Default)]
pub struct Builder {
    h: Hist,
    open: BTreeMap<u64, usize>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    pub fn invoke(mut self, process: u64, f: F, key: Option<&str>, input: V) -> Builder {
        assert!(!self.open.contains_key(&process), "process {process} has an op open");
        let i = self.h.ops.len();
        self.h.events.push(Ev::Invoke(i));
        self.h.ops.push(Op {
            process,
            f,
            key: key.map(V::s),
            input,
            output: V::Nil,
            outcome: Outcome::Pending,
            call: self.h.events.len() - 1,
            ret: usize::MAX,
            is_final: false,
        });
        self.open.insert(process, i);
        self
    }

    fn complete(mut self, process: u64, outcome: Outcome, output: V) -> Builder {
        let i = self.open.remove(&process).expect("no open op");
        self.h.events.push(Ev::Complete(i));
        let op = &mut self.h.ops[i];
        op.outcome = outcome;
        if outcome == Outcome::Ok {
            op.ret = self.h.events.len() - 1;
            if op.f.has_result() {
                op.output = output;
            }
        }
        self
    }

    /// Completes `process`'s op ok; `output` is a read's result (ignored
    /// for other ops).
    pub fn ok(self, process: u64, output: V) -> Builder {
        self.complete(process, Outcome::Ok, output)
    }

    pub fn info(self, process: u64) -> Builder {
        self.complete(process, Outcome::Info, V::Nil)
    }

    pub fn fail(self, process: u64) -> Builder {
        self.complete(process, Outcome::Fail, V::Nil)
    }

    /// An op invoked and completed ok at once.
    pub fn op(self, process: u64, f: F, input: V, output: V) -> Builder {
        self.invoke(process, f, None, input).ok(process, output)
    }

    /// `process` writes the integer `v` (ok).
    pub fn w(self, process: u64, v: i64) -> Builder {
        self.op(process, F::Write, int(v), V::Nil)
    }

    /// `process` reads `v` (ok).
    pub fn r(self, process: u64, v: V) -> Builder {
        self.op(process, F::Read, V::Nil, v)
    }

    /// A final read (issued after the faults healed) by `process`,
    /// returning `output`.
    pub fn final_read(self, process: u64, output: V) -> Builder {
        let mut b = self.op(process, F::Read, V::Nil, output);
        b.h.ops.last_mut().expect("just added").is_final = true;
        b
    }

    pub fn done(self) -> Hist {
        self.h
    }
}

pub fn int(i: i64) -> V {
    V::Int(i)
}

pub fn list(xs: &[i64]) -> V {
    V::List(xs.iter().map(|&x| V::Int(x)).collect())
}
