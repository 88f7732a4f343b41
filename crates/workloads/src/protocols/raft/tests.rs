//! Raft driven by hand on the shared [`ManualNet`]: messages delivered in
//! order, nodes isolated, timers fired explicitly.

use super::*;
use crate::sim::manual::ManualNet;
use checker::Value;

type Net = ManualNet<RaftProtocol>;

fn cluster(n: usize, config: RaftConfig) -> Net {
    ManualNet::new(RaftProtocol { config }, n)
}

fn elect(net: &mut Net, i: NodeId) {
    net.with(i, |node, ctx| node.start_election(ctx));
    net.run();
    assert_eq!(net.node(i).role(), Role::Leader, "node {i} should lead");
}

fn request(net: &mut Net, at: NodeId, id: u64, f: &str, key: i64, value: Value) {
    net.request_with_id(at, RequestId(id), F::parse(f), Some(key.into()), value);
}

fn heartbeat(net: &mut Net, leader: NodeId) {
    net.with(leader, |node, ctx| node.broadcast_append(ctx));
    net.run();
}

fn reply_of(net: &Net, id: u64) -> Option<&(NodeId, Response)> {
    net.replies.get(&RequestId(id))
}

/// Rebuilds node `i` from its durable state with `config`, as after a crash.
fn restart_with(net: &mut Net, i: NodeId, config: RaftConfig) {
    net.proto = RaftProtocol { config };
    net.restart(i);
}

#[test]
fn elects_replicates_and_answers_through_followers() {
    let mut net = cluster(3, RaftConfig::default());
    elect(&mut net, 0);
    assert_eq!(net.node(1).leader(), Some(0));
    assert_eq!(net.durable[1].current_term, 1);
    assert_eq!(net.durable[1].voted_for, Some(0));
    // A write sent to a follower is forwarded, committed and answered there.
    request(&mut net, 1, 7, "write", 1, 42.into());
    net.run();
    assert_eq!(reply_of(&net, 7), Some(&(1, Response::Ok(42.into()))));
    request(&mut net, 2, 8, "read", 1, Value::Nil);
    net.run();
    assert_eq!(reply_of(&net, 8).unwrap().1, Response::Ok(42.into()));
    // Followers learn the commit on the next heartbeat and converge.
    heartbeat(&mut net, 0);
    for i in 0..3 {
        assert_eq!(net.node(i).kv().get(&Some(1.into())), Value::Int(42), "node {i}");
        assert_eq!(net.durable[i].log.len(), 3, "noop + write + read on node {i}");
    }
    assert!(net.node(0).stats_map()["committed_requests"] == 2);
}

#[test]
fn forwarding_node_answers_when_it_applies_even_if_the_leader_dies() {
    let mut net = cluster(3, RaftConfig::default());
    elect(&mut net, 0);
    request(&mut net, 1, 7, "write", 1, 42.into());
    // The leader commits, but its answer to node 1 is lost (it crashes).
    while let Some((from, to, msg)) = net.queue.pop_front() {
        if matches!(msg, RaftMsg::ForwardResult { .. }) {
            continue;
        }
        net.with(to, |node, ctx| node.on_message(ctx, from, msg));
    }
    assert!(reply_of(&net, 7).is_none());
    net.isolate(0);
    elect(&mut net, 2);
    heartbeat(&mut net, 2);
    assert_eq!(reply_of(&net, 7), Some(&(1, Response::Ok(42.into()))));
}

#[test]
fn no_leader_known_holds_then_fails_definitely() {
    let mut net = cluster(3, RaftConfig::default());
    request(&mut net, 1, 1, "write", 1, 1.into());
    request(&mut net, 1, 2, "write", 1, 2.into());
    assert!(net.replies.is_empty(), "held while an election may end");
    net.now_ns += 300_000_000;
    net.with(1, |node, ctx| node.on_timer(ctx, TIMER_NO_LEADER));
    assert!(matches!(reply_of(&net, 1).unwrap().1, Response::Fail(_)));
    assert!(matches!(reply_of(&net, 2).unwrap().1, Response::Fail(_)));
    // Held requests go to the leader once one is known.
    request(&mut net, 2, 3, "write", 1, 3.into());
    elect(&mut net, 0);
    net.run();
    assert_eq!(reply_of(&net, 3).unwrap().1, Response::Ok(3.into()));
}

#[test]
fn minority_leader_cannot_commit_and_gives_unknown_on_step_down() {
    let mut net = cluster(3, RaftConfig::default());
    elect(&mut net, 0);
    net.isolate(0);
    request(&mut net, 0, 5, "write", 1, 9.into());
    net.run();
    assert!(reply_of(&net, 5).is_none(), "must not commit without a majority");
    assert_eq!(net.node(0).commit_index(), 1);
    // The majority elects node 1, which overwrites the uncommitted entry.
    elect(&mut net, 1);
    net.heal();
    heartbeat(&mut net, 1);
    assert_eq!(net.node(0).role(), Role::Follower);
    assert!(matches!(reply_of(&net, 5).unwrap().1, Response::Unknown(_)));
    assert_eq!(net.durable[0].log, net.durable[1].log, "conflicting suffix truncated");
    assert!(net.durable[0].log.iter().all(|e| e.cmd == Command::Noop));
}

#[test]
fn vote_denied_to_stale_log_and_persisted() {
    let mut net = cluster(3, RaftConfig::default());
    elect(&mut net, 0);
    request(&mut net, 0, 1, "write", 1, 1.into());
    net.isolate(2);
    net.run();
    net.heal();
    // Node 2 missed the write: its log is behind nodes 0 and 1.
    net.with(2, |node, ctx| node.start_election(ctx));
    net.run();
    assert_ne!(net.node(2).role(), Role::Leader);
    // Node 1 adopted the higher term durably but did not vote for node 2.
    assert_eq!(net.durable[1].current_term, 2);
    assert_eq!(net.durable[1].voted_for, None);
    // A restarted voter keeps its vote: it cannot vote twice in a term.
    net.with(1, |node, ctx| node.start_election(ctx));
    restart_with(&mut net, 0, RaftConfig::default());
    net.run();
    assert_eq!(net.durable[0].voted_for, Some(1));
    assert_eq!(net.node(1).role(), Role::Leader);
    net.with(2, |node, ctx| {
        node.on_message(ctx, 2, RaftMsg::RequestVote { term: 3, last_log_index: 9, last_log_term: 3 })
    });
    net.queue.clear();
    let before = net.durable[0].voted_for;
    net.with(0, |node, ctx| {
        node.on_message(ctx, 2, RaftMsg::RequestVote { term: 3, last_log_index: 9, last_log_term: 3 })
    });
    assert_eq!(before, Some(1));
    assert_eq!(net.durable[0].voted_for, Some(1), "already voted in term 3");
    assert!(matches!(net.queue.back(), Some((0, 2, RaftMsg::Vote { granted: false, .. }))));
}

#[test]
fn restarted_node_catches_up_and_rebuilds_state() {
    let mut net = cluster(3, RaftConfig::default());
    elect(&mut net, 0);
    for k in 0..5 {
        request(&mut net, 0, k, "append", 1, (k as i64).into());
    }
    net.run();
    heartbeat(&mut net, 0);
    restart_with(&mut net, 2, RaftConfig::default());
    assert_eq!(net.node(2).kv().get(&Some(1.into())), Value::Nil, "state machine is volatile");
    heartbeat(&mut net, 0);
    let list = Value::List((0..5).map(Value::Int).collect());
    assert_eq!(net.node(2).kv().get(&Some(1.into())), list);
}

#[test]
fn stale_read_bug_answers_from_a_partitioned_follower() {
    let config = RaftConfig { bug: Some(RaftBug::StaleReads), ..RaftConfig::default() };
    let mut net = cluster(3, config.clone());
    elect(&mut net, 0);
    net.isolate(2);
    request(&mut net, 0, 1, "write", 1, 5.into());
    net.run();
    assert_eq!(reply_of(&net, 1).unwrap().1, Response::Ok(5.into()));
    request(&mut net, 2, 2, "read", 1, Value::Nil);
    assert_eq!(reply_of(&net, 2).unwrap().1, Response::Ok(Value::Nil), "stale value served");
    // Without the bug the isolated follower cannot answer a read.
    let mut good = cluster(3, RaftConfig::default());
    elect(&mut good, 0);
    good.isolate(2);
    request(&mut good, 0, 1, "write", 1, 5.into());
    good.run();
    request(&mut good, 2, 2, "read", 1, Value::Nil);
    good.run();
    assert!(reply_of(&good, 2).is_none());
}

/// Figure 8 of the Raft paper. S1 (node 0) leads term 2 and puts entry 2 on
/// S2 only; S5 (node 4) leads term 3 with its own entry 2; S1 leads term 4
/// and copies entry 2 (term 2) to S3. Counting replicas then "commits"
/// entry 2, which S5 can still overwrite. Returns (commit index S1 reached,
/// whether the committed entry survived S5's later leadership, the
/// invariants the monitor saw broken).
fn figure_8(bug: Option<RaftBug>) -> (u64, bool, Vec<&'static str>) {
    let config = RaftConfig { bug, max_batch: 1, ..RaftConfig::default() };
    let mut net = cluster(5, config);
    let req = |id| Request { id: RequestId(id), f: F::Write, key: Some(1.into()), value: Value::Int(id as i64) };
    let e = |term, id| Entry { term, cmd: Command::Client { origin: 0, req: req(id) } };
    let noop1 = Entry { term: 1, cmd: Command::Noop };
    net.durable[0] = RaftDurable { current_term: 3, voted_for: None, log: vec![noop1.clone(), e(2, 20)] };
    net.durable[1] = RaftDurable { current_term: 3, voted_for: None, log: vec![noop1.clone(), e(2, 20)] };
    net.durable[2] = RaftDurable { current_term: 3, voted_for: None, log: vec![noop1.clone()] };
    net.durable[3] = RaftDurable { current_term: 3, voted_for: None, log: vec![noop1.clone()] };
    net.durable[4] = RaftDurable { current_term: 3, voted_for: Some(4), log: vec![noop1.clone(), e(3, 30)] };
    for i in 0..5 {
        net.restart(i);
    }
    // S1 wins term 4 with votes from S2, S3 (S4 and S5 unreachable).
    net.isolate(3);
    net.isolate(4);
    net.with(0, |node, ctx| node.start_election(ctx));
    // Deliver until S1 has heard that S3 stores entry 2 (batches of one
    // entry: S3 gets entry 2 before S1's term-4 no-op).
    while let Some((from, to, msg)) = net.queue.pop_front() {
        net.deliver(from, to, msg);
        if net.node(0).match_index[2] >= 2 {
            break;
        }
    }
    assert_eq!(net.node(0).role(), Role::Leader);
    net.queue.clear();
    let committed = net.node(0).commit_index();
    // S1 crashes; S5 is elected by S3 and S4 (its last term 3 beats their
    // 2) in term 5 (in term 4 they already voted for S1).
    net.heal();
    net.isolate(0);
    net.with(4, |node, ctx| node.start_election(ctx));
    net.run();
    net.with(4, |node, ctx| node.start_election(ctx));
    net.run();
    assert_eq!(net.node(4).role(), Role::Leader);
    heartbeat(&mut net, 4);
    heartbeat(&mut net, 4);
    let survived = net.durable[2].log.get(1) == Some(&e(2, 20));
    (committed, survived, net.violations.iter().map(|(_, v)| v.invariant).collect())
}

#[test]
fn figure_8_term_check_prevents_losing_a_committed_entry() {
    let (committed, _, violated) = figure_8(None);
    assert!(committed < 2, "an entry of term 2 must not commit by counting in term 4 (got {committed})");
    assert_eq!(violated, Vec::<&str>::new());
    let (committed, survived, violated) = figure_8(Some(RaftBug::NoTermCheckOnCommit));
    assert_eq!(committed, 2, "the bug commits entry 2 by counting replicas");
    assert!(!survived, "the committed entry is overwritten by S5");
    // The monitor sees it at once: S5 becomes leader without the committed
    // entry, then commits another one at its index.
    assert_eq!(violated[0], "leader-completeness", "{violated:?}");
    assert!(violated.contains(&"state-machine-safety"), "{violated:?}");
}

#[test]
fn params_parse_and_reject() {
    let p = |kv: &[(&str, &str)]| RaftProtocol::from_params(&crate::protocols::common::params::given(kv));
    let r = p(&[("bug", "stale-reads"), ("election_timeout_ms", "300"), ("heartbeat_ms", "50")]).unwrap();
    assert_eq!(r.config.bug, Some(RaftBug::StaleReads));
    assert_eq!(r.config.election_timeout_ns, 300_000_000);
    assert!(p(&[("bogus", "1")]).unwrap_err().to_string().contains("bogus"));
    assert!(p(&[("bug", "nope")]).unwrap_err().to_string().contains("bug"));
    assert!(p(&[("heartbeat_ms", "x")]).unwrap_err().to_string().contains("heartbeat_ms"));
    assert!(p(&[("heartbeat_ms", "500")]).unwrap_err().to_string().contains("heartbeat_ms"));
}

/// Regression (#13): raft's own copy of the key-value state machine wrapped
/// an overflowing counter where single's failed it; raft now applies
/// through the one `common::KvStore`, so the increment fails and the
/// counter stays.
#[test]
fn raft_counter_overflow_fails_and_leaves_the_counter() {
    let mut net = cluster(3, RaftConfig::default());
    elect(&mut net, 0);
    request(&mut net, 0, 1, "incr", 1, Value::Int(i64::MAX));
    net.run();
    assert_eq!(reply_of(&net, 1), Some(&(0, Response::Ok(Value::Int(i64::MAX)))));
    request(&mut net, 0, 2, "incr", 1, 1.into());
    net.run();
    assert!(
        matches!(reply_of(&net, 2), Some((0, Response::Fail(m))) if m.contains("overflow")),
        "{:?}",
        reply_of(&net, 2)
    );
    assert_eq!(net.node(0).kv().get(&Some(1.into())), Value::Int(i64::MAX));
}
