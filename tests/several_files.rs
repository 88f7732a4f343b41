//! Several input files in one `conch check`: every file appears in every
//! output, and one rule chooses the exit code (README, "Exit codes").

mod common;
use common::*;
use std::process::Output;

fn history(name: &str) -> String {
    root().join("histories/linear").join(name).display().to_string()
}

fn malformed(name: &str) -> String {
    root().join("tests/malformed").join(name).display().to_string()
}

fn hard() -> String {
    root().join("tests/data/pathological-info-writes.jsonl").display().to_string()
}

/// A valid history, an unreadable file and an invalid history, in that order.
fn valid_unreadable_invalid() -> [String; 3] {
    [history("register-ok.jsonl"), malformed("empty.jsonl"), history("register-stale-read.jsonl")]
}

fn check(extra: &[&str], files: &[String]) -> Output {
    let mut args = vec!["check"];
    args.extend(extra);
    args.extend(files.iter().map(String::as_str));
    run(&args)
}

/// Regression (#12 §4): `check jepsen/*.log` exited 2 for one empty file and
/// hid the invalid histories beside it, which were also missing from the
/// text summary, the JSON and the JUnit.
#[test]
fn an_unreadable_file_is_in_every_output_and_does_not_hide_an_invalid_one() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let files = valid_unreadable_invalid();

    let text = check(&["--junit", junit.to_str().unwrap()], &files);
    assert_eq!(text.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains(&format!("{}: BAD INPUT\n  empty history", files[1])), "{stdout}");
    assert!(stdout.ends_with("3 files: 1 valid, 1 invalid, 0 unknown, 1 bad input\n"), "{stdout}");
    assert!(String::from_utf8_lossy(&text.stderr).contains(&format!("{}: empty history", files[1])));

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 3, "{xml}");
    assert!(xml.contains("<error message=\"bad input\">"), "{xml}");

    let doc = json(&check(&["--json"], &files));
    assert_eq!(doc["exit_code"], 1);
    let entries = doc["files"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["verdict"], "valid");
    assert_eq!(entries[1]["file"], files[1].as_str());
    assert_eq!(entries[1]["error"]["message"], "empty history: no events found");
    assert_eq!(entries[2]["verdict"], "invalid");
}

/// Exit codes across files: any invalid 1, else any bad input 2, else any
/// unknown 3, else 0.
#[test]
fn the_exit_code_rule_across_files() {
    let ok = history("register-ok.jsonl");
    let bad = history("register-stale-read.jsonl");
    let empty = malformed("empty.jsonl");
    assert_eq!(check(&[], &[ok.clone(), ok.clone()]).status.code(), Some(0));
    assert_eq!(check(&[], &[empty.clone(), bad.clone()]).status.code(), Some(1));
    assert_eq!(check(&[], &[ok.clone(), empty.clone()]).status.code(), Some(2));
    let timeout = ["--timeout", "0.3"];
    assert_eq!(check(&timeout, &[ok.clone(), hard()]).status.code(), Some(3));
    assert_eq!(check(&timeout, &[hard(), empty.clone()]).status.code(), Some(2));
    assert_eq!(check(&timeout, &[hard(), bad]).status.code(), Some(1));
}

/// Regression (#12 §5): an unreadable file printed a blank line on standard
/// output before its error.
#[test]
fn an_unreadable_file_prints_nothing_on_stdout() {
    let r = check(&[], &[malformed("empty.jsonl")]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&r.stdout), "");
}

/// With several inputs, `--html r.html` writes `r-N.html` for the N-th input
/// (from 0), counting the ones that could not be read, so a page's number
/// always names its input (they used to shift past an unreadable file).
#[test]
fn html_pages_are_numbered_by_input_position() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("r.html");
    let files = valid_unreadable_invalid();
    let r = check(&["--html", page.to_str().unwrap()], &files);
    assert_eq!(r.status.code(), Some(1));
    assert!(dir.path().join("r-0.html").exists() && !dir.path().join("r-1.html").exists());
    let third = std::fs::read_to_string(dir.path().join("r-2.html")).unwrap();
    assert!(third.contains("register-stale-read.jsonl"));
}

/// Regression (#12 §2a): a file of only nemesis events passed as VALID with
/// `--checks all`; JSON had no overall verdict. It is unknown, exit 3, and
/// the document says so at the top.
#[test]
fn nothing_checked_is_unknown_exit_3_with_a_top_level_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("nemesis-only.jsonl");
    std::fs::write(
        &f,
        "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"start\"}\n{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"stop\"}\n",
    )
    .unwrap();
    let path = f.to_string_lossy().to_string();
    let out = run(&["check", "--checks", "all", &path]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing was checked"));
    let out = run(&["check", "--checks", "all", "--json", &path]);
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    assert_eq!((doc["verdict"].as_str(), doc["exit_code"].as_u64()), (Some("unknown"), Some(3)));
    assert_eq!(doc["files"][0]["verdict"], "unknown");
}
