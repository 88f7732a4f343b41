//! Exact O(n log n) linearizability for read/write registers whose written
//! values are unique (Gibbons & Korach's read-mapping case; the "zones" of
//! Golab, Li & Shah).
//!
//! # The criterion and its proof
//!
//! Ops are intervals `[call, ret]` of event positions (all distinct; an info
//! write has `ret = +inf`). A linearization is equivalent to choosing a point
//! `t(o)` strictly inside each included op's interval, all distinct, and
//! ordering by points (an interval order can always be realised that way).
//!
//! Fail ops never happened: dropped. Info reads have no known result and do
//! not change the state: dropped. An info write nobody read is dropped: if
//! some linearization includes it, no read sits between it and the next write
//! (nobody read its value), so removing it leaves a legal linearization.
//! Reads that constrain nothing (`nil` under `NilRead::Unknown`) are legal in
//! every state and are only placed in the witness.
//!
//! Every remaining read returns a value `v`. If no (non-failed) write wrote
//! `v` the history is not linearizable. Otherwise, values being unique, `v`
//! names exactly one write `w(v)`; a read of the initial state names a
//! virtual write at time `-inf`. The *cluster* of `v` is `w(v)` plus the reads
//! of `v`. In a legal sequence each cluster is a contiguous block starting
//! with its write: the reads of `v` come after `w(v)` and before the next
//! write. For a cluster `C` let `f(C)` be the smallest `ret` in it and `s(C)`
//! the largest `call` (`f = -inf` for the initial cluster).
//!
//! **Claim.** The history is linearizable iff
//! (A) no read of `v` completes before `w(v)` is invoked, and
//! (B) there are no two clusters `C != D` with `f(C) < s(D)` and
//!     `f(D) < s(C)` (each must precede the other).
//!
//! *Necessity.* (A) is real time. For (B): the block of `C` spans
//! `[t(w_C), max t]`, and `t(w_C) <= t(o) < ret(o)` for all `o` in `C`, so the
//! block starts before `f(C)`; it ends after `s(C)`. If an op of `C` ends
//! before an op of `D` starts, that op of `C` is linearized before that op of
//! `D`, and blocks being contiguous, all of `C` precedes all of `D`. Both
//! directions together are impossible.
//!
//! *Sufficiency.* A cluster is *forward* if `f < s` (zone `[f, s]`) and
//! *backward* otherwise (all its calls precede all its returns). (B) says
//! exactly: forward zones are pairwise disjoint, and no backward cluster's
//! `(s, f)` lies inside a forward zone (two backward clusters can never
//! violate (B)). Place a forward cluster's write just before `f` (its call is
//! before `f` by (A)), its reads that were invoked before `f` just after the
//! write, and each later read just after its own call: the block lies in
//! `(f - e, s + e)`. Place a backward cluster as a tiny block at a point `p`
//! in `(s, f)` outside every forward zone — `s` itself if it is outside all
//! zones, else just after the end of the (only) zone containing `s`, which
//! ends before `f` because the cluster is not inside it. Every op's point is
//! inside its interval, blocks are disjoint and each starts with its write,
//! so sorting the points gives a legal linearization.
//!
//! Checking (B): sort forward zones by `f`; zones are pairwise disjoint iff
//! consecutive ones are. For a backward cluster only the forward zone with
//! the largest `f < s` can contain it. Hence O(n log n) in all.

use super::{call_pos, ret_pos, show, Found};
use crate::history::{History, Op, OpId, Outcome};
use crate::report::{Anomaly, OpRef};
use crate::value::Value;
use serde_json::json;
use std::collections::HashMap;

/// A value as a hash key: integers (the common case) inline, so that lookups
/// do not chase pointers into the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum VKey<'h> {
    Int(i64),
    Other(&'h Value),
}

impl<'h> VKey<'h> {
    fn of(v: &'h Value) -> VKey<'h> {
        match v {
            Value::Int(i) => VKey::Int(*i),
            v => VKey::Other(v),
        }
    }
}

/// An op's interval, copied out of the history so that the check reads
/// compact arrays.
#[derive(Clone, Copy, Debug)]
struct Iv {
    id: OpId,
    call: u64,
    ret: u64,
}

impl Iv {
    fn of(op: &Op) -> Iv {
        Iv { id: op.id, call: call_pos(op), ret: ret_pos(op) }
    }
}

/// One key's register ops, sorted out by what they do, with values interned
/// to small ids. Filled by the model adapters in `mod.rs`.
#[derive(Debug, Default)]
pub(crate) struct RegisterOps<'h> {
    ids: HashMap<VKey<'h>, u32>,
    /// Value id -> the value.
    values: Vec<&'h Value>,
    /// Value id -> index in `writes` of its write.
    writer: Vec<Option<u32>>,
    /// Writes that may have happened (ok or info): interval, value id, info.
    writes: Vec<(Iv, u32, bool)>,
    /// Ok reads whose result constrains the state: value id, `None` for the
    /// initial state.
    reads: Vec<(Iv, Option<u32>)>,
    /// Ok ops legal in any state (nil reads under `NilRead::Unknown`); only
    /// placed in the witness.
    free: Vec<Iv>,
    /// Failed writes, to explain reads of their values.
    failed: Vec<(OpId, &'h Value)>,
    /// Two writes wrote the same value: the criterion does not apply.
    pub duplicate: bool,
}

impl<'h> RegisterOps<'h> {
    fn intern(&mut self, v: &'h Value) -> u32 {
        let next = self.values.len() as u32;
        let id = *self.ids.entry(VKey::of(v)).or_insert(next);
        if id == next {
            self.values.push(v);
            self.writer.push(None);
        }
        id
    }

    /// A write (ok or info) of `v`.
    pub fn write(&mut self, op: &'h Op, v: &'h Value) {
        let id = self.intern(v);
        let slot = &mut self.writer[id as usize];
        if slot.is_some() {
            self.duplicate = true;
        }
        *slot = Some(self.writes.len() as u32);
        self.writes.push((Iv::of(op), id, op.outcome == Outcome::Info));
    }

    /// An ok read of `v` (`None`: of the initial state).
    pub fn read(&mut self, op: &'h Op, v: Option<&'h Value>) {
        let id = v.map(|v| self.intern(v));
        self.reads.push((Iv::of(op), id));
    }

    /// An ok op legal in every state.
    pub fn free(&mut self, op: &'h Op) {
        self.free.push(Iv::of(op));
    }

    /// A failed write of `v`.
    pub fn failed(&mut self, op: &'h Op, v: &'h Value) {
        self.failed.push((op.id, v));
    }
}

#[derive(Clone, Copy)]
struct Cluster {
    /// Index in `writes`; `None` for the initial cluster, or for a value no
    /// write wrote.
    write: Option<u32>,
    /// `None`: the initial value.
    value: Option<u32>,
    reads: u32,
    /// Smallest completion position in the cluster (0 = -inf for the initial
    /// cluster) and the op that has it.
    f: u64,
    f_op: Option<OpId>,
    /// Largest invoke position in the cluster and the op that has it.
    s: u64,
    s_op: Option<OpId>,
}

/// Where the witness puts a cluster.
#[derive(Clone, Copy)]
enum Place {
    Dropped,
    /// Rank among forward zones by `f`.
    Forward(u64),
    /// A point outside every forward zone.
    Backward(u64),
}

/// Decides one key. `None` when the written values are not unique (the
/// criterion does not apply); else the verdict with a witness or anomaly.
pub(crate) fn check(history: &History, ops: &RegisterOps<'_>, initial: &Value, witness: bool) -> Option<Found> {
    if ops.duplicate {
        return None;
    }
    let n = ops.values.len();
    // Cluster i < n is value id i; cluster n is the initial value's.
    let mut clusters: Vec<Cluster> = ops
        .writer
        .iter()
        .enumerate()
        .map(|(v, &w)| {
            let iv = w.map(|w| ops.writes[w as usize].0);
            Cluster {
                write: w,
                value: Some(v as u32),
                reads: 0,
                f: iv.map_or(u64::MAX, |iv| iv.ret),
                f_op: iv.map(|iv| iv.id),
                s: iv.map_or(0, |iv| iv.call),
                s_op: iv.map(|iv| iv.id),
            }
        })
        .collect();
    clusters.push(Cluster { write: None, value: None, reads: 0, f: 0, f_op: None, s: 0, s_op: None });
    for &(r, seen) in &ops.reads {
        let c = seen.map_or(n, |v| v as usize);
        let cl = &mut clusters[c];
        match cl.write {
            None if c != n => {
                return Some(Found::Invalid(unwritten(history, r.id, ops.values[c], ops)));
            }
            Some(w) => {
                let wiv = ops.writes[w as usize].0;
                if r.ret < wiv.call {
                    return Some(Found::Invalid(read_before_write(history, r.id, wiv.id)));
                }
            }
            None => {}
        }
        cl.reads += 1;
        if r.ret < cl.f {
            cl.f = r.ret;
            cl.f_op = Some(r.id);
        }
        if r.call > cl.s {
            cl.s = r.call;
            cl.s_op = Some(r.id);
        }
    }
    // Live clusters: a written value (info writes only if read: see the
    // module comment), or the initial value if read.
    let live = |c: &Cluster| match c.write {
        Some(w) => c.reads > 0 || !ops.writes[w as usize].2,
        None => c.value.is_none() && c.reads > 0,
    };
    let mut place: Vec<Place> = vec![Place::Dropped; clusters.len()];
    let mut forward: Vec<usize> =
        (0..clusters.len()).filter(|&i| live(&clusters[i]) && clusters[i].f < clusters[i].s).collect();
    forward.sort_unstable_by_key(|&i| clusters[i].f);
    for (rank, pair) in forward.windows(2).enumerate() {
        let (c, d) = (&clusters[pair[0]], &clusters[pair[1]]);
        if d.f < c.s {
            return Some(Found::Invalid(cycle(history, ops, c, d, initial)));
        }
        place[pair[0]] = Place::Forward(rank as u64);
    }
    if let Some(&last) = forward.last() {
        place[last] = Place::Forward(forward.len() as u64 - 1);
    }
    // For each backward cluster: the forward zone that starts last before its
    // last invoke, if that zone reaches past its last invoke.
    for (b, cl) in clusters.iter().enumerate() {
        if !live(cl) || cl.f < cl.s {
            continue;
        }
        let k = forward.partition_point(|&i| clusters[i].f < cl.s);
        let mut p = cl.s;
        if k > 0 {
            let z = &clusters[forward[k - 1]];
            if z.s > cl.f {
                return Some(Found::Invalid(cycle(history, ops, z, cl, initial)));
            }
            p = p.max(z.s);
        }
        place[b] = Place::Backward(p);
    }
    if !witness {
        return Some(Found::Valid(None));
    }

    // Witness: sort the points of the sufficiency proof. A point is
    // (position, phase, group, inner) with phase 0 = just before the
    // position, 2 = just after it, 3 = after that (backward blocks).
    let mut points: Vec<((u64, u8, u64, u64), OpId)> =
        Vec::with_capacity(ops.writes.len() + ops.reads.len() + ops.free.len());
    let key = |c: usize, iv: Iv, is_write: bool| -> Option<(u64, u8, u64, u64)> {
        let inner = if is_write { 0 } else { iv.call };
        match place[c] {
            Place::Dropped => None,
            Place::Forward(rank) if is_write || iv.call < clusters[c].f => Some((clusters[c].f, 0, rank, inner)),
            Place::Forward(_) => Some((iv.call, 2, 0, 0)),
            Place::Backward(p) => Some((p, 3, c as u64, inner)),
        }
    };
    for &(iv, v, _) in &ops.writes {
        if let Some(k) = key(v as usize, iv, true) {
            points.push((k, iv.id));
        }
    }
    for &(iv, seen) in &ops.reads {
        if let Some(k) = key(seen.map_or(n, |v| v as usize), iv, false) {
            points.push((k, iv.id));
        }
    }
    for &iv in &ops.free {
        points.push(((iv.call, 2, 0, 0), iv.id));
    }
    points.sort_unstable_by_key(|&(k, _)| k);
    Some(Found::Valid(Some(points.into_iter().map(|(_, id)| id).collect())))
}

fn value_name(v: Option<&Value>, initial: &Value) -> String {
    match v {
        Some(v) => format!("value {v}"),
        None => format!("the initial value {initial}"),
    }
}

fn unwritten(history: &History, r: OpId, v: &Value, ops: &RegisterOps<'_>) -> Anomaly {
    let failed = ops.failed.iter().find(|&&(_, fv)| fv == v).map(|&(w, _)| w);
    let mut refs = vec![OpRef::of(history, r)];
    let explanation = match failed {
        Some(w) => {
            refs.push(OpRef::of(history, w));
            format!(
                "{} returned {v}, but the only write of {v}, {}, failed, so it never took effect.",
                show(history, r),
                show(history, w)
            )
        }
        None => format!("{} returned {v}, a value that no operation wrote.", show(history, r)),
    };
    let reason = if failed.is_some() { "read-of-failed-write" } else { "read-of-unwritten-value" };
    Anomaly {
        kind: "not-linearizable".into(),
        ops: refs,
        explanation,
        detail: json!({ "reason": reason, "read": r, "value": v, "failed_write": failed }),
    }
}

fn read_before_write(history: &History, r: OpId, w: OpId) -> Anomaly {
    Anomaly {
        kind: "not-linearizable".into(),
        ops: vec![OpRef::of(history, r), OpRef::of(history, w)],
        explanation: format!(
            "{} completed before {}, the only write of that value, was invoked: it read the value before it \
             was written.",
            show(history, r),
            show(history, w)
        ),
        detail: json!({ "reason": "read-before-write", "read": r, "write": w }),
    }
}

/// Clusters `c` and `d` must each precede the other: `f(c) < s(d)` and
/// `f(d) < s(c)`.
fn cycle(history: &History, ops: &RegisterOps<'_>, c: &Cluster, d: &Cluster, initial: &Value) -> Anomaly {
    // Put the initial cluster, if any, first: it precedes everything.
    let (c, d) = if d.write.is_none() { (d, c) } else { (c, d) };
    let write_of = |cl: &Cluster| cl.write.map(|w| ops.writes[w as usize].0.id);
    let value_of = |cl: &Cluster| cl.value.map(|v| ops.values[v as usize]);
    let (w_c, w_d) = (write_of(c), write_of(d));
    // Every live cluster has an op with its largest invoke; d has a write.
    let (Some(y_c), Some(y_d), Some(x_d)) = (c.s_op, d.s_op, d.f_op) else {
        return Anomaly {
            kind: "not-linearizable".into(),
            ops: Vec::new(),
            explanation: "two values must each be linearized before the other".into(),
            detail: json!({ "reason": "conflicting-value-order" }),
        };
    };
    let mut ids: Vec<OpId> = Vec::new();
    let mut push = |id: Option<OpId>| {
        if let Some(id) = id {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    };
    let explanation;
    let vd = value_name(value_of(d), initial);
    let vc = value_name(value_of(c), initial);
    let wd = w_d.map(|w| show(history, w)).unwrap_or_default();
    let bare = |v: &str| v.trim_start_matches("value ").to_string();
    if c.write.is_none() {
        push(Some(y_c));
        push(Some(x_d));
        push(w_d);
        let via =
            if Some(x_d) == w_d { String::new() } else { format!(" and it returned {}, written by {wd}", bare(&vd)) };
        explanation = format!(
            "{} returned {vc}, so it must be linearized before every write; but {} completed before it \
             began{via}, so a write had already taken effect.",
            show(history, y_c),
            show(history, x_d)
        );
    } else {
        let x_c = c.f_op.unwrap_or(y_c);
        let wc = w_c.map(|w| show(history, w)).unwrap_or_default();
        if d.reads == 0 && Some(x_c) == w_c && y_c != x_c {
            // The common shape: w(c) < w(d) < a read of c's value.
            push(Some(y_c));
            push(w_d);
            push(w_c);
            explanation = format!(
                "{} began after {wd} completed, which itself began after {wc} completed, so the read must \
                 see {} or a later value, not {}.",
                show(history, y_c),
                bare(&vd),
                bare(&vc)
            );
        } else {
            for id in [Some(x_c), Some(y_d), Some(x_d), Some(y_c), w_c, w_d] {
                push(id);
            }
            explanation = format!(
                "The write of a value and the reads that returned it must be linearized as one block with no \
                 other write inside. {} completed before {} began, so the block of {vc} must come before the \
                 block of {vd}; but {} completed before {} began, which forces the block of {vd} first. ({vc} \
                 was written by {wc}; {vd} by {wd}.)",
                show(history, x_c),
                show(history, y_d),
                show(history, x_d),
                show(history, y_c)
            );
        }
    }
    Anomaly {
        kind: "not-linearizable".into(),
        ops: ids.iter().map(|&id| OpRef::of(history, id)).collect(),
        explanation,
        detail: json!({
            "reason": "conflicting-value-order",
            "values": [value_of(c), value_of(d)],
            "writes": [w_c, w_d],
            "ops": ids,
        }),
    }
}
