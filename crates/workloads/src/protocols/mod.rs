//! Bundled protocols, one module each. Each exposes a type implementing
//! [`crate::sim::Protocol`], built from `--param NAME=VALUE` pairs.

pub mod abd;
pub mod commit;
pub mod common;
pub mod dynamo;
pub mod gossip;
pub mod lagging;
pub mod lww;
pub mod mvcc;
pub mod quorum;
pub mod raft;
pub mod single;
pub mod spanner;
pub mod vclock;
pub mod weak;
