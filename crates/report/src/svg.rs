//! Bar charts of a comparison's numbers, one bar per protocol and series
//! (the plots over time are `plot`'s).

use crate::escape::escape;
use runner::compare::Row;
use std::fmt::Write;

const W: f64 = 760.0;
const LEFT: f64 = 120.0;

fn header(h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" font-family=\"monospace\" font-size=\"11\">\n\
         <text x=\"{LEFT}\" y=\"14\">{}</text>\n",
        escape(title)
    )
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
