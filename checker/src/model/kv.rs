//! Porcupine's key-value object, for one key: `get`, `put s`, `append s` on
//! strings. A missing key reads as `""`; `append` concatenates.

use super::{arg, bad_value, result, unsupported, Model, NilRead};
use crate::error::InputErrorKind;
use crate::history::{Op, F};
use crate::value::Value;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
pub struct Kv {
    /// A `get` that returned `nil`: unknown, or the missing key (`""`).
    pub nil_read: NilRead,
}

const NAME: &str = "kv";

impl Model for Kv {
    /// Shared so that cloning a configuration does not copy the string.
    type State = Arc<str>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn init(&self) -> Arc<str> {
        Arc::from("")
    }

    fn step(&self, s: &Arc<str>, op: &Op) -> Option<Arc<str>> {
        match op.f {
            F::Get => match result(op) {
                Some(Value::Str(out)) => (**out == **s).then(|| s.clone()),
                Some(Value::Nil) if self.nil_read == NilRead::Absent => s.is_empty().then(|| s.clone()),
                Some(Value::Nil) | None => Some(s.clone()),
                Some(_) => None,
            },
            F::Put => Some(Arc::from(arg(op).as_str()?)),
            F::Append => {
                let add = arg(op).as_str()?;
                let mut next = String::with_capacity(s.len() + add.len());
                next.push_str(s);
                next.push_str(add);
                Some(Arc::from(next))
            }
            _ => None,
        }
    }

    fn describe(&self, s: &Arc<str>) -> String {
        format!("{:?}", &**s)
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        match op.f {
            F::Get => match result(op) {
                Some(Value::Str(_) | Value::Nil) | None => Ok(()),
                Some(v) => Err(bad_value(NAME, op, "a string", v)),
            },
            F::Put | F::Append => match arg(op) {
                Value::Str(_) => Ok(()),
                v => Err(bad_value(NAME, op, "a string", v)),
            },
            _ => Err(unsupported(NAME, op, "get, put, append")),
        }
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        op.f == F::Get
    }

    /// An info `append s` (s non-empty) that no ok `get` contains, and an
    /// info `put s` that no ok `get` starts with, are left out: once either
    /// takes effect, no get can follow until the next put, so removing it
    /// keeps the order legal. (Under `NilRead::Unknown` nil gets fit any
    /// state; under `NilRead::Absent` they read "".)
    fn droppable_infos(&self, ops: &[&Op]) -> Vec<bool> {
        let gets: Vec<&str> =
            ops.iter().filter(|op| op.f == F::Get).filter_map(|op| result(op).and_then(Value::as_str)).collect();
        ops.iter()
            .map(|op| {
                if op.outcome != crate::history::Outcome::Info {
                    return false;
                }
                match (&op.f, arg(op).as_str()) {
                    (F::Get, _) => true,
                    (F::Append, Some(x)) => !x.is_empty() && !gets.iter().any(|g| g.contains(x)),
                    // Every string starts with "": `put ""` is never dropped.
                    (F::Put, Some(x)) => !gets.iter().any(|g| g.starts_with(x)),
                    _ => false,
                }
            })
            .collect()
    }

    fn heap_bytes(&self, s: &Arc<str>) -> usize {
        s.len() + 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{info, ok};

    #[test]
    fn put_append_get() {
        let m = Kv { nil_read: NilRead::Unknown };
        let s = m.init();
        assert!(m.step(&s, &ok("get", Value::Nil, "".into())).is_some());
        let s = m.step(&s, &ok("put", "a".into(), Value::Nil)).unwrap();
        let s = m.step(&s, &info("append", "b".into())).unwrap();
        assert_eq!(&*s, "ab");
        assert!(m.step(&s, &ok("get", Value::Nil, "ab".into())).is_some());
        assert!(m.step(&s, &ok("get", Value::Nil, "a".into())).is_none());
        assert!(m.step(&s, &ok("get", Value::Nil, Value::Nil)).is_some());
        let absent = Kv { nil_read: NilRead::Absent };
        assert!(absent.step(&s, &ok("get", Value::Nil, Value::Nil)).is_none());
        assert!(matches!(m.validate(&ok("put", 1.into(), Value::Nil)), Err(InputErrorKind::BadValue { .. })));
        assert!(matches!(m.validate(&ok("read", 1.into(), Value::Nil)), Err(InputErrorKind::UnsupportedOp { .. })));
    }
}
