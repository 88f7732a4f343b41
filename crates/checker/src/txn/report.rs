//! What the transactional checker returns: plain, typed data (serialisable;
//! the binary renders it).

use super::history::{TxnHistory, Workload};
use super::model::{AnomalyKind, Model};
use super::sources::{self, AssumedStep, KeyAssumptions, VersionSource};
use crate::history::{OpId, Outcome};
use crate::report::{
    Anomaly, AnomalyDetail, AnomalyKind as ReportKind, CheckName, CheckResult, KeyResult, KeyStats, Method, ModelName,
    Verdict,
};
use crate::value::Value;
use serde::Serialize;

/// The checker's findings on one transactional history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TxnReport {
    pub workload: Workload,
    /// What ordered the keys' versions (Elle's `:sources`): for
    /// rw-register the initial state, writes following reads (for the
    /// models from read committed up) and the key assumptions asked for;
    /// for list-append the reads.
    pub version_sources: Vec<VersionSource>,
    /// The key assumptions asked for.
    pub key_assumptions: KeyAssumptions,
    /// The overall verdict over the requested models.
    pub verdict: Verdict,
    pub models: Vec<ModelResult>,
    /// Elle's `:not`: the weakest models the anomalies found rule out.
    pub not: Vec<Model>,
    /// Elle's `:also-not`: the other models ruled out.
    pub also_not: Vec<Model>,
    /// Examples, most severe class first; at most `examples_max` per class.
    pub anomalies: Vec<TxnAnomaly>,
    /// How many of each class were found (examples or not), same order.
    pub counts: Vec<KindCount>,
    /// Searches a budget cut short.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Incomplete>,
    pub stats: TxnStats,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelResult {
    pub model: Model,
    pub verdict: Verdict,
    /// Classes found that this model forbids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violated_by: Vec<AnomalyKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KindCount {
    pub kind: AnomalyKind,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incomplete {
    pub kind: AnomalyKind,
    /// Transactions in the strongly connected component searched.
    pub scc_txns: u32,
    pub reason: String,
}

/// One anomaly, with the transactions it names and, for a cycle, its steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TxnAnomaly {
    pub kind: AnomalyKind,
    /// `T1`, `T2`, ... in order of first mention.
    pub txns: Vec<TxnRef>,
    /// A cycle's steps, `T1 -> T2 -> ... -> T1` (empty for other anomalies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// Prose a person can follow.
    pub explanation: String,
    /// The assumption this anomaly rests on, when it holds only under some
    /// models (writes follow reads; reads after a transaction's own writes
    /// show them), and so rules out only those.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumes: Option<&'static str>,
    /// The steps that hold only under a key assumption the user made
    /// (`--sequential-keys`, `--linearizable-keys`); empty when the history
    /// proves every step. (In the JSON report: the detail's `assumed`.)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<AssumedStep>,
}

/// A transaction as a report names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TxnRef {
    /// `T1`, `T2`, ... within its anomaly.
    pub name: String,
    pub op: OpId,
    pub process: u64,
    pub outcome: Outcome,
    pub invoke_line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_line: Option<u64>,
    /// Its micro-ops, with the reads' results when it completed ok.
    pub value: Value,
}

/// One edge of a cycle: why `from` must precede `to`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub from: String,
    pub to: String,
    /// `ww`, `wr`, `rw`, `process` or `realtime`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The version `from` wrote or read, and the one `to` wrote or read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_to: Option<Value>,
    /// Indices (0-based) of the micro-ops involved in `from` and `to`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_mop: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_mop: Option<u32>,
    pub sentence: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TxnStats {
    pub ok: u64,
    pub info: u64,
    pub fail: u64,
    pub keys: u64,
    pub micro_ops: u64,
    /// Inference passes: one per distinct evidence the models need, and
    /// under key assumptions (rw-register) a twin of each without them.
    pub passes: u64,
    /// Graph size (of the last pass): transaction nodes, hubs, edges.
    pub nodes: u64,
    pub hubs: u64,
    pub edges: u64,
    /// Strongly connected components with more than one transaction.
    pub cyclic_sccs: u64,
    pub largest_scc_txns: u64,
}

/// What a transactional anomaly adds to a report's [`crate::Anomaly`]: its
/// transactions' names (`T1`, `T2`, ... in the order of the anomaly's ops),
/// a cycle's labelled edges, the key, and the assumption it rests on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TxnEvidence {
    pub txns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumes: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<AssumedStep>,
}

/// A transactional history's summary in a [`crate::Report`]: Elle's `not`
/// and `also-not`, how many anomalies of each class were found, searches a
/// budget cut short, and the graph's size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Isolation {
    pub workload: Workload,
    /// What ordered the keys' versions (Elle's `:sources`).
    pub version_sources: Vec<VersionSource>,
    /// The key assumptions asked for (shown when any was; on list-append
    /// they change nothing, its reads giving the version order).
    #[serde(skip_serializing_if = "KeyAssumptions::none")]
    pub key_assumptions: KeyAssumptions,
    pub not: Vec<Model>,
    pub also_not: Vec<Model>,
    pub counts: Vec<KindCount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Incomplete>,
    pub stats: TxnStats,
}

impl TxnReport {
    /// The summary the typed report carries.
    pub fn isolation(&self) -> Isolation {
        Isolation {
            workload: self.workload,
            version_sources: self.version_sources.clone(),
            key_assumptions: self.key_assumptions,
            not: self.not.clone(),
            also_not: self.also_not.clone(),
            counts: self.counts.clone(),
            incomplete: self.incomplete.clone(),
            stats: self.stats.clone(),
        }
    }

    /// One check result per requested model, named `check`: a single
    /// "key" (the whole history) with the examples of the classes the
    /// model forbids, as the report's anomalies (ops from `history`).
    pub fn results(&self, history: &TxnHistory, checks: &[(CheckName, Model)]) -> Vec<CheckResult> {
        let txns = self.stats.ok + self.stats.info + self.stats.fail;
        checks
            .iter()
            .map(|&(check, model)| {
                let r = self.models.iter().find(|r| r.model == model).expect("every requested model is judged");
                let anomalies: Vec<Anomaly> = self
                    .anomalies
                    .iter()
                    .filter(|a| r.violated_by.contains(&a.kind))
                    .map(|a| a.to_anomaly(history))
                    .collect();
                let violations: u64 =
                    self.counts.iter().filter(|c| r.violated_by.contains(&c.kind)).map(|c| c.count).sum();
                let key = KeyResult {
                    key: None,
                    verdict: r.verdict,
                    method: Method::DependencyGraph,
                    ops: txns,
                    anomalies,
                    unknown_reason: r.unknown_reason.clone(),
                    stats: KeyStats { violations: (violations > 0).then_some(violations), ..KeyStats::default() },
                };
                CheckResult::from_keys(check, ModelName::Txn(self.workload), vec![key])
            })
            .collect()
    }
}

impl TxnAnomaly {
    /// As a report's anomaly: the transactions as ops, the explanation
    /// (with the assumptions it rests on, and the steps that need a key
    /// assumption), the names and steps as detail.
    pub fn to_anomaly(&self, history: &TxnHistory) -> Anomaly {
        let mut explanation = self.explanation.clone();
        if let Some(why) = self.assumes {
            explanation.push_str(&format!(" (this assumes {why})"));
        }
        let names: Vec<(String, String)> = self.steps.iter().map(|s| (s.from.clone(), s.to.clone())).collect();
        if let Some(p) = sources::phrase(&self.assumed, &names) {
            explanation.push_str(&format!(" ({p})"));
        }
        Anomaly {
            kind: ReportKind::Txn(self.kind),
            ops: self.txns.iter().map(|t| history.op_ref(t.op.0 as usize)).collect(),
            explanation,
            detail: Some(Box::new(AnomalyDetail::Txn(TxnEvidence {
                txns: self.txns.iter().map(|t| t.name.clone()).collect(),
                steps: self.steps.clone(),
                key: self.key.clone(),
                assumes: self.assumes,
                assumed: self.assumed.clone(),
            }))),
        }
    }
}
