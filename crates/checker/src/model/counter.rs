//! A counter: `incr n` (n defaults to 1 when nil) and `read`. Sums wrap on
//! i64 overflow rather than fail, so no history can make the model panic.

use super::{arg, bad_value, result, unsupported, Model, NilRead, ReadCause};
use crate::error::InputErrorKind;
use crate::history::{Op, Outcome, F};
use crate::value::Value;

#[derive(Clone, Copy, Debug)]
pub struct Counter {
    /// A read of `nil`: unknown, or never incremented (0).
    pub nil_read: NilRead,
}

const NAME: &str = "counter";

fn amount(op: &Op) -> Option<i64> {
    match arg(op) {
        Value::Nil => Some(1),
        v => v.as_int(),
    }
}

impl Model for Counter {
    type State = i64;

    fn name(&self) -> &'static str {
        NAME
    }

    fn init(&self) -> i64 {
        0
    }

    fn state_of(&self, v: &Value) -> Option<i64> {
        v.as_int()
    }

    fn step(&self, s: &i64, op: &Op) -> Option<i64> {
        match op.f {
            F::Incr => Some(s.wrapping_add(amount(op)?)),
            F::Read => match result(op) {
                Some(Value::Int(v)) => (v == s).then_some(*s),
                Some(Value::Nil) if self.nil_read == NilRead::Absent => (*s == 0).then_some(0),
                Some(Value::Nil) | None => Some(*s),
                Some(_) => None,
            },
            _ => None,
        }
    }

    fn describe(&self, s: &i64) -> String {
        s.to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        match op.f {
            F::Incr => amount(op).map(|_| ()).ok_or_else(|| bad_value(NAME, op, "an integer or nil", arg(op))),
            F::Read => match result(op) {
                Some(Value::Int(_) | Value::Nil) | None => Ok(()),
                Some(v) => Err(bad_value(NAME, op, "an integer", v)),
            },
            _ => Err(unsupported(NAME, op, "incr, read")),
        }
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        op.f == F::Read
    }

    fn read_cause(&self, init: &i64, ops: &[&Op], read: usize) -> Option<ReadCause> {
        counter_read_cause(self.nil_read, *init, ops, read)
    }
}

/// [`Model::read_cause`] for counters, from real-time order alone. Ok
/// increments that completed before the read began are in every order
/// before it; increments invoked after it completed are after it; the rest
/// (concurrent, or info) may or may not count. So the read lies between the
/// start plus the completed increments plus every negative maybe, and the
/// start plus the completed ones plus every positive maybe. Below: the
/// fewest completed positive increments (largest first) that, with every
/// negative one that may precede the read, already exceed it are named
/// ([`ReadCause::BelowCompleted`]). Above: every positive increment that may
/// precede it is named ([`ReadCause::AboveInvoked`]), since together they
/// still fall short. Sums saturate, so no history can overflow them.
fn counter_read_cause(nil_read: NilRead, init: i64, ops: &[&Op], read: usize) -> Option<ReadCause> {
    let r = ops.get(read)?;
    if r.f != F::Read {
        return None;
    }
    let x = match result(r)? {
        Value::Int(x) => *x,
        Value::Nil if nil_read == NilRead::Absent => 0,
        _ => return None,
    };
    // Increments that may precede the read (invoked before it returned),
    // with whether they surely do (ok, completed before it began).
    let incrs: Vec<(usize, i64, bool)> = ops
        .iter()
        .enumerate()
        .filter(|(i, o)| *i != read && o.f == F::Incr && o.call < r.ret)
        .filter_map(|(i, o)| Some((i, amount(o)?, o.outcome == Outcome::Ok && o.ret < r.call)))
        .collect();
    let negatives: Vec<usize> = incrs.iter().filter(|(_, n, _)| *n < 0).map(|(i, _, _)| *i).collect();
    let neg_sum = incrs.iter().filter(|(_, n, _)| *n < 0).fold(0i64, |a, (_, n, _)| a.saturating_add(*n));
    let high = incrs.iter().filter(|(_, n, _)| *n > 0).fold(init, |a, (_, n, _)| a.saturating_add(*n));
    if x > high {
        let named = incrs.iter().filter(|(_, n, _)| *n > 0).map(|(i, _, _)| *i).collect();
        return Some(ReadCause::AboveInvoked { incrs: named, most: high });
    }
    let mut must: Vec<(usize, i64)> = incrs.iter().filter(|(_, n, m)| *n > 0 && *m).map(|(i, n, _)| (*i, *n)).collect();
    must.sort_by_key(|&(i, n)| (std::cmp::Reverse(n), ops[i].ret));
    let mut low = init.saturating_add(neg_sum);
    let mut named = Vec::new();
    for (i, n) in must {
        if low > x {
            break;
        }
        low = low.saturating_add(n);
        named.push(i);
    }
    if low <= x {
        return None;
    }
    named.extend(negatives);
    named.sort_by_key(|&i| ops[i].call);
    Some(ReadCause::BelowCompleted { incrs: named, least: low })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{at, info, info_at, last_cause, ok};

    fn incr(n: i64, call: u64, ret: u64) -> Op {
        at(ok("incr", n.into(), Value::Nil), call, ret)
    }

    fn read(x: i64, call: u64, ret: u64) -> Op {
        at(ok("read", Value::Nil, x.into()), call, ret)
    }

    #[test]
    fn read_cause_names_the_increments_a_low_read_missed() {
        let m = Counter { nil_read: NilRead::Unknown };
        // 1 + 2 completed before the read of 1: the 2 alone proves it.
        let ops = [incr(1, 0, 1), incr(2, 2, 3), read(1, 4, 5)];
        assert_eq!(last_cause(&m, &ops), Some(ReadCause::BelowCompleted { incrs: vec![1], least: 2 }));
        // Both are needed against a read of 2.
        let ops = [incr(1, 0, 1), incr(2, 2, 3), read(2, 4, 5)];
        assert_eq!(last_cause(&m, &ops), Some(ReadCause::BelowCompleted { incrs: vec![0, 1], least: 3 }));
        // A concurrent or info increment may or may not count: no cause.
        assert_eq!(last_cause(&m, &[incr(1, 0, 6), read(0, 4, 5)]), None);
        assert_eq!(last_cause(&m, &[at(info("incr", 1.into()), 0, u64::MAX), read(0, 4, 5)]), None);
        // A decrement that may precede the read is counted against the bound.
        let ops = [incr(2, 0, 1), incr(-1, 2, 9), read(1, 4, 5)];
        assert_eq!(last_cause(&m, &ops), None);
        let ops = [incr(2, 0, 1), incr(-1, 2, 9), read(0, 4, 5)];
        assert_eq!(last_cause(&m, &ops), Some(ReadCause::BelowCompleted { incrs: vec![0, 1], least: 1 }));
    }

    #[test]
    fn read_cause_of_a_read_above_what_could_be_added() {
        let m = Counter { nil_read: NilRead::Unknown };
        // Only the 1 (concurrent) and the info 2 may precede the read of 4.
        let ops = [incr(1, 0, 6), info_at("incr", 2.into(), 1), incr(5, 7, 8), read(4, 4, 5)];
        assert_eq!(last_cause(&m, &ops), Some(ReadCause::AboveInvoked { incrs: vec![0, 1], most: 3 }));
        let ops = [incr(1, 0, 6), info_at("incr", 2.into(), 1), read(3, 4, 5)];
        assert_eq!(last_cause(&m, &ops), None);
        assert_eq!(last_cause(&m, &[read(1, 0, 1)]), Some(ReadCause::AboveInvoked { incrs: vec![], most: 0 }));
        // A nil read: unknown, or 0 under NilRead::Absent.
        let nil = at(ok("read", Value::Nil, Value::Nil), 2, 3);
        assert_eq!(last_cause(&m, &[incr(1, 0, 1), nil.clone()]), None);
        let absent = Counter { nil_read: NilRead::Absent };
        assert_eq!(
            last_cause(&absent, &[incr(1, 0, 1), nil]),
            Some(ReadCause::BelowCompleted { incrs: vec![0], least: 1 })
        );
        // From another start (--initial).
        let refs = [&read(1, 0, 1)];
        assert_eq!(m.read_cause(&5, &refs, 0), Some(ReadCause::BelowCompleted { incrs: vec![], least: 5 }));
        // Only reads have a cause.
        assert_eq!(last_cause(&m, &[incr(1, 0, 1)]), None);
    }

    #[test]
    fn increments() {
        let m = Counter { nil_read: NilRead::Unknown };
        assert_eq!(m.step(&0, &ok("incr", Value::Nil, Value::Nil)), Some(1));
        assert_eq!(m.step(&1, &info("incr", 5.into())), Some(6));
        assert_eq!(m.step(&6, &ok("read", Value::Nil, 6.into())), Some(6));
        assert_eq!(m.step(&6, &ok("read", Value::Nil, 5.into())), None);
        assert_eq!(m.step(&i64::MAX, &ok("incr", 1.into(), Value::Nil)), Some(i64::MIN));
        assert!(m.validate(&ok("incr", "x".into(), Value::Nil)).is_err());
        let absent = Counter { nil_read: NilRead::Absent };
        assert_eq!(absent.step(&2, &ok("read", Value::Nil, Value::Nil)), None);
        assert_eq!(absent.step(&0, &ok("read", Value::Nil, Value::Nil)), Some(0));
    }
}
