//! Nothing green unless something was checked (#12 §2a, §2b): a report in
//! which every check was skipped, and a check that saw no successful op of
//! the kind it needs, are unknown with the reason, never valid; whole and
//! sharded alike.

use checker::read::{self, ReadOptions};
use checker::report::{CheckName, Report, Verdict};
use checker::shard::ShardOptions;
use checker::{check, check_path, BankSettings, CheckConfig, History};
use std::collections::BTreeMap;

fn history(jsonl: &str) -> History {
    read::read_bytes("t.jsonl", jsonl.as_bytes(), &ReadOptions::default()).unwrap().0
}

/// The report of `jsonl` under `cfg`, checked whole in memory, whole from a
/// file and in two shards: all three must agree, and the first is returned.
fn reports(jsonl: &str, cfg: &CheckConfig) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    std::fs::write(&path, jsonl).unwrap();
    let memory = check(&history(jsonl), cfg).unwrap();
    let json = |r: &Report| {
        let mut j = serde_json::to_value(r).unwrap();
        for f in ["elapsed_ms", "file", "format"] {
            j.as_object_mut().unwrap().remove(f);
        }
        j
    };
    let (whole, _) = check_path(&path, &ReadOptions::default(), cfg, None).unwrap();
    let so = ShardOptions { shards: 2, dir: dir.path().to_path_buf() };
    let (sharded, _) = check_path(&path, &ReadOptions::default(), cfg, Some(&so)).unwrap();
    assert_eq!(json(&whole), json(&memory), "whole file and in memory");
    assert_eq!(json(&sharded), json(&memory), "sharded and whole");
    memory
}

/// The report, and every check in it, unknown for a reason that starts
/// with `why`.
fn assert_all_unknown(r: &Report, why: &str) {
    assert_eq!(r.verdict, Verdict::Unknown);
    for c in &r.results {
        assert_eq!(c.verdict, Verdict::Unknown, "{}", c.check);
        assert!(c.unknown_reason.as_deref().unwrap().starts_with(why), "{}: {:?}", c.check, c.unknown_reason);
    }
}

fn every_check() -> CheckConfig {
    CheckConfig::default()
}

const NEMESIS_ONLY: &str = include_str!("data/nothing_checked/nemesis_only.jsonl");

#[test]
fn every_check_skipped_on_a_file_of_only_nemesis_events_is_unknown_not_valid() {
    let r = reports(NEMESIS_ONLY, &every_check());
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(r.results.is_empty());
    let why = r.unknown_reason.as_deref().unwrap();
    assert!(why.starts_with("nothing was checked: "), "{why}");
    assert!(why.contains("linearizable: no operations to infer a model from"), "{why}");
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["verdict"], "unknown");
    assert!(j["unknown_reason"].as_str().unwrap().starts_with("nothing was checked"));
}

#[test]
fn every_check_skipped_for_an_unknown_op_is_unknown_not_valid() {
    let frob = include_str!("data/nothing_checked/every_check_skipped_for_an_unknown_op_is_unknown_not_valid.jsonl");
    let r = reports(frob, &every_check());
    assert_eq!(r.verdict, Verdict::Unknown);
    let why = r.unknown_reason.as_deref().unwrap();
    assert!(why.contains("cannot infer a model from the operations found (frob)"), "{why}");
    assert!(why.contains("operation `frob` is not part of a session workload"), "{why}");
}

#[test]
fn linearizable_with_a_model_given_and_no_op_at_all_is_unknown_not_valid() {
    let cfg = CheckConfig {
        checks: vec![CheckName::Linearizable],
        model: Some("cas-register".parse().unwrap()),
        ..CheckConfig::default()
    };
    let r = reports(NEMESIS_ONLY, &cfg);
    let lin = r.result(CheckName::Linearizable).unwrap();
    assert!(lin.keys.is_empty());
    assert_eq!((lin.verdict, r.verdict), (Verdict::Unknown, Verdict::Unknown));
    assert!(lin.unknown_reason.as_deref().unwrap().starts_with("no operation completed ok"));
}

#[test]
fn linearizable_with_no_ok_op_is_unknown_not_valid() {
    let timed_out = include_str!("data/nothing_checked/linearizable_with_no_ok_op_is_unknown_not_valid.jsonl");
    let cfg = CheckConfig { checks: vec![CheckName::Linearizable], ..CheckConfig::default() };
    let r = reports(timed_out, &cfg);
    let lin = r.result(CheckName::Linearizable).unwrap();
    assert_eq!(lin.verdict, Verdict::Unknown);
    assert_eq!(lin.keys[0].verdict, Verdict::Unknown, "the key says so too");
    assert!(lin.keys[0].unknown_reason.as_deref().unwrap().starts_with("no operation completed ok"));
}

/// `run --protocol lww --workload list-append`: every append refused, the
/// reads fine and empty.
#[test]
fn session_checks_with_every_append_refused_are_unknown_not_valid() {
    let refused =
        include_str!("data/nothing_checked/session_checks_with_every_append_refused_are_unknown_not_valid.jsonl");
    let r = reports(refused, &CheckConfig { checks: CheckName::SESSION[..4].to_vec(), ..CheckConfig::default() });
    assert_all_unknown(&r, "no write completed ok");
}

#[test]
fn session_checks_with_no_ok_read_are_unknown_not_valid() {
    let unread = include_str!("data/nothing_checked/session_checks_with_no_ok_read_are_unknown_not_valid.jsonl");
    let r = reports(unread, &CheckConfig { checks: vec![CheckName::ReadYourWrites], ..CheckConfig::default() });
    let ryw = r.result(CheckName::ReadYourWrites).unwrap();
    assert_eq!(ryw.verdict, Verdict::Unknown);
    assert!(ryw.unknown_reason.as_deref().unwrap().starts_with("no read completed ok"));
}

/// `gossip` with `bank`: every transfer fails, every read shows the
/// initial balances.
#[test]
fn bank_with_every_transfer_failed_is_unknown_not_valid() {
    let failed = include_str!("data/nothing_checked/bank_with_every_transfer_failed_is_unknown_not_valid.jsonl");
    let bank = BankSettings { initial: Some(BTreeMap::new()), negative_allowed: true };
    let cfg = CheckConfig { checks: vec![CheckName::Bank, CheckName::Linearizable], bank, ..CheckConfig::default() };
    assert_all_unknown(&reports(failed, &cfg), "no transfer completed ok");
}

#[test]
fn an_anomaly_found_with_nothing_else_to_check_stands() {
    // A read of a value nobody wrote, and the only write failed: no write
    // completed ok, yet monotonic reads saw 1 and then nil.
    let h = include_str!("data/nothing_checked/an_anomaly_found_with_nothing_else_to_check_stands.jsonl");
    let r = reports(h, &CheckConfig { checks: vec![CheckName::MonotonicReads], ..CheckConfig::default() });
    assert_eq!(r.verdict, Verdict::Invalid);
}
