//! Helpers shared by the end-to-end tests: run the built binary, locate data.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn conch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conch"))
}

pub fn run(args: &[&str]) -> Output {
    conch().args(args).output().expect("failed to start conch")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared Porcupine fixtures, or `None` (with a note) when this checkout
/// has no `../shared` beside it; missing under CI is a failure.
pub fn porcupine() -> Option<PathBuf> {
    testkit::fixtures::porcupine()
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
