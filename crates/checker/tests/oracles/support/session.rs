//! The four session guarantees of Terry et al. (1994), by their definitions,
//! as conch applies them to one object's history (docs/anomalies.md).
//!
//! A session is a process. Writes are applied by every replica in one
//! global order (the *version order*); a read returns the state of the
//! replica it ran on.
//!
//! - read-your-writes: a read reflects every write its session made before it;
//! - monotonic reads: a read reflects every write an earlier read of its
//!   session reflected (for a register, the one version it returned);
//! - monotonic writes: a session's writes are ordered as it made them, and a
//!   replica holding a later one holds the earlier ones;
//! - writes-follow-reads: a write is ordered after every write its session
//!   had read before making it, and a replica holding it holds those.
//!
//! **Registers.** A read returns one version: the last, in version order, of
//! the writes its replica holds. So a read reflects a write `w` iff `w` is at
//! or before its version, and the guarantees become constraints on the
//! version order. The history holds iff *some* choice of (which info writes
//! happened, which write each read returned when values repeat, a total
//! order of the writes after the initial version) satisfies them. Facts
//! every choice must respect: the initial version is first; a cas `[a b]`
//! read some version of `a` (never its own write), which precedes its write
//! of `b`. A read of a value no op wrote (and not the initial value) is the
//! version of an unknown writer of that value: one per value, with a place
//! in the order but no session. As in Jepsen, values identify writes: a
//! read of `v` returned one of the (non-failed) writes of `v`, whenever it
//! ran; so a session that reads `v` and only later writes the sole `v` read
//! its own future write, which writes-follow-reads forbids.
//!
//! **Lists and sets.** A read shows exactly which writes its replica holds
//! (and, for a list, in which order), so each guarantee is decided from the
//! reads alone, once each read's elements are matched to the appends that
//! made them (a choice only when elements repeat).
//!
//! *Per check* a guarantee holds iff some choice satisfies it; *jointly*
//! (several checks requested together) they hold iff one choice satisfies
//! them all.

use super::hist::{Hist, Op, Outcome, F, V};
use super::lin::Nil;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum G {
    ReadYourWrites,
    MonotonicReads,
    MonotonicWrites,
    WritesFollowReads,
}

impl G {
    pub const ALL: [G; 4] = [G::ReadYourWrites, G::MonotonicReads, G::MonotonicWrites, G::WritesFollowReads];

    fn bit(self) -> u8 {
        1 << self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            G::ReadYourWrites => "read-your-writes",
            G::MonotonicReads => "monotonic-reads",
            G::MonotonicWrites => "monotonic-writes",
            G::WritesFollowReads => "writes-follow-reads",
        }
    }
}

/// Which sets of guarantees one choice satisfies together: bit `m` set iff
/// some choice satisfies every guarantee in the set `m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Achieved(u16);

impl Achieved {
    fn add(&mut self, satisfied: u8) {
        // Every subset of a satisfied set is satisfied by the same choice.
        for m in 0..16u8 {
            if m & satisfied == m {
                self.0 |= 1 << m;
            }
        }
    }

    fn all(self) -> bool {
        self.0 & (1 << 15) != 0
    }

    /// Whether one choice satisfies every guarantee in `gs`.
    pub fn holds(self, gs: &[G]) -> bool {
        let m = gs.iter().fold(0u8, |m, g| m | g.bit());
        self.0 & (1 << m) != 0
    }
}

/// A write as the session oracles see it.
#[derive(Clone, Debug)]
struct W {
    value: V,
    session: u64,
    /// Position in the session: a read part of op k is at 2k, a write part
    /// at 2k+1, so a cas reads before it writes.
    seq: usize,
    /// May or may not have happened (info or pending).
    maybe: bool,
    /// For a cas: its read part.
    cas_read: Option<usize>,
}

#[derive(Clone, Debug)]
struct R {
    value: V,
    session: u64,
    seq: usize,
    /// For a cas's read part: its write part.
    cas_write: Option<usize>,
}

/// One object's reads and writes, sessions numbered.
#[derive(Debug, Default)]
struct Parts {
    writes: Vec<W>,
    reads: Vec<R>,
}

/// What a read of nil is: skipped (nil tells nothing) or this value.
fn nil_read_as(nil: Nil, empty: V) -> Option<V> {
    match nil {
        Nil::Unknown => None,
        Nil::Absent => Some(empty),
    }
}

fn parts(ops: &[&Op], nil: Nil, empty: &V) -> Parts {
    let mut p = Parts::default();
    for (session, s) in Hist::sessions(ops) {
        let mut k = 0;
        for op in s {
            if op.outcome == Outcome::Fail {
                continue;
            }
            let maybe = op.outcome.maybe();
            match op.f {
                F::Read => {
                    if op.outcome == Outcome::Ok {
                        let value =
                            if op.output.is_nil() { nil_read_as(nil, empty.clone()) } else { Some(op.output.clone()) };
                        if let Some(value) = value {
                            p.reads.push(R { value, session, seq: 2 * k, cas_write: None });
                        }
                    }
                }
                F::Write | F::Append | F::Add => {
                    p.writes.push(W { value: op.input.clone(), session, seq: 2 * k + 1, maybe, cas_read: None })
                }
                F::Cas => {
                    let V::List(ab) = &op.input else { panic!("cas needs [old new]") };
                    let (r, w) = (p.reads.len(), p.writes.len());
                    p.reads.push(R { value: ab[0].clone(), session, seq: 2 * k, cas_write: Some(w) });
                    p.writes.push(W { value: ab[1].clone(), session, seq: 2 * k + 1, maybe, cas_read: Some(r) });
                }
                other => panic!("no session semantics for {other:?}"),
            }
            k += 1;
        }
    }
    p
}

/// Registers: see the module docs. `initial` is the initial value.
pub fn register(ops: &[&Op], nil: Nil, initial: &V) -> Achieved {
    register_by(ops, nil, initial, Search::Graph)
}

/// How to decide whether some total order satisfies a set of precedence
/// constraints: by a topological sort (the constraints are acyclic), or by
/// trying every permutation (slow; the oracle's own check of the first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    Graph,
    Permutations,
}

pub fn register_by(ops: &[&Op], nil: Nil, initial: &V, search: Search) -> Achieved {
    let p = parts(ops, nil, &V::Nil);
    let mut achieved = Achieved(0);
    let maybes: Vec<usize> = (0..p.writes.len()).filter(|&w| p.writes[w].maybe).collect();
    for subset in 0u32..(1 << maybes.len()) {
        let included: Vec<bool> = (0..p.writes.len())
            .map(|w| match maybes.iter().position(|&m| m == w) {
                Some(i) => subset & (1 << i) != 0,
                None => true,
            })
            .collect();
        // The reads that happened: a cas's read part with its write.
        let live: Vec<usize> =
            (0..p.reads.len()).filter(|&r| p.reads[r].cas_write.is_none_or(|w| included[w])).collect();
        let Some(cands) = live.iter().map(|&r| candidates(&p, r, &included, initial)).collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let mut choice = vec![0usize; live.len()];
        loop {
            let ver: Vec<Version> = (0..live.len()).map(|i| cands[i][choice[i]]).collect();
            achieved.0 |= satisfied_register(&p, &included, &live, &ver, search);
            if achieved.all() {
                return achieved;
            }
            if !next_choice(&mut choice, &cands) {
                break;
            }
        }
    }
    achieved
}

/// A version a read may have returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Initial,
    Write(usize),
    /// Of the unknown writer of a value, named by the first read of it.
    Unknown(usize),
}

/// The versions read `r` may have returned: `None` if none can be.
fn candidates(p: &Parts, r: usize, included: &[bool], initial: &V) -> Option<Vec<Version>> {
    let read = &p.reads[r];
    let writers: Vec<usize> =
        (0..p.writes.len()).filter(|&w| p.writes[w].value.same(&read.value) && read.cas_write != Some(w)).collect();
    let initial_matches = read.value.same(initial);
    if writers.is_empty() && !initial_matches {
        // One unknown writer per value: named by the first read of it.
        let first = (0..p.reads.len()).find(|&x| p.reads[x].value.same(&read.value)).expect("r itself");
        return Some(vec![Version::Unknown(first)]);
    }
    let mut c: Vec<Version> = writers.into_iter().filter(|&w| included[w]).map(Version::Write).collect();
    if initial_matches {
        c.push(Version::Initial);
    }
    (!c.is_empty()).then_some(c)
}

fn next_choice(choice: &mut [usize], cands: &[Vec<impl Sized>]) -> bool {
    for i in 0..choice.len() {
        choice[i] += 1;
        if choice[i] < cands[i].len() {
            return true;
        }
        choice[i] = 0;
    }
    false
}

/// Nodes of the order: writes by index, then the unknown-writer versions
/// of reads, after the initial version (which precedes all).
struct Order {
    nodes: usize,
    /// `(a, b, strict)`: a before b, or a == b allowed when not strict.
    edges: Vec<(Version, Version, bool)>,
}

/// The sets of guarantees (bit m for the set m) that some version order
/// satisfies together, given which writes happened and which version each
/// live read returned.
fn satisfied_register(p: &Parts, included: &[bool], live: &[usize], ver: &[Version], search: Search) -> u16 {
    let (facts, per) = constraints(p, included, live, ver);
    let nodes = p.writes.len() + p.reads.len();
    let mut passing = 0u16;
    for m in 0..16u8 {
        let mut edges = facts.clone();
        for g in G::ALL {
            if m & g.bit() != 0 {
                edges.extend(per[g as usize].iter().copied());
            }
        }
        let order = Order { nodes, edges };
        let ok = match search {
            Search::Graph => orderable(&order, p.writes.len()),
            Search::Permutations => orderable_by_permutations(&order, p.writes.len(), included),
        };
        if ok {
            passing |= 1 << m;
        }
    }
    passing
}

type Edges = Vec<(Version, Version, bool)>;

/// The facts, and each guarantee's constraints, as edges `(a, b, strict)`:
/// a before b (or a == b when not strict).
fn constraints(p: &Parts, included: &[bool], live: &[usize], ver: &[Version]) -> (Edges, [Edges; 4]) {
    let ver_of = |r: usize| ver[live.iter().position(|&x| x == r).unwrap()];
    let mut facts = Vec::new();
    for (w, wr) in p.writes.iter().enumerate() {
        if let (true, Some(r)) = (included[w], wr.cas_read) {
            facts.push((ver_of(r), Version::Write(w), true));
        }
    }
    let mut per: [Edges; 4] = Default::default();
    for &r in live {
        let rd = &p.reads[r];
        for (w, wr) in p.writes.iter().enumerate() {
            if !included[w] || wr.session != rd.session {
                continue;
            }
            if wr.seq < rd.seq {
                per[G::ReadYourWrites as usize].push((Version::Write(w), ver_of(r), false));
            } else {
                per[G::WritesFollowReads as usize].push((ver_of(r), Version::Write(w), true));
            }
        }
        for &r2 in live {
            if p.reads[r2].session == rd.session && p.reads[r2].seq > rd.seq {
                per[G::MonotonicReads as usize].push((ver_of(r), ver_of(r2), false));
            }
        }
    }
    for (w1, a) in p.writes.iter().enumerate() {
        for (w2, b) in p.writes.iter().enumerate() {
            if included[w1] && included[w2] && a.session == b.session && a.seq < b.seq {
                per[G::MonotonicWrites as usize].push((Version::Write(w1), Version::Write(w2), true));
            }
        }
    }
    (facts, per)
}

/// Registers whose every read has one possible version: the guarantees
/// violated when `requested` are checked together, judged part by part. A
/// part is a set of versions strongly connected by the constraints of some
/// requested set S of guarantees; it fails S minimally when, without any one
/// member's constraints, its versions can be ordered. The members of
/// minimally failing sets are violated; if the facts alone cannot be
/// ordered, every guarantee is. `None` when some read has a choice.
pub fn register_blamed(ops: &[&Op], nil: Nil, initial: &V, requested: &[G]) -> Option<BTreeSet<G>> {
    let p = parts(ops, nil, &V::Nil);
    let all = vec![true; p.writes.len()];
    let cands: Vec<Vec<Version>> =
        (0..p.reads.len()).map(|r| candidates(&p, r, &all, initial).expect("all writes")).collect();
    if cands.iter().any(|c| c.len() != 1) {
        return None;
    }
    // An info write happened iff a read returned it (and then an info cas's
    // read happened too).
    let mut included: Vec<bool> = p.writes.iter().map(|w| !w.maybe).collect();
    loop {
        let live: Vec<usize> =
            (0..p.reads.len()).filter(|&r| p.reads[r].cas_write.is_none_or(|w| included[w])).collect();
        let mut changed = false;
        for &r in &live {
            if let Version::Write(w) = cands[r][0] {
                if !included[w] {
                    included[w] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            let ver: Vec<Version> = live.iter().map(|&r| cands[r][0]).collect();
            let (facts, per) = constraints(&p, &included, &live, &ver);
            return Some(blamed(&facts, &per, requested));
        }
    }
}

fn blamed(facts: &Edges, per: &[Edges; 4], requested: &[G]) -> BTreeSet<G> {
    // Nodes: every version named, the initial one first.
    let mut nodes: Vec<Version> = vec![Version::Initial];
    for &(a, b, _) in facts.iter().chain(per.iter().flatten()) {
        for x in [a, b] {
            if !nodes.contains(&x) {
                nodes.push(x);
            }
        }
    }
    let n = nodes.len();
    let idx = |x: Version| nodes.iter().position(|&y| y == x).unwrap();
    // Adjacency of a set of guarantees' graph: the initial version before
    // all, facts, the members' constraints (non-strict self-edges hold).
    let adj = |gs: &[G]| -> Vec<Vec<bool>> {
        let mut m = vec![vec![false; n]; n];
        for j in 1..n {
            m[0][j] = true;
        }
        let mut add = |es: &Edges| {
            for &(a, b, strict) in es {
                if a != b || strict {
                    m[idx(a)][idx(b)] = true;
                }
            }
        };
        add(facts);
        for g in gs {
            add(&per[*g as usize]);
        }
        m
    };
    let reach = |m: &Vec<Vec<bool>>| {
        let mut r = m.clone();
        for k in 0..n {
            for i in 0..n {
                if r[i][k] {
                    for j in 0..n {
                        if r[k][j] {
                            r[i][j] = true;
                        }
                    }
                }
            }
        }
        r
    };
    let cyclic_within = |m: &Vec<Vec<bool>>, inside: &[bool]| {
        let mut sub = m.clone();
        for i in 0..n {
            for j in 0..n {
                sub[i][j] &= inside[i] && inside[j];
            }
        }
        (0..n).any(|i| reach(&sub)[i][i])
    };
    let mut out = BTreeSet::new();
    if (0..n).any(|i| reach(&adj(&[]))[i][i]) {
        out.extend(requested.iter().copied());
        return out;
    }
    for mask in 1u32..(1 << requested.len()) {
        let set: Vec<G> = (0..requested.len()).filter(|i| mask & (1 << i) != 0).map(|i| requested[i]).collect();
        let r = reach(&adj(&set));
        for i in 0..n {
            if !r[i][i] {
                continue;
            }
            // The strongly connected part of i.
            let inside: Vec<bool> = (0..n).map(|j| r[i][j] && r[j][i]).collect();
            let minimal = set.iter().all(|g| {
                let without: Vec<G> = set.iter().copied().filter(|x| x != g).collect();
                !cyclic_within(&adj(&without), &inside)
            });
            if minimal {
                out.extend(set.iter().copied());
            }
        }
    }
    out
}

/// Whether some total order of the included writes and the unknown-writer
/// versions, after the initial version, satisfies every edge. Strict edges
/// between distinct versions and non-strict ones alike need a < b; a
/// non-strict edge from a version to itself holds, a strict one cannot.
/// Such an order exists iff the edges between distinct versions have no
/// cycle, and no edge asks for a version before the initial one.
fn orderable(o: &Order, writes: usize) -> bool {
    let idx = |v: Version| match v {
        Version::Initial => None,
        Version::Write(w) => Some(w),
        Version::Unknown(r) => Some(writes + r),
    };
    let mut adj = vec![Vec::new(); o.nodes];
    for &(a, b, strict) in &o.edges {
        if a == b {
            if strict {
                return false;
            }
            continue;
        }
        match (idx(a), idx(b)) {
            (_, None) => return false, // something strictly before the initial version
            (None, Some(_)) => {}      // the initial version is first anyway
            (Some(x), Some(y)) => adj[x].push(y),
        }
    }
    acyclic(&adj)
}

/// `orderable` by brute force: tries every order of the versions present
/// (included writes, live reads' unknown-writer versions) after the initial.
fn orderable_by_permutations(o: &Order, writes: usize, included: &[bool]) -> bool {
    let mut present: Vec<Version> = (0..writes).filter(|&w| included[w]).map(Version::Write).collect();
    for &(a, b, _) in &o.edges {
        for v in [a, b] {
            if matches!(v, Version::Unknown(_)) && !present.contains(&v) {
                present.push(v);
            }
        }
    }
    let holds = |order: &[Version]| {
        let pos = |v: Version| match v {
            Version::Initial => Some(0),
            v => order.iter().position(|&x| x == v).map(|i| i + 1),
        };
        o.edges.iter().all(|&(a, b, strict)| match (pos(a), pos(b)) {
            (Some(x), Some(y)) => x < y || (!strict && x == y),
            _ => panic!("an edge names a version that is not present"),
        })
    };
    permutations(&mut present, 0, &holds)
}

fn permutations(v: &mut Vec<Version>, k: usize, holds: &dyn Fn(&[Version]) -> bool) -> bool {
    if k == v.len() {
        return holds(v);
    }
    for i in k..v.len() {
        v.swap(k, i);
        if permutations(v, k + 1, holds) {
            v.swap(k, i);
            return true;
        }
        v.swap(k, i);
    }
    false
}

fn acyclic(adj: &[Vec<usize>]) -> bool {
    // Kahn's algorithm.
    let mut indeg = vec![0usize; adj.len()];
    for outs in adj {
        for &y in outs {
            indeg[y] += 1;
        }
    }
    let mut stack: Vec<usize> = (0..adj.len()).filter(|&x| indeg[x] == 0).collect();
    let mut seen = 0;
    while let Some(x) = stack.pop() {
        seen += 1;
        for &y in &adj[x] {
            indeg[y] -= 1;
            if indeg[y] == 0 {
                stack.push(y);
            }
        }
    }
    seen == adj.len()
}

/// Lists (`ordered`) and sets: see the module docs.
pub fn collection(ops: &[&Op], nil: Nil, ordered: bool) -> Achieved {
    let p = parts(ops, nil, &V::List(Vec::new()));
    // Each read's elements, matched to writes: every possible matching.
    let options: Vec<Vec<Vec<Id>>> = p.reads.iter().map(|r| matchings(&p, r, ordered)).collect();
    let mut achieved = Achieved(0);
    let mut choice = vec![0usize; options.len()];
    loop {
        let ids: Vec<&Vec<Id>> = (0..options.len()).map(|i| &options[i][choice[i]]).collect();
        achieved.add(satisfied_collection(&p, &ids, ordered));
        if achieved.all() || !next_choice(&mut choice, &options) {
            return achieved;
        }
    }
}

/// What an element of a read is: a write, or the `rank`-th element equal to
/// `value` that no write accounts for (an unknown writer's).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Id {
    Write(usize),
    Unknown(V, usize),
}

/// Every way to match read `r`'s elements to the writes that made them; an
/// element no write accounts for is an unknown writer's. In a list each element is one
/// append (distinct ones); in a set an element stands for a non-empty subset
/// of the adds of that value (a replica holding any of them shows it once).
fn matchings(p: &Parts, r: &R, ordered: bool) -> Vec<Vec<Id>> {
    let V::List(elems) = &r.value else { return vec![vec![Id::Unknown(r.value.canon(), 0)]] };
    let writers = |e: &V| -> Vec<usize> { (0..p.writes.len()).filter(|&w| p.writes[w].value.same(e)).collect() };
    let mut out = Vec::new();
    if ordered {
        fn go(elems: &[V], writers: &dyn Fn(&V) -> Vec<usize>, cur: &mut Vec<Id>, out: &mut Vec<Vec<Id>>) {
            let Some(e) = elems.first() else {
                out.push(cur.clone());
                return;
            };
            let free: Vec<usize> = writers(e).into_iter().filter(|&w| !cur.contains(&Id::Write(w))).collect();
            if free.is_empty() {
                let rank = cur.iter().filter(|i| matches!(i, Id::Unknown(v, _) if v.same(e))).count();
                cur.push(Id::Unknown(e.canon(), rank));
                go(&elems[1..], writers, cur, out);
                cur.pop();
            }
            for w in free {
                cur.push(Id::Write(w));
                go(&elems[1..], writers, cur, out);
                cur.pop();
            }
        }
        go(elems, &writers, &mut Vec::new(), &mut out);
    } else {
        let mut distinct: Vec<V> = elems.iter().map(V::canon).collect();
        distinct.sort();
        distinct.dedup();
        out.push(Vec::new());
        for e in &distinct {
            let ws = writers(e);
            let mut next = Vec::new();
            for prefix in &out {
                if ws.is_empty() {
                    let mut x = prefix.clone();
                    x.push(Id::Unknown(e.clone(), 0));
                    next.push(x);
                }
                for subset in 1u32..(1 << ws.len()) {
                    let mut x = prefix.clone();
                    x.extend((0..ws.len()).filter(|i| subset & (1 << i) != 0).map(|i| Id::Write(ws[i])));
                    next.push(x);
                }
            }
            out = next;
        }
    }
    out
}

fn satisfied_collection(p: &Parts, ids: &[&Vec<Id>], ordered: bool) -> u8 {
    let pos = |r: usize, id: &Id| ids[r].iter().position(|x| x == id);
    // `a` is in read r and, for a list, before `b` (which it holds).
    let before = |r: usize, a: &Id, b: &Id| match (pos(r, a), pos(r, b)) {
        (Some(x), Some(y)) => !ordered || x < y,
        _ => false,
    };
    let (mut ryw, mut mr, mut mw, mut wfr) = (true, true, true, true);
    for (r, rd) in p.reads.iter().enumerate() {
        for (w, wr) in p.writes.iter().enumerate() {
            if wr.session == rd.session && wr.seq < rd.seq && pos(r, &Id::Write(w)).is_none() {
                ryw = false;
            }
            if wr.session == rd.session && wr.seq > rd.seq {
                // Every read holding w holds what rd read, before w.
                for r2 in 0..p.reads.len() {
                    if pos(r2, &Id::Write(w)).is_some() && !ids[r].iter().all(|x| before(r2, x, &Id::Write(w))) {
                        wfr = false;
                    }
                }
            }
        }
        for (r2, rd2) in p.reads.iter().enumerate() {
            if rd2.session == rd.session && rd2.seq > rd.seq && !ids[r].iter().all(|x| pos(r2, x).is_some()) {
                mr = false;
            }
        }
    }
    for (w1, a) in p.writes.iter().enumerate() {
        for (w2, b) in p.writes.iter().enumerate() {
            if a.session == b.session && a.seq < b.seq {
                for r in 0..p.reads.len() {
                    if pos(r, &Id::Write(w2)).is_some() && !before(r, &Id::Write(w1), &Id::Write(w2)) {
                        mw = false;
                    }
                }
            }
        }
    }
    [ryw, mr, mw, wfr].iter().enumerate().filter(|(_, &ok)| ok).fold(0, |m, (i, _)| m | 1 << i)
}

/// The distinct values of the writes (for generators and tests).
pub fn written_values(ops: &[&Op]) -> BTreeSet<V> {
    ops.iter().filter(|o| !o.f.is_read()).map(|o| o.input.canon()).collect()
}
