//! `single`: a single-node store, linearizable by construction. Node 0 holds
//! all data and applies every operation the moment it arrives; the other
//! nodes forward their clients' requests to node 0 and relay its answer. The
//! store and a table of applied request ids are durable, so a crash of node
//! 0 loses nothing and duplicated forwards are applied once. Supports every
//! workload's operations (see [`crate::sim::Request`]).

use super::common::{KvStore, Param, ParamError, Params};
use crate::sim::{Ctx, Node, NodeId, Protocol, Request, RequestId, Response};
use std::collections::BTreeMap;

/// The node that owns the data.
pub const OWNER: NodeId = 0;

/// The `single` protocol. It takes no parameters.
#[derive(Clone, Debug, Default)]
pub struct Single;

impl Single {
    pub const PARAMS: &'static [Param] = &[];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        Params::parse("single", Self::PARAMS, params)?;
        Ok(Single)
    }
}

#[derive(Clone, Debug)]
pub enum SingleMsg {
    /// A client request relayed to the owner.
    Forward(Request),
    /// The owner's answer to a forwarded request.
    Result { id: RequestId, response: Response },
}

/// The owner's durable state: the data and the answers already given, by
/// request id (so a duplicated forward is not applied twice). The answer
/// table grows with the number of requests in the run, which the run bounds.
#[derive(Clone, Debug, Default)]
pub struct Store {
    pub kv: KvStore,
    pub applied: BTreeMap<RequestId, Response>,
}

#[derive(Debug)]
pub struct SingleNode {
    id: NodeId,
}

impl Protocol for Single {
    type Node = SingleNode;

    fn create(&self, id: NodeId, _nodes: usize, _durable: &Store) -> SingleNode {
        SingleNode { id }
    }
}

impl Node for SingleNode {
    type Msg = SingleMsg;
    type Durable = Store;

    fn on_start(&mut self, _ctx: &mut Ctx<SingleMsg, Store>) {}

    fn on_message(&mut self, ctx: &mut Ctx<SingleMsg, Store>, from: NodeId, msg: SingleMsg) {
        match msg {
            SingleMsg::Forward(req) => {
                if ctx.id() == OWNER {
                    let response = apply_once(ctx.durable_mut(), &req);
                    ctx.send(from, SingleMsg::Result { id: req.id, response });
                }
            }
            SingleMsg::Result { id, response } => ctx.reply(id, response),
        }
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<SingleMsg, Store>, _tag: u64) {}

    fn on_request(&mut self, ctx: &mut Ctx<SingleMsg, Store>, req: Request) {
        if ctx.id() == OWNER {
            let response = apply_once(ctx.durable_mut(), &req);
            ctx.reply(req.id, response);
        } else {
            ctx.send(OWNER, SingleMsg::Forward(req));
        }
    }

    /// The owner counts as the leader, so "crash the leader" hits it.
    fn is_leader(&self) -> bool {
        self.id == OWNER
    }
}

fn apply_once(store: &mut Store, req: &Request) -> Response {
    if let Some(r) = store.applied.get(&req.id) {
        return r.clone();
    }
    let r = store.kv.apply(req);
    store.applied.insert(req.id, r.clone());
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Effect;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use checker::{Value, F};

    fn req(id: u64, f: F, key: Option<i64>, value: Value) -> Request {
        Request { id: RequestId(id), f, key: key.map(Value::Int), value }
    }

    #[test]
    fn owner_applies_a_duplicated_forward_once() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut store = Store::default();
        let mut effects = Vec::new();
        let mut node = Single.create(0, 3, &store);
        let fwd = SingleMsg::Forward(req(1, F::Append, Some(0), 1.into()));
        for _ in 0..2 {
            let mut ctx = Ctx::new(0, 3, 0, &mut rng, &mut store, &mut effects);
            node.on_message(&mut ctx, 2, fwd.clone());
        }
        assert_eq!(store.kv.get(&Some(Value::Int(0))), Value::List(vec![1.into()]));
        assert_eq!(effects.len(), 2);
        assert!(matches!(&effects[1], Effect::Send { to: 2, msg: SingleMsg::Result { .. } }));
        assert!(Single::from_params(&[("x".to_string(), "1".to_string())].into()).is_err());
    }
}
