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
    use crate::model::test_util::{at, info_at, last_cause, ok};
    use crate::value::Value;

    fn acq(call: u64, ret: u64) -> Op {
        at(ok("acquire", Value::Nil, Value::Nil), call, ret)
    }

    fn rel(call: u64, ret: u64) -> Op {
        at(ok("release", Value::Nil, Value::Nil), call, ret)
    }

    #[test]
    fn read_cause_of_a_double_acquire_or_release() {
        let m = Mutex;
        assert_eq!(last_cause(&m, &[acq(0, 1), acq(2, 3)]), Some(ReadCause::AlreadyHeld { acquire: Some(0) }));
        // The latest earlier acquire with no release able to fall between.
        let ops = [acq(0, 1), rel(2, 3), acq(4, 5), acq(6, 7)];
        assert_eq!(last_cause(&m, &ops), Some(ReadCause::AlreadyHeld { acquire: Some(2) }));
        // A release that may fall between (concurrent or info): nothing.
        assert_eq!(last_cause(&m, &[acq(0, 1), rel(2, 9), acq(4, 5)]), None);
        assert_eq!(last_cause(&m, &[acq(0, 1), info_at("release", Value::Nil, 0), acq(4, 5)]), None);
        assert_eq!(last_cause(&m, &[rel(0, 1)]), Some(ReadCause::AlreadyFree { release: None }));
        assert_eq!(
            last_cause(&m, &[acq(0, 1), rel(2, 3), rel(4, 5)]),
            Some(ReadCause::AlreadyFree { release: Some(1) })
        );
        assert_eq!(last_cause(&m, &[info_at("acquire", Value::Nil, 0), rel(4, 5)]), None);
        // Held from the start (--initial true).
        let refs = [&acq(0, 1)];
        assert_eq!(m.read_cause(&true, &refs, 0), Some(ReadCause::AlreadyHeld { acquire: None }));
        assert_eq!(m.read_cause(&false, &refs, 0), None);
    }

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
