//! Writes events in the native JSON Lines format (one object per line, keys
//! in a fixed order: `type`, `process`, `f`, `key`, `value`, `time`, `node`,
//! `final`; absent optional fields are omitted, and so is the anonymous
//! process). Output is byte-for-byte a function of the events.
//!
//! Integers of any size are written exactly and read back equal, as are
//! strings, floats (shortest text that reads back as the same double),
//! lists and maps with string keys. JSON has no sets, decimals or non-string
//! map keys: sets are written as arrays, decimals as numbers (read back as
//! floats), and other maps as arrays of `[key, value]` pairs.

use crate::history::{Event, EventType, Process};
use crate::value::Value;
use std::io::{self, Write};

fn type_name(t: EventType) -> &'static str {
    match t {
        EventType::Invoke => "invoke",
        EventType::Ok => "ok",
        EventType::Fail => "fail",
        EventType::Info => "info",
    }
}

/// Appends one event as a JSON object (no newline) to `out`.
pub fn write_event(out: &mut Vec<u8>, e: &Event) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(type_name(e.kind).as_bytes());
    out.push(b'"');
    match e.process {
        Process::Client(p) => {
            let _ = write!(out, ",\"process\":{p}");
        }
        Process::Nemesis => out.extend_from_slice(b",\"process\":\"nemesis\""),
        Process::Anonymous => {}
    }
    out.extend_from_slice(b",\"f\":");
    json_str(out, e.f.as_str());
    if let Some(k) = &e.key {
        out.extend_from_slice(b",\"key\":");
        json_value(out, k);
    }
    out.extend_from_slice(b",\"value\":");
    json_value(out, &e.value);
    if let Some(t) = e.time_ns {
        let _ = write!(out, ",\"time\":{t}");
    }
    if let Some(n) = &e.node {
        out.extend_from_slice(b",\"node\":");
        json_str(out, n);
    }
    if e.is_final {
        out.extend_from_slice(b",\"final\":true");
    }
    out.push(b'}');
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    // Serializing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn json_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(b) => out.extend_from_slice(b.as_str().as_bytes()),
        // JSON has no NaN or infinities.
        Value::Float(f) if !f.is_finite() => out.extend_from_slice(b"null"),
        Value::Float(f) => {
            // Debug: the shortest text that reads back as `f`, with `.0` on
            // integral values so that they read back as floats.
            let _ = write!(out, "{f:?}");
        }
        Value::Decimal(d) => {
            let s = d.to_string();
            out.extend_from_slice(s.strip_suffix('M').unwrap_or(&s).as_bytes());
        }
        Value::Str(s) => json_str(out, s),
        Value::List(_) | Value::Set(_) | Value::SharedList(_) => {
            out.push(b'[');
            for (i, x) in v.as_seq().unwrap_or_default().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_value(out, x);
            }
            out.push(b']');
        }
        Value::Map(m) if m.iter().all(|(k, _)| matches!(k, Value::Str(_))) => {
            out.push(b'{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_value(out, k);
                out.push(b':');
                json_value(out, x);
            }
            out.push(b'}');
        }
        Value::Map(m) => {
            out.push(b'[');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                json_value(out, k);
                out.push(b',');
                json_value(out, x);
                out.push(b']');
            }
            out.push(b']');
        }
    }
}

/// One event as a JSON line (without the newline).
pub fn event_to_json(e: &Event) -> String {
    let mut out = Vec::with_capacity(96);
    write_event(&mut out, e);
    // Only JSON text was written: valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes every event, one per line, each line ending in `\n`.
pub fn write_jsonl<W: Write>(mut w: W, events: &[Event]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(64 * 1024);
    for e in events {
        write_event(&mut buf, e);
        buf.push(b'\n');
        if buf.len() >= 60 * 1024 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    w.flush()
}

/// All events as one JSON Lines byte string.
pub fn to_jsonl(events: &[Event]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(events.len() * 96);
    for e in events {
        write_event(&mut buf, e);
        buf.push(b'\n');
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::F;

    #[test]
    fn fields_in_order_and_optional_ones_omitted() {
        let mut e = Event::new(1, EventType::Ok, Process::Client(3), F::Read, Value::List(vec![1.into(), 2.into()]));
        assert_eq!(event_to_json(&e), r#"{"type":"ok","process":3,"f":"read","value":[1,2]}"#);
        e.key = Some(Value::str("k\"1"));
        e.time_ns = Some(-5);
        e.node = Some("n2".into());
        e.is_final = true;
        assert_eq!(
            event_to_json(&e),
            r#"{"type":"ok","process":3,"f":"read","key":"k\"1","value":[1,2],"time":-5,"node":"n2","final":true}"#
        );
        let n = Event::new(2, EventType::Info, Process::Nemesis, F::parse("start-partition"), Value::Nil);
        assert_eq!(event_to_json(&n), r#"{"type":"info","process":"nemesis","f":"start-partition","value":null}"#);
    }

    #[test]
    fn round_trips_through_the_jsonl_reader() {
        use crate::history::History;
        use crate::read::{read_bytes, Format, ReadOptions};
        let mut events = Vec::new();
        let mut push = |kind, process, f: &str, key: Option<Value>, value, node: Option<&str>, fin| {
            let mut e = Event::new(events.len() as u64 + 1, kind, process, F::parse(f), value);
            e.key = key;
            e.time_ns = Some(events.len() as i64 * 10);
            e.node = node.map(Into::into);
            e.is_final = fin;
            events.push(e);
        };
        use EventType::*;
        let grudge = Value::map(vec![(Value::str("n0"), Value::List(vec![Value::str("n1")]))]);
        push(Invoke, Process::Nemesis, "start-partition", None, Value::Nil, None, false);
        push(Info, Process::Nemesis, "start-partition", None, grudge, None, false);
        push(Invoke, Process::Client(0), "write", Some(Value::Int(1)), Value::Int(7), Some("n0"), false);
        push(
            Invoke,
            Process::Client(1),
            "cas",
            Some(Value::str("k\n\"x")),
            Value::List(vec![1.into(), 2.into()]),
            Some("n1"),
            false,
        );
        push(Ok, Process::Client(0), "write", Some(Value::Int(1)), Value::Int(7), Some("n0"), false);
        push(Fail, Process::Client(1), "cas", Some(Value::str("k\n\"x")), Value::str("mismatch"), Some("n1"), false);
        push(Invoke, Process::Client(2), "read", None, Value::Nil, Some("n2"), true);
        push(
            Ok,
            Process::Client(2),
            "read",
            None,
            Value::List(vec![Value::Float(1.5), Value::Bool(true)]),
            Some("n2"),
            true,
        );
        push(
            Invoke,
            Process::Client(3),
            "transfer",
            None,
            Value::map(vec![(Value::str("from"), 0.into())]),
            Some("n3"),
            false,
        );
        push(Info, Process::Client(3), "transfer", None, Value::str("timeout"), Some("n3"), false);
        let bytes = to_jsonl(&events);
        let (read, format) = read_bytes("t.jsonl", &bytes, &ReadOptions::default()).unwrap();
        assert_eq!(format, Format::Jsonl);
        let direct = History::from_events("t.jsonl", events).unwrap();
        assert_eq!(read.ops, direct.ops);
        assert_eq!(read.faults, direct.faults);
        assert_eq!(read.events, direct.events);
    }

    #[test]
    fn every_line_is_json_and_ends_in_newline() {
        let events: Vec<Event> = (0..3)
            .map(|i| {
                let mut e = Event::new(i + 1, EventType::Invoke, Process::Client(i), F::Write, Value::Int(i as i64));
                e.value = Value::map(vec![(Value::str("from"), Value::Float(0.5))]);
                e
            })
            .collect();
        let mut out = Vec::new();
        write_jsonl(&mut out, &events).unwrap();
        assert_eq!(out, to_jsonl(&events));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            let j: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(j["value"]["from"], serde_json::json!(0.5));
        }
    }
}
