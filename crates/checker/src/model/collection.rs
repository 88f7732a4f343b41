//! The collections: a list per key (`append v`, `read` returns the whole
//! list in append order), a grow-only set (`add v`, `read` returns every
//! element as a list or set, in any order) and a FIFO queue (`enqueue v`,
//! `dequeue` returns the head, or `nil` when the queue is empty). One model,
//! since all three keep elements in a shared buffer and differ only in
//! where an element goes in and how a read compares.

use super::register::values_heap_bytes;
use super::{arg, bad_value, result, unsupported, Model, NilRead, ReadCause};
use crate::error::InputErrorKind;
use crate::history::{Op, Outcome, F};
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

    fn read_cause(&self, init: &Self::State, ops: &[&Op], read: usize) -> Option<ReadCause> {
        let r = ops.get(read)?;
        if r.outcome != Outcome::Ok {
            return None;
        }
        match self.kind {
            Kind::Set | Kind::ListAppend => self.grow_only_cause(init, ops, read),
            Kind::Queue => queue_cause(init, ops, read),
        }
    }
}

impl Collection {
    /// A set or list only grows, so a read must hold every element whose add
    /// (append) completed before it began ([`ReadCause::Missed`], the most
    /// recent such add named), and no element that the collection did not
    /// start with and no op invoked before it returned added
    /// ([`ReadCause::NeverAdded`]).
    fn grow_only_cause(&self, init: &[Value], ops: &[&Op], read: usize) -> Option<ReadCause> {
        let (add, read_f) = self.ops();
        let r = ops[read];
        if r.f != read_f {
            return None;
        }
        let items: &[Value] = match result(r)? {
            Value::Nil if self.nil_read == NilRead::Absent => &[],
            Value::Nil => return None,
            v => v.as_seq()?,
        };
        let adds = || ops.iter().enumerate().filter(|(_, o)| o.f == add);
        let missed = adds()
            .filter(|(_, o)| o.outcome == Outcome::Ok && o.ret < r.call && !items.contains(arg(o)))
            .max_by_key(|(_, o)| o.ret);
        if let Some((write, _)) = missed {
            return Some(ReadCause::Missed { write });
        }
        let element =
            items.iter().find(|x| !init.contains(x) && !adds().any(|(_, o)| arg(o) == *x && o.call < r.ret))?;
        let later = adds().filter(|(_, o)| arg(o) == element).min_by_key(|(_, o)| o.call).map(|(i, _)| i);
        Some(ReadCause::NeverAdded { element: element.clone(), later })
    }
}

/// [`Model::read_cause`] for queues: a dequeue `d` that no order explains.
/// Only an enqueue linearized before `d` can give it its element, so one
/// invoked before `d` returned; only a dequeue that returned an element, or
/// one whose result is unknown (info), can remove that element. From that:
/// an element nothing enqueued in time ([`ReadCause::NeverAdded`]), one
/// enqueued once and dequeued twice ([`ReadCause::DequeuedTwice`]), one
/// overtaken by an element enqueued earlier and still there
/// ([`ReadCause::OutOfOrder`]), or an empty result while an element
/// enqueued earlier is still there ([`ReadCause::FoundEmpty`]). Each assumes
/// the dequeued element is not in the initial queue.
fn queue_cause(init: &[Value], ops: &[&Op], read: usize) -> Option<ReadCause> {
    let d = ops[read];
    if d.f != F::Dequeue {
        return None;
    }
    let out = result(d)?;
    let enqueues = || ops.iter().enumerate().filter(|(_, o)| o.f == F::Enqueue);
    // Whether some dequeue other than `d` that may precede it could remove `x`.
    let removable = |x: &Value| {
        ops.iter().enumerate().any(|(i, o)| {
            i != read
                && o.f == F::Dequeue
                && o.call < d.ret
                && match o.outcome {
                    Outcome::Ok => result(o) == Some(x),
                    _ => true,
                }
        })
    };
    if out.is_nil() {
        let (enqueue, _) = enqueues()
            .filter(|(_, o)| o.outcome == Outcome::Ok && o.ret < d.call && !removable(arg(o)))
            .min_by_key(|(_, o)| o.ret)?;
        return Some(ReadCause::FoundEmpty { enqueue });
    }
    if init.contains(out) {
        return None;
    }
    let of_out: Vec<usize> = enqueues().filter(|(_, o)| arg(o) == out).map(|(i, _)| i).collect();
    let in_time: Vec<usize> = of_out.iter().copied().filter(|&i| ops[i].call < d.ret).collect();
    if in_time.is_empty() {
        let later = of_out.iter().copied().min_by_key(|&i| ops[i].call);
        return Some(ReadCause::NeverAdded { element: out.clone(), later });
    }
    if let [enqueue] = of_out[..] {
        let other = ops
            .iter()
            .enumerate()
            .find(|(i, o)| *i != read && o.f == F::Dequeue && result(o) == Some(out))
            .map(|(i, _)| i);
        if let Some(other) = other {
            return Some(ReadCause::DequeuedTwice { enqueue, other });
        }
    }
    let first_call = in_time.iter().map(|&i| ops[i].call).min()?;
    let later = in_time.iter().copied().min_by_key(|&i| ops[i].call)?;
    let (earlier, _) = enqueues()
        .filter(|(_, o)| o.outcome == Outcome::Ok && o.ret < first_call && arg(o) != out && !removable(arg(o)))
        .min_by_key(|(_, o)| o.ret)?;
    Some(ReadCause::OutOfOrder { earlier, later })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{at, info, info_at, last_cause, list, ok};

    const SET: Collection = Collection { kind: Kind::Set, nil_read: NilRead::Unknown };
    const QUEUE: Collection = Collection { kind: Kind::Queue, nil_read: NilRead::Unknown };

    fn add(x: i64, call: u64, ret: u64) -> Op {
        at(ok("add", x.into(), Value::Nil), call, ret)
    }

    fn read(xs: &[i64], call: u64, ret: u64) -> Op {
        at(ok("read", Value::Nil, list(xs.iter().map(|&x| x.into()).collect())), call, ret)
    }

    fn enq(x: i64, call: u64, ret: u64) -> Op {
        at(ok("enqueue", x.into(), Value::Nil), call, ret)
    }

    fn deq(x: Option<i64>, call: u64, ret: u64) -> Op {
        at(ok("dequeue", Value::Nil, x.map_or(Value::Nil, Value::Int)), call, ret)
    }

    #[test]
    fn read_cause_names_the_add_a_set_read_missed() {
        // The most recent completed add the read lacks.
        let ops = [add(1, 0, 1), add(2, 2, 3), read(&[], 4, 5)];
        assert_eq!(last_cause(&SET, &ops), Some(ReadCause::Missed { write: 1 }));
        assert_eq!(
            last_cause(&SET, &[add(1, 0, 1), add(2, 2, 3), read(&[2], 4, 5)]),
            Some(ReadCause::Missed { write: 0 })
        );
        // Concurrent with the read, or shown by it: nothing.
        assert_eq!(last_cause(&SET, &[add(1, 0, 5), read(&[], 4, 6)]), None);
        assert_eq!(last_cause(&SET, &[add(1, 0, 1), read(&[1], 4, 6)]), None);
        // Under NilRead::Absent a nil read is the empty set.
        let nil = at(ok("read", Value::Nil, Value::Nil), 2, 3);
        assert_eq!(last_cause(&SET, &[add(1, 0, 1), nil.clone()]), None);
        let absent = Collection { kind: Kind::Set, nil_read: NilRead::Absent };
        assert_eq!(last_cause(&absent, &[add(1, 0, 1), nil]), Some(ReadCause::Missed { write: 0 }));
        // The same holds for a list.
        let lists = Collection { kind: Kind::ListAppend, nil_read: NilRead::Unknown };
        let app = at(ok("append", 1.into(), Value::Nil), 0, 1);
        assert_eq!(last_cause(&lists, &[app, read(&[], 2, 3)]), Some(ReadCause::Missed { write: 0 }));
    }

    #[test]
    fn read_cause_of_an_element_never_added_in_time() {
        let ops = [add(1, 0, 1), add(2, 6, 7), read(&[1, 2], 2, 3)];
        assert_eq!(last_cause(&SET, &ops), Some(ReadCause::NeverAdded { element: 2.into(), later: Some(1) }));
        assert_eq!(
            last_cause(&SET, &[read(&[3], 2, 3)]),
            Some(ReadCause::NeverAdded { element: 3.into(), later: None })
        );
        // An info add invoked before the read returned may be what it saw.
        assert_eq!(last_cause(&SET, &[info_at("add", 3.into(), 2), read(&[3], 2, 3)]), None);
        // The initial set (--initial) holds it.
        let refs = [&read(&[3], 2, 3)];
        assert_eq!(SET.read_cause(&Arc::new(vec![Value::Int(3)]), &refs, 0), None);
    }

    #[test]
    fn read_cause_of_a_dequeue() {
        // Never enqueued in time.
        let ops = [enq(1, 0, 1), enq(2, 6, 7), deq(Some(2), 2, 3)];
        assert_eq!(last_cause(&QUEUE, &ops), Some(ReadCause::NeverAdded { element: 2.into(), later: Some(1) }));
        // Enqueued once, dequeued twice.
        let ops = [enq(1, 0, 1), deq(Some(1), 2, 3), deq(Some(1), 4, 5)];
        assert_eq!(last_cause(&QUEUE, &ops), Some(ReadCause::DequeuedTwice { enqueue: 0, other: 1 }));
        // Out of order: 1 was enqueued before 2 and nothing could remove it.
        let ops = [enq(1, 0, 1), enq(2, 2, 3), deq(Some(2), 4, 5)];
        assert_eq!(last_cause(&QUEUE, &ops), Some(ReadCause::OutOfOrder { earlier: 0, later: 1 }));
        // ... unless a dequeue of 1 or one with an unknown result may precede it.
        let ops = [enq(1, 0, 1), enq(2, 2, 3), deq(Some(1), 3, 9), deq(Some(2), 4, 5)];
        assert_eq!(last_cause(&QUEUE, &ops), None);
        let ops = [enq(1, 0, 1), enq(2, 2, 3), info_at("dequeue", Value::Nil, 4), deq(Some(2), 4, 5)];
        assert_eq!(last_cause(&QUEUE, &ops), None);
        // Concurrent enqueues may go either way.
        assert_eq!(last_cause(&QUEUE, &[enq(1, 0, 3), enq(2, 2, 4), deq(Some(2), 5, 6)]), None);
        // Found empty though 1 was there.
        let ops = [enq(1, 0, 1), deq(None, 2, 3)];
        assert_eq!(last_cause(&QUEUE, &ops), Some(ReadCause::FoundEmpty { enqueue: 0 }));
        assert_eq!(last_cause(&QUEUE, &[enq(1, 0, 1), deq(Some(1), 1, 4), deq(None, 2, 3)]), None);
        // A dequeue of an element the queue started with says nothing.
        let refs = [&enq(1, 0, 1), &deq(Some(2), 2, 3)];
        assert_eq!(QUEUE.read_cause(&Arc::new(vec![Value::Int(2)]), &refs, 1), None);
        // Only dequeues have a cause.
        assert_eq!(last_cause(&QUEUE, &[enq(1, 0, 1)]), None);
    }

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
