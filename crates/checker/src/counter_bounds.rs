//! Counters read whole (Maelstrom's g-counter and pn-counter): `add` a delta,
//! `read` the total. The counter may be eventually consistent, so a read
//! owes only this much:
//!
//! - a `final` read (one per node, after faults healed and the system
//!   quiesced) equals the sum of the ok adds plus some subset of the info
//!   adds (each may or may not have happened): the *acceptable set*, kept
//!   exactly as disjoint intervals;
//! - any other ok read lies within the bounds of the adds that may have
//!   happened before it returned (those invoked before then, ok or info):
//!   at least the sum of their negative deltas, at most that of their
//!   positive ones.
//!
//! A final read outside the acceptable set, or a read outside its bounds, is
//! an anomaly; no final read at all is `unknown`. The acceptable set is cut
//! to its hull beyond [`MAX_INTERVALS`] intervals; a final read inside the
//! hull is then `unknown` unless it is provably acceptable.

use crate::anomalies::Capped;
use crate::error::{InputError, InputErrorKind};
use crate::history::{History, Op, OpId, Outcome, F};
use crate::report::{Anomaly, AnomalyKind, CheckName, CheckResult, KeyResult, KeyStats, Method, OpRef, Verdict};
use crate::value::Value;

const NAME: &str = "counter-bounds";

/// Bound on the intervals of the acceptable set (memory and time: each info
/// add costs a pass over them). Small deltas merge into few intervals.
pub const MAX_INTERVALS: usize = 10_000;

/// Intervals shown in the report.
const INTERVALS_SHOWN: usize = 20;

/// Checks every key of `h`. Ops other than add and read, a non-integer
/// delta and a non-integer ok read are input errors naming their line.
pub fn check(h: &History, file: &str) -> Result<CheckResult, InputError> {
    for op in &h.ops {
        let line = op.complete_line.unwrap_or(op.invoke_line);
        let bad = |f: &str, expected: &'static str, found: &Value| {
            let kind = InputErrorKind::BadValue { model: NAME, f: f.into(), expected, found: found.to_string() };
            InputError::new(file, line, kind)
        };
        match op.f {
            F::Add if op.input.as_int().is_none() => return Err(bad("add", "an integer delta", &op.input)),
            F::Read if op.outcome == Outcome::Ok && op.output.as_int().is_none() => {
                return Err(bad("read", "the integer total", &op.output))
            }
            F::Add | F::Read => {}
            _ => {
                let kind = InputErrorKind::UnsupportedOp { model: NAME, f: op.f.to_string(), supported: "add, read" };
                return Err(InputError::new(file, op.invoke_line, kind));
            }
        }
    }
    let keys = h.by_key().into_iter().map(|(k, ids)| check_key(h, k.cloned(), &ids)).collect();
    Ok(crate::anomalies::result(CheckName::CounterBounds, NAME, keys))
}

/// Sorted, disjoint, non-adjacent closed intervals of integers.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalSet {
    pub intervals: Vec<(i128, i128)>,
    /// False once cut to its hull: then only "outside" is certain.
    pub exact: bool,
}

impl IntervalSet {
    pub fn point(x: i128) -> IntervalSet {
        IntervalSet { intervals: vec![(x, x)], exact: true }
    }

    /// `self ∪ (self + d)`: the sums with and without one more delta.
    pub fn add_optional(&mut self, d: i128) {
        if d == 0 {
            return;
        }
        let shifted: Vec<(i128, i128)> = self.intervals.iter().map(|&(a, b)| (a + d, b + d)).collect();
        let mut merged: Vec<(i128, i128)> = Vec::with_capacity(self.intervals.len() * 2);
        let (mut i, mut j) = (0, 0);
        while i < self.intervals.len() || j < shifted.len() {
            let next = if j >= shifted.len() || (i < self.intervals.len() && self.intervals[i].0 <= shifted[j].0) {
                i += 1;
                self.intervals[i - 1]
            } else {
                j += 1;
                shifted[j - 1]
            };
            match merged.last_mut() {
                Some(last) if next.0 <= last.1 + 1 => last.1 = last.1.max(next.1),
                _ => merged.push(next),
            }
        }
        if merged.len() > MAX_INTERVALS {
            let hull = (merged[0].0, merged.iter().map(|x| x.1).max().unwrap_or(merged[0].1));
            merged = vec![hull];
            self.exact = false;
        }
        self.intervals = merged;
    }

    /// `Some(true)` inside, `Some(false)` outside, `None` inside the hull of
    /// a cut set (undecided).
    pub fn contains(&self, x: i128) -> Option<bool> {
        let inside = self.intervals.iter().any(|&(a, b)| a <= x && x <= b);
        match (inside, self.exact) {
            (false, _) => Some(false),
            (true, true) => Some(true),
            (true, false) => None,
        }
    }
}

fn check_key(h: &History, key: Option<Value>, ids: &[OpId]) -> KeyResult {
    let ops: Vec<&Op> = ids.iter().map(|&id| h.op(id)).collect();
    let delta = |o: &Op| i128::from(o.input.as_int().unwrap_or(0));
    let adds: Vec<&Op> = ops.iter().copied().filter(|o| o.f == F::Add && o.outcome != Outcome::Fail).collect();
    let definite: i128 = adds.iter().filter(|o| o.outcome == Outcome::Ok).map(|o| delta(o)).sum();
    let mut acceptable = IntervalSet::point(definite);
    for o in adds.iter().filter(|o| o.outcome == Outcome::Info) {
        acceptable.add_optional(delta(o));
    }
    let reads: Vec<&Op> = ops.iter().copied().filter(|o| o.f == F::Read && o.outcome == Outcome::Ok).collect();
    let value = |o: &Op| i128::from(o.output.as_int().unwrap_or(0));

    let mut found = Capped::default();
    let mut undecided = 0u64;
    let mut finals = Vec::new();
    for r in reads.iter().filter(|r| r.is_final) {
        finals.push(serde_json::json!({ "node": r.node, "value": value(r) as i64 }));
        match acceptable.contains(value(r)) {
            Some(true) => {}
            None => undecided += 1,
            Some(false) => found.push(Anomaly {
                kind: AnomalyKind::FinalReadOutOfBounds,
                ops: vec![OpRef::new(r)],
                explanation: format!(
                    "{} read {}, but the ok adds sum to {definite} and the {} info adds can only make it one of {}",
                    OpRef::new(r),
                    value(r),
                    adds.iter().filter(|o| o.outcome == Outcome::Info).count(),
                    describe(&acceptable)
                ),
                detail: crate::anomalies::detail(
                    serde_json::json!({ "value": value(r) as i64, "definite_sum": definite as i64 }),
                ),
            }),
        }
    }

    // Every read within the adds invoked before it returned: reads by
    // return, adds by call, one sweep.
    let mut by_ret: Vec<&Op> = reads.clone();
    by_ret.sort_by_key(|r| r.ret);
    let (mut lo, mut hi, mut next) = (0i128, 0i128, 0usize);
    for r in by_ret {
        while next < adds.len() && adds[next].call < r.ret {
            let d = delta(adds[next]);
            if d < 0 {
                lo += d;
            } else {
                hi += d;
            }
            next += 1;
        }
        let v = value(r);
        if v < lo || v > hi {
            found.push(Anomaly {
                kind: AnomalyKind::ReadOutOfBounds,
                ops: vec![OpRef::new(r)],
                explanation: format!(
                    "{} read {v}, but the adds invoked before it returned can only make the counter a value in \
                     [{lo}, {hi}] whichever of them happened",
                    OpRef::new(r)
                ),
                detail: crate::anomalies::detail(
                    serde_json::json!({ "value": v as i64, "lower": lo as i64, "upper": hi as i64 }),
                ),
            });
        }
    }

    let (verdict, unknown_reason) = if !found.is_empty() {
        (Verdict::Invalid, None)
    } else if finals.is_empty() {
        (Verdict::Unknown, Some("no ok final read (ops marked final): the total was never checked".into()))
    } else if undecided > 0 {
        let why = format!(
            "{undecided} final reads fall inside the acceptable set's hull, which was cut at {MAX_INTERVALS} intervals"
        );
        (Verdict::Unknown, Some(why))
    } else {
        (Verdict::Valid, None)
    };
    let shown: Vec<[i64; 2]> =
        acceptable.intervals.iter().take(INTERVALS_SHOWN).map(|&(a, b)| [clamp(a), clamp(b)]).collect();
    let stats = serde_json::json!({
        "definite_sum": clamp(definite),
        "ok_adds": adds.iter().filter(|o| o.outcome == Outcome::Ok).count(),
        "info_adds": adds.iter().filter(|o| o.outcome == Outcome::Info).count(),
        "acceptable": shown,
        "acceptable_intervals": acceptable.intervals.len(),
        "acceptable_exact": acceptable.exact,
        "reads": reads.len(),
        "final_reads": finals,
        "anomaly_counts": found.counts,
    });
    KeyResult {
        key,
        verdict,
        method: Method::Workload(CheckName::CounterBounds),
        ops: ops.len() as u64,
        anomalies: found.listed,
        unknown_reason,
        stats: KeyStats::of_workload(stats),
    }
}

fn clamp(x: i128) -> i64 {
    x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn describe(s: &IntervalSet) -> String {
    let parts: Vec<String> = s
        .intervals
        .iter()
        .take(INTERVALS_SHOWN)
        .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}..={b}") })
        .collect();
    let more = if s.intervals.len() > INTERVALS_SHOWN { ", ..." } else { "" };
    format!("{{{}{more}}}", parts.join(", "))
}

#[cfg(test)]
mod tests;
