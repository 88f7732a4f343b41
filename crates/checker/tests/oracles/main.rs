//! Differential tests of conch against independent brute-force oracles
//! (`support/`), and the oracles' own tests.
//!
//! `CONCH_DIFF_CASES=N` sets the number of random histories per property
//! (default 2000, so CI stays fast); run hundreds of thousands locally:
//! `CONCH_DIFF_CASES=200000 cargo test -p conch-checker --test oracles --release`.

// The oracles index small matrices and slot arrays by position, as the
// definitions they transcribe do; iterator rewrites would hide that.
#![allow(clippy::needless_range_loop)]

mod differential;
mod oracle_self;
mod regressions;
mod support;

/// Proptest cases per property.
pub fn cases() -> u32 {
    std::env::var("CONCH_DIFF_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
}
