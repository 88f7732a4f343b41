//! `si` and `rc`: a multi-version database server with interactive
//! transactions, at snapshot isolation or read committed — the two
//! isolation levels most databases actually run at, so that conch shows
//! the anomaly lattice on protocols and not only on files.
//!
//! Node 0 is the database server; it keeps every committed version of
//! every key (durable), a commit counter, and the open transactions
//! (volatile). Every node, node 0 included, is a session front end: it
//! runs the transaction it received one micro-op at a time against the
//! server, a network round trip each (as an application server drives a
//! database over a connection), then asks the server to commit. Other
//! transactions commit between a transaction's statements, which is what
//! the isolation level is about.
//!
//! - **si** (Berenson et al., SIGMOD 1995): the server gives a transaction
//!   the commit counter at its first statement as its snapshot; reads see
//!   the newest version committed at or before the snapshot, plus the
//!   transaction's own writes; writes are buffered; at commit,
//!   *first-committer-wins*: if any key it wrote has a version committed
//!   after its snapshot, it aborts. Write skew (G2-item) is allowed;
//!   G-single (read skew, lost update) and G1 are not.
//! - **rc**: each read sees the newest committed version at the moment it
//!   runs, plus the transaction's own writes; writes are buffered and
//!   installed on top of the newest versions at commit, with no conflict
//!   check. G1 (aborted, intermediate, circular reads) is impossible;
//!   G-single is allowed.
//!
//! Outcomes: a transaction the server aborts (conflict, lost at a server
//! restart, idle too long) answers `fail`; one whose commit was sent but
//! not answered in time answers `info`. Committed transactions are
//! remembered (durable), so a duplicated commit is answered alike.

use super::common::stats_map;
use super::common::txn::{self, Mop, MopKind, WriteSet};
use super::common::{Param, ParamError, Params};
use crate::sim::{Ctx, Monitor, Node, NodeId, Protocol, Request, RequestId, Response, Violation};
use checker::{Value, F};
use std::collections::BTreeMap;

/// The database server.
pub const SERVER: NodeId = 0;
/// Most transactions the server keeps open; more are refused.
pub const MAX_OPEN: usize = 4096;

/// The isolation level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    Snapshot,
    ReadCommitted,
}

/// A deliberate, switchable bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MvccBug {
    /// si without first-committer-wins: concurrent writers of a key both
    /// commit, each over its own snapshot (lost update, a G-single).
    NoFirstCommitterWins,
    /// rc reads another open transaction's uncommitted writes (G1a, G1b).
    DirtyReads,
}

#[derive(Clone, Debug)]
pub struct MvccProtocol {
    pub isolation: Isolation,
    /// A session gives up on a statement or commit after this long.
    pub txn_timeout_ns: u64,
    /// The server aborts a transaction idle for this long.
    pub idle_abort_ns: u64,
    pub bug: Option<MvccBug>,
}

impl MvccProtocol {
    pub const SI_PARAMS: &'static [Param] = &[
        Param::ms("txn_timeout_ms", 1, 100, "a session gives up on a statement (fail) or its commit (info)"),
        Param::ms("idle_abort_ms", 1, 1000, "the server aborts a transaction idle this long"),
        Param::choice(
            "bug",
            &["none", "no-first-committer-wins"],
            "none",
            "a deliberate bug (see docs/protocols/si.md)",
        ),
    ];
    pub const RC_PARAMS: &'static [Param] = &[
        Param::ms("txn_timeout_ms", 1, 100, "a session gives up on a statement (fail) or its commit (info)"),
        Param::ms("idle_abort_ms", 1, 1000, "the server aborts a transaction idle this long"),
        Param::choice("bug", &["none", "dirty-reads"], "none", "a deliberate bug (see docs/protocols/rc.md)"),
    ];

    pub fn from_params(isolation: Isolation, params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let (name, table) = match isolation {
            Isolation::Snapshot => ("si", Self::SI_PARAMS),
            Isolation::ReadCommitted => ("rc", Self::RC_PARAMS),
        };
        let p = Params::parse(name, table, params)?;
        let bug = match p.choice("bug") {
            "no-first-committer-wins" => Some(MvccBug::NoFirstCommitterWins),
            "dirty-reads" => Some(MvccBug::DirtyReads),
            _ => None,
        };
        Ok(MvccProtocol {
            isolation,
            txn_timeout_ns: p.ns("txn_timeout_ms"),
            idle_abort_ns: p.ns("idle_abort_ms"),
            bug,
        })
    }
}

/// A transaction: the session node that runs it and the client request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnId {
    pub session: NodeId,
    pub req: RequestId,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MvccMsg {
    /// Session → server: run statement `index` (0 begins the transaction).
    Step { txn: TxnId, index: u32, mop: Mop },
    /// Server → session: the statement's answer, or why the transaction is over.
    StepDone { txn: TxnId, index: u32, result: Result<Value, String> },
    /// Session → server: commit after `steps` statements.
    Commit { txn: TxnId, steps: u32 },
    /// Server → session: `Ok` committed at that timestamp, or aborted.
    CommitDone { txn: TxnId, result: Result<u64, String> },
    /// Session → server: forget it (the session gave up before commit).
    Abort { txn: TxnId },
}

/// The server's durable state.
#[derive(Clone, Debug, Default)]
pub struct MvccDurable {
    /// The last commit timestamp given.
    pub commit_ts: u64,
    /// Per key, its committed versions `(commit ts, value)` in ts order.
    pub versions: BTreeMap<Value, Vec<(u64, Value)>>,
    /// Every transaction decided: its commit timestamp, or `None` when
    /// aborted. A duplicated (late) statement or commit of a decided
    /// transaction must not begin it again, nor commit an aborted one; one
    /// entry per transaction of the run.
    pub finished: BTreeMap<TxnId, Option<u64>>,
}

impl MvccDurable {
    /// The newest version of `key` committed at or before `ts`.
    pub fn read_at(&self, key: &Value, ts: u64) -> Value {
        self.versions.get(key).map_or(Value::Nil, |vs| txn::version_at(vs, ts))
    }

    /// Commit timestamp of the newest version of `key` (0: none).
    pub fn latest_ts(&self, key: &Value) -> u64 {
        self.versions.get(key).and_then(|v| v.last()).map_or(0, |(t, _)| *t)
    }
}

/// An open transaction on the server.
#[derive(Clone, Debug)]
struct ServerTxn {
    snapshot: u64,
    writes: WriteSet,
    /// The answer to each statement run so far (a duplicate gets it again).
    answers: Vec<Value>,
    last_active_ns: i64,
}

/// A transaction its session node is running.
#[derive(Clone, Debug)]
struct Session {
    mops: Vec<Mop>,
    answered: Vec<Mop>,
    commit_sent: bool,
    deadline_ns: i64,
}

const TIMER_REAP: u64 = 1 << 62;
const TIMER_SESSION: u64 = 1 << 61;

#[derive(Clone, Debug, Default)]
pub struct MvccStats {
    pub committed: i64,
    pub aborted_conflict: i64,
    pub aborted_other: i64,
    pub statements: i64,
    pub sessions_timed_out: i64,
}

pub struct MvccNode {
    id: NodeId,
    cfg: MvccProtocol,
    open: BTreeMap<TxnId, ServerTxn>,
    sessions: BTreeMap<RequestId, Session>,
    /// The last commit this node made (a note for the monitor).
    last_commit: Option<(u64, Vec<Value>)>,
    stats: MvccStats,
}

type MvccCtx<'a, 'b> = Ctx<'a, MvccMsg, MvccDurable>;

impl MvccProtocol {
    /// The registry name of this store, for error messages.
    fn name(&self) -> &'static str {
        match self.isolation {
            Isolation::Snapshot => "si",
            Isolation::ReadCommitted => "rc",
        }
    }
}

impl Protocol for MvccProtocol {
    type Node = MvccNode;

    fn create(&self, id: NodeId, _nodes: usize, _durable: &MvccDurable) -> MvccNode {
        MvccNode {
            id,
            cfg: self.clone(),
            open: BTreeMap::new(),
            sessions: BTreeMap::new(),
            last_commit: None,
            stats: MvccStats::default(),
        }
    }

    fn monitor(&self) -> Option<Box<dyn Monitor<MvccNode>>> {
        Some(Box::new(MvccMonitor { last_ts: 0 }))
    }
}

impl MvccNode {
    // ---- server -------------------------------------------------------

    /// What a read of `key` by `txn` sees before its own writes: its
    /// snapshot (si), the newest committed version (rc), or with the
    /// dirty-reads bug the newest committed version under another open
    /// transaction's uncommitted writes.
    fn base(&self, d: &MvccDurable, txn: TxnId, t: &ServerTxn, key: &Value) -> Value {
        match self.cfg.isolation {
            Isolation::Snapshot => d.read_at(key, t.snapshot),
            Isolation::ReadCommitted => {
                let latest = d.read_at(key, d.commit_ts);
                if self.cfg.bug == Some(MvccBug::DirtyReads) {
                    let dirty = self.open.iter().rev().find(|(id, o)| **id != txn && !o.writes.on(key).is_empty());
                    if let Some((_, o)) = dirty {
                        return txn::overlay(&latest, o.writes.on(key)).unwrap_or(latest);
                    }
                }
                latest
            }
        }
    }

    fn on_step(&mut self, ctx: &mut MvccCtx, from: NodeId, txn: TxnId, index: u32, mop: Mop) {
        let now = ctx.local_time_ns();
        if !self.open.contains_key(&txn) {
            if index != 0 || ctx.durable().finished.contains_key(&txn) {
                let result = Err("transaction lost: the server restarted or aborted it".to_string());
                ctx.send(from, MvccMsg::StepDone { txn, index, result });
                return;
            }
            if self.open.len() >= MAX_OPEN {
                ctx.send(from, MvccMsg::StepDone { txn, index, result: Err("server overloaded".to_string()) });
                return;
            }
            let snapshot = ctx.durable().commit_ts;
            self.open.insert(
                txn,
                ServerTxn { snapshot, writes: WriteSet::default(), answers: Vec::new(), last_active_ns: now },
            );
        }
        let t = &self.open[&txn];
        let done = t.answers.len() as u32;
        if index < done {
            // A duplicate: the same answer again.
            let result = Ok(t.answers[index as usize].clone());
            ctx.send(from, MvccMsg::StepDone { txn, index, result });
            return;
        }
        if index > done {
            self.abort(ctx, txn);
            let result = Err(format!("statement {index} arrived before statement {done}"));
            ctx.send(from, MvccMsg::StepDone { txn, index, result });
            return;
        }
        self.stats.statements += 1;
        let base = self.base(ctx.durable(), txn, t, &mop.key);
        let t = self.open.get_mut(&txn).expect("open");
        let result = match mop.kind {
            MopKind::Read => txn::overlay(&base, t.writes.on(&mop.key)).ok_or("a non-list under appends"),
            MopKind::Write | MopKind::Append => {
                let mut own = t.writes.on(&mop.key).to_vec();
                own.push(mop.clone());
                match txn::overlay(&base, &own) {
                    Some(_) => {
                        t.writes.push(mop.clone());
                        Ok(mop.value.clone())
                    }
                    None => Err("cannot append to a non-list"),
                }
            }
        };
        t.last_active_ns = now;
        match result {
            Ok(v) => {
                t.answers.push(v.clone());
                ctx.send(from, MvccMsg::StepDone { txn, index, result: Ok(v) });
            }
            Err(why) => {
                self.abort(ctx, txn);
                self.stats.aborted_other += 1;
                ctx.send(from, MvccMsg::StepDone { txn, index, result: Err(why.to_string()) });
            }
        }
    }

    fn on_commit(&mut self, ctx: &mut MvccCtx, from: NodeId, txn: TxnId, steps: u32) {
        if let Some(decided) = ctx.durable().finished.get(&txn) {
            // A duplicated commit: the same outcome again.
            let result = decided.ok_or_else(|| "aborted".to_string());
            ctx.send(from, MvccMsg::CommitDone { txn, result });
            return;
        }
        let Some(t) = self.open.remove(&txn) else {
            self.abort(ctx, txn);
            let result = Err("unknown transaction: the server restarted or aborted it".to_string());
            ctx.send(from, MvccMsg::CommitDone { txn, result });
            return;
        };
        if t.answers.len() as u32 != steps {
            self.abort(ctx, txn);
            self.stats.aborted_other += 1;
            let result = Err(format!("commit after {steps} statements, the server ran {}", t.answers.len()));
            ctx.send(from, MvccMsg::CommitDone { txn, result });
            return;
        }
        let d = ctx.durable();
        let fcw = self.cfg.isolation == Isolation::Snapshot && self.cfg.bug != Some(MvccBug::NoFirstCommitterWins);
        if fcw {
            if let Some(k) = t.writes.keys().find(|k| d.latest_ts(k) > t.snapshot).cloned() {
                self.abort(ctx, txn);
                self.stats.aborted_conflict += 1;
                let result = Err(format!("write-write conflict on key {k}: first committer wins"));
                ctx.send(from, MvccMsg::CommitDone { txn, result });
                return;
            }
        }
        // Each written key's new version: own writes over the snapshot
        // (si: with first-committer-wins the snapshot's version is the
        // newest) or over the newest version (rc).
        let new: Vec<(Value, Value)> = t
            .writes
            .iter()
            .map(|(k, own)| {
                let base = match self.cfg.isolation {
                    Isolation::Snapshot => d.read_at(k, t.snapshot),
                    Isolation::ReadCommitted => d.read_at(k, d.commit_ts),
                };
                debug_assert!(!fcw || d.latest_ts(k) <= t.snapshot, "first committer wins was checked");
                (k.clone(), txn::overlay(&base, own).expect("checked at each statement"))
            })
            .collect();
        let horizon = self.open.values().map(|o| o.snapshot).min();
        let d = ctx.durable_mut();
        let ts = if new.is_empty() {
            d.commit_ts
        } else {
            d.commit_ts += 1;
            d.commit_ts
        };
        let horizon = horizon.unwrap_or(ts).min(ts);
        let mut keys = Vec::new();
        for (k, v) in new {
            let vs = d.versions.entry(k.clone()).or_default();
            debug_assert!(vs.last().is_none_or(|(t, _)| *t < ts), "versions are installed in commit order");
            vs.push((ts, v));
            prune(vs, horizon);
            keys.push(k);
        }
        d.finished.insert(txn, Some(ts));
        self.last_commit = Some((ts, keys));
        self.stats.committed += 1;
        ctx.send(from, MvccMsg::CommitDone { txn, result: Ok(ts) });
    }

    /// Forgets an open transaction and remembers it aborted.
    fn abort(&mut self, ctx: &mut MvccCtx, txn: TxnId) {
        self.open.remove(&txn);
        let prev = ctx.durable_mut().finished.insert(txn, None);
        debug_assert!(prev.is_none_or(|p| p.is_none()), "a committed transaction is never aborted");
    }

    fn reap(&mut self, ctx: &mut MvccCtx) {
        let now = ctx.local_time_ns();
        let limit = self.cfg.idle_abort_ns as i64;
        let idle: Vec<TxnId> = self
            .open
            .iter()
            .filter(|(_, t)| now.saturating_sub(t.last_active_ns) >= limit)
            .map(|(id, _)| *id)
            .collect();
        for txn in idle {
            self.abort(ctx, txn);
            self.stats.aborted_other += 1;
        }
        ctx.set_timer(self.cfg.idle_abort_ns / 2 + 1, TIMER_REAP);
    }

    // ---- sessions -----------------------------------------------------

    fn send_next(&mut self, ctx: &mut MvccCtx, req: RequestId) {
        let Some(s) = self.sessions.get_mut(&req) else { return };
        let txn = TxnId { session: self.id, req };
        s.deadline_ns = ctx.local_time_ns().saturating_add(self.cfg.txn_timeout_ns as i64);
        let msg = if s.answered.len() < s.mops.len() {
            let index = s.answered.len();
            MvccMsg::Step { txn, index: index as u32, mop: s.mops[index].clone() }
        } else {
            s.commit_sent = true;
            MvccMsg::Commit { txn, steps: s.mops.len() as u32 }
        };
        ctx.send(SERVER, msg);
        ctx.set_timer(self.cfg.txn_timeout_ns, TIMER_SESSION | (req.0 & (TIMER_SESSION - 1)));
    }

    fn on_step_done(&mut self, ctx: &mut MvccCtx, txn: TxnId, index: u32, result: Result<Value, String>) {
        let Some(s) = self.sessions.get_mut(&txn.req) else { return };
        if s.commit_sent || index as usize != s.answered.len() {
            return; // a duplicate or stale answer
        }
        match result {
            Ok(v) => {
                let m = &s.mops[index as usize];
                s.answered.push(Mop { kind: m.kind, key: m.key.clone(), value: v });
                self.send_next(ctx, txn.req);
            }
            Err(why) => {
                self.sessions.remove(&txn.req);
                ctx.reply(txn.req, Response::Fail(why));
            }
        }
    }

    fn on_commit_done(&mut self, ctx: &mut MvccCtx, txn: TxnId, result: Result<u64, String>) {
        match self.sessions.get(&txn.req) {
            Some(s) if s.commit_sent => {}
            _ => return,
        }
        let s = self.sessions.remove(&txn.req).expect("present");
        match result {
            Ok(_) => ctx.reply(txn.req, Response::Ok(txn::encode(&s.answered))),
            Err(why) => ctx.reply(txn.req, Response::Fail(why)),
        }
    }

    fn on_session_timer(&mut self, ctx: &mut MvccCtx, low_bits: u64) {
        let now = ctx.local_time_ns();
        let expired: Vec<RequestId> = self
            .sessions
            .iter()
            .filter(|(id, s)| id.0 & (TIMER_SESSION - 1) == low_bits && now >= s.deadline_ns)
            .map(|(id, _)| *id)
            .collect();
        for req in expired {
            let s = self.sessions.remove(&req).expect("present");
            self.stats.sessions_timed_out += 1;
            if s.commit_sent {
                ctx.reply(req, Response::Unknown("no answer to commit".to_string()));
            } else {
                // Never asked to commit: it did not and will not happen.
                ctx.send(SERVER, MvccMsg::Abort { txn: TxnId { session: self.id, req } });
                ctx.reply(req, Response::Fail("no answer from the server".to_string()));
            }
        }
    }
}

/// Drops the versions of a key no open transaction can read any more: all
/// but the newest at or before `horizon` (the oldest open snapshot).
fn prune(vs: &mut Vec<(u64, Value)>, horizon: u64) {
    let keep_from = vs.partition_point(|(t, _)| *t <= horizon).saturating_sub(1);
    if keep_from > 0 {
        vs.drain(..keep_from);
    }
}

impl Node for MvccNode {
    type Msg = MvccMsg;
    type Durable = MvccDurable;

    fn on_start(&mut self, ctx: &mut MvccCtx) {
        if self.id == SERVER {
            ctx.set_timer(self.cfg.idle_abort_ns / 2 + 1, TIMER_REAP);
        }
    }

    fn on_message(&mut self, ctx: &mut MvccCtx, from: NodeId, msg: MvccMsg) {
        self.last_commit = None;
        match msg {
            MvccMsg::Step { txn, index, mop } if self.id == SERVER => self.on_step(ctx, from, txn, index, mop),
            MvccMsg::Commit { txn, steps } if self.id == SERVER => self.on_commit(ctx, from, txn, steps),
            MvccMsg::Abort { txn } if self.id == SERVER && !ctx.durable().finished.contains_key(&txn) => {
                self.abort(ctx, txn)
            }
            MvccMsg::StepDone { txn, index, result } => self.on_step_done(ctx, txn, index, result),
            MvccMsg::CommitDone { txn, result } => self.on_commit_done(ctx, txn, result),
            _ => {} // a server message sent to a non-server: ignore
        }
    }

    fn on_timer(&mut self, ctx: &mut MvccCtx, tag: u64) {
        self.last_commit = None;
        if tag == TIMER_REAP {
            self.reap(ctx);
        } else if tag & TIMER_SESSION != 0 {
            self.on_session_timer(ctx, tag & (TIMER_SESSION - 1));
        }
    }

    fn on_request(&mut self, ctx: &mut MvccCtx, req: Request) {
        self.last_commit = None;
        if req.f != F::Txn {
            ctx.reply(req.id, Response::Fail(format!("{} serves only transactions, not `{}`", self.cfg.name(), req.f)));
            return;
        }
        let mops = match txn::parse(&req.value) {
            Ok(m) => m,
            Err(e) => return ctx.reply(req.id, Response::Fail(e)),
        };
        if self.sessions.len() >= MAX_OPEN {
            return ctx.reply(req.id, Response::Fail("overloaded".to_string()));
        }
        self.sessions.insert(req.id, Session { mops, answered: Vec::new(), commit_sent: false, deadline_ns: 0 });
        self.send_next(ctx, req.id);
    }

    fn is_leader(&self) -> bool {
        self.id == SERVER
    }

    fn stats(&self) -> BTreeMap<String, i64> {
        stats_map!(&self.stats, [committed, aborted_conflict, aborted_other, statements, sessions_timed_out])
    }
}

/// Commit timestamps only grow, and each commit's versions are the newest
/// of their keys.
struct MvccMonitor {
    last_ts: u64,
}

impl Monitor<MvccNode> for MvccMonitor {
    fn observe(&mut self, _id: NodeId, node: &MvccNode, d: &MvccDurable) -> Option<Violation> {
        let (ts, keys) = node.last_commit.as_ref()?;
        if *ts < self.last_ts {
            return Some(Violation {
                invariant: "commit-order",
                detail: format!("commit at ts {ts} after one at {}", self.last_ts),
            });
        }
        self.last_ts = *ts;
        for k in keys {
            let vs = &d.versions[k];
            if vs.windows(2).any(|w| w[0].0 >= w[1].0) || vs.last().map(|v| v.0) != Some(*ts) {
                return Some(Violation { invariant: "version-order", detail: format!("key {k}: versions {vs:?}") });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
