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

use super::common::lww::{diff, merge_noting, versions_of, NotesVersions, Stamp, StampMonitor, Versioned};
use super::common::{Key, Param, ParamError, Params, Rotation};
use crate::sim::{Ctx, Monitor, Node, NodeId, Protocol, Request, Response};
use checker::{Value, F};
use std::collections::BTreeMap;

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

super::common::params::default_from_params!(LwwProtocol);

impl LwwProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::ms("anti_entropy_ms", 0, 50, "digest exchange period; 0 disables"),
        Param::flag("replicate", true, "send each write to the other replicas right away"),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("lww", Self::PARAMS, params)?;
        Ok(LwwProtocol { anti_entropy_ns: p.ns("anti_entropy_ms"), replicate: p.flag("replicate") })
    }
}

/// What an lww replica persists.
#[derive(Clone, Debug)]
pub struct LwwDurable {
    pub store: BTreeMap<Key, Versioned>,
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
    Update { versions: Vec<(Key, Versioned)> },
    /// Anti-entropy: the sender's (key, stamp) pairs.
    Digest { entries: Vec<(Key, Stamp)> },
    /// Anti-entropy: send me these keys.
    Pull { keys: Vec<Key> },
}

/// One lww replica.
pub struct LwwNode {
    cfg: LwwProtocol,
    ae: Rotation,
    /// What the current handler stored (a note for the monitor; cleared as
    /// each handler starts).
    stored: Vec<(Key, Versioned)>,
}

impl NotesVersions for LwwNode {
    fn stored(&self) -> &[(Key, Versioned)] {
        &self.stored
    }
}

impl Protocol for LwwProtocol {
    type Node = LwwNode;
    /// Registers without consensus have no compare-and-set.
    fn offers_cas(&self) -> bool {
        false
    }
    fn create(&self, _id: NodeId, _nodes: usize, _durable: &LwwDurable) -> LwwNode {
        LwwNode { cfg: self.clone(), ae: Rotation::default(), stored: Vec::new() }
    }

    fn monitor(&self) -> Option<Box<dyn Monitor<LwwNode>>> {
        Some(Box::new(StampMonitor::default()))
    }
}

type LCtx<'a> = Ctx<'a, LwwMsg, LwwDurable>;

impl LwwNode {
    fn anti_entropy(&mut self, ctx: &mut LCtx) {
        let entry = |(k, v): (&Key, &Versioned)| (k.clone(), v.stamp);
        let digest = |entries| LwwMsg::Digest { entries };
        self.ae.send_digest(ctx, |d| &d.store, MAX_BATCH, |_, _| true, entry, digest);
    }
}

impl Node for LwwNode {
    type Msg = LwwMsg;
    type Durable = LwwDurable;

    fn on_start(&mut self, ctx: &mut LCtx) {
        self.stored.clear();
        ctx.start_periodic(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
    }

    fn on_message(&mut self, ctx: &mut LCtx, from: NodeId, msg: LwwMsg) {
        self.stored.clear();
        match msg {
            LwwMsg::Update { versions } => {
                for (k, v) in versions {
                    merge_noting(&mut ctx.durable_mut().store, &mut self.stored, &k, &v);
                }
            }
            LwwMsg::Digest { entries } => {
                let store = &ctx.durable().store;
                let d = diff(entries, |k| store.get(k).map(|v| v.stamp));
                let push = versions_of(store, d.push);
                if !d.pull.is_empty() {
                    ctx.send(from, LwwMsg::Pull { keys: d.pull });
                }
                if !push.is_empty() {
                    ctx.send(from, LwwMsg::Update { versions: push });
                }
            }
            LwwMsg::Pull { keys } => {
                let versions = versions_of(&ctx.durable().store, keys);
                if !versions.is_empty() {
                    ctx.send(from, LwwMsg::Update { versions });
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut LCtx, tag: u64) {
        self.stored.clear();
        if tag == TAG_ANTI_ENTROPY {
            self.anti_entropy(ctx);
            ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
        }
    }

    fn on_request(&mut self, ctx: &mut LCtx, req: Request) {
        self.stored.clear();
        match req.f {
            F::Read | F::Get => {
                let v = ctx.durable().store.get(&req.key).map(|s| s.value.clone()).unwrap_or(Value::Nil);
                ctx.reply(req.id, Response::Ok(v));
            }
            F::Write | F::Put => {
                let ts_ns = ctx.local_time_ns().max(ctx.durable().last_ts_ns.saturating_add(1));
                let stamped = Versioned { stamp: Stamp { ts_ns, node: ctx.id() }, value: req.value.clone() };
                let d = ctx.durable_mut();
                debug_assert!(ts_ns > d.last_ts_ns, "a node's stamps strictly increase");
                d.last_ts_ns = ts_ns;
                merge_noting(&mut d.store, &mut self.stored, &req.key, &stamped);
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
