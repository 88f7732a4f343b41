//! Self-contained HTML: a report page per history (one file, no network)
//! and the index pages of comparisons and the demo.
//!
//! The report page is `page.html` with the data of [`crate::timeline`]
//! embedded as JSON and `page.js` drawing it: a key selector (invalid keys
//! first), one panel per key with a lane per process and a labelled bar per
//! op on a real time axis (event order when the history has no times), zoom
//! and pan, a jump to each anomaly, and for a non-linearizable key the
//! longest linearizable prefix stepped op by op with the model's states.
//! Histories with times also get Jepsen's plots ([`crate::plot`]) inline.

use crate::escape::{escape, fill, script_json};
use crate::plot::{self, Timing};
use crate::table::{converge_cell, percent};
use checker::Report as FileReport;
use checker::{History, Verdict};
use runner::check::Checked;
use runner::compare::Row;
use workloads::flow::Flow;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const INDEX_CSS: &str = include_str!("index.css");

/// One history's report as a standalone page.
pub fn report_page(report: &FileReport, h: &History) -> String {
    report_page_with_flows(report, h, &[])
}

/// [`report_page`] with a Lamport diagram of each flow (the messages
/// around each anomaly of a run that recorded them), after the timeline.
pub fn report_page_with_flows(report: &FileReport, h: &History, flows: &[Flow]) -> String {
    let title = escape(&format!("conch: {} — {}", report.source(), report.verdict));
    let data = script_json(&crate::timeline::data(report, h));
    let plots = match Timing::of_history(report.source(), h) {
        Some(t) => {
            let svgs: Vec<String> = plot::all(&t).into_iter().map(|(_, svg)| svg).collect();
            format!("<h2>Latency and throughput</h2><div id=\"plots\">{}</div>", svgs.join("\n"))
        }
        None => String::new(),
    };
    let flows = crate::lamport::section(flows);
    let cycles = crate::cycle::section(report);
    fill(
        PAGE,
        &[
            ("TITLE", &title),
            ("DATA", &data),
            ("SCRIPT", SCRIPT),
            ("CYCLES", &cycles),
            ("FLOWS", &flows),
            ("PLOTS", &plots),
        ],
    )
}

/// The files of a simulated run's directory rendered from its history and,
/// when it was checked, its report: the plots and `report.html` (with a
/// Lamport diagram of each flow: the messages around each anomaly).
pub fn run_files(title: &str, h: &History, report: Option<&FileReport>, flows: &[Flow]) -> Vec<(&'static str, String)> {
    let mut files: Vec<(&'static str, String)> =
        Timing::of_history(title, h).map(|t| plot::all(&t).into()).unwrap_or_default();
    if let Some(r) = report {
        files.push(("report.html", report_page_with_flows(r, h, flows)));
    }
    files
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
        let mut checks = checks.join("<br>");
        if r.promises.is_some() && !r.anomalies.is_empty() {
            let found: Vec<String> = r.anomalies.iter().map(|(k, n)| format!("{} on {n}", escape(k))).collect();
            checks.push_str(&format!("<br>anomalies (seeds): {}", found.join(", ")));
        }
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
            checks,
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

impl<'a> RunLinks<'a> {
    /// A plan's runs, a run not checked counted valid (its page says so).
    pub fn of(plan: &'a runner::Plan, runs: &[runner::run::Finished]) -> RunLinks<'a> {
        let runs = runs.iter().map(|f| (f.seed, f.verdict().unwrap_or(Verdict::Valid))).collect();
        RunLinks { protocol: &plan.protocol, runs }
    }
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
    let mut plots = String::from("<h2>Plots</h2>\n");
    for l in links {
        let p = escape(l.protocol);
        plots.push_str(&format!(
            "<h3>{p} (every seed overlaid)</h3><p><img src=\"{p}/latency-raw.svg\"> <img src=\"{p}/latency-quantiles.svg\"> <img src=\"{p}/rate.svg\"></p>\n"
        ));
    }
    let body = format!(
        "{}<p><img src=\"latency.svg\"> <img src=\"availability.svg\"></p>{plots}{runs}\
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
