//! Staleness: for each ok read, how many acknowledged versions it lagged
//! behind and for how long. A measure, not a verdict.
//!
//! A read is behind an ok write that completed before the read was invoked
//! and that the read does not reflect; versions behind counts such writes,
//! time behind is from the oldest such write's completion to the read's
//! invoke. Lists and sets use the version order their reads reveal (keys whose
//! reads disagree are not measured); for registers, whose order is only
//! inferred, the writes counted are those newer than the read value's write in
//! real time (invoked after it completed); for counters, versions behind is
//! the acknowledged total minus the read total.
//! Writes that no read ever reflects are lost, not stale, and are left out.

use super::{counter, lists, KeyOps, Workload};
use crate::history::{History, Outcome, F};
use crate::report::Budget;
use crate::value::Value;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// The staleness distribution over all ok reads (nearest-rank percentiles).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Staleness {
    pub workload: Workload,
    /// Ok reads measured.
    pub reads: u64,
    /// Reads behind by at least one version.
    pub stale_reads: u64,
    pub versions_behind_p50: u64,
    pub versions_behind_p99: u64,
    pub versions_behind_max: u64,
    /// `None` when the history has no times.
    pub time_behind_ns_p50: Option<i64>,
    pub time_behind_ns_p99: Option<i64>,
    pub time_behind_ns_max: Option<i64>,
    /// Keys whose version order could not be established (see module doc).
    pub keys_not_measured: u64,
}

#[derive(Default)]
struct Samples {
    versions: Vec<u64>,
    times_ns: Vec<i64>,
    unmeasured: u64,
}

/// Staleness samples of part of a history, mergeable with other parts (the
/// shards of a history too large for memory). Each distribution is kept as
/// sorted (value, count) runs: exact, and small when lags repeat (most reads
/// of a healthy store are 0 behind).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct StalenessSamples {
    versions: Vec<(u64, u64)>,
    times_ns: Vec<(i64, u64)>,
    unmeasured: u64,
}

/// Sorts and merges equal values into runs.
fn runs<T: Copy + Ord>(mut xs: Vec<(T, u64)>) -> Vec<(T, u64)> {
    xs.sort_unstable_by_key(|&(v, _)| v);
    let mut out: Vec<(T, u64)> = Vec::with_capacity(xs.len().min(1024));
    for (v, n) in xs {
        match out.last_mut() {
            Some((last, m)) if *last == v => *m += n,
            _ => out.push((v, n)),
        }
    }
    out
}

/// Nearest-rank percentile over runs.
fn rank<T: Copy>(runs: &[(T, u64)], pct: u64) -> Option<T> {
    let total: u64 = runs.iter().map(|&(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let target = (pct * total).div_ceil(100).max(1);
    let mut seen = 0;
    for &(v, n) in runs {
        seen += n;
        if seen >= target {
            return Some(v);
        }
    }
    runs.last().map(|&(v, _)| v)
}

impl StalenessSamples {
    fn from_samples(s: Samples) -> StalenessSamples {
        StalenessSamples {
            versions: runs(s.versions.into_iter().map(|v| (v, 1)).collect()),
            times_ns: runs(s.times_ns.into_iter().map(|t| (t, 1)).collect()),
            unmeasured: s.unmeasured,
        }
    }

    pub fn merge(&mut self, other: StalenessSamples) {
        self.versions = runs(std::mem::take(&mut self.versions).into_iter().chain(other.versions).collect());
        self.times_ns = runs(std::mem::take(&mut self.times_ns).into_iter().chain(other.times_ns).collect());
        self.unmeasured += other.unmeasured;
    }

    /// The distribution (nearest-rank percentiles).
    pub fn summary(&self, workload: Workload) -> Staleness {
        Staleness {
            workload,
            reads: self.versions.iter().map(|&(_, n)| n).sum(),
            stale_reads: self.versions.iter().filter(|&&(v, _)| v > 0).map(|&(_, n)| n).sum(),
            versions_behind_p50: rank(&self.versions, 50).unwrap_or(0),
            versions_behind_p99: rank(&self.versions, 99).unwrap_or(0),
            versions_behind_max: self.versions.last().map_or(0, |&(v, _)| v),
            time_behind_ns_p50: rank(&self.times_ns, 50),
            time_behind_ns_p99: rank(&self.times_ns, 99),
            time_behind_ns_max: self.times_ns.last().map(|&(t, _)| t),
            keys_not_measured: self.unmeasured,
        }
    }
}

/// Measures every key in parallel: the samples behind the report's
/// [`Staleness`], mergeable across shards.
pub(crate) fn staleness_samples(h: &History, workload: Workload) -> StalenessSamples {
    let budget = Budget::unlimited();
    let groups: Vec<_> = h.by_key().into_iter().collect();
    let parts: Vec<Samples> = groups
        .par_iter()
        .map(|(key, ops)| {
            let k =
                KeyOps { h, key: *key, ops, budget: &budget, nil_read: crate::read::NilRead::Absent, initial: None };
            measure(&k, workload)
        })
        .collect();
    let mut all = Samples::default();
    for p in parts {
        all.versions.extend(p.versions);
        all.times_ns.extend(p.times_ns);
        all.unmeasured += p.unmeasured;
    }
    StalenessSamples::from_samples(all)
}

/// A write for the sweep: completion position, position in the version
/// order (1-based), completion time.
type SweepWrite = (u64, u32, Option<i64>);
/// A read for the sweep: invoke position, level (reflects positions <= it), invoke time.
type SweepRead = (u64, u32, Option<i64>);

fn measure(k: &KeyOps, workload: Workload) -> Samples {
    let h = k.h;
    let mut s = Samples::default();
    let levels = match workload {
        Workload::ListAppend | Workload::Set => {
            let kind = if workload == Workload::Set { lists::Kind::Set } else { lists::Kind::List };
            lists::prepare(k, kind).ok().and_then(|p| {
                let o = lists::Ordered::build(&p, kind)?;
                let ws = p
                    .writes
                    .iter()
                    .zip(&o.wpos)
                    .filter(|(w, _)| w.ok)
                    .map(|(w, &pos)| (h.op(w.op).ret, pos, h.op(w.op).complete_time_ns))
                    .collect::<Vec<SweepWrite>>();
                let rs = p
                    .reads
                    .iter()
                    .zip(&o.level)
                    .map(|(r, &l)| (h.op(r.op).call, l, h.op(r.op).invoke_time_ns))
                    .collect::<Vec<SweepRead>>();
                Some((ws, rs))
            })
        }
        Workload::Register => register_levels(k),
        Workload::Counter => {
            if counter_samples(k, &mut s).is_err() {
                s.unmeasured += 1;
            }
            return s;
        }
    };
    match levels {
        Some((ws, rs)) => sweep(ws, rs, &mut s),
        None => s.unmeasured += 1,
    }
    s
}

/// Registers: a read of `v` is behind an acknowledged write that was invoked
/// after `v`'s write completed and completed before the read was invoked —
/// newer than `v` in real time. Write positions are ranks of their invokes;
/// a read's level is how many writes were invoked before `v`'s write completed.
fn register_levels(k: &KeyOps) -> Option<(Vec<SweepWrite>, Vec<SweepRead>)> {
    let h = k.h;
    let mut writes: Vec<&crate::Op> = Vec::new();
    let mut ret_of: FxHashMap<&Value, u64> = FxHashMap::default();
    let mut reads: Vec<(&crate::Op, &Value)> = Vec::new();
    for &id in k.ops {
        let op = h.op(id);
        let written = match (&op.f, op.outcome) {
            (_, Outcome::Fail) => None,
            (F::Write, _) => Some(&op.input),
            (F::Cas, _) => match op.input.as_seq() {
                Some([_, new]) => Some(new),
                _ => return None,
            },
            _ => None,
        };
        if let Some(x) = written {
            if ret_of.insert(x, op.ret).is_some() {
                return None; // not unique: no order to measure against
            }
            writes.push(op);
        }
        if op.f == F::Read && op.outcome == Outcome::Ok {
            reads.push((op, &op.output));
        }
    }
    // `writes` are in invoke order: rank = index + 1.
    let calls: Vec<u64> = writes.iter().map(|w| w.call).collect();
    let ws = writes
        .iter()
        .enumerate()
        .filter(|(_, w)| w.outcome == Outcome::Ok)
        .map(|(i, w)| (w.ret, i as u32 + 1, w.complete_time_ns))
        .collect();
    let rs = reads
        .iter()
        .filter_map(|&(r, v)| {
            // A nil read reflects the initial value, or a write of nil if
            // there was one: judged as the written nil, the newer of the
            // two, so a read of the latest write is never counted stale.
            let level = match (v, ret_of.get(v)) {
                (_, Some(&ret)) => calls.partition_point(|&c| c < ret) as u32,
                (Value::Nil, None) => 0,
                (_, None) => return None,
            };
            Some((r.call, level, r.invoke_time_ns))
        })
        .collect();
    Some((ws, rs))
}

/// Sweeps completions and invokes in history order; a Fenwick tree over
/// reversed version positions gives, at each read's invoke, how many
/// acknowledged writes lie above the read's level and the oldest completion among them.
fn sweep(mut ws: Vec<SweepWrite>, mut rs: Vec<SweepRead>, s: &mut Samples) {
    ws.retain(|w| w.1 != u32::MAX);
    ws.sort_unstable();
    rs.sort_unstable();
    let n = ws.iter().map(|w| w.1 as usize).max().unwrap_or(0);
    let mut count = vec![0u64; n + 1];
    let mut oldest = vec![i64::MAX; n + 1];
    let mut inserted = 0u64;
    let mut wi = 0;
    for (call, level, t) in rs {
        while wi < ws.len() && ws[wi].0 < call {
            let (_, pos, ct) = ws[wi];
            // Reversed index: positions above a level form a prefix.
            let mut i = n + 1 - pos as usize;
            while i <= n {
                count[i] += 1;
                oldest[i] = oldest[i].min(ct.unwrap_or(i64::MAX));
                i += i & i.wrapping_neg();
            }
            inserted += 1;
            wi += 1;
        }
        // Writes with pos > level: reversed indices 1..=n-level.
        let (mut c, mut m) = (0u64, i64::MAX);
        let mut i = n.saturating_sub(level as usize);
        while i > 0 {
            c += count[i];
            m = m.min(oldest[i]);
            i -= i & i.wrapping_neg();
        }
        debug_assert!(c <= inserted);
        s.versions.push(c);
        if let Some(t) = t {
            if c == 0 {
                s.times_ns.push(0);
            } else if m != i64::MAX {
                s.times_ns.push((t - m).max(0));
            }
        }
    }
}

fn counter_samples(k: &KeyOps, s: &mut Samples) -> Result<(), String> {
    let h = k.h;
    // Acknowledged increments in completion order, with running totals.
    let mut acks: Vec<(u64, i64, Option<i64>)> = Vec::new();
    let mut reads: Vec<(u64, i64, Option<i64>)> = Vec::new();
    for &id in k.ops {
        let op = h.op(id);
        match (op.f.clone(), op.outcome) {
            (F::Incr, Outcome::Ok) => acks.push((op.ret, counter::delta(op)?, op.complete_time_ns)),
            (F::Read, Outcome::Ok) => reads.push((op.call, counter::total(op)?, op.invoke_time_ns)),
            _ => {}
        }
    }
    acks.sort_unstable();
    let mut prefix = Vec::with_capacity(acks.len());
    let mut sum = 0i64;
    for a in &acks {
        sum = sum.saturating_add(a.1);
        prefix.push(sum);
    }
    for (call, total, t) in reads {
        let known = acks.partition_point(|a| a.0 < call);
        let acked = if known == 0 { 0 } else { prefix[known - 1] };
        let behind = (acked - total).max(0) as u64;
        s.versions.push(behind);
        if let Some(t) = t {
            if behind == 0 {
                s.times_ns.push(0);
            } else {
                // The oldest increment the total cannot include.
                let j = prefix[..known].partition_point(|&p| p <= total);
                if let Some(ct) = acks[j].2 {
                    s.times_ns.push((t - ct).max(0));
                }
            }
        }
    }
    Ok(())
}
