//! Cassandra's datacenters for `quorum`: where a key's replicas are
//! (NetworkTopologyStrategy: `n` replicas in every datacenter), which
//! replies a consistency level waits for, and the wide-area delay of
//! messages between datacenters.
//!
//! Datacenter `d` of `dcs` holds nodes `d * nodes / dcs ..
//! (d + 1) * nodes / dcs`: with two datacenters, the simulator's `halves`
//! partition (nodes `0..n/2` against the rest) is a datacenter partition.

use super::super::common::Key;
use crate::sim::NodeId;
use std::collections::{BTreeSet, VecDeque};
use std::hash::{Hash, Hasher};

/// Most messages a node holds back for their wide-area delay; more are
/// dropped (a full link), so one node's backlog is bounded.
pub const MAX_PARKED: usize = 100_000;

/// Cassandra's consistency levels (the serial ones are [`Serial`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    One,
    Two,
    Quorum,
    LocalQuorum,
    EachQuorum,
    LocalOne,
    All,
}

impl Level {
    pub const NAMES: &'static [&'static str] =
        &["one", "two", "quorum", "local_quorum", "each_quorum", "local_one", "all"];

    pub fn parse(name: &str) -> Option<Level> {
        Some(match name {
            "one" => Level::One,
            "two" => Level::Two,
            "quorum" => Level::Quorum,
            "local_quorum" => Level::LocalQuorum,
            "each_quorum" => Level::EachQuorum,
            "local_one" => Level::LocalOne,
            "all" => Level::All,
            _ => return None,
        })
    }

    /// Only the coordinator's datacenter counts (and is asked, for reads).
    pub fn is_local(self) -> bool {
        matches!(self, Level::LocalQuorum | Level::LocalOne)
    }
}

/// The Paxos quorum of lightweight transactions: every datacenter's
/// replicas (`SERIAL`) or the coordinator's (`LOCAL_SERIAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serial {
    Serial,
    LocalSerial,
}

/// The cluster's datacenters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Topology {
    pub nodes: usize,
    pub dcs: usize,
    /// Replicas per datacenter.
    pub rf: usize,
}

impl Topology {
    /// `dcs` datacenters (at most one per node) with `rf` replicas each (at
    /// most the smallest datacenter's size).
    pub fn new(nodes: usize, dcs: usize, rf: usize) -> Topology {
        let dcs = dcs.clamp(1, nodes.max(1));
        let smallest = (0..dcs).map(|d| Topology { nodes, dcs, rf: 1 }.members(d).len()).min().unwrap_or(1);
        Topology { nodes, dcs, rf: rf.clamp(1, smallest.max(1)) }
    }

    pub fn dc_of(&self, node: NodeId) -> usize {
        (0..self.dcs).find(|&d| self.members(d).contains(&node)).unwrap_or(0)
    }

    /// The nodes of datacenter `d`, in order.
    pub fn members(&self, d: usize) -> std::ops::Range<NodeId> {
        d * self.nodes / self.dcs..(d + 1) * self.nodes / self.dcs
    }

    /// The key's replicas: in every datacenter, `rf` consecutive nodes of
    /// its ring from the key's hash.
    pub fn replicas(&self, key: &Key) -> Vec<NodeId> {
        let mut h = rustc_hash::FxHasher::default();
        key.hash(&mut h);
        let hash = h.finish();
        let mut out = Vec::with_capacity(self.rf * self.dcs);
        for d in 0..self.dcs {
            let m = self.members(d);
            let size = m.len();
            let start = (hash % size as u64) as usize;
            out.extend((0..self.rf).map(|i| m.start + (start + i) % size));
        }
        debug_assert_eq!(out.iter().collect::<BTreeSet<_>>().len(), out.len(), "replicas are distinct");
        out
    }

    /// The replicas a request at `level` (or a Paxos round) coordinated in
    /// datacenter `local` asks: its own datacenter's for the local levels,
    /// all of them otherwise.
    pub fn asked(&self, key: &Key, local: usize, local_only: bool) -> Vec<NodeId> {
        let all = self.replicas(key);
        if local_only {
            all.into_iter().filter(|&n| self.dc_of(n) == local).collect()
        } else {
            all
        }
    }

    /// Whether the replicas in `from` satisfy `level` for a coordinator in
    /// datacenter `local` (Cassandra's counting: QUORUM is a majority of all
    /// replicas, `sum(rf) / 2 + 1`; EACH_QUORUM a majority in every
    /// datacenter).
    pub fn satisfied(&self, level: Level, local: usize, from: &BTreeSet<NodeId>) -> bool {
        let total = self.rf * self.dcs;
        let in_dc = |d: usize| from.iter().filter(|&&n| self.dc_of(n) == d).count();
        let majority = self.rf / 2 + 1;
        match level {
            Level::One => !from.is_empty(),
            Level::Two => from.len() >= 2.min(total),
            Level::Quorum => from.len() > total / 2,
            Level::LocalQuorum => in_dc(local) >= majority,
            Level::EachQuorum => (0..self.dcs).all(|d| in_dc(d) >= majority),
            Level::LocalOne => in_dc(local) >= 1,
            Level::All => from.len() >= total,
        }
    }

    /// How many replies a Paxos phase needs out of the `asked` replicas.
    pub fn paxos_majority(asked: usize) -> usize {
        asked / 2 + 1
    }
}

/// Messages held back on arrival from another datacenter for the
/// wide-area delay (volatile: a crash loses them, as it loses messages in
/// flight to the node). The simulator's latency is the local-area one;
/// the extra delay is added here, at the receiver, so the protocol's
/// messages and handlers stay as they are. Every message waits the same
/// delay, so they come out in arrival order, one per timer: the owner
/// sets a timer of the delay for each message it parks (virtual time,
/// which clock faults do not move).
#[derive(Clone, Debug)]
pub struct Wan<M> {
    pub delay_ns: u64,
    parked: VecDeque<(NodeId, M)>,
    /// Messages dropped because [`MAX_PARKED`] were already held.
    pub overflow: u64,
}

impl<M> Wan<M> {
    pub fn new(delay_ns: u64) -> Wan<M> {
        Wan { delay_ns, parked: VecDeque::new(), overflow: 0 }
    }

    /// Holds `msg` from `from`; `false` when the backlog is full and it
    /// was dropped (no timer needed).
    pub fn park(&mut self, from: NodeId, msg: M) -> bool {
        if self.parked.len() >= MAX_PARKED {
            self.overflow += 1;
            return false;
        }
        self.parked.push_back((from, msg));
        true
    }

    /// The oldest parked message (its delay is over when its timer fires).
    pub fn pop(&mut self) -> Option<(NodeId, M)> {
        self.parked.pop_front()
    }

    pub fn len(&self) -> usize {
        self.parked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::Value;

    fn set(v: &[NodeId]) -> BTreeSet<NodeId> {
        v.iter().copied().collect()
    }

    #[test]
    fn datacenters_are_contiguous_halves_and_replicas_spread_over_them() {
        let t = Topology::new(6, 2, 3);
        assert_eq!((t.members(0), t.members(1)), (0..3, 3..6));
        assert_eq!((t.dc_of(2), t.dc_of(3)), (0, 1));
        let t5 = Topology::new(5, 2, 3);
        assert_eq!((t5.members(0), t5.members(1), t5.rf), (0..2, 2..5, 2), "rf clamps to the smaller dc");
        for k in 0..20 {
            let r = t.replicas(&Some(Value::Int(k)));
            assert_eq!(r.len(), 6);
            assert_eq!(r.iter().filter(|&&n| t.dc_of(n) == 0).count(), 3);
        }
        let t = Topology::new(6, 2, 2);
        let key = Some(Value::Int(4));
        assert!(t.asked(&key, 1, true).iter().all(|&n| t.dc_of(n) == 1));
        assert_eq!(t.asked(&key, 1, false).len(), 4);
    }

    /// Two datacenters of three replicas: LOCAL_QUORUM is two of the local
    /// three, QUORUM four of six, EACH_QUORUM two in each.
    #[test]
    fn levels_count_replies_as_cassandra_does() {
        let t = Topology::new(6, 2, 3);
        let local = set(&[0, 1]);
        assert!(t.satisfied(Level::LocalQuorum, 0, &local));
        assert!(!t.satisfied(Level::LocalQuorum, 1, &local));
        assert!(!t.satisfied(Level::Quorum, 0, &local));
        assert!(!t.satisfied(Level::EachQuorum, 0, &local));
        assert!(t.satisfied(Level::Quorum, 0, &set(&[0, 1, 3, 4])));
        assert!(t.satisfied(Level::EachQuorum, 0, &set(&[0, 1, 3, 4])));
        assert!(!t.satisfied(Level::EachQuorum, 0, &set(&[0, 1, 2, 3])));
        assert!(t.satisfied(Level::Quorum, 0, &set(&[0, 1, 2, 3])));
        assert!(t.satisfied(Level::One, 0, &set(&[5])));
        assert!(!t.satisfied(Level::LocalOne, 0, &set(&[5])));
        assert!(t.satisfied(Level::Two, 0, &set(&[2, 5])));
        assert!(!t.satisfied(Level::All, 0, &set(&[0, 1, 2, 3, 4])));
        assert_eq!(Level::NAMES.iter().filter_map(|n| Level::parse(n)).count(), Level::NAMES.len());
    }

    #[test]
    fn parked_messages_come_out_in_arrival_order() {
        let mut w = Wan::new(10);
        assert!(w.park(1, "a") && w.park(2, "b"));
        assert_eq!(w.len(), 2);
        assert_eq!(w.pop(), Some((1, "a")));
        assert_eq!(w.pop(), Some((2, "b")));
        assert!(w.is_empty() && w.pop().is_none());
    }
}
