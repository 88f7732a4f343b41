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
