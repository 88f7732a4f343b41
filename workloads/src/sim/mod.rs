//! The deterministic simulator.

pub mod node;
pub use node::{Ctx, Effect, Node, NodeId, Protocol, Request, RequestId, Response};
