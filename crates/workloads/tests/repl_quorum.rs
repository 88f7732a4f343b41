//! Quorum replication: hand-driven scenarios for each mechanism (quorums,
//! timeouts, read repair, hinted handoff, anti-entropy, clock skew).

mod common;

use checker::{Value, F};
use common::{
    a_restart_orphans_the_write_in_flight, acknowledged_locally_then_replicated, ok, ok_nil, params, read_answers,
    write_acked, Net,
};
use workloads::protocols::quorum::QuorumProtocol;
use workloads::sim::Response;

fn quorum(kv: &[(&str, &str)]) -> QuorumProtocol {
    QuorumProtocol::from_params(&params(kv)).unwrap()
}

/// Only read repair in `mode` brings a stale replica up to date: no hints,
/// no anti-entropy.
fn repair_only(mode: &str) -> Net<QuorumProtocol> {
    Net::new(quorum(&[("read_repair", mode), ("hinted_handoff", "false"), ("anti_entropy_ms", "0")]), 3)
}

/// Writes `v` through node 0 while `stale` is cut off, so that it alone
/// misses the write, then heals.
fn write_missed_by(net: &mut Net<QuorumProtocol>, stale: usize, v: i64) {
    net.partition(&[stale]);
    let w = net.write(0, v);
    net.run();
    assert_eq!(net.reply(w), Some(&ok(v)));
    net.heal();
}

fn stored(net: &Net<QuorumProtocol>, node: usize) -> Option<Value> {
    net.durable[node].store.get(&None).map(|v| v.value.clone())
}

#[test]
fn write_then_read_through_other_coordinators() {
    let mut net = Net::new(quorum(&[]), 3);
    let w = net.write(0, 1);
    assert_eq!(net.reply(w), None, "w=2: needs one remote ack");
    net.run();
    assert_eq!(net.reply(w), Some(&ok(1)));
    read_answers(&mut net, 2, ok(1));
    // write: 2 mutations + 2 acks; read: 2 requests + 2 replies.
    assert_eq!(net.sent, 8);
}

#[test]
fn consistency_one_answers_from_the_local_replica() {
    // w=1: the coordinator's own replica suffices; r=1: a local read.
    let mut net = Net::new(quorum(&[("consistency", "one")]), 3);
    acknowledged_locally_then_replicated(&mut net);
}

#[test]
fn write_without_quorum_times_out_unknown_and_stays_partially_applied() {
    let mut net = repair_only("off");
    net.partition(&[0]);
    let w = net.write(0, 7);
    net.advance_ms(150);
    match net.reply(w) {
        Some(Response::Unknown(m)) => assert!(m.contains("1 of 2"), "{m}"),
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert_eq!(stored(&net, 0), Some(Value::Int(7)), "applied on the coordinator's replica");
    assert_eq!(stored(&net, 1), None);
    // A read through 0 and 1 sees the partial write...
    net.heal();
    net.partition(&[2]);
    read_answers(&mut net, 0, ok(7));
    // ...a later read through 1 and 2 does not: new, then old.
    net.heal();
    net.partition(&[0]);
    let r2 = net.read(1);
    net.run();
    assert_eq!(net.reply(r2), Some(&ok_nil()), "old value read after the new one: not linearizable");
}

#[test]
fn read_that_cannot_reach_r_replicas_fails() {
    let mut net = Net::new(quorum(&[("consistency", "all")]), 3);
    net.partition(&[2]);
    let r = net.read(0);
    net.advance_ms(150);
    assert_eq!(net.reply(r), Some(&Response::Fail("read timeout: 2 of 3 replies".into())));
}

#[test]
fn async_read_repair_fixes_stale_replicas_after_answering() {
    let mut net = repair_only("always");
    write_missed_by(&mut net, 2, 3);
    assert_eq!(stored(&net, 2), None);
    read_answers(&mut net, 2, ok(3));
    assert_eq!(stored(&net, 2), Some(Value::Int(3)), "read repair wrote the newest to the stale coordinator");
}

#[test]
fn blocking_read_repair_writes_back_before_answering() {
    let mut net = repair_only("blocking");
    write_missed_by(&mut net, 2, 3);
    // Node 1 is slow to answer the read: cut its links so 2 hears only from 0.
    net.partition(&[1]);
    read_answers(&mut net, 2, ok(3));
    assert_eq!(stored(&net, 2), Some(Value::Int(3)));

    // Here the stale replica is remote: the read waits for its repair ack.
    let mut net = repair_only("blocking");
    write_missed_by(&mut net, 2, 3);
    net.partition(&[0]);
    net.cut.remove(&(0, 1));
    net.cut.remove(&(1, 0));
    let r = net.read(1); // hears 1 (new) and 2 (stale); 0 unreachable
    net.step(); // Read to 2 delivered; its reply is queued
    net.step(); // reply delivered: 2 replies, 2 is stale -> repair sent
    assert_eq!(net.reply(r), None, "blocking repair holds the answer");
    net.run();
    assert_eq!(net.reply(r), Some(&ok(3)));
    assert_eq!(stored(&net, 2), Some(Value::Int(3)));
}

#[test]
fn hinted_handoff_delivers_missed_writes_after_heal() {
    let mut net = Net::new(quorum(&[("anti_entropy_ms", "0"), ("read_repair", "off")]), 3);
    net.partition(&[2]);
    let w = net.write(0, 5);
    net.advance_ms(150); // past the request timeout: the hint is stored
    assert_eq!(net.reply(w), Some(&ok(5)));
    assert_eq!(net.durable[0].hints.len(), 1);
    assert_eq!(stored(&net, 2), None);
    net.heal();
    net.advance_ms(60);
    assert_eq!(stored(&net, 2), Some(Value::Int(5)));
    assert!(net.durable[0].hints.is_empty(), "an acked hint is retired");
}

#[test]
fn hints_survive_a_coordinator_crash() {
    let mut net = Net::new(quorum(&[("anti_entropy_ms", "0"), ("read_repair", "off")]), 3);
    net.partition(&[2]);
    net.write(0, 5);
    net.advance_ms(150);
    net.crash(0);
    net.heal();
    net.advance_ms(100);
    assert_eq!(stored(&net, 2), None, "a crashed coordinator hands nothing off");
    net.restart(0);
    net.advance_ms(60);
    assert_eq!(stored(&net, 2), Some(Value::Int(5)));
}

#[test]
fn anti_entropy_converges_replicas_without_hints() {
    let mut net = Net::new(quorum(&[("hinted_handoff", "false"), ("read_repair", "off")]), 3);
    net.partition(&[2]);
    net.write(0, 9);
    net.advance_ms(150);
    assert_eq!(stored(&net, 2), None);
    net.heal();
    net.advance_ms(200);
    assert_eq!(stored(&net, 2), Some(Value::Int(9)));
}

#[test]
fn skewed_clock_loses_an_acknowledged_later_write() {
    let mut net = Net::new(quorum(&[]), 3);
    net.skew_ns[1] = -1_000_000_000; // node 1's clock is a second behind
    write_acked(&mut net, 0, 1);
    net.advance_ms(1);
    let b = net.write(1, 2);
    net.run();
    assert_eq!(net.reply(b), Some(&ok(2)), "the later write is acknowledged...");
    let r = net.read(2);
    net.run();
    assert_eq!(net.reply(r), Some(&ok(1)), "...and lost: the older write has the larger timestamp");
}

#[test]
fn replies_to_a_previous_incarnation_are_ignored() {
    let mut net = Net::new(quorum(&[]), 3);
    a_restart_orphans_the_write_in_flight(&mut net);
    write_acked(&mut net, 0, 2);
}

#[test]
fn preference_lists_place_keys_on_n_replicas() {
    let mut net = Net::new(quorum(&[("n", "3"), ("anti_entropy_ms", "0")]), 5);
    let key = Some(Value::Int(42));
    let prefs = workloads::protocols::quorum::preference_list(&key, 3, 5);
    let w = net.request(4, F::Write, key.clone(), Value::Int(1));
    net.advance_ms(150);
    assert_eq!(net.reply(w), Some(&ok(1)));
    for i in 0..5 {
        assert_eq!(net.durable[i].store.contains_key(&key), prefs.contains(&i), "node {i}, prefs {prefs:?}");
    }
    let r = net.request(4, F::Read, key, Value::Nil);
    net.run();
    assert_eq!(net.reply(r), Some(&ok(1)));
}

/// n = 3 of 5 nodes, w = 3: with one replica cut off, a strict quorum can
/// only time out; a sloppy one writes to the next node on the ring, which
/// keeps the write as a hint and hands it over after the heal.
fn sloppy_scenario(sloppy: &str) -> (Net<QuorumProtocol>, Vec<usize>, Response) {
    let p = quorum(&[("n", "3"), ("consistency", "all"), ("sloppy", sloppy), ("anti_entropy_ms", "0")]);
    let mut net = Net::new(p, 5);
    let prefs = workloads::protocols::quorum::preference_list(&None, 3, 5);
    let (c, down) = (prefs[0], prefs[1]);
    net.partition(&[down]);
    let w1 = net.write(c, 1);
    net.advance_ms(150);
    assert!(matches!(net.reply(w1), Some(Response::Unknown(_))), "{:?}", net.reply(w1));
    let w2 = net.write(c, 2);
    net.advance_ms(150);
    let answer = net.reply(w2).cloned().unwrap();
    (net, prefs, answer)
}

#[test]
fn sloppy_quorum_writes_to_a_stand_in_and_hands_off_after_heal() {
    let (mut net, prefs, answer) = sloppy_scenario("true");
    assert_eq!(answer, ok(2), "the stand-in's ack completes w = 3");
    let stand_in = (prefs[0] + 3) % 5;
    assert!(net.durable[stand_in].store.is_empty(), "a stand-in keeps the write as a hint only");
    assert_eq!(net.durable[stand_in].hints.len(), 1);
    net.heal();
    net.advance_ms(100);
    assert_eq!(stored(&net, prefs[1]), Some(Value::Int(2)), "handed off to the intended replica");
    assert!(net.durable[stand_in].hints.is_empty());
}

#[test]
fn strict_quorum_times_out_where_sloppy_succeeds() {
    let (_, _, answer) = sloppy_scenario("false");
    assert!(matches!(answer, Response::Unknown(_)), "{answer:?}");
}

#[test]
fn cas_and_unknown_ops_are_refused() {
    let mut net = Net::new(quorum(&[]), 3);
    let c = net.request(0, F::Cas, None, Value::List(vec![Value::Int(1), Value::Int(2)]));
    assert!(matches!(net.reply(c), Some(Response::Fail(m)) if m.starts_with("unsupported")));
    let a = net.request(0, F::Add, None, Value::Int(1));
    assert!(matches!(net.reply(a), Some(Response::Fail(m)) if m.starts_with("unsupported")));
    assert_eq!(net.sent, 0);
}

// ---- Seed sweeps in the simulator ----

use checker::model::ModelKind;
use checker::Workload;
use checker::{CheckName, History, Verdict};
use common::{describe, linear, sessions, sim, sim_cfg, verdict_of};
use workloads::sim::{ClientRouting, FaultKind, SimConfig};
use workloads::workload::WorkloadKind;

/// Every fault but clock skew: "synchronized clocks".
const FAULTS: [FaultKind; 5] =
    [FaultKind::Partition, FaultKind::Crash, FaultKind::Pause, FaultKind::Loss, FaultKind::Duplicate];

fn run_checked(p: &QuorumProtocol, cfg: &SimConfig) -> (History, Vec<checker::CheckResult>) {
    let (_, h) = sim(p, cfg);
    let mut results = sessions(&h, Workload::Register);
    results.push(linear(&h, ModelKind::CasRegister));
    let c = results.iter().find(|r| r.check == CheckName::Convergence).unwrap();
    assert_eq!(c.verdict, Verdict::Valid, "seed {}: replicas must converge after heal: {}", cfg.seed, describe(c));
    (h, results)
}

#[test]
fn quorum_one_reads_stale_and_goes_back_in_time() {
    let p = quorum(&[("consistency", "one")]);
    let (mut stale, mut backwards) = (None, None);
    for seed in 0..10 {
        let mut cfg = sim_cfg(seed, WorkloadKind::Register, &[], 300);
        cfg.client_node = ClientRouting::Random;
        let (_, r) = run_checked(&p, &cfg);
        if stale.is_none() && verdict_of(&r, CheckName::Linearizable) == Verdict::Invalid {
            stale = Some(seed);
        }
        if backwards.is_none() && verdict_of(&r, CheckName::MonotonicReads) == Verdict::Invalid {
            backwards = Some(seed);
        }
    }
    eprintln!(
        "quorum consistency=one, no faults: first stale read {stale:?}, first monotonic-reads violation {backwards:?}"
    );
    assert!(stale.is_some_and(|s| s < 3), "{stale:?}");
    assert!(backwards.is_some(), "no monotonic-reads violation in 10 seeds");
}

/// R + W > N with synchronized clocks: convergence holds on every seed;
/// linearizability fails when a timed-out write, applied on a minority, is
/// read and then missed. Without read repair the window stays open until
/// hints or anti-entropy close it.
fn majority_sweep(p: &QuorumProtocol, seeds: std::ops::Range<u64>, stop_at_first: bool) -> Vec<u64> {
    let mut nonlinear = Vec::new();
    for seed in seeds {
        let mut cfg = sim_cfg(seed, WorkloadKind::Register, &FAULTS, 500);
        cfg.workload.keys = 3;
        let (_, r) = run_checked(p, &cfg);
        let l = r.iter().find(|r| r.check == CheckName::Linearizable).unwrap();
        assert_ne!(l.verdict, Verdict::Unknown, "seed {seed}: {}", describe(l));
        if l.verdict == Verdict::Invalid {
            nonlinear.push(seed);
            if stop_at_first {
                break;
            }
        }
    }
    nonlinear
}

#[test]
fn quorum_majority_converges_under_faults() {
    let found = majority_sweep(&quorum(&[]), 0..40, false);
    eprintln!("quorum r=w=3 of 5, async read repair: non-linearizable seeds {found:?} of 0..40");
}

#[test]
fn quorum_majority_without_read_repair_is_not_linearizable() {
    let found = majority_sweep(&quorum(&[("read_repair", "off")]), 0..300, true);
    eprintln!("quorum r=w=3 of 5, read_repair=off: first non-linearizable seed {found:?}");
    assert!(!found.is_empty(), "no violation in 300 seeds");
}

#[test]
#[ignore = "release: cargo test --release -p conch-workloads --test repl_quorum -- --ignored"]
fn quorum_majority_many_seeds() {
    let found = majority_sweep(&quorum(&[]), 0..4000, false);
    eprintln!("quorum r=w=3 of 5, async read repair: {} non-linearizable seeds of 4000: {found:?}", found.len());
    assert!(!found.is_empty());
    let found = majority_sweep(&quorum(&[("read_repair", "off")]), 0..1000, false);
    eprintln!("quorum r=w=3 of 5, read_repair=off: {} non-linearizable seeds of 1000: {found:?}", found.len());
    assert!(!found.is_empty());
}

/// Blocking read repair writes what a read returns to a read quorum first,
/// and synchronized clocks order non-overlapping writes: together they make
/// the register linearizable (it is ABD with the clock as the query phase).
#[test]
fn quorum_blocking_read_repair_with_synced_clocks_stays_linearizable() {
    let found = majority_sweep(&quorum(&[("read_repair", "blocking")]), 0..40, false);
    assert!(found.is_empty(), "non-linearizable seeds: {found:?}");
}

/// ...and clock skew breaks it: a later write stamped by a slow clock loses.
#[test]
fn quorum_blocking_read_repair_with_clock_skew_is_not_linearizable() {
    let p = quorum(&[("read_repair", "blocking")]);
    let mut faults = FAULTS.to_vec();
    faults.push(FaultKind::ClockSkew);
    let found = (0..40).find(|&seed| {
        let mut cfg = sim_cfg(seed, WorkloadKind::Register, &faults, 500);
        cfg.workload.keys = 3;
        let (_, r) = run_checked(&p, &cfg);
        verdict_of(&r, CheckName::Linearizable) == Verdict::Invalid
    });
    eprintln!("quorum blocking read repair with clock skew: first non-linearizable seed {found:?}");
    assert!(found.is_some());
}

/// With asynchronous read repair on every read the window is short: reads
/// must hit a minority-applied write and then miss it before the repair
/// lands. The release sweep finds such seeds at a rate of about one in a few
/// hundred; this pins one (re-pin from `quorum_majority_many_seeds` if the
/// simulator's random streams change).
#[test]
fn quorum_majority_async_read_repair_pinned_seed_is_not_linearizable() {
    const SEED: u64 = 262;
    let found = majority_sweep(&quorum(&[("read_repair", "always")]), SEED..SEED + 1, true);
    assert_eq!(found, vec![SEED], "seed {SEED} no longer shows the violation: re-pin from the release sweep");
}
