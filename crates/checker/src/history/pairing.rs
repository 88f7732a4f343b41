//! [`Pairing`]: the event-level rules, event by event.

use super::{Event, EventType, Fault, Op, OpId, Outcome, Process};
use crate::error::{InputError, InputErrorKind};
use crate::value::Value;
use std::collections::BTreeMap;

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

/// The event-level rules, event by event: pairs each invoke with its
/// completion while holding only the open ops (at most one per process), so
/// that a history of any length can be streamed.
pub struct Pairing {
    file: String,
    /// process -> its open op.
    open: BTreeMap<u64, Op>,
    /// process -> line of the info that retired it.
    retired: BTreeMap<u64, u64>,
    last_time_ns: Option<(i64, u64)>,
    last_index: Option<(u64, u64)>,
    events: u64,
    next_id: u64,
}

impl Pairing {
    pub fn new(file: &str) -> Pairing {
        Pairing {
            file: file.to_string(),
            open: BTreeMap::new(),
            retired: BTreeMap::new(),
            last_time_ns: None,
            last_index: None,
            events: 0,
            next_id: 0,
        }
    }

    fn err(&self, line: u64, kind: InputErrorKind) -> InputError {
        InputError::new(&self.file, line, kind)
    }

    /// Events seen so far (invokes, completions and faults).
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn push(&mut self, e: Event) -> Result<Paired, InputError> {
        let position = self.events;
        if let Some(t) = e.time_ns {
            if let Some((prev, prev_line)) = self.last_time_ns {
                if t < prev {
                    return Err(self.err(
                        e.line,
                        InputErrorKind::TimeWentBackwards { time_ns: t, previous_ns: prev, previous_line: prev_line },
                    ));
                }
            }
            self.last_time_ns = Some((t, e.line));
        }
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
                return Ok(Paired::Fault(Fault { line, position, kind, f, value, time_ns }));
            }
            Process::Client(p) => p,
        };
        match e.kind {
            EventType::Invoke => {
                if let Some(op) = self.open.get(&p) {
                    let open_line = op.invoke_line;
                    return Err(self.err(e.line, InputErrorKind::DoubleInvoke { process: p, open_line }));
                }
                if let Some(&info_line) = self.retired.get(&p) {
                    return Err(self.err(e.line, InputErrorKind::InvokeAfterInfo { process: p, info_line }));
                }
                let id = self.next_id;
                if id >= u32::MAX as u64 {
                    return Err(self.err(e.line, InputErrorKind::TooManyOps { limit: u32::MAX as u64 }));
                }
                self.next_id += 1;
                self.open.insert(
                    p,
                    Op {
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
                    },
                );
                Ok(Paired::Opened(OpId(id as u32)))
            }
            kind => {
                let Some(mut op) = self.open.remove(&p) else {
                    return Err(
                        self.err(e.line, InputErrorKind::CompletionWithoutInvoke { process: p, f: e.f.to_string() })
                    );
                };
                if op.f != e.f {
                    let (expected, found) = (op.f.to_string(), e.f.to_string());
                    let open_line = op.invoke_line;
                    return Err(
                        self.err(e.line, InputErrorKind::CompletionMismatch { process: p, expected, found, open_line })
                    );
                }
                op.complete_line = Some(e.line);
                op.complete_time_ns = e.time_ns;
                if e.node.is_some() {
                    op.node = e.node;
                }
                op.is_final |= e.is_final;
                // Keys usually come on both events; take the completion's if
                // the invoke had none.
                if op.key.is_none() {
                    op.key = e.key;
                }
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
                        self.retired.insert(p, e.line);
                    }
                    EventType::Invoke => unreachable!(),
                }
                Ok(Paired::Finished(op))
            }
        }
    }

    /// Ends the stream. Ops still open become info ops (indeterminate), as in
    /// Jepsen; they are taken out and returned in id order. An empty stream is
    /// an error.
    pub fn finish(&mut self) -> Result<Vec<Op>, InputError> {
        if self.events == 0 {
            return Err(self.err(0, InputErrorKind::Empty));
        }
        let mut open: Vec<Op> = std::mem::take(&mut self.open).into_values().collect();
        open.sort_unstable_by_key(|o| o.id);
        Ok(open)
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::error::InputErrorKind;

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
