//! Events packed into bytes while they wait: the [`super::event::Sink`]
//! holds every event of a jepsen.independent (`Auto`) history until the end
//! of the input, when it knows whether to split the `[k v]` values. As
//! `Event`s that was about 170 bytes each plus their values' allocations
//! (the 1M-op EDN register history peaked at 841 MB against 243 MB for the
//! same history as JSON Lines); packed, a typical event takes 10-20 bytes.
//!
//! The packing is exact: [`Packed::events`] gives back each event equal to
//! the one pushed. Integers, strings, nil, booleans and lists of them are
//! written as bytes (varints, zigzag for signed, deltas from the previous
//! event for lines, times and indexes); any other value (big integers,
//! floats, decimals, sets, maps, shared lists) is kept as is on the side.

use crate::history::{Event, EventType, Process, F};
use crate::shard::codec::{put_str, put_varint, unzigzag, zigzag};
use crate::value::Value;

#[derive(Default)]
pub(crate) struct Packed {
    bytes: Vec<u8>,
    /// Values not packed as bytes, in the order they were met.
    side: Vec<Value>,
    len: usize,
    /// The previous event's line, time and index (deltas are packed).
    prev: (u64, i64, u64),
}

// Value tags.
const NIL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const STR: u8 = 4;
const LIST: u8 = 5;
const SIDE: u8 = 6;
/// A key that is `None`.
const NO_KEY: u8 = 7;

// Header bits: the kind in bits 0-1, the process in bits 2-3.
const CLIENT: u8 = 0;
const NEMESIS: u8 = 1 << 2;
const ANONYMOUS: u8 = 2 << 2;
const HAS_TIME: u8 = 1 << 4;
const HAS_INDEX: u8 = 1 << 5;
const HAS_NODE: u8 = 1 << 6;
const IS_FINAL: u8 = 1 << 7;

/// The interned operation names by code; an [`F::Other`] name is `OTHER`.
const NAMES: [F; 14] = [
    F::Read,
    F::Write,
    F::Cas,
    F::Get,
    F::Put,
    F::Append,
    F::Add,
    F::Incr,
    F::Transfer,
    F::Acquire,
    F::Release,
    F::Enqueue,
    F::Dequeue,
    F::Txn,
];
const OTHER: u8 = 255;

/// The code of an interned name in [`NAMES`], else [`OTHER`].
fn f_code(f: &F) -> u8 {
    match f {
        F::Read => 0,
        F::Write => 1,
        F::Cas => 2,
        F::Get => 3,
        F::Put => 4,
        F::Append => 5,
        F::Add => 6,
        F::Incr => 7,
        F::Transfer => 8,
        F::Acquire => 9,
        F::Release => 10,
        F::Enqueue => 11,
        F::Dequeue => 12,
        F::Txn => 13,
        F::Other(_) => OTHER,
    }
}

/// A key (`None`: no key) or value packed in a few bytes.
fn is_scalar(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Nil | Value::Bool(_) | Value::Int(_)))
}

/// The bytes of one usual event: at most 1 + 1 + 4 varints of 10 bytes
/// and 2 tagged integers of 11.
struct Buf {
    b: [u8; 64],
    n: usize,
}

impl Buf {
    fn put(&mut self, b: u8) {
        if let Some(x) = self.b.get_mut(self.n) {
            *x = b;
            self.n += 1;
        }
    }

    fn varint(&mut self, mut u: u64) {
        while u >= 0x80 {
            self.put(u as u8 | 0x80);
            u >>= 7;
        }
        self.put(u as u8);
    }

    /// What [`Packed::value`] packs for a scalar, or `NO_KEY` for `None`.
    fn scalar(&mut self, v: Option<&Value>) {
        match v {
            None => self.put(NO_KEY),
            Some(Value::Bool(false)) => self.put(FALSE),
            Some(Value::Bool(true)) => self.put(TRUE),
            Some(Value::Int(i)) => {
                self.put(INT);
                self.varint(zigzag(*i));
            }
            Some(_) => self.put(NIL),
        }
    }
}

impl Packed {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn varint(&mut self, u: u64) {
        put_varint(&mut self.bytes, u);
    }

    fn text(&mut self, s: &str) {
        put_str(&mut self.bytes, s);
    }

    fn value(&mut self, v: Value) {
        match v {
            Value::Nil => self.bytes.push(NIL),
            Value::Bool(false) => self.bytes.push(FALSE),
            Value::Bool(true) => self.bytes.push(TRUE),
            Value::Int(i) => {
                self.bytes.push(INT);
                self.varint(zigzag(i));
            }
            Value::Str(s) => {
                self.bytes.push(STR);
                self.text(&s);
            }
            Value::List(items) => {
                self.bytes.push(LIST);
                self.varint(items.len() as u64);
                for x in items {
                    self.value(x);
                }
            }
            other => {
                self.bytes.push(SIDE);
                self.side.push(other);
            }
        }
    }

    /// An event's time and index as the deltas (to write as varints) from the
    /// previous event's, which they then become; `None` where absent.
    fn time_and_index(&mut self, time_ns: Option<i64>, index: Option<u64>) -> [Option<u64>; 2] {
        let time = time_ns.map(|t| zigzag(t.wrapping_sub(std::mem::replace(&mut self.prev.1, t))));
        let index = index.map(|i| i.wrapping_sub(std::mem::replace(&mut self.prev.2, i)));
        [time, index]
    }

    pub(crate) fn push(&mut self, e: Event) {
        let kind = match e.kind {
            EventType::Invoke => 0,
            EventType::Ok => 1,
            EventType::Fail => 2,
            EventType::Info => 3,
        };
        let process = match e.process {
            Process::Client(_) => CLIENT,
            Process::Nemesis => NEMESIS,
            Process::Anonymous => ANONYMOUS,
        };
        let mut head = kind | process;
        head |= if e.time_ns.is_some() { HAS_TIME } else { 0 };
        head |= if e.index.is_some() { HAS_INDEX } else { 0 };
        head |= if e.node.is_some() { HAS_NODE } else { 0 };
        head |= if e.is_final { IS_FINAL } else { 0 };
        let code = f_code(&e.f);
        if code != OTHER && e.node.is_none() && is_scalar(e.key.as_ref()) && is_scalar(Some(&e.value)) {
            // The usual event: packed in a local buffer, copied once.
            let mut b = Buf { b: [0; 64], n: 0 };
            b.put(head);
            b.put(code);
            b.varint(e.line.wrapping_sub(self.prev.0));
            self.prev.0 = e.line;
            if let Process::Client(p) = e.process {
                b.varint(p);
            }
            b.scalar(e.key.as_ref());
            b.scalar(Some(&e.value));
            for d in self.time_and_index(e.time_ns, e.index).into_iter().flatten() {
                b.varint(d);
            }
            self.bytes.extend_from_slice(&b.b[..b.n]);
            self.len += 1;
            return;
        }
        self.bytes.push(head);
        self.bytes.push(code);
        if code == OTHER {
            self.text(e.f.as_str());
        }
        self.varint(e.line.wrapping_sub(self.prev.0));
        self.prev.0 = e.line;
        if let Process::Client(p) = e.process {
            self.varint(p);
        }
        match e.key {
            None => self.bytes.push(NO_KEY),
            Some(k) => self.value(k),
        }
        self.value(e.value);
        for d in self.time_and_index(e.time_ns, e.index).into_iter().flatten() {
            self.varint(d);
        }
        if let Some(n) = &e.node {
            self.text(n);
        }
        self.len += 1;
    }

    /// The events, in the order pushed, each equal to the one pushed.
    pub(crate) fn events(self) -> Unpack {
        Unpack { bytes: self.bytes, at: 0, side: self.side.into_iter(), left: self.len, prev: (0, 0, 0) }
    }
}

pub(crate) struct Unpack {
    bytes: Vec<u8>,
    at: usize,
    side: std::vec::IntoIter<Value>,
    left: usize,
    prev: (u64, i64, u64),
}

impl Unpack {
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or_default();
        self.at += 1;
        b
    }

    fn varint(&mut self) -> u64 {
        let (mut u, mut shift) = (0u64, 0);
        loop {
            let b = self.byte();
            u |= ((b & 0x7f) as u64).checked_shl(shift).unwrap_or(0);
            if b < 0x80 {
                return u;
            }
            shift += 7;
        }
    }

    fn text(&mut self) -> Box<str> {
        let n = self.varint() as usize;
        let end = (self.at + n).min(self.bytes.len());
        // Packed from a `str`: always UTF-8.
        let s: Box<str> = std::str::from_utf8(&self.bytes[self.at..end]).unwrap_or_default().into();
        self.at = end;
        s
    }

    fn value_of(&mut self, tag: u8) -> Value {
        match tag {
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            INT => Value::Int(unzigzag(self.varint())),
            STR => Value::Str(self.text()),
            LIST => {
                let n = self.varint() as usize;
                let mut items = Vec::with_capacity(n.min(self.bytes.len()));
                for _ in 0..n {
                    let tag = self.byte();
                    items.push(self.value_of(tag));
                }
                Value::List(items)
            }
            SIDE => self.side.next().unwrap_or_default(),
            _ => Value::Nil,
        }
    }
}

impl Iterator for Unpack {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let head = self.byte();
        let kind = [EventType::Invoke, EventType::Ok, EventType::Fail, EventType::Info][(head & 3) as usize];
        let f = match self.byte() {
            OTHER => F::Other(self.text()),
            code => NAMES.get(code as usize).cloned().unwrap_or(F::Read),
        };
        self.prev.0 = self.prev.0.wrapping_add(self.varint());
        let process = match head & (3 << 2) {
            CLIENT => Process::Client(self.varint()),
            NEMESIS => Process::Nemesis,
            _ => Process::Anonymous,
        };
        let key = match self.byte() {
            NO_KEY => None,
            tag => Some(self.value_of(tag)),
        };
        let tag = self.byte();
        let value = self.value_of(tag);
        let mut e = Event::new(self.prev.0, kind, process, f, value);
        e.key = key;
        if head & HAS_TIME != 0 {
            self.prev.1 = self.prev.1.wrapping_add(unzigzag(self.varint()));
            e.time_ns = Some(self.prev.1);
        }
        if head & HAS_INDEX != 0 {
            self.prev.2 = self.prev.2.wrapping_add(self.varint());
            e.index = Some(self.prev.2);
        }
        if head & HAS_NODE != 0 {
            e.node = Some(self.text());
        }
        e.is_final = head & IS_FINAL != 0;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::arb::{value, Space};
    use proptest::prelude::*;

    fn arb_event() -> impl Strategy<Value = Event> {
        let kind = prop::sample::select(vec![EventType::Invoke, EventType::Ok, EventType::Fail, EventType::Info]);
        let process = prop_oneof![
            (0u64..=crate::history::MAX_CLIENT_PROCESS).prop_map(Process::Client),
            Just(Process::Client(0)),
            Just(Process::Nemesis),
            Just(Process::Anonymous),
        ];
        let f = prop_oneof![
            prop::sample::select(NAMES.to_vec()),
            "[a-z-]{1,8}".prop_map(|s| F::parse(&s)),
            Just(F::Other("é".into())),
        ];
        (
            (any::<u64>(), kind, process, f),
            (proptest::option::of(value(Space::Any)), value(Space::Any)),
            (proptest::option::of(any::<i64>()), proptest::option::of(any::<u64>())),
            (proptest::option::of(".{0,4}"), any::<bool>()),
        )
            .prop_map(|((line, kind, process, f), (key, value), (time, index), (node, fin))| {
                let mut e = Event::new(line, kind, process, f, value);
                e.key = key;
                e.time_ns = time;
                e.index = index;
                e.node = node.map(Into::into);
                e.is_final = fin;
                e
            })
    }

    proptest! {
        #[test]
        fn packed_events_unpack_to_the_events_pushed(events in proptest::collection::vec(arb_event(), 0..20)) {
            let mut p = Packed::default();
            for e in &events {
                p.push(e.clone());
            }
            prop_assert_eq!(p.len(), events.len());
            let back: Vec<Event> = p.events().collect();
            // Debug too: it tells a float's sign and NaN apart.
            prop_assert_eq!(format!("{back:?}"), format!("{events:?}"));
            prop_assert_eq!(back, events);
        }
    }
}
