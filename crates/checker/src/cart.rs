//! Shopping carts: sets with `add` and `remove`, read whole (Dynamo's cart,
//! DeCandia et al. 2007 §4.4). An eventually consistent cart may serve stale
//! reads while replicas catch up, so ordinary reads are judged only for
//! elements nobody could have added; what it must get right is its
//! *converged* state, which the `final` reads (one per node, after the faults
//! healed and the system quiesced) show. Each final read, on its own, must be
//! the state of the cart after some order of the updates that respects real
//! time: every acknowledged update included, any subset of the indeterminate
//! (`info`) ones, none that began after the read completed. That is
//! linearizability of the updates plus that one read; since the set's
//! elements are independent, it is decided element by element (Herlihy and
//! Wing's locality), in closed form:
//!
//! - the read may hold `e` iff some non-failed add of `e` invoked before the
//!   read completed is followed (in real time) by no acknowledged remove of
//!   `e` that completed before the read began;
//! - it may lack `e` iff no acknowledged add of `e` completed before the read
//!   began, or some non-failed remove of `e` invoked before the read
//!   completed is followed by no such add.
//!
//! A final read holding an element it may not hold is a *resurrected* remove
//! (Dynamo's "deleted items can resurface": a remove whose causal context
//! missed a concurrent version is undone when siblings are merged by union),
//! or an *unexpected element* when no add could explain it at all (also
//! checked on every ordinary read). A final read lacking an element it must
//! hold is a *lost* add (a last-writer-wins merge of siblings drops
//! acknowledged adds).
//!
//! Cost: final reads × elements × updates per element.

use crate::anomalies::Capped;
use crate::error::InputError;
use crate::history::{History, Op, Outcome, F};
use crate::report::{Anomaly, AnomalyKind, CheckName, CheckResult, KeyResult, KeyStats, Method, OpRef, Verdict};
use crate::value::Value;
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "cart";

/// The op that removes its argument from a cart.
pub fn remove_f() -> F {
    F::parse("remove")
}

/// Checks every key of `h`. `file` names the source in input errors (an op
/// other than add, remove and read, or a read that returned no list).
pub fn check(h: &History, file: &str) -> Result<CheckResult, InputError> {
    validate(h, file)?;
    let keys: Vec<KeyResult> = h.by_key().into_iter().map(|(key, ids)| check_key(h, key.cloned(), &ids)).collect();
    Ok(crate::anomalies::result(CheckName::Cart, NAME, keys))
}

fn validate(h: &History, file: &str) -> Result<(), InputError> {
    let remove = remove_f();
    for op in &h.ops {
        if op.f == F::Read {
            if op.outcome == Outcome::Ok && op.output.as_seq().is_none() && op.output != Value::Nil {
                let line = op.complete_line.unwrap_or(op.invoke_line);
                let kind = crate::model::bad_value(NAME, op, "a list of the elements in the cart", &op.output);
                return Err(InputError::new(file, line, kind));
            }
        } else if op.f != F::Add && op.f != remove {
            let kind = crate::model::unsupported(NAME, op, "add, remove, read");
            return Err(InputError::new(file, op.invoke_line, kind));
        }
    }
    Ok(())
}

/// One element's updates, in invoke order, failed ones left out (they did
/// not happen).
#[derive(Default)]
struct Updates<'h> {
    adds: Vec<&'h Op>,
    removes: Vec<&'h Op>,
}

/// The elements a read returned (a read of nil is the empty cart).
fn contents(r: &Op) -> BTreeSet<&Value> {
    r.output.as_seq().unwrap_or_default().iter().collect()
}

/// Must precede `r`: acknowledged and completed before `r` began.
fn before(o: &Op, r: &Op) -> bool {
    o.outcome == Outcome::Ok && o.ret < r.call
}

/// May precede `r`: invoked before `r` completed (failed ones are gone).
fn may_precede(o: &Op, r: &Op) -> bool {
    o.call < r.ret
}

/// Why `r` may not hold the element: `None` if it may. Otherwise the
/// remove that follows every add which could explain it (`Some(None)`: no
/// add could).
fn cannot_hold<'h>(u: &Updates<'h>, r: &Op) -> Option<Option<(&'h Op, &'h Op)>> {
    let mut witness = None;
    for &a in u.adds.iter().filter(|a| may_precede(a, r)) {
        match u.removes.iter().find(|m| before(m, r) && a.precedes(m)) {
            None => return None,
            Some(&m) => witness = Some((a, m)),
        }
    }
    Some(witness)
}

/// Why `r` may not lack the element: `None` if it may; otherwise an
/// acknowledged add no remove could follow.
fn cannot_lack<'h>(u: &Updates<'h>, r: &Op) -> Option<&'h Op> {
    let forced: Vec<&Op> = u.adds.iter().copied().filter(|a| before(a, r)).collect();
    let first = *forced.first()?;
    for m in u.removes.iter().filter(|m| may_precede(m, r)) {
        if !forced.iter().any(|a| m.precedes(a)) {
            return None;
        }
    }
    // Every remove that could come last is followed by an acknowledged add:
    // name the latest add (the last one no remove follows).
    Some(forced.iter().copied().max_by_key(|a| a.call).unwrap_or(first))
}

fn check_key(h: &History, key: Option<Value>, ids: &[crate::OpId]) -> KeyResult {
    let ops: Vec<&Op> = ids.iter().map(|&id| h.op(id)).collect();
    let remove = remove_f();
    let mut elements: BTreeMap<&Value, Updates> = BTreeMap::new();
    let mut acknowledged = 0u64;
    for &op in &ops {
        if op.f == F::Read || op.outcome == Outcome::Fail {
            continue;
        }
        acknowledged += u64::from(op.outcome == Outcome::Ok);
        let u = elements.entry(&op.input).or_default();
        if op.f == remove {
            u.removes.push(op);
        } else {
            u.adds.push(op);
        }
    }
    let reads: Vec<&Op> = ops.iter().copied().filter(|o| o.f == F::Read && o.outcome == Outcome::Ok).collect();
    let finals: Vec<&Op> = reads.iter().copied().filter(|r| r.is_final).collect();
    let none = Updates::default();
    let mut found = Capped::default();
    let (mut lost, mut resurrected) = (BTreeSet::new(), BTreeSet::new());
    // Any read: an element no add could explain. Named once per element.
    let mut unexpected: BTreeSet<&Value> = BTreeSet::new();
    for &r in &reads {
        for v in contents(r) {
            let u = elements.get(v).unwrap_or(&none);
            if !u.adds.iter().any(|a| may_precede(a, r)) && unexpected.insert(v) {
                found.push(unexpected_element(r, v, u));
            }
        }
    }
    for &r in &finals {
        let held = contents(r);
        for (&v, u) in &elements {
            if held.contains(v) {
                if let Some(Some((add, rm))) = cannot_hold(u, r) {
                    resurrected.insert(v);
                    found.push(resurrected_remove(r, v, add, rm));
                }
            } else if let Some(add) = cannot_lack(u, r) {
                lost.insert(v);
                found.push(lost_add(r, v, add));
            }
        }
    }
    let (verdict, unknown_reason) = if !found.is_empty() {
        (Verdict::Invalid, None)
    } else if finals.is_empty() {
        let why = "no final read (issued after the faults healed) to show the converged cart: nothing was checked";
        (Verdict::Unknown, Some(why.to_string()))
    } else if acknowledged == 0 {
        (Verdict::Unknown, Some("no acknowledged add or remove: nothing was checked".to_string()))
    } else {
        (Verdict::Valid, None)
    };
    let stats = serde_json::json!({
        "elements": elements.len(),
        "updates_acknowledged": acknowledged,
        "reads": reads.len(),
        "final_reads": finals.len(),
        "lost": lost.len(),
        "resurrected": resurrected.len(),
        "anomaly_counts": found.counts,
    });
    KeyResult {
        key,
        verdict,
        method: Method::Workload(CheckName::Cart),
        ops: ops.len() as u64,
        anomalies: found.listed,
        unknown_reason,
        stats: KeyStats::of_workload(stats),
    }
}

fn anomaly(kind: AnomalyKind, ops: Vec<OpRef>, explanation: String, v: &Value) -> Anomaly {
    crate::anomalies::anomaly(kind, ops, explanation, serde_json::json!({ "element": v }))
}

fn node_of(r: &Op) -> String {
    r.node.as_deref().map(|n| format!("node {n}'s ")).unwrap_or_default()
}

fn resurrected_remove(r: &Op, v: &Value, add: &Op, rm: &Op) -> Anomaly {
    let explanation = format!(
        "{}final read {} holds {v}, but {} removed it after {} added it, and no add could come later: the \
         remove was undone (a resurrected delete)",
        node_of(r),
        OpRef::new(r),
        OpRef::new(rm),
        OpRef::new(add)
    );
    anomaly(AnomalyKind::Resurrected, vec![OpRef::new(r), OpRef::new(rm), OpRef::new(add)], explanation, v)
}

fn lost_add(r: &Op, v: &Value, add: &Op) -> Anomaly {
    let explanation = format!(
        "{}final read {} lacks {v}, though {} added it and was acknowledged before the read began, and no \
         remove of it could come later: the add was lost",
        node_of(r),
        OpRef::new(r),
        OpRef::new(add)
    );
    anomaly(AnomalyKind::Lost, vec![OpRef::new(r), OpRef::new(add)], explanation, v)
}

fn unexpected_element(r: &Op, v: &Value, u: &Updates) -> Anomaly {
    let why = if u.adds.is_empty() {
        "that no op added (or only failed adds)".to_string()
    } else {
        format!("whose first add ({}) began after the read completed", OpRef::new(u.adds[0]))
    };
    let explanation = format!("{} returned element {v}, {why}", OpRef::new(r));
    anomaly(AnomalyKind::UnexpectedElement, vec![OpRef::new(r)], explanation, v)
}

#[cfg(test)]
mod tests;
