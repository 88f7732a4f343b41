//! 2PC and 3PC driven by hand on the shared [`ManualNet`]: queued messages
//! delivered in order or by kind, nodes cut off, explicit time and sweeps.

use super::super::bank::Disagreement;
use super::super::CommitProtocol;
use super::*;
use crate::sim::manual::ManualNet;
use crate::workload::transfer_value;
use checker::F;

type Net = ManualNet<CommitProtocol>;

const MS: i64 = 1_000_000;

fn cluster(n: usize, config: CommitConfig) -> Net {
    ManualNet::new(CommitProtocol { config, recorder: Some(Arc::new(DecisionLog::default())) }, n)
}

/// Advances time and fires every live node's sweep timer.
fn tick(net: &mut Net, ms: i64) {
    net.now_ns += (ms * MS) as u64;
    for i in 0..net.n() {
        net.with(i, |node, ctx| node.on_timer(ctx, TIMER_SWEEP));
    }
}

fn transfer(net: &mut Net, at: NodeId, id: u64, from: usize, to: usize, amount: i64) {
    net.request_with_id(at, RequestId(id), F::Transfer, None, transfer_value(from, to, amount));
}

fn read(net: &mut Net, at: NodeId, id: u64) {
    net.request_with_id(at, RequestId(id), F::Read, None, Value::Nil);
}

fn reply_of(net: &Net, id: u64) -> Option<&Response> {
    net.reply(RequestId(id))
}

fn total(net: &Net) -> i64 {
    net.durable.iter().flat_map(|d| d.balances.values()).sum()
}

fn log(net: &Net) -> &DecisionLog {
    net.proto.recorder.as_deref().expect("tests record decisions")
}

fn disagreements(net: &Net) -> Vec<Disagreement> {
    log(net).disagreements()
}

fn two() -> CommitConfig {
    CommitConfig::new(Mode::TwoPhase)
}

fn three() -> CommitConfig {
    CommitConfig::new(Mode::ThreePhase)
}

/// A 3-node cluster of `config` where node 0 coordinates transfer 1 (4 from
/// account 1 to account 2) and only its prepares have been delivered.
fn prepared(config: CommitConfig) -> Net {
    let mut net = cluster(3, config);
    transfer(&mut net, 0, 1, 1, 2, 4);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    net
}

fn is_fail(r: Option<&Response>) -> bool {
    matches!(r, Some(Response::Fail(_)))
}

#[test]
fn transfer_commits_on_both_shards_and_reads_see_it() {
    for config in [two(), three()] {
        let mut net = cluster(3, config);
        transfer(&mut net, 0, 1, 1, 2, 4);
        net.run();
        assert!(matches!(reply_of(&net, 1), Some(Response::Ok(_))), "{:?}", reply_of(&net, 1));
        assert_eq!(net.durable[1].balances[&1], -4);
        assert_eq!(net.durable[2].balances[&2], 4);
        read(&mut net, 2, 2);
        net.run();
        let bank = Value::List(vec![0.into(), (-4).into(), 4.into()]);
        assert_eq!(reply_of(&net, 2), Some(&Response::Ok(bank)));
        assert!(net.durable.iter().all(|d| d.prepared.is_empty()), "locks released");
        assert!(disagreements(&net).is_empty());
    }
}

#[test]
fn conflicting_prepares_wait_for_locks_then_proceed_or_vote_no() {
    let mut net = prepared(two());
    // Shards 1 and 2 now hold locks.
    transfer(&mut net, 0, 2, 4, 0, 1); // account 4 is on locked shard 1, but is not itself locked
    read(&mut net, 1, 3);
    net.deliver_if(|m| !matches!(m, CommitMsg::Vote { txn, .. } if txn.seq == 0));
    assert!(matches!(reply_of(&net, 2), Some(Response::Ok(_))), "disjoint accounts do not conflict");
    assert!(reply_of(&net, 3).is_none(), "the read waits for the transfer's locks");
    net.run();
    assert!(matches!(reply_of(&net, 1), Some(Response::Ok(_))));
    let bank = Value::List(vec![1.into(), (-4).into(), 4.into(), 0.into(), (-1).into()]);
    assert_eq!(reply_of(&net, 3), Some(&Response::Ok(bank)), "the read ran after both transfers");
    let waits: i64 = net.nodes.iter().flatten().map(|n| n.stats_map()["lock_waits"]).sum();
    assert!(waits >= 2, "{waits}");
    // A prepare whose locks stay taken too long gets a no vote.
    transfer(&mut net, 0, 4, 1, 2, 1);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    transfer(&mut net, 2, 5, 2, 1, 1);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    tick(&mut net, 30);
    net.deliver_if(|m| !matches!(m, CommitMsg::Vote { txn, .. } if txn.coord == 0));
    assert!(is_fail(reply_of(&net, 5)), "{:?}", reply_of(&net, 5));
    net.run();
    assert!(matches!(reply_of(&net, 4), Some(Response::Ok(_))));
    assert!(disagreements(&net).is_empty());
    assert_eq!(total(&net), 0);
}

#[test]
fn coordinator_crash_blocks_shards_until_it_returns_then_presumed_abort() {
    let mut net = prepared(two());
    // Both shards voted yes; the coordinator crashes before the votes arrive.
    net.isolate(0);
    net.run();
    for _ in 0..20 {
        tick(&mut net, 10);
        net.run();
    }
    assert_eq!(net.durable[1].prepared.len(), 1, "shard 1 still blocked in doubt");
    assert!(net.node(1).stats_map()["queries_sent"] > 1);
    assert!(net.node(1).stats_map()["in_doubt_open_ns"] >= 150 * MS);
    net.heal();
    net.restart(0);
    tick(&mut net, 10);
    net.run();
    assert!(net.durable.iter().all(|d| d.prepared.is_empty()));
    assert_eq!(net.durable[1].outcomes.values().collect::<Vec<_>>(), vec![&Decision::Abort]);
    assert!(log(&net).snapshot().in_doubt_ns.iter().all(|&ns| ns >= 200 * MS));
    assert!(disagreements(&net).is_empty());
    assert_eq!(total(&net), 0);
}

/// The commit decision reaches shard 1 but not shard 2, which then waits.
fn lost_commit(config: CommitConfig) -> Net {
    let mut net = cluster(3, config);
    transfer(&mut net, 0, 1, 1, 2, 4);
    net.deliver_if(|m| !matches!(m, CommitMsg::Decide { .. }));
    net.deliver_if(|m| !matches!(m, CommitMsg::Decide { .. }));
    net.isolate(2);
    net.run();
    assert!(matches!(reply_of(&net, 1), Some(Response::Ok(_))));
    for _ in 0..10 {
        tick(&mut net, 10);
        net.run();
    }
    net.heal();
    for _ in 0..5 {
        tick(&mut net, 10);
        net.run();
    }
    net
}

#[test]
fn in_doubt_shard_asks_and_commits() {
    let net = lost_commit(two());
    assert!(disagreements(&net).is_empty());
    assert_eq!(total(&net), 0);
    assert_eq!(net.durable[2].balances[&2], 4);
}

#[test]
fn abort_after_yes_timeout_bug_breaks_atomicity() {
    let mut config = two();
    config.bug_abort_after_yes_timeout = true;
    let net = lost_commit(config);
    let d = disagreements(&net);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].decisions[&1], vec![Decision::Commit]);
    assert_eq!(d[0].decisions[&2], vec![Decision::Abort]);
    assert_eq!(total(&net), -4, "money destroyed");
}

#[test]
fn three_pc_partition_splits_the_decision() {
    let mut net = prepared(three());
    net.deliver_if(|m| matches!(m, CommitMsg::Vote { .. }));
    // Pre-commit reaches shard 1; shard 2 is partitioned away.
    net.isolate(2);
    net.run();
    for _ in 0..10 {
        tick(&mut net, 10);
        net.run();
    }
    // Coordinator committed after the ack timeout; shard 2 aborted by rule.
    assert!(matches!(reply_of(&net, 1), Some(Response::Ok(_))));
    let d = disagreements(&net);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].decisions[&2], vec![Decision::Abort]);
    assert_eq!(total(&net), -4);
}

#[test]
fn three_pc_coordinator_crash_is_non_blocking() {
    // All shards pre-committed, coordinator gone: they commit by timeout.
    let mut net = prepared(three());
    net.deliver_if(|m| matches!(m, CommitMsg::Vote { .. }));
    net.deliver_if(|m| matches!(m, CommitMsg::PreCommit { .. }));
    net.isolate(0);
    net.queue.clear();
    for _ in 0..10 {
        tick(&mut net, 10);
        net.run();
    }
    assert!(net.durable[1..].iter().all(|d| d.prepared.is_empty()), "no blocking");
    assert_eq!(total(&net), 0);
    assert!(disagreements(&net).is_empty());
    // Uncertain shards with the coordinator gone abort by timeout.
    let mut net = prepared(three());
    net.isolate(0);
    for _ in 0..10 {
        tick(&mut net, 10);
        net.run();
    }
    assert!(net.durable[1..].iter().all(|d| d.outcomes.values().all(|&x| x == Decision::Abort)));
    assert!(disagreements(&net).is_empty());
}

#[test]
fn three_pc_restarted_uncertain_shard_asks_instead_of_aborting() {
    let mut net = prepared(three());
    net.deliver_if(|m| matches!(m, CommitMsg::Vote { .. }));
    // Shard 2 is down when pre-commit arrives; the coordinator commits after
    // the ack timeout; shard 2 restarts uncertain.
    net.isolate(2);
    for _ in 0..10 {
        net.now_ns += (10 * MS) as u64;
        for i in [0, 1] {
            net.with(i, |node, ctx| node.on_timer(ctx, TIMER_SWEEP));
        }
        net.run();
    }
    assert_eq!(net.durable[2].prepared[&TxnId { coord: 0, seq: 0 }].state, PState::Uncertain);
    net.heal();
    net.restart(2);
    for _ in 0..10 {
        tick(&mut net, 10);
        net.run();
    }
    assert_eq!(net.durable[2].outcomes.values().collect::<Vec<_>>(), vec![&Decision::Commit]);
    assert!(disagreements(&net).is_empty());
    assert_eq!(total(&net), 0);
}

#[test]
fn bad_requests_fail_cleanly() {
    let mut net = cluster(2, two());
    let req = Request { id: RequestId(9), f: F::Write, key: Some(1.into()), value: 1.into() };
    net.with(0, |node, ctx| node.on_request(ctx, req));
    assert!(is_fail(reply_of(&net, 9)));
    let req = Request { id: RequestId(10), f: F::Transfer, key: None, value: Value::Nil };
    net.with(0, |node, ctx| node.on_request(ctx, req));
    assert!(is_fail(reply_of(&net, 10)));
}

#[test]
fn no_overdraft_votes_no() {
    let mut config = two();
    config.no_overdraft = true;
    let mut net = cluster(2, config);
    transfer(&mut net, 0, 1, 0, 1, 3);
    net.run();
    assert!(is_fail(reply_of(&net, 1)));
    assert_eq!(total(&net), 0);
    assert!(net.durable.iter().all(|d| d.balances.values().all(|&b| b == 0)));
}
