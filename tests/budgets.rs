//! Budgets end in an honest `unknown` (exit 3), never a guess: a
//! pathological history (60 concurrent info writes of repeated values on one
//! key) under a small time and a small memory budget.

mod common;
use common::*;

fn hard() -> String {
    root().join("tests/data/pathological-info-writes.jsonl").display().to_string()
}

#[test]
fn timeout_gives_unknown_with_the_reason() {
    let out = run(&["check", "--timeout", "0.5", &hard()]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("UNKNOWN") && text.contains("undecided: timeout"), "{text}");
}

#[test]
fn memory_budget_gives_unknown_with_the_reason() {
    let out = run(&["check", "--json", "--memory-mb", "16", "--timeout", "60", &hard()]);
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    let key = &doc["files"][0]["results"][0]["keys"][0];
    assert_eq!(key["verdict"], "unknown");
    assert!(key["unknown_reason"].as_str().unwrap().starts_with("memory budget of 16 MiB exhausted"), "{key}");
}
