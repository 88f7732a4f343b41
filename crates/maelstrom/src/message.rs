//! The wire format: one JSON object per line, `{"src", "dest", "body"}`, the
//! body an object with `type` and optionally `msg_id` and `in_reply_to`.
//!
//! Lines from nodes are parsed once, for the envelope only ([`Head`]); the
//! line itself is what gets delivered, byte for byte. Node-to-node bodies are
//! the node's business: their `type`, `msg_id` and `in_reply_to` are read
//! when they look like Maelstrom's (integers, a string) and ignored otherwise.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// The parts of a message the router needs.
#[derive(Debug, Deserialize)]
pub struct Head<'a> {
    #[serde(borrow)]
    pub src: Cow<'a, str>,
    #[serde(borrow)]
    pub dest: Cow<'a, str>,
    #[serde(borrow)]
    pub body: BodyHead<'a>,
}

#[derive(Debug, Deserialize)]
pub struct BodyHead<'a> {
    #[serde(rename = "type", default, borrow, deserialize_with = "lenient_str")]
    pub ty: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_id")]
    pub msg_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_id")]
    pub in_reply_to: Option<u64>,
}

/// Why a line is not a message.
pub fn parse_head(line: &[u8]) -> Result<Head<'_>, String> {
    serde_json::from_slice::<Head>(line).map_err(|e| {
        let s = e.to_string();
        // serde's message names the field; keep it short for reports.
        s.split(" at line ").next().unwrap_or(&s).to_string()
    })
}

/// A non-negative integer, or `None` for anything else (a node's own
/// messages may number themselves however they like).
fn lenient_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(IdVisitor)
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).ok())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // 3.0 is an integer written oddly; 3.5 is no id.
        Ok((v.fract() == 0.0 && (0.0..1.8e19).contains(&v)).then_some(v as u64))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A string, or `None` for anything else.
fn lenient_str<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S<'a> {
        Str(#[serde(borrow)] Cow<'a, str>),
        Other(IgnoredAny),
    }
    Ok(match S::deserialize(d)? {
        S::Str(s) => Some(s),
        S::Other(_) => None,
    })
}

/// The Maelstrom error codes and whether each is definite (the operation
/// certainly did not happen). Codes not listed, and every code from 1000 up
/// (a node's own), are indefinite: the op may have happened.
pub fn error_is_definite(code: i64) -> bool {
    matches!(code, 1 | 10 | 11 | 12 | 14 | 20 | 21 | 22 | 30)
}

/// Maelstrom's name of an error code, for reports.
pub fn error_name(code: i64) -> &'static str {
    match code {
        0 => "timeout",
        1 => "node-not-found",
        10 => "not-supported",
        11 => "temporarily-unavailable",
        12 => "malformed-request",
        13 => "crash",
        14 => "abort",
        20 => "key-does-not-exist",
        21 => "key-already-exists",
        22 => "precondition-failed",
        30 => "txn-conflict",
        c if c >= 1000 => "custom",
        _ => "unknown",
    }
}

/// One message as a line (with its newline).
pub fn line(src: &str, dest: &str, body: &serde_json::Value) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Msg<'a> {
        src: &'a str,
        dest: &'a str,
        body: &'a serde_json::Value,
    }
    let mut out = serde_json::to_vec(&Msg { src, dest, body }).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_of_well_formed_and_odd_messages() {
        let h =
            parse_head(br#"{"src":"n1","dest":"c3","body":{"type":"echo_ok","msg_id":4,"in_reply_to":2,"echo":"x"}}"#)
                .unwrap();
        assert_eq!(
            (&*h.src, &*h.dest, h.body.ty.as_deref(), h.body.msg_id, h.body.in_reply_to),
            ("n1", "c3", Some("echo_ok"), Some(4), Some(2))
        );
        // A node's own message without type, with a string id and a nested body.
        let h = parse_head(br#"{"body":{"msg_id":"a","x":{"y":[1,2]},"type":7},"dest":"n2","src":"n1"}"#).unwrap();
        assert_eq!((h.body.ty, h.body.msg_id), (None, None));
        let h = parse_head(br#"{"src":"n1","dest":"n2","body":{"type":"x","msg_id":3.0,"in_reply_to":-1}}"#).unwrap();
        assert_eq!((h.body.msg_id, h.body.in_reply_to), (Some(3), None));
        let h = parse_head(br#"{"src":"n\u0031","dest":"n2","body":{}}"#).unwrap();
        assert_eq!(&*h.src, "n1", "escapes are decoded");
    }

    #[test]
    fn what_is_not_a_message() {
        for bad in [
            &b"hello"[..],
            b"{}",
            br#"{"src":"n1","dest":"n2"}"#,
            br#"{"src":1,"dest":"n2","body":{}}"#,
            b"[1,2]",
            br#"{"src":"n1","dest":"n2","body":3}"#,
        ] {
            assert!(parse_head(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse_head(b"{\"src\":").unwrap_err().contains("EOF"));
    }

    #[test]
    fn error_codes_definite_or_not() {
        for c in [1, 10, 11, 12, 14, 20, 21, 22, 30] {
            assert!(error_is_definite(c), "{c}");
        }
        for c in [0, 13, 2, 99, 1000, 1234, -1] {
            assert!(!error_is_definite(c), "{c}");
        }
        assert_eq!(error_name(22), "precondition-failed");
        assert_eq!(error_name(1001), "custom");
    }

    #[test]
    fn lines_are_one_json_object_each() {
        let l = line("c1", "n0", &serde_json::json!({"type": "echo", "echo": "a\nb"}));
        assert_eq!(l.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&l).unwrap();
        assert_eq!(v["body"]["echo"], "a\nb");
    }
}
