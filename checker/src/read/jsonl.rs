//! The native JSON Lines reader: one event object per line.
//!
//! Each line is deserialized straight into a borrowed field struct (strings
//! without escapes are not copied) and `key`/`value` straight into [`Value`],
//! with no intermediate `serde_json::Value`. Field types are checked after
//! parsing so that errors can name the field, what was expected and what was
//! found. Unknown fields are skipped; a field given twice is an error.
//! `value` is required (`null` when there is none); `key: null` means no key.

use super::event::{event_type, op_name, Sink, PROCESS_EXPECTED, TYPE_EXPECTED};
use super::lines::{is_blank, utf8, LineReader};
use super::ReadOptions;
use crate::error::{InputError, InputErrorKind};
use crate::history::{Event, EventTarget, Process};
use crate::value::Value;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::BufRead;

/// serde_json refuses nesting deeper than 128 levels; the event object is
/// one of them, so a value inside it can nest at most this deep.
pub(crate) const SERDE_JSON_VALUE_DEPTH: usize = 127;

/// Reads a whole JSON Lines history, streaming.
pub(crate) fn read<R: BufRead, T: EventTarget>(
    lines: &mut LineReader<R>,
    opts: &ReadOptions,
    target: T,
) -> Result<T::Output, InputError> {
    let mut sink = Sink::new(lines.file(), opts.independent_for(super::Format::Jsonl), target);
    let max_depth = opts.max_depth.min(SERDE_JSON_VALUE_DEPTH);
    let file = lines.file().to_string();
    while let Some((line, bytes)) = lines.next_line()? {
        if is_blank(bytes) {
            continue;
        }
        let text = utf8(&file, line, bytes)?;
        let e = parse_line(text, line, max_depth).map_err(|kind| InputError::new(&file, line, kind))?;
        sink.push(e)?;
    }
    Ok(sink.finish()?.0)
}

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
        // As `Value::from(&serde_json::Value)`: integers beyond i64 become floats.
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
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
        Ok(Value::Map(entries))
    }
}

#[derive(Clone, Copy)]
enum Field {
    Type,
    Process,
    F,
    Key,
    Value,
    Time,
    Node,
    Final,
    Index,
    Other,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Type => "type",
            Field::Process => "process",
            Field::F => "f",
            Field::Key => "key",
            Field::Value => "value",
            Field::Time => "time",
            Field::Node => "node",
            Field::Final => "final",
            Field::Index => "index",
            Field::Other => "?",
        }
    }
}

struct FieldVisitor;
impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E>(self, v: &str) -> Result<Field, E> {
        Ok(match v {
            "type" => Field::Type,
            "process" => Field::Process,
            "f" => Field::F,
            "key" => Field::Key,
            "value" => Field::Value,
            "time" => Field::Time,
            "node" => Field::Node,
            "final" => Field::Final,
            "index" => Field::Index,
            _ => Field::Other,
        })
    }
}
impl<'de> de::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        d.deserialize_identifier(FieldVisitor)
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
        while let Some(field) = map.next_key::<Field>()? {
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
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
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
            None => return Err(InputErrorKind::MissingField { field: "process", expected: PROCESS_EXPECTED }),
            Some(Scalar::UInt(p)) => Process::Client(p),
            Some(Scalar::Int(p)) if p >= 0 => Process::Client(p as u64),
            Some(Scalar::Str(s)) if s == "nemesis" => Process::Nemesis,
            Some(s) => return Err(bad("process", "a non-negative integer, or \"nemesis\"", &s)),
        };
        let f = match self.f {
            None => {
                return Err(InputErrorKind::MissingField { field: "f", expected: "the operation name, e.g. \"read\"" })
            }
            Some(Scalar::Str(s)) => op_name(&s)?,
            Some(s) => return Err(bad("f", "a string naming the operation", &s)),
        };
        let Some(value) = self.value else {
            return Err(InputErrorKind::MissingField { field: "value", expected: "the op's value (null if none)" });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventType, F};

    fn p(s: &str) -> Result<Event, InputErrorKind> {
        parse_line(s, 1, 127)
    }

    #[test]
    fn full_event() {
        let e = p(r#"{"type":"ok","process":2,"f":"cas","key":"k\n","value":[1,{"a":null}],"time":5,"node":"n1","final":true,"index":9,"extra":{"x":[1]}}"#).unwrap();
        assert_eq!((e.kind, e.process.clone(), e.f.clone()), (EventType::Ok, Process::Client(2), F::Cas));
        assert_eq!(e.key, Some(Value::str("k\n")));
        assert_eq!(e.value, Value::List(vec![1.into(), Value::Map(vec![(Value::str("a"), Value::Nil)])]));
        assert_eq!((e.time_ns, e.index, e.node.as_deref(), e.is_final), (Some(5), Some(9), Some("n1"), true));
        let n = p(r#"{"type":"info","process":"nemesis","f":"partition","value":"majority"}"#).unwrap();
        assert_eq!(n.process, Process::Nemesis);
        assert_eq!(
            p(r#" {"type":"invoke","process":1,"f":"x","value":18446744073709551615} "#).unwrap().value,
            Value::Float(u64::MAX as f64)
        );
    }

    #[test]
    fn field_errors() {
        assert_eq!(
            p(r#"{"process":1,"f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::MissingField { field: "type", expected: TYPE_EXPECTED }
        );
        assert!(matches!(
            p(r#"{"type":"ok","process":1,"f":"read"}"#).unwrap_err(),
            InputErrorKind::MissingField { field: "value", .. }
        ));
        assert_eq!(
            p(r#"{"type":"done","process":1,"f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::UnknownType("done".into())
        );
        assert_eq!(
            p(r#"{"type":"ok","process":"abc","f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::BadField {
                field: "process",
                expected: "a non-negative integer, or \"nemesis\"",
                found: "\"abc\"".into()
            }
        );
        assert!(matches!(
            p(r#"{"type":"ok","process":-1,"f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::BadField { field: "process", .. }
        ));
        assert!(matches!(
            p(r#"{"type":"ok","process":1.5,"f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::BadField { field: "process", .. }
        ));
        assert!(matches!(
            p(r#"{"type":1,"process":1,"f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::BadField { field: "type", .. }
        ));
        assert!(matches!(
            p(r#"{"type":"ok","process":1,"f":"read","value":null,"time":"x"}"#).unwrap_err(),
            InputErrorKind::BadField { field: "time", .. }
        ));
        assert!(matches!(
            p(r#"{"type":"ok","process":1,"f":"read","value":null,"final":1}"#).unwrap_err(),
            InputErrorKind::BadField { field: "final", .. }
        ));
        assert!(matches!(
            p(r#"{"type":"ok","process":1,"f":"","value":null}"#).unwrap_err(),
            InputErrorKind::BadField { field: "f", .. }
        ));
        assert!(matches!(
            p(r#"{"type":"ok","type":"ok","process":1,"f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::Syntax { .. }
        ));
    }

    #[test]
    fn syntax_errors() {
        let trunc = p(r#"{"type":"ok","process":1,"f":"re"#).unwrap_err();
        assert!(matches!(&trunc, InputErrorKind::Syntax { found, .. } if found == "end of line"), "{trunc:?}");
        assert!(matches!(p(r#"["ok",1]"#).unwrap_err(), InputErrorKind::Syntax { .. }));
        let trailing = p(r#"{"type":"ok","process":1,"f":"read","value":null} x"#).unwrap_err();
        assert!(
            matches!(&trailing, InputErrorKind::Syntax { expected, found, .. }
            if expected == "end of line after the object" && found.contains("at byte")),
            "{trailing:?}"
        );
        assert!(matches!(p("{\"type\" 1}").unwrap_err(), InputErrorKind::Syntax { .. }));
        let e = p(r#"{"type":"é", x}"#).unwrap_err();
        assert!(matches!(&e, InputErrorKind::Syntax { found, .. } if found == "`x}` at byte 15"), "{e:?}");
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!(r#"{{"type":"ok","process":1,"f":"read","value":{}}}"#, "[".repeat(100_000));
        assert_eq!(p(&deep).unwrap_err(), InputErrorKind::TooDeep { limit: 127 });
        let ok = format!(r#"{{"type":"ok","process":1,"f":"read","value":{}{}}}"#, "[".repeat(5), "]".repeat(5));
        assert!(parse_line(&ok, 1, 5).is_ok());
        assert_eq!(parse_line(&ok, 1, 4).unwrap_err(), InputErrorKind::TooDeep { limit: 4 });
        // serde_json skips ignored fields without recursion: deep is fine there.
        let ignored = format!(
            r#"{{"type":"ok","process":1,"f":"read","value":1,"x":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(parse_line(&ignored, 1, 10).is_ok());
        let time = format!(
            r#"{{"type":"ok","process":1,"f":"read","value":1,"time":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(matches!(parse_line(&time, 1, 10).unwrap_err(), InputErrorKind::BadField { field: "time", .. }));
    }
}
