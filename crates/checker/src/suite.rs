//! Runs the requested checks on one history and gathers a [`FileReport`]:
//! the one entry point the binary (and library users) need.

use crate::bank::{self, BankOptions, BankProperty};
use crate::history::{History, F};
use crate::linear::{self, LinearOptions};
use crate::model::{self, ModelKind};
use crate::read::{Format, NilRead};
use crate::report::KeyResult;
use crate::report::{Budget, CheckName, CheckResult, Verdict};
use crate::session::{self, SessionOptions, Staleness, StalenessSamples, Workload};
use crate::value::Value;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// What to check and with which limits.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// Checks to run; empty means every check that fits the history.
    pub checks: Vec<CheckName>,
    /// Sequential model for linearizability; inferred when `None`.
    pub model: Option<ModelKind>,
    /// How an ok read of nil is judged; defaults per format.
    pub nil_read: Option<NilRead>,
    pub budget: Budget,
    /// Allow the polynomial-time paths where they apply.
    pub fast_paths: bool,
    pub bank: BankSettings,
}

/// How bank histories are judged.
#[derive(Clone, Debug, Default)]
pub struct BankSettings {
    /// Initial balances; `None` infers the total from the first ok read.
    pub initial: Option<BTreeMap<Value, i64>>,
    /// conch's own bank workload lets balances go negative; Jepsen's does not.
    pub negative_allowed: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            checks: Vec::new(),
            model: None,
            nil_read: None,
            budget: Budget::default(),
            fast_paths: true,
            bank: BankSettings::default(),
        }
    }
}

/// Everything conch found in one history.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub file: String,
    pub format: String,
    pub events: u64,
    pub ops: u64,
    pub faults: u64,
    /// The overall verdict: invalid if any check is, else unknown if any is.
    pub verdict: Verdict,
    pub results: Vec<CheckResult>,
    /// Checks that were asked for (or implied by `all`) but do not apply to
    /// this history, with the reason.
    pub skipped: Vec<Skipped>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staleness: Option<Staleness>,
    pub elapsed_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    pub check: CheckName,
    pub reason: String,
}

/// Why a requested check cannot run on a history (e.g. the model cannot be
/// inferred). Reported as a usage error (exit 2) by the binary.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the whole history says about which checks apply and how: decided
/// once from the whole history, even when it is checked shard by shard, so
/// that every shard is judged the same way.
#[derive(Clone, Debug)]
pub(crate) struct Facts {
    pub is_bank: bool,
    pub model: Result<ModelKind, String>,
    pub workload: Result<Workload, String>,
    pub has_final: bool,
}

impl Facts {
    /// Facts of `h`. For a shard summary, `h` holds the first op of each
    /// function (all that inference looks at) and `has_final` comes from
    /// the whole history.
    pub(crate) fn of(h: &History, has_final: bool) -> Facts {
        Facts {
            is_bank: h.ops.iter().any(|o| o.f == F::Transfer),
            model: model::infer(h),
            workload: session::infer_workload(h),
            has_final,
        }
    }
}

/// The checks' findings on a history or on one shard of it; shards' parts
/// merge into the whole history's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Part {
    pub results: Vec<CheckResult>,
    pub skipped: Vec<Skipped>,
    pub staleness: Option<(Workload, StalenessSamples)>,
}

impl Part {
    /// Adds another shard's findings: keys of the same check are pooled.
    pub(crate) fn merge(&mut self, other: Part) {
        for r in other.results {
            match self.results.iter_mut().find(|x| x.check == r.check) {
                Some(x) => {
                    // Each part lists its keys in key order; keep the pool so.
                    x.keys.extend(r.keys);
                    x.keys.sort_by(|a, b| a.key.cmp(&b.key));
                    if x.detail.is_null() {
                        x.detail = r.detail;
                    }
                }
                None => self.results.push(r),
            }
        }
        for sk in other.skipped {
            if !self.skipped.iter().any(|x| x.check == sk.check) {
                self.skipped.push(sk);
            }
        }
        match (&mut self.staleness, other.staleness) {
            (Some((_, mine)), Some((_, theirs))) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }

    /// Recomputes what depends on the pooled keys.
    pub(crate) fn seal(&mut self) {
        for r in &mut self.results {
            r.verdict = r.keys.iter().fold(Verdict::Valid, |v, k| v.combine(k.verdict));
            if r.keys.is_empty() && CheckName::WORKLOAD.contains(&r.check) {
                r.verdict = Verdict::Unknown;
            }
            if r.check == CheckName::Convergence {
                r.detail = session::convergence_summary(&r.keys);
            }
        }
    }

    pub(crate) fn report(self, file: &str, format: Format, counts: [u64; 3], started: Instant) -> FileReport {
        let verdict = self.results.iter().fold(Verdict::Valid, |v, r| v.combine(r.verdict));
        let [events, ops, faults] = counts;
        FileReport {
            file: file.to_string(),
            format: format.to_string(),
            events,
            ops,
            faults,
            verdict,
            results: self.results,
            skipped: self.skipped,
            staleness: self.staleness.map(|(w, s)| s.summary(w)),
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    }
}

/// Checks one history. `explicit` says whether the user named the checks: an
/// explicitly requested check that does not apply is an error, while one
/// implied by "all" is skipped with a reason.
pub fn check_history(file: &str, format: Format, h: &History, cfg: &CheckConfig) -> Result<FileReport, ConfigError> {
    let started = Instant::now();
    let facts = Facts::of(h, h.ops.iter().any(|o| o.is_final));
    let part = check_part(file, format, h, cfg, &facts)?;
    Ok(part.report(file, format, [h.events, h.ops.len() as u64, h.faults.len() as u64], started))
}

/// Runs the configured checks on `h` (a whole history or one shard of it),
/// judged by the whole history's `facts`.
pub(crate) fn check_part(
    file: &str,
    format: Format,
    h: &History,
    cfg: &CheckConfig,
    facts: &Facts,
) -> Result<Part, ConfigError> {
    let explicit = !cfg.checks.is_empty();
    let mut wanted: Vec<CheckName> = if explicit { cfg.checks.clone() } else { CheckName::ALL.to_vec() };
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    // The workload checks run only by name, each on its own.
    for &c in wanted.iter().filter(|c| CheckName::WORKLOAD.contains(c)) {
        results.push(check_workload(file, h, c)?);
    }
    wanted.retain(|c| !CheckName::WORKLOAD.contains(c));
    if explicit && wanted.is_empty() {
        return Ok(Part { results, skipped, staleness: None });
    }

    let is_bank = facts.is_bank;
    if is_bank {
        let (r, sk) = check_bank(file, h, cfg, &wanted, explicit)?;
        results.extend(r);
        skipped.extend(sk);
    } else if wanted.contains(&CheckName::Linearizable) {
        let kind = match &cfg.model {
            Some(m) => Ok(*m),
            None => facts.model.clone(),
        };
        match kind {
            Ok(kind) => {
                let nil_read = cfg.nil_read.unwrap_or(format.default_nil_read());
                // A value of the wrong shape for the model is bad input
                // (exit 2), not an undecided key.
                model::validate_history(h, file, kind, nil_read).map_err(|e| ConfigError(e.to_string()))?;
                let opts = LinearOptions { budget: cfg.budget.clone(), nil_read, use_fast_paths: cfg.fast_paths };
                results.push(linear::check(h, &kind, &opts));
            }
            Err(why) if explicit => return Err(ConfigError(format!("{file}: linearizable: {why}"))),
            Err(why) => skipped.push(Skipped { check: CheckName::Linearizable, reason: why }),
        }
    }
    if !is_bank && explicit && wanted.contains(&CheckName::Bank) {
        return Err(ConfigError(format!("{file}: bank: not a bank history (no transfer ops)")));
    }

    let mut session_checks: Vec<CheckName> =
        wanted.iter().copied().filter(|c| !matches!(c, CheckName::Linearizable | CheckName::Bank)).collect();
    let mut staleness = None;
    if !session_checks.is_empty() {
        match facts.workload.clone() {
            Ok(w) => {
                if !explicit {
                    // "all": only the checks this workload can decide, and
                    // convergence only when the history has final reads.
                    session_checks.retain(|c| w.applicable_checks().contains(c));
                    if !facts.has_final {
                        session_checks.retain(|c| *c != CheckName::Convergence);
                        skipped.push(Skipped {
                            check: CheckName::Convergence,
                            reason: "no final reads (ops marked final) in the history".into(),
                        });
                    }
                }
                let opts = SessionOptions { budget: cfg.budget.clone() };
                results.extend(session::check(h, &session_checks, w, &opts));
                staleness = Some((w, session::staleness_samples(h, w)));
            }
            Err(why) if explicit => {
                return Err(ConfigError(format!("{file}: {}: {why}", session_checks[0])));
            }
            Err(why) if !is_bank => {
                skipped.extend(session_checks.iter().map(|&check| Skipped { check, reason: why.clone() }));
            }
            Err(_) => {}
        }
    }
    Ok(Part { results, skipped, staleness })
}

/// One workload check (set-full, counter-bounds, unique-ids, echo, kafka).
/// A history of the wrong shape is an error naming file and line.
fn check_workload(file: &str, h: &History, check: CheckName) -> Result<CheckResult, ConfigError> {
    use crate::{counter_bounds, echo, kafka, set_full, unique_ids};
    let r = match check {
        CheckName::SetFull => {
            // Maelstrom's broadcast workload adds with `broadcast`, g-set with `add`.
            let broadcast = F::parse("broadcast");
            let add_f = if h.ops.iter().any(|o| o.f == broadcast) { broadcast } else { F::Add };
            set_full::check(h, file, &set_full::SetFullOptions { add_f, linearizable: false })
        }
        CheckName::CounterBounds => counter_bounds::check(h, file),
        CheckName::UniqueIds => unique_ids::check(h, file),
        CheckName::Echo => echo::check(h, file),
        CheckName::Kafka => kafka::check(h, file),
        other => return Err(ConfigError(format!("{other} is not a workload check"))),
    };
    r.map_err(|e| ConfigError(e.to_string()))
}

/// The session workload a history fits, if any (for `conch list` and reports).
pub fn workload_of(h: &History) -> Option<Workload> {
    session::infer_workload(h).ok()
}

fn property_key(p: &BankProperty, ops: u64) -> KeyResult {
    KeyResult {
        key: Some(Value::str(&p.name)),
        verdict: p.verdict,
        method: if p.name == "linearizable" { "wgl".into() } else { "bank-reads".into() },
        ops,
        anomalies: p.anomalies.clone(),
        unknown_reason: p.unknown_reason.clone(),
        stats: serde_json::json!({ "anomaly_count": p.anomaly_count }),
    }
}

/// Bank histories: the bank invariants, and linearizability of transfers
/// and whole-bank reads under the bank model.
fn check_bank(
    file: &str,
    h: &History,
    cfg: &CheckConfig,
    wanted: &[CheckName],
    explicit: bool,
) -> Result<(Vec<CheckResult>, Vec<Skipped>), ConfigError> {
    let (mut results, mut skipped) = (Vec::new(), Vec::new());
    let want_lin = wanted.contains(&CheckName::Linearizable);
    if !want_lin && !wanted.contains(&CheckName::Bank) {
        return Ok((results, skipped));
    }
    let opts = BankOptions {
        initial: cfg.bank.initial.clone(),
        negative_allowed: cfg.bank.negative_allowed,
        linearizable: want_lin,
        budget: cfg.budget.clone(),
    };
    let report = bank::check(h, file, &opts).map_err(|e| ConfigError(e.to_string()))?;
    let ops = h.ops.len() as u64;
    if want_lin {
        let keys = report.properties.iter().filter(|p| p.name == "linearizable").map(|p| property_key(p, ops));
        results.push(CheckResult::from_keys(CheckName::Linearizable, "bank", keys.collect()));
    }
    if wanted.contains(&CheckName::Bank) {
        let keys = report.properties.iter().filter(|p| p.name != "linearizable").map(|p| property_key(p, ops));
        let mut r = CheckResult::from_keys(CheckName::Bank, "bank", keys.collect());
        r.detail = serde_json::json!({
            "expected_total": report.expected_total,
            "total_source": report.total_source,
            "transfers": report.transfers,
            "reads": report.reads,
        });
        results.push(r);
    }
    if explicit {
        if let Some(c) = wanted.iter().find(|c| !matches!(c, CheckName::Linearizable | CheckName::Bank)) {
            return Err(ConfigError(format!("{file}: {c}: does not apply to bank histories")));
        }
    } else {
        skipped.push(Skipped {
            check: CheckName::ReadYourWrites,
            reason: "session checks do not apply to bank histories".into(),
        });
    }
    Ok((results, skipped))
}
