//! A `txn` event's micro-ops as the JSON Lines scanner found them, before
//! interning: `[["append", 5, 1], ["r", 6, [1, 2]]]` as a flat list of
//! micro-ops with integer or string keys and values, in two allocations
//! instead of a [`Value`] tree of a dozen. Only that usual shape is scanned
//! so; anything else (floats, big integers, escaped strings, other
//! functions) stays a [`Value`], and a raw one converts back to exactly the
//! value the general parser gives ([`RawTxn::to_value`]), so every reader
//! and every error sees the same history.

use crate::value::Value;

/// A key or value: an integer that fits `i64`, or a string without escapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scalar {
    Int(i64),
    Str(Box<str>),
}

impl Scalar {
    pub fn to_value(&self) -> Value {
        match self {
            Scalar::Int(i) => Value::Int(*i),
            Scalar::Str(s) => Value::Str(s.clone()),
        }
    }
}

/// A micro-op's function, by the name the history spelled it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawF {
    R,
    Read,
    Append,
    W,
    Write,
}

impl RawF {
    /// The names the transactional reader accepts, exactly.
    pub fn parse(name: &[u8]) -> Option<RawF> {
        Some(match name {
            b"r" => RawF::R,
            b"read" => RawF::Read,
            b"append" => RawF::Append,
            b"w" => RawF::W,
            b"write" => RawF::Write,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            RawF::R => "r",
            RawF::Read => "read",
            RawF::Append => "append",
            RawF::W => "w",
            RawF::Write => "write",
        }
    }
}

/// A micro-op's third element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawVal {
    Nil,
    One(Scalar),
    /// `items[start..start + len]` of its [`RawTxn`].
    List {
        start: u32,
        len: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMop {
    pub f: RawF,
    pub key: Scalar,
    pub v: RawVal,
}

/// A transaction's micro-ops, scanned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawTxn {
    pub mops: Vec<RawMop>,
    /// The elements of every list in `mops`, one after another.
    pub items: Vec<Scalar>,
}

impl RawTxn {
    /// The elements of a list value.
    pub fn list(&self, start: u32, len: u32) -> &[Scalar] {
        &self.items[start as usize..(start + len) as usize]
    }

    pub fn mop_value(&self, m: &RawMop) -> Value {
        let v = match &m.v {
            RawVal::Nil => Value::Nil,
            RawVal::One(s) => s.to_value(),
            RawVal::List { start, len } => Value::List(self.list(*start, *len).iter().map(Scalar::to_value).collect()),
        };
        Value::List(vec![Value::Str(m.f.name().into()), m.key.to_value(), v])
    }

    /// The value the general parser gives for the same text.
    pub fn to_value(&self) -> Value {
        Value::List(self.mops.iter().map(|m| self.mop_value(m)).collect())
    }
}
