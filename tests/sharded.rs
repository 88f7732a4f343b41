//! `conch check --shards N` gives the same report as checking the whole
//! history at once, on every bundled history and the Porcupine fixtures;
//! and the shard flags are validated.

mod common;
use common::{json, porcupine, root, run};
use std::path::PathBuf;

/// The JSON report without timings, which always differ.
fn report(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = run(args);
    let mut j = json(&out);
    for f in j["files"].as_array_mut().unwrap() {
        f["elapsed_ms"] = 0.into();
    }
    (out.status.code(), j)
}

fn files_in(dir: PathBuf, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn same_with_and_without_shards(files: &[String], extra: &[&str]) {
    assert!(!files.is_empty());
    let spill = tempfile::tempdir().unwrap();
    let spill_dir = spill.path().to_string_lossy().into_owned();
    for f in files {
        let mut whole = vec!["check", "--json", "--shards", "off", f.as_str()];
        whole.extend(extra);
        let (code, expected) = report(&whole);
        for n in ["3", "7"] {
            let mut args = vec!["check", "--json", "--shards", n, "--spill-dir", &spill_dir, f.as_str()];
            args.extend(extra);
            let (c, got) = report(&args);
            assert_eq!(c, code, "{f}: exit code with {n} shards");
            assert_eq!(got, expected, "{f}: report with {n} shards");
        }
    }
    let left = std::fs::read_dir(spill.path()).unwrap().count();
    assert_eq!(left, 0, "shard directories are removed");
}

#[test]
fn bundled_histories_report_the_same_when_sharded() {
    same_with_and_without_shards(&files_in(root().join("histories/linear"), "jsonl"), &[]);
    same_with_and_without_shards(&files_in(root().join("histories/session"), "jsonl"), &["--checks", "all"]);
}

#[test]
fn porcupine_fixtures_report_the_same_when_sharded() {
    let Some(p) = porcupine() else { return };
    // Every kv file (many keys: the case sharding is for) and a sample of
    // the single-key etcd logs (one shard holds them all).
    same_with_and_without_shards(&files_in(p.join("kv"), "txt"), &[]);
    let etcd = files_in(p.join("jepsen"), "log");
    same_with_and_without_shards(&etcd[..8], &[]);
}

#[test]
fn bad_shard_flags_are_usage_errors() {
    let h = root().join("histories/linear/register-ok.jsonl");
    let h = h.to_string_lossy();
    for (args, msg) in [
        (vec!["check", "--shards", "0", &h], "--shards: expected auto, off or a number from 1 to 256, found `0`"),
        (vec!["check", "--shards", "many", &h], "found `many`"),
        (vec!["check", "--shards", "4", "--html", "/tmp/never-written.html", &h], "--html needs the whole history"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    let out = run(&["check", "--shards", "2", "--spill-dir", "/nonexistent/spill", &h]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/spill"));
}

#[test]
fn independent_flag_streams_tuple_histories_and_is_validated() {
    // jepsen.independent: every value is [key value].
    let text = "{:type :invoke, :f :write, :process 0, :value [1 5]}
{:type :ok, :f :write, :process 0, :value [1 5]}
{:type :invoke, :f :read, :process 1, :value [1 nil]}
{:type :ok, :f :read, :process 1, :value [1 5]}
{:type :invoke, :f :write, :process 0, :value [2 7]}
{:type :ok, :f :write, :process 0, :value [2 7]}
{:type :invoke, :f :read, :process 1, :value [2 nil]}
{:type :ok, :f :read, :process 1, :value [2 6]}
";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("independent.edn");
    std::fs::write(&p, text).unwrap();
    let p = p.to_string_lossy();
    let (code, auto) = report(&["check", "--json", "--shards", "off", &p]);
    assert_eq!(code, Some(1), "key 2 read 6, never written");
    let keys = |j: &serde_json::Value| j["files"][0]["results"][0]["keys"].as_array().unwrap().len();
    assert_eq!(keys(&auto), 2, "auto splits [k v] values into two keys");
    let (code, yes) = report(&["check", "--json", "--independent", "yes", "--shards", "3", &p]);
    assert_eq!((code, &yes), (Some(1), &auto), "--independent yes, sharded, reports as auto does");
    let (_, no) = report(&["check", "--json", "--independent", "no", &p]);
    assert_eq!(keys(&no), 1, "--independent no keeps the tuples as values of one register");
    let out = run(&["check", "--independent", "maybe", &p]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("'maybe'") && stderr.contains("[possible values: auto, yes, no]"), "{stderr}");
}
