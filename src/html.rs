//! The self-contained HTML report: one file, no network. Each process is a
//! lane over time, ops are bars coloured by outcome, fault periods are
//! shaded, anomalies are highlighted with their explanation, and hovering an
//! op shows it (and its place in the linearization found, when there is one).

use checker::suite::FileReport;
use checker::{History, Op, Verdict};
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;

/// Most ops drawn in one page; beyond it, the ops around anomalies are kept
/// (a browser handles a few tens of thousands of SVG bars comfortably).
const MAX_OPS_DRAWN: usize = 20_000;
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

/// Picks the ops to draw: all of them, or a window around each anomaly.
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

/// Makes JSON safe to embed inside a `<script>` element.
fn script_safe(j: &Json) -> String {
    j.to_string().replace("</", "<\\/").replace("<!--", "<\\!--")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Renders one file's report as a standalone HTML page.
pub fn render(report: &FileReport, h: &History) -> String {
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
    let data = json!({
        "file": report.file, "useTime": use_time, "truncated": ops.len() < h.ops.len(),
        "totalOps": h.ops.len(), "ops": ops, "faults": faults, "report": report,
    });
    let title = format!("conch: {} — {}", report.file, report.verdict);
    TEMPLATE.replace("{{TITLE}}", &escape(&title)).replace("{{DATA}}", &script_safe(&data))
}

/// The demo's index page: one row per report, linking to it.
pub fn index(rows: &[(FileReport, String)]) -> String {
    let mut body = String::new();
    for (r, href) in rows {
        let checks: Vec<String> = r
            .results
            .iter()
            .map(|c| format!("<span class=\"v-{}\">{} {}</span>", c.verdict, c.check, c.verdict))
            .collect();
        body.push_str(&format!(
            "<tr><td><a href=\"{}\">{}</a></td><td class=\"v-{}\">{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(href),
            escape(&r.file),
            r.verdict,
            r.verdict,
            r.ops,
            checks.join(" · ")
        ));
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>conch reports</title><style>{CSS}</style></head>\
         <body><h1>conch reports</h1><table><tr><th>history</th><th>verdict</th><th>ops</th><th>checks</th></tr>\n\
         {body}</table></body></html>\n"
    )
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}\
.v-valid{color:#16794a}.v-invalid{color:#b3261e;font-weight:600}.v-unknown{color:#a15c00}\
pre{white-space:pre-wrap}.anomaly{border-left:4px solid #b3261e;padding:4px 10px;margin:8px 0;background:#fff4f3}\
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:6px 8px;border-radius:4px;\
font:12px monospace;display:none;max-width:480px;white-space:pre-wrap}\
svg text{font:11px monospace}";

const TEMPLATE: &str = r##"<!doctype html>
<html><head><meta charset="utf-8"><title>{{TITLE}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
.v-valid{color:#16794a}.v-invalid{color:#b3261e;font-weight:600}.v-unknown{color:#a15c00}
.anomaly{border-left:4px solid #b3261e;padding:4px 10px;margin:8px 0;background:#fff4f3}
.anomaly pre{white-space:pre-wrap;margin:4px 0}
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:6px 8px;border-radius:4px;font:12px monospace;display:none;max-width:520px;white-space:pre-wrap;z-index:2}
#timeline{overflow-x:auto;border:1px solid #ddd}
svg text{font:11px monospace}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}
</style></head>
<body>
<h1 id="title"></h1>
<div id="summary"></div>
<h2>Anomalies</h2><div id="anomalies"></div>
<h2>Timeline</h2>
<div class="legend"><span><i class="sw" style="background:#4caf50"></i>ok</span><span><i class="sw" style="background:#9e9e9e"></i>fail</span><span><i class="sw" style="background:#ff9800"></i>info (may take effect any time after invoke)</span><span><i class="sw" style="background:#fff;border:2px solid #b3261e"></i>in an anomaly</span><span><i class="sw" style="background:#e3f2fd"></i>fault period</span></div>
<p id="note"></p>
<div id="timeline"></div>
<div id="tip"></div>
<script id="data" type="application/json">{{DATA}}</script>
<script>
"use strict";
// Any script error is recorded on <body> so that tests (and people) see it.
window.addEventListener('error', e => { document.body.dataset.jsError = String(e.message || e); });
const D = JSON.parse(document.getElementById('data').textContent);
const R = D.report;
const el = (t, a = {}, txt) => { const e = document.createElementNS('http://www.w3.org/2000/svg', t); for (const k in a) e.setAttribute(k, a[k]); if (txt !== undefined) e.textContent = txt; return e; };
const show = v => v === null ? 'nil' : JSON.stringify(v);
const h = (t, txt, cls) => { const e = document.createElement(t); if (txt !== undefined) e.textContent = txt; if (cls) e.className = cls; return e; };
document.getElementById('title').append('conch report: ' + D.file + ' — ', Object.assign(h('span', R.verdict), {className: 'v-' + R.verdict}));
const sum = document.getElementById('summary');
sum.append(h('p', `${R.format} format, ${R.events} events, ${R.ops} ops, ${R.faults} fault events, checked in ${R.elapsed_ms} ms`));
const ul = h('ul');
const bad = new Set(); const linOrder = new Map(); const anomalyOf = new Map();
for (const c of R.results) {
  const li = h('li'); li.append(c.check + ' [' + c.model + ']: ', Object.assign(h('span', c.verdict), {className: 'v-' + c.verdict}));
  const n = v => c.keys.filter(k => k.verdict === v).length;
  li.append(` — ${c.keys.length} keys: ${n('valid')} valid, ${n('invalid')} invalid, ${n('unknown')} unknown`);
  ul.append(li);
  for (const k of c.keys) {
    const lin = k.detail && k.detail.linearization || (k.stats && k.stats.linearization);
    if (Array.isArray(lin)) lin.forEach((id, i) => linOrder.set(id, i + 1));
    if (k.unknown_reason) { const p = h('p', `${c.check}, key ${k.key === null ? '(none)' : JSON.stringify(k.key)}: undecided — ${k.unknown_reason}`); p.className = 'v-unknown'; document.getElementById('anomalies').append(p); }
    for (const a of k.anomalies) {
      const box = h('div', undefined, 'anomaly');
      box.append(h('b', `${a.kind} (${c.check}${k.key === null ? '' : ', key ' + JSON.stringify(k.key)}, decided by ${k.method})`), h('pre', a.explanation));
      const ol = h('ul');
      for (const o of a.ops) { bad.add(o.id); anomalyOf.set(o.id, a.kind); ol.append(h('li', `process ${o.process} ${o.f}${o.input === null ? '' : ' ' + show(o.input)} → ${o.outcome}${o.outcome === 'ok' ? ' ' + show(o.output) : ''} (lines ${o.invoke_line}${o.complete_line ? '–' + o.complete_line : ', never completed'})`)); }
      box.append(ol); document.getElementById('anomalies').append(box);
    }
  }
}
sum.append(ul);
if (!document.getElementById('anomalies').children.length) document.getElementById('anomalies').append(h('p', 'None found.'));
if (D.truncated) document.getElementById('note').textContent = `Showing ${D.ops.length} of ${D.totalOps} ops: those around the anomalies.`;
// Lanes: one per process; a second group of lanes per node when ops name nodes.
const procs = [...new Set(D.ops.map(o => o.p))].sort((a, b) => a - b);
const lane = new Map(procs.map((p, i) => [p, i]));
const nodes = [...new Set(D.ops.filter(o => o.node).map(o => o.node))].sort();
const nodeLane = new Map(nodes.map((n, i) => [n, procs.length + 1 + i]));
let t0 = Infinity, t1 = -Infinity;
for (const o of D.ops) { t0 = Math.min(t0, o.s); t1 = Math.max(t1, o.e === null ? o.s : o.e); }
for (const f of D.faults) { t0 = Math.min(t0, f.t); t1 = Math.max(t1, f.t); }
if (!isFinite(t0)) { t0 = 0; t1 = 1; }
const span = Math.max(1, t1 - t0), W = Math.min(12000, Math.max(900, D.ops.length * 6)), LH = 18, LEFT = 90;
const rows = procs.length + (nodes.length ? nodes.length + 1 : 0);
const svg = el('svg', {width: LEFT + W + 20, height: rows * LH + 30});
const x = t => LEFT + (t - t0) / span * W;
// Fault periods: from a start-* event to the next event of the same fault family.
const open = new Map();
for (const f of D.faults) {
  const fam = f.f.replace(/^(start|stop)-?/, '');
  if (/^start/.test(f.f) || (!/^stop/.test(f.f) && !open.has(fam))) { if (!open.has(fam)) open.set(fam, f); }
  else if (open.has(fam)) { const s = open.get(fam); open.delete(fam); const r = el('rect', {x: x(s.t), y: 0, width: Math.max(2, x(f.t) - x(s.t)), height: rows * LH, fill: '#e3f2fd'}); r.append(el('title', {}, `${s.f} ${s.value} (line ${s.line}) … ${f.f} (line ${f.line})`)); svg.append(r); }
}
for (const [fam, s] of open) { const r = el('rect', {x: x(s.t), y: 0, width: Math.max(2, x(t1) - x(s.t)), height: rows * LH, fill: '#e3f2fd'}); r.append(el('title', {}, `${s.f} ${s.value} (line ${s.line}), never healed`)); svg.append(r); }
procs.forEach((p, i) => svg.append(el('text', {x: 4, y: i * LH + 13}, 'process ' + p)));
if (nodes.length) { svg.append(el('text', {x: 4, y: procs.length * LH + 13, 'font-weight': 'bold'}, 'by node:')); nodes.forEach(n => svg.append(el('text', {x: 4, y: nodeLane.get(n) * LH + 13}, 'node ' + n))); }
const tip = document.getElementById('tip');
const colour = {ok: '#4caf50', fail: '#9e9e9e', info: '#ff9800'};
function bar(o, row) {
  const x0 = x(o.s), x1 = o.e === null ? x(t1) + 10 : x(o.e);
  const r = el('rect', {x: x0, y: row * LH + 3, width: Math.max(3, x1 - x0), height: LH - 6, rx: 2, fill: colour[o.outcome] || '#999', 'fill-opacity': o.e === null ? 0.45 : 0.85});
  if (bad.has(o.id)) { r.setAttribute('stroke', '#b3261e'); r.setAttribute('stroke-width', 3); r.classList.add('anomalous'); }
  r.addEventListener('mousemove', ev => {
    const lin = linOrder.has(o.id) ? `\nlinearized #${linOrder.get(o.id)} of ${linOrder.size}` : '';
    const an = anomalyOf.has(o.id) ? `\nin anomaly: ${anomalyOf.get(o.id)}` : '';
    tip.textContent = `op ${o.id}: process ${o.p} ${o.f}${o.key ? ' key ' + o.key : ''} ${o.in} → ${o.outcome} ${o.out}\nlines ${o.line}${o.cline ? '–' + o.cline : ' (never completed)'}${o.node ? '\nnode ' + o.node : ''}${o.final ? ' (final read)' : ''}${lin}${an}`;
    tip.style.display = 'block'; tip.style.left = (ev.clientX + 12) + 'px'; tip.style.top = (ev.clientY + 12) + 'px';
  });
  r.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  svg.append(r);
}
for (const o of D.ops) { bar(o, lane.get(o.p)); if (o.node) bar(o, nodeLane.get(o.node)); }
svg.append(el('text', {x: LEFT, y: rows * LH + 22}, D.useTime ? 'time →' : 'event order →'));
document.getElementById('timeline').append(svg);
document.body.dataset.ready = 'yes';
</script>
</body></html>
"##;

fn compare_table(rows: &[crate::compare::Row]) -> String {
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
                    "invalid"
                } else if c.seeds_unknown > 0 {
                    "unknown"
                } else {
                    "valid"
                };
                let first = c.first_violating_seed.map_or(String::new(), |s| format!(", first seed {s}"));
                format!("<span class=\"v-{cls}\">{} {}/{}{first}</span>", c.check, c.seeds_invalid, r.seeds)
            })
            .collect();
        t.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.0}%</td><td>{}</td>\
             <td>{:.1}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
            escape(&r.protocol),
            escape(&r.workload),
            r.throughput_ops_per_s,
            r.latency_ms_p50,
            r.latency_ms_p99,
            r.latency_ms_max,
            r.availability * 100.0,
            r.availability_during_faults.map_or("-".into(), |a| format!("{:.0}%", a * 100.0)),
            r.msgs_per_op,
            r.converge_ms_max.map_or("-".into(), |c| format!("{c:.0}")),
            checks.join("<br>"),
            escape(&r.command)
        ));
    }
    t.push_str("</table>\n");
    t
}

/// `conch compare`'s index: the table, the plots, and a link to every run's report.
pub fn compare_index(
    rows: &[crate::compare::Row],
    results: &[(crate::run::Plan, Vec<crate::run::Finished>)],
) -> String {
    let mut runs = String::from("<h2>Runs</h2><ul>\n");
    for (plan, finished) in results {
        let links: Vec<String> = finished
            .iter()
            .map(|f| {
                let v = f.report.as_ref().map_or(Verdict::Valid, |r| r.verdict);
                format!(
                    "<a class=\"v-{v}\" href=\"{p}/seed-{s}/report.html\">seed {s}: {v}</a>",
                    p = escape(&plan.protocol),
                    s = f.seed
                )
            })
            .collect();
        runs.push_str(&format!("<li><b>{}</b>: {}</li>\n", escape(&plan.protocol), links.join(" · ")));
    }
    runs.push_str("</ul>\n");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>conch compare</title><style>{CSS}</style></head>\
         <body><h1>conch compare</h1>{}<h2>Plots</h2><p><img src=\"latency-over-time.svg\"></p>\
         <p><img src=\"latency.svg\"> <img src=\"availability.svg\"></p>{runs}\
         <p>Data: <a href=\"compare.csv\">compare.csv</a>, <a href=\"compare.json\">compare.json</a></p></body></html>\n",
        compare_table(rows)
    )
}

/// The demo's top page: the protocol comparison and the example histories.
pub fn demo_index(rows: &[crate::compare::Row]) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>conch demo</title><style>{CSS}</style></head>\
         <body><h1>conch demo</h1><p>Every bundled protocol under partitions, crashes, clock skew and message loss, \
         each run checked for every property its workload allows. Each failing cell names the first seed that \
         shows it; the command beside it reproduces the run.</p>{}\
         <p><a href=\"protocols/index.html\">Plots and every run's report</a> · \
         <a href=\"histories/index.html\">Bundled example histories</a></p></body></html>\n",
        compare_table(rows)
    )
}
