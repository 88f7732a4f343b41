//! Test support for conch: independent brute-force oracles and proptest
//! strategies that build histories, for the checkers' property tests.
//!
//! - [`txn_oracle`] — decides, by brute force over the definitions, which
//!   transactional consistency models a small list-append or rw-register
//!   history satisfies, and builds such histories (valid by construction or
//!   with planted anomalies) for property tests.

pub mod txn_oracle;
