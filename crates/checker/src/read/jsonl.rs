//! The native JSON Lines reader: one event object per line.
//!
//! Each line is deserialized straight into a borrowed field struct (strings
//! without escapes are not copied) and `key`/`value` straight into [`Value`],
//! with no intermediate `serde_json::Value`. Field types are checked after
//! parsing so that errors can name the field, what was expected and what was
//! found. Unknown fields are skipped; a field given twice is an error.
//! `value` is required (`null` when there is none); `key: null` means no key.
//! Big inputs are parsed in parallel, batch by batch, with the events still
//! pushed in line order (see [`read`]).

use super::event::{event_type, op_name, Sink, PROCESS_EXPECTED, TYPE_EXPECTED};
use super::lines::{is_blank, utf8, LineReader};
use super::ReadOptions;
use crate::error::{InputError, InputErrorKind};
use crate::history::{Event, EventTarget, Process};
use crate::value::Value;
use rayon::prelude::*;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::BufRead;

/// serde_json refuses nesting deeper than 128 levels; the event object is
/// one of them, so a value inside it can nest at most this deep.
pub(crate) const SERDE_JSON_VALUE_DEPTH: usize = 127;

/// A batch closes once it holds this many bytes of line text: 2 MiB is
/// about 25k typical lines, enough that a rayon split costs nothing next to
/// the parse, and small enough that the two batches in flight stay a few MB
/// (each batch is at most this plus one line of `max_line_bytes`).
const BATCH_BYTES: usize = 2 << 20;
/// ... or this many lines, whichever comes first, so that files of tiny lines
/// do not queue hundreds of thousands of parsed events per batch.
const BATCH_LINES: usize = 32 << 10;

/// Reads a whole JSON Lines history, streaming.
///
/// Lines are copied into bounded batches; the lines of a batch are parsed in
/// parallel while the events of the previous batch are pushed, in line
/// order, on this thread. An input that fits in one batch is parsed
/// sequentially. Errors are the ones a line-by-line reader would give: the
/// first in line order, whether from the line reader, the parse or the push.
pub(crate) fn read<R: BufRead, T: EventTarget>(
    lines: &mut LineReader<R>,
    opts: &ReadOptions,
    target: T,
) -> Result<T::Output, InputError> {
    read_batched(lines, opts, target, BATCH_BYTES, BATCH_LINES)
}

/// Non-blank lines copied from the line reader, in order.
#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    /// (line number, start, end) of each line in `text`.
    lines: Vec<(u64, usize, usize)>,
    /// The line reader's error that ended the input: it comes after every
    /// line in the batch.
    error: Option<InputError>,
    /// No line follows this batch (end of input, or `error`).
    last: bool,
}

impl Batch {
    /// Refills the batch with the next non-blank lines.
    fn fill<R: BufRead>(&mut self, lines: &mut LineReader<R>, max_bytes: usize, max_lines: usize) {
        self.text.clear();
        self.lines.clear();
        self.error = None;
        self.last = false;
        while self.text.len() < max_bytes && self.lines.len() < max_lines {
            match lines.next_line() {
                Ok(Some((line, bytes))) => {
                    if !is_blank(bytes) {
                        let start = self.text.len();
                        self.text.extend_from_slice(bytes);
                        self.lines.push((line, start, self.text.len()));
                    }
                }
                Ok(None) => {
                    self.last = true;
                    return;
                }
                Err(e) => {
                    self.error = Some(e);
                    self.last = true;
                    return;
                }
            }
        }
    }

    fn line(&self, i: usize) -> (u64, &[u8]) {
        let (line, start, end) = self.lines[i];
        (line, &self.text[start..end])
    }

    /// Parses every line, in parallel; `out[i]` is line `i`'s result.
    fn parse_all(&self, file: &str, max_depth: usize, out: &mut Vec<Result<Event, InputError>>) {
        (0..self.lines.len())
            .into_par_iter()
            // A few hundred lines per task: rayon's split costs next to nothing.
            .with_min_len(256)
            .map(|i| {
                let (line, bytes) = self.line(i);
                parse_bytes(file, line, bytes, max_depth)
            })
            .collect_into_vec(out);
    }
}

/// Parses one non-blank line given as bytes.
fn parse_bytes(file: &str, line: u64, bytes: &[u8], max_depth: usize) -> Result<Event, InputError> {
    let text = utf8(file, line, bytes)?;
    parse_line(text, line, max_depth).map_err(|kind| InputError::new(file, line, kind))
}

/// Pushes parsed lines in order, stopping at the first error.
fn push_all<T: EventTarget>(sink: &mut Sink<T>, parsed: &mut Vec<Result<Event, InputError>>) -> Result<(), InputError> {
    for r in parsed.drain(..) {
        sink.push(r?)?;
    }
    Ok(())
}

/// [`read`] with the batch bounds as parameters (tests use tiny ones).
fn read_batched<R: BufRead, T: EventTarget>(
    lines: &mut LineReader<R>,
    opts: &ReadOptions,
    target: T,
    batch_bytes: usize,
    batch_lines: usize,
) -> Result<T::Output, InputError> {
    let mut sink = Sink::new(lines.file(), opts.independent_for(super::Format::Jsonl), target);
    let max_depth = opts.max_depth.min(SERDE_JSON_VALUE_DEPTH);
    let file = lines.file().to_string();
    let mut cur = Batch::default();
    cur.fill(lines, batch_bytes, batch_lines);
    if cur.last {
        // Small input: parse and push line by line, no threads.
        for i in 0..cur.lines.len() {
            let (line, bytes) = cur.line(i);
            sink.push(parse_bytes(&file, line, bytes, max_depth)?)?;
        }
        return match cur.error {
            Some(e) => Err(e),
            None => Ok(sink.finish()?.0),
        };
    }
    // Two batches in flight. Invariant at the top of the loop: `parsed`
    // holds the events of `cur` (whose text is no longer needed), and unless
    // `cur` is the last batch, `next` holds the following lines, unparsed.
    // Each round parses `next` on the rayon pool while this thread pushes
    // `parsed` and then refills `cur`'s buffers with the lines after `next`.
    // So at most two batches' text and two batches' events are held.
    let mut parsed = Vec::new();
    cur.parse_all(&file, max_depth, &mut parsed);
    let mut next = Batch::default();
    next.fill(lines, batch_bytes, batch_lines);
    let mut next_parsed = Vec::new();
    while !cur.last {
        // The sink and the line reader stay on this thread (neither need be
        // `Send`). If a push fails, the scope still waits for the parse of
        // `next`, whose results are dropped: they belong to later lines.
        let pushed = rayon::in_place_scope(|s| {
            let (next, next_parsed, file) = (&next, &mut next_parsed, &file);
            s.spawn(move |_| next.parse_all(file, max_depth, next_parsed));
            push_all(&mut sink, &mut parsed)?;
            if !next.last {
                cur.fill(lines, batch_bytes, batch_lines);
            }
            Ok::<(), InputError>(())
        });
        pushed?;
        std::mem::swap(&mut cur, &mut next);
        std::mem::swap(&mut parsed, &mut next_parsed);
    }
    push_all(&mut sink, &mut parsed)?;
    match cur.error {
        Some(e) => Err(e),
        None => Ok(sink.finish()?.0),
    }
}

/// Parses one non-blank line into an event. `max_depth` bounds the nesting
/// of `key` and `value` (at most [`SERDE_JSON_VALUE_DEPTH`]).
/// Parses one JSON value filling `text` (for values given on the command line).
pub(crate) fn parse_value(text: &str, max_depth: usize) -> Result<Value, String> {
    let too_deep = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    ValueSeed { depth_left: max_depth, too_deep: &too_deep }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| e.to_string())
}

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

    /// Parallel batching: tiny batches so that small inputs span many.
    mod batched {
        use super::super::*;
        use crate::history::{History, HistoryBuilder};

        /// Records events as pushed, to compare readers event by event.
        struct Recorder(Vec<Event>);
        impl EventTarget for Recorder {
            type Output = Vec<Event>;
            fn push(&mut self, e: Event) -> Result<(), InputError> {
                self.0.push(e);
                Ok(())
            }
            fn finish(self) -> Result<Vec<Event>, InputError> {
                Ok(self.0)
            }
        }

        /// No batch limit: one batch, the sequential path.
        const SEQ: (usize, usize) = (usize::MAX, usize::MAX);
        /// Batch bounds that split test inputs many ways, including batches
        /// closed by bytes (a few lines) and by line count.
        const SPLITS: [(usize, usize); 6] =
            [(1, usize::MAX), (200, usize::MAX), (usize::MAX, 1), (usize::MAX, 7), (1000, 10), (64 << 10, 256)];

        fn read_into<T: EventTarget>(
            text: &[u8],
            split: (usize, usize),
            max_line_bytes: usize,
            target: T,
        ) -> Result<T::Output, InputError> {
            let mut lines = LineReader::new("t.jsonl", text, max_line_bytes);
            read_batched(&mut lines, &ReadOptions::default(), target, split.0, split.1)
        }

        fn history(text: &[u8], split: (usize, usize)) -> Result<History, InputError> {
            read_into(text, split, 1 << 20, HistoryBuilder::new("t.jsonl"))
        }

        fn events(text: &[u8], split: (usize, usize)) -> Result<Vec<Event>, InputError> {
            read_into(text, split, 1 << 20, Recorder(Vec::new()))
        }

        /// A valid history of `ops` ops over 8 processes with assorted
        /// values, blank lines, escapes, unknown fields and a nemesis event.
        fn valid(ops: u64) -> String {
            let mut out = String::from("\u{feff}");
            for i in 0..ops {
                let p = i % 8;
                let t = 2 * i;
                let (f, v_in, v_out) = match i % 4 {
                    0 => ("write", format!("{i}"), format!("{i}")),
                    1 => ("read", "null".into(), format!("[{i},{{\"a\":\"x\\ny\"}},1.5]")),
                    2 => ("cas", format!("[{i},{}]", i + 1), format!("[{i},{}]", i + 1)),
                    _ => ("append", format!("\"s\\u00e9{i}\""), "null".into()),
                };
                out += &format!(
                    "{{\"type\":\"invoke\",\"process\":{p},\"f\":\"{f}\",\"key\":{},\"value\":{v_in},\"time\":{t}}}\n",
                    i % 5
                );
                if i % 97 == 0 {
                    out += "   \n\n";
                    out += &format!("{{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"kill\",\"value\":[\"n{i}\"],\"time\":{t}}}\n");
                }
                let kind = if i % 13 == 0 { "fail" } else { "ok" };
                out += &format!("{{\"type\":\"{kind}\",\"process\":{p},\"f\":\"{f}\",\"key\":{},\"value\":{v_out},\"time\":{},\"extra\":{{\"z\":[1]}}}}\n", i % 5, t + 1);
            }
            out
        }

        #[test]
        fn batched_reads_equal_the_sequential_read() {
            let text = valid(1500);
            let seq = events(text.as_bytes(), SEQ).unwrap();
            assert!(seq.len() > 3000, "{}", seq.len());
            let seq_history = format!("{:?}", history(text.as_bytes(), SEQ).unwrap());
            for split in SPLITS {
                assert_eq!(events(text.as_bytes(), split).unwrap(), seq, "{split:?}");
                assert_eq!(format!("{:?}", history(text.as_bytes(), split).unwrap()), seq_history, "{split:?}");
            }
            // The rayon thread count does not matter.
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let got = pool.install(|| events(text.as_bytes(), (1000, 10))).unwrap();
                assert_eq!(got, seq, "{threads} threads");
            }
            // The public entry point: the default batch exceeds this input,
            // and a multi-batch input reads the same as one batch.
            let mut lines = LineReader::new("t.jsonl", text.as_bytes(), 1 << 20);
            assert_eq!(read(&mut lines, &ReadOptions::default(), Recorder(Vec::new())).unwrap(), seq);
            let big = valid(40_000);
            let mut lines = LineReader::new("t.jsonl", big.as_bytes(), 1 << 20);
            let got = read(&mut lines, &ReadOptions::default(), Recorder(Vec::new())).unwrap();
            assert!(big.len() > BATCH_BYTES, "{}", big.len());
            assert_eq!(got, events(big.as_bytes(), SEQ).unwrap());
        }

        /// `valid(ops)` split into lines, with line `at` (0-based) replaced.
        fn with_line(lines: &mut [String], at: usize, s: &str) {
            lines[at] = s.to_string();
        }

        const ORPHAN: &str = r#"{"type":"ok","process":99,"f":"read","value":null}"#;
        const BROKEN: &str = r#"{"type":"ok","process":1,"f":"#;

        fn check(lines: &[String], line: u64, is_kind: impl Fn(&InputErrorKind) -> bool) {
            let text = lines.join("\n");
            let seq = history(text.as_bytes(), SEQ).unwrap_err();
            assert_eq!(seq.line, line, "{seq}");
            assert!(is_kind(&seq.kind), "{seq}");
            for split in SPLITS {
                assert_eq!(history(text.as_bytes(), split).unwrap_err(), seq, "{split:?}");
            }
        }

        #[test]
        fn pairing_error_beats_later_syntax_error() {
            let base: Vec<String> = valid(300).lines().map(String::from).collect();
            let orphan = |k: &InputErrorKind| matches!(k, InputErrorKind::CompletionWithoutInvoke { process: 99, .. });
            // The broken line in the same batch, the next (parsed while the
            // orphan is pushed) and batches far later.
            for gap in [1, 2, 5, 9, 10, 11, 25, 200] {
                let mut lines = base.clone();
                with_line(&mut lines, 150, ORPHAN);
                with_line(&mut lines, 150 + gap, BROKEN);
                check(&lines, 151, orphan);
            }
        }

        #[test]
        fn syntax_error_beats_later_pairing_error() {
            let base: Vec<String> = valid(300).lines().map(String::from).collect();
            let syntax = |k: &InputErrorKind| matches!(k, InputErrorKind::Syntax { .. });
            for gap in [1, 2, 9, 10, 11, 200] {
                let mut lines = base.clone();
                with_line(&mut lines, 150, BROKEN);
                with_line(&mut lines, 150 + gap, ORPHAN);
                check(&lines, 151, syntax);
            }
            // Field errors and invalid UTF-8 are ordered the same way.
            let mut lines = base.clone();
            with_line(&mut lines, 40, r#"{"type":"ok","process":-1,"f":"read","value":null}"#);
            with_line(&mut lines, 41, ORPHAN);
            check(&lines, 41, |k| matches!(k, InputErrorKind::BadField { field: "process", .. }));
            let mut bytes = base.join("\n").into_bytes();
            let at = bytes.iter().position(|&b| b == b'p').unwrap();
            bytes[at] = 0xff; // inside line 1
            for split in SPLITS {
                let e = history(&bytes, split).unwrap_err();
                assert_eq!((e.line, e.kind), (1, InputErrorKind::InvalidUtf8 { byte: at + 1 - 3 }), "{split:?}");
            }
        }

        #[test]
        fn line_reader_errors_keep_their_place() {
            let base: Vec<String> = valid(300).lines().map(String::from).collect();
            let long = format!(r#"{{"type":"ok","process":1,"f":"read","value":"{}"}}"#, "x".repeat(500));
            let read_long = |lines: &[String], split| {
                let text = lines.join("\n");
                read_into(text.as_bytes(), split, 400, HistoryBuilder::new("t.jsonl")).unwrap_err()
            };
            for gap in [1, 10, 100] {
                // A pairing error before the long line wins ...
                let mut lines = base.clone();
                with_line(&mut lines, 150, ORPHAN);
                with_line(&mut lines, 150 + gap, &long);
                let seq = read_long(&lines, SEQ);
                assert!(matches!(seq.kind, InputErrorKind::CompletionWithoutInvoke { .. }) && seq.line == 151, "{seq}");
                for split in SPLITS {
                    assert_eq!(read_long(&lines, split), seq, "{split:?}");
                }
                // ... and the long line beats a later pairing error.
                let mut lines = base.clone();
                with_line(&mut lines, 150, &long);
                with_line(&mut lines, 150 + gap, ORPHAN);
                let seq = read_long(&lines, SEQ);
                assert_eq!((seq.line, &seq.kind), (151, &InputErrorKind::LineTooLong { limit_bytes: 400 }));
                for split in SPLITS {
                    assert_eq!(read_long(&lines, split), seq, "{split:?}");
                }
            }
        }

        #[test]
        fn errors_at_the_end() {
            // An unfinished op is reported by `finish`, after every line.
            let mut text = valid(100);
            text += r#"{"type":"invoke","process":1,"f":"read","value":null,"time":999}"#;
            text += "\n\n";
            let seq = history(text.as_bytes(), SEQ);
            for split in SPLITS {
                let got = history(text.as_bytes(), split);
                assert_eq!(format!("{got:?}"), format!("{seq:?}"), "{split:?}");
            }
            // Blank-only and empty inputs.
            for text in ["", "\n \n\t\n"] {
                let seq = format!("{:?}", history(text.as_bytes(), SEQ));
                for split in SPLITS {
                    assert_eq!(format!("{:?}", history(text.as_bytes(), split)), seq, "{split:?}");
                }
            }
        }

        /// Wall and CPU time of the batched reader against the one-batch
        /// (sequential) path on a big file, default `/tmp/h1m.jsonl`
        /// (`conch gen --workload register --ops 1000000`). Run with
        /// `cargo test --release -p conch-checker --lib read::jsonl::tests::batched::throughput -- --ignored --nocapture`.
        #[test]
        #[ignore]
        fn throughput() {
            let path = std::env::var("CONCH_JSONL_BENCH").unwrap_or_else(|_| "/tmp/h1m.jsonl".into());
            let cpu_s = || {
                let t = std::fs::read_to_string("/proc/self/stat").unwrap();
                let f: Vec<&str> = t.rsplit_once(')').unwrap().1.split_whitespace().collect();
                (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
            };
            {
                // Phases, sequentially: copying lines into batches, parsing them.
                let file = std::fs::File::open(&path).unwrap();
                let mut lines = LineReader::new(&path, std::io::BufReader::with_capacity(256 << 10, file), 64 << 20);
                let mut b = Batch::default();
                let (mut read_s, mut parse_s, mut n) = (0.0, 0.0, 0);
                while !b.last {
                    let t = std::time::Instant::now();
                    b.fill(&mut lines, BATCH_BYTES, BATCH_LINES);
                    read_s += t.elapsed().as_secs_f64();
                    let t = std::time::Instant::now();
                    for i in 0..b.lines.len() {
                        let (line, bytes) = b.line(i);
                        n += parse_bytes(&path, line, bytes, 127).is_ok() as usize;
                    }
                    parse_s += t.elapsed().as_secs_f64();
                }
                println!("phases: {n} lines, read {read_s:.3} s, parse {parse_s:.3} s (sequential)");
            }
            for (name, split) in [
                ("sequential", SEQ),
                ("batched", (BATCH_BYTES, BATCH_LINES)),
                ("sequential", SEQ),
                ("batched", (BATCH_BYTES, BATCH_LINES)),
            ] {
                let file = std::fs::File::open(&path).unwrap();
                let mut lines = LineReader::new(&path, std::io::BufReader::with_capacity(256 << 10, file), 64 << 20);
                let (cpu0, start) = (cpu_s(), std::time::Instant::now());
                let h = read_batched(&mut lines, &ReadOptions::default(), HistoryBuilder::new(&path), split.0, split.1)
                    .unwrap();
                println!(
                    "{name}: {} events in {:.3} s wall, {:.2} s CPU",
                    h.events,
                    start.elapsed().as_secs_f64(),
                    cpu_s() - cpu0
                );
            }
        }
    }
}
