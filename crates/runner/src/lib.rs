//! What the `conch` binary orchestrates, with no command-line types: typed
//! run plans, seed sweeps that stop at the first violation, comparison
//! rows, checking many history files with an outcome per file, the run
//! directory, the demo, and the exit-code rule.
//!
//! Architecture invariant: the runner never judges a history itself. It
//! calls the checker, and adjusts a verdict in one place only
//! ([`run::cut_short`]: a run stopped early is never valid).

pub mod check;
pub mod compare;
pub mod demo;
mod error;
pub mod exit;
pub mod files;
pub mod flows;
pub mod plan;
pub mod run;
mod walk;

pub use error::Error;
pub use plan::Plan;
