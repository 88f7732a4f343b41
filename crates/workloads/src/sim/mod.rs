//! The deterministic simulator: protocols run under faults while generated
//! clients record a history.
//!
//! Layout: [`node`] is the contract with protocols; [`net`] and [`nemesis`]
//! are the configuration of the network and of faults. At run time the
//! engine's loop pops events from the queue and hands them to the part they
//! belong to: the nodes (`nodes`), the clients (`clients`), the nemesis
//! (`faults`); node effects go through the network (`network`); the
//! history is written by the recorder.
//!
//! Architecture invariant: every random draw comes from a ChaCha8 stream of
//! the run's seed, one stream per node and one each for the network, the
//! clients and the nemesis. Events are ordered by (virtual time, sequence
//! number), so ties are broken by scheduling order. Nothing reads the wall
//! clock, floating-point functions come from `libm` (the same bits on every
//! platform), and no unordered map is iterated, so (config, seed)
//! determines every byte of output (`tests/sim_basic.rs`,
//! `golden_history_bytes`).

mod clients;
mod engine;
mod faults;
pub mod manual;
pub mod nemesis;
pub mod net;
mod network;
pub mod node;
mod nodes;
pub mod points;
mod queue;
mod recorder;

pub use nemesis::{Fault, FaultKind, Generated, NemesisConfig, ScheduledFault, Target};
pub use net::{node_name, Latency, LatencyDist, NetConfig, PartitionShape};
pub use node::{Ctx, Effect, Key, Monitor, Node, NodeId, Protocol, Request, RequestId, Response, Violation};

use crate::workload::WorkloadConfig;
use serde::{Deserialize, Serialize};

/// Which node a client sends each request to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientRouting {
    /// Client `i` always talks to node `i % nodes` (also after its process
    /// is retired and replaced).
    Sticky,
    /// A node chosen at random for every request.
    Random,
    /// Like `Sticky`, but a client moves on as real drivers do: to the next
    /// live node when its node is down, and to a random other node after a
    /// request timed out (its node unreachable); it stays where it moved.
    Failover,
}

/// Everything that determines a run (with the protocol and its parameters).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    pub seed: u64,
    pub nodes: usize,
    /// Concurrent client processes, one op outstanding each.
    pub clients: usize,
    /// Client ops to issue in total (final reads not included).
    pub ops: usize,
    /// The client phase ends after this much virtual time at the latest
    /// (`--time-limit`), and generated faults are spread over it instead of
    /// over the ops.
    pub time_limit_ns: Option<u64>,
    pub workload: WorkloadConfig,
    pub net: NetConfig,
    pub nemesis: NemesisConfig,
    /// A request unanswered after this long is recorded as `info` and its
    /// process retired.
    pub request_timeout_ns: u64,
    pub client_node: ClientRouting,
    /// Keep a message trace (send / deliver / drop) in [`RunOutput::trace`].
    pub keep_trace: bool,
    /// Trace entries kept at most (memory bound); later ones are counted in
    /// [`RunStats::trace_dropped`].
    pub trace_limit: usize,
    /// After the clients finish and faults heal, wait this long before the
    /// final reads.
    pub quiesce_ns: u64,
    /// Read every key on every node at the end (`final: true`).
    pub final_reads: bool,
    /// Livelock bound: the run stops after processing this many events,
    /// with [`RunStats::stopped_early`] set.
    pub max_events: u64,
    /// Bound on virtual time, for the same reason.
    pub max_time_ns: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            nodes: 5,
            clients: 5,
            ops: 500,
            time_limit_ns: None,
            workload: WorkloadConfig::default(),
            net: NetConfig::default(),
            nemesis: NemesisConfig::none(),
            request_timeout_ns: 500_000_000,
            client_node: ClientRouting::Sticky,
            keep_trace: false,
            trace_limit: 1_000_000,
            quiesce_ns: 500_000_000,
            final_reads: true,
            max_events: 50_000_000,
            max_time_ns: 3_600_000_000_000,
        }
    }
}

/// Bound on the cluster size: grudge matrices are `nodes²`.
pub const MAX_NODES: usize = 1024;
/// Bound on client processes.
pub const MAX_CLIENTS: usize = 100_000;
/// Bound on [`NetConfig::max_in_flight`]: queue slots are 32-bit indices,
/// and 100 million queued events is already gigabytes.
pub const MAX_IN_FLIGHT: usize = 100_000_000;

impl SimConfig {
    /// Checks ranges; [`run`] refuses a config that fails this.
    pub fn validate(&self) -> Result<(), String> {
        if self.nodes == 0 || self.nodes > MAX_NODES {
            return Err(format!("nodes must be in 1..={MAX_NODES}, got {}", self.nodes));
        }
        if self.clients > MAX_CLIENTS {
            return Err(format!("clients must be at most {MAX_CLIENTS}, got {}", self.clients));
        }
        if self.ops > 0 && self.clients == 0 {
            return Err("ops > 0 needs at least one client".into());
        }
        if self.time_limit_ns == Some(0) {
            return Err("time limit must be positive".into());
        }
        if self.request_timeout_ns == 0 {
            return Err("request_timeout_ns must be positive".into());
        }
        let n = &self.net;
        for (name, p) in [("loss", n.loss), ("duplicate", n.duplicate), ("reorder", n.reorder)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("net.{name} must be a probability in [0, 1], got {p}"));
            }
        }
        if n.max_in_flight == 0 || n.max_in_flight > MAX_IN_FLIGHT {
            return Err(format!("net.max_in_flight must be in 1..={MAX_IN_FLIGHT}, got {}", n.max_in_flight));
        }
        self.workload.validate()?;
        self.nemesis.validate()
    }
}

/// Counts of what happened in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// Client ops invoked, final reads included.
    pub ops_invoked: u64,
    pub ops_ok: u64,
    pub ops_fail: u64,
    pub ops_info: u64,
    /// Invoked but never completed (only when the run stopped early).
    pub ops_open: u64,
    pub final_reads: u64,
    /// Client processes retired by an info.
    pub processes_retired: u64,
    pub msgs_sent: u64,
    pub msgs_delivered: u64,
    /// All drops: partition, loss, crash, overflow.
    pub msgs_dropped: u64,
    pub msgs_dropped_partition: u64,
    pub msgs_dropped_loss: u64,
    pub msgs_dropped_crash: u64,
    pub msgs_dropped_overflow: u64,
    pub msgs_duplicated: u64,
    /// Messages a swizzle clog held until it lifted (absent when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub msgs_held: u64,
    pub timers_fired: u64,
    /// Faults started by the nemesis.
    pub faults: u64,
    /// Faults that took effect (a node fault that found no live node to
    /// hit does not count), per kind name; kinds that never fired are
    /// absent (see [`RunStats::missing_faults`]).
    pub faults_by_kind: std::collections::BTreeMap<String, u64>,
    pub crashes: u64,
    /// Crashes that lost writes the node had not fsynced (only a protocol
    /// that persists lazily has any; absent when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub crashes_lost_unsynced: u64,
    pub restarts: u64,
    /// Virtual time at the end of the run.
    pub sim_duration_ns: u64,
    pub events_processed: u64,
    pub trace_dropped: u64,
    /// Why the run stopped before finishing (a bound was hit), if it did.
    pub stopped_early: Option<String>,
    /// The protocol's own counters ([`Node::stats`]), over every node and
    /// incarnation: `*_max` counters are maxima, others sums.
    pub protocol: std::collections::BTreeMap<String, i64>,
    /// Protocol invariants that failed ([`Monitor`]), the first
    /// [`MAX_VIOLATIONS_KEPT`] in the order they happened.
    pub invariant_violations: Vec<InvariantViolation>,
    /// All violations, also those not kept.
    pub invariant_violations_total: u64,
    /// Fault points the protocol passed ([`Ctx::fault_point`]), by name:
    /// hits, crashes there, and whether the seed enabled them.
    pub fault_points: std::collections::BTreeMap<String, points::PointStats>,
    /// Named branches the protocol took ([`Ctx::cover`]), by name.
    pub coverage: std::collections::BTreeMap<String, u64>,
}

impl RunStats {
    /// Requested fault kinds that never took effect in this run: a run
    /// that asked for faults and got none tested less than it says (#12 §2d).
    pub fn missing_faults(&self, nemesis: &NemesisConfig) -> Vec<FaultKind> {
        let kinds = nemesis.generate.as_ref().map(|g| g.kinds.as_slice()).unwrap_or(&[]);
        let explicit = nemesis.faults.iter().map(|f| f.fault.kind());
        let mut want: Vec<FaultKind> = kinds.iter().copied().chain(explicit).collect();
        want.sort();
        want.dedup();
        want.retain(|k| self.faults_by_kind.get(k.name()).copied().unwrap_or(0) == 0);
        want
    }
}

/// Violations kept in [`RunStats::invariant_violations`] (memory bound).
pub const MAX_VIOLATIONS_KEPT: usize = 16;

/// A protocol invariant that failed during a run, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantViolation {
    pub time_ns: u64,
    pub node: NodeId,
    pub invariant: String,
    pub detail: String,
}

/// What happened to a message, in the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceKind {
    Send,
    Deliver,
    DropPartition,
    DropLoss,
    DropCrash,
    DropOverflow,
    /// A duplicate copy was scheduled (its delivery appears separately).
    Duplicate,
}

/// One message event. `id` links a send to its deliveries (duplicates share it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub time_ns: u64,
    pub kind: TraceKind,
    pub id: u64,
    pub from: NodeId,
    pub to: NodeId,
    /// `Debug` rendering of the message.
    pub msg: String,
}

/// The result of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOutput {
    /// The history, in the order things happened; `line` is the 1-based index.
    pub events: Vec<checker::Event>,
    pub stats: RunStats,
    pub trace: Option<Vec<TraceEntry>>,
}

impl RunOutput {
    /// The events paired into a history.
    pub fn history(&self) -> Result<checker::History, checker::InputError> {
        checker::History::from_events("simulation", self.events.iter().cloned())
    }

    /// The history in the native JSON Lines format.
    pub fn to_jsonl(&self) -> Vec<u8> {
        checker::write::to_jsonl(&self.events)
    }
}

/// Runs `protocol` under `cfg`. An invalid config yields an empty history
/// with [`RunStats::stopped_early`] naming the problem; use [`try_run`] to
/// get it as an error.
pub fn run<P: Protocol>(protocol: &P, cfg: &SimConfig) -> RunOutput {
    match try_run(protocol, cfg) {
        Ok(out) => out,
        Err(e) => RunOutput {
            stats: RunStats { stopped_early: Some(format!("invalid config: {e}")), ..RunStats::default() },
            ..RunOutput::default()
        },
    }
}

/// Runs `protocol` under `cfg`, or says why the config is invalid.
pub fn try_run<P: Protocol>(protocol: &P, cfg: &SimConfig) -> Result<RunOutput, String> {
    cfg.validate()?;
    Ok(engine::Sim::new(protocol, cfg)?.run())
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
