//! Self-contained HTML: a report page per history (one file, no network)
//! and the index pages of comparisons and the demo.
//!
//! The report page is `page.html` with the report and the ops to draw
//! embedded as JSON, and `page.js` drawing it: each process is a lane over
//! time, ops are bars coloured by outcome, fault periods are shaded,
//! anomalies are highlighted with their explanation, and hovering an op
//! shows it (and its place in the linearization found, when there is one).

use crate::escape::{escape, fill, script_json};
use crate::table::{converge_cell, percent};
use checker::Report as FileReport;
use checker::{History, Op, Verdict};
use runner::check::Checked;
use runner::compare::Row;
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const INDEX_CSS: &str = include_str!("index.css");

/// Most ops drawn in one page; beyond it, the ops around anomalies are kept
/// (a browser handles a few tens of thousands of SVG bars comfortably).
pub const MAX_OPS_DRAWN: usize = 20_000;
/// Ops kept on either side (in invoke order) of each anomalous op when the
/// history is too large to draw whole.
const CONTEXT_OPS: usize = 200;

fn op_json(op: &Op, use_time: bool) -> Json {
    let (start, end) = if use_time {
        (op.invoke_time_ns.unwrap_or(0), op.complete_time_ns.map(|t| t as f64))
    } else {
        (op.call as i64, if op.ret == u64::MAX { None } else { Some(op.ret as f64) })
    };
    json!({
        "id": op.id.0, "p": op.process, "f": op.f.as_str(), "key": op.key.as_ref().map(|k| k.to_string()),
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
    for c in &report.results {
        for k in &c.keys {
            for a in &k.anomalies {
                for o in &a.ops {
                    let i = o.id.0 as usize;
                    keep.extend(i.saturating_sub(CONTEXT_OPS)..(i + CONTEXT_OPS).min(h.ops.len()));
                }
            }
        }
    }
    if keep.is_empty() {
        keep.extend(0..MAX_OPS_DRAWN);
    }
    keep.into_iter().take(MAX_OPS_DRAWN).collect()
}

/// What the report page's script draws: the report, the ops and the faults.
pub fn report_data(report: &FileReport, h: &History) -> Json {
    let use_time = !h.ops.is_empty() && h.ops.iter().all(|o| o.invoke_time_ns.is_some());
    let ops: Vec<Json> = selected(report, h).into_iter().map(|i| op_json(&h.ops[i], use_time)).collect();
    let faults: Vec<Json> = h
        .faults
        .iter()
        .map(|f| {
            json!({"f": f.f.as_str(), "kind": f.kind, "value": f.value.to_string(), "line": f.line,
                   "t": if use_time { f.time_ns.unwrap_or(0) } else { f.position as i64 }})
        })
        .collect();
    json!({
        "file": report.source(), "useTime": use_time, "truncated": ops.len() < h.ops.len(),
        "totalOps": h.ops.len(), "ops": ops, "faults": faults, "report": report,
    })
}

/// One history's report as a standalone page.
pub fn report_page(report: &FileReport, h: &History) -> String {
    let title = escape(&format!("conch: {} — {}", report.source(), report.verdict));
    let data = script_json(&report_data(report, h));
    fill(PAGE, &[("TITLE", &title), ("DATA", &data), ("SCRIPT", SCRIPT)])
}

fn index_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>{INDEX_CSS}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n"
    )
}

/// The example histories' index: a row per history, linking to its report
/// page (`href`), or saying why it has none.
pub fn examples_index(entries: &[(&Checked, String)]) -> String {
    let mut body = String::from("<table><tr><th>history</th><th>verdict</th><th>ops</th><th>checks</th></tr>\n");
    for (c, href) in entries {
        match &c.result {
            Ok((r, _)) => {
                let checks: Vec<String> = r
                    .results
                    .iter()
                    .map(|c| format!("<span class=\"v-{}\">{} {}</span>", c.verdict, c.check, c.verdict))
                    .collect();
                body.push_str(&format!(
                    "<tr><td><a href=\"{}\">{}</a></td><td class=\"v-{v}\">{v}</td><td>{}</td><td>{}</td></tr>\n",
                    escape(href),
                    escape(r.source()),
                    r.ops,
                    checks.join(" · "),
                    v = r.verdict,
                ));
            }
            Err(e) => body.push_str(&format!(
                "<tr><td>{}</td><td class=\"v-invalid\">bad input</td><td></td><td>{}</td></tr>\n",
                escape(&c.file),
                escape(&e.to_string())
            )),
        }
    }
    body.push_str("</table>");
    index_page("conch reports", &body)
}

/// The comparison as an HTML table.
fn compare_table(rows: &[Row]) -> String {
    let mut t = String::from(
        "<table><tr><th>protocol</th><th>workload</th><th>ops/s</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th>\
         <th>avail</th><th>avail during faults</th><th>msgs/op</th><th>converge ms</th><th>checks (seeds violating)</th><th>reproduce</th></tr>\n",
    );
    for r in rows {
        let checks: Vec<String> = r
            .checks
            .iter()
            .map(|c| {
                let cls = if c.seeds_invalid > 0 {
                    Verdict::Invalid
                } else if c.seeds_unknown > 0 {
                    Verdict::Unknown
                } else {
                    Verdict::Valid
                };
                let first = c.first_violating_seed.map_or(String::new(), |s| format!(", first seed {s}"));
                format!("<span class=\"v-{cls}\">{} {}/{}{first}</span>", c.check, c.seeds_invalid, r.seeds)
            })
            .collect();
        t.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td>\
             <td>{:.1}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
            escape(&r.protocol),
            escape(&r.workload),
            r.throughput_ops_per_s,
            r.latency_ms_p50,
            r.latency_ms_p99,
            r.latency_ms_max,
            percent(Some(r.availability)),
            percent(r.availability_during_faults),
            r.msgs_per_op,
            converge_cell(r.converge_ms_max),
            checks.join("<br>"),
            escape(&r.command)
        ));
    }
    t.push_str("</table>\n");
    t
}

/// A protocol's runs for the comparison's index: (seed, verdict) each.
pub struct RunLinks<'a> {
    pub protocol: &'a str,
    pub runs: Vec<(u64, Verdict)>,
}

/// `conch compare`'s index: the table, the plots, and a link to every run's report.
pub fn compare_index(rows: &[Row], links: &[RunLinks]) -> String {
    let mut runs = String::from("<h2>Runs</h2><ul>\n");
    for l in links {
        let p = escape(l.protocol);
        let items: Vec<String> = l
            .runs
            .iter()
            .map(|(s, v)| format!("<a class=\"v-{v}\" href=\"{p}/seed-{s}/report.html\">seed {s}: {v}</a>"))
            .collect();
        runs.push_str(&format!("<li><b>{p}</b>: {}</li>\n", items.join(" · ")));
    }
    runs.push_str("</ul>\n");
    let body = format!(
        "{}<h2>Plots</h2><p><img src=\"latency-over-time.svg\"></p>\
         <p><img src=\"latency.svg\"> <img src=\"availability.svg\"></p>{runs}\
         <p>Data: <a href=\"compare.csv\">compare.csv</a>, <a href=\"compare.json\">compare.json</a></p>",
        compare_table(rows)
    );
    index_page("conch compare", &body)
}

/// The demo's top page: the protocol comparison and the example histories.
pub fn demo_index(rows: &[Row]) -> String {
    let body = format!(
        "<p>Every bundled protocol under partitions, crashes, clock skew and message loss, \
         each run checked for every property its workload allows. Each failing cell names the first seed that \
         shows it; the command beside it reproduces the run.</p>{}\
         <p><a href=\"protocols/index.html\">Plots and every run's report</a> · \
         <a href=\"histories/index.html\">Bundled example histories</a></p>",
        compare_table(rows)
    );
    index_page("conch demo", &body)
}
