//! Runs the requested checks on one history and gathers a [`FileReport`]:
//! the one entry point the binary (and library users) need.

use crate::history::History;
use crate::linear::{self, LinearOptions};
use crate::model::{self, ModelKind};
use crate::read::{Format, NilRead};
use crate::report::{Budget, CheckName, CheckResult, Verdict};
use crate::session::{self, SessionOptions, Staleness, Workload};
use serde::Serialize;
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
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig { checks: Vec::new(), model: None, nil_read: None, budget: Budget::default(), fast_paths: true }
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

/// Checks one history. `explicit` says whether the user named the checks: an
/// explicitly requested check that does not apply is an error, while one
/// implied by "all" is skipped with a reason.
pub fn check_history(file: &str, format: Format, h: &History, cfg: &CheckConfig) -> Result<FileReport, ConfigError> {
    let started = Instant::now();
    let explicit = !cfg.checks.is_empty();
    let wanted: Vec<CheckName> = if explicit { cfg.checks.clone() } else { CheckName::ALL.to_vec() };
    let mut results = Vec::new();
    let mut skipped = Vec::new();

    if wanted.contains(&CheckName::Linearizable) {
        let kind = match &cfg.model {
            Some(m) => Ok(*m),
            None => model::infer(h),
        };
        match kind {
            Ok(kind) => {
                let opts = LinearOptions {
                    budget: cfg.budget.clone(),
                    nil_read: cfg.nil_read.unwrap_or(format.default_nil_read()),
                    use_fast_paths: cfg.fast_paths,
                };
                results.push(linear::check(h, &kind, &opts));
            }
            Err(why) if explicit => return Err(ConfigError(format!("{file}: linearizable: {why}"))),
            Err(why) => skipped.push(Skipped { check: CheckName::Linearizable, reason: why }),
        }
    }

    let session_checks: Vec<CheckName> = wanted.iter().copied().filter(|c| *c != CheckName::Linearizable).collect();
    let mut staleness = None;
    if !session_checks.is_empty() {
        match session::infer_workload(h) {
            Ok(w) => {
                let opts = SessionOptions { budget: cfg.budget.clone() };
                results.extend(session::check(h, &session_checks, w, &opts));
                staleness = Some(session::staleness(h, w));
            }
            Err(why) if explicit => {
                return Err(ConfigError(format!("{file}: {}: {why}", session_checks[0])));
            }
            Err(why) => {
                skipped.extend(session_checks.iter().map(|&check| Skipped { check, reason: why.clone() }));
            }
        }
    }
    let verdict = results.iter().fold(Verdict::Valid, |v, r| v.combine(r.verdict));
    Ok(FileReport {
        file: file.to_string(),
        format: format.to_string(),
        events: h.events,
        ops: h.ops.len() as u64,
        faults: h.faults.len() as u64,
        verdict,
        results,
        skipped,
        staleness,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// The session workload a history fits, if any (for `conch list` and reports).
pub fn workload_of(h: &History) -> Option<Workload> {
    session::infer_workload(h).ok()
}
