//! What the checks return: a [`Report`] per history, a [`CheckResult`] per
//! check, a [`KeyResult`] per key, and the [`Anomaly`]s found, serialised as
//! the `--json` report (field names and kind strings are stable; see
//! docs/report-format.md) and rendered by the `report` crate.
//!
//! - this file: verdicts, check names, the report and result types, budgets;
//! - `anomaly.rs`: [`Anomaly`], [`AnomalyKind`], [`OpRef`];
//! - `detail.rs`: typed detail: an anomaly's evidence ([`AnomalyDetail`]), a
//!   key's statistics and witness ([`KeyStats`]), a check's summary
//!   ([`CheckDetail`]).
//!
//! Architecture invariant: checks return these types and never print; the
//! binary decides how to show them.

mod anomaly;
mod detail;

pub use anomaly::{Anomaly, AnomalyKind, OpRef};
pub use detail::{
    AnomalyDetail, AppendRule, BankSummary, CheckDetail, ConvergenceStats, ConvergenceSummary, CycleEdge, KeyStats,
    KvAppendRule, PrefixOp, RegisterRule, SearchFailure, SearchStats, SessionCycle, Witness, WrongTotal,
    WITNESS_MAX_OPS,
};

use crate::error::NotApplicable;
use crate::model::ModelKind;
use crate::read::Format;
use crate::session::{Staleness, Workload};
pub use crate::txn::report::Isolation;
use crate::value::Value;
use serde::Serialize;
use std::time::{Duration, Instant};

/// The outcome of a check on one key, one check or one history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Something was checked and nothing was found.
    Valid,
    /// Undecided: a budget ran out, or there was nothing to check. Never a
    /// guess.
    Unknown,
    /// An anomaly was found.
    Invalid,
}

impl Verdict {
    /// The verdict of a whole made of two parts: invalid if either part is
    /// (an anomaly anywhere is an anomaly of the whole), else unknown if
    /// either is (the whole is not decided), else valid.
    pub fn combine(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Invalid, _) | (_, Verdict::Invalid) => Verdict::Invalid,
            (Verdict::Unknown, _) | (_, Verdict::Unknown) => Verdict::Unknown,
            (Verdict::Valid, Verdict::Valid) => Verdict::Valid,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
        }
    }
}

display_as_str!(Verdict, CheckName, Method, ModelName);

/// The checks conch knows, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckName {
    Linearizable,
    ReadYourWrites,
    MonotonicReads,
    MonotonicWrites,
    WritesFollowReads,
    Convergence,
    /// Bank invariants: total conserved, no negative balances.
    Bank,
    // Transactional isolation models (histories of `txn` ops; see
    // `crate::txn`), named as Elle names them.
    ReadUncommitted,
    ReadCommitted,
    ReadAtomic,
    Causal,
    ConsistentView,
    SnapshotIsolation,
    RepeatableRead,
    Serializable,
    StrictSerializable,
    StrongSessionSerializable,
    StrongSessionSnapshotIsolation,
    StrongSnapshotIsolation,
    /// Grow-only sets read whole: no acknowledged element lost (`set_full`).
    SetFull,
    /// Counters: final reads within the bounds of the adds (`counter_bounds`).
    CounterBounds,
    /// Every generated id distinct (`unique_ids`).
    UniqueIds,
    /// Every echo answered with its own payload (`echo`).
    Echo,
    /// Kafka-style logs: no lost, skipped or reordered offsets (`kafka`).
    Kafka,
    /// Shopping carts (add, remove, read whole): the final reads hold every
    /// acknowledged add and no acknowledged remove (`cart`).
    Cart,
}

impl CheckName {
    /// The session guarantees and convergence: what the session checks decide.
    pub const SESSION: [CheckName; 5] = [
        CheckName::ReadYourWrites,
        CheckName::MonotonicReads,
        CheckName::MonotonicWrites,
        CheckName::WritesFollowReads,
        CheckName::Convergence,
    ];

    pub const ALL: [CheckName; 7] = [
        CheckName::Linearizable,
        CheckName::ReadYourWrites,
        CheckName::MonotonicReads,
        CheckName::MonotonicWrites,
        CheckName::WritesFollowReads,
        CheckName::Convergence,
        CheckName::Bank,
    ];

    /// The transactional isolation models, weakest first: what `--checks`
    /// takes for a history of `txn` ops ([`crate::txn`]).
    pub const TXN: [CheckName; 12] = [
        CheckName::ReadUncommitted,
        CheckName::ReadCommitted,
        CheckName::ReadAtomic,
        CheckName::Causal,
        CheckName::ConsistentView,
        CheckName::SnapshotIsolation,
        CheckName::RepeatableRead,
        CheckName::Serializable,
        CheckName::StrictSerializable,
        CheckName::StrongSessionSerializable,
        CheckName::StrongSessionSnapshotIsolation,
        CheckName::StrongSnapshotIsolation,
    ];

    /// The transactional model this check judges, if it is one.
    pub fn txn_model(self) -> Option<crate::txn::Model> {
        use crate::txn::Model as M;
        Some(match self {
            CheckName::ReadUncommitted => M::ReadUncommitted,
            CheckName::ReadCommitted => M::ReadCommitted,
            CheckName::ReadAtomic => M::ReadAtomic,
            CheckName::Causal => M::Causal,
            CheckName::ConsistentView => M::ConsistentView,
            CheckName::SnapshotIsolation => M::SnapshotIsolation,
            CheckName::RepeatableRead => M::RepeatableRead,
            CheckName::Serializable => M::Serializable,
            CheckName::StrictSerializable => M::StrictSerializable,
            CheckName::StrongSessionSerializable => M::StrongSessionSerializable,
            CheckName::StrongSessionSnapshotIsolation => M::StrongSessionSnapshotIsolation,
            CheckName::StrongSnapshotIsolation => M::StrongSnapshotIsolation,
            _ => return None,
        })
    }
    /// The workload checks (Maelstrom's workloads, and any history of their
    /// shape): run only when asked for by name, never implied by "every
    /// check", since each needs its workload's ops.
    pub const WORKLOAD: [CheckName; 6] = [
        CheckName::SetFull,
        CheckName::CounterBounds,
        CheckName::UniqueIds,
        CheckName::Echo,
        CheckName::Kafka,
        CheckName::Cart,
    ];

    pub fn as_str(self) -> &'static str {
        if let Some(m) = self.txn_model() {
            return m.name();
        }
        match self {
            CheckName::Linearizable => "linearizable",
            CheckName::ReadYourWrites => "read-your-writes",
            CheckName::MonotonicReads => "monotonic-reads",
            CheckName::MonotonicWrites => "monotonic-writes",
            CheckName::WritesFollowReads => "writes-follow-reads",
            CheckName::Convergence => "convergence",
            CheckName::Bank => "bank",
            CheckName::SetFull => "set-full",
            CheckName::CounterBounds => "counter-bounds",
            CheckName::UniqueIds => "unique-ids",
            CheckName::Echo => "echo",
            CheckName::Kafka => "kafka",
            CheckName::Cart => "cart",
            _ => unreachable!("transactional models are named above"),
        }
    }

    pub fn parse(s: &str) -> Option<CheckName> {
        CheckName::ALL.into_iter().chain(CheckName::TXN).chain(CheckName::WORKLOAD).find(|c| c.as_str() == s)
    }
}

/// Which algorithm decided a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Method {
    /// The general linearizability search (Wing–Gong/Lowe with memoisation).
    Wgl,
    /// Registers (and kv put/get) with unique written values.
    UniqueRegister,
    /// List-append with unique elements.
    AppendPrefix,
    /// Kv get/put/append whose gets decode into put and appended strings.
    KvAppend,
    /// An op does not fit the model: nothing was searched.
    Validate,
    /// Session checks on lists and sets: the version order reads reveal.
    VersionOrder,
    /// Session checks on registers: the version graph.
    VersionGraph,
    /// Session checks on counters: the totals reads return.
    CounterTotals,
    /// Convergence: the final reads.
    FinalReads,
    /// Bank invariants: every read's balances.
    BankReads,
    /// A session guarantee the key's own evidence left undecided (repeated
    /// values), decided by the key being linearizable, which implies it.
    Linearizable,
    /// Transactional isolation: the dependency graph of transactions
    /// (version orders, ww/wr/rw edges, cycle search; `crate::txn`).
    DependencyGraph,
    /// Nothing ran (the deadline had passed, or nothing was there to check).
    None,
    /// A workload check's own algorithm (grow-only sets read whole, counter
    /// bounds, distinct ids, echoes, kafka logs, carts), named as the check.
    Workload(CheckName),
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Wgl => "wgl",
            Method::UniqueRegister => "unique-register",
            Method::AppendPrefix => "append-prefix",
            Method::KvAppend => "kv-append",
            Method::Validate => "validate",
            Method::VersionOrder => "version-order",
            Method::VersionGraph => "version-graph",
            Method::CounterTotals => "counter-totals",
            Method::FinalReads => "final-reads",
            Method::BankReads => "bank-reads",
            Method::Linearizable => "linearizable",
            Method::DependencyGraph => "dependency-graph",
            Method::None => "none",
            Method::Workload(check) => check.as_str(),
        }
    }

    /// Whether this is one of the polynomial-time linearizability paths.
    pub fn is_fast_path(self) -> bool {
        matches!(self, Method::UniqueRegister | Method::AppendPrefix | Method::KvAppend)
    }
}

/// What a check judged the history as: the sequential model
/// (linearizability), the session workload, or the bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelName {
    Model(ModelKind),
    Workload(Workload),
    Bank,
    /// A transactional workload: `txn-list-append` or `txn-rw-register`.
    Txn(crate::txn::Workload),
    /// A workload check's own name for what it judged (`set-full`, ...).
    WorkloadCheck(&'static str),
}

impl ModelName {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelName::Model(m) => m.as_str(),
            ModelName::Workload(w) => w.as_str(),
            ModelName::Bank => "bank",
            ModelName::Txn(crate::txn::Workload::ListAppend) => "txn-list-append",
            ModelName::Txn(crate::txn::Workload::RwRegister) => "txn-rw-register",
            ModelName::WorkloadCheck(name) => name,
        }
    }
}

impl Serialize for ModelName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The result of one check on one key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyResult {
    /// `None` for a history without keys (and for a model that judges the
    /// whole history as one object).
    pub key: Option<Value>,
    pub verdict: Verdict,
    /// Which algorithm decided.
    pub method: Method,
    /// Ops checked for this key.
    pub ops: u64,
    pub anomalies: Vec<Anomaly>,
    /// Why the verdict is unknown (budget, timeout, nothing to check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// Search statistics, a valid key's witness, violation counts.
    #[serde(skip_serializing_if = "KeyStats::is_empty")]
    pub stats: KeyStats,
}

impl KeyResult {
    /// A key decided valid by `method`, with no statistics yet.
    pub(crate) fn valid(key: Option<Value>, method: Method, ops: u64) -> KeyResult {
        KeyResult {
            key,
            verdict: Verdict::Valid,
            method,
            ops,
            anomalies: Vec::new(),
            unknown_reason: None,
            stats: KeyStats::default(),
        }
    }

    /// A key left undecided, with the reason.
    pub(crate) fn unknown(key: Option<Value>, method: Method, ops: u64, reason: String) -> KeyResult {
        KeyResult { verdict: Verdict::Unknown, unknown_reason: Some(reason), ..KeyResult::valid(key, method, ops) }
    }

    /// The kinds of the key's anomalies, in order (for tests).
    #[cfg(test)]
    pub(crate) fn anomaly_kinds(&self) -> Vec<&str> {
        self.anomalies.iter().map(|a| a.kind.as_str()).collect()
    }
}

/// One check over a whole history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    pub check: CheckName,
    /// Its keys' verdicts combined, and at least unknown when the check had
    /// nothing to check (`unknown_reason`).
    pub verdict: Verdict,
    /// The model used (linearizability), the workload understood (sessions),
    /// or the bank.
    pub model: ModelName,
    pub keys: Vec<KeyResult>,
    /// Why the check as a whole is undecided although no key may say so:
    /// the history had no op of the kind the check needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<CheckDetail>,
}

impl CheckResult {
    /// A result whose verdict combines its keys'.
    pub(crate) fn from_keys(check: CheckName, model: ModelName, keys: Vec<KeyResult>) -> CheckResult {
        let mut r = CheckResult { check, verdict: Verdict::Valid, model, keys, unknown_reason: None, detail: None };
        r.seal();
        r
    }

    /// The result of a history with a single key: that key's (for tests).
    #[cfg(test)]
    pub(crate) fn into_only_key(self) -> KeyResult {
        assert_eq!(self.keys.len(), 1);
        self.keys.into_iter().next().unwrap()
    }

    /// Recomputes the verdict from the keys and `unknown_reason`.
    pub(crate) fn seal(&mut self) {
        let keys = self.keys.iter().fold(Verdict::Valid, |v, k| v.combine(k.verdict));
        self.verdict = if self.unknown_reason.is_some() { keys.combine(Verdict::Unknown) } else { keys };
    }

    /// The bank's summary, when this is the bank check.
    pub fn bank(&self) -> Option<&BankSummary> {
        match &self.detail {
            Some(CheckDetail::Bank(s)) => Some(s),
            _ => None,
        }
    }

    /// The check-level convergence summary, when this is convergence.
    pub fn convergence(&self) -> Option<&ConvergenceSummary> {
        match &self.detail {
            Some(CheckDetail::Convergence(s)) => Some(s),
            _ => None,
        }
    }
}

/// A check that was implied (by asking for every check) but does not apply
/// to the history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Skipped {
    pub check: CheckName,
    pub reason: NotApplicable,
}

/// Everything conch found in one history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The file the history was read from; set by whoever read it
    /// ([`crate::check_path`] does), `None` for a history built in memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    pub events: u64,
    pub ops: u64,
    pub faults: u64,
    /// The checks' verdicts combined; unknown when nothing was checked.
    pub verdict: Verdict,
    /// Why the verdict is unknown when no check's says so: nothing was
    /// checked (every check was skipped), and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    pub results: Vec<CheckResult>,
    /// Checks that were implied (by asking for every check) but do not apply
    /// to this history, with the reason.
    pub skipped: Vec<Skipped>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staleness: Option<Staleness>,
    /// A transactional history's isolation summary: the models its
    /// anomalies rule out (Elle's `not` and `also-not`), the anomaly
    /// counts, the dependency graph's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
    pub elapsed_ms: u64,
}

impl Report {
    /// This report, naming the file the history came from and its format.
    pub fn with_source(self, file: &str, format: Format) -> Report {
        Report { file: Some(file.to_string()), format: Some(format), ..self }
    }

    /// The result of one check, if it ran.
    pub fn result(&self, check: CheckName) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.check == check)
    }

    /// The file name for display: the file, or `(in memory)`.
    pub fn source(&self) -> &str {
        self.file.as_deref().unwrap_or("(in memory)")
    }

    /// The format's name for display: the format read, or `memory`.
    pub fn format_name(&self) -> &'static str {
        self.format.map_or("memory", Format::name)
    }
}

/// Limits on one check run. Every search consults it and returns `Unknown`
/// with the reason when it runs out.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Wall-clock deadline for the whole run.
    pub deadline: Option<Instant>,
    /// Memory the search may use for memoisation across all keys checked at
    /// once, in bytes (approximate: counted from the structures' sizes).
    pub memory_bytes: u64,
}

impl Budget {
    pub const DEFAULT_MEMORY_BYTES: u64 = 4 << 30;

    pub fn unlimited() -> Budget {
        Budget { deadline: None, memory_bytes: u64::MAX }
    }

    pub fn with_timeout(timeout: Option<Duration>, memory_bytes: u64) -> Budget {
        Budget { deadline: timeout.map(|t| Instant::now() + t), memory_bytes }
    }

    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { deadline: None, memory_bytes: Budget::DEFAULT_MEMORY_BYTES }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_is_invalid_then_unknown_then_valid_in_any_order() {
        use Verdict::*;
        let all = [Valid, Unknown, Invalid];
        for a in all {
            for b in all {
                let want = if a == Invalid || b == Invalid {
                    Invalid
                } else if a == Unknown || b == Unknown {
                    Unknown
                } else {
                    Valid
                };
                assert_eq!(a.combine(b), want, "{a} + {b}");
                assert_eq!(b.combine(a), want, "{b} + {a}");
            }
        }
    }

    #[test]
    fn a_check_with_a_reason_is_at_least_unknown() {
        let mut r = CheckResult::from_keys(CheckName::Linearizable, ModelName::Bank, Vec::new());
        assert_eq!(r.verdict, Verdict::Valid);
        r.unknown_reason = Some("nothing".into());
        r.seal();
        assert_eq!(r.verdict, Verdict::Unknown);
    }
}
