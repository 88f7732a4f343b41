//! The value carried by an operation: a small JSON/EDN-like tree.
//!
//! Readers of every format produce this one type, so checkers never see the
//! source format. EDN keywords become strings without the colon; EDN sets become
//! `Set` (sorted, deduplicated).

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A value in a history: an op's argument or result, or a key.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// JSON `null`, EDN `nil`: absent or unknown.
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    /// Floats compare by bit pattern so that `Value` can be `Eq + Hash + Ord`.
    Float(f64),
    Str(Box<str>),
    List(Vec<Value>),
    /// Sorted and deduplicated.
    Set(Vec<Value>),
    /// Entries in source order; keys may be any value (EDN allows it).
    Map(Vec<(Value, Value)>),
    /// A list stored as a prefix of a buffer shared with other values: how a
    /// history keeps list-append reads (each a prefix of the next) in memory
    /// once instead of once per read. Architecture invariant: it compares,
    /// hashes, prints and serializes exactly like the `List` of its elements;
    /// only memory use tells them apart.
    SharedList(SharedList),
}

/// The first `len` elements of a shared, immutable buffer.
#[derive(Clone)]
pub struct SharedList {
    buf: Arc<[Value]>,
    len: usize,
}

impl SharedList {
    /// `len` is clamped to the buffer's length.
    pub fn new(buf: Arc<[Value]>, len: usize) -> SharedList {
        let len = len.min(buf.len());
        SharedList { buf, len }
    }

    pub fn as_slice(&self) -> &[Value] {
        &self.buf[..self.len]
    }
}

impl fmt::Debug for SharedList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(s.into())
    }

    /// Builds a set value: sorts and deduplicates.
    pub fn set(mut items: Vec<Value>) -> Value {
        items.sort();
        items.dedup();
        Value::Set(items)
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Elements of a list or set.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) => Some(v),
            Value::SharedList(l) => Some(l.as_slice()),
            _ => None,
        }
    }

    /// Elements of a list (owned or shared), not of a set.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) => Some(v),
            Value::SharedList(l) => Some(l.as_slice()),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Nil => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::Str(_) => 4,
            Value::List(_) | Value::SharedList(_) => 5,
            Value::Set(_) => 6,
            Value::Map(_) => 7,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // The common case (list elements, register values), without the
            // general comparison's ranks and branches.
            (Value::Int(a), Value::Int(b)) => a == b,
            _ => self.cmp(other) == Ordering::Equal,
        }
    }
}
impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        use Value::*;
        match (self, other) {
            (Nil, Nil) => Ordering::Equal,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Str(a), Str(b)) => a.cmp(b),
            (Set(a), Set(b)) => a.cmp(b),
            (Map(a), Map(b)) => a.cmp(b),
            (List(_) | SharedList(_), List(_) | SharedList(_)) => {
                let (Some(a), Some(b)) = (self.as_list(), other.as_list()) else { unreachable!("both are lists") };
                a.cmp(b)
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Value::Nil => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Str(s) => s.hash(state),
            Value::List(v) | Value::Set(v) => v.hash(state),
            Value::SharedList(l) => l.as_slice().hash(state),
            Value::Map(m) => m.hash(state),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}

impl From<&serde_json::Value> for Value {
    /// Converts JSON. Integers that fit `i64` stay integers; other numbers
    /// become floats.
    fn from(j: &serde_json::Value) -> Self {
        match j {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.as_str().into()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (Value::Str(k.as_str().into()), Value::from(v))).collect())
            }
        }
    }
}

impl Serialize for Value {
    /// JSON shape: sets serialize as arrays; maps with non-string keys
    /// serialize as arrays of `[key, value]` pairs.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(x) => s.serialize_str(x),
            Value::List(_) | Value::Set(_) | Value::SharedList(_) => {
                let v = self.as_seq().unwrap_or_default();
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                if m.iter().all(|(k, _)| matches!(k, Value::Str(_))) {
                    let mut map = s.serialize_map(Some(m.len()))?;
                    for (k, v) in m {
                        map.serialize_entry(k, v)?;
                    }
                    map.end()
                } else {
                    let mut seq = s.serialize_seq(Some(m.len()))?;
                    for (k, v) in m {
                        seq.serialize_element(&(k, v))?;
                    }
                    seq.end()
                }
            }
        }
    }
}

impl fmt::Display for Value {
    /// Compact, EDN-flavoured rendering for reports: `nil`, `3`, `"x"`, `[1 2]`,
    /// `#{1 2}`, `{"a" 1}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, open: &str, v: &[Value], close: &str) -> fmt::Result {
            f.write_str(open)?;
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{x}")?;
            }
            f.write_str(close)
        }
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(v) => seq(f, "[", v, "]"),
            Value::SharedList(l) => seq(f, "[", l.as_slice(), "]"),
            Value::Set(v) => seq(f, "#{", v, "}"),
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_shapes() {
        let j: serde_json::Value = serde_json::from_str(r#"[1, "a", null, {"k": [true]}]"#).unwrap();
        let v = Value::from(&j);
        assert_eq!(serde_json::to_value(&v).unwrap(), j);
        assert_eq!(v.to_string(), r#"[1 "a" nil {"k" [true]}]"#);
    }

    #[test]
    fn shared_list_is_indistinguishable_from_list() {
        use std::collections::hash_map::DefaultHasher;
        let buf: Arc<[Value]> = vec![Value::Int(1), Value::Int(2), Value::Int(3)].into();
        let shared = Value::SharedList(SharedList::new(buf.clone(), 2));
        let owned = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(shared, owned);
        assert_eq!(shared.cmp(&Value::List(vec![Value::Int(1), Value::Int(3)])), Ordering::Less);
        assert!(shared < Value::Set(vec![]), "lists rank before sets, shared or not");
        let hash = |v: &Value| {
            let mut h = DefaultHasher::new();
            v.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&shared), hash(&owned));
        assert_eq!(shared.to_string(), owned.to_string());
        assert_eq!(serde_json::to_string(&shared).unwrap(), "[1,2]");
        assert_eq!(shared.as_list(), Some(&[Value::Int(1), Value::Int(2)][..]));
        assert_eq!(SharedList::new(buf, 9).as_slice().len(), 3, "len is clamped");
    }

    #[test]
    fn set_is_sorted_and_deduplicated() {
        let s = Value::set(vec![Value::Int(3), Value::Int(1), Value::Int(3)]);
        assert_eq!(s, Value::Set(vec![Value::Int(1), Value::Int(3)]));
    }
}
