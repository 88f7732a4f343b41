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
  li.append(` — ${c.keys.length === 1 ? "1 key" : c.keys.length + " keys"}: ${n('valid')} valid, ${n('invalid')} invalid, ${n('unknown')} unknown`);
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
