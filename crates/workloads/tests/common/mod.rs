//! What the simulator's integration tests share: run configs that match
//! the command line (so a seed found here reproduces with `conch run`), the
//! checks they apply, and the hand-driven network. `mod common;` in each
//! test file.
#![allow(dead_code)]

use checker::model::{ModelKind, NilRead};
use checker::{CheckName, CheckResult, History, KeyResult, Report, Value, Verdict, Workload};
use std::collections::BTreeMap;
use workloads::sim::{run, ClientRouting, FaultKind, NemesisConfig, Protocol, Response, RunOutput, SimConfig};
use workloads::workload::{WorkloadConfig, WorkloadKind};

#[allow(unused_imports)]
pub use workloads::sim::manual::ManualNet as Net;

pub const MS: u64 = 1_000_000;

pub fn ok(v: i64) -> Response {
    Response::Ok(Value::Int(v))
}

pub fn ok_nil() -> Response {
    Response::Ok(Value::Nil)
}

pub fn ok_list(v: &[i64]) -> Response {
    Response::Ok(Value::List(v.iter().map(|&i| Value::Int(i)).collect()))
}

pub fn params(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    workloads::protocols::common::params::given(kv)
}

/// What `conch run --workload W --nemesis F --intensity I --ops N` runs
/// (5 nodes, 5 sticky clients), with register workloads on one register so
/// that all clients contend on it (`--keys 1`). (Register workloads
/// include cas, which some protocols refuse with `fail`: such ops never
/// happened.)
pub fn cli_cfg(seed: u64, kind: WorkloadKind, faults: &[FaultKind], intensity: f64, ops: usize) -> SimConfig {
    let mut workload = WorkloadConfig::new(kind);
    if kind == WorkloadKind::Register {
        workload.keys = 1;
    }
    // The command line's own path from names, so that kinds are ordered alike.
    let names: Vec<&str> = faults.iter().map(|f| f.name()).collect();
    let nemesis = NemesisConfig::from_names(&names.join(","), intensity).expect("known fault names");
    SimConfig { seed, ops, workload, nemesis, client_node: ClientRouting::Sticky, ..SimConfig::default() }
}

/// [`cli_cfg`] at `--intensity 2`, the replication tests' setting.
pub fn sim_cfg(seed: u64, kind: WorkloadKind, faults: &[FaultKind], ops: usize) -> SimConfig {
    cli_cfg(seed, kind, faults, 2.0, ops)
}

/// The consensus and commit tests' setting: clients on random nodes,
/// unhurried (2 ms think time, 300 ms request timeout), faults at the
/// default rate and 2% background loss when loss is among them.
pub fn roaming_cfg(seed: u64, kind: WorkloadKind, faults: &[FaultKind], ops: usize) -> SimConfig {
    let mut c = SimConfig {
        seed,
        ops,
        workload: WorkloadConfig::new(kind),
        nemesis: NemesisConfig::generated(faults, 1.0),
        request_timeout_ns: 300 * MS,
        client_node: ClientRouting::Random,
        ..SimConfig::default()
    };
    c.workload.think_mean_ns = 2 * MS;
    if faults.contains(&FaultKind::Loss) {
        c.net.loss = 0.02;
    }
    c
}

/// The toy stores' setting: every fault at intensity 3, short timeouts,
/// background loss, duplication and reordering.
pub fn rough_cfg(seed: u64, kind: WorkloadKind, routing: ClientRouting) -> SimConfig {
    let mut c = SimConfig {
        seed,
        ops: 150,
        workload: WorkloadConfig::new(kind),
        nemesis: NemesisConfig::generated(&FaultKind::ALL, 3.0),
        request_timeout_ns: 40 * MS,
        client_node: routing,
        ..SimConfig::default()
    };
    c.net.loss = 0.02;
    c.net.duplicate = 0.02;
    c.net.reorder = 0.05;
    c.workload.think_mean_ns = 2 * MS;
    c
}

/// Runs and pairs the history; a run cut short is a test failure.
pub fn sim<P: Protocol>(p: &P, cfg: &SimConfig) -> (RunOutput, History) {
    let out = run(p, cfg);
    assert_eq!(out.stats.stopped_early, None, "seed {}", cfg.seed);
    let h = out.history().expect("simulated histories are well-formed");
    (out, h)
}

/// The model that checks a workload's linearizability (bank: none, it has
/// its own check).
pub fn model_for(kind: WorkloadKind) -> ModelKind {
    match kind {
        WorkloadKind::Register => ModelKind::CasRegister,
        WorkloadKind::Kv => ModelKind::Register,
        WorkloadKind::ListAppend => ModelKind::ListAppend,
        WorkloadKind::Set => ModelKind::Set,
        WorkloadKind::Counter => ModelKind::Counter,
        WorkloadKind::Bank => panic!("the bank is checked by bank_check"),
        WorkloadKind::Cart => panic!("carts are checked by the cart check"),
        WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => {
            panic!("transactions are checked by the txn oracle (tests/txn_stores.rs)")
        }
    }
}

pub fn session_workload(kind: WorkloadKind) -> Workload {
    match kind {
        WorkloadKind::ListAppend => Workload::ListAppend,
        WorkloadKind::Set => Workload::Set,
        WorkloadKind::Counter => Workload::Counter,
        _ => Workload::Register,
    }
}

/// Linearizability with nil meaning "absent" (every bundled store starts
/// empty and reads nil only for keys never written).
pub fn linear(h: &History, model: ModelKind) -> CheckResult {
    testkit::checks::linearizability(h, model, NilRead::Absent, true)
}

/// The session guarantees and convergence, one result per check.
pub fn sessions(h: &History, workload: Workload) -> Vec<CheckResult> {
    testkit::checks::sessions(h, workload, &[])
}

/// The bank invariants and linearizability: the bundled bank starts at zero
/// everywhere and allows overdrafts.
pub fn bank_check(h: &History) -> Report {
    bank_check_with(h, true)
}

/// [`bank_check`], optionally without its (expensive) linearizability search.
pub fn bank_check_with(h: &History, linearizable: bool) -> Report {
    testkit::checks::sim_bank(h, linearizable)
}

/// One bank property (`total-conserved`, `no-negative-balances`,
/// `linearizable`) of a bank report.
pub fn bank_property<'a>(r: &'a Report, name: &str) -> &'a KeyResult {
    testkit::checks::bank_property(r, name)
}

/// The bank check's counts: (reads, transfers).
pub fn bank_counts(r: &Report) -> (u64, u64) {
    let b = r.result(CheckName::Bank).and_then(|c| c.bank()).expect("the bank check ran");
    (b.reads, b.transfers)
}

pub fn verdict_of(results: &[CheckResult], c: CheckName) -> Verdict {
    results.iter().find(|r| r.check == c).map(|r| r.verdict).unwrap_or_else(|| panic!("no result for {c}"))
}

/// A one-line summary of what a check found, for failure messages.
pub fn describe(r: &CheckResult) -> String {
    let a = r.keys.iter().flat_map(|k| k.anomalies.iter()).next();
    let why = r.keys.iter().find_map(|k| k.unknown_reason.clone());
    format!("{} {}: {:?} {}", r.check, r.verdict, why, a.map(|a| a.explanation.as_str()).unwrap_or(""))
}

/// A write of 1 through node 0 is acknowledged before any message is sent,
/// a read through node 1 is then stale (nil), and once every message is
/// delivered it returns 1.
pub fn acknowledged_locally_then_replicated<P: Protocol>(net: &mut Net<P>) {
    let w = net.write(0, 1);
    assert_eq!(net.reply(w), Some(&ok(1)), "acknowledged before any message");
    let r = net.read(1);
    assert_eq!(net.reply(r), Some(&ok_nil()), "stale read before replication");
    net.run();
    let r = net.read(1);
    assert_eq!(net.reply(r), Some(&ok(1)));
}

/// Node 0 crashes and restarts while it coordinates a write of 1: the
/// replies to its previous incarnation answer nothing, so the write is
/// never acknowledged.
pub fn a_restart_orphans_the_write_in_flight<P: Protocol>(net: &mut Net<P>) {
    let w = net.write(0, 1);
    net.crash(0);
    net.restart(0);
    net.run(); // the replies arrive at the new incarnation
    assert_eq!(net.reply(w), None);
}

/// Writes `v` through `node` and delivers every message: the write is
/// acknowledged.
#[track_caller]
pub fn write_acked<P: Protocol>(net: &mut Net<P>, node: usize, v: i64) {
    let w = net.write(node, v);
    net.run();
    assert_eq!(net.reply(w), Some(&ok(v)));
}

/// Reads through `node` and delivers every message: the read answers
/// `expected`.
#[track_caller]
pub fn read_answers<P: Protocol>(net: &mut Net<P>, node: usize, expected: Response) {
    let r = net.read(node);
    net.run();
    assert_eq!(net.reply(r), Some(&expected));
}
