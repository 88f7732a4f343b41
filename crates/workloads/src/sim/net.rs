//! The simulated network: latency distributions, loss, duplication,
//! reordering, and partition shapes (which pairs of nodes cannot talk).

use super::node::NodeId;
use checker::Value;
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A distribution of delays in virtual nanoseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Latency {
    Constant {
        ns: u64,
    },
    /// Uniform in `[min_ns, max_ns]`.
    Uniform {
        min_ns: u64,
        max_ns: u64,
    },
    /// `min_ns` plus an exponential tail, so the mean is `mean_ns`
    /// (clamped to at least `min_ns`).
    Exponential {
        min_ns: u64,
        mean_ns: u64,
    },
    /// A Pareto (power-law) delay starting at `min_ns` with mean `mean_ns`:
    /// shape `α = mean / (mean - min)`, so a few messages are very late
    /// (for the defaults α = 1.25, infinite variance). Capped like the
    /// exponential at [`EXP_TAIL_CAP`] means. A power law needs a floor:
    /// with `min_ns` 0 every message takes the mean.
    Pareto {
        min_ns: u64,
        mean_ns: u64,
    },
}

/// `--latency-dist`: the shape of the node-to-node delay, each with the
/// same floor and mean so that runs differ in spread, not in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyDist {
    /// Every message takes the mean: no spread, so latency never reorders.
    Constant,
    /// Uniform in `[min, 2 × mean - min]`.
    Uniform,
    /// The floor plus an exponential tail (the default).
    Exponential,
    /// The floor times a power law: a heavier tail than the exponential.
    Pareto,
}

/// The floor and mean of the default node-to-node delay (0.1 ms, 0.5 ms).
pub const LATENCY_MIN_NS: u64 = 100_000;
pub const LATENCY_MEAN_NS: u64 = 500_000;

impl LatencyDist {
    pub const ALL: [LatencyDist; 4] =
        [LatencyDist::Constant, LatencyDist::Uniform, LatencyDist::Exponential, LatencyDist::Pareto];

    /// The names `--latency-dist` takes, in [`LatencyDist::ALL`]'s order.
    pub const NAMES: [&'static str; 4] = ["constant", "uniform", "exponential", "pareto"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<LatencyDist> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The distribution of this shape with floor `min_ns` and mean `mean_ns`
    /// (a mean below the floor is raised to it).
    pub fn latency(self, min_ns: u64, mean_ns: u64) -> Latency {
        let mean_ns = mean_ns.max(min_ns);
        match self {
            LatencyDist::Constant => Latency::Constant { ns: mean_ns },
            LatencyDist::Uniform => Latency::Uniform { min_ns, max_ns: mean_ns.saturating_mul(2) - min_ns },
            LatencyDist::Exponential => Latency::Exponential { min_ns, mean_ns },
            LatencyDist::Pareto => Latency::Pareto { min_ns, mean_ns },
        }
    }

    /// The simulator's node-to-node delay of this shape.
    pub fn default_latency(self) -> Latency {
        self.latency(LATENCY_MIN_NS, LATENCY_MEAN_NS)
    }
}

/// Tail samples are capped at this many means: an exponential is unbounded,
/// and one absurd delay would stretch the run for nothing.
const EXP_TAIL_CAP: f64 = 50.0;

impl Latency {
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        match *self {
            Latency::Constant { ns } => ns,
            Latency::Uniform { min_ns, max_ns } => {
                if max_ns <= min_ns {
                    min_ns
                } else {
                    rng.random_range(min_ns..=max_ns)
                }
            }
            Latency::Exponential { min_ns, mean_ns } => {
                let tail = mean_ns.saturating_sub(min_ns) as f64;
                min_ns.saturating_add(exp_sample(rng, tail) as u64)
            }
            Latency::Pareto { min_ns, mean_ns } => {
                if mean_ns <= min_ns || min_ns == 0 {
                    return mean_ns.max(min_ns);
                }
                let (min, mean) = (min_ns as f64, mean_ns as f64);
                let alpha = mean / (mean - min);
                // Inverse transform: 1 - u is in (0, 1], so the power is finite.
                let u: f64 = rng.random::<f64>();
                (min * libm::pow(1.0 - u, -1.0 / alpha)).min(mean * EXP_TAIL_CAP) as u64
            }
        }
    }

    /// The distribution's mean, for sizing things.
    pub fn mean_ns(&self) -> u64 {
        match *self {
            Latency::Constant { ns } => ns,
            Latency::Uniform { min_ns, max_ns } => min_ns / 2 + max_ns.max(min_ns) / 2,
            Latency::Exponential { min_ns, mean_ns } | Latency::Pareto { min_ns, mean_ns } => mean_ns.max(min_ns),
        }
    }
}

/// An exponential sample with the given mean (0 for a zero mean), capped at
/// [`EXP_TAIL_CAP`] means.
pub(crate) fn exp_sample(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    let u: f64 = rng.random::<f64>();
    (-libm::log(1.0 - u) * mean).min(mean * EXP_TAIL_CAP)
}

/// Network behaviour outside of faults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Delay of a message between two nodes (and to oneself).
    pub latency: Latency,
    /// Delay between a client and a node, each way. Clients are never
    /// partitioned (like Jepsen's control node) but do wait for crashed or
    /// paused nodes.
    pub client_latency: Latency,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (independent delays).
    pub duplicate: f64,
    /// Probability that a message gets an extra delay, uniform in
    /// `[0, reorder_delay_ns]`, so it overtakes or is overtaken by others.
    /// Latency jitter alone already reorders.
    pub reorder: f64,
    pub reorder_delay_ns: u64,
    /// Bound on events waiting in the simulator's queue; messages sent beyond
    /// it are dropped (counted as overflow). Protects memory from protocols
    /// that flood the network.
    pub max_in_flight: usize,
    /// A crash is a power-off: a node's messages sent less than this long
    /// before it crashed were still in its send buffer and are lost (0: a
    /// crash flushes everything sent). The default, 1 ms, is a few
    /// message delays.
    #[serde(default = "default_send_buffer_ns")]
    pub send_buffer_ns: u64,
}

fn default_send_buffer_ns() -> u64 {
    1_000_000
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency: LatencyDist::Exponential.default_latency(),
            client_latency: Latency::Uniform { min_ns: 50_000, max_ns: 150_000 },
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay_ns: 2_000_000,
            max_in_flight: 4_000_000,
            send_buffer_ns: default_send_buffer_ns(),
        }
    }
}

/// How a partition splits the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionShape {
    /// Nodes `0..n/2` against the rest.
    Halves,
    /// A random split into two halves.
    RandomHalves,
    /// One node (random if `None`) cut off from all others.
    Isolate(Option<NodeId>),
    /// Nodes on a random ring; each sees only the nodes within the distance
    /// that makes a bare majority, so every node sees a majority but no two
    /// see the same one (Jepsen's majorities-ring).
    MajorityRing,
    /// Two random halves that cannot talk, and one node that talks to both.
    Bridge,
}

impl PartitionShape {
    pub fn name(&self) -> &'static str {
        match self {
            PartitionShape::Halves => "halves",
            PartitionShape::RandomHalves => "random-halves",
            PartitionShape::Isolate(_) => "isolate",
            PartitionShape::MajorityRing => "majority-ring",
            PartitionShape::Bridge => "bridge",
        }
    }

    pub(crate) const ALL_RANDOM: [PartitionShape; 5] = [
        PartitionShape::Halves,
        PartitionShape::RandomHalves,
        PartitionShape::Isolate(None),
        PartitionShape::MajorityRing,
        PartitionShape::Bridge,
    ];

    /// Which pairs cannot talk: `blocked[a * n + b]`, symmetric, never on the
    /// diagonal.
    pub fn grudge(&self, n: usize, rng: &mut ChaCha8Rng) -> Vec<bool> {
        let mut blocked = vec![false; n * n];
        if n < 2 {
            return blocked;
        }
        let mut order: Vec<NodeId> = (0..n).collect();
        let cut = |blocked: &mut Vec<bool>, a: NodeId, b: NodeId| {
            if a != b {
                blocked[a * n + b] = true;
                blocked[b * n + a] = true;
            }
        };
        match *self {
            PartitionShape::Halves | PartitionShape::RandomHalves => {
                if *self == PartitionShape::RandomHalves {
                    order.shuffle(rng);
                }
                let (left, right) = order.split_at(n / 2);
                for &a in left {
                    for &b in right {
                        cut(&mut blocked, a, b);
                    }
                }
            }
            PartitionShape::Isolate(node) => {
                let victim = match node {
                    Some(v) if v < n => v,
                    _ => rng.random_range(0..n),
                };
                for b in 0..n {
                    cut(&mut blocked, victim, b);
                }
            }
            PartitionShape::MajorityRing => {
                order.shuffle(rng);
                let majority = n / 2 + 1;
                // Seeing itself and `reach` neighbours on each side makes a
                // majority.
                let reach = (majority - 1).div_ceil(2);
                for i in 0..n {
                    for j in 0..n {
                        let d = i.abs_diff(j);
                        if d.min(n - d) > reach {
                            cut(&mut blocked, order[i], order[j]);
                        }
                    }
                }
            }
            PartitionShape::Bridge => {
                // order[0] is the bridge: it keeps every link.
                order.shuffle(rng);
                let rest = &order[1..];
                let (left, right) = rest.split_at(rest.len() / 2);
                for &a in left {
                    for &b in right {
                        cut(&mut blocked, a, b);
                    }
                }
            }
        }
        blocked
    }
}

/// The grudge of a datacenter partition: `dc_of[a]` is node a's
/// datacenter; every link between two datacenters is cut, none inside one.
pub fn datacenter_grudge(dc_of: &[usize]) -> Vec<bool> {
    let n = dc_of.len();
    let mut blocked = vec![false; n * n];
    for a in 0..n {
        for b in 0..n {
            blocked[a * n + b] = dc_of[a] != dc_of[b];
        }
    }
    blocked
}

/// Node names as they appear in histories: `n0`, `n1`, ...
pub fn node_name(id: NodeId) -> Box<str> {
    format!("n{id}").into_boxed_str()
}

/// A grudge as a history value: `{"n0": ["n3", "n4"], ...}`, only nodes
/// that drop something.
pub(crate) fn grudge_value(blocked: &[bool], n: usize) -> Value {
    let mut entries = Vec::new();
    for a in 0..n {
        let cut: Vec<Value> = (0..n).filter(|&b| blocked[a * n + b]).map(|b| Value::Str(node_name(b))).collect();
        if !cut.is_empty() {
            entries.push((Value::Str(node_name(a)), Value::List(cut)));
        }
    }
    Value::map(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sees(blocked: &[bool], n: usize, a: usize) -> usize {
        (0..n).filter(|&b| !blocked[a * n + b]).count()
    }

    #[test]
    fn shapes_cut_what_they_promise() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 5;
        let g = PartitionShape::Halves.grudge(n, &mut rng);
        assert!(g[2] && !g[1] && !g[n * 3 + 4] && g[4 * n]);
        let g = PartitionShape::Isolate(Some(2)).grudge(n, &mut rng);
        assert_eq!(sees(&g, n, 2), 1);
        assert_eq!(sees(&g, n, 0), 4);
        let g = PartitionShape::MajorityRing.grudge(n, &mut rng);
        for a in 0..n {
            assert_eq!(sees(&g, n, a), 3, "node {a} must see exactly a bare majority");
        }
        let g = PartitionShape::Bridge.grudge(n, &mut rng);
        let full: Vec<usize> = (0..n).filter(|&a| sees(&g, n, a) == n).collect();
        assert_eq!(full.len(), 1, "exactly one bridge node");
        let g = PartitionShape::RandomHalves.grudge(n, &mut rng);
        let small = (0..n).filter(|&a| sees(&g, n, a) == 2).count();
        assert_eq!(small, 2);
        for shape in PartitionShape::ALL_RANDOM {
            let g = shape.grudge(n, &mut rng);
            for a in 0..n {
                assert!(!g[a * n + a]);
                for b in 0..n {
                    assert_eq!(g[a * n + b], g[b * n + a]);
                }
            }
        }
    }

    /// #17: a datacenter partition cuts exactly the links between
    /// datacenters, both ways, and none inside one.
    #[test]
    fn a_datacenter_partition_cuts_only_links_between_datacenters() {
        let dc_of = [0, 0, 0, 1, 1, 2];
        let n = dc_of.len();
        let g = datacenter_grudge(&dc_of);
        for a in 0..n {
            for b in 0..n {
                assert_eq!(g[a * n + b], dc_of[a] != dc_of[b], "link n{a} -> n{b}");
            }
        }
        assert_eq!(g.iter().filter(|&&c| c).count(), 2 * (3 * 2 + 3 + 2));
        assert!(datacenter_grudge(&[0; 4]).iter().all(|&c| !c), "one datacenter: nothing cut");
    }

    #[test]
    fn latency_within_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..1000 {
            let u = Latency::Uniform { min_ns: 10, max_ns: 20 }.sample(&mut rng);
            assert!((10..=20).contains(&u));
            let e = Latency::Exponential { min_ns: 10, mean_ns: 20 }.sample(&mut rng);
            assert!((10..=10 + 10 * 50).contains(&e));
        }
        assert_eq!(Latency::Uniform { min_ns: 5, max_ns: 1 }.sample(&mut rng), 5);
    }

    /// #15 §5: each `--latency-dist` shape, counted over 100k samples of
    /// the default floor and mean: constant has no spread, uniform fills
    /// its range, and pareto's tail (beyond 10 means) is far heavier than
    /// the exponential's (expected 0.75% against 5e-6 %).
    #[test]
    fn latency_dists_have_their_shapes() {
        let samples = |d: LatencyDist| {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let l = d.default_latency();
            (0..100_000).map(|_| l.sample(&mut rng)).collect::<Vec<u64>>()
        };
        let beyond = |v: &[u64], ns: u64| v.iter().filter(|&&x| x > ns).count();
        let mean = |v: &[u64]| v.iter().sum::<u64>() / v.len() as u64;
        let constant = samples(LatencyDist::Constant);
        assert!(constant.iter().all(|&x| x == LATENCY_MEAN_NS), "constant has zero spread");
        let uniform = samples(LatencyDist::Uniform);
        let (lo, hi) = (LATENCY_MIN_NS, 2 * LATENCY_MEAN_NS - LATENCY_MIN_NS);
        assert!(uniform.iter().all(|x| (lo..=hi).contains(x)));
        assert!(beyond(&uniform, hi - 10_000) > 500 && uniform.iter().filter(|&&x| x < lo + 10_000).count() > 500);
        let exp = samples(LatencyDist::Exponential);
        let pareto = samples(LatencyDist::Pareto);
        for v in [&uniform, &exp, &pareto] {
            assert!(v.iter().all(|&x| x >= LATENCY_MIN_NS), "no delay below the floor");
            let m = mean(v);
            assert!(m.abs_diff(LATENCY_MEAN_NS) < LATENCY_MEAN_NS / 5, "mean {m} is near the mean asked for");
        }
        let far = 10 * LATENCY_MEAN_NS;
        let (p_far, e_far) = (beyond(&pareto, far), beyond(&exp, far));
        assert!(p_far > 400 && e_far < 5, "tail beyond 10 means: pareto {p_far}, exponential {e_far}");
        assert!(pareto.iter().all(|&x| x as f64 <= LATENCY_MEAN_NS as f64 * EXP_TAIL_CAP), "the tail is capped");
        assert_eq!(LatencyDist::Exponential.default_latency(), NetConfig::default().latency, "the default");
    }
}
