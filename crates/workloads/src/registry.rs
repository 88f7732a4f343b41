//! Protocols by command-line name: the one table that `conch list`, `run`,
//! `compare` and `demo` read. Each entry says what the protocol is, which
//! workloads it serves (a run of any other workload is refused up front:
//! every op would fail and nothing would be checked), its parameters, and
//! how to build and run it.

use crate::protocols::commit::{CommitProtocol, Mode};
use crate::protocols::common::{Param, ParamError, Params};
use crate::protocols::dynamo::DynamoProtocol;
use crate::protocols::spanner::SpannerProtocol;
use crate::protocols::{
    abd::AbdProtocol, gossip::GossipProtocol, lagging::Lagging, lww::LwwProtocol, mvcc::Isolation, mvcc::MvccProtocol,
    quorum::QuorumProtocol, raft::RaftProtocol, single::Single, vclock::VclockProtocol, weak::WeakProtocol,
};
use crate::sim::{self, Protocol, RunOutput, SimConfig};
use crate::workload::WorkloadKind;
use checker::CheckName;
use std::collections::BTreeMap;
use std::fmt;

type RunFn = fn(&BTreeMap<String, String>, &SimConfig) -> Result<RunOutput, RegistryError>;

/// A bundled protocol.
#[derive(Clone, Copy, Debug)]
pub struct ProtocolInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// The workload its textbook behaviour is shown with.
    pub default_workload: WorkloadKind,
    /// The workloads whose operations it implements; the first is the default.
    pub workloads: &'static [WorkloadKind],
    /// Whether it promises linearizability (the comparison's expectation).
    pub linearizable: bool,
    /// In `compare`'s and `demo`'s default list (the baseline and the toy
    /// broken store are not).
    pub compared: bool,
    /// For a transactional workload: the isolation model it promises first,
    /// then the stronger models checked beside it: for si and rc the next
    /// step up the anomaly lattice, which they are expected to fail with
    /// the anomaly that separates the two. `compare` and `demo` check
    /// exactly these. Empty when it serves no transactional workload.
    pub isolation: &'static [CheckName],
    /// Its `--param`s.
    pub params: &'static [Param],
    run: RunFn,
}

const ALL: &[WorkloadKind] = &WorkloadKind::ALL;
const SINGLE_OBJECT: &[WorkloadKind] = &WorkloadKind::SINGLE_OBJECT;
const REGISTERS: &[WorkloadKind] = &[WorkloadKind::Register, WorkloadKind::Kv];
const SETS: &[WorkloadKind] = &[WorkloadKind::Set];
/// Add-only sets, and carts with removes.
const CARTS: &[WorkloadKind] = &[WorkloadKind::Set, WorkloadKind::Cart];
const BANK: &[WorkloadKind] = &[WorkloadKind::Bank];
/// Transactions only (the MVCC databases).
const TXNS: &[WorkloadKind] = &[WorkloadKind::TxnRwRegister, WorkloadKind::TxnListAppend];
/// Single items (reads, writes, conditional writes) and transactions.
const DYNAMO: &[WorkloadKind] =
    &[WorkloadKind::Register, WorkloadKind::Kv, WorkloadKind::TxnRwRegister, WorkloadKind::TxnListAppend];

/// A transaction is one operation on the whole database: what raft and
/// single give, and what spanner promises.
const STRICT_SERIALIZABLE: &[CheckName] = &[CheckName::StrictSerializable];

fn run_built<P: Protocol>(p: Result<P, ParamError>, cfg: &SimConfig) -> Result<RunOutput, RegistryError> {
    let p = p.map_err(RegistryError::Params)?;
    sim::try_run(&p, cfg).map_err(RegistryError::Config)
}

/// Every bundled protocol, in the order comparisons show them.
pub const PROTOCOLS: &[ProtocolInfo] = &[
    ProtocolInfo {
        name: "raft",
        description: "Raft replicated kv store: leader election, log replication, majority commit",
        default_workload: WorkloadKind::Register,
        workloads: ALL,
        linearizable: true,
        compared: true,
        isolation: STRICT_SERIALIZABLE,
        params: RaftProtocol::PARAMS,
        run: |p, c| run_built(RaftProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "abd",
        description: "ABD majority-quorum register with read write-back: linearizable",
        default_workload: WorkloadKind::Register,
        workloads: REGISTERS,
        linearizable: true,
        compared: true,
        isolation: &[],
        params: AbdProtocol::PARAMS,
        run: |p, c| run_built(AbdProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "quorum",
        description:
            "Dynamo/Cassandra quorum replication: consistency levels, datacenters, LWW, read repair, hints, Paxos LWT",
        default_workload: WorkloadKind::Register,
        workloads: REGISTERS,
        linearizable: false,
        compared: true,
        isolation: &[],
        params: QuorumProtocol::PARAMS,
        run: |p, c| run_built(QuorumProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "dynamo",
        description: "DynamoDB-style: partition leaders, async followers, eventual or strong reads, 2PC transactions",
        default_workload: WorkloadKind::Register,
        workloads: DYNAMO,
        // With the default eventually consistent reads it is not; with
        // `reads=strong` it is (docs/protocols/dynamo.md).
        linearizable: false,
        compared: true,
        isolation: &[CheckName::Serializable, CheckName::StrictSerializable],
        params: DynamoProtocol::PARAMS,
        run: |p, c| run_built(DynamoProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "spanner",
        description: "Spanner-style: TrueTime, Raft groups, 2PL + 2PC read-write txns, commit wait, snapshot reads",
        default_workload: WorkloadKind::TxnListAppend,
        workloads: &WorkloadKind::TXN,
        // Strict serializable, which is what `linearizable` asks of a
        // transactional history (docs/protocols/spanner.md).
        linearizable: true,
        compared: true,
        isolation: STRICT_SERIALIZABLE,
        params: SpannerProtocol::PARAMS,
        run: |p, c| run_built(SpannerProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "lww",
        description: "last-write-wins replication stamped with each replica's own clock",
        default_workload: WorkloadKind::Register,
        workloads: REGISTERS,
        linearizable: false,
        compared: true,
        isolation: &[],
        params: LwwProtocol::PARAMS,
        run: |p, c| run_built(LwwProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "vclock",
        description:
            "Dynamo's shopping cart: vector-clock siblings, client contexts, merge by union, lww or tombstones",
        default_workload: WorkloadKind::Set,
        workloads: CARTS,
        linearizable: false,
        compared: true,
        isolation: &[],
        params: VclockProtocol::PARAMS,
        run: |p, c| run_built(VclockProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "gossip",
        description: "eventual consistency: local writes spread by periodic gossip and anti-entropy",
        default_workload: WorkloadKind::Set,
        workloads: SETS,
        linearizable: false,
        compared: true,
        isolation: &[],
        params: GossipProtocol::PARAMS,
        run: |p, c| run_built(GossipProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "weak",
        description: "local writes forwarded once, best effort, no repair: no convergence guarantee",
        default_workload: WorkloadKind::Set,
        workloads: SETS,
        linearizable: false,
        compared: true,
        isolation: &[],
        params: WeakProtocol::PARAMS,
        run: |p, c| run_built(WeakProtocol::from_params(p), c),
    },
    ProtocolInfo {
        name: "2pc",
        description: "two-phase commit of bank transfers across shards; blocks while the coordinator is down",
        default_workload: WorkloadKind::Bank,
        workloads: BANK,
        linearizable: true,
        compared: true,
        isolation: &[],
        params: CommitProtocol::TWO_PC_PARAMS,
        run: |p, c| run_built(CommitProtocol::from_params(Mode::TwoPhase, p), c),
    },
    ProtocolInfo {
        name: "3pc",
        description: "three-phase commit with timeouts; unsafe under network partitions",
        default_workload: WorkloadKind::Bank,
        workloads: BANK,
        linearizable: true,
        compared: true,
        isolation: &[],
        params: CommitProtocol::THREE_PC_PARAMS,
        run: |p, c| run_built(CommitProtocol::from_params(Mode::ThreePhase, p), c),
    },
    ProtocolInfo {
        name: "si",
        description: "MVCC database at snapshot isolation, first committer wins: write skew (G2-item) occurs",
        default_workload: WorkloadKind::TxnRwRegister,
        workloads: TXNS,
        linearizable: false,
        compared: true,
        isolation: &[CheckName::SnapshotIsolation, CheckName::Serializable],
        params: MvccProtocol::SI_PARAMS,
        run: |p, c| run_built(MvccProtocol::from_params(Isolation::Snapshot, p), c),
    },
    ProtocolInfo {
        name: "rc",
        description: "MVCC database at read committed: read skew (G-single) occurs, no dirty reads (G1)",
        default_workload: WorkloadKind::TxnRwRegister,
        workloads: TXNS,
        linearizable: false,
        compared: true,
        isolation: &[CheckName::ReadCommitted, CheckName::ConsistentView],
        params: MvccProtocol::RC_PARAMS,
        run: |p, c| run_built(MvccProtocol::from_params(Isolation::ReadCommitted, p), c),
    },
    ProtocolInfo {
        name: "single",
        description: "one node holds everything: linearizable by construction (a baseline)",
        default_workload: WorkloadKind::Register,
        workloads: ALL,
        linearizable: true,
        compared: false,
        isolation: STRICT_SERIALIZABLE,
        params: Single::PARAMS,
        run: |p, c| run_built(Single::from_params(p), c),
    },
    ProtocolInfo {
        name: "lagging",
        description: "deliberately broken: reads served by lagging asynchronous replicas",
        default_workload: WorkloadKind::Register,
        workloads: SINGLE_OBJECT,
        linearizable: false,
        compared: false,
        isolation: &[],
        params: Lagging::PARAMS,
        run: |p, c| run_built(Lagging::from_params(p), c),
    },
];

/// Why the registry refused a protocol, its parameters, workload or config.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    UnknownProtocol {
        name: String,
    },
    Params(ParamError),
    /// The protocol does not implement this workload's operations.
    Workload {
        protocol: &'static str,
        workload: WorkloadKind,
        serves: &'static [WorkloadKind],
    },
    /// The simulator refused the config (see [`SimConfig::validate`]).
    Config(String),
}

fn names(ws: &[WorkloadKind]) -> String {
    ws.iter().map(|w| w.name()).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::UnknownProtocol { name } => {
                let known: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
                write!(f, "unknown protocol `{name}`: expected one of {}", known.join(", "))
            }
            RegistryError::Params(e) => e.fmt(f),
            RegistryError::Workload { protocol, workload, serves } => write!(
                f,
                "{protocol} does not serve the {} workload (every op would fail and nothing would be checked); \
                 it serves {}",
                workload.name(),
                names(serves)
            ),
            RegistryError::Config(e) => write!(f, "invalid run config: {e}"),
        }
    }
}

impl std::error::Error for RegistryError {}

impl From<RegistryError> for String {
    fn from(e: RegistryError) -> String {
        e.to_string()
    }
}

impl ProtocolInfo {
    pub fn serves(&self, workload: WorkloadKind) -> bool {
        self.workloads.contains(&workload)
    }

    /// Refuses a workload the protocol does not serve.
    pub fn check_workload(&self, workload: WorkloadKind) -> Result<(), RegistryError> {
        if self.serves(workload) {
            Ok(())
        } else {
            Err(RegistryError::Workload { protocol: self.name, workload, serves: self.workloads })
        }
    }

    /// Validates `params` without running anything.
    pub fn check_params(&self, params: &BTreeMap<String, String>) -> Result<(), RegistryError> {
        Params::parse(self.name, self.params, params).map(drop).map_err(RegistryError::Params)
    }

    /// Builds the protocol from `params` and runs it under `cfg`, if it
    /// serves `cfg`'s workload.
    pub fn run(&self, params: &BTreeMap<String, String>, cfg: &SimConfig) -> Result<RunOutput, RegistryError> {
        self.check_workload(cfg.workload.kind)?;
        (self.run)(params, cfg)
    }
}

/// Looks a protocol up by name.
pub fn info(name: &str) -> Option<&'static ProtocolInfo> {
    PROTOCOLS.iter().find(|p| p.name == name)
}

/// Looks a protocol up by name, or says which names exist.
pub fn lookup(name: &str) -> Result<&'static ProtocolInfo, RegistryError> {
    info(name).ok_or_else(|| RegistryError::UnknownProtocol { name: name.to_string() })
}

/// Validates `params` for protocol `name` without running anything.
pub fn check_params(name: &str, params: &BTreeMap<String, String>) -> Result<(), RegistryError> {
    lookup(name)?.check_params(params)
}

/// Refuses a (protocol, workload) pair where the protocol does not serve the
/// workload; the error names the workloads it serves.
pub fn check_workload(name: &str, workload: WorkloadKind) -> Result<(), RegistryError> {
    lookup(name)?.check_workload(workload)
}

/// The protocols a comparison runs by default: those marked `compared` that
/// serve `workload` (each its own default workload when `None`).
pub fn compared(workload: Option<WorkloadKind>) -> Vec<&'static ProtocolInfo> {
    PROTOCOLS.iter().filter(|p| p.compared && workload.is_none_or(|w| p.serves(w))).collect()
}

/// A protocol parameter that changes interleavings, drawn from the seed
/// when the user leaves it unset (#15 §6, as TigerBeetle's VOPR derives its
/// settings from the seed): one seed explores one setting, a sweep many,
/// and a bug that needs, say, one-entry batches is not hidden by the
/// default. Every value is one a correct protocol must survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeededKnob {
    pub protocol: &'static str,
    pub param: &'static str,
    /// The values drawn from, uniformly; the parameter's default among them.
    pub values: &'static [&'static str],
    /// Parameters whose presence leaves this one at its default (it is
    /// bound to them by a rule, e.g. Raft's heartbeat below the election
    /// timeout).
    pub unless: &'static [&'static str],
}

const fn knob(protocol: &'static str, param: &'static str, values: &'static [&'static str]) -> SeededKnob {
    SeededKnob { protocol, param, values, unless: &[] }
}

/// Anti-entropy periods drawn for the protocols that have one.
const ANTI_ENTROPY_MS: &[&str] = &["10", "50", "250"];

/// Every seeded knob, in draw order. A new knob goes at the end: each knob
/// takes one draw whether or not it is used, so the ones before it keep
/// their values for every seed.
pub const SEEDED_KNOBS: &[SeededKnob] = &[
    // One-entry batches let an old-term entry reach a majority before the
    // new leader's no-op does (Figure 8); long ones hide it.
    knob("raft", "max_batch", &["1", "4", "64"]),
    // Every election timeout is above every heartbeat period drawn, and
    // short beside a run (a 500-op run lasts a few hundred milliseconds).
    SeededKnob { unless: &["heartbeat_ms"], ..knob("raft", "election_timeout_ms", &["20", "35", "50"]) },
    SeededKnob { unless: &["election_timeout_ms"], ..knob("raft", "heartbeat_ms", &["2", "5", "10"]) },
    // Rare repair leaves stale replicas for later reads to find.
    knob("quorum", "read_repair_chance", &["0", "0.1", "0.5"]),
    knob("quorum", "hint_interval_ms", &["10", "50", "250"]),
    knob("quorum", "anti_entropy_ms", ANTI_ENTROPY_MS),
    knob("gossip", "gossip_ms", &["2", "10", "30"]),
    knob("gossip", "anti_entropy_ms", ANTI_ENTROPY_MS),
    knob("lww", "anti_entropy_ms", ANTI_ENTROPY_MS),
    knob("vclock", "anti_entropy_ms", ANTI_ENTROPY_MS),
    knob("abd", "anti_entropy_ms", ANTI_ENTROPY_MS),
];

/// Random stream of a seed for the knobs, apart from the simulator's
/// streams (which sit at 2^40 and above, and at node indices below).
const KNOB_STREAM: u64 = 1 << 48;

/// The knobs drawn for a run of `protocol` with `seed`: one value for each
/// [`SEEDED_KNOBS`] entry of the protocol that `params` leaves unset (and
/// whose `unless` parameters are unset too). A run uses `params` plus
/// these; the reproduce command writes them out.
pub fn seeded_knobs(protocol: &str, params: &BTreeMap<String, String>, seed: u64) -> BTreeMap<String, String> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(KNOB_STREAM);
    let mut drawn = BTreeMap::new();
    for k in SEEDED_KNOBS.iter().filter(|k| k.protocol == protocol) {
        let v = k.values[rng.random_range(0..k.values.len())];
        let pinned = params.contains_key(k.param) || k.unless.iter().any(|u| params.contains_key(*u));
        if !pinned {
            drawn.insert(k.param.to_string(), v.to_string());
        }
    }
    drawn
}

/// Builds protocol `name` from `params` and runs it under `cfg`.
pub fn run(name: &str, params: &BTreeMap<String, String>, cfg: &SimConfig) -> Result<RunOutput, RegistryError> {
    lookup(name)?.run(params, cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::common::params::given;

    #[test]
    fn names_are_unique_and_defaults_are_served() {
        for (i, p) in PROTOCOLS.iter().enumerate() {
            assert!(PROTOCOLS[..i].iter().all(|q| q.name != p.name), "{} twice", p.name);
            assert_eq!(p.workloads.first(), Some(&p.default_workload), "{}: the default comes first", p.name);
        }
    }

    /// Every table's defaults parse, and every protocol builds and runs from
    /// them; each parameter refuses a nonsense value with an error that
    /// names protocol and parameter once.
    #[test]
    fn every_protocol_builds_from_its_defaults_and_each_param_checks_its_value() {
        for p in PROTOCOLS {
            p.check_params(&BTreeMap::new()).unwrap();
            let mut cfg = SimConfig { ops: 20, nodes: 3, clients: 3, ..SimConfig::default() };
            cfg.workload = crate::workload::WorkloadConfig::new(p.default_workload);
            let out = p.run(&BTreeMap::new(), &cfg).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(out.stats.stopped_early, None, "{}", p.name);
            for param in p.params {
                let default = param.default_text();
                if let Some(d) = &default {
                    p.check_params(&given(&[(param.name, d)])).unwrap_or_else(|e| panic!("{}: {e}", p.name));
                }
                let e = p.check_params(&given(&[(param.name, "nonsense")])).unwrap_err().to_string();
                assert!(e.starts_with(&format!("{}: parameter `{}`", p.name, param.name)), "{e}");
                assert!(!e.contains(&format!("{0}: {0}", p.name)), "{e}");
            }
        }
    }

    /// Every seeded knob names a parameter of its protocol, every value it
    /// draws parses (with the others drawn beside it: Raft's heartbeat stays
    /// below its election timeout), and the default is among the values.
    #[test]
    fn seeded_knobs_draw_valid_values_that_include_the_default() {
        for k in SEEDED_KNOBS {
            let p = lookup(k.protocol).unwrap();
            let param = p.params.iter().find(|q| q.name == k.param).unwrap_or_else(|| panic!("{k:?}"));
            let default = param.default_text().unwrap();
            assert!(
                k.values.iter().any(|v| Params::parse(p.name, p.params, &given(&[(k.param, v)])).is_ok()
                    && v.parse::<f64>().ok() == default.parse::<f64>().ok()),
                "{k:?}: the default {default} is not among the values"
            );
        }
        for seed in 0..200 {
            for p in PROTOCOLS {
                let drawn = seeded_knobs(p.name, &BTreeMap::new(), seed);
                p.check_params(&drawn).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            }
        }
    }

    /// The draw is a function of the seed; a given parameter is never
    /// drawn (nor one bound to it), and pinning one leaves the others' values.
    #[test]
    fn seeded_knobs_follow_the_seed_and_yield_to_explicit_params() {
        let none = BTreeMap::new();
        assert_eq!(seeded_knobs("raft", &none, 7), seeded_knobs("raft", &none, 7));
        let batches: std::collections::BTreeSet<String> =
            (0..100).map(|s| seeded_knobs("raft", &none, s)["max_batch"].clone()).collect();
        assert_eq!(batches.len(), 3, "every value comes up: {batches:?}");
        assert!(seeded_knobs("single", &none, 3).is_empty());
        for seed in 0..50 {
            let all = seeded_knobs("raft", &none, seed);
            let pinned = seeded_knobs("raft", &given(&[("max_batch", "9")]), seed);
            assert!(!pinned.contains_key("max_batch"));
            assert_eq!(pinned["heartbeat_ms"], all["heartbeat_ms"], "seed {seed}");
            let timed = seeded_knobs("raft", &given(&[("election_timeout_ms", "3")]), seed);
            assert!(!timed.contains_key("heartbeat_ms") && !timed.contains_key("election_timeout_ms"));
            assert_eq!(timed["max_batch"], all["max_batch"]);
        }
    }

    /// `--protocol abd --param foo=1` said "abd: abd: unknown param".
    #[test]
    fn unknown_param_names_the_protocol_once() {
        let e = check_params("abd", &given(&[("foo", "1")])).unwrap_err().to_string();
        assert_eq!(e, "abd: unknown parameter `foo` (accepted: timeout_ms, anti_entropy_ms, bug)");
        let e = check_params("paxos", &BTreeMap::new()).unwrap_err().to_string();
        assert!(e.starts_with("unknown protocol `paxos`: expected one of raft, abd"), "{e}");
    }

    /// `run --protocol lww --workload list-append` refused every append and
    /// passed as VALID; it is refused up front, naming what lww serves.
    #[test]
    fn a_workload_the_protocol_does_not_serve_is_refused_naming_what_it_serves() {
        let e = check_workload("lww", WorkloadKind::ListAppend).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lww does not serve the list-append workload (every op would fail and nothing would be checked); \
             it serves register, kv"
        );
        assert!(check_workload("gossip", WorkloadKind::Bank).unwrap_err().to_string().ends_with("it serves set"));
        let cfg =
            SimConfig { workload: crate::workload::WorkloadConfig::new(WorkloadKind::Bank), ..SimConfig::default() };
        assert!(matches!(run("gossip", &BTreeMap::new(), &cfg), Err(RegistryError::Workload { .. })));
        check_workload("raft", WorkloadKind::Bank).unwrap();
    }

    /// The `## Parameters` table of `docs/protocols/NAME.md`: each row's
    /// names and default column.
    fn doc_params(name: &str) -> Option<Vec<(String, String)>> {
        let path = format!("{}/../../docs/protocols/{name}.md", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).ok()?;
        let section = text.split("\n## ").find(|s| s.starts_with("Parameters"))?;
        let mut rows = Vec::new();
        for line in section.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let default = cells[2].replace('`', "");
            for name in cells[1].split(',') {
                rows.push((name.trim().trim_matches('`').to_string(), default.clone()));
            }
        }
        Some(rows)
    }

    /// The docs list exactly each protocol's parameters, with the defaults
    /// the code uses (every compared protocol has a page).
    #[test]
    fn docs_parameter_tables_match_the_code() {
        for p in PROTOCOLS {
            let Some(rows) = doc_params(p.name) else {
                assert!(!p.compared, "docs/protocols/{}.md is missing", p.name);
                continue;
            };
            let documented: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
            let mut declared: Vec<&str> = p.params.iter().map(|q| q.name).collect();
            let mut sorted = documented.clone();
            sorted.sort();
            declared.sort();
            assert_eq!(sorted, declared, "docs/protocols/{}.md lists other parameters", p.name);
            for (name, default) in &rows {
                let q = p.params.iter().find(|q| q.name == name).unwrap();
                if let Some(d) = q.default_text() {
                    assert_eq!(&d, default, "docs/protocols/{}.md: default of `{name}`", p.name);
                }
            }
        }
    }

    /// Every protocol that serves a transactional workload names the
    /// isolation it promises (a linearizable one: strict serializability),
    /// models distinct and ordered weakest first; the others name none.
    #[test]
    fn transactional_protocols_name_their_isolation() {
        for p in PROTOCOLS {
            let txn = p.workloads.iter().any(|w| w.is_txn());
            assert_eq!(txn, !p.isolation.is_empty(), "{}", p.name);
            assert!(p.isolation.iter().all(|c| c.txn_model().is_some()), "{}", p.name);
            let rank = |c: &CheckName| CheckName::TXN.iter().position(|x| x == c).unwrap();
            assert!(p.isolation.windows(2).all(|w| rank(&w[0]) < rank(&w[1])), "{}: weakest first", p.name);
            if p.linearizable && txn {
                assert_eq!(p.isolation[0], CheckName::StrictSerializable, "{}", p.name);
            }
        }
        assert_eq!(info("si").unwrap().isolation, [CheckName::SnapshotIsolation, CheckName::Serializable]);
        assert_eq!(info("rc").unwrap().isolation, [CheckName::ReadCommitted, CheckName::ConsistentView]);
    }

    #[test]
    fn comparisons_list_only_protocols_that_serve_the_workload() {
        let names = |w| compared(w).iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(names(Some(WorkloadKind::ListAppend)), ["raft"]);
        assert_eq!(names(Some(WorkloadKind::Set)), ["raft", "vclock", "gossip", "weak"]);
        assert_eq!(names(Some(WorkloadKind::Bank)), ["raft", "2pc", "3pc"]);
        assert_eq!(names(Some(WorkloadKind::TxnRwRegister)), ["raft", "dynamo", "spanner", "si", "rc"]);
        assert_eq!(names(None).len(), 13, "single and lagging are not compared by default");
    }
}
