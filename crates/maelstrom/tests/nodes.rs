//! The project's own Python nodes under the router, each with the verdict it
//! must get, and nodes that misbehave in every way the router must survive.
//! Each run is a second or two of wall time.

use checker::Verdict;
use maelstrom::run::{ProblemKind, RunError};
use maelstrom::{run_and_check, Config, NemesisKind, Report, WorkloadKind};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn node(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("nodes").join(name);
    assert!(
        std::process::Command::new("python3").arg("--version").output().is_ok(),
        "python3 is needed by these tests (.ci/setup-python installs it)"
    );
    p
}

fn config(workload: WorkloadKind, bin: PathBuf, dir: &Path) -> Config {
    let mut c = Config::new(workload, bin, dir.to_path_buf());
    c.node_count = 3;
    c.concurrency = 3;
    c.rate = 100.0;
    c.time_limit = Duration::from_millis(1000);
    c.request_timeout = Duration::from_millis(1000);
    c.init_timeout = Duration::from_secs(5);
    c.recovery_time = Duration::from_millis(300);
    c.seed = 7;
    c
}

fn run(c: &Config) -> Report {
    match run_and_check(c) {
        Ok(r) => r,
        Err(e) => panic!("run failed: {e}"),
    }
}

fn kinds(r: &Report) -> Vec<String> {
    let mut k: Vec<String> =
        r.results.iter().flat_map(|c| &c.keys).flat_map(|k| &k.anomalies).map(|a| a.kind.clone()).collect();
    k.sort();
    k.dedup();
    k
}

fn explain(r: &Report) -> String {
    format!(
        "verdict {:?}, anomalies {:?}, unknown {:?}, problems {:?}, stats {:?}",
        r.verdict,
        kinds(r),
        r.unknown_reasons,
        r.outcome.problems,
        r.outcome.stats
    )
}

#[test]
fn a_correct_echo_is_valid_and_leaves_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&config(WorkloadKind::Echo, node("echo.py"), dir.path()));
    assert_eq!(r.verdict, Verdict::Valid, "{}", explain(&r));
    assert!(r.outcome.stats.ops_ok >= 50, "{}", explain(&r));
    for f in ["history.jsonl", "run.json", "messages.jsonl", "nodes/n0.stderr.log", "nodes/n2.stderr.log"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["verdict"], "valid");
    assert!(run_json["messages"]["by_type"]["echo"]["sent"].as_u64().unwrap() >= 50);
    assert!(run_json["messages_per_op"]["all"].as_f64().unwrap() >= 2.0, "a request and a reply per op");
    assert!(run_json["command"].as_str().unwrap().contains("--seed 7"));
    assert!(run_json["reproducibility"]["not_reproducible"].as_array().unwrap().len() >= 3);
}

#[test]
fn a_gossip_broadcast_survives_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(WorkloadKind::Broadcast, node("broadcast.py"), dir.path());
    c.node_count = 5;
    c.concurrency = 5;
    c.rate = 50.0;
    c.time_limit = Duration::from_millis(1500);
    c.latency_ms = 5.0;
    c.nemesis = vec![NemesisKind::Partition];
    c.nemesis_interval = Duration::from_millis(300);
    c.recovery_time = Duration::from_millis(600);
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Valid, "{}", explain(&r));
    let k = &r.results[0].keys[0];
    assert_eq!(k.stats["lost"], 0);
    assert!(k.stats["elements_acknowledged"].as_u64().unwrap() > 10);
    assert_eq!(k.stats["final_reads"], 5, "one final read per node");
    assert!(!r.outcome.faults.is_empty(), "the nemesis partitioned");
    assert!(r.outcome.messages.dropped_by_reason.contains_key(&maelstrom::net::DropReason::Partition));
}

#[test]
fn a_broadcast_that_never_forwards_loses_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(WorkloadKind::Broadcast, node("broadcast.py"), dir.path());
    c.args = vec!["no-forward".into()];
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Invalid, "{}", explain(&r));
    let k = kinds(&r);
    assert!(k.contains(&"final-read-missing".to_string()) || k.contains(&"lost".to_string()), "{k:?}");
    assert!(!r.anomaly_windows.is_empty(), "each anomaly gets a window for the message diagram");
}

#[test]
fn a_lin_kv_node_answering_from_local_state_is_not_linearizable() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(WorkloadKind::LinKv, node("lin_kv_local.py"), dir.path());
    c.concurrency = 6;
    c.key_count = 2;
    c.rate = 200.0;
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Invalid, "{}", explain(&r));
    assert_eq!(kinds(&r), vec!["not-linearizable".to_string()]);
}

#[test]
fn a_lin_kv_proxy_over_the_lin_kv_service_is_linearizable() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(WorkloadKind::LinKv, node("lin_kv_proxy.py"), dir.path());
    c.args = vec!["lin-kv".into()];
    c.concurrency = 6;
    c.key_count = 2;
    c.rate = 200.0;
    c.latency_ms = 1.0;
    c.latency_dist = maelstrom::LatencyDist::Exponential;
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Valid, "{}", explain(&r));
    assert!(r.outcome.stats.service_requests[&maelstrom::services::ServiceKind::LinKv] > 50);
}

#[test]
fn a_lin_kv_proxy_over_seq_kv_reads_stale_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(WorkloadKind::LinKv, node("lin_kv_proxy.py"), dir.path());
    c.args = vec!["seq-kv".into()];
    c.concurrency = 6;
    c.key_count = 2;
    c.rate = 300.0;
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Invalid, "{}", explain(&r));
    assert_eq!(kinds(&r), vec!["not-linearizable".to_string()]);
}

/// One node serving every workload from memory is correct.
#[test]
fn one_local_node_passes_every_workload_it_can_be_checked_on() {
    let cases: [(WorkloadKind, &[&str], Verdict); 7] = [
        (WorkloadKind::UniqueIds, &[], Verdict::Valid),
        (WorkloadKind::GSet, &["set"], Verdict::Valid),
        (WorkloadKind::GCounter, &[], Verdict::Valid),
        (WorkloadKind::PnCounter, &[], Verdict::Valid),
        (WorkloadKind::Kafka, &[], Verdict::Valid),
        (WorkloadKind::LinKv, &[], Verdict::Valid),
        // Recorded, but no transactional checker here yet: never valid.
        (WorkloadKind::TxnListAppend, &[], Verdict::Unknown),
    ];
    std::thread::scope(|s| {
        for (w, args, want) in cases {
            s.spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let mut c = config(w, node("local.py"), dir.path());
                c.node_count = 1;
                c.time_limit = Duration::from_millis(700);
                c.args = args.iter().map(|a| a.to_string()).collect();
                let r = run(&c);
                assert_eq!(r.verdict, want, "{w:?}: {}", explain(&r));
                assert!(r.outcome.stats.ops_ok > 10, "{w:?}: {}", explain(&r));
                assert!(r.outcome.problems.is_empty(), "{w:?}: {:?}", r.outcome.problems);
            });
        }
    });
}

#[test]
fn repeated_ids_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(WorkloadKind::UniqueIds, node("local.py"), dir.path());
    c.node_count = 1;
    c.args = vec!["dup-ids".into()];
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Invalid, "{}", explain(&r));
    assert_eq!(kinds(&r), vec!["duplicate-id".to_string()]);
}

#[test]
fn kills_restart_nodes_and_pauses_stop_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(WorkloadKind::Echo, node("echo.py"), dir.path());
    c.nemesis = vec![NemesisKind::Kill, NemesisKind::Pause];
    c.nemesis_interval = Duration::from_millis(200);
    c.time_limit = Duration::from_millis(1500);
    c.request_timeout = Duration::from_millis(300);
    let r = run(&c);
    // Echo is trivially correct; ops to dead or stopped nodes fail or time out.
    assert_eq!(r.verdict, Verdict::Valid, "{}", explain(&r));
    let kinds: Vec<NemesisKind> = r.outcome.faults.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&NemesisKind::Kill) || kinds.contains(&NemesisKind::Pause), "{kinds:?}");
    if kinds.contains(&NemesisKind::Kill) {
        assert!(r.outcome.stats.restarts > 0);
        assert!(r.outcome.nodes.iter().any(|n| n.incarnations > 1));
    }
    let h = r.history.as_ref().unwrap();
    assert!(h.faults.iter().any(|f| f.f.as_str().starts_with("start-")), "faults are in the history");
}

#[test]
fn the_seed_fixes_the_faults_and_each_threads_ops() {
    let go = || {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(WorkloadKind::Broadcast, node("broadcast.py"), dir.path());
        c.nemesis = vec![NemesisKind::Partition, NemesisKind::Loss];
        c.nemesis_interval = Duration::from_millis(200);
        c.rate = 30.0;
        let r = run(&c);
        let faults: Vec<String> = r.outcome.faults.iter().map(|f| format!("{:?} {}", f.kind, f.value)).collect();
        // Thread 0's process 0: its ops, in order.
        let ops: Vec<String> =
            r.history.unwrap().ops.iter().filter(|o| o.process == 0).map(|o| format!("{} {}", o.f, o.input)).collect();
        (faults, ops)
    };
    let (f1, o1) = go();
    let (f2, o2) = go();
    assert_eq!(f1, f2);
    assert!(!f1.is_empty());
    let n = o1.len().min(o2.len());
    assert!(n > 3);
    assert_eq!(o1[..n], o2[..n], "the same ops, though how many complete in time may differ");
}

// ----- misbehaving nodes -----

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    p
}

#[test]
fn a_missing_or_unrunnable_binary_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(WorkloadKind::Echo, dir.path().join("nope"), &dir.path().join("out"));
    let e = run_and_check(&c).err().expect("must fail");
    assert!(matches!(e, RunError::Spawn { .. }), "{e}");
    assert!(e.to_string().contains("no such file"), "{e}");
    let p = dir.path().join("plain");
    std::fs::write(&p, "#!/bin/sh\n").unwrap();
    let e = run_and_check(&config(WorkloadKind::Echo, p, &dir.path().join("o2"))).err().expect("must fail");
    assert!(e.to_string().contains("not executable"), "{e}");
    let e = run_and_check(&config(WorkloadKind::Echo, dir.path().to_path_buf(), &dir.path().join("o3")))
        .err()
        .expect("must fail");
    assert!(e.to_string().contains("directory"), "{e}");
}

#[test]
fn a_node_that_dies_at_once_or_never_answers_init_is_reported_with_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let dies = script(dir.path(), "dies.sh", "#!/bin/sh\necho 'Traceback: something broke' >&2\nexit 3\n");
    let e = run_and_check(&config(WorkloadKind::Echo, dies, &dir.path().join("o1"))).err().expect("must fail");
    let s = e.to_string();
    assert!(matches!(e, RunError::Init(_)), "{s}");
    assert!(s.contains("status 3") && s.contains("Traceback: something broke"), "{s}");

    let silent = script(dir.path(), "silent.sh", "#!/bin/sh\necho 'waiting forever' >&2\nexec sleep 1000\n");
    let mut c = config(WorkloadKind::Echo, silent, &dir.path().join("o2"));
    c.init_timeout = Duration::from_millis(400);
    let t = std::time::Instant::now();
    let e = run_and_check(&c).err().expect("must fail");
    assert!(t.elapsed() < Duration::from_secs(5), "no hang");
    assert!(e.to_string().contains("no init_ok") && e.to_string().contains("waiting forever"), "{e}");
}

/// A node that answers init, then misbehaves in every way at once:
/// garbage on stdout, a message to nobody, a reply to nothing, a malformed
/// reply, and finally a crash. The run records it all and ends invalid.
#[test]
fn a_node_that_breaks_the_protocol_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let bad = script(
        dir.path(),
        "bad.py",
        r#"#!/usr/bin/env python3
import json, sys
seen = 0
for line in sys.stdin:
    m = json.loads(line)
    b = m["body"]
    me = m["dest"]
    def out(dest, body):
        print(json.dumps({"src": me, "dest": dest, "body": body}), flush=True)
    if b["type"] == "init":
        out(m["src"], {"type": "init_ok", "in_reply_to": b["msg_id"]})
        print("this is not json", flush=True)
        out("n99", {"type": "hello"})
        continue
    seen += 1
    if seen == 1:
        out(m["src"], {"type": "echo_ok", "in_reply_to": 999999, "echo": "x"})
        out(m["src"], {"type": "echo_ok", "in_reply_to": b["msg_id"]})
    elif seen < 20:
        out(m["src"], {"type": "echo_ok", "in_reply_to": b["msg_id"], "echo": b["echo"]})
    else:
        sys.stderr.write("crashing now\n")
        sys.exit(9)
"#,
    );
    let mut c = config(WorkloadKind::Echo, bad, &dir.path().join("o"));
    c.node_count = 1;
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Invalid, "{}", explain(&r));
    let by = &r.outcome.stats.problems_by_kind;
    for k in [
        ProblemKind::NotAMessage,
        ProblemKind::UnknownDestination,
        ProblemKind::ReplyToNothing,
        ProblemKind::NodeExited,
    ] {
        assert!(by.contains_key(&k), "{k:?} in {by:?}");
    }
    let exited = r.outcome.problems.iter().find(|p| p.kind == ProblemKind::NodeExited).unwrap();
    assert!(exited.message.contains("status 9"), "{}", exited.message);
    assert!(exited.stderr_tail.as_ref().unwrap().contains("crashing now"));
    // The echo with no payload is an ok op with the wrong answer.
    assert!(kinds(&r).contains(&"echo-mismatch".to_string()), "{}", explain(&r));
}

#[test]
fn a_stopped_or_flooding_node_cannot_hang_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // Answers init, then floods node n1 with messages and never reads again.
    let flood = script(
        dir.path(),
        "flood.py",
        r#"#!/usr/bin/env python3
import json, sys
m = json.loads(sys.stdin.readline())
print(json.dumps({"src": m["body"]["node_id"], "dest": m["src"], "body": {"type": "init_ok", "in_reply_to": m["body"]["msg_id"]}}), flush=True)
other = [n for n in m["body"]["node_ids"] if n != m["body"]["node_id"]][0]
line = json.dumps({"src": m["body"]["node_id"], "dest": other, "body": {"type": "spam", "pad": "x" * 1000}}) + "\n"
while True:
    sys.stdout.write(line * 100)
    sys.stdout.flush()
"#,
    );
    let mut c = config(WorkloadKind::Echo, flood, &dir.path().join("o"));
    c.node_count = 2;
    c.time_limit = Duration::from_millis(800);
    c.request_timeout = Duration::from_millis(200);
    c.limits.max_queued_bytes_per_node = 1 << 20;
    let t = std::time::Instant::now();
    let r = run(&c);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(
        r.outcome.messages.dropped_by_reason.contains_key(&maelstrom::net::DropReason::Overflow),
        "{}",
        explain(&r)
    );
    // Nobody answered an echo: nothing was checked.
    assert_eq!(r.verdict, Verdict::Unknown, "{}", explain(&r));
}
