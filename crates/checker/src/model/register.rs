//! A register: `read`, `write v`, and with `cas` set also `cas [old new]`.
//! The state is the value held, `nil` until first written. One model for
//! both, since the plain register is the cas-register without cas.

use super::{arg, bad_value, read_matches, result, unsupported, Model, NilRead, ReadCause};
use crate::error::InputErrorKind;
use crate::history::{Op, Outcome, F};
use crate::value::Value;
use rustc_hash::{FxHashMap, FxHashSet};

/// With `cas`: Knossos's cas-register and Porcupine's etcd model (with
/// [`NilRead::Absent`]); without: the plain read/write register.
#[derive(Clone, Copy, Debug)]
pub struct Register {
    pub nil_read: NilRead,
    pub cas: bool,
}

const SUPPORTED: &str = "read, write, cas";

fn step_register(nil_read: NilRead, allow_cas: bool, s: &Value, op: &Op) -> Option<Value> {
    match op.f {
        F::Read => match result(op) {
            Some(out) => read_matches(nil_read, s, out).then(|| s.clone()),
            None => Some(s.clone()),
        },
        F::Write => Some(arg(op).clone()),
        F::Cas if allow_cas => match arg(op).as_seq() {
            Some([old, new]) if old == s => Some(new.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The value a write or cas leaves in the register.
fn produced(op: &Op) -> Option<&Value> {
    match op.f {
        F::Write => Some(arg(op)),
        F::Cas => match arg(op).as_seq() {
            Some([_, new]) => Some(new),
            _ => None,
        },
        _ => None,
    }
}

/// The value a write or cas can *change* the register to: a `cas [v v]`
/// leaves `v` only where `v` already was, so it writes nothing new. What a
/// read cause counts as a write of the value read.
fn changes_to(op: &Op) -> Option<&Value> {
    match (&op.f, arg(op).as_seq()) {
        (F::Cas, Some([old, new])) if old == new => None,
        _ => produced(op),
    }
}

/// An info write or cas that is the only op able to produce a non-nil value
/// that an ok read returns or an ok cas expects must take effect before that
/// op returns: nothing else could have put the value there.
fn required_register_infos(ops: &[&Op]) -> Vec<Option<u64>> {
    // value -> (number of producers, the last one)
    let mut producers: FxHashMap<&Value, (usize, usize)> = FxHashMap::default();
    for (i, op) in ops.iter().enumerate() {
        if let Some(v) = produced(op).filter(|v| !v.is_nil()) {
            let e = producers.entry(v).or_insert((0, i));
            *e = (e.0 + 1, i);
        }
    }
    let mut out = vec![None; ops.len()];
    for op in ops.iter().filter(|op| op.outcome == Outcome::Ok) {
        let observed = match op.f {
            F::Read => result(op),
            F::Cas => arg(op).as_seq().and_then(|s| s.first()),
            _ => None,
        };
        let Some(v) = observed.filter(|v| !v.is_nil()) else { continue };
        if let Some(&(1, i)) = producers.get(v) {
            if ops[i].outcome == Outcome::Info {
                out[i] = Some(out[i].map_or(op.ret, |d: u64| d.min(op.ret)));
            }
        }
    }
    out
}

/// Info writes and info cas whose new value nothing can observe are left
/// out. Observers: ok reads of a value (nil too under `NilRead::Absent`) and
/// the expected value of ok and kept info cas ops. If such a write takes
/// effect, until the next write only state-blind ops (writes, nil reads under
/// `NilRead::Unknown`) can follow it, so removing it keeps the order legal.
/// Dropping a cas can make its expected value unobserved: repeat to a fixpoint.
fn droppable_register_infos(nil_read: NilRead, ops: &[&Op]) -> Vec<bool> {
    let produced = |op: &Op| produced(op).cloned();
    let mut drop: Vec<bool> = ops.iter().map(|op| op.outcome == Outcome::Info && op.f == F::Read).collect();
    loop {
        let mut observed: FxHashSet<&Value> = FxHashSet::default();
        for (op, &dropped) in ops.iter().zip(&drop) {
            if dropped {
                continue;
            }
            match (op.f.clone(), result(op)) {
                (F::Read, Some(Value::Nil)) if nil_read == NilRead::Unknown => {}
                (F::Read, Some(v)) => {
                    observed.insert(v);
                }
                (F::Cas, _) => {
                    if let Some([old, _]) = arg(op).as_seq() {
                        observed.insert(old);
                    }
                }
                _ => {}
            }
        }
        let mut changed = false;
        for (i, op) in ops.iter().enumerate() {
            if !drop[i] && op.outcome == Outcome::Info && produced(op).is_some_and(|v| !observed.contains(&v)) {
                drop[i] = true;
                changed = true;
            }
        }
        if !changed {
            return drop;
        }
    }
}

fn validate_register(model: &'static str, allow_cas: bool, op: &Op) -> Result<(), InputErrorKind> {
    match op.f {
        F::Read | F::Write => Ok(()),
        F::Cas if allow_cas => match arg(op).as_seq() {
            Some([_, _]) => Ok(()),
            _ => Err(bad_value(model, op, "a pair [old new]", arg(op))),
        },
        _ => Err(unsupported(model, op, if allow_cas { SUPPORTED } else { "read, write" })),
    }
}

/// [`Model::read_cause`] for registers. The last write of the value read,
/// and an ok write of another value strictly between it and the read in real
/// time, prove the read stale: that write takes effect after every write of
/// the value and before the read. Nothing is claimed when a write of the
/// value may still take effect at the read (an info one, or one concurrent
/// with the read).
///
/// When neither proof applies (a write of the value may still be pending,
/// or the failed op is a cas), [`unreachable_cause`] looks for a value the
/// register surely held before and shows the value read cannot be made from
/// it in time.
pub(crate) fn register_read_cause(nil_read: NilRead, init: &Value, ops: &[&Op], read: usize) -> Option<ReadCause> {
    let r = ops.get(read)?;
    if r.outcome != Outcome::Ok {
        return None;
    }
    simple_read_cause(nil_read, init, ops, read)
        .or_else(|| unreachable_cause(nil_read, init, ops, read))
        .or_else(|| reused_write_cause(nil_read, ops, read))
}

/// The fourth proof, for a read (or a cas's expected value) `b`: the
/// register held another value at `before`, an ok op that completed before
/// the read began, so some op that can change it to `b` takes effect
/// between the two: one of `writes`. Going back in time, each earlier pair
/// in `earlier` (an op that left another value, then one that saw `b`,
/// which completed before the later pair's first op began, or is that op
/// itself, a cas that expected `b`) needs one of `writes` in between too.
/// With one more gap than writes, some write would have to take effect
/// twice. `before`, and each pair's first op, is the op with the latest
/// invoke that fits, which leaves the fewest candidates; each pair is the
/// latest that fits. At most [`MAX_REUSED`] writes.
fn reused_write_cause(nil_read: NilRead, ops: &[&Op], read: usize) -> Option<ReadCause> {
    let q = ops[read];
    let b = observed(nil_read, q)?;
    let writers: Vec<usize> = (0..ops.len()).filter(|&i| changes_to(ops[i]) == Some(b)).collect();
    // Ok ops that left another value, by completion, with the running
    // argmax of their invokes: the best first op for any later sighting.
    let mut others: Vec<usize> =
        (0..ops.len()).filter(|&i| held_after(nil_read, ops[i]).is_some_and(|x| x != b)).collect();
    others.sort_by_key(|&i| ops[i].ret);
    let mut best: Vec<usize> = Vec::with_capacity(others.len());
    for (k, &i) in others.iter().enumerate() {
        best.push(if k > 0 && ops[best[k - 1]].call > ops[i].call { best[k - 1] } else { i });
    }
    // The latest-invoked op that left another value and completed before `t`.
    let first_before = |t: u64| {
        let n = others.partition_point(|&i| ops[i].ret < t);
        (n > 0).then(|| best[n - 1])
    };
    // The ops that can change the value to `b` between `p` and `q`.
    let between = |p: usize, q: usize| -> Vec<usize> {
        writers
            .iter()
            .copied()
            .filter(|&w| w != p && w != q && ops[w].ret > ops[p].call && ops[w].call < ops[q].ret)
            .collect()
    };
    // Sightings of `b`, latest completion first.
    let mut sightings: Vec<usize> =
        (0..ops.len()).filter(|&j| j != read && observed(nil_read, ops[j]) == Some(b)).collect();
    sightings.sort_by_key(|&j| std::cmp::Reverse(ops[j].ret));
    let before = first_before(q.call)?;
    let writes = between(before, read);
    if writes.is_empty() || writes.len() > MAX_REUSED {
        return None;
    }
    let mut earlier: Vec<(usize, usize)> = Vec::new();
    let mut cur = before;
    while earlier.len() < writes.len() {
        let pair = sightings
            .iter()
            .copied()
            .filter(|&j| ops[j].ret < ops[cur].call || j == cur)
            .filter_map(|j| Some((first_before(ops[j].call)?, j)))
            .find(|&(p, j)| {
                let gap = between(p, j);
                !gap.is_empty() && gap.iter().all(|w| writes.contains(w))
            })?;
        earlier.push(pair);
        cur = pair.0;
    }
    Some(ReadCause::ReusedWrite { before, writes, earlier })
}

/// The most writes [`reused_write_cause`] shows used up.
const MAX_REUSED: usize = 4;

/// The value `op`, an ok read or cas, shows the register held: a read's
/// result (none for a nil read under [`NilRead::Unknown`]), a cas's expected
/// value.
fn observed(nil_read: NilRead, op: &Op) -> Option<&Value> {
    match op.f {
        F::Read => result(op).filter(|v| !(v.is_nil() && nil_read == NilRead::Unknown)),
        F::Cas if op.outcome == Outcome::Ok => arg(op).as_seq().and_then(|s| s.first()),
        _ => None,
    }
}

/// The value the register surely holds right after `op` takes effect, when
/// `op` is ok: what a write or cas left, what a read saw.
fn held_after(nil_read: NilRead, op: &Op) -> Option<&Value> {
    if op.outcome != Outcome::Ok {
        return None;
    }
    match op.f {
        F::Read => observed(nil_read, op),
        _ => produced(op),
    }
}

/// Candidate starting points [`unreachable_cause`] tries, the most recent
/// first: enough for real histories, and a bound on the work per read.
const UNREACHABLE_CANDIDATES: usize = 64;

/// The third proof, for a read (or a cas's expected value) `v`: some op
/// `from`, ok and completed before the read began, left the register
/// holding `s` (or the start did). Every op that can take effect between
/// `from` and the read was invoked before the read returned and did not
/// complete before `from` began. Take `s` and let those ops act, each as
/// often as we like (an over-approximation: each acts at most once, reads
/// in between are ignored): a write can always leave its value, a cas turns
/// its expected value into its new one. If `v` never comes out, no order
/// lets the read see it. The most recent `from` that proves it is named,
/// with the cas ops that could have led to `v` had their expected value
/// been reachable (`via`).
fn unreachable_cause(nil_read: NilRead, init: &Value, ops: &[&Op], read: usize) -> Option<ReadCause> {
    let r = ops[read];
    let v = observed(nil_read, r)?;
    let mut froms: Vec<usize> = (0..ops.len())
        .filter(|&i| i != read && ops[i].ret < r.call && held_after(nil_read, ops[i]).is_some())
        .collect();
    froms.sort_by_key(|&i| std::cmp::Reverse(ops[i].ret));
    froms.truncate(UNREACHABLE_CANDIDATES);
    // Ops that may act between `from` and the read: writes and cas ops
    // invoked before the read returned (the read itself excluded).
    let movers: Vec<usize> =
        (0..ops.len()).filter(|&i| i != read && ops[i].call < r.ret && matches!(ops[i].f, F::Write | F::Cas)).collect();
    let candidates = froms.into_iter().map(Some).chain([None]);
    for from in candidates {
        let (s, since) = match from {
            Some(f) => (held_after(nil_read, ops[f])?, Some(ops[f].call)),
            None => (init, None),
        };
        let window: Vec<usize> =
            movers.iter().copied().filter(|&j| Some(j) != from && since.is_none_or(|t| ops[j].ret > t)).collect();
        let reach = reachable(s, ops, &window);
        if reach.contains(v) {
            continue;
        }
        // The cas ops whose chain could end in `v`: back from `v` through
        // new value -> expected value.
        let mut back: FxHashSet<&Value> = std::iter::once(v).collect();
        loop {
            let before = back.len();
            for &j in &window {
                if let (F::Cas, Some([old, new])) = (&ops[j].f, arg(ops[j]).as_seq()) {
                    if old != new && back.contains(new) {
                        back.insert(old);
                    }
                }
            }
            if back.len() == before {
                break;
            }
        }
        let via = window
            .into_iter()
            .filter(|&j| ops[j].f == F::Cas && changes_to(ops[j]).is_some_and(|x| back.contains(x)))
            .collect();
        return Some(ReadCause::Unreachable { from, via, held: s.clone() });
    }
    None
}

/// The values the register can hold, starting from `s`, when the ops
/// `window` may each act any number of times in any order (see
/// [`unreachable_cause`]).
pub(crate) fn reachable<'v>(s: &'v Value, ops: &[&'v Op], window: &[usize]) -> FxHashSet<&'v Value> {
    let mut reach: FxHashSet<&Value> = std::iter::once(s).collect();
    loop {
        let before = reach.len();
        for &j in window {
            match (&ops[j].f, arg(ops[j]).as_seq()) {
                (F::Cas, Some([old, new])) => {
                    if reach.contains(old) {
                        reach.insert(new);
                    }
                }
                (F::Cas, _) => {}
                _ => {
                    reach.insert(arg(ops[j]));
                }
            }
        }
        if reach.len() == before {
            return reach;
        }
    }
}

/// The first two proofs (`Stale`, `StaleSeen`, `NeverWritten`), for a read.
fn simple_read_cause(nil_read: NilRead, init: &Value, ops: &[&Op], read: usize) -> Option<ReadCause> {
    let r = ops.get(read)?;
    if r.f != F::Read {
        return None;
    }
    let v = result(r)?;
    if v.is_nil() && nil_read == NilRead::Unknown {
        return None;
    }
    // The last write of `v` to complete before the read began; `None` while
    // only the initial state holds it.
    let mut last: Option<usize> = None;
    for (i, op) in ops.iter().enumerate() {
        if changes_to(op) != Some(v) || op.call > r.ret {
            continue;
        }
        if op.ret >= r.call {
            return None;
        }
        if last.is_none_or(|l| ops[l].ret < op.ret) {
            last = Some(i);
        }
    }
    if last.is_none() && init != v {
        return Some(ReadCause::NeverWritten);
    }
    let after = last.map(|l| ops[l].ret);
    let overwrite = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.outcome == Outcome::Ok && op.ret < r.call && after.is_none_or(|t| op.call > t))
        .filter(|(_, op)| changes_to(op).is_some_and(|x| x != v))
        .min_by_key(|(_, op)| op.call);
    if let Some((overwrite, _)) = overwrite {
        return Some(ReadCause::Stale { last_write: last, overwrite });
    }
    seen_overwrite(nil_read, init, ops, r, last, after)
}

/// The second proof of a stale read `r` of `v`: an ok read `seen_by` of
/// another value `u`, completed before `r` began, where every write of `u`
/// (ok or info) began after the last write of `v` completed, and `u` is not
/// the initial value. Whichever write `seen_by` saw took effect after every
/// write of `v` that can precede `r`, and before `r`, so `r` could not see
/// `v`. Catches the overwrite an info write made, which only a read shows
/// took effect (etcd histories).
fn seen_overwrite(
    nil_read: NilRead,
    init: &Value,
    ops: &[&Op],
    r: &Op,
    last: Option<usize>,
    after: Option<u64>,
) -> Option<ReadCause> {
    let v = result(r)?;
    let (seen_by, u) = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.f == F::Read && o.outcome == Outcome::Ok && o.ret < r.call)
        .filter_map(|(i, o)| Some((i, result(o)?)))
        .filter(|&(_, u)| u != v && u != init && !(u.is_nil() && nil_read == NilRead::Unknown))
        .filter(|&(_, u)| {
            let mut writers = ops.iter().filter(|w| changes_to(w) == Some(u)).peekable();
            writers.peek().is_some() && writers.all(|w| after.is_none_or(|t| w.call > t))
        })
        .min_by_key(|&(i, _)| ops[i].ret)?;
    let write = ops.iter().enumerate().filter(|(_, w)| changes_to(w) == Some(u)).min_by_key(|(_, w)| w.call)?.0;
    Some(ReadCause::StaleSeen { last_write: last, write, seen_by })
}

impl Model for Register {
    type State = Value;

    fn name(&self) -> &'static str {
        if self.cas {
            "cas-register"
        } else {
            "register"
        }
    }

    fn init(&self) -> Value {
        Value::Nil
    }

    fn state_of(&self, v: &Value) -> Option<Value> {
        Some(v.clone())
    }

    fn step(&self, s: &Value, op: &Op) -> Option<Value> {
        step_register(self.nil_read, self.cas, s, op)
    }

    fn describe(&self, s: &Value) -> String {
        s.to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        validate_register(self.name(), self.cas, op)
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        op.f == F::Read
    }

    fn droppable_infos(&self, ops: &[&Op]) -> Vec<bool> {
        droppable_register_infos(self.nil_read, ops)
    }

    fn required_infos(&self, ops: &[&Op]) -> Vec<Option<u64>> {
        required_register_infos(ops)
    }

    fn read_cause(&self, init: &Value, ops: &[&Op], read: usize) -> Option<ReadCause> {
        register_read_cause(self.nil_read, init, ops, read)
    }

    fn heap_bytes(&self, s: &Value) -> usize {
        value_heap_bytes(s)
    }
}

/// A rough count of the heap bytes a value owns.
pub(crate) fn value_heap_bytes(v: &Value) -> usize {
    let slot = std::mem::size_of::<Value>();
    match v {
        Value::Str(s) => s.len(),
        Value::List(xs) | Value::Set(xs) => values_heap_bytes(xs),
        // The buffer is shared with other values; counting it here would
        // count it once per holder.
        Value::SharedList(_) => 0,
        Value::Map(m) => m.iter().map(|(k, x)| 2 * slot + value_heap_bytes(k) + value_heap_bytes(x)).sum(),
        _ => 0,
    }
}

/// Heap bytes of a vector of values (its slots and what they own).
pub(crate) fn values_heap_bytes(xs: &[Value]) -> usize {
    xs.iter().map(|x| std::mem::size_of::<Value>() + value_heap_bytes(x)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_util::{info, list, ok};

    fn m(nil_read: NilRead) -> Register {
        Register { nil_read, cas: true }
    }

    /// An op over real-time positions `call..ret` (`ret` `u64::MAX`: info).
    fn at(mut o: Op, call: u64, ret: u64) -> Op {
        o.call = call;
        o.ret = ret;
        o
    }

    fn cause(nil_read: NilRead, init: Value, ops: &[Op]) -> Option<ReadCause> {
        let refs: Vec<&Op> = ops.iter().collect();
        m(nil_read).read_cause(&init, &refs, ops.len() - 1)
    }

    #[test]
    fn read_cause_names_the_last_write_and_the_overwrite() {
        let w1 = at(ok("write", 1.into(), 1.into()), 0, 1);
        let w1b = at(ok("write", 1.into(), 1.into()), 2, 3);
        let cas = at(ok("cas", list(vec![1.into(), 2.into()]), Value::Nil), 4, 5);
        let w3 = at(ok("write", 3.into(), 3.into()), 6, 7);
        let read = at(ok("read", Value::Nil, 1.into()), 8, 9);
        let ops = [w1.clone(), w1b.clone(), cas.clone(), w3.clone(), read.clone()];
        // The last write of 1 is the second; the first op to overwrite it, the cas.
        assert_eq!(
            cause(NilRead::Unknown, Value::Nil, &ops),
            Some(ReadCause::Stale { last_write: Some(1), overwrite: 2 })
        );
        // A write of 1 concurrent with the read may be what it saw.
        let w1c = at(ok("write", 1.into(), 1.into()), 7, 10);
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w1.clone(), w3.clone(), w1c, read.clone()]), None);
        // So may an info write of 1 invoked before the read returned.
        let w1i = at(info("write", 1.into()), 5, u64::MAX);
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w1.clone(), w3.clone(), w1i, read.clone()]), None);
        // A write of 1 invoked after the read returned cannot be.
        let w1late = at(ok("write", 1.into(), 1.into()), 10, 11);
        let ops = [w1.clone(), w3.clone(), w1late, read.clone()];
        assert_eq!(
            cause(NilRead::Unknown, Value::Nil, &ops),
            Some(ReadCause::Stale { last_write: Some(0), overwrite: 1 })
        );
        // An overwrite must complete before the read began, and be ok.
        let w3c = at(ok("write", 3.into(), 3.into()), 6, 8);
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w1.clone(), w3c, read.clone()]), None);
        let w3i = at(info("write", 3.into()), 2, u64::MAX);
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w1.clone(), w3i, read.clone()]), None);
    }

    #[test]
    fn read_cause_names_an_info_overwrite_that_another_read_saw() {
        // etcd_004's shape: an info write of 4 is seen by a read that
        // completed before the stale read of 1 began.
        let w1 = at(ok("write", 1.into(), 1.into()), 0, 1);
        let w4 = at(info("write", 4.into()), 2, u64::MAX);
        let r4 = at(ok("read", Value::Nil, 4.into()), 3, 4);
        let r1 = at(ok("read", Value::Nil, 1.into()), 5, 6);
        let seen = Some(ReadCause::StaleSeen { last_write: Some(0), write: 1, seen_by: 2 });
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w1.clone(), w4.clone(), r4.clone(), r1.clone()]), seen);
        // A write of 4 that may precede the write of 1: no such proof, but
        // the read of 4 itself shows the register held 4 after every write
        // of 1 that can precede the read of 1.
        let ops = [
            at(ok("write", 4.into(), 4.into()), 0, 2),
            at(ok("write", 1.into(), 1.into()), 1, 3),
            at(info("write", 4.into()), 4, u64::MAX),
            at(ok("read", Value::Nil, 4.into()), 5, 6),
            at(ok("read", Value::Nil, 1.into()), 7, 8),
        ];
        let want = Some(ReadCause::Unreachable { from: Some(3), via: vec![], held: 4.into() });
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &ops), want);
        assert_eq!(simple_read_cause(NilRead::Unknown, &Value::Nil, &ops.iter().collect::<Vec<_>>(), 4), None);
        // The read of 4 overlapping the stale read proves nothing.
        let r4c = at(ok("read", Value::Nil, 4.into()), 3, 5);
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w1.clone(), w4.clone(), r4c, r1.clone()]), None);
        // Nor does a read of the initial value, for this proof; but that
        // read still shows the register held 4 after the write of 1.
        let ops = [w1.clone(), w4.clone(), r4.clone(), r1.clone()];
        assert_eq!(simple_read_cause(NilRead::Unknown, &4.into(), &ops.iter().collect::<Vec<_>>(), 3), None);
        let want = Some(ReadCause::Unreachable { from: Some(2), via: vec![], held: 4.into() });
        assert_eq!(cause(NilRead::Unknown, 4.into(), &ops), want);
        // From the initial value: the write of 4 came after the start.
        let r0 = at(ok("read", Value::Nil, 0.into()), 5, 6);
        let from_start = Some(ReadCause::StaleSeen { last_write: None, write: 0, seen_by: 1 });
        assert_eq!(cause(NilRead::Unknown, 0.into(), &[w4, r4, r0]), from_start);
    }

    #[test]
    fn read_cause_of_the_initial_value_and_of_a_value_nobody_wrote() {
        let w3 = at(ok("write", 3.into(), 3.into()), 0, 1);
        let nil = at(ok("read", Value::Nil, Value::Nil), 2, 3);
        let stale = Some(ReadCause::Stale { last_write: None, overwrite: 0 });
        assert_eq!(cause(NilRead::Absent, Value::Nil, &[w3.clone(), nil.clone()]), stale);
        // Under NilRead::Unknown a nil read says nothing.
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w3.clone(), nil]), None);
        let read9 = at(ok("read", Value::Nil, 9.into()), 2, 3);
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w3.clone(), read9.clone()]), Some(ReadCause::NeverWritten));
        // Started with 9 (--initial): stale, not unwritten.
        assert_eq!(cause(NilRead::Unknown, 9.into(), &[w3.clone(), read9.clone()]), stale);
        let refs = [&w3, &read9];
        let init = crate::model::WithInitial { model: &m(NilRead::Unknown), init: Value::Int(9) };
        assert_eq!(init.read_cause(&Value::Nil, &refs, 1), stale, "the wrapper's own start counts");
        // Only reads have a cause.
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w3.clone(), w3]), None);
    }

    #[test]
    fn read_cause_when_no_order_can_make_the_value_in_time() {
        // etcd's shape: an info cas [3 4] is pending, but after the write of
        // 1 nothing in between can make 3, so nor 4.
        let w3 = at(ok("write", 3.into(), 3.into()), 0, 1);
        let cas34 = at(info("cas", list(vec![3.into(), 4.into()])), 2, u64::MAX);
        let w1 = at(ok("write", 1.into(), 1.into()), 3, 4);
        let r4 = at(ok("read", Value::Nil, 4.into()), 5, 6);
        let want = Some(ReadCause::Unreachable { from: Some(2), via: vec![1], held: 1.into() });
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w3.clone(), cas34.clone(), w1.clone(), r4.clone()]), want);
        // A cas [1 3] that may follow the write of 1 makes 3, then 4.
        let cas13 = at(info("cas", list(vec![1.into(), 3.into()])), 3, u64::MAX);
        let ops = [w3.clone(), cas34.clone(), w1.clone(), cas13, r4.clone()];
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &ops), None);
        // Without the write of 1 the info cas explains the read.
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w3.clone(), cas34.clone(), r4.clone()]), None);
        // A read that saw 1 proves it as well as the write.
        let r1 = at(ok("read", Value::Nil, 1.into()), 3, 4);
        let cas01 = at(info("cas", list(vec![Value::Nil, 1.into()])), 0, u64::MAX);
        let want = Some(ReadCause::Unreachable { from: Some(2), via: vec![1], held: 1.into() });
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[cas01, cas34.clone(), r1, r4.clone()]), want);
    }

    #[test]
    fn read_cause_when_the_only_write_of_the_value_was_needed_earlier() {
        // etcd_004's shape: the info write of 2 must fall between the read
        // of 4 and the read of 2, and again between the later 4 and 2.
        let w4 = at(ok("write", 4.into(), 4.into()), 0, 1);
        let w2 = at(info("write", 2.into()), 1, u64::MAX);
        let w4i = at(info("write", 4.into()), 1, u64::MAX);
        let r4 = at(ok("read", Value::Nil, 4.into()), 2, 3);
        let r2 = at(ok("read", Value::Nil, 2.into()), 4, 5);
        let r4b = at(ok("read", Value::Nil, 4.into()), 6, 7);
        let r2b = at(ok("read", Value::Nil, 2.into()), 8, 9);
        let ops = [w4.clone(), w2.clone(), w4i.clone(), r4.clone(), r2.clone(), r4b.clone(), r2b.clone()];
        let want = ReadCause::ReusedWrite { before: 5, writes: vec![1], earlier: vec![(3, 4)] };
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &ops), Some(want));
        // A second write of 2 that may fall in the later gap: no proof.
        let w2b = at(info("write", 2.into()), 5, u64::MAX);
        let ops = [w4.clone(), w2.clone(), w4i.clone(), r4.clone(), r2.clone(), w2b.clone(), r4b.clone(), r2b.clone()];
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &ops), None);
        // ... unless a third gap needs one of the two as well (etcd_057).
        let r4c = at(ok("read", Value::Nil, 4.into()), 10, 11);
        let r2c = at(ok("read", Value::Nil, 2.into()), 12, 13);
        let ops = [w4, w2, w4i, r4, r2, w2b, r4b, r2b, r4c, r2c];
        let want = ReadCause::ReusedWrite { before: 8, writes: vec![1, 5], earlier: vec![(6, 7), (3, 4)] };
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &ops), Some(want));
        // A cas that expected 2 and left 3 is a sighting and a gap's start.
        let w2 = at(info("write", 2.into()), 0, u64::MAX);
        let w1 = at(ok("write", 1.into(), 1.into()), 0, 1);
        let cas = at(ok("cas", list(vec![2.into(), 3.into()]), Value::Nil), 2, 3);
        let r2 = at(ok("read", Value::Nil, 2.into()), 4, 5);
        let want = ReadCause::ReusedWrite { before: 2, writes: vec![0], earlier: vec![(1, 2)] };
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w2, w1, cas, r2]), Some(want));
    }

    #[test]
    fn cas_cause_when_its_expected_value_was_overwritten() {
        let w1 = at(ok("write", 1.into(), 1.into()), 0, 1);
        let cas = at(ok("cas", list(vec![2.into(), 3.into()]), Value::Nil), 2, 3);
        let want = Some(ReadCause::Unreachable { from: Some(0), via: vec![], held: 1.into() });
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w1.clone(), cas.clone()]), want);
        // From the start: nothing writes 2 at all.
        let want = Some(ReadCause::Unreachable { from: None, via: vec![], held: Value::Nil });
        assert_eq!(cause(NilRead::Unknown, Value::Nil, std::slice::from_ref(&cas)), want);
        // A write of 2 that may fall between explains it.
        let w2 = at(ok("write", 2.into(), 2.into()), 1, 4);
        assert_eq!(cause(NilRead::Unknown, Value::Nil, &[w1, w2, cas]), None);
    }

    #[test]
    fn write_then_read() {
        let r = m(NilRead::Unknown);
        let s = r.step(&r.init(), &ok("write", 3.into(), 3.into())).unwrap();
        assert_eq!(s, Value::Int(3));
        assert!(r.step(&s, &ok("read", Value::Nil, 3.into())).is_some());
        assert!(r.step(&s, &ok("read", Value::Nil, 4.into())).is_none());
    }

    #[test]
    fn cas_semantics() {
        let r = m(NilRead::Unknown);
        let s = Value::Int(1);
        assert_eq!(r.step(&s, &ok("cas", list(vec![1.into(), 2.into()]), Value::Nil)), Some(Value::Int(2)));
        assert_eq!(r.step(&s, &ok("cas", list(vec![2.into(), 3.into()]), Value::Nil)), None);
        // An info cas took effect only if it could have.
        assert_eq!(r.step(&s, &info("cas", list(vec![1.into(), 5.into()]))), Some(Value::Int(5)));
        assert_eq!(r.step(&s, &info("cas", list(vec![0.into(), 5.into()]))), None);
        // cas from nil on a never-written register.
        assert_eq!(r.step(&Value::Nil, &ok("cas", list(vec![Value::Nil, 7.into()]), Value::Nil)), Some(7.into()));
    }

    #[test]
    fn nil_read_rule() {
        let unknown = m(NilRead::Unknown);
        let absent = m(NilRead::Absent);
        let read_nil = ok("read", Value::Nil, Value::Nil);
        assert!(unknown.step(&Value::Int(3), &read_nil).is_some());
        assert!(absent.step(&Value::Int(3), &read_nil).is_none());
        assert!(absent.step(&Value::Nil, &read_nil).is_some());
        assert!(absent.step(&Value::Nil, &ok("read", Value::Nil, 1.into())).is_none());
    }

    #[test]
    fn validates_shapes() {
        let r = m(NilRead::Unknown);
        assert!(r.validate(&ok("cas", list(vec![1.into(), 2.into()]), Value::Nil)).is_ok());
        assert!(matches!(r.validate(&ok("cas", 1.into(), Value::Nil)), Err(InputErrorKind::BadValue { .. })));
        assert!(matches!(r.validate(&ok("add", 1.into(), Value::Nil)), Err(InputErrorKind::UnsupportedOp { .. })));
        assert!(r.info_is_noop(&info("read", Value::Nil)));
        assert!(!r.info_is_noop(&info("write", 1.into())));
    }

    #[test]
    fn no_cas() {
        let r = Register { nil_read: NilRead::Absent, cas: false };
        let cas = ok("cas", list(vec![Value::Nil, 1.into()]), Value::Nil);
        assert!(r.step(&Value::Nil, &cas).is_none());
        assert!(matches!(r.validate(&cas), Err(InputErrorKind::UnsupportedOp { .. })));
        let s = r.step(&r.init(), &ok("write", 2.into(), 2.into())).unwrap();
        assert!(r.step(&s, &ok("read", Value::Nil, 2.into())).is_some());
        assert!(r.step(&s, &ok("read", Value::Nil, Value::Nil)).is_none());
    }
}
