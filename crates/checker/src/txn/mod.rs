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
pub mod sources;
#[cfg(test)]
mod tests;

pub use history::{TxnBuilder, TxnHistory, TxnReader, Workload};
pub use infer::VersionSources;
pub use model::{AnomalyKind, Model};
pub use report::{TxnAnomaly, TxnReport};
pub use sources::{AssumedStep, KeyAssumptions, VersionSource};

use crate::history::Outcome;
use crate::report::{Budget, Verdict};
use explain::Explainer;
use graph::Graph;
use history::ElemId;
use infer::{Evidence, Finding, Inferred, PostWrite};
use model::Kinds;
use rayon::prelude::*;
use report::{Incomplete, KindCount, ModelResult, TxnStats};
use rustc_hash::FxHashSet;
use search::{Component, SccResult};

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
        Finding::CyclicVersions { .. } | Finding::OwnOrder { committed: true, .. } => AnomalyKind::CyclicVersions,
        Finding::OwnOrder { committed: false, .. } => AnomalyKind::IncompatibleOrder,
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

/// The evidence tier a model is judged on: 0 for the read-uncommitted
/// family, 1 for models at least read committed, 2 for models that
/// proscribe `internal`, 3 for those at least snapshot isolation (see
/// `infer`'s module docs).
fn tier(m: Model) -> usize {
    if model::implied_models(m).contains(Model::SnapshotIsolation) {
        3
    } else if model::proscribed(m).contains(AnomalyKind::Internal) {
        2
    } else if model::implied_models(m).contains(Model::ReadCommitted) {
        1
    } else {
        0
    }
}

/// What a pass at `tier` may use. The settings that change nothing for a
/// workload are fixed, so tiers that see the same evidence share a pass.
fn evidence(w: Workload, tier: usize) -> Evidence {
    match w {
        Workload::ListAppend => Evidence {
            wfr: false,
            info_committed: tier >= 1,
            post_write_reads: match tier {
                0 | 1 => PostWrite::Ignored,
                2 => PostWrite::View,
                _ => PostWrite::Version,
            },
        },
        Workload::RwRegister => {
            Evidence { wfr: tier >= 1, post_write_reads: PostWrite::Ignored, info_committed: tier >= 1 }
        }
    }
}

/// What in a history the stronger passes' evidence could rest on: some
/// transaction that reads a key after writing it (`post_write_reads`),
/// one that reads a key and then writes it (`read_then_write`, writes
/// following reads), an info transaction. Where the history has none of a
/// kind, the evidence that counts it adds nothing, so a finding assumes
/// nothing on its account.
#[derive(Clone, Copy, Debug, Default)]
struct Grounds {
    post_write_reads: bool,
    read_then_write: bool,
    info: bool,
}

fn grounds(h: &TxnHistory) -> Grounds {
    use history::MopF;
    let mut g = Grounds { info: h.txns.iter().any(|t| t.outcome == Outcome::Info), ..Grounds::default() };
    for t in &h.txns {
        let ms = h.mops_of(t);
        for (i, w) in ms.iter().enumerate().filter(|(_, m)| m.f != MopF::Read) {
            let read = |r: &history::Mop| r.f == MopF::Read && r.key == w.key;
            g.read_then_write |= ms[..i].iter().any(read);
            g.post_write_reads |= ms[i + 1..].iter().any(read);
        }
    }
    g
}

/// The strongest assumption a pass's findings rest on beyond the first
/// pass's (which assumes nothing), in words; `None` when the history gives
/// it nothing to rest on.
fn assumption(ev: Evidence, g: Grounds) -> Option<&'static str> {
    match ev.post_write_reads {
        PostWrite::Version if g.post_write_reads => {
            return Some(
                "a transaction's appends land right after the state it read, which models from snapshot isolation up guarantee",
            )
        }
        PostWrite::View if g.post_write_reads => {
            return Some("reads after a transaction's own writes show those writes, which models from read atomic up guarantee")
        }
        _ => {}
    }
    if ev.wfr && g.read_then_write {
        Some("a transaction's writes follow its reads, which models from read committed up guarantee")
    } else if ev.info_committed && g.info {
        Some("an info transaction whose write was read committed, which models from read committed up guarantee")
    } else {
        None
    }
}

/// One inference and search, for the tiers that share its evidence.
struct Pass {
    /// Its lowest tier: its findings hold for every model of this tier or above.
    tier: usize,
    /// Run without the key assumptions the user made, to find the cycles
    /// the history proves alone: its examples are preferred, but its graph
    /// is a subgraph of its twin's (which has every source), so verdicts
    /// and budget cuts come from the twin.
    proven_only: bool,
    inf: Inferred,
    results: Vec<SccResult>,
    /// Per cyclic component, its nodes.
    components: Vec<Vec<u32>>,
    found: Kinds,
    stats: (u64, u64, u64),
}

fn run_pass(
    h: &TxnHistory,
    opts: &TxnOptions,
    src: VersionSources,
    ev: Evidence,
    internal: &infer::Internal,
    models: &[Model],
    tier0: usize,
) -> Pass {
    let wanted = models.iter().fold(Kinds::default(), |k, &m| k.union(model::proscribed(m)));
    let need_realtime = wanted.iter().any(is_realtime_variant);
    let need_process = need_realtime || wanted.iter().any(is_process_variant);
    let mut inf = infer::infer(h, src, ev, internal);
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
    let (off, members) = graph::group_by_component(&comp, ncomp);
    let mut local = vec![0u32; comp.len()];
    for c in 0..ncomp as usize {
        for (i, &v) in members[off[c] as usize..off[c + 1] as usize].iter().enumerate() {
            local[v as usize] = i as u32;
        }
    }
    let mut cyclic: Vec<u32> = (0..ncomp).filter(|&c| off[c as usize + 1] - off[c as usize] > 1).collect();
    // Earliest transactions first, for readable reports.
    cyclic.sort_by_key(|&c| members[off[c as usize] as usize]);
    let nodes_of = |c: u32| &members[off[c as usize] as usize..off[c as usize + 1] as usize];
    let results: Vec<SccResult> = cyclic
        .par_iter()
        .map(|&c| {
            let comp = Component::new(&g, &comp, &local, c, nodes_of(c));
            search::search_component(&comp, wanted, models, &opts.budget, opts.search_work_max)
        })
        .collect();
    let mut results = results;
    for c in results.iter_mut().flat_map(|r| r.cycles.iter_mut()) {
        rotate_to_first_line(&mut c.steps, |node| h.txns[inf.slot_of[node as usize] as usize].invoke_line);
    }
    let mut found = Kinds::default();
    for f in inf.findings.iter().chain(&internal.findings) {
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
    let components = cyclic.iter().map(|&c| nodes_of(c).to_vec()).collect();
    let stats = (g.nodes() as u64, (g.nodes() - g.txns) as u64, g.to.len() as u64);
    let proven_only = src != opts.sources;
    Pass { tier: tier0, proven_only, inf, results, components, found, stats }
}

/// Starts a cycle at the transaction invoked first in the file among those
/// that begin a step of the kind it starts with (the search's anchor, e.g.
/// an anti-dependency for a G-single), so a report does not depend on how
/// nodes are numbered: the streaming reader numbers transactions as they
/// complete, the whole-history one as they are invoked.
fn rotate_to_first_line(steps: &mut [search::RawStep], line: impl Fn(u32) -> u64) {
    let Some(first) = steps.first().map(|s| s.kind) else { return };
    let key = |i: usize| -> Vec<u64> { (0..steps.len()).map(|j| line(steps[(i + j) % steps.len()].from)).collect() };
    let best = (0..steps.len()).filter(|&i| steps[i].kind == first).min_by_key(|&i| key(i)).unwrap_or(0);
    steps.rotate_left(best);
}

/// Checks a transactional history against the requested models.
pub fn check(h: &TxnHistory, opts: &TxnOptions) -> TxnReport {
    let mut models: Vec<Model> =
        if opts.models.is_empty() { vec![Model::StrictSerializable] } else { opts.models.clone() };
    models.sort_unstable();
    models.dedup();
    // Every model the requested ones imply is judged too (for `not`).
    let mut closure = model::Models::default();
    for &m in &models {
        for x in model::implied_models(m).iter() {
            closure.insert(x);
        }
    }
    // One pass per distinct evidence, lowest tier first.
    let mut plans: Vec<(Evidence, usize, Vec<Model>)> = Vec::new();
    for t in 0..4 {
        let ms: Vec<Model> = closure.iter().filter(|&m| tier(m) == t).collect();
        if ms.is_empty() {
            continue;
        }
        let ev = evidence(h.workload, t);
        match plans.iter_mut().find(|p| p.0 == ev) {
            Some(p) => p.2.extend(ms),
            None => plans.push((ev, t, ms)),
        }
    }
    let internal = infer::internal(h);
    // The passes are independent: run at once, they keep both cores busy
    // through each pass's sequential parts (graph, components).
    // Under key assumptions (rw-register) each pass has a twin without
    // them, run first in the report's order: within a class, a cycle the
    // history proves is shown before one that rests on an assumption.
    let plain = VersionSources { sequential_keys: false, linearizable_keys: false, ..opts.sources };
    let mut runs: Vec<(VersionSources, usize)> = Vec::new();
    if h.workload == Workload::RwRegister && opts.sources.keys().any() {
        runs.extend((0..plans.len()).map(|i| (plain, i)));
    }
    runs.extend((0..plans.len()).map(|i| (opts.sources, i)));
    let passes: Vec<Pass> = runs
        .par_iter()
        .map(|&(src, i)| {
            let (ev, t, ms) = &plans[i];
            run_pass(h, opts, src, *ev, &internal, ms, *t)
        })
        .collect();
    // Verdicts from the passes with every source (a proven-only pass finds
    // nothing its twin misses, and may be cut short where the twin is not).
    let judged = || passes.iter().filter(|p| !p.proven_only);
    let found_for = |t: usize| judged().filter(|p| p.tier <= t).fold(Kinds::default(), |k, p| k.union(p.found));
    let cuts_for = |t: usize| judged().filter(move |p| p.tier <= t).flat_map(|p| p.results.iter().flat_map(|r| &r.cut));
    let committed = h.txns.iter().any(|t| t.outcome == Outcome::Ok);
    let typed = |k: Kinds| Kinds::of(k.iter().filter(|k| exists_model(*k).is_none()));
    let model_results: Vec<ModelResult> = models
        .iter()
        .map(|&m| {
            let p = model::proscribed(m);
            let found = found_for(tier(m));
            let mut violated_by: Vec<AnomalyKind> = typed(found).iter().filter(|k| p.contains(*k)).collect();
            if violated_by.is_empty() {
                violated_by = found.iter().filter(|k| p.contains(*k)).collect();
            }
            let (verdict, unknown_reason) = if !violated_by.is_empty() {
                (Verdict::Invalid, None)
            } else if let Some(c) = cuts_for(tier(m)).find(|c| p.contains(c.kind)) {
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
    let mut out = model::Models::default();
    for &m in Model::ALL {
        if model::proscribed(m).intersects(found_for(tier(m))) {
            out.insert(m);
        }
    }
    let (not, also_not) = model::boundary_of(out);

    // Examples and counts, by class; a class from the pass with the least
    // evidence that found it (so the fewest assumptions).
    let mut by_kind: Vec<(AnomalyKind, u64, Vec<TxnAnomaly>)> = Vec::new();
    let mut add =
        |kind: AnomalyKind, assumes: Option<&'static str>, make: &dyn Fn() -> (TxnAnomaly, Vec<AssumedStep>)| {
            let i = match by_kind.iter().position(|e| e.0 == kind) {
                Some(i) => i,
                None => {
                    by_kind.push((kind, 0, Vec::new()));
                    by_kind.len() - 1
                }
            };
            by_kind[i].1 += 1;
            if by_kind[i].2.len() < opts.examples_max {
                let (mut a, assumed) = make();
                a.assumes = assumes;
                a.assumed = assumed;
                by_kind[i].2.push(a);
            }
        };
    let mut reported = Kinds::default();
    // Classes shown from a pass without the key assumptions.
    let mut by_proven = Kinds::default();
    let grounds = grounds(h);
    let lowest = passes[0].tier;
    for pass in &passes {
        let x = Explainer { h, inf: &pass.inf };
        let assumes = if pass.tier == lowest { None } else { assumption(pass.inf.evidence, grounds) };
        let new = |k: AnomalyKind| !reported.contains(k);
        let fresh: Vec<AnomalyKind> = pass.found.iter().filter(|&k| new(k)).collect();
        for c in pass.results.iter().flat_map(|r| &r.cycles) {
            if fresh.contains(&c.kind) {
                add(c.kind, assumes, &|| (x.cycle(c), sources::cycle_assumptions(h, &pass.inf, &c.steps)));
            } else if by_proven.contains(c.kind) && !pass.proven_only {
                // The class's proven cycles are shown; the ones that need
                // an assumption follow them (a proven one found again here
                // is not shown twice).
                let assumed = sources::cycle_assumptions(h, &pass.inf, &c.steps);
                if !assumed.is_empty() {
                    add(c.kind, assumes, &|| (x.cycle(c), assumed.clone()));
                }
            }
        }
        let findings = pass.inf.findings.iter().chain(if pass.tier == lowest { &internal.findings[..] } else { &[] });
        // A transaction that reads one bad element in several micro-ops
        // (`[[:r 1 5] [:r 1 5]]`, nobody wrote 5) made one mistake: one
        // entry, naming its first such read, counted once.
        let mut seen: FxHashSet<(AnomalyKind, u32, ElemId)> = FxHashSet::default();
        for f in findings.filter(|f| fresh.contains(&finding_kind(f))) {
            if let Some((slot, elem)) = f.txn_elem() {
                if !seen.insert((finding_kind(f), slot, elem)) {
                    continue;
                }
            }
            add(finding_kind(f), assumes, &|| (x.finding(f), sources::finding_assumptions(f)));
        }
        let typed_here = typed(found_for(pass.tier));
        for (r, nodes) in pass.results.iter().zip(&pass.components) {
            // Like Elle, a cycle-exists fact only when nothing more specific
            // (nor a weaker model's fact) already rules its model out.
            let mut shown = typed_here;
            for &e in &r.exists {
                let m = exists_model(e).expect("an exists kind");
                if model::impossible(shown).contains(m) || !fresh.contains(&e) {
                    continue;
                }
                shown.insert(e);
                add(e, assumes, &|| (x.exists(e, m, nodes, &r.cut), Vec::new()));
            }
        }
        for k in fresh {
            reported.insert(k);
            if pass.proven_only {
                by_proven.insert(k);
            }
        }
    }
    by_kind.sort_by_key(|e| e.0);
    let counts = by_kind.iter().map(|e| KindCount { kind: e.0, count: e.1 }).collect();
    let anomalies = by_kind.into_iter().flat_map(|e| e.2).collect();
    let incomplete = judged()
        .flat_map(|p| p.results.iter().flat_map(|r| &r.cut))
        .map(|c| Incomplete { kind: c.kind, scc_txns: c.scc_txns, reason: c.reason.clone() })
        .collect();
    let count = |o: Outcome| h.txns.iter().filter(|t| t.outcome == o).count() as u64;
    let top = passes.last().expect("at least one pass");
    let stats = TxnStats {
        ok: count(Outcome::Ok),
        info: count(Outcome::Info),
        fail: count(Outcome::Fail),
        keys: h.keys.len() as u64,
        micro_ops: h.mops.len() as u64,
        passes: passes.len() as u64,
        nodes: top.stats.0,
        hubs: top.stats.1,
        edges: top.stats.2,
        cyclic_sccs: top.results.len() as u64,
        largest_scc_txns: top.results.iter().map(|r| r.scc_txns as u64).max().unwrap_or(0),
    };
    TxnReport {
        workload: h.workload,
        version_sources: sources::used(h.workload, opts.sources.wfr, opts.sources.keys()),
        key_assumptions: opts.sources.keys(),
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
