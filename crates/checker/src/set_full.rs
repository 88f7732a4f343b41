//! Grow-only sets read whole (Jepsen's set-full; Maelstrom's broadcast and
//! g-set workloads): ops add one element (`add`, or `broadcast`) and `read`
//! returns every element present. For each element the check finds when it
//! was *known* to exist (its add's ok, or the completion of the first read
//! that returned it) and looks at the reads that began after that:
//!
//! - *stable*: the latest such read contains it; *stale* if an earlier one
//!   did not (its *stable latency* runs from the add's invoke to the invoke
//!   of the last read that missed it);
//! - *lost*: the latest read that missed it began after the latest read that
//!   returned it: it was there and went away (or, acknowledged, never came);
//! - *never read*: no read began after it was known: undecided.
//!
//! Also: every `final` read (one per node, after faults healed) must contain
//! every element known before it began (*final-read-missing*: that node never
//! got it, though others did), reads must not return elements nobody added
//! (*unexpected-element*, also a failed add's) nor one element twice
//! (*duplicate-element*). With `linearizable`, a stale read is an anomaly too.
//!
//! Cost: linear in the total size of the reads (each read is hashed twice),
//! plus elements × final reads.

use crate::anomalies::{Capped, Quantiles};
use crate::error::InputError;
use crate::history::{History, Op, OpId, Outcome, F};
use crate::report::{Anomaly, AnomalyKind, CheckName, CheckResult, KeyResult, KeyStats, Method, OpRef, Verdict};
use crate::value::Value;
use std::collections::{BTreeSet, HashMap};

const NAME: &str = "set-full";

/// What the check reads and how strictly.
#[derive(Clone, Debug)]
pub struct SetFullOptions {
    /// The op that adds its argument: `add` (g-set) or `broadcast`.
    pub add_f: F,
    /// Every read that begins after an element is known must return it.
    pub linearizable: bool,
}

impl Default for SetFullOptions {
    fn default() -> SetFullOptions {
        SetFullOptions { add_f: F::Add, linearizable: false }
    }
}

/// What became of one element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fate {
    Stable,
    /// Stable, after some read that began once it was known missed it.
    Stale,
    Lost,
    /// Known, but no read began after that.
    NeverRead,
    /// Added by info ops only and never returned by a read: may never have
    /// happened, so nothing is owed.
    Indeterminate,
}

/// Checks every key of `h`. `file` names the source in input errors (an op
/// of another function, a read that returned something other than a list).
pub fn check(h: &History, file: &str, opts: &SetFullOptions) -> Result<CheckResult, InputError> {
    validate(h, file, opts)?;
    let keys: Vec<KeyResult> =
        h.by_key().into_iter().map(|(key, ids)| check_key(h, key.cloned(), &ids, opts)).collect();
    let model = if opts.linearizable { "set-full (linearizable)" } else { "set-full" };
    Ok(crate::anomalies::result(CheckName::SetFull, model, keys))
}

fn validate(h: &History, file: &str, opts: &SetFullOptions) -> Result<(), InputError> {
    for op in &h.ops {
        let line = op.complete_line.unwrap_or(op.invoke_line);
        if op.f == F::Read {
            if op.outcome == Outcome::Ok && op.output.as_seq().is_none() {
                let kind = crate::model::bad_value(NAME, op, "a list of the elements present", &op.output);
                return Err(InputError::new(file, line, kind));
            }
        } else if op.f != opts.add_f {
            let supported = if opts.add_f == F::Add { "add, read" } else { "broadcast, read" };
            let kind = crate::model::unsupported(NAME, op, supported);
            return Err(InputError::new(file, op.invoke_line, kind));
        }
    }
    Ok(())
}

/// Per element: its adds and what the reads say.
struct Element<'h> {
    value: &'h Value,
    adds: Vec<OpId>,
    /// Some add is ok or info (not every add failed).
    attempted: bool,
    acknowledged: bool,
    /// Event position from which it is known to exist; `u64::MAX` if never.
    known: u64,
    /// Index (in call order) of the latest read that returned it.
    last_present: Option<usize>,
    /// Index of the latest read, begun after `known`, that missed it.
    last_absent: Option<usize>,
}

impl<'h> Element<'h> {
    /// An element no add or read has touched yet.
    fn new(value: &'h Value) -> Element<'h> {
        Element {
            value,
            adds: Vec::new(),
            attempted: false,
            acknowledged: false,
            known: u64::MAX,
            last_present: None,
            last_absent: None,
        }
    }
}

fn check_key(h: &History, key: Option<Value>, ids: &[OpId], opts: &SetFullOptions) -> KeyResult {
    let ops: Vec<&Op> = ids.iter().map(|&id| h.op(id)).collect();
    // Ops are in invoke order, so reads are sorted by call.
    let reads: Vec<&Op> = ops.iter().copied().filter(|o| o.f == F::Read && o.outcome == Outcome::Ok).collect();
    let mut elements: Vec<Element> = Vec::new();
    let mut index: HashMap<&Value, u32> = HashMap::new();
    for op in ops.iter().filter(|o| o.f == opts.add_f) {
        let i = *index.entry(&op.input).or_insert_with(|| {
            elements.push(Element::new(&op.input));
            (elements.len() - 1) as u32
        });
        let e = &mut elements[i as usize];
        e.adds.push(op.id);
        e.attempted |= op.outcome != Outcome::Fail;
        if op.outcome == Outcome::Ok {
            e.acknowledged = true;
            e.known = e.known.min(op.ret);
        }
    }

    let mut found = Capped::default();
    // Forward: who returned what; unexpected and duplicate elements. A
    // value no op added gets an element too (with no adds), so that its
    // duplicates are found like any other's.
    let mut stamp = vec![0u32; elements.len()];
    let mut unexpected_seen: BTreeSet<&Value> = BTreeSet::new();
    for (j, r) in reads.iter().enumerate() {
        let s = j as u32 + 1;
        for v in r.output.as_seq().unwrap_or_default() {
            let i = *index.entry(v).or_insert_with(|| {
                elements.push(Element::new(v));
                stamp.push(0);
                (elements.len() - 1) as u32
            }) as usize;
            if stamp[i] == s {
                found.push(duplicate(r, v));
                continue;
            }
            stamp[i] = s;
            let e = &mut elements[i];
            if !e.attempted {
                if unexpected_seen.insert(v) {
                    found.push(unexpected(r, v, e.adds.first().map(|&a| h.op(a))));
                }
                continue;
            }
            e.last_present = Some(j);
            e.known = e.known.min(r.ret);
        }
    }

    // Backward: for each element, the latest read begun after it was known
    // that missed it. An element leaves `active` at that read, or once reads
    // begin before it was known, so the work is bounded by the reads' sizes.
    let mut active: Vec<u32> = (0..elements.len() as u32).filter(|&i| elements[i as usize].known != u64::MAX).collect();
    stamp.iter_mut().for_each(|s| *s = 0);
    for (j, r) in reads.iter().enumerate().rev() {
        if active.is_empty() {
            break;
        }
        let s = j as u32 + 1;
        for v in r.output.as_seq().unwrap_or_default() {
            if let Some(&i) = index.get(v) {
                stamp[i as usize] = s;
            }
        }
        let mut k = 0;
        while k < active.len() {
            let i = active[k] as usize;
            if r.call <= elements[i].known {
                active.swap_remove(k);
            } else if stamp[i] != s {
                elements[i].last_absent = Some(j);
                active.swap_remove(k);
            } else {
                k += 1;
            }
        }
    }

    let latest_call = reads.last().map(|r| r.call);
    let mut fates: Vec<Fate> = Vec::with_capacity(elements.len());
    let mut stable_latency_ms = Vec::new();
    for e in elements.iter().filter(|e| e.attempted) {
        let relevant = e.known != u64::MAX && latest_call.is_some_and(|c| c > e.known);
        let fate = if e.known == u64::MAX {
            Fate::Indeterminate
        } else if !relevant {
            Fate::NeverRead
        } else {
            match (e.last_present, e.last_absent) {
                (_, None) => Fate::Stable,
                (Some(p), Some(a)) if reads[p].call > reads[a].call => Fate::Stale,
                (_, Some(_)) => Fate::Lost,
            }
        };
        let first_add = h.op(e.adds[0]);
        match fate {
            Fate::Lost => found.push(lost(h, e, &reads)),
            Fate::Stale if opts.linearizable => found.push(stale(h, e, &reads)),
            _ => {}
        }
        if matches!(fate, Fate::Stable | Fate::Stale) {
            let missed_at = e.last_absent.and_then(|a| reads[a].invoke_time_ns);
            if let Some(t0) = first_add.invoke_time_ns {
                let t = if fate == Fate::Stable { Some(t0) } else { missed_at };
                if let Some(t) = t {
                    stable_latency_ms.push((t - t0).max(0) / 1_000_000);
                }
            }
        }
        fates.push(fate);
    }

    // Each node's final read must hold everything known before it began.
    for r in reads.iter().filter(|r| r.is_final) {
        let present: BTreeSet<&Value> = r.output.as_seq().unwrap_or_default().iter().collect();
        let missing: Vec<&Element> = elements
            .iter()
            .zip(fate_of(&elements, &fates))
            .filter(|(e, fate)| {
                e.attempted && e.known < r.call && *fate != Some(Fate::Lost) && !present.contains(e.value)
            })
            .map(|(e, _)| e)
            .collect();
        if !missing.is_empty() {
            found.push(final_missing(h, r, &missing));
        }
    }

    let count = |f: Fate| fates.iter().filter(|&&x| x == f).count() as u64;
    let acknowledged_never_read = elements
        .iter()
        .filter(|e| e.attempted)
        .zip(&fates)
        .filter(|(e, f)| e.acknowledged && **f == Fate::NeverRead)
        .count();
    let (verdict, unknown_reason) = if !found.is_empty() {
        (Verdict::Invalid, None)
    } else if acknowledged_never_read > 0 {
        let why = format!(
            "{acknowledged_never_read} acknowledged elements were never read after they were acknowledged \
             (no read began after their add completed), so whether they were kept is undecided"
        );
        (Verdict::Unknown, Some(why))
    } else if reads.is_empty() || !elements.iter().any(|e| e.acknowledged) {
        (Verdict::Unknown, Some("no acknowledged add and ok read to compare: nothing was checked".to_string()))
    } else {
        (Verdict::Valid, None)
    };
    let stats = serde_json::json!({
        "elements_attempted": fates.len(),
        "elements_acknowledged": elements.iter().filter(|e| e.acknowledged).count(),
        "reads": reads.len(),
        "final_reads": reads.iter().filter(|r| r.is_final).count(),
        "stable": count(Fate::Stable) + count(Fate::Stale),
        "stale": count(Fate::Stale),
        "lost": count(Fate::Lost),
        "never_read": count(Fate::NeverRead),
        "indeterminate": count(Fate::Indeterminate),
        "stable_latency_ms": Quantiles::of(stable_latency_ms),
        "anomaly_counts": found.counts,
    });
    KeyResult {
        key,
        verdict,
        method: Method::Workload(CheckName::SetFull),
        ops: ops.len() as u64,
        anomalies: found.listed,
        unknown_reason,
        stats: KeyStats::of_workload(stats),
    }
}

/// Each element's fate, `None` for elements whose adds all failed (they have
/// no entry in `fates`).
fn fate_of<'a>(elements: &'a [Element], fates: &'a [Fate]) -> impl Iterator<Item = Option<Fate>> + 'a {
    let mut it = fates.iter();
    elements.iter().map(move |e| if e.attempted { it.next().copied() } else { None })
}

fn anomaly(kind: AnomalyKind, ops: Vec<OpRef>, explanation: String, detail: serde_json::Value) -> Anomaly {
    crate::anomalies::anomaly(kind, ops, explanation, detail)
}

fn unexpected(read: &Op, v: &Value, failed_add: Option<&Op>) -> Anomaly {
    let (why, mut ops) = match failed_add {
        Some(a) => (format!("whose add failed ({})", OpRef::new(a)), vec![OpRef::new(a)]),
        None => ("that no op ever added".to_string(), vec![]),
    };
    ops.insert(0, OpRef::new(read));
    let explanation = format!("{} returned element {v}, {why}", OpRef::new(read));
    anomaly(AnomalyKind::UnexpectedElement, ops, explanation, serde_json::json!({ "element": v }))
}

fn duplicate(read: &Op, v: &Value) -> Anomaly {
    let explanation = format!("{} returned element {v} more than once", OpRef::new(read));
    anomaly(AnomalyKind::DuplicateElement, vec![OpRef::new(read)], explanation, serde_json::json!({ "element": v }))
}

fn lost(h: &History, e: &Element, reads: &[&Op]) -> Anomaly {
    let add = h.op(e.adds[0]);
    let absent = e.last_absent.map(|a| reads[a]);
    let mut ops = vec![OpRef::new(add)];
    let explanation = match (e.last_present.map(|p| reads[p]), absent) {
        (Some(p), Some(a)) => {
            ops.push(OpRef::new(p));
            ops.push(OpRef::new(a));
            format!(
                "element {} was returned by {}, but {}, which began later, missed it, and no read after that \
                 returned it: it was lost",
                e.value,
                OpRef::new(p),
                OpRef::new(a)
            )
        }
        (_, Some(a)) => {
            ops.push(OpRef::new(a));
            format!(
                "element {} was acknowledged ({}), but no read ever returned it, including {}, which began after \
                 the acknowledgement",
                e.value,
                OpRef::new(add),
                OpRef::new(a)
            )
        }
        (_, None) => unreachable!("a lost element has a read that missed it"),
    };
    anomaly(AnomalyKind::Lost, ops, explanation, serde_json::json!({ "element": e.value }))
}

fn stale(h: &History, e: &Element, reads: &[&Op]) -> Anomaly {
    let add = h.op(e.adds[0]);
    let a = reads[e.last_absent.expect("a stale element has a read that missed it")];
    let explanation = format!(
        "element {} was known to exist before {} began, yet that read missed it (a stale read)",
        e.value,
        OpRef::new(a)
    );
    anomaly(
        AnomalyKind::StaleRead,
        vec![OpRef::new(add), OpRef::new(a)],
        explanation,
        serde_json::json!({ "element": e.value }),
    )
}

/// Elements named in one final-read anomaly.
const MISSING_NAMED: usize = 10;

fn final_missing(h: &History, read: &Op, missing: &[&Element]) -> Anomaly {
    let named: Vec<&Value> = missing.iter().take(MISSING_NAMED).map(|e| e.value).collect();
    let mut ops = vec![OpRef::new(read)];
    ops.extend(missing.iter().take(3).map(|e| OpRef::new(h.op(e.adds[0]))));
    let node = read.node.as_deref().map(|n| format!("node {n}'s ")).unwrap_or_default();
    let shown: Vec<String> = named.iter().map(|v| v.to_string()).collect();
    let more =
        if missing.len() > named.len() { format!(" and {} more", missing.len() - named.len()) } else { String::new() };
    let explanation = format!(
        "{node}final read {} lacks {} elements that were known before it began (other reads returned them or \
         their adds were acknowledged): {}{more}",
        OpRef::new(read),
        missing.len(),
        shown.join(", ")
    );
    let detail = serde_json::json!({ "missing_count": missing.len(), "missing": named, "node": read.node });
    anomaly(AnomalyKind::FinalReadMissing, ops, explanation, detail)
}

#[cfg(test)]
mod tests;
