//! An EDN value parser (https://github.com/edn-format/edn) producing [`Value`]s.
//!
//! Iterative (an explicit stack, bounded by `max_depth`), so hostile nesting
//! cannot overflow the call stack. Mapping: `nil` -> `Nil`; keywords and
//! symbols -> `Str` without the colon (`:foo/bar` -> `"foo/bar"`); characters
//! -> one-character `Str`; vectors and lists -> `List`; sets -> `Value::set`;
//! `#tag form` (e.g. `#inst "..."`, `#jepsen.history.Op{...}`) -> the form;
//! `#_ form` is discarded; `##Inf`/`##-Inf`/`##NaN` -> `Float`. Numbers are
//! exact: integers of any size (`N` or not) -> `Int`/`BigInt`, `1.5M` ->
//! `Decimal`, other floats -> `Float`; ratios (`1/3`) are an error. A map
//! with a repeated key or a set with a repeated element is an error, as in
//! Clojure's reader.

use crate::value::Value;

/// Why parsing stopped. `offset` is a byte offset into the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EdnError {
    pub offset: usize,
    pub kind: EdnErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EdnErrorKind {
    /// The input ended inside a form; more input might complete it.
    Eof {
        expected: &'static str,
    },
    Syntax {
        expected: String,
        found: String,
    },
    TooDeep,
}

/// The outcome of [`next_form`].
#[derive(Debug, PartialEq)]
pub(crate) enum Next {
    /// A complete top-level form spanning `start..end`.
    Form { value: Value, start: usize, end: usize },
    /// A closing bracket at depth 0 (not consumed), at `offset`.
    Close { ch: u8, offset: usize },
    /// Only whitespace, comments and discarded forms up to `offset` (the end).
    End { offset: usize },
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Vector,
    List,
    Set,
    Map,
    /// `#_`: the next form is dropped.
    Discard,
    /// `#tag`: the next form is kept as is.
    Tag,
}

impl Kind {
    fn closer(self) -> Option<u8> {
        match self {
            Kind::Vector => Some(b']'),
            Kind::List => Some(b')'),
            Kind::Set | Kind::Map => Some(b'}'),
            Kind::Discard | Kind::Tag => None,
        }
    }

    fn eof_expected(self) -> &'static str {
        match self {
            Kind::Vector => "`]` closing a vector",
            Kind::List => "`)` closing a list",
            Kind::Set => "`}` closing a set",
            Kind::Map => "`}` closing a map",
            Kind::Discard => "a form after `#_`",
            Kind::Tag => "a form after a `#tag`",
        }
    }
}

struct Frame {
    kind: Kind,
    items: Vec<Value>,
    start: usize,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'\x0b' | b'\x0c')
}

fn is_delim(b: u8) -> bool {
    is_ws(b) || matches!(b, b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'"' | b';')
}

/// Whether no delimiter follows offset `i` in `s`: a token there runs to
/// the end of the text, so it may be only the start of a longer one that
/// a reader has not yet read (`:` of `:ok`, `1.` of `1.5`, `##` of `##Inf`).
pub(crate) fn runs_to_end(s: &[u8], i: usize) -> bool {
    s.get(i..).is_some_and(|rest| !rest.iter().any(|&b| is_delim(b)))
}

/// Skips whitespace, commas and `;` comments from `i`; returns the new offset.
pub(crate) fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() {
        let b = s[i];
        if is_ws(b) {
            i += 1;
        } else if b == b';' {
            i = match memchr::memchr(b'\n', &s[i..]) {
                Some(n) => i + n + 1,
                None => s.len(),
            };
        } else {
            break;
        }
    }
    i
}

/// A short, printable description of what is at `i`, for error messages.
pub(crate) fn describe_at(src: &str, i: usize) -> String {
    let Some(rest) = src.get(i..) else { return "end of input".into() };
    let Some(c) = rest.chars().next() else { return "end of input".into() };
    if c.is_control() || c == '\u{fffd}' {
        return format!("character {:?}", c);
    }
    let token: String = rest.chars().take_while(|&c| !c.is_whitespace() && !c.is_control()).take(24).collect();
    if token.is_empty() {
        format!("{c:?}")
    } else {
        format!("`{token}`")
    }
}

/// Parses the next top-level form of `src` starting at byte `pos`.
pub(crate) fn next_form(src: &str, pos: usize, max_depth: usize) -> Result<Next, EdnError> {
    Parser { src, s: src.as_bytes(), i: pos, max_depth }.run()
}

/// Parses exactly one form filling `src` (surrounding whitespace allowed).
pub(crate) fn parse_one(src: &str, max_depth: usize) -> Result<Value, EdnError> {
    match next_form(src, 0, max_depth)? {
        Next::Form { value, end, .. } => {
            let rest = skip_ws(src.as_bytes(), end);
            if rest < src.len() {
                return Err(EdnError {
                    offset: rest,
                    kind: EdnErrorKind::Syntax { expected: "end of input".into(), found: describe_at(src, rest) },
                });
            }
            Ok(value)
        }
        Next::Close { offset, .. } => Err(EdnError {
            offset,
            kind: EdnErrorKind::Syntax { expected: "a form".into(), found: describe_at(src, offset) },
        }),
        Next::End { offset } => Err(EdnError { offset, kind: EdnErrorKind::Eof { expected: "a form" } }),
    }
}

struct Parser<'a> {
    src: &'a str,
    s: &'a [u8],
    i: usize,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn syntax(&self, at: usize, expected: impl Into<String>) -> EdnError {
        EdnError {
            offset: at,
            kind: EdnErrorKind::Syntax { expected: expected.into(), found: describe_at(self.src, at) },
        }
    }

    /// A collection that repeats `what`, which Clojure's reader refuses too.
    fn dup(&self, at: usize, expected: &str, what: &Value) -> EdnError {
        let found = format!("a second {}", crate::value::quote(what));
        EdnError { offset: at, kind: EdnErrorKind::Syntax { expected: expected.into(), found } }
    }

    fn eof(&self, expected: &'static str) -> EdnError {
        EdnError { offset: self.s.len(), kind: EdnErrorKind::Eof { expected } }
    }

    fn push(&self, stack: &mut Vec<Frame>, kind: Kind, start: usize) -> Result<(), EdnError> {
        if stack.len() >= self.max_depth {
            return Err(EdnError { offset: start, kind: EdnErrorKind::TooDeep });
        }
        stack.push(Frame { kind, items: Vec::new(), start });
        Ok(())
    }

    fn run(&mut self) -> Result<Next, EdnError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut form_start = self.i;
        loop {
            self.i = skip_ws(self.s, self.i);
            if self.i >= self.s.len() {
                return match stack.last() {
                    None => Ok(Next::End { offset: self.i }),
                    Some(f) => Err(self.eof(f.kind.eof_expected())),
                };
            }
            let start = self.i;
            if stack.is_empty() {
                form_start = start;
            }
            let c = self.s[start];
            let value = match c {
                b'[' | b'(' | b'{' => {
                    let kind = match c {
                        b'[' => Kind::Vector,
                        b'(' => Kind::List,
                        _ => Kind::Map,
                    };
                    self.push(&mut stack, kind, start)?;
                    self.i += 1;
                    continue;
                }
                b']' | b')' | b'}' => {
                    let Some(top) = stack.last() else {
                        return Ok(Next::Close { ch: c, offset: start });
                    };
                    match top.kind.closer() {
                        Some(want) if want == c => {}
                        Some(want) => {
                            return Err(self.syntax(start, format!("`{}`", want as char)));
                        }
                        None => return Err(self.syntax(start, top.kind.eof_expected())),
                    }
                    self.i += 1;
                    let frame = stack.pop().expect("checked non-empty");
                    match frame.kind {
                        Kind::Vector | Kind::List => Value::List(frame.items),
                        Kind::Set => {
                            let mut items = frame.items;
                            items.sort();
                            if let Some(w) = items.windows(2).position(|w| w[0] == w[1]) {
                                let expected = "each element at most once in a set";
                                return Err(self.dup(frame.start, expected, &items[w]));
                            }
                            Value::Set(items)
                        }
                        Kind::Map => {
                            if !frame.items.len().is_multiple_of(2) {
                                let expected = "a value for every key in the map (it has an odd number of forms)";
                                return Err(self.syntax(frame.start, expected));
                            }
                            let mut entries = Vec::with_capacity(frame.items.len() / 2);
                            let mut it = frame.items.into_iter();
                            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                                entries.push((k, v));
                            }
                            match crate::value::ValueMap::from_entries(entries) {
                                Ok(m) => Value::Map(m),
                                Err(k) => return Err(self.dup(frame.start, "each key at most once in a map", &k)),
                            }
                        }
                        Kind::Discard | Kind::Tag => unreachable!("closer() is None for these"),
                    }
                }
                b'#' => match self.s.get(start + 1) {
                    None => return Err(self.eof("a dispatch form after `#`")),
                    Some(b'{') => {
                        self.push(&mut stack, Kind::Set, start)?;
                        self.i += 2;
                        continue;
                    }
                    Some(b'_') => {
                        self.push(&mut stack, Kind::Discard, start)?;
                        self.i += 2;
                        continue;
                    }
                    Some(b'#') => {
                        let tok = self.token(start + 2);
                        let v = match tok {
                            "Inf" => f64::INFINITY,
                            "-Inf" => f64::NEG_INFINITY,
                            "NaN" => f64::NAN,
                            _ => return Err(self.syntax(start, "##Inf, ##-Inf or ##NaN")),
                        };
                        self.i = start + 2 + tok.len();
                        Value::Float(v)
                    }
                    Some(&b) if b.is_ascii_alphabetic() || b == b':' => {
                        // A tagged literal or record: `#inst "..."`, `#my.ns.Rec{...}`.
                        let tok = self.token(start + 1);
                        self.i = start + 1 + tok.len();
                        self.push(&mut stack, Kind::Tag, start)?;
                        continue;
                    }
                    Some(_) => return Err(self.syntax(start, "`#{`, `#_`, `##` or a `#tag`")),
                },
                b'"' => self.string()?,
                b'\\' => self.character()?,
                b':' => {
                    let tok = self.token(start + 1);
                    if tok.is_empty() || tok.starts_with(':') {
                        return Err(self.syntax(start, "a keyword name after `:`"));
                    }
                    self.check_token(start + 1, tok)?;
                    self.i = start + 1 + tok.len();
                    Value::Str(tok.into())
                }
                b'0'..=b'9' => self.number()?,
                b'+' | b'-' if self.s.get(start + 1).is_some_and(|b| b.is_ascii_digit()) => self.number()?,
                _ => {
                    let tok = self.token(start);
                    if tok.is_empty()
                        || c.is_ascii_control()
                        || !(c >= 0x80 || b"*+!-_?<>=./&$%|'".contains(&c) || c.is_ascii_alphabetic())
                    {
                        return Err(self.syntax(start, "a form"));
                    }
                    self.check_token(start, tok)?;
                    self.i = start + tok.len();
                    match tok {
                        "nil" => Value::Nil,
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => Value::Str(tok.into()),
                    }
                }
            };
            // Hand the finished value to its parent frame.
            let mut value = value;
            loop {
                match stack.last_mut() {
                    None => return Ok(Next::Form { value, start: form_start, end: self.i }),
                    Some(f) if f.kind == Kind::Tag => {
                        stack.pop();
                    }
                    Some(f) if f.kind == Kind::Discard => {
                        stack.pop();
                        break;
                    }
                    Some(f) => {
                        f.items.push(std::mem::take(&mut value));
                        break;
                    }
                }
            }
            // Reaching here means the value went into a collection or was
            // discarded (at top level too: then keep looking for a form).
        }
    }

    /// The token starting at `i`: everything up to a delimiter.
    fn token(&self, i: usize) -> &'a str {
        let end = self.s[i.min(self.s.len())..].iter().position(|&b| is_delim(b)).map_or(self.s.len(), |n| i + n);
        // Delimiters are ASCII, so `i..end` lies on char boundaries.
        self.src.get(i..end).unwrap_or("")
    }

    fn check_token(&self, i: usize, tok: &str) -> Result<(), EdnError> {
        if let Some(n) = tok.bytes().position(|b| b.is_ascii_control() || b == b'\\') {
            return Err(self.syntax(i + n, "a symbol or keyword character"));
        }
        Ok(())
    }

    /// Numbers are exact: integers of any size (with or without `N`),
    /// decimals with `M`, floats (IEEE doubles, finite). Ratios (`1/3`) are
    /// refused: no conch value holds them exactly.
    fn number(&mut self) -> Result<Value, EdnError> {
        let start = self.i;
        let tok = self.token(start);
        self.i = start + tok.len();
        let bad = |p: &Parser<'_>| p.syntax(start, "a number");
        let (body, big) = match tok.strip_suffix('N') {
            Some(b) => (b, true),
            None => (tok, false),
        };
        let digits = body.strip_prefix(['+', '-']).unwrap_or(body);
        let is_int = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        if is_int {
            if digits.len() > 1 && digits.starts_with('0') {
                return Err(self.syntax(start, "a number without leading zeros"));
            }
            return crate::value::parse_integer(body).ok_or_else(|| bad(self));
        }
        if big {
            return Err(bad(self));
        }
        if tok.contains('/') {
            return Err(self.syntax(start, "a number that is not a ratio (write a decimal, `0.25M`, or a float)"));
        }
        if let Some(body) = tok.strip_suffix('M') {
            return crate::value::Decimal::parse(body).map(Value::Decimal).ok_or_else(|| bad(self));
        }
        let ok_chars = tok.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        match tok.parse::<f64>() {
            Ok(f) if ok_chars && f.is_finite() => Ok(Value::Float(f)),
            Ok(_) if ok_chars => {
                Err(self.syntax(start, "a float within the range of a 64-bit double (or a decimal with M)"))
            }
            _ => Err(bad(self)),
        }
    }

    fn string(&mut self) -> Result<Value, EdnError> {
        let open = self.i;
        let mut i = open + 1;
        let mut out = String::new();
        loop {
            let Some(n) = memchr::memchr2(b'"', b'\\', &self.s[i..]) else {
                return Err(self.eof("`\"` closing a string"));
            };
            out.push_str(&self.src[i..i + n]);
            i += n;
            if self.s[i] == b'"' {
                self.i = i + 1;
                return Ok(Value::Str(out.into()));
            }
            let Some(&e) = self.s.get(i + 1) else { return Err(self.eof("an escape after `\\`")) };
            i += 2;
            match e {
                b't' => out.push('\t'),
                b'r' => out.push('\r'),
                b'n' => out.push('\n'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'\\' => out.push('\\'),
                b'"' => out.push('"'),
                b'u' => {
                    let c = self.unicode_escape(&mut i)?;
                    out.push(c);
                }
                _ => return Err(self.syntax(i - 2, "a string escape (\\t \\r \\n \\b \\f \\\\ \\\" \\uXXXX)")),
            }
        }
    }

    fn hex4(&self, i: usize) -> Result<u32, EdnError> {
        let Some(h) = self.src.get(i..i + 4) else {
            return if self.s.len() < i + 4 {
                Err(self.eof("four hex digits"))
            } else {
                Err(self.syntax(i, "four hex digits"))
            };
        };
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.syntax(i, "four hex digits"));
        }
        u32::from_str_radix(h, 16).map_err(|_| self.syntax(i, "four hex digits"))
    }

    /// `i` points just after `\u`; advances past the escape (and a following
    /// low surrogate escape when needed).
    fn unicode_escape(&self, i: &mut usize) -> Result<char, EdnError> {
        let at = *i - 2;
        let hi = self.hex4(*i)?;
        *i += 4;
        if (0xD800..0xDC00).contains(&hi) {
            if self.s.get(*i) == Some(&b'\\') && self.s.get(*i + 1) == Some(&b'u') {
                let lo = self.hex4(*i + 2)?;
                if (0xDC00..0xE000).contains(&lo) {
                    *i += 6;
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return char::from_u32(c).ok_or_else(|| self.syntax(at, "a valid unicode escape"));
                }
            }
            return Err(self.syntax(at, "a low surrogate after a high surrogate escape"));
        }
        char::from_u32(hi).ok_or_else(|| self.syntax(at, "a valid unicode escape"))
    }

    fn character(&mut self) -> Result<Value, EdnError> {
        let start = self.i;
        let Some(first) = self.src.get(start + 1..).and_then(|r| r.chars().next()) else {
            return Err(self.eof("a character after `\\`"));
        };
        let after_first = start + 1 + first.len_utf8();
        let rest = self.token(after_first);
        self.i = after_first + rest.len();
        if rest.is_empty() {
            return Ok(Value::Str(first.to_string().into()));
        }
        let name = &self.src[start + 1..self.i];
        let c = match name {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            _ if name.len() == 5 && name.starts_with('u') && name[1..].bytes().all(|b| b.is_ascii_hexdigit()) => {
                let n = u32::from_str_radix(&name[1..], 16).map_err(|_| self.syntax(start, "a character"))?;
                char::from_u32(n).ok_or_else(|| self.syntax(start, "a valid unicode character"))?
            }
            _ if name.len() >= 2 && name.len() <= 4 && name.starts_with('o') => {
                let n = u32::from_str_radix(&name[1..], 8).map_err(|_| self.syntax(start, "a character"))?;
                if n > 0o377 {
                    return Err(self.syntax(start, "an octal character \\o0 to \\o377"));
                }
                char::from_u32(n).ok_or_else(|| self.syntax(start, "a character"))?
            }
            _ => return Err(self.syntax(start, "a character such as \\a, \\newline, \\space or \\uXXXX")),
        };
        Ok(Value::Str(c.to_string().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Value {
        parse_one(s, 128).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }
    fn e(s: &str) -> EdnError {
        parse_one(s, 128).expect_err(s)
    }
    fn list(v: Vec<Value>) -> Value {
        Value::List(v)
    }

    #[test]
    fn scalars() {
        assert_eq!(p("nil"), Value::Nil);
        assert_eq!(p("true"), Value::Bool(true));
        assert_eq!(p(" false "), Value::Bool(false));
        assert_eq!(p("42"), Value::Int(42));
        assert_eq!(p("-7"), Value::Int(-7));
        assert_eq!(p("+7"), Value::Int(7));
        assert_eq!(p("0"), Value::Int(0));
        assert_eq!(p("12N"), Value::Int(12));
        assert_eq!(p("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(p("1.5"), Value::Float(1.5));
        assert_eq!(p("-2e3"), Value::Float(-2000.0));
        assert_eq!(p("1.25M"), Value::Decimal(crate::value::Decimal::parse("1.250").unwrap()));
        assert_eq!(p("1M"), Value::Decimal(crate::value::Decimal::parse("1").unwrap()));
        assert_eq!(p("##Inf"), Value::Float(f64::INFINITY));
        assert_eq!(p(":foo"), Value::str("foo"));
        assert_eq!(p(":foo/bar"), Value::str("foo/bar"));
        assert_eq!(p(":timed-out"), Value::str("timed-out"));
        assert_eq!(p("foo.bar/baz?"), Value::str("foo.bar/baz?"));
        assert_eq!(p("-"), Value::str("-"));
        assert_eq!(p("nilly"), Value::str("nilly"));
    }

    /// Issue #12 §1f: integers beyond i64 were an error in EDN (and floats
    /// in JSON); now they are exact in both, `N` or not.
    #[test]
    fn big_integers_are_exact() {
        let max = crate::value::parse_integer("18446744073709551615").unwrap();
        assert_eq!(p("18446744073709551615"), max);
        assert_eq!(p("18446744073709551615N"), max);
        assert_ne!(p("18446744073709551614"), max);
        assert_eq!(p("[-99999999999999999999999999 5N]").to_string(), "[-99999999999999999999999999 5]");
        // Integers, floats and decimals are different kinds, as in Clojure.
        assert_ne!(p("1"), p("1.0"));
        assert_ne!(p("1"), p("1M"));
        assert_ne!(p("1.0"), p("1.0M"));
        assert_eq!(p("1.0M"), p("1.00M"));
    }

    #[test]
    fn strings_and_characters() {
        assert_eq!(p(r#""a\tb\n\"q\"\\""#), Value::str("a\tb\n\"q\"\\"));
        assert_eq!(p(r#""\u00e9\ud83d\ude00""#), Value::str("é😀"));
        assert_eq!(p("\"multi\nline\""), Value::str("multi\nline"));
        assert_eq!(p("\"héllo\""), Value::str("héllo"));
        assert_eq!(p(r"\a"), Value::str("a"));
        assert_eq!(p(r"\newline"), Value::str("\n"));
        assert_eq!(p(r"\space"), Value::str(" "));
        assert_eq!(p(r"\u0041"), Value::str("A"));
        assert_eq!(p(r"\o101"), Value::str("A"));
        assert_eq!(p(r"[\( \)]"), list(vec![Value::str("("), Value::str(")")]));
        assert_eq!(p(r"\é"), Value::str("é"));
    }

    #[test]
    fn collections() {
        assert_eq!(p("[1 2, 3]"), list(vec![1.into(), 2.into(), 3.into()]));
        assert_eq!(p("(1 (2))"), list(vec![1.into(), list(vec![2.into()])]));
        assert_eq!(p("#{3 1 2}"), Value::Set(vec![1.into(), 2.into(), 3.into()]));
        // Maps and sets are unordered, and refuse repeats (as Clojure's reader does).
        assert_eq!(p("{:b 2, :a 1}"), p("{:a 1 :b 2}"));
        assert_eq!(p("#{[1] 2}"), p("#{2 [1]}"));
        let dup = e("#{3 1 3 2}");
        assert!(matches!(&dup.kind, EdnErrorKind::Syntax { found, .. } if found == "a second 3"), "{dup:?}");
        let dup = e("[{:a 1, :a 2}]");
        assert_eq!(dup.offset, 1);
        assert!(matches!(&dup.kind, EdnErrorKind::Syntax { found, .. } if found == "a second \"a\""), "{dup:?}");
        assert_eq!(
            p("{:a 1, :b [nil]}"),
            Value::map(vec![(Value::str("a"), 1.into()), (Value::str("b"), list(vec![Value::Nil]))])
        );
        assert_eq!(p("{}"), Value::map(vec![]));
        assert_eq!(p("[]"), list(vec![]));
    }

    #[test]
    fn comments_discard_and_tags() {
        assert_eq!(p("; hi\n[1 ; one\n 2]"), list(vec![1.into(), 2.into()]));
        assert_eq!(p("[1 #_ 2 3]"), list(vec![1.into(), 3.into()]));
        assert_eq!(p("[1 #_ #_ 2 3 4]"), list(vec![1.into(), 4.into()]));
        assert_eq!(p("#_ [x] 5"), Value::Int(5));
        assert_eq!(p(r#"#inst "2020-01-01T00:00:00Z""#), Value::str("2020-01-01T00:00:00Z"));
        assert_eq!(
            p(r#"#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6""#),
            Value::str("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
        );
        assert_eq!(p("#jepsen.history.Op{:index 0}"), Value::map(vec![(Value::str("index"), 0.into())]));
        assert_eq!(p("[#my/tag #other 1]"), list(vec![1.into()]));
    }

    #[test]
    fn errors_have_offsets() {
        let err = e("[1 2");
        assert_eq!(err.kind, EdnErrorKind::Eof { expected: "`]` closing a vector" });
        let err = e("[1 2)");
        assert_eq!(err.offset, 4);
        assert!(matches!(err.kind, EdnErrorKind::Syntax { ref expected, .. } if expected == "`]`"), "{err:?}");
        assert!(matches!(e("{:a}").kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e("\"abc").kind, EdnErrorKind::Eof { .. }));
        assert!(matches!(e(r#""\q""#).kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e("1/3").kind, EdnErrorKind::Syntax { ref expected, .. } if expected.contains("ratio")));
        assert!(matches!(e("1e400").kind, EdnErrorKind::Syntax { ref expected, .. } if expected.contains("64-bit")));
        assert!(matches!(e("1.5N").kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e("1.2.3M").kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e("1.2.3").kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e("::foo").kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e("#").kind, EdnErrorKind::Eof { .. }));
        assert!(matches!(e("#_").kind, EdnErrorKind::Eof { .. }));
        assert!(matches!(e("\u{0}").kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e(r"\nope").kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e(r#""\ud800""#).kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e("1 2").kind, EdnErrorKind::Syntax { .. }));
        assert!(matches!(e("007").kind, EdnErrorKind::Syntax { .. }));
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let deep = "[".repeat(100_000);
        assert_eq!(e(&deep).kind, EdnErrorKind::TooDeep);
        let ok = format!("{}{}", "[".repeat(10), "]".repeat(10));
        assert!(parse_one(&ok, 10).is_ok());
        assert_eq!(parse_one(&ok, 9).unwrap_err().kind, EdnErrorKind::TooDeep);
        let sets = "#{".repeat(1000);
        assert_eq!(e(&sets).kind, EdnErrorKind::TooDeep);
        let discards = "#_".repeat(1000);
        assert_eq!(e(&discards).kind, EdnErrorKind::TooDeep);
    }

    #[test]
    fn next_form_reports_close_and_end() {
        assert_eq!(next_form("  ] x", 0, 8).unwrap(), Next::Close { ch: b']', offset: 2 });
        assert_eq!(next_form(" ; c\n #_ 1 ", 0, 8).unwrap(), Next::End { offset: 11 });
        assert_eq!(
            next_form("{:a 1} {:b 2}", 6, 8).unwrap(),
            Next::Form { value: Value::map(vec![(Value::str("b"), 2.into())]), start: 7, end: 13 }
        );
    }
}
