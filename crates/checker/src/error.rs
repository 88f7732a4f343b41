//! The checker's errors, each a documented enum: [`InputError`] (a history
//! file is malformed: names the file, the line and what was expected),
//! [`CheckError`] (a history cannot be checked as asked) and
//! [`NotApplicable`] (why a check does not fit a history). The CLI maps
//! every error to exit 2.

use std::fmt;

/// A history file could not be read. `line` is 1-based; 0 means the file as a
/// whole (e.g. it is empty or cannot be opened).
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub file: String,
    pub line: u64,
    pub kind: InputErrorKind,
}

impl InputError {
    pub fn new(file: &str, line: u64, kind: InputErrorKind) -> InputError {
        InputError { file: file.to_string(), line, kind }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.kind)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.kind)
        }
    }
}

impl std::error::Error for InputError {}

/// What is wrong with the input. New kinds may be added: match with a
/// catch-all arm.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InputErrorKind {
    /// The file could not be opened or read.
    #[error("cannot read: {0}")]
    Io(String),
    /// The file has no events at all.
    #[error("empty history: no events found")]
    Empty,
    /// Bytes that are not UTF-8 where text was expected.
    #[error("invalid UTF-8 at byte {byte} of the line")]
    InvalidUtf8 { byte: usize },
    /// A line longer than the reader's limit (protects memory).
    #[error("line longer than {limit_bytes} bytes")]
    LineTooLong { limit_bytes: usize },
    /// Nesting deeper than the reader's limit (protects the stack).
    #[error("value nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// Not well-formed in the detected format.
    #[error("{format} syntax error: expected {expected}, found {found}")]
    Syntax { format: &'static str, expected: String, found: String },
    /// A required field is absent.
    #[error("missing field `{field}` ({expected})")]
    MissingField { field: &'static str, expected: &'static str },
    /// A field has the wrong shape.
    #[error("field `{field}`: expected {expected}, found {found}")]
    BadField { field: &'static str, expected: &'static str, found: String },
    /// `type` is not one of invoke/ok/fail/info.
    #[error("unknown op type `{0}`: expected invoke, ok, fail or info")]
    UnknownType(String),
    /// A completion with no open invoke on its process.
    #[error("`{f}` completion for process {process}, which has no open invoke")]
    CompletionWithoutInvoke { process: u64, f: String },
    /// A second invoke while the process still has an op open.
    #[error("invoke on process {process}, which already has an open op (invoked at line {open_line})")]
    DoubleInvoke { process: u64, open_line: u64 },
    /// A process used again after an info retired it.
    #[error(
        "invoke on process {process}, which was retired by an info at line {info_line}; \
         after an info a process never runs again (use a new process id)"
    )]
    InvokeAfterInfo { process: u64, info_line: u64 },
    /// The completion's `f` differs from its invoke's.
    #[error("completion `{found}` for process {process} does not match its invoke `{expected}` at line {open_line}")]
    CompletionMismatch { process: u64, expected: String, found: String, open_line: u64 },
    /// Jepsen `:index` values must increase strictly.
    #[error("index {index} does not increase on the previous event's {previous} (line {previous_line})")]
    IndexNotIncreasing { index: u64, previous: u64, previous_line: u64 },
    /// More ops than the history model can index.
    #[error("more than {limit} operations")]
    TooManyOps { limit: u64 },
    /// The format could not be recognised.
    #[error("unrecognised format: {0}")]
    UnknownFormat(String),
    /// An op's value does not fit the chosen model.
    #[error("{f} value {found} does not fit model `{model}`: expected {expected}")]
    BadValue { model: &'static str, f: String, expected: &'static str, found: String },
    /// A transaction (`f: txn`) that is malformed or breaks a precondition
    /// of the transactional checker (unknown micro-op, a read of the wrong
    /// shape, a value appended or written twice to one key, a completion
    /// that changes the transaction's writes, ...).
    #[error("transaction: {reason}")]
    BadTxn { reason: String },
    /// An op the chosen model has no meaning for.
    #[error("operation `{f}` is not part of model `{model}` (it has {supported})")]
    UnsupportedOp { model: &'static str, f: String, supported: &'static str },
}

/// Why a check does not apply to a history. When the check was asked for by
/// name this is a [`CheckError::NotApplicable`] (exit 2); when it was only
/// implied by asking for every check, the check is skipped with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotApplicable {
    /// Model inference: the history has no operations.
    #[error("no operations to infer a model from; pass --model")]
    NoOperations,
    /// Model inference: the functions fit no model (or several).
    #[error("cannot infer a model from the operations found ({}); pass --model", .functions.join(", "))]
    UnknownModel { functions: Vec<String> },
    /// Workload inference: an operation no session workload has.
    #[error(
        "line {line}: operation `{f}` is not part of a session workload \
         (list-append: append/read, set: add/read, counter: incr/read, register: write/cas/read)"
    )]
    NotASessionOp { f: String, line: u64 },
    /// Workload inference: operations of two workloads.
    #[error("line {line}: `{f}` mixes workloads with `{other}` at line {other_line} ({first} vs {second})")]
    MixedWorkloads {
        f: String,
        line: u64,
        other: String,
        other_line: u64,
        first: crate::session::Workload,
        second: crate::session::Workload,
    },
    /// Workload inference: reads only.
    #[error("cannot infer the workload: the history has no writes (append, add, incr, write or cas)")]
    NoWrites,
    /// The bank check on a history without transfers.
    #[error("not a bank history (no transfer ops)")]
    NotBank,
    /// A session check on a bank history.
    #[error("does not apply to bank histories")]
    BankHistory,
    /// Every session check, on a bank history.
    #[error("session checks do not apply to bank histories")]
    SessionChecksOnBank,
    /// Convergence without final reads.
    #[error("no final reads (ops marked final) in the history")]
    NoFinalReads,
    /// A single-object check on a history of transactions.
    #[error(
        "does not apply to transactional histories (f: txn); check an isolation model: read-uncommitted, \
         read-committed, read-atomic, causal, consistent-view, snapshot-isolation, repeatable-read, serializable, \
         strict-serializable, strong-session-serializable, strong-session-snapshot-isolation, \
         strong-snapshot-isolation (or pass --model multi-register for linearizability of rw-register txns)"
    )]
    TxnHistory,
    /// `--initial` on a history of transactions.
    #[error("--initial does not apply to transactional histories: every list starts empty and every register nil")]
    TxnInitial,
    /// An isolation model on a history without transactions.
    #[error("not a transactional history (no txn ops): isolation models judge histories of f: txn")]
    NotTxn,
}

impl serde::Serialize for NotApplicable {
    /// As its message: reports show the reason, not the variant.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a history could not be checked at all. The binary reports each as
/// bad input (exit 2), naming the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// A check asked for by name does not apply to the history.
    #[error("{check}: {reason}")]
    NotApplicable { check: crate::report::CheckName, reason: NotApplicable },
    /// An op's value does not fit the model (or the bank): bad input, not
    /// an undecided key.
    #[error("line {line}: {kind}")]
    BadValue { line: u64, kind: InputErrorKind },
    /// `CheckConfig::initial` (`--initial`) is no state of the model or
    /// workload checked: `expected` says what it takes.
    #[error("--initial {value} is not a state of the {of}: expected {expected}")]
    BadInitial { value: String, of: String, expected: &'static str },
    /// The history file could not be read ([`crate::check_path`] only).
    #[error("{0}")]
    Input(InputError),
    /// Sharded checking only: the shard files could not be written or read
    /// back.
    #[error("{}: {reason}", .path.display())]
    Spill { path: std::path::PathBuf, reason: String },
}

impl CheckError {
    /// The 1-based line at fault, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            CheckError::BadValue { line, .. } => Some(*line),
            CheckError::Input(e) if e.line > 0 => Some(e.line),
            _ => None,
        }
    }
}

impl From<InputError> for CheckError {
    fn from(e: InputError) -> CheckError {
        CheckError::Input(e)
    }
}
