//! Multi-writer ABD (Attiya, Bar-Noy, Dolev 1995; Lynch and Shvartsman's
//! multi-writer variant): a linearizable register built from majority
//! quorums, without a leader.
//!
//! Every replica keeps, per key, a value with a tag `(ts, writer, op)`. Any
//! node coordinates a request in two phases, each waiting for a majority:
//! - write: *query* the tags, pick `(max ts + 1, own id, operation id)`;
//!   then *store* the value with that tag. The operation id makes the tag
//!   unique to this write, as the algorithm requires: two writes that one
//!   node coordinates concurrently see the same largest `ts`, and with tags
//!   `(ts, writer)` alone they got the same tag with different values, and
//!   replicas that stored them in different orders kept different values.
//! - read: *query* the (tag, value) pairs and take the largest; then *write
//!   back* that pair to a majority before answering, so no later read can
//!   return an older value.
//!
//! Replicas persist before answering, and every `anti_entropy_ms` exchange
//! tags with the next peer in rotation, adopting larger `(tag, value)` pairs.
//! That is the delivery of a `Store` the coordinator sent to every node but
//! the network lost (ABD assumes reliable channels), so it keeps the register
//! linearizable, and it makes replicas converge after faults heal even when a
//! write was left on a minority. A request that does not finish within
//! `timeout_ms` is answered `Fail` if it never reached its store phase (it
//! changed nothing) and `Unknown` if it did (a minority may hold the write).
//! `cas` is not offered (ABD registers cannot do it): `Fail("unsupported")`.
//!
//! Parameters (`--param NAME=VALUE`), all optional:
//! - `timeout_ms` (default 100): coordinator's request timeout.
//! - `anti_entropy_ms` (default 50; 0 disables): period of tag exchange.
//! - `bug` = `none` | `no-writeback` (default `none`): `no-writeback` skips
//!   the read's write-back phase; reads then see new-then-old values when a
//!   write is partially applied, which the linearizability check must find.

use super::common::lww::diff;
use super::common::{Key, Param, ParamError, Params, Rotation};
use crate::sim::{Ctx, Monitor, Node, NodeId, Protocol, Request, RequestId, Response, Violation};
use checker::{Value, F};
use std::collections::{BTreeMap, BTreeSet};

/// A write's tag: larger wins. `op` (the coordinator's operation id, unique
/// across its restarts) makes it unique to one write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    pub ts: u64,
    pub writer: NodeId,
    pub op: u64,
}

/// The protocol's settings; see the module doc.
#[derive(Clone, Debug)]
pub struct AbdProtocol {
    pub timeout_ns: u64,
    pub anti_entropy_ns: u64,
    pub no_writeback: bool,
}

super::common::params::default_from_params!(AbdProtocol);

/// Keys per anti-entropy digest: bounds message size; the rest waits for
/// the next round.
const MAX_BATCH: usize = 512;
/// Operation ids have the incarnation in their high bits, so they are never
/// this small: the tag is free for the anti-entropy timer.
const TAG_ANTI_ENTROPY: u64 = 1;

impl AbdProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::ms("timeout_ms", 1, 100, "coordinator's request timeout"),
        Param::ms("anti_entropy_ms", 0, 50, "tag exchange period; 0 disables (textbook ABD)"),
        Param::choice("bug", &["none", "no-writeback"], "none", "no-writeback: reads skip the write-back phase"),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("abd", Self::PARAMS, params)?;
        Ok(AbdProtocol {
            timeout_ns: p.ns("timeout_ms"),
            anti_entropy_ns: p.ns("anti_entropy_ms"),
            no_writeback: p.choice("bug") == "no-writeback",
        })
    }
}

/// What an ABD replica persists.
#[derive(Clone, Debug, Default)]
pub struct AbdDurable {
    /// Bumped on every start; makes operation ids unique across restarts.
    pub incarnation: u64,
    pub store: BTreeMap<Key, (Tag, Value)>,
}

/// Messages between ABD nodes.
#[derive(Clone, Debug)]
pub enum AbdMsg {
    Query {
        op: u64,
        key: Key,
    },
    QueryReply {
        op: u64,
        tag: Tag,
        value: Value,
    },
    Store {
        op: u64,
        key: Key,
        tag: Tag,
        value: Value,
    },
    StoreAck {
        op: u64,
    },
    /// Anti-entropy: the sender's tag per key.
    Digest {
        entries: Vec<(Key, Tag)>,
    },
    /// Anti-entropy: send me these keys.
    Pull {
        keys: Vec<Key>,
    },
    /// Anti-entropy: pairs with larger tags than the receiver's.
    Push {
        entries: Vec<(Key, Tag, Value)>,
    },
}

enum Phase {
    /// Collecting (tag, value) from a majority.
    Query { replies: BTreeMap<NodeId, (Tag, Value)> },
    /// Storing `tag, value`; then answer with `answer`.
    Store { acks: BTreeSet<NodeId>, answer: Value },
}

struct Pending {
    req: RequestId,
    key: Key,
    /// `Some(v)` for a write of `v`, `None` for a read.
    write: Option<Value>,
    phase: Phase,
}

/// One ABD node.
pub struct AbdNode {
    cfg: AbdProtocol,
    next_seq: u64,
    ae: Rotation,
    /// Requests being coordinated; each is removed when it finishes or by
    /// its timeout timer, so at most one `timeout_ms` window's worth.
    pending: BTreeMap<u64, Pending>,
    /// What the current handler stored (a note for the monitor; cleared as
    /// each handler starts).
    stored: Vec<(Key, Tag, Value)>,
}

impl Protocol for AbdProtocol {
    type Node = AbdNode;
    /// Registers without consensus have no compare-and-set.
    fn offers_cas(&self) -> bool {
        false
    }
    fn create(&self, _id: NodeId, _nodes: usize, _durable: &AbdDurable) -> AbdNode {
        AbdNode {
            cfg: self.clone(),
            next_seq: 0,
            ae: Rotation::default(),
            pending: BTreeMap::new(),
            stored: Vec::new(),
        }
    }

    /// A tag names one value on every replica.
    fn monitor(&self) -> Option<Box<dyn Monitor<AbdNode>>> {
        Some(Box::new(AbdMonitor::default()))
    }
}

/// Checks that a tag names one value: every replica that stores `(key,
/// tag)` stores the same value with it (tags are unique per write). Reads
/// stay linearizable only then; the linearizability checker sees the
/// consequences, this sees the cause.
#[derive(Default)]
struct AbdMonitor {
    values: BTreeMap<(Key, Tag), Value>,
}

impl Monitor<AbdNode> for AbdMonitor {
    fn observe(&mut self, id: NodeId, node: &AbdNode, _durable: &AbdDurable) -> Option<Violation> {
        for (key, tag, value) in &node.stored {
            match self.values.get(&(key.clone(), *tag)) {
                Some(first) if first != value => {
                    let detail = format!("n{id} stored {value} with tag {tag:?} of key {key:?}, which names {first}");
                    return Some(Violation { invariant: "unique-tags", detail });
                }
                Some(_) => {}
                None => {
                    self.values.insert((key.clone(), *tag), value.clone());
                }
            }
        }
        None
    }
}

type ACtx<'a> = Ctx<'a, AbdMsg, AbdDurable>;

fn majority(nodes: usize) -> usize {
    nodes / 2 + 1
}

fn local(ctx: &ACtx, key: &Key) -> (Tag, Value) {
    ctx.durable().store.get(key).cloned().unwrap_or((Tag::default(), Value::Nil))
}

/// Stores `(tag, value)` at `key` if the tag is larger than the stored one,
/// noting it in `stored`.
fn store(ctx: &mut ACtx, stored: &mut Vec<(Key, Tag, Value)>, key: &Key, tag: Tag, value: &Value) {
    let s = &mut ctx.durable_mut().store;
    if s.get(key).is_none_or(|(t, _)| *t < tag) {
        s.insert(key.clone(), (tag, value.clone()));
        stored.push((key.clone(), tag, value.clone()));
    }
}

impl AbdNode {
    /// Sends this node's tags to the next peer in rotation.
    fn anti_entropy(&mut self, ctx: &mut ACtx) {
        let entry = |(k, (t, _)): (&Key, &(Tag, Value))| (k.clone(), *t);
        let digest = |entries| AbdMsg::Digest { entries };
        self.ae.send_digest(ctx, |d| &d.store, MAX_BATCH, |_, _| true, entry, digest);
    }

    fn start(&mut self, ctx: &mut ACtx, req: RequestId, key: Key, write: Option<Value>) {
        self.next_seq += 1;
        let op = (ctx.durable().incarnation << 32) | (self.next_seq & 0xffff_ffff);
        let mut replies = BTreeMap::new();
        replies.insert(ctx.id(), local(ctx, &key));
        for to in ctx.peers().collect::<Vec<_>>() {
            ctx.send(to, AbdMsg::Query { op, key: key.clone() });
        }
        ctx.set_timer(self.cfg.timeout_ns, op);
        self.pending.insert(op, Pending { req, key, write, phase: Phase::Query { replies } });
        self.advance(ctx, op);
    }

    /// Moves an operation on once its current phase has a majority.
    fn advance(&mut self, ctx: &mut ACtx, op: u64) {
        let need = majority(ctx.nodes());
        let no_writeback = self.cfg.no_writeback;
        let Some(p) = self.pending.get_mut(&op) else { return };
        match &mut p.phase {
            Phase::Query { replies } if replies.len() >= need => {
                let Some((max_tag, max_value)) = replies.values().max_by_key(|(t, _)| *t).cloned() else { return };
                let (tag, value) = match &p.write {
                    Some(v) => (Tag { ts: max_tag.ts + 1, writer: ctx.id(), op }, v.clone()),
                    None => (max_tag, max_value),
                };
                debug_assert!(
                    p.write.is_none() || replies.values().all(|(t, _)| *t < tag),
                    "a write's tag exceeds all it saw"
                );
                if p.write.is_none() && no_writeback {
                    ctx.reply(p.req, Response::Ok(value));
                    self.pending.remove(&op);
                    return;
                }
                store(ctx, &mut self.stored, &p.key, tag, &value);
                let mut acks = BTreeSet::new();
                acks.insert(ctx.id());
                for to in ctx.peers().collect::<Vec<_>>() {
                    ctx.send(to, AbdMsg::Store { op, key: p.key.clone(), tag, value: value.clone() });
                }
                p.phase = Phase::Store { acks, answer: value };
                self.advance(ctx, op);
            }
            Phase::Store { acks, answer } if acks.len() >= need => {
                ctx.reply(p.req, Response::Ok(answer.clone()));
                self.pending.remove(&op);
            }
            _ => {}
        }
    }
}

impl Node for AbdNode {
    type Msg = AbdMsg;
    type Durable = AbdDurable;

    fn on_start(&mut self, ctx: &mut ACtx) {
        self.stored.clear();
        ctx.durable_mut().incarnation += 1;
        ctx.start_periodic(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
    }

    fn on_message(&mut self, ctx: &mut ACtx, from: NodeId, msg: AbdMsg) {
        self.stored.clear();
        match msg {
            AbdMsg::Query { op, key } => {
                let (tag, value) = local(ctx, &key);
                ctx.send(from, AbdMsg::QueryReply { op, tag, value });
            }
            AbdMsg::Store { op, key, tag, value } => {
                store(ctx, &mut self.stored, &key, tag, &value);
                ctx.send(from, AbdMsg::StoreAck { op });
            }
            AbdMsg::QueryReply { op, tag, value } => {
                if let Some(Pending { phase: Phase::Query { replies }, .. }) = self.pending.get_mut(&op) {
                    replies.insert(from, (tag, value));
                    self.advance(ctx, op);
                }
            }
            AbdMsg::StoreAck { op } => {
                if let Some(Pending { phase: Phase::Store { acks, .. }, .. }) = self.pending.get_mut(&op) {
                    acks.insert(from);
                    self.advance(ctx, op);
                }
            }
            AbdMsg::Digest { entries } => {
                let store = &ctx.durable().store;
                let d = diff(entries, |k| store.get(k).map(|(t, _)| *t));
                let push: Vec<_> = d.push.into_iter().map(|k| (k.clone(), store[&k].0, store[&k].1.clone())).collect();
                if !d.pull.is_empty() {
                    ctx.send(from, AbdMsg::Pull { keys: d.pull });
                }
                if !push.is_empty() {
                    ctx.send(from, AbdMsg::Push { entries: push });
                }
            }
            AbdMsg::Pull { keys } => {
                let entries: Vec<_> = keys
                    .into_iter()
                    .filter_map(|k| ctx.durable().store.get(&k).cloned().map(|(t, v)| (k, t, v)))
                    .collect();
                if !entries.is_empty() {
                    ctx.send(from, AbdMsg::Push { entries });
                }
            }
            AbdMsg::Push { entries } => {
                for (key, tag, value) in entries {
                    store(ctx, &mut self.stored, &key, tag, &value);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut ACtx, tag: u64) {
        self.stored.clear();
        if tag == TAG_ANTI_ENTROPY {
            self.anti_entropy(ctx);
            ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
            return;
        }
        let Some(p) = self.pending.remove(&tag) else { return };
        let response = match (&p.phase, &p.write) {
            (Phase::Query { replies }, _) => Response::Fail(format!(
                "timeout in query phase: {} of {} replies",
                replies.len(),
                majority(ctx.nodes())
            )),
            (Phase::Store { acks, .. }, Some(_)) => {
                Response::Unknown(format!("timeout in store phase: {} of {} acks", acks.len(), majority(ctx.nodes())))
            }
            // A read's write-back only spreads a value some write already
            // stored; the read itself changed nothing.
            (Phase::Store { acks, .. }, None) => {
                Response::Fail(format!("timeout in write-back phase: {} of {} acks", acks.len(), majority(ctx.nodes())))
            }
        };
        ctx.reply(p.req, response);
    }

    fn on_request(&mut self, ctx: &mut ACtx, req: Request) {
        self.stored.clear();
        match req.f {
            F::Read | F::Get => self.start(ctx, req.id, req.key, None),
            F::Write | F::Put => self.start(ctx, req.id, req.key, Some(req.value)),
            F::Cas => ctx.reply(req.id, Response::Fail("unsupported: ABD registers have no compare-and-set".into())),
            f => ctx.reply(req.id, Response::Fail(format!("unsupported: abd has no `{}`", f.as_str()))),
        }
    }
}
