//! Test support for conch: history generators, brute-force oracles, the
//! fuzz targets' entry points, and proptest strategies that build histories.
//!
//! Not part of the checker: the checker and the workloads use it only as a
//! dev-dependency, and the binary only for `conch gen`. Every generator
//! draws its decisions from a [`Source`] (a seeded [`Rng`] or proptest's
//! shrinkable [`Choices`]), so the same generator serves benches, `conch
//! gen` and property tests whose failures shrink.
//!
//! - [`fixtures`] — the shared real histories (`../shared/fixtures`):
//!   skipped when absent, failing under CI.
//! - [`notation`] — hand-written histories in one line each
//!   (`"0 write 1 | 1 read 1"`).
//! - [`golden`] — the data-driven runner of `histories/**`: a history in,
//!   its expected `--json` report out, `UPDATE_EXPECT=1` to rewrite them.
//! - [`txn_oracle`] — decides, by brute force over the definitions, which
//!   transactional consistency models a small list-append or rw-register
//!   history satisfies, and builds such histories (valid by construction or
//!   with planted anomalies) for property tests.

pub mod checks;
pub mod fixtures;
pub mod fuzzing;
pub mod gen;
pub mod gen_session;
pub mod gen_txn;
pub mod golden;
pub mod notation;
pub mod oracle;
pub mod small;
pub mod source;
pub mod strategy;
pub mod txn_oracle;
pub mod unique;

pub use source::{Choices, Rng, Source};
