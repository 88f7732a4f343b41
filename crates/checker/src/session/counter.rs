//! Session guarantees for counters (non-negative increments; reads return the total).
//!
//! A read's total only bounds which increments it reflects, so the checks are
//! necessary conditions: read-your-writes needs a read to be at least the
//! initial total plus the sum of its session's earlier ok increments; monotonic reads needs a session's reads
//! never to decrease. Which increments a total contains cannot be told, so
//! monotonic writes and writes-follow-reads are `Unknown` here.

use super::explain::{anomaly, edge, lines, op_name, short};
use super::{Found, Guarantee, KeyOps};
use crate::history::{History, Op, Outcome, F};
use crate::read::NilRead;
use crate::report::{Anomaly, AnomalyKind};
use crate::value::Value;

/// An increment's delta: `nil` means 1; negative or non-integer deltas are
/// outside the workload (a decrement would make totals say nothing).
pub(crate) fn delta(op: &Op) -> Result<i64, String> {
    match op.input {
        Value::Nil => Ok(1),
        Value::Int(d) if d >= 0 => Ok(d),
        ref other => Err(format!(
            "incr at line {} has value {}; the counter workload needs non-negative integer increments",
            op.invoke_line,
            short(other)
        )),
    }
}

/// A read's total: `nil` (never written) means 0.
pub(crate) fn total(op: &Op) -> Result<i64, String> {
    match op.output {
        Value::Nil => Ok(0),
        Value::Int(t) => Ok(t),
        ref other => Err(format!(
            "read at line {} returned {}, not an integer total",
            op.complete_line.unwrap_or(op.invoke_line),
            short(other)
        )),
    }
}

pub(crate) fn check(k: &KeyOps) -> [Found; 4] {
    let unobservable = |g: &str| {
        Found::Unknown(format!(
            "{g} cannot be observed on a counter: a read returns only a total, not which increments it reflects"
        ))
    };
    let mut out =
        [Found::empty(), Found::empty(), unobservable("monotonic writes"), unobservable("writes-follow-reads")];
    if let Err(reason) = scan(k, &mut out) {
        return std::array::from_fn(|_| Found::Unknown(reason.clone()));
    }
    out
}

fn scan(k: &KeyOps, out: &mut [Found; 4]) -> Result<(), String> {
    let h = k.h;
    // The total before any increment (`--initial`).
    let base = k.initial.and_then(Value::as_int).unwrap_or(0);
    for (_, ops) in k.sessions() {
        let mut own_sum: i64 = 0;
        let mut last_incr: Option<&Op> = None;
        let mut max_read: Option<(i64, &Op)> = None;
        for id in ops {
            let op = h.op(id);
            match op.f {
                F::Incr => {
                    let d = delta(op)?;
                    if op.outcome == Outcome::Ok {
                        own_sum = own_sum.saturating_add(d);
                        last_incr = Some(op);
                    }
                }
                // Under Knossos's rule a nil read reveals nothing.
                F::Read if op.output.is_nil() && k.nil_read == NilRead::Unknown => {}
                F::Read if op.outcome == Outcome::Ok => {
                    let t = total(op)?;
                    if let Some(w) = last_incr {
                        if t < base.saturating_add(own_sum) {
                            out[Guarantee::Ryw as usize].push(|| ryw(h, op, t, w, own_sum, base));
                        }
                    }
                    if let Some((m, r1)) = max_read {
                        if t < m {
                            out[Guarantee::Mr as usize].push(|| mr(h, op, t, r1, m));
                        }
                    }
                    if max_read.is_none_or(|(m, _)| t > m) {
                        max_read = Some((t, op));
                    }
                }
                F::Read => {}
                ref f => {
                    return Err(format!(
                        "operation `{f}` at line {} is not part of the counter workload",
                        op.invoke_line
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Read `op` saw `t`, less than `base` plus its session's own acknowledged
/// increments `own_sum`, the last of them `w`.
fn ryw(h: &History, op: &Op, t: i64, w: &Op, own_sum: i64, base: i64) -> Anomaly {
    let from = if base == 0 { String::new() } else { format!(" on top of the initial {base}") };
    let text = format!(
        "Process {p} did not read its own increments: it read {t}, less than they add up to. In detail: {} saw \
         {t}, but process {p}'s own acknowledged increments before that read add up to {own_sum} (the last one at \
         {}){from}: read-your-writes violated",
        op_name(op),
        lines(w),
        p = op.process_name(),
    );
    too_small(h, AnomalyKind::ReadYourWrites, w, op, "anti-dependency (total too small)", text)
}

/// Read `op` saw `t`, less than the `m` its session's read `r1` saw before.
fn mr(h: &History, op: &Op, t: i64, r1: &Op, m: i64) -> Anomaly {
    let text = format!(
        "Process {p} went back in time: it read {m} and later {t}, though increments only add. In detail: {} saw \
         {t}, but process {p} had already seen {m} in its read at {}: monotonic reads violated",
        op_name(op),
        lines(r1),
        p = op.process_name(),
    );
    too_small(h, AnomalyKind::MonotonicReads, r1, op, "version-order (smaller total)", text)
}

/// The cycle of a read whose total is too small for `earlier`, an op before
/// it in its session: session order one way, `why` the other.
fn too_small(h: &History, kind: AnomalyKind, earlier: &Op, read: &Op, why: &str, text: String) -> Anomaly {
    let cycle =
        vec![edge(op_name(earlier), "session-order", op_name(read)), edge(op_name(read), why, op_name(earlier))];
    anomaly(h, kind, &[read.id, earlier.id], text, cycle)
}
