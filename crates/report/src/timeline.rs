//! What the report page's script draws, as JSON: the ops (all, or a window
//! around each anomaly when there are too many), the keys in the order the
//! key selector offers them (invalid first), each anomaly with its ops and,
//! for a non-linearizable key, the longest linearizable prefix found with
//! the model's state after each of its ops, and the fault periods.

use crate::plot::fault_colour;
use checker::model::{Model, ModelKind, ModelVisitor, NilRead};
use checker::report::{AnomalyDetail, ModelName, SearchFailure};
use checker::Report as FileReport;
use checker::{History, Op, OpId, Value, Verdict};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use workloads::metrics::windows;

/// Most ops drawn in one page; beyond it, the ops around anomalies are kept
/// (a browser handles a few tens of thousands of SVG bars comfortably).
pub const MAX_OPS_DRAWN: usize = 20_000;
/// Ops kept on either side (in invoke order) of each anomalous op when the
/// history is too large to draw whole.
const CONTEXT_OPS: usize = 200;
/// Anomalies listed on one page at most (each has a box and a jump).
pub const MAX_ANOMALIES: usize = 500;

/// A key as the page names it: its text, `null` for ops without a key.
fn key_text(k: Option<&Value>) -> Option<String> {
    k.map(|k| k.to_string())
}

fn op_json(op: &Op, use_time: bool) -> Json {
    let (start, end) = if use_time {
        (op.invoke_time_ns.unwrap_or(0), op.complete_time_ns.map(|t| t as f64))
    } else {
        (op.call as i64, if op.ret == u64::MAX { None } else { Some(op.ret as f64) })
    };
    json!({
        "id": op.id.0, "p": op.process, "pn": op.process_name(), "f": op.f.as_str(), "key": key_text(op.key.as_ref()),
        "in": op.input.to_string(), "out": op.output.to_string(), "outcome": op.outcome,
        "s": start, "e": end, "line": op.invoke_line, "cline": op.complete_line,
        "node": op.node.as_deref(), "final": op.is_final,
    })
}

/// The ops to draw: all of them, or a window around each anomaly.
fn selected(report: &FileReport, h: &History) -> Vec<usize> {
    if h.ops.len() <= MAX_OPS_DRAWN {
        return (0..h.ops.len()).collect();
    }
    let mut keep = BTreeSet::new();
    for a in report.results.iter().flat_map(|c| &c.keys).flat_map(|k| &k.anomalies) {
        for o in &a.ops {
            let i = o.id.0 as usize;
            keep.extend(i.saturating_sub(CONTEXT_OPS)..(i + CONTEXT_OPS).min(h.ops.len()));
        }
    }
    if keep.is_empty() {
        keep.extend(0..MAX_OPS_DRAWN);
    }
    keep.into_iter().take(MAX_OPS_DRAWN).collect()
}

/// Replays `ops` in order on a model: its initial state and the state after
/// each op, described; `None` if some op is illegal where it stands.
struct Replay<'a>(Vec<&'a Op>);

impl ModelVisitor for Replay<'_> {
    type Output = Option<(String, Vec<String>)>;
    fn visit<M: Model>(self, m: &M) -> Self::Output {
        let mut s = m.init();
        let initial = m.describe(&s);
        let mut after = Vec::with_capacity(self.0.len());
        for op in self.0 {
            s = m.step(&s, op)?;
            after.push(m.describe(&s));
        }
        Some((initial, after))
    }
}

/// The states along a witness prefix, when a replay on the report's model
/// ends in one of the states the checker reported (the report does not say
/// which nil-read rule or initial state the check used, so each rule is
/// tried and a replay that disagrees with the checker is not shown).
fn states_along(kind: ModelKind, prefix: &[&Op], reported: &[String]) -> Option<(String, Vec<String>)> {
    [NilRead::Absent, NilRead::Unknown].into_iter().find_map(|nr| {
        let (initial, after) = kind.visit(nr, Replay(prefix.to_vec()))?;
        let last = after.last().unwrap_or(&initial);
        reported.contains(last).then_some((initial, after))
    })
}

/// The witness of a search that failed: the longest linearizable prefix
/// (op ids in order) with the state after each op, the states it may end
/// in, and the op none of them allows.
fn prefix_witness(h: &History, model: ModelName, f: &SearchFailure) -> Json {
    let ids: Vec<OpId> = f.longest_prefix.iter().map(|p| p.id).collect();
    let ops: Option<Vec<&Op>> = ids.iter().map(|&id| h.get(id)).collect();
    let along = match (model, ops) {
        (ModelName::Model(kind), Some(ops)) => states_along(kind, &ops, &f.states),
        _ => None,
    };
    let steps: Vec<Json> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"id": id.0, "state": along.as_ref().map(|(_, a)| a[i].clone())}))
        .collect();
    json!({"prefix": steps, "initial": along.map(|(i, _)| i), "states": f.states, "failed": f.failed_op.id.0})
}

/// The page's data: see the module doc.
pub fn data(report: &FileReport, h: &History) -> Json {
    let use_time = !h.ops.is_empty() && h.ops.iter().all(|o| o.invoke_time_ns.is_some());
    let chosen = selected(report, h);
    let ops: Vec<Json> = chosen.iter().map(|&i| op_json(&h.ops[i], use_time)).collect();
    let fault_t = |f: &checker::history::Fault| if use_time { f.time_ns.unwrap_or(0) } else { f.position as i64 };
    let mut t0 = h.faults.iter().map(fault_t).min().unwrap_or(i64::MAX);
    let mut t1 = h.faults.iter().map(fault_t).max().unwrap_or(i64::MIN);
    for &i in &chosen {
        let o = &h.ops[i];
        let (s, e) = if use_time {
            (o.invoke_time_ns, o.complete_time_ns)
        } else {
            (Some(o.call as i64), Some(o.ret.min(i64::MAX as u64) as i64))
        };
        t0 = t0.min(s.unwrap_or(i64::MAX));
        t1 = t1.max(e.filter(|&e| e != i64::MAX).or(s).unwrap_or(i64::MIN));
    }
    let t0 = if t0 == i64::MAX { 0 } else { t0 };
    let nemesis = h.faults.iter().map(|f| (f.f.as_str(), f.kind == checker::EventType::Invoke, fault_t(f)));
    let spans = windows(nemesis, t1.max(t0));
    let kinds: BTreeSet<&str> = spans.iter().map(|w| w.kind.as_str()).collect();
    let colour = |k: &str| fault_colour(kinds.iter().position(|x| *x == k).unwrap_or(0));
    let faults: Vec<Json> = spans
        .iter()
        .map(|w| json!({"start": w.start_ns, "end": w.end_ns, "kind": w.kind, "colour": colour(&w.kind)}))
        .collect();

    // Keys: the worst verdict any check gave each, invalid first.
    let mut keys: BTreeMap<Option<String>, (Verdict, usize)> = BTreeMap::new();
    for &i in &chosen {
        keys.entry(key_text(h.ops[i].key.as_ref())).or_insert((Verdict::Valid, 0));
    }
    let mut anomalies = Vec::new();
    let mut undecided = Vec::new();
    let mut linearizations = serde_json::Map::new();
    for c in &report.results {
        for k in &c.keys {
            let key = key_text(k.key.as_ref());
            let e = keys.entry(key.clone()).or_insert((Verdict::Valid, 0));
            e.0 = e.0.combine(k.verdict);
            e.1 += k.anomalies.len();
            if let Some(reason) = &k.unknown_reason {
                undecided.push(json!({"check": c.check, "key": key, "reason": reason}));
            }
            if let Some(w) = &k.stats.witness {
                linearizations.insert(serde_json::to_string(&key).unwrap_or_default(), json!(w.ops));
            }
            for (i, a) in k.anomalies.iter().enumerate().take(MAX_ANOMALIES.saturating_sub(anomalies.len())) {
                let mut j = json!({
                    "check": c.check, "key": key, "kind": a.kind, "method": k.method,
                    "explanation": a.explanation, "ops": a.ops.iter().map(|o| o.id.0).collect::<Vec<_>>(),
                });
                let failure = match a.detail.as_deref() {
                    Some(AnomalyDetail::Search(f)) => Some(f),
                    // A fast path's proof: the key's bounded search, if any.
                    _ => k.stats.prefix.as_ref().filter(|_| i == 0),
                };
                if let Some(f) = failure {
                    for (name, v) in prefix_witness(h, c.model, f).as_object().into_iter().flatten() {
                        j[name] = v.clone();
                    }
                }
                anomalies.push(j);
            }
        }
    }
    let rank = |v: Verdict| match v {
        Verdict::Invalid => 0,
        Verdict::Unknown => 1,
        Verdict::Valid => 2,
    };
    let mut keys: Vec<_> = keys.into_iter().collect();
    keys.sort_by_key(|(k, (v, _))| (rank(*v), k.clone()));
    // Anomalies in the order of their keys in the selector.
    let pos: BTreeMap<Option<String>, usize> = keys.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect();
    anomalies.sort_by_key(|a| pos.get(&a["key"].as_str().map(str::to_string)).copied().unwrap_or(usize::MAX));
    let keys: Vec<Json> = keys.into_iter().map(|(k, (v, n))| json!({"key": k, "verdict": v, "anomalies": n})).collect();
    json!({
        "file": report.source(), "useTime": use_time, "t0": t0, "truncated": ops.len() < h.ops.len(),
        "totalOps": h.ops.len(), "ops": ops, "faultWindows": faults, "keys": keys,
        "anomalies": anomalies, "undecided": undecided, "linearizations": linearizations, "report": report,
    })
}
