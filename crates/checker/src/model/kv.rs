//! Porcupine's key-value object, for one key: `get`, `put s`, `append s` on
//! strings. A missing key reads as `""`; `append` concatenates.

use super::{arg, bad_value, result, unsupported, Model, NilRead, ReadCause};
use crate::error::InputErrorKind;
use crate::history::{Op, Outcome, F};
use crate::value::Value;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Base of the polynomial content hash (odd, so powers never vanish mod 2^64).
const BASE: u64 = 0x100_0000_01b3;

/// The string a key holds, as a persistent chain of appended pieces: an
/// append is O(piece) instead of a copy of the whole string, and the hash of
/// the content is kept incrementally (polynomial, so any split of the same
/// text hashes alike). Equality compares content.
#[derive(Clone)]
pub struct KvState(Arc<Node>);

struct Node {
    parent: Option<KvState>,
    piece: Box<str>,
    /// Length and content hash of the whole string up to this piece.
    len: usize,
    hash: u64,
}

impl Drop for Node {
    /// Iterative, so that dropping a chain of many appends cannot overflow
    /// the stack.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(KvState(arc)) = next {
            match Arc::try_unwrap(arc) {
                Ok(mut node) => next = node.parent.take(),
                Err(_) => break,
            }
        }
    }
}

impl KvState {
    fn new(parent: Option<KvState>, piece: &str) -> KvState {
        let (len, mut hash) = parent.as_ref().map_or((0, 0), |p| (p.0.len, p.0.hash));
        for b in piece.bytes() {
            hash = hash.wrapping_mul(BASE).wrapping_add(u64::from(b) + 1);
        }
        KvState(Arc::new(Node { parent, piece: piece.into(), len: len + piece.len(), hash }))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len
    }

    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// Whether the content equals `text`, compared piece by piece from the end.
    pub fn eq_str(&self, text: &str) -> bool {
        if text.len() != self.0.len {
            return false;
        }
        let bytes = text.as_bytes();
        let mut end = bytes.len();
        let mut node = Some(self);
        while let Some(KvState(n)) = node {
            let start = end - n.piece.len();
            if &bytes[start..end] != n.piece.as_bytes() {
                return false;
            }
            end = start;
            node = n.parent.as_ref();
        }
        end == 0
    }

    /// The whole string.
    pub fn text(&self) -> String {
        let mut pieces = Vec::new();
        let mut node = Some(self);
        while let Some(KvState(n)) = node {
            pieces.push(&*n.piece);
            node = n.parent.as_ref();
        }
        pieces.iter().rev().copied().collect()
    }
}

impl PartialEq for KvState {
    /// Compares the two chains from the end, piece against piece, and stops
    /// early where they meet a shared node (the usual case for equal states:
    /// the same appends on top of the same earlier state).
    fn eq(&self, other: &KvState) -> bool {
        if self.0.len != other.0.len || self.0.hash != other.0.hash {
            return false;
        }
        // Cursors: a node and how many of its piece's bytes are still to
        // compare (from the end).
        let (mut a, mut b) = (Some(&self.0), Some(&other.0));
        let (mut ra, mut rb) = (self.0.piece.len(), other.0.piece.len());
        loop {
            while let Some(n) = a.filter(|_| ra == 0) {
                a = n.parent.as_ref().map(|p| &p.0);
                ra = a.map_or(0, |p| p.piece.len());
            }
            while let Some(n) = b.filter(|_| rb == 0) {
                b = n.parent.as_ref().map(|p| &p.0);
                rb = b.map_or(0, |p| p.piece.len());
            }
            let (Some(x), Some(y)) = (a, b) else {
                // Equal total lengths: both ran out together.
                return a.is_none() && b.is_none();
            };
            if ra == x.piece.len() && rb == y.piece.len() && Arc::ptr_eq(x, y) {
                return true;
            }
            let k = ra.min(rb);
            if x.piece.as_bytes()[ra - k..ra] != y.piece.as_bytes()[rb - k..rb] {
                return false;
            }
            ra -= k;
            rb -= k;
        }
    }
}

impl Eq for KvState {}

impl Hash for KvState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.0.hash);
    }
}

impl fmt::Debug for KvState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Kv {
    /// A `get` that returned `nil`: unknown, or the missing key (`""`).
    pub nil_read: NilRead,
}

const NAME: &str = "kv";

impl Model for Kv {
    type State = KvState;

    fn name(&self) -> &'static str {
        NAME
    }

    fn init(&self) -> KvState {
        KvState::new(None, "")
    }

    /// A string: every key starts with it.
    fn state_of(&self, v: &Value) -> Option<KvState> {
        Some(KvState::new(None, v.as_str()?))
    }

    fn step(&self, s: &KvState, op: &Op) -> Option<KvState> {
        match op.f {
            F::Get => match result(op) {
                Some(Value::Str(out)) => s.eq_str(out).then(|| s.clone()),
                Some(Value::Nil) if self.nil_read == NilRead::Absent => s.is_empty().then(|| s.clone()),
                Some(Value::Nil) | None => Some(s.clone()),
                Some(_) => None,
            },
            F::Put => Some(KvState::new(None, arg(op).as_str()?)),
            F::Append => Some(KvState::new(Some(s.clone()), arg(op).as_str()?)),
            _ => None,
        }
    }

    fn describe(&self, s: &KvState) -> String {
        format!("{:?}", s.text())
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        match op.f {
            F::Get => match result(op) {
                Some(Value::Str(_) | Value::Nil) | None => Ok(()),
                Some(v) => Err(bad_value(NAME, op, "a string", v)),
            },
            F::Put | F::Append => match arg(op) {
                Value::Str(_) => Ok(()),
                v => Err(bad_value(NAME, op, "a string", v)),
            },
            _ => Err(unsupported(NAME, op, "get, put, append")),
        }
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        op.f == F::Get
    }

    /// An info `append s` (s non-empty) that no ok `get` contains, and an
    /// info `put s` that no ok `get` starts with, are left out: once either
    /// takes effect, no get can follow until the next put, so removing it
    /// keeps the order legal. Under `NilRead::Unknown` nil gets fit any
    /// state, so they need no put; under `NilRead::Absent` they read `""`,
    /// which an info `put ""` may be what explains (#12 §1a).
    fn droppable_infos(&self, ops: &[&Op]) -> Vec<bool> {
        let mut gets: Vec<&str> =
            ops.iter().filter(|op| op.f == F::Get).filter_map(|op| result(op).and_then(Value::as_str)).collect();
        if self.nil_read == NilRead::Absent && ops.iter().any(|op| op.f == F::Get && result(op) == Some(&Value::Nil)) {
            gets.push("");
        }
        ops.iter()
            .map(|op| {
                if op.outcome != crate::history::Outcome::Info {
                    return false;
                }
                match (&op.f, arg(op).as_str()) {
                    (F::Get, _) => true,
                    (F::Append, Some(x)) => !x.is_empty() && !gets.iter().any(|g| g.contains(x)),
                    // Every string starts with "": `put ""` is never dropped.
                    (F::Put, Some(x)) => !gets.iter().any(|g| g.starts_with(x)),
                    _ => false,
                }
            })
            .collect()
    }

    /// A get that misses an ok append or put completed before it began, with
    /// no put able to fall between them: [`ReadCause::Missed`].
    fn read_cause(&self, _init: &KvState, ops: &[&Op], read: usize) -> Option<ReadCause> {
        kv_read_cause(self.nil_read, ops, read)
    }

    /// A state shares its prefix with its parent: only the newest piece
    /// and its node are new memory.
    fn heap_bytes(&self, s: &KvState) -> usize {
        std::mem::size_of::<Node>() + 16 + s.0.piece.len()
    }
}

/// [`Model::read_cause`] for kv. After an ok `append a` completes, the
/// value keeps `a` until a put replaces it; after an ok `put p`, it starts
/// with `p` until another put. So a get that began after such a write
/// completed, with no other put (ok or info) able to take effect between
/// the two (one that returned after the write began and began before the get
/// returned), must show it; one that does not is stale. The most recent such
/// write is named. The initial value plays no part: puts and appends only.
fn kv_read_cause(nil_read: NilRead, ops: &[&Op], read: usize) -> Option<ReadCause> {
    let g = ops.get(read)?;
    if g.f != F::Get {
        return None;
    }
    let text = match result(g)? {
        Value::Str(s) => s.as_ref(),
        Value::Nil if nil_read == NilRead::Absent => "",
        _ => return None,
    };
    let puts_between =
        |w: &Op| ops.iter().any(|p| p.f == F::Put && !std::ptr::eq(*p, w) && p.ret > w.call && p.call < g.ret);
    ops.iter()
        .enumerate()
        .filter(|(_, w)| w.outcome == Outcome::Ok && w.ret < g.call)
        .filter(|(_, w)| match (&w.f, arg(w).as_str()) {
            (F::Append, Some(a)) => !a.is_empty() && !text.contains(a),
            (F::Put, Some(p)) => !text.starts_with(p),
            _ => false,
        })
        .filter(|(_, w)| !puts_between(w))
        .max_by_key(|(_, w)| w.ret)
        .map(|(write, _)| ReadCause::Missed { write })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{info, ok};

    #[test]
    fn put_append_get() {
        let m = Kv { nil_read: NilRead::Unknown };
        let s = m.init();
        assert!(m.step(&s, &ok("get", Value::Nil, "".into())).is_some());
        let s = m.step(&s, &ok("put", "a".into(), Value::Nil)).unwrap();
        let s = m.step(&s, &info("append", "b".into())).unwrap();
        assert_eq!(s.text(), "ab");
        // Content equality, whatever the pieces.
        assert_eq!(s, m.step(&m.init(), &ok("put", "ab".into(), Value::Nil)).unwrap());
        assert_ne!(s, m.step(&m.init(), &ok("put", "ba".into(), Value::Nil)).unwrap());
        let split = |parts: &[&str]| {
            let mut st = m.init();
            for p in parts {
                st = m.step(&st, &ok("append", (*p).into(), Value::Nil)).unwrap();
            }
            st
        };
        assert_eq!(split(&["ab", "", "cd"]), split(&["a", "bc", "d"]));
        assert_ne!(split(&["ab", "cd"]), split(&["a", "bd", "c"]));
        assert_ne!(split(&["ab", "cd"]), split(&["ab", "c"]));
        let base = split(&["xy"]);
        let one = m.step(&base, &ok("append", "z".into(), Value::Nil)).unwrap();
        let two = m.step(&base, &ok("append", "z".into(), Value::Nil)).unwrap();
        assert_eq!(one, two);
        assert!(m.step(&s, &ok("get", Value::Nil, "ab".into())).is_some());
        assert!(m.step(&s, &ok("get", Value::Nil, "a".into())).is_none());
        assert!(m.step(&s, &ok("get", Value::Nil, Value::Nil)).is_some());
        let absent = Kv { nil_read: NilRead::Absent };
        assert!(absent.step(&s, &ok("get", Value::Nil, Value::Nil)).is_none());
        assert!(matches!(m.validate(&ok("put", 1.into(), Value::Nil)), Err(InputErrorKind::BadValue { .. })));
        assert!(matches!(m.validate(&ok("read", 1.into(), Value::Nil)), Err(InputErrorKind::UnsupportedOp { .. })));
    }

    /// An op over real-time positions `call..ret` (`ret` `u64::MAX`: info).
    fn at(mut o: Op, call: u64, ret: u64) -> Op {
        o.call = call;
        o.ret = ret;
        o
    }

    fn cause(ops: &[Op]) -> Option<ReadCause> {
        let refs: Vec<&Op> = ops.iter().collect();
        Kv { nil_read: NilRead::Absent }.read_cause(&KvState::new(None, ""), &refs, ops.len() - 1)
    }

    #[test]
    fn read_cause_names_the_append_or_put_a_get_missed() {
        let app = |s: &str, c, r| at(ok("append", s.into(), Value::Nil), c, r);
        let put = |s: &str, c, r| at(ok("put", s.into(), Value::Nil), c, r);
        let get = |s: &str, c, r| at(ok("get", Value::Nil, s.into()), c, r);
        // The most recent missed append is named.
        assert_eq!(cause(&[app("a", 0, 1), app("b", 2, 3), get("", 4, 5)]), Some(ReadCause::Missed { write: 1 }));
        assert_eq!(cause(&[app("a", 0, 1), app("b", 2, 3), get("b", 4, 5)]), Some(ReadCause::Missed { write: 0 }));
        // A put that may fall between could have replaced it.
        assert_eq!(cause(&[app("a", 0, 2), put("b", 1, 5), get("b", 4, 6)]), None);
        let info_put = at(info("put", "c".into()), 3, u64::MAX);
        assert_eq!(cause(&[app("a", 0, 1), info_put, get("c", 4, 5)]), None);
        // A put that surely came first cannot.
        assert_eq!(cause(&[put("b", 0, 1), app("a", 2, 3), get("b", 4, 5)]), Some(ReadCause::Missed { write: 1 }));
        // A put the get does not start with.
        assert_eq!(cause(&[put("xy", 0, 1), get("yx", 2, 3)]), Some(ReadCause::Missed { write: 0 }));
        // A write concurrent with the get, or a get that shows it: nothing.
        assert_eq!(cause(&[app("a", 0, 3), get("", 1, 2)]), None);
        assert_eq!(cause(&[put("p", 0, 1), app("a", 2, 3), get("pa", 4, 5)]), None);
        // Under NilRead::Unknown a nil get says nothing.
        let nil = at(ok("get", Value::Nil, Value::Nil), 2, 3);
        let refs = [&app("a", 0, 1), &nil];
        assert_eq!(Kv { nil_read: NilRead::Unknown }.read_cause(&KvState::new(None, ""), &refs, 1), None);
    }

    #[test]
    fn long_chains_drop_without_recursion() {
        let m = Kv { nil_read: NilRead::Unknown };
        let mut s = m.init();
        for _ in 0..200_000 {
            s = m.step(&s, &ok("append", "x".into(), Value::Nil)).unwrap();
        }
        assert_eq!(s.len(), 200_000);
        assert!(s.eq_str(&"x".repeat(200_000)));
        drop(s);
    }
}
