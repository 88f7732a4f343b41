//! `spanner`: a Spanner-style transactional store (Corbett et al., OSDI
//! 2012), documented in docs/protocols/spanner.md.
//!
//! Keys fall in ranges of `range_keys` consecutive integers, and range `r`
//! belongs to group `r mod groups`. Each group is a Raft group (the
//! [`crate::protocols::raft`] implementation, run as a library inside
//! this node: its messages, timers and durable state are wrapped, and its
//! log carries spanner's [`record::Record`]s) on `replicas` consecutive
//! nodes. Every replica applies its group's committed log to a
//! multi-version store; the group's leader also keeps the lock table.
//!
//! TrueTime: `TT.now()` is `[local - ε, local + ε]`, where ε is
//! `epsilon_ms` when given, else 1 ms plus the bound the simulator's
//! clock model reports ([`crate::sim::Ctx::clock_error_bound_ns`]), so
//! that true time is inside the interval.
//!
//! Read-write transactions (§4.2.1) run at the node the client contacted
//! (the client library): reads take shared locks at the key's group leader
//! and return the latest value; writes are buffered. At commit the first
//! written key's group coordinates: the other participants take write
//! locks (no-wait: a conflict aborts), choose a prepare timestamp above
//! any they assigned and log a prepare record; the coordinator takes its
//! locks, and once every participant prepared chooses the commit timestamp
//! s ≥ every prepare timestamp and ≥ TT.now().latest when it received the
//! commit, logs it, waits until TT.after(s) (commit wait), then answers
//! and tells the participants, which log the outcome and release locks.
//! Read-only transactions take s_read = TT.now().latest and read, without
//! locks, at each group's leader once it is safe: TT.after(s_read), a
//! barrier committed after that, and nothing prepared or coordinating at
//! or below s_read. So transactions are strict serializable; without commit
//! wait (`bug=no-commit-wait`) or with an ε below the real clock error, a
//! read-only transaction may miss a write that finished before it began.

mod record;

use super::common::stats_map;
use super::common::txn::{self, Mop, MopKind};
use super::common::{Param, ParamError, Params};
use super::raft::{RaftConfig, RaftDurable, RaftMsg, RaftNode, Role};
use crate::sim::{Ctx, Effect, Node, NodeId, Protocol, Request, RequestId, Response};
use checker::{Value, F};
pub use record::{GroupState, Record};
use std::collections::{BTreeMap, BTreeSet};

/// A group's index.
pub type GroupId = usize;
/// A transaction: the node that runs it as client library, and a sequence
/// number unique on that node across its incarnations.
pub type TxnId = (NodeId, u64);
/// A timestamp: nanoseconds of (TrueTime's idea of) true time.
pub type Ts = i64;

/// Most transactions a node runs, and most a leader holds locks for; more
/// are refused.
pub const MAX_PENDING: usize = 4096;
/// Period of every node's housekeeping: retries, timeouts, lock expiry.
const TICK_NS: u64 = 5_000_000;
/// The uncertainty of a clock in sync (ε when `epsilon_ms` is not given,
/// above the clock model's error).
pub const BASE_EPSILON_NS: u64 = 1_000_000;

/// A deliberate, switchable bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpannerBug {
    /// The coordinator answers and releases locks as soon as the commit
    /// record is durable, without waiting until TT.after(s).
    NoCommitWait,
}

#[derive(Clone, Debug)]
pub struct SpannerProtocol {
    pub groups: usize,
    pub replicas: usize,
    pub range_keys: u64,
    /// Fixed ε; `None`: [`BASE_EPSILON_NS`] plus the clock model's bound.
    pub epsilon_ns: Option<u64>,
    pub txn_timeout_ns: u64,
    pub lock_timeout_ns: u64,
    pub retry_ns: u64,
    pub bug: Option<SpannerBug>,
    pub raft: RaftConfig,
}

impl SpannerProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::int("groups", 1, 64, Some(3), "Raft groups; key range r belongs to group r mod groups"),
        Param::int("replicas", 1, 7, Some(3), "replicas per group, on consecutive nodes (at most the cluster size)"),
        Param::int("range_keys", 1, 1 << 20, Some(2), "consecutive integer keys per range"),
        Param::int(
            "epsilon_ms",
            0,
            86_400_000,
            None,
            "TrueTime's ε (default: 1 ms plus the clock model's error, which covers it)",
        ),
        Param::ms("txn_timeout_ms", 1, 400, "the client library gives up on a transaction (info once committing)"),
        Param::ms("lock_timeout_ms", 1, 300, "a leader drops the locks of a transaction that never prepared"),
        Param::ms("retry_ms", 1, 20, "resend unanswered requests, and ask about prepared transactions, this often"),
        Param::choice("bug", &["none", "no-commit-wait"], "none", "a deliberate bug (see docs/protocols/spanner.md)"),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("spanner", Self::PARAMS, params)?;
        Ok(SpannerProtocol {
            groups: p.int("groups") as usize,
            replicas: p.int("replicas") as usize,
            range_keys: p.int("range_keys"),
            epsilon_ns: p.opt_int("epsilon_ms").map(|ms| ms * 1_000_000),
            txn_timeout_ns: p.ns("txn_timeout_ms"),
            lock_timeout_ns: p.ns("lock_timeout_ms"),
            retry_ns: p.ns("retry_ms"),
            bug: (p.choice("bug") == "no-commit-wait").then_some(SpannerBug::NoCommitWait),
            raft: RaftConfig::default(),
        })
    }

    /// The replicas of group `g` in a cluster of `nodes`.
    pub fn members(&self, g: GroupId, nodes: usize) -> Vec<NodeId> {
        (0..self.replicas.min(nodes)).map(|i| (g + i) % nodes).collect()
    }

    /// The group holding `key`: integers by range, others by a stable hash
    /// of their text.
    pub fn group_of(&self, key: &Value) -> GroupId {
        let range = match key {
            Value::Int(i) => i.div_euclid(self.range_keys as i64).unsigned_abs(),
            v => v
                .to_string()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3)),
        };
        (range % self.groups as u64) as usize
    }
}

impl Default for SpannerProtocol {
    fn default() -> Self {
        SpannerProtocol::from_params(&BTreeMap::new()).expect("the defaults parse")
    }
}

impl Protocol for SpannerProtocol {
    type Node = SpannerNode;

    fn create(&self, id: NodeId, nodes: usize, _durable: &SpannerDurable) -> SpannerNode {
        SpannerNode::new(id, nodes, self.clone())
    }

    fn offers_cas(&self) -> bool {
        false
    }
}

/// What survives a crash: each hosted group's Raft state, and the
/// sequence number of transactions and proposals.
#[derive(Clone, Debug, Default)]
pub struct SpannerDurable {
    pub raft: BTreeMap<GroupId, RaftDurable>,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SpannerMsg {
    /// A Raft message of group `group`.
    Raft { group: GroupId, msg: RaftMsg },
    /// Client library → leader: lock and read `keys`, exclusively those
    /// in `exclusive` (the transaction writes them too: locking them for
    /// update at once avoids two readers' deadly upgrade).
    ReadLock { group: GroupId, txn: TxnId, keys: Vec<Value>, exclusive: Vec<Value> },
    /// Client library → leader: read `keys` at timestamp `ts`, lock-free.
    SnapRead { group: GroupId, txn: TxnId, ts: Ts, keys: Vec<Value> },
    /// Leader → client library: the values read, or why not.
    ReadReply { group: GroupId, txn: TxnId, result: Result<Vec<(Value, Value)>, Refusal> },
    /// Client library → participant leader.
    Prepare { group: GroupId, txn: TxnId, coord: GroupId, reads: Vec<Value>, writes: Vec<Mop> },
    /// Client library → coordinator leader.
    Commit { group: GroupId, txn: TxnId, participants: Vec<GroupId>, reads: Vec<Value>, writes: Vec<Mop> },
    /// Participant leader → the coordinator group's replicas: prepared at
    /// `Some(ts)`, or refused.
    Vote { coord: GroupId, txn: TxnId, from_group: GroupId, prepared: Option<Ts> },
    /// Coordinator leader → client library and participants' replicas:
    /// the logged decision.
    Outcome { txn: TxnId, commit_ts: Option<Ts> },
    /// Participant leader → the coordinator group's replicas: what became
    /// of a transaction it prepared?
    Query { coord: GroupId, txn: TxnId },
    /// Client library → leaders: the transaction gave up before commit.
    Release { group: GroupId, txn: TxnId },
}

/// Why a leader did not serve a read.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// Not the group's leader (the one it knows, if any).
    NotLeader(Option<NodeId>),
    /// A lock is held by another transaction (no-wait).
    Conflict,
}

const TAG_RAFT: u64 = 1 << 62;
const TAG_TICK: u64 = 2 << 62;
const TAG_WAKE: u64 = 3 << 62;
const TAG_MASK: u64 = 3 << 62;

/// TrueTime's interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tt {
    pub earliest: Ts,
    pub latest: Ts,
}

/// A key's lock at a leader.
#[derive(Clone, Debug, Default)]
struct Lock {
    readers: BTreeSet<TxnId>,
    writer: Option<TxnId>,
}

/// A transaction this leader coordinates.
#[derive(Clone, Debug)]
struct Coord {
    router: NodeId,
    participants: BTreeSet<GroupId>,
    votes: BTreeMap<GroupId, Ts>,
    /// TT.now().latest when the commit arrived: s is at least this.
    lower: Ts,
    writes: Vec<Mop>,
    started_ns: i64,
    /// The decision proposed (`Some(ts)`: commit), once proposed.
    proposed: Option<Option<Ts>>,
}

/// A read-only transaction's read waiting to be safe.
#[derive(Clone, Debug)]
struct SnapWait {
    from: NodeId,
    txn: TxnId,
    ts: Ts,
    keys: Vec<Value>,
    /// The barrier proposed for it (after TT.after(ts)).
    barrier: Option<u64>,
}

/// A group leader's volatile state, valid in one Raft term.
#[derive(Clone, Debug, Default)]
struct Leader {
    term: u64,
    locks: BTreeMap<Value, Lock>,
    /// Each lock holder's keys and when it first locked here.
    holders: BTreeMap<TxnId, (BTreeSet<Value>, i64)>,
    /// Prepares proposed, not yet applied: their timestamps and where the
    /// coordinator is.
    preparing: BTreeMap<TxnId, (Ts, GroupId)>,
    coordinating: BTreeMap<TxnId, Coord>,
    /// Committed, waiting until TT.after(ts): the timestamp, the local
    /// time the wait began and ε then, the coordination.
    commit_waits: BTreeMap<TxnId, (Ts, i64, u64, Coord)>,
    snap_waits: Vec<SnapWait>,
    /// Outcomes being logged here as a participant.
    finishing: BTreeSet<TxnId>,
    /// Prepared transactions asked about: local time of the last query.
    queried: BTreeMap<TxnId, i64>,
    /// Every timestamp this leader assigns is above this.
    last_ts: Ts,
}

/// One hosted replica of a group.
struct Replica {
    group: GroupId,
    members: Vec<NodeId>,
    raft: RaftNode,
    state: GroupState,
    leader: Option<Leader>,
}

/// The client library's view of one group of a transaction.
#[derive(Clone, Debug, Default)]
struct Part {
    reads: Vec<Value>,
    writes: Vec<Mop>,
    /// Where requests for this group go.
    target: NodeId,
    values: Option<Vec<(Value, Value)>>,
    sent_ns: i64,
    /// Lock conflicts met so far; the read is retried (at the same
    /// leader) up to [`MAX_CONFLICT_RETRIES`] times.
    conflicts: u32,
}

/// Reads refused for a lock conflict retried before the transaction fails.
pub const MAX_CONFLICT_RETRIES: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Reading,
    Committing,
}

/// A transaction run by this node as client library.
#[derive(Clone, Debug)]
struct ClientTxn {
    req: RequestId,
    mops: Vec<Mop>,
    read_only: bool,
    /// The snapshot of a read-only transaction.
    snapshot: Ts,
    parts: BTreeMap<GroupId, Part>,
    phase: Phase,
    started_ns: i64,
    /// The answer once committed.
    answer: Option<Value>,
    coord: GroupId,
}

/// Counters since this incarnation started.
#[derive(Clone, Debug, Default)]
pub struct SpannerStats {
    pub txns_committed: i64,
    pub txns_aborted: i64,
    pub read_only_txns: i64,
    pub lock_conflicts: i64,
    pub commit_waits: i64,
    pub commit_wait_ns_sum: i64,
    pub commit_wait_ns_max: i64,
    /// ε when each commit wait began.
    pub epsilon_ns_sum: i64,
    pub epsilon_ns_max: i64,
    pub messages_sent: i64,
}

pub struct SpannerNode {
    id: NodeId,
    nodes: usize,
    proto: SpannerProtocol,
    replicas: Vec<Replica>,
    /// Raft timers by token: (replica index, Raft's tag).
    raft_timers: BTreeMap<u64, (usize, u64)>,
    next_token: u64,
    txns: BTreeMap<TxnId, ClientTxn>,
    /// The leader each group was last seen with.
    hints: BTreeMap<GroupId, NodeId>,
    /// The wake timer (commit waits, snapshot reads) last armed: when it
    /// is due, in local time, and its token (in its tag). One timer for
    /// all waits: a timer per wait and replica, re-armed by every wake,
    /// multiplied into tens of millions of timers and gigabytes of queue
    /// in a 1000-transaction run (#17).
    wake: Option<(i64, u64)>,
    pub stats: SpannerStats,
}

type SCtx<'a> = Ctx<'a, SpannerMsg, SpannerDurable>;

impl SpannerNode {
    pub fn new(id: NodeId, nodes: usize, proto: SpannerProtocol) -> SpannerNode {
        let replicas = (0..proto.groups)
            .filter_map(|g| {
                let members = proto.members(g, nodes);
                let me = members.iter().position(|&n| n == id)?;
                let raft = RaftNode::new(me, members.len(), proto.raft.clone());
                Some(Replica { group: g, members, raft, state: GroupState::default(), leader: None })
            })
            .collect();
        SpannerNode {
            id,
            nodes,
            proto,
            replicas,
            raft_timers: BTreeMap::new(),
            next_token: 0,
            txns: BTreeMap::new(),
            hints: BTreeMap::new(),
            wake: None,
            stats: SpannerStats::default(),
        }
    }

    /// TrueTime at this node now.
    pub fn tt(&self, ctx: &SCtx) -> Tt {
        let e = self.epsilon_ns(ctx) as i64;
        let now = ctx.local_time_ns();
        Tt { earliest: now.saturating_sub(e), latest: now.saturating_add(e) }
    }

    fn epsilon_ns(&self, ctx: &SCtx) -> u64 {
        self.proto.epsilon_ns.unwrap_or(BASE_EPSILON_NS.saturating_add(ctx.clock_error_bound_ns()))
    }

    /// The group's state at this node's replica, if it hosts one.
    pub fn group_state(&self, g: GroupId) -> Option<&GroupState> {
        self.replicas.iter().find(|r| r.group == g).map(|r| &r.state)
    }

    fn replica_index(&self, g: GroupId) -> Option<usize> {
        self.replicas.iter().position(|r| r.group == g)
    }

    fn next_seq(ctx: &mut SCtx) -> u64 {
        let d = ctx.durable_mut();
        d.seq += 1;
        d.seq
    }

    fn send(&mut self, ctx: &mut SCtx, to: NodeId, msg: SpannerMsg) {
        self.stats.messages_sent += 1;
        ctx.send(to, msg);
    }

    fn send_group(&mut self, ctx: &mut SCtx, g: GroupId, msg: SpannerMsg) {
        for to in self.proto.members(g, self.nodes) {
            self.send(ctx, to, msg.clone());
        }
    }

    // ---- Raft as a library --------------------------------------------

    /// Runs a handler of replica `r`'s Raft node in a context of its own
    /// (group-local node ids, its durable state), translates what it asked
    /// for, then applies newly committed entries and notices leadership
    /// changes.
    fn with_raft(&mut self, ctx: &mut SCtx, r: usize, f: impl FnOnce(&mut RaftNode, &mut Ctx<RaftMsg, RaftDurable>)) {
        let mut effects = Vec::new();
        let local = ctx.local_time_ns();
        let bound = ctx.clock_error_bound_ns();
        let rep = &mut self.replicas[r];
        let me = rep.members.iter().position(|&n| n == self.id).expect("a member of its own group");
        {
            let durable = ctx.durable.raft.entry(rep.group).or_default();
            let mut sub = Ctx::new(me, rep.members.len(), local, &mut *ctx.rng, durable, &mut effects)
                .with_clock_error_bound_ns(bound);
            f(&mut rep.raft, &mut sub);
        }
        let group = rep.group;
        for e in effects {
            match e {
                Effect::Send { to, msg } => {
                    let to = self.replicas[r].members[to];
                    self.send(ctx, to, SpannerMsg::Raft { group, msg });
                }
                Effect::Timer { after_ns, tag } => {
                    self.next_token += 1;
                    self.raft_timers.insert(self.next_token, (r, tag));
                    ctx.set_timer(after_ns, TAG_RAFT | self.next_token);
                }
                // Answers to spanner's own proposals: it follows the log
                // instead.
                Effect::Reply { .. } => {}
            }
        }
        self.apply_committed(ctx, r);
        self.check_leadership(ctx, r);
        self.serve_snapshots(ctx, r);
    }

    /// Appends a record to replica `r`'s log (it leads); returns its index.
    fn propose(&mut self, ctx: &mut SCtx, r: usize, rec: Record) -> Option<u64> {
        let id = RequestId(Self::next_seq(ctx));
        let req = Request { id, f: F::Read, key: Some(Value::str("spanner")), value: rec.encode() };
        let g = self.replicas[r].group;
        let before = ctx.durable().raft.get(&g).map_or(0, |d| d.last_index());
        self.with_raft(ctx, r, |raft, sub| raft.on_request(sub, req));
        let after = ctx.durable().raft.get(&g).map_or(0, |d| d.last_index());
        (after > before).then_some(after)
    }

    fn apply_committed(&mut self, ctx: &mut SCtx, r: usize) {
        let g = self.replicas[r].group;
        loop {
            let rep = &self.replicas[r];
            let i = rep.state.applied + 1;
            if i > rep.raft.commit_index() {
                break;
            }
            let Some(entry) = ctx.durable().raft.get(&g).and_then(|d| d.log.get(i as usize - 1)) else { break };
            let rec = match &entry.cmd {
                super::raft::Command::Client { req, .. } => Record::decode(&req.value),
                super::raft::Command::Noop => None,
            };
            self.replicas[r].state.applied = i;
            let Some(rec) = rec else { continue };
            let applied = self.replicas[r].state.apply(rec);
            self.on_applied(ctx, r, applied);
        }
    }

    /// Becomes the group's spanner leader once Raft leads and an entry of
    /// the current term is applied (everything earlier is then applied);
    /// drops the leader state when Raft no longer leads in that term.
    fn check_leadership(&mut self, ctx: &mut SCtx, r: usize) {
        let rep = &self.replicas[r];
        let Some(d) = ctx.durable().raft.get(&rep.group) else { return };
        let term = d.current_term;
        let leads = rep.raft.role() == Role::Leader;
        if let Some(l) = &rep.leader {
            if leads && l.term == term {
                return;
            }
            let lost = self.replicas[r].leader.take().expect("checked");
            for w in lost.snap_waits {
                let group = self.replicas[r].group;
                let msg = SpannerMsg::ReadReply { group, txn: w.txn, result: Err(Refusal::NotLeader(None)) };
                self.send(ctx, w.from, msg);
            }
            return;
        }
        let ready = leads && rep.state.applied > 0 && d.term_at(rep.state.applied) == term;
        if !ready {
            return;
        }
        let mut l = Leader { term, last_ts: rep.state.max_ts, ..Leader::default() };
        let now = ctx.local_time_ns();
        for (txn, p) in &rep.state.prepared {
            let (reads, writes) = record::locked_keys(p);
            for k in &reads {
                l.locks.entry(k.clone()).or_default().readers.insert(*txn);
            }
            for k in &writes {
                l.locks.entry(k.clone()).or_default().writer = Some(*txn);
            }
            l.holders.insert(*txn, (reads.union(&writes).cloned().collect(), now));
        }
        self.replicas[r].leader = Some(l);
    }

    // ---- applying the log at a leader ---------------------------------

    fn on_applied(&mut self, ctx: &mut SCtx, r: usize, applied: record::Applied) {
        use record::Applied;
        let g = self.replicas[r].group;
        let no_wait = self.proto.bug == Some(SpannerBug::NoCommitWait);
        let eps = self.epsilon_ns(ctx);
        let Some(l) = self.replicas[r].leader.as_mut() else { return };
        match applied {
            Applied::Prepared(txn) => {
                if let Some((ts, coord)) = l.preparing.remove(&txn) {
                    let msg = SpannerMsg::Vote { coord, txn, from_group: g, prepared: Some(ts) };
                    self.send_group(ctx, coord, msg);
                }
            }
            Applied::Decided(txn, outcome) => {
                l.finishing.remove(&txn);
                l.queried.remove(&txn);
                l.preparing.remove(&txn);
                let Some(c) = l.coordinating.remove(&txn) else {
                    self.release(r, txn);
                    return;
                };
                // Lock held at commit: the coordinator still holds the
                // write locks it took for this transaction.
                debug_assert!(
                    outcome.is_none()
                        || c.writes.iter().all(|m| l.locks.get(&m.key).is_some_and(|k| k.writer == Some(txn))),
                    "txn {txn:?} commits at group {g} without its write locks"
                );
                match outcome {
                    Some(ts) if !no_wait => {
                        l.commit_waits.insert(txn, (ts, ctx.local_time_ns(), eps, c));
                        self.finish_commit_waits(ctx, r);
                    }
                    _ => {
                        if outcome.is_some() {
                            ctx.cover("spanner.no-commit-wait");
                        }
                        self.announce(ctx, r, txn, &c, outcome);
                    }
                }
            }
            Applied::Barrier | Applied::Ignored => {}
        }
    }

    /// Tells the client library and the participants a logged decision,
    /// and releases the coordinator's locks.
    fn announce(&mut self, ctx: &mut SCtx, r: usize, txn: TxnId, c: &Coord, outcome: Option<Ts>) {
        if outcome.is_some() {
            self.stats.txns_committed += 1;
        } else {
            self.stats.txns_aborted += 1;
        }
        let msg = SpannerMsg::Outcome { txn, commit_ts: outcome };
        self.send(ctx, c.router, msg.clone());
        for &p in &c.participants {
            self.send_group(ctx, p, msg.clone());
        }
        self.release(r, txn);
    }

    /// The logged decision on `txn`, if it may be told: a commit only once
    /// TT.after(its timestamp) — also when asked again, and at a new leader
    /// that did not wait itself (commit wait is what makes a commit's
    /// answer come after its timestamp).
    fn announceable(&self, ctx: &SCtx, r: usize, txn: TxnId) -> Option<Option<Ts>> {
        match *self.replicas[r].state.decided.get(&txn)? {
            Some(ts) if self.proto.bug.is_none() && self.tt(ctx).earliest <= ts => None,
            d => Some(d),
        }
    }

    /// Whether `txn` is decided here; if so, tells `to` the decision once
    /// it may ([`SpannerNode::announceable`]).
    fn tell_decided(&mut self, ctx: &mut SCtx, r: usize, to: NodeId, txn: TxnId) -> bool {
        if !self.replicas[r].state.decided.contains_key(&txn) {
            return false;
        }
        if let Some(d) = self.announceable(ctx, r, txn) {
            self.send(ctx, to, SpannerMsg::Outcome { txn, commit_ts: d });
        }
        true
    }

    /// Arms the wake timer `after` local nanoseconds from now, unless the
    /// pending one is due no later. (A clock jump can make the pending one
    /// late by the jump: a wait then ends later, never early.)
    fn wake_in(&mut self, ctx: &mut SCtx, after: i64) {
        let after = after.max(1);
        let at = ctx.local_time_ns().saturating_add(after);
        if self.wake.is_some_and(|(w, _)| w <= at) {
            return;
        }
        self.next_token += 1;
        self.wake = Some((at, self.next_token));
        ctx.set_timer(after as u64, TAG_WAKE | self.next_token);
    }

    /// Commit wait: a commit at `ts` is announced once TT.after(ts).
    fn finish_commit_waits(&mut self, ctx: &mut SCtx, r: usize) {
        let tt = self.tt(ctx);
        let now = ctx.local_time_ns();
        let Some(l) = self.replicas[r].leader.as_mut() else { return };
        let done: Vec<TxnId> = l.commit_waits.iter().filter(|(_, w)| tt.earliest > w.0).map(|(t, _)| *t).collect();
        let next = l.commit_waits.values().filter(|w| tt.earliest <= w.0).map(|w| w.0 - tt.earliest + 1).min();
        let mut finished = Vec::new();
        for txn in done {
            let (ts, began, eps, c) = l.commit_waits.remove(&txn).expect("listed");
            finished.push((txn, ts, now.saturating_sub(began).max(0), eps as i64, c));
        }
        for (txn, ts, waited, eps, c) in finished {
            let s = &mut self.stats;
            s.commit_waits += 1;
            s.commit_wait_ns_sum = s.commit_wait_ns_sum.saturating_add(waited);
            s.commit_wait_ns_max = s.commit_wait_ns_max.max(waited);
            s.epsilon_ns_sum = s.epsilon_ns_sum.saturating_add(eps);
            s.epsilon_ns_max = s.epsilon_ns_max.max(eps);
            self.announce(ctx, r, txn, &c, Some(ts));
        }
        if let Some(after) = next {
            self.wake_in(ctx, after);
        }
    }

    /// Drops every lock `txn` holds at replica `r`.
    fn release(&mut self, r: usize, txn: TxnId) {
        let Some(l) = self.replicas[r].leader.as_mut() else { return };
        let Some((keys, _)) = l.holders.remove(&txn) else { return };
        for k in keys {
            if let Some(lock) = l.locks.get_mut(&k) {
                lock.readers.remove(&txn);
                if lock.writer == Some(txn) {
                    lock.writer = None;
                }
                if lock.readers.is_empty() && lock.writer.is_none() {
                    l.locks.remove(&k);
                }
            }
        }
    }

    /// Takes shared locks on `reads` and exclusive ones on `writes` for
    /// `txn` (no-wait: all or nothing; on a conflict `txn` keeps only the
    /// locks it held before).
    fn lock(&mut self, r: usize, txn: TxnId, reads: &[Value], writes: &[Value], now: i64) -> bool {
        let Some(l) = self.replicas[r].leader.as_mut() else { return false };
        let free_r = |lock: Option<&Lock>| lock.is_none_or(|k| k.writer.is_none_or(|w| w == txn));
        let free_w = |lock: Option<&Lock>| {
            lock.is_none_or(|k| k.writer.is_none_or(|w| w == txn) && k.readers.iter().all(|&t| t == txn))
        };
        if !reads.iter().all(|k| free_r(l.locks.get(k))) || !writes.iter().all(|k| free_w(l.locks.get(k))) {
            return false;
        }
        let held = &mut l.holders.entry(txn).or_insert_with(|| (BTreeSet::new(), now)).0;
        for k in reads {
            l.locks.entry(k.clone()).or_default().readers.insert(txn);
            held.insert(k.clone());
        }
        for k in writes {
            l.locks.entry(k.clone()).or_default().writer = Some(txn);
            held.insert(k.clone());
        }
        true
    }

    /// Whether `txn` holds a lock (shared or exclusive) on every key of `reads`.
    fn holds_reads(&self, r: usize, txn: TxnId, reads: &[Value]) -> bool {
        let Some(l) = &self.replicas[r].leader else { return false };
        reads.iter().all(|k| l.locks.get(k).is_some_and(|lock| lock.readers.contains(&txn) || lock.writer == Some(txn)))
    }

    /// Serves the snapshot reads that are safe (Spanner's t_safe, §4.1.3):
    /// TT.after(ts), then a barrier committed in this term (this node still
    /// leads, and has applied everything that could commit below ts), and
    /// nothing prepared or being coordinated here at or below ts.
    fn serve_snapshots(&mut self, ctx: &mut SCtx, r: usize) {
        let tt = self.tt(ctx);
        let g = self.replicas[r].group;
        let rep = &self.replicas[r];
        let Some(l) = &rep.leader else { return };
        if l.snap_waits.is_empty() {
            return;
        }
        let pending = [
            rep.state.min_prepared_ts(),
            l.preparing.values().map(|p| p.0).min(),
            l.coordinating.values().map(|c| c.proposed.flatten().unwrap_or(c.lower)).min(),
        ]
        .into_iter()
        .flatten()
        .min();
        let applied = rep.state.applied;
        let mut ready = Vec::new();
        let mut need_barrier = false;
        let mut wake = None::<i64>;
        let l = self.replicas[r].leader.as_mut().expect("checked");
        l.snap_waits.retain(|w| match w.barrier {
            None if tt.earliest > w.ts => {
                need_barrier = true;
                true
            }
            None => {
                let after = w.ts - tt.earliest + 1;
                wake = Some(wake.map_or(after, |a| a.min(after)));
                true
            }
            Some(i) if i <= applied && pending.is_none_or(|p| p > w.ts) => {
                ready.push(w.clone());
                false
            }
            Some(_) => true,
        });
        if let Some(after) = wake {
            self.wake_in(ctx, after);
        }
        for w in ready {
            let state = &self.replicas[r].state;
            let values = w.keys.iter().map(|k| (k.clone(), state.read_at(k, w.ts))).collect();
            self.send(ctx, w.from, SpannerMsg::ReadReply { group: g, txn: w.txn, result: Ok(values) });
        }
        if need_barrier {
            // Marked before proposing: proposing may apply entries and come
            // back here, which must not propose another barrier.
            const PROPOSING: u64 = u64::MAX;
            let mark = |l: &mut Leader, from: Option<u64>, to: Option<u64>| {
                for w in l.snap_waits.iter_mut().filter(|w| w.barrier == from && (from.is_some() || tt.earliest > w.ts))
                {
                    w.barrier = to;
                }
            };
            mark(self.replicas[r].leader.as_mut().expect("checked"), None, Some(PROPOSING));
            let index = self.propose(ctx, r, Record::Barrier);
            if let Some(l) = self.replicas[r].leader.as_mut() {
                mark(l, Some(PROPOSING), index);
            }
            if index.is_some() {
                self.serve_snapshots(ctx, r);
            }
        }
    }

    // ---- leader handlers ----------------------------------------------

    /// The replica of `g` here when it is the ready leader; else answers
    /// `refuse` with a hint and returns `None`.
    fn leading(&self, g: GroupId) -> Result<usize, Option<NodeId>> {
        let Some(r) = self.replica_index(g) else { return Err(None) };
        let rep = &self.replicas[r];
        if rep.leader.is_some() {
            return Ok(r);
        }
        Err(rep.raft.leader().map(|i| rep.members[i]))
    }

    fn on_read_lock(
        &mut self,
        ctx: &mut SCtx,
        from: NodeId,
        g: GroupId,
        txn: TxnId,
        keys: Vec<Value>,
        exclusive: Vec<Value>,
    ) {
        let result = match self.leading(g) {
            Err(hint) => Err(Refusal::NotLeader(hint)),
            Ok(r) => {
                let full = self.replicas[r].leader.as_ref().is_some_and(|l| l.holders.len() >= MAX_PENDING);
                let shared: Vec<Value> = keys.iter().filter(|k| !exclusive.contains(k)).cloned().collect();
                if !full && self.lock(r, txn, &shared, &exclusive, ctx.local_time_ns()) {
                    let st = &self.replicas[r].state;
                    Ok(keys.iter().map(|k| (k.clone(), st.latest(k))).collect())
                } else {
                    self.stats.lock_conflicts += 1;
                    Err(Refusal::Conflict)
                }
            }
        };
        self.send(ctx, from, SpannerMsg::ReadReply { group: g, txn, result });
    }

    fn on_snap_read(&mut self, ctx: &mut SCtx, from: NodeId, g: GroupId, txn: TxnId, ts: Ts, keys: Vec<Value>) {
        let r = match self.leading(g) {
            Err(hint) => {
                let msg = SpannerMsg::ReadReply { group: g, txn, result: Err(Refusal::NotLeader(hint)) };
                self.send(ctx, from, msg);
                return;
            }
            Ok(r) => r,
        };
        let l = self.replicas[r].leader.as_mut().expect("leading");
        if l.snap_waits.len() >= MAX_PENDING || l.snap_waits.iter().any(|w| w.txn == txn) {
            return;
        }
        l.snap_waits.push(SnapWait { from, txn, ts, keys, barrier: None });
        self.serve_snapshots(ctx, r);
    }

    fn on_prepare(
        &mut self,
        ctx: &mut SCtx,
        g: GroupId,
        txn: TxnId,
        coord: GroupId,
        reads: Vec<Value>,
        writes: Vec<Mop>,
    ) {
        let Ok(r) = self.leading(g) else { return };
        let rep = &self.replicas[r];
        let vote = |prepared| SpannerMsg::Vote { coord, txn, from_group: g, prepared };
        if let Some(d) = rep.state.decided.get(&txn) {
            // Decided already (aborted, or a duplicate after commit).
            if d.is_none() {
                self.send_group(ctx, coord, vote(None));
            }
            return;
        }
        if let Some(p) = rep.state.prepared.get(&txn) {
            let ts = p.ts;
            self.send_group(ctx, coord, vote(Some(ts)));
            return;
        }
        if rep.leader.as_ref().is_some_and(|l| l.preparing.contains_key(&txn)) {
            return;
        }
        let write_keys: Vec<Value> = writes.iter().map(|m| m.key.clone()).collect();
        // The reads' locks must still be held here: a leader change loses
        // them, and then what was read may have been overwritten.
        if !self.holds_reads(r, txn, &reads) || !self.lock(r, txn, &[], &write_keys, ctx.local_time_ns()) {
            self.stats.lock_conflicts += 1;
            self.release(r, txn);
            self.send_group(ctx, coord, vote(None));
            return;
        }
        let tt = self.tt(ctx);
        let rep = &mut self.replicas[r];
        let l = rep.leader.as_mut().expect("leading");
        // Above every timestamp this group's log holds, too: commits of
        // other coordinators' transactions chose theirs elsewhere.
        l.last_ts = l.last_ts.max(rep.state.max_ts);
        let ts = tt.latest.max(l.last_ts + 1);
        l.last_ts = ts;
        l.preparing.insert(txn, (ts, coord));
        if self.propose(ctx, r, Record::Prepare { txn, ts, coord, reads, writes }).is_none() {
            if let Some(l) = self.replicas[r].leader.as_mut() {
                l.preparing.remove(&txn);
            }
            self.release(r, txn);
            self.send_group(ctx, coord, vote(None));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_commit(
        &mut self,
        ctx: &mut SCtx,
        from: NodeId,
        g: GroupId,
        txn: TxnId,
        participants: Vec<GroupId>,
        reads: Vec<Value>,
        writes: Vec<Mop>,
    ) {
        let Ok(r) = self.leading(g) else { return };
        if self.tell_decided(ctx, r, from, txn) {
            return;
        }
        let l = self.replicas[r].leader.as_ref().expect("leading");
        if l.coordinating.contains_key(&txn) || l.coordinating.len() >= MAX_PENDING {
            return;
        }
        let write_keys: Vec<Value> = writes.iter().map(|m| m.key.clone()).collect();
        let now = ctx.local_time_ns();
        let ok = self.holds_reads(r, txn, &reads) && self.lock(r, txn, &[], &write_keys, now);
        let c = Coord {
            router: from,
            participants: participants.into_iter().filter(|&p| p != g).collect(),
            votes: BTreeMap::new(),
            lower: self.tt(ctx).latest,
            writes,
            started_ns: now,
            proposed: None,
        };
        self.replicas[r].leader.as_mut().expect("leading").coordinating.insert(txn, c);
        if ok {
            self.try_decide(ctx, r, txn);
        } else {
            self.stats.lock_conflicts += 1;
            self.decide(ctx, r, txn, None);
        }
    }

    fn on_vote(&mut self, ctx: &mut SCtx, coord: GroupId, txn: TxnId, from_group: GroupId, prepared: Option<Ts>) {
        let Ok(r) = self.leading(coord) else { return };
        let Some(c) = self.replicas[r].leader.as_mut().and_then(|l| l.coordinating.get_mut(&txn)) else {
            // No longer coordinated here: a participant's vote after the
            // decision gets the decision.
            if let Some(d) = self.announceable(ctx, r, txn) {
                self.send_group(ctx, from_group, SpannerMsg::Outcome { txn, commit_ts: d });
            }
            return;
        };
        if c.proposed.is_some() {
            return;
        }
        match prepared {
            Some(ts) => {
                c.votes.insert(from_group, ts);
                self.try_decide(ctx, r, txn);
            }
            None => self.decide(ctx, r, txn, None),
        }
    }

    /// Commits once every participant prepared: s at least every prepare
    /// timestamp, TT.now().latest at the commit's arrival, and above every
    /// timestamp this leader assigned.
    fn try_decide(&mut self, ctx: &mut SCtx, r: usize, txn: TxnId) {
        let rep = &mut self.replicas[r];
        let Some(l) = rep.leader.as_mut() else { return };
        l.last_ts = l.last_ts.max(rep.state.max_ts);
        let Some(c) = l.coordinating.get(&txn) else { return };
        if c.proposed.is_some() || c.participants.iter().any(|p| !c.votes.contains_key(p)) {
            return;
        }
        let max_prepare = c.votes.values().copied().max().unwrap_or(Ts::MIN);
        let ts = c.lower.max(max_prepare).max(l.last_ts + 1);
        // Commit timestamp within TrueTime's bounds: not below TT.now().latest
        // at the commit's arrival, nor below any prepare timestamp.
        debug_assert!(ts >= c.lower && ts >= max_prepare && ts > l.last_ts, "txn {txn:?}: commit ts {ts}");
        l.last_ts = ts;
        self.decide(ctx, r, txn, Some(ts));
    }

    /// Logs the coordinator's decision; it is announced once applied.
    fn decide(&mut self, ctx: &mut SCtx, r: usize, txn: TxnId, outcome: Option<Ts>) {
        let Some(c) = self.replicas[r].leader.as_mut().and_then(|l| l.coordinating.get_mut(&txn)) else { return };
        c.proposed = Some(outcome);
        let rec = match outcome {
            Some(ts) => Record::Commit { txn, ts, writes: c.writes.clone() },
            None => Record::Abort { txn },
        };
        if self.propose(ctx, r, rec).is_none() {
            // Not appended (log full): nothing decided; the participants
            // will ask, and the client library times out.
            if let Some(l) = self.replicas[r].leader.as_mut() {
                l.coordinating.remove(&txn);
            }
            self.release(r, txn);
        }
    }

    /// A participant leader learns the decision: it logs it (releasing the
    /// locks once applied). Also the client library's answer.
    fn on_outcome(&mut self, ctx: &mut SCtx, txn: TxnId, commit_ts: Option<Ts>) {
        for r in 0..self.replicas.len() {
            let rep = &self.replicas[r];
            let Some(l) = &rep.leader else { continue };
            if rep.state.decided.contains_key(&txn) || l.finishing.contains(&txn) {
                continue;
            }
            if l.coordinating.contains_key(&txn) {
                continue;
            }
            let rec = match (rep.state.prepared.get(&txn), commit_ts) {
                (Some(p), Some(ts)) => Record::Commit { txn, ts, writes: p.writes.clone() },
                (Some(_), None) => Record::Abort { txn },
                // Not prepared here: an abort frees what it locked; a
                // commit is a duplicate for a group that applied it.
                (None, None) => {
                    if !l.preparing.contains_key(&txn) {
                        self.release(r, txn);
                    }
                    continue;
                }
                (None, Some(_)) => continue,
            };
            self.replicas[r].leader.as_mut().expect("checked").finishing.insert(txn);
            if self.propose(ctx, r, rec).is_none() {
                if let Some(l) = self.replicas[r].leader.as_mut() {
                    l.finishing.remove(&txn);
                }
            }
        }
        self.on_router_outcome(ctx, txn, commit_ts);
    }

    /// A coordinator group's leader answers a participant that asks about a
    /// transaction: the logged decision, or (presumed abort) it logs an
    /// abort when it is not coordinating the transaction.
    fn on_query(&mut self, ctx: &mut SCtx, from: NodeId, coord: GroupId, txn: TxnId) {
        let Ok(r) = self.leading(coord) else { return };
        if self.tell_decided(ctx, r, from, txn) {
            return;
        }
        let l = self.replicas[r].leader.as_mut().expect("leading");
        if l.coordinating.contains_key(&txn) {
            return;
        }
        // Coordinating it in its place, to log and announce an abort.
        let c = Coord {
            router: from,
            participants: BTreeSet::new(),
            votes: BTreeMap::new(),
            lower: Ts::MAX,
            writes: Vec::new(),
            started_ns: ctx.local_time_ns(),
            proposed: None,
        };
        l.coordinating.insert(txn, c);
        self.decide(ctx, r, txn, None);
    }

    fn on_release(&mut self, g: GroupId, txn: TxnId) {
        let Ok(r) = self.leading(g) else { return };
        let l = self.replicas[r].leader.as_ref().expect("leading");
        let busy = l.preparing.contains_key(&txn)
            || l.coordinating.contains_key(&txn)
            || self.replicas[r].state.prepared.contains_key(&txn);
        if !busy {
            self.release(r, txn);
        }
    }

    /// Every leader's periodic work: drops the locks of transactions that
    /// never prepared, aborts coordinations whose votes did not come, asks
    /// about transactions prepared for long.
    fn leader_tick(&mut self, ctx: &mut SCtx, r: usize) {
        let now = ctx.local_time_ns();
        let (lock_timeout, retry) = (self.proto.lock_timeout_ns as i64, self.proto.retry_ns as i64);
        let rep = &self.replicas[r];
        let Some(l) = &rep.leader else { return };
        let stale: Vec<TxnId> = l
            .holders
            .iter()
            .filter(|(t, (_, since))| {
                now.saturating_sub(*since) >= lock_timeout
                    && !l.preparing.contains_key(t)
                    && !l.coordinating.contains_key(t)
                    && !l.commit_waits.contains_key(t)
                    && !rep.state.prepared.contains_key(t)
            })
            .map(|(t, _)| *t)
            .collect();
        let expired: Vec<TxnId> = l
            .coordinating
            .iter()
            .filter(|(_, c)| c.proposed.is_none() && now.saturating_sub(c.started_ns) >= lock_timeout)
            .map(|(t, _)| *t)
            .collect();
        let ask: Vec<(TxnId, GroupId)> = rep
            .state
            .prepared
            .iter()
            .filter(|(t, _)| {
                !l.finishing.contains(t) && l.queried.get(t).is_none_or(|&at| now.saturating_sub(at) >= retry)
            })
            .map(|(t, p)| (*t, p.coord))
            .collect();
        for t in stale {
            self.release(r, t);
        }
        for t in expired {
            self.decide(ctx, r, t, None);
        }
        for (t, coord) in ask {
            if let Some(l) = self.replicas[r].leader.as_mut() {
                l.queried.insert(t, now);
            }
            self.send_group(ctx, coord, SpannerMsg::Query { coord, txn: t });
        }
        self.serve_snapshots(ctx, r);
        self.finish_commit_waits(ctx, r);
    }

    // ---- the client library -------------------------------------------

    fn target(&self, g: GroupId) -> NodeId {
        if let Some(&n) = self.hints.get(&g) {
            return n;
        }
        if let Some(r) = self.replica_index(g) {
            let rep = &self.replicas[r];
            if let Some(i) = rep.raft.leader() {
                return rep.members[i];
            }
        }
        self.proto.members(g, self.nodes)[0]
    }

    fn begin(&mut self, ctx: &mut SCtx, req: Request) {
        let mops = match txn::parse(&req.value) {
            Ok(m) if req.f == F::Txn => m,
            Ok(_) => return ctx.reply(req.id, Response::Fail(format!("spanner serves txn only, not {}", req.f))),
            Err(e) => return ctx.reply(req.id, Response::Fail(e)),
        };
        if self.txns.len() >= MAX_PENDING {
            return ctx.reply(req.id, Response::Fail("overloaded".to_string()));
        }
        let txn = (self.id, Self::next_seq(ctx));
        let read_only = mops.iter().all(|m| m.kind == MopKind::Read);
        let mut parts: BTreeMap<GroupId, Part> = BTreeMap::new();
        // A read after the transaction's own write to the key needs nothing
        // from the store for that key only if written first; every read key
        // is read (and locked) to keep it simple and 2PL.
        for m in &mops {
            let p = parts.entry(self.proto.group_of(&m.key)).or_default();
            if m.kind == MopKind::Read {
                if !p.reads.contains(&m.key) {
                    p.reads.push(m.key.clone());
                }
            } else {
                p.writes.push(m.clone());
            }
        }
        let coord = mops.iter().find(|m| m.is_write()).map_or(0, |m| self.proto.group_of(&m.key));
        let snapshot = self.tt(ctx).latest;
        if read_only {
            self.stats.read_only_txns += 1;
        }
        let now = ctx.local_time_ns();
        for (&g, p) in parts.iter_mut() {
            p.target = self.target(g);
            p.sent_ns = now;
            if p.reads.is_empty() {
                p.values = Some(Vec::new());
            }
        }
        let t = ClientTxn {
            req: req.id,
            mops,
            read_only,
            snapshot,
            parts,
            phase: Phase::Reading,
            started_ns: now,
            answer: None,
            coord,
        };
        self.txns.insert(txn, t);
        self.send_reads(ctx, txn, false);
        self.maybe_commit(ctx, txn);
    }

    /// Sends the reads not answered yet (`retry`: only those sent a retry
    /// interval ago, to their next replica when unanswered).
    fn send_reads(&mut self, ctx: &mut SCtx, txn: TxnId, retry: bool) {
        let now = ctx.local_time_ns();
        let Some(t) = self.txns.get_mut(&txn) else { return };
        let snapshot = t.read_only.then_some(t.snapshot);
        let mut out = Vec::new();
        for (&g, p) in t.parts.iter_mut() {
            if p.values.is_some() || (retry && now.saturating_sub(p.sent_ns) < self.proto.retry_ns as i64) {
                continue;
            }
            if retry && p.conflicts == 0 {
                let members = self.proto.members(g, self.nodes);
                let i = members.iter().position(|&n| n == p.target).map_or(0, |i| (i + 1) % members.len());
                p.target = members[i];
            }
            p.sent_ns = now;
            out.push((p.target, read_msg(snapshot, g, txn, p)));
        }
        for (to, msg) in out {
            self.send(ctx, to, msg);
        }
    }

    fn on_read_reply(
        &mut self,
        ctx: &mut SCtx,
        from: NodeId,
        g: GroupId,
        txn: TxnId,
        result: Result<Vec<(Value, Value)>, Refusal>,
    ) {
        let Some(t) = self.txns.get_mut(&txn) else { return };
        let snapshot = t.read_only.then_some(t.snapshot);
        let Some(p) = t.parts.get_mut(&g) else { return };
        if p.values.is_some() || t.phase != Phase::Reading {
            return;
        }
        match result {
            Ok(values) => {
                p.values = Some(values);
                self.hints.insert(g, from);
                self.maybe_commit(ctx, txn);
            }
            Err(Refusal::NotLeader(hint)) => {
                self.hints.remove(&g);
                if let Some(h) = hint.filter(|&h| h != p.target) {
                    p.target = h;
                    p.sent_ns = ctx.local_time_ns();
                    let msg = read_msg(snapshot, g, txn, p);
                    self.send(ctx, h, msg);
                }
            }
            // No-wait: the request did not wait at the lock; the client
            // library tries again a retry interval later, a few times.
            Err(Refusal::Conflict) if p.conflicts < MAX_CONFLICT_RETRIES => {
                p.conflicts += 1;
                p.sent_ns = ctx.local_time_ns();
            }
            Err(Refusal::Conflict) => self.give_up(ctx, txn, Response::Fail("lock conflict (no-wait)".to_string())),
        }
    }

    /// Once every read is answered: a read-only transaction answers; a
    /// read-write one executes and sends its commit.
    fn maybe_commit(&mut self, ctx: &mut SCtx, txn: TxnId) {
        let Some(t) = self.txns.get(&txn) else { return };
        if t.phase != Phase::Reading || t.parts.values().any(|p| p.values.is_none()) {
            return;
        }
        let values: BTreeMap<&Value, &Value> =
            t.parts.values().flat_map(|p| p.values.iter().flatten().map(|(k, v)| (k, v))).collect();
        let executed = txn::execute(&t.mops, |k| values.get(k).map_or(Value::Nil, |v| (*v).clone()));
        let (out, _) = match executed {
            Ok(x) => x,
            Err(e) => return self.give_up(ctx, txn, Response::Fail(e)),
        };
        let answer = txn::encode(&out);
        if t.read_only {
            let t = self.txns.remove(&txn).expect("checked");
            ctx.reply(t.req, Response::Ok(answer));
            return;
        }
        let t = self.txns.get_mut(&txn).expect("checked");
        t.answer = Some(answer);
        t.phase = Phase::Committing;
        self.send_commit(ctx, txn, false);
    }

    /// Sends the commit to the coordinator and the prepares to the other
    /// participants: to the leaders it knows, or (`everyone`, a retry) to
    /// every replica, as a non-leader drops them.
    fn send_commit(&mut self, ctx: &mut SCtx, txn: TxnId, everyone: bool) {
        let Some(t) = self.txns.get(&txn) else { return };
        let participants: Vec<GroupId> = t.parts.keys().copied().collect();
        let mut out = Vec::new();
        for (&g, p) in &t.parts {
            let msg = if g == t.coord {
                let participants = participants.clone();
                SpannerMsg::Commit { group: g, txn, participants, reads: p.reads.clone(), writes: p.writes.clone() }
            } else {
                SpannerMsg::Prepare { group: g, txn, coord: t.coord, reads: p.reads.clone(), writes: p.writes.clone() }
            };
            if everyone {
                out.extend(self.proto.members(g, self.nodes).into_iter().map(|n| (n, msg.clone())));
            } else {
                out.push((p.target, msg));
            }
        }
        for (to, msg) in out {
            self.send(ctx, to, msg);
        }
    }

    fn on_router_outcome(&mut self, ctx: &mut SCtx, txn: TxnId, commit_ts: Option<Ts>) {
        let Some(t) = self.txns.get(&txn) else { return };
        if t.phase != Phase::Committing {
            return;
        }
        let t = self.txns.remove(&txn).expect("checked");
        let response = match (commit_ts, t.answer) {
            (Some(_), Some(answer)) => Response::Ok(answer),
            _ => Response::Fail("aborted".to_string()),
        };
        ctx.reply(t.req, response);
    }

    /// Ends a transaction before its commit was sent: nothing happened.
    fn give_up(&mut self, ctx: &mut SCtx, txn: TxnId, response: Response) {
        let Some(t) = self.txns.remove(&txn) else { return };
        debug_assert_eq!(t.phase, Phase::Reading, "only a transaction that sent no commit fails definitely");
        if !t.read_only {
            for (&g, p) in &t.parts {
                self.send(ctx, p.target, SpannerMsg::Release { group: g, txn });
            }
        }
        ctx.reply(t.req, response);
    }

    /// Marks every read key the transaction also writes as exclusive.
    fn exclusive_reads(p: &Part) -> Vec<Value> {
        p.reads.iter().filter(|k| p.writes.iter().any(|m| &m.key == *k)).cloned().collect()
    }

    fn router_tick(&mut self, ctx: &mut SCtx) {
        let now = ctx.local_time_ns();
        let timeout = self.proto.txn_timeout_ns as i64;
        let ids: Vec<TxnId> = self.txns.keys().copied().collect();
        for txn in ids {
            let t = &self.txns[&txn];
            let old = now.saturating_sub(t.started_ns) >= timeout;
            match (t.phase, old) {
                (Phase::Reading, true) => self.give_up(ctx, txn, Response::Fail("timed out before commit".to_string())),
                (Phase::Committing, true) => {
                    let t = self.txns.remove(&txn).expect("listed");
                    ctx.reply(t.req, Response::Unknown("no outcome from the coordinator".to_string()));
                }
                (Phase::Reading, false) => self.send_reads(ctx, txn, true),
                (Phase::Committing, false) => {
                    if now.saturating_sub(t.parts.values().map(|p| p.sent_ns).max().unwrap_or(0))
                        >= self.proto.retry_ns as i64
                    {
                        let t = self.txns.get_mut(&txn).expect("listed");
                        for p in t.parts.values_mut() {
                            p.sent_ns = now;
                        }
                        self.send_commit(ctx, txn, true);
                    }
                }
            }
        }
    }

    /// Statistics for comparisons; names carry their units.
    pub fn stats_map(&self) -> BTreeMap<String, i64> {
        stats_map!(
            &self.stats,
            [
                txns_committed,
                txns_aborted,
                read_only_txns,
                lock_conflicts,
                commit_waits,
                commit_wait_ns_sum,
                commit_wait_ns_max,
                epsilon_ns_sum,
                epsilon_ns_max,
                messages_sent
            ]
        )
    }
}

/// The read request of group `g`'s part of a transaction.
/// (`snapshot`: the timestamp of a read-only transaction).
fn read_msg(snapshot: Option<Ts>, g: GroupId, txn: TxnId, p: &Part) -> SpannerMsg {
    if let Some(ts) = snapshot {
        SpannerMsg::SnapRead { group: g, txn, ts, keys: p.reads.clone() }
    } else {
        SpannerMsg::ReadLock { group: g, txn, keys: p.reads.clone(), exclusive: SpannerNode::exclusive_reads(p) }
    }
}

impl Node for SpannerNode {
    type Msg = SpannerMsg;
    type Durable = SpannerDurable;

    fn on_start(&mut self, ctx: &mut SCtx) {
        for r in 0..self.replicas.len() {
            self.with_raft(ctx, r, |raft, sub| raft.on_start(sub));
        }
        ctx.set_timer(TICK_NS, TAG_TICK);
    }

    fn on_message(&mut self, ctx: &mut SCtx, from: NodeId, msg: SpannerMsg) {
        match msg {
            SpannerMsg::Raft { group, msg } => {
                let Some(r) = self.replica_index(group) else { return };
                let Some(i) = self.replicas[r].members.iter().position(|&n| n == from) else { return };
                self.with_raft(ctx, r, |raft, sub| raft.on_message(sub, i, msg));
            }
            SpannerMsg::ReadLock { group, txn, keys, exclusive } => {
                self.on_read_lock(ctx, from, group, txn, keys, exclusive)
            }
            SpannerMsg::SnapRead { group, txn, ts, keys } => self.on_snap_read(ctx, from, group, txn, ts, keys),
            SpannerMsg::ReadReply { group, txn, result } => self.on_read_reply(ctx, from, group, txn, result),
            SpannerMsg::Prepare { group, txn, coord, reads, writes } => {
                self.on_prepare(ctx, group, txn, coord, reads, writes)
            }
            SpannerMsg::Commit { group, txn, participants, reads, writes } => {
                self.on_commit(ctx, from, group, txn, participants, reads, writes)
            }
            SpannerMsg::Vote { coord, txn, from_group, prepared } => {
                self.on_vote(ctx, coord, txn, from_group, prepared)
            }
            SpannerMsg::Outcome { txn, commit_ts } => self.on_outcome(ctx, txn, commit_ts),
            SpannerMsg::Query { coord, txn } => self.on_query(ctx, from, coord, txn),
            SpannerMsg::Release { group, txn } => self.on_release(group, txn),
        }
    }

    fn on_timer(&mut self, ctx: &mut SCtx, tag: u64) {
        match tag & TAG_MASK {
            TAG_RAFT => {
                let Some((r, raft_tag)) = self.raft_timers.remove(&(tag & !TAG_MASK)) else { return };
                self.with_raft(ctx, r, |raft, sub| raft.on_timer(sub, raft_tag));
            }
            TAG_TICK => {
                self.router_tick(ctx);
                for r in 0..self.replicas.len() {
                    self.leader_tick(ctx, r);
                }
                ctx.set_timer(TICK_NS, TAG_TICK);
            }
            _ => {
                // The last armed wake fired (or one it superseded): the
                // waits left arm the next.
                if self.wake.is_some_and(|(_, token)| token == tag & !TAG_MASK) {
                    self.wake = None;
                }
                for r in 0..self.replicas.len() {
                    self.serve_snapshots(ctx, r);
                    self.finish_commit_waits(ctx, r);
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut SCtx, req: Request) {
        self.begin(ctx, req);
    }

    fn is_leader(&self) -> bool {
        self.replicas.iter().any(|r| r.leader.is_some())
    }

    fn stats(&self) -> BTreeMap<String, i64> {
        self.stats_map()
    }
}

#[cfg(test)]
mod tests;
