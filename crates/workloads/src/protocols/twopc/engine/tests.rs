//! 2PC and 3PC driven by hand: queued messages delivered in order, a cut
//! that drops messages to chosen nodes, explicit time and timer firing.

use super::super::bank::Disagreement;
use super::*;
use crate::sim::Effect;
use checker::F;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

struct Net {
    nodes: Vec<CommitNode>,
    durable: Vec<CommitDurable>,
    rngs: Vec<ChaCha8Rng>,
    config: CommitConfig,
    log: Arc<DecisionLog>,
    queue: VecDeque<(NodeId, NodeId, CommitMsg)>,
    replies: Vec<(NodeId, RequestId, Response)>,
    /// Messages to or from these nodes are dropped.
    cut: BTreeSet<NodeId>,
    now_ns: i64,
}

const MS: i64 = 1_000_000;

impl Net {
    fn new(n: usize, config: CommitConfig) -> Net {
        let log = Arc::new(DecisionLog::default());
        let mut net = Net {
            nodes: (0..n).map(|i| CommitNode::new(i, n, config.clone(), Some(log.clone()))).collect(),
            durable: vec![CommitDurable::default(); n],
            rngs: (0..n).map(|i| ChaCha8Rng::seed_from_u64(i as u64)).collect(),
            config,
            log,
            queue: VecDeque::new(),
            replies: Vec::new(),
            cut: BTreeSet::new(),
            now_ns: 0,
        };
        for i in 0..n {
            net.with(i, |node, ctx| node.on_start(ctx));
        }
        net
    }

    fn with(&mut self, i: NodeId, f: impl FnOnce(&mut CommitNode, &mut CommitCtx)) {
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
        while let Some((from, to, msg)) = self.queue.pop_front() {
            if !self.cut.contains(&from) && !self.cut.contains(&to) {
                self.with(to, |node, ctx| node.on_message(ctx, from, msg));
            }
        }
    }

    /// Delivers only messages matching `pred`, in order, until none is
    /// left (also those sent meanwhile); others stay queued.
    fn deliver_if(&mut self, pred: impl Fn(&CommitMsg) -> bool) {
        loop {
            let queued: Vec<_> = self.queue.drain(..).collect();
            let mut delivered = false;
            for (from, to, msg) in queued {
                if pred(&msg) {
                    delivered = true;
                    if !self.cut.contains(&from) && !self.cut.contains(&to) {
                        self.with(to, |node, ctx| node.on_message(ctx, from, msg));
                    }
                } else {
                    self.queue.push_back((from, to, msg));
                }
            }
            if !delivered {
                return;
            }
        }
    }

    /// Advances time and fires every node's sweep timer.
    fn tick(&mut self, ms: i64) {
        self.now_ns += ms * MS;
        for i in 0..self.nodes.len() {
            self.with(i, |node, ctx| node.on_timer(ctx, TIMER_SWEEP));
        }
    }

    fn transfer(&mut self, at: NodeId, id: u64, from: i64, to: i64, amount: i64) {
        let value =
            Value::map(vec![("from".into(), from.into()), ("to".into(), to.into()), ("amount".into(), amount.into())]);
        let req = Request { id: RequestId(id), f: F::Transfer, key: None, value };
        self.with(at, |node, ctx| node.on_request(ctx, req));
    }

    fn read(&mut self, at: NodeId, id: u64) {
        let req = Request { id: RequestId(id), f: F::Read, key: None, value: Value::Nil };
        self.with(at, |node, ctx| node.on_request(ctx, req));
    }

    fn reply_of(&self, id: u64) -> Option<&Response> {
        self.replies.iter().find(|r| r.1 == RequestId(id)).map(|r| &r.2)
    }

    fn restart(&mut self, i: NodeId) {
        let n = self.nodes.len();
        self.nodes[i] = CommitNode::new(i, n, self.config.clone(), Some(self.log.clone()));
        self.with(i, |node, ctx| node.on_start(ctx));
    }

    fn total(&self) -> i64 {
        self.durable.iter().flat_map(|d| d.balances.values()).sum()
    }

    fn disagreements(&self) -> Vec<Disagreement> {
        self.log.disagreements()
    }
}

fn two() -> CommitConfig {
    CommitConfig::new(Mode::TwoPhase)
}

fn three() -> CommitConfig {
    CommitConfig::new(Mode::ThreePhase)
}

fn is_fail(r: Option<&Response>) -> bool {
    matches!(r, Some(Response::Fail(_)))
}

#[test]
fn transfer_commits_on_both_shards_and_reads_see_it() {
    for config in [two(), three()] {
        let mut net = Net::new(3, config);
        net.transfer(0, 1, 1, 2, 4);
        net.deliver_all();
        assert!(matches!(net.reply_of(1), Some(Response::Ok(_))), "{:?}", net.reply_of(1));
        assert_eq!(net.durable[1].balances[&1], -4);
        assert_eq!(net.durable[2].balances[&2], 4);
        net.read(2, 2);
        net.deliver_all();
        let bank = Value::List(vec![0.into(), (-4).into(), 4.into()]);
        assert_eq!(net.reply_of(2), Some(&Response::Ok(bank)));
        assert!(net.durable.iter().all(|d| d.prepared.is_empty()), "locks released");
        assert!(net.disagreements().is_empty());
    }
}

#[test]
fn conflicting_prepares_wait_for_locks_then_proceed_or_vote_no() {
    let mut net = Net::new(3, two());
    net.transfer(0, 1, 1, 2, 4);
    // Deliver only the prepares: shards 1 and 2 now hold locks.
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    net.transfer(0, 2, 4, 0, 1); // account 4 is on locked shard 1, but is not itself locked
    net.read(1, 3);
    net.deliver_if(|m| !matches!(m, CommitMsg::Vote { txn, .. } if txn.seq == 0));
    assert!(matches!(net.reply_of(2), Some(Response::Ok(_))), "disjoint accounts do not conflict");
    assert!(net.reply_of(3).is_none(), "the read waits for the transfer's locks");
    net.deliver_all();
    assert!(matches!(net.reply_of(1), Some(Response::Ok(_))));
    let bank = Value::List(vec![1.into(), (-4).into(), 4.into(), 0.into(), (-1).into()]);
    assert_eq!(net.reply_of(3), Some(&Response::Ok(bank)), "the read ran after both transfers");
    let waits: i64 = net.nodes.iter().map(|n| n.stats_map()["lock_waits"]).sum();
    assert!(waits >= 2, "{waits}");
    // A prepare whose locks stay taken too long gets a no vote.
    net.transfer(0, 4, 1, 2, 1);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    net.transfer(2, 5, 2, 1, 1);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    net.tick(30);
    net.deliver_if(|m| !matches!(m, CommitMsg::Vote { txn, .. } if txn.coord == 0));
    assert!(is_fail(net.reply_of(5)), "{:?}", net.reply_of(5));
    net.deliver_all();
    assert!(matches!(net.reply_of(4), Some(Response::Ok(_))));
    assert!(net.disagreements().is_empty());
    assert_eq!(net.total(), 0);
}

#[test]
fn coordinator_crash_blocks_shards_until_it_returns_then_presumed_abort() {
    let mut net = Net::new(3, two());
    net.transfer(0, 1, 1, 2, 4);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    // Both shards voted yes; the coordinator crashes before the votes arrive.
    net.cut.insert(0);
    net.deliver_all();
    for _ in 0..20 {
        net.tick(10);
        net.deliver_all();
    }
    assert_eq!(net.durable[1].prepared.len(), 1, "shard 1 still blocked in doubt");
    assert!(net.nodes[1].stats_map()["queries_sent"] > 1);
    assert!(net.nodes[1].stats_map()["in_doubt_open_ns"] >= 150 * MS);
    net.cut.clear();
    net.restart(0);
    net.tick(10);
    net.deliver_all();
    assert!(net.durable.iter().all(|d| d.prepared.is_empty()));
    assert_eq!(net.durable[1].outcomes.values().collect::<Vec<_>>(), vec![&Decision::Abort]);
    assert!(net.log.snapshot().in_doubt_ns.iter().all(|&ns| ns >= 200 * MS));
    assert!(net.disagreements().is_empty());
    assert_eq!(net.total(), 0);
}

/// The commit decision reaches shard 1 but not shard 2, which then waits.
fn lost_commit(config: CommitConfig) -> Net {
    let mut net = Net::new(3, config);
    net.transfer(0, 1, 1, 2, 4);
    net.deliver_if(|m| !matches!(m, CommitMsg::Decide { .. }));
    net.deliver_if(|m| !matches!(m, CommitMsg::Decide { .. }));
    net.cut.insert(2);
    net.deliver_all();
    assert!(matches!(net.reply_of(1), Some(Response::Ok(_))));
    for _ in 0..10 {
        net.tick(10);
        net.deliver_all();
    }
    net.cut.clear();
    for _ in 0..5 {
        net.tick(10);
        net.deliver_all();
    }
    net
}

#[test]
fn in_doubt_shard_asks_and_commits() {
    let net = lost_commit(two());
    assert!(net.disagreements().is_empty());
    assert_eq!(net.total(), 0);
    assert_eq!(net.durable[2].balances[&2], 4);
}

#[test]
fn abort_after_yes_timeout_bug_breaks_atomicity() {
    let mut config = two();
    config.bug_abort_after_yes_timeout = true;
    let net = lost_commit(config);
    let d = net.disagreements();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].decisions[&1], vec![Decision::Commit]);
    assert_eq!(d[0].decisions[&2], vec![Decision::Abort]);
    assert_eq!(net.total(), -4, "money destroyed");
}

#[test]
fn three_pc_partition_splits_the_decision() {
    let mut net = Net::new(3, three());
    net.transfer(0, 1, 1, 2, 4);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    net.deliver_if(|m| matches!(m, CommitMsg::Vote { .. }));
    // Pre-commit reaches shard 1; shard 2 is partitioned away.
    net.cut.insert(2);
    net.deliver_all();
    for _ in 0..10 {
        net.tick(10);
        net.deliver_all();
    }
    // Coordinator committed after the ack timeout; shard 2 aborted by rule.
    assert!(matches!(net.reply_of(1), Some(Response::Ok(_))));
    let d = net.disagreements();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].decisions[&2], vec![Decision::Abort]);
    assert_eq!(net.total(), -4);
}

#[test]
fn three_pc_coordinator_crash_is_non_blocking() {
    // All shards pre-committed, coordinator gone: they commit by timeout.
    let mut net = Net::new(3, three());
    net.transfer(0, 1, 1, 2, 4);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    net.deliver_if(|m| matches!(m, CommitMsg::Vote { .. }));
    net.deliver_if(|m| matches!(m, CommitMsg::PreCommit { .. }));
    net.cut.insert(0);
    net.queue.clear();
    for _ in 0..10 {
        net.tick(10);
        net.deliver_all();
    }
    assert!(net.durable[1..].iter().all(|d| d.prepared.is_empty()), "no blocking");
    assert_eq!(net.total(), 0);
    assert!(net.disagreements().is_empty());
    // Uncertain shards with the coordinator gone abort by timeout.
    let mut net = Net::new(3, three());
    net.transfer(0, 1, 1, 2, 4);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    net.cut.insert(0);
    for _ in 0..10 {
        net.tick(10);
        net.deliver_all();
    }
    assert!(net.durable[1..].iter().all(|d| d.outcomes.values().all(|&x| x == Decision::Abort)));
    assert!(net.disagreements().is_empty());
}

#[test]
fn three_pc_restarted_uncertain_shard_asks_instead_of_aborting() {
    let mut net = Net::new(3, three());
    net.transfer(0, 1, 1, 2, 4);
    net.deliver_if(|m| matches!(m, CommitMsg::Prepare { .. }));
    net.deliver_if(|m| matches!(m, CommitMsg::Vote { .. }));
    // Shard 2 is down when pre-commit arrives; the coordinator commits after
    // the ack timeout; shard 2 restarts uncertain.
    net.cut.insert(2);
    for _ in 0..10 {
        net.now_ns += 10 * MS;
        for i in [0, 1] {
            net.with(i, |node, ctx| node.on_timer(ctx, TIMER_SWEEP));
        }
        net.deliver_all();
    }
    assert_eq!(net.durable[2].prepared[&TxnId { coord: 0, seq: 0 }].state, PState::Uncertain);
    net.cut.clear();
    net.restart(2);
    for _ in 0..10 {
        net.tick(10);
        net.deliver_all();
    }
    assert_eq!(net.durable[2].outcomes.values().collect::<Vec<_>>(), vec![&Decision::Commit]);
    assert!(net.disagreements().is_empty());
    assert_eq!(net.total(), 0);
}

#[test]
fn bad_requests_fail_cleanly() {
    let mut net = Net::new(2, two());
    let req = Request { id: RequestId(9), f: F::Write, key: Some(1.into()), value: 1.into() };
    net.with(0, |node, ctx| node.on_request(ctx, req));
    assert!(is_fail(net.reply_of(9)));
    let req = Request { id: RequestId(10), f: F::Transfer, key: None, value: Value::Nil };
    net.with(0, |node, ctx| node.on_request(ctx, req));
    assert!(is_fail(net.reply_of(10)));
}

#[test]
fn no_overdraft_votes_no() {
    let mut config = two();
    config.no_overdraft = true;
    let mut net = Net::new(2, config);
    net.transfer(0, 1, 0, 1, 3);
    net.deliver_all();
    assert!(is_fail(net.reply_of(1)));
    assert_eq!(net.total(), 0);
    assert!(net.durable.iter().all(|d| d.balances.values().all(|&b| b == 0)));
}
