//! Exact O(n + total read length) linearizability for list-append objects
//! whose appended elements are unique: every read reveals the exact order of
//! the appends before it.
//!
//! # The criterion and its proof
//!
//! Ops are intervals of event positions, as in `register.rs`; a linearization
//! is a choice of distinct points inside the included ops' intervals. Fail ops
//! never happened; info reads are dropped (unknown result, no effect); nil
//! reads under `NilRead::Unknown` are legal in every state (witness only).
//!
//! The state is a list; a read returns it whole. So in any legal sequence
//! (1) each read's list is a prefix of the state at the end, hence all read
//! lists are prefixes of the longest one, `L`; (2) each element of `L` was
//! appended by a non-failed append, once (elements are unique, so it appears
//! once). Otherwise: not linearizable. Let `a_k` append `L[k]`; the *version*
//! `k` cluster is `a_k` (none for `k = 0`) plus the reads of length `k`.
//! Legality forces the order of blocks: cluster 0, cluster 1, ..., cluster
//! `m = |L|`, each starting with its append, then the appends no read saw.
//! An unseen info append can be left out: any read after it would contain its
//! element, so nothing depends on it. An unseen ok append must be placed after
//! every read (none contains it) and after every seen append (a read that saw
//! `a_k` would otherwise contain it); among themselves they commute.
//!
//! With the block order fixed, the greedy that puts each op at the earliest
//! point allowed — `max(previous point, own invoke) + e` — decides
//! feasibility: any valid choice of points is pointwise at or after the
//! greedy's (induction along the order), so if the greedy's point for an op
//! is not before its return, no choice is. Concretely, with `T` the largest
//! invoke seen so far: cluster `k` fits iff `max(T, call(a_k)) < ret(o)` for
//! every `o` in it (its append goes first; each read then only needs its own
//! interval), and the unseen ok appends fit iff `T < ret(u)` for all of them.

use super::{call_pos, ordinal, ret_pos, show, Found};
use crate::history::{History, OpId};
use crate::report::{Anomaly, AnomalyDetail, AppendRule};
use crate::value::Value;
use rustc_hash::FxHashMap;

/// One key's list-append ops, sorted out by what they do.
#[derive(Debug, Default)]
pub(crate) struct AppendOps<'h> {
    /// Appends that may have happened (ok or info), with their elements.
    pub appends: Vec<(OpId, &'h Value)>,
    /// Ok reads with the list they returned (empty for the initial state).
    pub reads: Vec<(OpId, &'h [Value])>,
    /// Ok reads legal in any state (nil under `NilRead::Unknown`).
    pub free: Vec<OpId>,
    /// Failed appends, to explain reads of their elements.
    pub failed: Vec<(OpId, &'h Value)>,
}

/// A fast-path anomaly breaking one of this path's rules.
fn anomaly(history: &History, ids: &[OpId], explanation: String, rule: AppendRule) -> Anomaly {
    super::anomaly(history, ids, explanation, AnomalyDetail::Append(rule))
}

fn elements(n: usize) -> String {
    if n == 1 {
        "1 element".to_string()
    } else {
        format!("{n} elements")
    }
}

/// Decides one key. `None` when appended elements are not unique.
pub(crate) fn check(history: &History, ops: &AppendOps<'_>, witness: bool) -> Option<Found> {
    let op = |id: OpId| history.op(id);
    let mut by_elem: FxHashMap<&Value, OpId> =
        FxHashMap::with_capacity_and_hasher(ops.appends.len(), Default::default());
    for &(a, x) in &ops.appends {
        if by_elem.insert(x, a).is_some() {
            return None;
        }
    }
    // The longest read (the first one on ties).
    let Some(&(longest, full)) = ops.reads.iter().fold(None, |best: Option<&(OpId, &[Value])>, r| match best {
        Some(b) if b.1.len() >= r.1.len() => Some(b),
        _ => Some(r),
    }) else {
        // No read constrains anything: ok appends in real-time order work.
        return Some(Found::Valid(witness.then(|| unseen_only(history, ops))));
    };
    let Prefixes { writer, at, mut by_len } = match prefixes(history, ops, &by_elem, longest, full) {
        Ok(p) => p,
        Err(a) => return Some(Found::Invalid(a)),
    };

    let mut points = Points { at: Vec::new(), seq: 1, keep: witness };
    let t = match greedy(history, &writer, &mut by_len, &mut points) {
        Ok(t) => t,
        Err((k, x, y)) => {
            return Some(Found::Invalid(order_violation(history, ops, &writer, full, longest, k, x, y)));
        }
    };
    let mut unseen: Vec<OpId> = ops
        .appends
        .iter()
        .filter(|&&(a, _)| !at.contains_key(&a) && op(a).outcome == crate::history::Outcome::Ok)
        .map(|&(a, _)| a)
        .collect();
    if let Some(&u) = unseen.iter().min_by_key(|&&u| ret_pos(op(u))) {
        if ret_pos(op(u)) <= t.0 {
            let y = t.1.unwrap_or(u);
            return Some(Found::Invalid(unseen_violation(history, ops, &writer, full, longest, &by_len, u, y)));
        }
    }
    if !witness {
        return Some(Found::Valid(None));
    }
    unseen.sort_unstable_by_key(|&u| call_pos(op(u)));
    for &u in &unseen {
        points.push(t.0.max(call_pos(op(u))), u);
    }
    for &r in &ops.free {
        points.at.push(((call_pos(op(r)), 0), r));
    }
    points.at.sort_unstable_by_key(|&(k, _)| k);
    Some(Found::Valid(Some(points.at.into_iter().map(|(_, id)| id).collect())))
}

/// The witness's points: (position, order) and the op placed there.
struct Points {
    at: Vec<((u64, u64), OpId)>,
    /// The next order number: ops at one position keep the order pushed.
    seq: u64,
    /// Whether a witness is wanted (else nothing is kept).
    keep: bool,
}

impl Points {
    fn push(&mut self, pos: u64, id: OpId) {
        if self.keep {
            self.at.push(((pos, self.seq), id));
            self.seq += 1;
        }
    }
}

/// The greedy over the forced block order, cluster by cluster: the largest
/// invoke (and its op) once every cluster fits, or `(k, x, y)` when op `x`
/// of cluster `k` completed before op `y` (of an earlier cluster, or `a_k`)
/// began. Each op's point goes to `points`.
fn greedy(
    history: &History,
    writer: &[OpId],
    by_len: &mut [Vec<OpId>],
    points: &mut Points,
) -> Result<(u64, Option<OpId>), (usize, OpId, OpId)> {
    let op = |id: OpId| history.op(id);
    // The largest invoke so far and the op that has it.
    let mut t: (u64, Option<OpId>) = (0, None);
    for (k, reads) in by_len.iter_mut().enumerate() {
        let start = match k.checked_sub(1).map(|i| writer[i]) {
            Some(a) => {
                let start = t.max((call_pos(op(a)), Some(a)));
                let first_ret = reads.iter().chain([&a]).map(|&o| (ret_pos(op(o)), o)).min();
                if let Some((f, x)) = first_ret {
                    if f <= start.0 {
                        return Err((k, x, start.1.unwrap_or(a)));
                    }
                }
                points.push(start.0, a);
                start
            }
            None => t,
        };
        if points.keep {
            reads.sort_unstable_by_key(|&r| call_pos(op(r)));
            for &r in reads.iter() {
                points.push(start.0.max(call_pos(op(r))), r);
            }
        }
        t = start;
        for &r in reads.iter() {
            t = t.max((call_pos(op(r)), Some(r)));
        }
    }
    Ok(t)
}

/// Read `r`'s `j`th element `x`, which no op that may have happened
/// appended.
fn unwritten(history: &History, ops: &AppendOps<'_>, r: OpId, j: usize, x: &Value) -> Anomaly {
    let failed = ops.failed.iter().find(|&&(_, fx)| fx == x).map(|&(a, _)| a);
    let mut ids = vec![r];
    let explanation = match failed {
        Some(a) => {
            ids.push(a);
            format!(
                "{} returned a list whose {} element is {x}, but the only append of {x}, {}, failed, so it \
                 never took effect.",
                show(history, r),
                ordinal(j),
                show(history, a)
            )
        }
        None => {
            format!(
                "{} returned a list whose {} element is {x}, which no operation appended.",
                show(history, r),
                ordinal(j)
            )
        }
    };
    let (element, failed_append) = (x.clone(), failed);
    let rule = match failed {
        Some(_) => AppendRule::ReadOfFailedAppend { element, failed_append, read: r },
        None => AppendRule::ReadOfUnappendedElement { element, failed_append, read: r },
    };
    anomaly(history, &ids, explanation, rule)
}

/// What the longest read `full` (by `longest`) says about the others.
struct Prefixes {
    /// The append of each element of `full`.
    writer: Vec<OpId>,
    /// Each such append's index in `full`.
    at: FxHashMap<OpId, usize>,
    /// The reads by the length of their list (version `k` is the reads of
    /// `k` elements).
    by_len: Vec<Vec<OpId>>,
}

/// An anomaly unless every element of `full` was appended, once, and every
/// read is a prefix of `full`.
fn prefixes(
    history: &History,
    ops: &AppendOps<'_>,
    by_elem: &FxHashMap<&Value, OpId>,
    longest: OpId,
    full: &[Value],
) -> Result<Prefixes, Anomaly> {
    let mut writer: Vec<OpId> = Vec::with_capacity(full.len());
    let mut at: FxHashMap<OpId, usize> = FxHashMap::with_capacity_and_hasher(full.len(), Default::default());
    for (j, x) in full.iter().enumerate() {
        let Some(&a) = by_elem.get(x) else { return Err(unwritten(history, ops, longest, j, x)) };
        if let Some(&first) = at.get(&a) {
            let explanation = format!(
                "{} returned a list with {x} both as its {} and its {} element, but {x} was appended only once, \
                 by {}.",
                show(history, longest),
                ordinal(first),
                ordinal(j),
                show(history, a)
            );
            let detail = AppendRule::DuplicateElement { append: a, element: x.clone(), read: longest };
            return Err(anomaly(history, &[longest, a], explanation, detail));
        }
        at.insert(a, j);
        writer.push(a);
    }
    let mut by_len: Vec<Vec<OpId>> = vec![Vec::new(); full.len() + 1];
    for &(r, list) in &ops.reads {
        // A read sharing the longest read's buffer (see `Value::SharedList`)
        // is a prefix of it without comparing.
        let shared = std::ptr::eq(list.as_ptr(), full.as_ptr());
        let differs = || list.iter().zip(full).position(|(x, y)| x != y);
        if let Some(j) = if shared { None } else { differs() } {
            let x = &list[j];
            if !by_elem.contains_key(x) {
                return Err(unwritten(history, ops, r, j, x));
            }
            let explanation = format!(
                "{} and {} disagree on the {} element of the list ({} vs {}); every read returns the whole list \
                 at its point, so one of them must be a prefix of the other.",
                show(history, r),
                show(history, longest),
                ordinal(j),
                x,
                full[j]
            );
            let detail = AppendRule::DivergentReads { index: j, reads: [r, longest] };
            return Err(anomaly(history, &[r, longest], explanation, detail));
        }
        by_len[list.len()].push(r);
    }
    Ok(Prefixes { writer, at, by_len })
}

/// The witness when no read constrains anything: ok appends and free reads
/// in invoke order.
fn unseen_only(history: &History, ops: &AppendOps<'_>) -> Vec<OpId> {
    let mut ids: Vec<OpId> = ops
        .appends
        .iter()
        .map(|&(a, _)| a)
        .filter(|&a| history.op(a).outcome == crate::history::Outcome::Ok)
        .chain(ops.free.iter().copied())
        .collect();
    ids.sort_unstable_by_key(|&id| call_pos(history.op(id)));
    ids
}

/// What op `o` of a seen cluster says about element `k - 1` of the list
/// (`L[k-1]`, appended by `writer[k-1]`).
fn role(history: &History, writer: &[OpId], full: &[Value], o: OpId, k: usize) -> String {
    if writer.get(k.wrapping_sub(1)) == Some(&o) {
        format!("{} appended {}", show(history, o), full[k - 1])
    } else {
        format!("{} returned a list of {}", show(history, o), elements(k))
    }
}

/// Greedy failure at cluster `k`: op `x` of cluster `k` completed before op
/// `y` began, and `y` belongs to an earlier cluster (or is `a_k` itself).
#[allow(clippy::too_many_arguments)]
fn order_violation(
    history: &History,
    ops: &AppendOps<'_>,
    writer: &[OpId],
    full: &[Value],
    longest: OpId,
    k: usize,
    x: OpId,
    y: OpId,
) -> Anomaly {
    let a_k = writer[k - 1];
    let elem = &full[k - 1];
    let y_read = ops.reads.iter().find(|&&(r, _)| r == y).map(|&(_, l)| l.len());
    let (ids, why) = if y == a_k {
        (
            vec![x, a_k],
            format!(
                "{} returned a list whose {} element is {elem}, but it completed before {}, the append of \
                 {elem}, was invoked.",
                show(history, x),
                ordinal(k - 1),
                show(history, a_k)
            ),
        )
    } else if let Some(len) = y_read {
        if x == a_k {
            (
                vec![x, y],
                format!(
                    "{} completed before {} began, yet that read returned only {}, without {elem}.",
                    show(history, x),
                    show(history, y),
                    elements(len)
                ),
            )
        } else {
            (
                vec![x, y, a_k],
                format!(
                    "{} completed before {} began, so it must be linearized first; yet the later read returned \
                     only {}, without {elem} (the {} element, appended by {}), which the earlier \
                     read saw.",
                    show(history, x),
                    show(history, y),
                    elements(len),
                    ordinal(k - 1),
                    show(history, a_k)
                ),
            )
        }
    } else {
        // y appended an element before L[k-1]; the longest read shows it.
        let i = writer.iter().position(|&a| a == y).unwrap_or(0);
        let mut ids = vec![x, y, longest];
        if x != a_k && !ids.contains(&a_k) {
            ids.push(a_k);
        }
        (
            ids,
            format!(
                "{} completed before {} began, so it must be linearized first; but {} shows {} (the {} element) \
                 before {elem} (the {}), so that append must come first. ({})",
                show(history, x),
                show(history, y),
                show(history, longest),
                full[i],
                ordinal(i),
                ordinal(k - 1),
                role(history, writer, full, x, k)
            ),
        )
    };
    let detail = AppendRule::RealTimeOrder { element: elem.clone(), first: x, ops: ids.clone(), then: y };
    anomaly(history, &ids, why, detail)
}

/// An ok append `u` that no read saw completed before op `y` of a seen
/// cluster began.
#[allow(clippy::too_many_arguments)]
fn unseen_violation(
    history: &History,
    ops: &AppendOps<'_>,
    writer: &[OpId],
    full: &[Value],
    longest: OpId,
    by_len: &[Vec<OpId>],
    u: OpId,
    y: OpId,
) -> Anomaly {
    let elem = ops.appends.iter().find(|&&(a, _)| a == u).map(|&(_, x)| x.clone()).unwrap_or_default();
    let (ids, why) = match writer.iter().position(|&a| a == y) {
        None => (
            vec![u, y],
            format!(
                "{} completed before {} began, but that read does not contain {elem}; no read ever saw {elem}, so \
                 the append was lost.",
                show(history, u),
                show(history, y)
            ),
        ),
        Some(i) => {
            // A read that saw L[i]: one of length > i.
            let r = by_len.iter().skip(i + 1).flatten().next().copied().unwrap_or(longest);
            (
                vec![u, y, r],
                format!(
                    "{} completed before {} began, so {elem} must precede {} in the list; but {} contains {} and \
                     not {elem}.",
                    show(history, u),
                    show(history, y),
                    full[i],
                    show(history, r),
                    full[i]
                ),
            )
        }
    };
    let detail = AppendRule::LostAppend { append: u, element: elem.clone(), ops: ids.clone(), then: y };
    anomaly(history, &ids, why, detail)
}
