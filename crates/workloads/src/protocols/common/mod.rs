//! Plumbing the bundled protocols share, so each protocol file holds only
//! what makes it that protocol: the parameter table and its parser
//! ([`params`]), the key-value state machine of the whole-operation stores
//! ([`kv`]), last-write-wins versions and the anti-entropy digest exchange
//! ([`lww`]), and the round-robin choice of anti-entropy peers and batches
//! (`rotation`), and transactions' micro-ops ([`txn`]).

pub mod kv;
pub mod lww;
pub mod params;
pub(crate) mod rotation;
pub mod txn;

pub use crate::sim::Key;
pub use kv::KvStore;
pub use params::{Param, ParamError, Params};
pub(crate) use rotation::Rotation;
