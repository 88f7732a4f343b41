//! Weak replication: best effort, with no convergence guarantee.
//!
//! Each key holds a grow-only set (the set workload: `add` unique elements,
//! `read` the set). A replica applies an `add` locally, persists it,
//! acknowledges at once, and forwards it to every other replica exactly
//! once. There is no acknowledgement, retry, repair or anti-entropy: a
//! forward lost to message loss, a partition or a crashed receiver is never
//! sent again, so replicas can disagree forever. Reads answer from the local
//! set. Registers (`write`) and `cas` are not offered: `Fail("unsupported")`.
//!
//! Parameters (`--param NAME=VALUE`), all optional:
//! - `forward` = `true` | `false` (default `true`): forward adds at all (with
//!   `false` every replica keeps only its own adds).

use super::common::{Key, Param, ParamError, Params};
use crate::sim::{Ctx, Node, NodeId, Protocol, Request, Response};
use checker::{Value, F};
use std::collections::{BTreeMap, BTreeSet};

/// The protocol's settings; see the module doc.
#[derive(Clone, Debug)]
pub struct WeakProtocol {
    pub forward: bool,
}

super::common::params::default_from_params!(WeakProtocol);

impl WeakProtocol {
    pub const PARAMS: &'static [Param] =
        &[Param::flag("forward", true, "forward adds at all (false: every replica keeps only its own adds)")];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("weak", Self::PARAMS, params)?;
        Ok(WeakProtocol { forward: p.flag("forward") })
    }
}

/// What a weak replica persists: its sets.
#[derive(Clone, Debug, Default)]
pub struct WeakDurable {
    pub store: BTreeMap<Key, BTreeSet<Value>>,
}

/// Messages between weak nodes.
#[derive(Clone, Debug)]
pub enum WeakMsg {
    /// An add, forwarded once by the replica that accepted it.
    Forward { key: Key, value: Value },
}

/// One weak replica.
pub struct WeakNode {
    forward: bool,
}

impl Protocol for WeakProtocol {
    type Node = WeakNode;
    fn create(&self, _id: NodeId, _nodes: usize, _durable: &WeakDurable) -> WeakNode {
        WeakNode { forward: self.forward }
    }
}

type WCtx<'a> = Ctx<'a, WeakMsg, WeakDurable>;

impl Node for WeakNode {
    type Msg = WeakMsg;
    type Durable = WeakDurable;

    fn on_start(&mut self, _ctx: &mut WCtx) {}

    fn on_message(&mut self, ctx: &mut WCtx, _from: NodeId, msg: WeakMsg) {
        let WeakMsg::Forward { key, value } = msg;
        ctx.durable_mut().store.entry(key).or_default().insert(value);
    }

    fn on_timer(&mut self, _ctx: &mut WCtx, _tag: u64) {}

    fn on_request(&mut self, ctx: &mut WCtx, req: Request) {
        match req.f {
            F::Add => {
                ctx.durable_mut().store.entry(req.key.clone()).or_default().insert(req.value.clone());
                ctx.reply(req.id, Response::Ok(req.value.clone()));
                if self.forward {
                    ctx.broadcast(WeakMsg::Forward { key: req.key, value: req.value });
                }
            }
            F::Read | F::Get => {
                let s = ctx.durable().store.get(&req.key).cloned().unwrap_or_default();
                ctx.reply(req.id, Response::Ok(Value::List(s.into_iter().collect())));
            }
            f => ctx.reply(req.id, super::common::not_a_set_op("weak", &f)),
        }
    }
}
