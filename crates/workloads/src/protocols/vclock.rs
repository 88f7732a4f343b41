//! Dynamo-style replication with vector clocks and siblings: the shopping
//! cart (DeCandia et al., SOSP 2007, §4.4).
//!
//! Each key holds a cart (the `cart` workload: `add` unique elements,
//! `remove` them, `read` the cart; the `set` workload is the add-only case).
//! A replica keeps, per key, a list of *siblings*: versions none of which
//! has seen another. Each version carries a *dot* (the node that wrote it
//! and that node's write counter for the key, unique) and its *causal
//! context*: the dots of every version the writer had read (a vector clock,
//! plus the few dots that do not extend it contiguously, as dotted version
//! vectors keep them; Preguiça et al. 2010). A version *supersedes* another
//! when its context covers the other's dot.
//!
//! Every client operation is coordinated by the node that received it, as
//! Dynamo's client-driven coordination does (§6.4): the coordinator is the
//! client's library.
//!
//! - **get**: the coordinator gathers the siblings of `r` replicas (itself
//!   and the first `r - 1` peers to answer). The client sees all of them and
//!   an opaque context, the join of their clocks.
//! - **read** answers the cart the client makes of the siblings with its
//!   `merge`: `union` (Dynamo's cart: the union of the siblings' carts),
//!   `lww` (the sibling written last by its coordinator's clock) or
//!   `tombstones` (removes are kept as tombstones, merged by union, and win:
//!   a two-phase set, correct because elements are added once).
//! - **add e / remove e** is the client's read-modify-write: get, merge,
//!   apply, then **put** with the context of that get. The coordinator
//!   writes a new version (a fresh dot of its own, the client's context),
//!   which replaces exactly the local siblings the context covers; any that
//!   arrived meanwhile stay siblings. The version is persisted,
//!   acknowledged, and sent to every other replica.
//!
//! A received version is dropped if a local sibling has its dot or covers
//! it, and otherwise replaces the siblings it covers. Periodic anti-entropy
//! with one peer in rotation exchanges the siblings' dots per key and ships
//! what the other side lacks.
//!
//! What it keeps and loses, by merge (docs/protocols/vclock.md): with any
//! merge, an add-only workload loses nothing (a version holds the elements
//! of every version its context covers). With removes, `union` undoes a
//! remove whose context missed a concurrent version still holding the
//! element (Dynamo's "deleted items can resurface"), and `lww` drops the
//! adds of the siblings it discards; `tombstones` keeps every acknowledged
//! add and remove.
//!
//! Registers (`write`) and `cas` are not offered (answered
//! `Fail("unsupported")`).

use super::common::{Key, Param, ParamError, Params, Rotation};
use crate::sim::{Ctx, Node, NodeId, Protocol, Request, Response};
use checker::{Value, F};
use std::collections::{BTreeMap, BTreeSet};

/// Keys per anti-entropy digest: bounds message size; the rest waits for
/// the next round.
const MAX_BATCH: usize = 256;
/// Dots a context keeps beyond its vector. Forgetting one is safe: the
/// version it names is then not superseded and stays a sibling, so nothing
/// is lost (a `union` merge may show a removed element again).
const MAX_CONTEXT_DOTS: usize = 64;
/// Gets in flight per coordinator; more are refused (a definite failure).
const MAX_PENDING: usize = 1024;
const TAG_ANTI_ENTROPY: u64 = 1;
/// Timer tags from here on are a pending get's sequence number.
const TAG_GET: u64 = 2;

/// How a client merges the siblings it read into one cart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// The union of the siblings' carts (Dynamo's shopping cart).
    Union,
    /// The sibling with the largest coordinator timestamp.
    Lww,
    /// Union of adds and of removes; a removed element stays removed.
    Tombstones,
}

impl Merge {
    pub const NAMES: &'static [&'static str] = &["union", "lww", "tombstones"];

    fn parse(s: &str) -> Merge {
        match s {
            "lww" => Merge::Lww,
            "tombstones" => Merge::Tombstones,
            _ => Merge::Union,
        }
    }
}

/// The protocol's settings; see the module doc.
#[derive(Clone, Debug)]
pub struct VclockProtocol {
    pub anti_entropy_ns: u64,
    pub replicate: bool,
    /// Replicas a get gathers siblings from, the coordinator included.
    pub r: usize,
    pub merge: Merge,
    /// How long a coordinator waits for its get's answers before the op
    /// fails (nothing was written yet, so the failure is definite).
    pub timeout_ns: u64,
}

super::common::params::default_from_params!(VclockProtocol);

impl VclockProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::ms("anti_entropy_ms", 0, 50, "clock exchange period; 0 disables"),
        Param::flag("replicate", true, "send each new version to the other replicas right away"),
        Param::int("r", 1, 1024, Some(2), "replicas a get reads siblings from, the coordinator included; clamped to n"),
        Param::choice("merge", Merge::NAMES, "union", "how the client merges siblings: union, lww, tombstones"),
        Param::ms("timeout_ms", 1, 100, "coordinator's wait for a get's answers"),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("vclock", Self::PARAMS, params)?;
        Ok(VclockProtocol {
            anti_entropy_ns: p.ns("anti_entropy_ms"),
            replicate: p.flag("replicate"),
            r: p.int("r") as usize,
            merge: Merge::parse(p.choice("merge")),
            timeout_ns: p.ns("timeout_ms"),
        })
    }
}

/// A vector clock: node id -> how many of that node's writes are covered.
pub type Clock = BTreeMap<NodeId, u64>;

/// One write: the node that coordinated it and that node's counter for the
/// key (unique: the counter is durable and only grows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dot {
    pub node: NodeId,
    pub n: u64,
}

/// A causal context: the writes seen. `vv[j] = k` covers `j`'s writes
/// `1..=k`; `dots` are seen writes that do not extend `vv` contiguously.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub vv: Clock,
    pub dots: BTreeSet<Dot>,
}

impl Context {
    pub fn covers(&self, d: Dot) -> bool {
        self.vv.get(&d.node).is_some_and(|&k| k >= d.n) || self.dots.contains(&d)
    }

    /// Adds what `other` saw.
    pub fn join(&mut self, other: &Context) {
        for (&j, &k) in &other.vv {
            let e = self.vv.entry(j).or_insert(0);
            *e = (*e).max(k);
        }
        self.dots.extend(other.dots.iter().copied());
        self.normalize();
    }

    /// Adds one seen write.
    pub fn add(&mut self, d: Dot) {
        self.dots.insert(d);
        self.normalize();
    }

    /// Folds dots that extend the vector into it and drops covered ones
    /// (dots sort by node, then counter, so one pass folds runs); keeps at
    /// most [`MAX_CONTEXT_DOTS`], forgetting the oldest.
    fn normalize(&mut self) {
        let dots = std::mem::take(&mut self.dots);
        for d in dots {
            let k = self.vv.entry(d.node).or_insert(0);
            if *k + 1 == d.n {
                *k = d.n;
            } else if *k < d.n {
                self.dots.insert(d);
            }
        }
        // Entries made for dots that were kept (a later dot never lets an
        // earlier one fold: they come in counter order).
        self.vv.retain(|_, k| *k > 0);
        while self.dots.len() > MAX_CONTEXT_DOTS {
            self.dots.pop_first();
        }
    }
}

/// One version of a key's cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sibling {
    pub dot: Dot,
    /// What its writer had read.
    pub past: Context,
    pub cart: BTreeSet<Value>,
    /// Removed elements (kept only by the `tombstones` merge).
    pub removed: BTreeSet<Value>,
    /// The coordinator's local clock when it wrote this (the `lww` merge).
    pub ts_ns: i64,
}

impl Sibling {
    /// Whether this version has seen the write `d` (is it or supersedes it).
    fn saw(&self, d: Dot) -> bool {
        self.dot == d || self.past.covers(d)
    }
}

/// What a vclock replica persists.
#[derive(Clone, Debug, Default)]
pub struct VclockDurable {
    /// Siblings per key.
    pub store: BTreeMap<Key, Vec<Sibling>>,
    /// This node's write counter per key (its dots' `n`).
    pub counters: BTreeMap<Key, u64>,
}

/// Messages between vclock nodes.
#[derive(Clone, Debug)]
pub enum VclockMsg {
    /// Versions to merge (replication of a put, or anti-entropy answer).
    Put { versions: Vec<(Key, Sibling)> },
    /// A coordinator's get: send me your siblings of `key`.
    Get { seq: u64, key: Key },
    /// The answer to a get (its key, so that an answer to a get lost in a
    /// crash cannot complete a later get of another key).
    Got { seq: u64, key: Key, siblings: Vec<Sibling> },
    /// Anti-entropy: the sender's sibling dots per key.
    Digest { entries: Vec<(Key, Vec<Dot>)> },
    /// Anti-entropy: send me your siblings of these keys.
    Pull { keys: Vec<Key> },
}

/// A client operation waiting for its get's answers.
struct Pending {
    req: Request,
    /// Peers still to answer before the get has `r` replicas.
    waiting: usize,
    /// Peers that answered (a duplicated answer counts once).
    heard: BTreeSet<NodeId>,
    /// The siblings gathered so far (none covers another).
    siblings: Vec<Sibling>,
}

/// One vclock replica.
pub struct VclockNode {
    cfg: VclockProtocol,
    ae: Rotation,
    pending: BTreeMap<u64, Pending>,
    next_seq: u64,
}

impl Protocol for VclockProtocol {
    type Node = VclockNode;
    fn offers_cas(&self) -> bool {
        false
    }
    fn create(&self, _id: NodeId, _nodes: usize, _durable: &VclockDurable) -> VclockNode {
        VclockNode { cfg: self.clone(), ae: Rotation::default(), pending: BTreeMap::new(), next_seq: 0 }
    }
}

type VCtx<'a> = Ctx<'a, VclockMsg, VclockDurable>;

/// Merges `s` into a sibling list: dropped if some sibling has seen it;
/// otherwise it replaces the siblings it has seen. Returns whether it was
/// kept.
pub fn merge_sibling(list: &mut Vec<Sibling>, s: Sibling) -> bool {
    if list.iter().any(|l| l.saw(s.dot)) {
        return false;
    }
    list.retain(|l| !s.saw(l.dot));
    list.push(s);
    debug_assert!(concurrent(list), "no sibling has seen another");
    true
}

/// No sibling has seen another (quadratic: debug checks only).
fn concurrent(list: &[Sibling]) -> bool {
    list.iter().enumerate().all(|(i, a)| list.iter().skip(i + 1).all(|b| !a.saw(b.dot) && !b.saw(a.dot)))
}

/// The opaque context a get hands the client: every write its siblings saw.
pub fn context_of(siblings: &[Sibling]) -> Context {
    let mut c = Context::default();
    for s in siblings {
        c.join(&s.past);
        c.add(s.dot);
    }
    c
}

/// The cart a client makes of the siblings it read, and its removed set.
pub fn merged(siblings: &[Sibling], merge: Merge) -> (BTreeSet<Value>, BTreeSet<Value>) {
    match merge {
        Merge::Union => (siblings.iter().flat_map(|s| s.cart.iter().cloned()).collect(), BTreeSet::new()),
        Merge::Lww => {
            let last = siblings.iter().max_by_key(|s| (s.ts_ns, s.dot));
            (last.map(|s| s.cart.clone()).unwrap_or_default(), BTreeSet::new())
        }
        Merge::Tombstones => {
            let removed: BTreeSet<Value> = siblings.iter().flat_map(|s| s.removed.iter().cloned()).collect();
            let cart = siblings.iter().flat_map(|s| s.cart.iter()).filter(|v| !removed.contains(v)).cloned().collect();
            (cart, removed)
        }
    }
}

impl VclockNode {
    /// Starts the get of a client op: the local siblings, then (if `r > 1`)
    /// the peers' answers.
    fn start(&mut self, ctx: &mut VCtx, req: Request) {
        let waiting = self.cfg.r.min(ctx.nodes()).saturating_sub(1);
        let siblings = ctx.durable().store.get(&req.key).cloned().unwrap_or_default();
        if waiting == 0 {
            return self.finish(ctx, Pending { req, waiting, heard: BTreeSet::new(), siblings });
        }
        if self.pending.len() >= MAX_PENDING {
            return ctx.reply(req.id, Response::Fail("overloaded: too many gets in flight".into()));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        ctx.broadcast(VclockMsg::Get { seq, key: req.key.clone() });
        ctx.set_timer(self.cfg.timeout_ns, TAG_GET + seq);
        self.pending.insert(seq, Pending { req, waiting, heard: BTreeSet::new(), siblings });
    }

    /// The get is complete: answer a read, or put the client's new cart.
    fn finish(&mut self, ctx: &mut VCtx, p: Pending) {
        let Pending { req, siblings, .. } = p;
        if siblings.len() > 1 {
            ctx.cover("vclock.siblings-read");
        }
        let (mut cart, mut removed) = merged(&siblings, self.cfg.merge);
        if req.f == F::Read || req.f == F::Get {
            // Sorted, as the set and cart workloads expect.
            return ctx.reply(req.id, Response::Ok(Value::List(cart.into_iter().collect())));
        }
        if req.f == F::Add {
            cart.insert(req.value.clone());
        } else {
            cart.remove(&req.value);
            if self.cfg.merge == Merge::Tombstones {
                removed.insert(req.value.clone());
            }
        }
        let me = ctx.id();
        let d = ctx.durable_mut();
        let n = d.counters.entry(req.key.clone()).or_insert(0);
        *n += 1;
        let s = Sibling {
            dot: Dot { node: me, n: *n },
            past: context_of(&siblings),
            cart,
            removed,
            ts_ns: ctx.local_time_ns(),
        };
        let list = ctx.durable_mut().store.entry(req.key.clone()).or_default();
        let kept = merge_sibling(list, s.clone());
        debug_assert!(kept, "a fresh dot is seen by no version");
        if list.len() > 1 {
            // Versions the client's context missed stay beside the new one.
            ctx.cover("vclock.stale-context");
        }
        ctx.reply(req.id, Response::Ok(req.value));
        if self.cfg.replicate {
            ctx.broadcast(VclockMsg::Put { versions: vec![(req.key, s)] });
        }
    }

    fn anti_entropy(&mut self, ctx: &mut VCtx) {
        let entry = |(k, l): (&Key, &Vec<Sibling>)| (k.clone(), l.iter().map(|s| s.dot).collect());
        let digest = |entries| VclockMsg::Digest { entries };
        self.ae.send_digest(ctx, |d| &d.store, MAX_BATCH, |_, _| true, entry, digest);
    }
}

impl Node for VclockNode {
    type Msg = VclockMsg;
    type Durable = VclockDurable;

    fn on_start(&mut self, ctx: &mut VCtx) {
        ctx.start_periodic(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
    }

    fn on_message(&mut self, ctx: &mut VCtx, from: NodeId, msg: VclockMsg) {
        match msg {
            VclockMsg::Put { versions } => {
                for (k, s) in versions {
                    merge_sibling(ctx.durable_mut().store.entry(k).or_default(), s);
                }
            }
            VclockMsg::Get { seq, key } => {
                let siblings = ctx.durable().store.get(&key).cloned().unwrap_or_default();
                ctx.send(from, VclockMsg::Got { seq, key, siblings });
            }
            VclockMsg::Got { seq, key, siblings } => {
                let Some(p) = self.pending.get_mut(&seq) else { return };
                if p.req.key != key || !p.heard.insert(from) {
                    return;
                }
                for s in siblings {
                    merge_sibling(&mut p.siblings, s);
                }
                p.waiting -= 1;
                if p.waiting == 0 {
                    let p = self.pending.remove(&seq).expect("just found");
                    self.finish(ctx, p);
                }
            }
            VclockMsg::Digest { entries } => {
                let mut pull = Vec::new();
                let mut push = Vec::new();
                for (key, theirs) in entries {
                    let mine = ctx.durable().store.get(&key).map(Vec::as_slice).unwrap_or(&[]);
                    if theirs.iter().any(|&d| !mine.iter().any(|s| s.saw(d))) {
                        pull.push(key.clone());
                    }
                    for s in mine.iter().filter(|s| !theirs.contains(&s.dot)) {
                        push.push((key.clone(), s.clone()));
                    }
                }
                if !pull.is_empty() {
                    ctx.send(from, VclockMsg::Pull { keys: pull });
                }
                if !push.is_empty() {
                    ctx.send(from, VclockMsg::Put { versions: push });
                }
            }
            VclockMsg::Pull { keys } => {
                let store = &ctx.durable().store;
                let versions: Vec<_> = keys
                    .into_iter()
                    .filter_map(|k| store.get(&k).map(|l| (k, l)))
                    .flat_map(|(k, l)| l.iter().map(move |s| (k.clone(), s.clone())))
                    .collect();
                if !versions.is_empty() {
                    ctx.send(from, VclockMsg::Put { versions });
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut VCtx, tag: u64) {
        if tag == TAG_ANTI_ENTROPY {
            self.anti_entropy(ctx);
            ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
        } else if let Some(p) = tag.checked_sub(TAG_GET).and_then(|seq| self.pending.remove(&seq)) {
            // Nothing was written: the failure is definite.
            ctx.reply(p.req.id, Response::Fail(format!("timeout: fewer than r={} replicas answered", self.cfg.r)));
        }
    }

    fn on_request(&mut self, ctx: &mut VCtx, req: Request) {
        let remove = req.f == checker::remove_f();
        match req.f {
            F::Add | F::Read | F::Get => self.start(ctx, req),
            _ if remove => self.start(ctx, req),
            f => ctx.reply(
                req.id,
                Response::Fail(format!("unsupported: vclock stores carts (add, remove, read), not `{f}`")),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
