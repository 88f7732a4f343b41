//! Eventually consistent grow-only sets spread by gossip.
//!
//! Each key holds a grow-only set (the set workload: `add` unique elements,
//! `read` the set). A replica applies an `add` locally, persists it and
//! acknowledges at once; reads answer from the local set. New elements become
//! *rumors*: every `gossip_ms` a replica sends its rumors to `fanout` peers
//! chosen at random, and a rumor is forwarded for `rumor_rounds` rounds (a
//! replica that learns a new element from a rumor spreads it in turn).
//! Rumors can die out before reaching everyone (loss, partitions, crashes:
//! rumors are not persisted), so every `anti_entropy_ms` a replica also
//! compares a digest (size and hash per key) with one random peer and the two
//! exchange full sets of the keys that differ. Once messages flow, all
//! replicas converge to the union of all adds.
//!
//! Nothing orders reads against adds: a client that adds on one replica and
//! reads from another may not see its own add.
//! Registers (`write`) and `cas` are not offered: `Fail("unsupported")`.
//!
//! Parameters (`--param NAME=VALUE`), all optional:
//! - `gossip_ms` (default 10): rumor round period.
//! - `fanout` (default 2): peers per rumor round.
//! - `rumor_rounds` (default 3): rounds a rumor is forwarded.
//! - `anti_entropy_ms` (default 50; 0 disables): period of digest exchange.

use super::common::{Key, Param, ParamError, Params};
use crate::sim::{Ctx, Node, NodeId, Protocol, Request, Response};
use checker::{Value, F};
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::{Hash, Hasher};

/// Rumors a replica keeps: beyond this the oldest are dropped (anti-entropy
/// still spreads them). Keys per digest: bounds message size.
const MAX_RUMORS: usize = 10_000;
const MAX_BATCH: usize = 256;
const TAG_GOSSIP: u64 = 1;
const TAG_ANTI_ENTROPY: u64 = 2;

/// The protocol's settings; see the module doc.
#[derive(Clone, Debug)]
pub struct GossipProtocol {
    pub gossip_ns: u64,
    pub fanout: usize,
    pub rumor_rounds: u32,
    pub anti_entropy_ns: u64,
}

super::common::params::default_from_params!(GossipProtocol);

impl GossipProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::ms("gossip_ms", 1, 10, "rumor round period"),
        Param::int("fanout", 1, 1024, Some(2), "peers each rumor round goes to"),
        Param::int("rumor_rounds", 0, 1000, Some(3), "rounds a rumor is forwarded"),
        Param::ms("anti_entropy_ms", 0, 50, "digest exchange period; 0 disables"),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("gossip", Self::PARAMS, params)?;
        Ok(GossipProtocol {
            gossip_ns: p.ns("gossip_ms"),
            fanout: p.int("fanout") as usize,
            rumor_rounds: p.int("rumor_rounds") as u32,
            anti_entropy_ns: p.ns("anti_entropy_ms"),
        })
    }
}

/// What a gossip replica persists: its sets.
#[derive(Clone, Debug, Default)]
pub struct GossipDurable {
    pub store: BTreeMap<Key, BTreeSet<Value>>,
}

/// Messages between gossip nodes.
#[derive(Clone, Debug)]
pub enum GossipMsg {
    /// New elements being spread.
    Rumor { items: Vec<(Key, Value)> },
    /// Anti-entropy: (key, set size, set hash) of the sender.
    Digest { entries: Vec<(Key, usize, u64)> },
    /// Anti-entropy: full sets of keys whose digests differ; `reply` asks the
    /// receiver to answer with its own sets of those keys if they hold more.
    Sets { sets: Vec<(Key, BTreeSet<Value>)>, reply: bool },
}

/// One gossip replica.
pub struct GossipNode {
    cfg: GossipProtocol,
    /// (key, element, rounds left), oldest first.
    rumors: VecDeque<(Key, Value, u32)>,
}

impl Protocol for GossipProtocol {
    type Node = GossipNode;
    fn create(&self, _id: NodeId, _nodes: usize, _durable: &GossipDurable) -> GossipNode {
        GossipNode { cfg: self.clone(), rumors: VecDeque::new() }
    }
}

type GCtx<'a> = Ctx<'a, GossipMsg, GossipDurable>;

/// A digest of a set: deterministic (rustc-hash has no random state), so
/// two replicas holding the same set agree.
fn set_hash(s: &BTreeSet<Value>) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

impl GossipNode {
    fn rumor(&mut self, key: Key, v: Value) {
        if self.cfg.rumor_rounds == 0 {
            return;
        }
        if self.rumors.len() >= MAX_RUMORS {
            self.rumors.pop_front();
        }
        self.rumors.push_back((key, v, self.cfg.rumor_rounds));
    }

    /// Up to `k` distinct random peers.
    fn random_peers(ctx: &mut GCtx, k: usize) -> Vec<NodeId> {
        let mut peers: Vec<NodeId> = ctx.peers().collect();
        let mut out = Vec::new();
        while out.len() < k && !peers.is_empty() {
            let i = ctx.rng().random_range(0..peers.len());
            out.push(peers.swap_remove(i));
        }
        out
    }

    fn gossip_round(&mut self, ctx: &mut GCtx) {
        if self.rumors.is_empty() {
            return;
        }
        let items: Vec<(Key, Value)> = self.rumors.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
        for to in Self::random_peers(ctx, self.cfg.fanout) {
            ctx.send(to, GossipMsg::Rumor { items: items.clone() });
        }
        for r in &mut self.rumors {
            r.2 -= 1;
        }
        self.rumors.retain(|r| r.2 > 0);
    }

    fn anti_entropy(&mut self, ctx: &mut GCtx) {
        let Some(&peer) = Self::random_peers(ctx, 1).first() else { return };
        let len = ctx.durable().store.len();
        if len == 0 {
            return;
        }
        // A random starting key, so that big stores are covered over rounds.
        let start = ctx.rng().random_range(0..len);
        let store = &ctx.durable().store;
        let entries: Vec<_> = store
            .iter()
            .skip(start)
            .chain(store.iter().take(start))
            .take(MAX_BATCH)
            .map(|(k, s)| (k.clone(), s.len(), set_hash(s)))
            .collect();
        ctx.send(peer, GossipMsg::Digest { entries });
    }
}

impl Node for GossipNode {
    type Msg = GossipMsg;
    type Durable = GossipDurable;

    fn on_start(&mut self, ctx: &mut GCtx) {
        ctx.set_timer(self.cfg.gossip_ns, TAG_GOSSIP);
        ctx.start_periodic(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
    }

    fn on_message(&mut self, ctx: &mut GCtx, from: NodeId, msg: GossipMsg) {
        match msg {
            GossipMsg::Rumor { items } => {
                for (k, v) in items {
                    if ctx.durable_mut().store.entry(k.clone()).or_default().insert(v.clone()) {
                        self.rumor(k, v);
                    }
                }
            }
            GossipMsg::Digest { entries } => {
                let store = &ctx.durable().store;
                let sets: Vec<_> = entries
                    .into_iter()
                    .filter_map(|(k, len, h)| {
                        let mine = store.get(&k).cloned().unwrap_or_default();
                        (mine.len() != len || set_hash(&mine) != h).then_some((k, mine))
                    })
                    .collect();
                if !sets.is_empty() {
                    ctx.send(from, GossipMsg::Sets { sets, reply: true });
                }
            }
            GossipMsg::Sets { sets, reply } => {
                let mut back = Vec::new();
                for (k, theirs) in sets {
                    let store = &mut ctx.durable_mut().store;
                    if theirs.is_empty() && !store.contains_key(&k) {
                        continue;
                    }
                    let mine = store.entry(k.clone()).or_default();
                    mine.extend(theirs.iter().cloned());
                    if reply && mine.len() > theirs.len() {
                        back.push((k, mine.clone()));
                    }
                }
                if !back.is_empty() {
                    ctx.send(from, GossipMsg::Sets { sets: back, reply: false });
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut GCtx, tag: u64) {
        match tag {
            TAG_GOSSIP => {
                self.gossip_round(ctx);
                ctx.set_timer(self.cfg.gossip_ns, TAG_GOSSIP);
            }
            TAG_ANTI_ENTROPY => {
                self.anti_entropy(ctx);
                ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
            }
            _ => {}
        }
    }

    fn on_request(&mut self, ctx: &mut GCtx, req: Request) {
        match req.f {
            F::Add => {
                if ctx.durable_mut().store.entry(req.key.clone()).or_default().insert(req.value.clone()) {
                    self.rumor(req.key, req.value.clone());
                }
                ctx.reply(req.id, Response::Ok(req.value));
            }
            F::Read | F::Get => {
                let s = ctx.durable().store.get(&req.key).cloned().unwrap_or_default();
                ctx.reply(req.id, Response::Ok(Value::List(s.into_iter().collect())));
            }
            f => ctx.reply(req.id, super::common::not_a_set_op("gossip", &f)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_hash_is_order_free_and_content_sensitive() {
        let a: BTreeSet<Value> = [1, 2, 3].into_iter().map(Value::Int).collect();
        let b: BTreeSet<Value> = [3, 2, 1].into_iter().map(Value::Int).collect();
        let c: BTreeSet<Value> = [1, 2, 4].into_iter().map(Value::Int).collect();
        assert_eq!(set_hash(&a), set_hash(&b));
        assert_ne!(set_hash(&a), set_hash(&c));
    }
}
