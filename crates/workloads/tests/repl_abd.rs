//! ABD: hand-driven scenarios for its two phases, minority failures, the
//! read's write-back, and crash recovery.

mod repl_net;

use checker::{Value, F};
use repl_net::{ok, ok_nil, params, Net};
use workloads::protocols::abd::AbdProtocol;
use workloads::sim::Response;

fn abd(kv: &[(&str, &str)]) -> AbdProtocol {
    AbdProtocol::from_params(&params(kv)).unwrap()
}

fn tag_value(net: &Net<AbdProtocol>, node: usize) -> Option<((u64, usize), Value)> {
    net.durable[node].store.get(&None).cloned()
}

#[test]
fn write_and_read_take_two_majority_phases() {
    let mut net = Net::new(abd(&[]), 3);
    let w = net.write(1, 4);
    net.run();
    assert_eq!(net.reply(w), Some(&ok(4)));
    assert_eq!(net.sent, 8, "query + replies, store + acks, to 2 peers each");
    assert_eq!(tag_value(&net, 0), Some(((1, 1), Value::Int(4))));
    let r = net.read(2);
    net.run();
    assert_eq!(net.reply(r), Some(&ok(4)));
    assert_eq!(net.sent, 16, "a read also writes back");
    let w = net.write(0, 5);
    net.run();
    assert_eq!(net.reply(w), Some(&ok(5)));
    assert_eq!(tag_value(&net, 2), Some(((2, 0), Value::Int(5))), "tag = (max ts + 1, writer)");
}

#[test]
fn minority_side_fails_cleanly_majority_side_proceeds() {
    let mut net = Net::new(abd(&[]), 5);
    net.partition(&[0, 1]);
    let w = net.write(0, 1);
    let r = net.read(1);
    let w2 = net.write(3, 2);
    net.advance_ms(150);
    assert!(matches!(net.reply(w), Some(Response::Fail(m)) if m.contains("query phase")), "{:?}", net.reply(w));
    assert!(matches!(net.reply(r), Some(Response::Fail(_))));
    assert_eq!(net.reply(w2), Some(&ok(2)));
}

/// Node 0's write reaches its store phase but only node 1 stores it: the
/// write is `Unknown`. A read that sees it must write it back, so that a
/// later read on the other side of the cluster sees it too.
fn partial_write_then_two_reads(p: AbdProtocol) -> (Response, Response) {
    let mut net = Net::new(p, 5);
    let w = net.write(0, 9);
    // Deliver the queries and replies, then drop the stores to 2, 3, 4.
    for _ in 0..8 {
        net.step();
    }
    net.cut.extend([(0, 2), (0, 3), (0, 4)]);
    net.advance_ms(150);
    assert!(matches!(net.reply(w), Some(Response::Unknown(m)) if m.contains("store phase")), "{:?}", net.reply(w));
    assert_eq!(tag_value(&net, 1).map(|t| t.1), Some(Value::Int(9)));
    assert_eq!(tag_value(&net, 2), None);
    net.heal();
    net.partition(&[0]);
    net.cut.extend([(2, 1), (1, 2)]);
    // Node 1 reads: itself (new), 3 and 4 (old).
    let r1 = net.read(1);
    net.run();
    // Node 2 reads from 2, 3, 4 only.
    net.heal();
    net.partition(&[0, 1]);
    let r2 = net.read(2);
    net.run();
    (net.reply(r1).cloned().unwrap(), net.reply(r2).cloned().unwrap())
}

#[test]
fn reads_write_back_so_a_partial_write_is_never_unseen() {
    assert_eq!(partial_write_then_two_reads(abd(&[("anti_entropy_ms", "0")])), (ok(9), ok(9)));
}

#[test]
fn without_write_back_reads_go_new_then_old() {
    let p = abd(&[("bug", "no-writeback"), ("anti_entropy_ms", "0")]);
    assert_eq!(partial_write_then_two_reads(p), (ok(9), ok_nil()));
}

#[test]
fn anti_entropy_completes_a_write_left_on_a_minority() {
    let mut net = Net::new(abd(&[]), 5);
    let w = net.write(0, 9);
    for _ in 0..8 {
        net.step();
    }
    net.partition(&[0, 1]);
    net.advance_ms(150);
    assert!(matches!(net.reply(w), Some(Response::Unknown(_))));
    assert_eq!(tag_value(&net, 2), None, "the majority side never got it");
    net.heal();
    net.advance_ms(300);
    for i in 0..5 {
        assert_eq!(tag_value(&net, i), Some(((1, 0), Value::Int(9))), "node {i}");
    }
}

#[test]
fn a_replica_keeps_its_register_across_crashes() {
    let mut net = Net::new(abd(&[]), 3);
    let w = net.write(0, 1);
    net.run();
    assert_eq!(net.reply(w), Some(&ok(1)));
    for i in 0..3 {
        net.crash(i);
        net.restart(i);
    }
    let r = net.read(2);
    net.run();
    assert_eq!(net.reply(r), Some(&ok(1)));
}

#[test]
fn stale_replies_do_not_complete_new_operations() {
    let mut net = Net::new(abd(&[]), 3);
    let w = net.write(0, 1);
    net.crash(0);
    net.restart(0);
    net.run();
    assert_eq!(net.reply(w), None);
    let r = net.read(0);
    net.run();
    assert_eq!(net.reply(r), Some(&ok_nil()));
}

#[test]
fn cas_is_refused() {
    let mut net = Net::new(abd(&[]), 3);
    let c = net.request(0, F::Cas, None, Value::List(vec![Value::Nil, Value::Int(1)]));
    assert!(matches!(net.reply(c), Some(Response::Fail(m)) if m.starts_with("unsupported")));
}

// ---- Seed sweeps in the simulator ----

use checker::model::ModelKind;
use checker::Verdict;
use checker::Workload;
use repl_net::{describe, linear, sessions, sim, sim_cfg};
use workloads::sim::FaultKind;
use workloads::workload::WorkloadKind;

const FAULTS: [FaultKind; 5] =
    [FaultKind::Partition, FaultKind::Crash, FaultKind::Pause, FaultKind::Loss, FaultKind::Duplicate];

fn sweep(seeds: std::ops::Range<u64>, ops: usize) {
    let p = abd(&[]);
    for seed in seeds {
        let mut faults = FAULTS.to_vec();
        faults.push(FaultKind::ClockSkew); // ABD never reads clocks; skew must not matter.
        let (_, h) = sim(&p, &sim_cfg(seed, WorkloadKind::Register, &faults, ops));
        let l = linear(&h, ModelKind::CasRegister);
        assert_eq!(l.verdict, Verdict::Valid, "seed {seed}: {}", describe(&l));
        for r in sessions(&h, Workload::Register) {
            assert_eq!(r.verdict, Verdict::Valid, "seed {seed}: {}", describe(&r));
        }
    }
}

#[test]
fn abd_is_linearizable_and_converges_under_every_fault() {
    sweep(0..100, 300);
}

#[test]
#[ignore = "release: cargo test --release -p conch-workloads --test repl_abd -- --ignored"]
fn abd_is_linearizable_and_converges_under_every_fault_many_seeds() {
    sweep(0..500, 400);
}

#[test]
fn abd_without_write_back_is_caught_by_the_linearizability_check() {
    let p = abd(&[("bug", "no-writeback")]);
    let found = (0..100).find(|&seed| {
        let (_, h) = sim(&p, &sim_cfg(seed, WorkloadKind::Register, &FAULTS, 300));
        let l = linear(&h, ModelKind::CasRegister);
        let kinds: Vec<&str> = l.keys.iter().flat_map(|k| k.anomalies.iter()).map(|a| a.kind.as_str()).collect();
        assert!(l.verdict != Verdict::Invalid || !kinds.is_empty(), "an invalid verdict names its anomaly");
        l.verdict == Verdict::Invalid
    });
    eprintln!("abd bug=no-writeback: first non-linearizable seed {found:?}");
    assert!(found.is_some(), "no-writeback ABD passed 100 seeds");
}

#[test]
fn abd_serves_the_kv_workload_linearizably() {
    let p = abd(&[]);
    for seed in 0..5 {
        let (_, h) = sim(&p, &sim_cfg(seed, WorkloadKind::Kv, &FAULTS, 300));
        assert!(h.by_key().len() > 5, "many keys");
        let l = linear(&h, ModelKind::CasRegister);
        assert_eq!(l.verdict, Verdict::Valid, "seed {seed}: {}", describe(&l));
    }
}
