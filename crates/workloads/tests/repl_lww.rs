//! Last-write-wins: hand-driven scenarios for local acknowledgement, async
//! replication, anti-entropy and the lost write under clock skew.

mod common;

use checker::Value;
use common::{acknowledged_locally_then_replicated, ok, params, Net};
use workloads::protocols::lww::LwwProtocol;

fn lww(kv: &[(&str, &str)]) -> LwwProtocol {
    LwwProtocol::from_params(&params(kv)).unwrap()
}

#[test]
fn writes_are_acknowledged_locally_and_replicated_later() {
    let mut net = Net::new(lww(&[]), 3);
    acknowledged_locally_then_replicated(&mut net);
    assert_eq!(net.sent, 2, "one update to each peer");
}

#[test]
fn skew_loses_an_acknowledged_later_write() {
    let mut net = Net::new(lww(&[]), 3);
    net.skew_ns[2] = -500_000_000;
    let a = net.write(0, 1);
    net.run();
    net.advance_ms(10);
    let b = net.write(2, 2);
    assert_eq!(net.reply(a), Some(&ok(1)));
    assert_eq!(net.reply(b), Some(&ok(2)), "the later write is acknowledged");
    net.advance_ms(200);
    for i in 0..3 {
        let r = net.read(i);
        assert_eq!(net.reply(r), Some(&ok(1)), "node {i}: converged on the older write");
    }
}

#[test]
fn anti_entropy_converges_after_a_partition() {
    let mut net = Net::new(lww(&[]), 3);
    net.partition(&[2]);
    net.write(0, 1);
    net.advance_ms(1);
    net.write(2, 2);
    net.advance_ms(100);
    assert_eq!(net.durable[0].store[&None].value, Value::Int(1));
    net.heal();
    net.advance_ms(200);
    for i in 0..3 {
        assert_eq!(net.durable[i].store[&None].value, Value::Int(2), "node {i}");
    }
}

#[test]
fn without_replication_or_anti_entropy_nothing_spreads() {
    let mut net = Net::new(lww(&[("replicate", "false"), ("anti_entropy_ms", "0")]), 3);
    net.write(0, 1);
    net.advance_ms(1000);
    assert_eq!(net.sent, 0);
    assert!(net.durable[1].store.is_empty());
}

// ---- Seed sweeps in the simulator ----

use checker::model::ModelKind;
use checker::Workload;
use checker::{CheckName, History, Op, Outcome, Verdict};
use common::{describe, linear, sessions, sim, sim_cfg, verdict_of};
use workloads::sim::FaultKind;
use workloads::workload::WorkloadKind;

/// An acknowledged write lost: the value every final read returns was written
/// by `older`, yet `later` was invoked after `older` completed and was
/// acknowledged. Returns `(older, later)`.
fn lost_write(h: &History) -> Option<(&Op, &Op)> {
    let finals: Vec<&Op> = h.ops.iter().filter(|o| o.is_final && o.outcome == Outcome::Ok).collect();
    let v = &finals.first()?.output;
    if v.is_nil() || finals.iter().any(|o| &o.output != v) {
        return None;
    }
    let writes = || h.ops.iter().filter(|o| o.f == checker::F::Write && !o.is_final);
    let older = writes().find(|o| &o.input == v)?;
    let later = writes().find(|o| o.outcome == Outcome::Ok && older.precedes(o))?;
    Some((older, later))
}

fn sweep(seeds: std::ops::Range<u64>) {
    let p = lww(&[]);
    let faults = [FaultKind::ClockSkew, FaultKind::Partition, FaultKind::Crash, FaultKind::Loss];
    let (mut nonlinear, mut lost) = (None, None);
    for seed in seeds {
        let (_, h) = sim(&p, &sim_cfg(seed, WorkloadKind::Register, &faults, 300));
        let s = sessions(&h, Workload::Register);
        assert_eq!(
            verdict_of(&s, CheckName::Convergence),
            Verdict::Valid,
            "seed {seed}: {}",
            describe(s.iter().find(|r| r.check == CheckName::Convergence).unwrap())
        );
        if nonlinear.is_none() && linear(&h, ModelKind::CasRegister).verdict == Verdict::Invalid {
            nonlinear = Some(seed);
        }
        if let (None, Some((older, later))) = (lost, lost_write(&h)) {
            eprintln!(
                "lww seed {seed}: write {} (lines {}-{:?}) acknowledged after write {} completed, lost: final reads return {}",
                later.input, later.invoke_line, later.complete_line, older.input, older.input
            );
            lost = Some(seed);
        }
    }
    eprintln!("lww with clock skew: first non-linearizable seed {nonlinear:?}, first lost acknowledged write {lost:?}");
    assert!(nonlinear.is_some(), "lww with skew was linearizable on every seed");
    assert!(lost.is_some(), "no acknowledged write was lost to clock skew");
}

#[test]
fn lww_with_clock_skew_loses_acknowledged_writes_and_still_converges() {
    sweep(0..60);
}

#[test]
#[ignore = "release: cargo test --release -p conch-workloads --test repl_lww -- --ignored"]
fn lww_with_clock_skew_loses_acknowledged_writes_and_still_converges_many_seeds() {
    sweep(0..400);
}
