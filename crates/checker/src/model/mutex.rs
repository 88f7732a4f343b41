//! A lock: `acquire` when free, `release` when held. The state is whether it
//! is held.

use super::{unsupported, Model, ReadCause};
use crate::error::InputErrorKind;
use crate::history::{Op, Outcome, F};

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

    /// An ok acquire while the lock was held, or an ok release while it was
    /// free, shown by an earlier op of the same kind (or the start) with no
    /// op of the other kind able to fall between: see
    /// [`ReadCause::AlreadyHeld`] and [`ReadCause::AlreadyFree`].
    fn read_cause(&self, held: &bool, ops: &[&Op], read: usize) -> Option<ReadCause> {
        let op = ops.get(read)?;
        if op.outcome != Outcome::Ok {
            return None;
        }
        let (same, undo, bad_start) = match op.f {
            F::Acquire => (F::Acquire, F::Release, *held),
            F::Release => (F::Release, F::Acquire, !*held),
            _ => return None,
        };
        // Whether an op that undoes `same` can take effect after `since`
        // (an op's call; `None`: the start) and before `op`.
        let undone =
            |since: Option<u64>| ops.iter().any(|u| u.f == undo && u.call < op.ret && since.is_none_or(|t| u.ret > t));
        let earlier = ops
            .iter()
            .enumerate()
            .filter(|(i, o)| *i != read && o.f == same && o.outcome == Outcome::Ok && o.ret < op.call)
            .filter(|(_, o)| !undone(Some(o.call)))
            .max_by_key(|(_, o)| o.ret)
            .map(|(i, _)| i);
        let earlier = match earlier {
            Some(i) => Some(i),
            None if bad_start && !undone(None) => None,
            None => return None,
        };
        Some(match op.f {
            F::Acquire => ReadCause::AlreadyHeld { acquire: earlier },
            _ => ReadCause::AlreadyFree { release: earlier },
        })
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
