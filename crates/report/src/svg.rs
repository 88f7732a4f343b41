//! Hand-written SVG plots for comparisons: small, dependency-free and
//! readable offline. Each is a pure function of the numbers it draws, so a
//! new plot replaces one function.

use crate::escape::escape;
use runner::compare::Row;
use runner::run::Finished;
use runner::Plan;
use std::fmt::Write;
use workloads::metrics::FaultWindow;

const W: f64 = 760.0;
const PANEL_H: f64 = 90.0;
const LEFT: f64 = 120.0;
/// Points drawn per panel at most (an SVG of more gets slow to open).
const MAX_POINTS: usize = 20_000;

/// One run's latencies over simulated time, for [`latency_over_time`].
pub struct Panel<'a> {
    pub label: &'a str,
    /// Simulated duration of the run.
    pub duration_ns: u64,
    pub faults: &'a [FaultWindow],
    /// (invoke time, latency) of every ok op.
    pub latencies: &'a [(i64, u64)],
}

/// A panel per plan, from its first run (an empty one for a plan without runs).
pub fn first_runs<'a>(plans: &'a [Plan], runs: &'a [Vec<Finished>]) -> Vec<Panel<'a>> {
    plans
        .iter()
        .zip(runs)
        .map(|(p, runs)| match runs.first() {
            Some(f) => Panel {
                label: &p.protocol,
                duration_ns: f.output.stats.sim_duration_ns,
                faults: &f.metrics.fault_windows,
                latencies: &f.metrics.latencies,
            },
            None => Panel { label: &p.protocol, duration_ns: 0, faults: &[], latencies: &[] },
        })
        .collect()
}

fn header(h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" font-family=\"monospace\" font-size=\"11\">\n\
         <text x=\"{LEFT}\" y=\"14\">{}</text>\n",
        escape(title)
    )
}

/// Latency of every ok op over simulated time, one panel per run,
/// log-scaled from 0.01 ms to 10 s, with fault periods shaded.
pub fn latency_over_time(panels: &[Panel]) -> String {
    let mut s =
        header(PANEL_H * panels.len() as f64 + 40.0, "latency of ok ops (log ms) over simulated time; shaded: faults");
    for (i, p) in panels.iter().enumerate() {
        let y0 = 24.0 + i as f64 * PANEL_H;
        let _ = writeln!(s, "<text x=\"4\" y=\"{}\">{}</text>", y0 + PANEL_H / 2.0, escape(p.label));
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{y0}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>",
            W - LEFT - 10.0,
            PANEL_H - 10.0
        );
        let end = (p.duration_ns as f64).max(1.0);
        let x = |t: f64| LEFT + t / end * (W - LEFT - 10.0);
        for w in p.faults {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{y0}\" width=\"{:.1}\" height=\"{}\" fill=\"#e3f2fd\"><title>{}</title></rect>",
                x(w.start_ns as f64),
                (x(w.end_ns as f64) - x(w.start_ns as f64)).max(1.0),
                PANEL_H - 10.0,
                escape(&w.kind)
            );
        }
        let y = |lat_ns: u64| {
            let l = ((lat_ns as f64 / 1e6).max(0.01)).log10();
            y0 + (PANEL_H - 10.0) * (1.0 - (l + 2.0) / 6.0).clamp(0.0, 1.0)
        };
        for &(t, lat) in p.latencies.iter().take(MAX_POINTS) {
            let _ = writeln!(s, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.5\" fill=\"#1565c0\"/>", x(t as f64), y(lat));
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Horizontal bars: a group per row, a bar per series, scaled to the largest value.
fn bars(title: &str, rows: &[Row], series: &[(&str, &str)], value: impl Fn(&Row, usize) -> f64, unit: &str) -> String {
    let bar_h = 12.0;
    let group_h = bar_h * series.len() as f64 + 8.0;
    let max = rows.iter().flat_map(|r| (0..series.len()).map(|i| value(r, i))).fold(0.0f64, f64::max).max(1e-9);
    let mut s = header(40.0 + group_h * rows.len() as f64, title);
    for (i, (name, colour)) in series.iter().enumerate() {
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"20\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"29\">{name}</text>",
            LEFT + 160.0 * i as f64,
            LEFT + 14.0 + 160.0 * i as f64
        );
    }
    for (j, r) in rows.iter().enumerate() {
        let y0 = 36.0 + j as f64 * group_h;
        let _ = writeln!(s, "<text x=\"4\" y=\"{}\">{}</text>", y0 + group_h / 2.0, escape(&r.protocol));
        for (i, (_, colour)) in series.iter().enumerate() {
            let v = value(r, i);
            let w = v / max * (W - LEFT - 90.0);
            let y = y0 + i as f64 * bar_h;
            let _ = writeln!(
                s,
                "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{colour}\"/>\
                 <text x=\"{:.1}\" y=\"{}\">{v:.1}{unit}</text>",
                bar_h - 2.0,
                LEFT + w + 4.0,
                y + bar_h - 3.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// p50 and p99 latency per protocol.
pub fn latency_bars(rows: &[Row]) -> String {
    bars(
        "latency of ok ops per protocol (ms)",
        rows,
        &[("p50", "#64b5f6"), ("p99", "#1565c0")],
        |r, i| if i == 0 { r.latency_ms_p50 } else { r.latency_ms_p99 },
        " ms",
    )
}

/// Availability overall and during faults per protocol.
pub fn availability_bars(rows: &[Row]) -> String {
    bars(
        "share of ops that succeeded (%)",
        rows,
        &[("overall", "#66bb6a"), ("during faults", "#ef6c00")],
        |r, i| 100.0 * if i == 0 { r.availability } else { r.availability_during_faults.unwrap_or(0.0) },
        "%",
    )
}
