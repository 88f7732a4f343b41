//! The value carried by an operation: a small JSON/EDN-like tree.
//!
//! Readers of every format produce this one type, so checkers never see the
//! source format. EDN keywords become strings without the colon.
//!
//! Equality is exact and the same whatever format a value came from (the
//! rules are Clojure's `=`, which Knossos and Elle judge by; see
//! docs/history-format.md, "Values"):
//! - integers have arbitrary size ([`Value::Int`] when they fit `i64`,
//!   [`Value::BigInt`] otherwise: one integer has one representation);
//! - floats are IEEE-754 doubles, `-0.0 == 0.0` and every NaN equals every
//!   NaN; EDN decimals (`1.50M`) are exact ([`Value::Decimal`]); integers,
//!   floats and decimals are different kinds and never equal (`1 != 1.0`);
//! - sets and maps are unordered: both are kept sorted (maps by key), with
//!   no duplicate elements or keys, so equality, hashing and ordering do not
//!   depend on the order they were written in.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A value in a history: an op's argument or result, or a key.
///
/// Invariants (kept by the constructors; code that builds a `Set` by hand
/// must pass sorted, deduplicated elements): `Set` is sorted and
/// deduplicated, `Map` is a [`ValueMap`] (sorted, unique keys), an integer
/// that fits `i64` is always `Int`.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// JSON `null`, EDN `nil`: absent or unknown.
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    /// An integer outside `i64`, exact.
    BigInt(BigInt),
    /// Compares as a number (`-0.0 == 0.0`, NaN equals NaN) so that `Value`
    /// can be `Eq + Hash + Ord`.
    Float(f64),
    /// An exact decimal (EDN `1.5M`).
    Decimal(Decimal),
    Str(Box<str>),
    List(Vec<Value>),
    /// Sorted and deduplicated.
    Set(Vec<Value>),
    /// Sorted by key, keys unique; keys may be any value (EDN allows it).
    Map(ValueMap),
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

/// A map's entries, sorted by key, each key once. Derefs to the entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueMap(Vec<(Value, Value)>);

impl ValueMap {
    /// Sorts the entries by key; `Err` gives back a key that occurs twice
    /// (readers report it: a map with a repeated key is malformed).
    pub fn from_entries(mut entries: Vec<(Value, Value)>) -> Result<ValueMap, Value> {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = entries.windows(2).position(|w| w[0].0 == w[1].0) {
            return Err(entries.swap_remove(w).0);
        }
        Ok(ValueMap(entries))
    }

    /// The value at `key`.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.0.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|i| &self.0[i].1)
    }

    /// The value at the string key `name`.
    pub fn get_str(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v)
    }

    /// Sets `key` to `value`, keeping the entries sorted.
    pub fn insert(&mut self, key: Value, value: Value) {
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    pub fn into_entries(self) -> Vec<(Value, Value)> {
        self.0
    }
}

impl std::ops::Deref for ValueMap {
    type Target = [(Value, Value)];
    fn deref(&self) -> &[(Value, Value)] {
        &self.0
    }
}

/// An integer outside `i64`: its canonical decimal digits (a `-` for
/// negatives, no leading zeros). Equal integers have equal digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BigInt(Box<str>);

impl BigInt {
    fn negative(&self) -> bool {
        self.0.starts_with('-')
    }

    fn magnitude(&self) -> &str {
        self.0.strip_prefix('-').unwrap_or(&self.0)
    }

    /// The decimal digits, with `-` for negatives.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for BigInt {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative(), other.negative()) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (neg, _) => {
                let (a, b) = (self.magnitude(), other.magnitude());
                let m = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
                if neg {
                    m.reverse()
                } else {
                    m
                }
            }
        }
    }
}
impl PartialOrd for BigInt {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An exact decimal `(-1)^negative × digits × 10^exponent`, canonical: no
/// leading or trailing zeros in `digits` (zero is no digits, exponent 0,
/// not negative), so numerically equal decimals (`1.5M`, `1.50M`) are one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decimal(Box<DecimalParts>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct DecimalParts {
    negative: bool,
    digits: Box<str>,
    exponent: i64,
}

impl Decimal {
    /// Parses `[+-]digits[.digits][(e|E)[+-]digits]` exactly; `None` when
    /// the text is not of that form or the exponent does not fit `i64`.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp) = match body.find(['e', 'E']) {
            Some(i) => {
                let e = &body[i + 1..];
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (&body[..i], e.strip_prefix('+').unwrap_or(e).parse::<i64>().ok()?)
            }
            None => (body, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let all: String = int.chars().chain(frac.chars()).collect();
        let exponent = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
        let trimmed = all.trim_start_matches('0');
        let digits = trimmed.trim_end_matches('0');
        let exponent = exponent.checked_add((trimmed.len() - digits.len()) as i64)?;
        if digits.is_empty() {
            return Some(Decimal(Box::new(DecimalParts { negative: false, digits: "".into(), exponent: 0 })));
        }
        Some(Decimal(Box::new(DecimalParts { negative, digits: digits.into(), exponent })))
    }

    /// Magnitude order of two nonzero canonical decimals.
    fn cmp_magnitude(a: &DecimalParts, b: &DecimalParts) -> Ordering {
        // The most significant digit's place: digits.len() + exponent.
        let top = |d: &DecimalParts| d.digits.len() as i128 + d.exponent as i128;
        // Same top place: digit strings compare lexicographically (no
        // trailing zeros, so a proper prefix is smaller).
        top(a).cmp(&top(b)).then_with(|| a.digits.cmp(&b.digits))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&*self.0, &*other.0);
        let sign = |d: &DecimalParts| {
            if d.digits.is_empty() {
                0
            } else if d.negative {
                -1
            } else {
                1
            }
        };
        match sign(a).cmp(&sign(b)) {
            Ordering::Equal if sign(a) == 0 => Ordering::Equal,
            Ordering::Equal if a.negative => Decimal::cmp_magnitude(a, b).reverse(),
            Ordering::Equal => Decimal::cmp_magnitude(a, b),
            o => o,
        }
    }
}
impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    /// Plain notation with an `M`, as Clojure prints: `1.5M`, `-0.002M`,
    /// `1200M`; scientific beyond 20 zeros (`1E+30M`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &*self.0;
        if d.digits.is_empty() {
            return f.write_str("0M");
        }
        if d.negative {
            f.write_str("-")?;
        }
        let n = d.digits.len() as i64;
        if d.exponent >= 0 && d.exponent <= 20 {
            write!(f, "{}{}M", d.digits, "0".repeat(d.exponent as usize))
        } else if d.exponent < 0 && -d.exponent < n {
            let (int, frac) = d.digits.split_at((n + d.exponent) as usize);
            write!(f, "{int}.{frac}M")
        } else if d.exponent < 0 && -d.exponent - n <= 20 {
            write!(f, "0.{}{}M", "0".repeat((-d.exponent - n) as usize), d.digits)
        } else {
            let (first, rest) = d.digits.split_at(1);
            let e = d.exponent + n - 1;
            let dot = if rest.is_empty() { "" } else { "." };
            write!(f, "{first}{dot}{rest}E{}{e}M", if e >= 0 { "+" } else { "" })
        }
    }
}

/// Integers that do not fit `i64` when written in decimal (`text` is
/// `[+-]digits`, leading zeros allowed): the one [`Value`] for them.
/// `None` when `text` is not of that form.
pub fn parse_integer(text: &str) -> Option<Value> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() <= 19 {
        // At most 19 digits fit i128 easily; the i64 range is checked there.
        let m: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let v = if negative { -m } else { m };
        if let Ok(i) = i64::try_from(v) {
            return Some(Value::Int(i));
        }
    }
    let s = if negative { format!("-{digits}") } else { digits.to_string() };
    Some(Value::BigInt(BigInt(s.into())))
}

/// At most this many characters of a value are quoted in an error message.
const QUOTE_MAX_CHARS: usize = 60;

/// A value rendered for an error message, cut to a readable length.
pub(crate) fn quote(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= QUOTE_MAX_CHARS {
        s
    } else {
        let cut: String = s.chars().take(QUOTE_MAX_CHARS).collect();
        format!("{cut}...")
    }
}

/// Floats compare as numbers: `-0.0` is `0.0`, and all NaNs are one value.
fn float_key(f: f64) -> f64 {
    if f == 0.0 {
        0.0
    } else if f.is_nan() {
        f64::NAN
    } else {
        f
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

    /// Builds a map value: sorts by key; of entries with the same key the
    /// last is kept. Readers use [`ValueMap::from_entries`], which refuses
    /// repeated keys.
    pub fn map(entries: Vec<(Value, Value)>) -> Value {
        let mut m = ValueMap::default();
        for (k, v) in entries {
            m.insert(k, v);
        }
        Value::Map(m)
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

    /// The entries of a map.
    pub fn as_map(&self) -> Option<&ValueMap> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Kinds in their order; values of different kinds are never equal.
    /// `Int` and `BigInt` are one kind (integers), as are both lists.
    fn rank(&self) -> u8 {
        match self {
            Value::Nil => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::BigInt(_) => 2,
            Value::Decimal(_) => 3,
            Value::Float(_) => 4,
            Value::Str(_) => 5,
            Value::List(_) | Value::SharedList(_) => 6,
            Value::Set(_) => 7,
            Value::Map(_) => 8,
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
            (BigInt(a), BigInt(b)) => a.cmp(b),
            // A BigInt lies outside the i64 range, on the side of its sign.
            (Int(_), BigInt(b)) => {
                if b.negative() {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (BigInt(a), Int(_)) => {
                if a.negative() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (Decimal(a), Decimal(b)) => a.cmp(b),
            (Float(a), Float(b)) => float_key(*a).total_cmp(&float_key(*b)),
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
            Value::BigInt(b) => b.hash(state),
            Value::Decimal(d) => d.hash(state),
            Value::Float(f) => float_key(*f).to_bits().hash(state),
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
    /// Converts JSON (for tests and tools; histories are read by
    /// `checker::read`). serde_json has already made integers beyond `u64`
    /// floats; those within are kept exact.
    fn from(j: &serde_json::Value) -> Self {
        match j {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Value::Int(i),
                (None, Some(u)) => parse_integer(&u.to_string()).unwrap_or_default(),
                (None, None) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.as_str().into()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::map(o.iter().map(|(k, v)| (Value::Str(k.as_str().into()), Value::from(v))).collect())
            }
        }
    }
}

impl Serialize for Value {
    /// JSON shape (for reports; histories are written by `checker::write`):
    /// sets serialize as arrays; maps with non-string keys as arrays of
    /// `[key, value]` pairs; integers beyond 128 bits and decimals as strings.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::BigInt(b) => match (b.as_str().parse::<i128>(), b.as_str().parse::<u128>()) {
                (Ok(i), _) => s.serialize_i128(i),
                (_, Ok(u)) => s.serialize_u128(u),
                _ => s.serialize_str(b.as_str()),
            },
            Value::Decimal(d) => s.serialize_str(&d.to_string()),
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
                    for (k, v) in m.iter() {
                        map.serialize_entry(k, v)?;
                    }
                    map.end()
                } else {
                    let mut seq = s.serialize_seq(Some(m.len()))?;
                    for (k, v) in m.iter() {
                        seq.serialize_element(&(k, v))?;
                    }
                    seq.end()
                }
            }
        }
    }
}

/// A float in EDN notation: always with a `.` or exponent so that it never
/// reads as an integer (`1.0`, `1e100`), `##NaN`, `##Inf`, `##-Inf`.
pub(crate) fn fmt_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        f.write_str("##NaN")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "##Inf" } else { "##-Inf" })
    } else {
        // Debug prints the shortest text that reads back as `x`, with ".0"
        // for integral values.
        write!(f, "{x:?}")
    }
}

impl fmt::Display for Value {
    /// Compact, EDN-flavoured rendering for reports: `nil`, `3`, `1.0`,
    /// `1.5M`, `"x"`, `[1 2]`, `#{1 2}`, `{"a" 1}`.
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
            Value::BigInt(b) => f.write_str(b.as_str()),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Float(x) => fmt_float(f, *x),
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
pub(crate) mod arb;
#[cfg(test)]
mod tests;
