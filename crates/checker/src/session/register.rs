//! Session guarantees for registers.
//!
//! A read returns one version: the last, in the store's one version order,
//! of the writes its replica holds. So a read *reflects* a write iff the
//! write is at or before the version it returned, and each guarantee is a
//! set of constraints on the version order (Terry et al. 1994, applied to
//! one register):
//! - read-your-writes: a session's ok write precedes (or is) every version
//!   the session later reads;
//! - monotonic reads: each version a session reads precedes (or is) the
//!   next one it reads;
//! - monotonic writes: a session's writes are ordered as it made them;
//! - writes-follow-reads: every version a session read precedes what it
//!   later writes.
//!
//! Facts hold under every guarantee: the initial version precedes every
//! other; a cas `[a b]` read a version of `a`, which precedes its write of
//! `b`. The versions are the initial one, one per non-failed write op (so a
//! written `nil`, or a value written twice, is its own version), and one per
//! value that no such op wrote and that is not the initial value (an
//! unknown writer's). A read of `v` returned one of the versions of `v`;
//! when values repeat that is a choice. An info cas constrains only if it
//! happened, which it must have iff a read returned its write.
//!
//! A set of guarantees holds iff some choice of versions for the reads
//! admits one version order satisfying all their constraints and the facts,
//! that is iff the graph of those constraints has no cycle. When every read
//! has one possible version (unique values: the usual Jepsen history) the
//! graph is fixed and each set is one cycle test. Otherwise a backtracking
//! search over the reads' choices (bounded by [`SEARCH_LIMIT`]) decides it.
//!
//! Each guarantee requested alone is violated iff it does not hold. When
//! several are requested together they share one version order: a set of
//! them that holds alone but not together (a *minimal* failing set) means
//! at least one of its members was violated, and it is reported under each
//! as `joint-version-order`; a guarantee that fails alone is reported under
//! its own name. A guarantee in no minimal failing set is valid. The report
//! gives the shortest cycle per strongly connected component.

use super::explain::{anomaly, edge, lines, short};
use super::{Found, Guarantee, KeyOps};
use crate::history::{History, Op, Outcome, F};
use crate::read::NilRead;
use crate::report::{AnomalyDetail, AnomalyKind, CycleEdge, SessionCycle};
use crate::value::Value;
use crate::OpId;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;

/// Edges allowed per key; read-your-writes and writes-follow-reads add one
/// edge per (earlier op, later op) pair in a session, quadratic in the worst case.
const EDGE_LIMIT: usize = 20_000_000;
/// Own edges of one component tried as the start of a shortest cycle (each
/// try is a BFS over the component).
const CYCLE_TRIES: usize = 32;
/// Graph nodes visited by the search over repeated values' choices, per key,
/// before the key is `Unknown` (then the caller may still decide it: a
/// linearizable key satisfies every guarantee).
pub(crate) const SEARCH_LIMIT: u64 = 20_000_000;
/// Ambiguous reads named in an explanation.
const SHOWN_CHOICES: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Init,
    Cas,
    Ryw,
    Mr,
    Mw,
    Wfr,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Init => "initial-value",
            Kind::Cas => "cas",
            Kind::Mr => "session-order (reads)",
            Kind::Ryw => "session-order (write, then read)",
            Kind::Mw => "session-order (writes)",
            Kind::Wfr => "session-order (read, then write)",
        }
    }

    /// In the graph of the guarantees in `set` (a bit per guarantee).
    fn in_set(self, set: u8) -> bool {
        match self {
            Kind::Init | Kind::Cas => true,
            Kind::Ryw => set & bit(Guarantee::Ryw) != 0,
            Kind::Mr => set & bit(Guarantee::Mr) != 0,
            Kind::Mw => set & bit(Guarantee::Mw) != 0,
            Kind::Wfr => set & bit(Guarantee::Wfr) != 0,
        }
    }
}

fn bit(g: Guarantee) -> u8 {
    1 << g as u8
}

fn members(set: u8) -> Vec<Guarantee> {
    Guarantee::ALL.into_iter().filter(|&g| set & bit(g) != 0).collect()
}

/// What the register's versions and reads are judged against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Setup<'a> {
    pub nil_read: NilRead,
    /// The register's value before any write.
    pub initial: &'a Value,
}

/// A version of the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node<'a> {
    Initial,
    /// Written by this (non-failed) op.
    Write(OpId),
    /// Of an unknown writer of this value.
    Unknown(&'a Value),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub kind: Kind,
    pub from: u32,
    pub to: u32,
    /// The earlier and the later op that imply the edge (none for `Init`).
    pub ops: Option<(OpId, OpId)>,
}

/// A read, or a cas's reading of its old value.
struct Read {
    op: OpId,
    /// The versions it may have returned (node ids).
    cands: Cands,
    /// For a cas: its write (index into `writes`).
    cas_write: Option<usize>,
    /// An info cas's read: it happened only if the cas did.
    optional: bool,
    session: usize,
    /// Ok writes of its session before it: `sessions[session].ok_writes[..n]`.
    ok_writes_before: usize,
    /// Writes of its session after it: `sessions[session].writes[n..]`.
    writes_after: usize,
}

struct Write {
    op: OpId,
    node: u32,
}

/// A read's candidate versions: almost always one (unique written values),
/// kept inline so that a key's reads do not each allocate.
enum Cands {
    One([u32; 1]),
    Many(Vec<u32>),
}

impl std::ops::Deref for Cands {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        match self {
            Cands::One(c) => c,
            Cands::Many(c) => c,
        }
    }
}

#[derive(Default)]
struct Session {
    /// Reads in session order.
    reads: Vec<usize>,
    /// Non-failed writes in session order.
    writes: Vec<usize>,
    /// Ok writes in session order.
    ok_writes: Vec<usize>,
}

/// One key's versions, reads and writes.
struct Versions<'a> {
    nodes: Vec<Node<'a>>,
    reads: Vec<Read>,
    writes: Vec<Write>,
    sessions: Vec<Session>,
    initial: &'a Value,
}

impl<'a> Versions<'a> {
    fn value(&self, k: &KeyOps<'a>, n: u32) -> &'a Value {
        match self.nodes[n as usize] {
            Node::Initial => self.initial,
            Node::Write(op) => written(k.h.op(op)),
            Node::Unknown(v) => v,
        }
    }
}

/// Cas values are `[old new]`.
fn cas_parts(op: &Op) -> Result<(&Value, &Value), String> {
    match op.input.as_seq() {
        Some([old, new]) => Ok((old, new)),
        _ => Err(format!("cas at line {} has value {}, not [old new]", op.invoke_line, short(&op.input))),
    }
}

/// The value a write or cas wrote.
fn written(op: &Op) -> &Value {
    match (op.f == F::Cas, op.input.as_seq()) {
        (true, Some([_, new])) => new,
        _ => &op.input,
    }
}

/// Collects one key's versions and reads. Errors are reasons for `Unknown`.
fn build<'a>(k: &KeyOps<'a>, setup: Setup<'a>) -> Result<Versions<'a>, String> {
    let h = k.h;
    let mut v = Versions {
        nodes: vec![Node::Initial],
        reads: Vec::new(),
        writes: Vec::new(),
        sessions: Vec::new(),
        initial: setup.initial,
    };
    // Reads' values, resolved to versions once every write is known.
    let mut read_values: Vec<&'a Value> = Vec::new();
    for (_, ops) in k.sessions() {
        let si = v.sessions.len();
        let mut s = Session::default();
        for id in ops {
            let op = h.op(id);
            if op.outcome == Outcome::Fail {
                continue;
            }
            let (read, write): (Option<&Value>, bool) = match op.f {
                F::Read if op.outcome == Outcome::Ok => match (&op.output, setup.nil_read) {
                    // A read of nil says nothing under Knossos's rule.
                    (Value::Nil, NilRead::Unknown) => (None, false),
                    (out, _) => (Some(out), false),
                },
                F::Read => (None, false),
                F::Write => (None, true),
                F::Cas => (Some(cas_parts(op)?.0), true),
                ref f => {
                    return Err(format!(
                        "operation `{f}` at line {} is not part of the register workload",
                        op.invoke_line
                    ))
                }
            };
            if let Some(x) = read {
                s.reads.push(v.reads.len());
                read_values.push(x);
                v.reads.push(Read {
                    op: id,
                    cands: Cands::Many(Vec::new()),
                    cas_write: write.then_some(v.writes.len()),
                    optional: op.outcome != Outcome::Ok,
                    session: si,
                    ok_writes_before: s.ok_writes.len(),
                    writes_after: s.writes.len() + usize::from(write),
                });
            }
            if write {
                s.writes.push(v.writes.len());
                if op.outcome == Outcome::Ok {
                    s.ok_writes.push(v.writes.len());
                }
                v.writes.push(Write { op: id, node: v.nodes.len() as u32 });
                v.nodes.push(Node::Write(id));
            }
        }
        v.sessions.push(s);
        if k.budget.expired() {
            return Err("deadline passed while checking this key".into());
        }
    }
    resolve_reads(h, &mut v, read_values);
    Ok(v)
}

/// Each read's candidate versions: the writes of its value (never a cas's
/// own), the initial version if it holds that value, else a version of an
/// unknown writer of its own (one per value).
fn resolve_reads<'a>(h: &'a History, v: &mut Versions<'a>, read_values: Vec<&'a Value>) {
    // Each value's first writer, and any further ones (values are usually
    // unique: no vector per value).
    let mut writers: FxHashMap<&Value, (usize, Vec<usize>)> = FxHashMap::default();
    for (i, w) in v.writes.iter().enumerate() {
        writers.entry(written(h.op(w.op))).and_modify(|(_, more)| more.push(i)).or_insert((i, Vec::new()));
    }
    let mut unknown: FxHashMap<&Value, u32> = FxHashMap::default();
    let mut cands: Vec<u32> = Vec::new();
    for (r, x) in read_values.into_iter().enumerate() {
        let own = v.reads[r].cas_write;
        cands.clear();
        if let Some((first, more)) = writers.get(x) {
            cands.extend(
                std::iter::once(first)
                    .chain(more)
                    .filter(|&&w| Some(w) != own) // a cas never reads its own write
                    .map(|&w| v.writes[w].node),
            );
        }
        if x == v.initial {
            cands.push(0);
        }
        if cands.is_empty() {
            let n = *unknown.entry(x).or_insert_with(|| {
                v.nodes.push(Node::Unknown(x));
                v.nodes.len() as u32 - 1
            });
            cands.push(n);
        }
        v.reads[r].cands = match cands[..] {
            [c] => Cands::One([c]),
            _ => Cands::Many(cands.clone()),
        };
    }
}

/// Which version each read returned (`None`: an info cas that did not happen).
type Choice = Vec<Option<u32>>;

/// Every constraint under a choice, deduplicated.
fn edges(v: &Versions, choice: &Choice) -> Result<Vec<Edge>, String> {
    let mut out: Vec<Edge> = Vec::new();
    let mut seen: FxHashSet<(u32, u32, Kind)> = FxHashSet::default();
    let mut push = |out: &mut Vec<Edge>, kind: Kind, from: u32, to: u32, ops: Option<(OpId, OpId)>| {
        if (from != to || matches!(kind, Kind::Cas | Kind::Mw | Kind::Wfr)) && seen.insert((from, to, kind)) {
            if out.len() >= EDGE_LIMIT {
                return Err(format!("more than {EDGE_LIMIT} version-order constraints on this key"));
            }
            out.push(Edge { kind, from, to, ops });
        }
        Ok(())
    };
    for n in 1..v.nodes.len() as u32 {
        push(&mut out, Kind::Init, 0, n, None)?;
    }
    for s in &v.sessions {
        for pair in s.writes.windows(2) {
            let (a, b) = (&v.writes[pair[0]], &v.writes[pair[1]]);
            push(&mut out, Kind::Mw, a.node, b.node, Some((a.op, b.op)))?;
        }
        let mut prev: Option<(u32, OpId)> = None;
        // A repeat of the previous read's version with no write between adds
        // no read-your-writes constraint.
        let mut ryw_done: Option<(u32, usize)> = None;
        let mut wfr_seen: FxHashSet<u32> = FxHashSet::default();
        for &r in &s.reads {
            let Some(x) = choice[r] else { continue };
            let rd = &v.reads[r];
            if let Some((p, pop)) = prev {
                push(&mut out, Kind::Mr, p, x, Some((pop, rd.op)))?;
            }
            prev = Some((x, rd.op));
            if ryw_done != Some((x, rd.ok_writes_before)) {
                for &w in &s.ok_writes[..rd.ok_writes_before] {
                    push(&mut out, Kind::Ryw, v.writes[w].node, x, Some((v.writes[w].op, rd.op)))?;
                }
                ryw_done = Some((x, rd.ok_writes_before));
            }
            if let Some(w) = rd.cas_write {
                push(&mut out, Kind::Cas, x, v.writes[w].node, Some((rd.op, rd.op)))?;
            }
            // A version read once constrains every later write; later reads
            // of it add nothing.
            if wfr_seen.insert(x) {
                for &w in &s.writes[rd.writes_after..] {
                    push(&mut out, Kind::Wfr, x, v.writes[w].node, Some((rd.op, v.writes[w].op)))?;
                }
            }
        }
    }
    Ok(out)
}

fn graph_of(nodes: usize, edges: &[Edge], keep: impl Fn(&Edge) -> bool) -> DiGraph<(), u32> {
    let mut graph: DiGraph<(), u32> = DiGraph::with_capacity(nodes, edges.len());
    for _ in 0..nodes {
        graph.add_node(());
    }
    for (i, e) in edges.iter().enumerate() {
        if keep(e) {
            graph.add_edge(NodeIndex::new(e.from as usize), NodeIndex::new(e.to as usize), i as u32);
        }
    }
    graph
}

/// Strongly connected components that hold a cycle (two or more nodes, or
/// one with an edge to itself).
fn cyclic_components(graph: &DiGraph<(), u32>) -> Vec<Vec<NodeIndex>> {
    tarjan_scc(graph)
        .into_iter()
        .filter(|scc| scc.len() > 1 || graph.edges(scc[0]).any(|e| e.target() == scc[0]))
        .collect()
}

/// Decides the `wanted` guarantees on one key (the others come back empty):
/// each alone when one is wanted, and the minimal failing sets of them when
/// several are (see the module docs).
pub(crate) fn check(k: &KeyOps, wanted: &[Guarantee], setup: Setup) -> [Found; 4] {
    let v = match build(k, setup) {
        Ok(v) => v,
        Err(reason) => return std::array::from_fn(|_| Found::Unknown(reason.clone())),
    };
    let requested = wanted.iter().fold(0u8, |m, &g| m | bit(g));
    let mut found: [Found; 4] = std::array::from_fn(|_| Found::empty());
    let forced: Option<Choice> = forced_choice(&v);
    let unknown = |reason: String| -> [Found; 4] { std::array::from_fn(|_| Found::Unknown(reason.clone())) };
    // The fixed choice (unique values), or the reads that have one version
    // for the search's base.
    let base_choice: Choice = match &forced {
        Some(c) => c.clone(),
        None => v.reads.iter().map(|r| (r.cands.len() == 1 && !r.optional).then(|| r.cands[0])).collect(),
    };
    let base = match edges(&v, &base_choice) {
        Ok(e) => e,
        Err(reason) => return unknown(reason),
    };
    // Fast path: nothing requested has a cycle even together.
    if forced.is_some() && cyclic_components(&graph_of(v.nodes.len(), &base, |e| e.kind.in_set(requested))).is_empty() {
        return found;
    }
    if k.budget.expired() {
        return unknown("deadline passed while checking this key".into());
    }
    if forced.is_some() {
        blame_parts(&v, &base, requested, &mut |set, f| {
            for g in members(requested).into_iter().filter(|&g| set == 0 || set & bit(g) != 0) {
                let f = f.clone();
                found[g as usize].push(|| f.into_anomaly(k, &v, g, set));
            }
        });
        return found;
    }
    let mut search = Search { v: &v, steps: 0, k };
    // holds[set] for every subset of the requested guarantees.
    let mut holds = [true; 16];
    for set in (0..16u8).filter(|s| s & !requested == 0) {
        // A set fails if any subset fails (constraints only add up).
        if (0..set).any(|sub| sub & !set == 0 && !holds[sub as usize]) {
            holds[set as usize] = false;
            continue;
        }
        if k.budget.expired() {
            return unknown("deadline passed while checking this key".into());
        }
        holds[set as usize] = match search.satisfiable(set) {
            Ok(b) => b,
            Err(reason) => return unknown(reason),
        };
    }
    // The whole key is one part: the choices tie its versions together.
    let failing: Vec<u8> = if !holds[0] {
        vec![0]
    } else {
        (1..16u8)
            .filter(|s| s & !requested == 0)
            .filter(|&set| !holds[set as usize] && members(set).iter().all(|&g| holds[(set & !bit(g)) as usize]))
            .collect()
    };
    for set in failing {
        report_cycles(&v, &base, set, &mut |f| {
            for g in members(requested).into_iter().filter(|&g| set == 0 || set & bit(g) != 0) {
                let f = f.clone();
                found[g as usize].push(|| f.into_anomaly(k, &v, g, set));
            }
        });
    }
    found
}

/// With one fixed choice: each minimal failing part, as (set, finding).
/// A part is a strongly connected set of versions `X` in the graph of the
/// requested guarantees in `set` whose cycles all need every member's
/// constraints (without any one member, `X` can be ordered). A guarantee is
/// violated iff it is in such a set: alone (its own cycle), or with others
/// (`joint-version-order`: at least one of them was violated there). Parts
/// are judged apart, so evidence elsewhere on the key neither hides nor
/// explains them. A cycle of facts alone (set 0) is every guarantee's.
fn blame_parts(v: &Versions, base: &[Edge], requested: u8, out: &mut dyn FnMut(u8, Finding)) {
    let n = v.nodes.len();
    let facts = graph_of(n, base, |e| e.kind.in_set(0));
    let mut comp = vec![usize::MAX; n];
    for (ci, scc) in cyclic_components(&facts).iter().enumerate() {
        for x in scc {
            comp[x.index()] = ci;
        }
        if let Some(c) = shortest_cycle(&facts, base, &comp, ci, scc, |_| true) {
            out(0, Finding::Cycle(c.iter().map(|&e| base[e as usize]).collect()));
        }
    }
    let mut sets: Vec<u8> = (1..16u8).filter(|s| s & !requested == 0).collect();
    sets.sort_by_key(|s| (s.count_ones(), *s));
    for set in sets {
        let graph = graph_of(n, base, |e| e.kind.in_set(set));
        let mut comp = vec![usize::MAX; n];
        for (ci, scc) in cyclic_components(&graph).iter().enumerate() {
            let mut inside = vec![false; n];
            for x in scc {
                comp[x.index()] = ci;
                inside[x.index()] = true;
            }
            let minimal = members(set).iter().all(|&g| {
                let without = set & !bit(g);
                let part =
                    graph_of(n, base, |e| e.kind.in_set(without) && inside[e.from as usize] && inside[e.to as usize]);
                cyclic_components(&part).is_empty()
            });
            if !minimal {
                continue;
            }
            let own = |kind: Kind| !matches!(kind, Kind::Init | Kind::Cas);
            if let Some(c) = shortest_cycle(&graph, base, &comp, ci, scc, own) {
                out(set, Finding::Cycle(c.iter().map(|&e| base[e as usize]).collect()));
            }
        }
    }
}

/// A violation to explain: a cycle of constraints, or (when values repeat
/// and no cycle exists without choosing) the reads whose choices fail.
#[derive(Clone)]
enum Finding {
    Cycle(Vec<Edge>),
    NoChoice(Vec<usize>),
}

impl Finding {
    /// The anomaly reported under `g` for a failing `set` (0: the facts).
    fn into_anomaly(self, k: &KeyOps, v: &Versions, g: Guarantee, set: u8) -> crate::report::Anomaly {
        let gs = members(set);
        match self {
            _ if set == 0 => facts_anomaly(k, v, g, self),
            Finding::Cycle(c) if gs.len() == 1 => explain(k, v, g, &c),
            Finding::Cycle(c) => explain_joint(k, v, &gs, &c),
            Finding::NoChoice(reads) => explain_choices(k, v, &gs, &reads),
        }
    }
}

/// Calls `out` with each cycle of the constraint graph of `set` that holds
/// under every choice (shortest per component); if there is none (only the
/// choices fail), with the reads that have a choice.
fn report_cycles(v: &Versions, base: &[Edge], set: u8, out: &mut dyn FnMut(Finding)) {
    let graph = graph_of(v.nodes.len(), base, |e| e.kind.in_set(set));
    let mut any = false;
    let mut comp = vec![usize::MAX; v.nodes.len()];
    for (ci, scc) in cyclic_components(&graph).iter().enumerate() {
        for n in scc {
            comp[n.index()] = ci;
        }
        // Every cycle of a minimal failing set uses each member's edges; for
        // the facts alone, any edge starts one.
        let own = |kind: Kind| set == 0 || !matches!(kind, Kind::Init | Kind::Cas);
        if let Some(cycle) = shortest_cycle(&graph, base, &comp, ci, scc, own) {
            any = true;
            out(Finding::Cycle(cycle.iter().map(|&e| base[e as usize]).collect()));
        }
    }
    if !any {
        let ambiguous: Vec<usize> = (0..v.reads.len()).filter(|&r| v.reads[r].cands.len() > 1).collect();
        out(Finding::NoChoice(ambiguous));
    }
}

/// The one choice there is, when no read has a choice (unique values). An
/// info cas whose write no read returned did not happen; one whose write a
/// read returned did.
fn forced_choice(v: &Versions) -> Option<Choice> {
    let mut returned: FxHashSet<u32> = FxHashSet::default();
    for r in &v.reads {
        if r.cands.len() > 1 {
            return None;
        }
        if !r.optional {
            returned.insert(r.cands[0]);
        }
    }
    // Info cas reads that read another info cas's write: settle by fixpoint.
    let mut choice: Choice = v.reads.iter().map(|r| (!r.optional).then(|| r.cands[0])).collect();
    loop {
        let mut changed = false;
        for (i, r) in v.reads.iter().enumerate() {
            if choice[i].is_none() {
                let w = v.writes[r.cas_write.expect("optional reads are info cas reads")].node;
                if returned.contains(&w) {
                    choice[i] = Some(r.cands[0]);
                    returned.insert(r.cands[0]);
                    changed = true;
                }
            }
        }
        if !changed {
            return Some(choice);
        }
    }
}

/// Backtracking over the reads' choices of version, keeping the constraint
/// graph acyclic as edges are added (a new edge a -> b closes a cycle iff a
/// is reachable from b).
struct Search<'v, 'a, 'k> {
    v: &'v Versions<'a>,
    k: &'k KeyOps<'a>,
    steps: u64,
}

/// The constraint graph during the search: adjacency lists and an undo log.
struct Live {
    adj: Vec<Vec<u32>>,
    log: Vec<u32>,
    seen: Vec<u32>,
    stamp: u32,
}

impl Search<'_, '_, '_> {
    /// Whether some choice satisfies the guarantees in `set` with the facts.
    fn satisfiable(&mut self, set: u8) -> Result<bool, String> {
        let v = self.v;
        let mut live =
            Live { adj: vec![Vec::new(); v.nodes.len()], log: Vec::new(), seen: vec![0; v.nodes.len()], stamp: 0 };
        let mut choice: Choice = vec![None; v.reads.len()];
        if set & bit(Guarantee::Mw) != 0 {
            for s in &v.sessions {
                for pair in s.writes.windows(2) {
                    if !self.add(&mut live, v.writes[pair[0]].node, v.writes[pair[1]].node, true)? {
                        return Ok(false);
                    }
                }
            }
        }
        // Reads with one version first (no branching), then the others in
        // session order, info cas reads last.
        let mut order: Vec<usize> = (0..v.reads.len()).collect();
        order.sort_by_key(|&r| (v.reads[r].optional, v.reads[r].cands.len() > 1, v.reads[r].session, r));
        self.dfs(set, &order, 0, &mut choice, &mut live)
    }

    fn dfs(
        &mut self,
        set: u8,
        order: &[usize],
        i: usize,
        choice: &mut Choice,
        live: &mut Live,
    ) -> Result<bool, String> {
        let v = self.v;
        let Some(&r) = order.get(i) else {
            // An info cas that did not happen cannot have been read.
            let ok = v.reads.iter().enumerate().all(|(x, rd)| {
                !rd.optional || choice[x].is_some() || {
                    let w = v.writes[rd.cas_write.expect("info cas read")].node;
                    !choice.contains(&Some(w))
                }
            });
            return Ok(ok);
        };
        let rd = &v.reads[r];
        let mut options: Vec<Option<u32>> = rd.cands.iter().map(|&c| Some(c)).collect();
        if rd.optional {
            options.insert(0, None);
        }
        for opt in options {
            let mark = live.log.len();
            choice[r] = opt;
            let fits = match opt {
                None => true,
                Some(x) => self.assign(set, r, x, choice, live)?,
            };
            if fits && self.dfs(set, order, i + 1, choice, live)? {
                return Ok(true);
            }
            while live.log.len() > mark {
                let from = live.log.pop().expect("logged");
                live.adj[from as usize].pop();
            }
            choice[r] = None;
        }
        Ok(false)
    }

    /// Adds read `r`'s constraints with version `x` against everything
    /// already decided; false if one closes a cycle.
    fn assign(&mut self, set: u8, r: usize, x: u32, choice: &Choice, live: &mut Live) -> Result<bool, String> {
        let v = self.v;
        let rd = &v.reads[r];
        let s = &v.sessions[rd.session];
        if let Some(w) = rd.cas_write {
            if !self.add(live, x, v.writes[w].node, true)? {
                return Ok(false);
            }
        }
        if set & bit(Guarantee::Ryw) != 0 {
            for &w in &s.ok_writes[..rd.ok_writes_before] {
                if !self.add(live, v.writes[w].node, x, false)? {
                    return Ok(false);
                }
            }
        }
        if set & bit(Guarantee::Wfr) != 0 {
            for &w in &s.writes[rd.writes_after..] {
                if !self.add(live, x, v.writes[w].node, true)? {
                    return Ok(false);
                }
            }
        }
        if set & bit(Guarantee::Mr) != 0 {
            // Edges to the nearest decided reads before and after: implied by
            // the session's chain whatever the reads between return (they
            // happened: only a session's last op can be an info cas).
            let at = s.reads.iter().position(|&y| y == r).expect("in its session");
            if let Some(p) = s.reads[..at].iter().rev().find_map(|&y| choice[y]) {
                if !self.add(live, p, x, false)? {
                    return Ok(false);
                }
            }
            if let Some(n) = s.reads[at + 1..].iter().find_map(|&y| choice[y]) {
                if !self.add(live, x, n, false)? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Adds `from -> to` (`strict`: they must differ); false if that is
    /// impossible.
    fn add(&mut self, live: &mut Live, from: u32, to: u32, strict: bool) -> Result<bool, String> {
        if from == to {
            return Ok(!strict);
        }
        if to == 0 {
            return Ok(false); // nothing precedes the initial version
        }
        if from == 0 {
            return Ok(true); // the initial version precedes every other
        }
        if self.reaches(live, to, from)? {
            return Ok(false);
        }
        live.adj[from as usize].push(to);
        live.log.push(from);
        Ok(true)
    }

    fn reaches(&mut self, live: &mut Live, from: u32, to: u32) -> Result<bool, String> {
        live.stamp += 1;
        let stamp = live.stamp;
        let mut stack = vec![from];
        live.seen[from as usize] = stamp;
        while let Some(n) = stack.pop() {
            self.steps += 1;
            if self.steps > SEARCH_LIMIT {
                return Err(format!(
                    "values repeat on this key, and choosing which write each read returned needs more than \
                     {SEARCH_LIMIT} steps"
                ));
            }
            if self.steps.is_multiple_of(4096) && self.k.budget.expired() {
                return Err("deadline passed while checking this key".into());
            }
            if n == to {
                return Ok(true);
            }
            for &m in &live.adj[n as usize] {
                if live.seen[m as usize] != stamp {
                    live.seen[m as usize] = stamp;
                    stack.push(m);
                }
            }
        }
        Ok(false)
    }
}

/// The shortest cycle of component `ci` through one of its `own` edges,
/// trying at most [`CYCLE_TRIES`] of them, earliest evidence first (so that
/// the report starts where the history does). Edge ids index `edges`.
fn shortest_cycle(
    graph: &DiGraph<(), u32>,
    edges: &[Edge],
    comp: &[usize],
    ci: usize,
    scc: &[NodeIndex],
    own: impl Fn(Kind) -> bool,
) -> Option<Vec<u32>> {
    let mut starts: Vec<u32> = scc
        .iter()
        .flat_map(|&n| graph.edges(n))
        .filter(|e| own(edges[*e.weight() as usize].kind) && comp[e.target().index()] == ci)
        .map(|e| *e.weight())
        .collect();
    starts.sort_unstable_by_key(|&e| (edges[e as usize].ops, e));
    starts.truncate(CYCLE_TRIES);
    starts
        .iter()
        .filter_map(|&e| {
            shortest_back(graph, edges, comp, ci, e).map(|mut path| {
                path.insert(0, e);
                path
            })
        })
        .min_by_key(|p| p.len())
}

/// Shortest path (edge ids) from edge `e`'s target back to its source inside component `ci`.
fn shortest_back(graph: &DiGraph<(), u32>, edges: &[Edge], comp: &[usize], ci: usize, e: u32) -> Option<Vec<u32>> {
    let (src, dst) = (edges[e as usize].to as usize, edges[e as usize].from as usize);
    let mut via: FxHashMap<usize, u32> = FxHashMap::default();
    let mut queue = VecDeque::from([src]);
    let mut visited: FxHashSet<usize> = FxHashSet::from_iter([src]);
    while let Some(n) = queue.pop_front() {
        if n == dst {
            let mut path = Vec::new();
            let mut at = dst;
            while at != src {
                let id = via[&at];
                path.push(id);
                at = edges[id as usize].from as usize;
            }
            path.reverse();
            return Some(path);
        }
        for ed in graph.edges(NodeIndex::new(n)) {
            let t = ed.target().index();
            if comp[t] == ci && visited.insert(t) {
                via.insert(t, *ed.weight());
                queue.push_back(t);
            }
        }
    }
    None
}

/// `read 4 (lines 5-6)` / `wrote 4 (lines 5-6)` / `did cas [4 7] (lines 5-6)`.
fn act(op: &Op) -> String {
    let status = match op.outcome {
        Outcome::Ok => "",
        Outcome::Info => ", info",
        Outcome::Fail => ", failed",
    };
    match op.f {
        F::Read => format!("read {} ({}{status})", short(&op.output), lines(op)),
        F::Write => format!("wrote {} ({}{status})", short(&op.input), lines(op)),
        _ => format!("did {} {} ({}{status})", op.f, short(&op.input), lines(op)),
    }
}

/// How a version is named in prose: its value, and when the value alone
/// does not identify it (written more than once, or also the initial
/// value), which write it is.
fn version_name(k: &KeyOps, v: &Versions, n: u32) -> String {
    let x = v.value(k, n);
    let same = (0..v.nodes.len() as u32).filter(|&m| v.value(k, m) == x).count();
    match v.nodes[n as usize] {
        _ if same < 2 => short(x),
        Node::Initial => format!("{} (the initial value)", short(x)),
        Node::Write(op) => format!("{} (written at {})", short(x), lines(k.h.op(op))),
        Node::Unknown(_) => format!("{} (of an unknown writer)", short(x)),
    }
}

/// A cycle edge by edge: the ops named (in order of mention), one sentence
/// per edge, the edges for the anomaly's detail, and `1 < 2 < 1`.
fn walk(k: &KeyOps, v: &Versions, cycle: &[Edge]) -> (Vec<OpId>, String, Vec<CycleEdge>, String) {
    let h = k.h;
    let val = |i: u32| version_name(k, v, i);
    let mut ops: Vec<OpId> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut detail = Vec::new();
    for e in cycle {
        let (x, y) = (val(e.from), val(e.to));
        let sentence = match (e.kind, e.ops) {
            (Kind::Init, _) | (_, None) => format!("{x} is the initial value, so it precedes {y}"),
            (Kind::Cas, Some((a, _))) => {
                let op = h.op(a);
                ops.push(a);
                format!(
                    "process {}'s cas ({}) replaced {x} with {y}, so {x} precedes {y}",
                    op.process_name(),
                    lines(op)
                )
            }
            (kind, Some((a, b))) => {
                let (oa, ob) = (h.op(a), h.op(b));
                ops.extend([a, b]);
                let tail = match kind {
                    Kind::Ryw => format!("read-your-writes needs {x} to precede {y}"),
                    Kind::Mr => format!("monotonic reads needs {x} to precede {y}"),
                    Kind::Mw => format!("monotonic writes needs {x} to precede {y}"),
                    Kind::Wfr => format!("writes-follow-reads needs {x} to precede {y}"),
                    Kind::Init | Kind::Cas => unreachable!("matched above"),
                };
                format!("process {} {} and later {}, so {tail}", oa.process_name(), act(oa), act(ob))
            }
        };
        parts.push(sentence);
        detail.push(edge(format!("version {x}"), e.kind.name(), format!("version {y}")));
    }
    let path: Vec<String> = cycle
        .iter()
        .map(|e| short(v.value(k, e.from)))
        .chain(cycle.first().map(|e| short(v.value(k, e.from))))
        .collect();
    (ops, parts.join("; "), detail, path.join(" < "))
}

fn explain(k: &KeyOps, v: &Versions, g: Guarantee, cycle: &[Edge]) -> crate::report::Anomaly {
    let (ops, parts, detail, path) = walk(k, v, cycle);
    let text = format!(
        "{} violated: it needs the register's versions in the order {path}, a cycle. In detail: {parts}.",
        capitalised(g.prose())
    );
    anomaly(k.h, g.kind(), &ops, text, detail)
}

/// `Read-your-writes`: a name that starts a sentence.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `a and b`, `a, b and c`.
fn prose_list(gs: &[Guarantee]) -> String {
    let names: Vec<&str> = gs.iter().map(|g| g.prose()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

fn explain_joint(k: &KeyOps, v: &Versions, involved: &[Guarantee], cycle: &[Edge]) -> crate::report::Anomaly {
    let (ops, parts, detail, path) = walk(k, v, cycle);
    let names = prose_list(involved);
    let text = format!(
        "At least one of {names} was violated: together they need the register's versions in the order {path}, \
         a cycle, though each may hold alone. In detail: {parts}."
    );
    let mut a = anomaly(k.h, AnomalyKind::JointVersionOrder, &ops, text, detail);
    if let Some(AnomalyDetail::Cycle(c)) = a.detail.as_deref_mut() {
        c.checks = Some(involved.iter().map(|g| g.check()).collect());
    }
    a
}

/// The facts alone (cas results) form a cycle: reported under `g`.
fn facts_anomaly(k: &KeyOps, v: &Versions, g: Guarantee, f: Finding) -> crate::report::Anomaly {
    match f {
        Finding::Cycle(cycle) => {
            let (ops, parts, detail, path) = walk(k, v, &cycle);
            let text = format!(
                "These results contradict each other, so no session guarantee can hold ({} violated): the facts \
                 alone need the register's versions in the order {path}, a cycle. In detail: {parts}.",
                g.prose()
            );
            anomaly(k.h, g.kind(), &ops, text, detail)
        }
        Finding::NoChoice(reads) => explain_choices(k, v, &[g], &reads),
    }
}

/// No choice of versions for the reads satisfies `set`, though no cycle
/// holds under every choice.
fn explain_choices(k: &KeyOps, v: &Versions, set: &[Guarantee], reads: &[usize]) -> crate::report::Anomaly {
    let h = k.h;
    let shown: Vec<String> = reads
        .iter()
        .take(SHOWN_CHOICES)
        .map(|&r| {
            let rd = &v.reads[r];
            let op = h.op(rd.op);
            let of: Vec<String> = rd
                .cands
                .iter()
                .map(|&c| match v.nodes[c as usize] {
                    Node::Initial => "the initial value".to_string(),
                    Node::Write(w) => format!("the write at {}", lines(h.op(w))),
                    Node::Unknown(_) => "an unknown writer".to_string(),
                })
                .collect();
            format!("process {}'s {} could have returned {}", op.process_name(), act(op), of.join(" or "))
        })
        .collect();
    let more = reads.len().saturating_sub(SHOWN_CHOICES);
    let more = if more > 0 { format!(" (and {more} more such reads)") } else { String::new() };
    let names = prose_list(set);
    let (kind, verdict) = match set {
        [g] => (g.kind(), format!("{} violated", g.prose())),
        _ => (AnomalyKind::JointVersionOrder, format!("each holds alone, so at least one of {names} was violated")),
    };
    let text = format!(
        "{}: whichever write each read returned, no order of the register's versions satisfies {names}. In \
         detail: values repeat on this key, so which write a read returned is a choice: {}{more}.",
        capitalised(&verdict),
        shown.join("; ")
    );
    let ops: Vec<OpId> = reads.iter().take(SHOWN_CHOICES).map(|&r| v.reads[r].op).collect();
    let mut a = anomaly(h, kind, &ops, text, Vec::new());
    if set.len() > 1 {
        let checks = Some(set.iter().map(|g| g.check()).collect());
        a.detail = Some(Box::new(AnomalyDetail::Cycle(SessionCycle { checks, cycle: Vec::new() })));
    }
    a
}
