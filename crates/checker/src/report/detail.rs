//! Typed detail: the evidence behind an anomaly, a key's statistics and
//! witness, a check's summary. Serialised with the field names of the JSON
//! report (docs/report-format.md); each rule enum carries its rule's name as
//! `reason`.

use super::{CheckName, OpRef};
use crate::history::OpId;
use crate::value::Value;
use serde::Serialize;

/// A valid key's linearization ([`Witness`]) is cut to this many ops, by
/// the search and the fast paths alike. It is for a person hovering over
/// ops in the HTML report, not for replay; a full one would make the report
/// grow with the history (10M ids, ~320 MB, for a 10M-op file) when
/// everything else in it grows with the anomalies.
pub const WITNESS_MAX_OPS: usize = 1_000;

/// An anomaly's evidence, by the check (or fast path) that found it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum AnomalyDetail {
    /// The general search: where it got stuck.
    Search(SearchFailure),
    /// The unique-register fast path: the rule broken.
    Register(RegisterRule),
    /// The append-prefix fast path: the rule broken.
    Append(AppendRule),
    /// The kv-append fast path: the rule broken.
    KvAppend(KvAppendRule),
    /// A session guarantee: the cycle in the order of versions or ops.
    Cycle(SessionCycle),
    /// A bank read whose balances do not add up.
    WrongTotal(WrongTotal),
    /// A transactional anomaly: the transactions' names and a cycle's
    /// labelled edges.
    Txn(crate::txn::report::TxnEvidence),
    /// A workload check's evidence (the element, key, offsets, bounds), as
    /// the object docs/maelstrom.md describes per kind.
    Workload(serde_json::Value),
}

/// Where the general search got stuck: the longest prefix it could
/// linearize, the states the model could be in after it, and the op that
/// could not take effect in any of them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchFailure {
    pub failed_op: OpRef,
    pub longest_prefix: Vec<PrefixOp>,
    /// The model's states, as the model describes them.
    pub states: Vec<String>,
}

/// An op of [`SearchFailure::longest_prefix`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrefixOp {
    pub complete_line: Option<u64>,
    pub id: OpId,
    pub invoke_line: u64,
}

/// The unique-register fast path's rules (registers, and kv put/get).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RegisterRule {
    /// A read returned a value no operation wrote.
    ReadOfUnwrittenValue { failed_write: Option<OpId>, op: OpId, value: Value },
    /// A read returned the value of a write that failed.
    ReadOfFailedWrite { failed_write: Option<OpId>, op: OpId, value: Value },
    /// A cas expected a value no operation wrote.
    CasOfUnwrittenValue { failed_write: Option<OpId>, op: OpId, value: Value },
    /// Two cas replaced the same value, written once.
    DoubleCas { ops: [OpId; 2] },
    /// Values a chain of cas links must follow in order did not. `first`
    /// and `then` are absent when the first is the initial value.
    CasChainOrder {
        #[serde(skip_serializing_if = "Option::is_none")]
        first: Option<OpId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        then: Option<OpId>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        ops: Vec<OpId>,
    },
    /// A read completed before the only write of its value began.
    ReadBeforeWrite { ops: [OpId; 2], read: OpId, write: OpId },
    /// Two values must each be linearized before the other.
    ConflictingValueOrder {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        ops: Vec<OpId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        values: Option<[Option<Value>; 2]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        writes: Option<[Option<OpId>; 2]>,
    },
}

/// The append-prefix fast path's rules (list-append, unique elements).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AppendRule {
    /// A read holds an element whose only append failed.
    ReadOfFailedAppend { element: Value, failed_append: Option<OpId>, read: OpId },
    /// A read holds an element no operation appended.
    ReadOfUnappendedElement { element: Value, failed_append: Option<OpId>, read: OpId },
    /// A read holds an element twice.
    DuplicateElement { append: OpId, element: Value, read: OpId },
    /// Two reads are not prefixes of one list: they differ at `index`.
    DivergentReads { index: usize, reads: [OpId; 2] },
    /// An element's place in the list contradicts real time.
    RealTimeOrder { element: Value, first: OpId, ops: Vec<OpId>, then: OpId },
    /// An append that must have taken effect is missing from a later read.
    LostAppend { append: OpId, element: Value, ops: Vec<OpId>, then: OpId },
}

/// The kv-append fast path's rules (kv get/put/append).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KvAppendRule {
    /// A get returned a string no put and appends make.
    ReadOfUnwrittenValue { read: OpId, value: String },
    /// A get returned a string that starts with a failed put's value.
    ReadOfFailedWrite { failed_write: OpId, read: OpId },
    /// A get holds an appended string more often than it was appended.
    DuplicateElement { appends: Vec<OpId>, read: OpId },
    /// Two gets are not prefixes of one value: they differ at `index`.
    DivergentReads { index: usize, reads: [OpId; 2] },
    /// An append seen after two different puts.
    AppendInTwoEpochs { appends: Vec<OpId>, reads: [OpId; 2] },
    /// An op's place contradicts real time (within the epoch of `epoch_put`).
    RealTimeOrder { epoch_put: Option<OpId>, first: OpId, then: OpId },
    /// Two put values must each be linearized before the other.
    ConflictingValueOrder {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        ops: Vec<OpId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        puts: Option<[Option<OpId>; 2]>,
    },
    /// An append that must have taken effect is missing from a later get.
    LostAppend { append: OpId, ops: Vec<OpId>, then: OpId },
}

/// A cycle that shows a session guarantee (or several, jointly) violated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionCycle {
    /// For a joint violation: the guarantees whose constraints together
    /// form the cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<CheckName>>,
    pub cycle: Vec<CycleEdge>,
}

/// One edge of a [`SessionCycle`]: `from` must precede `to` because of
/// `edge` (e.g. `session-order`, `reads-from`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CycleEdge {
    pub edge: String,
    pub from: String,
    pub to: String,
}

/// A bank read whose balances sum to `total`, not `expected_total`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WrongTotal {
    /// The balances read, as a map account -> balance.
    pub balances: Value,
    pub expected_total: i64,
    pub total: i64,
}

/// Statistics of one key, by the check that decided it. Absent parts are
/// left out of the JSON report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KeyStats {
    /// Bank properties: how many anomalies were found (only the first
    /// `MAX_ANOMALIES` are listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly_count: Option<u64>,
    #[serde(flatten)]
    pub convergence: Option<ConvergenceStats>,
    #[serde(flatten)]
    pub search: Option<SearchStats>,
    /// Session checks: how many violations were found (only the first few
    /// are listed as anomalies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<u64>,
    /// A valid key's linearization.
    #[serde(flatten)]
    pub witness: Option<Witness>,
    /// For a key a fast path decided invalid: the longest linearizable
    /// prefix a bounded search found, for the timeline to step through
    /// (the search's own anomalies carry theirs). Not in the JSON report:
    /// the anomaly is the fast path's proof.
    #[serde(skip)]
    pub prefix: Option<SearchFailure>,
    /// The workload checks' figures (set-full's stable/stale/lost counts
    /// and stable latency, kafka's sends and polls, ...), by name.
    #[serde(flatten)]
    pub workload: Option<serde_json::Map<String, serde_json::Value>>,
}

impl KeyStats {
    /// Nothing to put in the JSON report (the timeline's `prefix` is not
    /// part of it).
    pub fn is_empty(&self) -> bool {
        let KeyStats { anomaly_count, convergence, search, violations, witness, prefix: _, workload } = self;
        anomaly_count.is_none()
            && convergence.is_none()
            && search.is_none()
            && violations.is_none()
            && witness.is_none()
            && workload.is_none()
    }

    /// Stats holding a workload check's figures (a JSON object).
    pub(crate) fn of_workload(figures: serde_json::Value) -> KeyStats {
        debug_assert!(figures.is_object(), "workload figures are built as objects");
        let workload = match figures {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        };
        KeyStats { workload, ..KeyStats::default() }
    }

    /// A workload check's figure by name (`Null` when absent).
    pub fn figure(&self, name: &str) -> &serde_json::Value {
        self.workload.as_ref().and_then(|m| m.get(name)).unwrap_or(&serde_json::Value::Null)
    }
}

/// A valid key's linearization: op ids in an order consistent with real
/// time that the model accepts, cut to [`WITNESS_MAX_OPS`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Witness {
    #[serde(rename = "linearization")]
    pub ops: Vec<OpId>,
    /// How long the linearization was before it was cut.
    #[serde(rename = "linearization_truncated_from", skip_serializing_if = "Option::is_none")]
    pub truncated_from: Option<usize>,
}

impl Witness {
    /// The witness of this linearization, cut to [`WITNESS_MAX_OPS`]
    /// (only those are collected).
    pub fn new(order: impl ExactSizeIterator<Item = OpId>) -> Witness {
        let len = order.len();
        let truncated_from = (len > WITNESS_MAX_OPS).then_some(len);
        Witness { ops: order.take(WITNESS_MAX_OPS).collect(), truncated_from }
    }
}

/// What the general search did on one key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchStats {
    /// Distinct (linearized set, state) configurations memoised.
    pub configurations: u64,
    /// The deepest the search went.
    pub max_depth: u64,
    pub memory_bytes_estimate: u64,
    /// Ops searched (fail ops and droppable info ops left out).
    pub ops_searched: u64,
    pub steps: u64,
}

/// Convergence on one key: its final reads and, where ops carry times,
/// how long after the last fault every read returned the final state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvergenceStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreed_ns_after_last_fault: Option<i64>,
    pub final_reads: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_fault_ns: Option<i64>,
    /// The nodes that served the final reads, sorted.
    pub nodes: Vec<String>,
}

/// A check's own summary, beyond its keys.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum CheckDetail {
    Convergence(ConvergenceSummary),
    Bank(BankSummary),
}

/// Convergence over all keys: keys decided, and the slowest agreement
/// after the last fault.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvergenceSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreed_ns_after_last_fault_max: Option<i64>,
    pub keys: u64,
    pub keys_converged: u64,
}

/// The bank as a whole: the total every read must show and where it comes
/// from, and how many transfers and reads there were.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BankSummary {
    /// `None` when nothing fixes it (no initial balances and no ok read).
    pub expected_total: Option<i64>,
    pub reads: u64,
    pub total_source: String,
    pub transfers: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_serialise_with_their_reason_and_fields() {
        let r = AnomalyDetail::Append(AppendRule::DivergentReads { index: 2, reads: [OpId(1), OpId(4)] });
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"reason": "divergent-reads", "index": 2, "reads": [1, 4]})
        );
        let r = RegisterRule::CasChainOrder { first: None, then: None, ops: Vec::new() };
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"reason": "cas-chain-order"}));
    }

    #[test]
    fn key_stats_flatten_and_leave_out_what_is_absent() {
        let mut s = KeyStats::default();
        assert!(s.is_empty());
        assert_eq!(serde_json::to_value(&s).unwrap(), json!({}));
        s.witness = Some(Witness::new((0..WITNESS_MAX_OPS as u32 + 5).map(OpId)));
        s.violations = Some(3);
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["linearization"].as_array().unwrap().len(), WITNESS_MAX_OPS);
        assert_eq!(j["linearization_truncated_from"], WITNESS_MAX_OPS + 5);
        assert_eq!(j["violations"], 3);
        assert_eq!(j.as_object().unwrap().len(), 3);
    }
}
