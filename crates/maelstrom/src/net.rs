//! The router's decisions, without any I/O: where a message may go, when it
//! arrives, whether it is lost or duplicated. Faults act on node-to-node
//! messages only; messages between nodes and clients, the harness or the
//! services get the latency alone (Jepsen's clients and Maelstrom's services
//! sit outside the partitioned network).
//!
//! Random draws come from one seeded generator, in the order messages reach
//! the router. That order is the node processes' doing, so a run's draws are
//! reproducible only given the same message order.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use workloads::sim::Latency;

/// Who a message is from or for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// Node `i`, named `n{i}`.
    Node(usize),
    /// Client connection `c{i}` (one per client process, from 1).
    Client(u64),
    /// The harness itself (`c0`): init and topology.
    Harness,
    Service(crate::services::ServiceKind),
}

/// Why a message was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    Partition,
    Loss,
    /// The destination node was killed, or had exited.
    NodeDown,
    /// The destination's stdin queue was full (it was not reading).
    Overflow,
    /// No node, client or service has that name.
    UnknownDestination,
}

impl DropReason {
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Partition => "partition",
            DropReason::Loss => "loss",
            DropReason::NodeDown => "node-down",
            DropReason::Overflow => "overflow",
            DropReason::UnknownDestination => "unknown-destination",
        }
    }
}

/// What becomes of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Deliver after this delay, and a second copy after the other if the
    /// message is duplicated.
    Deliver {
        delay_ns: u64,
        duplicate_ns: Option<u64>,
    },
    Drop(DropReason),
}

/// The network: latency, and the faults in force.
pub struct Net {
    n: usize,
    latency: Latency,
    rng: ChaCha8Rng,
    /// `blocked[a * n + b]`: node a's messages to node b are dropped.
    blocked: Vec<bool>,
    pub loss: f64,
    pub duplicate: f64,
    /// Extra delay on node-to-node messages while a delay fault holds.
    pub delay: Option<Latency>,
}

impl Net {
    pub fn new(n: usize, latency: Latency, rng: ChaCha8Rng) -> Net {
        Net { n, latency, rng, blocked: vec![false; n * n], loss: 0.0, duplicate: 0.0, delay: None }
    }

    /// Cuts the links marked in `blocked` (`n * n`, as `PartitionShape::grudge`
    /// builds it); an empty slice heals every link.
    pub fn set_partition(&mut self, blocked: &[bool]) {
        self.blocked.iter_mut().for_each(|b| *b = false);
        if blocked.len() == self.blocked.len() {
            self.blocked.copy_from_slice(blocked);
        }
    }

    pub fn is_blocked(&self, a: Endpoint, b: Endpoint) -> bool {
        match (a, b) {
            (Endpoint::Node(a), Endpoint::Node(b)) if a < self.n && b < self.n => self.blocked[a * self.n + b],
            _ => false,
        }
    }

    /// Decides one message's fate as it enters the network.
    pub fn decide(&mut self, from: Endpoint, to: Endpoint) -> Decision {
        let between_nodes = matches!((from, to), (Endpoint::Node(_), Endpoint::Node(_)));
        if !between_nodes {
            return Decision::Deliver { delay_ns: self.latency.sample(&mut self.rng), duplicate_ns: None };
        }
        if self.is_blocked(from, to) {
            return Decision::Drop(DropReason::Partition);
        }
        if self.loss > 0.0 && self.rng.random::<f64>() < self.loss {
            return Decision::Drop(DropReason::Loss);
        }
        let delay_ns = self.node_delay();
        let duplicate_ns =
            (self.duplicate > 0.0 && self.rng.random::<f64>() < self.duplicate).then(|| self.node_delay());
        Decision::Deliver { delay_ns, duplicate_ns }
    }

    fn node_delay(&mut self) -> u64 {
        let base = self.latency.sample(&mut self.rng);
        match &self.delay {
            Some(extra) => base.saturating_add(extra.sample(&mut self.rng)),
            None => base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ServiceKind;
    use rand::SeedableRng;

    fn net(latency: Latency) -> Net {
        Net::new(3, latency, ChaCha8Rng::seed_from_u64(1))
    }

    #[test]
    fn partitions_cut_only_the_links_named_and_heal() {
        let mut n = net(Latency::Constant { ns: 5 });
        let mut g = vec![false; 9];
        g[1] = true; // n0 -> n1
        g[3] = true; // n1 -> n0
        n.set_partition(&g);
        assert_eq!(n.decide(Endpoint::Node(0), Endpoint::Node(1)), Decision::Drop(DropReason::Partition));
        assert_eq!(
            n.decide(Endpoint::Node(0), Endpoint::Node(2)),
            Decision::Deliver { delay_ns: 5, duplicate_ns: None }
        );
        // Clients and services are outside the partition.
        assert!(matches!(n.decide(Endpoint::Client(1), Endpoint::Node(1)), Decision::Deliver { .. }));
        assert!(matches!(n.decide(Endpoint::Node(0), Endpoint::Service(ServiceKind::LinKv)), Decision::Deliver { .. }));
        n.set_partition(&[]);
        assert!(matches!(n.decide(Endpoint::Node(0), Endpoint::Node(1)), Decision::Deliver { .. }));
    }

    #[test]
    fn loss_and_duplication_at_their_rates() {
        let mut n = net(Latency::Constant { ns: 0 });
        n.loss = 0.25;
        n.duplicate = 0.5;
        let (mut lost, mut dup) = (0, 0);
        for _ in 0..10_000 {
            match n.decide(Endpoint::Node(0), Endpoint::Node(1)) {
                Decision::Drop(DropReason::Loss) => lost += 1,
                Decision::Deliver { duplicate_ns: Some(_), .. } => dup += 1,
                _ => {}
            }
        }
        assert!((2200..2800).contains(&lost), "{lost}");
        assert!((3400..4100).contains(&dup), "{dup}");
        // Faults never touch client traffic.
        for _ in 0..1000 {
            assert_eq!(
                n.decide(Endpoint::Client(1), Endpoint::Node(0)),
                Decision::Deliver { delay_ns: 0, duplicate_ns: None }
            );
        }
    }

    #[test]
    fn delay_adds_to_latency_and_reorders() {
        let mut n = net(Latency::Constant { ns: 1_000 });
        n.delay = Some(Latency::Uniform { min_ns: 0, max_ns: 1_000_000 });
        let ds: Vec<u64> = (0..100)
            .map(|_| match n.decide(Endpoint::Node(0), Endpoint::Node(1)) {
                Decision::Deliver { delay_ns, .. } => delay_ns,
                d => panic!("{d:?}"),
            })
            .collect();
        assert!(ds.iter().all(|&d| d >= 1_000));
        assert!(ds.windows(2).any(|w| w[1] < w[0]), "later messages can overtake earlier ones");
    }

    #[test]
    fn same_seed_same_decisions() {
        let run = || {
            let mut n = Net::new(2, Latency::Exponential { min_ns: 0, mean_ns: 1000 }, ChaCha8Rng::seed_from_u64(9));
            n.loss = 0.1;
            (0..100).map(|_| n.decide(Endpoint::Node(0), Endpoint::Node(1))).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
