//! Session guarantees for registers with unique written values.
//!
//! Reads return one value, so the version order is not revealed directly; it
//! is inferred. The version graph's nodes are values; its edges say "this
//! version precedes that one":
//! - facts: the initial value (`nil`) precedes every other; a cas replaces its
//!   old value with its new one;
//! - observed order: a session that read `a` and later `b` saw `a` before `b`
//!   (these are monotonic reads' own constraints, and the inferred order every
//!   other check relies on);
//! - per check: read-your-writes (a session's ok write precedes each value it
//!   later reads), monotonic writes (a session's writes in session order),
//!   writes-follow-reads (each value a session read precedes what it later writes).
//!
//! A check is violated iff the graph of facts, observed order and the check's
//! own edges has a cycle through one of its own edges: then no version order
//! satisfies it. The report gives the shortest such cycle (BFS inside the
//! strongly connected component). The requested checks are also judged
//! jointly, since the store has one version order, not one per guarantee: a
//! cycle in the graph of facts, observed order and every requested check's
//! own edges that no single check's graph explains (e.g. a session wrote 1,
//! then 2, then read 1) is a `joint-version-order` anomaly, reported under
//! each check whose edges it uses. Monotonic reads' edges are the observed
//! order every check already uses, so such a cycle always involves two or
//! more of read-your-writes, monotonic writes and writes-follow-reads.

use super::explain::{anomaly, edge, lines, short};
use super::{Found, Guarantee, KeyOps};
use crate::history::{Op, Outcome, F};
use crate::report::{AnomalyDetail, AnomalyKind, CycleEdge};
use crate::value::Value;
use crate::OpId;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::{HashMap, HashSet, VecDeque};

/// Edges allowed per key; read-your-writes and writes-follow-reads add one
/// edge per (earlier op, later op) pair in a session, quadratic in the worst case.
const EDGE_LIMIT: usize = 20_000_000;
/// Own edges of one component tried as the start of a shortest cycle (each
/// try is a BFS over the component).
const CYCLE_TRIES: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Init,
    Cas,
    Observed,
    Ryw,
    Mw,
    Wfr,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Init => "initial-value",
            Kind::Cas => "cas",
            Kind::Observed => "session-order (reads)",
            Kind::Ryw => "session-order (write, then read)",
            Kind::Mw => "session-order (writes)",
            Kind::Wfr => "session-order (read, then write)",
        }
    }

    fn own(g: Guarantee) -> Kind {
        match g {
            Guarantee::Ryw => Kind::Ryw,
            Guarantee::Mr => Kind::Observed,
            Guarantee::Mw => Kind::Mw,
            Guarantee::Wfr => Kind::Wfr,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub kind: Kind,
    pub from: u32,
    pub to: u32,
    /// The earlier and the later op that imply the edge (none for `Init`).
    pub ops: Option<(OpId, OpId)>,
}

/// The version graph's edges for one key.
pub(crate) struct Versions<'a> {
    pub values: Vec<&'a Value>,
    pub edges: Vec<Edge>,
    /// Value index -> the non-failed op that wrote it.
    pub writer: HashMap<u32, OpId>,
    /// Per ok read (and ok cas): (op, value index read).
    pub reads: Vec<(OpId, u32)>,
}

struct Builder<'a> {
    v: Versions<'a>,
    index: HashMap<&'a Value, u32>,
    seen: HashSet<(u32, u32, Kind)>,
}

impl<'a> Builder<'a> {
    fn node(&mut self, x: &'a Value) -> u32 {
        if let Some(&i) = self.index.get(x) {
            return i;
        }
        let i = self.v.values.len() as u32;
        self.v.values.push(x);
        self.index.insert(x, i);
        i
    }

    fn edge(&mut self, kind: Kind, from: u32, to: u32, ops: Option<(OpId, OpId)>) -> Result<(), String> {
        if from != to && self.seen.insert((from, to, kind)) {
            if self.v.edges.len() >= EDGE_LIMIT {
                return Err(format!("more than {EDGE_LIMIT} version-order constraints on this key"));
            }
            self.v.edges.push(Edge { kind, from, to, ops });
        }
        Ok(())
    }
}

/// Cas values are `[old new]`.
fn cas_parts(op: &Op) -> Result<(&Value, &Value), String> {
    match op.input.as_seq() {
        Some([old, new]) => Ok((old, new)),
        _ => Err(format!("cas at line {} has value {}, not [old new]", op.invoke_line, short(&op.input))),
    }
}

/// Builds the version graph's edges. Errors are reasons for `Unknown`.
pub(crate) fn build<'a>(k: &KeyOps<'a>) -> Result<Versions<'a>, String> {
    let h = k.h;
    let mut b = Builder {
        v: Versions { values: Vec::new(), edges: Vec::new(), writer: HashMap::new(), reads: Vec::new() },
        index: HashMap::new(),
        seen: HashSet::new(),
    };
    for (_, ops) in k.sessions() {
        // The session's previous read (value, op), for observed order.
        let mut prev_read: Option<(u32, OpId)> = None;
        // Distinct values read so far (first op reading each), for writes-follow-reads.
        let mut reads_so_far: Vec<(u32, OpId)> = Vec::new();
        let mut read_set: HashSet<u32> = HashSet::new();
        // Ok writes so far, for read-your-writes and monotonic writes.
        let mut ok_writes: Vec<(u32, OpId)> = Vec::new();
        // ok_writes.len() at the previous read: a repeat of the same value
        // with no write between adds no new constraint.
        let mut writes_at_prev_read = usize::MAX;
        for id in ops {
            let op = h.op(id);
            if op.outcome == Outcome::Fail {
                continue;
            }
            let (read, written): (Option<&Value>, Option<&Value>) = match op.f {
                F::Read if op.outcome == Outcome::Ok => (Some(&op.output), None),
                F::Read => (None, None),
                F::Write => (None, Some(&op.input)),
                F::Cas => {
                    let (old, new) = cas_parts(op)?;
                    (if op.outcome == Outcome::Ok { Some(old) } else { None }, Some(new))
                }
                ref f => {
                    return Err(format!(
                        "operation `{f}` at line {} is not part of the register workload",
                        op.invoke_line
                    ))
                }
            };
            if let Some(x) = read {
                let v = b.node(x);
                b.v.reads.push((id, v));
                let repeat = prev_read.is_some_and(|(p, _)| p == v) && writes_at_prev_read == ok_writes.len();
                if !repeat {
                    if let Some((p, pop)) = prev_read {
                        b.edge(Kind::Observed, p, v, Some((pop, id)))?;
                    }
                    for &(u, wop) in &ok_writes {
                        b.edge(Kind::Ryw, u, v, Some((wop, id)))?;
                    }
                }
                prev_read = Some((v, id));
                writes_at_prev_read = ok_writes.len();
                if read_set.insert(v) {
                    reads_so_far.push((v, id));
                }
            }
            if let Some(x) = written {
                let u = b.node(x);
                if let Some(&other) = b.v.writer.get(&u) {
                    return Err(format!(
                        "value {} is written twice (lines {} and {}); registers need unique written values",
                        short(x),
                        h.op(other).invoke_line,
                        op.invoke_line
                    ));
                }
                b.v.writer.insert(u, id);
                if let Some(old) = read {
                    let o = b.node(old);
                    b.edge(Kind::Cas, o, u, Some((id, id)))?;
                } else if op.f == F::Cas {
                    // An info cas: if it happened, it replaced `old`.
                    let (old, _) = cas_parts(op)?;
                    let o = b.node(old);
                    b.edge(Kind::Cas, o, u, Some((id, id)))?;
                }
                if let Some(&(w1, w1op)) = ok_writes.last() {
                    b.edge(Kind::Mw, w1, u, Some((w1op, id)))?;
                }
                for &(r, rop) in &reads_so_far {
                    b.edge(Kind::Wfr, r, u, Some((rop, id)))?;
                }
                if op.outcome == Outcome::Ok {
                    ok_writes.push((u, id));
                }
            }
        }
        if k.budget.expired() {
            return Err("deadline passed while checking this key".into());
        }
    }
    if let Some(&nil) = b.index.get(&Value::Nil) {
        for v in 0..b.v.values.len() as u32 {
            b.edge(Kind::Init, nil, v, None)?;
        }
    }
    Ok(b.v)
}

/// Decides the `wanted` guarantees on one key (the others come back empty).
/// Each is decided alone as described above; when two or more are wanted,
/// cycles that only their union of constraints has are reported as
/// [`AnomalyKind::JointVersionOrder`] under each check involved.
pub(crate) fn check(k: &KeyOps, wanted: &[Guarantee]) -> [Found; 4] {
    let v = match build(k) {
        Ok(v) => v,
        Err(reason) => return std::array::from_fn(|_| Found::Unknown(reason.clone())),
    };
    let is_wanted = |g: Guarantee| wanted.contains(&g);
    let mut found: [Found; 4] = std::array::from_fn(|_| Found::empty());
    // Fast path: every wanted check's graph is a subgraph of facts, all
    // observed order and every wanted check's own edges; if that union has no
    // cycle, nothing is violated, alone or jointly.
    let union_acyclic = {
        let graph = graph_of(&v, |_, e| wanted.iter().any(|&g| allowed(e.kind, Kind::own(g))));
        tarjan_scc(&graph).iter().all(|scc| scc.len() < 2)
    };
    if union_acyclic {
        return found;
    }
    let expired = || Found::Unknown("deadline passed while checking this key".into());
    if k.budget.expired() {
        return std::array::from_fn(|_| expired());
    }
    let contradictory = contradictory_observations(&v);
    // Edges inside a cycle of some single check's graph: those cycles are that
    // check's anomalies, so the joint search leaves them out.
    let mut explained = vec![false; v.edges.len()];
    for g in Guarantee::ALL.into_iter().filter(|&g| is_wanted(g)) {
        if k.budget.expired() {
            return std::array::from_fn(|_| expired());
        }
        let (f, comp) = find_cycles(k, &v, g, &contradictory);
        found[g as usize] = f;
        for (i, e) in v.edges.iter().enumerate() {
            let c = comp[e.from as usize];
            if c != usize::MAX && c == comp[e.to as usize] && in_graph(g, e, contradictory[i]) {
                explained[i] = true;
            }
        }
    }
    let joint: Vec<Guarantee> =
        [Guarantee::Ryw, Guarantee::Mw, Guarantee::Wfr].into_iter().filter(|&g| is_wanted(g)).collect();
    if joint.len() >= 2 {
        if k.budget.expired() {
            return std::array::from_fn(|_| expired());
        }
        for (cycle, involved) in joint_cycles(&v, &joint, &contradictory, &explained) {
            for &g in &involved {
                found[g as usize].push(|| explain_joint(k, &v, &involved, &cycle));
            }
        }
    }
    found
}

/// Whether edge `e` is in check `g`'s own graph (facts, observed order
/// without contradictory observations unless `g` is monotonic reads, own edges).
fn in_graph(g: Guarantee, e: &Edge, contradictory: bool) -> bool {
    allowed(e.kind, Kind::own(g)) && (g == Guarantee::Mr || !contradictory)
}

/// Cycles of the joint graph (facts, consistent observed order and the own
/// edges of the `joint` checks) that no single check's graph has: the graph
/// without `explained` edges, one shortest cycle per strongly connected
/// component, each with the checks whose own edges it uses (always two or
/// more: a cycle of one check's edges lies in that check's graph).
fn joint_cycles(
    v: &Versions,
    joint: &[Guarantee],
    contradictory: &[bool],
    explained: &[bool],
) -> Vec<(Vec<u32>, Vec<Guarantee>)> {
    let own = |kind: Kind| joint.iter().any(|&g| Kind::own(g) == kind);
    let graph = graph_of(v, |i, e| {
        !explained[i] && !contradictory[i] && (matches!(e.kind, Kind::Init | Kind::Cas | Kind::Observed) || own(e.kind))
    });
    let mut comp = vec![usize::MAX; v.values.len()];
    let mut out = Vec::new();
    for (ci, scc) in tarjan_scc(&graph).iter().enumerate() {
        if scc.len() < 2 {
            continue;
        }
        for n in scc {
            comp[n.index()] = ci;
        }
        if let Some(cycle) = shortest_cycle(&graph, v, &comp, ci, scc, own) {
            let involved: Vec<Guarantee> = joint
                .iter()
                .copied()
                .filter(|&g| cycle.iter().any(|&e| v.edges[e as usize].kind == Kind::own(g)))
                .collect();
            out.push((cycle, involved));
        }
    }
    out
}

fn graph_of(v: &Versions, keep: impl Fn(usize, &Edge) -> bool) -> DiGraph<(), u32> {
    let mut graph: DiGraph<(), u32> = DiGraph::with_capacity(v.values.len(), v.edges.len());
    for _ in 0..v.values.len() {
        graph.add_node(());
    }
    for (i, e) in v.edges.iter().enumerate() {
        if keep(i, e) {
            graph.add_edge(NodeIndex::new(e.from as usize), NodeIndex::new(e.to as usize), i as u32);
        }
    }
    graph
}

/// Observed-order edges inside a cycle of facts and observed order: they
/// contradict each other (monotonic reads reports them), so the other checks
/// do not infer the version order from them.
fn contradictory_observations(v: &Versions) -> Vec<bool> {
    let graph = graph_of(v, |_, e| matches!(e.kind, Kind::Init | Kind::Cas | Kind::Observed));
    let mut comp = vec![usize::MAX; v.values.len()];
    for (ci, scc) in tarjan_scc(&graph).iter().enumerate() {
        if scc.len() > 1 {
            for n in scc {
                comp[n.index()] = ci;
            }
        }
    }
    v.edges
        .iter()
        .map(|e| {
            e.kind == Kind::Observed
                && comp[e.from as usize] != usize::MAX
                && comp[e.from as usize] == comp[e.to as usize]
        })
        .collect()
}

fn allowed(kind: Kind, own: Kind) -> bool {
    matches!(kind, Kind::Init | Kind::Cas | Kind::Observed) || kind == own
}

/// `g`'s anomalies, and for each version the strongly connected component of
/// `g`'s graph it lies in, if that component has a reported cycle
/// (`usize::MAX` otherwise: e.g. a cycle of cas facts alone is nobody's).
fn find_cycles(k: &KeyOps, v: &Versions, g: Guarantee, contradictory: &[bool]) -> (Found, Vec<usize>) {
    let own = Kind::own(g);
    let graph = graph_of(v, |i, e| in_graph(g, e, contradictory[i]));
    let mut found = Found::empty();
    let mut comp = vec![usize::MAX; v.values.len()];
    let sccs = tarjan_scc(&graph);
    let mut reported = vec![false; sccs.len()];
    for (ci, scc) in sccs.iter().enumerate() {
        if scc.len() < 2 {
            continue; // no self-loops: edges never join a version to itself
        }
        for n in scc {
            comp[n.index()] = ci;
        }
        if let Some(cycle) = shortest_cycle(&graph, v, &comp, ci, scc, |kind| kind == own) {
            reported[ci] = true;
            found.push(|| explain(k, v, g, &cycle));
        }
    }
    for c in comp.iter_mut() {
        if *c != usize::MAX && !reported[*c] {
            *c = usize::MAX;
        }
    }
    (found, comp)
}

/// Shortest path (edge ids) from edge `e`'s target back to its source inside component `ci`.
/// The shortest cycle of component `ci` through one of its `own` edges,
/// trying at most [`CYCLE_TRIES`] of them, earliest evidence first (so that
/// the report starts where the history does).
fn shortest_cycle(
    graph: &DiGraph<(), u32>,
    v: &Versions,
    comp: &[usize],
    ci: usize,
    scc: &[NodeIndex],
    own: impl Fn(Kind) -> bool,
) -> Option<Vec<u32>> {
    let mut starts: Vec<u32> = scc
        .iter()
        .flat_map(|&n| graph.edges(n))
        .filter(|e| own(v.edges[*e.weight() as usize].kind) && comp[e.target().index()] == ci)
        .map(|e| *e.weight())
        .collect();
    starts.sort_unstable_by_key(|&e| (v.edges[e as usize].ops, e));
    starts.truncate(CYCLE_TRIES);
    starts
        .iter()
        .filter_map(|&e| {
            shortest_back(graph, v, comp, ci, e).map(|mut path| {
                path.insert(0, e);
                path
            })
        })
        .min_by_key(|p| p.len())
}

fn shortest_back(graph: &DiGraph<(), u32>, v: &Versions, comp: &[usize], ci: usize, e: u32) -> Option<Vec<u32>> {
    let (src, dst) = (v.edges[e as usize].to as usize, v.edges[e as usize].from as usize);
    let mut via: HashMap<usize, u32> = HashMap::new();
    let mut queue = VecDeque::from([src]);
    let mut visited: HashSet<usize> = HashSet::from([src]);
    while let Some(n) = queue.pop_front() {
        if n == dst {
            let mut path = Vec::new();
            let mut at = dst;
            while at != src {
                let id = via[&at];
                path.push(id);
                at = v.edges[id as usize].from as usize;
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

/// `read 4 (lines 5-6)` / `wrote 4 (lines 5-6, ok)` / `cas [4 7] (lines 5-6)`.
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

/// A cycle edge by edge: the ops named (in order of mention), one sentence
/// per edge, the edges for the anomaly's detail, and `1 < 2 < 1`.
fn walk(k: &KeyOps, v: &Versions, cycle: &[u32]) -> (Vec<OpId>, String, Vec<CycleEdge>, String) {
    let h = k.h;
    let val = |i: u32| short(v.values[i as usize]);
    let mut ops: Vec<OpId> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut detail = Vec::new();
    for &e in cycle {
        let e = v.edges[e as usize];
        let (x, y) = (val(e.from), val(e.to));
        let sentence = match (e.kind, e.ops) {
            (Kind::Init, _) | (_, None) => format!("{x} is the initial value, so it precedes {y}"),
            (Kind::Cas, Some((a, _))) => {
                let op = h.op(a);
                ops.push(a);
                format!("process {}'s cas ({}) replaced {x} with {y}, so {x} precedes {y}", op.process, lines(op))
            }
            (kind, Some((a, b))) => {
                let (oa, ob) = (h.op(a), h.op(b));
                ops.extend([a, b]);
                let tail = match kind {
                    Kind::Ryw => format!("read-your-writes needs {x} to precede {y}"),
                    Kind::Mw => format!("monotonic writes needs {x} to precede {y}"),
                    Kind::Wfr => format!("writes-follow-reads needs {x} to precede {y}"),
                    _ => format!("{x} precedes {y}"),
                };
                format!("process {} {} and later {}, so {tail}", oa.process, act(oa), act(ob))
            }
        };
        parts.push(sentence);
        detail.push(edge(format!("version {x}"), e.kind.name(), format!("version {y}")));
    }
    let path: Vec<String> = cycle
        .iter()
        .map(|&e| val(v.edges[e as usize].from))
        .chain(cycle.first().map(|&e| val(v.edges[e as usize].from)))
        .collect();
    (ops, parts.join("; "), detail, path.join(" < "))
}

fn explain(k: &KeyOps, v: &Versions, g: Guarantee, cycle: &[u32]) -> crate::report::Anomaly {
    let (ops, parts, detail, path) = walk(k, v, cycle);
    let text = format!(
        "{parts}; so {path} — a cycle: no order of the register's versions satisfies {}: {} violated",
        g.prose(),
        g.prose()
    );
    anomaly(k.h, g.kind(), &ops, text, detail)
}

/// `a and b`, `a, b and c`.
fn prose_list(gs: &[Guarantee]) -> String {
    let names: Vec<&str> = gs.iter().map(|g| g.prose()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

fn explain_joint(k: &KeyOps, v: &Versions, involved: &[Guarantee], cycle: &[u32]) -> crate::report::Anomaly {
    let (ops, parts, detail, path) = walk(k, v, cycle);
    let names = prose_list(involved);
    let text = format!(
        "{parts}; so {path} — a cycle that needs the constraints of {names} together: no single order of the \
         register's versions satisfies them all, so at least one of {names} was violated"
    );
    let mut a = anomaly(k.h, AnomalyKind::JointVersionOrder, &ops, text, detail);
    if let Some(AnomalyDetail::Cycle(c)) = a.detail.as_deref_mut() {
        c.checks = Some(involved.iter().map(|g| g.check()).collect());
    }
    a
}
