//! Three-phase commit (Skeen, 1981) of bank transfers across shards:
//! can-commit, pre-commit, do-commit, with the textbook timeout rules (a
//! shard uncertain after voting yes aborts; a pre-committed one commits; a
//! coordinator missing pre-commit acks commits). Non-blocking, and safe
//! while every message arrives within the timeouts and crashed nodes
//! recover by asking; a network partition (or message loss) that separates
//! pre-committed shards from uncertain ones makes them decide differently.
//! The shards, the bank and the engine are shared with `2pc`
//! ([`super::twopc::engine`]).
//!
//! Parameters (`--param NAME=VALUE`):
//! - `vote_timeout_ms` (default 50): coordinator aborts without all votes.
//! - `ack_timeout_ms` (default 50): coordinator commits without all acks.
//! - `participant_timeout_ms` (default 50): a shard decides by the timeout
//!   rule after this long in one state.
//! - `retry_ms` (default 20): period of questions from a shard that
//!   restarted uncertain.
//! - `lock_wait_ms` (default 20): how long a prepare waits for locks held
//!   by other transactions before the shard votes no (breaks deadlocks).
//! - `no_overdraft` (`true`/`false`, default false): as in `2pc`.
//! - `bug`: only `none`: the protocol's unsafety under partitions is its
//!   own, not a switch.

use super::twopc::bank::DecisionLog;
use super::twopc::engine::{CommitConfig, CommitDurable, CommitNode, Mode};
use super::twopc::{parse_bool, parse_ms};
use crate::sim::{NodeId, Protocol};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `3pc` protocol.
#[derive(Clone, Debug)]
pub struct ThreePcProtocol {
    pub config: CommitConfig,
    /// When set, every shard's decision per transaction is recorded here.
    pub recorder: Option<Arc<DecisionLog>>,
}

impl Default for ThreePcProtocol {
    fn default() -> Self {
        ThreePcProtocol { config: CommitConfig::new(Mode::ThreePhase), recorder: None }
    }
}

impl ThreePcProtocol {
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut c = CommitConfig::new(Mode::ThreePhase);
        for (k, v) in params {
            match k.as_str() {
                "vote_timeout_ms" => c.vote_timeout_ns = parse_ms(k, v)?,
                "ack_timeout_ms" => c.ack_timeout_ns = parse_ms(k, v)?,
                "participant_timeout_ms" => c.participant_timeout_ns = parse_ms(k, v)?,
                "retry_ms" => c.retry_ns = parse_ms(k, v)?,
                "lock_wait_ms" => c.lock_wait_ns = parse_ms(k, v)?,
                "no_overdraft" => c.no_overdraft = parse_bool(k, v)?,
                "bug" if v == "none" => {}
                "bug" => return Err(format!("param `bug`: unknown 3pc bug `{v}` (expected none)")),
                _ => {
                    return Err(format!(
                        "unknown 3pc param `{k}` (expected vote_timeout_ms, ack_timeout_ms, \
                         participant_timeout_ms, retry_ms, lock_wait_ms, no_overdraft, bug)"
                    ))
                }
            }
        }
        Ok(ThreePcProtocol { config: c, recorder: None })
    }

    /// The same protocol, recording decisions into `log`.
    pub fn with_recorder(mut self, log: Arc<DecisionLog>) -> Self {
        self.recorder = Some(log);
        self
    }
}

impl Protocol for ThreePcProtocol {
    type Node = CommitNode;

    fn name(&self) -> &'static str {
        "3pc"
    }

    fn create(&self, id: NodeId, nodes: usize, _durable: &CommitDurable) -> CommitNode {
        CommitNode::new(id, nodes, self.config.clone(), self.recorder.clone())
    }
}
