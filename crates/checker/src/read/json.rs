//! The JSON Lines event parser: one line's bytes straight to an [`Event`].
//!
//! A scanner written for the event shape rather than a general JSON
//! library, for two reasons: numbers are exact (an integer literal of any
//! length is an integer, `1.0` is a float; a general parser turns integers
//! beyond `u64` into floats before the caller can see them), and speed (the
//! fields of an event are matched as bytes, `type`, `f` and `process` are
//! decoded without allocating). It accepts exactly RFC 8259 JSON.
//!
//! Rules: unknown fields are skipped (still validated, nested to any depth);
//! a field given twice is an error; `value` may be left out (null); a
//! missing or null `process` is the anonymous process (see
//! [`Process::Anonymous`]); `key: null` means no key. Invalid UTF-8 anywhere
//! on the line is reported as such, before any other error.

use super::event::{event_type, op_name, Field, TYPE_EXPECTED};
use crate::error::InputErrorKind;
use crate::history::raw_txn::{RawF, RawMop, RawTxn, RawVal, Scalar};
use crate::history::{Event, EventType, Process, F, MAX_CLIENT_PROCESS};
use crate::value::{parse_integer, Value, ValueMap};

/// Parses one non-blank line into an event. `max_depth` bounds the nesting
/// of `key` and `value`.
pub(crate) fn parse_line(text: &[u8], line: u64, max_depth: usize) -> Result<Event, InputErrorKind> {
    parse_line_raw(text, line, max_depth, false).map(|(e, _)| e)
}

/// [`parse_line`], with a `txn` event's micro-ops scanned into a [`RawTxn`]
/// (and the event's value nil) when `raw_txn` is set and they have the
/// usual shape. The event, raw or built, is otherwise the same.
pub(crate) fn parse_line_raw(
    text: &[u8],
    line: u64,
    max_depth: usize,
    raw_txn: bool,
) -> Result<(Event, Option<Box<RawTxn>>), InputErrorKind> {
    if let Some(e) = super::json_fast::event(text, line, max_depth) {
        return Ok((e, None));
    }
    parse_line_general(text, line, max_depth, raw_txn)
}

/// [`parse_line_raw`] by the general scanner alone (no fast path): what
/// the fast path is compared with.
pub(crate) fn parse_line_general(
    text: &[u8],
    line: u64,
    max_depth: usize,
    raw_txn: bool,
) -> Result<(Event, Option<Box<RawTxn>>), InputErrorKind> {
    let mut s = Scanner { s: text, i: 0 };
    match s.event(line, max_depth, raw_txn) {
        Ok(e) => Ok(e),
        Err(kind) => Err(match std::str::from_utf8(text) {
            // Bytes that are not text make every other complaint moot.
            Err(e) => InputErrorKind::InvalidUtf8 { byte: e.valid_up_to() + 1 },
            Ok(_) => kind.into_kind(text),
        }),
    }
}

/// Parses one JSON value filling `text` (values given on the command line,
/// e.g. `--initial`), with the same exact numbers as event lines.
pub(crate) fn parse_value(text: &str, max_depth: usize) -> Result<Value, InputErrorKind> {
    let mut s = Scanner { s: text.as_bytes(), i: 0 };
    let v = s.value(max_depth).and_then(|v| {
        s.ws();
        if s.i < s.s.len() {
            s.syntax("the end after one value")
        } else {
            Ok(v)
        }
    });
    v.map_err(|f| f.into_kind(text.as_bytes()))
}

/// An error found while scanning, turned into an [`InputErrorKind`] once
/// the line is known to be UTF-8 (so it can be quoted).
enum Fail {
    Syntax {
        expected: &'static str,
        at: usize,
    },
    /// A field or value error that needs no quoting.
    Kind(InputErrorKind),
}

impl Fail {
    fn into_kind(self, text: &[u8]) -> InputErrorKind {
        match self {
            Fail::Kind(k) => k,
            Fail::Syntax { expected, at } => {
                let text = std::str::from_utf8(text).unwrap_or("");
                let found = if at >= text.len() {
                    "end of line".to_string()
                } else {
                    let mut at = at;
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    format!("{} at byte {}", super::edn::describe_at(text, at), at + 1)
                };
                InputErrorKind::Syntax { format: "JSON", expected: expected.into(), found }
            }
        }
    }
}

type R<T> = Result<T, Fail>;

fn kind(k: InputErrorKind) -> Fail {
    Fail::Kind(k)
}

/// A typed field's content as found, for the field checks.
enum Found<'a> {
    /// A string without escapes, borrowed from the line.
    Str(&'a str),
    /// Any other JSON value.
    Other(Value),
}

impl Found<'_> {
    fn describe(&self) -> String {
        match self {
            Found::Str(s) => format!("{:?}", s),
            Found::Other(Value::Str(s)) => format!("{:?}", s),
            Found::Other(Value::List(_)) => "an array".into(),
            Found::Other(Value::Map(_)) => "an object".into(),
            Found::Other(Value::Nil) => "null".into(),
            Found::Other(v) => v.to_string(),
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Found::Str(s) => Some(s),
            Found::Other(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Found::Other(Value::Nil))
    }
}

fn bad(field: &'static str, expected: &'static str, found: &Found<'_>) -> Fail {
    kind(InputErrorKind::BadField { field, expected, found: found.describe() })
}

/// The longest name [`short_name`] looks for (`transfer`, `process`).
const MAX_NAME: usize = 8;

/// At `s[0] == b'"'`: the bytes up to the next `"`, if it comes within
/// [`MAX_NAME`] bytes, and how many bytes the string takes with its quotes.
/// The content is not validated (it may hold a `\\` or a control
/// character): callers only compare it with known ASCII names, none of
/// which holds either, so a match means the string is exactly that name.
pub(super) fn short_name(s: &[u8]) -> Option<(&[u8], usize)> {
    if s.first() != Some(&b'"') {
        return None;
    }
    let body = &s[1..];
    // A plain loop: the names are a few bytes, shorter than a vectorised
    // search takes to start.
    for (n, &b) in body.iter().enumerate().take(MAX_NAME + 1) {
        if b == b'"' {
            return Some((&body[..n], n + 2));
        }
    }
    None
}

/// One open collection while a value is parsed.
enum Frame {
    List(Vec<Value>),
    /// Entries so far, and the key whose value is being parsed.
    Map(Vec<(Value, Value)>, Value),
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        // Most calls find no whitespace: one comparison says so.
        if self.s.get(self.i).is_some_and(|&b| b > b' ') {
            return;
        }
        while self.i < self.s.len() && is_ws(self.s[self.i]) {
            self.i += 1;
        }
    }

    fn syntax<T>(&self, expected: &'static str) -> R<T> {
        Err(Fail::Syntax { expected, at: self.i })
    }

    fn expect(&mut self, b: u8, expected: &'static str) -> R<()> {
        self.ws();
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            self.syntax(expected)
        }
    }

    fn event(&mut self, line: u64, max_depth: usize, raw_txn: bool) -> R<(Event, Option<Box<RawTxn>>)> {
        self.ws();
        if self.peek() != Some(b'{') {
            return self.syntax("an event object `{...}`");
        }
        self.i += 1;
        let mut seen = 0u16;
        // `type` and `f` when they are known names, matched as bytes;
        // otherwise what was found, for the checks below.
        let mut kind_known: Option<EventType> = None;
        let mut f_known: Option<F> = None;
        let mut kind_f: Option<Found<'a>> = None;
        let mut process: Option<Found<'a>> = None;
        let mut f: Option<Found<'a>> = None;
        let (mut key, mut value) = (Value::Nil, Value::Nil);
        // Micro-ops scanned raw; the general parser's value needs at least
        // this depth, and raw scanning must refuse what it refuses.
        let mut raw: Option<Box<RawTxn>> = None;
        let raw_txn = raw_txn && max_depth >= 3;
        let mut time: Option<Found<'a>> = None;
        let mut node: Option<Found<'a>> = None;
        let mut fin: Option<Found<'a>> = None;
        let mut index: Option<Found<'a>> = None;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return self.syntax("a field name in double quotes");
                }
                let name_at = self.i;
                // Known names are matched as bytes; any other name is
                // scanned (and validated) as a string.
                let field = match self.known(Field::of_name) {
                    Some(fl) => Some(fl),
                    None => match self.raw_str()? {
                        Some(raw) => Field::of_name(raw.as_bytes()),
                        // A name with escapes: decode it, then match.
                        None => {
                            self.i = name_at;
                            let name = self.string()?;
                            Field::of_name(name.as_bytes())
                        }
                    },
                };
                self.expect(b':', "`:` after the field name")?;
                self.ws();
                match field {
                    None => self.skip_value()?,
                    Some(fl) => {
                        let bit = 1u16 << fl as u16;
                        if seen & bit != 0 {
                            return Err(kind(InputErrorKind::Syntax {
                                format: "JSON",
                                expected: "each field at most once".into(),
                                found: format!("a second `{}`", fl.name()),
                            }));
                        }
                        seen |= bit;
                        match fl {
                            Field::Key => key = self.value(max_depth)?,
                            Field::Value => match raw_txn.then(|| self.txn_value()).flatten() {
                                Some(r) => raw = Some(r),
                                None => value = self.value(max_depth)?,
                            },
                            Field::Type => match self.known(EventType::parse_bytes) {
                                Some(t) => kind_known = Some(t),
                                None => kind_f = Some(self.found()?),
                            },
                            Field::Process => process = Some(self.found()?),
                            Field::F => match self.known(F::interned) {
                                Some(name) => f_known = Some(name),
                                None => f = Some(self.found()?),
                            },
                            Field::Time => time = Some(self.found()?),
                            Field::Node => node = Some(self.found()?),
                            Field::Final => fin = Some(self.found()?),
                            Field::Index => index = Some(self.found()?),
                        }
                    }
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        break;
                    }
                    _ => return self.syntax("`,` or `}` after a field"),
                }
            }
        }
        self.ws();
        if self.i < self.s.len() {
            return self.syntax("end of line after the object");
        }
        let kind_v = match (kind_known, &kind_f) {
            (Some(t), _) => t,
            (None, None) => return Err(kind(InputErrorKind::MissingField { field: "type", expected: TYPE_EXPECTED })),
            (None, Some(found)) => match found.as_str() {
                Some(s) => event_type(s).map_err(kind)?,
                None => return Err(bad("type", "a string: invoke, ok, fail or info", found)),
            },
        };
        let process = match &process {
            None => Process::Anonymous,
            Some(found) if found.is_null() => Process::Anonymous,
            Some(Found::Other(Value::Int(p))) if *p >= 0 => Process::Client(*p as u64),
            Some(found) if found.as_str() == Some("nemesis") => Process::Nemesis,
            Some(found) => return Err(bad("process", PROCESS_EXPECTED_JSON, found)),
        };
        debug_assert!(!matches!(process, Process::Client(p) if p > MAX_CLIENT_PROCESS));
        let f = match (f_known, &f) {
            (Some(name), _) => name,
            (None, None)
                if raw.as_ref().map_or_else(|| super::event::looks_like_txn(&value), |r| !r.mops.is_empty()) =>
            {
                F::Txn
            }
            (None, None) => {
                return Err(kind(InputErrorKind::MissingField {
                    field: "f",
                    expected: "the operation name, e.g. \"read\"",
                }))
            }
            (None, Some(found)) => match found.as_str() {
                Some(s) => op_name(s).map_err(kind)?,
                None => return Err(bad("f", "a string naming the operation", found)),
            },
        };
        let time_ns = match &time {
            None => None,
            Some(found) if found.is_null() => None,
            Some(Found::Other(Value::Int(t))) => Some(*t),
            Some(found) => return Err(bad("time", "an integer number of nanoseconds", found)),
        };
        let index = match &index {
            None => None,
            Some(found) if found.is_null() => None,
            Some(Found::Other(Value::Int(i))) if *i >= 0 => Some(*i as u64),
            Some(found) => return Err(bad("index", "a non-negative integer", found)),
        };
        let node = match &node {
            None => None,
            Some(found) if found.is_null() => None,
            Some(found) => match found.as_str() {
                Some(s) => Some(Box::from(s)),
                None => return Err(bad("node", "a string naming a node", found)),
            },
        };
        let is_final = match &fin {
            None => false,
            Some(Found::Other(Value::Bool(b))) => *b,
            Some(found) if found.is_null() => false,
            Some(found) => return Err(bad("final", "true or false", found)),
        };
        // Raw micro-ops only for a client's txn; anything else gets its value.
        if f != F::Txn || process == Process::Nemesis {
            if let Some(r) = raw.take() {
                value = r.to_value();
            }
        }
        let mut e = Event::new(line, kind_v, process, f, value);
        e.key = if key.is_nil() { None } else { Some(key) };
        e.time_ns = time_ns;
        e.index = index;
        e.node = node;
        e.is_final = is_final;
        Ok((e, raw))
    }

    /// At a `value`: a list of micro-ops `[f k v]` with `f` a micro-op
    /// name, `k` an integer or string and `v` null, an integer or string, or
    /// a list of those, scanned without building values; `None` (the
    /// scanner back where it was) for anything else, which the general
    /// parser then reads or rejects.
    fn txn_value(&mut self) -> Option<Box<RawTxn>> {
        let start = self.i;
        let r = self.try_txn_value();
        if r.is_none() {
            self.i = start;
        }
        r
    }

    fn try_txn_value(&mut self) -> Option<Box<RawTxn>> {
        if self.peek() != Some(b'[') {
            return None;
        }
        self.i += 1;
        // Room for Elle's usual transaction (at most 4 micro-ops, lists of
        // up to 32 elements per key) without growing.
        let mut t = RawTxn { mops: Vec::with_capacity(4), items: Vec::with_capacity(32) };
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Some(Box::new(t));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'[') {
                return None;
            }
            self.i += 1;
            self.ws();
            let (name, n) = short_name(&self.s[self.i..])?;
            let f = RawF::parse(name)?;
            self.i += n;
            self.raw_comma()?;
            let key = self.raw_scalar()?;
            self.raw_comma()?;
            self.ws();
            let v = match self.peek()? {
                b'n' if self.s[self.i..].starts_with(b"null") => {
                    self.i += 4;
                    RawVal::Nil
                }
                b'[' => {
                    self.i += 1;
                    let start = t.items.len() as u32;
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        loop {
                            t.items.push(self.raw_scalar()?);
                            self.ws();
                            match self.peek()? {
                                b',' => self.i += 1,
                                b']' => {
                                    self.i += 1;
                                    break;
                                }
                                _ => return None,
                            }
                        }
                    }
                    RawVal::List { start, len: t.items.len() as u32 - start }
                }
                _ => RawVal::One(self.raw_scalar()?),
            };
            self.ws();
            if self.peek() != Some(b']') {
                return None;
            }
            self.i += 1;
            t.mops.push(RawMop { f, key, v });
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Box::new(t));
                }
                _ => return None,
            }
        }
    }

    fn raw_comma(&mut self) -> Option<()> {
        self.ws();
        (self.peek() == Some(b',')).then(|| self.i += 1)
    }

    /// An integer within `i64` or a string without escapes, else `None`.
    fn raw_scalar(&mut self) -> Option<Scalar> {
        self.ws();
        match self.peek()? {
            b'"' => self.raw_str().ok()?.map(|s| Scalar::Str(s.into())),
            // The usual element: a few digits, then `,` or `]` (JSON has no
            // leading zeros; anything else goes the general way).
            b'1'..=b'9' => {
                let digits = self.s[self.i..].iter().take(19).take_while(|b| b.is_ascii_digit()).count();
                let end = self.i + digits;
                if digits <= 18 && matches!(self.s.get(end), Some(b',' | b']' | b' ')) {
                    let m = self.s[self.i..end].iter().fold(0i64, |m, &b| m * 10 + (b - b'0') as i64);
                    self.i = end;
                    return Some(Scalar::Int(m));
                }
                match self.number().ok()? {
                    Value::Int(i) => Some(Scalar::Int(i)),
                    _ => None,
                }
            }
            b'-' | b'0' => match self.number().ok()? {
                Value::Int(i) => Some(Scalar::Int(i)),
                _ => None,
            },
            _ => None,
        }
    }

    /// At `"`: the value `known` gives the string's bytes, when it is a
    /// short string that `known` recognises (the scanner moves past it);
    /// else `None`, the scanner unmoved.
    fn known<T>(&mut self, known: impl Fn(&[u8]) -> Option<T>) -> Option<T> {
        let (name, n) = short_name(&self.s[self.i..])?;
        let t = known(name)?;
        self.i += n;
        Some(t)
    }

    /// A typed field: a string without escapes borrowed as is, an integer
    /// without building a big one, or any value.
    fn found(&mut self) -> R<Found<'a>> {
        match self.peek() {
            Some(b'"') => match self.raw_str()? {
                Some(s) => Ok(Found::Str(s)),
                None => Ok(Found::Other(Value::Str(self.string()?.into()))),
            },
            // A collection is wrong for every typed field: validate it and
            // say which kind it was, whatever its depth.
            Some(c @ (b'[' | b'{')) => {
                self.skip_value()?;
                Ok(Found::Other(if c == b'[' { Value::List(Vec::new()) } else { Value::Map(ValueMap::default()) }))
            }
            Some(b'-' | b'0'..=b'9') => Ok(Found::Other(self.number()?)),
            // `null`, `true`, `false` or an error, as `value` would say.
            _ => Ok(Found::Other(self.literal()?)),
        }
    }

    /// At `"`: the string when it has no escapes (the scanner moves past
    /// it), else `None` (the scanner is left inside it). Control characters
    /// and invalid UTF-8 are refused.
    fn raw_str(&mut self) -> R<Option<&'a str>> {
        let start = self.i + 1;
        let rest = &self.s[start..];
        // Most strings are short names (`"type"`, `"ok"`): a plain loop
        // finds their end sooner than a vectorised search starts up.
        let n = match rest.iter().take(16).position(|&b| b == b'"' || b == b'\\') {
            Some(n) => n,
            None => match memchr::memchr2(b'"', b'\\', rest) {
                Some(n) => n,
                None => {
                    self.i = self.s.len();
                    return self.syntax("`\"` closing a string");
                }
            },
        };
        let body = &rest[..n];
        if let Some(c) = body.iter().position(|&b| b < 0x20) {
            self.i = start + c;
            return self.syntax("a string without raw control characters (escape them)");
        }
        if rest[n] == b'\\' {
            return Ok(None);
        }
        let Ok(text) = std::str::from_utf8(body) else {
            // Reported as invalid UTF-8 for the whole line by `parse_line`.
            return self.syntax("UTF-8 text");
        };
        self.i = start + n + 1;
        Ok(Some(text))
    }

    /// At `"`: the decoded string.
    fn string(&mut self) -> R<String> {
        let mut out = Vec::new();
        let mut i = self.i + 1;
        loop {
            let Some(n) = memchr::memchr2(b'"', b'\\', &self.s[i..]) else {
                self.i = self.s.len();
                return self.syntax("`\"` closing a string");
            };
            let body = &self.s[i..i + n];
            if let Some(c) = body.iter().position(|&b| b < 0x20) {
                self.i = i + c;
                return self.syntax("a string without raw control characters (escape them)");
            }
            out.extend_from_slice(body);
            i += n;
            if self.s[i] == b'"' {
                self.i = i + 1;
                // Invalid UTF-8 is reported for the whole line by the caller.
                return String::from_utf8(out).map_err(|_| Fail::Syntax { expected: "UTF-8 text", at: i });
            }
            let esc = self.s.get(i + 1).copied();
            let at = i;
            i += 2;
            let c = match esc {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    let hi = self.hex4(i)?;
                    i += 4;
                    let code = if (0xD800..0xDC00).contains(&hi) {
                        if self.s.get(i) != Some(&b'\\') || self.s.get(i + 1) != Some(&b'u') {
                            self.i = at;
                            return self.syntax("a low surrogate `\\uDC00`-`\\uDFFF` after a high surrogate");
                        }
                        let lo = self.hex4(i + 2)?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            self.i = at;
                            return self.syntax("a low surrogate `\\uDC00`-`\\uDFFF` after a high surrogate");
                        }
                        i += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        hi
                    };
                    match char::from_u32(code) {
                        Some(c) => c,
                        None => {
                            self.i = at;
                            return self.syntax("a unicode escape of a character (not a lone surrogate)");
                        }
                    }
                }
                None => {
                    self.i = self.s.len();
                    return self.syntax("an escape after `\\`");
                }
                Some(_) => {
                    self.i = at;
                    return self.syntax("a string escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
                }
            };
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }

    fn hex4(&mut self, i: usize) -> R<u32> {
        let Some(h) = self.s.get(i..i + 4) else {
            self.i = self.s.len();
            return self.syntax("four hex digits after `\\u`");
        };
        let mut v = 0u32;
        for (k, &b) in h.iter().enumerate() {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => {
                    self.i = i + k;
                    return self.syntax("four hex digits after `\\u`");
                }
            };
            v = v * 16 + d as u32;
        }
        Ok(v)
    }

    /// A number: an integer of any size, or a float (with `.` or exponent).
    fn number(&mut self) -> R<Value> {
        let s = self.s;
        let start = self.i;
        let mut i = start;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        // The integer part's value, exact while it has at most 18 digits.
        let mut m = 0u64;
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(&b) = s.get(i) {
                    let d = b.wrapping_sub(b'0');
                    if d > 9 {
                        break;
                    }
                    m = m.wrapping_mul(10).wrapping_add(d as u64);
                    i += 1;
                }
            }
            _ => {
                self.i = i;
                return self.syntax("a digit");
            }
        }
        let int_end = i;
        let mut float = false;
        // One or more digits from `i`: where they end.
        let digits = |this: &mut Self, i: usize, expected: &'static str| -> R<usize> {
            let n = s[i.min(s.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                this.i = i;
                return this.syntax(expected);
            }
            Ok(i + n)
        };
        if s.get(i) == Some(&b'.') {
            i = digits(self, i + 1, "a digit after the decimal point")?;
            float = true;
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            i = digits(self, i, "a digit in the exponent")?;
            float = true;
        }
        self.i = i;
        if !float {
            let neg = s[start] == b'-';
            let digits = &s[start + neg as usize..int_end];
            // Up to 18 digits cannot overflow i64.
            if digits.len() <= 18 {
                let m = m as i64;
                return Ok(Value::Int(if neg { -m } else { m }));
            }
        }
        // Only ASCII digits, signs, `.` and `e` were taken.
        let text = std::str::from_utf8(&s[start..i]).unwrap_or("");
        if !float {
            return Ok(parse_integer(text).unwrap_or_default());
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                self.i = start;
                self.syntax("a number within the range of a 64-bit float (write exact values as integers)")
            }
        }
    }

    /// A literal `null`, `true` or `false`.
    fn literal(&mut self) -> R<Value> {
        let rest = &self.s[self.i..];
        let (v, n) = if rest.starts_with(b"null") {
            (Value::Nil, 4)
        } else if rest.starts_with(b"true") {
            (Value::Bool(true), 4)
        } else if rest.starts_with(b"false") {
            (Value::Bool(false), 5)
        } else {
            return self.syntax("a JSON value");
        };
        self.i += n;
        Ok(v)
    }

    /// Any JSON value, nested at most `max_depth` deep. Iterative: hostile
    /// nesting cannot overflow the stack.
    fn value(&mut self, max_depth: usize) -> R<Value> {
        self.ws();
        // Most keys and values are numbers or null.
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => return self.number(),
            Some(b'n') if self.s[self.i..].starts_with(b"null") => {
                self.i += 4;
                return Ok(Value::Nil);
            }
            _ => {}
        }
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            self.ws();
            let v = match self.peek() {
                Some(b'"') => Value::Str(match self.raw_str()? {
                    Some(raw) => raw.into(),
                    None => self.string()?.into(),
                }),
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b'[') | Some(b'{') if stack.len() >= max_depth => {
                    return Err(kind(InputErrorKind::TooDeep { limit: max_depth }))
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        Value::List(Vec::new())
                    } else {
                        stack.push(Frame::List(Vec::new()));
                        continue;
                    }
                }
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        Value::Map(ValueMap::default())
                    } else {
                        let k = self.object_key()?;
                        stack.push(Frame::Map(Vec::new(), k));
                        continue;
                    }
                }
                None => return self.syntax("a JSON value"),
                Some(_) => self.literal()?,
            };
            // Hand the value to its parent, closing every collection that ends here.
            let mut v = v;
            loop {
                match stack.last_mut() {
                    None => return Ok(v),
                    Some(Frame::List(items)) => {
                        items.push(v);
                        self.ws();
                        match self.peek() {
                            Some(b',') => {
                                self.i += 1;
                                break;
                            }
                            Some(b']') => {
                                self.i += 1;
                                let Some(Frame::List(items)) = stack.pop() else { unreachable!("matched a list") };
                                v = Value::List(items);
                            }
                            _ => return self.syntax("`,` or `]` in an array"),
                        }
                    }
                    Some(Frame::Map(entries, k)) => {
                        entries.push((std::mem::take(k), v));
                        self.ws();
                        match self.peek() {
                            Some(b',') => {
                                self.i += 1;
                                let k = self.object_key()?;
                                if let Some(Frame::Map(_, slot)) = stack.last_mut() {
                                    *slot = k;
                                }
                                break;
                            }
                            Some(b'}') => {
                                self.i += 1;
                                let Some(Frame::Map(entries, _)) = stack.pop() else { unreachable!("matched a map") };
                                v = Value::Map(ValueMap::from_entries(entries).map_err(|k| {
                                    kind(InputErrorKind::Syntax {
                                        format: "JSON",
                                        expected: "each key at most once in an object".into(),
                                        found: format!("a second {}", super::event::quote(&k)),
                                    })
                                })?);
                            }
                            _ => return self.syntax("`,` or `}` in an object"),
                        }
                    }
                }
            }
        }
    }

    /// An object's key and the `:` after it.
    fn object_key(&mut self) -> R<Value> {
        self.ws();
        if self.peek() != Some(b'"') {
            return self.syntax("a key in double quotes");
        }
        let k = match self.raw_str()? {
            Some(raw) => raw.into(),
            None => self.string()?.into(),
        };
        self.expect(b':', "`:` after the key")?;
        Ok(Value::Str(k))
    }

    /// Validates and skips any JSON value without building it, nested to
    /// any depth (the stack is one byte per level, bounded by the line).
    fn skip_value(&mut self) -> R<()> {
        let mut open: Vec<u8> = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b'"') => {
                    if self.raw_str()?.is_none() {
                        self.string()?;
                    }
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                Some(c @ (b'[' | b'{')) => {
                    self.i += 1;
                    self.ws();
                    let close = if c == b'[' { b']' } else { b'}' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        if c == b'{' {
                            self.object_key()?;
                        }
                        open.push(close);
                        continue;
                    }
                }
                None => return self.syntax("a JSON value"),
                Some(_) => {
                    self.literal()?;
                }
            }
            loop {
                let Some(&close) = open.last() else { return Ok(()) };
                self.ws();
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if close == b'}' {
                            self.object_key()?;
                        }
                        break;
                    }
                    Some(c) if c == close => {
                        self.i += 1;
                        open.pop();
                    }
                    _ if close == b']' => return self.syntax("`,` or `]` in an array"),
                    _ => return self.syntax("`,` or `}` in an object"),
                }
            }
        }
    }
}

/// What `process` must be, in JSON terms.
const PROCESS_EXPECTED_JSON: &str = "a non-negative integer below 2^63, \"nemesis\", or null";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::EventType;

    fn p(s: &str) -> Result<Event, InputErrorKind> {
        parse_line(s.as_bytes(), 1, 127)
    }

    #[test]
    fn full_event() {
        let e = p(r#"{"type":"ok","process":2,"f":"cas","key":"k\n","value":[1,{"a":null}],"time":5,"node":"n1","final":true,"index":9,"extra":{"x":[1]}}"#).unwrap();
        assert_eq!((e.kind, e.process.clone(), e.f.clone()), (EventType::Ok, Process::Client(2), F::Cas));
        assert_eq!(e.key, Some(Value::str("k\n")));
        assert_eq!(e.value, Value::List(vec![1.into(), Value::map(vec![(Value::str("a"), Value::Nil)])]));
        assert_eq!((e.time_ns, e.index, e.node.as_deref(), e.is_final), (Some(5), Some(9), Some("n1"), true));
        let n = p(r#"{"type":"info","process":"nemesis","f":"partition","value":"majority"}"#).unwrap();
        assert_eq!(n.process, Process::Nemesis);
        assert_eq!(
            p(r#" {"type":"invoke","process":1,"f":"x","value":18446744073709551615} "#).unwrap().value,
            parse_integer("18446744073709551615").unwrap()
        );
    }

    #[test]
    fn field_errors() {
        assert_eq!(
            p(r#"{"process":1,"f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::MissingField { field: "type", expected: TYPE_EXPECTED }
        );
        // `value` may be left out: it is null.
        assert_eq!(p(r#"{"type":"ok","process":1,"f":"read"}"#).unwrap().value, Value::Nil);
        assert_eq!(
            p(r#"{"type":"done","process":1,"f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::UnknownType("done".into())
        );
        assert_eq!(
            p(r#"{"type":"ok","process":"abc","f":"read","value":null}"#).unwrap_err(),
            InputErrorKind::BadField { field: "process", expected: PROCESS_EXPECTED_JSON, found: "\"abc\"".into() }
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
        assert!(parse_line(ok.as_bytes(), 1, 5).is_ok());
        assert_eq!(parse_line(ok.as_bytes(), 1, 4).unwrap_err(), InputErrorKind::TooDeep { limit: 4 });
        // serde_json skips ignored fields without recursion: deep is fine there.
        let ignored = format!(
            r#"{{"type":"ok","process":1,"f":"read","value":1,"x":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(parse_line(ignored.as_bytes(), 1, 10).is_ok());
        let time = format!(
            r#"{{"type":"ok","process":1,"f":"read","value":1,"time":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(matches!(
            parse_line(time.as_bytes(), 1, 10).unwrap_err(),
            InputErrorKind::BadField { field: "time", .. }
        ));
    }

    /// The raw scan of a txn's micro-ops gives, converted back, exactly the
    /// event the general parser gives, and it declines (the general parser
    /// then decides) every shape it does not scan; errors are the same.
    #[test]
    fn raw_txn_scan_agrees_with_the_general_parser() {
        let raw_lines = [
            r#"{"type":"invoke","process":2,"f":"txn","value":[["append",5,1],["r",6,null]],"time":10}"#,
            r#"{"type":"ok","process":2,"f":"txn","value":[["append",5,1],["r",6,[1,2]]]}"#,
            r#"{"value": [ [ "w" , "x" , -3 ] , ["read","x", "s"], ["write", 0, 9223372036854775807] ], "f":"txn","type":"ok","process":0}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[]]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[999999999999999999 ,1000000000000000000,0,-7]]]}"#,
            // No `f`: a txn by its value, as the general parser decides.
            r#"{"type":"ok","process":1,"value":[["r",1,[3]]]}"#,
        ];
        let declined = [
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[1.5]]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[1,null]]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,99999999999999999999]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r","a\u0062",1]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["cas",1,[1,2]]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,2,3]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",[1],2]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,{"a":1}]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[[1]]]]}"#,
            // Not a txn: values as usual.
            r#"{"type":"ok","process":1,"f":"read","value":[["r",1,2]]}"#,
            r#"{"type":"info","process":"nemesis","f":"txn","value":[["r",1,2]]}"#,
        ];
        let malformed = [
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[1,2]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[1,2]]],}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[1,2]],]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,[01]]]}"#,
            r#"{"type":"ok","process":1,"f":"txn","value":[["r",1,"a"#,
            "{\"type\":\"ok\",\"process\":1,\"f\":\"txn\",\"value\":[[\"r\",1,\"\u{1}\"]]}",
        ];
        for (i, line) in raw_lines.iter().chain(&declined).chain(&malformed).enumerate() {
            let general = parse_line(line.as_bytes(), 1, 127);
            for depth in [2, 3, 127] {
                let want = parse_line(line.as_bytes(), 1, depth);
                let got = parse_line_raw(line.as_bytes(), 1, depth, true).map(|(mut e, raw)| {
                    if depth >= 3 && i < raw_lines.len() {
                        assert!(raw.is_some(), "{line}: scanned raw");
                    }
                    if i >= raw_lines.len() {
                        assert!(raw.is_none(), "{line}: declined");
                    }
                    if let Some(r) = raw {
                        assert!(e.value.is_nil());
                        e.value = r.to_value();
                    }
                    e
                });
                assert_eq!(got, want, "{line} at depth {depth}");
            }
            assert_eq!(general.is_err(), i >= raw_lines.len() + declined.len(), "{line}: {general:?}");
        }
    }
}
