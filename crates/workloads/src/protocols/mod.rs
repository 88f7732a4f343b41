//! Bundled protocols, one module each. Each exposes a type implementing
//! [`crate::sim::Protocol`], built from `--param NAME=VALUE` pairs.

pub mod abd;
pub mod gossip;
pub mod lagging;
pub mod lww;
pub mod quorum;
pub mod raft;
pub mod single;
pub mod threepc;
pub mod twopc;
pub mod vclock;
pub mod weak;

use crate::sim::NodeId;
use std::collections::BTreeMap;

/// Round-robin anti-entropy, shared by abd, lww and vclock: each round picks
/// the next peer in rotation and the next batch of at most `max` keys,
/// wrapping around the store, so every key reaches every peer eventually
/// while each digest stays bounded.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rotation {
    round: usize,
    cursor: usize,
}

impl Rotation {
    /// The peer and the digest entries for this round (`f` maps a key and
    /// its value to an entry); `None` when there is no peer or no key.
    pub(crate) fn next<K, V, T>(
        &mut self,
        id: NodeId,
        nodes: usize,
        store: &BTreeMap<K, V>,
        max: usize,
        f: impl FnMut((&K, &V)) -> T,
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
        let start = self.cursor % len;
        let entries: Vec<T> = store.iter().skip(start).chain(store.iter().take(start)).take(max).map(f).collect();
        self.cursor = (start + entries.len()) % len;
        Some((peer, entries))
    }
}
