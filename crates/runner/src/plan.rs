//! Typed run plans: everything that determines a set of simulator runs.
//! No command-line types: the binary builds a [`Plan`] from its flags, the
//! comparison and the demo build theirs directly.

use crate::Error;
use std::collections::BTreeMap;
use workloads::registry;
use workloads::sim::{ClientRouting, FaultKind, LatencyDist, NemesisConfig, SimConfig};
use workloads::workload::{KeyDist, OpMix, WorkloadConfig, WorkloadKind};

/// `ops` of a plan bounded by its time limit only.
pub const UNBOUNDED_OPS: usize = usize::MAX / 2;

/// The op budget of a run: `--ops` when given, else unbounded under a
/// `--time-limit` (virtual time ends the run), else the protocol's default.
pub fn ops_budget(ops: Option<usize>, time_limit: Option<f64>, default: usize) -> usize {
    match (ops, time_limit) {
        (Some(n), _) => n,
        (None, Some(_)) => UNBOUNDED_OPS,
        (None, None) => default,
    }
}

/// Virtual seconds as nanoseconds (saturating: a day is already far more
/// than any run).
pub fn seconds_ns(s: f64) -> u64 {
    (s * 1e9).min(u64::MAX as f64) as u64
}

/// Most seeds one command may ask for.
pub const MAX_SEEDS: u64 = 1_000_000;

/// One protocol under one workload, fault schedule and cluster size; each
/// seed of it is one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// A name in [`workloads::registry::PROTOCOLS`].
    pub protocol: String,
    pub workload: WorkloadKind,
    /// Fault kinds the nemesis draws from, in the order given; empty: none.
    pub nemesis: Vec<FaultKind>,
    /// How often faults come (1.0 is the default rate); must be > 0.
    pub intensity: f64,
    /// Mean virtual time between faults of one kind (`--nemesis-interval`);
    /// `None`: each kind's faults are spread over the run.
    pub nemesis_interval_ns: Option<u64>,
    /// The client phase lasts at most this much virtual time
    /// (`--time-limit`); faults are spread over it.
    pub time_limit_ns: Option<u64>,
    /// Protocol settings, `NAME=VALUE`.
    pub params: BTreeMap<String, String>,
    pub nodes: usize,
    pub clients: usize,
    /// Client operations per run.
    pub ops: usize,
    /// Number of keys; `None`: the workload's own.
    pub keys: Option<usize>,
    pub routing: ClientRouting,
    /// The livelock bound (events processed); `None`: the simulator's.
    pub max_events: Option<u64>,
    /// The workload's op weights (`--op-mix`); `None`: the workload's own.
    pub op_mix: Option<OpMix>,
    /// The shape of node-to-node delays (`--latency-dist`), same floor and
    /// mean for every shape; `None`: the simulator's (exponential).
    pub latency_dist: Option<LatencyDist>,
    /// How keys are chosen (`--key-dist`, one of [`KeyDist::PRESETS`]);
    /// `None`: the workload's own.
    pub key_dist: Option<KeyDist>,
}

impl Plan {
    /// `protocol` with `conch run`'s defaults: its own workload, 5 nodes, 10
    /// clients (two per node, so that one coordinator serves concurrent
    /// writers: #15), 500 ops, no faults, sticky routing with failover.
    pub fn new(protocol: &str) -> Result<Plan, Error> {
        let info = registry::lookup(protocol).map_err(|e| Error::Plan(e.to_string()))?;
        Ok(Plan {
            protocol: protocol.to_string(),
            workload: info.default_workload,
            nemesis: Vec::new(),
            intensity: 1.0,
            nemesis_interval_ns: None,
            time_limit_ns: None,
            params: BTreeMap::new(),
            nodes: 5,
            clients: 10,
            ops: 500,
            keys: None,
            routing: ClientRouting::Failover,
            max_events: None,
            op_mix: None,
            latency_dist: None,
            key_dist: None,
        })
    }

    /// Checks everything that can be checked without running: the protocol's
    /// parameters and workload, the intensity (also when no fault is asked for: a negative
    /// rate is a typo, not a no-op) and the simulator's ranges.
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.intensity > 0.0 && self.intensity.is_finite()) {
            return Err(Error::Plan(format!("--intensity: expected a number > 0, found {}", self.intensity)));
        }
        // A protocol that cannot serve the workload is refused up front: every
        // op would fail and nothing would be checked (#12 §2b).
        let info = registry::lookup(&self.protocol).map_err(|e| Error::Plan(e.to_string()))?;
        info.check_workload(self.workload).map_err(|e| Error::Plan(e.to_string()))?;
        info.check_params(&self.params).map_err(|e| Error::Plan(e.to_string()))?;
        self.sim_config(0).map(drop)
    }

    /// The simulator config for one seed.
    pub fn sim_config(&self, seed: u64) -> Result<SimConfig, Error> {
        let mut workload = WorkloadConfig::new(self.workload);
        if let Some(k) = self.keys {
            workload.keys = k;
        }
        if let Some(m) = self.op_mix {
            workload.mix = m;
        }
        if let Some(d) = self.key_dist {
            workload.key_dist = d;
        }
        let mut kinds = self.nemesis.clone();
        kinds.sort();
        kinds.dedup();
        let mut nemesis =
            if kinds.is_empty() { NemesisConfig::none() } else { NemesisConfig::generated(&kinds, self.intensity) };
        if let Some(g) = &mut nemesis.generate {
            g.interval_ns = self.nemesis_interval_ns;
        }
        let defaults = SimConfig::default();
        let mut net = defaults.net.clone();
        if let Some(d) = self.latency_dist {
            net.latency = d.default_latency();
        }
        let cfg = SimConfig {
            seed,
            nodes: self.nodes,
            clients: self.clients,
            ops: self.ops,
            time_limit_ns: self.time_limit_ns,
            workload,
            nemesis,
            client_node: self.routing,
            max_events: self.max_events.unwrap_or(defaults.max_events),
            net,
            ..defaults
        };
        cfg.validate().map_err(Error::Plan)?;
        Ok(cfg)
    }

    /// The fault kinds as `--nemesis` takes them.
    pub fn nemesis_names(&self) -> String {
        if self.nemesis.is_empty() {
            return "none".into();
        }
        self.nemesis.iter().map(|k| k.name()).collect::<Vec<_>>().join(",")
    }

    /// The protocol knobs drawn from `seed`: those of
    /// [`workloads::registry::SEEDED_KNOBS`] the plan leaves unset.
    pub fn seeded_params(&self, seed: u64) -> BTreeMap<String, String> {
        registry::seeded_knobs(&self.protocol, &self.params, seed)
    }

    /// The parameters the run with `seed` uses: the plan's and the knobs
    /// drawn from the seed.
    pub fn params_for(&self, seed: u64) -> BTreeMap<String, String> {
        let mut all = self.seeded_params(seed);
        all.extend(self.params.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }

    /// The exact command that reproduces the run with `seed`, with the
    /// knobs drawn from the seed written out (so it pins them whatever a
    /// later version draws).
    pub fn command(&self, seed: u64) -> String {
        let mut s = format!(
            "conch run --protocol {} --workload {} --nemesis {} --seed {seed} --nodes {} --clients {}",
            self.protocol,
            self.workload.name(),
            self.nemesis_names(),
            self.nodes,
            self.clients,
        );
        if self.ops != UNBOUNDED_OPS {
            s.push_str(&format!(" --ops {}", self.ops));
        }
        if self.intensity != 1.0 {
            s.push_str(&format!(" --intensity {}", self.intensity));
        }
        if let Some(t) = self.nemesis_interval_ns {
            s.push_str(&format!(" --nemesis-interval {}", t as f64 / 1e9));
        }
        if let Some(t) = self.time_limit_ns {
            s.push_str(&format!(" --time-limit {}", t as f64 / 1e9));
        }
        if let Some(k) = self.keys {
            s.push_str(&format!(" --keys {k}"));
        }
        if let Some(m) = self.op_mix {
            s.push_str(&format!(" --op-mix {}", op_mix_text(m)));
        }
        match self.routing {
            ClientRouting::Failover => {}
            ClientRouting::Random => s.push_str(" --routing random"),
            ClientRouting::Sticky => s.push_str(" --routing sticky"),
        }
        if let Some(n) = self.max_events {
            s.push_str(&format!(" --max-events {n}"));
        }
        if let Some(d) = self.latency_dist {
            s.push_str(&format!(" --latency-dist {}", d.name()));
        }
        if let Some(name) = self.key_dist.and_then(|d| d.preset_name()) {
            s.push_str(&format!(" --key-dist {name}"));
        }
        for (k, v) in &self.params_for(seed) {
            s.push_str(&format!(" --param {k}={v}"));
        }
        s
    }
}

/// Parses a finite number > 0 (`--intensity`).
pub fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("expected a number > 0, found `{s}`")),
    }
}

/// Parses a finite number of seconds > 0 (`--timeout`, `--time-limit`).
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    parse_positive(s).map_err(|_| format!("expected seconds > 0, found `{s}`"))
}

/// Parses `A..B` (B exclusive) or a single number `N`.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, Error> {
    let bad = || Error::Plan(format!("--seeds: expected A..B (B exclusive) or N, found `{s}`"));
    match s.split_once("..") {
        Some((a, b)) => {
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            if b <= a {
                return Err(Error::Plan(format!("--seeds: empty range `{s}`")));
            }
            if b - a > MAX_SEEDS {
                return Err(Error::Plan(format!(
                    "--seeds: at most {MAX_SEEDS} seeds per command, `{s}` has {}",
                    b - a
                )));
            }
            Ok((a..b).collect())
        }
        None => Ok(vec![s.trim().parse().map_err(|_| bad())?]),
    }
}

/// Parses `NAME=VALUE` settings; a name given twice is an error.
pub fn parse_params<'a>(list: impl IntoIterator<Item = &'a str>) -> Result<BTreeMap<String, String>, Error> {
    let mut m = BTreeMap::new();
    for p in list {
        let (k, v) =
            p.split_once('=').ok_or_else(|| Error::Plan(format!("--param: expected NAME=VALUE, found `{p}`")))?;
        if m.insert(k.trim().to_string(), v.trim().to_string()).is_some() {
            return Err(Error::Plan(format!("--param: `{k}` given twice")));
        }
    }
    Ok(m)
}

/// `--op-mix`: `read=R,update=U[,cas=C]`, relative weights (an update is
/// the workload's write, append, add, incr or transfer); names left out
/// weigh 0.
pub fn parse_op_mix(s: &str) -> Result<OpMix, Error> {
    let bad = |why: String| Error::Plan(format!("--op-mix: {why} (expected read=R,update=U[,cas=C]), found `{s}`"));
    let mut mix = OpMix { read: 0, update: 0, cas: 0 };
    for part in s.split(',') {
        let (name, w) = part.split_once('=').ok_or_else(|| bad(format!("`{part}` is not NAME=WEIGHT")))?;
        let w: u32 = w.trim().parse().map_err(|_| bad(format!("`{w}` is not a weight")))?;
        match name.trim() {
            "read" => mix.read = w,
            "update" => mix.update = w,
            "cas" => mix.cas = w,
            other => return Err(bad(format!("unknown op `{other}`"))),
        }
    }
    Ok(mix)
}

/// An op mix as `--op-mix` takes it.
pub fn op_mix_text(m: OpMix) -> String {
    let mut s = format!("read={},update={}", m.read, m.update);
    if m.cas > 0 {
        s.push_str(&format!(",cas={}", m.cas));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_intensity_is_rejected_even_without_faults() {
        let plan = Plan { intensity: -1.0, ..Plan::new("raft").unwrap() };
        assert!(matches!(plan.validate(), Err(Error::Plan(m)) if m.contains("--intensity")));
        let plan = Plan { intensity: f64::NAN, ..Plan::new("raft").unwrap() };
        assert!(plan.validate().is_err());
    }

    #[test]
    fn command_reproduces_every_setting() {
        let mut plan = Plan::new("quorum").unwrap();
        plan.nemesis = vec![FaultKind::Partition, FaultKind::ClockSkew];
        plan.params = parse_params(["consistency=one"]).unwrap();
        plan.keys = Some(3);
        plan.routing = ClientRouting::Random;
        assert_eq!(
            plan.command(4),
            "conch run --protocol quorum --workload register --nemesis partition,clock-skew --seed 4 --nodes 5 \
             --clients 10 --ops 500 --keys 3 --routing random --param anti_entropy_ms=10 --param consistency=one \
             --param hint_interval_ms=50 --param read_repair_chance=0",
            "the knobs drawn from seed 4 are written out with the given parameters"
        );
        assert_eq!(plan.seeded_params(4).len(), 3);
    }

    /// The knobs a seed draws are written into its reproduce command, and
    /// the command's parameters, given back, pin them: nothing is drawn
    /// again, the run uses the same values.
    #[test]
    fn the_reproduce_command_pins_the_seeded_knobs() {
        let mut plan = Plan::new("raft").unwrap();
        plan.params = parse_params(["bug=no-term-check-on-commit"]).unwrap();
        for seed in 0..20 {
            let cmd = plan.command(seed);
            let given: Vec<&str> = cmd.split(" --param ").skip(1).collect();
            let again = Plan { params: parse_params(given).unwrap(), ..plan.clone() };
            assert_eq!(again.params_for(seed), plan.params_for(seed), "seed {seed}");
            assert!(again.seeded_params(seed).is_empty());
            assert_eq!(again.command(seed), cmd);
            assert_eq!(plan.params_for(seed)["bug"], "no-term-check-on-commit");
            assert!(plan.params_for(seed).contains_key("max_batch"));
        }
    }

    #[test]
    fn seeds_and_params_parse() {
        assert_eq!(parse_seeds("2..5").unwrap(), vec![2, 3, 4]);
        assert_eq!(parse_seeds("7").unwrap(), vec![7]);
        assert!(parse_seeds("5..5").is_err());
        assert!(parse_seeds("0..2000000").is_err());
        assert!(parse_params(["a=1", "a=2"]).is_err());
        assert!(parse_params(["a"]).is_err());
        assert!(Plan::new("paxos").is_err());
    }
}
