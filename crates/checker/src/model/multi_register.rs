//! Registers named by key, read and written by transactions (Jepsen's
//! `:txn`): the value is a list of micro-ops `[f k v]` with `f` one of
//! `r`/`read`/`w`/`write`. The ok's value carries the reads' results.

use super::register::value_heap_bytes;
use super::{arg, bad_value, read_matches, result, unsupported, Model, NilRead};
use crate::error::InputErrorKind;
use crate::history::{Op, F};
use crate::value::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
pub struct MultiRegister {
    /// A micro-read of `nil`: unknown, or a never-written key.
    pub nil_read: NilRead,
}

const NAME: &str = "multi-register";
const SHAPE: &str = "a list of micro-ops [f k v] with f r/read/w/write";

#[derive(Clone, Copy, PartialEq)]
enum Micro {
    Read,
    Write,
}

fn micro(m: &Value) -> Option<(Micro, &Value, &Value)> {
    let [f, k, v] = m.as_seq()? else { return None };
    let f = match f.as_str()? {
        "r" | "read" => Micro::Read,
        "w" | "write" => Micro::Write,
        _ => return None,
    };
    Some((f, k, v))
}

/// The micro-ops as the op saw them: the ok's value (with read results) when
/// there is one, else the invoke's.
fn txn(op: &Op) -> &Value {
    match result(op) {
        Some(v) if !v.is_nil() => v,
        _ => arg(op),
    }
}

impl Model for MultiRegister {
    /// Key -> value; absent keys were never written.
    type State = Arc<BTreeMap<Value, Value>>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn init(&self) -> Self::State {
        Arc::new(BTreeMap::new())
    }

    /// A map from register to value; registers it lacks start as nil.
    fn state_of(&self, v: &Value) -> Option<Self::State> {
        let Value::Map(entries) = v else { return None };
        Some(Arc::new(entries.iter().filter(|(_, x)| !x.is_nil()).cloned().collect()))
    }

    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State> {
        if op.f != F::Txn {
            return None;
        }
        // Read results are known only from an ok's value; an ok without one
        // leaves them unknown.
        let known = result(op).is_some_and(|v| !v.is_nil());
        let mut next: Option<BTreeMap<Value, Value>> = None;
        for m in txn(op).as_seq()? {
            let (f, k, v) = micro(m)?;
            let cur = next.as_ref().unwrap_or(s);
            match f {
                Micro::Read if known => {
                    if !read_matches(self.nil_read, cur.get(k).unwrap_or(&Value::Nil), v) {
                        return None;
                    }
                }
                Micro::Read => {}
                Micro::Write => {
                    next.get_or_insert_with(|| (**s).clone()).insert(k.clone(), v.clone());
                }
            }
        }
        Some(next.map_or_else(|| s.clone(), Arc::new))
    }

    fn describe(&self, s: &Self::State) -> String {
        Value::map(s.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        if op.f != F::Txn {
            return Err(unsupported(NAME, op, "txn"));
        }
        let v = txn(op);
        match v.as_seq() {
            Some(ms) if ms.iter().all(|m| micro(m).is_some()) => Ok(()),
            _ => Err(bad_value(NAME, op, SHAPE, v)),
        }
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        txn(op).as_seq().is_some_and(|ms| ms.iter().all(|m| micro(m).is_some_and(|(f, _, _)| f == Micro::Read)))
    }

    fn heap_bytes(&self, s: &Self::State) -> usize {
        s.iter().map(|(k, v)| 48 + value_heap_bytes(k) + value_heap_bytes(v)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{info, list, ok};

    fn mop(f: &str, k: &str, v: Value) -> Value {
        list(vec![Value::str(f), Value::str(k), v])
    }

    #[test]
    fn txns() {
        let m = MultiRegister { nil_read: NilRead::Absent };
        let w = list(vec![mop("w", "x", 1.into()), mop("write", "y", 2.into())]);
        let s = m.step(&m.init(), &ok("txn", w.clone(), w)).unwrap();
        let r_ok = list(vec![mop("r", "x", 1.into()), mop("read", "z", Value::Nil)]);
        assert!(m.step(&s, &ok("txn", list(vec![]), r_ok.clone())).is_some());
        let r_bad = list(vec![mop("r", "x", 1.into()), mop("r", "y", Value::Nil)]);
        assert!(m.step(&s, &ok("txn", list(vec![]), r_bad)).is_none());
        // A txn reads its own writes.
        let own = list(vec![mop("w", "x", 5.into()), mop("r", "x", 5.into())]);
        assert!(m.step(&s, &ok("txn", own.clone(), own)).is_some());
        let reads = list(vec![mop("r", "x", Value::Nil)]);
        assert!(m.info_is_noop(&info("txn", reads)));
        assert!(m.validate(&ok("txn", list(vec![mop("q", "x", 1.into())]), Value::Nil)).is_err());
        assert!(m.validate(&ok("read", Value::Nil, Value::Nil)).is_err());
    }
}
