//! Protocols by command-line name: what `conch run`, `compare` and `demo` use
//! to build and run a protocol from `--param NAME=VALUE` pairs.

use crate::protocols::{
    abd::AbdProtocol, gossip::GossipProtocol, lagging::Lagging, lww::LwwProtocol, quorum::QuorumProtocol,
    raft::RaftProtocol, single::Single, threepc::ThreePcProtocol, twopc::TwoPcProtocol, vclock::VclockProtocol,
    weak::WeakProtocol,
};
use crate::sim::{self, RunOutput, SimConfig};
use crate::workload::WorkloadKind;
use std::collections::BTreeMap;

/// A bundled protocol, as listed by `conch list`.
#[derive(Clone, Copy, Debug)]
pub struct ProtocolInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// The workload its textbook behaviour is shown with.
    pub default_workload: WorkloadKind,
    /// Whether it promises linearizability (the comparison's expectation).
    pub linearizable: bool,
}

/// Every bundled protocol, in the order comparisons show them.
pub const PROTOCOLS: &[ProtocolInfo] = &[
    ProtocolInfo {
        name: "raft",
        description: "Raft replicated kv store: leader election, log replication, majority commit",
        default_workload: WorkloadKind::Register,
        linearizable: true,
    },
    ProtocolInfo {
        name: "abd",
        description: "ABD majority-quorum register with read write-back: linearizable",
        default_workload: WorkloadKind::Register,
        linearizable: true,
    },
    ProtocolInfo {
        name: "quorum",
        description: "Dynamo/Cassandra quorum replication: tunable N/R/W, LWW, read repair, hinted handoff",
        default_workload: WorkloadKind::Register,
        linearizable: false,
    },
    ProtocolInfo {
        name: "lww",
        description: "last-write-wins replication stamped with each replica's own clock",
        default_workload: WorkloadKind::Register,
        linearizable: false,
    },
    ProtocolInfo {
        name: "vclock",
        description: "vector-clock versions with siblings merged by union (Dynamo's shopping cart)",
        default_workload: WorkloadKind::Set,
        linearizable: false,
    },
    ProtocolInfo {
        name: "gossip",
        description: "eventual consistency: local writes spread by periodic gossip and anti-entropy",
        default_workload: WorkloadKind::Set,
        linearizable: false,
    },
    ProtocolInfo {
        name: "weak",
        description: "local writes forwarded once, best effort, no repair: no convergence guarantee",
        default_workload: WorkloadKind::Set,
        linearizable: false,
    },
    ProtocolInfo {
        name: "2pc",
        description: "two-phase commit of bank transfers across shards; blocks while the coordinator is down",
        default_workload: WorkloadKind::Bank,
        linearizable: true,
    },
    ProtocolInfo {
        name: "3pc",
        description: "three-phase commit with timeouts; unsafe under network partitions",
        default_workload: WorkloadKind::Bank,
        linearizable: true,
    },
    ProtocolInfo {
        name: "single",
        description: "one node holds everything: linearizable by construction (a baseline)",
        default_workload: WorkloadKind::Register,
        linearizable: true,
    },
    ProtocolInfo {
        name: "lagging",
        description: "deliberately broken: reads served by lagging asynchronous replicas",
        default_workload: WorkloadKind::Register,
        linearizable: false,
    },
];

/// Looks a protocol up by name.
pub fn info(name: &str) -> Option<&'static ProtocolInfo> {
    PROTOCOLS.iter().find(|p| p.name == name)
}

/// Calls `$body` with `$p` bound to protocol `$name` built from `$params`
/// (a `Result<impl Protocol, String>`); one list of names for every use.
macro_rules! with_protocol {
    ($name:expr, $params:expr, |$p:ident| $body:expr) => {
        match $name {
            "raft" => {
                let $p = RaftProtocol::from_params($params);
                $body
            }
            "abd" => {
                let $p = AbdProtocol::from_params($params);
                $body
            }
            "quorum" => {
                let $p = QuorumProtocol::from_params($params);
                $body
            }
            "lww" => {
                let $p = LwwProtocol::from_params($params);
                $body
            }
            "vclock" => {
                let $p = VclockProtocol::from_params($params);
                $body
            }
            "gossip" => {
                let $p = GossipProtocol::from_params($params);
                $body
            }
            "weak" => {
                let $p = WeakProtocol::from_params($params);
                $body
            }
            "2pc" => {
                let $p = TwoPcProtocol::from_params($params);
                $body
            }
            "3pc" => {
                let $p = ThreePcProtocol::from_params($params);
                $body
            }
            "single" => {
                let $p = Single::from_params($params);
                $body
            }
            "lagging" => {
                let $p = Lagging::from_params($params);
                $body
            }
            other => Err(unknown(other)),
        }
    };
}

fn unknown(name: &str) -> String {
    let names: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
    format!("unknown protocol `{name}`: expected one of {}", names.join(", "))
}

/// Validates `params` for protocol `name` without running anything.
pub fn check_params(name: &str, params: &BTreeMap<String, String>) -> Result<(), String> {
    with_protocol!(name, params, |p| p.map(drop).map_err(|e| format!("{name}: {e}")))
}

/// Builds protocol `name` from `params` and runs it under `cfg`.
pub fn run(name: &str, params: &BTreeMap<String, String>, cfg: &SimConfig) -> Result<RunOutput, String> {
    with_protocol!(name, params, |p| p.and_then(|p| sim::try_run(&p, cfg)).map_err(|e| format!("{name}: {e}")))
}
