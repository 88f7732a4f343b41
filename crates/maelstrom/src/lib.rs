//! Runs Maelstrom-protocol node binaries as a cluster under conch's network,
//! faults and checkers: a node is any executable that reads and writes one
//! JSON message per line on stdin/stdout (Jepsen's Maelstrom; the Gossip
//! Glomers challenges).
//!
//! - [`config`]: the run, with Maelstrom's defaults; [`cli`]: its flags;
//!   [`command`]: the whole `conch maelstrom` command the binary calls;
//! - [`run`]: the router (one thread: network, clients, services, nemesis);
//! - [`process`]: child processes, their reader/writer threads, reaping;
//! - [`net`], [`nemesis`], [`services`], [`workload`], [`journal`],
//!   [`message`]: the parts the router is made of, each testable alone;
//! - [`report`]: checking the recorded history and the run's own findings,
//!   and the run directory's files; [`flows`]: the messages around each
//!   anomaly, for the report's Lamport diagrams.
//!
//! Architecture invariants: the history judged is in the checker's types and
//! is checked by the checker's code only (this crate decides no verdict on
//! a history); every child process is reaped, also after errors and on
//! Ctrl-C; a node can make the run fail (its problems are findings) but
//! never make conch panic or hang. Unlike the simulator this crate reads the
//! wall clock: the node processes are real.

pub mod cli;
pub mod command;
pub mod config;
pub mod flows;
pub mod journal;
pub mod message;
pub mod nemesis;
pub mod net;
pub mod process;
pub mod report;
pub mod run;
pub mod services;
pub mod workload;

pub use config::{Config, LatencyDist, NemesisKind, Topology, WorkloadKind};
pub use report::{run_and_check, Report};
pub use run::{interrupt, RunError};
