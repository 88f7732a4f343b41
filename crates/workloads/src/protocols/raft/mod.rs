//! Raft (Ongaro & Ousterhout, 2014): leader election with randomised
//! timeouts, log replication with the consistency check, commit by majority
//! in the leader's term, and a replicated key-value store. Reads go through
//! the log, so every answered op is linearizable. Term, vote and log are
//! durable; everything else is rebuilt after a restart.
//!
//! Parameters (`--param NAME=VALUE`):
//! - `election_timeout_ms` (default 50): minimum election timeout; each wait
//!   is drawn uniformly from `[t, 2t)`.
//! - `heartbeat_ms` (default 10): leader's AppendEntries period; must be
//!   below `election_timeout_ms`.
//! - `max_batch` (default 64): most log entries in one AppendEntries.
//! - `forward_timeout_ms` (default 1000): how long a follower waits for the
//!   leader's answer to a forwarded request before answering `Unknown`.
//! - `no_leader_wait_ms` (default 200): how long a node that knows no leader
//!   holds a request, hoping an election ends, before answering
//!   `Fail("no leader")`.
//! - `bug`: `none` (default), `stale-reads` (every node answers reads from
//!   its own state machine, without the log: the bug of serving reads from
//!   followers or from a deposed leader), `no-term-check-on-commit` (a
//!   leader commits any entry stored on a majority, also from earlier
//!   terms: the unsafety of Figure 8 in the paper).
//! - `fsync` (default `always`): `periodic` persists lazily, as etcd's
//!   `--unsafe-no-fsync` or a periodic commit log does: term, vote and
//!   entries are acknowledged from the page cache and fsynced only every
//!   `fsync_ms` (default 100), so a crash (a power-off) can lose a vote
//!   or an entry a majority acknowledged. Unsafe; the invariants and the
//!   checker find it.

mod monitor;

use super::common::stats_map;
use super::common::{KvStore, Param, ParamError, Params};
use crate::sim::{Ctx, Monitor, Node, NodeId, Protocol, Request, RequestId, Response};
use checker::F;
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet};

/// A deliberate, switchable bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftBug {
    /// Any node answers reads from its local state machine.
    StaleReads,
    /// Commit entries of earlier terms by counting replicas (Figure 8).
    NoTermCheckOnCommit,
}

/// Timing and behaviour of every node.
#[derive(Clone, Debug)]
pub struct RaftConfig {
    pub election_timeout_ns: u64,
    pub heartbeat_ns: u64,
    pub max_batch: usize,
    pub forward_timeout_ns: u64,
    pub no_leader_wait_ns: u64,
    pub bug: Option<RaftBug>,
    /// `fsync=periodic`: fsync every this long instead of before every
    /// message (see the module doc).
    pub fsync_period_ns: Option<u64>,
}

impl RaftConfig {
    /// Whether a committed entry may be overwritten or lost: a bug is on,
    /// or fsync is periodic (a power-off loses what was acknowledged).
    fn may_lose_commits(&self) -> bool {
        self.bug.is_some() || self.fsync_period_ns.is_some()
    }
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftProtocol::from_params(&BTreeMap::new()).expect("the defaults parse").config
    }
}

/// Most entries a log may hold: a run that exceeds it fails new requests
/// rather than grow without bound (there is no snapshotting).
pub const MAX_LOG_ENTRIES: usize = 1 << 20;
/// Most client requests a leader keeps waiting for commit, and a follower
/// keeps forwarded; more are refused (`Fail("overloaded")`).
pub const MAX_PENDING: usize = 4096;

/// The `raft` protocol.
#[derive(Clone, Debug, Default)]
pub struct RaftProtocol {
    pub config: RaftConfig,
}

impl RaftProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::ms("election_timeout_ms", 1, 50, "minimum election timeout; each wait is drawn from [t, 2t)"),
        Param::ms("heartbeat_ms", 1, 10, "leader's AppendEntries period (must be below the election timeout)"),
        Param::int("max_batch", 1, 10_000, Some(64), "most entries per AppendEntries"),
        Param::ms("forward_timeout_ms", 1, 1000, "a forwarding node gives up on the leader's answer (info)"),
        Param::ms("no_leader_wait_ms", 1, 200, "how long a request is held while no leader is known"),
        Param::choice(
            "bug",
            &["none", "stale-reads", "no-term-check-on-commit"],
            "none",
            "a deliberate bug (see docs/protocols/raft.md)",
        ),
        Param::choice(
            "fsync",
            &["always", "periodic"],
            "always",
            "periodic: acknowledge from the page cache, fsync every fsync_ms (unsafe under crashes)",
        ),
        Param::ms("fsync_ms", 1, 100, "the period of fsync=periodic"),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("raft", Self::PARAMS, params)?;
        let c = RaftConfig {
            election_timeout_ns: p.ns("election_timeout_ms"),
            heartbeat_ns: p.ns("heartbeat_ms"),
            max_batch: p.int("max_batch") as usize,
            forward_timeout_ns: p.ns("forward_timeout_ms"),
            no_leader_wait_ns: p.ns("no_leader_wait_ms"),
            bug: match p.choice("bug") {
                "stale-reads" => Some(RaftBug::StaleReads),
                "no-term-check-on-commit" => Some(RaftBug::NoTermCheckOnCommit),
                _ => None,
            },
            fsync_period_ns: (p.choice("fsync") == "periodic").then(|| p.ns("fsync_ms")),
        };
        if c.heartbeat_ns >= c.election_timeout_ns {
            return Err(p.conflict("parameter `heartbeat_ms` must be below `election_timeout_ms`"));
        }
        Ok(RaftProtocol { config: c })
    }
}

impl Protocol for RaftProtocol {
    type Node = RaftNode;

    fn create(&self, id: NodeId, nodes: usize, _durable: &RaftDurable) -> RaftNode {
        RaftNode::new(id, nodes, self.config.clone())
    }

    fn lazy_fsync(&self) -> bool {
        self.config.fsync_period_ns.is_some()
    }

    /// Election safety, log matching, leader completeness and state-machine
    /// safety ([`monitor`]); promised unless the Figure 8 bug is on.
    fn monitor(&self) -> Option<Box<dyn Monitor<RaftNode>>> {
        let promised = self.config.bug != Some(RaftBug::NoTermCheckOnCommit) && self.config.fsync_period_ns.is_none();
        Some(Box::new(monitor::RaftMonitor::new(promised)))
    }
}

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Appended by a new leader so that it can commit entries of earlier
    /// terms (§5.4.2, §8).
    Noop,
    /// A client request received by node `origin`.
    Client { origin: NodeId, req: Request },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub term: u64,
    pub cmd: Command,
}

/// Persistent state on all servers (Figure 2): survives crashes.
#[derive(Clone, Debug, Default)]
pub struct RaftDurable {
    pub current_term: u64,
    pub voted_for: Option<NodeId>,
    /// Entry `i` (1-based) is `log[i - 1]`.
    pub log: Vec<Entry>,
}

impl RaftDurable {
    pub fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    /// Term of entry `i`; 0 for index 0 (the empty prefix) or past the end.
    pub fn term_at(&self, i: u64) -> u64 {
        if i == 0 {
            return 0;
        }
        self.log.get(i as usize - 1).map_or(0, |e| e.term)
    }

    pub fn last_term(&self) -> u64 {
        self.term_at(self.last_index())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum RaftMsg {
    RequestVote {
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    },
    Vote {
        term: u64,
        granted: bool,
    },
    AppendEntries(AppendEntries),
    AppendReply {
        term: u64,
        success: bool,
        /// On success: the index of the last entry known to match the leader.
        match_index: u64,
        /// On failure: where the leader should try next (fast backup).
        next_hint: u64,
    },
    /// A client request sent by the node it arrived at to the leader.
    Forward {
        req: Request,
    },
    /// The leader's answer to a forwarded request.
    ForwardResult {
        id: RequestId,
        response: Response,
    },
}

/// The leader's replication message (and heartbeat).
#[derive(Clone, Debug, PartialEq)]
pub struct AppendEntries {
    pub term: u64,
    pub prev_log_index: u64,
    pub prev_log_term: u64,
    pub entries: Vec<Entry>,
    pub leader_commit: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

const TIMER_ELECTION: u64 = 1 << 60;
const TIMER_HEARTBEAT: u64 = 2 << 60;
const TIMER_NO_LEADER: u64 = 3 << 60;
const TIMER_FSYNC: u64 = 4 << 60;
const TIMER_KIND_MASK: u64 = 0xF << 60;

struct Pending {
    origin: NodeId,
    id: RequestId,
    received_ns: i64,
}

/// Counters since this incarnation started (volatile, like any stat of a
/// real process).
#[derive(Clone, Debug, Default)]
pub struct RaftStats {
    pub messages_sent: i64,
    /// AppendEntries that carried entries (not heartbeats).
    pub appends_with_entries: i64,
    pub elections_started: i64,
    pub became_leader: i64,
    pub requests: i64,
    pub committed_requests: i64,
    pub commit_latency_ns_sum: i64,
    pub commit_latency_ns_max: i64,
    pub failed_no_leader: i64,
    pub unknown_on_step_down: i64,
    /// Local time this node knew no leader / was the leader.
    pub no_leader_ns: i64,
    pub leader_ns: i64,
}

pub type RaftCtx<'a, 'b> = Ctx<'a, RaftMsg, RaftDurable>;

pub struct RaftNode {
    id: NodeId,
    nodes: usize,
    config: RaftConfig,
    role: Role,
    leader: Option<NodeId>,
    commit_index: u64,
    last_applied: u64,
    kv: KvStore,
    /// Requests already applied, by (origin node, request id): a duplicated
    /// forward may put one request in the log twice, and it must take
    /// effect once (§8). Grows by one entry per request, like the log.
    applied: BTreeSet<(NodeId, u64)>,
    votes: BTreeSet<NodeId>,
    next_index: Vec<u64>,
    match_index: Vec<u64>,
    /// Leader: followers with an entry-carrying AppendEntries unanswered.
    /// At most one is in flight per follower (plus heartbeats), so neither
    /// new proposals nor duplicated replies can multiply the traffic: a
    /// reply sends more only when it moved the follower's match index
    /// (#15: every reply used to trigger another AppendEntries, a storm
    /// under duplication). The heartbeat clears it: it is the retransmit
    /// timer of a lost message.
    append_in_flight: Vec<bool>,
    /// Leader: client requests by log index, answered once applied.
    pending: BTreeMap<u64, Pending>,
    /// Requests this node forwarded to a leader: id -> local time sent.
    forwarded: BTreeMap<RequestId, i64>,
    /// Requests held while no leader is known, with their arrival time.
    held: Vec<(Request, i64)>,
    election_deadline_ns: i64,
    /// Epoch and local fire time of the one live election timer; timers
    /// cannot be cancelled, so older ones are recognised by epoch and ignored.
    election_epoch: u64,
    election_timer_at_ns: Option<i64>,
    /// Local time of the last handler call, for the time statistics.
    last_seen_ns: Option<i64>,
    /// The lowest log index the current handler wrote (a note for the
    /// monitor; cleared as each handler starts).
    log_changed_from: Option<u64>,
    pub stats: RaftStats,
}

impl RaftNode {
    pub fn new(id: NodeId, nodes: usize, config: RaftConfig) -> RaftNode {
        RaftNode {
            id,
            nodes,
            config,
            role: Role::Follower,
            leader: None,
            commit_index: 0,
            last_applied: 0,
            kv: KvStore::default(),
            applied: BTreeSet::new(),
            votes: BTreeSet::new(),
            next_index: vec![1; nodes],
            match_index: vec![0; nodes],
            append_in_flight: vec![false; nodes],
            pending: BTreeMap::new(),
            forwarded: BTreeMap::new(),
            held: Vec::new(),
            election_deadline_ns: 0,
            election_epoch: 0,
            election_timer_at_ns: None,
            last_seen_ns: None,
            log_changed_from: None,
            stats: RaftStats::default(),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    pub fn kv(&self) -> &KvStore {
        &self.kv
    }

    /// The lowest log index the last handler wrote, if it wrote any.
    pub fn log_changed_from(&self) -> Option<u64> {
        self.log_changed_from
    }

    fn note_log_change(&mut self, index: u64) {
        self.log_changed_from = Some(self.log_changed_from.map_or(index, |i| i.min(index)));
    }

    /// Starts a handler: clears the note of log changes and charges the
    /// time since the last handler call to "no leader known" or "leading",
    /// as the node was then. Every handler calls it first.
    fn account_time(&mut self, ctx: &RaftCtx) {
        self.log_changed_from = None;
        let now = ctx.local_time_ns();
        if let Some(last) = self.last_seen_ns {
            let dt = now.saturating_sub(last).max(0);
            if self.leader.is_none() {
                self.stats.no_leader_ns = self.stats.no_leader_ns.saturating_add(dt);
            }
            if self.role == Role::Leader {
                self.stats.leader_ns = self.stats.leader_ns.saturating_add(dt);
            }
        }
        self.last_seen_ns = Some(now);
    }

    fn majority(&self) -> usize {
        self.nodes / 2 + 1
    }

    fn send(&mut self, ctx: &mut RaftCtx, to: NodeId, msg: RaftMsg) {
        self.stats.messages_sent += 1;
        ctx.send(to, msg);
    }

    // ---- timers -------------------------------------------------------

    fn reset_election_timer(&mut self, ctx: &mut RaftCtx) {
        let t = self.config.election_timeout_ns;
        let wait = ctx.rng().random_range(t..2 * t);
        let now = ctx.local_time_ns();
        self.election_deadline_ns = now.saturating_add(wait as i64);
        match self.election_timer_at_ns {
            Some(at) if at <= self.election_deadline_ns => {} // fires first, then re-arms
            _ => self.arm_election_timer(ctx, wait),
        }
    }

    fn arm_election_timer(&mut self, ctx: &mut RaftCtx, after_ns: u64) {
        self.election_epoch += 1;
        self.election_timer_at_ns = Some(ctx.local_time_ns().saturating_add(after_ns as i64));
        ctx.set_timer(after_ns.max(1), TIMER_ELECTION | (self.election_epoch & !TIMER_KIND_MASK));
    }

    fn on_election_timer(&mut self, ctx: &mut RaftCtx) {
        self.election_timer_at_ns = None;
        if self.role == Role::Leader {
            return;
        }
        let now = ctx.local_time_ns();
        if now < self.election_deadline_ns {
            self.arm_election_timer(ctx, (self.election_deadline_ns - now) as u64);
        } else {
            self.start_election(ctx);
        }
    }

    // ---- roles --------------------------------------------------------

    /// Adopts a higher term (persisted before anything is sent) and
    /// becomes a follower.
    fn observe_term(&mut self, ctx: &mut RaftCtx, term: u64) {
        if term > ctx.durable().current_term {
            let d = ctx.durable_mut();
            d.current_term = term;
            d.voted_for = None;
            self.leader = None;
            self.become_follower(ctx);
        }
    }

    fn become_follower(&mut self, ctx: &mut RaftCtx) {
        if self.role == Role::Leader {
            self.abandon_pending(ctx);
        }
        if self.role != Role::Follower {
            self.role = Role::Follower;
            self.reset_election_timer(ctx);
        }
    }

    /// On losing leadership, requests waiting for commit get `Unknown`:
    /// their entries may still be committed by a later leader.
    fn abandon_pending(&mut self, ctx: &mut RaftCtx) {
        for (_, p) in std::mem::take(&mut self.pending) {
            self.stats.unknown_on_step_down += 1;
            self.answer(ctx, p.origin, p.id, Response::Unknown("leader stepped down before commit".to_string()));
        }
    }

    fn start_election(&mut self, ctx: &mut RaftCtx) {
        self.stats.elections_started += 1;
        self.role = Role::Candidate;
        self.leader = None;
        let d = ctx.durable_mut();
        d.current_term += 1;
        d.voted_for = Some(self.id);
        let (term, last_log_index, last_log_term) = (d.current_term, d.last_index(), d.last_term());
        self.votes = BTreeSet::from([self.id]);
        self.reset_election_timer(ctx);
        if self.votes.len() >= self.majority() {
            self.become_leader(ctx);
            return;
        }
        for to in 0..self.nodes {
            if to != self.id {
                self.send(ctx, to, RaftMsg::RequestVote { term, last_log_index, last_log_term });
            }
        }
    }

    fn become_leader(&mut self, ctx: &mut RaftCtx) {
        self.stats.became_leader += 1;
        self.role = Role::Leader;
        self.leader = Some(self.id);
        let term = ctx.durable().current_term;
        if ctx.durable().log.len() < MAX_LOG_ENTRIES {
            ctx.durable_mut().log.push(Entry { term, cmd: Command::Noop });
            self.note_log_change(ctx.durable().last_index());
        }
        let last = ctx.durable().last_index();
        self.next_index = vec![last + 1; self.nodes];
        self.match_index = vec![0; self.nodes];
        self.match_index[self.id] = last;
        self.append_in_flight = vec![false; self.nodes];
        // The no-op is persisted and nobody knows yet: a leader that dies
        // here leaves a log of a higher term on one node only (Figure 8).
        if ctx.leader_fault_point("raft.became-leader") {
            return;
        }
        self.advance_commit(ctx);
        self.broadcast_append(ctx);
        ctx.set_timer(self.config.heartbeat_ns, TIMER_HEARTBEAT | (term & !TIMER_KIND_MASK));
        self.release_held(ctx);
    }

    // ---- replication --------------------------------------------------

    /// Sends follower `to` the entries from its next index (none for a
    /// follower that has them all: a heartbeat).
    fn send_append(&mut self, ctx: &mut RaftCtx, to: NodeId) {
        let d = ctx.durable();
        let next = self.next_index[to].clamp(1, d.last_index() + 1);
        let prev_log_index = next - 1;
        let end = (prev_log_index as usize + self.config.max_batch).min(d.log.len());
        if end > prev_log_index as usize {
            self.append_in_flight[to] = true;
            self.stats.appends_with_entries += 1;
        }
        let msg = RaftMsg::AppendEntries(AppendEntries {
            term: d.current_term,
            prev_log_index,
            prev_log_term: d.term_at(prev_log_index),
            entries: d.log[prev_log_index as usize..end].to_vec(),
            leader_commit: self.commit_index,
        });
        self.send(ctx, to, msg);
    }

    /// Heartbeat: every follower gets an AppendEntries; one still in flight
    /// is presumed lost and its entries are sent again.
    fn broadcast_append(&mut self, ctx: &mut RaftCtx) {
        for to in 0..self.nodes {
            if to != self.id {
                self.append_in_flight[to] = false;
                self.send_append(ctx, to);
            }
        }
    }

    /// New entries: sent to every follower that has nothing in flight; the
    /// others get them with the answer to what is in flight.
    fn replicate(&mut self, ctx: &mut RaftCtx) {
        for to in 0..self.nodes {
            if to != self.id && !self.append_in_flight[to] {
                self.send_append(ctx, to);
            }
        }
    }

    /// Commits the highest index stored on a majority whose entry is of the
    /// current term (§5.4.2); with the Figure 8 bug, of any term.
    fn advance_commit(&mut self, ctx: &mut RaftCtx) {
        let d = ctx.durable();
        let mut matches = self.match_index.clone();
        matches[self.id] = d.last_index();
        matches.sort_unstable_by(|a, b| b.cmp(a));
        let n = matches[self.majority() - 1];
        if n > self.commit_index
            && (d.term_at(n) == d.current_term || self.config.bug == Some(RaftBug::NoTermCheckOnCommit))
        {
            if d.term_at(n) != d.current_term {
                ctx.cover("raft.old-term-commit");
            }
            self.commit_index = n;
            self.apply_committed(ctx);
            // Committed and answered, but no follower has heard of it.
            ctx.leader_fault_point("raft.commit-advanced");
        }
    }

    fn apply_committed(&mut self, ctx: &mut RaftCtx) {
        // The Figure 8 bug lets a follower truncate below its commit index,
        // and so does a power-off losing unsynced entries.
        debug_assert!(
            self.commit_index <= ctx.durable().last_index() || self.config.may_lose_commits(),
            "n{}: commit index past the log",
            self.id
        );
        while self.last_applied < self.commit_index {
            self.last_applied += 1;
            let i = self.last_applied;
            let Some(entry) = ctx.durable().log.get(i as usize - 1) else { break };
            let result = match &entry.cmd {
                Command::Noop => None,
                Command::Client { origin, req } => {
                    // A duplicate is not applied again; the original already answered.
                    let response = if self.applied.insert((*origin, req.id.0)) {
                        self.kv.apply(req)
                    } else {
                        Response::Unknown("duplicate request".to_string())
                    };
                    Some((*origin, req.id, response))
                }
            };
            // A node that forwarded a request answers it as soon as it
            // applies the entry itself (as etcd's proposers wait for their
            // entry), in case the leader's answer is lost or the leader died.
            if let Some((origin, id, response)) = &result {
                if *origin == self.id && self.forwarded.remove(id).is_some() {
                    ctx.reply(*id, response.clone());
                }
            }
            if let Some(p) = self.pending.remove(&i) {
                match result {
                    Some((origin, id, response)) if origin == p.origin && id == p.id => {
                        let latency = ctx.local_time_ns().saturating_sub(p.received_ns).max(0);
                        self.stats.committed_requests += 1;
                        self.stats.commit_latency_ns_sum = self.stats.commit_latency_ns_sum.saturating_add(latency);
                        self.stats.commit_latency_ns_max = self.stats.commit_latency_ns_max.max(latency);
                        self.answer(ctx, p.origin, p.id, response);
                    }
                    // Our entry was replaced (cannot happen while we lead in
                    // one term; kept for safety): the outcome is unknown.
                    _ => self.answer(ctx, p.origin, p.id, Response::Unknown("entry replaced".to_string())),
                }
            }
        }
    }

    /// Delivers a result to the client, directly or through the node the
    /// client contacted.
    fn answer(&mut self, ctx: &mut RaftCtx, origin: NodeId, id: RequestId, response: Response) {
        if origin == self.id {
            ctx.reply(id, response);
        } else {
            self.send(ctx, origin, RaftMsg::ForwardResult { id, response });
        }
    }

    fn on_append_entries(&mut self, ctx: &mut RaftCtx, from: NodeId, m: AppendEntries) {
        let AppendEntries { term, prev_log_index, prev_log_term, entries, leader_commit } = m;
        self.observe_term(ctx, term);
        let current = ctx.durable().current_term;
        if term < current {
            let reply = RaftMsg::AppendReply { term: current, success: false, match_index: 0, next_hint: 0 };
            self.send(ctx, from, reply);
            return;
        }
        // A candidate of this term learns that a leader exists.
        self.become_follower(ctx);
        self.leader = Some(from);
        self.reset_election_timer(ctx);
        self.release_held(ctx);
        let d = ctx.durable();
        if prev_log_index > d.last_index() {
            let next_hint = d.last_index() + 1;
            self.send(ctx, from, RaftMsg::AppendReply { term: current, success: false, match_index: 0, next_hint });
            return;
        }
        if d.term_at(prev_log_index) != prev_log_term {
            // Skip back over the whole conflicting term.
            let bad = d.term_at(prev_log_index);
            let mut i = prev_log_index;
            while i > 1 && d.term_at(i - 1) == bad && i - 1 > self.commit_index {
                i -= 1;
            }
            self.send(ctx, from, RaftMsg::AppendReply { term: current, success: false, match_index: 0, next_hint: i });
            return;
        }
        // Append, truncating only at a real conflict: a delayed, shorter
        // AppendEntries must not cut entries a later one added.
        let count = entries.len() as u64;
        let d = ctx.durable_mut();
        let mut changed = None;
        for (k, e) in entries.into_iter().enumerate() {
            let i = prev_log_index + 1 + k as u64;
            if i <= d.last_index() {
                if d.term_at(i) == e.term {
                    continue;
                }
                // Only uncommitted entries conflict (log matching and
                // leader completeness); the Figure 8 bug and periodic
                // fsync break this.
                debug_assert!(
                    i > self.commit_index || self.config.may_lose_commits(),
                    "n{} truncates committed index {i} (commit {})",
                    self.id,
                    self.commit_index
                );
                d.log.truncate(i as usize - 1);
            }
            if d.log.len() >= MAX_LOG_ENTRIES {
                break;
            }
            d.log.push(e);
            changed.get_or_insert(i);
        }
        let match_index = (prev_log_index + count).min(d.last_index());
        if let Some(i) = changed {
            self.note_log_change(i);
            if ctx.fault_point("raft.follower-appended") {
                return;
            }
        }
        if leader_commit > self.commit_index {
            self.commit_index = leader_commit.min(match_index).max(self.commit_index);
            self.apply_committed(ctx);
        }
        self.send(ctx, from, RaftMsg::AppendReply { term: current, success: true, match_index, next_hint: 0 });
    }

    fn on_append_reply(
        &mut self,
        ctx: &mut RaftCtx,
        from: NodeId,
        term: u64,
        success: bool,
        match_index: u64,
        next_hint: u64,
    ) {
        self.observe_term(ctx, term);
        if self.role != Role::Leader || term != ctx.durable().current_term {
            return;
        }
        if success {
            // Replies may arrive out of order or twice: only one that moves
            // the follower forward answers what was in flight and sends more.
            if match_index <= self.match_index[from] {
                return;
            }
            self.match_index[from] = match_index;
            self.next_index[from] = self.next_index[from].max(match_index + 1);
            self.append_in_flight[from] = false;
            self.advance_commit(ctx);
            if self.next_index[from] <= ctx.durable().last_index() {
                self.send_append(ctx, from);
            }
        } else {
            let hint = next_hint.max(self.match_index[from] + 1).max(1);
            if hint < self.next_index[from] {
                self.next_index[from] = hint;
                self.append_in_flight[from] = false;
                self.send_append(ctx, from);
            }
        }
    }

    fn on_request_vote(&mut self, ctx: &mut RaftCtx, from: NodeId, term: u64, last_log_index: u64, last_log_term: u64) {
        self.observe_term(ctx, term);
        let d = ctx.durable();
        let up_to_date =
            last_log_term > d.last_term() || (last_log_term == d.last_term() && last_log_index >= d.last_index());
        let granted =
            term == d.current_term && d.voted_for.is_none_or(|v| v == from) && up_to_date && self.role != Role::Leader;
        let current = d.current_term;
        if granted {
            ctx.durable_mut().voted_for = Some(from);
            self.reset_election_timer(ctx);
            if ctx.fault_point("raft.vote-persisted") {
                return;
            }
        }
        self.send(ctx, from, RaftMsg::Vote { term: current, granted });
    }

    fn on_vote(&mut self, ctx: &mut RaftCtx, from: NodeId, term: u64, granted: bool) {
        self.observe_term(ctx, term);
        if self.role != Role::Candidate || term != ctx.durable().current_term || !granted {
            return;
        }
        self.votes.insert(from);
        if self.votes.len() >= self.majority() {
            self.become_leader(ctx);
        }
    }

    // ---- clients ------------------------------------------------------

    /// The leader appends a client request to its log.
    fn propose(&mut self, ctx: &mut RaftCtx, origin: NodeId, req: Request) {
        if self.pending.len() >= MAX_PENDING || ctx.durable().log.len() >= MAX_LOG_ENTRIES {
            self.answer(ctx, origin, req.id, Response::Fail("overloaded".to_string()));
            return;
        }
        let id = req.id;
        let d = ctx.durable_mut();
        let term = d.current_term;
        d.log.push(Entry { term, cmd: Command::Client { origin, req } });
        let index = d.last_index();
        self.note_log_change(index);
        self.pending.insert(index, Pending { origin, id, received_ns: ctx.local_time_ns() });
        if ctx.leader_fault_point("raft.entry-appended") {
            return;
        }
        self.advance_commit(ctx);
        self.replicate(ctx);
    }

    /// Routes a client request: the leader proposes it, a follower forwards
    /// it to the leader it knows, a node that knows none holds it.
    fn route(&mut self, ctx: &mut RaftCtx, req: Request, received_ns: i64) {
        match (self.role, self.leader) {
            (Role::Leader, _) => self.propose(ctx, self.id, req),
            (_, Some(leader)) if leader != self.id => {
                if self.forwarded.len() >= MAX_PENDING {
                    ctx.reply(req.id, Response::Fail("overloaded".to_string()));
                    return;
                }
                self.forwarded.insert(req.id, ctx.local_time_ns());
                self.send(ctx, leader, RaftMsg::Forward { req });
            }
            _ => {
                if self.held.len() >= MAX_PENDING {
                    ctx.reply(req.id, Response::Fail("overloaded".to_string()));
                    return;
                }
                if self.held.is_empty() {
                    ctx.set_timer(self.config.no_leader_wait_ns, TIMER_NO_LEADER);
                }
                self.held.push((req, received_ns));
            }
        }
    }

    fn release_held(&mut self, ctx: &mut RaftCtx) {
        for (req, at) in std::mem::take(&mut self.held) {
            self.route(ctx, req, at);
        }
    }

    /// Held requests older than the wait fail: they were never sent, so
    /// they definitely did not happen.
    fn expire_held(&mut self, ctx: &mut RaftCtx) {
        let now = ctx.local_time_ns();
        let wait = self.config.no_leader_wait_ns as i64;
        let (old, young): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.held).into_iter().partition(|(_, at)| now.saturating_sub(*at) >= wait);
        self.held = young;
        for (req, _) in old {
            self.stats.failed_no_leader += 1;
            ctx.reply(req.id, Response::Fail("no leader".to_string()));
        }
        if let Some((_, oldest)) = self.held.first() {
            let left = (oldest.saturating_add(wait) - now).max(1) as u64;
            ctx.set_timer(left, TIMER_NO_LEADER);
        }
    }

    fn expire_forwarded(&mut self, ctx: &mut RaftCtx) {
        let now = ctx.local_time_ns();
        let limit = self.config.forward_timeout_ns as i64;
        let expired: Vec<RequestId> =
            self.forwarded.iter().filter(|(_, &t)| now.saturating_sub(t) >= limit).map(|(&id, _)| id).collect();
        for id in expired {
            self.forwarded.remove(&id);
            ctx.reply(id, Response::Unknown("no answer from the leader".to_string()));
        }
    }
}

impl Node for RaftNode {
    type Msg = RaftMsg;
    type Durable = RaftDurable;

    fn on_start(&mut self, ctx: &mut RaftCtx) {
        self.account_time(ctx);
        self.reset_election_timer(ctx);
        if let Some(period_ns) = self.config.fsync_period_ns {
            ctx.set_timer(period_ns, TIMER_FSYNC);
        }
    }

    fn on_message(&mut self, ctx: &mut RaftCtx, from: NodeId, msg: RaftMsg) {
        self.account_time(ctx);
        match msg {
            RaftMsg::RequestVote { term, last_log_index, last_log_term } => {
                self.on_request_vote(ctx, from, term, last_log_index, last_log_term)
            }
            RaftMsg::Vote { term, granted } => self.on_vote(ctx, from, term, granted),
            RaftMsg::AppendEntries(m) => self.on_append_entries(ctx, from, m),
            RaftMsg::AppendReply { term, success, match_index, next_hint } => {
                self.on_append_reply(ctx, from, term, success, match_index, next_hint)
            }
            RaftMsg::Forward { req } => {
                if self.role == Role::Leader {
                    self.propose(ctx, from, req);
                } else {
                    // Not appended by this copy; but the network may have
                    // delivered another copy of the Forward while this node
                    // led, and that one may commit: the outcome is unknown
                    // (a definite fail here was a lost "failed" write under
                    // duplication: raft_forward_to_a_former_leader_is_not_a_definite_failure).
                    let response = Response::Unknown("not the leader".to_string());
                    self.send(ctx, from, RaftMsg::ForwardResult { id: req.id, response });
                }
            }
            RaftMsg::ForwardResult { id, response } => {
                if self.forwarded.remove(&id).is_some() {
                    ctx.reply(id, response);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut RaftCtx, tag: u64) {
        self.account_time(ctx);
        let payload = tag & !TIMER_KIND_MASK;
        match tag & TIMER_KIND_MASK {
            TIMER_ELECTION if payload == self.election_epoch & !TIMER_KIND_MASK => self.on_election_timer(ctx),
            TIMER_HEARTBEAT
                if self.role == Role::Leader && payload == ctx.durable().current_term & !TIMER_KIND_MASK =>
            {
                self.broadcast_append(ctx);
                ctx.set_timer(self.config.heartbeat_ns, tag);
            }
            TIMER_NO_LEADER => self.expire_held(ctx),
            TIMER_FSYNC => {
                ctx.fsync();
                ctx.set_timer(self.config.fsync_period_ns.unwrap_or(u64::MAX), TIMER_FSYNC);
            }
            _ => {}
        }
    }

    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    fn stats(&self) -> BTreeMap<String, i64> {
        self.stats_map()
    }

    fn on_request(&mut self, ctx: &mut RaftCtx, req: Request) {
        self.account_time(ctx);
        self.stats.requests += 1;
        self.expire_forwarded(ctx);
        if self.config.bug == Some(RaftBug::StaleReads) && matches!(req.f, F::Read | F::Get) {
            ctx.cover("raft.stale-read");
            let response = self.kv.read(&req.f, &req.key);
            ctx.reply(req.id, response);
            return;
        }
        let now = ctx.local_time_ns();
        self.route(ctx, req, now);
    }
}

impl RaftNode {
    /// Statistics for comparisons; names carry their units.
    pub fn stats_map(&self) -> BTreeMap<String, i64> {
        let mut m = self.stats_map_inner();
        m.insert("applied_entries".to_string(), self.last_applied as i64);
        m
    }

    fn stats_map_inner(&self) -> BTreeMap<String, i64> {
        stats_map!(
            &self.stats,
            [
                messages_sent,
                appends_with_entries,
                elections_started,
                became_leader,
                requests,
                committed_requests,
                commit_latency_ns_sum,
                commit_latency_ns_max,
                failed_no_leader,
                unknown_on_step_down,
                no_leader_ns,
                leader_ns
            ]
        )
    }
}

#[cfg(test)]
mod tests;
