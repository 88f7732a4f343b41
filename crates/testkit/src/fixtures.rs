//! The shared fixtures of real histories, which live outside the
//! repository (`../shared/fixtures/` beside the checkout). A test that needs
//! them calls [`porcupine`]: when they are absent it is skipped with a note
//! on a developer's machine, and fails under CI (the `CI` environment
//! variable set, as `.ci/run` does), so that a CI machine without them can
//! never pass by checking nothing.

use std::path::PathBuf;

/// The environment variable whose presence turns a missing fixture into a
/// failure.
pub const CI_VAR: &str = "CI";

/// The shared fixtures directory: `shared/fixtures` beside the checkout.
pub fn shared_dir() -> PathBuf {
    // This crate is crates/testkit; the checkout's parent holds `shared`.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// Porcupine's etcd and kv histories with their `EXPECTED.tsv`, or `None`
/// (after a note on stderr) when they are absent outside CI.
///
/// # Panics
///
/// When they are absent and [`CI_VAR`] is set.
pub fn porcupine() -> Option<PathBuf> {
    present(shared_dir().join("porcupine"), "EXPECTED.tsv", std::env::var_os(CI_VAR).is_some())
}

/// `dir` if it holds `marker`; else a failure under CI, a skip otherwise.
fn present(dir: PathBuf, marker: &str, ci: bool) -> Option<PathBuf> {
    if dir.join(marker).is_file() {
        return Some(dir);
    }
    let what = format!("{} (no {marker})", dir.display());
    assert!(!ci, "shared fixtures missing under CI: {what}; a test that checks nothing must not pass");
    eprintln!("note: shared fixtures missing: {what}; test skipped (it fails under CI)");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fixtures_skip_outside_ci() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(present(dir.path().to_path_buf(), "EXPECTED.tsv", false), None);
    }

    #[test]
    #[should_panic(expected = "shared fixtures missing under CI")]
    fn missing_fixtures_fail_under_ci() {
        let dir = tempfile::tempdir().unwrap();
        present(dir.path().to_path_buf(), "EXPECTED.tsv", true);
    }

    #[test]
    fn present_fixtures_are_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("EXPECTED.tsv"), "").unwrap();
        assert_eq!(present(dir.path().to_path_buf(), "EXPECTED.tsv", true), Some(dir.path().to_path_buf()));
    }
}
