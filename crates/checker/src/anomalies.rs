//! Shared by the workload checks (set-full, counter bounds, unique ids, echo,
//! kafka): anomaly lists capped per kind with full counts, and nearest-rank
//! quantiles for latency summaries.

use crate::report::{Anomaly, AnomalyDetail, AnomalyKind, CheckName, CheckResult, KeyResult, ModelName, OpRef};
use serde::Serialize;
use std::collections::BTreeMap;

/// Anomalies listed per kind; every one is counted.
pub const MAX_PER_KIND: usize = 50;

/// Anomalies of one check, at most [`MAX_PER_KIND`] listed per kind, every
/// one counted (the counts go in the key's stats).
#[derive(Clone, Debug, Default)]
pub struct Capped {
    pub listed: Vec<Anomaly>,
    /// kind -> how many were found (listed or not).
    pub counts: BTreeMap<&'static str, u64>,
}

impl Capped {
    pub fn push(&mut self, a: Anomaly) {
        let n = self.counts.entry(a.kind.as_str()).or_insert(0);
        *n += 1;
        if *n as usize <= MAX_PER_KIND {
            self.listed.push(a);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    pub fn count(&self, kind: &str) -> u64 {
        self.counts.get(kind).copied().unwrap_or(0)
    }

    /// One key's result: invalid with any anomaly; else `unknown` when
    /// `checked` is 0 (`nothing` names what never happened), else valid.
    /// The stats are `stats` (a JSON object) with the anomaly counts added.
    pub fn key_result(
        self,
        key: Option<crate::value::Value>,
        method: crate::report::Method,
        ops: u64,
        checked: u64,
        nothing: &str,
        mut stats: serde_json::Value,
    ) -> KeyResult {
        use crate::report::{KeyStats, Verdict};
        let (verdict, unknown_reason) = match (self.is_empty(), checked) {
            (false, _) => (Verdict::Invalid, None),
            (true, 0) => (Verdict::Unknown, Some(format!("{nothing}: nothing was checked"))),
            (true, _) => (Verdict::Valid, None),
        };
        debug_assert!(stats.is_object(), "workload stats are an object: {stats}");
        if let Some(m) = stats.as_object_mut() {
            m.insert("anomaly_counts".into(), serde_json::json!(self.counts));
        }
        KeyResult {
            key,
            verdict,
            method,
            ops,
            anomalies: self.listed,
            unknown_reason,
            stats: KeyStats::of_workload(stats),
        }
    }
}

/// A workload check's result over its keys; no keys at all (no ops of the
/// workload) is `unknown`: nothing was checked.
pub fn result(check: CheckName, model: &'static str, keys: Vec<KeyResult>) -> CheckResult {
    let mut r = CheckResult::from_keys(check, ModelName::WorkloadCheck(model), keys);
    if r.keys.is_empty() {
        r.unknown_reason = Some(format!("no {model} ops: nothing was checked"));
        r.seal();
    }
    r
}

/// An anomaly with its evidence (`Null`: none).
pub fn anomaly(kind: AnomalyKind, ops: Vec<OpRef>, explanation: String, evidence: serde_json::Value) -> Anomaly {
    Anomaly { kind, ops, explanation, detail: detail(evidence) }
}

/// A workload check's evidence as an anomaly's detail (`Null`: none).
pub fn detail(evidence: serde_json::Value) -> Option<Box<AnomalyDetail>> {
    (!evidence.is_null()).then(|| Box::new(AnomalyDetail::Workload(evidence)))
}

/// A named part of an anomaly's evidence (`Null` when absent).
#[cfg(test)]
pub fn evidence<'a>(a: &'a Anomaly, name: &str) -> &'a serde_json::Value {
    match a.detail.as_deref() {
        Some(AnomalyDetail::Workload(v)) => &v[name],
        _ => &serde_json::Value::Null,
    }
}

/// Nearest-rank quantiles of a sample (any order), in the sample's unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Quantiles {
    pub count: u64,
    pub p0: i64,
    pub p50: i64,
    pub p95: i64,
    pub p99: i64,
    pub p100: i64,
}

impl Quantiles {
    /// `None` for an empty sample.
    pub fn of(mut xs: Vec<i64>) -> Option<Quantiles> {
        if xs.is_empty() {
            return None;
        }
        xs.sort_unstable();
        let n = xs.len();
        // Nearest rank: the smallest value with at least p% of the sample at or below it.
        let rank = |p: usize| xs[(p * n).div_ceil(100).clamp(1, n) - 1];
        Some(Quantiles { count: n as u64, p0: xs[0], p50: rank(50), p95: rank(95), p99: rank(99), p100: xs[n - 1] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_nearest_rank() {
        assert_eq!(Quantiles::of(vec![]), None);
        let q = Quantiles::of((1..=100).rev().collect()).unwrap();
        assert_eq!((q.count, q.p0, q.p50, q.p95, q.p99, q.p100), (100, 1, 50, 95, 99, 100));
        let q = Quantiles::of(vec![7]).unwrap();
        assert_eq!((q.p0, q.p50, q.p100), (7, 7, 7));
    }

    #[test]
    fn capped_counts_everything_lists_some() {
        let mut c = Capped::default();
        for _ in 0..MAX_PER_KIND + 5 {
            c.push(anomaly(AnomalyKind::Lost, vec![], String::new(), serde_json::Value::Null));
        }
        assert_eq!(c.count("lost"), (MAX_PER_KIND + 5) as u64);
        assert_eq!(c.listed.len(), MAX_PER_KIND);
    }
}
