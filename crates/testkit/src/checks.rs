//! Shorthands for tests: [`checker::check`] with the settings a test means,
//! panicking on a [`checker::CheckError`] (a test that expects one calls
//! `checker::check` itself).

use checker::history::History;
use checker::model::{ModelKind, NilRead};
use checker::report::{Budget, CheckName, CheckResult, KeyResult, ModelName, Report};
use checker::value::Value;
use checker::{BankSettings, CheckConfig, Workload};
use std::collections::BTreeMap;

/// Linearizability alone under `model`, with an unlimited budget.
pub fn linearizability(h: &History, model: ModelKind, nil_read: NilRead, fast_paths: bool) -> CheckResult {
    linearizability_within(h, model, nil_read, fast_paths, Budget::unlimited())
}

/// Linearizability alone under `model`, within `budget`.
pub fn linearizability_within(
    h: &History,
    model: ModelKind,
    nil_read: NilRead,
    fast_paths: bool,
    budget: Budget,
) -> CheckResult {
    let cfg = CheckConfig {
        checks: vec![CheckName::Linearizable],
        model: Some(model),
        nil_read: Some(nil_read),
        budget,
        fast_paths,
        ..CheckConfig::default()
    };
    let mut report = report_with(h, &cfg);
    report.results.remove(0)
}

/// The report of these checks (empty: every check that fits).
pub fn report(h: &History, checks: &[CheckName]) -> Report {
    report_with(h, &CheckConfig { checks: checks.to_vec(), ..CheckConfig::default() })
}

/// The report under `cfg`.
pub fn report_with(h: &History, cfg: &CheckConfig) -> Report {
    checker::check(h, cfg).unwrap_or_else(|e| panic!("the history cannot be checked: {e}"))
}

/// The session `checks` (empty: those `workload` can decide) on a history
/// of that workload, one result per check.
pub fn sessions(h: &History, workload: Workload, checks: &[CheckName]) -> Vec<CheckResult> {
    let checks = if checks.is_empty() { workload.applicable_checks() } else { checks };
    let rs = report(h, checks).results;
    for r in &rs {
        assert_eq!(r.model, ModelName::Workload(workload), "the workload inferred");
    }
    rs
}

/// The bank checks as the simulator's bank needs them (every account starts
/// at 0, balances may go negative), and linearizability too if asked.
pub fn sim_bank(h: &History, linearizable: bool) -> Report {
    sim_bank_within(h, linearizable, Budget::default())
}

/// [`sim_bank`] with the linearizability search held to `budget`.
pub fn sim_bank_within(h: &History, linearizable: bool, budget: Budget) -> Report {
    let mut checks = vec![CheckName::Bank];
    if linearizable {
        checks.push(CheckName::Linearizable);
    }
    let bank = BankSettings { initial: Some(BTreeMap::new()), negative_allowed: true };
    report_with(h, &CheckConfig { checks, bank, budget, ..CheckConfig::default() })
}

/// One bank property (`total-conserved`, `no-negative-balances`,
/// `linearizable`): a key of its check.
pub fn bank_property<'a>(r: &'a Report, name: &str) -> &'a KeyResult {
    let check = if name == "linearizable" { CheckName::Linearizable } else { CheckName::Bank };
    let key = Some(Value::str(name));
    r.result(check).and_then(|c| c.keys.iter().find(|k| k.key == key)).unwrap_or_else(|| panic!("no {name}"))
}
