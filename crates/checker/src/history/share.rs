//! Sharing list-append reads while a history is built.

use super::{Op, Outcome, F};
use crate::value::{SharedList, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

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
    use super::super::*;

    #[test]
    fn list_reads_share_one_buffer_per_key_and_stay_exact() {
        use EventType::*;
        let list = |xs: &[i64]| Value::List(xs.iter().map(|&x| Value::Int(x)).collect());
        let mut events = Vec::new();
        let reads: [&[i64]; 5] = [&[1], &[1, 2, 3], &[1, 2], &[1, 9], &[]];
        for (i, r) in reads.iter().enumerate() {
            let line = 2 * i as u64 + 1;
            let mut inv = Event::client(line, Invoke, i as u64, "read", Value::Nil);
            inv.key = Some(Value::str("k"));
            events.push(inv);
            events.push(Event::client(line + 1, Ok, i as u64, "read", list(r)));
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
}
