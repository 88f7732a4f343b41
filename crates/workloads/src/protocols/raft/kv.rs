//! The replicated state machine: a key-value store whose values serve every
//! workload (registers, Porcupine's string kv, lists, sets, counters).

use crate::sim::{NodeId, Request, Response};
use checker::{Value, F};
use std::collections::{BTreeMap, BTreeSet};

/// Key-value state built by applying committed log entries in order.
#[derive(Clone, Debug, Default)]
pub struct KvStore {
    data: BTreeMap<Option<Value>, Value>,
    /// Requests already applied, by (origin node, request id): a duplicated
    /// network message may put one request in the log twice, and it must
    /// take effect once (Raft paper §8). Grows by one entry per client
    /// request, like the log itself.
    applied: BTreeSet<(NodeId, u64)>,
}

impl KvStore {
    /// The current value of a key, `nil` when never written.
    pub fn get(&self, key: &Option<Value>) -> Value {
        self.data.get(key).cloned().unwrap_or(Value::Nil)
    }

    /// Answers a read from local state without going through the log.
    pub fn read(&self, req: &Request) -> Response {
        read_result(&req.f, &req.key, self.data.get(&req.key))
    }

    /// Applies one committed request and returns its result. A request seen
    /// before is not applied again (its duplicate gets `Unknown`, since the
    /// original already answered).
    pub fn apply(&mut self, origin: NodeId, req: &Request) -> Response {
        if !self.applied.insert((origin, req.id.0)) {
            return Response::Unknown("duplicate request".to_string());
        }
        let cur = self.data.get(&req.key);
        match &req.f {
            F::Read | F::Get => read_result(&req.f, &req.key, cur),
            F::Write | F::Put => {
                self.data.insert(req.key.clone(), req.value.clone());
                Response::Ok(req.value.clone())
            }
            F::Cas => {
                let Some([old, new]) = req.value.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) else {
                    return Response::Fail(format!("cas expects [old, new], got {}", req.value));
                };
                let now = cur.cloned().unwrap_or(Value::Nil);
                if now == *old {
                    self.data.insert(req.key.clone(), new.clone());
                    Response::Ok(req.value.clone())
                } else {
                    Response::Fail(format!("cas mismatch: current value is {now}"))
                }
            }
            F::Append => {
                let next = match (cur, &req.value) {
                    (None, Value::Str(s)) => Value::Str(s.clone()),
                    (Some(Value::Str(a)), Value::Str(b)) => Value::str(&format!("{a}{b}")),
                    (None | Some(Value::Nil), v) => Value::List(vec![v.clone()]),
                    (Some(Value::List(items)), v) => {
                        let mut items = items.clone();
                        items.push(v.clone());
                        Value::List(items)
                    }
                    (Some(other), _) => return Response::Fail(format!("cannot append to {other}")),
                };
                self.data.insert(req.key.clone(), next);
                Response::Ok(req.value.clone())
            }
            F::Add => {
                let next = match cur {
                    None | Some(Value::Nil) => Value::set(vec![req.value.clone()]),
                    Some(Value::Set(items)) => {
                        let mut items = items.clone();
                        items.push(req.value.clone());
                        Value::set(items)
                    }
                    Some(other) => return Response::Fail(format!("cannot add to {other}")),
                };
                self.data.insert(req.key.clone(), next);
                Response::Ok(req.value.clone())
            }
            F::Incr => {
                let by = match &req.value {
                    Value::Nil => 1,
                    Value::Int(i) => *i,
                    v => return Response::Fail(format!("incr expects an integer, got {v}")),
                };
                let now = match cur {
                    None | Some(Value::Nil) => 0,
                    Some(Value::Int(i)) => *i,
                    Some(other) => return Response::Fail(format!("cannot incr {other}")),
                };
                self.data.insert(req.key.clone(), Value::Int(now.wrapping_add(by)));
                Response::Ok(req.value.clone())
            }
            F::Transfer => {
                let (from, to, amount) = match parse_transfer(&req.value) {
                    Ok(t) => t,
                    Err(e) => return Response::Fail(e),
                };
                let mut balances = match cur {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(b)) => b.clone(),
                    Some(other) => return Response::Fail(format!("cannot transfer in {other}")),
                };
                let need = from.max(to) + 1;
                if balances.len() < need {
                    balances.resize(need, Value::Int(0));
                }
                for (account, delta) in [(from, -amount), (to, amount)] {
                    let now = balances[account].as_int().unwrap_or(0);
                    balances[account] = Value::Int(now.wrapping_add(delta));
                }
                self.data.insert(req.key.clone(), Value::List(balances));
                Response::Ok(req.value.clone())
            }
            f => Response::Fail(format!("raft kv does not support `{f}`")),
        }
    }
}

/// Largest account number a transfer may name: balances are a dense list.
pub const MAX_ACCOUNT: usize = 1 << 20;

/// A bank transfer's argument `{"from": i, "to": j, "amount": a}`.
pub fn parse_transfer(v: &Value) -> Result<(usize, usize, i64), String> {
    let field = |name: &str| -> Option<i64> {
        match v {
            Value::Map(m) => m.iter().find(|(k, _)| k.as_str() == Some(name)).and_then(|(_, x)| x.as_int()),
            _ => None,
        }
    };
    let account = |name: &str| field(name).filter(|&a| a >= 0 && a <= MAX_ACCOUNT as i64).map(|a| a as usize);
    match (account("from"), account("to"), field("amount")) {
        (Some(from), Some(to), Some(amount)) => Ok((from, to, amount)),
        _ => Err(format!("transfer expects {{from, to, amount}} with accounts in 0..={MAX_ACCOUNT}, got {v}")),
    }
}

/// A read's answer: the stored value, with sets as sorted lists; a key
/// never written reads as nil, except Porcupine's `get` (the empty string)
/// and the bank (key nil: no accounts yet, the empty list).
fn read_result(f: &F, key: &Option<Value>, cur: Option<&Value>) -> Response {
    Response::Ok(match (f, key, cur) {
        (F::Get, _, None) => Value::str(""),
        (F::Read, None, None) => Value::List(Vec::new()),
        (_, _, Some(Value::Set(items))) => Value::List(items.clone()),
        (_, _, v) => v.cloned().unwrap_or(Value::Nil),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::RequestId;

    fn req(id: u64, f: &str, key: i64, value: Value) -> Request {
        Request { id: RequestId(id), f: F::parse(f), key: Some(key.into()), value }
    }

    #[test]
    fn every_workload_op() {
        let mut kv = KvStore::default();
        assert_eq!(kv.apply(0, &req(1, "read", 1, Value::Nil)), Response::Ok(Value::Nil));
        assert_eq!(kv.apply(0, &req(2, "write", 1, 5.into())), Response::Ok(5.into()));
        let cas = Value::List(vec![5.into(), 6.into()]);
        assert_eq!(kv.apply(0, &req(3, "cas", 1, cas.clone())), Response::Ok(cas.clone()));
        assert!(matches!(kv.apply(0, &req(4, "cas", 1, cas)), Response::Fail(_)));
        assert_eq!(kv.get(&Some(1.into())), Value::Int(6));
        kv.apply(0, &req(5, "append", 2, 1.into()));
        kv.apply(0, &req(6, "append", 2, 2.into()));
        assert_eq!(kv.get(&Some(2.into())), Value::List(vec![1.into(), 2.into()]));
        kv.apply(0, &req(7, "add", 3, 9.into()));
        kv.apply(0, &req(8, "add", 3, 4.into()));
        assert_eq!(kv.get(&Some(3.into())), Value::set(vec![4.into(), 9.into()]));
        assert_eq!(kv.apply(0, &req(81, "read", 3, Value::Nil)), Response::Ok(Value::List(vec![4.into(), 9.into()])));
        kv.apply(0, &req(9, "incr", 4, Value::Nil));
        kv.apply(0, &req(10, "incr", 4, 3.into()));
        assert_eq!(kv.get(&Some(4.into())), Value::Int(4));
        assert_eq!(kv.apply(0, &req(11, "get", 5, Value::Nil)), Response::Ok(Value::str("")));
        kv.apply(0, &req(12, "append", 5, Value::str("ab")));
        kv.apply(0, &req(13, "append", 5, Value::str("c")));
        assert_eq!(kv.get(&Some(5.into())), Value::str("abc"));
        assert!(matches!(kv.apply(0, &req(14, "dequeue", 5, Value::Nil)), Response::Fail(_)));
        let t = |from: i64, to: i64, amount: i64| {
            Value::map(vec![("from".into(), from.into()), ("to".into(), to.into()), ("amount".into(), amount.into())])
        };
        let bank = |id, v| Request { id: RequestId(id), f: F::Transfer, key: None, value: v };
        assert_eq!(kv.apply(0, &bank(15, t(2, 0, 3))), Response::Ok(t(2, 0, 3)));
        kv.apply(0, &bank(16, t(0, 1, 1)));
        assert_eq!(kv.get(&None), Value::List(vec![2.into(), 1.into(), (-3).into()]));
        assert!(matches!(kv.apply(0, &bank(17, Value::Nil)), Response::Fail(_)));
        let read = Request { id: RequestId(18), f: F::Read, key: None, value: Value::Nil };
        assert_eq!(KvStore::default().read(&read), Response::Ok(Value::List(vec![])));
    }

    #[test]
    fn duplicates_apply_once() {
        let mut kv = KvStore::default();
        kv.apply(2, &req(1, "incr", 1, Value::Nil));
        assert!(matches!(kv.apply(2, &req(1, "incr", 1, Value::Nil)), Response::Unknown(_)));
        kv.apply(3, &req(1, "incr", 1, Value::Nil));
        assert_eq!(kv.get(&Some(1.into())), Value::Int(2));
    }
}
