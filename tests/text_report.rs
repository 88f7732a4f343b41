//! Snapshot tests of the text report: a history in, the exact text out.

mod common;
use common::*;
use expect_test::expect;

fn check_text(file: &str) -> String {
    let path = format!("histories/{file}");
    let out = conch().current_dir(root()).args(["check", &path]).output().unwrap();
    // The timing line varies; everything else is fixed.
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.contains("checked in")).collect::<Vec<_>>().join("\n")
}

#[test]
fn stale_read_report() {
    expect![[r#"
        histories/linear/register-stale-read.jsonl: INVALID
          linearizable [cas-register]: invalid (1 key: 0 valid, 1 invalid, 0 unknown)
            history: invalid (decided by unique-register, 3 ops)
              not-linearizable: process 1 read -> 1 (lines 5-6) began after process 0 write 2 -> ok (lines 3-4) completed, which itself began after process 0 write 1 -> ok (lines 1-2) completed, so the read must see 2 or a later value, not 1.
                - process 1 read -> 1 (lines 5-6)
                - process 0 write 2 -> ok (lines 3-4)
                - process 0 write 1 -> ok (lines 1-2)"#]].assert_eq(&check_text("linear/register-stale-read.jsonl"));
}

#[test]
fn info_cas_report() {
    expect![[r#"
        histories/linear/cas-info-bad.jsonl: INVALID
          linearizable [cas-register]: invalid (1 key: 0 valid, 1 invalid, 0 unknown)
            history: invalid (decided by unique-register, 4 ops)
              not-linearizable: The values 0 -> 3 can only follow one another in this order (each cas replaces the value before it, and no value is written twice), so process 2 read -> 0 (lines 7-8) must be linearized before process 2 read -> 3 (lines 5-6); but the latter completed before the former began.
                - process 2 read -> 0 (lines 7-8)
                - process 2 read -> 3 (lines 5-6)"#]].assert_eq(&check_text("linear/cas-info-bad.jsonl"));
}

#[test]
fn valid_report_lists_no_keys() {
    expect![[r#"
        histories/linear/register-ok.jsonl: VALID
          linearizable [cas-register]: valid (1 key: 1 valid, 0 invalid, 0 unknown)"#]]
    .assert_eq(&check_text("linear/register-ok.jsonl"));
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
              G-single: T1 read key "x" = [], and no read shows T2's append of 1, so it came later: T1 precedes T2 (rw); T1 read key "y" = [1], ending in T2's append of 1, so T2 precedes T1 (wr); so T1 < T2 < T1 — a cycle with exactly one anti-dependency (rw): G-single
                - T1: process 1 txn [["r" "x" nil] ["r" "y" nil]] -> [["r" "x" []] ["r" "y" [1]]] (lines 3-5)
                - T2: process 0 txn [["append" "x" 1] ["append" "y" 1]] -> ok (lines 2-4)
                cycle: T1 -rw "x"-> T2 -wr "y"-> T1
              fractured-read: T1 read key "x" = [], and no read shows T2's append of 1, so it came later: T1 precedes T2 (rw); T1 read key "y" = [1], ending in T2's append of 1, so T2 precedes T1 (wr); so T1 < T2 < T1 — a transaction missed a write of one it read from: read atomic forbids it: fractured-read
                - T1: process 1 txn [["r" "x" nil] ["r" "y" nil]] -> [["r" "x" []] ["r" "y" [1]]] (lines 3-5)
                - T2: process 0 txn [["append" "x" 1] ["append" "y" 1]] -> ok (lines 2-4)
                cycle: T1 -rw "x"-> T2 -wr "y"-> T1
          isolation (list-append, 2 txns: 2 ok, 0 info, 0 fail; 2 keys; dependency graph of 3 nodes, 3 edges, 1 cyclic component, the largest of 2 txns)
            not: consistent-view, read-atomic, repeatable-read
            also-not: forward-consistent-view, causal, prefix, parallel-snapshot-isolation, ROLA, snapshot-isolation, update-serializable, serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, strong-session-serializable, strict-serializable
            anomalies: G-single 1, fractured-read 1"#]].assert_eq(&check_text("txn/g-single.edn"));
}
