//! conch's workloads: a deterministic discrete-event simulator with fault
//! injection, client workload generators, and the bundled protocols. Produces
//! histories in the checker's types.
//!
//! Architecture invariant: (config, seed) determines every byte of output.

pub mod flow;
pub mod metrics;
pub mod protocols;
pub mod registry;
pub mod sim;
pub mod workload;
