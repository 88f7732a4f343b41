//! Transactional isolation: Elle's anomalies and consistency models on
//! list-append and rw-register histories (Kingsbury & Alvaro, "Elle:
//! Inferring Isolation Anomalies from Experimental Observations", VLDB
//! 2020; Adya's thesis; Cerone, Bernardi & Gotsman 2015).
//!
//! The pipeline, each stage linear in the history (or near it):
//!
//! 1. [`history`]: `f: txn` ops to compact transactions (interned keys and
//!    values; list reads shared per key), checking the preconditions
//!    (unique values per key, completions that keep their writes, ...).
//! 2. `infer`: per key, in parallel, the version order and the ww, wr and
//!    rw dependencies it implies, and the anomalies visible without a cycle
//!    (G1a, G1b, internal, lost-update, dirty-update, duplicate-elements,
//!    incompatible-order, future-read, cyclic-versions, garbage-read).
//! 3. `graph`: the dependency graph in compressed rows, with process and
//!    real-time edges when a requested model needs them (real time through
//!    a chain of hubs, so its size stays linear).
//! 4. `search`: strongly connected components, then in each one the
//!    shortest cycle of each class (G0, G1c, G-single, G-nonadjacent,
//!    G2-item and their `-process` / `-realtime` variants) by BFS over the
//!    product of the graph with the class's automaton, after an exact,
//!    batched reachability test, so a class present is never missed.
//! 5. [`model`]: which models the anomalies rule out (Elle's `not` and
//!    `also-not`), and a verdict per requested model.
//!
//! Architecture invariant: when a search is cut short by a budget, the
//! models it could decide are `unknown` with the reason, unless a
//! cycle-exists check (exact, linear) decides them (`tests::budget_*`).

mod explain;
mod graph;
pub mod history;
mod infer;
pub mod model;
pub mod report;
mod search;
#[cfg(test)]
mod tests;

pub use history::{TxnBuilder, TxnHistory, TxnReader, Workload};
pub use infer::VersionSources;
pub use model::{AnomalyKind, Model};
pub use report::{TxnAnomaly, TxnReport};

use crate::history::Outcome;
use crate::report::{Budget, Verdict};
use explain::Explainer;
use graph::Graph;
use infer::Finding;
use model::Kinds;
use rayon::prelude::*;
use report::{Incomplete, KindCount, ModelResult, TxnStats};
use search::{Component, Cycle, SccResult};

/// What to check, and how.
#[derive(Clone, Debug)]
pub struct TxnOptions {
    /// Models to check; empty means strict-serializable.
    pub models: Vec<Model>,
    pub sources: VersionSources,
    pub budget: Budget,
    /// Anomalies of one class shown in full (all are counted).
    pub examples_max: usize,
    /// Edges one class's search may visit in one strongly connected
    /// component before it gives up (unknown, with the reason).
    pub search_work_max: u64,
}

impl Default for TxnOptions {
    fn default() -> Self {
        TxnOptions {
            models: Vec::new(),
            sources: VersionSources::default(),
            budget: Budget::default(),
            examples_max: 20,
            search_work_max: search::SEARCH_WORK_MAX,
        }
    }
}

fn finding_kind(f: &Finding) -> AnomalyKind {
    match f {
        Finding::DuplicateElements { .. } => AnomalyKind::DuplicateElements,
        Finding::IncompatibleOrder { .. } => AnomalyKind::IncompatibleOrder,
        Finding::GarbageRead { .. } => AnomalyKind::GarbageRead,
        Finding::G1a { .. } => AnomalyKind::G1a,
        Finding::G1b { .. } => AnomalyKind::G1b,
        Finding::DirtyUpdate { .. } => AnomalyKind::DirtyUpdate,
        Finding::LostUpdate { .. } => AnomalyKind::LostUpdate,
        Finding::Internal { .. } => AnomalyKind::Internal,
        Finding::FutureRead { .. } => AnomalyKind::FutureRead,
        Finding::CyclicVersions { .. } => AnomalyKind::CyclicVersions,
    }
}

fn is_process_variant(k: AnomalyKind) -> bool {
    k.is_cycle() && k.name().ends_with("-process")
}

fn is_realtime_variant(k: AnomalyKind) -> bool {
    k.is_cycle() && k.name().ends_with("-realtime")
}

/// The model each cycle-exists check speaks for.
fn exists_model(k: AnomalyKind) -> Option<Model> {
    use AnomalyKind as A;
    Some(match k {
        A::Pl1CycleExists => Model::ReadUncommitted,
        A::Pl2CycleExists => Model::ReadCommitted,
        A::PlSiCycleExists => Model::SnapshotIsolation,
        A::Pl3CycleExists => Model::Serializable,
        A::SsPl1CycleExists => Model::StrongSessionReadUncommitted,
        A::SsPl2CycleExists => Model::StrongSessionReadCommitted,
        A::SsSiCycleExists => Model::StrongSessionSnapshotIsolation,
        A::SsSerCycleExists => Model::StrongSessionSerializable,
        A::SPl1CycleExists => Model::StrongReadUncommitted,
        A::SPl2CycleExists => Model::StrongReadCommitted,
        A::SSiCycleExists => Model::StrongSnapshotIsolation,
        A::PlSsCycleExists => Model::StrictSerializable,
        _ => return None,
    })
}

/// Checks a transactional history against the requested models.
pub fn check(h: &TxnHistory, opts: &TxnOptions) -> TxnReport {
    let mut models: Vec<Model> =
        if opts.models.is_empty() { vec![Model::StrictSerializable] } else { opts.models.clone() };
    models.sort_unstable();
    models.dedup();
    let wanted = models.iter().fold(Kinds::default(), |k, &m| k.union(model::proscribed(m)));
    let need_realtime = wanted.iter().any(is_realtime_variant);
    let need_process = need_realtime || wanted.iter().any(is_process_variant);

    let mut inf = infer::infer(h, opts.sources);
    let n = inf.slot_of.len() as u32;
    let mut sets = std::mem::take(&mut inf.edges);
    let node_txn = |node: u32| &h.txns[inf.slot_of[node as usize] as usize];
    if need_process {
        let procs: Vec<(u64, u64)> = (0..n).map(|v| (node_txn(v).process, node_txn(v).call)).collect();
        sets.push(graph::process_edges(&procs));
    }
    if need_realtime {
        let times: Vec<(u64, u64)> = (0..n).map(|v| (node_txn(v).call, node_txn(v).ret)).collect();
        sets.push(graph::realtime_edges(&times));
    }
    let g = Graph::build(n, sets);
    let (comp, ncomp) = graph::tarjan(g.nodes() as usize, |v, out| out.extend_from_slice(&g.to[g.edges(v)]));
    // Nodes grouped by component; `local` numbers them within it.
    let mut off = vec![0u32; ncomp as usize + 1];
    for &c in &comp {
        off[c as usize + 1] += 1;
    }
    for c in 0..ncomp as usize {
        off[c + 1] += off[c];
    }
    let mut fill = off.clone();
    let mut members = vec![0u32; comp.len()];
    let mut local = vec![0u32; comp.len()];
    for (v, &c) in comp.iter().enumerate() {
        let i = fill[c as usize];
        members[i as usize] = v as u32;
        local[v] = i - off[c as usize];
        fill[c as usize] += 1;
    }
    let mut cyclic: Vec<u32> = (0..ncomp).filter(|&c| off[c as usize + 1] - off[c as usize] > 1).collect();
    // Earliest transactions first, for readable reports.
    cyclic.sort_by_key(|&c| members[off[c as usize] as usize]);
    let mut exists_for: Vec<Model> = Vec::new();
    for &m in &models {
        exists_for.extend(model::implied_models(m).iter());
    }
    exists_for.sort_unstable();
    exists_for.dedup();
    let results: Vec<SccResult> = cyclic
        .par_iter()
        .map(|&c| {
            let nodes = &members[off[c as usize] as usize..off[c as usize + 1] as usize];
            let comp = Component::new(&g, &comp, &local, c, nodes);
            search::search_component(&comp, wanted, &exists_for, &opts.budget, opts.search_work_max)
        })
        .collect();

    // Everything found, for verdicts and boundaries.
    let mut found = Kinds::default();
    for f in &inf.findings {
        found.insert(finding_kind(f));
    }
    for r in &results {
        for c in &r.cycles {
            found.insert(c.kind);
        }
        for &e in &r.exists {
            found.insert(e);
        }
    }
    let typed = Kinds::of(found.iter().filter(|k| exists_model(*k).is_none()));
    let committed = h.txns.iter().any(|t| t.outcome == Outcome::Ok);
    let cuts: Vec<&search::Cut> = results.iter().flat_map(|r| &r.cut).collect();
    let model_results: Vec<ModelResult> = models
        .iter()
        .map(|&m| {
            let p = model::proscribed(m);
            let mut violated_by: Vec<AnomalyKind> = typed.iter().filter(|k| p.contains(*k)).collect();
            if violated_by.is_empty() {
                violated_by = found.iter().filter(|k| p.contains(*k)).collect();
            }
            let (verdict, unknown_reason) = if !violated_by.is_empty() {
                (Verdict::Invalid, None)
            } else if let Some(c) = cuts.iter().find(|c| p.contains(c.kind)) {
                let why =
                    format!("the search for {} in a component of {} transactions: {}", c.kind, c.scc_txns, c.reason);
                (Verdict::Unknown, Some(why))
            } else if !committed {
                (Verdict::Unknown, Some("no transaction completed ok: nothing was checked".to_string()))
            } else {
                (Verdict::Valid, None)
            };
            ModelResult { model: m, verdict, violated_by, unknown_reason }
        })
        .collect();
    let verdict = model_results.iter().fold(Verdict::Valid, |v, r| v.combine(r.verdict));
    let (not, also_not) = model::boundary(found);

    // Examples and counts, by class.
    let x = Explainer { h, inf: &inf };
    let mut by_kind: Vec<(AnomalyKind, u64, Vec<TxnAnomaly>)> = Vec::new();
    let mut add = |kind: AnomalyKind, make: &dyn Fn() -> TxnAnomaly| {
        let i = match by_kind.iter().position(|e| e.0 == kind) {
            Some(i) => i,
            None => {
                by_kind.push((kind, 0, Vec::new()));
                by_kind.len() - 1
            }
        };
        by_kind[i].1 += 1;
        if by_kind[i].2.len() < opts.examples_max {
            by_kind[i].2.push(make());
        }
    };
    let cycles: Vec<&Cycle> = results.iter().flat_map(|r| &r.cycles).collect();
    for c in cycles {
        add(c.kind, &|| x.cycle(c));
    }
    for f in &inf.findings {
        add(finding_kind(f), &|| x.finding(f));
    }
    for (r, &c) in results.iter().zip(&cyclic) {
        // Like Elle, a cycle-exists fact only when nothing more specific
        // (nor a weaker model's fact) already rules its model out.
        let mut shown = typed;
        for &e in &r.exists {
            let m = exists_model(e).expect("an exists kind");
            if model::impossible(shown).contains(m) {
                continue;
            }
            shown.insert(e);
            let nodes = &members[off[c as usize] as usize..off[c as usize + 1] as usize];
            add(e, &|| x.exists(e, m, nodes, &r.cut));
        }
    }
    by_kind.sort_by_key(|e| e.0);
    let counts = by_kind.iter().map(|e| KindCount { kind: e.0, count: e.1 }).collect();
    let anomalies = by_kind.into_iter().flat_map(|e| e.2).collect();
    let incomplete =
        cuts.iter().map(|c| Incomplete { kind: c.kind, scc_txns: c.scc_txns, reason: c.reason.clone() }).collect();
    let count = |o: Outcome| h.txns.iter().filter(|t| t.outcome == o).count() as u64;
    let stats = TxnStats {
        ok: count(Outcome::Ok),
        info: count(Outcome::Info),
        fail: count(Outcome::Fail),
        keys: h.keys.len() as u64,
        micro_ops: h.mops.len() as u64,
        nodes: g.nodes() as u64,
        hubs: (g.nodes() - g.txns) as u64,
        edges: g.to.len() as u64,
        cyclic_sccs: results.len() as u64,
        largest_scc_txns: results.iter().map(|r| r.scc_txns as u64).max().unwrap_or(0),
    };
    TxnReport {
        workload: h.workload,
        verdict,
        models: model_results,
        not,
        also_not,
        anomalies,
        counts,
        incomplete,
        stats,
    }
}
