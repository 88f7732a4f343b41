//! A FIFO queue: `enqueue v`, and `dequeue`, which returns the head, or `nil`
//! when the queue is empty.

use super::cas_register::values_heap_bytes;
use super::{arg, bad_value, result, unsupported, Model};
use crate::error::InputErrorKind;
use crate::history::{Op, F};
use crate::value::Value;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
pub struct Queue;

const NAME: &str = "queue";

impl Model for Queue {
    /// Elements, head first; shared so configurations clone cheaply.
    type State = Arc<Vec<Value>>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn init(&self) -> Self::State {
        Arc::new(Vec::new())
    }

    /// The queue's elements, head first.
    fn state_of(&self, v: &Value) -> Option<Self::State> {
        Some(Arc::new(v.as_list()?.to_vec()))
    }

    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State> {
        match op.f {
            F::Enqueue => {
                let mut next = Vec::with_capacity(s.len() + 1);
                next.extend_from_slice(s);
                next.push(arg(op).clone());
                Some(Arc::new(next))
            }
            F::Dequeue => {
                let popped = || Some(Arc::new(s[1..].to_vec()));
                match (result(op), s.first()) {
                    (Some(Value::Nil), None) | (None, None) => Some(s.clone()),
                    (Some(Value::Nil), Some(_)) => None,
                    (Some(out), Some(head)) => (out == head).then(popped).flatten(),
                    (Some(_), None) => None,
                    (None, Some(_)) => popped(),
                }
            }
            _ => None,
        }
    }

    fn describe(&self, s: &Self::State) -> String {
        Value::List((**s).clone()).to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        match op.f {
            F::Enqueue => match arg(op) {
                Value::Nil => Err(bad_value(NAME, op, "a non-nil element (nil means an empty dequeue)", &Value::Nil)),
                _ => Ok(()),
            },
            F::Dequeue => Ok(()),
            _ => Err(unsupported(NAME, op, "enqueue, dequeue")),
        }
    }

    fn heap_bytes(&self, s: &Self::State) -> usize {
        values_heap_bytes(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{info, ok};

    #[test]
    fn fifo() {
        let m = Queue;
        let s = m.step(&m.init(), &ok("enqueue", 1.into(), Value::Nil)).unwrap();
        let s = m.step(&s, &ok("enqueue", 2.into(), Value::Nil)).unwrap();
        assert!(m.step(&s, &ok("dequeue", Value::Nil, 2.into())).is_none());
        assert!(m.step(&s, &ok("dequeue", Value::Nil, Value::Nil)).is_none());
        let s = m.step(&s, &ok("dequeue", Value::Nil, 1.into())).unwrap();
        let s = m.step(&s, &info("dequeue", Value::Nil)).unwrap();
        assert!(s.is_empty());
        assert!(m.step(&s, &ok("dequeue", Value::Nil, Value::Nil)).is_some());
        assert!(m.step(&s, &ok("dequeue", Value::Nil, 1.into())).is_none());
        assert!(m.validate(&ok("enqueue", Value::Nil, Value::Nil)).is_err());
    }
}
