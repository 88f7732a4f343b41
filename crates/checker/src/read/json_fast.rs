//! The usual JSON Lines event, parsed in one pass without the general
//! scanner's bookkeeping.
//!
//! Nearly every line conch, its simulator and the converters write looks
//! like `{"type":"ok","process":3,"f":"read","key":7,"value":12,"time":95}`:
//! no whitespace, known field names, `type` and `f` among the interned
//! names, integers of at most 18 digits, printable ASCII strings without
//! escapes, values that are scalars or flat lists of integers. This path
//! reads exactly that shape and gives up (`None`) at the first byte of
//! anything else: whitespace, an unknown or repeated field, a float, a long
//! integer, an escape, a nested value, a missing `type` or `f`, a `txn`.
//! The caller then runs the general scanner ([`super::json`]), which gives
//! the event or the error. So this path never decides an error and never
//! accepts a line the general scanner would refuse; where it accepts one,
//! the event is the one the general scanner builds
//! (`read::tests::fast_json_path_agrees_*` and the `read_jsonl` fuzz target
//! compare the two).
//!
//! Why: on the 10M-op register history the general scanner's per-field
//! work (whitespace checks, name scans, a `Found` per typed field) was a
//! quarter of all CPU time.

use super::event::{short_integer, Field};
use super::json::short_name;
use crate::history::{Event, EventType, Process, F};
use crate::value::Value;

/// The event on `s`, when the line has the usual shape; `None` otherwise.
pub(crate) fn event(s: &[u8], line: u64, max_depth: usize) -> Option<Event> {
    let mut e = Event::new(line, EventType::Invoke, Process::Anonymous, F::Read, Value::Nil);
    event_into(s, line, max_depth, &mut e).then_some(e)
}

/// [`event`] written into `e` (the caller's slot, so that the 168-byte
/// event is not moved through the return value and the result types on
/// its way to the batch: each move was a `memcpy` call); `false`, with `e`
/// as it was, when the line has another shape. `e` must hold nothing on
/// the heap (no key, value, node or other `f`): it is overwritten, not
/// dropped.
pub(crate) fn event_into(s: &[u8], line: u64, max_depth: usize, e: &mut Event) -> bool {
    fields(s, line, max_depth, e).is_some()
}

fn fields(s: &[u8], line: u64, max_depth: usize, e: &mut Event) -> Option<()> {
    if s.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    let mut seen = 0u16;
    let mut kind = None;
    let mut f = None;
    let mut process = Process::Anonymous;
    let (mut key, mut value) = (Value::Nil, Value::Nil);
    let (mut time_ns, mut index, mut node, mut is_final) = (None, None, None, false);
    loop {
        let (field, n) = field_name(s, i)?;
        let bit = 1u16 << field as u16;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        i += n;
        match field {
            Field::Type => kind = Some(step(event_type(s, i)?, &mut i)),
            // A txn's micro-ops go the general way (raw scanning).
            Field::F => f = Some(F::interned(step(short_name(&s[i..])?, &mut i)).filter(|f| *f != F::Txn)?),
            Field::Process => match s.get(i)? {
                b'"' if at(s, i, b"\"nemesis\"") => {
                    process = Process::Nemesis;
                    i += 9;
                }
                b'n' if at(s, i, b"null") => i += 4,
                _ => process = Process::Client(u64::try_from(step(integer(s, i)?, &mut i)).ok()?),
            },
            Field::Key => first(&mut key, scalar(s, &mut i)?),
            Field::Value => first(&mut value, any(s, &mut i, max_depth)?),
            Field::Time => time_ns = Some(step(integer(s, i)?, &mut i)),
            Field::Index => index = Some(u64::try_from(step(integer(s, i)?, &mut i)).ok()?),
            Field::Node => match scalar(s, &mut i)? {
                Value::Str(name) => node = Some(name),
                Value::Nil => {}
                _ => return None,
            },
            Field::Final => {
                if at(s, i, b"true") {
                    is_final = true;
                    i += 4;
                } else if at(s, i, b"false") {
                    i += 5;
                } else {
                    return None;
                }
            }
        }
        match s.get(i)? {
            b',' => i += 1,
            b'}' => {
                i += 1;
                break;
            }
            _ => return None,
        }
    }
    if i != s.len() {
        return None;
    }
    let key = if key.is_nil() { None } else { Some(key) };
    let found = Event { line, kind: kind?, process, f: f?, key, value, time_ns, index, node, is_final };
    // `e` holds nothing on the heap (see `event_into`), so forgetting it
    // frees nothing and saves a drop call per line.
    debug_assert!(e.key.is_none() && e.value.is_nil() && e.node.is_none() && !matches!(e.f, F::Other(_)));
    std::mem::forget(std::mem::replace(e, found));
    Some(())
}

/// Stores a field's value in `slot`, which `seen` guarantees is still the
/// nil it started as: so no drop of the old value is called (the
/// assignment's drop call was 2% of reading).
#[inline(always)]
fn first(slot: &mut Value, v: Value) {
    debug_assert!(slot.is_nil());
    std::mem::forget(std::mem::replace(slot, v));
}

/// What a reader found at `i`, with `i` moved past the `n` bytes it took.
fn step<T>((found, n): (T, usize), i: &mut usize) -> T {
    *i += n;
    found
}

/// `s[i..]` starts with `pat` (a fixed length, so the comparison is a few
/// loads, not a call).
#[inline(always)]
fn at<const N: usize>(s: &[u8], i: usize, pat: &[u8; N]) -> bool {
    s.get(i..i + N).is_some_and(|b| b == pat)
}

/// [`at`], and the bytes `pat` takes.
#[inline(always)]
fn took<const N: usize>(s: &[u8], i: usize, pat: &[u8; N]) -> Option<usize> {
    at(s, i, pat).then_some(N)
}

/// At `"`: a known field name with its quotes and the `:` after it, and the
/// bytes that takes.
fn field_name(s: &[u8], i: usize) -> Option<(Field, usize)> {
    if s.get(i) != Some(&b'"') {
        return None;
    }
    Some(match *s.get(i + 1)? {
        b't' => match took(s, i, b"\"type\":") {
            Some(n) => (Field::Type, n),
            None => (Field::Time, took(s, i, b"\"time\":")?),
        },
        b'p' => (Field::Process, took(s, i, b"\"process\":")?),
        b'f' => match took(s, i, b"\"f\":") {
            Some(n) => (Field::F, n),
            None => (Field::Final, took(s, i, b"\"final\":")?),
        },
        b'k' => (Field::Key, took(s, i, b"\"key\":")?),
        b'v' => (Field::Value, took(s, i, b"\"value\":")?),
        b'i' => (Field::Index, took(s, i, b"\"index\":")?),
        b'n' => (Field::Node, took(s, i, b"\"node\":")?),
        _ => return None,
    })
}

/// At `"`: one of the four event types, quoted.
fn event_type(s: &[u8], i: usize) -> Option<(EventType, usize)> {
    if s.get(i) != Some(&b'"') {
        return None;
    }
    Some(match *s.get(i + 1)? {
        b'o' => (EventType::Ok, took(s, i, b"\"ok\"")?),
        b'i' => match took(s, i, b"\"invoke\"") {
            Some(n) => (EventType::Invoke, n),
            None => (EventType::Info, took(s, i, b"\"info\"")?),
        },
        b'f' => (EventType::Fail, took(s, i, b"\"fail\"")?),
        _ => return None,
    })
}

/// An integer of at most 18 digits without a leading zero, not
/// followed by a fraction or exponent, and the bytes it takes.
fn integer(s: &[u8], i: usize) -> Option<(i64, usize)> {
    let (x, j) = short_integer(s, i)?;
    let start = i + (s[i] == b'-') as usize;
    if j - start > 1 && s[start] == b'0' || matches!(s.get(j), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some((x, j - i))
}

/// At `"`: a string of printable ASCII without escapes.
fn string(s: &[u8], i: &mut usize) -> Option<Value> {
    let body = &s[*i + 1..];
    let n = memchr::memchr(b'"', body)?;
    let text = &body[..n];
    if !text.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'\\') {
        return None;
    }
    *i += n + 2;
    // Printable ASCII is UTF-8.
    std::str::from_utf8(text).ok().map(|t| Value::Str(t.into()))
}

/// `null`, an integer or a plain string.
fn scalar(s: &[u8], i: &mut usize) -> Option<Value> {
    match *s.get(*i)? {
        b'"' => string(s, i),
        b'n' if at(s, *i, b"null") => {
            *i += 4;
            Some(Value::Nil)
        }
        _ => Some(Value::Int(step(integer(s, *i)?, i))),
    }
}

/// A scalar, a boolean, or a flat list of integers (a cas's `[from,to]`).
fn any(s: &[u8], i: &mut usize, max_depth: usize) -> Option<Value> {
    match *s.get(*i)? {
        b't' if at(s, *i, b"true") => {
            *i += 4;
            Some(Value::Bool(true))
        }
        b'f' if at(s, *i, b"false") => {
            *i += 5;
            Some(Value::Bool(false))
        }
        b'[' if max_depth >= 1 => {
            let mut items = Vec::new();
            *i += 1;
            if s.get(*i) == Some(&b']') {
                *i += 1;
                return Some(Value::List(items));
            }
            loop {
                items.push(Value::Int(step(integer(s, *i)?, i)));
                match s.get(*i)? {
                    b',' => *i += 1,
                    b']' => {
                        *i += 1;
                        return Some(Value::List(items));
                    }
                    _ => return None,
                }
            }
        }
        _ => scalar(s, i),
    }
}
