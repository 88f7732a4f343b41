//! Two-phase commit of bank transfers across shards (presumed abort).
//! Every node holds the accounts `a` with `a % nodes == id` and coordinates
//! the transactions its clients send it; a whole-bank read is a read-only
//! transaction over every shard, with shared locks. See [`engine`] for the
//! protocol and its recovery.
//!
//! Parameters (`--param NAME=VALUE`):
//! - `vote_timeout_ms` (default 50): coordinator aborts a transaction whose
//!   votes have not all arrived by then.
//! - `participant_timeout_ms` (default 50): a shard in doubt this long
//!   starts asking the coordinator for the decision.
//! - `retry_ms` (default 20): period of those questions.
//! - `lock_wait_ms` (default 20): how long a prepare waits for locks held
//!   by other transactions before the shard votes no (breaks deadlocks).
//! - `no_overdraft` (`true`/`false`, default false): shards vote no when a
//!   transfer would make a balance negative.
//! - `bug`: `none` (default) or `abort-after-yes-timeout`: a shard that voted
//!   yes and hears nothing within `participant_timeout_ms` aborts on its own
//!   and releases its locks, as systems that time out prepared transactions
//!   do; if the coordinator committed, the transfer is applied on one side
//!   only and the bank's total changes.

pub mod bank;
pub mod engine;

use crate::sim::{NodeId, Protocol};
use bank::DecisionLog;
use engine::{CommitConfig, CommitDurable, CommitNode, Mode};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `2pc` protocol.
#[derive(Clone, Debug)]
pub struct TwoPcProtocol {
    pub config: CommitConfig,
    /// When set, every shard's decision per transaction is recorded here
    /// (for atomicity assertions); it survives crashes of the nodes.
    pub recorder: Option<Arc<DecisionLog>>,
}

impl Default for TwoPcProtocol {
    fn default() -> Self {
        TwoPcProtocol { config: CommitConfig::new(Mode::TwoPhase), recorder: None }
    }
}

pub(crate) fn parse_ms(name: &str, v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(ms) if ms > 0 && ms <= 3_600_000 => Ok(ms * 1_000_000),
        _ => Err(format!("param `{name}`: expected milliseconds in 1..=3600000, got `{v}`")),
    }
}

pub(crate) fn parse_bool(name: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("param `{name}`: expected true or false, got `{v}`")),
    }
}

impl TwoPcProtocol {
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut c = CommitConfig::new(Mode::TwoPhase);
        for (k, v) in params {
            match k.as_str() {
                "vote_timeout_ms" => c.vote_timeout_ns = parse_ms(k, v)?,
                "participant_timeout_ms" => c.participant_timeout_ns = parse_ms(k, v)?,
                "retry_ms" => c.retry_ns = parse_ms(k, v)?,
                "lock_wait_ms" => c.lock_wait_ns = parse_ms(k, v)?,
                "no_overdraft" => c.no_overdraft = parse_bool(k, v)?,
                "bug" => {
                    c.bug_abort_after_yes_timeout = match v.as_str() {
                        "none" => false,
                        "abort-after-yes-timeout" => true,
                        _ => {
                            return Err(format!(
                                "param `bug`: unknown 2pc bug `{v}` (expected none, abort-after-yes-timeout)"
                            ))
                        }
                    }
                }
                _ => {
                    return Err(format!(
                        "unknown 2pc param `{k}` (expected vote_timeout_ms, participant_timeout_ms, retry_ms, lock_wait_ms, \
                         no_overdraft, bug)"
                    ))
                }
            }
        }
        Ok(TwoPcProtocol { config: c, recorder: None })
    }

    /// The same protocol, recording decisions into `log`.
    pub fn with_recorder(mut self, log: Arc<DecisionLog>) -> Self {
        self.recorder = Some(log);
        self
    }
}

impl Protocol for TwoPcProtocol {
    type Node = CommitNode;

    fn name(&self) -> &'static str {
        "2pc"
    }

    fn create(&self, id: NodeId, nodes: usize, _durable: &CommitDurable) -> CommitNode {
        CommitNode::new(id, nodes, self.config.clone(), self.recorder.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::threepc::ThreePcProtocol;

    fn p(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn params_parse_and_reject() {
        let two = TwoPcProtocol::from_params(&p(&[("bug", "abort-after-yes-timeout"), ("lock_wait_ms", "5")])).unwrap();
        assert!(two.config.bug_abort_after_yes_timeout);
        assert_eq!(two.config.lock_wait_ns, 5_000_000);
        assert_eq!(two.name(), "2pc");
        assert!(TwoPcProtocol::from_params(&p(&[("ack_timeout_ms", "5")])).unwrap_err().contains("ack_timeout_ms"));
        assert!(TwoPcProtocol::from_params(&p(&[("bug", "x")])).unwrap_err().contains("bug"));
        assert!(TwoPcProtocol::from_params(&p(&[("no_overdraft", "maybe")])).unwrap_err().contains("no_overdraft"));
        assert!(TwoPcProtocol::from_params(&p(&[("retry_ms", "0")])).unwrap_err().contains("retry_ms"));
        let three = ThreePcProtocol::from_params(&p(&[("ack_timeout_ms", "7"), ("bug", "none")])).unwrap();
        assert_eq!(three.config.ack_timeout_ns, 7_000_000);
        assert_eq!(three.config.mode, Mode::ThreePhase);
        assert!(ThreePcProtocol::from_params(&p(&[("bug", "abort-after-yes-timeout")])).unwrap_err().contains("bug"));
        assert!(ThreePcProtocol::from_params(&p(&[("frob", "1")])).unwrap_err().contains("frob"));
    }
}
