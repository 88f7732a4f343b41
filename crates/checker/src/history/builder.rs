//! [`HistoryBuilder`]: a whole history in memory.

use super::{Event, EventTarget, Fault, History, ListShare, Op, OpId, Outcome, Paired, Pairing, F};
use crate::error::InputError;
use crate::value::Value;

/// Incremental pairing of events into a whole [`History`] in memory; used
/// by [`History::from_events`] and by the readers.
pub struct HistoryBuilder {
    pairing: Pairing,
    /// Slot `i` holds op `i`: a placeholder from its invoke until it
    /// finishes. Ops finish out of order; placing them by id is cheaper than
    /// sorting ~260-byte ops at the end.
    ops: Vec<Op>,
    faults: Vec<Fault>,
    lists: ListShare,
}

impl HistoryBuilder {
    pub fn new(file: &str) -> HistoryBuilder {
        HistoryBuilder { pairing: Pairing::new(file), ops: Vec::new(), faults: Vec::new(), lists: ListShare::default() }
    }

    pub fn push(&mut self, e: Event) -> Result<(), InputError> {
        match self.pairing.push(e)? {
            Paired::Opened(id) => {
                debug_assert_eq!(id.0 as usize, self.ops.len(), "ids are given in invoke order");
                self.ops.push(placeholder(id));
            }
            Paired::Fault(f) => self.faults.push(f),
            Paired::Finished(op) => self.place(op),
        }
        Ok(())
    }

    fn place(&mut self, op: Op) {
        let i = op.id.0 as usize;
        self.ops[i] = self.lists.take(op, i);
    }

    /// Ends the history. Ops still open become info ops (indeterminate), as
    /// in Jepsen.
    pub fn finish(mut self) -> Result<History, InputError> {
        for op in self.pairing.finish()? {
            self.place(op);
        }
        let events = self.pairing.events();
        // Every invoked op has finished or was still open: no placeholder is left.
        let mut ops = self.ops;
        debug_assert!(ops.iter().all(|o| o.call != u64::MAX), "a placeholder was left");
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
