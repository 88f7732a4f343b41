//! A fast path for the common Jepsen op map, `{:type :ok, :f :read,
//! :process 3, :value [1 nil], :time 12, :index 7}`: scanned straight to an
//! [`Event`] without building the map as a [`Value`] first. The typed
//! fields are matched as bytes and integers accumulated while their digits
//! are scanned (no keyword string allocated for `:type`, `:f` or
//! `:process`, no sorting); only `:key` and `:value` become values, and a
//! `[k v]` value is handed over as its two parts ([`OpMap::tuple`]), so
//! that the reader can split a jepsen.independent tuple without building
//! the vector.
//!
//! It only ever says yes or "not me": any map it does not fully understand
//! (a key it does not know, a key twice, a float, an escape, a comment, a
//! tag, a set, a nested map, a non-ASCII byte, ...) gets `None`, and the
//! general parser ([`super::edn`]) and [`super::event::event_from_edn`] read
//! it instead, errors included. So an accepted map gives exactly the event
//! the general path gives (`read::tests::edn_fast_path_agrees_*`).

use crate::history::{Event, EventType, Process, F};
use crate::value::Value;

/// An op map the fast path read.
#[derive(Debug, PartialEq)]
pub(crate) struct OpMap {
    /// The event; when `tuple` is set, its value is a placeholder (nil).
    pub event: Event,
    /// The two parts of a `:value` that was a two-element vector or list
    /// `[k v]`: the event's value is `Value::List(vec![k, v])`.
    pub tuple: Option<(Value, Value)>,
    /// The offset just past the map's `}`.
    pub end: usize,
}

impl OpMap {
    /// The event with its value whole (the tuple rebuilt as a list).
    #[cfg(test)]
    pub(crate) fn into_event(self) -> Event {
        let mut e = self.event;
        if let Some((k, v)) = self.tuple {
            e.value = Value::List(vec![k, v]);
        }
        e
    }
}

/// What a byte is to the scanner of tokens (keywords, symbols, numbers).
const DELIM: u8 = 0;
const TOKEN: u8 = 1;
/// A byte the fast path leaves to the general parser (control characters
/// other than the usual whitespace, `\`, non-ASCII bytes).
const REFUSE: u8 = 2;

/// The class of every byte: `,`, space, tab, CR, LF, brackets, `"` and `;`
/// end a token, as for the general parser; printable ASCII but `\` is
/// part of one.
static CLASS: [u8; 256] = {
    let mut t = [REFUSE; 256];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = TOKEN;
        b += 1;
    }
    t[b'\\' as usize] = REFUSE;
    let delims = b" ,\t\n\r[](){}\";";
    let mut i = 0;
    while i < delims.len() {
        t[delims[i] as usize] = DELIM;
        i += 1;
    }
    t
};

/// The op map starting at `s[at] == b'{'`: its event (line 0: the caller
/// numbers it) and where it ends; `None` to leave it to the general
/// parser. `max_depth` is the reader's nesting limit.
pub(crate) fn op_map(s: &[u8], at: usize, max_depth: usize) -> Option<OpMap> {
    if max_depth == 0 || s.get(at) != Some(&b'{') {
        return None;
    }
    let mut p = Fast { s, i: at + 1, max_depth: max_depth.min(4) };
    let mut seen = 0u16;
    let mut kind = None;
    let mut f = None;
    let mut process = Process::Anonymous;
    let (mut key, mut value, mut tuple) = (None, Value::Nil, None);
    let (mut time_ns, mut index, mut node, mut is_final) = (None, None, None, false);
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
        let bit = p.field()?;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        p.ws();
        // As `event_from_edn` judges each field; anything it would refuse
        // (or treat specially) is left to it.
        match bit {
            1 => kind = Some(p.event_type()?),
            2 => {
                process = match p.peek()? {
                    b'0'..=b'9' => Process::Client(p.integer()? as u64),
                    b':' | b'"' if p.name()? == b"nemesis" => Process::Nemesis,
                    b'n' => p.nil()?.then_some(Process::Anonymous)?,
                    _ => return None,
                }
            }
            4 => {
                let name = p.name()?;
                // A keyword is never empty; a string may be.
                if name.is_empty() {
                    return None;
                }
                // The scanner takes ASCII bytes only: `name` is UTF-8.
                f = Some(F::interned(name).unwrap_or_else(|| F::Other(ascii(name).into())));
            }
            8 => key = Some(p.value(1)?),
            16 => match p.value_or_tuple()? {
                Ok(v) => value = v,
                Err(kv) => tuple = Some(kv),
            },
            32 => time_ns = p.nil_or(|p| p.integer())?,
            64 => index = p.nil_or(|p| p.peek().is_some_and(|b| b != b'-').then(|| p.integer()).flatten())?,
            128 => {
                node = match p.peek()? {
                    b':' | b'"' => Some(ascii(p.name()?).into()),
                    b'n' if p.nil()? => None,
                    _ => return None,
                }
            }
            _ => {
                is_final = match p.token()? {
                    b"true" => true,
                    b"false" | b"nil" => false,
                    _ => return None,
                }
            }
        }
    }
    let mut event = Event::new(0, kind?, process, f?, value);
    event.key = key.filter(|k| !k.is_nil());
    event.time_ns = time_ns;
    event.index = index.map(|i| i as u64);
    event.node = node;
    event.is_final = is_final;
    Some(OpMap { event, tuple, end: p.i })
}

/// Bytes the scanner took as ASCII, as text.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

struct Fast<'a> {
    s: &'a [u8],
    i: usize,
    max_depth: usize,
}

impl<'a> Fast<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Spaces, commas, tabs and line ends (a comment is left to the general
    /// parser: `peek` then sees `;`, which nothing here accepts).
    fn ws(&mut self) {
        while let Some(b' ' | b',' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// A token of plain ASCII symbol characters from `i`, which a delimiter
    /// must end (not the end of the text, where it may be cut).
    fn token(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        let mut j = start;
        loop {
            match CLASS[*self.s.get(j)? as usize] {
                TOKEN => j += 1,
                DELIM => break,
                _ => return None,
            }
        }
        self.i = j;
        Some(&self.s[start..j])
    }

    /// At `:`: the keyword's name.
    fn keyword(&mut self) -> Option<&'a [u8]> {
        self.i += 1;
        let name = self.token()?;
        (!name.is_empty() && name[0] != b':').then_some(name)
    }

    /// At `:`: the field a key names, as its bit (see [`op_map`]), the
    /// scanner past it; `None` for any other key. Names are matched as
    /// bytes: a known name must be followed by a delimiter, or the key is
    /// longer, unknown (or refused), which is `None` as well.
    fn field(&mut self) -> Option<u16> {
        let rest = &self.s[self.i + 1..];
        let (bit, n) = match rest {
            [b't', b'y', b'p', b'e', ..] => (1, 4),
            [b't', b'i', b'm', b'e', ..] => (32, 4),
            [b'p', b'r', b'o', b'c', b'e', b's', b's', ..] => (2, 7),
            [b'f', b'i', b'n', b'a', b'l', b'?', ..] => (256, 6),
            [b'f', b'i', b'n', b'a', b'l', ..] => (256, 5),
            [b'f', ..] => (4, 1),
            [b'k', b'e', b'y', ..] => (8, 3),
            [b'v', b'a', b'l', b'u', b'e', ..] => (16, 5),
            [b'i', b'n', b'd', b'e', b'x', ..] => (64, 5),
            [b'n', b'o', b'd', b'e', ..] => (128, 4),
            _ => return None,
        };
        if CLASS[*rest.get(n)? as usize] != DELIM {
            return None;
        }
        self.i += 1 + n;
        Some(bit)
    }

    /// The `:type`: the four keywords matched as bytes, anything else as
    /// a name.
    fn event_type(&mut self) -> Option<EventType> {
        let rest = &self.s[self.i..];
        let (t, n) = match rest {
            [b':', b'o', b'k', ..] => (EventType::Ok, 3),
            [b':', b'i', b'n', b'v', b'o', b'k', b'e', ..] => (EventType::Invoke, 7),
            [b':', b'i', b'n', b'f', b'o', ..] => (EventType::Info, 5),
            [b':', b'f', b'a', b'i', b'l', ..] => (EventType::Fail, 5),
            _ => return EventType::parse_bytes(self.name()?),
        };
        if CLASS[*rest.get(n)? as usize] != DELIM {
            return None;
        }
        self.i += n;
        Some(t)
    }

    /// At `"`: a string of printable ASCII without escapes, as bytes.
    fn string(&mut self) -> Option<&'a [u8]> {
        let body = &self.s[self.i + 1..];
        let n = body.iter().position(|&b| !(b' '..=b'~').contains(&b) || b == b'"' || b == b'\\')?;
        if body[n] != b'"' {
            return None;
        }
        self.i += n + 2;
        Some(&body[..n])
    }

    /// A keyword's name or a string's text: the same `Value::Str` to
    /// `event_from_edn`.
    fn name(&mut self) -> Option<&'a [u8]> {
        match self.peek()? {
            b':' => self.keyword(),
            b'"' => self.string(),
            _ => None,
        }
    }

    /// Whether the token here is `nil` (`None`: it is no token).
    fn nil(&mut self) -> Option<bool> {
        Some(self.token()? == b"nil")
    }

    /// `nil` as `Some(None)`, else what `then` reads.
    fn nil_or<T>(&mut self, then: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek()? == b'n' {
            return self.nil()?.then_some(None);
        }
        then(self).map(Some)
    }

    /// A scalar, or a vector or list of values nested at most `max_depth`
    /// deep; `depth` collections are open around it.
    fn value(&mut self, depth: usize) -> Option<Value> {
        match self.peek()? {
            b':' => Some(Value::Str(ascii(self.keyword()?).into())),
            b'0'..=b'9' | b'-' => self.integer().map(Value::Int),
            b'n' | b't' | b'f' => match self.token()? {
                b"nil" => Some(Value::Nil),
                b"true" => Some(Value::Bool(true)),
                b"false" => Some(Value::Bool(false)),
                _ => None,
            },
            b'"' => Some(Value::Str(ascii(self.string()?).into())),
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

    /// The map's `:value` (depth 1): `Err((k, v))` for a vector or list of
    /// exactly two elements, which is not built.
    fn value_or_tuple(&mut self) -> Option<Result<Value, (Value, Value)>> {
        let open = self.peek()?;
        if !matches!(open, b'[' | b'(') || self.max_depth <= 1 {
            return self.value(1).map(Ok);
        }
        let close = if open == b'[' { b']' } else { b')' };
        let start = self.i;
        self.i += 1;
        self.ws();
        if self.peek()? != close {
            let k = self.value(2)?;
            self.ws();
            if self.peek()? != close {
                let v = self.value(2)?;
                self.ws();
                if self.peek()? == close {
                    self.i += 1;
                    return Some(Err((k, v)));
                }
            }
        }
        // Not two elements: read it whole.
        self.i = start;
        self.value(1).map(Ok)
    }

    /// An integer of at most 18 digits, no sign but `-`, no leading zero,
    /// ended by a delimiter; its digits are accumulated as they are read.
    fn integer(&mut self) -> Option<i64> {
        let s = self.s;
        let (m, j) = super::event::short_integer(s, self.i)?;
        let neg = s[self.i] == b'-';
        let start = self.i + neg as usize;
        let n = j - start;
        // A delimiter must follow (not the end: the token may be cut).
        if CLASS[*s.get(j)? as usize] != DELIM {
            return None;
        }
        if s[start] == b'0' && (n > 1 || neg) {
            return None;
        }
        self.i = j;
        Some(m)
    }
}
