//! Independent oracles, history strategies and the adapter that runs conch
//! on their histories: the test support for the differential tests.
//!
//! Written from the definitions (linearizability; Terry et al.'s session
//! guarantees; the models of Knossos and Porcupine) and docs/, without
//! reading the checker's search, session or model code, so that a bug there
//! cannot be copied here.
#![allow(dead_code)]

pub mod conch;
pub mod convergence;
pub mod gen;
pub mod hist;
pub mod lin;
pub mod session;
