//! What a run is: the workload, the binary, the cluster, the client load,
//! the faults and the limits. Flag names follow Maelstrom's `test` command.

use checker::CheckName;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use workloads::sim::Latency;

/// Maelstrom's workloads, by their command-line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    Echo,
    UniqueIds,
    Broadcast,
    GSet,
    GCounter,
    PnCounter,
    LinKv,
    TxnListAppend,
    TxnRwRegister,
    Kafka,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 10] = [
        WorkloadKind::Echo,
        WorkloadKind::UniqueIds,
        WorkloadKind::Broadcast,
        WorkloadKind::GSet,
        WorkloadKind::GCounter,
        WorkloadKind::PnCounter,
        WorkloadKind::LinKv,
        WorkloadKind::TxnListAppend,
        WorkloadKind::TxnRwRegister,
        WorkloadKind::Kafka,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Echo => "echo",
            WorkloadKind::UniqueIds => "unique-ids",
            WorkloadKind::Broadcast => "broadcast",
            WorkloadKind::GSet => "g-set",
            WorkloadKind::GCounter => "g-counter",
            WorkloadKind::PnCounter => "pn-counter",
            WorkloadKind::LinKv => "lin-kv",
            WorkloadKind::TxnListAppend => "txn-list-append",
            WorkloadKind::TxnRwRegister => "txn-rw-register",
            WorkloadKind::Kafka => "kafka",
        }
    }

    pub fn parse(s: &str) -> Option<WorkloadKind> {
        WorkloadKind::ALL.into_iter().find(|w| w.name() == s)
    }

    /// One line for `conch list` and usage errors.
    pub fn description(self) -> &'static str {
        match self {
            WorkloadKind::Echo => "echo -> echo_ok with the same payload",
            WorkloadKind::UniqueIds => "generate -> generate_ok{id}; all ids distinct",
            WorkloadKind::Broadcast => "topology, broadcast{message}, read -> messages; none lost, per node",
            WorkloadKind::GSet => "add{element}, read -> value; a grow-only set, none lost",
            WorkloadKind::GCounter => "add{delta >= 0}, read -> value; final reads within the adds' bounds",
            WorkloadKind::PnCounter => "add{delta}, read -> value; final reads within the adds' bounds",
            WorkloadKind::LinKv => "read/write/cas on keys; linearizable per key",
            WorkloadKind::TxnListAppend => "txn of [\"r\",k,null]/[\"append\",k,v]; transactional checker",
            WorkloadKind::TxnRwRegister => "txn of [\"r\",k,null]/[\"w\",k,v]; transactional checker",
            WorkloadKind::Kafka => "send/poll/commit_offsets/list_committed_offsets; no lost or skipped offsets",
        }
    }
}

/// Faults, by their command-line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NemesisKind {
    /// Node-to-node links cut in a shape (halves, one isolated, majority ring, bridge).
    Partition,
    /// SIGSTOP some nodes, SIGCONT them when the fault ends.
    Pause,
    /// SIGKILL some nodes, start the binary again when the fault ends.
    Kill,
    /// Drop node-to-node messages at random.
    Loss,
    /// Deliver node-to-node messages twice.
    Duplicate,
    /// Extra random delay on node-to-node messages, reordering them.
    Delay,
}

impl NemesisKind {
    pub const ALL: [NemesisKind; 6] = [
        NemesisKind::Partition,
        NemesisKind::Pause,
        NemesisKind::Kill,
        NemesisKind::Loss,
        NemesisKind::Duplicate,
        NemesisKind::Delay,
    ];

    /// One line for `conch list`.
    pub fn description(self) -> &'static str {
        match self {
            NemesisKind::Partition => "cut node-to-node links: halves, one isolated, majority ring, bridge",
            NemesisKind::Pause => "SIGSTOP one node, a minority or a majority; SIGCONT when it heals",
            NemesisKind::Kill => "SIGKILL nodes, start the binary again (state lost) when it heals",
            NemesisKind::Loss => "drop node-to-node messages at a random rate (10-50%)",
            NemesisKind::Duplicate => "deliver node-to-node messages twice at a random rate (10-50%)",
            NemesisKind::Delay => "extra exponential delay on node-to-node messages, reordering them",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NemesisKind::Partition => "partition",
            NemesisKind::Pause => "pause",
            NemesisKind::Kill => "kill",
            NemesisKind::Loss => "loss",
            NemesisKind::Duplicate => "duplicate",
            NemesisKind::Delay => "delay",
        }
    }

    /// `partition,kill`, `all` or `none` (or empty).
    pub fn parse_list(s: &str) -> Result<Vec<NemesisKind>, String> {
        let mut out = Vec::new();
        for name in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            match name {
                "none" => {}
                "all" => out.extend(NemesisKind::ALL),
                _ => out.push(NemesisKind::ALL.into_iter().find(|k| k.name() == name).ok_or_else(|| {
                    format!("unknown nemesis `{name}`: expected partition, pause, kill, loss, duplicate, delay, all or none")
                })?),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// The neighbours a broadcast node is told about (`topology` message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// A roughly square grid: up to four neighbours.
    Grid,
    /// Each node's neighbours are the nodes before and after it.
    Line,
    /// A tree with this many children per node.
    Tree(usize),
    /// Everyone is everyone's neighbour.
    Total,
}

impl Topology {
    pub fn parse(s: &str) -> Option<Topology> {
        Some(match s {
            "grid" => Topology::Grid,
            "line" => Topology::Line,
            "tree" | "tree2" => Topology::Tree(2),
            "tree3" => Topology::Tree(3),
            "tree4" => Topology::Tree(4),
            "total" => Topology::Total,
            _ => return None,
        })
    }

    pub fn name(self) -> String {
        match self {
            Topology::Grid => "grid".into(),
            Topology::Line => "line".into(),
            Topology::Tree(k) => format!("tree{k}"),
            Topology::Total => "total".into(),
        }
    }

    /// Neighbours of each node (by index), each list sorted.
    pub fn neighbours(self, n: usize) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); n];
        let mut link = |a: usize, b: usize| {
            if a != b && a < n && b < n {
                out[a].push(b);
                out[b].push(a);
            }
        };
        match self {
            Topology::Grid => {
                let side = (1..=n).find(|s| s * s >= n).unwrap_or(1);
                for i in 0..n {
                    if (i + 1) % side != 0 {
                        link(i, i + 1);
                    }
                    link(i, i + side);
                }
            }
            Topology::Line => (1..n).for_each(|i| link(i - 1, i)),
            Topology::Tree(k) => (1..n).for_each(|i| link((i - 1) / k.max(1), i)),
            Topology::Total => {
                for a in 0..n {
                    for b in a + 1..n {
                        link(a, b);
                    }
                }
            }
        }
        for l in &mut out {
            l.sort_unstable();
            l.dedup();
        }
        out
    }
}

/// How message delays are drawn around `--latency` (the mean): the
/// simulator's shapes, with no floor, as Maelstrom draws them.
pub use workloads::sim::LatencyDist;

/// The shapes Maelstrom's `--latency-dist` takes (a power law needs a
/// floor, which Maelstrom's delays do not have).
pub const MAELSTROM_LATENCY_DISTS: [LatencyDist; 3] =
    [LatencyDist::Constant, LatencyDist::Uniform, LatencyDist::Exponential];

/// The delay of shape `dist` around `mean_ms`, from 0.
pub fn maelstrom_latency(dist: LatencyDist, mean_ms: f64) -> Latency {
    dist.latency(0, (mean_ms * 1e6) as u64)
}

/// Bounds that protect conch's memory and time from a misbehaving node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limits {
    /// A longer stdout line is reported and skipped.
    pub max_line_bytes: usize,
    /// Bytes waiting to be written to one node's stdin (a paused node does
    /// not read); messages beyond are dropped as overflow.
    pub max_queued_bytes_per_node: usize,
    /// Messages written to the journal; later ones are only counted.
    pub max_journal_messages: u64,
    /// Messages routed in all; beyond, the run stops early (`unknown`).
    pub max_messages: u64,
    /// Client ops recorded; beyond, no new ops start.
    pub max_ops: u64,
    /// Distinct message types counted by name; others are counted as `other`.
    pub max_message_types: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line_bytes: 8 << 20,
            max_queued_bytes_per_node: 64 << 20,
            max_journal_messages: 20_000_000,
            max_messages: 200_000_000,
            max_ops: 5_000_000,
            max_message_types: 1_000,
        }
    }
}

/// Everything that determines a run (with the binary itself).
#[derive(Clone, Debug, Serialize)]
pub struct Config {
    pub workload: WorkloadKind,
    /// The node binary and its arguments.
    pub bin: PathBuf,
    pub args: Vec<String>,
    pub node_count: usize,
    /// The first node's number: 0 names the nodes `n0..n(N-1)`, as
    /// Maelstrom itself does; 1 names them `n1..nN`, as Maelstrom's protocol
    /// document writes them (see docs/maelstrom.md#node-ids).
    pub node_id_base: usize,
    /// How long clients issue ops (and the nemesis acts).
    pub time_limit: Duration,
    /// Client ops per second, over all clients (0: none).
    pub rate: f64,
    /// Client threads, each with one op outstanding; thread `t` talks to
    /// node `t mod node_count`.
    pub concurrency: usize,
    pub nemesis: Vec<NemesisKind>,
    /// Mean seconds between nemesis actions (a fault starts, or heals).
    pub nemesis_interval: Duration,
    /// Mean message latency, in milliseconds.
    pub latency_ms: f64,
    pub latency_dist: LatencyDist,
    pub topology: Topology,
    pub seed: u64,
    /// Keys per workload that has keys (lin-kv, txn-*, kafka).
    pub key_count: usize,
    pub max_txn_length: usize,
    pub max_writes_per_key: usize,
    /// A request unanswered this long becomes `info` (and its process retires).
    pub request_timeout: Duration,
    /// How long every node has to answer `init` (and `topology`).
    pub init_timeout: Duration,
    /// After the faults heal, wait this long before the final reads.
    pub recovery_time: Duration,
    /// `--availability`: the fraction of client ops (final ops aside) that
    /// must succeed (`total` = 1.0); `None` asks for nothing.
    pub availability: Option<f64>,
    /// `--consistency-models`: what the txn workloads are checked against
    /// (Elle's names); empty means strict-serializable.
    pub consistency_models: Vec<CheckName>,
    /// Where the run's files go: node logs, message journal, history, run.json.
    pub out_dir: PathBuf,
    pub limits: Limits,
}

/// One `--consistency-models` name as the transactional check that judges
/// it: the checker's own names (Elle's), and Elle's alias
/// `strong-serializable` for strict serializability, which Maelstrom's
/// documentation uses.
pub fn parse_consistency_model(name: &str) -> Result<CheckName, String> {
    let name = if name == "strong-serializable" { "strict-serializable" } else { name };
    match CheckName::parse(name).filter(|c| c.txn_model().is_some()) {
        Some(c) => Ok(c),
        None => {
            let known = CheckName::TXN.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
            let why =
                if checker::txn::Model::parse(name).is_some() { "a model conch cannot check" } else { "unknown model" };
            Err(format!("--consistency-models: {why} `{name}`: expected {known}"))
        }
    }
}

impl Config {
    /// A config with Maelstrom's defaults where it has them.
    pub fn new(workload: WorkloadKind, bin: PathBuf, out_dir: PathBuf) -> Config {
        Config {
            workload,
            bin,
            args: Vec::new(),
            node_count: 5,
            node_id_base: 0,
            time_limit: Duration::from_secs(10),
            rate: 5.0,
            concurrency: 5,
            nemesis: Vec::new(),
            nemesis_interval: Duration::from_secs(10),
            latency_ms: 0.0,
            latency_dist: LatencyDist::Constant,
            topology: Topology::Grid,
            seed: 0,
            key_count: match workload {
                WorkloadKind::Kafka => 3,
                WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => 3,
                _ => 5,
            },
            max_txn_length: 4,
            max_writes_per_key: 16,
            request_timeout: Duration::from_secs(5),
            init_timeout: Duration::from_secs(10),
            recovery_time: Duration::from_secs(5),
            availability: None,
            consistency_models: Vec::new(),
            out_dir,
            limits: Limits::default(),
        }
    }

    /// Bounds on every number; the run refuses a config that fails them.
    pub fn validate(&self) -> Result<(), String> {
        if self.node_count == 0 || self.node_count > MAX_NODES {
            return Err(format!("--node-count must be in 1..={MAX_NODES}, got {}", self.node_count));
        }
        if self.node_id_base > 1 {
            return Err(format!("--node-id-base must be 0 or 1, got {}", self.node_id_base));
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return Err(format!("--concurrency must be in 1..={MAX_CONCURRENCY}, got {}", self.concurrency));
        }
        if !(self.rate.is_finite() && self.rate >= 0.0 && self.rate <= MAX_RATE) {
            return Err(format!("--rate must be in 0..={MAX_RATE} ops/s, got {}", self.rate));
        }
        if !(self.latency_ms.is_finite() && (0.0..=MAX_LATENCY_MS).contains(&self.latency_ms)) {
            return Err(format!("--latency must be in 0..={MAX_LATENCY_MS} ms, got {}", self.latency_ms));
        }
        let secs = |d: Duration| d.as_secs_f64();
        if secs(self.time_limit) > MAX_SECONDS {
            return Err(format!("--time-limit must be at most {MAX_SECONDS} s"));
        }
        if !self.nemesis.is_empty() && self.nemesis_interval.is_zero() {
            return Err("--nemesis-interval must be positive".into());
        }
        for (name, d) in [("request timeout", self.request_timeout), ("init timeout", self.init_timeout)] {
            if d.is_zero() || secs(d) > MAX_SECONDS {
                return Err(format!("{name} must be in (0, {MAX_SECONDS}] s"));
            }
        }
        if self.key_count == 0 || self.key_count > 1_000_000 {
            return Err(format!("--key-count must be in 1..=1000000, got {}", self.key_count));
        }
        if self.max_txn_length == 0 || self.max_txn_length > 1_000 {
            return Err(format!("--max-txn-length must be in 1..=1000, got {}", self.max_txn_length));
        }
        if self.max_writes_per_key == 0 {
            return Err("--max-writes-per-key must be positive".into());
        }
        if let Some(a) = self.availability.filter(|a| !(a.is_finite() && (0.0..=1.0).contains(a))) {
            return Err(format!("--availability must be `total` or a fraction in 0..=1, got {a}"));
        }
        if let Topology::Tree(0) = self.topology {
            return Err("a tree topology needs at least one child per node".into());
        }
        Ok(())
    }
}

/// Bound on the cluster: one process, two threads and a grudge row each.
pub const MAX_NODES: usize = 256;
/// Bound on client threads.
pub const MAX_CONCURRENCY: usize = 10_000;
/// Bound on the client rate, ops per second.
pub const MAX_RATE: f64 = 1_000_000.0;
/// Bound on the mean latency.
pub const MAX_LATENCY_MS: f64 = 60_000.0;
/// Bound on any duration given in seconds (a day).
pub const MAX_SECONDS: f64 = 86_400.0;

/// Parses `--concurrency`: a number, or `Kn` for K times the node count
/// (Maelstrom's `2n`).
pub fn parse_concurrency(s: &str, node_count: usize) -> Result<usize, String> {
    let bad = || format!("--concurrency: expected a number or Kn (e.g. 2n), found `{s}`");
    match s.strip_suffix('n') {
        Some(k) => Ok(k.parse::<usize>().map_err(|_| bad())?.saturating_mul(node_count)),
        None => s.parse().map_err(|_| bad()),
    }
}

impl Config {
    /// The id of node `i` (0-based index): `n{i + node_id_base}`.
    pub fn node_name(&self, i: usize) -> String {
        format!("n{}", i + self.node_id_base)
    }

    /// Every node's id, in index order.
    pub fn node_names(&self) -> Vec<String> {
        (0..self.node_count).map(|i| self.node_name(i)).collect()
    }

    /// The index of the node named `name`, if it is one.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        let k: usize = name.strip_prefix('n')?.parse().ok()?;
        let i = k.checked_sub(self.node_id_base)?;
        (i < self.node_count && self.node_name(i) == name).then_some(i)
    }

    /// The `conch maelstrom` command that runs this config again (the same
    /// seed: the same faults and client ops; see the run's
    /// `reproducibility` for what a real process keeps from repeating).
    pub fn command(&self) -> String {
        let q = |s: &str| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c)) {
                s.to_string()
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        };
        let secs = |d: Duration| {
            let s = d.as_secs_f64();
            if s.fract() == 0.0 {
                format!("{}", s as u64)
            } else {
                format!("{s}")
            }
        };
        let mut c = format!("conch maelstrom -w {} --bin {}", self.workload.name(), q(&self.bin.display().to_string()));
        for a in &self.args {
            c.push_str(&format!(" --arg {}", q(a)));
        }
        c.push_str(&format!(
            " --node-count {} --time-limit {} --rate {} --concurrency {}",
            self.node_count,
            secs(self.time_limit),
            self.rate,
            self.concurrency
        ));
        if self.node_id_base != 0 {
            c.push_str(&format!(" --node-id-base {}", self.node_id_base));
        }
        if !self.nemesis.is_empty() {
            let names: Vec<&str> = self.nemesis.iter().map(|k| k.name()).collect();
            c.push_str(&format!(" --nemesis {} --nemesis-interval {}", names.join(","), secs(self.nemesis_interval)));
        }
        if self.latency_ms > 0.0 {
            c.push_str(&format!(" --latency {} --latency-dist {}", self.latency_ms, self.latency_dist.name()));
        }
        if self.workload == WorkloadKind::Broadcast {
            c.push_str(&format!(" --topology {}", self.topology.name()));
        }
        if matches!(
            self.workload,
            WorkloadKind::LinKv | WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister | WorkloadKind::Kafka
        ) {
            c.push_str(&format!(" --key-count {}", self.key_count));
        }
        if matches!(self.workload, WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister) {
            c.push_str(&format!(
                " --max-txn-length {} --max-writes-per-key {}",
                self.max_txn_length, self.max_writes_per_key
            ));
            if !self.consistency_models.is_empty() {
                c.push_str(&format!(
                    " --consistency-models {}",
                    self.consistency_models.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
                ));
            }
        }
        match self.availability {
            Some(1.0) => c.push_str(" --availability total"),
            Some(a) => c.push_str(&format!(" --availability {a}")),
            None => {}
        }
        c.push_str(&format!(
            " --request-timeout {} --recovery-time {} --seed {}",
            secs(self.request_timeout),
            secs(self.recovery_time),
            self.seed
        ));
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for w in WorkloadKind::ALL {
            assert_eq!(WorkloadKind::parse(w.name()), Some(w));
        }
        assert_eq!(
            NemesisKind::parse_list("kill, partition,kill").unwrap(),
            vec![NemesisKind::Partition, NemesisKind::Kill]
        );
        assert_eq!(NemesisKind::parse_list("all").unwrap().len(), 6);
        assert!(NemesisKind::parse_list("meteor").unwrap_err().contains("meteor"));
        assert_eq!(parse_concurrency("2n", 5), Ok(10));
        assert_eq!(parse_concurrency("7", 5), Ok(7));
        assert!(parse_concurrency("x", 5).is_err());
    }

    #[test]
    fn node_ids_start_at_the_base_and_only_real_ids_resolve() {
        let mut c = Config::new(WorkloadKind::Echo, "x".into(), "o".into());
        c.node_count = 3;
        assert_eq!(c.node_names(), vec!["n0", "n1", "n2"]);
        assert_eq!((c.node_index("n0"), c.node_index("n2"), c.node_index("n3")), (Some(0), Some(2), None));
        c.node_id_base = 1;
        assert_eq!(c.node_names(), vec!["n1", "n2", "n3"]);
        assert_eq!((c.node_index("n0"), c.node_index("n1"), c.node_index("n3")), (None, Some(0), Some(2)));
        for bad in ["n", "n01", "n+1", "m1", "n1 ", "n99999999999999999999999"] {
            assert_eq!(c.node_index(bad), None, "{bad}");
        }
        assert!(c.command().contains("--node-id-base 1"));
        c.node_id_base = 2;
        assert!(c.validate().is_err());
    }

    #[test]
    fn topologies_are_symmetric_and_connected() {
        for t in [Topology::Grid, Topology::Line, Topology::Tree(2), Topology::Tree(3), Topology::Total] {
            for n in 1..=26 {
                let g = t.neighbours(n);
                for (a, ns) in g.iter().enumerate() {
                    assert!(!ns.contains(&a));
                    for &b in ns {
                        assert!(g[b].contains(&a), "{t:?} n={n}: {a}-{b} not symmetric");
                    }
                }
                // Connected: a walk from node 0 reaches everyone.
                let mut seen = vec![false; n];
                let mut stack = vec![0];
                while let Some(a) = stack.pop() {
                    if !std::mem::replace(&mut seen[a], true) {
                        stack.extend(g[a].iter().copied());
                    }
                }
                assert!(seen.iter().all(|&s| s), "{t:?} n={n} not connected");
            }
        }
        assert_eq!(Topology::Grid.neighbours(9)[4], vec![1, 3, 5, 7]);
        assert_eq!(Topology::Total.neighbours(4)[0], vec![1, 2, 3]);
    }
}
