//! Multi-writer ABD (Attiya, Bar-Noy, Dolev 1995; Lynch and Shvartsman's
//! multi-writer variant): a linearizable register built from majority
//! quorums, without a leader.
//!
//! Every replica keeps, per key, a value with a tag `(ts, writer)`. Any node
//! coordinates a request in two phases, each waiting for a majority:
//! - write: *query* the tags, pick `(max ts + 1, own id)`; then *store* the
//!   value with that tag.
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

use crate::sim::{Ctx, Node, NodeId, Protocol, Request, RequestId, Response};
use checker::{Value, F};
use std::collections::{BTreeMap, BTreeSet};

/// A key: `None` is the single register of the register workload.
pub type Key = Option<Value>;

/// `(ts, writer id)`; larger wins.
pub type Tag = (u64, NodeId);

/// The protocol's settings; see the module doc.
#[derive(Clone, Debug)]
pub struct AbdProtocol {
    pub timeout_ns: u64,
    pub anti_entropy_ns: u64,
    pub no_writeback: bool,
}

impl Default for AbdProtocol {
    fn default() -> Self {
        AbdProtocol { timeout_ns: 100_000_000, anti_entropy_ns: 50_000_000, no_writeback: false }
    }
}

const PARAMS: &[&str] = &["timeout_ms", "anti_entropy_ms", "bug"];

/// Keys per anti-entropy digest: bounds message size; the rest waits for
/// the next round.
const MAX_BATCH: usize = 512;
/// Operation ids have the incarnation in their high bits, so they are never
/// this small: the tag is free for the anti-entropy timer.
const TAG_ANTI_ENTROPY: u64 = 1;

impl AbdProtocol {
    /// Parses `--param` pairs; unknown names and bad values are errors that
    /// name the parameter.
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, String> {
        if let Some(k) = params.keys().find(|k| !PARAMS.contains(&k.as_str())) {
            return Err(format!("abd: unknown param `{k}` (known: {})", PARAMS.join(", ")));
        }
        let mut p = AbdProtocol::default();
        if let Some(s) = params.get("timeout_ms") {
            // At most a day of virtual time.
            match s.trim().parse::<u64>() {
                Ok(v) if (1..=86_400_000).contains(&v) => p.timeout_ns = v * 1_000_000,
                _ => return Err(format!("abd: param `timeout_ms` must be an integer in 1..=86400000, got `{s}`")),
            }
        }
        if let Some(s) = params.get("anti_entropy_ms") {
            match s.trim().parse::<u64>() {
                Ok(v) if v <= 86_400_000 => p.anti_entropy_ns = v * 1_000_000,
                _ => return Err(format!("abd: param `anti_entropy_ms` must be an integer in 0..=86400000, got `{s}`")),
            }
        }
        if let Some(s) = params.get("bug") {
            p.no_writeback = match s.trim() {
                "none" => false,
                "no-writeback" => true,
                _ => return Err(format!("abd: param `bug` must be none or no-writeback, got `{s}`")),
            };
        }
        Ok(p)
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
    ae: super::Rotation,
    /// Requests being coordinated; each is removed when it finishes or by
    /// its timeout timer, so at most one `timeout_ms` window's worth.
    pending: BTreeMap<u64, Pending>,
}

impl Protocol for AbdProtocol {
    type Node = AbdNode;
    fn name(&self) -> &'static str {
        "abd"
    }
    fn create(&self, _id: NodeId, _nodes: usize, _durable: &AbdDurable) -> AbdNode {
        AbdNode { cfg: self.clone(), next_seq: 0, ae: super::Rotation::default(), pending: BTreeMap::new() }
    }
}

type ACtx<'a> = Ctx<'a, AbdMsg, AbdDurable>;

fn majority(nodes: usize) -> usize {
    nodes / 2 + 1
}

fn local(ctx: &ACtx, key: &Key) -> (Tag, Value) {
    ctx.durable().store.get(key).cloned().unwrap_or(((0, 0), Value::Nil))
}

fn store(ctx: &mut ACtx, key: &Key, tag: Tag, value: &Value) {
    let s = &mut ctx.durable_mut().store;
    if s.get(key).is_none_or(|(t, _)| *t < tag) {
        s.insert(key.clone(), (tag, value.clone()));
    }
}

impl AbdNode {
    /// Sends this node's tags to the next peer in rotation.
    fn anti_entropy(&mut self, ctx: &mut ACtx) {
        let (id, nodes) = (ctx.id(), ctx.nodes());
        if let Some((peer, entries)) =
            self.ae.next(id, nodes, &ctx.durable().store, MAX_BATCH, |(k, (t, _))| (k.clone(), *t))
        {
            ctx.send(peer, AbdMsg::Digest { entries });
        }
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
                    Some(v) => ((max_tag.0 + 1, ctx.id()), v.clone()),
                    None => (max_tag, max_value),
                };
                if p.write.is_none() && no_writeback {
                    ctx.reply(p.req, Response::Ok(value));
                    self.pending.remove(&op);
                    return;
                }
                store(ctx, &p.key, tag, &value);
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
        ctx.durable_mut().incarnation += 1;
        if self.cfg.anti_entropy_ns > 0 {
            ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
        }
    }

    fn on_message(&mut self, ctx: &mut ACtx, from: NodeId, msg: AbdMsg) {
        match msg {
            AbdMsg::Query { op, key } => {
                let (tag, value) = local(ctx, &key);
                ctx.send(from, AbdMsg::QueryReply { op, tag, value });
            }
            AbdMsg::Store { op, key, tag, value } => {
                store(ctx, &key, tag, &value);
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
                let mut pull = Vec::new();
                let mut push = Vec::new();
                for (key, tag) in entries {
                    let (mine, value) = local(ctx, &key);
                    if mine > tag {
                        push.push((key, mine, value));
                    } else if mine < tag {
                        pull.push(key);
                    }
                }
                if !pull.is_empty() {
                    ctx.send(from, AbdMsg::Pull { keys: pull });
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
                    store(ctx, &key, tag, &value);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut ACtx, tag: u64) {
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
        match req.f {
            F::Read | F::Get => self.start(ctx, req.id, req.key, None),
            F::Write | F::Put => self.start(ctx, req.id, req.key, Some(req.value)),
            F::Cas => ctx.reply(req.id, Response::Fail("unsupported: ABD registers have no compare-and-set".into())),
            f => ctx.reply(req.id, Response::Fail(format!("unsupported: abd has no `{}`", f.as_str()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_and_reject() {
        let m = |k: &str, v: &str| [(k.to_string(), v.to_string())].into_iter().collect::<BTreeMap<_, _>>();
        assert_eq!(AbdProtocol::from_params(&m("timeout_ms", "20")).unwrap().timeout_ns, 20_000_000);
        assert!(AbdProtocol::from_params(&m("bug", "no-writeback")).unwrap().no_writeback);
        assert!(AbdProtocol::from_params(&m("timeout_ms", "0")).unwrap_err().contains("`timeout_ms`"));
        assert!(AbdProtocol::from_params(&m("bug", "x")).unwrap_err().contains("`bug`"));
        assert!(AbdProtocol::from_params(&m("w", "1")).unwrap_err().contains("`w`"));
    }
}
