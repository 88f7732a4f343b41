//! Prose pieces shared by the session checks' explanations.

use crate::history::{Op, Outcome};
use crate::report::{Anomaly, AnomalyDetail, AnomalyKind, CycleEdge, OpRef, SessionCycle};
use crate::value::Value;
use crate::History;
use crate::OpId;

/// Longest list shown in full in prose; longer ones are elided in the middle.
const SHOWN_ELEMENTS: usize = 12;

/// `lines 40-41`, or `line 40, never completed`.
pub fn lines(op: &Op) -> String {
    match op.complete_line {
        Some(c) => format!("lines {}-{}", op.invoke_line, c),
        None => format!("line {}, never completed", op.invoke_line),
    }
}

/// A value for prose: long lists keep their first and last elements.
pub fn short(v: &Value) -> String {
    let (open, close, items) = match v {
        Value::List(_) | Value::SharedList(_) => ("[", "]", v.as_list().unwrap_or_default()),
        Value::Set(x) => ("#{", "}", &x[..]),
        _ => return v.to_string(),
    };
    if items.len() <= SHOWN_ELEMENTS {
        return v.to_string();
    }
    let head: Vec<String> = items[..3].iter().map(|x| x.to_string()).collect();
    let tail: Vec<String> = items[items.len() - 3..].iter().map(|x| x.to_string()).collect();
    format!("{open}{} … {}{close} ({} elements)", head.join(" "), tail.join(" "), items.len())
}

/// `process 3's read (lines 40-41)`.
pub fn op_name(op: &Op) -> String {
    format!("process {}'s {} ({})", op.process_name(), op.f, lines(op))
}

/// `process 3's append 5 (lines 10-11, ok)`: a write with its argument.
pub fn write_name(op: &Op) -> String {
    let status = match op.outcome {
        Outcome::Ok => "ok",
        Outcome::Info => "info: may or may not have happened",
        Outcome::Fail => "failed",
    };
    format!("process {}'s {} {} ({}, {status})", op.process_name(), op.f, short(&op.input), lines(op))
}

/// One edge of a cycle, for the anomaly's machine-readable detail.
pub fn edge(from: String, kind: &str, to: String) -> CycleEdge {
    CycleEdge { edge: kind.to_string(), from, to }
}

/// Builds an anomaly from ops (deduplicated, in order of mention).
pub fn anomaly(h: &History, kind: AnomalyKind, ops: &[OpId], explanation: String, cycle: Vec<CycleEdge>) -> Anomaly {
    let mut seen: Vec<OpId> = Vec::new();
    for &o in ops {
        if !seen.contains(&o) {
            seen.push(o);
        }
    }
    Anomaly {
        kind,
        ops: seen.into_iter().map(|o| OpRef::of(h, o)).collect(),
        explanation,
        detail: (!cycle.is_empty()).then(|| Box::new(AnomalyDetail::Cycle(SessionCycle { checks: None, cycle }))),
    }
}
