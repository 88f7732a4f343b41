//! A list per key: `append v` adds one element at the end; `read` returns the
//! whole list.

use super::cas_register::values_heap_bytes;
use super::{arg, bad_value, result, unsupported, Model, NilRead};
use crate::error::InputErrorKind;
use crate::history::{Op, F};
use crate::value::Value;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
pub struct ListAppend {
    /// A read of `nil`: unknown, or the empty list.
    pub nil_read: NilRead,
}

const NAME: &str = "list-append";

impl Model for ListAppend {
    /// Elements in append order; shared so configurations clone cheaply.
    type State = Arc<Vec<Value>>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn init(&self) -> Self::State {
        Arc::new(Vec::new())
    }

    /// The list's elements, first appended first.
    fn state_of(&self, v: &Value) -> Option<Self::State> {
        Some(Arc::new(v.as_list()?.to_vec()))
    }

    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State> {
        match op.f {
            F::Append => {
                let mut next = Vec::with_capacity(s.len() + 1);
                next.extend_from_slice(s);
                next.push(arg(op).clone());
                Some(Arc::new(next))
            }
            F::Read => match result(op) {
                Some(Value::Nil) if self.nil_read == NilRead::Absent => s.is_empty().then(|| s.clone()),
                Some(Value::Nil) | None => Some(s.clone()),
                Some(out) => (out.as_seq()? == s.as_slice()).then(|| s.clone()),
            },
            _ => None,
        }
    }

    fn describe(&self, s: &Self::State) -> String {
        Value::List((**s).clone()).to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        match op.f {
            F::Append => Ok(()),
            F::Read => match result(op) {
                Some(Value::Nil | Value::List(_) | Value::SharedList(_)) | None => Ok(()),
                Some(v) => Err(bad_value(NAME, op, "a list of elements", v)),
            },
            _ => Err(unsupported(NAME, op, "append, read")),
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
    fn order_matters() {
        let m = ListAppend { nil_read: NilRead::Absent };
        assert!(m.step(&m.init(), &ok("read", Value::Nil, Value::Nil)).is_some());
        let s = m.step(&m.init(), &ok("append", 1.into(), Value::Nil)).unwrap();
        let s = m.step(&s, &ok("append", 2.into(), Value::Nil)).unwrap();
        assert!(m.step(&s, &ok("read", Value::Nil, list(vec![1.into(), 2.into()]))).is_some());
        assert!(m.step(&s, &ok("read", Value::Nil, list(vec![2.into(), 1.into()]))).is_none());
        assert!(m.step(&s, &ok("read", Value::Nil, Value::Nil)).is_none());
        assert!(m.validate(&ok("read", Value::Nil, 1.into())).is_err());
    }
}
