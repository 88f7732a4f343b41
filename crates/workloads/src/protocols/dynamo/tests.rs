use super::*;
use crate::protocols::common::params::given;
use crate::sim::manual::ManualNet;

fn proto(kv: &[(&str, &str)]) -> DynamoProtocol {
    DynamoProtocol::from_params(&given(kv)).unwrap()
}

fn key(k: i64) -> Key {
    Some(Value::Int(k))
}

fn mop(f: &str, k: i64, v: Option<i64>) -> Value {
    Value::List(vec![Value::str(f), Value::Int(k), v.map_or(Value::Nil, Value::Int)])
}

/// Key 0 is partition 0: leader n0, followers n1 and n2. With the leader's
/// messages to n2 lost, a write is acknowledged (n1 holds it); eventual
/// reads through router n1 go to a random replica, and those served by n2
/// return the old value; strong reads never do.
#[test]
fn eventual_reads_may_be_stale_and_strong_reads_are_not() {
    for (reads, stale_possible) in [("eventual", true), ("strong", false)] {
        let mut net = ManualNet::new(proto(&[("reads", reads)]), 3);
        net.cut.insert((0, 2));
        let w = net.request(1, F::Write, key(0), 7.into());
        net.run();
        assert_eq!(net.ok_value(w), Value::Int(7));
        let mut stale = 0;
        for _ in 0..20 {
            let r = net.request(1, F::Read, key(0), Value::Nil);
            net.run();
            if net.ok_value(r) == Value::Nil {
                stale += 1;
            }
        }
        assert_eq!(stale > 0, stale_possible, "reads={reads}: {stale} stale of 20");
        assert!(net.violations.is_empty(), "{:?}", net.violations);
    }
}

/// A write no follower acknowledges is not acknowledged; when the router
/// gives up it is indeterminate (the leader holds it and will replicate it).
#[test]
fn a_write_waits_for_a_majority_then_is_unknown() {
    let mut net = ManualNet::new(proto(&[]), 3);
    // The leader's messages to its followers are lost.
    net.cut.insert((0, 1));
    net.cut.insert((0, 2));
    let w = net.request(0, F::Write, key(0), 5.into());
    net.run();
    assert_eq!(net.reply(w), None, "no follower acknowledged");
    net.advance_ms(150);
    assert!(matches!(net.reply(w), Some(Response::Unknown(_))), "{:?}", net.reply(w));
    net.heal();
    net.advance_ms(50);
    assert_eq!(net.durable[2].parts[&0].items[&key(0)].value, Value::Int(5), "resent and applied");
}

/// A 3-node cluster whose key 0 holds 1, written through router n1.
fn key_0_written_1() -> ManualNet<DynamoProtocol> {
    let mut net = ManualNet::new(proto(&[]), 3);
    let w = net.request(1, F::Write, key(0), 1.into());
    net.run();
    net.ok_value(w);
    net
}

#[test]
fn conditional_writes_are_compare_and_set() {
    let mut net = key_0_written_1();
    let bad = net.request(2, F::Cas, key(0), Value::List(vec![2.into(), 3.into()]));
    let good = net.request(2, F::Cas, key(0), Value::List(vec![1.into(), 3.into()]));
    net.run();
    assert!(matches!(net.reply(bad), Some(Response::Fail(m)) if m.starts_with("ConditionalCheckFailed")));
    net.ok_value(good);
    assert_eq!(net.durable[0].parts[&0].items[&key(0)].value, Value::Int(3));
}

/// Two transactions that each read both keys and write one (write skew):
/// the second to prepare finds the items held or changed and is canceled.
#[test]
fn transactions_prevent_write_skew() {
    let mut net = ManualNet::new(proto(&[]), 3);
    let t = |w: i64, v: i64| Value::List(vec![mop("r", 0, None), mop("r", 1, None), mop("w", w, Some(v))]);
    let a = net.request(1, F::Txn, None, t(0, 10));
    let b = net.request(2, F::Txn, None, t(1, 20));
    net.run();
    let oks = [a, b].iter().filter(|&&id| matches!(net.reply(id), Some(Response::Ok(_)))).count();
    assert_eq!(oks, 1, "{:?} {:?}", net.reply(a), net.reply(b));
    assert!(net.durable.iter().all(|d| d.parts.values().all(|p| p.locks.is_empty() && p.prepared.is_empty())));
}

/// Reads inside a transaction see its own writes; a read-only transaction
/// holds nothing.
#[test]
fn a_transaction_reads_its_own_writes_and_read_only_ones_hold_nothing() {
    let mut net = ManualNet::new(proto(&[]), 3);
    let t = Value::List(vec![mop("append", 0, Some(1)), mop("r", 0, None), mop("append", 4, Some(2))]);
    let a = net.request(1, F::Txn, None, t);
    net.run();
    let out = net.ok_value(a);
    assert_eq!(out.as_seq().unwrap()[1], Value::List(vec![Value::str("r"), 0.into(), Value::List(vec![1.into()])]));
    let r = net.request(2, F::Txn, None, Value::List(vec![mop("r", 0, None), mop("r", 4, None)]));
    // Stop before the read-only check round: nothing may be held.
    net.deliver_if(|m| matches!(m, DynamoMsg::Get { .. } | DynamoMsg::GetDone { .. }));
    net.run();
    net.ok_value(r);
    assert!(net.durable.iter().all(|d| d.parts.values().all(|p| p.locks.is_empty())));
}

/// The coordinator dies with every item prepared and nothing decided: the
/// leaders ask it, and once it is back it presumes abort; the items are free.
#[test]
fn a_coordinator_crash_before_deciding_is_resolved_as_abort() {
    let mut net = ManualNet::new(proto(&[]), 3);
    let t = Value::List(vec![mop("w", 0, Some(1)), mop("w", 1, Some(2))]);
    let a = net.request(2, F::Txn, None, t);
    net.deliver_if(|m| matches!(m, DynamoMsg::Prepare { .. }));
    net.crash(2);
    net.drop_in_flight();
    assert!(net.durable[0].parts[&0].locks.contains_key(&key(0)));
    net.restart(2);
    net.advance_ms(300);
    assert_eq!(net.reply(a), None, "the client hears nothing: its request timed out (info)");
    assert!(net.durable.iter().all(|d| d.parts.values().all(|p| p.locks.is_empty())), "released");
    assert_eq!(net.durable[0].parts[&0].items.get(&key(0)), None, "aborted: nothing written");
    let w = net.request(1, F::Write, key(0), 9.into());
    net.run();
    net.ok_value(w);
}

/// The coordinator dies right after deciding commit: the leaders learn the
/// decision from its durable record and apply the writes.
#[test]
fn a_coordinator_crash_after_deciding_commits() {
    let mut net = ManualNet::new(proto(&[]), 3);
    let t = Value::List(vec![mop("w", 0, Some(1)), mop("w", 1, Some(2))]);
    net.request(2, F::Txn, None, t);
    net.deliver_if(|m| matches!(m, DynamoMsg::Prepare { .. } | DynamoMsg::Prepared { .. }));
    assert_eq!(net.durable[2].decisions.values().copied().collect::<Vec<_>>(), vec![true]);
    net.drop_in_flight();
    net.restart(2);
    net.advance_ms(300);
    assert_eq!(net.durable[0].parts[&0].items[&key(0)].value, Value::Int(1));
    assert_eq!(net.durable[1].parts[&1].items[&key(1)].value, Value::Int(2));
}

/// A late duplicate of a prepare, after the decision, must not hold the
/// items again (they would stay held for good).
#[test]
fn a_late_prepare_after_the_decision_holds_nothing() {
    let mut net = ManualNet::new(proto(&[]), 3);
    let a = net.request(1, F::Txn, None, Value::List(vec![mop("w", 0, Some(1))]));
    let prepare = net.queue.iter().find(|(_, _, m)| matches!(m, DynamoMsg::Prepare { .. })).cloned().unwrap();
    net.run();
    net.ok_value(a);
    net.deliver(prepare.0, prepare.1, prepare.2);
    net.run();
    assert!(net.durable[0].parts[&0].locks.is_empty());
}

#[test]
fn layout_places_keys_on_consecutive_replicas() {
    let l = Layout { nodes: 5, partitions: 5, replicas: 3 };
    assert_eq!(l.partition(&key(7)), 2);
    assert_eq!(l.replicas(4).collect::<Vec<_>>(), vec![4, 0, 1]);
    assert_eq!((l.leader(4), l.acks_needed()), (4, 1));
    let s = l.partition(&Some(Value::str("x")));
    assert_eq!(s, l.partition(&Some(Value::str("x"))));
    assert!(DynamoProtocol::from_params(&[("reads".to_string(), "weak".to_string())].into()).is_err());
}

/// Seed 0 of `--param reads=strong --nemesis all` answered a conditional
/// write that took effect `ConditionalCheckFailed`: the network delivered
/// the request twice, the second copy failed its condition against the
/// first copy's write, and its answer (immediate) beat the first's (after
/// replication). The leader now ignores a request it has seen.
#[test]
fn a_duplicated_conditional_write_is_applied_once_and_answered_ok() {
    let mut net = key_0_written_1();
    let c = net.request(1, F::Cas, key(0), Value::List(vec![1.into(), 2.into()]));
    let op = net.queue.iter().find(|(_, to, m)| *to == 0 && matches!(m, DynamoMsg::Op { .. })).cloned().unwrap();
    net.queue.push_back(op);
    net.run();
    assert_eq!(net.ok_value(c), Value::List(vec![1.into(), 2.into()]));
    assert_eq!(net.durable[0].parts[&0].log.len(), 2, "the write and one cas");
    assert_eq!(net.node(0).stats()["duplicates_ignored"], 1);
}
