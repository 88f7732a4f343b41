//! Round-robin anti-entropy, shared by abd, lww, quorum and vclock: each
//! round picks the next peer in rotation and the next batch of at most
//! `max` keys *for that peer*, wrapping around the store, so every key
//! reaches every peer while each digest stays bounded.
//!
//! Each peer has its own cursor. With one cursor shared by all peers, a
//! store of exactly `peers` batches sends each peer the same batch forever
//! (round `r` goes to peer `r % peers` with batch `r % batches`), and some
//! (peer, key) pairs are never compared; the property test below finds that.

use crate::sim::{Ctx, NodeId};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub(crate) struct Rotation {
    round: usize,
    /// Per peer: where its next batch starts (an index into the store).
    cursors: Vec<usize>,
}

impl Rotation {
    /// The peer and the digest entries for this round: keys of `store` that
    /// `keep(peer, key)` admits, mapped by `f`; `None` when there is no
    /// peer or nothing to send.
    pub(crate) fn next<K, V, T>(
        &mut self,
        id: NodeId,
        nodes: usize,
        store: &BTreeMap<K, V>,
        max: usize,
        keep: impl Fn(NodeId, &K) -> bool,
        mut f: impl FnMut((&K, &V)) -> T,
    ) -> Option<(NodeId, Vec<T>)> {
        if nodes < 2 {
            return None;
        }
        let peer = (id + 1 + self.round % (nodes - 1)) % nodes;
        self.round = self.round.wrapping_add(1);
        let len = store.len();
        if len == 0 {
            return None;
        }
        if self.cursors.len() < nodes {
            self.cursors.resize(nodes, 0);
        }
        let start = self.cursors[peer] % len;
        let mut scanned = 0;
        let mut entries = Vec::new();
        for kv in store.iter().skip(start).chain(store.iter().take(start)) {
            if entries.len() >= max {
                break;
            }
            scanned += 1;
            if keep(peer, kv.0) {
                entries.push(f(kv));
            }
        }
        self.cursors[peer] = (start + scanned) % len;
        (!entries.is_empty()).then_some((peer, entries))
    }

    /// One anti-entropy round of the node `ctx` runs: [`Rotation::next`]
    /// over its durable `store`, sending the round's peer `digest(entries)`.
    pub(crate) fn send_digest<M, D, K, V, T>(
        &mut self,
        ctx: &mut Ctx<'_, M, D>,
        store: impl Fn(&D) -> &BTreeMap<K, V>,
        max: usize,
        keep: impl Fn(NodeId, &K) -> bool,
        entry: impl FnMut((&K, &V)) -> T,
        digest: impl FnOnce(Vec<T>) -> M,
    ) {
        let (id, nodes) = (ctx.id(), ctx.nodes());
        if let Some((peer, entries)) = self.next(id, nodes, store(ctx.durable()), max, keep, entry) {
            ctx.send(peer, digest(entries));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Over `peers * ceil(len / max)` rounds on a fixed store, every
        /// (peer, key) pair the filter admits is sent at least once, and no
        /// digest holds more than `max` entries.
        #[test]
        fn every_key_reaches_every_peer(nodes in 2usize..7, len in 0usize..40, max in 1usize..9, id in 0usize..7, every in 1usize..4) {
            let id = id % nodes;
            let store: BTreeMap<usize, ()> = (0..len).map(|k| (k, ())).collect();
            let keep = |peer: NodeId, k: &usize| (k + peer).is_multiple_of(every);
            let mut r = Rotation::default();
            let mut seen = BTreeSet::new();
            for _ in 0..(nodes - 1) * len.div_ceil(max).max(1) {
                if let Some((peer, keys)) = r.next(id, nodes, &store, max, keep, |(k, _)| *k) {
                    prop_assert!(keys.len() <= max && peer != id && peer < nodes);
                    seen.extend(keys.into_iter().map(|k| (peer, k)));
                }
            }
            for peer in (0..nodes).filter(|&p| p != id) {
                for k in (0..len).filter(|k| keep(peer, k)) {
                    prop_assert!(seen.contains(&(peer, k)), "peer {} never got key {}", peer, k);
                }
            }
        }
    }
}
