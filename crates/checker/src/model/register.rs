//! A plain read/write register: `read`, `write v`. The state is the value
//! held, `nil` until first written.

use super::cas_register::{
    droppable_register_infos, required_register_infos, step_register, validate_register, value_heap_bytes,
};
use super::{Model, NilRead};
use crate::error::InputErrorKind;
use crate::history::{Op, F};
use crate::value::Value;

#[derive(Clone, Copy, Debug)]
pub struct Register {
    pub nil_read: NilRead,
}

impl Model for Register {
    type State = Value;

    fn name(&self) -> &'static str {
        "register"
    }

    fn init(&self) -> Value {
        Value::Nil
    }

    fn state_of(&self, v: &Value) -> Option<Value> {
        Some(v.clone())
    }

    fn step(&self, s: &Value, op: &Op) -> Option<Value> {
        step_register(self.nil_read, false, s, op)
    }

    fn describe(&self, s: &Value) -> String {
        s.to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        validate_register("register", false, op)
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        op.f == F::Read
    }

    fn droppable_infos(&self, ops: &[&Op]) -> Vec<bool> {
        droppable_register_infos(self.nil_read, ops)
    }

    fn required_infos(&self, ops: &[&Op]) -> Vec<Option<u64>> {
        required_register_infos(ops)
    }

    fn heap_bytes(&self, s: &Value) -> usize {
        value_heap_bytes(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{list, ok};

    #[test]
    fn no_cas() {
        let r = Register { nil_read: NilRead::Absent };
        let cas = ok("cas", list(vec![Value::Nil, 1.into()]), Value::Nil);
        assert!(r.step(&Value::Nil, &cas).is_none());
        assert!(matches!(r.validate(&cas), Err(InputErrorKind::UnsupportedOp { .. })));
        let s = r.step(&r.init(), &ok("write", 2.into(), 2.into())).unwrap();
        assert!(r.step(&s, &ok("read", Value::Nil, 2.into())).is_some());
        assert!(r.step(&s, &ok("read", Value::Nil, Value::Nil)).is_none());
    }
}
