//! `single`: a single-node store, linearizable by construction. Node 0 holds
//! all data and applies every operation the moment it arrives; the other
//! nodes forward their clients' requests to node 0 and relay its answer. The
//! store and a table of applied request ids are durable, so a crash of node
//! 0 loses nothing and duplicated forwards are applied once. Supports every
//! workload's operations (see [`crate::sim::Request`]).

use crate::sim::{Ctx, Node, NodeId, Protocol, Request, RequestId, Response};
use crate::workload::parse_transfer;
use checker::{Value, F};
use std::collections::BTreeMap;

/// The node that owns the data.
pub const OWNER: NodeId = 0;

/// The `single` protocol. It takes no parameters.
#[derive(Clone, Debug, Default)]
pub struct Single;

impl Single {
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, String> {
        reject_unknown(params, &[])?;
        Ok(Single)
    }
}

/// Errors on any parameter not in `known`.
pub(crate) fn reject_unknown(params: &BTreeMap<String, String>, known: &[&str]) -> Result<(), String> {
    for k in params.keys() {
        if !known.contains(&k.as_str()) {
            let accepted = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(format!("unknown parameter `{k}` (accepted: {accepted})"));
        }
    }
    Ok(())
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
    pub data: BTreeMap<Option<Value>, Value>,
    pub applied: BTreeMap<RequestId, Response>,
}

#[derive(Debug)]
pub struct SingleNode {
    id: NodeId,
}

impl Protocol for Single {
    type Node = SingleNode;

    fn name(&self) -> &'static str {
        "single"
    }

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
    let r = apply(&mut store.data, req);
    store.applied.insert(req.id, r.clone());
    r
}

/// Applies one operation to a map of objects, returning the answer the
/// workloads expect (see [`crate::sim::Request`]). Shared by the toy stores.
pub fn apply(data: &mut BTreeMap<Option<Value>, Value>, req: &Request) -> Response {
    let cur = data.get(&req.key).cloned().unwrap_or(Value::Nil);
    let next = match &req.f {
        F::Read => return Response::Ok(cur),
        F::Write => req.value.clone(),
        F::Cas => {
            let Some([old, new]) = req.value.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) else {
                return Response::Fail("cas needs [old, new]".into());
            };
            if cur != *old {
                return Response::Fail("cas: current value differs".into());
            }
            new.clone()
        }
        F::Append => match cur {
            Value::Nil => Value::List(vec![req.value.clone()]),
            Value::List(mut l) => {
                l.push(req.value.clone());
                Value::List(l)
            }
            _ => return Response::Fail("append to a non-list".into()),
        },
        F::Add => match cur {
            Value::Nil => Value::List(vec![req.value.clone()]),
            Value::List(mut l) => {
                if let Err(i) = l.binary_search(&req.value) {
                    l.insert(i, req.value.clone());
                }
                Value::List(l)
            }
            _ => return Response::Fail("add to a non-set".into()),
        },
        F::Incr => {
            let (Some(d), base) = (req.value.as_int(), &cur) else {
                return Response::Fail("incr needs an integer".into());
            };
            let base = match base {
                Value::Nil => 0,
                Value::Int(i) => *i,
                _ => return Response::Fail("incr of a non-counter".into()),
            };
            match base.checked_add(d) {
                Some(s) => Value::Int(s),
                None => return Response::Fail("counter overflow".into()),
            }
        }
        F::Transfer => {
            let Some((from, to, amount)) = parse_transfer(&req.value) else {
                return Response::Fail("transfer needs {from, to, amount}".into());
            };
            // Bound on accounts: a bad request must not allocate without limit.
            if from.max(to) >= crate::workload::MAX_KEYS {
                return Response::Fail("no such account".into());
            }
            let mut balances = match cur {
                Value::Nil => Vec::new(),
                Value::List(l) => l,
                _ => return Response::Fail("transfer on a non-bank".into()),
            };
            if balances.len() <= from.max(to) {
                balances.resize(from.max(to) + 1, Value::Int(0));
            }
            let (Some(a), Some(b)) = (balances[from].as_int(), balances[to].as_int()) else {
                return Response::Fail("corrupt balance".into());
            };
            let (Some(a), Some(b)) = (a.checked_sub(amount), b.checked_add(amount)) else {
                return Response::Fail("balance overflow".into());
            };
            balances[from] = Value::Int(a);
            balances[to] = Value::Int(b);
            Value::List(balances)
        }
        other => return Response::Fail(format!("unsupported operation `{other}`")),
    };
    let result = match &req.f {
        F::Write | F::Cas | F::Append | F::Add | F::Incr | F::Transfer => req.value.clone(),
        _ => next.clone(),
    };
    data.insert(req.key.clone(), next);
    Response::Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Effect;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn req(id: u64, f: F, key: Option<i64>, value: Value) -> Request {
        Request { id: RequestId(id), f, key: key.map(Value::Int), value }
    }

    #[test]
    fn every_workload_op() {
        let mut d = BTreeMap::new();
        assert_eq!(apply(&mut d, &req(0, F::Read, Some(1), Value::Nil)), Response::Ok(Value::Nil));
        assert_eq!(apply(&mut d, &req(1, F::Write, Some(1), 5.into())), Response::Ok(5.into()));
        let cas = Value::List(vec![5.into(), 6.into()]);
        assert_eq!(apply(&mut d, &req(2, F::Cas, Some(1), cas.clone())), Response::Ok(cas.clone()));
        assert!(matches!(apply(&mut d, &req(3, F::Cas, Some(1), cas)), Response::Fail(_)));
        assert_eq!(apply(&mut d, &req(4, F::Read, Some(1), Value::Nil)), Response::Ok(6.into()));
        apply(&mut d, &req(5, F::Append, Some(2), 9.into()));
        apply(&mut d, &req(6, F::Append, Some(2), 3.into()));
        assert_eq!(
            apply(&mut d, &req(7, F::Read, Some(2), Value::Nil)),
            Response::Ok(Value::List(vec![9.into(), 3.into()]))
        );
        apply(&mut d, &req(8, F::Add, Some(3), 9.into()));
        apply(&mut d, &req(9, F::Add, Some(3), 3.into()));
        assert_eq!(
            apply(&mut d, &req(10, F::Read, Some(3), Value::Nil)),
            Response::Ok(Value::List(vec![3.into(), 9.into()]))
        );
        apply(&mut d, &req(11, F::Incr, Some(4), 2.into()));
        apply(&mut d, &req(12, F::Incr, Some(4), 3.into()));
        assert_eq!(apply(&mut d, &req(13, F::Read, Some(4), Value::Nil)), Response::Ok(5.into()));
        let t = crate::workload::transfer_value(2, 0, 7);
        assert_eq!(apply(&mut d, &req(14, F::Transfer, None, t.clone())), Response::Ok(t));
        assert_eq!(
            apply(&mut d, &req(15, F::Read, None, Value::Nil)),
            Response::Ok(Value::List(vec![7.into(), 0.into(), (-7).into()]))
        );
        assert!(matches!(apply(&mut d, &req(16, F::Append, Some(4), 1.into())), Response::Fail(_)));
        assert!(matches!(apply(&mut d, &req(17, F::Dequeue, Some(4), 1.into())), Response::Fail(_)));
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
        assert_eq!(store.data[&Some(Value::Int(0))], Value::List(vec![1.into()]));
        assert_eq!(effects.len(), 2);
        assert!(matches!(&effects[1], Effect::Send { to: 2, msg: SingleMsg::Result { .. } }));
        assert!(Single::from_params(&[("x".to_string(), "1".to_string())].into()).is_err());
    }
}
