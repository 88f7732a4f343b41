//! Golden reports for the data-driven history cases: every history file
//! under a directory (`histories/` at the repository root) is checked with
//! [`checker::check_path`] and its report compared with the JSON written
//! beside it (`NAME.expected.json` for `NAME.jsonl`). The expected file is the
//! `--json` report itself, so a case pins verdicts, anomaly kinds, the ops
//! named, explanations and the report's field names at once.
//!
//! `UPDATE_EXPECT=1` rewrites the expected files instead of comparing (then
//! review the diff). A case may carry settings in `NAME.args`, one
//! `name: value` a line (`checks: linearizable,convergence`,
//! `model: cas-register`, `nil-read: unknown|absent`, `linearizable-keys:
//! true`, `sequential-keys: true`); without, every check
//! that fits the history runs with the format's defaults.

use checker::model::{ModelKind, NilRead};
use checker::read::ReadOptions;
use checker::report::{CheckName, Report};
use checker::shard::ShardOptions;
use checker::{check_path, check_path_lean, CheckConfig};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The environment variable that makes [`check_dir`] rewrite expected files.
pub const UPDATE_VAR: &str = "UPDATE_EXPECT";

// Which files are histories is the demo's rule too: one walker.
#[path = "../../runner/src/walk.rs"]
mod walk;

/// The history files under `dir`, recursively, in path order (the
/// readers' extensions; expected reports, args and notes are not cases).
pub fn history_files(dir: &Path) -> Vec<PathBuf> {
    walk::histories(dir)
}

/// Where a history's expected report lives: beside it, `NAME.expected.json`.
pub fn expected_path(history: &Path) -> PathBuf {
    history.with_extension("expected.json")
}

/// The settings of a case: `NAME.args` if there is one, else the defaults.
///
/// # Panics
///
/// On an args file that cannot be read or has a setting this runner does
/// not know: a case that silently ran with other settings would pin the
/// wrong report.
pub fn case_config(history: &Path) -> CheckConfig {
    let mut cfg = CheckConfig::default();
    let args = history.with_extension("args");
    let Ok(text) = std::fs::read_to_string(&args) else { return cfg };
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = format!("{}:{}", args.display(), i + 1);
        let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("{at}: expected `name: value`"));
        let value = value.trim();
        match name.trim() {
            "checks" => {
                cfg.checks = value
                    .split(',')
                    .map(|c| CheckName::parse(c.trim()).unwrap_or_else(|| panic!("{at}: unknown check `{c}`")))
                    .collect()
            }
            "model" => cfg.model = Some(value.parse::<ModelKind>().unwrap_or_else(|e| panic!("{at}: {e}"))),
            "nil-read" => {
                cfg.nil_read = Some(match value {
                    "unknown" => NilRead::Unknown,
                    "absent" => NilRead::Absent,
                    _ => panic!("{at}: nil-read is `unknown` or `absent`"),
                })
            }
            "linearizable-keys" => cfg.txn_keys.linearizable_keys = flag(value, &at),
            "sequential-keys" => cfg.txn_keys.sequential_keys = flag(value, &at),
            other => {
                panic!("{at}: unknown setting `{other}` (checks, model, nil-read, linearizable-keys, sequential-keys)")
            }
        }
    }
    cfg
}

/// A boolean setting's value.
fn flag(value: &str, at: &str) -> bool {
    match value {
        "true" => true,
        "false" => false,
        _ => panic!("{at}: expected `true` or `false`"),
    }
}

/// The report as its golden text: the JSON report, pretty-printed in the
/// report's field order, with the file named relative to `root` and the
/// timing (which always differs) zeroed.
pub fn golden_json(report: &Report, root: &Path) -> String {
    let file = report.file.as_deref().map(|f| {
        let rel = Path::new(f).strip_prefix(root).unwrap_or(Path::new(f));
        rel.to_string_lossy().replace('\\', "/")
    });
    let stable = Report { file, elapsed_ms: 0, ..report.clone() };
    let mut s = serde_json::to_string_pretty(&stable).expect("reports serialise");
    s.push('\n');
    s
}

/// Checks one case whole and in two shards (which must agree) and returns
/// its golden text, or what went wrong.
pub fn run_case(history: &Path, root: &Path) -> Result<String, String> {
    let cfg = case_config(history);
    let read = ReadOptions::default();
    let (whole, _) = check_path(history, &read, &cfg, None).map_err(|e| format!("cannot be checked: {e}"))?;
    let golden = golden_json(&whole, root);
    let spill = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
    let shards = ShardOptions { shards: 2, dir: spill.path().to_path_buf() };
    let (sharded, _) = check_path(history, &read, &cfg, Some(&shards)).map_err(|e| format!("sharded: {e}"))?;
    if golden_json(&sharded, root) != golden {
        return Err(format!("checked in two shards the report differs:\n{}", golden_json(&sharded, root)));
    }
    // Without the history kept (transactional files read straight into
    // their compact form), the same report.
    let lean = check_path_lean(history, &read, &cfg, None).map_err(|e| format!("lean: {e}"))?;
    if golden_json(&lean, root) != golden {
        return Err(format!("checked without keeping the history the report differs:\n{}", golden_json(&lean, root)));
    }
    Ok(golden)
}

/// Runs every case under `dir` (paths in reports relative to `root`): each
/// report must equal its expected file, or with [`UPDATE_VAR`] set the
/// expected files are rewritten. Returns the number of cases.
///
/// # Panics
///
/// Listing every case that failed, was missing its expected file, or
/// could not be checked; or when `dir` holds no history at all.
pub fn check_dir(dir: &Path, root: &Path) -> usize {
    let files = history_files(dir);
    assert!(!files.is_empty(), "no histories under {}", dir.display());
    let update = std::env::var_os(UPDATE_VAR).is_some();
    let mut failures = String::new();
    for history in &files {
        let name = history.strip_prefix(root).unwrap_or(history).display().to_string();
        let got = match run_case(history, root) {
            Ok(got) => got,
            Err(why) => {
                let _ = writeln!(failures, "{name}: {why}");
                continue;
            }
        };
        let path = expected_path(history);
        if update {
            std::fs::write(&path, &got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => {
                let _ =
                    writeln!(failures, "{name}: the report differs from {}:\n{}", path.display(), diff(&want, &got));
            }
            Err(e) => {
                let _ = writeln!(failures, "{name}: no expected report ({}: {e})", path.display());
            }
        }
    }
    assert!(failures.is_empty(), "{failures}\n(review, then rerun with {UPDATE_VAR}=1 to accept the new reports)");
    files.len()
}

/// The lines that differ, `-` expected and `+` got, around the first
/// difference (reports are long; the first change is what matters).
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let first = w.iter().zip(&g).position(|(a, b)| a != b).unwrap_or(w.len().min(g.len()));
    let from = first.saturating_sub(3);
    let mut out = String::new();
    for l in &w[from..w.len().min(first + 12)] {
        let _ = writeln!(out, "-{l}");
    }
    for l in &g[from..g.len().min(first + 12)] {
        let _ = writeln!(out, "+{l}");
    }
    let _ = write!(out, "(first difference at line {})", first + 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_the_first_difference() {
        let d = diff("a\nb\nc\n", "a\nB\nc\n");
        assert!(d.contains("-b") && d.contains("+B") && d.contains("line 2"), "{d}");
    }

    #[test]
    fn args_set_checks_model_and_nil_read() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("case.jsonl");
        std::fs::write(
            h.with_extension("args"),
            "checks: linearizable, convergence\nmodel: cas-register\nnil-read: unknown\n",
        )
        .unwrap();
        let cfg = case_config(&h);
        assert_eq!(cfg.checks, [CheckName::Linearizable, CheckName::Convergence]);
        assert_eq!(cfg.model, Some(ModelKind::CasRegister));
        assert_eq!(cfg.nil_read, Some(NilRead::Unknown));
    }

    #[test]
    #[should_panic(expected = "unknown setting `budget`")]
    fn an_unknown_setting_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("case.jsonl");
        std::fs::write(h.with_extension("args"), "budget: 1\n").unwrap();
        case_config(&h);
    }
}
