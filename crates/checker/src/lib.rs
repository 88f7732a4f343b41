//! conch's checker: the history model, readers for native and Jepsen formats,
//! sequential models, the linearizability search and the session-guarantee,
//! convergence and bank checks, behind one entry: [`check`] (a history in
//! memory) or [`check_path`] (a file, whole or shard by shard).
//!
//! ```
//! use checker::history::{Event, EventType, History, Process, F};
//! use checker::report::{AnomalyKind, CheckName, Verdict};
//! use checker::{check, CheckConfig, Value};
//!
//! // Process 0 writes 1; afterwards process 1 reads 2, which nobody wrote.
//! let event = |line, kind, process, f: &str, value| Event::new(line, kind, Process::Client(process), F::parse(f), value);
//! let history = History::from_events(
//!     "example",
//!     vec![
//!         event(1, EventType::Invoke, 0, "write", Value::Int(1)),
//!         event(2, EventType::Ok, 0, "write", Value::Int(1)),
//!         event(3, EventType::Invoke, 1, "read", Value::Nil),
//!         event(4, EventType::Ok, 1, "read", Value::Int(2)),
//!     ],
//! )?;
//! // Every check that fits the history: the model (a register) and the
//! // session workload are inferred.
//! let report = check(&history, &CheckConfig::default())?;
//! assert_eq!(report.verdict, Verdict::Invalid);
//! let linearizable = report.result(CheckName::Linearizable).expect("linearizability was checked");
//! let anomaly = &linearizable.keys[0].anomalies[0];
//! assert_eq!(anomaly.kind, AnomalyKind::NotLinearizable);
//! assert_eq!(anomaly.ops[0].invoke_line, 3, "the read is named");
//! // The JSON report keeps the names users match on.
//! assert_eq!(serde_json::to_value(&report)?["results"][0]["keys"][0]["anomalies"][0]["kind"], "not-linearizable");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The searches behind the checks are not part of the API: [`check`] is the
//! one way in, and the modules it drives stay private.
//!
//! ```compile_fail,E0603
//! use checker::linear;
//! ```
//! ```compile_fail,E0603
//! use checker::session;
//! ```
//! ```compile_fail,E0603
//! use checker::bank;
//! ```
//!
//! Architecture invariant: the checker knows nothing of the simulator; it takes
//! histories from any source and returns [`report`] values, never printing.

/// `Display` as the type's name (its `as_str`), the one spelling reports,
/// flags and messages use.
macro_rules! display_as_str {
    ($($t:ty),+) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

mod anomalies;
mod bank;
mod cart;
mod check;
mod counter_bounds;
mod echo;
pub mod error;
pub mod history;
mod kafka;
mod linear;
pub mod model;
pub mod read;
pub mod report;
mod session;
mod set_full;
pub mod shard;
pub mod txn;
mod unique_ids;
pub mod value;
pub mod write;

pub use cart::remove_f;
pub use check::{check, check_path, check_path_lean, BankSettings, CheckConfig};
pub use error::{CheckError, InputError, InputErrorKind, NotApplicable};
pub use history::{Event, EventType, History, HistoryBuilder, Op, OpId, Outcome, Process, F};
pub use report::{Anomaly, AnomalyKind, Budget, CheckName, CheckResult, KeyResult, Method, OpRef, Report, Verdict};
pub use session::{Staleness, Workload};
pub use value::Value;
