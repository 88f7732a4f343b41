//! Where a rw-register key's version order comes from (Elle's version
//! "sources"), and which of a cycle's steps rest on an assumption the user
//! made about the keys (`--sequential-keys`, `--linearizable-keys`) rather
//! than on what the reads prove.
//!
//! A step `a -> b` (ww or rw) holds when some key both touch has a version
//! edge from what `a` wrote or read to what `b` wrote. It is *proven* when
//! one such edge comes from the initial state or from writes following
//! reads (which the history shows); otherwise it rests on the weakest key
//! assumption among its edges: sequential keys (process order) before
//! linearizable keys (real time), since a linearizable key is sequential.

use super::graph::{RW, WW};
use super::history::{KeyId, MopValue, TxnHistory, Workload};
use super::infer::{Finding, Inferred, SRC_INITIAL, SRC_PROCESS, SRC_REALTIME, SRC_WFR};
use super::search::RawStep;
use serde::Serialize;

/// What the user assumes about each key of a rw-register history, as
/// Elle's `:sequential-keys?` and `:linearizable-keys?`: extra sources for
/// the version order. List-append histories have their version order in
/// their reads, so these change nothing there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeyAssumptions {
    /// Each key is sequentially consistent: a process observes a key's
    /// versions in version order, so what a transaction left on a key
    /// precedes what the process's next transaction on that key sees.
    pub sequential_keys: bool,
    /// Each key is linearizable: what a transaction left on a key precedes
    /// what every transaction invoked after it completed sees.
    pub linearizable_keys: bool,
}

impl KeyAssumptions {
    pub fn any(self) -> bool {
        self.sequential_keys || self.linearizable_keys
    }

    /// Neither assumption (for serde's `skip_serializing_if`).
    pub fn none(&self) -> bool {
        !self.any()
    }
}

/// A source of version-order facts, by Elle's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionSource {
    /// Every key starts nil, which precedes every value (proven).
    InitialState,
    /// Within a transaction a write follows the key's read (proven from
    /// read committed up).
    WfrKeys,
    /// A list read is a prefix of the key's version order (list-append;
    /// proven).
    ListReads,
    /// Process order, assuming sequential keys (`--sequential-keys`).
    SequentialKeys,
    /// Real-time order, assuming linearizable keys (`--linearizable-keys`).
    LinearizableKeys,
}

impl VersionSource {
    /// True for sources that rest on a user's assumption about the keys.
    pub fn assumed(self) -> bool {
        matches!(self, VersionSource::SequentialKeys | VersionSource::LinearizableKeys)
    }

    /// The command-line flag that asks for it, if any.
    pub fn flag(self) -> Option<&'static str> {
        match self {
            VersionSource::SequentialKeys => Some("--sequential-keys"),
            VersionSource::LinearizableKeys => Some("--linearizable-keys"),
            _ => None,
        }
    }

    /// How it orders two versions, in words.
    pub fn order_name(self) -> &'static str {
        match self {
            VersionSource::InitialState => "the initial state",
            VersionSource::WfrKeys => "writes following reads",
            VersionSource::ListReads => "the list reads",
            VersionSource::SequentialKeys => "process order",
            VersionSource::LinearizableKeys => "real-time order",
        }
    }
}

/// The sources a check used for a history's version orders, in Elle's
/// order (its `:sources`).
pub fn used(workload: Workload, wfr: bool, keys: KeyAssumptions) -> Vec<VersionSource> {
    match workload {
        Workload::ListAppend => vec![VersionSource::ListReads],
        Workload::RwRegister => {
            let mut v = vec![VersionSource::InitialState];
            if wfr {
                v.push(VersionSource::WfrKeys);
            }
            if keys.sequential_keys {
                v.push(VersionSource::SequentialKeys);
            }
            if keys.linearizable_keys {
                v.push(VersionSource::LinearizableKeys);
            }
            v
        }
    }
}

/// One step of an anomaly that holds only under a key assumption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssumedStep {
    /// Index of the step in the anomaly's `steps` (cyclic-versions: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// `ww` or `rw` (cyclic-versions: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub source: VersionSource,
}

/// The source a version edge's bits rest on: `None` when proven.
fn weakest(bits: u8) -> Option<VersionSource> {
    if bits & (SRC_INITIAL | SRC_WFR) != 0 {
        None
    } else if bits & SRC_PROCESS != 0 {
        Some(VersionSource::SequentialKeys)
    } else if bits & SRC_REALTIME != 0 {
        Some(VersionSource::LinearizableKeys)
    } else {
        None
    }
}

/// A finding's key assumption: a cyclic-versions one names the source
/// that closed the cycle (which the history then contradicts).
pub fn finding_assumptions(f: &Finding) -> Vec<AssumedStep> {
    match f {
        Finding::CyclicVersions { source, .. } => {
            weakest(*source).map(|source| AssumedStep { step: None, kind: None, source }).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// The key assumption a rw-register ww or rw step rests on, `None` when
/// some key proves it (or it is another kind of step).
fn step_source(h: &TxnHistory, inf: &Inferred, s: &RawStep) -> Option<VersionSource> {
    if h.workload != Workload::RwRegister || (s.kind != WW && s.kind != RW) {
        return None;
    }
    let (a, b) = (inf.slot_of[s.from as usize], inf.slot_of[s.to as usize]);
    let mut keys: Vec<KeyId> = h.mops_of(&h.txns[b as usize]).iter().map(|m| m.key).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut best: Option<Option<VersionSource>> = None;
    for k in keys {
        let (ra, wa) = h.saw_and_left(a, k);
        let Some((_, wb)) = h.saw_and_left(b, k).1 else { continue };
        let from: Vec<MopValue> = if s.kind == WW { wa.into_iter().collect() } else { ra };
        for (_, fv) in from {
            if let Some(path) = inf.version_path(k, fv, wb) {
                // A chain rests on the assumptions of its links.
                let w = path.iter().find_map(|e| weakest(e.2));
                // None (proven) is the best; then the weaker assumption.
                best = Some(match best {
                    None => w,
                    Some(None) => None,
                    Some(Some(x)) => w.map(|w| w.min(x)),
                });
            }
        }
    }
    best.flatten()
}

/// The steps of a cycle that rest on a key assumption.
pub fn cycle_assumptions(h: &TxnHistory, inf: &Inferred, steps: &[RawStep]) -> Vec<AssumedStep> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            step_source(h, inf, s).map(|source| AssumedStep {
                step: Some(i as u32),
                kind: Some(if s.kind == WW { "ww" } else { "rw" }),
                source,
            })
        })
        .collect()
}

/// A clause for an anomaly's explanation naming what its steps assume,
/// e.g. "step 2 (ww T2 -> T3) orders versions by real-time order
/// (--linearizable-keys)"; `names` gives each step's (from, to).
pub fn phrase(assumed: &[AssumedStep], names: &[(String, String)]) -> Option<String> {
    if assumed.is_empty() {
        return None;
    }
    let parts: Vec<String> = assumed
        .iter()
        .map(|a| {
            let flag = a.source.flag().unwrap_or("");
            match (a.step, a.kind) {
                (Some(i), Some(kind)) => {
                    let (f, t) = names.get(i as usize).cloned().unwrap_or_default();
                    format!("the {kind} step {f} -> {t} orders versions by {} ({flag})", a.source.order_name())
                }
                _ => format!("the version order uses {} ({flag})", a.source.order_name()),
            }
        })
        .collect();
    Some(format!("it holds only if keys are as assumed: {}", parts.join("; ")))
}
