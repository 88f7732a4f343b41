//! Cycle search, strongly connected component by component.
//!
//! Every anomaly class is a constraint on the kinds of a cycle's edges
//! (Elle's classification): G0 only ww; G1c ww and wr with at least one wr;
//! G-single ww/wr and exactly one rw; G-nonadjacent two or more rw, no two
//! adjacent; G2-item two or more rw with two adjacent; the `-process` and
//! `-realtime` variants also take process (and real-time) edges and need at
//! least one of their own kind. Each constraint is a small automaton over
//! edge kinds, and a cycle of the class is a closed walk in the product of
//! the graph and the automaton. conch anchors the walk on an edge every such
//! cycle has (a ww, wr or rw, from which the automaton starts), then:
//!
//! 1. decides exactly which anchors close a cycle, 64 at a time, by
//!    propagating bit masks over the condensation of the product graph
//!    (linear per batch, so a G-single among thousands of G2-item cycles is
//!    found or ruled out, never guessed);
//! 2. finds the shortest cycle through the anchors that close one by 0-1
//!    BFS (hub edges cost nothing).
//!
//! Whether any cycle exists at all in a model's subgraph (Elle's
//! `cycle-exists` checks) is a strongly connected component computation on
//! the product, linear and exact; it rules classes in or out before the
//! searches and decides the models whose search a budget cut short.

use super::graph::{group_by_component, tarjan, Graph, HUB, PROCESS, REALTIME, RW, WR, WW};
use super::model::AnomalyKind as A;
use super::model::{self, AnomalyKind, Kinds, Model};
use crate::report::Budget;
use std::collections::VecDeque;

const LAST_RW: u8 = 1;
const SEEN_RW: u8 = 2;
const NEED_RW: u8 = 4;
const SEEN_VARIANT: u8 = 8;
const SEEN_WR: u8 = 16;

/// How anti-dependencies may appear on the walk after the anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RwMode {
    /// None.
    Forbidden,
    /// At least one more, never two in a row, not last (the anchor is rw).
    Nonadjacent,
    /// The first edge after the (rw) anchor is rw; then anything.
    AdjacentStart,
    /// Any (existence checks).
    Free,
    /// None; then read dependencies only, at least one (exactly one when
    /// `once`): read atomic's and causality's missed writes.
    Reads { once: bool },
}

/// A cycle class as an automaton over edge kinds.
#[derive(Clone, Copy, Debug)]
struct Spec {
    kind: AnomalyKind,
    anchor: u8,
    /// Bit per edge kind the walk may take.
    allowed: u8,
    mode: RwMode,
    /// `PROCESS` or `REALTIME`: at least one edge of it; 0 for none.
    variant: u8,
}

const fn bit(k: u8) -> u8 {
    1 << k
}

const DATA_WW: u8 = bit(WW);
const DATA_D: u8 = bit(WW) | bit(WR);
const DATA_ALL: u8 = bit(WW) | bit(WR) | bit(RW);

impl Spec {
    const fn new(kind: AnomalyKind, anchor: u8, allowed: u8, mode: RwMode, variant: u8) -> Spec {
        let extra = match variant {
            PROCESS => bit(PROCESS),
            REALTIME => bit(PROCESS) | bit(REALTIME),
            _ => 0,
        };
        Spec { kind, anchor, allowed: allowed | extra, mode, variant }
    }

    fn start(&self) -> u8 {
        match self.mode {
            RwMode::Nonadjacent => LAST_RW,
            RwMode::AdjacentStart => NEED_RW,
            RwMode::Forbidden | RwMode::Free | RwMode::Reads { .. } => 0,
        }
    }

    /// The state after taking an edge of kind `k` from state `s`, and the
    /// edge's cost (hub edges continue a step and cost nothing).
    fn step(&self, s: u8, k: u8) -> Option<(u8, u32)> {
        if k == HUB {
            return Some((s, 0));
        }
        if self.allowed & bit(k) == 0 {
            return None;
        }
        let mut s = s;
        if s & NEED_RW != 0 {
            if k != RW {
                return None;
            }
            s &= !NEED_RW;
        } else if k == RW {
            match self.mode {
                RwMode::Forbidden | RwMode::Reads { .. } => return None,
                RwMode::Nonadjacent if s & LAST_RW != 0 => return None,
                RwMode::Nonadjacent => s |= LAST_RW | SEEN_RW,
                RwMode::AdjacentStart | RwMode::Free => {}
            }
        } else if self.mode == RwMode::Nonadjacent {
            s &= !LAST_RW;
        } else if let RwMode::Reads { once } = self.mode {
            if once && s & SEEN_WR != 0 {
                return None;
            }
            s |= SEEN_WR;
        }
        if self.variant != 0 && k == self.variant {
            s |= SEEN_VARIANT;
        }
        Some((s, 1))
    }

    fn accepts(&self, s: u8) -> bool {
        let rw_ok = match self.mode {
            RwMode::Nonadjacent => s & LAST_RW == 0 && s & SEEN_RW != 0,
            RwMode::AdjacentStart => s & NEED_RW == 0,
            RwMode::Reads { .. } => s & SEEN_WR != 0,
            RwMode::Forbidden | RwMode::Free => true,
        };
        rw_ok && (self.variant == 0 || s & SEEN_VARIANT != 0)
    }

    /// The automaton's states reachable from the start, densely numbered.
    fn states(&self) -> Vec<u8> {
        let mut states = vec![self.start()];
        let mut i = 0;
        while i < states.len() {
            for k in [WW, WR, RW, PROCESS, REALTIME] {
                if let Some((t, _)) = self.step(states[i], k) {
                    if !states.contains(&t) {
                        states.push(t);
                    }
                }
            }
            i += 1;
        }
        states
    }
}

/// The cycle classes, in the order Elle searches them (most severe first),
/// then read atomic's and causal's missed writes.
const SPECS: [Spec; 17] = {
    use RwMode::*;
    [
        Spec::new(A::G0, WW, DATA_WW, Forbidden, 0),
        Spec::new(A::G1c, WR, DATA_D, Forbidden, 0),
        Spec::new(A::GSingle, RW, DATA_D, Forbidden, 0),
        Spec::new(A::GNonadjacent, RW, DATA_ALL, Nonadjacent, 0),
        Spec::new(A::G2Item, RW, DATA_ALL, AdjacentStart, 0),
        Spec::new(A::G0Process, WW, DATA_WW, Forbidden, PROCESS),
        Spec::new(A::G1cProcess, WR, DATA_D, Forbidden, PROCESS),
        Spec::new(A::GSingleProcess, RW, DATA_D, Forbidden, PROCESS),
        Spec::new(A::GNonadjacentProcess, RW, DATA_ALL, Nonadjacent, PROCESS),
        Spec::new(A::G2ItemProcess, RW, DATA_ALL, AdjacentStart, PROCESS),
        Spec::new(A::G0Realtime, WW, DATA_WW, Forbidden, REALTIME),
        Spec::new(A::G1cRealtime, WR, DATA_D, Forbidden, REALTIME),
        Spec::new(A::GSingleRealtime, RW, DATA_D, Forbidden, REALTIME),
        Spec::new(A::GNonadjacentRealtime, RW, DATA_ALL, Nonadjacent, REALTIME),
        Spec::new(A::G2ItemRealtime, RW, DATA_ALL, AdjacentStart, REALTIME),
        Spec::new(A::FracturedRead, RW, bit(WR), Reads { once: true }, 0),
        Spec::new(A::CausalityViolation, RW, bit(WR), Reads { once: false }, 0),
    ]
};

/// Elle's cycle-exists checks: is there any cycle in a model's subgraph?
/// (anomaly reported, the model it rules out, the automaton).
const EXISTS: [(AnomalyKind, Model, Spec); 12] = {
    use RwMode::*;
    [
        (A::Pl1CycleExists, Model::ReadUncommitted, Spec::new(A::G0, 0, DATA_WW, Forbidden, 0)),
        (A::Pl2CycleExists, Model::ReadCommitted, Spec::new(A::G1c, 0, DATA_D, Forbidden, 0)),
        (A::PlSiCycleExists, Model::SnapshotIsolation, Spec::new(A::GSingle, 0, DATA_ALL, Nonadjacent, 0)),
        (A::Pl3CycleExists, Model::Serializable, Spec::new(A::G2Item, 0, DATA_ALL, Free, 0)),
        (A::SsPl1CycleExists, Model::StrongSessionReadUncommitted, Spec::new(A::G0, 0, DATA_WW, Forbidden, PROCESS)),
        (A::SsPl2CycleExists, Model::StrongSessionReadCommitted, Spec::new(A::G1c, 0, DATA_D, Forbidden, PROCESS)),
        (
            A::SsSiCycleExists,
            Model::StrongSessionSnapshotIsolation,
            Spec::new(A::GSingle, 0, DATA_ALL, Nonadjacent, PROCESS),
        ),
        (A::SsSerCycleExists, Model::StrongSessionSerializable, Spec::new(A::G2Item, 0, DATA_ALL, Free, PROCESS)),
        (A::SPl1CycleExists, Model::StrongReadUncommitted, Spec::new(A::G0, 0, DATA_WW, Forbidden, REALTIME)),
        (A::SPl2CycleExists, Model::StrongReadCommitted, Spec::new(A::G1c, 0, DATA_D, Forbidden, REALTIME)),
        (A::SSiCycleExists, Model::StrongSnapshotIsolation, Spec::new(A::GSingle, 0, DATA_ALL, Nonadjacent, REALTIME)),
        (A::PlSsCycleExists, Model::StrictSerializable, Spec::new(A::G2Item, 0, DATA_ALL, Free, REALTIME)),
    ]
};

/// One step of a cycle: from transaction node `from` to node `to` by an
/// edge of `kind` (through hubs, when the edge is bundled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawStep {
    pub from: u32,
    pub to: u32,
    pub kind: u8,
}

/// A cycle found in one component.
#[derive(Clone, Debug, PartialEq)]
pub struct Cycle {
    pub kind: AnomalyKind,
    pub steps: Vec<RawStep>,
    /// Transactions in the strongly connected component it was found in.
    pub scc_txns: u32,
    /// True when not every anchor was tried, so a shorter cycle of this
    /// class may exist in the component.
    pub shortest_of_some: bool,
}

/// A search a budget cut short.
#[derive(Clone, Debug, PartialEq)]
pub struct Cut {
    pub kind: AnomalyKind,
    pub scc_txns: u32,
    pub reason: String,
}

/// What the searches found in one component.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SccResult {
    pub cycles: Vec<Cycle>,
    /// Cycle-exists facts that hold, with the component's size.
    pub exists: Vec<AnomalyKind>,
    pub cut: Vec<Cut>,
    pub scc_txns: u32,
}

/// The class of a cycle by Elle's rules, from its steps' kinds.
pub fn classify(steps: &[RawStep]) -> Option<AnomalyKind> {
    let count = |k: u8| steps.iter().filter(|s| s.kind == k).count();
    let (ww, wr, rw, process, realtime) = (count(WW), count(WR), count(RW), count(PROCESS), count(REALTIME));
    let n = steps.len();
    let adjacent = (0..n).any(|i| steps[i].kind == RW && steps[(i + 1) % n].kind == RW);
    let base = match rw {
        1 => 2,
        r if r > 1 && adjacent => 4,
        r if r > 1 => 3,
        _ if wr > 0 => 1,
        _ if ww > 0 => 0,
        _ => return None,
    };
    let variant = if realtime > 0 {
        10
    } else if process > 0 {
        5
    } else {
        0
    };
    Some(SPECS[base + variant].kind)
}

/// Is the closed walk `steps` of class `kind`? Read atomic's and
/// causality's classes are G-singles whose other steps are all wr (one of
/// them, for a fractured read).
pub fn is_of(steps: &[RawStep], kind: AnomalyKind) -> bool {
    let wr_only = |n: usize| {
        steps.iter().filter(|s| s.kind == RW).count() == 1
            && steps.iter().all(|s| s.kind == RW || s.kind == WR)
            && steps.len() > n
    };
    match kind {
        A::FracturedRead => wr_only(1) && steps.len() == 2,
        A::CausalityViolation => wr_only(1),
        _ => classify(steps) == Some(kind),
    }
}

/// A closed walk that passes a transaction twice splits there into two
/// closed walks; keeps whichever is still of class `kind`, until the walk is
/// a simple cycle or neither half is (then the walk itself is reported: it
/// is still a proof, Cerone and Gotsman's characterisations being about
/// walks).
pub fn simplify(mut steps: Vec<RawStep>, kind: AnomalyKind) -> Vec<RawStep> {
    'again: loop {
        for i in 0..steps.len() {
            for j in i + 1..steps.len() {
                if steps[i].from != steps[j].from {
                    continue;
                }
                let inner: Vec<RawStep> = steps[i..j].to_vec();
                let outer: Vec<RawStep> = steps[..i].iter().chain(&steps[j..]).copied().collect();
                for half in [outer, inner] {
                    if is_of(&half, kind) {
                        steps = half;
                        continue 'again;
                    }
                }
            }
        }
        return steps;
    }
}

/// Work (edges scanned) one class's search may do in one component.
pub const SEARCH_WORK_MAX: u64 = 400_000_000;
/// Edges of a product graph one search may build.
const PRODUCT_EDGES_MAX: usize = 200_000_000;
/// Components up to this many product nodes get every anchor tried, so the
/// cycle reported is the shortest of its class in the component.
const EXHAUSTIVE_NODES_MAX: usize = 20_000;
/// Otherwise, the shortest of at most this many anchors that close a cycle.
const ANCHORS_TRIED_MAX: usize = 64;

/// One strongly connected component of the whole graph, ready to search.
pub struct Component<'g> {
    g: &'g Graph,
    /// Global node -> component number (for all components at once).
    comp: &'g [u32],
    /// Global node -> index within its component.
    local: &'g [u32],
    id: u32,
    /// The component's nodes, in increasing order.
    nodes: &'g [u32],
}

/// The product of a component with one automaton, in compressed rows.
struct Product {
    ns: usize,
    states: Vec<u8>,
    off: Vec<u32>,
    to: Vec<u32>,
    /// Global edge index of each product edge.
    edge: Vec<u32>,
    cost: Vec<u8>,
}

impl<'g> Component<'g> {
    pub fn new(g: &'g Graph, comp: &'g [u32], local: &'g [u32], id: u32, nodes: &'g [u32]) -> Component<'g> {
        Component { g, comp, local, id, nodes }
    }

    fn txns(&self) -> u32 {
        self.nodes.iter().filter(|&&n| self.g.is_txn(n)).count() as u32
    }

    fn inside(&self, n: u32) -> bool {
        self.comp[n as usize] == self.id
    }

    fn product(&self, spec: &Spec) -> Result<Product, String> {
        let states = spec.states();
        let ns = states.len();
        let dense = |s: u8| states.iter().position(|&x| x == s).expect("closed under steps") as u32;
        let n = self.nodes.len() * ns;
        let mut off = Vec::with_capacity(n + 1);
        let (mut to, mut edge, mut cost) = (Vec::new(), Vec::new(), Vec::new());
        off.push(0u32);
        for &x in self.nodes {
            for &s in &states {
                for i in self.g.edges(x) {
                    let y = self.g.to[i];
                    if !self.inside(y) {
                        continue;
                    }
                    if let Some((t, c)) = spec.step(s, self.g.kinds[i]) {
                        to.push(self.local[y as usize] * ns as u32 + dense(t));
                        edge.push(i as u32);
                        cost.push(c as u8);
                    }
                }
                if to.len() > PRODUCT_EDGES_MAX {
                    return Err(format!("the product graph for {} would exceed {PRODUCT_EDGES_MAX} edges", spec.kind));
                }
                off.push(to.len() as u32);
            }
        }
        Ok(Product { ns, states, off, to, edge, cost })
    }

    /// Is there any cycle in the subgraph of `spec` (Elle's cycle-exists)?
    fn any_cycle(&self, spec: &Spec) -> bool {
        let states = spec.states();
        let ns = states.len();
        let n = self.nodes.len() * ns;
        let (comp, count) = tarjan(n, |p, out| {
            let x = self.nodes[p as usize / ns];
            let s = states[p as usize % ns];
            for i in self.g.edges(x) {
                let y = self.g.to[i];
                if self.inside(y) {
                    if let Some((t, _)) = spec.step(s, self.g.kinds[i]) {
                        let d = states.iter().position(|&q| q == t).expect("closed") as u32;
                        out.push(self.local[y as usize] * ns as u32 + d);
                    }
                }
            }
        });
        (count as usize) < comp.len()
    }

    /// Searches for a cycle of `spec`'s class: `Ok(None)` when there is none.
    fn find(&self, spec: &Spec, budget: &Budget, work_max: u64) -> Result<Option<Cycle>, String> {
        let g = self.g;
        // Anchors: (u, anchor edge), u a transaction.
        let mut anchors: Vec<(u32, u32)> = Vec::new();
        for &u in self.nodes {
            if !g.is_txn(u) {
                continue;
            }
            for i in g.edges(u) {
                if g.kinds[i] == spec.anchor && self.inside(g.to[i]) {
                    anchors.push((u, i as u32));
                }
            }
        }
        if anchors.is_empty() {
            return Ok(None);
        }
        let p = self.product(spec)?;
        let ns = p.ns;
        let start = p.states.iter().position(|&s| s == spec.start()).expect("start state") as u32;
        let accepting: Vec<u32> = (0..ns as u32).filter(|&d| spec.accepts(p.states[d as usize])).collect();
        let pn = |n: u32, d: u32| self.local[n as usize] * ns as u32 + d;
        let (pcomp, ncomps) = tarjan(p.off.len() - 1, |v, out| {
            out.extend_from_slice(&p.to[p.off[v as usize] as usize..p.off[v as usize + 1] as usize])
        });
        // Members of each product component, for propagation.
        let (moff, members) = group_by_component(&pcomp, ncomps);
        // Each anchor's seed component and target components.
        struct Anchor {
            u: u32,
            edge: u32,
            seed: u32,
            targets: Vec<u32>,
        }
        let mut cands: Vec<Anchor> = anchors
            .iter()
            .map(|&(u, e)| {
                let seed = pcomp[pn(g.to[e as usize], start) as usize];
                let mut targets: Vec<u32> = accepting.iter().map(|&d| pcomp[pn(u, d) as usize]).collect();
                targets.sort_unstable();
                targets.dedup();
                Anchor { u, edge: e, seed, targets }
            })
            // Components are numbered so that edges never go up.
            .filter(|a| a.targets.iter().any(|&t| t <= a.seed))
            .collect();
        cands.sort_by_key(|a| (std::cmp::Reverse(a.seed), a.edge));
        let exhaustive = pcomp.len() <= EXHAUSTIVE_NODES_MAX;
        let mut closing: Vec<usize> = Vec::new();
        let mut mask = vec![0u64; ncomps as usize];
        let mut touched: Vec<u32> = Vec::new();
        let mut work: u64 = 0;
        for (b, batch) in cands.chunks(64).enumerate() {
            if budget.expired() {
                return Err(format!("timeout while searching for {}", spec.kind));
            }
            work += batch.len() as u64;
            let hi = batch.iter().map(|a| a.seed).max().expect("non-empty batch");
            let lo = batch.iter().flat_map(|a| a.targets.iter().copied()).min().expect("targets");
            for (i, a) in batch.iter().enumerate() {
                if mask[a.seed as usize] == 0 {
                    touched.push(a.seed);
                }
                mask[a.seed as usize] |= 1 << i;
            }
            for c in (lo..=hi).rev() {
                let m = mask[c as usize];
                if m == 0 {
                    continue;
                }
                for &v in &members[moff[c as usize] as usize..moff[c as usize + 1] as usize] {
                    let (s, z) = (p.off[v as usize] as usize, p.off[v as usize + 1] as usize);
                    work += (z - s) as u64;
                    for &w in &p.to[s..z] {
                        let d = pcomp[w as usize];
                        if d != c && d >= lo {
                            if mask[d as usize] == 0 {
                                touched.push(d);
                            }
                            mask[d as usize] |= m;
                        }
                    }
                }
            }
            for (i, a) in batch.iter().enumerate() {
                if a.targets.iter().any(|&t| mask[t as usize] & (1 << i) != 0) {
                    closing.push(b * 64 + i);
                }
            }
            for t in touched.drain(..) {
                mask[t as usize] = 0;
            }
            if work > work_max {
                if closing.is_empty() {
                    return Err(format!(
                        "search for {} gave up after {work} edge visits ({} of {} anchors decided)",
                        spec.kind,
                        (b + 1) * 64,
                        cands.len()
                    ));
                }
                break;
            }
            if !exhaustive && !closing.is_empty() {
                break;
            }
        }
        if closing.is_empty() {
            return Ok(None);
        }
        let tried_all = exhaustive || closing.len() <= ANCHORS_TRIED_MAX && cands.len() == closing.len();
        closing.truncate(if exhaustive { usize::MAX } else { ANCHORS_TRIED_MAX });
        // Shortest cycle through the closing anchors, by 0-1 BFS.
        let n = p.off.len() - 1;
        let mut dist = vec![u32::MAX; n];
        let mut parent = vec![(u32::MAX, u32::MAX); n];
        let mut seen: Vec<u32> = Vec::new();
        let mut best: Option<(u32, Vec<u32>)> = None;
        for &ci in &closing {
            let a = &cands[ci];
            let src = pn(g.to[a.edge as usize], start);
            let bound = best.as_ref().map_or(u32::MAX, |b| b.0);
            let is_target = |v: u32| self.nodes[v as usize / ns] == a.u && accepting.contains(&(v % ns as u32));
            let found = bfs01(&p, src, is_target, bound.saturating_sub(1), &mut dist, &mut parent, &mut seen);
            if let Some((len, path)) = found {
                let total = len + 1;
                if best.as_ref().is_none_or(|b| total < b.0) {
                    let mut edges = vec![a.edge];
                    edges.extend(path);
                    best = Some((total, edges));
                }
            }
        }
        let (_, edges) = best.ok_or_else(|| format!("{}: an anchor that closes a cycle has no path", spec.kind))?;
        let steps = simplify(self.steps(&edges), spec.kind);
        debug_assert!(is_of(&steps, spec.kind), "{steps:?}");
        Ok(Some(Cycle { kind: spec.kind, steps, scc_txns: self.txns(), shortest_of_some: !tried_all }))
    }

    /// Turns a closed walk of global edges (starting at a transaction) into
    /// steps between transactions.
    fn steps(&self, edges: &[u32]) -> Vec<RawStep> {
        let g = self.g;
        // An edge's source: the row that holds it.
        let src_of = |e: u32| (g.off.partition_point(|&o| o <= e) - 1) as u32;
        let mut steps = Vec::new();
        let mut cur: Option<RawStep> = None;
        for &e in edges {
            let (from, to, kind) = (src_of(e), g.to[e as usize], g.kinds[e as usize]);
            match cur.as_mut() {
                Some(s) if kind == HUB => s.to = to,
                _ => cur = Some(RawStep { from, to, kind }),
            }
            if g.is_txn(to) {
                steps.extend(cur.take());
            }
        }
        steps
    }
}

/// 0-1 BFS in the product from `src` to the nearest node `is_target`
/// accepts, within `bound` cost; the path as global edge indices.
fn bfs01(
    p: &Product,
    src: u32,
    is_target: impl Fn(u32) -> bool,
    bound: u32,
    dist: &mut [u32],
    parent: &mut [(u32, u32)],
    seen: &mut Vec<u32>,
) -> Option<(u32, Vec<u32>)> {
    for &v in seen.iter() {
        dist[v as usize] = u32::MAX;
    }
    seen.clear();
    let mut dq = VecDeque::new();
    dist[src as usize] = 0;
    seen.push(src);
    dq.push_back((src, 0u32));
    let mut found = None;
    while let Some((v, d)) = dq.pop_front() {
        if d != dist[v as usize] {
            continue;
        }
        if is_target(v) {
            found = Some((v, d));
            break;
        }
        if d >= bound {
            continue;
        }
        for i in p.off[v as usize] as usize..p.off[v as usize + 1] as usize {
            let w = p.to[i];
            let nd = d + p.cost[i] as u32;
            if nd < dist[w as usize] && nd <= bound {
                if dist[w as usize] == u32::MAX {
                    seen.push(w);
                }
                dist[w as usize] = nd;
                parent[w as usize] = (v, p.edge[i]);
                if p.cost[i] == 0 {
                    dq.push_front((w, nd));
                } else {
                    dq.push_back((w, nd));
                }
            }
        }
    }
    let (mut v, d) = found?;
    let mut path = Vec::new();
    while v != src {
        let (u, e) = parent[v as usize];
        path.push(e);
        v = u;
    }
    path.reverse();
    Some((d, path))
}

/// Searches one component for every class in `wanted`, most severe first,
/// skipping classes implied by what it found and classes the cycle-exists
/// checks rule out.
pub fn search_component(
    c: &Component,
    wanted: Kinds,
    exists_for: &[Model],
    budget: &Budget,
    work_max: u64,
) -> SccResult {
    let mut out = SccResult { scc_txns: c.txns(), ..SccResult::default() };
    // Cycle-exists facts for the models asked about.
    let mut possible: Vec<Model> = Vec::new();
    for (kind, m, spec) in EXISTS.iter() {
        if !exists_for.contains(m) {
            continue;
        }
        if c.any_cycle(spec) {
            out.exists.push(*kind);
        } else {
            possible.push(*m);
        }
    }
    // Classes a model with no cycle in its subgraph proscribes cannot occur.
    let mut impossible = Kinds::default();
    for &m in &possible {
        impossible = impossible.union(model::proscribed(m));
    }
    let mut found = Kinds::default();
    for spec in SPECS.iter() {
        let k = spec.kind;
        if !wanted.contains(k) || impossible.contains(k) || model::implied_for_search(found).contains(k) {
            continue;
        }
        match c.find(spec, budget, work_max) {
            Ok(Some(cycle)) => {
                found.insert(k);
                out.cycles.push(cycle);
            }
            Ok(None) => {}
            Err(reason) => out.cut.push(Cut { kind: k, scc_txns: out.scc_txns, reason }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: the unit tests' own small deterministic generator (the
    /// project's generators live in testkit, which unit tests cannot use).
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Rng {
            Rng(seed)
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        /// In `0..n` (n > 0).
        fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }
        /// True with probability `percent` / 100.
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }
    use crate::txn::graph::{process_edges, realtime_edges, EdgeSet, Graph};
    use std::collections::BTreeSet;

    /// Steps between transactions: one edge of a kind, then hub edges.
    fn steps_of(g: &Graph) -> BTreeSet<(u32, u32, u8)> {
        let mut out = BTreeSet::new();
        for a in 0..g.txns {
            for i in g.edges(a) {
                let kind = g.kinds[i];
                let mut stack = vec![g.to[i]];
                let mut seen = BTreeSet::new();
                while let Some(x) = stack.pop() {
                    if !seen.insert(x) {
                        continue;
                    }
                    if g.is_txn(x) {
                        out.insert((a, x, kind));
                    } else {
                        stack.extend(g.edges(x).filter(|&j| g.kinds[j] == HUB).map(|j| g.to[j]));
                    }
                }
            }
        }
        out
    }

    /// Shortest closed walk of each class, up to `max` steps, by brute force.
    fn brute(steps: &BTreeSet<(u32, u32, u8)>, n: u32, max: usize) -> Vec<(AnomalyKind, usize)> {
        let mut best: Vec<(AnomalyKind, usize)> = Vec::new();
        fn go(
            steps: &BTreeSet<(u32, u32, u8)>,
            start: u32,
            walk: &mut Vec<RawStep>,
            max: usize,
            best: &mut Vec<(AnomalyKind, usize)>,
        ) {
            let at = walk.last().map_or(start, |s| s.to);
            if at == start && !walk.is_empty() {
                for k in SPECS.iter().map(|s| s.kind).filter(|&k| is_of(walk, k)) {
                    match best.iter_mut().find(|b| b.0 == k) {
                        Some(b) => b.1 = b.1.min(walk.len()),
                        None => best.push((k, walk.len())),
                    }
                }
            }
            if walk.len() == max {
                return;
            }
            for &(a, b, kind) in steps.range((at, 0, 0)..(at + 1, 0, 0)) {
                walk.push(RawStep { from: a, to: b, kind });
                go(steps, start, walk, max, best);
                walk.pop();
            }
        }
        for s in 0..n {
            go(steps, s, &mut Vec::new(), max, &mut best);
        }
        best
    }

    /// The engine against brute force on random small graphs: it finds a
    /// walk of a class iff one exists, the walk is real and of that class,
    /// and (every anchor being tried on graphs this small) it is a shortest.
    #[test]
    fn engine_matches_brute_force_on_random_graphs() {
        let mut rng = Rng::new(7);
        let kinds = [WW, WR, RW, RW, WW, WR];
        for case in 0..400 {
            let n = 2 + rng.below(4) as u32;
            let mut set = EdgeSet::default();
            for _ in 0..rng.below(3 * n as u64) + 1 {
                let (a, b) = (rng.below(n as u64) as u32, rng.below(n as u64) as u32);
                set.push(a, b, kinds[rng.below(kinds.len() as u64) as usize]);
            }
            // A bundle through hubs now and then.
            if rng.chance(40) {
                let from: Vec<u32> = (0..n).filter(|_| rng.chance(50)).collect();
                let to: Vec<u32> = (0..n).filter(|_| rng.chance(50)).collect();
                set.bundle(&from, &to, if rng.chance(50) { RW } else { WW }, 0);
            }
            let mut sets = vec![set];
            if rng.chance(50) {
                let procs: Vec<(u64, u64)> = (0..n as u64).map(|i| (rng.below(2), i)).collect();
                sets.push(process_edges(&procs));
            }
            if rng.chance(50) {
                let times: Vec<(u64, u64)> = (0..n as u64)
                    .map(|i| {
                        let call = 10 * i + rng.below(5);
                        (call, if rng.chance(15) { u64::MAX } else { call + 1 + rng.below(25) })
                    })
                    .collect();
                // Positions must be unique: offset invokes and completions.
                let times: Vec<(u64, u64)> = times
                    .iter()
                    .enumerate()
                    .map(|(i, &(c, r))| (c * 16 + i as u64, r.saturating_mul(16).saturating_add(8 + i as u64)))
                    .collect();
                sets.push(realtime_edges(&times));
            }
            let g = Graph::build(n, sets);
            let steps = steps_of(&g);
            let want = brute(&steps, n, 7);
            let (comp, ncomp) = tarjan(g.nodes() as usize, |v, out| out.extend_from_slice(&g.to[g.edges(v)]));
            let mut members: Vec<Vec<u32>> = vec![Vec::new(); ncomp as usize];
            let mut local = vec![0u32; comp.len()];
            for (v, &c) in comp.iter().enumerate() {
                local[v] = members[c as usize].len() as u32;
                members[c as usize].push(v as u32);
            }
            let mut got: Vec<(AnomalyKind, usize)> = Vec::new();
            for (c, nodes) in members.iter().enumerate() {
                if nodes.len() < 2 {
                    continue;
                }
                let comp = Component::new(&g, &comp, &local, c as u32, nodes);
                for spec in &SPECS {
                    let found = comp.find(spec, &Budget::unlimited(), u64::MAX).expect("no budget");
                    let Some(cycle) = found else { continue };
                    // The walk is closed, made of real steps, of its class.
                    for (i, s) in cycle.steps.iter().enumerate() {
                        assert!(steps.contains(&(s.from, s.to, s.kind)), "case {case}: {s:?} is not a step");
                        assert_eq!(s.to, cycle.steps[(i + 1) % cycle.steps.len()].from, "case {case}: not closed");
                    }
                    assert!(is_of(&cycle.steps, spec.kind), "case {case}");
                    assert!(!cycle.shortest_of_some, "tiny graphs try every anchor");
                    match got.iter_mut().find(|x| x.0 == spec.kind) {
                        Some(x) => x.1 = x.1.min(cycle.steps.len()),
                        None => got.push((spec.kind, cycle.steps.len())),
                    }
                }
            }
            for &(k, len) in &want {
                let g_len = got.iter().find(|x| x.0 == k).map(|x| x.1);
                assert_eq!(g_len, Some(len), "case {case}: {k} exists with {len} steps; steps {steps:?}");
            }
            for &(k, len) in &got {
                // Longer than the brute force looked is fine; shorter must be seen.
                if len <= 7 {
                    assert!(want.iter().any(|w| w.0 == k), "case {case}: {k} found but no such walk; {steps:?}");
                }
            }
        }
    }

    fn step(kind: u8) -> RawStep {
        RawStep { from: 0, to: 0, kind }
    }

    #[test]
    fn classify_follows_elle() {
        let c = |ks: &[u8]| classify(&ks.iter().map(|&k| step(k)).collect::<Vec<_>>()).unwrap();
        assert_eq!(c(&[WW, WW]), A::G0);
        assert_eq!(c(&[WW, WR]), A::G1c);
        assert_eq!(c(&[RW, WR]), A::GSingle);
        assert_eq!(c(&[RW, WR, RW, WW]), A::GNonadjacent);
        assert_eq!(c(&[RW, RW]), A::G2Item);
        assert_eq!(c(&[RW, WR, WR, RW]), A::G2Item, "the last and first rw are adjacent");
        assert_eq!(c(&[WW, PROCESS]), A::G0Process);
        assert_eq!(c(&[RW, PROCESS, REALTIME]), A::GSingleRealtime);
    }

    #[test]
    fn every_spec_accepts_only_its_class() {
        // Walks (anchor first) that each automaton should take or refuse.
        let cases: &[(&[u8], A)] = &[
            (&[WW, WW], A::G0),
            (&[WR, WW], A::G1c),
            (&[RW, WR, WW], A::GSingle),
            (&[RW, WR, RW, WW], A::GNonadjacent),
            (&[RW, RW, WR], A::G2Item),
            (&[WR, PROCESS], A::G1cProcess),
            (&[RW, REALTIME, PROCESS], A::GSingleRealtime),
        ];
        for (walk, kind) in cases {
            for spec in &SPECS {
                if spec.anchor != walk[0] {
                    continue;
                }
                let mut s = Some(spec.start());
                for &k in &walk[1..] {
                    s = s.and_then(|s| spec.step(s, k).map(|x| x.0));
                }
                let took = s.is_some_and(|s| spec.accepts(s));
                assert_eq!(took, spec.kind == *kind, "{} on {walk:?}", spec.kind);
            }
        }
    }
}
