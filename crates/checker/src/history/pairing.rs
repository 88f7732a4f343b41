//! [`Pairing`]: the event-level rules, event by event.

use super::{Event, EventType, Fault, Op, OpId, Outcome, Process, RawTxn, ANONYMOUS_PROCESS_BASE, MAX_CLIENT_PROCESS};
use crate::error::{InputError, InputErrorKind};
use crate::value::{quote, Value};

/// Where readers send events: a [`HistoryBuilder`] (the whole history in
/// memory) or a streaming consumer of finished ops (see [`Pairing`]).
pub trait EventTarget {
    type Output;
    fn push(&mut self, e: Event) -> Result<(), InputError>;
    fn finish(self) -> Result<Self::Output, InputError>;

    /// Whether the JSON Lines reader should scan `txn` micro-ops into a
    /// [`RawTxn`] for [`EventTarget::push_raw`] (a transactional target
    /// interns them without building values).
    fn wants_raw_txn(&self) -> bool {
        false
    }

    /// An event whose value, when `raw` is given, is `raw` (and `e.value`
    /// is nil). By default the value is built and pushed as usual.
    fn push_raw(&mut self, mut e: Event, raw: Option<Box<RawTxn>>) -> Result<(), InputError> {
        if let Some(r) = raw {
            e.value = r.to_value();
        }
        self.push(e)
    }
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

/// Open ops in reusable slots, for [`Pairing::push`] and for streaming
/// targets that read a finished op where it lies ([`Slab::release`]).
#[derive(Default)]
pub(crate) struct Slab {
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
        std::mem::replace(&mut self.slots[slot as usize], vacant())
    }

    /// The finished op in `slot`, which is free again from now on: it stays
    /// readable until the next [`OpSlots::open`] reuses the slot. Saves
    /// moving the op out (a streaming reader's hot path).
    pub(crate) fn release(&mut self, slot: u32) -> &Op {
        self.free.push(slot);
        self.occupied[slot as usize] = false;
        &self.slots[slot as usize]
    }

    /// The ops still open, in id order (the stream has ended).
    pub(crate) fn into_open(self) -> Vec<Op> {
        let mut open: Vec<Op> =
            self.slots.into_iter().zip(self.occupied).filter_map(|(op, live)| live.then_some(op)).collect();
        open.sort_unstable_by_key(|o| o.id);
        open
    }
}

/// What a freed slot holds.
fn vacant() -> Op {
    Op {
        id: OpId(u32::MAX),
        process: 0,
        f: super::F::Read,
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
                        // Opened with a nil output (above) and completed
                        // once, so nothing is dropped: no drop call.
                        debug_assert!(op.output.is_nil());
                        std::mem::forget(std::mem::replace(&mut op.output, e.value));
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
        Ok(std::mem::take(&mut self.slab).into_open())
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

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::error::InputErrorKind;

    #[test]
    fn pairs_and_orders() {
        use EventType::*;
        let h = History::from_events(
            "t",
            vec![
                Event::client(1, Invoke, 0, "write", 1.into()),
                Event::client(2, Invoke, 1, "read", Value::Nil),
                Event::client(3, Ok, 0, "write", 1.into()),
                Event::client(4, Ok, 1, "read", 1.into()),
                Event::client(5, Invoke, 0, "read", Value::Nil),
                Event::client(6, Info, 0, "read", Value::str("timeout")),
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
    fn completion_without_invoke_names_line() {
        let err =
            History::from_events("h.jsonl", vec![Event::client(7, EventType::Ok, 3, "read", Value::Nil)]).unwrap_err();
        assert_eq!(err.line, 7);
        assert!(err.to_string().starts_with("h.jsonl:7:"), "{err}");
    }

    #[test]
    fn double_invoke_rejected() {
        use EventType::*;
        let err = History::from_events(
            "h",
            vec![Event::client(1, Invoke, 3, "read", Value::Nil), Event::client(2, Invoke, 3, "read", Value::Nil)],
        )
        .unwrap_err();
        assert!(matches!(err.kind, InputErrorKind::DoubleInvoke { process: 3, open_line: 1 }));
    }
}
