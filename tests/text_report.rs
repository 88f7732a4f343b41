//! Snapshot tests of the text report: a history in, the exact text out, in
//! `tests/snapshots/` (`UPDATE_EXPECT=1` rewrites them; review the diff).

mod common;
use common::*;
use expect_test::{expect, expect_file};

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

/// #18 §5: one invalid history per model, each explained by its cause in
/// one short sentence, details after, and only the cause's ops listed.
#[test]
fn model_causes_match_their_snapshots() {
    for file in [
        "linear/cas-unreachable-read.jsonl",
        "linear/counter-stale-read.jsonl",
        "linear/set-missed-add.jsonl",
        "linear/queue-out-of-order.jsonl",
        "linear/mutex-double-acquire.jsonl",
    ] {
        let snapshot = format!("snapshots/{}", file.replace('/', "-").replace(".jsonl", ".txt"));
        expect_file![snapshot].assert_eq(&check_text(file));
    }
    let out = conch()
        .current_dir(root())
        .args(["check", "--model", "multi-register", "--checks", "linearizable"])
        .arg("histories/linear/multi-register-stale-read.jsonl")
        .output()
        .unwrap();
    let text: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("checked in"))
        .map(|l| format!("{l}\n"))
        .collect();
    expect_file!["snapshots/linear-multi-register-stale-read.txt"].assert_eq(&text);
}

/// Regression (#12 §5): the summary said "1 keys".
#[test]
fn one_key_is_singular() {
    let text = check_text("linear/register-ok.jsonl");
    assert!(text.contains("(1 key: 1 valid") && !text.contains("1 keys"), "{text}");
}

/// Regressions (#12 §3b, §5): an op with no `:process` was shown as
/// "process 9223372036854775808" (the id conch numbers it by), and the
/// summary said "1 fault events".
#[test]
fn an_op_without_a_process_is_process_nil_and_counts_are_singular() {
    let text = check_text("linear/no-process-is-nil.edn");
    assert!(text.contains("process nil read -> 2 (lines 4-5)"), "{text}");
    assert!(!text.contains("922337"), "{text}");
    let out = conch().current_dir(root()).args(["check", "histories/linear/no-process-is-nil.edn"]).output().unwrap();
    let first = String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap_or_default().to_string();
    assert!(first.contains("5 events, 2 ops, 1 fault event, checked in"), "{first}");
}

/// A transactional history (#14): the model's verdict, the anomaly by
/// Elle's name with its transactions named and the cycle's labelled edges,
/// then Elle's `not` / `also-not`.
#[test]
fn txn_g_single_report() {
    expect![[r#"
        histories/txn/g-single.edn: INVALID
          strict-serializable [txn-list-append]: invalid
            history: invalid (decided by dependency-graph, 2 ops)
              G-single: T1 and T2 form a cycle with exactly one anti-dependency (rw). In detail: T1 read key "x" = [], and no read shows T2's append of 1, so it came later: T1 precedes T2 (rw); T1 read key "y" = [1], ending in T2's append of 1, so T2 precedes T1 (wr); so T1 < T2 < T1: G-single
                - T1: process 1 txn [["r" "x" nil] ["r" "y" nil]] -> [["r" "x" []] ["r" "y" [1]]] (lines 3-5)
                - T2: process 0 txn [["append" "x" 1] ["append" "y" 1]] -> ok (lines 2-4)
                cycle: T1 -rw "x"-> T2 -wr "y"-> T1
              fractured-read: T1 and T2 form a cycle in which a transaction missed a write of one it read from, which read atomic forbids. In detail: T1 read key "x" = [], and no read shows T2's append of 1, so it came later: T1 precedes T2 (rw); T1 read key "y" = [1], ending in T2's append of 1, so T2 precedes T1 (wr); so T1 < T2 < T1: fractured-read
                - T1: process 1 txn [["r" "x" nil] ["r" "y" nil]] -> [["r" "x" []] ["r" "y" [1]]] (lines 3-5)
                - T2: process 0 txn [["append" "x" 1] ["append" "y" 1]] -> ok (lines 2-4)
                cycle: T1 -rw "x"-> T2 -wr "y"-> T1
          isolation (list-append, 2 txns: 2 ok, 0 info, 0 fail; 2 keys; dependency graph of 3 nodes, 3 edges, 1 cyclic component, the largest of 2 txns)
            not: consistent-view, read-atomic, repeatable-read
            also-not: forward-consistent-view, causal, prefix, parallel-snapshot-isolation, ROLA, snapshot-isolation, update-serializable, serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, strong-session-serializable, strict-serializable
            anomalies: G-single 1, fractured-read 1
    "#]].assert_eq(&check_text("txn/g-single.edn"));
}
