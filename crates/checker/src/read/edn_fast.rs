//! A fast path for the common Jepsen op map, `{:type :ok, :f :read,
//! :process 3, :value [1 nil], :time 12, :index 7}`: scanned straight to an
//! [`Event`] without building the map as a [`Value`] first (no keyword
//! strings allocated, no sorting).
//!
//! It only ever says yes or "not me": any map it does not fully understand
//! (a key it does not know, a key twice, a float, an escape, a comment, a
//! tag, a set, a nested map, a non-ASCII byte, ...) gets `None`, and the
//! general parser ([`super::edn`]) and [`super::event::event_from_edn`] read
//! it instead, errors included. So an accepted map gives exactly the event
//! the general path gives (`read::tests::edn_fast_path_agrees_*`).

use crate::history::{Event, EventType, Process, F};
use crate::value::Value;

/// The op map starting at `s[at] == b'{'`: its event (line 0: the caller
/// numbers it) and the offset just past its `}`; `None` to leave it to the
/// general parser. `max_depth` is the reader's nesting limit.
pub(crate) fn op_map(s: &[u8], at: usize, max_depth: usize) -> Option<(Event, usize)> {
    if max_depth == 0 || s.get(at) != Some(&b'{') {
        return None;
    }
    let mut p = Fast { s, i: at + 1, max_depth: max_depth.min(4) };
    let mut seen = 0u16;
    let (mut kind, mut process, mut f, mut key, mut value) = (None, None, None, None, None);
    let (mut time, mut index, mut node, mut fin) = (None, None, None, None);
    loop {
        p.ws();
        match p.peek()? {
            b'}' => {
                p.i += 1;
                break;
            }
            b':' => {}
            _ => return None,
        }
        let name = p.keyword()?;
        let (bit, slot): (u16, &mut Option<Value>) = match name {
            b"type" => (1, &mut kind),
            b"process" => (2, &mut process),
            b"f" => (4, &mut f),
            b"key" => (8, &mut key),
            b"value" => (16, &mut value),
            b"time" => (32, &mut time),
            b"index" => (64, &mut index),
            b"node" => (128, &mut node),
            b"final?" | b"final" => (256, &mut fin),
            _ => return None,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        p.ws();
        *slot = Some(p.value(1)?);
    }
    // As `event_from_edn` judges the fields; anything it would refuse (or
    // treat specially, like a missing `:f`) is left to it.
    let kind = match kind? {
        Value::Str(s) => EventType::parse(&s)?,
        _ => return None,
    };
    let process = match process {
        None | Some(Value::Nil) => Process::Anonymous,
        Some(Value::Int(p)) if p >= 0 => Process::Client(p as u64),
        Some(Value::Str(s)) if &*s == "nemesis" => Process::Nemesis,
        _ => return None,
    };
    let f = match f? {
        Value::Str(s) if !s.is_empty() => F::parse(&s),
        _ => return None,
    };
    let time_ns = match time {
        None | Some(Value::Nil) => None,
        Some(Value::Int(t)) => Some(t),
        _ => return None,
    };
    let index = match index {
        None | Some(Value::Nil) => None,
        Some(Value::Int(i)) if i >= 0 => Some(i as u64),
        _ => return None,
    };
    let node = match node {
        None | Some(Value::Nil) => None,
        Some(Value::Str(s)) => Some(s),
        _ => return None,
    };
    let is_final = match fin {
        None | Some(Value::Nil) => false,
        Some(Value::Bool(b)) => b,
        _ => return None,
    };
    let mut e = Event::new(0, kind, process, f, value.unwrap_or(Value::Nil));
    e.key = key.filter(|k| !k.is_nil());
    e.time_ns = time_ns;
    e.index = index;
    e.node = node;
    e.is_final = is_final;
    Some((e, p.i))
}

struct Fast<'a> {
    s: &'a [u8],
    i: usize,
    max_depth: usize,
}

/// Where a token ends, as for the general parser (whitespace includes `,`).
fn is_delim(b: u8) -> bool {
    matches!(b, b' ' | b',' | b'\t' | b'\n' | b'\r' | b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'"' | b';')
}

impl Fast<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Spaces, commas, tabs and line ends (a comment is left to the general
    /// parser: `peek` then sees `;`, which nothing here accepts).
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b',' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A token of plain ASCII symbol characters from `i`, which a delimiter
    /// must end (not the end of the text, where it may be cut).
    fn token(&mut self) -> Option<&[u8]> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if is_delim(b) {
                break;
            }
            if !(b.is_ascii_graphic() && b != b'\\') {
                return None;
            }
            self.i += 1;
        }
        self.peek()?;
        Some(&self.s[start..self.i])
    }

    /// At `:`: the keyword's name.
    fn keyword(&mut self) -> Option<&[u8]> {
        self.i += 1;
        let name = self.token()?;
        (!name.is_empty() && name[0] != b':').then_some(name)
    }

    /// A scalar, or a vector or list of values nested at most `max_depth`
    /// deep; `depth` collections are open around it.
    fn value(&mut self, depth: usize) -> Option<Value> {
        match self.peek()? {
            b':' => {
                let name = self.keyword()?;
                Some(Value::Str(std::str::from_utf8(name).ok()?.into()))
            }
            b'0'..=b'9' | b'-' => self.integer(),
            b'n' | b't' | b'f' => match self.token()? {
                b"nil" => Some(Value::Nil),
                b"true" => Some(Value::Bool(true)),
                b"false" => Some(Value::Bool(false)),
                _ => None,
            },
            b'"' => {
                let body = &self.s[self.i + 1..];
                let n = body.iter().position(|&b| !(b' '..=b'~').contains(&b) || b == b'"' || b == b'\\')?;
                if body[n] != b'"' {
                    return None;
                }
                let text = std::str::from_utf8(&body[..n]).ok()?;
                self.i += n + 2;
                Some(Value::Str(text.into()))
            }
            open @ (b'[' | b'(') => {
                if depth >= self.max_depth {
                    return None;
                }
                let close = if open == b'[' { b']' } else { b')' };
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek()? == close {
                        self.i += 1;
                        return Some(Value::List(items));
                    }
                    items.push(self.value(depth + 1)?);
                }
            }
            _ => None,
        }
    }

    /// An integer of at most 18 digits, no sign but `-`, no leading zero,
    /// ended by a delimiter.
    fn integer(&mut self) -> Option<Value> {
        let neg = self.peek() == Some(b'-');
        let tok = self.token()?;
        let digits = if neg { &tok[1..] } else { tok };
        if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if digits[0] == b'0' && (digits.len() > 1 || neg) {
            return None;
        }
        let m = digits.iter().fold(0i64, |m, &d| m * 10 + (d - b'0') as i64);
        Some(Value::Int(if neg { -m } else { m }))
    }
}
