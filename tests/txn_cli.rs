//! Transactional histories through the binary (#14): `conch check` routes
//! `f: txn` histories to the isolation models, with the exit codes of every
//! check, Elle's `not` / `also-not`, anomaly names verbatim in text, JSON
//! and JUnit.

mod common;
use common::*;

fn txn(name: &str) -> String {
    root().join("histories/txn").join(name).to_string_lossy().into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn exit_codes_are_those_of_every_check() {
    assert_eq!(run(&["check", &txn("valid.edn")]).status.code(), Some(0));
    assert_eq!(run(&["check", &txn("g-single.edn")]).status.code(), Some(1));
    // Read committed allows read skew.
    assert_eq!(run(&["check", "--checks", "read-committed", &txn("g-single.edn")]).status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let none_ok = dir.path().join("none-ok.jsonl");
    std::fs::write(
        &none_ok,
        "{\"type\":\"invoke\",\"process\":0,\"f\":\"txn\",\"value\":[[\"append\",1,1]]}\n\
         {\"type\":\"info\",\"process\":0,\"f\":\"txn\",\"value\":[[\"append\",1,1]]}\n",
    )
    .unwrap();
    let out = run(&["check", none_ok.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "nothing committed is unknown: {}", stdout(&out));
    assert!(stdout(&out).contains("no transaction completed ok"), "{}", stdout(&out));
}

#[test]
fn all_means_strict_serializable_and_the_report_names_not_and_also_not() {
    let out = run(&["check", "--checks", "all", "--json", &txn("g-single.edn")]);
    assert_eq!(out.status.code(), Some(1));
    let j = json(&out);
    let f = &j["files"][0];
    let results = f["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{f}");
    assert_eq!(results[0]["check"], "strict-serializable");
    assert_eq!(results[0]["model"], "txn-list-append");
    let anomalies = results[0]["keys"][0]["anomalies"].as_array().unwrap();
    let g_single = anomalies.iter().find(|a| a["kind"] == "G-single").expect("G-single, verbatim");
    assert_eq!(g_single["detail"]["txns"], serde_json::json!(["T1", "T2"]));
    let kinds: Vec<&str> =
        g_single["detail"]["steps"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["rw", "wr"]);
    assert_eq!(g_single["ops"][0]["invoke_line"], 3);
    assert_eq!(f["isolation"]["not"], serde_json::json!(["consistent-view", "read-atomic", "repeatable-read"]));
    assert!(f["isolation"]["also_not"].as_array().unwrap().contains(&"strict-serializable".into()));
    assert!(f["skipped"].as_array().unwrap().is_empty(), "never all-skipped: {f}");
}

#[test]
fn every_model_is_a_check_and_linearizable_is_strict_serializable() {
    let models = "read-uncommitted,read-committed,read-atomic,causal,consistent-view,snapshot-isolation,\
                  repeatable-read,serializable,strict-serializable,strong-session-serializable,\
                  strong-session-snapshot-isolation,strong-snapshot-isolation";
    let out = run(&["check", "--checks", models, "--json", &txn("g2-item.edn")]);
    let j = json(&out);
    let verdicts: Vec<(String, String)> = j["files"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["check"].as_str().unwrap().to_string(), r["verdict"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(verdicts.len(), 12);
    let of = |m: &str| verdicts.iter().find(|v| v.0 == m).unwrap().1.as_str();
    assert_eq!(of("snapshot-isolation"), "valid", "write skew is allowed under SI");
    assert_eq!(of("serializable"), "invalid");
    assert_eq!(out.status.code(), Some(1));
    // The binary's default check, linearizable, is strict serializability
    // for transactions.
    let out = run(&["check", "--json", &txn("g2-item.edn")]);
    assert_eq!(json(&out)["files"][0]["results"][0]["check"], "strict-serializable");
}

#[test]
fn single_object_checks_on_txn_histories_are_refused_and_isolation_needs_txns() {
    let out = run(&["check", "--checks", "monotonic-reads", &txn("g1a.edn")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not apply to transactional histories"));
    let reg = root().join("histories/linear/register-ok.jsonl");
    let out = run(&["check", "--checks", "serializable", reg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a transactional history"));
}

#[test]
fn text_names_the_txns_and_the_cycle_and_junit_the_anomaly() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("j.xml");
    let out = run(&["check", "--junit", junit.to_str().unwrap(), &txn("g-single.edn")]);
    let text = stdout(&out);
    assert!(text.contains("strict-serializable [txn-list-append]: invalid"), "{text}");
    assert!(text.contains("- T1: process 1 txn"), "{text}");
    assert!(text.contains("cycle: T1 -rw \"x\"-> T2 -wr \"y\"-> T1"), "{text}");
    assert!(text.contains("not: consistent-view, read-atomic, repeatable-read"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("name=\"strict-serializable\""), "{xml}");
    assert!(
        xml.contains("<failure message=\"strict-serializable violated\">G-single: T1 and T2 form a cycle"),
        "{xml}"
    );
}

#[test]
fn rw_register_histories_too() {
    let out = run(&["check", "--checks", "serializable", "--json", &txn("rw-g-single.edn")]);
    assert_eq!(out.status.code(), Some(1));
    let j = json(&out);
    assert_eq!(j["files"][0]["results"][0]["model"], "txn-rw-register");
    let kinds: Vec<&str> = j["files"][0]["results"][0]["keys"][0]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"G-single"), "{kinds:?}");
}

/// `--linearizable-keys` / `--sequential-keys` reach the checker: a
/// history serializable from its reads alone shows G-single once keys are
/// assumed linearizable, the JSON report names the version sources used and
/// the step resting on the assumption, and the text report says which
/// assumption was made. On list-append the flags change nothing.
#[test]
fn key_assumption_flags_reach_the_checker_and_the_report() {
    let h = txn("rw-linearizable-keys.edn");
    let plain = run(&["check", "--checks", "serializable", "--json", &h]);
    assert_eq!(plain.status.code(), Some(0), "{}", stdout(&plain));
    let j = json(&plain);
    assert_eq!(j["files"][0]["isolation"]["version_sources"], serde_json::json!(["initial-state", "wfr-keys"]));

    let out = run(&["check", "--checks", "serializable", "--linearizable-keys", "--json", &h]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let j = json(&out);
    let f = &j["files"][0];
    assert_eq!(
        f["isolation"]["version_sources"],
        serde_json::json!(["initial-state", "wfr-keys", "linearizable-keys"])
    );
    assert_eq!(f["isolation"]["key_assumptions"]["linearizable_keys"], true);
    let anomalies = f["results"][0]["keys"][0]["anomalies"].as_array().unwrap();
    let g = anomalies.iter().find(|a| a["kind"] == "G-single").expect("G-single");
    assert_eq!(g["detail"]["assumed"], serde_json::json!([{"step": 0, "kind": "rw", "source": "linearizable-keys"}]));
    assert!(g["explanation"].as_str().unwrap().contains("(--linearizable-keys)"), "{g}");

    let text = run(&["check", "--checks", "serializable", "--linearizable-keys", &h]);
    assert!(
        stdout(&text).contains("assumed --linearizable-keys: versions also ordered by real-time order"),
        "{}",
        stdout(&text)
    );

    let seq = run(&["check", "--checks", "serializable", "--sequential-keys", &txn("rw-sequential-keys.edn")]);
    assert_eq!(seq.status.code(), Some(1), "{}", stdout(&seq));
    assert!(stdout(&seq).contains("cyclic-versions"), "{}", stdout(&seq));

    let list = run(&["check", "--linearizable-keys", &txn("valid.edn")]);
    assert_eq!(list.status.code(), Some(0), "{}", stdout(&list));
    assert!(stdout(&list).contains("no effect: list-append reads give the version order"), "{}", stdout(&list));
}
