//! Last-write-wins replication: every replica accepts writes on its own.
//!
//! A write is stamped with the receiving replica's *own* local clock (ties
//! broken by node id), merged into its store, persisted and acknowledged at
//! once; it is then sent to every other replica, asynchronously. Reads answer
//! from the local store. Replicas keep, per key, the version with the largest
//! `(timestamp, node)`, and periodically exchange digests with one peer in
//! rotation (anti-entropy), so that all replicas converge once messages flow.
//!
//! Because timestamps come from unsynchronised clocks, a write acknowledged
//! *after* another can carry the smaller timestamp and lose: with clock skew,
//! acknowledged writes disappear. Even with perfect clocks, reads are stale.
//! `cas` is not offered: `Fail("unsupported")`.
//!
//! Parameters (`--param NAME=VALUE`), all optional:
//! - `anti_entropy_ms` (default 50; 0 disables): period of digest exchange.
//! - `replicate` = `true` | `false` (default `true`): send each write to the
//!   other replicas right away (otherwise only anti-entropy spreads it).

use crate::sim::{Ctx, Node, NodeId, Protocol, Request, Response};
use checker::{Value, F};
use std::collections::BTreeMap;

/// A key: `None` is the single register of the register workload.
pub type Key = Option<Value>;

/// Keys per anti-entropy digest: bounds message size; the rest waits for
/// the next round.
const MAX_BATCH: usize = 512;
const TAG_ANTI_ENTROPY: u64 = 1;

/// The protocol's settings; see the module doc.
#[derive(Clone, Debug)]
pub struct LwwProtocol {
    pub anti_entropy_ns: u64,
    pub replicate: bool,
}

impl Default for LwwProtocol {
    fn default() -> Self {
        LwwProtocol { anti_entropy_ns: 50_000_000, replicate: true }
    }
}

const PARAMS: &[&str] = &["anti_entropy_ms", "replicate"];

impl LwwProtocol {
    /// Parses `--param` pairs; unknown names and bad values are errors that
    /// name the parameter.
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, String> {
        if let Some(k) = params.keys().find(|k| !PARAMS.contains(&k.as_str())) {
            return Err(format!("lww: unknown param `{k}` (known: {})", PARAMS.join(", ")));
        }
        let mut p = LwwProtocol::default();
        if let Some(s) = params.get("anti_entropy_ms") {
            match s.trim().parse::<u64>() {
                Ok(v) if v <= 86_400_000 => p.anti_entropy_ns = v * 1_000_000,
                _ => return Err(format!("lww: param `anti_entropy_ms` must be an integer in 0..=86400000, got `{s}`")),
            }
        }
        if let Some(s) = params.get("replicate") {
            p.replicate = match s.trim() {
                "true" => true,
                "false" => false,
                _ => return Err(format!("lww: param `replicate` must be true or false, got `{s}`")),
            };
        }
        Ok(p)
    }
}

/// A value with its timestamp: `(local clock of the accepting replica, its id)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamped {
    pub ts_ns: i64,
    pub node: NodeId,
    pub value: Value,
}

impl Stamped {
    fn stamp(&self) -> (i64, NodeId) {
        (self.ts_ns, self.node)
    }
}

/// What an lww replica persists.
#[derive(Clone, Debug)]
pub struct LwwDurable {
    pub store: BTreeMap<Key, Stamped>,
    /// Largest timestamp this node handed out, so its own stamps increase
    /// even if its clock steps back.
    pub last_ts_ns: i64,
}

impl Default for LwwDurable {
    fn default() -> Self {
        LwwDurable { store: BTreeMap::new(), last_ts_ns: i64::MIN }
    }
}

/// Messages between lww nodes.
#[derive(Clone, Debug)]
pub enum LwwMsg {
    /// A write (first replication or anti-entropy answer).
    Update { versions: Vec<(Key, Stamped)> },
    /// Anti-entropy: the sender's (key, timestamp) pairs.
    Digest { entries: Vec<(Key, i64, NodeId)> },
    /// Anti-entropy: send me these keys.
    Pull { keys: Vec<Key> },
}

/// One lww replica.
pub struct LwwNode {
    cfg: LwwProtocol,
    ae: super::Rotation,
}

impl Protocol for LwwProtocol {
    type Node = LwwNode;
    fn name(&self) -> &'static str {
        "lww"
    }
    fn create(&self, _id: NodeId, _nodes: usize, _durable: &LwwDurable) -> LwwNode {
        LwwNode { cfg: self.clone(), ae: super::Rotation::default() }
    }
}

type LCtx<'a> = Ctx<'a, LwwMsg, LwwDurable>;

/// Keeps `v` if its stamp is larger than the stored one.
fn merge(store: &mut BTreeMap<Key, Stamped>, key: &Key, v: &Stamped) {
    if store.get(key).is_none_or(|cur| cur.stamp() < v.stamp()) {
        store.insert(key.clone(), v.clone());
    }
}

impl LwwNode {
    fn anti_entropy(&mut self, ctx: &mut LCtx) {
        let (id, nodes) = (ctx.id(), ctx.nodes());
        if let Some((peer, entries)) =
            self.ae.next(id, nodes, &ctx.durable().store, MAX_BATCH, |(k, v)| (k.clone(), v.ts_ns, v.node))
        {
            ctx.send(peer, LwwMsg::Digest { entries });
        }
    }
}

impl Node for LwwNode {
    type Msg = LwwMsg;
    type Durable = LwwDurable;

    fn on_start(&mut self, ctx: &mut LCtx) {
        if self.cfg.anti_entropy_ns > 0 {
            ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
        }
    }

    fn on_message(&mut self, ctx: &mut LCtx, from: NodeId, msg: LwwMsg) {
        match msg {
            LwwMsg::Update { versions } => {
                for (k, v) in versions {
                    merge(&mut ctx.durable_mut().store, &k, &v);
                }
            }
            LwwMsg::Digest { entries } => {
                let mut pull = Vec::new();
                let mut push = Vec::new();
                for (key, ts_ns, node) in entries {
                    match ctx.durable().store.get(&key) {
                        Some(mine) if mine.stamp() > (ts_ns, node) => push.push((key, mine.clone())),
                        Some(mine) if mine.stamp() == (ts_ns, node) => {}
                        _ => pull.push(key),
                    }
                }
                if !pull.is_empty() {
                    ctx.send(from, LwwMsg::Pull { keys: pull });
                }
                if !push.is_empty() {
                    ctx.send(from, LwwMsg::Update { versions: push });
                }
            }
            LwwMsg::Pull { keys } => {
                let store = &ctx.durable().store;
                let versions: Vec<_> =
                    keys.into_iter().filter_map(|k| store.get(&k).cloned().map(|v| (k, v))).collect();
                if !versions.is_empty() {
                    ctx.send(from, LwwMsg::Update { versions });
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut LCtx, tag: u64) {
        if tag == TAG_ANTI_ENTROPY {
            self.anti_entropy(ctx);
            ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
        }
    }

    fn on_request(&mut self, ctx: &mut LCtx, req: Request) {
        match req.f {
            F::Read | F::Get => {
                let v = ctx.durable().store.get(&req.key).map(|s| s.value.clone()).unwrap_or(Value::Nil);
                ctx.reply(req.id, Response::Ok(v));
            }
            F::Write | F::Put => {
                let ts_ns = ctx.local_time_ns().max(ctx.durable().last_ts_ns.saturating_add(1));
                let stamped = Stamped { ts_ns, node: ctx.id(), value: req.value.clone() };
                let d = ctx.durable_mut();
                d.last_ts_ns = ts_ns;
                merge(&mut d.store, &req.key, &stamped);
                ctx.reply(req.id, Response::Ok(req.value));
                if self.cfg.replicate {
                    ctx.broadcast(LwwMsg::Update { versions: vec![(req.key, stamped)] });
                }
            }
            F::Cas => ctx.reply(req.id, Response::Fail("unsupported: lww has no compare-and-set".into())),
            f => ctx.reply(req.id, Response::Fail(format!("unsupported: lww has no `{}`", f.as_str()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_and_reject() {
        let m = |k: &str, v: &str| [(k.to_string(), v.to_string())].into_iter().collect::<BTreeMap<_, _>>();
        assert_eq!(LwwProtocol::from_params(&m("anti_entropy_ms", "0")).unwrap().anti_entropy_ns, 0);
        assert!(!LwwProtocol::from_params(&m("replicate", "false")).unwrap().replicate);
        assert!(LwwProtocol::from_params(&m("anti_entropy_ms", "-1")).unwrap_err().contains("`anti_entropy_ms`"));
        assert!(LwwProtocol::from_params(&m("replicate", "1")).unwrap_err().contains("`replicate`"));
        assert!(LwwProtocol::from_params(&m("n", "1")).unwrap_err().contains("`n`"));
    }
}
