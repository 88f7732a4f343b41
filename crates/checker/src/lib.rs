//! conch's checker: the history model, readers for native and Jepsen formats,
//! sequential models, the linearizability search and the session-guarantee and
//! convergence checks.
//!
//! Architecture invariant: the checker knows nothing of the simulator; it takes
//! histories from any source and returns [`report`] values, never printing.

pub mod anomalies;
pub mod bank;
pub mod counter_bounds;
pub mod echo;
pub mod error;
pub mod history;
pub mod kafka;
pub mod linear;
pub mod model;
pub mod read;
pub mod report;
pub mod session;
pub mod set_full;
pub mod shard;
pub mod suite;
pub mod unique_ids;
pub mod value;
pub mod write;

pub use error::{InputError, InputErrorKind};
pub use history::{Event, EventType, History, HistoryBuilder, Op, OpId, Outcome, Process, F};
pub use report::{Anomaly, Budget, CheckName, CheckResult, KeyResult, OpRef, Verdict};
pub use value::Value;
