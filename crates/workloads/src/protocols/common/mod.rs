//! Plumbing the bundled protocols share, so each protocol file holds only
//! what makes it that protocol: the parameter table and its parser
//! ([`params`]), the key-value state machine of the whole-operation stores
//! ([`kv`]), last-write-wins versions and the anti-entropy digest exchange
//! ([`lww`]), and the round-robin choice of anti-entropy peers and batches
//! (`rotation`), transactions' micro-ops ([`txn`]), the answer to an op
//! a set store does not serve ([`not_a_set_op`]), and the statistics map of
//! a protocol's counters (`stats_map!`).

pub mod kv;
pub mod lww;
pub mod params;
pub(crate) mod rotation;
pub mod txn;

pub use crate::sim::Key;
pub use kv::KvStore;
pub use params::{Param, ParamError, Params};
pub(crate) use rotation::Rotation;

/// What a grow-only set store (gossip, vclock, weak) answers an op other
/// than add and read with.
pub fn not_a_set_op(protocol: &str, f: &checker::F) -> crate::sim::Response {
    crate::sim::Response::Fail(format!("unsupported: {protocol} stores sets (add, read), not `{}`", f.as_str()))
}

/// A protocol's statistics for comparisons (`Node::stats`), from its stats
/// struct: each listed counter under its own field name, then any counter
/// shown under another name (`"name" => field`).
macro_rules! stats_map {
    ($stats:expr, [$($field:ident),* $(,)?] $(, $name:literal => $renamed:ident)* $(,)?) => {{
        let s = $stats;
        std::collections::BTreeMap::<String, i64>::from([
            $((stringify!($field).to_string(), s.$field),)*
            $(($name.to_string(), s.$renamed),)*
        ])
    }};
}
pub(crate) use stats_map;
