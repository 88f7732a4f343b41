//! Statistics for comparing the consensus and commit protocols (commit
//! latency, messages per op, time without a leader, time blocked in doubt),
//! which the simulator gathers through `Node::stats` from every node
//! incarnation, crashed ones included. Run with `--nocapture` to see the
//! table.

mod common;

use common::roaming_cfg;
use std::collections::BTreeMap;
use workloads::protocols::commit::{CommitProtocol, Mode};
use workloads::protocols::raft::RaftProtocol;
use workloads::sim::{run, FaultKind, Protocol, RunStats, SimConfig};
use workloads::workload::WorkloadKind;

const SEEDS: u64 = 5;

fn config(seed: u64, kind: WorkloadKind, nodes: usize, faults: &[FaultKind]) -> SimConfig {
    SimConfig { nodes, ..roaming_cfg(seed, kind, faults, 150) }
}

/// Summed protocol stats and run stats over a few seeds.
fn measure<P: Protocol>(
    p: P,
    kind: WorkloadKind,
    nodes: usize,
    faults: &[FaultKind],
) -> (BTreeMap<String, i64>, RunStats) {
    let mut stats: BTreeMap<String, i64> = BTreeMap::new();
    let mut total = RunStats::default();
    for seed in 0..SEEDS {
        let s = run(&p, &config(seed, kind, nodes, faults)).stats;
        for (k, v) in &s.protocol {
            let e = stats.entry(k.clone()).or_insert(0);
            *e = if k.ends_with("_max") { (*e).max(*v) } else { *e + v };
        }
        total.ops_ok += s.ops_ok;
        total.ops_fail += s.ops_fail;
        total.ops_info += s.ops_info;
        total.msgs_sent += s.msgs_sent;
        total.sim_duration_ns += s.sim_duration_ns;
    }
    (stats, total)
}

fn row(name: &str, nodes: u64, s: &BTreeMap<String, i64>, r: &RunStats, latency_count: &str) -> String {
    let ops = (r.ops_ok + r.ops_fail + r.ops_info).max(1) as f64;
    let lat = s.get("commit_latency_ns_sum").copied().unwrap_or(0) as f64
        / s.get(latency_count).copied().unwrap_or(0).max(1) as f64
        / 1e6;
    format!(
        "{name:<22} ok {:>4} fail {:>4} info {:>3}  msgs/op {:>6.1}  commit latency {:>6.2} ms  \
         no leader {:>5.1} ms per node-run  in doubt {:>7.1} ms (max {:>5.1})",
        r.ops_ok,
        r.ops_fail,
        r.ops_info,
        r.msgs_sent as f64 / ops,
        lat,
        s.get("no_leader_ns").copied().unwrap_or(0) as f64 / (nodes * SEEDS) as f64 / 1e6,
        s.get("in_doubt_ns_sum").copied().unwrap_or(0) as f64 / 1e6,
        s.get("in_doubt_ns_max").copied().unwrap_or(0) as f64 / 1e6,
    )
}

#[test]
fn comparison_statistics_are_measured() {
    let faults = [FaultKind::Partition, FaultKind::Crash];
    let raft = RaftProtocol::default;
    let (quiet, quiet_run) = measure(raft(), WorkloadKind::Register, 5, &[]);
    let (faulty, faulty_run) = measure(raft(), WorkloadKind::Register, 5, &faults);
    println!("{}", row("raft, no faults", 5, &quiet, &quiet_run, "committed_requests"));
    println!("{}", row("raft, partition+crash", 5, &faulty, &faulty_run, "committed_requests"));
    assert!(quiet["committed_requests"] > 500 && quiet["commit_latency_ns_sum"] > 0);
    assert!(quiet["messages_sent"] > 0);
    // Faults cost leaderless time: more than the first election alone.
    assert!(faulty["no_leader_ns"] > quiet["no_leader_ns"], "{} vs {}", faulty["no_leader_ns"], quiet["no_leader_ns"]);
    assert!(faulty["elections_started"] > quiet["elections_started"]);

    let two = || CommitProtocol::new(Mode::TwoPhase);
    let three = || CommitProtocol::new(Mode::ThreePhase);
    let (q2, q2r) = measure(two(), WorkloadKind::Bank, 3, &[]);
    let (f2, f2r) = measure(two(), WorkloadKind::Bank, 3, &faults);
    let (q3, q3r) = measure(three(), WorkloadKind::Bank, 3, &[]);
    let (f3, f3r) = measure(three(), WorkloadKind::Bank, 3, &[FaultKind::Crash]);
    println!("{}", row("2pc, no faults", 3, &q2, &q2r, "txns_committed"));
    println!("{}", row("2pc, partition+crash", 3, &f2, &f2r, "txns_committed"));
    println!("{}", row("3pc, no faults", 3, &q3, &q3r, "txns_committed"));
    println!("{}", row("3pc, crash", 3, &f3, &f3r, "txns_committed"));
    // 3PC pays a round trip more per commit.
    assert!(q3["commit_latency_ns_sum"] / q3["txns_committed"] > q2["commit_latency_ns_sum"] / q2["txns_committed"]);
    // 2PC shards block in doubt much longer under faults.
    assert!(
        f2["in_doubt_ns_max"] > 5 * q2["in_doubt_ns_max"],
        "{} vs {}",
        f2["in_doubt_ns_max"],
        q2["in_doubt_ns_max"]
    );
}
