//! Runs conch on an oracle history through its public entry points: the
//! history is written as JSON Lines, read back by conch's reader, and
//! checked whole (`checker::check`) or shard by shard
//! (`checker::check_path` with shards).

use super::hist::{Hist, V};
use super::lin::{Model, Nil};
use super::session::G;
use checker::model::ModelKind;
use checker::read::{self, Format, NilRead, ReadOptions};
use checker::report::{Budget, CheckName, Verdict};
use checker::{CheckConfig, Report};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Mode {
    pub fast_paths: bool,
    pub sharded: bool,
    /// Empty: every check that fits.
    pub checks: Vec<CheckName>,
    pub model: Option<ModelKind>,
    pub nil: Nil,
    pub initial: Option<V>,
}

pub fn model_kind(m: Model) -> ModelKind {
    match m {
        Model::Register => ModelKind::Register,
        Model::CasRegister => ModelKind::CasRegister,
        Model::Kv => ModelKind::Kv,
        Model::Set => ModelKind::Set,
        Model::Counter => ModelKind::Counter,
        Model::ListAppend => ModelKind::ListAppend,
        Model::Queue => ModelKind::Queue,
        Model::Mutex => ModelKind::Mutex,
        Model::MultiRegister => ModelKind::MultiRegister,
    }
}

pub fn check_name(g: G) -> CheckName {
    match g {
        G::ReadYourWrites => CheckName::ReadYourWrites,
        G::MonotonicReads => CheckName::MonotonicReads,
        G::MonotonicWrites => CheckName::MonotonicWrites,
        G::WritesFollowReads => CheckName::WritesFollowReads,
    }
}

pub fn config(mode: &Mode) -> CheckConfig {
    CheckConfig {
        checks: mode.checks.clone(),
        model: mode.model,
        nil_read: Some(match mode.nil {
            Nil::Unknown => NilRead::Unknown,
            Nil::Absent => NilRead::Absent,
        }),
        budget: Budget::unlimited(),
        fast_paths: mode.fast_paths,
        initial: mode.initial.as_ref().map(|v| read::parse_value(&v.json()).expect("the oracle's values are JSON")),
        ..CheckConfig::default()
    }
}

/// conch's report on `h`, or the error it gave.
pub fn check(h: &Hist, mode: &Mode) -> Result<Report, String> {
    let text = h.to_jsonl();
    let opts = ReadOptions { format: Some(Format::Jsonl), ..ReadOptions::default() };
    let cfg = config(mode);
    if mode.sharded {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("h.jsonl");
        std::fs::write(&path, &text).map_err(|e| e.to_string())?;
        let so = checker::shard::ShardOptions { shards: 3, dir: dir.path().to_path_buf() };
        checker::check_path(&path, &opts, &cfg, Some(&so)).map(|(r, _)| r).map_err(|e| e.to_string())
    } else {
        let (hist, format) = read::read_bytes("h.jsonl", text.as_bytes(), &opts).map_err(|e| e.to_string())?;
        checker::check(&hist, &cfg.for_format(format)).map_err(|e| e.to_string())
    }
}

fn key_of(k: &Option<checker::Value>) -> Option<V> {
    k.as_ref().map(|k| match k.as_str() {
        Some(s) => V::s(s),
        None => panic!("generated keys are strings, conch reports {k}"),
    })
}

/// Per key: conch's verdict of `check`, with the anomaly kinds it named.
pub fn verdicts(r: &Report, check: CheckName) -> BTreeMap<Option<V>, (Verdict, Vec<String>)> {
    r.results
        .iter()
        .filter(|c| c.check == check)
        .flat_map(|c| c.keys.iter())
        .map(|k| (key_of(&k.key), (k.verdict, k.anomalies.iter().map(|a| a.kind.to_string()).collect())))
        .collect()
}
