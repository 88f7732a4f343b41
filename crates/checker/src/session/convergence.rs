//! Convergence: the final reads (ops marked `final`, issued after faults
//! healed) of every node agree, and no acknowledged write is missing from them.
//! Also, where ops carry times, how long after the last fault every read
//! started returning the final state.

use super::explain::{anomaly, lines, op_name, short, write_name};
use super::{counter, Found, KeyOps, Workload};
use crate::history::{Op, Outcome, F};
use crate::read::NilRead;
use crate::report::{AnomalyKind, ConvergenceStats, ConvergenceSummary, KeyResult, Verdict};
use crate::value::Value;
use crate::OpId;
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, BTreeSet};

fn node(op: &Op) -> &str {
    op.node.as_deref().unwrap_or("(no node)")
}

/// The state a read returned, normalised so that equal states compare equal
/// (sets ignore order and repeats).
fn state(workload: Workload, op: &Op) -> Value {
    match (workload, &op.output) {
        (Workload::Set, v @ (Value::List(_) | Value::SharedList(_) | Value::Set(_))) => {
            Value::set(v.as_seq().unwrap_or_default().to_vec())
        }
        // An absent key is the empty state, in the same form as a read of it.
        (Workload::Set, Value::Nil) => Value::set(Vec::new()),
        (Workload::ListAppend, Value::Nil) => Value::List(Vec::new()),
        (Workload::Counter, Value::Nil) => Value::Int(0),
        (_, v) => v.clone(),
    }
}

/// Whether a read returned `fin` (a [`state`]), without copying the read's value
/// unless a set has to be normalised.
fn same_state(workload: Workload, op: &Op, fin: &Value) -> bool {
    match (workload, &op.output) {
        (Workload::Set, v @ (Value::List(_) | Value::SharedList(_) | Value::Set(_))) => {
            let v = v.as_seq().unwrap_or_default();
            v.len() >= fin.as_seq().map_or(0, |f| f.len()) && Value::set(v.to_vec()) == *fin
        }
        (Workload::Set | Workload::ListAppend | Workload::Counter, Value::Nil) => state(workload, op) == *fin,
        (_, v) => v == fin,
    }
}

fn nodes_of(ops: &[&Op]) -> String {
    let names: BTreeSet<&str> = ops.iter().map(|o| node(o)).collect();
    names.into_iter().collect::<Vec<_>>().join(", ")
}

pub(crate) fn check(k: &KeyOps, workload: Workload) -> (Found, Option<ConvergenceStats>) {
    let h = k.h;
    let reads: Vec<&Op> =
        k.ops.iter().map(|&id| h.op(id)).filter(|o| o.f == F::Read && o.outcome == Outcome::Ok).collect();
    let marked = reads.iter().filter(|o| o.is_final).count();
    // Under `--nil-read unknown` a read of nil says nothing about the state,
    // here as in every other check: no evidence of a lost or missing write.
    let finals: Vec<&Op> = reads
        .iter()
        .copied()
        .filter(|o| o.is_final && !(k.nil_read == NilRead::Unknown && o.output.is_nil()))
        .collect();
    if finals.is_empty() {
        let reason = if marked == 0 {
            "no final reads on this key: convergence needs reads marked \"final\": true (issued after faults \
             healed), one per node"
                .to_string()
        } else {
            format!(
                "every final read on this key returned nil ({marked}), which under --nil-read unknown tells \
                 nothing about the state"
            )
        };
        return (Found::Unknown(reason), None);
    }
    let mut found = Found::empty();
    let missing_before = match workload {
        Workload::ListAppend | Workload::Set => missing_elements(k, workload, &finals, &mut found),
        Workload::Counter => match missing_increments(k, &finals, &mut found) {
            Ok(()) => found.violations(),
            Err(reason) => return (Found::Unknown(reason), None),
        },
        Workload::Register => lost_register_writes(k, &finals, &mut found),
    };
    let states: Vec<Value> = finals.iter().map(|o| state(workload, o)).collect();
    let agree = states.windows(2).all(|w| w[0] == w[1]);
    if !agree && missing_before == 0 {
        found.push(|| {
            let mut groups: BTreeMap<&Value, Vec<&Op>> = BTreeMap::new();
            for (s, o) in states.iter().zip(&finals) {
                groups.entry(s).or_default().push(o);
            }
            let described: Vec<String> =
                groups.iter().map(|(s, os)| format!("{} on {} ({})", short(s), nodes_of(os), lines(os[0]))).collect();
            let text = format!("the final reads disagree: {}; the replicas did not converge", described.join("; "));
            anomaly(
                h,
                AnomalyKind::DivergentFinalReads,
                &finals.iter().map(|o| o.id).collect::<Vec<_>>(),
                text,
                Vec::new(),
            )
        });
    }
    let mut stats = ConvergenceStats {
        agreed_ns_after_last_fault: None,
        final_reads: finals.len() as u64,
        last_fault_ns: None,
        nodes: finals.iter().map(|o| node(o)).collect::<BTreeSet<_>>().into_iter().map(str::to_string).collect(),
    };
    if agree && found.violations() == 0 {
        if let Some(last_fault_ns) = h.faults.iter().filter_map(|f| f.time_ns).max() {
            stats.last_fault_ns = Some(last_fault_ns);
            stats.agreed_ns_after_last_fault = agreed_after(workload, &reads, &states[0], last_fault_ns);
        }
    }
    (found, Some(stats))
}

/// Every acknowledged write was lost when the final reads all return the
/// initial value and no write (acknowledged or not) wrote that value; a
/// written nil is a version like any other. Returns the violations found.
fn lost_register_writes(k: &KeyOps, finals: &[&Op], found: &mut Found) -> u64 {
    let h = k.h;
    let initial = k.initial.unwrap_or(&Value::Nil);
    let writes: Vec<&Op> = k
        .ops
        .iter()
        .map(|&id| h.op(id))
        .filter(|o| matches!(o.f, F::Write | F::Cas) && o.outcome != Outcome::Fail)
        .collect();
    let wrote_initial = writes.iter().any(|o| written(o) == Some(initial));
    if let Some(w) = writes.iter().rev().find(|o| o.outcome == Outcome::Ok) {
        if !wrote_initial && finals.iter().all(|r| r.output == *initial) {
            found.push(|| {
                let text = format!(
                    "every final read returned {} (the initial value), which no write wrote, yet writes were \
                     acknowledged, the last being {}: every acknowledged write was lost",
                    short(initial),
                    write_name(w)
                );
                let mut ops: Vec<OpId> = vec![w.id];
                ops.extend(finals.iter().map(|o| o.id));
                anomaly(h, AnomalyKind::LostWrite, &ops, text, Vec::new())
            });
        }
    }
    found.violations()
}

/// Nanoseconds from the last fault until every read began returning the
/// final state: the invoke time of the earliest read after the fault from
/// which on all reads agree with it. `None` without times.
fn agreed_after(workload: Workload, reads: &[&Op], fin: &Value, last_fault_ns: i64) -> Option<i64> {
    let timed: Vec<(i64, &Op)> =
        reads.iter().filter_map(|o| o.invoke_time_ns.map(|t| (t, *o))).filter(|(t, _)| *t >= last_fault_ns).collect();
    let last_bad = timed.iter().rposition(|(_, o)| !same_state(workload, o, fin));
    let first_good = match last_bad {
        Some(i) => timed.get(i + 1)?,
        None => timed.first()?,
    };
    Some((first_good.0 - last_fault_ns).max(0))
}

/// Lost (in no final read) and not-converged (missing on some nodes)
/// acknowledged elements. Returns the number of anomalies.
fn missing_elements(k: &KeyOps, workload: Workload, finals: &[&Op], found: &mut Found) -> u64 {
    let h = k.h;
    let wf = if workload == Workload::Set { F::Add } else { F::Append };
    let sets: Vec<FxHashSet<&Value>> =
        finals.iter().map(|o| o.output.as_seq().map(|s| s.iter().collect()).unwrap_or_default()).collect();
    for &id in k.ops {
        let w = h.op(id);
        if w.f != wf || w.outcome != Outcome::Ok {
            continue;
        }
        let lacking: Vec<&Op> =
            finals.iter().zip(&sets).filter(|(_, s)| !s.contains(&w.input)).map(|(o, _)| *o).collect();
        if lacking.is_empty() {
            continue;
        }
        let e = short(&w.input);
        if lacking.len() == finals.len() {
            found.push(|| {
                let text = format!(
                    "{} was acknowledged, but no final read includes {e} (final reads on {}): the write was lost",
                    write_name(w),
                    nodes_of(finals)
                );
                let mut ops = vec![w.id];
                ops.extend(finals.iter().map(|o| o.id));
                anomaly(h, AnomalyKind::LostWrite, &ops, text, Vec::new())
            });
        } else {
            found.push(|| {
                let named: Vec<String> = lacking.iter().map(|o| op_name(o)).collect();
                let text = format!(
                    "{} was acknowledged, and some final reads include {e}, but the final reads on {} do not ({}): \
                     the replicas did not converge",
                    write_name(w),
                    nodes_of(&lacking),
                    named.join("; ")
                );
                let mut ops = vec![w.id];
                ops.extend(lacking.iter().map(|o| o.id));
                anomaly(h, AnomalyKind::NotConverged, &ops, text, Vec::new())
            });
        }
    }
    found.violations()
}

/// The value a write or cas leaves in a register.
fn written(op: &Op) -> Option<&Value> {
    match op.f {
        F::Write => Some(crate::model::arg(op)),
        F::Cas => match crate::model::arg(op).as_seq() {
            Some([_, new]) => Some(new),
            _ => None,
        },
        _ => None,
    }
}

fn missing_increments(k: &KeyOps, finals: &[&Op], found: &mut Found) -> Result<(), String> {
    let h = k.h;
    // Increments count on top of the initial total (`--initial`).
    let mut acked: i64 = k.initial.and_then(Value::as_int).unwrap_or(0);
    for &id in k.ops {
        let op = h.op(id);
        if op.f == F::Incr && op.outcome == Outcome::Ok {
            acked = acked.saturating_add(counter::delta(op)?);
        }
    }
    let mut low: Vec<&Op> = Vec::new();
    for &o in finals {
        if counter::total(o)? < acked {
            low.push(o);
        }
    }
    if low.is_empty() {
        return Ok(());
    }
    let kind = if low.len() == finals.len() { AnomalyKind::LostWrite } else { AnomalyKind::NotConverged };
    found.push(|| {
        let shown: Vec<String> = low.iter().map(|o| format!("{} on {}", short(&o.output), node(o))).collect();
        let text = if kind == AnomalyKind::LostWrite {
            format!(
                "the initial total and acknowledged increments add up to {acked}, but every final read is below \
                 that ({}): increments were lost",
                shown.join(", ")
            )
        } else {
            format!(
                "the initial total and acknowledged increments add up to {acked}, but some final reads are below \
                 that ({}): the replicas did not converge",
                shown.join(", ")
            )
        };
        anomaly(h, kind, &low.iter().map(|o| o.id).collect::<Vec<_>>(), text, Vec::new())
    });
    Ok(())
}

/// Check-level detail: keys decided, and the slowest agreement after the last fault.
pub(crate) fn summary(keys: &[KeyResult]) -> ConvergenceSummary {
    let slowest = keys.iter().filter_map(|k| k.stats.convergence.as_ref()?.agreed_ns_after_last_fault).max();
    ConvergenceSummary {
        agreed_ns_after_last_fault_max: slowest,
        keys: keys.len() as u64,
        keys_converged: keys.iter().filter(|k| k.verdict == Verdict::Valid).count() as u64,
    }
}
