//! Every Porcupine fixture gets its known verdict, every key decided.

mod common;
use common::*;
use std::collections::BTreeMap;

fn expected() -> Option<(std::path::PathBuf, BTreeMap<String, String>)> {
    let dir = porcupine()?;
    let tsv = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let rows = tsv.lines().skip(1).filter_map(|l| l.split_once('\t')).map(|(f, v)| (f.to_string(), v.to_string()));
    Some((dir, rows.collect()))
}

fn check_group(dir: &std::path::Path, rows: &BTreeMap<String, String>, prefix: &str, model: &str) {
    let files: Vec<String> = rows
        .iter()
        .filter(|(f, v)| f.starts_with(prefix) && v.as_str() != "empty")
        .map(|(f, _)| dir.join(f).display().to_string())
        .collect();
    assert!(!files.is_empty());
    let mut args = vec!["check", "--json", "--model", model];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    let doc = json(&out);
    let reports = doc["files"].as_array().unwrap();
    assert_eq!(reports.len(), files.len(), "one report per file");
    let mut any_invalid = false;
    for r in reports {
        let file = r["file"].as_str().unwrap();
        let rel = file.strip_prefix(&format!("{}/", dir.display())).unwrap();
        let want = match rows[rel].as_str() {
            "linearizable" => "valid",
            "not-linearizable" => "invalid",
            other => panic!("unexpected expectation {other}"),
        };
        assert_eq!(r["verdict"], want, "{rel}");
        any_invalid |= want == "invalid";
        // Every key decided: none unknown.
        for c in r["results"].as_array().unwrap() {
            for k in c["keys"].as_array().unwrap() {
                assert_ne!(k["verdict"], "unknown", "{rel}: key {} undecided", k["key"]);
            }
        }
    }
    assert_eq!(out.status.code(), Some(if any_invalid { 1 } else { 0 }));
}

#[test]
fn etcd_logs_get_their_expected_verdicts() {
    let Some((dir, rows)) = expected() else { return };
    check_group(&dir, &rows, "jepsen/", "cas-register");
}

#[test]
fn kv_histories_get_their_expected_verdicts_on_every_key() {
    let Some((dir, rows)) = expected() else { return };
    check_group(&dir, &rows, "kv/", "kv");
}

#[test]
fn empty_fixture_is_a_clear_input_error() {
    let Some((dir, rows)) = expected() else { return };
    for (f, v) in &rows {
        if v == "empty" {
            let path = dir.join(f).display().to_string();
            let out = run(&["check", &path]);
            assert_eq!(out.status.code(), Some(2), "{f}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(&path) && err.contains("empty"), "{err}");
        }
    }
}
