//! Brute-force oracles: slow, plainly correct deciders written from the
//! definitions, which the checker's algorithms are tested against on many
//! small histories.

pub mod linear;
pub mod session;
