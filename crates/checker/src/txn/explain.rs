//! Turns findings and cycles into [`TxnAnomaly`]s: the transactions named
//! `T1`, `T2`, ... and a sentence per step a person can follow.

use super::graph::{kind_name, PROCESS, REALTIME, RW, WR, WW};
use super::history::{ElemId, KeyId, MopF, MopValue, TxnHistory, Workload, NIL, NONE, UNKNOWN};
use super::infer::{At, Finding, Inferred, SRC_INITIAL, SRC_PROCESS, SRC_REALTIME, SRC_WFR};
use super::model::{AnomalyKind, Model};
use super::report::{Step, TxnAnomaly, TxnRef};
use super::search::{Cut, Cycle, RawStep};
use crate::value::Value;

/// Lists longer than this are shown with the middle cut out.
const LIST_SHOWN_MAX: usize = 8;

pub(crate) struct Explainer<'a> {
    pub h: &'a TxnHistory,
    pub inf: &'a Inferred,
}

/// Names transactions `T1`, `T2`, ... in order of first mention.
#[derive(Default)]
struct Names {
    slots: Vec<u32>,
}

impl Names {
    fn name(&mut self, slot: u32) -> String {
        let i = match self.slots.iter().position(|&s| s == slot) {
            Some(i) => i,
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        format!("T{}", i + 1)
    }
}

impl Explainer<'_> {
    fn value(&self, e: ElemId) -> &Value {
        &self.h.elems[e as usize].value
    }

    fn key(&self, k: KeyId) -> &Value {
        &self.h.keys[k as usize]
    }

    fn writer(&self, e: ElemId) -> u32 {
        self.h.elems[e as usize].writer
    }

    /// `[1 2 3]`, or `[1 2 3 ... 30 31 32]` (32 elements) for a long one.
    fn list(&self, elems: &[ElemId]) -> String {
        let show = |xs: &[ElemId]| xs.iter().map(|&e| self.value(e).to_string()).collect::<Vec<_>>().join(" ");
        if elems.len() <= LIST_SHOWN_MAX {
            format!("[{}]", show(elems))
        } else {
            let n = elems.len();
            format!("[{} ... {}] ({n} elements)", show(&elems[..3]), show(&elems[n - 3..]))
        }
    }

    fn list_value(&self, elems: &[ElemId]) -> Value {
        Value::List(elems.iter().map(|&e| self.value(e).clone()).collect())
    }

    /// What a read micro-op returned, as text and as a value.
    fn read_shown(&self, mop: u32) -> (String, Value) {
        let m = &self.h.mops[mop as usize];
        match self.h.workload {
            Workload::ListAppend => {
                let els = self.h.read_elems(m).unwrap_or(&[]);
                (self.list(els), self.list_value(els))
            }
            Workload::RwRegister if m.v == NIL || m.v == UNKNOWN => ("nil".into(), Value::Nil),
            Workload::RwRegister => (self.value(m.v).to_string(), self.value(m.v).clone()),
        }
    }

    /// Index of a global micro-op within its transaction.
    fn mop_index(&self, slot: u32, mop: u32) -> u32 {
        mop - self.h.txns[slot as usize].mops_start
    }

    fn txn_ref(&self, names: &Names) -> Vec<TxnRef> {
        names
            .slots
            .iter()
            .enumerate()
            .map(|(i, &slot)| {
                let t = &self.h.txns[slot as usize];
                TxnRef {
                    name: format!("T{}", i + 1),
                    op: t.id,
                    process: t.process,
                    outcome: t.outcome,
                    invoke_line: t.invoke_line,
                    complete_line: t.complete_line,
                    value: self.h.render_txn(t),
                }
            })
            .collect()
    }

    fn anomaly(
        &self,
        kind: AnomalyKind,
        names: Names,
        key: Option<KeyId>,
        steps: Vec<Step>,
        text: String,
    ) -> TxnAnomaly {
        TxnAnomaly {
            kind,
            txns: self.txn_ref(&names),
            steps,
            key: key.map(|k| self.key(k).clone()),
            explanation: text,
            assumes: None,
            assumed: Vec::new(),
        }
    }

    pub fn finding(&self, f: &Finding) -> TxnAnomaly {
        let mut n = Names::default();
        let h = self.h;
        let read_of = |n: &mut Names, a: At| {
            let (shown, _) = self.read_shown(a.mop);
            let k = self.key(h.mops[a.mop as usize].key);
            (n.name(a.slot), k.to_string(), shown)
        };
        let list_wl = h.workload == Workload::ListAppend;
        match f {
            Finding::DuplicateElements { read, elem, count } => {
                let (t, k, shown) = read_of(&mut n, *read);
                let e = self.value(*elem);
                let text = detailed(
                    format!("{t} read key {k} with {e} in it {}", times(*count as usize)),
                    format!(
                        "{t} read key {k} = {shown}, in which {e} appears {count} times; \
                         every element is appended once, so a read can show it once at most: duplicate-elements"
                    ),
                );
                self.anomaly(AnomalyKind::DuplicateElements, n, Some(h.mops[read.mop as usize].key), vec![], text)
            }
            Finding::IncompatibleOrder { key, a, b } => {
                let (ta, k, sa) = read_of(&mut n, *a);
                let (tb, _, sb) = read_of(&mut n, *b);
                let text = detailed(
                    format!("{ta} and {tb} saw key {k}'s appends in orders that cannot both be true"),
                    format!(
                        "{ta} read key {k} = {sa} and {tb} read it as {sb}: neither is a prefix of the other, \
                         so no single order of appends explains both: incompatible-order"
                    ),
                );
                self.anomaly(AnomalyKind::IncompatibleOrder, n, Some(*key), vec![], text)
            }
            Finding::GarbageRead { read, elem } => {
                let (t, k, shown) = read_of(&mut n, *read);
                let e = self.value(*elem);
                let detail = if list_wl {
                    format!("{t} read key {k} = {shown}, which holds {e}, but no transaction appended {e} to {k}: garbage-read")
                } else {
                    format!("{t} read key {k} = {shown}, but no transaction wrote {e} to {k}: garbage-read")
                };
                let text = detailed(format!("{t} read {e} from key {k}, a value no transaction wrote there"), detail);
                self.anomaly(AnomalyKind::GarbageRead, n, Some(h.mops[read.mop as usize].key), vec![], text)
            }
            Finding::G1a { read, elem, writer } | Finding::G1b { read, elem, writer } => {
                let (t, k, shown) = read_of(&mut n, *read);
                let w = n.name(*writer);
                let e = self.value(*elem);
                let verb = if list_wl { "appended" } else { "wrote" };
                let (kind, text) = if matches!(f, Finding::G1a { .. }) {
                    let lead = format!("{t} read {w}'s write of {e} to key {k}, and {w} aborted");
                    let detail = format!(
                        "{t} read key {k} = {shown}, which shows {e}; {w} {verb} {e} but failed (aborted), \
                         so {t} read an aborted write: G1a"
                    );
                    (AnomalyKind::G1a, detailed(lead, detail))
                } else {
                    let lead = format!("{t} read key {k} as {w} left it midway, before {w}'s last write to it");
                    let detail = format!(
                        "{t} read key {k} = {shown}, the state right after {w} {verb} {e}; but {w} \
                         {verb} more to {k} afterwards in the same transaction, so {t} read an intermediate state: G1b"
                    );
                    (AnomalyKind::G1b, detailed(lead, detail))
                };
                self.anomaly(kind, n, Some(h.mops[read.mop as usize].key), vec![], text)
            }
            Finding::DirtyUpdate { key, failed, later } => {
                let tf = n.name(self.writer(*failed));
                let tl = n.name(self.writer(*later));
                let k = self.key(*key);
                let (ef, el) = (self.value(*failed), self.value(*later));
                let text = detailed(
                    format!("{tl} built on key {k}'s state written by {tf}, and {tf} aborted"),
                    format!(
                        "in key {k}'s version order, {tl}'s committed append of {el} comes after {tf}'s append \
                         of {ef}, and {tf} failed: {tl} updated state an aborted transaction wrote: dirty-update"
                    ),
                );
                self.anomaly(AnomalyKind::DirtyUpdate, n, Some(*key), vec![], text)
            }
            Finding::LostUpdate { key, txns } => {
                let (shown, _) = self.read_shown(txns[0].0.mop);
                let ts: Vec<String> = txns.iter().map(|(r, _)| n.name(r.slot)).collect();
                let k = self.key(*key);
                let all = names_joined(&ts.iter().map(String::as_str).collect::<Vec<_>>());
                let text = detailed(
                    format!("{all} each updated key {k} from the same version, so all but one update was lost"),
                    format!(
                        "{all} each read key {k} = {shown} and then wrote {k}; at most one of those writes can come \
                         right after that version, so the others' updates were lost: lost-update"
                    ),
                );
                self.anomaly(AnomalyKind::LostUpdate, n, Some(*key), vec![], text)
            }
            Finding::Internal { read, expected, prefix_known } => {
                let (t, k, shown) = read_of(&mut n, *read);
                let i = self.mop_index(read.slot, read.mop) + 1;
                let want = if list_wl {
                    let l = self.list(expected);
                    if *prefix_known {
                        l
                    } else {
                        format!("a list ending in {}", l.trim_start_matches('[').trim_end_matches(']'))
                    }
                } else if expected[0] == NIL {
                    "nil".to_string()
                } else {
                    self.value(expected[0]).to_string()
                };
                let text = detailed(
                    format!("{t} read key {k} as {shown}, contradicting its own earlier reads and writes"),
                    format!(
                        "{t}'s micro-op {i} read key {k} = {shown}, but {t}'s own earlier reads and writes of {k} \
                         say it should read {want}: internal"
                    ),
                );
                self.anomaly(AnomalyKind::Internal, n, Some(h.mops[read.mop as usize].key), vec![], text)
            }
            Finding::FutureRead { read, write, elem } => {
                let (t, k, shown) = read_of(&mut n, *read);
                let (i, j) = (self.mop_index(read.slot, read.mop) + 1, self.mop_index(write.slot, write.mop) + 1);
                let e = self.value(*elem);
                let verb = if list_wl { "appends" } else { "writes" };
                let text = detailed(
                    format!("{t} read its own write of {e} to key {k} before making it"),
                    format!(
                        "{t}'s micro-op {i} read key {k} = {shown}, which shows {e}, but {t} itself {verb} {e} only \
                         later, in micro-op {j}: future-read"
                    ),
                );
                self.anomaly(AnomalyKind::FutureRead, n, Some(h.mops[read.mop as usize].key), vec![], text)
            }
            Finding::OwnOrder { key, first, second, committed } => {
                let k = self.key(*key);
                let t = n.name(self.writer(*first));
                let (a, b) = (self.value(*first), self.value(*second));
                let (kind, tail) = if *committed {
                    (
                        AnomalyKind::CyclicVersions,
                        format!("no order of {k}'s versions fits both ({a} < {b} < {a}), so conch infers none for {k}: cyclic-versions"),
                    )
                } else {
                    (
                        AnomalyKind::IncompatibleOrder,
                        format!(
                            "{t} may not have committed, but if it did no order of {k}'s versions fits both, and if it \
                             did not the reads show aborted writes: incompatible-order"
                        ),
                    )
                };
                let text = detailed(
                    format!("{t}'s appends to key {k} were seen in the reverse of the order {t} made them"),
                    format!("{t} appended {a} to key {k} before {b}, but the reads of {k} show {b} before {a}: {tail}"),
                );
                self.anomaly(kind, n, Some(*key), vec![], text)
            }
            Finding::CyclicVersions { key, values, source } => {
                let k = self.key(*key);
                let vs: Vec<String> = values
                    .iter()
                    .chain(values.first())
                    .map(|&v| if v == NIL { "nil".to_string() } else { self.value(v).to_string() })
                    .collect();
                let src = source_name(*source);
                let text = detailed(
                    format!("Key {k}'s versions cannot be put in one order: inferred from {src}, they form a cycle"),
                    format!(
                        "key {k}'s version order, inferred from {src}, is cyclic: {}; conch does not use that source \
                         for {k}: cyclic-versions",
                        vs.join(" < ")
                    ),
                );
                self.anomaly(AnomalyKind::CyclicVersions, n, Some(*key), vec![], text)
            }
        }
    }

    pub fn cycle(&self, c: &Cycle) -> TxnAnomaly {
        let mut n = Names::default();
        let mut steps = Vec::with_capacity(c.steps.len());
        for s in &c.steps {
            steps.push(self.step(&mut n, s));
        }
        let sentences: Vec<String> = steps.iter().map(|s| s.sentence.clone()).collect();
        let rw = c.steps.iter().filter(|s| s.kind == RW).count();
        let class = match c.kind {
            AnomalyKind::G0 | AnomalyKind::G0Process | AnomalyKind::G0Realtime => {
                "a cycle of write dependencies (ww) only".to_string()
            }
            AnomalyKind::G1c | AnomalyKind::G1cProcess | AnomalyKind::G1cRealtime => {
                "a cycle of write and read dependencies with at least one wr and no anti-dependency".to_string()
            }
            AnomalyKind::GSingle | AnomalyKind::GSingleProcess | AnomalyKind::GSingleRealtime => {
                "a cycle with exactly one anti-dependency (rw)".to_string()
            }
            AnomalyKind::GNonadjacent | AnomalyKind::GNonadjacentProcess | AnomalyKind::GNonadjacentRealtime => {
                format!("a cycle with {rw} anti-dependencies (rw), no two of them adjacent")
            }
            AnomalyKind::FracturedRead => {
                "a cycle in which a transaction missed a write of one it read from, which read atomic forbids"
                    .to_string()
            }
            AnomalyKind::CausalityViolation => {
                "a cycle in which a transaction missed a write it depends on through a chain of reads, which causal \
                 forbids"
                    .to_string()
            }
            _ => format!("a cycle with {rw} anti-dependencies (rw), two of them adjacent"),
        };
        let with = if c.steps.iter().any(|s| s.kind == REALTIME) {
            ", through real time"
        } else if c.steps.iter().any(|s| s.kind == PROCESS) {
            ", through process order"
        } else {
            ""
        };
        let path: Vec<&str> =
            steps.iter().map(|s| s.from.as_str()).chain(steps.first().map(|s| s.from.as_str())).collect();
        let lead = format!("{} form {class}{with}", names_joined(&path[..path.len() - 1]));
        let text = detailed(lead, format!("{}; so {}: {}", sentences.join("; "), path.join(" < "), c.kind));
        self.anomaly(c.kind, n, None, steps, text)
    }

    fn slot(&self, node: u32) -> u32 {
        self.inf.slot_of[node as usize]
    }

    fn step(&self, n: &mut Names, s: &RawStep) -> Step {
        let (a, b) = (self.slot(s.from), self.slot(s.to));
        let (ta, tb) = (n.name(a), n.name(b));
        let mut st = Step {
            from: ta.clone(),
            to: tb.clone(),
            kind: kind_name(s.kind),
            key: None,
            value: None,
            value_to: None,
            from_mop: None,
            to_mop: None,
            sentence: String::new(),
        };
        let found = match (s.kind, self.h.workload) {
            (PROCESS, _) => {
                let p = self.h.txns[a as usize].process;
                st.sentence = format!("{ta} and {tb} ran on process {p}, {ta} first, so {ta} precedes {tb} (process)");
                true
            }
            (REALTIME, _) => {
                let (x, y) = (&self.h.txns[a as usize], &self.h.txns[b as usize]);
                st.sentence = format!(
                    "{ta} completed (line {}) before {tb} was invoked (line {}), so {ta} precedes {tb} (realtime)",
                    x.complete_line.unwrap_or(x.invoke_line),
                    y.invoke_line
                );
                true
            }
            (_, Workload::ListAppend) => self.list_step(&mut st, s.kind, a, b),
            (_, Workload::RwRegister) => self.register_step(&mut st, s.kind, a, b),
        };
        if !found {
            st.sentence = format!("{ta} precedes {tb} ({})", kind_name(s.kind));
        }
        st
    }

    /// The micro-ops of a transaction on any key, with their global index.
    fn mops(&self, slot: u32) -> impl Iterator<Item = (u32, &super::history::Mop)> + '_ {
        let t = &self.h.txns[slot as usize];
        (t.mops_start..t.mops_start + t.mops_len).map(move |i| (i, &self.h.mops[i as usize]))
    }

    fn list_step(&self, st: &mut Step, kind: u8, a: u32, b: u32) -> bool {
        let h = self.h;
        let (ta, tb) = (st.from.clone(), st.to.clone());
        let pos = &self.inf.pos;
        match kind {
            WW => {
                for (j, m) in self.mops(b).filter(|(_, m)| m.f == MopF::Append) {
                    let k = m.key;
                    if !self.inf.keys[k as usize].ordered {
                        continue;
                    }
                    let order = &self.inf.keys[k as usize].order;
                    let p = pos[m.v as usize];
                    let prev = match p {
                        NONE => order.last().copied(),
                        0 => None,
                        p => Some(order[p as usize - 1]),
                    };
                    let Some(e) = prev else { continue };
                    if self.writer(e) != a {
                        continue;
                    }
                    let (key, v, v2) = (self.key(k), self.value(e), self.value(m.v));
                    st.sentence = if p == NONE {
                        format!(
                            "no read shows {tb}'s append of {v2} to key {key}, so it came after every append \
                             one does, the last being {ta}'s append of {v}: {ta} precedes {tb} (ww)"
                        )
                    } else {
                        format!("{tb} appended {v2} to key {key} right after {ta}'s append of {v}, so {ta} precedes {tb} (ww)")
                    };
                    self.fill(st, k, v.clone(), v2.clone(), h.elems[e as usize].writer_mop, self.mop_index(b, j));
                    return true;
                }
                false
            }
            WR => {
                for (j, m) in self.mops(b).filter(|(_, m)| m.f == MopF::Read) {
                    let Some(&e) = h.read_elems(m).and_then(|els| els.last()) else { continue };
                    if self.writer(e) != a {
                        continue;
                    }
                    let (shown, val) = self.read_shown(j);
                    let (key, v) = (self.key(m.key), self.value(e));
                    st.sentence = format!(
                        "{tb} read key {key} = {shown}, ending in {ta}'s append of {v}, so {ta} precedes {tb} (wr)"
                    );
                    self.fill(st, m.key, v.clone(), val, h.elems[e as usize].writer_mop, self.mop_index(b, j));
                    return true;
                }
                false
            }
            RW => {
                for (j, m) in self.mops(a).filter(|(_, m)| m.f == MopF::Read) {
                    let k = m.key;
                    let facts = &self.inf.keys[k as usize];
                    if !facts.ordered {
                        continue;
                    }
                    let Some(els) = h.read_elems(m) else { continue };
                    let order = &facts.order;
                    // A read that is no prefix of this pass's order was not used.
                    if !order.starts_with(els) {
                        continue;
                    }
                    let (shown, val) = self.read_shown(j);
                    let key = self.key(k);
                    let later = self.mops(b).find(|(_, x)| {
                        x.f == MopF::Append
                            && x.key == k
                            && (pos[x.v as usize] == NONE || pos[x.v as usize] as usize >= els.len())
                    });
                    let Some((i, x)) = later else { continue };
                    let v2 = self.value(x.v);
                    st.sentence = match pos[x.v as usize] {
                        NONE => format!(
                            "{ta} read key {key} = {shown}, and no read shows {tb}'s append of {v2}, so it came \
                             later: {ta} precedes {tb} (rw)"
                        ),
                        p if p as usize == els.len() => format!(
                            "{ta} read key {key} = {shown}, without {tb}'s append of {v2}, the next one, \
                             so {ta} precedes {tb} (rw)"
                        ),
                        _ => format!(
                            "{ta} read key {key} = {shown}, without {tb}'s append of {v2}, which came later, \
                             so {ta} precedes {tb} (rw)"
                        ),
                    };
                    self.fill(st, k, val, v2.clone(), self.mop_index(a, j), self.mop_index(b, i));
                    return true;
                }
                false
            }
            _ => false,
        }
    }

    fn register_step(&self, st: &mut Step, kind: u8, a: u32, b: u32) -> bool {
        let (ta, tb) = (st.from.clone(), st.to.clone());
        let shown = |v: u32| if v == NIL { Value::Nil } else { self.value(v).clone() };
        let mut keys: Vec<KeyId> = self.mops(b).map(|(_, m)| m.key).collect();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            let (ra, wa) = self.h.saw_and_left(a, k);
            let (rb, wb) = self.h.saw_and_left(b, k);
            let key = self.key(k);
            match kind {
                WR => {
                    let Some((wi, wv)) = wa else { continue };
                    if let Some(&(ri, rv)) = rb.iter().find(|r| r.1 == wv) {
                        let v = shown(wv);
                        st.sentence = format!("{tb} read key {key} = {v}, written by {ta}, so {ta} precedes {tb} (wr)");
                        self.fill(st, k, v.clone(), shown(rv), self.mop_index(a, wi), self.mop_index(b, ri));
                        return true;
                    }
                }
                WW | RW => {
                    let from: Vec<MopValue> = if kind == WW { wa.into_iter().collect() } else { ra };
                    let Some((wi, wv)) = wb else { continue };
                    let Some((fi, fv, path)) =
                        from.iter().find_map(|&(fi, fv)| self.inf.version_path(k, fv, wv).map(|p| (fi, fv, p)))
                    else {
                        continue;
                    };
                    let (v1, v2) = (shown(fv), shown(wv));
                    let why = match path[..] {
                        [(_, _, src)] => self.why(src, &tb, &v1, &v2),
                        _ => {
                            // A later version, not the next: each link of the chain.
                            let links: Vec<String> = path
                                .iter()
                                .map(|&(a, b, src)| {
                                    let (a, b) = (shown(a), shown(b));
                                    format!("{a} < {b}: {}", self.why(src, "a transaction", &a, &b))
                                })
                                .collect();
                            links.join("; ")
                        }
                    };
                    st.sentence = if kind == WW {
                        format!("{ta} wrote key {key} = {v1} and {tb} wrote {key} = {v2}, a later version ({why}), so {ta} precedes {tb} (ww)")
                    } else {
                        format!("{ta} read key {key} = {v1} and {tb} wrote {key} = {v2}, a later version ({why}), so {ta} precedes {tb} (rw)")
                    };
                    self.fill(st, k, v1, v2, self.mop_index(a, fi), self.mop_index(b, wi));
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    /// Why `v1` precedes `v2` in the version order, from the edge's sources.
    fn why(&self, src: u8, tb: &str, v1: &Value, v2: &Value) -> String {
        let mut parts = Vec::new();
        if src & SRC_INITIAL != 0 {
            parts.push("every value follows the initial nil".to_string());
        }
        if src & SRC_WFR != 0 {
            parts.push(format!("{tb} read {v1} before writing {v2}"));
        }
        if src & SRC_PROCESS != 0 {
            parts.push("one process saw them in this order, and keys are sequential".to_string());
        }
        if src & SRC_REALTIME != 0 {
            parts.push("real time orders them, and keys are linearizable".to_string());
        }
        parts.join("; ")
    }

    fn fill(&self, st: &mut Step, key: KeyId, v: Value, v2: Value, from_mop: u32, to_mop: u32) {
        st.key = Some(self.key(key).clone());
        st.value = Some(v);
        st.value_to = Some(v2);
        st.from_mop = Some(from_mop);
        st.to_mop = Some(to_mop);
    }
}

impl Explainer<'_> {
    /// A cycle known to exist (a component's subgraph for `m` is cyclic)
    /// when the search for a specific one was cut short.
    pub fn exists(&self, kind: AnomalyKind, m: Model, nodes: &[u32], cuts: &[Cut]) -> TxnAnomaly {
        let mut n = Names::default();
        let txns: Vec<u32> = nodes.iter().copied().filter(|&v| (v as usize) < self.inf.slot_of.len()).collect();
        for &v in txns.iter().take(EXISTS_NAMED_MAX) {
            n.name(self.slot(v));
        }
        let cut: Vec<String> = cuts.iter().map(|c| format!("{}: {}", c.kind, c.reason)).collect();
        let more = if txns.len() > EXISTS_NAMED_MAX {
            format!(" (the first {EXISTS_NAMED_MAX} named)")
        } else {
            String::new()
        };
        let lead = format!("{m} does not hold: {} transactions depend on each other in a cycle", txns.len());
        let text = detailed(
            lead,
            format!(
                "these {} transactions{more} form a strongly connected component whose dependencies contain a cycle \
             that {m} forbids, so {m} does not hold; the search for a specific cycle was cut short ({}): {kind}",
                txns.len(),
                cut.join("; ")
            ),
        );
        self.anomaly(kind, n, None, vec![], text)
    }
}

/// Transactions named in a cycle-exists anomaly.
const EXISTS_NAMED_MAX: usize = 10;

/// An explanation that leads with a short sentence a person reads first,
/// the proof after it (#18: the same shape as every other checker's).
fn detailed(lead: String, detail: String) -> String {
    format!("{}{}. In detail: {detail}", lead[..1].to_uppercase(), &lead[1..])
}

/// "twice", "3 times".
fn times(n: usize) -> String {
    match n {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    }
}

/// "T1 and T2", "T1, T2 and T3".
fn names_joined(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn source_name(src: u8) -> &'static str {
    match src {
        SRC_WFR => "writes following reads within transactions",
        SRC_PROCESS => "process order (sequential keys)",
        SRC_REALTIME => "real time (linearizable keys)",
        _ => "the initial state",
    }
}
