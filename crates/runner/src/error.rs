//! The runner's errors. Every one is a usage or input problem: the binary
//! prints it and exits 2.

use std::fmt;
use std::path::PathBuf;

/// Why a plan could not be built, run, checked or written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The plan cannot run: an unknown protocol or workload, a bad
    /// parameter, a size out of range. The message says what was expected.
    Plan(String),
    /// An output exists and overwriting was not allowed (`--force`).
    Exists(PathBuf),
    /// Writing an output failed.
    Write { path: PathBuf, message: String },
    /// The simulator refused to run, or a protocol failed to start.
    Sim(String),
    /// The simulator's events did not pair into a history: a simulator bug.
    BadHistory { seed: u64, message: String },
    /// The checker refused a history under the requested checks.
    Check(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Plan(m) | Error::Sim(m) | Error::Check(m) => f.write_str(m),
            Error::Exists(p) => write!(f, "{}: already exists; pass --force to overwrite", p.display()),
            Error::Write { path, message } => write!(f, "{}: {message}", path.display()),
            Error::BadHistory { seed, message } => {
                write!(f, "seed {seed}: simulator produced a bad history: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}
