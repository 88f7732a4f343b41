//! Sharded checking must give exactly the report of checking the whole
//! history at once: same verdicts, keys, anomalies, op ids and lines.

use checker::history::Event;
use checker::read::{self, ReadOptions};
use checker::report::{CheckName, Report};
use checker::shard::{shards_for, ShardOptions, MAX_SHARDS, TARGET_SHARD_INPUT_BYTES};
use checker::{check_path, CheckConfig, CheckError, Workload};
use std::path::{Path, PathBuf};
use testkit::gen::{self, GenConfig, GenWorkload};
use testkit::gen_session::{self, GenOpts};

fn write_tmp(dir: &Path, name: &str, events: &[Event]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, checker::write::to_jsonl(events)).unwrap();
    p
}

/// The report as JSON without the timing, which always differs.
fn report_json(r: &Report) -> serde_json::Value {
    let mut j = serde_json::to_value(r).unwrap();
    j["elapsed_ms"] = 0.into();
    j
}

fn compare(path: &Path, cfg: &CheckConfig, shards: &[usize]) -> serde_json::Value {
    let opts = ReadOptions::default();
    let (whole, history) = check_path(path, &opts, cfg, None).unwrap();
    assert!(history.is_some(), "a whole check returns the history");
    let whole = report_json(&whole);
    for &n in shards {
        let so = ShardOptions { shards: n, dir: std::env::temp_dir() };
        let (sharded, history) = check_path(path, &opts, cfg, Some(&so)).unwrap();
        assert!(history.is_none(), "a sharded check never holds the history");
        let sharded = report_json(&sharded);
        assert_eq!(sharded, whole, "{} with {n} shards", path.display());
    }
    whole
}

fn all_checks() -> CheckConfig {
    CheckConfig::default()
}

#[test]
fn register_list_set_counter_histories_match_whole_checks() {
    let dir = tempfile::tempdir().unwrap();
    let workloads = [
        GenWorkload::Register { cas: false },
        GenWorkload::Register { cas: true },
        GenWorkload::ListAppend,
        GenWorkload::Set,
        GenWorkload::Counter,
    ];
    for (i, w) in workloads.into_iter().enumerate() {
        let cfg = GenConfig { seed: 7 + i as u64, clients: 6, keys: 9, ops: 600, workload: w, ..GenConfig::default() };
        let p = write_tmp(dir.path(), &format!("g{i}.jsonl"), &gen::events(&cfg));
        let whole = compare(&p, &all_checks(), &[1, 2, 5]);
        assert_eq!(whole["verdict"], "valid", "{w:?}: generated histories are linearizable");
    }
}

#[test]
fn session_histories_with_final_reads_and_violations_match_whole_checks() {
    let dir = tempfile::tempdir().unwrap();
    for (i, w) in [Workload::Register, Workload::ListAppend, Workload::Set, Workload::Counter].into_iter().enumerate() {
        for stale in [false, true] {
            let o = GenOpts {
                workload: w,
                sessions: 5,
                keys: 6,
                ops: 400,
                read_pct: 50,
                info_pct: 2,
                fail_pct: 2,
                nodes: 3,
                stale,
                seed: 11 + i as u64,
            };
            let p = write_tmp(dir.path(), &format!("s{i}-{stale}.jsonl"), &gen_session::generate(&o));
            let whole = compare(&p, &all_checks(), &[3]);
            assert!(whole["staleness"].is_object(), "{w}: staleness is merged across shards");
        }
    }
}

#[test]
fn violations_keep_their_ops_and_lines_across_shards() {
    // Two keys: key 1 is fine, key 2 has a stale read after a completed write.
    let text = "\
{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"key\":1,\"value\":1}
{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"key\":1,\"value\":1}
{\"type\":\"invoke\",\"process\":1,\"f\":\"write\",\"key\":2,\"value\":5}
{\"type\":\"ok\",\"process\":1,\"f\":\"write\",\"key\":2,\"value\":5}
{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"key\":2,\"value\":null}
{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"key\":2,\"value\":null}
{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":1,\"value\":null}
{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":1,\"value\":1}
";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.jsonl");
    std::fs::write(&p, text).unwrap();
    let cfg = CheckConfig { checks: vec![CheckName::Linearizable], ..CheckConfig::default() };
    let whole = compare(&p, &cfg, &[1, 2, 4, 16]);
    assert_eq!(whole["verdict"], "invalid");
    let keys = whole["results"][0]["keys"].as_array().unwrap();
    assert_eq!(keys.iter().map(|k| k["verdict"].as_str().unwrap()).collect::<Vec<_>>(), ["valid", "invalid"]);
    let ops = &keys[1]["anomalies"][0]["ops"];
    assert!(ops.as_array().unwrap().iter().any(|o| o["invoke_line"] == 5 && o["id"] == 2), "{ops}");
}

#[test]
fn malformed_input_gives_the_same_error_as_whole_reading() {
    let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"key\":1,\"value\":null}\n\
                {\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"key\":1,\"value\":null}\n";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("double.jsonl");
    std::fs::write(&p, text).unwrap();
    let whole = read::read_path(&p, &ReadOptions::default()).unwrap_err();
    let so = ShardOptions { shards: 3, dir: dir.path().to_path_buf() };
    match check_path(&p, &ReadOptions::default(), &CheckConfig::default(), Some(&so)) {
        Err(CheckError::Input(e)) => assert_eq!(e.to_string(), whole.to_string()),
        other => panic!("expected an input error, got {other:?}"),
    }
    // The shard directory is removed, even on error.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("double.jsonl")]);
}

#[test]
fn explicit_check_that_does_not_apply_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GenConfig { ops: 50, ..GenConfig::default() };
    let p = write_tmp(dir.path(), "r.jsonl", &gen::events(&cfg));
    let so = ShardOptions { shards: 2, dir: std::env::temp_dir() };
    let bank = CheckConfig { checks: vec![CheckName::Bank], ..CheckConfig::default() };
    let e = check_path(&p, &ReadOptions::default(), &bank, Some(&so)).unwrap_err();
    assert!(matches!(e, CheckError::NotApplicable { check: CheckName::Bank, .. }), "{e}");
}

#[test]
fn unwritable_shard_dir_is_a_spill_error() {
    let so = ShardOptions { shards: 2, dir: PathBuf::from("/nonexistent/conch-shards") };
    let err = check_path(Path::new("whatever.jsonl"), &ReadOptions::default(), &CheckConfig::default(), Some(&so));
    assert!(
        matches!(&err, Err(e @ CheckError::Spill { .. }) if e.to_string().contains("/nonexistent/conch-shards")),
        "{err:?}"
    );
}

#[test]
fn shard_count_follows_input_size() {
    assert_eq!(shards_for(0), 2);
    assert_eq!(shards_for(10 * TARGET_SHARD_INPUT_BYTES), 10);
    assert_eq!(shards_for(u64::MAX), MAX_SHARDS);
}
