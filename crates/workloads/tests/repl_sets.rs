//! vclock, gossip and weak on the set workload: hand-driven scenarios for
//! siblings, supersession, rumor spreading, anti-entropy, and weak's
//! permanent divergence.

mod common;

use common::{ok, ok_list, params, Net};
use workloads::protocols::gossip::GossipProtocol;
use workloads::protocols::vclock::VclockProtocol;
use workloads::protocols::weak::WeakProtocol;

fn read<P: workloads::sim::Protocol>(net: &mut Net<P>, node: usize) -> workloads::sim::Response {
    let r = net.read(node);
    net.reply(r).cloned().expect("local reads answer at once")
}

#[test]
fn vclock_keeps_concurrent_adds_as_siblings_and_supersedes_on_add() {
    let mut net = Net::new(VclockProtocol::from_params(&params(&[("anti_entropy_ms", "0")])).unwrap(), 3);
    let a = net.add(0, 1);
    let b = net.add(1, 2);
    assert_eq!((net.reply(a), net.reply(b)), (Some(&ok(1)), Some(&ok(2))));
    net.run();
    assert_eq!(net.durable[2].store[&None].len(), 2, "two concurrent versions at node 2");
    assert_eq!(read(&mut net, 2), ok_list(&[1, 2]), "a read shows the union of siblings");
    net.add(2, 3);
    assert_eq!(net.durable[2].store[&None].len(), 1, "an add supersedes the siblings it read");
    net.run();
    for i in 0..3 {
        assert_eq!(net.durable[i].store[&None].len(), 1, "node {i}");
        assert_eq!(read(&mut net, i), ok_list(&[1, 2, 3]), "node {i}");
    }
}

#[test]
fn vclock_anti_entropy_merges_partitioned_replicas_without_losing_adds() {
    let mut net = Net::new(VclockProtocol::default(), 5);
    net.partition(&[0, 1]);
    for (i, node) in [0, 3, 1, 4, 2, 0].into_iter().enumerate() {
        net.add(node, i as i64);
        net.advance_ms(5);
    }
    net.crash(3);
    net.advance_ms(100);
    assert_eq!(read(&mut net, 0), ok_list(&[0, 2, 5]));
    net.heal();
    net.restart(3);
    net.advance_ms(300);
    for i in 0..5 {
        assert_eq!(read(&mut net, i), ok_list(&[0, 1, 2, 3, 4, 5]), "node {i}");
    }
}

#[test]
fn gossip_spreads_rumors_and_anti_entropy_catches_up() {
    let mut net = Net::new(GossipProtocol::default(), 5);
    let a = net.add(0, 1);
    assert_eq!(net.reply(a), Some(&ok(1)));
    assert_eq!(read(&mut net, 1), ok_list(&[]), "a read elsewhere misses the add (no read-your-writes)");
    net.advance_ms(100);
    for i in 0..5 {
        assert_eq!(read(&mut net, i), ok_list(&[1]), "node {i}");
    }
    // Rumors die during a partition; anti-entropy spreads them after it.
    net.partition(&[4]);
    net.add(0, 2);
    net.advance_ms(200);
    assert_eq!(read(&mut net, 4), ok_list(&[1]));
    net.heal();
    net.advance_ms(300);
    for i in 0..5 {
        assert_eq!(read(&mut net, i), ok_list(&[1, 2]), "node {i}");
    }
}

#[test]
fn weak_forwards_once_and_never_repairs() {
    let mut net = Net::new(WeakProtocol::default(), 3);
    net.add(0, 1);
    net.run();
    assert_eq!(net.sent, 2);
    assert_eq!(read(&mut net, 2), ok_list(&[1]));
    net.partition(&[2]);
    net.add(0, 2);
    net.run();
    net.heal();
    net.advance_ms(10_000);
    assert_eq!(net.sent, 4, "no retries, no anti-entropy");
    assert_eq!(read(&mut net, 1), ok_list(&[1, 2]));
    assert_eq!(read(&mut net, 2), ok_list(&[1]), "diverged for good");
}

// ---- Seed sweeps in the simulator ----

use checker::model::ModelKind;
use checker::Workload;
use checker::{CheckName, History, Outcome, Value, Verdict};
use common::{describe, linear, sessions, sim, sim_cfg};
use std::collections::{BTreeMap, BTreeSet};
use workloads::sim::{ClientRouting, FaultKind, Protocol, SimConfig};
use workloads::workload::WorkloadKind;

const FAULTS: [FaultKind; 5] =
    [FaultKind::Partition, FaultKind::Crash, FaultKind::Pause, FaultKind::Loss, FaultKind::Duplicate];

fn set_cfg(seed: u64, faults: &[FaultKind], routing: ClientRouting) -> SimConfig {
    let mut c = sim_cfg(seed, WorkloadKind::Set, faults, 300);
    c.client_node = routing;
    c
}

/// Acknowledged adds missing from some final read of their key, counted
/// directly from the history (independently of the convergence check).
fn missing_acked_adds(h: &History) -> usize {
    let mut finals: BTreeMap<Option<Value>, Vec<BTreeSet<Value>>> = BTreeMap::new();
    for o in h.ops.iter().filter(|o| o.is_final && o.outcome == Outcome::Ok) {
        finals.entry(o.key.clone()).or_default().push(o.output.as_seq().unwrap_or(&[]).iter().cloned().collect());
    }
    h.ops
        .iter()
        .filter(|o| o.f == checker::F::Add && o.outcome == Outcome::Ok)
        .map(|o| finals.get(&o.key).map_or(1, |fs| fs.iter().filter(|s| !s.contains(&o.input)).count()))
        .sum()
}

/// Runs `seeds`; returns for each check the seeds where it was invalid, and
/// asserts convergence on every seed if `converges`.
fn sweep<P: Protocol>(
    p: &P,
    seeds: std::ops::Range<u64>,
    faults: &[FaultKind],
    routing: ClientRouting,
    converges: bool,
) -> BTreeMap<CheckName, Vec<u64>> {
    let mut found: BTreeMap<CheckName, Vec<u64>> = BTreeMap::new();
    for seed in seeds {
        let (_, h) = sim(p, &set_cfg(seed, faults, routing));
        let mut results = sessions(&h, Workload::Set);
        results.push(linear(&h, ModelKind::Set));
        for r in &results {
            assert_ne!(r.verdict, Verdict::Unknown, "seed {seed}: {}", describe(r));
            if r.verdict == Verdict::Invalid {
                found.entry(r.check).or_default().push(seed);
            }
        }
        if converges {
            let c = results.iter().find(|r| r.check == CheckName::Convergence).unwrap();
            assert_eq!(c.verdict, Verdict::Valid, "seed {seed}: {}", describe(c));
            assert_eq!(missing_acked_adds(&h), 0, "seed {seed}: acknowledged adds lost");
        }
    }
    found
}

#[test]
fn vclock_converges_without_losing_an_acknowledged_add() {
    let found = sweep(&VclockProtocol::default(), 0..60, &FAULTS, ClientRouting::Random, true);
    // Not claimed, and found: stale reads.
    assert!(found.contains_key(&CheckName::Linearizable), "{found:?}");
}

#[test]
fn gossip_converges_but_is_not_linearizable_nor_read_your_writes_for_roaming_clients() {
    let found = sweep(&GossipProtocol::default(), 0..40, &FAULTS, ClientRouting::Random, true);
    let first: BTreeMap<_, _> = found.iter().map(|(c, s)| (c.as_str(), s[0])).collect();
    eprintln!("gossip, clients on random nodes: first seed per violated check {first:?}");
    assert!(found.get(&CheckName::Linearizable).is_some_and(|s| s[0] < 5), "{found:?}");
    assert!(found.get(&CheckName::ReadYourWrites).is_some_and(|s| s[0] < 5), "{found:?}");
}

#[test]
fn gossip_with_sticky_clients_keeps_read_your_writes_and_monotonic_reads() {
    let found = sweep(&GossipProtocol::default(), 0..30, &FAULTS, ClientRouting::Sticky, true);
    assert!(!found.contains_key(&CheckName::ReadYourWrites), "{found:?}");
    assert!(!found.contains_key(&CheckName::MonotonicReads), "{found:?}");
}

#[test]
fn weak_diverges_under_loss_and_partitions() {
    for faults in [&[FaultKind::Loss][..], &[FaultKind::Partition]] {
        let found = sweep(&WeakProtocol::default(), 0..10, faults, ClientRouting::Random, false);
        let first: BTreeMap<_, _> = found.iter().map(|(c, s)| (c.as_str(), s[0])).collect();
        eprintln!("weak under {faults:?}: first seed per violated check {first:?}");
        assert!(found.get(&CheckName::Convergence).is_some_and(|s| s[0] < 5), "{faults:?}: {found:?}");
        assert!(found.contains_key(&CheckName::Linearizable), "{faults:?}: {found:?}");
    }
}

#[test]
fn weak_without_faults_does_converge() {
    // Not a guarantee, but with every forward delivered all replicas agree:
    // the divergence above is the faults' doing, not a bug.
    let found = sweep(&WeakProtocol::default(), 0..10, &[], ClientRouting::Random, true);
    assert!(!found.contains_key(&CheckName::Convergence), "{found:?}");
}

#[test]
#[ignore = "release: cargo test --release -p conch-workloads --test repl_sets -- --ignored"]
fn set_protocols_many_seeds() {
    sweep(&VclockProtocol::default(), 0..400, &FAULTS, ClientRouting::Random, true);
    sweep(&GossipProtocol::default(), 0..400, &FAULTS, ClientRouting::Random, true);
    let found = sweep(&WeakProtocol::default(), 0..400, &FAULTS, ClientRouting::Random, false);
    assert!(found.contains_key(&CheckName::Convergence));
}

/// (config, seed) determines the history byte for byte, for every protocol
/// here (gossip draws peers from the node's generator).
#[test]
fn all_six_protocols_are_deterministic() {
    use workloads::protocols::{abd::AbdProtocol, lww::LwwProtocol, quorum::QuorumProtocol};
    fn twice<P: Protocol>(p: &P, kind: WorkloadKind) {
        let mut all = FAULTS.to_vec();
        all.push(FaultKind::ClockSkew);
        let mut c = sim_cfg(7, kind, &all, 200);
        c.client_node = ClientRouting::Random;
        let a = workloads::sim::run(p, &c).to_jsonl();
        assert!(!a.is_empty());
        assert_eq!(a, workloads::sim::run(p, &c).to_jsonl(), "{}", p.name());
        c.seed = 8;
        assert_ne!(a, workloads::sim::run(p, &c).to_jsonl(), "{}", p.name());
    }
    twice(&QuorumProtocol::default(), WorkloadKind::Register);
    twice(&AbdProtocol::default(), WorkloadKind::Register);
    twice(&LwwProtocol::default(), WorkloadKind::Register);
    twice(&VclockProtocol::default(), WorkloadKind::Set);
    twice(&GossipProtocol::default(), WorkloadKind::Set);
    twice(&WeakProtocol::default(), WorkloadKind::Set);
}
