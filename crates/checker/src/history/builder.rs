//! [`HistoryBuilder`]: a whole history in memory.

use super::{Event, EventTarget, Fault, History, ListShare, Op, OpSlots, Pairing, Step};
use crate::error::InputError;

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
