//! Snapshot tests of the text report: a history in, the exact text out, in
//! `tests/snapshots/` (`UPDATE_EXPECT=1` rewrites them; review the diff).

mod common;
use common::*;
use expect_test::expect_file;

fn check_text(file: &str) -> String {
    let path = format!("histories/{file}");
    let out = conch().current_dir(root()).args(["check", &path]).output().unwrap();
    // The timing line varies; everything else is fixed.
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter(|l| !l.contains("checked in")).map(|l| format!("{l}\n")).collect()
}

/// A stale read, an info cas read out of order, and a valid history, whose
/// report lists no keys.
#[test]
fn text_reports_match_their_snapshots() {
    for file in ["linear/register-stale-read.jsonl", "linear/cas-info-bad.jsonl", "linear/register-ok.jsonl"] {
        let snapshot = format!("snapshots/{}", file.replace('/', "-").replace(".jsonl", ".txt"));
        expect_file![snapshot].assert_eq(&check_text(file));
    }
}

/// Regression (#12 §5): the summary said "1 keys".
#[test]
fn one_key_is_singular() {
    let text = check_text("linear/register-ok.jsonl");
    assert!(text.contains("(1 key: 1 valid") && !text.contains("1 keys"), "{text}");
}
