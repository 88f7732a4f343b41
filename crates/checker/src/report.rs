//! Verdicts and anomalies: what every check returns, serialised as the
//! `--json` report and rendered as text.
//!
//! Architecture invariant: checks return these types and never print; the
//! binary decides how to show them.

use crate::history::{History, Op, OpId, Outcome};
use crate::value::Value;
use serde::Serialize;
use std::fmt;
use std::time::{Duration, Instant};

/// The outcome of one check on one key (or one file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    /// Undecided: a budget ran out. Never a guess.
    Unknown,
    Invalid,
}

impl Verdict {
    /// Combines verdicts of parts: any invalid wins, then unknown, then valid.
    pub fn combine(self, other: Verdict) -> Verdict {
        self.max(other)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
        })
    }
}

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
}

impl CheckName {
    /// The session guarantees and convergence: what `session::check` decides.
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

    /// The workload checks (Maelstrom's workloads, and any history of their
    /// shape): run only when asked for by name, never implied by `all`,
    /// since each needs its workload's ops.
    pub const WORKLOAD: [CheckName; 5] =
        [CheckName::SetFull, CheckName::CounterBounds, CheckName::UniqueIds, CheckName::Echo, CheckName::Kafka];

    pub fn as_str(self) -> &'static str {
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
        }
    }

    pub fn parse(s: &str) -> Option<CheckName> {
        CheckName::ALL.into_iter().chain(CheckName::WORKLOAD).find(|c| c.as_str() == s)
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An op as shown in a report: enough to find it in the file and read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpRef {
    pub id: OpId,
    pub process: u64,
    pub f: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The invoke's value.
    pub input: Value,
    /// The completion's value.
    pub output: Value,
    pub outcome: Outcome,
    pub invoke_line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl OpRef {
    pub fn new(op: &Op) -> OpRef {
        OpRef {
            id: op.id,
            process: op.process,
            f: op.f.to_string(),
            key: op.key.clone(),
            input: op.input.clone(),
            output: op.output.clone(),
            outcome: op.outcome,
            invoke_line: op.invoke_line,
            complete_line: op.complete_line,
            node: op.node.as_deref().map(str::to_string),
        }
    }

    pub fn of(history: &History, id: OpId) -> OpRef {
        OpRef::new(history.op(id))
    }
}

impl fmt::Display for OpRef {
    /// `process 3 write 5 -> ok (line 12-14)`: one op, readable in prose.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process {} {}", self.process, self.f)?;
        if !self.input.is_nil() {
            write!(f, " {}", self.input)?;
        }
        match self.outcome {
            // Show the result when it says something the argument does not
            // (a read's value, including nil).
            Outcome::Ok if self.output != self.input || self.input.is_nil() => write!(f, " -> {}", self.output)?,
            Outcome::Ok => f.write_str(" -> ok")?,
            Outcome::Fail => f.write_str(" -> fail")?,
            Outcome::Info => f.write_str(" -> info")?,
        }
        match self.complete_line {
            Some(c) => write!(f, " (lines {}-{})", self.invoke_line, c),
            None => write!(f, " (line {}, never completed)", self.invoke_line),
        }
    }
}

/// One anomaly found by a check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anomaly {
    /// Machine-readable kind, e.g. `not-linearizable`, `monotonic-reads`,
    /// `lost-write`.
    pub kind: String,
    /// The ops involved, in the order the explanation mentions them.
    pub ops: Vec<OpRef>,
    /// Prose a person can follow.
    pub explanation: String,
    /// Check-specific detail (e.g. the longest linearizable prefix and the
    /// model states it could end in; the cycle's edges).
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

/// The result of one check on one key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyResult {
    /// `None` for a history without keys.
    pub key: Option<Value>,
    pub verdict: Verdict,
    /// Which algorithm decided (e.g. `wgl`, `unique-register`, `append-prefix`).
    pub method: String,
    /// Ops checked for this key.
    pub ops: u64,
    pub anomalies: Vec<Anomaly>,
    /// Why the verdict is unknown (budget, timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// Search statistics, e.g. configurations explored.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub stats: serde_json::Value,
}

/// One check over a whole history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    pub check: CheckName,
    pub verdict: Verdict,
    /// The model used (linearizability) or the workload understood (sessions).
    pub model: String,
    pub keys: Vec<KeyResult>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

impl CheckResult {
    /// Builds a result whose verdict combines its keys'.
    pub fn from_keys(check: CheckName, model: &str, keys: Vec<KeyResult>) -> CheckResult {
        let verdict = keys.iter().fold(Verdict::Valid, |v, k| v.combine(k.verdict));
        CheckResult { check, verdict, model: model.to_string(), keys, detail: serde_json::Value::Null }
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
