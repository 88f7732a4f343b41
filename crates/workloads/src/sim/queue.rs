//! The event queue: events ordered by (virtual time, scheduling order).
//!
//! A min-heap of small keys over a slab of events with a free list, so each
//! event is moved in once and out once however much the heap reshuffles.
//! Ties in time are broken by the order of `push`, which is what makes a run
//! a pure function of its config and seed.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A heap entry: the ordering key and where the event waits in the slab.
/// Kept small (24 bytes) because the heap moves entries on every push/pop.
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed: the heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

pub(crate) struct Queue<E> {
    heap: BinaryHeap<Entry>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
}

impl<E> Queue<E> {
    pub(crate) fn new() -> Self {
        Queue { heap: BinaryHeap::with_capacity(1024), slab: Vec::with_capacity(1024), free: Vec::new(), seq: 0 }
    }

    /// Events waiting.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Schedules `ev` at virtual time `time`, after every event already
    /// scheduled for that time.
    pub(crate) fn push(&mut self, time: u64, ev: E) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(ev);
                i
            }
            None => {
                self.slab.push(Some(ev));
                // The simulator's in-flight bound (far below u32::MAX) keeps
                // this exact.
                debug_assert!(self.slab.len() <= u32::MAX as usize);
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Entry { time, seq: self.seq, slot });
    }

    /// The earliest event and its time.
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        let e = self.heap.pop()?;
        self.free.push(e.slot);
        let ev = self.slab[e.slot as usize].take();
        debug_assert!(ev.is_some(), "a heap entry points at an empty slot");
        Some((e.time, ev?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_scheduling_order_and_reuses_slots() {
        let mut q: Queue<usize> = Queue::new();
        for (i, time) in [5, 3, 5, 3, 0].into_iter().enumerate() {
            q.push(time, i);
        }
        let order: Vec<(u64, usize)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [(0, 4), (3, 1), (3, 3), (5, 0), (5, 2)]);
        // Slots are reused: the slab does not grow past the high-water mark.
        for round in 0..10 {
            q.push(round, 0);
            q.pop();
        }
        assert_eq!(q.slab.len(), 5);
        assert_eq!(q.len(), 0);
    }
}
