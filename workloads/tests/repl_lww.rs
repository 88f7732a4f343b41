//! Last-write-wins: hand-driven scenarios for local acknowledgement, async
//! replication, anti-entropy and the lost write under clock skew.

mod repl_net;

use checker::Value;
use repl_net::{ok, ok_nil, params, Net};
use workloads::protocols::lww::LwwProtocol;

fn lww(kv: &[(&str, &str)]) -> LwwProtocol {
    LwwProtocol::from_params(&params(kv)).unwrap()
}

#[test]
fn writes_are_acknowledged_locally_and_replicated_later() {
    let mut net = Net::new(lww(&[]), 3);
    let w = net.write(0, 1);
    assert_eq!(net.reply(w), Some(&ok(1)), "acknowledged before any message");
    let r = net.read(1);
    assert_eq!(net.reply(r), Some(&ok_nil()), "stale read");
    net.run();
    let r = net.read(1);
    assert_eq!(net.reply(r), Some(&ok(1)));
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
