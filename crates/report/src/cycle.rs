//! Transaction cycle graphs: each transactional anomaly that is a cycle
//! drawn as one small SVG, a node per transaction on a circle (its name and
//! op id), an arrow per step of the cycle labelled with the dependency's
//! kind (`ww`, `wr`, `rw`, `process`, `realtime`), key and values. A pair of
//! opposite steps bend to opposite sides, so both stay readable. Pure: an
//! anomaly in, SVG or HTML out.

use crate::escape::escape;
use checker::report::AnomalyDetail;
use checker::txn::report::{Step, TxnEvidence};
use checker::{Anomaly, Report};
use std::fmt::Write;

/// Cycles drawn on one page (the first ones'); the rest are counted.
pub const MAX_CYCLES: usize = 20;
const NODE_R: f64 = 22.0;
/// Characters of an edge label drawn (the tooltip has the whole sentence).
const LABEL_CHARS: usize = 30;

/// The colour and dash of a dependency kind.
fn style(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "ww" => ("#1f5fbf", ""),
        "wr" => ("#16794a", ""),
        "rw" => ("#b3261e", "5,3"),
        "realtime" => ("#7b3fa0", "2,3"),
        _ => ("#555", "2,3"),
    }
}

/// An anomaly's cycle, if it is one with its steps.
fn evidence(a: &Anomaly) -> Option<&TxnEvidence> {
    match a.detail.as_deref() {
        Some(AnomalyDetail::Txn(e)) if !e.steps.is_empty() => Some(e),
        _ => None,
    }
}

/// "rw x 3 → 4": the step's kind, key and versions.
fn edge_label(s: &Step) -> String {
    let mut t = s.kind.to_string();
    if let Some(k) = &s.key {
        let _ = write!(t, " {k}");
    }
    match (&s.value, &s.value_to) {
        (Some(a), Some(b)) => {
            let _ = write!(t, " {a} → {b}");
        }
        (Some(a), None) | (None, Some(a)) => {
            let _ = write!(t, " {a}");
        }
        (None, None) => {}
    }
    if t.chars().count() > LABEL_CHARS {
        t = t.chars().take(LABEL_CHARS - 1).chain(std::iter::once('…')).collect();
    }
    t
}

/// One cycle as an SVG document; `None` for an anomaly that is no cycle.
pub fn svg(a: &Anomaly) -> Option<String> {
    let e = evidence(a)?;
    // Transactions in the order the cycle visits them.
    let mut names: Vec<&str> = Vec::new();
    for s in &e.steps {
        for n in [s.from.as_str(), s.to.as_str()] {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let n = names.len();
    let radius = if n <= 1 { 0.0 } else { (40.0 * n as f64).clamp(70.0, 200.0) };
    let (cx, cy) = (radius + 150.0, radius + 60.0);
    let at = |i: usize| {
        let angle = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n.max(1) as f64;
        (cx + radius * angle.cos(), cy + radius * angle.sin())
    };
    let pos = |name: &str| at(names.iter().position(|x| *x == name).unwrap_or(0));
    let (width, height) = (2.0 * cx, 2.0 * cy);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cycle\" width=\"{width:.0}\" height=\"{height:.0}\" \
         font-family=\"monospace\" font-size=\"11\">\n<defs>"
    );
    for kind in ["ww", "wr", "rw", "process", "realtime"] {
        let _ = write!(
            s,
            "<marker id=\"cy-{kind}\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" \
             orient=\"auto\"><path d=\"M0,0L8,4L0,8z\" fill=\"{}\"/></marker>",
            style(kind).0
        );
    }
    let _ = writeln!(s, "</defs>\n<text x=\"4\" y=\"14\" font-size=\"12\">{}</text>", escape(a.kind.as_str()));
    for step in &e.steps {
        let (colour, dash) = style(step.kind);
        let marker = if matches!(step.kind, "ww" | "wr" | "rw" | "realtime") { step.kind } else { "process" };
        let ((x0, y0), (x1, y1)) = (pos(&step.from), pos(&step.to));
        let tip = escape(&step.sentence);
        let text = escape(&edge_label(step));
        let dash = if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") };
        if step.from == step.to {
            // A one-transaction cycle: a loop above the node.
            let _ = writeln!(
                s,
                "<path d=\"M{:.1},{:.1} c-30,-60 30,-60 0,0\" fill=\"none\" stroke=\"{colour}\"{dash} \
                 marker-end=\"url(#cy-{marker})\"><title>{tip}</title></path>\
                 <text x=\"{x0:.1}\" y=\"{:.1}\" fill=\"{colour}\" text-anchor=\"middle\">{text}</text>",
                x0 + 4.0,
                y0 - NODE_R + 2.0,
                y0 - NODE_R - 50.0
            );
            continue;
        }
        // From circle edge to circle edge, bent to the left of its direction.
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let (sx, sy) = (x0 + ux * NODE_R, y0 + uy * NODE_R);
        let (ex, ey) = (x1 - ux * NODE_R, y1 - uy * NODE_R);
        // Two transactions: their two edges bend well apart.
        let bend = if n == 2 { 0.35 } else { 0.18 } * len;
        let (qx, qy) = ((x0 + x1) / 2.0 + uy * bend, (y0 + y1) / 2.0 - ux * bend);
        // The label sits outside the curve's middle, on its convex side.
        let (mx, my) = ((sx + 2.0 * qx + ex) / 4.0, (sy + 2.0 * qy + ey) / 4.0);
        let (lx, ly) = (mx + uy * 6.0, my - ux * 6.0 + 4.0);
        let anchor = if uy > 0.3 {
            "start"
        } else if uy < -0.3 {
            "end"
        } else {
            "middle"
        };
        let _ = writeln!(
            s,
            "<path d=\"M{sx:.1},{sy:.1} Q{qx:.1},{qy:.1} {ex:.1},{ey:.1}\" fill=\"none\" stroke=\"{colour}\" \
             stroke-width=\"1.5\"{dash} marker-end=\"url(#cy-{marker})\"><title>{tip}</title></path>\
             <text x=\"{lx:.1}\" y=\"{ly:.1}\" fill=\"{colour}\" text-anchor=\"{anchor}\" \
             paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\">{text}</text>"
        );
    }
    for (i, name) in names.iter().enumerate() {
        let (x, y) = at(i);
        // The anomaly names its ops in the order of its transactions.
        let op = e.txns.iter().position(|t| t == name).and_then(|k| a.ops.get(k));
        let title = op.map_or(name.to_string(), |o| {
            format!("{name}: op {}, process {}, {} {}", o.id.0, o.process, o.f, o.output)
        });
        let _ = writeln!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{NODE_R}\" fill=\"#fff4f3\" stroke=\"#b3261e\">\
             <title>{}</title></circle><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>{}",
            escape(&title),
            y + 4.0,
            escape(name),
            op.map_or(String::new(), |o| format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#555\">op {}</text>",
                x + NODE_R + 4.0,
                y - NODE_R + 4.0,
                o.id.0
            ))
        );
    }
    s.push_str("</svg>\n");
    Some(s)
}

/// The HTML section of a report page: a heading and one graph per cycle
/// anomaly (the first [`MAX_CYCLES`]), or nothing when there are none.
pub fn section(report: &Report) -> String {
    let cycles: Vec<&Anomaly> = report
        .results
        .iter()
        .flat_map(|c| &c.keys)
        .flat_map(|k| &k.anomalies)
        .filter(|a| evidence(a).is_some())
        .collect();
    if cycles.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<h2>Transaction cycles</h2>\n<p>Each cycle of dependencies between transactions: ww (wrote the next \
         version), wr (read what the other wrote), rw (read a version the other overwrote, dashed), process \
         and realtime (began after the other ended, dotted). Hover an edge for why it holds.</p>\n",
    );
    for a in cycles.iter().take(MAX_CYCLES) {
        if let Some(svg) = svg(a) {
            let _ = writeln!(s, "<div class=\"cycle-graph\">{svg}</div>");
        }
    }
    if cycles.len() > MAX_CYCLES {
        let _ =
            writeln!(s, "<p>{} more cycles are not drawn (report.json lists them all).</p>", cycles.len() - MAX_CYCLES);
    }
    s
}
