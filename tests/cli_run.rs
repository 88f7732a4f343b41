//! End to end: `conch run` then `conch check` for each protocol, `compare` on
//! two protocols and two seeds, `demo` on a small setting, and exit codes.

mod common;
use common::*;

/// Runs one seed of `protocol` with its own workload, checks it, and returns
/// the report's per-check verdicts.
fn run_and_check(protocol: &str, ops: &str, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let mut args = vec!["run", "--protocol", protocol, "--seed", "1", "--ops", ops, "--out", out, "--check"];
    args.extend(extra);
    let r = run(&args);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(matches!(r.status.code(), Some(0 | 1)), "{protocol}: {stdout}\n{}", String::from_utf8_lossy(&r.stderr));
    assert!(stdout.contains(&format!("reproduce: conch run --protocol {protocol}")), "{stdout}");
    for f in [
        "history.jsonl",
        "run.json",
        "report.json",
        "report.html",
        "latency-raw.svg",
        "latency-quantiles.svg",
        "rate.svg",
    ] {
        assert!(dir.path().join(f).exists(), "{protocol}: {f} missing");
    }
    // The written history checks to the same verdict from the file.
    let history = dir.path().join("history.jsonl");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let again = run(&[
        "check",
        "--json",
        "--checks",
        "all",
        "--bank-negative-ok",
        "--bank-initial",
        "zero",
        history.to_str().unwrap(),
    ]);
    let again = json(&again);
    assert_eq!(again["files"][0]["verdict"], report["verdict"], "{protocol}: run --check and check disagree");
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["seed"], 1);
    assert!(run_json["stats"]["msgs_sent"].as_u64().unwrap() > 0 || protocol == "single");
    report
}

fn verdict_of(report: &serde_json::Value, check: &str) -> String {
    let r = report["results"].as_array().unwrap().iter().find(|r| r["check"] == check);
    r.map_or("absent".into(), |r| r["verdict"].as_str().unwrap().to_string())
}

#[test]
fn every_protocol_runs_and_checks() {
    for p in ["raft", "abd", "quorum", "lww", "vclock", "gossip", "weak", "2pc", "3pc", "single", "lagging"] {
        let report = run_and_check(p, "120", &[]);
        assert!(!report["results"].as_array().unwrap().is_empty(), "{p}: nothing checked");
    }
}

#[test]
fn strong_protocols_pass_and_the_broken_one_fails() {
    for p in ["raft", "abd", "single"] {
        let r = run_and_check(p, "120", &["--nemesis", "partition,crash"]);
        assert_eq!(verdict_of(&r, "linearizable"), "valid", "{p}");
    }
    let r = run_and_check("lagging", "300", &[]);
    assert_eq!(verdict_of(&r, "linearizable"), "invalid");
    let r = run_and_check("2pc", "120", &[]);
    assert_eq!(verdict_of(&r, "bank"), "valid");
}

#[test]
fn run_exit_codes_and_until_violation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = run(&[
        "run",
        "--protocol",
        "lagging",
        "--seeds",
        "0..20",
        "--ops",
        "200",
        "--check",
        "--until-violation",
        "--out",
        out,
    ]);
    assert_eq!(r.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(stdout.contains("first violation: seed 0"), "{stdout}");
    assert!(stdout.contains("of 20 (stopped at the first violation):"), "no one-line summary: {stdout}");
    let last = stdout.lines().last().unwrap_or("");
    assert!(last.contains("(first at seed 0)") && last.ends_with(" s"), "the summary is not the last line: {stdout}");
    assert!(stdout.contains("reproduce: conch run --protocol lagging"), "{stdout}");
    // Stopped early: far fewer than 20 seed directories.
    let dirs = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(dirs < 20, "--until-violation ran {dirs} seeds");
    // Existing output is not overwritten without --force.
    let again = run(&["run", "--protocol", "lagging", "--seeds", "0..2", "--out", out]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    // Usage errors are exit 2 and say what was expected.
    let bad = run(&["run", "--protocol", "paxos"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("raft, abd"), "{}", String::from_utf8_lossy(&bad.stderr));
    let bad = run(&["run", "--protocol", "quorum", "--param", "consistency=sometimes"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// #18 §5: a sweep ends with its one-line summary, and an all-valid one
/// names no seed to reproduce (it printed the first seed's command).
#[test]
fn a_seed_sweep_ends_with_its_one_line_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = run(&["run", "--protocol", "raft", "--seeds", "0..3", "--ops", "60", "--check", "--out", out]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&r.stderr));
    let last = stdout.lines().last().unwrap_or("");
    assert!(last.starts_with("raft: 3 seeds run: 3 valid, 0 invalid, 0 unknown; ") && last.ends_with(" s"), "{stdout}");
    assert!(!stdout.contains("reproduce"), "{stdout}");
}

#[test]
fn same_seed_same_bytes_from_the_command_line() {
    let args = ["run", "--protocol", "raft", "--nemesis", "partition,crash,loss", "--seed", "9", "--ops", "150"];
    assert_same_history_twice(&args, |r, _| assert_eq!(r.status.code(), Some(0)));
}

/// `--key-dist hot` reaches the workload: key 0 carries most invocations,
/// and run.json and the reproduce line name the preset; a transactional
/// workload refuses it (exit 2).
#[test]
fn the_hot_key_preset_contends_on_one_key_and_is_recorded() {
    let d = tempfile::tempdir().unwrap();
    let args = ["run", "--protocol", "abd", "--seed", "0", "--ops", "200", "--key-dist", "hot"];
    let r = run(&[&args[..], &["--out", d.path().to_str().unwrap()]].concat());
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["config"]["workload"]["key_dist"]["Hot"]["share_pct"], 90, "{run_json}");
    assert!(run_json["command"].as_str().unwrap().contains(" --key-dist hot"), "{run_json}");
    let history = std::fs::read_to_string(d.path().join("history.jsonl")).unwrap();
    let keys: Vec<i64> = history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "invoke" && e["process"].is_u64())
        .filter_map(|e| e["key"].as_i64())
        .collect();
    let hot = keys.iter().filter(|&&k| k == 0).count();
    assert!(keys.len() >= 200 && hot * 10 >= keys.len() * 8, "{hot} of {} on key 0", keys.len());
    let r = run(&["run", "--protocol", "single", "--workload", "txn-list-append", "--key-dist", "hot", "--ops", "10"]);
    assert_eq!(r.status.code(), Some(2), "{}", String::from_utf8_lossy(&r.stderr));
}

/// `--latency-dist` reaches the network: a heavy-tailed run is a different
/// history from the default's for the same seed, the same bytes twice, and
/// run.json and the reproduce line both name it.
#[test]
fn a_latency_distribution_changes_the_run_and_is_recorded() {
    let base = ["run", "--protocol", "quorum", "--param", "consistency=one", "--seed", "0", "--ops", "150"];
    let d = tempfile::tempdir().unwrap();
    assert_eq!(run(&[&base[..], &["--out", d.path().to_str().unwrap()]].concat()).status.code(), Some(0));
    let default = std::fs::read(d.path().join("history.jsonl")).unwrap();
    let pareto = [&base[..], &["--latency-dist", "pareto"]].concat();
    let histories = std::cell::RefCell::new(Vec::new());
    assert_same_history_twice(&pareto, |r, dir| {
        assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
        let run_json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(run_json["config"]["net"]["latency"]["Pareto"]["mean_ns"], 500_000, "{run_json}");
        assert!(run_json["command"].as_str().unwrap().contains(" --latency-dist pareto"), "{run_json}");
        histories.borrow_mut().push(std::fs::read(dir.join("history.jsonl")).unwrap());
    });
    assert_ne!(histories.borrow()[0], default, "pareto delays left the history unchanged");
    let r = run(&[&base[..], &["--latency-dist", "lognormal"]].concat());
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("pareto"), "{}", String::from_utf8_lossy(&r.stderr));
}

/// #15 §5: `--nemesis swizzle` clogs and unclogs from the command line:
/// run.json counts the swizzles and the held messages, the history records
/// each clog order, and the same seed gives the same bytes.
#[test]
fn the_swizzle_nemesis_runs_from_the_command_line_and_is_recorded() {
    let args = ["run", "--protocol", "raft", "--nemesis", "swizzle", "--seed", "3", "--ops", "300", "--check"];
    assert_same_history_twice(&args, |r, dir| {
        assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
        let run_json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
        assert!(run_json["stats"]["faults_by_kind"]["swizzle"].as_u64().unwrap() >= 3, "{run_json}");
        assert!(run_json["stats"]["msgs_held"].as_u64().unwrap() > 0, "{run_json}");
        let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
        assert!(history.contains("\"start-swizzle\"") && history.contains("\"unclog\""), "{history}");
    });
}

/// Runs `args` twice, each into a fresh `--out` directory, hands every run's
/// output and directory to `each`, and asserts both histories are the same
/// bytes: the simulator's determinism, seen from the command line.
fn assert_same_history_twice(args: &[&str], each: impl Fn(&std::process::Output, &std::path::Path)) {
    let histories: Vec<Vec<u8>> = (0..2)
        .map(|_| {
            let d = tempfile::tempdir().unwrap();
            let r = run(&[args, &["--out", d.path().to_str().unwrap()]].concat());
            each(&r, d.path());
            std::fs::read(d.path().join("history.jsonl")).unwrap()
        })
        .collect();
    assert_eq!(histories[0], histories[1]);
}

/// Also a regression (#12 §5): compare exited 0 when checks failed (lww is
/// not linearizable under clock skew).
#[test]
fn compare_two_protocols_two_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = run(&[
        "compare",
        "--protocols",
        "abd,lww",
        "--nemesis",
        "clock-skew",
        "--seeds",
        "0..2",
        "--ops",
        "150",
        "--out",
        out,
    ]);
    assert_eq!(r.status.code(), Some(1), "{}", String::from_utf8_lossy(&r.stderr));
    let table = String::from_utf8_lossy(&r.stdout);
    assert!(table.lines().any(|l| l.starts_with("lww") && l.contains("FAIL")), "{table}");
    assert!(table.lines().any(|l| l.starts_with("abd")) && table.lines().any(|l| l.starts_with("lww")), "{table}");
    for f in [
        "compare.csv",
        "compare.json",
        "index.html",
        "latency.svg",
        "availability.svg",
        "abd/latency-raw.svg",
        "lww/rate.svg",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    // #18 §5: the summary is the last line, after the path of the index.
    let last = table.lines().last().unwrap_or("");
    assert!(last.starts_with("compare: 2 protocols, 2 seeds each: violations in lww (linearizable on"), "{table}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("compare.json")).unwrap()).unwrap();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["seeds"], 2);
    let csv = std::fs::read_to_string(dir.path().join("compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    assert!(dir.path().join("abd/seed-1/report.html").exists());
}

/// Also regressions (#12 §5): `demo` run outside the repository failed
/// after all its runs ("no histories found under histories"), and
/// overwrote an existing `--out` without `--force`.
#[test]
fn demo_on_a_small_setting_outside_the_repository() {
    let cwd = tempfile::tempdir().unwrap();
    let demo = |extra: &[&str]| {
        let mut args = vec!["demo", "--out", "out", "--seeds", "1", "--ops", "100"];
        args.extend(extra);
        conch().current_dir(cwd.path()).args(&args).output().unwrap()
    };
    let r = demo(&[]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&r.stderr));
    assert!(stdout.contains("report: "), "{stdout}");
    // #18 §5: the comparison's summary, and one line to end it all.
    assert!(stdout.contains("compare: ") && stdout.contains(" seed each: "), "{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with("demo: ") && last.contains(" protocols x 1 seed: ") && last.contains(" example histories: "),
        "the demo does not end with its summary: {stdout}"
    );
    // Regression: lww has two rows, and the summary named it twice.
    if let Some((_, list)) = last.split_once(" (").filter(|_| last.contains("violations in")) {
        let names: Vec<&str> = list.split(')').next().unwrap_or("").split(", ").collect();
        let distinct: std::collections::BTreeSet<&&str> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "a row named twice in: {last}");
    }
    for p in ["raft", "abd", "quorum", "lww", "vclock", "gossip", "weak", "2pc", "3pc", "spanner", "si", "rc"] {
        assert!(stdout.lines().any(|l| l.starts_with(p)), "{p} missing from the table:\n{stdout}");
    }
    // #17 §5: the transactional stores are judged by the isolation they
    // promise and the model above it, not by the single-object checks.
    let row = |p: &str| stdout.lines().find(|l| l.starts_with(&format!("{p} "))).unwrap().to_string();
    assert!(row("si").contains("snapshot-isolation ok; serializable "), "{}", row("si"));
    assert!(row("rc").contains("read-committed ok; consistent-view "), "{}", row("rc"));
    assert!(row("spanner").ends_with("strict-serializable ok"), "{}", row("spanner"));
    assert!(stdout.contains("histories/linear/register-stale-read.jsonl: INVALID"), "{stdout}");
    let out = cwd.path().join("out");
    for f in ["index.html", "histories/index.html", "protocols/index.html", "histories/linear_register-ok.jsonl.html"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    std::fs::write(out.join("index.html"), "mine").unwrap();
    let again = demo(&[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(std::fs::read_to_string(out.join("index.html")).unwrap(), "mine");
    assert_eq!(demo(&["--force"]).status.code(), Some(0));
    assert_ne!(std::fs::read_to_string(out.join("index.html")).unwrap(), "mine");
}

#[test]
fn demo_refuses_a_histories_directory_without_histories_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run(&["demo", "--out", out.to_str().unwrap(), "--histories", dir.path().to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("no histories found"));
    assert!(!out.exists(), "ran the protocols before refusing");
}

/// Regression (#12 §5): `run --checks X` or `--until-violation` without
/// `--check` were silently ignored, and `--intensity=-1` was accepted.
#[test]
fn run_flags_that_would_be_ignored_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for extra in [&["--checks", "linearizable"][..], &["--until-violation", "--seeds", "0..3"], &["--intensity=-1"]] {
        let mut args = vec!["run", "--protocol", "raft", "--ops", "50", "--out", out];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.status.code(), Some(2), "{extra:?}: {}", String::from_utf8_lossy(&r.stderr));
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "{extra:?}: ran anyway");
    }
    let r = run(&["compare", "--protocols", "raft", "--intensity", "0", "--out", out]);
    assert_eq!(r.status.code(), Some(2));
}

/// Regression (#12 §2c): a run cut short by the livelock bound was
/// downgraded only at file level; its checks stayed valid and compare
/// counted it ok.
#[test]
fn a_run_cut_short_is_unknown_not_valid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let r = run(&[
        "run",
        "--protocol",
        "raft",
        "--seed",
        "1",
        "--max-events",
        "2000",
        "--check",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(3), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("run stopped early"));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    for c in report["results"].as_array().unwrap() {
        assert_eq!(c["verdict"], "unknown", "{}", c["check"]);
    }
}

/// `run --protocol lww --workload list-append --check` refused every append
/// and passed as VALID (#12 §2b): a protocol that cannot serve the workload
/// is refused up front, and compare's default list holds only protocols
/// that serve it.
#[test]
fn a_workload_the_protocol_does_not_serve_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = run(&["run", "--protocol", "lww", "--workload", "list-append", "--check", "--out", out]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("lww does not serve the list-append workload") && err.contains("it serves register, kv"),
        "{err}"
    );
    let r = run(&["compare", "--workload", "list-append", "--seeds", "0..1", "--ops", "30", "--out", out]);
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    let table = String::from_utf8_lossy(&r.stdout);
    let protocols: Vec<&str> = table.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert!(protocols.starts_with(&["raft"]) && !protocols.contains(&"lww"), "{table}");
}

/// Regression (#12 §2d): faults were requested but not reported. Every
/// seed's line and run.json say how many of each kind were injected; a
/// seed of a multi-seed sweep used to print nothing about them.
#[test]
fn every_run_reports_its_faults_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = run(&["run", "--protocol", "quorum", "--nemesis", "partition", "--seeds", "0..2", "--out", out]);
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    let stdout = String::from_utf8_lossy(&r.stdout);
    for seed in 0..2 {
        assert!(stdout.contains(&format!("seed {seed}: faults: partition ")), "{stdout}");
        let text = std::fs::read_to_string(dir.path().join(format!("seed-{seed}/run.json"))).unwrap();
        let run: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(run["faults_by_kind"]["partition"].as_u64().unwrap_or(0) >= 3, "{text}");
        assert_eq!(run["warnings"], serde_json::json!([]), "{text}");
    }
}

/// #15: Raft's Figure 8 bug is found by the monitor, twice with the same
/// bytes, by the `leader` nemesis (crash, pause or isolate the leader, and
/// crash it at its leader fault points) at seed 20 of the defaults (the
/// seed draws max_batch=1; one of 21 of seeds 0..100), and by plain
/// `partition,crash` (#15's acceptance: its crash faults are failover
/// episodes, the leader dying at its leader points while the fault lasts,
/// rolling) at seed 2 (15 of seeds 0..100; docs/protocols/detection.md).
/// The run counts its faults by kind, the reproduce command pins the drawn
/// max_batch, and the history marks the episodes.
#[test]
fn raft_figure_8_is_found_deterministically() {
    for (nemesis, seed, mark) in
        [("leader", "20", "--param max_batch=1"), ("partition,crash", "2", r#""failover":true"#)]
    {
        let args = ["run", "--protocol", "raft", "--param", "bug=no-term-check-on-commit", "--nemesis", nemesis];
        assert_same_history_twice(&[&args[..], &["--seed", seed, "--check"]].concat(), |r, dir| {
            let stdout = String::from_utf8_lossy(&r.stdout);
            assert_eq!(r.status.code(), Some(1), "{nemesis}: {stdout}");
            assert!(stdout.contains("invariant leader-completeness violated"), "{nemesis}: {stdout}");
            let text = std::fs::read_to_string(dir.join("run.json")).unwrap();
            let run: serde_json::Value = serde_json::from_str(&text).unwrap();
            let kind = nemesis.split(',').next_back().unwrap();
            assert!(run["faults_by_kind"][kind].as_u64().unwrap_or(0) >= 3, "{text}");
            let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
            assert!(stdout.contains(mark) || history.contains(mark), "{nemesis}: {mark}");
        });
    }
}

/// #15: a run that asked for leader faults and got none injected (here: a
/// one-op run ends before the leader stream's first slot) says so, on
/// standard error and in run.json, rather than passing for a faulty run.
#[test]
fn a_leader_run_with_no_leader_fault_injected_warns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = run(&["run", "--protocol", "raft", "--nemesis", "leader", "--seed", "0", "--ops", "1", "--out", out]);
    let (stdout, stderr) = (String::from_utf8_lossy(&r.stdout), String::from_utf8_lossy(&r.stderr));
    assert_eq!(r.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("seed 0: faults: leader 0"), "{stdout}");
    assert!(stderr.contains("seed 0: warning: requested fault `leader` never took effect"), "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
    let run: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(run["warnings"], serde_json::json!(["requested fault `leader` never took effect"]), "{text}");
}

/// #15 §5: Raft under `--nemesis leader` at the defaults gets its leader
/// faults (at least 3 a run) and crashes at its leader fault points, and
/// warns of nothing.
#[test]
fn raft_under_the_leader_nemesis_injects_leader_faults() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = run(&["run", "--protocol", "raft", "--nemesis", "leader", "--seeds", "0..3", "--out", out]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    for seed in 0..3 {
        let text = std::fs::read_to_string(dir.path().join(format!("seed-{seed}/run.json"))).unwrap();
        let run: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(run["faults_by_kind"]["leader"].as_u64().unwrap_or(0) >= 3, "{text}");
        assert_eq!(run["warnings"], serde_json::json!([]), "{text}");
        let points = run["stats"]["fault_points"].as_object().unwrap();
        let crashes = |p: &str| points.get(p).and_then(|s| s["crashes"].as_u64()).unwrap_or(0);
        let at_leader_points: u64 =
            ["raft.became-leader", "raft.commit-advanced", "raft.entry-appended"].iter().map(|p| crashes(p)).sum();
        assert!(at_leader_points > 0, "{text}");
        assert_eq!(crashes("raft.vote-persisted") + crashes("raft.follower-appended"), 0, "only leader points: {text}");
    }
}

/// Regression (#15): Raft's monitor called a leader of term 112, elected
/// late by delayed votes, incomplete for lacking a no-op of term 114: leader
/// completeness binds only leaders of terms after the commit. Seed 54 of
/// `all,leader` (correct Raft) was the one seed of 0..100 it failed.
#[test]
fn raft_leader_completeness_allows_a_late_leader_of_an_older_term() {
    assert_correct_raft_holds("all,leader", "54");
}

/// Correct Raft's run of `seed` under `nemesis` is valid and breaks no
/// invariant.
fn assert_correct_raft_holds(nemesis: &str, seed: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = run(&["run", "--protocol", "raft", "--nemesis", nemesis, "--seed", seed, "--check", "--out", out]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&r.stderr));
    assert!(!stdout.contains("invariant"), "{stdout}");
}

/// Regression (#15): a Forward (duplicated by the network) reached the leader
/// (which appended it) and, again, the same node after it stepped down,
/// which answered "not the leader" as a definite failure, though the first
/// copy committed: a read saw the "failed" write (correct Raft, seed 21 of
/// `duplicate,partition`). That answer is now indefinite.
#[test]
fn raft_forward_to_a_former_leader_is_not_a_definite_failure() {
    assert_correct_raft_holds("duplicate,partition", "21");
}
