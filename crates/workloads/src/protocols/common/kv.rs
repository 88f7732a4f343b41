//! The one key-value state machine of the stores that apply whole
//! operations (raft's replicated state machine, single, lagging): values
//! that serve every workload, with the answers [`crate::sim::Request`]
//! documents.
//!
//! Semantics at the edges, the same for every store: an operation that
//! cannot take effect exactly — a counter or balance that would overflow,
//! an append to a non-list, a malformed argument — fails and changes
//! nothing (a definite `fail`, never a silent wrap).

use crate::sim::{Key, Request, Response};
use crate::workload::parse_transfer;
use checker::{Value, F};
use std::collections::BTreeMap;

/// Every key's value: registers hold any value, lists `List`, sets `Set`
/// (read back as sorted lists), counters `Int`, the bank (key nil) the list
/// of balances.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KvStore {
    data: BTreeMap<Key, Value>,
}

impl KvStore {
    /// The value stored at `key`, nil when never written.
    pub fn get(&self, key: &Key) -> Value {
        self.data.get(key).cloned().unwrap_or(Value::Nil)
    }

    /// Every stored `(key, value)`, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.data.iter()
    }

    /// Replaces a key's stored value (replication of whole values).
    pub fn put(&mut self, key: Key, value: Value) {
        self.data.insert(key, value);
    }

    /// A read's answer from the current state: sets as sorted lists; a key
    /// never written reads as nil, except Porcupine's `get` (the empty
    /// string) and the bank (key nil: no accounts yet, the empty list).
    pub fn read(&self, f: &F, key: &Key) -> Response {
        Response::Ok(match (f, key, self.data.get(key)) {
            (F::Get, _, None) => Value::str(""),
            (F::Read, None, None) => Value::List(Vec::new()),
            (_, _, Some(Value::Set(items))) => Value::List(items.clone()),
            (_, _, v) => v.cloned().unwrap_or(Value::Nil),
        })
    }

    /// Applies one operation and returns its answer. Updates answer with
    /// their argument; a failed one changes nothing.
    pub fn apply(&mut self, req: &Request) -> Response {
        let cur = self.data.get(&req.key);
        let next = match &req.f {
            F::Read | F::Get => return self.read(&req.f, &req.key),
            // A transaction applies all at once (see `txn::apply`).
            F::Txn => {
                return match super::txn::apply(self, &req.value) {
                    Ok(v) => Response::Ok(v),
                    Err(e) => Response::Fail(e),
                }
            }
            F::Write | F::Put => Ok(req.value.clone()),
            F::Cas => cas(cur, &req.value),
            F::Append => append(cur, &req.value),
            F::Add => add(cur, &req.value),
            F::Incr => incr(cur, &req.value),
            F::Transfer => transfer(cur, &req.value),
            f if *f == checker::remove_f() => remove(cur, &req.value),
            f => Err(format!("unsupported operation `{f}`")),
        };
        match next {
            Ok(next) => {
                self.data.insert(req.key.clone(), next);
                Response::Ok(req.value.clone())
            }
            Err(e) => Response::Fail(e),
        }
    }
}

/// The value after `cas [old new]` on `cur`.
fn cas(cur: Option<&Value>, arg: &Value) -> Result<Value, String> {
    let Some([old, new]) = arg.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) else {
        return Err(format!("cas expects [old, new], got {arg}"));
    };
    let now = cur.cloned().unwrap_or(Value::Nil);
    if now != *old {
        return Err(format!("cas mismatch: current value is {now}"));
    }
    Ok(new.clone())
}

/// The value after appending `v`: strings concatenate (Porcupine's kv),
/// anything else goes at the end of a list.
fn append(cur: Option<&Value>, v: &Value) -> Result<Value, String> {
    match (cur, v) {
        (None, Value::Str(s)) => Ok(Value::Str(s.clone())),
        (Some(Value::Str(a)), Value::Str(b)) => Ok(Value::str(&format!("{a}{b}"))),
        (None | Some(Value::Nil), v) => Ok(Value::List(vec![v.clone()])),
        (Some(Value::List(items)), v) => {
            let mut items = items.clone();
            items.push(v.clone());
            Ok(Value::List(items))
        }
        (Some(other), _) => Err(format!("cannot append to {other}")),
    }
}

/// The set after adding `v`.
fn add(cur: Option<&Value>, v: &Value) -> Result<Value, String> {
    match cur {
        None | Some(Value::Nil) => Ok(Value::set(vec![v.clone()])),
        Some(Value::Set(items)) => {
            let mut items = items.clone();
            if let Err(i) = items.binary_search(v) {
                items.insert(i, v.clone());
            }
            Ok(Value::Set(items))
        }
        Some(other) => Err(format!("cannot add to {other}")),
    }
}

/// A cart's set without `v` (removing what is absent changes nothing).
fn remove(cur: Option<&Value>, v: &Value) -> Result<Value, String> {
    match cur {
        None | Some(Value::Nil) => Ok(Value::set(Vec::new())),
        Some(Value::Set(items)) => Ok(Value::Set(items.iter().filter(|&x| x != v).cloned().collect())),
        Some(other) => Err(format!("cannot remove from {other}")),
    }
}

/// The counter after `incr by` (nil: 1); an overflow fails.
fn incr(cur: Option<&Value>, by: &Value) -> Result<Value, String> {
    let by = match by {
        Value::Nil => 1,
        Value::Int(i) => *i,
        v => return Err(format!("incr expects an integer, got {v}")),
    };
    let now = match cur {
        None | Some(Value::Nil) => 0,
        Some(Value::Int(i)) => *i,
        Some(other) => return Err(format!("cannot incr {other}")),
    };
    now.checked_add(by).map(Value::Int).ok_or_else(|| format!("counter overflow: {now} + {by}"))
}

/// The balances after a transfer; a balance that would overflow fails.
fn transfer(cur: Option<&Value>, arg: &Value) -> Result<Value, String> {
    let (from, to, amount) = parse_transfer(arg)?;
    let mut balances = match cur {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::List(b)) => b.clone(),
        Some(other) => return Err(format!("cannot transfer in {other}")),
    };
    let need = from.max(to) + 1;
    if balances.len() < need {
        balances.resize(need, Value::Int(0));
    }
    let (Some(a), Some(b)) = (balances[from].as_int(), balances[to].as_int()) else {
        return Err("corrupt balance".into());
    };
    let moved = if from == to {
        // A transfer to oneself changes nothing (and must not double-count).
        Some((a, a))
    } else {
        a.checked_sub(amount).zip(b.checked_add(amount))
    };
    let Some((a, b)) = moved else {
        return Err(format!("balance overflow moving {amount} from {from} to {to}"));
    };
    balances[from] = Value::Int(a);
    balances[to] = Value::Int(b);
    Ok(Value::List(balances))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::RequestId;
    use crate::workload::transfer_value;
    use proptest::prelude::*;

    fn req(f: F, key: Option<i64>, value: Value) -> Request {
        Request { id: RequestId(0), f, key: key.map(Value::Int), value }
    }

    #[test]
    fn every_workload_op() {
        let mut kv = KvStore::default();
        assert_eq!(kv.apply(&req(F::Read, Some(1), Value::Nil)), Response::Ok(Value::Nil));
        assert_eq!(kv.apply(&req(F::Write, Some(1), 5.into())), Response::Ok(5.into()));
        let cas = Value::List(vec![5.into(), 6.into()]);
        assert_eq!(kv.apply(&req(F::Cas, Some(1), cas.clone())), Response::Ok(cas.clone()));
        assert!(matches!(kv.apply(&req(F::Cas, Some(1), cas)), Response::Fail(_)));
        assert_eq!(kv.get(&Some(1.into())), Value::Int(6));
        kv.apply(&req(F::Append, Some(2), 9.into()));
        kv.apply(&req(F::Append, Some(2), 3.into()));
        assert_eq!(kv.apply(&req(F::Read, Some(2), Value::Nil)), Response::Ok(Value::List(vec![9.into(), 3.into()])));
        kv.apply(&req(F::Add, Some(3), 9.into()));
        kv.apply(&req(F::Add, Some(3), 4.into()));
        kv.apply(&req(F::Add, Some(3), 9.into()));
        assert_eq!(kv.get(&Some(3.into())), Value::set(vec![4.into(), 9.into()]));
        assert_eq!(kv.apply(&req(F::Read, Some(3), Value::Nil)), Response::Ok(Value::List(vec![4.into(), 9.into()])));
        kv.apply(&req(F::Incr, Some(4), Value::Nil));
        kv.apply(&req(F::Incr, Some(4), 3.into()));
        assert_eq!(kv.get(&Some(4.into())), Value::Int(4));
        assert_eq!(kv.apply(&req(F::Get, Some(5), Value::Nil)), Response::Ok(Value::str("")));
        kv.apply(&req(F::Append, Some(5), Value::str("ab")));
        kv.apply(&req(F::Append, Some(5), Value::str("c")));
        assert_eq!(kv.get(&Some(5.into())), Value::str("abc"));
        assert!(matches!(kv.apply(&req(F::Append, Some(4), 1.into())), Response::Fail(_)));
        assert!(matches!(kv.apply(&req(F::Dequeue, Some(4), 1.into())), Response::Fail(_)));
        let t = transfer_value(2, 0, 7);
        assert_eq!(kv.apply(&req(F::Transfer, None, t.clone())), Response::Ok(t));
        assert_eq!(
            kv.apply(&req(F::Read, None, Value::Nil)),
            Response::Ok(Value::List(vec![7.into(), 0.into(), (-7).into()]))
        );
        assert!(matches!(kv.apply(&req(F::Transfer, None, Value::Nil)), Response::Fail(_)));
    }

    /// raft wrapped an overflowing counter and single failed it; both now
    /// fail, leaving the counter as it was.
    #[test]
    fn kv_counter_overflow_fails_and_leaves_the_counter() {
        let mut kv = KvStore::default();
        kv.apply(&req(F::Incr, Some(1), Value::Int(i64::MAX)));
        assert!(matches!(kv.apply(&req(F::Incr, Some(1), 1.into())), Response::Fail(m) if m.contains("overflow")));
        assert_eq!(kv.get(&Some(1.into())), Value::Int(i64::MAX));
        kv.apply(&req(F::Transfer, None, transfer_value(0, 1, i64::MAX)));
        assert!(matches!(kv.apply(&req(F::Transfer, None, transfer_value(0, 1, 1))), Response::Fail(_)));
        assert!(matches!(kv.apply(&req(F::Transfer, None, transfer_value(1, 0, -1))), Response::Fail(_)));
        let balances = Value::List(vec![(-i64::MAX).into(), i64::MAX.into()]);
        assert_eq!(kv.get(&None), balances);
    }

    /// single answered a whole-bank read before any transfer with nil; the
    /// bank's read is the list of balances, empty when no account exists.
    #[test]
    fn kv_bank_read_before_any_transfer_is_the_empty_list() {
        let kv = KvStore::default();
        assert_eq!(kv.read(&F::Read, &None), Response::Ok(Value::List(vec![])));
    }

    #[test]
    fn kv_transfer_to_the_same_account_changes_nothing() {
        let mut kv = KvStore::default();
        kv.apply(&req(F::Transfer, None, transfer_value(1, 1, 5)));
        assert_eq!(kv.get(&None), Value::List(vec![0.into(), 0.into()]));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Incr(i64),
        Transfer(usize, usize, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let big = prop_oneof![Just(i64::MAX), Just(i64::MIN), -5i64..5, any::<i64>()];
        prop_oneof![
            big.clone().prop_map(Op::Incr),
            (0usize..3, 0usize..3, big).prop_map(|(a, b, x)| Op::Transfer(a, b, x)),
        ]
    }

    proptest! {
        /// Against an i128 model: a counter is the exact sum of the
        /// increments that succeeded, every one that would leave i64 fails,
        /// and the bank's total stays 0.
        #[test]
        fn kv_arithmetic_is_exact_or_fails(ops in proptest::collection::vec(op(), 0..40)) {
            let mut kv = KvStore::default();
            let mut counter: i128 = 0;
            let mut bank = [0i128; 3];
            for o in ops {
                match o {
                    Op::Incr(d) => {
                        let ok = matches!(kv.apply(&req(F::Incr, Some(0), d.into())), Response::Ok(_));
                        let want = counter + d as i128;
                        prop_assert_eq!(ok, i64::try_from(want).is_ok());
                        if ok { counter = want; }
                    }
                    Op::Transfer(a, b, x) => {
                        let ok = matches!(kv.apply(&req(F::Transfer, None, transfer_value(a, b, x))), Response::Ok(_));
                        let mut next = bank;
                        if a != b { next[a] -= x as i128; next[b] += x as i128; }
                        prop_assert_eq!(ok, next.iter().all(|v| i64::try_from(*v).is_ok()));
                        if ok { bank = next; }
                    }
                }
            }
            prop_assert_eq!(kv.get(&Some(0.into())).as_int().map(i128::from).unwrap_or(0), counter);
            let total: i128 = kv.get(&None).as_seq().unwrap_or(&[]).iter().filter_map(Value::as_int).map(i128::from).sum();
            prop_assert_eq!(total, 0);
        }
    }
}
