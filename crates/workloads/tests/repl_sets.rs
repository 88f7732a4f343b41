//! vclock, gossip and weak on the set workload: hand-driven scenarios for
//! siblings, supersession, rumor spreading, anti-entropy, and weak's
//! permanent divergence.

mod common;

use common::{ok, ok_list, params, Net};
use workloads::protocols::gossip::GossipProtocol;
use workloads::protocols::vclock::{VclockMsg, VclockProtocol};
use workloads::protocols::weak::WeakProtocol;

fn read<P: workloads::sim::Protocol>(net: &mut Net<P>, node: usize) -> workloads::sim::Response {
    let r = net.read(node);
    net.reply(r).cloned().expect("local reads answer at once")
}

#[test]
fn vclock_keeps_concurrent_adds_as_siblings_and_supersedes_on_add() {
    // r=1: a get reads the coordinator alone, so a client op answers at once.
    let mut net = Net::new(VclockProtocol::from_params(&params(&[("anti_entropy_ms", "0"), ("r", "1")])).unwrap(), 3);
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

/// A cart on 3 nodes without anti-entropy, merging siblings by `merge`.
fn cart(merge: &str) -> Net<VclockProtocol> {
    Net::new(VclockProtocol::from_params(&params(&[("anti_entropy_ms", "0"), ("merge", merge)])).unwrap(), 3)
}

/// Only the gets and their answers travel: puts stay in flight.
fn gets_only(net: &mut Net<VclockProtocol>) {
    net.deliver_if(|m| matches!(m, VclockMsg::Get { .. } | VclockMsg::Got { .. }));
}

/// Reads the cart at `node` once every message has arrived.
fn cart_at(net: &mut Net<VclockProtocol>, node: usize) -> workloads::sim::Response {
    let r = net.read(node);
    net.run();
    net.reply(r).cloned().expect("answered once the get's replies arrived")
}

/// Dynamo's resurrected delete: node 0 removes 1 with a context that missed
/// node 1's concurrent add of 2 (a version that still holds 1), so the two
/// versions stay siblings, and the union merge brings 1 back. Tombstones
/// keep it removed.
#[test]
fn vclock_a_remove_with_a_stale_context_is_undone_by_the_union_merge() {
    for (merge, after) in [("union", &[1, 2][..]), ("tombstones", &[2])] {
        let mut net = cart(merge);
        let a = net.add(0, 1);
        net.run();
        assert_eq!(net.reply(a), Some(&ok(1)));
        let b = net.add(1, 2);
        gets_only(&mut net);
        assert_eq!(net.reply(b), Some(&ok(2)), "put at node 1, not yet replicated");
        // Node 0's get is answered by node 2, which lacks node 1's version
        // (node 1's answer is lost; its put, already in flight, arrives later).
        net.cut.insert((1, 0));
        let c = net.request(0, checker::remove_f(), None, checker::Value::Int(1));
        gets_only(&mut net);
        assert_eq!(net.reply(c), Some(&ok(1)), "node 0's context holds 1 but not node 1's new version");
        net.heal();
        net.run();
        for i in 0..3 {
            assert_eq!(net.durable[i].store[&None].len(), 2, "{merge}: node {i} keeps both versions as siblings");
            assert_eq!(cart_at(&mut net, i), ok_list(after), "{merge}: node {i}");
        }
    }
}

/// Last-writer-wins among siblings drops the adds of the sibling it
/// discards: two concurrent adds, one survives.
#[test]
fn vclock_lww_merge_loses_a_concurrent_acknowledged_add() {
    for (merge, after) in [("union", &[1, 2][..]), ("lww", &[2])] {
        let mut net = cart(merge);
        let a = net.add(0, 1);
        let b = net.add(1, 2);
        gets_only(&mut net);
        assert_eq!((net.reply(a), net.reply(b)), (Some(&ok(1)), Some(&ok(2))));
        net.run();
        // Equal clocks here: the tie goes to the larger dot, node 1's.
        assert_eq!(cart_at(&mut net, 2), ok_list(after), "{merge}");
    }
}

#[test]
fn vclock_anti_entropy_merges_partitioned_replicas_without_losing_adds() {
    let mut net = Net::new(VclockProtocol::from_params(&params(&[("r", "1")])).unwrap(), 5);
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
        let name = std::any::type_name::<P>();
        let mut all = FAULTS.to_vec();
        all.push(FaultKind::ClockSkew);
        let mut c = sim_cfg(7, kind, &all, 200);
        c.client_node = ClientRouting::Random;
        let a = workloads::sim::run(p, &c).to_jsonl();
        assert!(!a.is_empty());
        assert_eq!(a, workloads::sim::run(p, &c).to_jsonl(), "{name}");
        c.seed = 8;
        assert_ne!(a, workloads::sim::run(p, &c).to_jsonl(), "{name}");
    }
    twice(&QuorumProtocol::default(), WorkloadKind::Register);
    twice(&AbdProtocol::default(), WorkloadKind::Register);
    twice(&LwwProtocol::default(), WorkloadKind::Register);
    twice(&VclockProtocol::default(), WorkloadKind::Set);
    twice(&GossipProtocol::default(), WorkloadKind::Set);
    twice(&WeakProtocol::default(), WorkloadKind::Set);
}

/// The cart check's verdict and anomaly kinds on a vclock cart run with
/// `merge` under partitions and crashes.
fn cart_run(merge: &str, seed: u64) -> (Verdict, BTreeSet<String>) {
    let p = VclockProtocol::from_params(&params(&[("merge", merge)])).unwrap();
    let mut c = sim_cfg(seed, WorkloadKind::Cart, &[FaultKind::Partition, FaultKind::Crash], 300);
    c.clients = 10;
    c.client_node = ClientRouting::Failover;
    let (_, h) = sim(&p, &c);
    let cfg = checker::CheckConfig { checks: vec![CheckName::Cart], ..checker::CheckConfig::default() };
    let r = checker::check(&h, &cfg).expect("a cart history");
    let res = &r.results[0];
    let kinds = res.keys.iter().flat_map(|k| k.anomalies.iter().map(|a| a.kind.as_str().to_string())).collect();
    (res.verdict, kinds)
}

/// Dynamo's textbook anomalies, found by the cart check within a few seeds:
/// removes undone by the union merge, adds lost by the lww merge; the
/// tombstone merge keeps every acknowledged add and remove.
#[test]
fn vclock_cart_anomalies_follow_the_merge() {
    let first = |merge: &str, kind: &str| (0..20).find(|&s| cart_run(merge, s).1.contains(kind));
    let union = first("union", "resurrected");
    let lww = first("lww", "lost");
    eprintln!("vclock cart: first resurrected (union) {union:?}, first lost (lww) {lww:?}");
    assert!(union.is_some() && lww.is_some(), "{union:?} {lww:?}");
    assert!(!(0..20).any(|s| cart_run("union", s).1.contains("lost")), "union loses no add");
    for seed in 0..20 {
        let (v, kinds) = cart_run("tombstones", seed);
        assert_eq!(v, Verdict::Valid, "seed {seed}: {kinds:?}");
    }
}
