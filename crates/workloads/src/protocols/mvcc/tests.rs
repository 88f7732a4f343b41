use super::*;
use crate::sim::manual::ManualNet;

fn proto(isolation: Isolation, bug: &str) -> MvccProtocol {
    let p = [("bug".to_string(), bug.to_string())].into_iter().collect();
    MvccProtocol::from_params(isolation, &p).unwrap()
}

fn mop(f: &str, k: i64, v: Option<i64>) -> Value {
    Value::List(vec![Value::str(f), Value::Int(k), v.map_or(Value::Nil, Value::Int)])
}

fn txn(mops: &[Value]) -> Value {
    Value::List(mops.to_vec())
}

fn begin(net: &mut ManualNet<MvccProtocol>, node: NodeId, mops: &[Value]) -> RequestId {
    net.request(node, F::Txn, None, txn(mops))
}

fn session_of(m: &MvccMsg) -> NodeId {
    match m {
        MvccMsg::Step { txn, .. }
        | MvccMsg::StepDone { txn, .. }
        | MvccMsg::Commit { txn, .. }
        | MvccMsg::CommitDone { txn, .. }
        | MvccMsg::Abort { txn } => txn.session,
    }
}

fn failed(net: &ManualNet<MvccProtocol>, id: RequestId) -> bool {
    matches!(net.reply(id), Some(Response::Fail(_)))
}

/// Write skew: two transactions read both keys and each writes a
/// different one. Snapshot isolation lets both commit; that is G2-item.
#[test]
fn si_write_skew_commits_both() {
    let mut net = ManualNet::new(proto(Isolation::Snapshot, "none"), 3);
    let a = begin(&mut net, 1, &[mop("r", 1, None), mop("r", 2, None), mop("w", 1, Some(10))]);
    let b = begin(&mut net, 2, &[mop("r", 1, None), mop("r", 2, None), mop("w", 2, Some(20))]);
    net.run();
    assert_eq!(net.ok_value(a), txn(&[mop("r", 1, None), mop("r", 2, None), mop("w", 1, Some(10))]));
    assert_eq!(net.ok_value(b), txn(&[mop("r", 1, None), mop("r", 2, None), mop("w", 2, Some(20))]));
    assert!(net.violations.is_empty(), "{:?}", net.violations);
}

/// Lost update is prevented: of two concurrent writers of one key, the
/// second to commit aborts; with the bug both commit.
#[test]
fn si_first_committer_wins_and_its_bug_loses_an_update() {
    for (bug, both) in [("none", false), ("no-first-committer-wins", true)] {
        let mut net = ManualNet::new(proto(Isolation::Snapshot, bug), 3);
        let a = begin(&mut net, 1, &[mop("r", 1, None), mop("append", 1, Some(1))]);
        let b = begin(&mut net, 2, &[mop("r", 1, None), mop("append", 1, Some(2))]);
        net.run();
        let oks = [a, b].iter().filter(|&&id| matches!(net.reply(id), Some(Response::Ok(_)))).count();
        assert_eq!(oks, if both { 2 } else { 1 }, "bug={bug}");
        let c = begin(&mut net, 1, &[mop("r", 1, None)]);
        net.run();
        let list = net.ok_value(c).as_seq().unwrap()[0].as_seq().unwrap()[2].clone();
        // Either way the list holds one append: with the bug the other one
        // was committed and then lost.
        assert_eq!(list.as_seq().unwrap().len(), 1, "bug={bug}: {list}");
    }
}

/// Read committed sees a commit between two of its reads (read skew, a
/// G-single); snapshot isolation reads both from its snapshot.
#[test]
fn rc_reads_a_commit_between_its_statements_and_si_does_not() {
    for (iso, second) in [(Isolation::ReadCommitted, Some(20)), (Isolation::Snapshot, None)] {
        let mut net = ManualNet::new(proto(iso, "none"), 3);
        let a = begin(&mut net, 1, &[mop("r", 1, None), mop("r", 2, None)]);
        // a's first read runs; then b runs start to finish.
        net.step();
        net.step();
        let b = begin(&mut net, 2, &[mop("w", 1, Some(10)), mop("w", 2, Some(20))]);
        net.deliver_if(|m| session_of(m) == 2);
        net.ok_value(b);
        net.run();
        assert_eq!(net.ok_value(a), txn(&[mop("r", 1, None), mop("r", 2, second)]), "{iso:?}");
    }
}

/// Read committed never shows uncommitted writes; the dirty-reads bug does.
#[test]
fn rc_hides_uncommitted_writes_unless_the_bug_is_on() {
    for (bug, seen) in [("none", None), ("dirty-reads", Some(10))] {
        let mut net = ManualNet::new(proto(Isolation::ReadCommitted, bug), 3);
        let w = begin(&mut net, 2, &[mop("w", 1, Some(10)), mop("r", 2, None)]);
        // w's write reaches the server; it has not committed.
        net.step();
        let r = begin(&mut net, 1, &[mop("r", 1, None)]);
        net.deliver_if(|m| session_of(m) == 1);
        assert_eq!(net.ok_value(r), txn(&[mop("r", 1, seen)]), "bug={bug}");
        net.run();
        net.ok_value(w);
    }
}

/// A statement the server never answers fails the transaction (it never
/// committed); a commit never answered is indeterminate.
#[test]
fn a_lost_statement_fails_and_a_lost_commit_is_unknown() {
    let mut net = ManualNet::new(proto(Isolation::Snapshot, "none"), 3);
    let a = begin(&mut net, 1, &[mop("w", 1, Some(1))]);
    net.drop_in_flight();
    net.advance_ms(150);
    assert!(failed(&net, a), "{:?}", net.reply(a));
    let b = begin(&mut net, 1, &[mop("w", 1, Some(2))]);
    net.step(); // the statement
    net.step(); // its answer; the commit is now in flight
    net.drop_in_flight();
    net.advance_ms(150);
    assert!(matches!(net.reply(b), Some(Response::Unknown(_))), "{:?}", net.reply(b));
}

/// A server crash loses open transactions (their next statement or commit
/// fails) and keeps committed versions.
#[test]
fn a_server_crash_aborts_open_transactions_and_keeps_commits() {
    let mut net = ManualNet::new(proto(Isolation::Snapshot, "none"), 3);
    let a = begin(&mut net, 1, &[mop("append", 1, Some(1))]);
    net.run();
    net.ok_value(a);
    let b = begin(&mut net, 2, &[mop("append", 1, Some(2)), mop("r", 1, None)]);
    net.step();
    net.restart(SERVER);
    net.run();
    assert!(failed(&net, b), "{:?}", net.reply(b));
    let c = begin(&mut net, 1, &[mop("r", 1, None)]);
    net.run();
    assert_eq!(net.ok_value(c), txn(&[Value::List(vec![Value::str("r"), 1.into(), Value::List(vec![1.into()])])]));
}

/// A duplicated begin and commit of a transaction that was aborted must
/// not start it again and commit it: the server remembers decisions.
#[test]
fn duplicates_of_an_aborted_transaction_never_commit_it() {
    let mut net = ManualNet::new(proto(Isolation::Snapshot, "none"), 3);
    let a = begin(&mut net, 1, &[mop("append", 1, Some(1))]);
    let b = begin(&mut net, 2, &[mop("append", 1, Some(2))]);
    let copies: Vec<_> = net.queue.iter().cloned().collect();
    net.run();
    let loser = if failed(&net, a) { 1 } else { 2 };
    assert!(failed(&net, a) != failed(&net, b));
    let txn_id = TxnId { session: loser, req: if loser == 1 { a } else { b } };
    for (from, to, m) in copies.into_iter().filter(|(_, _, m)| session_of(m) == loser) {
        net.deliver(from, to, m);
    }
    net.deliver(loser, SERVER, MvccMsg::Commit { txn: txn_id, steps: 1 });
    net.run();
    let vs = &net.durable[SERVER].versions[&Value::Int(1)];
    assert_eq!(vs.last().unwrap().1.as_seq().unwrap().len(), 1, "{vs:?}");
    assert_eq!(net.durable[SERVER].finished.get(&txn_id), Some(&None));
}

/// Versions no open snapshot can read are dropped; those it can are kept.
#[test]
fn old_versions_are_pruned_below_the_oldest_open_snapshot() {
    let mut net = ManualNet::new(proto(Isolation::Snapshot, "none"), 3);
    let old = begin(&mut net, 2, &[mop("r", 1, None), mop("r", 1, None)]);
    net.step(); // `old` takes its snapshot (ts 0) and reads
    for v in 1..=3 {
        let w = begin(&mut net, 1, &[mop("w", 1, Some(v))]);
        net.deliver_if(|m| session_of(m) == 1);
        net.ok_value(w);
    }
    net.run();
    assert_eq!(net.ok_value(old), txn(&[mop("r", 1, None), mop("r", 1, None)]));
    let w = begin(&mut net, 1, &[mop("w", 1, Some(4))]);
    net.run();
    net.ok_value(w);
    assert_eq!(net.durable[SERVER].versions[&Value::Int(1)], vec![(4, Value::Int(4))]);
}

#[test]
fn non_transactions_and_bad_params_are_refused() {
    let mut net = ManualNet::new(proto(Isolation::ReadCommitted, "none"), 3);
    let r = net.read(1);
    assert!(failed(&net, r));
    let bad = net.request(1, F::Txn, None, Value::Int(3));
    assert!(failed(&net, bad));
    let p = [("bug".to_string(), "dirty-reads".to_string())].into_iter().collect();
    assert!(MvccProtocol::from_params(Isolation::Snapshot, &p).is_err());
}
