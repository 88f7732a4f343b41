//! A grow-only set: `add v` and `read`, which returns every element (as a
//! list or set, in any order).

use super::cas_register::values_heap_bytes;
use super::{arg, bad_value, result, unsupported, Model, NilRead};
use crate::error::InputErrorKind;
use crate::history::{Op, F};
use crate::value::Value;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
pub struct Set {
    /// A read of `nil`: unknown, or the empty set.
    pub nil_read: NilRead,
}

const NAME: &str = "set";

/// Elements sorted and deduplicated.
fn normalise(items: &[Value]) -> Vec<Value> {
    let mut v = items.to_vec();
    v.sort();
    v.dedup();
    v
}

impl Model for Set {
    /// Sorted, deduplicated elements; shared so configurations clone cheaply.
    type State = Arc<Vec<Value>>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn init(&self) -> Self::State {
        Arc::new(Vec::new())
    }

    /// A list or set of elements.
    fn state_of(&self, v: &Value) -> Option<Self::State> {
        Some(Arc::new(normalise(v.as_seq()?)))
    }

    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State> {
        match op.f {
            F::Add => {
                let x = arg(op);
                match s.binary_search(x) {
                    Ok(_) => Some(s.clone()),
                    Err(i) => {
                        let mut next = Vec::with_capacity(s.len() + 1);
                        next.extend_from_slice(&s[..i]);
                        next.push(x.clone());
                        next.extend_from_slice(&s[i..]);
                        Some(Arc::new(next))
                    }
                }
            }
            F::Read => match result(op) {
                Some(Value::Nil) if self.nil_read == NilRead::Absent => s.is_empty().then(|| s.clone()),
                Some(Value::Nil) | None => Some(s.clone()),
                Some(out) => (normalise(out.as_seq()?) == **s).then(|| s.clone()),
            },
            _ => None,
        }
    }

    fn describe(&self, s: &Self::State) -> String {
        Value::Set((**s).clone()).to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        match op.f {
            F::Add => Ok(()),
            F::Read => match result(op) {
                Some(Value::Nil | Value::List(_) | Value::SharedList(_) | Value::Set(_)) | None => Ok(()),
                Some(v) => Err(bad_value(NAME, op, "a list or set of elements", v)),
            },
            _ => Err(unsupported(NAME, op, "add, read")),
        }
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        op.f == F::Read
    }

    fn heap_bytes(&self, s: &Self::State) -> usize {
        values_heap_bytes(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{list, ok};

    #[test]
    fn reads_compare_as_sets() {
        let m = Set { nil_read: NilRead::Unknown };
        let s = m.step(&m.init(), &ok("add", 2.into(), Value::Nil)).unwrap();
        let s = m.step(&s, &ok("add", 1.into(), Value::Nil)).unwrap();
        let s = m.step(&s, &ok("add", 2.into(), Value::Nil)).unwrap();
        assert_eq!(*s, vec![Value::Int(1), Value::Int(2)]);
        assert!(m.step(&s, &ok("read", Value::Nil, list(vec![2.into(), 1.into()]))).is_some());
        assert!(m.step(&s, &ok("read", Value::Nil, Value::set(vec![1.into(), 2.into()]))).is_some());
        assert!(m.step(&s, &ok("read", Value::Nil, list(vec![1.into()]))).is_none());
        assert!(m.validate(&ok("read", Value::Nil, 3.into())).is_err());
        assert_eq!(m.describe(&s), "#{1 2}");
    }
}
