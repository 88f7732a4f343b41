//! An anomaly: what kind, the ops involved, prose, and typed evidence.

use super::AnomalyDetail;
use crate::history::{History, Op, OpId, Outcome};
use crate::value::Value;
use serde::Serialize;
use std::fmt;

/// What kind of anomaly was found. Serialised (and displayed) as the
/// kebab-case names users and tests match on, e.g. `not-linearizable`;
/// transactional anomalies by Elle's names, verbatim (`G-single`, `G1a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AnomalyKind {
    /// No order of the ops consistent with real time explains the results.
    NotLinearizable,
    /// A session's read missed a write the session made before it.
    ReadYourWrites,
    /// A session's read saw less than an earlier read of the session.
    MonotonicReads,
    /// A session's writes were applied out of order.
    MonotonicWrites,
    /// A session's write was ordered before a write it had read.
    WritesFollowReads,
    /// Register session guarantees requested together admit no single
    /// version order, though each alone does.
    JointVersionOrder,
    /// An acknowledged write is in no final read.
    LostWrite,
    /// An acknowledged write is in some final reads but not others.
    NotConverged,
    /// The final reads of the replicas disagree.
    DivergentFinalReads,
    /// A bank read shows a negative balance.
    NegativeBalance,
    /// A bank read's balances do not sum to the bank's total.
    WrongTotal,
    /// An element an earlier read had is missing from every later read (set-full); a final read lacks an acknowledged add no remove could follow (cart).
    Lost,
    /// A final read holds an element an acknowledged remove took out after its last possible add (cart).
    Resurrected,
    /// A read began after an element was known and missed it, though a later read has it (set-full, linearizable option).
    StaleRead,
    /// A final read lacks an element known before it began (set-full).
    FinalReadMissing,
    /// A read holds an element never added, or added only by failed adds (set-full).
    UnexpectedElement,
    /// A read holds an element twice (set-full).
    DuplicateElement,
    /// A final counter read is not the ok adds plus any subset of the info adds (counter-bounds).
    FinalReadOutOfBounds,
    /// A counter read lies outside the sums of the adds that may precede it (counter-bounds).
    ReadOutOfBounds,
    /// Two generate ops got the same id (unique-ids).
    DuplicateId,
    /// An echo answered with something other than its payload (echo).
    EchoMismatch,
    /// One offset of a kafka key seen holding two messages (kafka).
    InconsistentOffsets,
    /// One kafka message seen at two offsets (kafka).
    DuplicateMessage,
    /// An acknowledged kafka send never polled, not even by the final drains (kafka).
    Unobserved,
    /// A process's sends to a kafka key got offsets that do not increase (kafka).
    NonmonotonicSend,
    /// Polled offsets that do not increase, within a poll or between a process's polls (kafka).
    NonmonotonicPoll,
    /// A poll jumped over offsets known to exist (kafka).
    PollSkip,
    /// A listed committed offset no commit asked for (kafka).
    PhantomCommit,
    /// A transactional anomaly (G0, G1a, G-single, lost-update, ...).
    Txn(crate::txn::AnomalyKind),
}

impl Serialize for AnomalyKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::NotLinearizable => "not-linearizable",
            AnomalyKind::ReadYourWrites => "read-your-writes",
            AnomalyKind::MonotonicReads => "monotonic-reads",
            AnomalyKind::MonotonicWrites => "monotonic-writes",
            AnomalyKind::WritesFollowReads => "writes-follow-reads",
            AnomalyKind::JointVersionOrder => "joint-version-order",
            AnomalyKind::LostWrite => "lost-write",
            AnomalyKind::NotConverged => "not-converged",
            AnomalyKind::DivergentFinalReads => "divergent-final-reads",
            AnomalyKind::NegativeBalance => "negative-balance",
            AnomalyKind::WrongTotal => "wrong-total",
            AnomalyKind::Txn(k) => k.name(),
            AnomalyKind::Lost => "lost",
            AnomalyKind::Resurrected => "resurrected",
            AnomalyKind::StaleRead => "stale-read",
            AnomalyKind::FinalReadMissing => "final-read-missing",
            AnomalyKind::UnexpectedElement => "unexpected-element",
            AnomalyKind::DuplicateElement => "duplicate-element",
            AnomalyKind::FinalReadOutOfBounds => "final-read-out-of-bounds",
            AnomalyKind::ReadOutOfBounds => "read-out-of-bounds",
            AnomalyKind::DuplicateId => "duplicate-id",
            AnomalyKind::EchoMismatch => "echo-mismatch",
            AnomalyKind::InconsistentOffsets => "inconsistent-offsets",
            AnomalyKind::DuplicateMessage => "duplicate-message",
            AnomalyKind::Unobserved => "unobserved",
            AnomalyKind::NonmonotonicSend => "nonmonotonic-send",
            AnomalyKind::NonmonotonicPoll => "nonmonotonic-poll",
            AnomalyKind::PollSkip => "poll-skip",
            AnomalyKind::PhantomCommit => "phantom-commit",
        }
    }
}

display_as_str!(AnomalyKind);

/// One anomaly found by a check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The ops involved, in the order the explanation mentions them.
    pub ops: Vec<OpRef>,
    /// Prose a person can follow.
    pub explanation: String,
    /// Check-specific evidence (the longest linearizable prefix and the
    /// states it could end in; the rule a fast path found broken; a cycle's
    /// edges; a bank read's balances). Boxed: it is large, and most code
    /// handles anomalies without looking inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<AnomalyDetail>>,
}

/// An op as shown in a report: enough to find it in the file and read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpRef {
    pub id: OpId,
    /// In JSON a number, or `"nil"` (`"nil+1"`, ...) for an op that had no
    /// process in the file (see [`crate::history::process_name`]).
    #[serde(serialize_with = "process_json")]
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

fn process_json<S: serde::Serializer>(p: &u64, s: S) -> Result<S::Ok, S::Error> {
    if *p < crate::history::ANONYMOUS_PROCESS_BASE {
        s.serialize_u64(*p)
    } else {
        s.serialize_str(&crate::history::process_name(*p))
    }
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

    /// `process 3's get (lines 12-14)`: the op named without its values, for
    /// a lead sentence that stays short when values are long strings.
    pub fn brief(&self) -> String {
        format!("process {}'s {} ({})", crate::history::process_name(self.process), self.f, self.lines())
    }

    /// `lines 12-14`, or `line 12, never completed`.
    fn lines(&self) -> String {
        match self.complete_line {
            Some(c) => format!("lines {}-{c}", self.invoke_line),
            None => format!("line {}, never completed", self.invoke_line),
        }
    }

    /// A mutex's `acquire` and `release` take and return nothing: success
    /// is the whole result.
    fn has_no_result(&self) -> bool {
        matches!(self.f.as_str(), "acquire" | "release") && self.output.is_nil()
    }
}

impl fmt::Display for OpRef {
    /// `process 3 write 5 -> ok (line 12-14)`: one op, readable in prose.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process {} {}", crate::history::process_name(self.process), self.f)?;
        if !self.input.is_nil() {
            write!(f, " {}", self.input)?;
        }
        match self.outcome {
            // Show the result when it says something the argument does not
            // (a read's value, including nil; a lock op's nil says nothing).
            Outcome::Ok if self.output != self.input || (self.input.is_nil() && !self.has_no_result()) => {
                write!(f, " -> {}", self.output)?
            }
            Outcome::Ok => f.write_str(" -> ok")?,
            Outcome::Fail => f.write_str(" -> fail")?,
            Outcome::Info => f.write_str(" -> info")?,
        }
        write!(f, " ({})", self.lines())
    }
}
