//! Atomic commit of bank transfers across shards: two-phase commit (`2pc`,
//! Gray, presumed abort) and three-phase commit (`3pc`, Skeen 1981), one
//! protocol type with a [`Mode`]. Every node holds the accounts `a` with
//! `a % nodes == id` and coordinates the transactions its clients send it;
//! a whole-bank read is a read-only transaction over every shard, with
//! shared locks. See [`engine`] for the protocol and its recovery, and
//! `docs/protocols/2pc.md`, `3pc.md` for what each promises.

pub mod bank;
pub mod engine;

use super::common::{Param, ParamError, Params};
use crate::sim::{Monitor, NodeId, Protocol};
use bank::DecisionLog;
pub use engine::Mode;
use engine::{CommitConfig, CommitDurable, CommitNode};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `2pc` or `3pc`.
#[derive(Clone, Debug)]
pub struct CommitProtocol {
    pub config: CommitConfig,
    /// When set, every shard's decision per transaction is recorded here
    /// (for atomicity assertions); it survives crashes of the nodes.
    pub recorder: Option<Arc<DecisionLog>>,
}

const VOTE_TIMEOUT: Param = Param::ms("vote_timeout_ms", 1, 50, "coordinator aborts without all votes");
const PARTICIPANT_TIMEOUT: Param =
    Param::ms("participant_timeout_ms", 1, 50, "a shard in doubt starts asking (3pc: decides by the timeout rule)");
const RETRY: Param = Param::ms("retry_ms", 1, 20, "period of a shard's questions while in doubt");
const LOCK_WAIT: Param = Param::ms("lock_wait_ms", 1, 20, "a prepare waits this long for locks, then votes no");
const NO_OVERDRAFT: Param = Param::flag("no_overdraft", false, "shards vote no when a balance would go negative");

impl CommitProtocol {
    /// `2pc`'s parameters.
    pub const TWO_PC_PARAMS: &'static [Param] = &[
        VOTE_TIMEOUT,
        PARTICIPANT_TIMEOUT,
        RETRY,
        LOCK_WAIT,
        NO_OVERDRAFT,
        Param::choice(
            "bug",
            &["none", "abort-after-yes-timeout"],
            "none",
            "abort-after-yes-timeout: a shard in doubt aborts on its own",
        ),
    ];

    /// `3pc`'s parameters.
    pub const THREE_PC_PARAMS: &'static [Param] = &[
        VOTE_TIMEOUT,
        Param::ms("ack_timeout_ms", 1, 50, "coordinator commits without all pre-commit acks"),
        PARTICIPANT_TIMEOUT,
        RETRY,
        LOCK_WAIT,
        NO_OVERDRAFT,
        Param::choice("bug", &["none"], "none", "the only value: 3pc's unsafety under partitions is its own"),
    ];

    /// The protocol of `mode` with its defaults.
    pub fn new(mode: Mode) -> CommitProtocol {
        CommitProtocol::from_params(mode, &BTreeMap::new()).expect("the defaults parse")
    }

    pub fn params(mode: Mode) -> &'static [Param] {
        match mode {
            Mode::TwoPhase => Self::TWO_PC_PARAMS,
            Mode::ThreePhase => Self::THREE_PC_PARAMS,
        }
    }

    pub fn from_params(mode: Mode, params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse(mode.name(), Self::params(mode), params)?;
        let config = CommitConfig {
            mode,
            vote_timeout_ns: p.ns("vote_timeout_ms"),
            // 2pc has no pre-commit phase to time out.
            ack_timeout_ns: if mode == Mode::ThreePhase { p.ns("ack_timeout_ms") } else { 0 },
            participant_timeout_ns: p.ns("participant_timeout_ms"),
            retry_ns: p.ns("retry_ms"),
            lock_wait_ns: p.ns("lock_wait_ms"),
            no_overdraft: p.flag("no_overdraft"),
            bug_abort_after_yes_timeout: p.choice("bug") == "abort-after-yes-timeout",
        };
        Ok(CommitProtocol { config, recorder: None })
    }

    /// The same protocol, recording decisions into `log`.
    pub fn with_recorder(mut self, log: Arc<DecisionLog>) -> Self {
        self.recorder = Some(log);
        self
    }
}

impl Protocol for CommitProtocol {
    type Node = CommitNode;

    fn create(&self, id: NodeId, nodes: usize, _durable: &CommitDurable) -> CommitNode {
        CommitNode::new(id, nodes, self.config.clone(), self.recorder.clone())
    }

    fn monitor(&self) -> Option<Box<dyn Monitor<CommitNode>>> {
        Some(Box::new(engine::CommitMonitor::new(&self.config)))
    }
}
