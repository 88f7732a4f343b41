//! A lock: `acquire` when free, `release` when held. The state is whether it
//! is held.

use super::{unsupported, Model};
use crate::error::InputErrorKind;
use crate::history::{Op, F};

#[derive(Clone, Copy, Debug)]
pub struct Mutex;

impl Model for Mutex {
    type State = bool;

    fn name(&self) -> &'static str {
        "mutex"
    }

    fn init(&self) -> bool {
        false
    }

    /// `true`: the lock is held at the start.
    fn state_of(&self, v: &crate::value::Value) -> Option<bool> {
        match v {
            crate::value::Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn step(&self, held: &bool, op: &Op) -> Option<bool> {
        match op.f {
            F::Acquire => (!held).then_some(true),
            F::Release => held.then_some(false),
            _ => None,
        }
    }

    fn describe(&self, held: &bool) -> String {
        if *held { "held" } else { "free" }.to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        match op.f {
            F::Acquire | F::Release => Ok(()),
            _ => Err(unsupported("mutex", op, "acquire, release")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::ok;
    use crate::value::Value;

    #[test]
    fn lock_discipline() {
        let m = Mutex;
        let acq = ok("acquire", Value::Nil, Value::Nil);
        let rel = ok("release", Value::Nil, Value::Nil);
        assert_eq!(m.step(&false, &acq), Some(true));
        assert_eq!(m.step(&true, &acq), None);
        assert_eq!(m.step(&true, &rel), Some(false));
        assert_eq!(m.step(&false, &rel), None);
        assert!(m.validate(&ok("read", Value::Nil, Value::Nil)).is_err());
    }
}
