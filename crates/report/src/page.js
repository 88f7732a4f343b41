"use strict";
// conch's report page: the embedded report (D.report), the ops to draw
// (D.ops), the keys in the order to offer them (D.keys: invalid first) and
// the anomalies with their ops and witnesses (D.anomalies). One panel shows
// one key: a lane per process, a bar per op, labelled; zoom with the wheel
// or the buttons, pan by dragging; jump from anomaly to anomaly; step along
// the longest linearizable prefix of a non-linearizable key. A run's final
// reads, which come after the clients stop, the faults heal and the cluster
// recovers, sit past a break in the time axis (see `warpOf`).
//
// Any script error is recorded on <body> so that tests (and people) see it;
// the current key, view and step are mirrored on <body> for the same reason.
window.addEventListener('error', e => { document.body.dataset.jsError = String(e.message || e); });
const D = JSON.parse(document.getElementById('data').textContent);
const R = D.report;
const NS = 'http://www.w3.org/2000/svg';
const el = (t, a = {}, txt) => { const e = document.createElementNS(NS, t); for (const k in a) e.setAttribute(k, a[k]); if (txt !== undefined) e.textContent = txt; return e; };
const h = (t, txt, cls) => { const e = document.createElement(t); if (txt !== undefined) e.textContent = txt; if (cls) e.className = cls; return e; };
const $ = id => document.getElementById(id);
const keyName = k => k === null ? '(no key)' : 'key ' + k;
const opById = new Map(D.ops.map(o => [o.id, o]));
const opText = o => {
  const out = o.outcome === 'ok' && o.out !== o.in && o.out !== 'nil' ? ' → ' + o.out : (o.outcome === 'ok' && o.in === 'nil' ? ' → ' + o.out : '');
  return `${o.f}${o.in === 'nil' ? '' : ' ' + o.in}${out}${o.outcome === 'ok' ? '' : ' (' + o.outcome + ')'}`;
};
const lines = o => `lines ${o.line}${o.cline ? '–' + o.cline : ', never completed'}`;

// ---- header, summary, anomalies ------------------------------------------
$('title').append('conch report: ' + D.file + ' — ', Object.assign(h('span', R.verdict), {className: 'v-' + R.verdict}));
const sum = $('summary');
sum.append(h('p', `${R.format} format, ${R.events} events, ${R.ops} ops, ${R.faults} fault events, checked in ${R.elapsed_ms} ms`));
const ul = h('ul');
for (const c of R.results) {
  const li = h('li'); li.append(c.check + ' [' + c.model + ']: ', Object.assign(h('span', c.verdict), {className: 'v-' + c.verdict}));
  const n = v => c.keys.filter(k => k.verdict === v).length;
  li.append(` — ${c.keys.length === 1 ? '1 key' : c.keys.length + ' keys'}: ${n('valid')} valid, ${n('invalid')} invalid, ${n('unknown')} unknown`);
  if (c.skipped) li.append(' — skipped: ' + c.skipped);
  ul.append(li);
}
sum.append(ul);
for (const u of D.undecided) $('anomalies').append(h('p', `${u.check}, ${keyName(u.key)}: undecided — ${u.reason}`, 'v-unknown'));
D.anomalies.forEach((a, i) => {
  const box = h('div', undefined, 'anomaly'); box.id = 'anomaly-' + i;
  const head = h('b', `${a.kind} (${a.check}, ${keyName(a.key)}, decided by ${a.method})`);
  const go = h('button', 'show on timeline', 'jump'); go.dataset.anomaly = i; go.addEventListener('click', () => jump(i));
  box.append(head, ' ', go, h('pre', a.explanation));
  const ol = h('ul');
  for (const id of a.ops) { const o = opById.get(id); if (o) ol.append(h('li', `op ${o.id}: process ${o.pn} ${opText(o)} (${lines(o)})`)); }
  box.append(ol); $('anomalies').append(box);
});
if (!$('anomalies').children.length) $('anomalies').append(h('p', 'None found.'));
const legend = document.querySelector('.legend'), faultsByKind = new Map();
for (const w of D.faultWindows) {
  const seen = faultsByKind.get(w.kind);
  if (seen) seen.n++; else faultsByKind.set(w.kind, {n: 1, colour: w.colour});
}
for (const [kind, {n, colour}] of faultsByKind) {
  const sw = h('i', undefined, 'sw'); sw.style.background = colour; sw.style.opacity = 0.6;
  const s = h('span', undefined, 'fault-kind'); s.append(sw, `fault: ${kind} ×${n}`); legend.append(s);
}
if (D.truncated) $('note').textContent = `Showing ${D.ops.length} of ${D.totalOps} ops: those around the anomalies.`;

// ---- state: key, view, anomaly, step -------------------------------------
const S = {key: null, v0: 0, v1: 1, anomaly: -1, step: -1};
const opsOf = new Map();
for (const o of D.ops) { if (!opsOf.has(o.key)) opsOf.set(o.key, []); opsOf.get(o.key).push(o); }
const select = $('key');
for (const k of D.keys) {
  const opt = h('option', `${keyName(k.key)} — ${k.verdict}${k.anomalies ? ', ' + k.anomalies + (k.anomalies === 1 ? ' anomaly' : ' anomalies') : ''}`);
  opt.value = String(select.options.length); select.append(opt);
}
const keyIndex = k => String(D.keys.findIndex(x => x.key === k));
select.addEventListener('change', () => showKey(D.keys[+select.value].key, true));
// The break in the time axis: drawn to scale, the quiet stretch between a
// run's last client op and its first final read (recovery, convergence)
// squeezes the client ops into a sliver at the left. When that gap is longer
// than a quarter of the client ops' span it is drawn as a band BREAK times
// that span wide, labelled with its real length. The view (S.v0, S.v1) is
// on this axis: `u` maps a time onto it, `real` maps back.
const BREAK = 0.06;
let warp = null;
function warpOf(k) {
  let c0 = Infinity, a = -Infinity, b = Infinity;
  for (const o of opsOf.get(k) || []) {
    if (o.final) b = Math.min(b, o.s);
    else { c0 = Math.min(c0, o.s); a = Math.max(a, o.e === null ? o.s : o.e); }
  }
  if (!isFinite(c0) || !isFinite(b) || b - a <= Math.max(0, a - c0) * 0.25) return null;
  return {a, b, w: Math.max(a - c0, 1) * BREAK};
}
const u = t => !warp || t <= warp.a ? t : t >= warp.b ? t - (warp.b - warp.a) + warp.w : warp.a + (t - warp.a) / (warp.b - warp.a) * warp.w;
const real = v => !warp || v <= warp.a ? v : v >= warp.a + warp.w ? v + (warp.b - warp.a) - warp.w : warp.a + (v - warp.a) / warp.w * (warp.b - warp.a);
const setKey = k => { S.key = k; warp = warpOf(k); };
const extent = k => {
  let t0 = Infinity, t1 = -Infinity;
  for (const o of opsOf.get(k) || []) { t0 = Math.min(t0, u(o.s)); t1 = Math.max(t1, u(o.e === null ? o.s : o.e)); }
  for (const w of D.faultWindows) { t0 = Math.min(t0, u(w.start)); t1 = Math.max(t1, u(w.end)); }
  if (!isFinite(t0)) { t0 = 0; t1 = 1; }
  if (t1 <= t0) t1 = t0 + 1;
  const pad = (t1 - t0) * 0.02; return [t0 - pad, t1 + pad];
};
function showKey(k, fit) {
  setKey(k); select.value = keyIndex(k);
  if (S.anomaly >= 0 && D.anomalies[S.anomaly].key !== k) { S.anomaly = -1; S.step = -1; }
  if (fit) [S.v0, S.v1] = extent(k);
  draw();
}
function setView(v0, v1) {
  const [e0, e1] = extent(S.key), min = (e1 - e0) * 1e-6 + 1e-9;
  if (v1 - v0 < min) { const m = (v0 + v1) / 2; v0 = m - min / 2; v1 = m + min / 2; }
  S.v0 = v0; S.v1 = v1; draw();
}
function zoom(factor, at) { const m = at === undefined ? (S.v0 + S.v1) / 2 : at; setView(m - (m - S.v0) / factor, m + (S.v1 - m) / factor); }
// Shows anomaly `i` on the timeline; `scroll` (a person's jump, not the
// page opening on the first anomaly) also brings the timeline into view:
// scrolling the window on load would open the page part way down.
function jump(i, scroll = true) {
  const a = D.anomalies[i]; S.anomaly = i; S.step = a.prefix ? a.prefix.length : -1;
  setKey(a.key);
  // The anomaly's ops and the last few of the prefix before them, padded.
  const shown = a.ops.concat(a.prefix ? a.prefix.slice(-5).map(p => p.id) : []);
  let t0 = Infinity, t1 = -Infinity;
  for (const id of shown) { const o = opById.get(id); if (!o) continue; t0 = Math.min(t0, u(o.s)); t1 = Math.max(t1, u(o.e === null ? o.s : o.e)); }
  const [e0, e1] = extent(a.key);
  if (!isFinite(t0)) [t0, t1] = [e0, e1];
  const pad = Math.max((t1 - t0) * 0.15, (e1 - e0) * 0.02);
  select.value = keyIndex(a.key); S.v0 = t0 - pad; S.v1 = t1 + pad; draw();
  if (scroll) $('timeline').scrollIntoView({block: 'nearest'});
}
$('zoom-in').addEventListener('click', () => zoom(2));
$('zoom-out').addEventListener('click', () => zoom(0.5));
$('fit').addEventListener('click', () => showKey(S.key, true));
const stepBy = d => { const a = D.anomalies[S.anomaly]; if (!a || !a.prefix) return; S.step = Math.max(0, Math.min(a.prefix.length, S.step + d)); draw(); };
$('prev-anomaly').addEventListener('click', () => D.anomalies.length && jump((S.anomaly - 1 + D.anomalies.length) % D.anomalies.length));
$('next-anomaly').addEventListener('click', () => D.anomalies.length && jump((S.anomaly + 1) % D.anomalies.length));
$('step-back').addEventListener('click', () => stepBy(-1));
$('step-fwd').addEventListener('click', () => stepBy(1));
$('step-first').addEventListener('click', () => stepBy(-1e9));
$('step-last').addEventListener('click', () => stepBy(1e9));

// ---- the time axis ---------------------------------------------------------
// Ticks at 1, 2 or 5 times a power of ten, labelled in the largest unit that
// keeps them readable (ns, µs, ms, s), from the first event.
function tickStep(v0, v1, n) {
  const raw = (v1 - v0) / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map(m => m * p).find(s => s >= raw) || raw;
}
function ticksIn(t0, t1, step) { const out = []; for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t); return out; }
function tickLabel(t, step) {
  if (!D.useTime) return String(Math.round(t));
  const rel = t - D.t0;
  const units = [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs'], [1, 'ns']];
  const [div, u] = units.find(([d]) => step >= d) || units[3];
  const digits = Math.max(0, Math.ceil(-Math.log10(step / div) - 1e-9));
  return (rel / div).toFixed(Math.min(digits, 6)) + ' ' + u;
}

// A length of time in its largest unit, three digits: `1.25 s`, `40 ms`.
function duration(ns) {
  const [div, unit] = [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs']].find(([d]) => ns >= d) || [1, 'ns'];
  return (ns / div).toPrecision(3).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') + ' ' + unit;
}

// ---- drawing ---------------------------------------------------------------
const tip = $('tip');
const colour = {ok: '#4caf50', fail: '#9e9e9e', info: '#ff9800'};
const LH = 22, LEFT = 100, TOP = 26;
function draw() {
  const ops = opsOf.get(S.key) || [];
  const a = D.anomalies[S.anomaly];
  const inAnomaly = new Set(a ? a.ops : []);
  const badAll = new Set(D.anomalies.filter(x => x.key === S.key).flatMap(x => x.ops));
  // The prefix up to the current step: op id -> its place in the order.
  const order = new Map();
  if (a && a.prefix) a.prefix.slice(0, S.step).forEach((p, i) => order.set(p.id, i + 1));
  const lin = D.linearizations[JSON.stringify(S.key)] || [];
  const linOrder = new Map(lin.map((id, i) => [id, i + 1]));
  const procs = [...new Map(ops.map(o => [o.pn, o.p])).entries()].sort((x, y) => x[1] - y[1]).map(e => e[0]);
  const lane = new Map(procs.map((p, i) => [p, i]));
  const nodes = [...new Set(ops.filter(o => o.node).map(o => o.node))].sort();
  const nodeLane = new Map(nodes.map((n, i) => [n, procs.length + 1 + i]));
  const rows = Math.max(1, procs.length + (nodes.length ? nodes.length + 1 : 0));
  const W = Math.max(600, ($('timeline').clientWidth || 1200) - LEFT - 30);
  // `xv` places a point of the (warped) view, `x` a time.
  const span = S.v1 - S.v0, xv = v => LEFT + (v - S.v0) / span * W, x = t => xv(u(t));
  const H = TOP + rows * LH + 34;
  const svg = el('svg', {width: LEFT + W + 20, height: H, id: 'panel'});
  svg.append(el('clipPath', {id: 'clip'}, undefined)); svg.lastChild.append(el('rect', {x: LEFT, y: 0, width: W, height: H}));
  const g = el('g', {'clip-path': 'url(#clip)'});
  // Fault periods, from the spans the page was given (start to stop of a kind).
  for (const w of D.faultWindows) {
    if (u(w.end) < S.v0 || u(w.start) > S.v1) continue;
    const r = el('rect', {x: x(w.start), y: TOP, width: Math.max(2, x(w.end) - x(w.start)), height: rows * LH, fill: w.colour, 'fill-opacity': 0.35, class: 'fault'});
    r.append(el('title', {}, `${w.kind}: ${w.what}`)); g.append(r);
  }
  // The axis: ticks of one step on either side of the break.
  const step = tickStep(S.v0, S.v1, Math.max(2, Math.floor(W / 110)));
  const ts = !warp ? ticksIn(S.v0, S.v1, step)
    : ticksIn(S.v0, Math.min(S.v1, warp.a), step).concat(ticksIn(real(Math.max(S.v0, warp.a + warp.w)), real(S.v1), step).filter(t => t >= warp.b));
  if (warp && warp.a + warp.w >= S.v0 && warp.a <= S.v1) {
    const bx = xv(warp.a), bw = Math.max(4, xv(warp.a + warp.w) - bx), gap = duration(warp.b - warp.a);
    const r = el('rect', {x: bx, y: TOP - 4, width: bw, height: rows * LH + 4, fill: '#fff', stroke: '#888', 'stroke-dasharray': '4 3', class: 'break'});
    r.append(el('title', {}, `no client op for ${gap}: recovery before the final reads (drawn shortened)`));
    g.append(r);
    g.append(el('text', {x: bx + bw / 2, y: TOP + rows * LH / 2, 'text-anchor': 'middle', class: 'tick'}, '≈'));
    svg.append(el('text', {x: bx + bw / 2, y: TOP + rows * LH + 14, 'text-anchor': 'middle', class: 'tick break-label'}, '+' + gap));
  }
  for (const t of ts) {
    g.append(el('line', {x1: x(t), x2: x(t), y1: TOP - 4, y2: TOP + rows * LH, stroke: '#000', 'stroke-opacity': 0.08}));
    svg.append(el('text', {x: x(t), y: TOP - 8, 'text-anchor': 'middle', class: 'tick'}, tickLabel(t, step)));
  }
  procs.forEach((p, i) => svg.append(el('text', {x: 4, y: TOP + i * LH + 15}, 'process ' + p)));
  if (nodes.length) { svg.append(el('text', {x: 4, y: TOP + procs.length * LH + 15, 'font-weight': 'bold'}, 'by node:')); nodes.forEach(n => svg.append(el('text', {x: 4, y: TOP + nodeLane.get(n) * LH + 15}, 'node ' + n))); }
  const bar = (o, row) => {
    const end = o.e === null ? S.v1 + span : u(o.e);
    if (end < S.v0 || u(o.s) > S.v1) return;
    const x0 = Math.max(LEFT - 5, x(o.s)), x1 = Math.min(LEFT + W + 5, xv(end)), w = Math.max(3, x1 - x0), y = TOP + row * LH + 3;
    const r = el('rect', {x: x0, y, width: w, height: LH - 6, rx: 2, fill: colour[o.outcome] || '#999', 'fill-opacity': o.e === null ? 0.45 : 0.85, 'data-op': o.id});
    if (o.final) r.dataset.final = 'yes';
    if (badAll.has(o.id)) { r.setAttribute('stroke', '#b3261e'); r.setAttribute('stroke-width', inAnomaly.has(o.id) ? 4 : 2); r.classList.add('anomalous'); }
    if (order.has(o.id)) { r.setAttribute('stroke', '#1a237e'); r.setAttribute('stroke-width', 3); r.classList.add('linearized'); }
    r.addEventListener('mousemove', ev => {
      const more = [linOrder.has(o.id) ? `linearized #${linOrder.get(o.id)} of ${linOrder.size}` : '', order.has(o.id) ? `prefix step ${order.get(o.id)}` : '', badAll.has(o.id) ? 'in an anomaly' : ''].filter(Boolean).join('\n');
      tip.textContent = `op ${o.id}: process ${o.pn} ${opText(o)}\n${lines(o)}${o.node ? '\nnode ' + o.node : ''}${o.final ? ' (final read)' : ''}${more ? '\n' + more : ''}`;
      tip.style.display = 'block'; tip.style.left = (ev.clientX + 12) + 'px'; tip.style.top = (ev.clientY + 12) + 'px';
    });
    r.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
    g.append(r);
    // The label, cut to the bar's width (about 6.6 px per character).
    const text = (order.has(o.id) ? '#' + order.get(o.id) + ' ' : '') + opText(o);
    const fit = Math.floor((Math.min(x1, LEFT + W) - Math.max(x0, LEFT) - 6) / 6.6);
    if (fit >= 2) g.append(el('text', {x: Math.max(x0, LEFT) + 3, y: y + LH - 10, class: 'label'}, text.length <= fit ? text : text.slice(0, fit - 1) + '…'));
  };
  for (const o of ops) { bar(o, lane.get(o.pn)); if (o.node) bar(o, nodeLane.get(o.node)); }
  svg.append(g);
  svg.append(el('text', {x: LEFT, y: H - 6}, D.useTime ? 'time since the first event →' : 'event order (no times in the history) →'));
  // Wheel zooms around the pointer; dragging pans.
  svg.addEventListener('wheel', ev => { ev.preventDefault(); zoom(ev.deltaY < 0 ? 1.25 : 0.8, S.v0 + (ev.offsetX - LEFT) / W * span); }, {passive: false});
  svg.addEventListener('mousedown', ev => {
    const sx = ev.clientX, a0 = S.v0, a1 = S.v1;
    const move = e => { const d = (e.clientX - sx) / W * (a1 - a0); S.v0 = a0 - d; S.v1 = a1 - d; draw(); };
    const up = () => { window.removeEventListener('mousemove', move); window.removeEventListener('mouseup', up); };
    window.addEventListener('mousemove', move); window.addEventListener('mouseup', up);
  });
  $('timeline').replaceChildren(svg);
  drawStep(a);
  Object.assign(document.body.dataset, {key: keyName(S.key), view: `${S.v0},${S.v1}`, anomaly: String(S.anomaly), step: String(S.step), ready: 'yes'});
}
// The longest linearizable prefix found, one op at a time with the state
// the model is in after it; at the end, the op no state allows.
function drawStep(a) {
  const box = $('steps');
  if (!a || !a.prefix) { box.hidden = true; return; }
  box.hidden = false;
  const n = a.prefix.length, i = S.step;
  const state = i === 0 ? a.initial : a.prefix[i - 1].state;
  let what;
  if (i === 0) what = 'before any op: the model starts';
  else { const o = opById.get(a.prefix[i - 1].id); what = `step ${i} of ${n}: ${o ? `op ${o.id}, process ${o.pn} ${opText(o)}` : 'op ' + a.prefix[i - 1].id} takes effect`; }
  const st = state === undefined || state === null ? '' : ` — state ${state}`;
  $('step-text').textContent = what + st;
  const f = opById.get(a.failed);
  $('step-end').textContent = i === n ? `Then ${f ? `op ${f.id}, process ${f.pn} ${opText(f)},` : 'the failing op'} cannot take effect in any reachable state {${a.states.join(', ')}}.` : '';
}

if (D.keys.length) { if (D.anomalies.length) jump(0, false); else showKey(D.keys[0].key, true); }
else { $('timeline').append(h('p', 'No ops to draw.')); document.body.dataset.ready = 'yes'; }
