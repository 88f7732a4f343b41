//! Raft driven by hand: a tiny network that delivers queued messages in
//! order and drops those crossing a cut; timers are fired explicitly.

use super::*;
use crate::sim::Effect;
use checker::Value;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

struct Net {
    nodes: Vec<RaftNode>,
    durable: Vec<RaftDurable>,
    rngs: Vec<ChaCha8Rng>,
    queue: VecDeque<(NodeId, NodeId, RaftMsg)>,
    replies: Vec<(NodeId, RequestId, Response)>,
    /// Nodes cut off from everyone: messages to or from them are dropped.
    isolated: BTreeSet<NodeId>,
    now_ns: i64,
}

impl Net {
    fn new(n: usize, config: RaftConfig) -> Net {
        let proto = RaftProtocol { config };
        let durable = vec![RaftDurable::default(); n];
        let mut net = Net {
            nodes: (0..n).map(|i| proto.create(i, n, &durable[i])).collect(),
            durable,
            rngs: (0..n).map(|i| ChaCha8Rng::seed_from_u64(i as u64)).collect(),
            queue: VecDeque::new(),
            replies: Vec::new(),
            isolated: BTreeSet::new(),
            now_ns: 0,
        };
        for i in 0..n {
            net.with(i, |node, ctx| node.on_start(ctx));
        }
        net
    }

    fn with(&mut self, i: NodeId, f: impl FnOnce(&mut RaftNode, &mut RaftCtx)) {
        let mut effects = Vec::new();
        let n = self.nodes.len();
        let mut ctx = Ctx::new(i, n, self.now_ns, &mut self.rngs[i], &mut self.durable[i], &mut effects);
        f(&mut self.nodes[i], &mut ctx);
        for e in effects {
            match e {
                Effect::Send { to, msg } => self.queue.push_back((i, to, msg)),
                Effect::Reply { id, response } => self.replies.push((i, id, response)),
                Effect::Timer { .. } => {}
            }
        }
    }

    fn deliver_all(&mut self) {
        let mut steps = 0;
        while let Some((from, to, msg)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 100_000, "message storm");
            if self.isolated.contains(&from) || self.isolated.contains(&to) {
                continue;
            }
            self.with(to, |node, ctx| node.on_message(ctx, from, msg));
        }
    }

    fn elect(&mut self, i: NodeId) {
        self.with(i, |node, ctx| node.start_election(ctx));
        self.deliver_all();
        assert_eq!(self.nodes[i].role(), Role::Leader, "node {i} should lead");
    }

    fn request(&mut self, at: NodeId, id: u64, f: &str, key: i64, value: Value) {
        let req = Request { id: RequestId(id), f: F::parse(f), key: Some(key.into()), value };
        self.with(at, |node, ctx| node.on_request(ctx, req));
    }

    fn heartbeat(&mut self, leader: NodeId) {
        self.with(leader, |node, ctx| node.broadcast_append(ctx));
        self.deliver_all();
    }

    fn reply_of(&self, id: u64) -> Option<&(NodeId, RequestId, Response)> {
        self.replies.iter().find(|r| r.1 == RequestId(id))
    }

    /// Rebuilds node `i` from its durable state, as after a crash.
    fn restart(&mut self, i: NodeId, config: RaftConfig) {
        let n = self.nodes.len();
        self.nodes[i] = RaftProtocol { config }.create(i, n, &self.durable[i]);
        self.with(i, |node, ctx| node.on_start(ctx));
    }
}

#[test]
fn elects_replicates_and_answers_through_followers() {
    let mut net = Net::new(3, RaftConfig::default());
    net.elect(0);
    assert_eq!(net.nodes[1].leader(), Some(0));
    assert_eq!(net.durable[1].current_term, 1);
    assert_eq!(net.durable[1].voted_for, Some(0));
    // A write sent to a follower is forwarded, committed and answered there.
    net.request(1, 7, "write", 1, 42.into());
    net.deliver_all();
    assert_eq!(net.reply_of(7), Some(&(1, RequestId(7), Response::Ok(42.into()))));
    net.request(2, 8, "read", 1, Value::Nil);
    net.deliver_all();
    assert_eq!(net.reply_of(8).unwrap().2, Response::Ok(42.into()));
    // Followers learn the commit on the next heartbeat and converge.
    net.heartbeat(0);
    for i in 0..3 {
        assert_eq!(net.nodes[i].kv().get(&Some(1.into())), Value::Int(42), "node {i}");
        assert_eq!(net.durable[i].log.len(), 3, "noop + write + read on node {i}");
    }
    assert!(net.nodes[0].stats_map()["committed_requests"] == 2);
}

#[test]
fn forwarding_node_answers_when_it_applies_even_if_the_leader_dies() {
    let mut net = Net::new(3, RaftConfig::default());
    net.elect(0);
    net.request(1, 7, "write", 1, 42.into());
    // The leader commits, but its answer to node 1 is lost (it crashes).
    while let Some((from, to, msg)) = net.queue.pop_front() {
        if matches!(msg, RaftMsg::ForwardResult { .. }) {
            continue;
        }
        net.with(to, |node, ctx| node.on_message(ctx, from, msg));
    }
    assert!(net.reply_of(7).is_none());
    net.isolated.insert(0);
    net.elect(2);
    net.heartbeat(2);
    assert_eq!(net.reply_of(7), Some(&(1, RequestId(7), Response::Ok(42.into()))));
}

#[test]
fn no_leader_known_holds_then_fails_definitely() {
    let mut net = Net::new(3, RaftConfig::default());
    net.request(1, 1, "write", 1, 1.into());
    net.request(1, 2, "write", 1, 2.into());
    assert!(net.replies.is_empty(), "held while an election may end");
    net.now_ns = 300_000_000;
    net.with(1, |node, ctx| node.on_timer(ctx, TIMER_NO_LEADER));
    assert!(matches!(net.reply_of(1).unwrap().2, Response::Fail(_)));
    assert!(matches!(net.reply_of(2).unwrap().2, Response::Fail(_)));
    // Held requests go to the leader once one is known.
    net.request(2, 3, "write", 1, 3.into());
    net.elect(0);
    net.deliver_all();
    assert_eq!(net.reply_of(3).unwrap().2, Response::Ok(3.into()));
}

#[test]
fn minority_leader_cannot_commit_and_gives_unknown_on_step_down() {
    let mut net = Net::new(3, RaftConfig::default());
    net.elect(0);
    net.isolated.insert(0);
    net.request(0, 5, "write", 1, 9.into());
    net.deliver_all();
    assert!(net.reply_of(5).is_none(), "must not commit without a majority");
    assert_eq!(net.nodes[0].commit_index(), 1);
    // The majority elects node 1, which overwrites the uncommitted entry.
    net.elect(1);
    net.isolated.clear();
    net.heartbeat(1);
    assert_eq!(net.nodes[0].role(), Role::Follower);
    assert!(matches!(net.reply_of(5).unwrap().2, Response::Unknown(_)));
    assert_eq!(net.durable[0].log, net.durable[1].log, "conflicting suffix truncated");
    assert!(net.durable[0].log.iter().all(|e| e.cmd == Command::Noop));
}

#[test]
fn vote_denied_to_stale_log_and_persisted() {
    let mut net = Net::new(3, RaftConfig::default());
    net.elect(0);
    net.request(0, 1, "write", 1, 1.into());
    net.isolated.insert(2);
    net.deliver_all();
    net.isolated.clear();
    // Node 2 missed the write: its log is behind nodes 0 and 1.
    net.with(2, |node, ctx| node.start_election(ctx));
    net.deliver_all();
    assert_ne!(net.nodes[2].role(), Role::Leader);
    // Node 1 adopted the higher term durably but did not vote for node 2.
    assert_eq!(net.durable[1].current_term, 2);
    assert_eq!(net.durable[1].voted_for, None);
    // A restarted voter keeps its vote: it cannot vote twice in a term.
    net.with(1, |node, ctx| node.start_election(ctx));
    net.restart(0, RaftConfig::default());
    net.deliver_all();
    assert_eq!(net.durable[0].voted_for, Some(1));
    assert_eq!(net.nodes[1].role(), Role::Leader);
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
    let mut net = Net::new(3, RaftConfig::default());
    net.elect(0);
    for k in 0..5 {
        net.request(0, k, "append", 1, (k as i64).into());
    }
    net.deliver_all();
    net.heartbeat(0);
    net.restart(2, RaftConfig::default());
    assert_eq!(net.nodes[2].kv().get(&Some(1.into())), Value::Nil, "state machine is volatile");
    net.heartbeat(0);
    let list = Value::List((0..5).map(Value::Int).collect());
    assert_eq!(net.nodes[2].kv().get(&Some(1.into())), list);
}

#[test]
fn stale_read_bug_answers_from_a_partitioned_follower() {
    let config = RaftConfig { bug: Some(RaftBug::StaleReads), ..RaftConfig::default() };
    let mut net = Net::new(3, config.clone());
    net.elect(0);
    net.isolated.insert(2);
    net.request(0, 1, "write", 1, 5.into());
    net.deliver_all();
    assert_eq!(net.reply_of(1).unwrap().2, Response::Ok(5.into()));
    net.request(2, 2, "read", 1, Value::Nil);
    assert_eq!(net.reply_of(2).unwrap().2, Response::Ok(Value::Nil), "stale value served");
    // Without the bug the isolated follower cannot answer a read.
    let mut good = Net::new(3, RaftConfig::default());
    good.elect(0);
    good.isolated.insert(2);
    good.request(0, 1, "write", 1, 5.into());
    good.deliver_all();
    good.request(2, 2, "read", 1, Value::Nil);
    good.deliver_all();
    assert!(good.reply_of(2).is_none());
}

/// Figure 8 of the Raft paper. S1 (node 0) leads term 2 and puts entry 2 on
/// S2 only; S5 (node 4) leads term 3 with its own entry 2; S1 leads term 4
/// and copies entry 2 (term 2) to S3. Counting replicas then "commits"
/// entry 2, which S5 can still overwrite. Returns (commit index S1 reached,
/// whether the committed entry survived S5's later leadership).
fn figure_8(bug: Option<RaftBug>) -> (u64, bool) {
    let config = RaftConfig { bug, max_batch: 1, ..RaftConfig::default() };
    let mut net = Net::new(5, config);
    let req = |id| Request { id: RequestId(id), f: F::Write, key: Some(1.into()), value: Value::Int(id as i64) };
    let e = |term, id| Entry { term, cmd: Command::Client { origin: 0, req: req(id) } };
    let noop1 = Entry { term: 1, cmd: Command::Noop };
    net.durable[0] = RaftDurable { current_term: 3, voted_for: None, log: vec![noop1.clone(), e(2, 20)] };
    net.durable[1] = RaftDurable { current_term: 3, voted_for: None, log: vec![noop1.clone(), e(2, 20)] };
    net.durable[2] = RaftDurable { current_term: 3, voted_for: None, log: vec![noop1.clone()] };
    net.durable[3] = RaftDurable { current_term: 3, voted_for: None, log: vec![noop1.clone()] };
    net.durable[4] = RaftDurable { current_term: 3, voted_for: Some(4), log: vec![noop1.clone(), e(3, 30)] };
    for i in 0..5 {
        net.restart(i, net.nodes[i].config.clone());
    }
    // S1 wins term 4 with votes from S2, S3 (S4 and S5 unreachable).
    net.isolated.extend([3, 4]);
    net.with(0, |node, ctx| node.start_election(ctx));
    // Deliver until S1 has heard that S3 stores entry 2 (batches of one
    // entry: S3 gets entry 2 before S1's term-4 no-op).
    while let Some((from, to, msg)) = net.queue.pop_front() {
        if net.isolated.contains(&from) || net.isolated.contains(&to) {
            continue;
        }
        net.with(to, |node, ctx| node.on_message(ctx, from, msg));
        if net.nodes[0].match_index[2] >= 2 {
            break;
        }
    }
    assert_eq!(net.nodes[0].role(), Role::Leader);
    net.queue.clear();
    let committed = net.nodes[0].commit_index();
    // S1 crashes; S5 is elected by S3 and S4 (its last term 3 beats their
    // 2) in term 5 (in term 4 they already voted for S1).
    net.isolated = BTreeSet::from([0]);
    net.with(4, |node, ctx| node.start_election(ctx));
    net.deliver_all();
    net.with(4, |node, ctx| node.start_election(ctx));
    net.deliver_all();
    assert_eq!(net.nodes[4].role(), Role::Leader);
    net.heartbeat(4);
    net.heartbeat(4);
    let survived = net.durable[2].log.get(1) == Some(&e(2, 20));
    (committed, survived)
}

#[test]
fn figure_8_term_check_prevents_losing_a_committed_entry() {
    let (committed, _) = figure_8(None);
    assert!(committed < 2, "an entry of term 2 must not commit by counting in term 4 (got {committed})");
    let (committed, survived) = figure_8(Some(RaftBug::NoTermCheckOnCommit));
    assert_eq!(committed, 2, "the bug commits entry 2 by counting replicas");
    assert!(!survived, "the committed entry is overwritten by S5");
}

#[test]
fn params_parse_and_reject() {
    let p = |kv: &[(&str, &str)]| {
        RaftProtocol::from_params(&kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    };
    let r = p(&[("bug", "stale-reads"), ("election_timeout_ms", "300"), ("heartbeat_ms", "50")]).unwrap();
    assert_eq!(r.config.bug, Some(RaftBug::StaleReads));
    assert_eq!(r.config.election_timeout_ns, 300_000_000);
    assert!(p(&[("bogus", "1")]).unwrap_err().contains("bogus"));
    assert!(p(&[("bug", "nope")]).unwrap_err().contains("bug"));
    assert!(p(&[("heartbeat_ms", "x")]).unwrap_err().contains("heartbeat_ms"));
    assert!(p(&[("heartbeat_ms", "500")]).unwrap_err().contains("heartbeat_ms"));
}
