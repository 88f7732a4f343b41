//! Fault injection: the schedule of faults, written out or generated from
//! the seed. Each fault starts and later stops (heals); both are recorded in
//! the history as `process: "nemesis"` invoke/info pairs.

use super::net::PartitionShape;
use super::node::NodeId;
use serde::{Deserialize, Serialize};

/// The kinds of fault, by their command-line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    Partition,
    Crash,
    Pause,
    Loss,
    Duplicate,
    ClockSkew,
    /// Faults aimed at the node the protocol names leader
    /// ([`super::Node::is_leader`]): each crashes, pauses or isolates it,
    /// and the protocol's leader fault points
    /// ([`super::Ctx::leader_fault_point`]) crash it there (#15 §5).
    Leader,
    /// Datacenter partitions: every link between nodes of different
    /// datacenters ([`super::Protocol::datacenter`]) is cut, every link
    /// inside a datacenter stays up (#17). Takes no effect on a protocol
    /// with one datacenter.
    DcPartition,
    /// FoundationDB's swizzle-clog: some nodes are clogged one by one
    /// (every message to or from a clogged node is held, not lost, until
    /// it unclogs), then unclogged in another random order (#15 §5).
    Swizzle,
    /// Moderate loss link by link: each directed link drops messages at a
    /// rate of its own, drawn up to a few tens of percent (#15 §5).
    LinkLoss,
}

impl FaultKind {
    /// The untargeted kinds (`--nemesis all`); [`FaultKind::Leader`] and
    /// [`FaultKind::DcPartition`] are asked for by name, so that `all`
    /// keeps the schedules it had.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Partition,
        FaultKind::Crash,
        FaultKind::Pause,
        FaultKind::Loss,
        FaultKind::Duplicate,
        FaultKind::ClockSkew,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Crash => "crash",
            FaultKind::Pause => "pause",
            FaultKind::Loss => "loss",
            FaultKind::Duplicate => "duplicate",
            FaultKind::ClockSkew => "clock-skew",
            FaultKind::Leader => "leader",
            FaultKind::DcPartition => "dc-partition",
            FaultKind::Swizzle => "swizzle",
            FaultKind::LinkLoss => "link-loss",
        }
    }

    /// The kinds asked for by name only, after [`FaultKind::ALL`].
    pub const NAMED: [FaultKind; 4] =
        [FaultKind::Leader, FaultKind::DcPartition, FaultKind::Swizzle, FaultKind::LinkLoss];

    pub fn parse(s: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().chain(FaultKind::NAMED).find(|k| k.name() == s)
    }

    /// The index of the kind's random stream: its place in
    /// [`FaultKind::ALL`], then in [`FaultKind::NAMED`] (so a new kind
    /// leaves the older kinds' streams, and their schedules, alone).
    pub(crate) fn stream_index(&self) -> u64 {
        FaultKind::ALL.iter().chain(&FaultKind::NAMED).position(|k| k == self).unwrap_or(FaultKind::ALL.len()) as u64
    }
}

/// Which nodes a node fault hits. Random choices come from the run's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Node(NodeId),
    /// One node chosen at random.
    Random,
    /// This many distinct random nodes (capped at the cluster size).
    Several(usize),
    /// Nodes whose [`super::Node::is_leader`] says so (a random node if none).
    Leader,
    All,
    /// A failover episode (crash faults only): the leader crashes now, as
    /// with [`Target::Leader`], and while the fault lasts each next leader
    /// crashes at the protocol's leader fault points
    /// ([`super::Ctx::leader_fault_point`]) as under `leader` faults, the
    /// one down before it coming back (a rolling crash: failover and
    /// failback). Jepsen's `:primaries` target at FoundationDB's BUGGIFY
    /// moments.
    LeaderFailover,
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Node(n) => format!("n{n}"),
            Target::Random => "random".into(),
            Target::Several(k) => format!("several:{k}"),
            Target::Leader => "leader".into(),
            Target::All => "all".into(),
            Target::LeaderFailover => "leader-failover".into(),
        }
    }
}

/// One fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    Partition(PartitionShape),
    /// The nodes lose their volatile state, timers and in-flight messages
    /// to them; they restart from their durable state when the fault stops.
    Crash(Target),
    /// The nodes process nothing; deliveries, timers and requests wait.
    Pause(Target),
    /// Messages are lost with this probability (a burst of loss).
    Loss {
        rate: f64,
    },
    /// Messages are duplicated with this probability.
    Duplicate {
        rate: f64,
    },
    /// The nodes' clocks jump by `skew_ns` and run `drift_ppm` parts per
    /// million fast (negative: slow) until the fault stops, when they are
    /// reset to true time.
    ClockSkew {
        target: Target,
        skew_ns: i64,
        drift_ppm: i64,
    },
    /// Every link between datacenters is cut; links inside each stay up.
    DcPartition,
    /// Swizzle-clog `nodes` random nodes (all when 0 or more than the
    /// cluster): over the fault's duration, each is clogged in turn, then
    /// each unclogged in another random order, at even steps.
    Swizzle {
        nodes: usize,
    },
    /// Every directed link between two nodes loses messages at its own
    /// rate, drawn uniformly from `[0, max_rate]`.
    LinkLoss {
        max_rate: f64,
    },
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Partition(_) => FaultKind::Partition,
            Fault::Crash(_) => FaultKind::Crash,
            Fault::Pause(_) => FaultKind::Pause,
            Fault::Loss { .. } => FaultKind::Loss,
            Fault::Duplicate { .. } => FaultKind::Duplicate,
            Fault::ClockSkew { .. } => FaultKind::ClockSkew,
            Fault::DcPartition => FaultKind::DcPartition,
            Fault::Swizzle { .. } => FaultKind::Swizzle,
            Fault::LinkLoss { .. } => FaultKind::LinkLoss,
        }
    }
}

/// A fault in an explicit schedule: starts at `at_ns`, stops `duration_ns`
/// later (for a crash: the time the nodes stay down).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledFault {
    pub at_ns: u64,
    pub duration_ns: u64,
    pub fault: Fault,
}

/// Faults generated from the seed: one independent stream per kind, so
/// faults of different kinds overlap (as Jepsen's combined nemesis composes
/// one generator per fault); within a kind a fault heals before the next
/// starts.
///
/// Without an interval, each stream places `faults_per_kind × intensity`
/// faults (at least one) over the first [`HEAL_AT`] of the client phase:
/// the phase is cut into that many equal slots, a fault starts at a random
/// point of its slot's first half and holds for a random duration, healing
/// at the end of its slot at the latest. The phase is measured in client ops
/// issued (`--ops`) or in virtual time (`--time-limit`), so every requested
/// kind fires that many times however fast the run is. With `interval_ns`
/// (`--nemesis-interval`), each stream waits a random gap of mean
/// `interval_ns / intensity` (uniform in [½, 1½] of it) before each fault
/// instead, as Maelstrom's nemesis does. Either way nothing is faulty after
/// [`HEAL_AT`] of the phase: clients keep working on a healed system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    pub kinds: Vec<FaultKind>,
    /// Scales the number of faults (or the rate, with an interval). > 0.
    pub intensity: f64,
    /// Faults of each kind per run, before `intensity`.
    pub faults_per_kind: u32,
    /// Mean virtual time between faults of one kind; `None`: spread
    /// `faults_per_kind` over the run.
    pub interval_ns: Option<u64>,
    /// Fault durations are log-uniform in `[duration_min_ns,
    /// duration_max_ns]`: milliseconds to seconds, short ones as likely per
    /// decade as long ones.
    pub duration_min_ns: u64,
    pub duration_max_ns: u64,
    /// Upper bound of a generated clock jump, either direction.
    pub max_skew_ns: i64,
    /// Upper bound of a generated drift, either direction.
    pub max_drift_ppm: i64,
}

/// Share of the client phase after which no generated fault is active.
pub const HEAL_AT: f64 = 0.8;

/// Most faults of one kind a slot schedule places (memory bound).
pub const MAX_FAULTS_PER_KIND: u32 = 100_000;

impl Generated {
    pub fn new(kinds: Vec<FaultKind>, intensity: f64) -> Generated {
        Generated {
            kinds,
            intensity,
            faults_per_kind: 4,
            interval_ns: None,
            duration_min_ns: 10_000_000,
            duration_max_ns: 2_000_000_000,
            max_skew_ns: 500_000_000,
            max_drift_ppm: 20_000,
        }
    }

    /// Faults each stream places without an interval.
    pub fn slots(&self) -> u32 {
        let n = libm::round(self.faults_per_kind as f64 * self.intensity);
        (n.max(1.0).min(MAX_FAULTS_PER_KIND as f64)) as u32
    }
}

/// The nemesis: an explicit schedule, generated faults, or both. Whatever is
/// active when the clients finish is healed then (crashed nodes restart,
/// paused ones resume); explicit faults due after that never start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NemesisConfig {
    pub faults: Vec<ScheduledFault>,
    pub generate: Option<Generated>,
}

impl NemesisConfig {
    /// No faults.
    pub fn none() -> NemesisConfig {
        NemesisConfig::default()
    }

    /// Faults of these kinds generated from the seed at `intensity` (1.0 is
    /// the default rate).
    pub fn generated(kinds: &[FaultKind], intensity: f64) -> NemesisConfig {
        NemesisConfig { faults: Vec::new(), generate: Some(Generated::new(kinds.to_vec(), intensity)) }
    }

    /// From command-line names: `partition,crash`, `none`, or `all`.
    pub fn from_names(list: &str, intensity: f64) -> Result<NemesisConfig, String> {
        let mut kinds = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "none" => {}
                "all" => kinds.extend(FaultKind::ALL),
                _ => kinds.push(FaultKind::parse(name).ok_or_else(|| {
                    format!(
                        "unknown nemesis `{name}`: expected none, all, partition, crash, pause, loss, duplicate, clock-skew, leader, dc-partition, swizzle or link-loss"
                    )
                })?),
            }
        }
        kinds.sort();
        kinds.dedup();
        if kinds.is_empty() {
            Ok(NemesisConfig::none())
        } else {
            Ok(NemesisConfig::generated(&kinds, intensity))
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(g) = &self.generate {
            if !(g.intensity > 0.0 && g.intensity.is_finite()) {
                return Err(format!("nemesis intensity must be a positive number, got {}", g.intensity));
            }
            if g.interval_ns == Some(0) {
                return Err("nemesis interval must be positive".into());
            }
            if g.duration_min_ns == 0 || g.duration_min_ns > g.duration_max_ns {
                return Err(format!(
                    "fault durations must satisfy 0 < min <= max, got {}..{} ns",
                    g.duration_min_ns, g.duration_max_ns
                ));
            }
        }
        for f in &self.faults {
            match f.fault {
                Fault::Loss { rate } | Fault::Duplicate { rate } | Fault::LinkLoss { max_rate: rate }
                    if !(0.0..=1.0).contains(&rate) =>
                {
                    return Err(format!("fault rate must be in [0, 1], got {rate}"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        for k in FaultKind::ALL.into_iter().chain(FaultKind::NAMED) {
            assert_eq!(FaultKind::parse(k.name()), Some(k));
        }
        let c = NemesisConfig::from_names("crash, partition,crash", 1.0).unwrap();
        assert_eq!(c.generate.unwrap().kinds, vec![FaultKind::Partition, FaultKind::Crash]);
        assert_eq!(NemesisConfig::from_names("none", 1.0).unwrap(), NemesisConfig::none());
        assert!(NemesisConfig::from_names("meteor", 1.0).unwrap_err().contains("meteor"));
        let leader = NemesisConfig::from_names("all,leader", 1.0).unwrap().generate.unwrap().kinds;
        assert_eq!(leader.len(), FaultKind::ALL.len() + 1, "`all` leaves the targeted kind out");
        assert_eq!(FaultKind::parse("leader").map(|k| k.stream_index()), Some(6));
        assert_eq!(FaultKind::parse("dc-partition").map(|k| k.stream_index()), Some(7));
        let all = NemesisConfig::from_names("all", 1.0).unwrap().generate.unwrap().kinds;
        assert!(!all.contains(&FaultKind::DcPartition), "`all` keeps the schedules it had");
        assert!(NemesisConfig::generated(&[FaultKind::Loss], 0.0).validate().is_err());
    }
}
