//! Comparison metrics of one run, derived from its history and statistics:
//! throughput, latency percentiles, availability overall and during faults,
//! messages per op.

use crate::sim::RunStats;
use checker::{Event, EventType, Process};
use serde::Serialize;
use std::collections::BTreeMap;

/// A period during which a fault was active, in virtual nanoseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultWindow {
    pub kind: String,
    pub start_ns: i64,
    pub end_ns: i64,
}

/// What `conch compare` tabulates for one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunMetrics {
    /// Client ops, final reads excluded.
    pub ops: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    /// Ok ops per simulated second.
    pub throughput_ops_per_s: f64,
    pub latency_ns_p50: u64,
    pub latency_ns_p99: u64,
    pub latency_ns_max: u64,
    /// Share of ops that succeeded.
    pub availability: f64,
    /// Share of ops invoked while a fault was active that succeeded; `None`
    /// when no op was invoked during a fault.
    pub availability_during_faults: Option<f64>,
    pub msgs_per_op: f64,
    pub fault_windows: Vec<FaultWindow>,
    /// (invoke time, latency) of every ok op, for latency-over-time plots.
    #[serde(skip)]
    pub latencies: Vec<(i64, u64)>,
}

/// Fault windows from the nemesis events: each `start-KIND` opens a window
/// that the next `stop-KIND` closes; one never closed ends at `end_ns`.
pub fn fault_windows(events: &[Event], end_ns: i64) -> Vec<FaultWindow> {
    let nemesis = events.iter().filter(|e| e.process == Process::Nemesis);
    windows(nemesis.map(|e| (e.f.as_str(), e.kind == EventType::Invoke, e.time_ns.unwrap_or(0))), end_ns)
}

/// Fault windows from (f, is an invoke, time) of nemesis events in file
/// order: `start-KIND` opens a window of KIND that the next completed
/// `stop-KIND` closes (Jepsen's bare `start`/`stop` are kind `nemesis`); one
/// never closed ends at `end_ns`. Sorted by start, then end.
pub fn windows<'a>(nemesis: impl IntoIterator<Item = (&'a str, bool, i64)>, end_ns: i64) -> Vec<FaultWindow> {
    let kind_of = |f: &'a str, prefix: &str| -> Option<&'a str> {
        let rest = f.strip_prefix(prefix)?;
        if rest.is_empty() {
            Some("nemesis")
        } else {
            rest.strip_prefix('-')
        }
    };
    let mut open: BTreeMap<String, i64> = BTreeMap::new();
    let mut out = Vec::new();
    for (f, is_invoke, t) in nemesis {
        if let Some(kind) = kind_of(f, "start") {
            open.entry(kind.to_string()).or_insert(t);
        } else if let Some(kind) = kind_of(f, "stop") {
            if let Some(start_ns) = open.remove(kind) {
                if !is_invoke {
                    out.push(FaultWindow { kind: kind.to_string(), start_ns, end_ns: t });
                } else {
                    open.insert(kind.to_string(), start_ns);
                }
            }
        }
    }
    out.extend(open.into_iter().map(|(kind, start_ns)| FaultWindow { kind, start_ns, end_ns: end_ns.max(start_ns) }));
    out.sort_by_key(|w| (w.start_ns, w.end_ns));
    out
}

/// The `p`-quantile (0..=1) of sorted values, nearest rank; 0 when empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Computes the metrics of a run from its events (as the simulator recorded
/// them: every client event has a time) and statistics.
pub fn metrics(events: &[Event], stats: &RunStats) -> RunMetrics {
    let end_ns = stats.sim_duration_ns as i64;
    let windows = fault_windows(events, end_ns);
    let in_fault = |t: i64| windows.iter().any(|w| w.start_ns <= t && t <= w.end_ns);
    let mut open: BTreeMap<u64, (i64, bool)> = BTreeMap::new();
    let (mut ok, mut fail, mut info) = (0u64, 0u64, 0u64);
    let (mut during, mut during_ok) = (0u64, 0u64);
    let mut latencies = Vec::new();
    for e in events {
        let Process::Client(p) = e.process else { continue };
        if e.is_final {
            continue;
        }
        let t = e.time_ns.unwrap_or(0);
        if e.kind == EventType::Invoke {
            open.insert(p, (t, in_fault(t)));
            continue;
        }
        let Some((start, faulty)) = open.remove(&p) else { continue };
        match e.kind {
            EventType::Ok => {
                ok += 1;
                latencies.push((start, (t - start).max(0) as u64));
            }
            EventType::Fail => fail += 1,
            _ => info += 1,
        }
        if faulty {
            during += 1;
            during_ok += u64::from(e.kind == EventType::Ok);
        }
    }
    // Ops still open at the end count as indeterminate.
    info += open.len() as u64;
    let ops = ok + fail + info;
    let mut lat: Vec<u64> = latencies.iter().map(|&(_, l)| l).collect();
    lat.sort_unstable();
    let secs = (stats.sim_duration_ns as f64 / 1e9).max(1e-9);
    RunMetrics {
        ops,
        ok,
        fail,
        info,
        throughput_ops_per_s: ok as f64 / secs,
        latency_ns_p50: percentile(&lat, 0.50),
        latency_ns_p99: percentile(&lat, 0.99),
        latency_ns_max: lat.last().copied().unwrap_or(0),
        availability: if ops == 0 { 0.0 } else { ok as f64 / ops as f64 },
        availability_during_faults: (during > 0).then(|| during_ok as f64 / during as f64),
        msgs_per_op: if stats.ops_invoked == 0 { 0.0 } else { stats.msgs_sent as f64 / stats.ops_invoked as f64 },
        fault_windows: windows,
        latencies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::{Value, F};

    fn ev(kind: EventType, p: Process, f: &str, t: i64) -> Event {
        let mut e = Event::new(0, kind, p, F::parse(f), Value::Nil);
        e.time_ns = Some(t);
        e
    }

    #[test]
    fn latency_and_availability_during_faults() {
        use EventType::*;
        let events = vec![
            ev(Invoke, Process::Client(0), "write", 0),
            ev(Ok, Process::Client(0), "write", 10),
            ev(Invoke, Process::Nemesis, "start-partition", 20),
            ev(Info, Process::Nemesis, "start-partition", 20),
            ev(Invoke, Process::Client(0), "read", 30),
            ev(Fail, Process::Client(0), "read", 40),
            ev(Invoke, Process::Nemesis, "stop-partition", 50),
            ev(Info, Process::Nemesis, "stop-partition", 50),
            ev(Invoke, Process::Client(0), "read", 60),
            ev(Ok, Process::Client(0), "read", 90),
        ];
        let stats = RunStats { sim_duration_ns: 1_000_000_000, ops_invoked: 3, msgs_sent: 9, ..RunStats::default() };
        let m = metrics(&events, &stats);
        assert_eq!((m.ops, m.ok, m.fail, m.info), (3, 2, 1, 0));
        assert_eq!(m.fault_windows, vec![FaultWindow { kind: "partition".into(), start_ns: 20, end_ns: 50 }]);
        assert_eq!(m.availability_during_faults, Some(0.0));
        assert_eq!(m.latency_ns_max, 30);
        assert_eq!(m.msgs_per_op, 3.0);
    }

    #[test]
    fn jepsen_bare_start_and_stop_make_nemesis_windows() {
        let w = windows([("start", true, 5), ("start", false, 6), ("stop", false, 9), ("start-kill", false, 12)], 20);
        assert_eq!(
            w,
            vec![
                FaultWindow { kind: "nemesis".into(), start_ns: 5, end_ns: 9 },
                FaultWindow { kind: "kill".into(), start_ns: 12, end_ns: 20 },
            ]
        );
    }
}
