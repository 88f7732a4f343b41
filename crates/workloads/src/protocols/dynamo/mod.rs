//! `dynamo`: a DynamoDB-style key-value store (DeCandia et al. describe
//! Dynamo; this is its successor's design as Elhemali et al., USENIX ATC
//! 2022, and Idziorek et al., USENIX ATC 2023, describe DynamoDB).
//!
//! Keys hash to partitions; each partition has `replicas` replicas on
//! consecutive nodes, the first of which is its leader. The leader orders
//! every write of the partition in a log, applies it, and acknowledges it
//! once a majority of the replicas (itself and enough followers) hold it;
//! followers apply the log in order, and the leader resends what they
//! have not acknowledged. Every node is a request router: it sends writes,
//! conditional writes and strongly consistent reads to the item's leader,
//! and an eventually consistent read (the default, as in DynamoDB) to any
//! replica, which answers from what it has applied — possibly stale.
//!
//! Transactions (`f: txn`) run on the router that received them as
//! DynamoDB's transaction coordinator does, with two-phase commit over the
//! leaders of the items: a `TransactGetItems`-style read of every item the
//! transaction reads (from the leaders, with each item's log sequence
//! number), then a `TransactWriteItems`-style prepare in which every read
//! item is a condition check (its sequence number unchanged) and every
//! written item an update; a leader refuses to prepare an item another
//! prepared transaction holds. Once every leader has prepared, the
//! coordinator records its decision durably and sends it. A read-only
//! transaction checks its sequence numbers without holding anything (the
//! two-round read-only protocol). Leaders ask the coordinator about a
//! transaction prepared for too long; a coordinator that has no record
//! decides abort (presumed abort). So transactions are serializable; and
//! since each is ordered at its leaders while it holds all its items,
//! strict serializable.
//!
//! Leadership is fixed (DynamoDB elects a new leader with Multi-Paxos in
//! seconds; conch models the unavailability window only): while a leader
//! is down its partition takes no writes and no strong reads; eventual
//! reads go on at the followers.

use super::common::stats_map;
use super::common::txn::{self, Mop, MopKind};
use super::common::{Key, Param, ParamError, Params};
use crate::sim::{Ctx, Monitor, Node, NodeId, Protocol, Request, RequestId, Response, Violation};
use checker::{Value, F};
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet};

/// Most log entries one replication message carries.
pub const MAX_BATCH: usize = 64;
/// Most requests and transactions a node keeps in flight; more are refused.
pub const MAX_PENDING: usize = 4096;
/// Most single-item updates a leader remembers having served, to ignore
/// a duplicated request (the network may deliver one twice: applying a
/// conditional write again would answer `ConditionalCheckFailed` for an
/// update that took effect). The oldest are forgotten first; a duplicate
/// arrives within a network delay, long before 65536 later updates.
pub const MAX_SEEN: usize = 65_536;

#[derive(Clone, Debug)]
pub struct DynamoProtocol {
    /// `None`: one partition per node.
    pub partitions: Option<usize>,
    pub replicas: usize,
    pub strong_reads: bool,
    pub timeout_ns: u64,
    pub replicate_ns: u64,
    pub resolve_ns: u64,
}

impl DynamoProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::choice(
            "reads",
            &["eventual", "strong"],
            "eventual",
            "eventually consistent reads (any replica) or strong (leader)",
        ),
        Param::int("partitions", 1, 1024, None, "key partitions (default: one per node)"),
        Param::int("replicas", 1, 7, Some(3), "replicas per partition (at most the cluster size)"),
        Param::ms("timeout_ms", 1, 100, "a router or coordinator gives up on a request (writes end info)"),
        Param::ms("replicate_ms", 1, 10, "a leader resends unacknowledged log entries this often"),
        Param::ms("resolve_ms", 1, 200, "a leader asks the coordinator about a transaction prepared this long"),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("dynamo", Self::PARAMS, params)?;
        Ok(DynamoProtocol {
            partitions: p.opt_int("partitions").map(|n| n as usize),
            replicas: p.int("replicas") as usize,
            strong_reads: p.choice("reads") == "strong",
            timeout_ns: p.ns("timeout_ms"),
            replicate_ns: p.ns("replicate_ms"),
            resolve_ns: p.ns("resolve_ms"),
        })
    }
}

/// Where keys live in a cluster of `nodes`.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub nodes: usize,
    pub partitions: usize,
    pub replicas: usize,
}

impl Layout {
    /// The partition of a key: integers by value, others by a stable hash
    /// of their text (never the process's randomised hasher).
    pub fn partition(&self, key: &Key) -> usize {
        let h = match key {
            Some(Value::Int(i)) => i.unsigned_abs(),
            Some(v) => v
                .to_string()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3)),
            None => 0,
        };
        (h % self.partitions as u64) as usize
    }

    /// The replicas of partition `p`, the leader first.
    pub fn replicas(&self, p: usize) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.replicas).map(move |i| (p + i) % self.nodes)
    }

    pub fn leader(&self, p: usize) -> NodeId {
        p % self.nodes
    }

    /// Followers that must hold an entry, besides the leader, for a
    /// majority of the replicas.
    pub fn acks_needed(&self) -> usize {
        self.replicas / 2
    }
}

/// A transaction: its coordinator and the client request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnId {
    pub coordinator: NodeId,
    pub req: RequestId,
}

/// An item's committed value and the log sequence number that wrote it
/// (0: never written).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    pub value: Value,
    pub lsn: u64,
}

/// A transaction prepared at a leader: its condition checks and updates on
/// this partition's items, holding them until decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub keys: Vec<Key>,
    pub writes: Vec<(Key, Vec<Mop>)>,
    pub since_ns: i64,
}

/// One partition as one replica holds it (durable).
#[derive(Clone, Debug, Default)]
pub struct Part {
    pub items: BTreeMap<Key, Item>,
    /// Entries `1..=applied` of the partition's log are applied here.
    pub applied: u64,
    /// Leader only: the log, entry `i` at `log[i - 1]`.
    pub log: Vec<(Key, Value)>,
    /// Leader only: items held by prepared transactions.
    pub locks: BTreeMap<Key, TxnId>,
    pub prepared: BTreeMap<TxnId, Prepared>,
    /// Leader only: transactions decided here (a late prepare must not
    /// hold items again).
    pub decided: BTreeSet<TxnId>,
}

/// What survives a crash.
#[derive(Clone, Debug, Default)]
pub struct DynamoDurable {
    pub parts: BTreeMap<usize, Part>,
    /// Coordinator: the decision of every transaction with writes it
    /// decided (commit `true`).
    pub decisions: BTreeMap<TxnId, bool>,
    /// Leader: the single-item updates served, by (router, request), in
    /// the order they arrived (at most [`MAX_SEEN`]).
    pub seen: BTreeSet<(NodeId, RequestId)>,
    pub seen_order: std::collections::VecDeque<(NodeId, RequestId)>,
}

impl DynamoDurable {
    /// Records an update request; `false` if it was seen before (a
    /// duplicate, to be ignored).
    fn first_time(&mut self, router: NodeId, id: RequestId) -> bool {
        if !self.seen.insert((router, id)) {
            return false;
        }
        self.seen_order.push_back((router, id));
        if self.seen_order.len() > MAX_SEEN {
            let old = self.seen_order.pop_front().expect("non-empty");
            self.seen.remove(&old);
        }
        debug_assert_eq!(self.seen.len(), self.seen_order.len(), "the seen set and its order agree");
        true
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum DynamoMsg {
    /// Router → leader or replica: a single-item request.
    Op {
        req: Request,
    },
    /// The answer, back to the router.
    OpDone {
        id: RequestId,
        response: Response,
    },
    /// Leader → follower: log entries from `from` on.
    Replicate {
        part: usize,
        from: u64,
        entries: Vec<(Key, Value)>,
    },
    /// Follower → leader: entries `1..=applied` are applied here.
    Ack {
        part: usize,
        applied: u64,
    },
    /// Coordinator → leader: read these items (with their sequence numbers).
    Get {
        txn: TxnId,
        part: usize,
        keys: Vec<Key>,
    },
    GetDone {
        txn: TxnId,
        part: usize,
        result: Result<Vec<(Key, Item)>, String>,
    },
    /// Coordinator → leader: check `checks` unchanged and prepare `writes`;
    /// `hold` for a transaction with writes (a read-only one holds nothing).
    Prepare {
        txn: TxnId,
        part: usize,
        checks: Vec<(Key, u64)>,
        writes: Vec<(Key, Vec<Mop>)>,
        hold: bool,
    },
    Prepared {
        txn: TxnId,
        part: usize,
        result: Result<(), String>,
    },
    Decide {
        txn: TxnId,
        part: usize,
        commit: bool,
    },
    Decided {
        txn: TxnId,
        part: usize,
    },
    /// Leader → coordinator: what became of this transaction?
    Resolve {
        txn: TxnId,
        part: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Reading,
    Preparing,
    Committing,
}

/// What a transaction asks of one partition's leader at prepare: the
/// condition checks (item, sequence number read) and the updates.
type PartPlan = (Vec<(Key, u64)>, Vec<(Key, Vec<Mop>)>);

/// A transaction its coordinator is running (volatile).
#[derive(Clone, Debug)]
struct TxnRun {
    mops: Vec<Mop>,
    phase: Phase,
    /// Partitions still to answer in this phase.
    waiting: BTreeSet<usize>,
    /// Every partition the transaction touches.
    parts: BTreeSet<usize>,
    reads: BTreeMap<Key, Item>,
    answered: Vec<Mop>,
    has_writes: bool,
    deadline_ns: i64,
    /// The client was told `Unknown` (commit outlived the timeout); keep
    /// sending the decision, answer nothing more.
    gave_up: bool,
}

/// A leader's wait for replication before answering.
#[derive(Clone, Debug)]
struct Waiter {
    router: NodeId,
    id: RequestId,
    response: Response,
}

const TIMER_TICK: u64 = 1;

#[derive(Clone, Debug, Default)]
pub struct DynamoStats {
    pub writes: i64,
    pub conditional_failed: i64,
    pub txn_committed: i64,
    pub txn_aborted: i64,
    pub txn_read_only: i64,
    pub resolves_sent: i64,
    pub replicated_entries: i64,
    pub duplicates_ignored: i64,
}

pub struct DynamoNode {
    id: NodeId,
    cfg: DynamoProtocol,
    layout: Layout,
    /// Leader: per (partition, follower), entries known applied there.
    matched: BTreeMap<(usize, NodeId), u64>,
    /// Leader: answers waiting for an entry to reach a majority.
    waiting: BTreeMap<(usize, u64), Vec<Waiter>>,
    /// Router: requests relayed, with their deadline and whether a timeout
    /// leaves them indeterminate.
    relays: BTreeMap<RequestId, (i64, bool)>,
    txns: BTreeMap<RequestId, TxnRun>,
    /// The log entries the last handler appended, and the items it applied
    /// from a leader's log (notes for the monitor, cleared per handler).
    appended: Vec<(usize, u64)>,
    applied: Vec<(usize, Key)>,
    stats: DynamoStats,
}

type DCtx<'a, 'b> = Ctx<'a, DynamoMsg, DynamoDurable>;

impl Protocol for DynamoProtocol {
    type Node = DynamoNode;

    fn create(&self, id: NodeId, nodes: usize, _durable: &DynamoDurable) -> DynamoNode {
        let layout = Layout {
            nodes,
            partitions: self.partitions.unwrap_or(nodes).max(1),
            replicas: self.replicas.min(nodes).max(1),
        };
        DynamoNode {
            id,
            cfg: self.clone(),
            layout,
            matched: BTreeMap::new(),
            waiting: BTreeMap::new(),
            relays: BTreeMap::new(),
            txns: BTreeMap::new(),
            appended: Vec::new(),
            applied: Vec::new(),
            stats: DynamoStats::default(),
        }
    }

    fn monitor(&self) -> Option<Box<dyn Monitor<DynamoNode>>> {
        Some(Box::new(DynamoMonitor::default()))
    }
}

fn item_of(d: &DynamoDurable, part: usize, key: &Key) -> Item {
    d.parts.get(&part).and_then(|p| p.items.get(key)).cloned().unwrap_or_default()
}

impl DynamoNode {
    fn leads(&self, part: usize) -> bool {
        self.layout.leader(part) == self.id
    }

    // ---- leader: single items and replication -------------------------

    /// Appends an entry to partition `part`'s log and applies it.
    fn append(&mut self, ctx: &mut DCtx, part: usize, key: Key, value: Value) -> u64 {
        debug_assert!(self.leads(part), "n{} appends to partition {part} it does not lead", self.id);
        let p = ctx.durable_mut().parts.entry(part).or_default();
        p.log.push((key.clone(), value.clone()));
        let lsn = p.log.len() as u64;
        p.items.insert(key, Item { value, lsn });
        p.applied = lsn;
        self.appended.push((part, lsn));
        self.stats.writes += 1;
        lsn
    }

    /// Sends each follower of `part` the entries it lacks (a batch).
    fn replicate(&mut self, ctx: &mut DCtx, part: usize) {
        let Some(p) = ctx.durable().parts.get(&part) else { return };
        let last = p.log.len() as u64;
        let followers: Vec<NodeId> = self.layout.replicas(part).skip(1).collect();
        let mut sends = Vec::new();
        for f in followers {
            let have = self.matched.get(&(part, f)).copied().unwrap_or(0);
            if have < last {
                let end = (have as usize + MAX_BATCH).min(p.log.len());
                sends.push((
                    f,
                    DynamoMsg::Replicate { part, from: have + 1, entries: p.log[have as usize..end].to_vec() },
                ));
            }
        }
        for (f, m) in sends {
            self.stats.replicated_entries += 1;
            ctx.send(f, m);
        }
    }

    /// Answers the waits whose entry a majority now holds.
    fn release(&mut self, ctx: &mut DCtx, part: usize) {
        let mut acked: Vec<u64> =
            self.layout.replicas(part).skip(1).map(|f| self.matched.get(&(part, f)).copied().unwrap_or(0)).collect();
        acked.sort_unstable_by(|a, b| b.cmp(a));
        let need = self.layout.acks_needed();
        let durable_upto = if need == 0 { u64::MAX } else { acked.get(need - 1).copied().unwrap_or(0) };
        let ready: Vec<(usize, u64)> = self.waiting.range((part, 0)..=(part, durable_upto)).map(|(k, _)| *k).collect();
        for k in ready {
            for w in self.waiting.remove(&k).unwrap_or_default() {
                self.answer(ctx, w.router, w.id, w.response);
            }
        }
    }

    fn answer(&mut self, ctx: &mut DCtx, router: NodeId, id: RequestId, response: Response) {
        if router == self.id {
            self.relays.remove(&id);
            ctx.reply(id, response);
        } else {
            ctx.send(router, DynamoMsg::OpDone { id, response });
        }
    }

    /// A single-item request at a replica (reads) or the leader.
    fn serve(&mut self, ctx: &mut DCtx, router: NodeId, req: Request) {
        let part = self.layout.partition(&req.key);
        if req.f == F::Read {
            let v = item_of(ctx.durable(), part, &req.key).value;
            return self.answer(ctx, router, req.id, Response::Ok(v));
        }
        if !self.leads(part) {
            return self.answer(ctx, router, req.id, Response::Fail("not the leader".into()));
        }
        if !ctx.durable_mut().first_time(router, req.id) {
            // A duplicate: the first copy is answered (or will be).
            self.stats.duplicates_ignored += 1;
            return;
        }
        if self.waiting.len() >= MAX_PENDING {
            return self.answer(ctx, router, req.id, Response::Fail("throttled".into()));
        }
        if ctx.durable().parts.get(&part).is_some_and(|p| p.locks.contains_key(&req.key)) {
            return self.answer(
                ctx,
                router,
                req.id,
                Response::Fail("TransactionConflict: item in a transaction".into()),
            );
        }
        let (value, response) = match req.f {
            F::Write => (req.value.clone(), Response::Ok(req.value.clone())),
            F::Cas => {
                let Some([old, new]) = req.value.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) else {
                    return self.answer(
                        ctx,
                        router,
                        req.id,
                        Response::Fail(format!("cas expects [old, new], got {}", req.value)),
                    );
                };
                let now = item_of(ctx.durable(), part, &req.key).value;
                if now != *old {
                    self.stats.conditional_failed += 1;
                    let why = format!("ConditionalCheckFailed: current value is {now}");
                    return self.answer(ctx, router, req.id, Response::Fail(why));
                }
                (new.clone(), Response::Ok(req.value.clone()))
            }
            f => return self.answer(ctx, router, req.id, Response::Fail(format!("unsupported operation `{f}`"))),
        };
        let lsn = self.append(ctx, part, req.key.clone(), value);
        self.waiting.entry((part, lsn)).or_default().push(Waiter { router, id: req.id, response });
        self.replicate(ctx, part);
        self.release(ctx, part);
    }

    fn on_replicate(&mut self, ctx: &mut DCtx, from_node: NodeId, part: usize, from: u64, entries: Vec<(Key, Value)>) {
        let p = ctx.durable_mut().parts.entry(part).or_default();
        // Apply in order; a batch that starts past what is applied waits
        // for the resend of the gap.
        if from <= p.applied + 1 {
            for (i, (key, value)) in entries.into_iter().enumerate() {
                let lsn = from + i as u64;
                if lsn == p.applied + 1 {
                    self.applied.push((part, key.clone()));
                    p.items.insert(key, Item { value, lsn });
                    p.applied = lsn;
                }
            }
        }
        let applied = p.applied;
        ctx.send(from_node, DynamoMsg::Ack { part, applied });
    }

    fn on_ack(&mut self, ctx: &mut DCtx, from: NodeId, part: usize, applied: u64) {
        if !self.leads(part) {
            return;
        }
        let m = self.matched.entry((part, from)).or_insert(0);
        *m = (*m).max(applied);
        self.release(ctx, part);
        self.replicate(ctx, part);
    }

    // ---- leader: transactions -----------------------------------------

    fn on_get(&mut self, ctx: &mut DCtx, from: NodeId, txn: TxnId, part: usize, keys: Vec<Key>) {
        let p = ctx.durable().parts.get(&part);
        let result = if !self.leads(part) {
            Err("not the leader".to_string())
        } else if let Some(k) = keys.iter().find(|k| p.is_some_and(|p| p.locks.get(*k).is_some_and(|t| *t != txn))) {
            Err(format!("TransactionConflict: item {} is in another transaction", show(k)))
        } else {
            Ok(keys.iter().map(|k| (k.clone(), item_of(ctx.durable(), part, k))).collect())
        };
        ctx.send(from, DynamoMsg::GetDone { txn, part, result });
    }

    #[allow(clippy::too_many_arguments)]
    fn on_prepare(
        &mut self,
        ctx: &mut DCtx,
        from: NodeId,
        txn: TxnId,
        part: usize,
        checks: Vec<(Key, u64)>,
        writes: Vec<(Key, Vec<Mop>)>,
        hold: bool,
    ) {
        let result = self.prepare(ctx, txn, part, checks, writes, hold);
        ctx.send(from, DynamoMsg::Prepared { txn, part, result });
    }

    fn prepare(
        &mut self,
        ctx: &mut DCtx,
        txn: TxnId,
        part: usize,
        checks: Vec<(Key, u64)>,
        writes: Vec<(Key, Vec<Mop>)>,
        hold: bool,
    ) -> Result<(), String> {
        if !self.leads(part) {
            return Err("not the leader".into());
        }
        let now = ctx.local_time_ns();
        let d = ctx.durable();
        let p = d.parts.get(&part);
        if p.is_some_and(|p| p.prepared.contains_key(&txn)) {
            return Ok(()); // a duplicate
        }
        if p.is_some_and(|p| p.decided.contains(&txn)) {
            return Err("transaction already decided".into());
        }
        let keys: BTreeSet<Key> =
            checks.iter().map(|(k, _)| k.clone()).chain(writes.iter().map(|(k, _)| k.clone())).collect();
        if let Some(k) = keys.iter().find(|k| p.is_some_and(|p| p.locks.contains_key(*k))) {
            return Err(format!("TransactionConflict: item {} is in another transaction", show(k)));
        }
        if let Some((k, _)) = checks.iter().find(|(k, lsn)| item_of(d, part, k).lsn != *lsn) {
            return Err(format!("TransactionCanceled: item {} changed since it was read", show(k)));
        }
        for (k, own) in &writes {
            if txn::overlay(&item_of(d, part, k).value, own).is_none() {
                return Err(format!("ValidationError: item {} is not a list", show(k)));
            }
        }
        if hold {
            let p = ctx.durable_mut().parts.entry(part).or_default();
            for k in &keys {
                p.locks.insert(k.clone(), txn);
            }
            p.prepared.insert(txn, Prepared { keys: keys.into_iter().collect(), writes, since_ns: now });
        }
        Ok(())
    }

    fn on_decide(&mut self, ctx: &mut DCtx, from: NodeId, txn: TxnId, part: usize, commit: bool) {
        if !self.leads(part) {
            return;
        }
        let p = ctx.durable_mut().parts.entry(part).or_default();
        let prepared = p.prepared.remove(&txn);
        p.decided.insert(txn);
        if let Some(prep) = prepared {
            for k in &prep.keys {
                let held = p.locks.remove(k);
                debug_assert_eq!(held, Some(txn), "n{}: {txn:?} held {}", self.id, show(k));
            }
            if commit {
                for (k, own) in prep.writes {
                    let base = item_of(ctx.durable(), part, &k).value;
                    let v = txn::overlay(&base, &own).expect("checked at prepare, and held since");
                    self.append(ctx, part, k, v);
                }
                self.replicate(ctx, part);
            }
        }
        ctx.send(from, DynamoMsg::Decided { txn, part });
    }

    /// Transactions prepared here too long: ask their coordinators.
    fn resolve_stale(&mut self, ctx: &mut DCtx) {
        let now = ctx.local_time_ns();
        let limit = self.cfg.resolve_ns as i64;
        let mut asks = Vec::new();
        for (&part, p) in &ctx.durable().parts {
            for (txn, prep) in &p.prepared {
                if now.saturating_sub(prep.since_ns) >= limit {
                    asks.push((txn.coordinator, DynamoMsg::Resolve { txn: *txn, part }));
                }
            }
        }
        for (to, m) in asks {
            self.stats.resolves_sent += 1;
            ctx.send(to, m);
        }
    }

    // ---- coordinator --------------------------------------------------

    fn begin_txn(&mut self, ctx: &mut DCtx, req: RequestId, mops: Vec<Mop>) {
        let key = |m: &Mop| Some(m.key.clone());
        let parts: BTreeSet<usize> = mops.iter().map(|m| self.layout.partition(&key(m))).collect();
        let has_writes = mops.iter().any(Mop::is_write);
        let mut run = TxnRun {
            mops,
            phase: Phase::Reading,
            waiting: BTreeSet::new(),
            parts,
            reads: BTreeMap::new(),
            answered: Vec::new(),
            has_writes,
            deadline_ns: ctx.local_time_ns().saturating_add(self.cfg.timeout_ns as i64),
            gave_up: false,
        };
        let txn = TxnId { coordinator: self.id, req };
        let mut by_part: BTreeMap<usize, BTreeSet<Key>> = BTreeMap::new();
        for m in run.mops.iter().filter(|m| m.kind == MopKind::Read) {
            by_part.entry(self.layout.partition(&key(m))).or_default().insert(key(m));
        }
        run.waiting = by_part.keys().copied().collect();
        for (part, keys) in by_part {
            ctx.send(self.layout.leader(part), DynamoMsg::Get { txn, part, keys: keys.into_iter().collect() });
        }
        let nothing_to_read = run.waiting.is_empty();
        self.txns.insert(req, run);
        if nothing_to_read {
            self.start_prepare(ctx, req);
        }
    }

    fn on_get_done(&mut self, ctx: &mut DCtx, txn: TxnId, part: usize, result: Result<Vec<(Key, Item)>, String>) {
        let Some(run) = self.txns.get_mut(&txn.req) else { return };
        if run.phase != Phase::Reading || !run.waiting.remove(&part) {
            return;
        }
        match result {
            Ok(items) => run.reads.extend(items),
            Err(why) => return self.finish(ctx, txn.req, Err(why)),
        }
        if run.waiting.is_empty() {
            self.start_prepare(ctx, txn.req);
        }
    }

    fn start_prepare(&mut self, ctx: &mut DCtx, req: RequestId) {
        let txn = TxnId { coordinator: self.id, req };
        let Some(run) = self.txns.get_mut(&req) else { return };
        let reads = &run.reads;
        let executed = txn::execute(&run.mops, |k| reads.get(&Some(k.clone())).map_or(Value::Nil, |i| i.value.clone()));
        let (answered, writes) = match executed {
            Ok(x) => x,
            Err(why) => return self.finish(ctx, req, Err(why)),
        };
        run.answered = answered;
        run.phase = Phase::Preparing;
        let mut plan: BTreeMap<usize, PartPlan> = BTreeMap::new();
        for (k, item) in &run.reads {
            plan.entry(self.layout.partition(k)).or_default().0.push((k.clone(), item.lsn));
        }
        for (k, own) in writes.iter() {
            let k = Some(k.clone());
            plan.entry(self.layout.partition(&k)).or_default().1.push((k, own.to_vec()));
        }
        run.waiting = plan.keys().copied().collect();
        let hold = run.has_writes;
        for (part, (checks, writes)) in plan {
            ctx.send(self.layout.leader(part), DynamoMsg::Prepare { txn, part, checks, writes, hold });
        }
    }

    fn on_prepared(&mut self, ctx: &mut DCtx, txn: TxnId, part: usize, result: Result<(), String>) {
        let Some(run) = self.txns.get_mut(&txn.req) else { return };
        if run.phase != Phase::Preparing || !run.waiting.remove(&part) {
            return;
        }
        if let Err(why) = result {
            return self.finish(ctx, txn.req, Err(why));
        }
        if !run.waiting.is_empty() {
            return;
        }
        if !run.has_writes {
            self.stats.txn_read_only += 1;
            let out = txn::encode(&run.answered);
            return self.finish(ctx, txn.req, Ok(out));
        }
        // Every item is held: decide. A leader that asked about this
        // transaction may already have had it aborted (presumed abort).
        if ctx.durable().decisions.get(&txn) == Some(&false) {
            return self.finish(ctx, txn.req, Err("aborted while waiting for the leaders".into()));
        }
        ctx.durable_mut().decisions.insert(txn, true);
        run.phase = Phase::Committing;
        run.waiting = run.parts.clone();
        for &part in &run.parts {
            ctx.send(self.layout.leader(part), DynamoMsg::Decide { txn, part, commit: true });
        }
    }

    fn on_decided(&mut self, ctx: &mut DCtx, txn: TxnId, part: usize) {
        let Some(run) = self.txns.get_mut(&txn.req) else { return };
        if run.phase != Phase::Committing {
            return;
        }
        run.waiting.remove(&part);
        if run.waiting.is_empty() {
            self.stats.txn_committed += 1;
            let run = self.txns.remove(&txn.req).expect("present");
            if !run.gave_up {
                ctx.reply(txn.req, Response::Ok(txn::encode(&run.answered)));
            }
        }
    }

    /// Ends a transaction before its commit decision: records the abort
    /// (so that a leader's later question gets it) and releases whatever
    /// the leaders hold; or answers a read-only transaction.
    fn finish(&mut self, ctx: &mut DCtx, req: RequestId, result: Result<Value, String>) {
        let Some(run) = self.txns.remove(&req) else { return };
        debug_assert!(run.phase != Phase::Committing, "a decided transaction is not finished early");
        let txn = TxnId { coordinator: self.id, req };
        match result {
            Ok(v) => ctx.reply(req, Response::Ok(v)),
            Err(why) => {
                if run.has_writes {
                    self.stats.txn_aborted += 1;
                    ctx.durable_mut().decisions.insert(txn, false);
                    if run.phase == Phase::Preparing {
                        for &part in &run.parts {
                            ctx.send(self.layout.leader(part), DynamoMsg::Decide { txn, part, commit: false });
                        }
                    }
                }
                ctx.reply(req, Response::Fail(why));
            }
        }
    }

    fn on_resolve(&mut self, ctx: &mut DCtx, from: NodeId, txn: TxnId, part: usize) {
        if txn.coordinator != self.id {
            return;
        }
        let decided = ctx.durable().decisions.get(&txn).copied();
        let commit = match decided {
            Some(c) => c,
            // Still running: it will decide and tell the leaders itself.
            None if self.txns.contains_key(&txn.req) => return,
            // Never decided and forgotten (this coordinator restarted):
            // presumed abort, recorded so that nothing later commits it.
            None => {
                ctx.durable_mut().decisions.insert(txn, false);
                false
            }
        };
        ctx.send(from, DynamoMsg::Decide { txn, part, commit });
    }

    fn tick(&mut self, ctx: &mut DCtx) {
        let now = ctx.local_time_ns();
        // Routers: relayed requests past their deadline.
        let expired: Vec<(RequestId, bool)> =
            self.relays.iter().filter(|(_, (at, _))| now >= *at).map(|(id, (_, unknown))| (*id, *unknown)).collect();
        for (id, unknown) in expired {
            self.relays.remove(&id);
            let response = if unknown {
                Response::Unknown("no answer from the leader".into())
            } else {
                Response::Fail("no answer from the replica".into())
            };
            ctx.reply(id, response);
        }
        // Coordinators: transactions past their deadline.
        let late: Vec<RequestId> = self.txns.iter().filter(|(_, r)| now >= r.deadline_ns).map(|(id, _)| *id).collect();
        for req in late {
            let run = self.txns.get_mut(&req).expect("present");
            if run.phase == Phase::Committing {
                // Decided: it commits; resend the decision until every leader has it.
                if !run.gave_up {
                    run.gave_up = true;
                    ctx.reply(req, Response::Unknown("commit decided, not yet acknowledged".into()));
                }
                run.deadline_ns = now.saturating_add(self.cfg.timeout_ns as i64);
                let txn = TxnId { coordinator: self.id, req };
                for &part in &run.waiting {
                    ctx.send(self.layout.leader(part), DynamoMsg::Decide { txn, part, commit: true });
                }
            } else {
                self.finish(ctx, req, Err("transaction timed out before commit".into()));
            }
        }
        // Leaders: resend what followers lack; ask about stale prepares.
        let led: Vec<usize> = ctx.durable().parts.keys().copied().filter(|&p| self.leads(p)).collect();
        for part in led {
            self.replicate(ctx, part);
        }
        self.resolve_stale(ctx);
        ctx.set_timer(self.tick_ns(), TIMER_TICK);
    }

    fn tick_ns(&self) -> u64 {
        self.cfg.replicate_ns.min(self.cfg.timeout_ns / 2).max(1)
    }
}

fn show(k: &Key) -> String {
    k.as_ref().map_or("nil".to_string(), |v| v.to_string())
}

impl Node for DynamoNode {
    type Msg = DynamoMsg;
    type Durable = DynamoDurable;

    fn on_start(&mut self, ctx: &mut DCtx) {
        ctx.set_timer(self.tick_ns(), TIMER_TICK);
    }

    fn on_message(&mut self, ctx: &mut DCtx, from: NodeId, msg: DynamoMsg) {
        self.appended.clear();
        self.applied.clear();
        match msg {
            DynamoMsg::Op { req } => self.serve(ctx, from, req),
            DynamoMsg::OpDone { id, response } => {
                if self.relays.remove(&id).is_some() {
                    ctx.reply(id, response);
                }
            }
            DynamoMsg::Replicate { part, from: lsn, entries } => self.on_replicate(ctx, from, part, lsn, entries),
            DynamoMsg::Ack { part, applied } => self.on_ack(ctx, from, part, applied),
            DynamoMsg::Get { txn, part, keys } => self.on_get(ctx, from, txn, part, keys),
            DynamoMsg::GetDone { txn, part, result } => self.on_get_done(ctx, txn, part, result),
            DynamoMsg::Prepare { txn, part, checks, writes, hold } => {
                self.on_prepare(ctx, from, txn, part, checks, writes, hold)
            }
            DynamoMsg::Prepared { txn, part, result } => self.on_prepared(ctx, txn, part, result),
            DynamoMsg::Decide { txn, part, commit } => self.on_decide(ctx, from, txn, part, commit),
            DynamoMsg::Decided { txn, part } => self.on_decided(ctx, txn, part),
            DynamoMsg::Resolve { txn, part } => self.on_resolve(ctx, from, txn, part),
        }
    }

    fn on_timer(&mut self, ctx: &mut DCtx, tag: u64) {
        self.appended.clear();
        self.applied.clear();
        if tag == TIMER_TICK {
            self.tick(ctx);
        }
    }

    fn on_request(&mut self, ctx: &mut DCtx, req: Request) {
        self.appended.clear();
        self.applied.clear();
        if self.relays.len() + self.txns.len() >= MAX_PENDING {
            return ctx.reply(req.id, Response::Fail("throttled".into()));
        }
        if req.f == F::Txn {
            return match txn::parse(&req.value) {
                Ok(mops) => self.begin_txn(ctx, req.id, mops),
                Err(e) => ctx.reply(req.id, Response::Fail(e)),
            };
        }
        if !matches!(req.f, F::Read | F::Write | F::Cas) {
            return ctx.reply(req.id, Response::Fail(format!("unsupported operation `{}`", req.f)));
        }
        let part = self.layout.partition(&req.key);
        let to = if req.f == F::Read && !self.cfg.strong_reads {
            let replicas: Vec<NodeId> = self.layout.replicas(part).collect();
            replicas[ctx.rng().random_range(0..replicas.len())]
        } else {
            self.layout.leader(part)
        };
        let deadline = ctx.local_time_ns().saturating_add(self.cfg.timeout_ns as i64);
        self.relays.insert(req.id, (deadline, req.f != F::Read));
        if to == self.id {
            self.serve(ctx, self.id, req);
        } else {
            ctx.send(to, DynamoMsg::Op { req });
        }
    }

    fn is_leader(&self) -> bool {
        // Leads partition `id` (and others when partitions exceed nodes).
        self.id < self.layout.partitions
    }

    fn stats(&self) -> BTreeMap<String, i64> {
        stats_map!(
            &self.stats,
            [writes, conditional_failed, txn_committed, txn_aborted, txn_read_only, resolves_sent, duplicates_ignored],
            "replication_messages" => replicated_entries
        )
    }
}

/// Replicas never disagree about a log position: every entry a follower
/// applies at sequence number `n` is the one its leader appended at `n`
/// (leadership is fixed, so the leader's log is never rewritten), and the
/// leader appends at consecutive sequence numbers.
#[derive(Default)]
struct DynamoMonitor {
    /// Per partition, the leader's entries as appended: `(key, value)`.
    logs: BTreeMap<usize, Vec<(Key, Value)>>,
}

impl Monitor<DynamoNode> for DynamoMonitor {
    fn observe(&mut self, id: NodeId, node: &DynamoNode, d: &DynamoDurable) -> Option<Violation> {
        for &(part, lsn) in &node.appended {
            let entry = d.parts[&part].log[lsn as usize - 1].clone();
            let log = self.logs.entry(part).or_default();
            if log.len() as u64 + 1 != lsn {
                return Some(Violation {
                    invariant: "log-order",
                    detail: format!("p{part}: lsn {lsn} after {}", log.len()),
                });
            }
            log.push(entry);
        }
        for (part, k) in &node.applied {
            let item = &d.parts[part].items[k];
            let log = self.logs.get(part).map_or(&[][..], |l| l.as_slice());
            let leader_wrote = log.get(item.lsn as usize - 1);
            if leader_wrote.is_none_or(|(lk, lv)| lk != k || *lv != item.value) {
                return Some(Violation {
                    invariant: "replica-agreement",
                    detail: format!(
                        "n{id} p{part}: {} = {} at lsn {}, leader: {leader_wrote:?}",
                        show(k),
                        item.value,
                        item.lsn
                    ),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
