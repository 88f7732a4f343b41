//! The fault schedule, drawn from the seed before the run starts: after a
//! gap, a fault of a random enabled kind starts, holds, and heals; then the
//! next gap. Gaps and holds are uniform in `[interval / 2, 3 × interval / 2]`
//! (Maelstrom's `--nemesis-interval` is the mean time between nemesis
//! actions). Whatever holds at the time limit heals then.
//!
//! The schedule is fully reproducible from the seed: which faults, when, on
//! which nodes, partition shapes, loss and duplication rates.

use crate::config::NemesisKind;
use checker::Value;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use workloads::sim::{Latency, PartitionShape};

/// What a fault does while it holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `blocked[a * n + b]`: node a's messages to b are dropped.
    Partition {
        shape: &'static str,
        blocked: Vec<bool>,
    },
    Pause(Vec<usize>),
    /// SIGKILL, then start the binary again when the fault heals.
    Kill(Vec<usize>),
    Loss(f64),
    Duplicate(f64),
    /// Extra delay on node-to-node messages.
    Delay(Latency),
}

/// One fault: starts at `start_ns` (since the clients started), heals at `end_ns`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    pub start_ns: u64,
    pub end_ns: u64,
    pub kind: NemesisKind,
    pub action: Action,
}

const SHAPES: [PartitionShape; 5] = [
    PartitionShape::Halves,
    PartitionShape::RandomHalves,
    PartitionShape::Isolate(None),
    PartitionShape::MajorityRing,
    PartitionShape::Bridge,
];

/// The schedule for `n` nodes over `time_limit_ns`.
pub fn schedule(
    kinds: &[NemesisKind],
    n: usize,
    interval_ns: u64,
    time_limit_ns: u64,
    latency_mean_ns: u64,
    rng: &mut ChaCha8Rng,
) -> Vec<ScheduledFault> {
    let mut out = Vec::new();
    if kinds.is_empty() || interval_ns == 0 {
        return out;
    }
    let span = |rng: &mut ChaCha8Rng| rng.random_range(interval_ns / 2..=interval_ns.saturating_mul(3) / 2).max(1);
    let mut t = span(rng);
    while t < time_limit_ns {
        let kind = kinds[rng.random_range(0..kinds.len())];
        let hold = span(rng);
        let action = match kind {
            NemesisKind::Partition => {
                let shape = SHAPES[rng.random_range(0..SHAPES.len())];
                Action::Partition { shape: shape.name(), blocked: shape.grudge(n, rng) }
            }
            NemesisKind::Pause => Action::Pause(targets(n, rng)),
            NemesisKind::Kill => Action::Kill(targets(n, rng)),
            NemesisKind::Loss => Action::Loss(rng.random_range(0.1..0.5)),
            NemesisKind::Duplicate => Action::Duplicate(rng.random_range(0.1..0.5)),
            NemesisKind::Delay => {
                // Ten times the normal latency, at least 50 ms, at most 1 s.
                let mean_ns = latency_mean_ns.saturating_mul(10).clamp(50_000_000, 1_000_000_000);
                Action::Delay(Latency::Exponential { min_ns: 0, mean_ns })
            }
        };
        let end = t.saturating_add(hold).min(time_limit_ns);
        out.push(ScheduledFault { start_ns: t, end_ns: end, kind, action });
        t = end.saturating_add(span(rng));
    }
    out
}

/// One node (half the time), a minority, or a majority; sorted.
fn targets(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let k = match rng.random_range(0..10) {
        0..=4 => 1,
        5..=7 => (n.saturating_sub(1) / 2).max(1),
        _ => n / 2 + 1,
    }
    .min(n);
    let mut all: Vec<usize> = (0..n).collect();
    // A partial Fisher-Yates: the first k are a uniform sample.
    for i in 0..k {
        let j = rng.random_range(i..n);
        all.swap(i, j);
    }
    let mut t = all[..k].to_vec();
    t.sort_unstable();
    t
}

fn names(nodes: &[usize], ids: &[String]) -> Value {
    Value::List(nodes.iter().map(|&i| Value::str(&ids[i])).collect())
}

impl Action {
    /// The fault as a history value (the nemesis event's `value`).
    /// `ids` names the nodes by index.
    pub fn value(&self, ids: &[String]) -> Value {
        let n = ids.len();
        match self {
            Action::Partition { shape, blocked } => {
                let mut grudge = Vec::new();
                for a in 0..n {
                    let cut: Vec<usize> = (0..n).filter(|&b| blocked.get(a * n + b) == Some(&true)).collect();
                    if !cut.is_empty() {
                        grudge.push((Value::str(&ids[a]), names(&cut, ids)));
                    }
                }
                Value::map(vec![(Value::str("shape"), Value::str(shape)), (Value::str("grudge"), Value::map(grudge))])
            }
            Action::Pause(nodes) | Action::Kill(nodes) => names(nodes, ids),
            Action::Loss(p) | Action::Duplicate(p) => Value::map(vec![(Value::str("rate"), Value::Float(*p))]),
            Action::Delay(l) => Value::map(vec![(Value::str("mean_ms"), Value::Int((l.mean_ns() / 1_000_000) as i64))]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sched(seed: u64, kinds: &[NemesisKind]) -> Vec<ScheduledFault> {
        schedule(kinds, 5, 1_000_000_000, 20_000_000_000, 0, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    #[test]
    fn one_fault_at_a_time_within_the_time_limit() {
        let s = sched(1, &NemesisKind::ALL);
        assert!(s.len() >= 5, "{}", s.len());
        for w in s.windows(2) {
            assert!(w[0].end_ns <= w[1].start_ns, "faults do not overlap");
        }
        for f in &s {
            assert!(f.start_ns < f.end_ns && f.end_ns <= 20_000_000_000);
            match &f.action {
                Action::Pause(t) | Action::Kill(t) => {
                    assert!(!t.is_empty() && t.len() <= 5 && t.windows(2).all(|w| w[0] < w[1]))
                }
                Action::Loss(p) | Action::Duplicate(p) => assert!((0.1..0.5).contains(p)),
                Action::Partition { blocked, .. } => assert!(blocked.iter().any(|&b| b)),
                Action::Delay(l) => assert!(l.mean_ns() >= 50_000_000),
            }
        }
    }

    #[test]
    fn the_seed_decides_the_schedule() {
        assert_eq!(sched(7, &NemesisKind::ALL), sched(7, &NemesisKind::ALL));
        assert_ne!(sched(7, &NemesisKind::ALL), sched(8, &NemesisKind::ALL));
        assert!(sched(1, &[]).is_empty());
        assert!(sched(1, &[NemesisKind::Kill]).iter().all(|f| f.kind == NemesisKind::Kill));
    }

    #[test]
    fn values_name_the_nodes() {
        let ids = |n: usize, base: usize| (0..n).map(|i| format!("n{}", i + base)).collect::<Vec<_>>();
        let v = Action::Kill(vec![0, 3]).value(&ids(5, 0));
        assert_eq!(v.to_string(), Value::List(vec![Value::str("n0"), Value::str("n3")]).to_string());
        let v = Action::Kill(vec![0, 3]).value(&ids(5, 1));
        assert_eq!(v.to_string(), Value::List(vec![Value::str("n1"), Value::str("n4")]).to_string());
        let mut blocked = vec![false; 4];
        blocked[1] = true;
        blocked[2] = true;
        let v = Action::Partition { shape: "halves", blocked }.value(&ids(2, 0));
        assert!(v.to_string().contains("halves") && v.to_string().contains("n1"), "{v}");
    }
}
