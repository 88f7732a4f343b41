//! The data-driven cases: every history under the repository's `histories/`
//! (any depth; `histories/txn/` too) is checked, whole and in two shards, and
//! its `--json` report must equal `NAME.expected.json` beside it. New case:
//! add the history (and `NAME.args` for settings other than every check),
//! run with `UPDATE_EXPECT=1`, review the written report. See
//! `testkit::golden`.

use std::path::Path;

#[test]
fn every_history_gets_its_expected_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().expect("the repository root");
    let n = testkit::golden::check_dir(&root.join("histories"), &root);
    assert!(n >= 20, "only {n} history cases found");
}
