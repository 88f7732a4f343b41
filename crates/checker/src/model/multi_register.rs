//! Registers named by key, read and written by transactions (Jepsen's
//! `:txn`): the value is a list of micro-ops `[f k v]` with `f` one of
//! `r`/`read`/`w`/`write`. The ok's value carries the reads' results.

use super::register::value_heap_bytes;
use super::{arg, bad_value, read_matches, result, unsupported, Model, NilRead, ReadCause};
use crate::error::InputErrorKind;
use crate::history::{Op, Outcome, F};
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

    /// Register by register: each transaction's effect on one register
    /// alone is a register op (see [`project`]), and a linearization of the
    /// transactions is one of those register ops too, so a register cause
    /// for the projection of one of the transaction's reads is a cause for
    /// the transaction ([`ReadCause::InRegister`]). The first of its reads
    /// (in micro-op order) that has one is named.
    fn read_cause(&self, init: &Self::State, ops: &[&Op], read: usize) -> Option<ReadCause> {
        let t = ops.get(read)?;
        if t.f != F::Txn || t.outcome != Outcome::Ok {
            return None;
        }
        let mut keys: Vec<&Value> = Vec::new();
        for m in txn(t).as_seq()? {
            if let Some((_, k, _)) = micro(m) {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        for k in keys {
            let projected: Vec<Op> = ops.iter().map(|o| project(self.nil_read, o, k)).collect();
            if !matches!(projected[read].f, F::Read | F::Cas) || projected[read].outcome != Outcome::Ok {
                continue;
            }
            let refs: Vec<&Op> = projected.iter().collect();
            let start = init.get(k).unwrap_or(&Value::Nil);
            if let Some(cause) = super::register::register_read_cause(self.nil_read, start, &refs, read) {
                let value = match (&projected[read].f, projected[read].input.as_seq()) {
                    (F::Cas, Some([old, _])) => old.clone(),
                    _ => projected[read].output.clone(),
                };
                return Some(ReadCause::InRegister { key: k.clone(), value, cause: Box::new(cause) });
            }
        }
        None
    }
}

/// A transaction's effect on register `k` alone, as a cas-register op with
/// the same timing: an ok read of the value it first read (before writing
/// `k`), a write of the last value it wrote, both at once as a cas, or an
/// info read (no effect, nothing known) when it neither reads nor writes
/// `k` or its reads are unknown (an info txn's, or nil under
/// [`NilRead::Unknown`]).
pub(crate) fn project(nil_read: NilRead, o: &Op, k: &Value) -> Op {
    let known = o.outcome == Outcome::Ok && result(o).is_some_and(|v| !v.is_nil());
    let (mut first_read, mut wrote, mut last_write) = (None, false, None);
    for m in txn(o).as_seq().unwrap_or(&[]) {
        match micro(m) {
            // A nil read says nothing under NilRead::Unknown.
            Some((Micro::Read, mk, v))
                if mk == k
                    && !wrote
                    && first_read.is_none()
                    && known
                    && !(v.is_nil() && nil_read == NilRead::Unknown) =>
            {
                first_read = Some(v.clone());
            }
            Some((Micro::Write, mk, v)) if mk == k => {
                wrote = true;
                last_write = Some(v.clone());
            }
            _ => {}
        }
    }
    let mut p = o.without_values();
    p.outcome = o.outcome;
    match (first_read, last_write) {
        (Some(r), None) => {
            p.f = F::Read;
            p.output = r;
        }
        (None, Some(w)) => {
            p.f = F::Write;
            p.input = w.clone();
            p.output = w;
        }
        (Some(r), Some(w)) => {
            p.f = F::Cas;
            p.input = Value::List(vec![r, w]);
        }
        (None, None) => {
            p.f = F::Read;
            p.outcome = Outcome::Info;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{at, info, last_cause, list, ok};

    fn t(ms: Vec<Value>, call: u64, ret: u64) -> Op {
        let v = list(ms);
        at(ok("txn", v.clone(), v), call, ret)
    }

    #[test]
    fn read_cause_names_the_register_and_its_cause() {
        let m = MultiRegister { nil_read: NilRead::Absent };
        // x: 1 then 2, then a read of x = 1 (and of y, fine).
        let ops = [
            t(vec![mop("w", "x", 1.into()), mop("w", "y", 5.into())], 0, 1),
            t(vec![mop("w", "x", 2.into())], 2, 3),
            t(vec![mop("r", "y", 5.into()), mop("r", "x", 1.into())], 4, 5),
        ];
        let stale = ReadCause::Stale { last_write: Some(0), overwrite: 1 };
        let want = ReadCause::InRegister { key: Value::str("x"), value: 1.into(), cause: Box::new(stale) };
        assert_eq!(last_cause(&m, &ops), Some(want));
        // A txn that reads then writes x acts as a cas: from 2, nothing makes 1.
        let ops =
            [t(vec![mop("w", "x", 2.into())], 0, 1), t(vec![mop("r", "x", 1.into()), mop("w", "x", 3.into())], 2, 3)];
        let cause = ReadCause::Unreachable { from: Some(0), via: vec![], held: 2.into() };
        let want = ReadCause::InRegister { key: Value::str("x"), value: 1.into(), cause: Box::new(cause) };
        assert_eq!(last_cause(&m, &ops), Some(want));
        // Its own write first: nothing to explain on x.
        let ops =
            [t(vec![mop("w", "x", 2.into())], 0, 1), t(vec![mop("w", "x", 1.into()), mop("r", "x", 1.into())], 2, 3)];
        assert_eq!(last_cause(&m, &ops), None);
        // A concurrent write of the value read: nothing.
        let ops = [
            t(vec![mop("w", "x", 2.into())], 0, 1),
            at(info("txn", list(vec![mop("w", "x", 1.into())])), 1, u64::MAX),
            t(vec![mop("r", "x", 1.into())], 2, 3),
        ];
        assert_eq!(last_cause(&m, &ops), None);
    }

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
