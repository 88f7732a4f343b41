//! The collections: a list per key (`append v`, `read` returns the whole
//! list in append order), a grow-only set (`add v`, `read` returns every
//! element as a list or set, in any order) and a FIFO queue (`enqueue v`,
//! `dequeue` returns the head, or `nil` when the queue is empty). One model,
//! since all three keep elements in a shared buffer and differ only in
//! where an element goes in and how a read compares.

use super::register::values_heap_bytes;
use super::{arg, bad_value, result, unsupported, Model, NilRead};
use crate::error::InputErrorKind;
use crate::history::{Op, F};
use crate::value::Value;
use std::sync::Arc;

/// Which collection: where `append`/`add`/`enqueue` put an element, and
/// what a read or dequeue must return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Elements in append order; a read returns them in that order.
    ListAppend,
    /// Elements sorted and deduplicated; a read returns them in any order.
    Set,
    /// Elements head first; a dequeue returns and removes the head.
    Queue,
}

#[derive(Clone, Copy, Debug)]
pub struct Collection {
    pub kind: Kind,
    /// A read of `nil`: unknown, or the empty collection (not used by the
    /// queue, whose `nil` dequeue always means empty).
    pub nil_read: NilRead,
}

/// Elements sorted and deduplicated.
fn normalise(items: &[Value]) -> Vec<Value> {
    let mut v = items.to_vec();
    v.sort();
    v.dedup();
    v
}

/// `s` with `x` inserted at `at`, in a new buffer (states are shared).
fn inserted(s: &[Value], at: usize, x: &Value) -> Arc<Vec<Value>> {
    let mut next = Vec::with_capacity(s.len() + 1);
    next.extend_from_slice(&s[..at]);
    next.push(x.clone());
    next.extend_from_slice(&s[at..]);
    Arc::new(next)
}

impl Collection {
    /// The one function that adds an element, and the one that reads.
    fn ops(&self) -> (F, F) {
        match self.kind {
            Kind::ListAppend => (F::Append, F::Read),
            Kind::Set => (F::Add, F::Read),
            Kind::Queue => (F::Enqueue, F::Dequeue),
        }
    }

    fn dequeue(s: &Arc<Vec<Value>>, op: &Op) -> Option<Arc<Vec<Value>>> {
        let popped = || Some(Arc::new(s[1..].to_vec()));
        match (result(op), s.first()) {
            (Some(Value::Nil), None) | (None, None) => Some(s.clone()),
            (Some(Value::Nil), Some(_)) => None,
            (Some(out), Some(head)) => (out == head).then(popped).flatten(),
            (Some(_), None) => None,
            (None, Some(_)) => popped(),
        }
    }

    /// A read of the whole list or set.
    fn read(&self, s: &Arc<Vec<Value>>, op: &Op) -> Option<Arc<Vec<Value>>> {
        match result(op) {
            Some(Value::Nil) if self.nil_read == NilRead::Absent => s.is_empty().then(|| s.clone()),
            Some(Value::Nil) | None => Some(s.clone()),
            Some(out) if self.kind == Kind::Set => (normalise(out.as_seq()?) == **s).then(|| s.clone()),
            Some(out) => (out.as_seq()? == s.as_slice()).then(|| s.clone()),
        }
    }
}

impl Model for Collection {
    /// The elements (see [`Kind`] for their order); shared so
    /// configurations clone cheaply.
    type State = Arc<Vec<Value>>;

    fn name(&self) -> &'static str {
        match self.kind {
            Kind::ListAppend => "list-append",
            Kind::Set => "set",
            Kind::Queue => "queue",
        }
    }

    fn init(&self) -> Self::State {
        Arc::new(Vec::new())
    }

    /// A list of elements (head first for a queue); a list or set for a set.
    fn state_of(&self, v: &Value) -> Option<Self::State> {
        match self.kind {
            Kind::Set => Some(Arc::new(normalise(v.as_seq()?))),
            Kind::ListAppend | Kind::Queue => Some(Arc::new(v.as_list()?.to_vec())),
        }
    }

    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State> {
        let (add, read) = self.ops();
        if op.f == add {
            let x = arg(op);
            return match self.kind {
                Kind::Set => match s.binary_search(x) {
                    Ok(_) => Some(s.clone()),
                    Err(i) => Some(inserted(s, i, x)),
                },
                Kind::ListAppend | Kind::Queue => Some(inserted(s, s.len(), x)),
            };
        }
        match self.kind {
            _ if op.f != read => None,
            Kind::Queue => Self::dequeue(s, op),
            Kind::ListAppend | Kind::Set => self.read(s, op),
        }
    }

    fn describe(&self, s: &Self::State) -> String {
        match self.kind {
            Kind::Set => Value::Set((**s).clone()).to_string(),
            Kind::ListAppend | Kind::Queue => Value::List((**s).clone()).to_string(),
        }
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        let name = self.name();
        match (self.kind, &op.f) {
            (Kind::Queue, F::Enqueue) if arg(op).is_nil() => {
                Err(bad_value(name, op, "a non-nil element (nil means an empty dequeue)", &Value::Nil))
            }
            (Kind::Queue, F::Enqueue | F::Dequeue) | (Kind::ListAppend, F::Append) | (Kind::Set, F::Add) => Ok(()),
            (Kind::ListAppend, F::Read) => match result(op) {
                Some(Value::Nil | Value::List(_) | Value::SharedList(_)) | None => Ok(()),
                Some(v) => Err(bad_value(name, op, "a list of elements", v)),
            },
            (Kind::Set, F::Read) => match result(op) {
                Some(Value::Nil | Value::List(_) | Value::SharedList(_) | Value::Set(_)) | None => Ok(()),
                Some(v) => Err(bad_value(name, op, "a list or set of elements", v)),
            },
            (Kind::ListAppend, _) => Err(unsupported(name, op, "append, read")),
            (Kind::Set, _) => Err(unsupported(name, op, "add, read")),
            (Kind::Queue, _) => Err(unsupported(name, op, "enqueue, dequeue")),
        }
    }

    /// A read with an unknown result changes nothing; a dequeue does.
    fn info_is_noop(&self, op: &Op) -> bool {
        op.f == F::Read && self.kind != Kind::Queue
    }

    fn heap_bytes(&self, s: &Self::State) -> usize {
        values_heap_bytes(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{info, list, ok};

    #[test]
    fn list_order_matters() {
        let m = Collection { kind: Kind::ListAppend, nil_read: NilRead::Absent };
        assert!(m.step(&m.init(), &ok("read", Value::Nil, Value::Nil)).is_some());
        let s = m.step(&m.init(), &ok("append", 1.into(), Value::Nil)).unwrap();
        let s = m.step(&s, &ok("append", 2.into(), Value::Nil)).unwrap();
        assert!(m.step(&s, &ok("read", Value::Nil, list(vec![1.into(), 2.into()]))).is_some());
        assert!(m.step(&s, &ok("read", Value::Nil, list(vec![2.into(), 1.into()]))).is_none());
        assert!(m.step(&s, &ok("read", Value::Nil, Value::Nil)).is_none());
        assert!(m.validate(&ok("read", Value::Nil, 1.into())).is_err());
        assert!(m.validate(&ok("add", 1.into(), Value::Nil)).is_err());
    }

    #[test]
    fn queue_is_fifo() {
        let m = Collection { kind: Kind::Queue, nil_read: NilRead::Unknown };
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
        assert!(!m.info_is_noop(&info("dequeue", Value::Nil)));
        assert!(m.step(&s, &ok("read", Value::Nil, Value::Nil)).is_none());
    }

    #[test]
    fn set_reads_compare_as_sets() {
        let m = Collection { kind: Kind::Set, nil_read: NilRead::Unknown };
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
