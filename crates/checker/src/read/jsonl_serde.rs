//! The JSON Lines event parser conch used before [`super::json`], kept as
//! the independent reference that the new one is tested against (the
//! equivalence tests and the `read_jsonl` fuzz target): serde_json's
//! parser, with the same field rules. It differs from the new parser only
//! where serde_json cannot be exact: integers beyond `u64` become floats,
//! and an object with a repeated key keeps the last one.
//!
//! Its field handling looks like `json.rs`'s and `duplicates` pairs them;
//! they stay apart on purpose: a reference that shared the new parser's
//! code would compare that code with itself.

use super::event::{event_type, op_name, Field, TYPE_EXPECTED};
use crate::error::InputErrorKind;
use crate::history::{Event, Process};
use crate::value::{parse_integer, Value};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

/// serde_json refuses nesting deeper than 128 levels; the event object is
/// one of them, so a value inside it can nest at most this deep.
pub(crate) const SERDE_JSON_VALUE_DEPTH: usize = 127;

/// Parses one non-blank line into an event. `max_depth` bounds the nesting
/// of `key` and `value` (at most [`SERDE_JSON_VALUE_DEPTH`]).
pub(crate) fn parse_line(text: &str, line: u64, max_depth: usize) -> Result<Event, InputErrorKind> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return Err(InputErrorKind::Syntax {
            format: "JSON",
            expected: "an event object `{...}`".into(),
            found: super::edn::describe_at(trimmed, 0),
        });
    }
    let too_deep = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = RawSeed { max_depth, too_deep: &too_deep }
        .deserialize(&mut de)
        .and_then(|raw| de.end().map(|()| raw))
        .map_err(|e| json_error(text, &e, too_deep.get(), max_depth))?;
    raw.into_event(line)
}

fn json_error(text: &str, e: &serde_json::Error, too_deep: bool, max_depth: usize) -> InputErrorKind {
    let msg = e.to_string();
    if too_deep || msg.starts_with("recursion limit exceeded") {
        return InputErrorKind::TooDeep { limit: max_depth };
    }
    if e.is_eof() {
        return InputErrorKind::Syntax {
            format: "JSON",
            expected: "the rest of the object (the line ends inside it)".into(),
            found: "end of line".into(),
        };
    }
    // serde_json appends " at line L column C"; we report the column ourselves.
    let what = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m);
    let expected = match what.strip_prefix("expected ") {
        Some(x) => x.to_string(),
        None if what == "trailing characters" => "end of line after the object".to_string(),
        None => format!("valid JSON ({what})"),
    };
    // serde_json's column counts bytes from 1.
    let col = e.column();
    let mut at = col.saturating_sub(1).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let found = format!("{} at byte {col}", super::edn::describe_at(text, at));
    InputErrorKind::Syntax { format: "JSON", expected, found }
}

/// A JSON scalar as found, kept loosely typed so the field check can say
/// what it found.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Array,
    Object,
}

impl Scalar<'_> {
    fn describe(&self) -> String {
        match self {
            Scalar::Null => "null".into(),
            Scalar::Bool(b) => format!("{b}"),
            Scalar::Int(i) => format!("{i}"),
            Scalar::UInt(u) => format!("{u}"),
            Scalar::Float(f) => format!("{f}"),
            Scalar::Str(s) => super::event::quote(&Value::str(s)),
            Scalar::Array => "an array".into(),
            Scalar::Object => "an object".into(),
        }
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Object)
    }
}

struct ScalarSeed;
impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// Deserializes any JSON into a [`Value`], refusing nesting beyond `depth_left`.
#[derive(Clone, Copy)]
struct ValueSeed<'c> {
    depth_left: usize,
    too_deep: &'c Cell<bool>,
}

impl ValueSeed<'_> {
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        if self.depth_left == 0 {
            self.too_deep.set(true);
            return Err(E::custom("value nested too deeply"));
        }
        Ok(ValueSeed { depth_left: self.depth_left - 1, too_deep: self.too_deep })
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(parse_integer(&v.to_string()).unwrap_or_default())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.into()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Cow<'de, str>>()? {
            let v = map.next_value_seed(inner)?;
            entries.push((Value::Str(k.as_ref().into()), v));
        }
        Ok(Value::map(entries))
    }
}

/// A JSON key: one of the op fields, or `None` for a key conch ignores.
struct Key(Option<Field>);

struct KeyVisitor;
impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key(Field::of_name(v.as_bytes())))
    }
}
impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_identifier(KeyVisitor)
    }
}

/// The fields of one line, loosely typed.
#[derive(Default)]
struct Raw<'a> {
    kind: Option<Scalar<'a>>,
    process: Option<Scalar<'a>>,
    f: Option<Scalar<'a>>,
    key: Option<Value>,
    value: Option<Value>,
    time: Option<Scalar<'a>>,
    node: Option<Scalar<'a>>,
    fin: Option<Scalar<'a>>,
    index: Option<Scalar<'a>>,
    duplicate: Option<&'static str>,
}

struct RawSeed<'c> {
    max_depth: usize,
    too_deep: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for RawSeed<'_> {
    type Value = Raw<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RawSeed<'_> {
    type Value = Raw<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut raw = Raw::default();
        let vs = ValueSeed { depth_left: self.max_depth, too_deep: self.too_deep };
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let Some(field) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            macro_rules! scalar {
                ($slot:ident) => {{
                    let v = map.next_value_seed(ScalarSeed)?;
                    if raw.$slot.replace(v).is_some() {
                        raw.duplicate.get_or_insert(field.name());
                    }
                }};
            }
            match field {
                Field::Type => scalar!(kind),
                Field::Process => scalar!(process),
                Field::F => scalar!(f),
                Field::Time => scalar!(time),
                Field::Node => scalar!(node),
                Field::Final => scalar!(fin),
                Field::Index => scalar!(index),
                Field::Key => {
                    let v = map.next_value_seed(vs)?;
                    if raw.key.replace(v).is_some() {
                        raw.duplicate.get_or_insert("key");
                    }
                }
                Field::Value => {
                    let v = map.next_value_seed(vs)?;
                    if raw.value.replace(v).is_some() {
                        raw.duplicate.get_or_insert("value");
                    }
                }
            }
        }
        Ok(raw)
    }
}

fn bad(field: &'static str, expected: &'static str, found: &Scalar<'_>) -> InputErrorKind {
    InputErrorKind::BadField { field, expected, found: found.describe() }
}

impl Raw<'_> {
    fn into_event(self, line: u64) -> Result<Event, InputErrorKind> {
        if let Some(name) = self.duplicate {
            return Err(InputErrorKind::Syntax {
                format: "JSON",
                expected: "each field at most once".into(),
                found: format!("a second `{name}`"),
            });
        }
        let kind = match self.kind {
            None => return Err(InputErrorKind::MissingField { field: "type", expected: TYPE_EXPECTED }),
            Some(Scalar::Str(s)) => event_type(&s)?,
            Some(s) => return Err(bad("type", "a string: invoke, ok, fail or info", &s)),
        };
        let process = match self.process {
            None | Some(Scalar::Null) => Process::Anonymous,
            Some(Scalar::UInt(p)) if p <= crate::history::MAX_CLIENT_PROCESS => Process::Client(p),
            Some(Scalar::Int(p)) if p >= 0 => Process::Client(p as u64),
            Some(Scalar::Str(s)) if s == "nemesis" => Process::Nemesis,
            Some(s) => return Err(bad("process", "a non-negative integer below 2^63, \"nemesis\", or null", &s)),
        };
        let value = self.value.unwrap_or_default();
        let f = match self.f {
            None if super::event::looks_like_txn(&value) => crate::history::F::Txn,
            None => {
                return Err(InputErrorKind::MissingField { field: "f", expected: "the operation name, e.g. \"read\"" })
            }
            Some(Scalar::Str(s)) => op_name(&s)?,
            Some(s) => return Err(bad("f", "a string naming the operation", &s)),
        };
        let time_ns = match self.time {
            None | Some(Scalar::Null) => None,
            Some(Scalar::Int(t)) => Some(t),
            Some(Scalar::UInt(t)) if t <= i64::MAX as u64 => Some(t as i64),
            Some(s) => return Err(bad("time", "an integer number of nanoseconds", &s)),
        };
        let index = match self.index {
            None | Some(Scalar::Null) => None,
            Some(Scalar::UInt(i)) => Some(i),
            Some(Scalar::Int(i)) if i >= 0 => Some(i as u64),
            Some(s) => return Err(bad("index", "a non-negative integer", &s)),
        };
        let node = match self.node {
            None | Some(Scalar::Null) => None,
            Some(Scalar::Str(s)) => Some(Box::from(s.as_ref())),
            Some(s) => return Err(bad("node", "a string naming a node", &s)),
        };
        let is_final = match self.fin {
            None | Some(Scalar::Null) => false,
            Some(Scalar::Bool(b)) => b,
            Some(s) => return Err(bad("final", "true or false", &s)),
        };
        let mut e = Event::new(line, kind, process, f, value);
        e.key = self.key.filter(|k| !k.is_nil());
        e.time_ns = time_ns;
        e.index = index;
        e.node = node;
        e.is_final = is_final;
        Ok(e)
    }
}

/// `value` with every integer beyond `u64` as the float serde_json makes it.
fn as_serde_sees(v: &Value) -> Value {
    match v {
        Value::BigInt(b) if b.as_str().parse::<u64>().is_err() => Value::Float(b.as_str().parse().unwrap_or(f64::NAN)),
        Value::List(xs) => Value::List(xs.iter().map(as_serde_sees).collect()),
        Value::Map(m) => Value::map(m.iter().map(|(k, x)| (k.clone(), as_serde_sees(x))).collect()),
        v => v.clone(),
    }
}

/// `reference` with each float replaced by `exact`'s at the same place when
/// the two are within a few units in the last place.
fn near_floats(reference: &Value, exact: &Value) -> Value {
    match (reference, exact) {
        (Value::Float(r), Value::Float(e)) if r.to_bits().abs_diff(e.to_bits()) <= 8 => Value::Float(*e),
        // serde_json reads the integer `-0` as the float -0.0.
        (Value::Float(r), Value::Int(0)) if *r == 0.0 && r.is_sign_negative() => Value::Int(0),
        (Value::List(rs), Value::List(es)) if rs.len() == es.len() => {
            Value::List(rs.iter().zip(es).map(|(r, e)| near_floats(r, e)).collect())
        }
        (Value::Map(rs), Value::Map(es)) if rs.len() == es.len() => {
            Value::map(rs.iter().zip(es.iter()).map(|((k, r), (_, e))| (k.clone(), near_floats(r, e))).collect())
        }
        (r, _) => r.clone(),
    }
}

/// Whether the JSON event parser and this reference agree on one line
/// (`Err` says how they differ). They must give the same event, or both an
/// error (the same one for invalid UTF-8), except where serde_json cannot be
/// exact: it makes integers beyond `u64` floats (and refuses those beyond
/// the float range), and keeps the last of repeated object keys, which the
/// new parser refuses. `max_depth` must be at most [`SERDE_JSON_VALUE_DEPTH`].
pub(crate) fn agree(bytes: &[u8], line: u64, max_depth: usize) -> Result<(), String> {
    debug_assert!(max_depth <= SERDE_JSON_VALUE_DEPTH);
    let new = super::json::parse_line(bytes, line, max_depth);
    let reference = match std::str::from_utf8(bytes) {
        Ok(text) => parse_line(text, line, max_depth),
        Err(e) => Err(InputErrorKind::InvalidUtf8 { byte: e.valid_up_to() + 1 }),
    };
    let refused_by_serde = |k: &InputErrorKind| match k {
        InputErrorKind::Syntax { expected, .. } => expected.contains("number out of range"),
        // The integer `-0`, which serde_json makes a float.
        InputErrorKind::BadField { found, .. } => found == "-0",
        _ => false,
    };
    let repeated_key = |k: &InputErrorKind| matches!(k, InputErrorKind::Syntax { expected, .. } if expected == "each key at most once in an object");
    match (&new, &reference) {
        (Ok(a), Ok(b)) => {
            let mut a = a.clone();
            a.value = as_serde_sees(&a.value);
            a.key = a.key.as_ref().map(as_serde_sees);
            let mut b = b.clone();
            // serde_json's float parsing may be a few units in the last place off
            // (the new parser's is exact): take its float where they are that close.
            b.value = near_floats(&b.value, &a.value);
            b.key = match (&b.key, &a.key) {
                (Some(x), Some(y)) => Some(near_floats(x, y)),
                (k, _) => k.clone(),
            };
            if a == b {
                Ok(())
            } else {
                Err(format!("different events:\n new: {a:?}\n ref: {b:?}"))
            }
        }
        (Err(a @ InputErrorKind::InvalidUtf8 { .. }), Err(b))
        | (Err(b), Err(a @ InputErrorKind::InvalidUtf8 { .. })) => {
            if a == b {
                Ok(())
            } else {
                Err(format!("different UTF-8 errors: {new:?} / {reference:?}"))
            }
        }
        (Err(_), Err(_)) => Ok(()),
        (Ok(_), Err(k)) if refused_by_serde(k) => Ok(()),
        (Err(k), Ok(_)) if repeated_key(k) => Ok(()),
        _ => Err(format!("one parser refused the line:\n new: {new:?}\n ref: {reference:?}")),
    }
}
