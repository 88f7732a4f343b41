//! A counter: `incr n` (n defaults to 1 when nil) and `read`. Sums wrap on
//! i64 overflow rather than fail, so no history can make the model panic.

use super::{arg, bad_value, result, unsupported, Model, NilRead};
use crate::error::InputErrorKind;
use crate::history::{Op, F};
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{info, ok};

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
