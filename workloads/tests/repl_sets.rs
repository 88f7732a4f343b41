//! vclock, gossip and weak on the set workload: hand-driven scenarios for
//! siblings, supersession, rumor spreading, anti-entropy, and weak's
//! permanent divergence.

mod repl_net;

use repl_net::{ok, ok_list, params, Net};
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
