//! The atomic-commit engine shared by 2PC and 3PC. Every node is both a
//! shard (holding accounts `a` with `a % nodes == id`) and the coordinator
//! of the transactions its clients send it.
//!
//! Two-phase (Gray; presumed abort): the coordinator sends `Prepare`; each
//! shard locks its accounts and votes (yes is logged durably first); on all
//! yes the coordinator logs `Committed` and sends the decision, else sends
//! abort. A shard that voted yes waits for the decision however long it
//! takes, asking the coordinator periodically: it blocks while the
//! coordinator is unreachable, and that time is measured.
//!
//! Three-phase (Skeen): after all yes votes the coordinator logs
//! `PreCommitted` and sends `PreCommit`, waits for acks, then commits. The
//! timeout rules decide without the coordinator: a shard uncertain (voted
//! yes, no pre-commit) aborts; a pre-committed shard commits; a coordinator
//! missing acks commits. A shard that restarts uncertain asks the
//! coordinator and its peers instead of deciding alone. Safe when messages
//! arrive within the timeouts; a partition splits the decision.

use super::bank::{assemble_read, plan, BankOp, Decision, DecisionLog, ShardWork, TxnId};
use crate::protocols::common::stats_map;
use crate::sim::{Ctx, Monitor, Node, NodeId, Request, RequestId, Response, Violation};
use checker::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    TwoPhase,
    ThreePhase,
}

impl Mode {
    /// The protocol's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::TwoPhase => "2pc",
            Mode::ThreePhase => "3pc",
        }
    }
}

/// Timing and behaviour shared by both protocols.
#[derive(Clone, Debug)]
pub struct CommitConfig {
    pub mode: Mode,
    /// Coordinator: how long to wait for all votes before aborting.
    pub vote_timeout_ns: u64,
    /// 3PC coordinator: how long to wait for pre-commit acks before
    /// committing anyway.
    pub ack_timeout_ns: u64,
    /// Shard: how long to wait for the decision after voting yes (2PC:
    /// then ask the coordinator; 3PC: then decide by the timeout rule).
    pub participant_timeout_ns: u64,
    /// Shard: period of repeated questions while in doubt.
    pub retry_ns: u64,
    /// Shard: how long a prepare may wait for locks held by other
    /// transactions before the shard votes no (this also breaks deadlocks
    /// between transactions waiting on each other's shards).
    pub lock_wait_ns: u64,
    /// Shards vote no when a transfer would make a balance negative. Off by
    /// default: the bundled bank workload lets balances go negative.
    pub no_overdraft: bool,
    /// 2PC bug: a shard that voted yes and hears nothing aborts on its own.
    pub bug_abort_after_yes_timeout: bool,
}

impl CommitConfig {
    /// The defaults of `mode` (from its parameter table).
    pub fn new(mode: Mode) -> CommitConfig {
        super::CommitProtocol::new(mode).config
    }

    fn sweep_ns(&self) -> u64 {
        let ack = if self.mode == Mode::ThreePhase { self.ack_timeout_ns } else { u64::MAX };
        let t =
            self.vote_timeout_ns.min(ack).min(self.participant_timeout_ns).min(self.retry_ns).min(self.lock_wait_ns);
        (t / 4).max(1_000_000)
    }
}

/// Most transactions one coordinator runs at once; more are refused.
pub const MAX_ACTIVE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PState {
    /// Voted yes; decision unknown.
    Uncertain,
    /// 3PC: received pre-commit.
    PreCommitted,
}

/// A shard's durable record of a transaction it voted yes on (its locks).
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub work: ShardWork,
    pub participants: Vec<NodeId>,
    pub state: PState,
    /// Local time of the yes vote (for the in-doubt statistic).
    pub voted_ns: i64,
    /// Local time the current state began (for timeouts).
    pub since_ns: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordState {
    PreCommitted,
    Committed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CoordRecord {
    pub state: CoordState,
    pub participants: Vec<NodeId>,
}

/// What survives a crash: balances, locks (prepared records), decisions,
/// and the coordinator's log. Decisions and the coordinator's log grow by
/// one entry per transaction (no garbage collection in these short runs).
#[derive(Clone, Debug, Default)]
pub struct CommitDurable {
    pub balances: BTreeMap<usize, i64>,
    pub prepared: BTreeMap<TxnId, Prepared>,
    pub outcomes: BTreeMap<TxnId, Decision>,
    pub next_seq: u64,
    /// Presumed abort: a transaction absent here (and not running) aborted.
    pub coord_log: BTreeMap<TxnId, CoordRecord>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Decided(Decision),
    PreCommitted,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CommitMsg {
    /// 2PC prepare / 3PC can-commit.
    Prepare {
        txn: TxnId,
        work: ShardWork,
        participants: Vec<NodeId>,
    },
    Vote {
        txn: TxnId,
        yes: bool,
        reason: String,
        read: Vec<(usize, i64)>,
    },
    PreCommit {
        txn: TxnId,
    },
    PreCommitAck {
        txn: TxnId,
    },
    /// Commit / abort (3PC: do-commit).
    Decide {
        txn: TxnId,
        decision: Decision,
    },
    /// A shard in doubt asks (the coordinator, or in 3PC recovery its peers).
    Query {
        txn: TxnId,
    },
    QueryReply {
        txn: TxnId,
        answer: Answer,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Voting,
    PreCommitting,
}

struct Active {
    req: RequestId,
    op: BankOp,
    participants: Vec<NodeId>,
    reads: BTreeMap<NodeId, Vec<(usize, i64)>>,
    acks: BTreeSet<NodeId>,
    phase: Phase,
    phase_since_ns: i64,
    started_ns: i64,
    value: Value,
}

#[derive(Clone, Debug, Default)]
pub struct CommitStats {
    pub messages_sent: i64,
    pub txns_started: i64,
    pub txns_committed: i64,
    pub txns_aborted: i64,
    pub commit_latency_ns_sum: i64,
    pub votes_no_locked: i64,
    pub lock_waits: i64,
    pub votes_no_overdraft: i64,
    pub vote_timeouts: i64,
    pub ack_timeouts: i64,
    pub in_doubt_resolved: i64,
    pub in_doubt_ns_sum: i64,
    pub in_doubt_ns_max: i64,
    /// Yes-voted transactions still undecided at the last handler call.
    pub in_doubt_open: i64,
    /// Their summed waiting time so far.
    pub in_doubt_open_ns: i64,
    pub queries_sent: i64,
    pub timeout_aborts: i64,
    pub timeout_commits: i64,
}

pub type CommitCtx<'a> = Ctx<'a, CommitMsg, CommitDurable>;

pub struct CommitNode {
    id: NodeId,
    nodes: usize,
    config: CommitConfig,
    recorder: Option<Arc<DecisionLog>>,
    active: BTreeMap<TxnId, Active>,
    /// Prepared records found at restart: in 3PC an uncertain one must not
    /// be decided by the timeout rule alone.
    recovered: BTreeSet<TxnId>,
    last_query_ns: BTreeMap<TxnId, i64>,
    /// Prepares waiting for locks, in arrival order (at most
    /// [`MAX_ACTIVE`]; volatile: after a crash their coordinators time out).
    lock_waiters: Vec<Waiter>,
    /// Decisions the current handler took, as shard or coordinator (a note
    /// for the monitor; cleared as each handler starts).
    decided: Vec<(TxnId, Decision)>,
    pub stats: CommitStats,
}

/// Checks atomicity: every shard and the coordinator decide each
/// transaction alike (`agreement`). Promised by 2pc without its bug; 3pc
/// breaks it under partitions by design, and `bug=abort-after-yes-timeout`
/// on purpose.
pub(crate) struct CommitMonitor {
    promised: bool,
    decisions: BTreeMap<TxnId, (NodeId, Decision)>,
}

impl CommitMonitor {
    pub(crate) fn new(config: &CommitConfig) -> CommitMonitor {
        let promised = config.mode == Mode::TwoPhase && !config.bug_abort_after_yes_timeout;
        CommitMonitor { promised, decisions: BTreeMap::new() }
    }
}

impl Monitor<CommitNode> for CommitMonitor {
    fn observe(&mut self, id: NodeId, node: &CommitNode, _durable: &CommitDurable) -> Option<Violation> {
        for &(txn, d) in &node.decided {
            match self.decisions.get(&txn) {
                Some(&(other, first)) if first != d => {
                    let detail = format!("txn {txn:?}: n{other} decided {first:?}, n{id} {d:?}");
                    return Some(Violation { invariant: "agreement", detail });
                }
                Some(_) => {}
                None => {
                    self.decisions.insert(txn, (id, d));
                }
            }
        }
        None
    }

    fn promised(&self) -> bool {
        self.promised
    }
}

struct Waiter {
    from: NodeId,
    txn: TxnId,
    work: ShardWork,
    participants: Vec<NodeId>,
    since_ns: i64,
}

const TIMER_SWEEP: u64 = 1;

impl CommitNode {
    pub fn new(id: NodeId, nodes: usize, config: CommitConfig, recorder: Option<Arc<DecisionLog>>) -> CommitNode {
        CommitNode {
            id,
            nodes,
            config,
            recorder,
            active: BTreeMap::new(),
            recovered: BTreeSet::new(),
            last_query_ns: BTreeMap::new(),
            lock_waiters: Vec::new(),
            decided: Vec::new(),
            stats: CommitStats::default(),
        }
    }

    fn send(&mut self, ctx: &mut CommitCtx, to: NodeId, msg: CommitMsg) {
        self.stats.messages_sent += 1;
        ctx.send(to, msg);
    }

    fn send_all(&mut self, ctx: &mut CommitCtx, to: &[NodeId], msg: CommitMsg) {
        for &n in to {
            self.send(ctx, n, msg.clone());
        }
    }

    // ---- coordinator --------------------------------------------------

    fn begin(&mut self, ctx: &mut CommitCtx, req: Request) {
        let op = match BankOp::parse(&req.f, &req.key, &req.value) {
            Ok(op) => op,
            Err(e) => return ctx.reply(req.id, Response::Fail(e)),
        };
        if self.active.len() >= MAX_ACTIVE {
            return ctx.reply(req.id, Response::Fail("overloaded".to_string()));
        }
        let d = ctx.durable_mut();
        let txn = TxnId { coord: self.id, seq: d.next_seq };
        d.next_seq += 1;
        let work = plan(&op, self.nodes);
        let participants: Vec<NodeId> = work.keys().copied().collect();
        let now = ctx.local_time_ns();
        self.stats.txns_started += 1;
        for (&n, w) in &work {
            let msg = CommitMsg::Prepare { txn, work: w.clone(), participants: participants.clone() };
            self.stats.messages_sent += 1;
            ctx.send(n, msg);
        }
        self.active.insert(
            txn,
            Active {
                req: req.id,
                op,
                participants,
                reads: BTreeMap::new(),
                acks: BTreeSet::new(),
                phase: Phase::Voting,
                phase_since_ns: now,
                started_ns: now,
                value: req.value,
            },
        );
    }

    fn abort_txn(&mut self, ctx: &mut CommitCtx, txn: TxnId, reason: &str) {
        let Some(a) = self.active.remove(&txn) else { return };
        self.stats.txns_aborted += 1;
        self.decided.push((txn, Decision::Abort));
        if let Some(r) = &self.recorder {
            r.record_coordinator(txn, Decision::Abort);
        }
        self.send_all(ctx, &a.participants, CommitMsg::Decide { txn, decision: Decision::Abort });
        ctx.reply(a.req, Response::Fail(format!("aborted: {reason}")));
    }

    fn commit_txn(&mut self, ctx: &mut CommitCtx, txn: TxnId) {
        let Some(a) = self.active.remove(&txn) else { return };
        let participants = a.participants.clone();
        ctx.durable_mut().coord_log.insert(txn, CoordRecord { state: CoordState::Committed, participants });
        self.stats.txns_committed += 1;
        self.decided.push((txn, Decision::Commit));
        if let Some(r) = &self.recorder {
            r.record_coordinator(txn, Decision::Commit);
        }
        let latency = ctx.local_time_ns().saturating_sub(a.started_ns).max(0);
        self.stats.commit_latency_ns_sum = self.stats.commit_latency_ns_sum.saturating_add(latency);
        self.send_all(ctx, &a.participants, CommitMsg::Decide { txn, decision: Decision::Commit });
        let result = match a.op {
            BankOp::Read => assemble_read(&a.reads.into_values().collect::<Vec<_>>()),
            BankOp::Transfer { .. } => a.value,
        };
        ctx.reply(a.req, Response::Ok(result));
    }

    fn on_vote(
        &mut self,
        ctx: &mut CommitCtx,
        from: NodeId,
        txn: TxnId,
        yes: bool,
        reason: String,
        read: Vec<(usize, i64)>,
    ) {
        let Some(a) = self.active.get_mut(&txn) else {
            // A late vote: answer with what was decided (presumed abort).
            if yes {
                let decision = match ctx.durable().coord_log.get(&txn).map(|r| r.state) {
                    Some(CoordState::Committed) => Decision::Commit,
                    Some(CoordState::PreCommitted) => return,
                    None => Decision::Abort,
                };
                self.send(ctx, from, CommitMsg::Decide { txn, decision });
            }
            return;
        };
        if a.phase != Phase::Voting {
            return;
        }
        if !yes {
            return self.abort_txn(ctx, txn, &format!("shard {from} voted no: {reason}"));
        }
        a.reads.insert(from, read);
        if a.reads.len() < a.participants.len() {
            return;
        }
        match self.config.mode {
            Mode::TwoPhase => self.commit_txn(ctx, txn),
            Mode::ThreePhase => {
                let participants = a.participants.clone();
                a.phase = Phase::PreCommitting;
                a.phase_since_ns = ctx.local_time_ns();
                let rec = CoordRecord { state: CoordState::PreCommitted, participants: participants.clone() };
                ctx.durable_mut().coord_log.insert(txn, rec);
                self.send_all(ctx, &participants, CommitMsg::PreCommit { txn });
            }
        }
    }

    fn on_precommit_ack(&mut self, ctx: &mut CommitCtx, from: NodeId, txn: TxnId) {
        let Some(a) = self.active.get_mut(&txn) else { return };
        if a.phase != Phase::PreCommitting {
            return;
        }
        a.acks.insert(from);
        if a.acks.len() == a.participants.len() {
            self.commit_txn(ctx, txn);
        }
    }

    // ---- shard --------------------------------------------------------

    fn shard_read(d: &CommitDurable) -> Vec<(usize, i64)> {
        d.balances.iter().map(|(&a, &b)| (a, b)).collect()
    }

    fn on_prepare(
        &mut self,
        ctx: &mut CommitCtx,
        from: NodeId,
        txn: TxnId,
        work: ShardWork,
        participants: Vec<NodeId>,
    ) {
        let d = ctx.durable();
        let vote = |yes: bool, reason: &str, read: Vec<(usize, i64)>| CommitMsg::Vote {
            txn,
            yes,
            reason: reason.to_string(),
            read,
        };
        if let Some(&decision) = d.outcomes.get(&txn) {
            let msg = match decision {
                Decision::Commit => vote(true, "", Vec::new()),
                Decision::Abort => vote(false, "already aborted", Vec::new()),
            };
            return self.send(ctx, from, msg);
        }
        if d.prepared.contains_key(&txn) {
            let read = if work.read_all { Self::shard_read(d) } else { Vec::new() };
            return self.send(ctx, from, vote(true, "", read));
        }
        let waiting = self.lock_waiters.iter().any(|w| w.txn == txn);
        if waiting || d.prepared.values().any(|p| p.work.conflicts(&work)) {
            if !waiting {
                if self.lock_waiters.len() >= MAX_ACTIVE {
                    self.stats.votes_no_locked += 1;
                    self.decide(ctx, txn, Decision::Abort);
                    return self.send(ctx, from, vote(false, "accounts locked", Vec::new()));
                }
                self.stats.lock_waits += 1;
                let since_ns = ctx.local_time_ns();
                self.lock_waiters.push(Waiter { from, txn, work, participants, since_ns });
            }
            return;
        }
        if self.config.no_overdraft {
            let mut after = d.balances.clone();
            for &(a, delta) in &work.deltas {
                *after.entry(a).or_insert(0) += delta;
            }
            if after.values().any(|&b| b < 0) {
                self.stats.votes_no_overdraft += 1;
                self.decide(ctx, txn, Decision::Abort);
                return self.send(ctx, from, vote(false, "insufficient funds", Vec::new()));
            }
        }
        let read = if work.read_all { Self::shard_read(d) } else { Vec::new() };
        let now = ctx.local_time_ns();
        // Log the yes vote (and so the locks) before sending it.
        let p = Prepared { work, participants, state: PState::Uncertain, voted_ns: now, since_ns: now };
        ctx.durable_mut().prepared.insert(txn, p);
        self.send(ctx, from, vote(true, "", read));
    }

    /// Records this shard's decision and, for a prepared transaction,
    /// applies it and releases the locks.
    fn decide(&mut self, ctx: &mut CommitCtx, txn: TxnId, decision: Decision) {
        self.lock_waiters.retain(|w| w.txn != txn);
        let now = ctx.local_time_ns();
        let d = ctx.durable_mut();
        if d.outcomes.contains_key(&txn) {
            return;
        }
        d.outcomes.insert(txn, decision);
        if let Some(p) = d.prepared.remove(&txn) {
            if decision == Decision::Commit {
                for &(a, delta) in &p.work.deltas {
                    let b = d.balances.entry(a).or_insert(0);
                    *b = b.wrapping_add(delta);
                }
            }
            let waited = now.saturating_sub(p.voted_ns).max(0);
            self.stats.in_doubt_resolved += 1;
            self.stats.in_doubt_ns_sum = self.stats.in_doubt_ns_sum.saturating_add(waited);
            self.stats.in_doubt_ns_max = self.stats.in_doubt_ns_max.max(waited);
            if let Some(r) = &self.recorder {
                r.record_in_doubt(waited);
            }
        }
        self.recovered.remove(&txn);
        self.last_query_ns.remove(&txn);
        self.decided.push((txn, decision));
        if let Some(r) = &self.recorder {
            r.record(txn, self.id, decision);
        }
        self.retry_waiters(ctx);
    }

    /// Prepares whose locks became free go ahead, oldest first.
    fn retry_waiters(&mut self, ctx: &mut CommitCtx) {
        let mut i = 0;
        while i < self.lock_waiters.len() {
            let free = !ctx.durable().prepared.values().any(|p| p.work.conflicts(&self.lock_waiters[i].work));
            if free {
                let w = self.lock_waiters.remove(i);
                self.on_prepare(ctx, w.from, w.txn, w.work, w.participants);
            } else {
                i += 1;
            }
        }
    }

    /// Prepares that waited too long for locks get a no vote.
    fn expire_waiters(&mut self, ctx: &mut CommitCtx) {
        let now = ctx.local_time_ns();
        let wait = self.config.lock_wait_ns as i64;
        let (old, young): (Vec<Waiter>, Vec<Waiter>) =
            std::mem::take(&mut self.lock_waiters).into_iter().partition(|w| now.saturating_sub(w.since_ns) >= wait);
        self.lock_waiters = young;
        for w in old {
            self.stats.votes_no_locked += 1;
            self.decide(ctx, w.txn, Decision::Abort);
            let msg =
                CommitMsg::Vote { txn: w.txn, yes: false, reason: "accounts locked".to_string(), read: Vec::new() };
            self.send(ctx, w.from, msg);
        }
    }

    fn on_precommit(&mut self, ctx: &mut CommitCtx, from: NodeId, txn: TxnId) {
        let now = ctx.local_time_ns();
        let Some(p) = ctx.durable_mut().prepared.get_mut(&txn) else { return };
        if p.state == PState::Uncertain {
            p.state = PState::PreCommitted;
            p.since_ns = now;
        }
        self.recovered.remove(&txn);
        self.send(ctx, from, CommitMsg::PreCommitAck { txn });
    }

    fn on_query(&mut self, ctx: &mut CommitCtx, from: NodeId, txn: TxnId) {
        let d = ctx.durable();
        let answer = if txn.coord == self.id {
            match d.coord_log.get(&txn).map(|r| r.state) {
                Some(CoordState::Committed) => Some(Answer::Decided(Decision::Commit)),
                Some(CoordState::PreCommitted) => Some(Answer::PreCommitted),
                None if self.active.contains_key(&txn) => None, // still collecting votes
                None => Some(Answer::Decided(Decision::Abort)),
            }
        } else if let Some(&decision) = d.outcomes.get(&txn) {
            Some(Answer::Decided(decision))
        } else {
            match d.prepared.get(&txn).map(|p| p.state) {
                Some(PState::PreCommitted) => Some(Answer::PreCommitted),
                _ => None,
            }
        };
        if let Some(answer) = answer {
            self.send(ctx, from, CommitMsg::QueryReply { txn, answer });
        }
    }

    fn on_query_reply(&mut self, ctx: &mut CommitCtx, txn: TxnId, answer: Answer) {
        let now = ctx.local_time_ns();
        let Some(p) = ctx.durable_mut().prepared.get_mut(&txn) else { return };
        match answer {
            Answer::Decided(decision) => self.decide(ctx, txn, decision),
            Answer::PreCommitted => {
                if self.config.mode == Mode::ThreePhase && p.state == PState::Uncertain {
                    p.state = PState::PreCommitted;
                    p.since_ns = now;
                    self.recovered.remove(&txn);
                }
            }
        }
    }

    // ---- timeouts -----------------------------------------------------

    fn sweep(&mut self, ctx: &mut CommitCtx) {
        self.expire_waiters(ctx);
        let now = ctx.local_time_ns();
        let since = |t: i64| now.saturating_sub(t).max(0) as u64;
        let due: Vec<(TxnId, Phase)> = self
            .active
            .iter()
            .filter(|(_, a)| match a.phase {
                Phase::Voting => since(a.phase_since_ns) >= self.config.vote_timeout_ns,
                Phase::PreCommitting => since(a.phase_since_ns) >= self.config.ack_timeout_ns,
            })
            .map(|(&t, a)| (t, a.phase))
            .collect();
        for (txn, phase) in due {
            match phase {
                Phase::Voting => {
                    self.stats.vote_timeouts += 1;
                    self.abort_txn(ctx, txn, "timed out waiting for votes");
                }
                Phase::PreCommitting => {
                    self.stats.ack_timeouts += 1;
                    self.commit_txn(ctx, txn);
                }
            }
        }
        let waiting: Vec<(TxnId, Prepared)> = ctx.durable().prepared.iter().map(|(&t, p)| (t, p.clone())).collect();
        for (txn, p) in waiting {
            if since(p.since_ns) < self.config.participant_timeout_ns {
                continue;
            }
            match (self.config.mode, p.state) {
                (Mode::TwoPhase, _) if self.config.bug_abort_after_yes_timeout => {
                    self.stats.timeout_aborts += 1;
                    self.decide(ctx, txn, Decision::Abort);
                }
                (Mode::ThreePhase, PState::Uncertain) if !self.recovered.contains(&txn) => {
                    self.stats.timeout_aborts += 1;
                    self.decide(ctx, txn, Decision::Abort);
                }
                (Mode::ThreePhase, PState::PreCommitted) => {
                    self.stats.timeout_commits += 1;
                    self.decide(ctx, txn, Decision::Commit);
                }
                _ => {
                    // In doubt: ask (2PC: the coordinator; 3PC recovery:
                    // everyone who took part), every retry period.
                    let last = self.last_query_ns.get(&txn).copied();
                    if last.is_some_and(|t| since(t) < self.config.retry_ns) {
                        continue;
                    }
                    self.last_query_ns.insert(txn, now);
                    let mut ask = vec![txn.coord];
                    if self.config.mode == Mode::ThreePhase {
                        ask.extend(p.participants.iter().copied().filter(|&n| n != self.id && n != txn.coord));
                    }
                    self.stats.queries_sent += 1;
                    self.send_all(ctx, &ask, CommitMsg::Query { txn });
                }
            }
        }
        ctx.set_timer(self.config.sweep_ns(), TIMER_SWEEP);
    }

    fn refresh_open(&mut self, ctx: &CommitCtx) {
        let now = ctx.local_time_ns();
        let d = ctx.durable();
        self.stats.in_doubt_open = d.prepared.len() as i64;
        self.stats.in_doubt_open_ns = d.prepared.values().map(|p| now.saturating_sub(p.voted_ns).max(0)).sum();
    }

    pub fn stats_map(&self) -> BTreeMap<String, i64> {
        stats_map!(
            &self.stats,
            [
                messages_sent,
                txns_started,
                txns_committed,
                txns_aborted,
                commit_latency_ns_sum,
                votes_no_locked,
                lock_waits,
                votes_no_overdraft,
                vote_timeouts,
                ack_timeouts,
                in_doubt_resolved,
                in_doubt_ns_sum,
                in_doubt_ns_max,
                in_doubt_open,
                in_doubt_open_ns,
                queries_sent,
                timeout_aborts,
                timeout_commits
            ]
        )
    }
}

impl Node for CommitNode {
    type Msg = CommitMsg;
    type Durable = CommitDurable;

    fn on_start(&mut self, ctx: &mut CommitCtx) {
        self.decided.clear();
        self.recovered = ctx.durable().prepared.keys().copied().collect();
        // A coordinator that crashed after pre-committing finishes the
        // commit (its shards commit by timeout anyway).
        let unfinished: Vec<(TxnId, Vec<NodeId>)> = ctx
            .durable()
            .coord_log
            .iter()
            .filter(|(_, r)| r.state == CoordState::PreCommitted)
            .map(|(&t, r)| (t, r.participants.clone()))
            .collect();
        for (txn, participants) in unfinished {
            let rec = CoordRecord { state: CoordState::Committed, participants: participants.clone() };
            ctx.durable_mut().coord_log.insert(txn, rec);
            self.send_all(ctx, &participants, CommitMsg::Decide { txn, decision: Decision::Commit });
        }
        ctx.set_timer(self.config.sweep_ns(), TIMER_SWEEP);
        self.refresh_open(ctx);
    }

    fn on_message(&mut self, ctx: &mut CommitCtx, from: NodeId, msg: CommitMsg) {
        self.decided.clear();
        match msg {
            CommitMsg::Prepare { txn, work, participants } => self.on_prepare(ctx, from, txn, work, participants),
            CommitMsg::Vote { txn, yes, reason, read } => self.on_vote(ctx, from, txn, yes, reason, read),
            CommitMsg::PreCommit { txn } => self.on_precommit(ctx, from, txn),
            CommitMsg::PreCommitAck { txn } => self.on_precommit_ack(ctx, from, txn),
            CommitMsg::Decide { txn, decision } => self.decide(ctx, txn, decision),
            CommitMsg::Query { txn } => self.on_query(ctx, from, txn),
            CommitMsg::QueryReply { txn, answer } => self.on_query_reply(ctx, txn, answer),
        }
        self.refresh_open(ctx);
    }

    fn on_timer(&mut self, ctx: &mut CommitCtx, tag: u64) {
        self.decided.clear();
        if tag == TIMER_SWEEP {
            self.sweep(ctx);
        }
        self.refresh_open(ctx);
    }

    fn on_request(&mut self, ctx: &mut CommitCtx, req: Request) {
        self.decided.clear();
        self.begin(ctx, req);
    }

    fn stats(&self) -> BTreeMap<String, i64> {
        self.stats_map()
    }
}

#[cfg(test)]
mod tests;
