//! Datacenters and lightweight transactions, driven by hand: which
//! replies each level waits for, the wide-area delay, the stale read a
//! datacenter partition gives LOCAL_QUORUM, and Paxos compare-and-set.

use super::*;
use crate::protocols::common::params::given;
use crate::sim::manual::ManualNet;

fn proto(kv: &[(&str, &str)]) -> QuorumProtocol {
    QuorumProtocol::from_params(&given(kv)).unwrap()
}

/// Two datacenters of three nodes (0..3 and 3..6), three replicas each:
/// every key is on every node.
fn two_dcs(extra: &[(&str, &str)]) -> ManualNet<QuorumProtocol> {
    let mut kv = vec![("dcs", "2"), ("n", "3"), ("anti_entropy_ms", "0"), ("hinted_handoff", "false")];
    kv.extend_from_slice(extra);
    ManualNet::new(proto(&kv), 6)
}

fn key() -> Key {
    Some(Value::Int(1))
}

#[test]
fn local_quorum_needs_only_the_local_datacenter_and_each_quorum_needs_both() {
    for (level, answered) in [("local_quorum", true), ("local_one", true), ("each_quorum", false), ("quorum", false)] {
        let mut net = two_dcs(&[("consistency", level), ("inter_dc_ms", "0")]);
        net.partition(&[0, 1, 2]);
        let w = net.request(0, F::Write, key(), 5.into());
        net.run();
        assert_eq!(net.reply(w).is_some(), answered, "{level}: {:?}", net.reply(w));
        if !answered {
            net.advance_ms(150);
            assert!(matches!(net.reply(w), Some(Response::Unknown(_))), "{level}: {:?}", net.reply(w));
        }
    }
}

/// QUORUM (four of six) must hear from the other datacenter, so it waits
/// the wide-area delay both ways; LOCAL_QUORUM does not.
#[test]
fn the_wide_area_delay_holds_back_what_needs_the_other_datacenter() {
    for (level, by_ms) in [("quorum", 41), ("local_quorum", 0)] {
        let mut net = two_dcs(&[("consistency", level), ("inter_dc_ms", "20")]);
        let w = net.request(0, F::Write, key(), 5.into());
        net.run();
        if by_ms > 0 {
            assert_eq!(net.reply(w), None, "{level}");
            net.advance_ms(39);
            assert_eq!(net.reply(w), None, "{level}: a round trip takes 40 ms");
            net.advance_ms(by_ms - 39);
        }
        assert_eq!(net.ok_value(w), Value::Int(5), "{level}");
    }
}

/// The textbook failure: a datacenter partition, a LOCAL_QUORUM write
/// acknowledged in one datacenter, and a LOCAL_QUORUM read in the other
/// afterwards that returns the old value (not linearizable). EACH_QUORUM
/// writes would not be acknowledged at all.
#[test]
fn a_datacenter_partition_makes_local_quorum_reads_stale() {
    let mut net = two_dcs(&[("consistency", "local_quorum"), ("inter_dc_ms", "0")]);
    let w = net.request(0, F::Write, key(), 1.into());
    net.run();
    net.ok_value(w);
    net.partition(&[0, 1, 2]);
    let w = net.request(1, F::Write, key(), 2.into());
    net.run();
    net.ok_value(w);
    let r = net.request(4, F::Read, key(), Value::Nil);
    net.run();
    assert_eq!(net.ok_value(r), Value::Int(1), "the other datacenter has not heard of 2");
}

#[test]
fn lightweight_transactions_let_one_of_two_racing_cas_win() {
    let mut net = two_dcs(&[("lwt", "true"), ("inter_dc_ms", "5")]);
    let a = net.request(0, F::Cas, key(), Value::List(vec![Value::Nil, 1.into()]));
    let b = net.request(4, F::Cas, key(), Value::List(vec![Value::Nil, 2.into()]));
    net.advance_ms(100);
    let won: Vec<bool> = [a, b].iter().map(|&id| matches!(net.reply(id), Some(Response::Ok(_)))).collect();
    assert!(net.reply(a).is_some() && net.reply(b).is_some(), "{:?} {:?}", net.reply(a), net.reply(b));
    assert!(won.iter().filter(|&&w| w).count() <= 1, "{:?} {:?}", net.reply(a), net.reply(b));
    let r = net.request(2, F::Read, key(), Value::Nil);
    net.advance_ms(100);
    let seen = net.ok_value(r);
    match (won[0], won[1]) {
        (true, _) => assert_eq!(seen, Value::Int(1)),
        (_, true) => assert_eq!(seen, Value::Int(2)),
        _ => assert!(
            matches!(net.reply(a), Some(Response::Unknown(_))) || matches!(net.reply(b), Some(Response::Unknown(_))),
            "neither won, so one was contended: {:?} {:?}",
            net.reply(a),
            net.reply(b)
        ),
    }
    assert!(net.violations.is_empty(), "{:?}", net.violations);
}

/// Writes, reads and a compare-and-set whose condition fails all go
/// through Paxos; commits reach every replica's ordinary store.
#[test]
fn serial_reads_writes_and_failed_conditions_go_through_paxos_and_commits_reach_every_store() {
    let mut net = two_dcs(&[("lwt", "true"), ("inter_dc_ms", "0")]);
    let w = net.request(0, F::Write, key(), 7.into());
    net.advance_ms(20);
    assert_eq!(net.ok_value(w), Value::Int(7));
    let bad = net.request(3, F::Cas, key(), Value::List(vec![6.into(), 8.into()]));
    net.advance_ms(20);
    assert!(matches!(net.reply(bad), Some(Response::Fail(m)) if m.starts_with("not applied")), "{:?}", net.reply(bad));
    let good = net.request(5, F::Cas, key(), Value::List(vec![7.into(), 8.into()]));
    net.advance_ms(20);
    net.ok_value(good);
    let r = net.request(1, F::Read, key(), Value::Nil);
    net.advance_ms(20);
    assert_eq!(net.ok_value(r), Value::Int(8));
    // The commits reached every replica's ordinary store.
    assert!(net.durable.iter().all(|d| d.store[&key()].value == Value::Int(8)));
    assert!(net.violations.is_empty(), "{:?}", net.violations);
}

/// LOCAL_SERIAL runs Paxos in the local datacenter only: under a
/// datacenter partition both sides still commit compare-and-sets (not
/// linearizable across datacenters, as Cassandra documents); SERIAL
/// needs a majority of all six and commits on neither side.
#[test]
fn local_serial_commits_on_both_sides_of_a_datacenter_partition_and_serial_on_neither() {
    for (serial, commits) in [("local_serial", true), ("serial", false)] {
        let mut net = two_dcs(&[("lwt", "true"), ("serial", serial), ("inter_dc_ms", "0")]);
        net.partition(&[0, 1, 2]);
        let a = net.request(0, F::Cas, key(), Value::List(vec![Value::Nil, 1.into()]));
        let b = net.request(3, F::Cas, key(), Value::List(vec![Value::Nil, 2.into()]));
        net.advance_ms(150);
        for id in [a, b] {
            assert_eq!(matches!(net.reply(id), Some(Response::Ok(_))), commits, "{serial}: {:?}", net.reply(id));
        }
    }
}

#[test]
fn parameters_that_do_not_go_together_are_refused() {
    let p = |kv: &[(&str, &str)]| QuorumProtocol::from_params(&given(kv));
    let e = p(&[("dcs", "2"), ("sloppy", "true")]).unwrap_err().to_string();
    assert!(e.starts_with("quorum: sloppy quorums need dcs=1"), "{e}");
    assert_eq!(p(&[("consistency", "two")]).unwrap().levels(5), (5, 2, 2));
    assert_eq!(p(&[("consistency", "local_quorum")]).unwrap().levels(5), (5, 3, 3));
}
