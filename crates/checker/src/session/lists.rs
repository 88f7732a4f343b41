//! Session guarantees for list-append and grow-only-set keys.
//!
//! A read reflects a write iff it contains the write's element. When every
//! read is a prefix of the longest one (sets: the reads form a chain under
//! inclusion), the reads reveal a single version order: each read has a level
//! (its length) and each write a position (where its element first appears),
//! and each guarantee is a comparison of the two with a running maximum per
//! session — linear time. Otherwise ("divergent" reads) each read is checked
//! element by element, bounded by [`WORK_LIMIT`].

use super::explain::{anomaly, edge, lines, op_name, short, write_name};
use super::{Found, Guarantee, KeyOps};
use crate::history::{Outcome, F};
use crate::read::NilRead;
use crate::report::AnomalyKind;
use crate::value::Value;
use crate::OpId;
use rustc_hash::FxHashMap;

/// Element comparisons allowed per key when the reads diverge (quadratic
/// worst case); beyond it the key's session checks are `Unknown`.
const WORK_LIMIT: u64 = 200_000_000;
/// Position of a write whose element no read contains.
const UNSEEN: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    List,
    Set,
}

impl Kind {
    fn verb(self) -> &'static str {
        match self {
            Kind::List => "appended",
            Kind::Set => "added",
        }
    }
    fn write_f(self) -> F {
        match self {
            Kind::List => F::Append,
            Kind::Set => F::Add,
        }
    }
}

pub(crate) struct Write<'a> {
    pub op: OpId,
    pub ok: bool,
    pub elem: &'a Value,
}

pub(crate) struct Read<'a> {
    pub op: OpId,
    pub items: &'a [Value],
}

#[derive(Clone, Copy)]
pub(crate) enum Ev {
    W(usize),
    R(usize),
}

/// A key's writes and reads, grouped by session.
pub(crate) struct Prep<'a> {
    pub writes: Vec<Write<'a>>,
    pub reads: Vec<Read<'a>>,
    pub sessions: Vec<Vec<Ev>>,
    /// Element -> the (non-failed) write that added it.
    pub writer_of: FxHashMap<&'a Value, usize>,
}

/// Collects a key's non-failed writes and ok reads. Errors are reasons for
/// `Unknown`: a value that does not fit the workload, a repeated element.
pub(crate) fn prepare<'a>(k: &KeyOps<'a>, kind: Kind) -> Result<Prep<'a>, String> {
    let h = k.h;
    let mut p = Prep { writes: Vec::new(), reads: Vec::new(), sessions: Vec::new(), writer_of: FxHashMap::default() };
    for (_, ops) in k.sessions() {
        let mut evs = Vec::with_capacity(ops.len());
        for id in ops {
            let op = h.op(id);
            if op.f == kind.write_f() {
                if op.outcome == Outcome::Fail {
                    continue;
                }
                let i = p.writes.len();
                if let Some(&j) = p.writer_of.get(&op.input) {
                    return Err(format!(
                        "element {} is {} twice (lines {} and {}); this workload needs unique elements",
                        short(&op.input),
                        kind.verb(),
                        h.op(p.writes[j].op).invoke_line,
                        op.invoke_line
                    ));
                }
                p.writer_of.insert(&op.input, i);
                p.writes.push(Write { op: id, ok: op.outcome == Outcome::Ok, elem: &op.input });
                evs.push(Ev::W(i));
            } else if op.f == F::Read {
                if op.outcome != Outcome::Ok {
                    continue;
                }
                let items: &[Value] = match &op.output {
                    // Under Knossos's rule a nil read reveals nothing.
                    Value::Nil if k.nil_read == NilRead::Unknown => continue,
                    Value::Nil => &[],
                    v @ (Value::List(_) | Value::SharedList(_) | Value::Set(_)) => v.as_seq().unwrap_or_default(),
                    other => {
                        return Err(format!(
                            "read at line {} returned {}, not a {}",
                            op.complete_line.unwrap_or(op.invoke_line),
                            short(other),
                            if kind == Kind::List { "list" } else { "set" }
                        ))
                    }
                };
                evs.push(Ev::R(p.reads.len()));
                p.reads.push(Read { op: id, items });
            } else {
                return Err(format!(
                    "operation `{}` at line {} is not part of the {} workload",
                    op.f,
                    op.invoke_line,
                    if kind == Kind::List { "list-append" } else { "set" }
                ));
            }
        }
        p.sessions.push(evs);
    }
    Ok(p)
}

/// One version order revealed by all reads.
pub(crate) struct Ordered<'a> {
    /// Per read: its version level (number of elements).
    pub level: Vec<u32>,
    /// Per write: 1-based position of its element in the version order
    /// (sets: the level of the first read containing it), or [`UNSEEN`].
    pub wpos: Vec<u32>,
    /// (level, read) sorted, to find the first read reflecting a position.
    by_level: Vec<(u32, usize)>,
    shape: Shape<'a>,
}

enum Shape<'a> {
    /// Every read is a prefix of this list.
    List(&'a [Value]),
    /// Interned elements; each read's element ids, sorted.
    Set { values: Vec<&'a Value>, ids: Vec<Vec<u32>> },
}

impl<'a> Ordered<'a> {
    /// The reads' version order, if they reveal one.
    pub fn build(p: &Prep<'a>, kind: Kind) -> Option<Ordered<'a>> {
        match kind {
            Kind::List => Ordered::build_list(p),
            Kind::Set => Ordered::build_set(p),
        }
    }

    fn build_list(p: &Prep<'a>) -> Option<Ordered<'a>> {
        let canon: &[Value] = p.reads.iter().map(|r| r.items).max_by_key(|i| i.len()).unwrap_or(&[]);
        let mut pos_of: FxHashMap<&Value, u32> = FxHashMap::with_capacity_and_hasher(canon.len(), Default::default());
        for (i, e) in canon.iter().enumerate() {
            if pos_of.insert(e, i as u32 + 1).is_some() {
                return None;
            }
        }
        // A read sharing the canonical read's buffer (see `Value::SharedList`)
        // is a prefix of it without comparing.
        let prefix = |r: &Read| std::ptr::eq(r.items.as_ptr(), canon.as_ptr()) || canon[..r.items.len()] == *r.items;
        if !p.reads.iter().all(prefix) {
            return None;
        }
        let level: Vec<u32> = p.reads.iter().map(|r| r.items.len() as u32).collect();
        let wpos = p.writes.iter().map(|w| pos_of.get(w.elem).copied().unwrap_or(UNSEEN)).collect();
        Some(Ordered::finish(level, wpos, Shape::List(canon)))
    }

    fn build_set(p: &Prep<'a>) -> Option<Ordered<'a>> {
        let (values, ids, id_of) = intern(&p.reads);
        let mut order: Vec<usize> = (0..p.reads.len()).collect();
        order.sort_by_key(|&r| (ids[r].len(), r));
        for w in order.windows(2) {
            if !is_subset(&ids[w[0]], &ids[w[1]]) {
                return None;
            }
        }
        let mut birth = vec![UNSEEN; values.len()];
        for &r in &order {
            for &e in &ids[r] {
                if birth[e as usize] == UNSEEN {
                    birth[e as usize] = ids[r].len() as u32;
                }
            }
        }
        let level = ids.iter().map(|s| s.len() as u32).collect();
        let wpos = p.writes.iter().map(|w| id_of.get(w.elem).map_or(UNSEEN, |&i| birth[i as usize])).collect();
        Some(Ordered::finish(level, wpos, Shape::Set { values, ids }))
    }

    fn finish(level: Vec<u32>, wpos: Vec<u32>, shape: Shape<'a>) -> Ordered<'a> {
        let mut by_level: Vec<(u32, usize)> = level.iter().enumerate().map(|(r, &l)| (l, r)).collect();
        by_level.sort_unstable();
        Ordered { level, wpos, by_level, shape }
    }

    /// The first read (lowest level, then earliest) that reflects position `pos`.
    pub fn first_reflecting(&self, pos: u32) -> Option<usize> {
        let i = self.by_level.partition_point(|&(l, _)| l < pos);
        self.by_level.get(i).map(|&(_, r)| r)
    }

    /// An element read `a` has and read `b` lacks (`a` above `b`).
    fn in_a_not_b(&self, a: usize, b: usize) -> Option<&'a Value> {
        match &self.shape {
            Shape::List(canon) => canon.get(self.level[b] as usize).filter(|_| self.level[a] > self.level[b]),
            Shape::Set { values, ids } => first_missing(&ids[a], &ids[b]).map(|e| values[e as usize]),
        }
    }
}

type Interned<'a> = (Vec<&'a Value>, Vec<Vec<u32>>, FxHashMap<&'a Value, u32>);

/// Interns the reads' elements; each read becomes its sorted, deduplicated ids.
fn intern<'a>(reads: &[Read<'a>]) -> Interned<'a> {
    let mut values: Vec<&Value> = Vec::new();
    let mut id_of: FxHashMap<&Value, u32> = FxHashMap::default();
    let ids = reads
        .iter()
        .map(|r| {
            let mut s: Vec<u32> = r
                .items
                .iter()
                .map(|e| {
                    *id_of.entry(e).or_insert_with(|| {
                        values.push(e);
                        values.len() as u32 - 1
                    })
                })
                .collect();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    (values, ids, id_of)
}

fn is_subset(a: &[u32], b: &[u32]) -> bool {
    first_missing(a, b).is_none()
}

/// The first element of sorted `a` not in sorted `b`.
fn first_missing(a: &[u32], b: &[u32]) -> Option<u32> {
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j == b.len() || b[j] != x {
            return Some(x);
        }
    }
    None
}

/// Runs the four guarantees on one key.
pub(crate) fn check(k: &KeyOps, kind: Kind) -> [Found; 4] {
    let p = match prepare(k, kind) {
        Ok(p) => p,
        Err(reason) => return std::array::from_fn(|_| Found::Unknown(reason.clone())),
    };
    let mut out: [Found; 4] = std::array::from_fn(|_| Found::empty());
    let x = Explainer { k, kind, p: &p };
    match Ordered::build(&p, kind) {
        Some(o) => check_ordered(&x, &o, &mut out),
        None => {
            if let Err(reason) = check_divergent(&x, &mut out) {
                return std::array::from_fn(|_| Found::Unknown(reason.clone()));
            }
        }
    }
    out
}

/// Keys with more ops than this check their sessions in parallel too.
const PARALLEL_SESSIONS_MIN_OPS: usize = 50_000;

fn check_ordered(x: &Explainer, o: &Ordered, out: &mut [Found; 4]) {
    let per_session = |evs: &Vec<Ev>| {
        let mut found: [Found; 4] = std::array::from_fn(|_| Found::empty());
        check_ordered_session(x, o, evs, &mut found);
        found
    };
    let results: Vec<[Found; 4]> = // Tests always take the parallel path, so that it is exercised.
    if x.k.ops.len() >= PARALLEL_SESSIONS_MIN_OPS || cfg!(test) {
        use rayon::prelude::*;
        x.p.sessions.par_iter().map(per_session).collect()
    } else {
        x.p.sessions.iter().map(per_session).collect()
    };
    for r in results {
        for (o, f) in out.iter_mut().zip(r) {
            o.merge(f);
        }
    }
}

fn check_ordered_session(x: &Explainer, o: &Ordered, evs: &[Ev], out: &mut [Found; 4]) {
    let p = x.p;
    // Highest position among the session's ok writes so far, and whose.
    let mut wmax: Option<(u32, usize)> = None;
    // Highest level among the session's reads so far, and whose.
    let mut rmax: Option<(u32, usize)> = None;
    for &ev in evs {
        match ev {
            Ev::R(r) => {
                let lv = o.level[r];
                if let Some((pos, w)) = wmax {
                    if pos > lv {
                        out[Guarantee::Ryw as usize].push(|| x.ryw(w, r));
                    }
                }
                if let Some((l1, r1)) = rmax {
                    if lv < l1 {
                        out[Guarantee::Mr as usize].push(|| x.mr(r1, r, o.in_a_not_b(r1, r)));
                    }
                }
                if rmax.is_none_or(|(l, _)| lv > l) {
                    rmax = Some((lv, r));
                }
            }
            Ev::W(w2) => {
                let pos = o.wpos[w2];
                if let Some((pmax, w1)) = wmax {
                    if pos != UNSEEN && pos < pmax {
                        out[Guarantee::Mw as usize].push(|| {
                            let r = o.first_reflecting(pos).expect("a seen write has a reflecting read");
                            x.mw(w1, w2, r, o.level[r] >= o.wpos[w1])
                        });
                    }
                }
                if let Some((l0, r0)) = rmax {
                    if x.kind == Kind::List && pos == l0 {
                        // The session read this very append before making it.
                        out[Guarantee::Wfr as usize].push(|| x.wfr_own(r0, w2));
                    } else if pos < l0 {
                        out[Guarantee::Wfr as usize].push(|| {
                            let r = o.first_reflecting(pos).expect("a seen write has a reflecting read");
                            match o.in_a_not_b(r0, r) {
                                Some(e0) => x.wfr(r0, e0, w2, r, false),
                                // Lists only: `r` has all of `r0`, with w2 before r0's last element.
                                None => x.wfr(r0, &x.read_items(r0)[l0 as usize - 1], w2, r, true),
                            }
                        });
                    }
                }
                if p.writes[w2].ok && wmax.is_none_or(|(pm, _)| pos > pm) {
                    wmax = Some((pos, w2));
                }
            }
        }
    }
}

/// Per-read membership for divergent reads.
struct Members<'a> {
    id_of: FxHashMap<&'a Value, u32>,
    values: Vec<&'a Value>,
    /// Per read: (element id, 0-based position of its first occurrence), sorted by id.
    per_read: Vec<Vec<(u32, u32)>>,
}

impl<'a> Members<'a> {
    /// Fails with the read that holds an element twice, in a list: the
    /// workload needs unique elements, and a duplicate is not a set's repeat
    /// but a second write nobody made (which a later read may have lost).
    fn build(p: &Prep<'a>, kind: Kind) -> Result<Members<'a>, OpId> {
        let mut id_of: FxHashMap<&Value, u32> = FxHashMap::default();
        let mut values: Vec<&Value> = Vec::new();
        let mut dup: Option<OpId> = None;
        let per_read = p
            .reads
            .iter()
            .map(|r| {
                let mut v: Vec<(u32, u32)> = r
                    .items
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let id = *id_of.entry(e).or_insert_with(|| {
                            values.push(e);
                            values.len() as u32 - 1
                        });
                        (id, i as u32)
                    })
                    .collect();
                v.sort_unstable();
                let n = v.len();
                v.dedup_by_key(|e| e.0);
                if kind == Kind::List && v.len() < n {
                    dup = dup.or(Some(r.op));
                }
                v
            })
            .collect();
        match dup {
            Some(id) => Err(id),
            None => Ok(Members { id_of, values, per_read }),
        }
    }

    fn pos(&self, r: usize, id: u32) -> Option<u32> {
        let v = &self.per_read[r];
        v.binary_search_by_key(&id, |e| e.0).ok().map(|i| v[i].1)
    }

    fn pos_of_elem(&self, r: usize, e: &Value) -> Option<u32> {
        self.id_of.get(e).and_then(|&id| self.pos(r, id))
    }
}

fn check_divergent(x: &Explainer, out: &mut [Found; 4]) -> Result<(), String> {
    let m = Members::build(x.p, x.kind).map_err(|id| {
        let op = x.k.h.op(id);
        format!(
            "the read at line {} holds an element twice; the list-append workload needs unique elements",
            op.complete_line.unwrap_or(op.invoke_line)
        )
    })?;
    let mut limit = Limit { x, work: 0, calls: 0 };
    let s = sessions_ryw_mr(x, &m, out, &mut limit)?;
    reads_mw_wfr(x, &m, &s, out, &mut limit)
}

/// The bound on the element-by-element comparisons, and the deadline.
struct Limit<'e, 'a, 'b> {
    x: &'e Explainer<'a, 'b>,
    /// Comparisons so far.
    work: u64,
    /// Calls to `check` (the deadline is read every 1024th).
    calls: u64,
}

impl Limit<'_, '_, '_> {
    fn check(&mut self) -> Result<(), String> {
        if self.work > WORK_LIMIT {
            return Err(format!(
                "reads disagree on the version order and checking them element by element needs more than \
                 {WORK_LIMIT} comparisons"
            ));
        }
        self.calls += 1;
        if self.calls.is_multiple_of(1024) && self.x.k.budget.expired() {
            return Err("deadline passed while checking this key".into());
        }
        Ok(())
    }
}

/// What the session pass learns about each write, for the read pass.
struct Sessions {
    /// Per write: its session, the number of elements its session had read
    /// before it (a prefix of that session's `union`), and the previous ok
    /// write.
    w_session: Vec<usize>,
    w_deps: Vec<usize>,
    w_prev_ok: Vec<Option<usize>>,
    /// Per session: the elements it read, first seen first, and the read
    /// that first saw each.
    unions: Vec<Vec<u32>>,
    first_seen: Vec<FxHashMap<u32, usize>>,
}

/// Read-your-writes and monotonic reads, session by session.
fn sessions_ryw_mr(x: &Explainer, m: &Members, out: &mut [Found; 4], limit: &mut Limit) -> Result<Sessions, String> {
    let p = x.p;
    let n = p.writes.len();
    let mut s = Sessions {
        w_session: vec![0; n],
        w_deps: vec![0; n],
        w_prev_ok: vec![None; n],
        unions: Vec::with_capacity(p.sessions.len()),
        first_seen: Vec::with_capacity(p.sessions.len()),
    };
    for (si, evs) in p.sessions.iter().enumerate() {
        let mut ok_writes: Vec<usize> = Vec::new();
        let mut union: Vec<u32> = Vec::new();
        let mut seen: FxHashMap<u32, usize> = FxHashMap::default();
        for &ev in evs {
            match ev {
                Ev::R(r) => {
                    for &w in &ok_writes {
                        limit.work += 1;
                        if m.pos_of_elem(r, p.writes[w].elem).is_none() {
                            out[Guarantee::Ryw as usize].push(|| x.ryw(w, r));
                            break;
                        }
                    }
                    for &e in &union {
                        limit.work += 1;
                        if m.pos(r, e).is_none() {
                            out[Guarantee::Mr as usize].push(|| x.mr(seen[&e], r, Some(m.values[e as usize])));
                            break;
                        }
                    }
                    limit.check()?;
                    for &(e, _) in &m.per_read[r] {
                        if let std::collections::hash_map::Entry::Vacant(v) = seen.entry(e) {
                            v.insert(r);
                            union.push(e);
                        }
                    }
                }
                Ev::W(w) => {
                    s.w_session[w] = si;
                    s.w_deps[w] = union.len();
                    s.w_prev_ok[w] = ok_writes.last().copied();
                    if p.writes[w].ok {
                        ok_writes.push(w);
                    }
                }
            }
        }
        s.unions.push(union);
        s.first_seen.push(seen);
    }
    Ok(s)
}

/// Monotonic writes and writes-follow-reads, read by read: for each element
/// a read shows, the writes its writer's session made or read before it.
fn reads_mw_wfr(
    x: &Explainer,
    m: &Members,
    s: &Sessions,
    out: &mut [Found; 4],
    limit: &mut Limit,
) -> Result<(), String> {
    let p = x.p;
    for (r, members) in m.per_read.iter().enumerate() {
        let (mut mw_done, mut wfr_done) = (false, false);
        for &(id, p2) in members {
            let Some(&w2) = p.writer_of.get(m.values[id as usize]) else { continue };
            if !mw_done {
                if let Some(w1) = s.w_prev_ok[w2] {
                    limit.work += 1;
                    match m.pos_of_elem(r, p.writes[w1].elem) {
                        None => {
                            out[Guarantee::Mw as usize].push(|| x.mw(w1, w2, r, false));
                            mw_done = true;
                        }
                        Some(p1) if x.kind == Kind::List && p1 > p2 => {
                            out[Guarantee::Mw as usize].push(|| x.mw(w1, w2, r, true));
                            mw_done = true;
                        }
                        Some(_) => {}
                    }
                }
            }
            if !wfr_done {
                let si = s.w_session[w2];
                for &e0 in &s.unions[si][..s.w_deps[w2]] {
                    limit.work += 1;
                    if e0 == id {
                        if x.kind == Kind::List {
                            // The session read this very append before making it.
                            let r0 = s.first_seen[si][&e0];
                            out[Guarantee::Wfr as usize].push(|| x.wfr_own(r0, w2));
                            wfr_done = true;
                            break;
                        }
                        continue;
                    }
                    let bad = match m.pos(r, e0) {
                        None => Some(false),
                        Some(p0) if x.kind == Kind::List && p0 > p2 => Some(true),
                        Some(_) => None,
                    };
                    if let Some(order) = bad {
                        let r0 = s.first_seen[si][&e0];
                        out[Guarantee::Wfr as usize].push(|| x.wfr(r0, m.values[e0 as usize], w2, r, order));
                        wfr_done = true;
                        break;
                    }
                }
            }
            limit.check()?;
        }
    }
    Ok(())
}

/// Writes the explanations; shared by both modes.
struct Explainer<'a, 'b> {
    k: &'b KeyOps<'a>,
    kind: Kind,
    p: &'b Prep<'a>,
}

impl Explainer<'_, '_> {
    fn read_items(&self, r: usize) -> &[Value] {
        self.p.reads[r].items
    }

    fn read_op(&self, r: usize) -> &crate::Op {
        self.k.h.op(self.p.reads[r].op)
    }

    fn write_op(&self, w: usize) -> &crate::Op {
        self.k.h.op(self.p.writes[w].op)
    }

    /// The writer of an element as a graph node name, and its op if known.
    fn elem_node(&self, e: &Value) -> (String, Option<OpId>) {
        match self.p.writer_of.get(e) {
            Some(&w) => (write_name(self.write_op(w)), Some(self.p.writes[w].op)),
            None => (format!("element {} (no op {} it)", short(e), self.kind.verb()), None),
        }
    }

    fn saw(&self, r: usize) -> String {
        let op = self.read_op(r);
        format!("{} saw {}", op_name(op), short(&op.output))
    }

    fn ryw(&self, w: usize, r: usize) -> crate::Anomaly {
        let (wo, ro) = (self.write_op(w), self.read_op(r));
        let e = short(&wo.input);
        let text = format!(
            "Process {p} did not read its own write: it {verb} {e} and later read a state without it. In detail: \
             {}, which does not include {e}, but process {p} had already {verb} {e} ({}, ok) before that read \
             began: read-your-writes violated",
            self.saw(r),
            lines(wo),
            p = ro.process_name(),
            verb = self.kind.verb(),
        );
        let cycle = vec![
            edge(write_name(wo), "session-order", op_name(ro)),
            edge(op_name(ro), "anti-dependency (does not reflect)", write_name(wo)),
        ];
        anomaly(self.k.h, AnomalyKind::ReadYourWrites, &[wo.id, ro.id], text, cycle)
    }

    fn mr(&self, r1: usize, r2: usize, missing: Option<&Value>) -> crate::Anomaly {
        let (o1, o2) = (self.read_op(r1), self.read_op(r2));
        let mut ops = vec![o2.id, o1.id];
        let (what, cycle) = match missing {
            Some(e) => {
                let (node, wop) = self.elem_node(e);
                ops.extend(wop);
                (
                    format!(", which includes {} (from {node})", short(e)),
                    vec![
                        edge(op_name(o1), "session-order", op_name(o2)),
                        edge(op_name(o2), "anti-dependency (does not reflect)", node.clone()),
                        edge(node, "reads-from", op_name(o1)),
                    ],
                )
            }
            None => (String::new(), Vec::new()),
        };
        let text = format!(
            "Process {p} went back in time: it read {} and later {}. In detail: {}, but process {p} had already \
             seen {} in its read at {}{what}: monotonic reads violated",
            short(&o1.output),
            short(&o2.output),
            self.saw(r2),
            short(&o1.output),
            lines(o1),
            p = o2.process_name(),
        );
        anomaly(self.k.h, AnomalyKind::MonotonicReads, &ops, text, cycle)
    }

    /// `order`: the read has both writes, w2 first; else it lacks w1.
    fn mw(&self, w1: usize, w2: usize, r: usize, order: bool) -> crate::Anomaly {
        let (a, b, ro) = (self.write_op(w1), self.write_op(w2), self.read_op(r));
        let (e1, e2) = (short(&a.input), short(&b.input));
        let how = if order { format!("has {e2} before {e1}") } else { format!("includes {e2} but not {e1}") };
        let text = format!(
            "Process {}'s writes {e1} and {e2} were not applied in the order it made them. In detail: process {} \
             {} {e1} ({}, ok) and then {} {e2} ({}); {}, which {how}: monotonic writes violated",
            a.process_name(),
            a.process_name(),
            self.kind.verb(),
            lines(a),
            self.kind.verb(),
            lines(b),
            self.saw(r)
        );
        let mut cycle = vec![edge(write_name(a), "session-order", write_name(b))];
        if order {
            cycle.push(edge(write_name(b), &format!("version-order (in {})", op_name(ro)), write_name(a)));
        } else {
            cycle.push(edge(write_name(b), "reads-from", op_name(ro)));
            cycle.push(edge(op_name(ro), "anti-dependency (does not reflect)", write_name(a)));
        }
        anomaly(self.k.h, AnomalyKind::MonotonicWrites, &[a.id, b.id, ro.id], text, cycle)
    }

    /// `r0` (in w1's session, before w1) already held w1's own element: a
    /// list append cannot follow a read that includes it.
    fn wfr_own(&self, r0: usize, w1: usize) -> crate::Anomaly {
        let (o0, wo) = (self.read_op(r0), self.write_op(w1));
        let e = short(&wo.input);
        let text = format!(
            "Process {} read its own write {e} before making it. In detail: {}, which includes {e}, and only then \
             process {} {} {e} ({}), so the write cannot follow the reads it depended on: writes-follow-reads \
             violated",
            wo.process_name(),
            self.saw(r0),
            wo.process_name(),
            self.kind.verb(),
            lines(wo)
        );
        let cycle =
            vec![edge(write_name(wo), "reads-from", op_name(o0)), edge(op_name(o0), "session-order", write_name(wo))];
        anomaly(self.k.h, AnomalyKind::WritesFollowReads, &[o0.id, wo.id], text, cycle)
    }

    /// `r0` (in w1's session, before w1) reflected `e0`; `r` reflects w1 but
    /// lacks `e0` (or, `order`, has w1 before it).
    fn wfr(&self, r0: usize, e0: &Value, w1: usize, r: usize, order: bool) -> crate::Anomaly {
        let (o0, wo, ro) = (self.read_op(r0), self.write_op(w1), self.read_op(r));
        let (s0, s1) = (short(e0), short(&wo.input));
        let (node0, wop0) = self.elem_node(e0);
        let how = if order { format!("has {s1} before {s0}") } else { format!("includes {s1} but not {s0}") };
        let text = format!(
            "Process {}'s write {s1} was applied without the {s0} it had read first. In detail: {}, which \
             includes {s0}, and then process {} {} {s1} ({}); {}, which {how}, so a write did not follow the reads \
             it depended on: writes-follow-reads violated",
            wo.process_name(),
            self.saw(r0),
            wo.process_name(),
            self.kind.verb(),
            lines(wo),
            self.saw(r)
        );
        let mut cycle =
            vec![edge(node0.clone(), "reads-from", op_name(o0)), edge(op_name(o0), "session-order", write_name(wo))];
        if order {
            cycle.push(edge(write_name(wo), &format!("version-order (in {})", op_name(ro)), node0));
        } else {
            cycle.push(edge(write_name(wo), "reads-from", op_name(ro)));
            cycle.push(edge(op_name(ro), "anti-dependency (does not reflect)", node0));
        }
        let mut ops = vec![o0.id, wo.id, ro.id];
        ops.extend(wop0);
        anomaly(self.k.h, AnomalyKind::WritesFollowReads, &ops, text, cycle)
    }
}
