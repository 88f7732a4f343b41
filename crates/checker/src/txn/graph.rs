//! The dependency graph over transactions, in compressed sparse rows.
//!
//! Nodes `0..txns` are the committed or possibly committed (ok and info)
//! transactions in op order; nodes after them are *hubs*, which stand for a
//! bundle of edges of one kind so the graph stays linear in the history:
//!
//! - a realtime hub per gap between completions and later invocations:
//!   `a -REALTIME-> hub -HUB-> ... -HUB-> b` iff `a` completed before `b`
//!   was invoked (Elle builds a transitive reduction of real time instead,
//!   which is quadratic in the number of concurrent transactions);
//! - an anti-dependency hub when many readers of one version precede many
//!   writers (rw-register's initial state, unread list appends).
//!
//! An edge's kind is the kind of the step it begins; `HUB` edges continue a
//! step through hubs and cost nothing. Architecture invariant: hubs never
//! form a cycle among themselves, and a path through hubs from `a` to `b`
//! exists only where the bundled edge `a -> b` does (`tests::hubs_*`).

use rayon::prelude::*;

pub const WW: u8 = 0;
pub const WR: u8 = 1;
pub const RW: u8 = 2;
pub const PROCESS: u8 = 3;
pub const REALTIME: u8 = 4;
/// Inside a hub: continues the step that entered it.
pub const HUB: u8 = 5;

pub fn kind_name(k: u8) -> &'static str {
    match k {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        REALTIME => "realtime",
        _ => "hub",
    }
}

/// Marks a node id as a hub local to one key's output, numbered from 0.
pub const LOCAL_HUB: u32 = 1 << 31;

/// An edge as inference emits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RawEdge {
    pub from: u32,
    pub to: u32,
    pub kind: u8,
}

/// Edges from one unit of inference (a key), with its own hubs.
#[derive(Clone, Debug, Default)]
pub struct EdgeSet {
    pub edges: Vec<RawEdge>,
    pub hubs: u32,
}

/// Above this many pairs, all-to-all edges go through hubs.
const DIRECT_PAIRS_MAX: usize = 64;

impl EdgeSet {
    fn hub(&mut self) -> u32 {
        self.hubs += 1;
        LOCAL_HUB | (self.hubs - 1)
    }

    /// A new hub local to this set.
    pub fn new_hub(&mut self) -> u32 {
        self.hub()
    }

    /// A hub edge (continues the step that entered `from`).
    pub fn push_hub(&mut self, from: u32, to: u32) {
        self.edges.push(RawEdge { from, to, kind: HUB });
    }

    pub fn push(&mut self, from: u32, to: u32, kind: u8) {
        if from != to {
            self.edges.push(RawEdge { from, to, kind });
        }
    }

    /// Edges of `kind` from every node of `from` to every node of `to`
    /// except a node to itself. Both lists must be free of duplicates. Large
    /// products go through hubs: one for the pure sources, and, for nodes in
    /// both lists, prefix and suffix chains so that no node reaches itself.
    pub fn all_to_all(&mut self, from: &[u32], to: &[u32], kind: u8) {
        self.bundle(from, to, kind, DIRECT_PAIRS_MAX)
    }

    /// [`EdgeSet::all_to_all`], with hubs above `direct_max` pairs.
    pub(crate) fn bundle(&mut self, from: &[u32], to: &[u32], kind: u8, direct_max: usize) {
        if from.is_empty() || to.is_empty() {
            return;
        }
        if from.len() * to.len() <= direct_max {
            for &a in from {
                for &b in to {
                    self.push(a, b, kind);
                }
            }
            return;
        }
        let mut in_to: Vec<u32> = to.to_vec();
        in_to.sort_unstable();
        let both: Vec<u32> = from.iter().copied().filter(|a| in_to.binary_search(a).is_ok()).collect();
        let mut both_sorted = both.clone();
        both_sorted.sort_unstable();
        let is_both = |x: &u32| both_sorted.binary_search(x).is_ok();
        let pure_to: Vec<u32> = to.iter().copied().filter(|b| !is_both(b)).collect();
        let to_hub = (!pure_to.is_empty()).then(|| {
            let h = self.hub();
            for &b in &pure_to {
                self.edges.push(RawEdge { from: h, to: b, kind: HUB });
            }
            h
        });
        // prefix[i] reaches both[0..=i]; suffix[i] reaches both[i..].
        let t = both.len();
        let mut prefix = Vec::with_capacity(t);
        let mut suffix = vec![0; t];
        for (i, &b) in both.iter().enumerate() {
            let h = self.hub();
            self.edges.push(RawEdge { from: h, to: b, kind: HUB });
            if i > 0 {
                self.edges.push(RawEdge { from: h, to: prefix[i - 1], kind: HUB });
            }
            prefix.push(h);
        }
        for i in (0..t).rev() {
            let h = self.hub();
            self.edges.push(RawEdge { from: h, to: both[i], kind: HUB });
            if i + 1 < t {
                self.edges.push(RawEdge { from: h, to: suffix[i + 1], kind: HUB });
            }
            suffix[i] = h;
        }
        let pure_from: Vec<u32> = from.iter().copied().filter(|a| !is_both(a)).collect();
        if !pure_from.is_empty() {
            let all = self.hub();
            if let Some(h) = to_hub {
                self.edges.push(RawEdge { from: all, to: h, kind: HUB });
            }
            if t > 0 {
                self.edges.push(RawEdge { from: all, to: prefix[t - 1], kind: HUB });
            }
            for &a in &pure_from {
                self.edges.push(RawEdge { from: a, to: all, kind });
            }
        }
        for (i, &b) in both.iter().enumerate() {
            if let Some(h) = to_hub {
                self.edges.push(RawEdge { from: b, to: h, kind });
            }
            if i > 0 {
                self.edges.push(RawEdge { from: b, to: prefix[i - 1], kind });
            }
            if i + 1 < t {
                self.edges.push(RawEdge { from: b, to: suffix[i + 1], kind });
            }
        }
    }
}

/// The whole graph: `to[off[n]..off[n+1]]` are node `n`'s successors, with
/// the kinds in `kinds`, sorted by (target, kind) and free of duplicates.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub txns: u32,
    pub off: Vec<u32>,
    pub to: Vec<u32>,
    pub kinds: Vec<u8>,
}

impl Graph {
    pub fn nodes(&self) -> u32 {
        self.off.len() as u32 - 1
    }

    pub fn edges(&self, n: u32) -> std::ops::Range<usize> {
        self.off[n as usize] as usize..self.off[n as usize + 1] as usize
    }

    pub fn is_txn(&self, n: u32) -> bool {
        n < self.txns
    }

    /// Builds the graph from edge sets whose hubs are local (numbered from
    /// [`LOCAL_HUB`]); they are renumbered after the transactions, set by set.
    pub fn build(txns: u32, sets: Vec<EdgeSet>) -> Graph {
        let mut base = Vec::with_capacity(sets.len());
        let mut next = txns as u64;
        for s in &sets {
            base.push(next as u32);
            next += s.hubs as u64;
        }
        assert!(next < LOCAL_HUB as u64, "graph has more than 2^31 nodes");
        let n = next as usize;
        let map = |b: u32, x: u32| if x & LOCAL_HUB != 0 { b + (x & !LOCAL_HUB) } else { x };
        let mut count = vec![0u32; n + 1];
        for (s, &b) in sets.iter().zip(&base) {
            for e in &s.edges {
                count[map(b, e.from) as usize + 1] += 1;
            }
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let total = count[n] as usize;
        assert!(total < u32::MAX as usize, "graph has more than 2^32 edges");
        // Each edge as `to << 8 | kind`, so sorting a node's run sorts it
        // by (target, kind).
        let mut fill = count.clone();
        let mut packed = vec![0u64; total];
        for (s, &b) in sets.iter().zip(&base) {
            for e in &s.edges {
                let f = map(b, e.from) as usize;
                packed[fill[f] as usize] = (map(b, e.to) as u64) << 8 | e.kind as u64;
                fill[f] += 1;
            }
        }
        drop(sets);
        drop(fill);
        // Sort and deduplicate each node's run in place, then compact.
        let mut off = Vec::with_capacity(n + 1);
        off.push(0u32);
        let mut to = Vec::with_capacity(total);
        let mut kinds = Vec::with_capacity(total);
        for v in 0..n {
            let run = &mut packed[count[v] as usize..count[v + 1] as usize];
            run.sort_unstable();
            let mut last = u64::MAX;
            for &x in run.iter() {
                if x != last {
                    to.push((x >> 8) as u32);
                    kinds.push(x as u8);
                    last = x;
                }
            }
            off.push(to.len() as u32);
        }
        drop(packed);
        to.shrink_to_fit();
        kinds.shrink_to_fit();
        Graph { txns, off, to, kinds }
    }
}

/// Process edges: each transaction to the next one of its process.
/// `txns` gives (process, call position) per node in node order.
pub fn process_edges(procs: &[(u64, u64)]) -> EdgeSet {
    let mut order: Vec<u32> = (0..procs.len() as u32).collect();
    order.sort_unstable_by_key(|&n| procs[n as usize]);
    let mut s = EdgeSet::default();
    for w in order.windows(2) {
        if procs[w[0] as usize].0 == procs[w[1] as usize].0 {
            s.push(w[0], w[1], PROCESS);
        }
    }
    s
}

/// Realtime edges through a chain of hubs: `a` reaches `b` iff `a`
/// completed (`ret`) before `b` was invoked (`call`). `times` gives
/// (call, ret) per node; `ret == u64::MAX` for one that never completed.
pub fn realtime_edges(times: &[(u64, u64)]) -> EdgeSet {
    // Events by position: (position, is_invoke, node). Positions are unique.
    let mut events: Vec<(u64, u32)> = Vec::with_capacity(times.len() * 2);
    for (n, &(call, ret)) in times.iter().enumerate() {
        events.push((call, n as u32 | LOCAL_HUB));
        if ret != u64::MAX {
            events.push((ret, n as u32));
        }
    }
    events.par_sort_unstable();
    let mut s = EdgeSet::default();
    let mut cur: Option<u32> = None;
    let mut pending: Vec<u32> = Vec::new();
    for &(_, x) in &events {
        if x & LOCAL_HUB != 0 {
            let b = x & !LOCAL_HUB;
            if !pending.is_empty() {
                let h = s.hub();
                for &a in &pending {
                    s.edges.push(RawEdge { from: a, to: h, kind: REALTIME });
                }
                if let Some(c) = cur {
                    s.edges.push(RawEdge { from: c, to: h, kind: HUB });
                }
                cur = Some(h);
                pending.clear();
            }
            if let Some(c) = cur {
                s.edges.push(RawEdge { from: c, to: b, kind: HUB });
            }
        } else {
            pending.push(x);
        }
    }
    s
}

/// The nodes of each component (`comp` as [`tarjan`] returns it), by a
/// counting sort: component `c`'s nodes are `members[off[c]..off[c + 1]]`,
/// in ascending order.
pub fn group_by_component(comp: &[u32], ncomp: u32) -> (Vec<u32>, Vec<u32>) {
    let mut off = vec![0u32; ncomp as usize + 1];
    for &c in comp {
        off[c as usize + 1] += 1;
    }
    for c in 0..ncomp as usize {
        off[c + 1] += off[c];
    }
    let mut fill = off.clone();
    let mut members = vec![0u32; comp.len()];
    for (v, &c) in comp.iter().enumerate() {
        members[fill[c as usize] as usize] = v as u32;
        fill[c as usize] += 1;
    }
    (off, members)
}

/// Strongly connected components (Tarjan, iterative) of the graph given by
/// `succ`, which lists a node's successors into the vector. Returns each
/// node's component; components are numbered in reverse topological order
/// (every edge between components goes from a higher number to a lower).
pub fn tarjan(n: usize, mut succ: impl FnMut(u32, &mut Vec<u32>)) -> (Vec<u32>, u32) {
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut comp = vec![UNSEEN; n];
    let mut stack: Vec<u32> = Vec::new();
    // Call frames: (node, start of its successors in `succs`, next one).
    let mut frames: Vec<(u32, usize, usize)> = Vec::new();
    let mut succs: Vec<u32> = Vec::new();
    let mut next_index = 0u32;
    let mut comps = 0u32;
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN {
            continue;
        }
        let mut enter = Some(root);
        loop {
            if let Some(v) = enter.take() {
                index[v as usize] = next_index;
                low[v as usize] = next_index;
                next_index += 1;
                stack.push(v);
                let at = succs.len();
                succ(v, &mut succs);
                frames.push((v, at, at));
            }
            let Some(&(v, at, i)) = frames.last() else { break };
            if i < succs.len() {
                let w = succs[i];
                frames.last_mut().expect("frame").2 += 1;
                if index[w as usize] == UNSEEN {
                    enter = Some(w);
                } else if comp[w as usize] == UNSEEN {
                    low[v as usize] = low[v as usize].min(index[w as usize]);
                }
                continue;
            }
            frames.pop();
            succs.truncate(at);
            if let Some(&(p, _, _)) = frames.last() {
                low[p as usize] = low[p as usize].min(low[v as usize]);
            }
            if low[v as usize] == index[v as usize] {
                loop {
                    let w = stack.pop().expect("on stack");
                    comp[w as usize] = comps;
                    if w == v {
                        break;
                    }
                }
                comps += 1;
            }
        }
    }
    (comp, comps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Transactions one step from `from`: one edge of a step's kind, then
    /// hub edges only.
    fn reach(g: &Graph, from: u32) -> Vec<u32> {
        let mut seen = vec![false; g.nodes() as usize];
        let mut stack: Vec<u32> = g.edges(from).filter(|&i| g.kinds[i] != HUB).map(|i| g.to[i]).collect();
        let mut out = Vec::new();
        while let Some(x) = stack.pop() {
            if std::mem::replace(&mut seen[x as usize], true) {
                continue;
            }
            if g.is_txn(x) {
                out.push(x);
                continue;
            }
            stack.extend(g.edges(x).filter(|&i| g.kinds[i] == HUB).map(|i| g.to[i]));
        }
        out.sort_unstable();
        out
    }

    fn hubs_acyclic(g: &Graph) -> bool {
        let (comp, n) = tarjan(g.nodes() as usize, |v, out| {
            if !g.is_txn(v) {
                out.extend(g.edges(v).filter(|&i| g.kinds[i] == HUB && !g.is_txn(g.to[i])).map(|i| g.to[i]))
            }
        });
        n as usize == comp.len()
    }

    #[test]
    fn hubs_all_to_all_reaches_exactly_the_pairs() {
        for (from, to) in [
            (vec![0u32, 1, 2, 3, 4, 5, 6, 7, 8], vec![9u32, 10, 11, 12, 13, 14, 15, 16]),
            (vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9], vec![5, 6, 7, 8, 9, 10, 11, 12, 13]),
            ((0..12).collect(), (0..12).collect()),
            ((0..20).collect(), vec![3]),
        ] {
            let mut s = EdgeSet::default();
            s.all_to_all(&from, &to, RW);
            let g = Graph::build(20, vec![s]);
            for &a in &from {
                let got = reach(&g, a);
                let mut want: Vec<u32> = to.iter().copied().filter(|&b| b != a).collect();
                want.sort_unstable();
                assert_eq!(got, want, "from {a}");
            }
            assert!(hubs_acyclic(&g));
        }
    }

    #[test]
    fn hubs_realtime_reach_iff_completed_before_invoked() {
        // (call, ret) per txn; u64::MAX: never completed.
        let times = [(0, 3), (1, 2), (4, 7), (5, u64::MAX), (6, 9), (8, 10), (11, 12)];
        let s = realtime_edges(&times);
        let g = Graph::build(times.len() as u32, vec![s]);
        for (a, &(_, ret)) in times.iter().enumerate() {
            let want: Vec<u32> = (0..times.len() as u32).filter(|&b| ret < times[b as usize].0).collect();
            assert_eq!(reach(&g, a as u32), want, "txn {a}");
        }
        assert!(hubs_acyclic(&g));
    }

    #[test]
    fn tarjan_numbers_components_in_reverse_topological_order() {
        // 0 -> 1 <-> 2 -> 3
        let adj: Vec<Vec<u32>> = vec![vec![1], vec![2], vec![1, 3], vec![]];
        let (comp, n) = tarjan(4, |v, out| out.extend(&adj[v as usize]));
        assert_eq!(n, 3);
        assert_eq!(comp[1], comp[2]);
        assert!(comp[0] > comp[1] && comp[1] > comp[3]);
    }

    #[test]
    fn build_deduplicates_and_sorts() {
        let mut s = EdgeSet::default();
        s.push(0, 2, WW);
        s.push(0, 1, RW);
        s.push(0, 2, WW);
        s.push(0, 1, WW);
        s.push(1, 1, WW);
        let g = Graph::build(3, vec![s]);
        let e: Vec<(u32, u8)> = g.edges(0).map(|i| (g.to[i], g.kinds[i])).collect();
        assert_eq!(e, [(1, WW), (1, RW), (2, WW)]);
        assert!(g.edges(1).is_empty(), "no self-loops");
    }
}
