//! The project's own Python nodes under the router, each with the verdict it
//! must get, and nodes that misbehave in every way the router must survive.
//! Each run is a second or two of wall time.
//!
//! No expectation here depends on how fast the machine is: CI runs these in
//! parallel on 2 loaded cores, where a Python node may take seconds to
//! start and a reply hundreds of milliseconds. So the init timeout is
//! generous, convergence gets seconds of recovery, op counts are asserted
//! only as "some", and verdicts hold whether an op completes or times out.

use checker::history::Outcome;
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
    // Starting Python under load can take seconds; a slow start is not
    // what these tests are about.
    c.init_timeout = Duration::from_secs(60);
    c.recovery_time = Duration::from_millis(300);
    c.seed = 7;
    c
}

/// The [`config`] for the project's node `name` (see [`node`]), writing to
/// a fresh directory that lives as long as the returned guard.
fn project_node(workload: WorkloadKind, name: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let c = config(workload, node(name), dir.path());
    (dir, c)
}

fn run(c: &Config) -> Report {
    match run_and_check(c) {
        Ok(r) => r,
        Err(e) => panic!("run failed: {e}"),
    }
}

fn kinds(r: &Report) -> Vec<String> {
    let mut k: Vec<String> =
        r.results.iter().flat_map(|c| &c.keys).flat_map(|k| &k.anomalies).map(|a| a.kind.to_string()).collect();
    k.sort();
    k.dedup();
    k
}

/// The run is invalid, with anomalies of exactly these kinds.
fn assert_found_only(r: &Report, expected: &[&str]) {
    assert_eq!(r.verdict, Verdict::Invalid, "{}", explain(r));
    assert_eq!(kinds(r), expected);
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
    let (dir, c) = project_node(WorkloadKind::Echo, "echo.py");
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Valid, "{}", explain(&r));
    assert!(r.outcome.stats.ops_ok >= 5, "{}", explain(&r));
    for f in ["history.jsonl", "run.json", "messages.jsonl", "nodes/n0.stderr.log", "nodes/n2.stderr.log"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["verdict"], "valid");
    assert_eq!(run_json["messages"]["by_type"]["echo"]["sent"].as_u64().unwrap(), r.outcome.stats.ops_invoked);
    assert!(run_json["messages_per_op"]["all"].as_f64().unwrap() >= 2.0, "a request and a reply per op");
    assert!(run_json["command"].as_str().unwrap().contains("--seed 7"));
    assert!(run_json["reproducibility"]["not_reproducible"].as_array().unwrap().len() >= 3);
}

/// Maelstrom runs nodes as `n0..n(N-1)`, its protocol document writes
/// `n1..nN`: nodes that assume neither work under both, with every id
/// (init, topology, faults, logs) from the same numbering.
#[test]
fn node_code_works_whichever_number_the_ids_start_at() {
    std::thread::scope(|s| {
        for base in [0, 1] {
            s.spawn(move || {
                let (dir, mut c) = project_node(WorkloadKind::Broadcast, "broadcast.py");
                c.node_id_base = base;
                c.nemesis = vec![NemesisKind::Kill];
                c.nemesis_interval = Duration::from_millis(300);
                c.recovery_time = Duration::from_secs(4);
                let r = run(&c);
                assert_eq!(r.verdict, Verdict::Valid, "base {base}: {}", explain(&r));
                let want: Vec<String> = (base..base + 3).map(|i| format!("n{i}")).collect();
                let ids: Vec<&str> = r.outcome.nodes.iter().map(|n| n.id.as_str()).collect();
                assert_eq!(ids, want, "base {base}");
                for id in &want {
                    assert!(dir.path().join(format!("nodes/{id}.stderr.log")).exists(), "{id}");
                }
                let h = r.history.as_ref().unwrap();
                assert!(h.ops.iter().all(|o| want.iter().any(|w| o.node.as_deref() == Some(w))), "base {base}");
                assert!(r.outcome.faults.iter().all(|f| f
                    .value
                    .as_seq()
                    .unwrap()
                    .iter()
                    .all(|v| want.iter().any(|w| v.as_str() == Some(w)))));
                assert!(r.outcome.problems.is_empty(), "base {base}: {:?}", r.outcome.problems);
            });
        }
    });
}

#[test]
fn a_gossip_broadcast_survives_partitions() {
    let (_dir, mut c) = project_node(WorkloadKind::Broadcast, "broadcast.py");
    c.node_count = 5;
    c.concurrency = 5;
    c.rate = 50.0;
    c.time_limit = Duration::from_millis(1500);
    c.latency_ms = 5.0;
    c.nemesis = vec![NemesisKind::Partition];
    c.nemesis_interval = Duration::from_millis(300);
    // Gossip retries every 100 ms; seconds leave room for a loaded machine.
    c.recovery_time = Duration::from_secs(4);
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Valid, "{}", explain(&r));
    let k = &r.results[0].keys[0];
    assert_eq!(k.stats.figure("lost"), 0);
    assert!(k.stats.figure("elements_acknowledged").as_u64().unwrap() > 0);
    assert_eq!(k.stats.figure("final_reads"), 5, "one final read per node");
    // Nothing lost: every acknowledged element became stable (some after
    // stale reads), and the stable ones have a latency.
    let stat = |f: &str| k.stats.figure(f).as_u64().unwrap();
    assert!(stat("stable") >= stat("elements_acknowledged"), "{:?}", k.stats);
    assert!(stat("stale") <= stat("stable"), "{:?}", k.stats);
    assert!(k.stats.figure("stable_latency_ms")["p50"].is_number(), "{:?}", k.stats);
    // Gossip costs messages between nodes, counted per op and per type.
    let per_op = &r.run_json["messages_per_op"];
    assert!(per_op["server"].as_f64().unwrap() > 0.0, "{per_op}");
    assert!(per_op["by_type"]["gossip"].as_f64().unwrap() > 0.0, "{per_op}");
    assert!(per_op["by_type"]["broadcast"].as_f64().unwrap() > 0.0, "{per_op}");
    assert!(r.run_json["message_counts_by_type"]["gossip"].as_u64().unwrap() > 0);
    assert!(!r.outcome.faults.is_empty(), "the nemesis partitioned");
    assert!(r.outcome.messages.dropped_by_reason.contains_key(&maelstrom::net::DropReason::Partition));
}

#[test]
fn a_broadcast_that_never_forwards_loses_messages() {
    let (_dir, mut c) = project_node(WorkloadKind::Broadcast, "broadcast.py");
    c.args = vec!["no-forward".into()];
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Invalid, "{}", explain(&r));
    let k = kinds(&r);
    // Final reads run at once on every node: one that began after another
    // returned the element is `lost`, one that overlapped it
    // `final-read-missing`; which depends on the processes' timing.
    assert!(k.contains(&"final-read-missing".to_string()) || k.contains(&"lost".to_string()), "{k:?}");
    assert!(!r.anomaly_windows.is_empty(), "each anomaly gets a window for the message diagram");
    // The diagram of a missing element shows the broadcast that was
    // acknowledged and the final read that lacks it, both in red, between
    // a client lane and a node lane.
    assert!(!r.flows.is_empty());
    assert_eq!(r.run_json["diagrams"]["drawn"], r.flows.len());
    let f = &r.flows[0];
    let red: Vec<&str> = f.messages.iter().filter(|m| m.highlight).map(|m| m.label.as_str()).collect();
    assert!(red.iter().any(|l| l.starts_with("broadcast ")), "{red:?}");
    assert!(red.iter().any(|l| l.starts_with("read_ok")), "{red:?}");
    assert!(f.spans.iter().all(|s| s.highlight) && f.spans.len() >= 2, "{:?}", f.spans);
    assert!(f.lanes.iter().any(|l| l.starts_with('c')) && f.lanes.iter().any(|l| l.starts_with('n')), "{:?}", f.lanes);
    assert!(f.messages.iter().all(|m| m.from < f.lanes.len() && m.to < f.lanes.len()));
    assert!(!f.messages.iter().any(|m| m.label.starts_with("gossip")), "this node never forwards");
}

/// Forwarding each message once is enough on a perfect network; what a
/// partition cuts off then stays lost.
#[test]
fn a_broadcast_that_never_retries_loses_messages_to_partitions() {
    let (_dir, mut c) = project_node(WorkloadKind::Broadcast, "broadcast.py");
    c.args = vec!["no-retry".into()];
    c.node_count = 5;
    c.concurrency = 5;
    c.rate = 50.0;
    c.time_limit = Duration::from_millis(1500);
    c.nemesis = vec![NemesisKind::Partition];
    c.nemesis_interval = Duration::from_millis(300);
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Invalid, "{}", explain(&r));
    assert!(kinds(&r).contains(&"final-read-missing".to_string()), "{}", explain(&r));
    assert!(r.outcome.problems.is_empty(), "{:?}", r.outcome.problems);
}

/// Each fault alone against the correct gossip node: the fault visibly
/// happened (in the journal, the history and the node processes), and the
/// node, which retries and resyncs, is still valid.
#[test]
fn every_fault_takes_effect_and_a_correct_gossip_survives_it() {
    use maelstrom::net::DropReason;
    let kinds = [NemesisKind::Loss, NemesisKind::Duplicate, NemesisKind::Delay, NemesisKind::Pause, NemesisKind::Kill];
    std::thread::scope(|s| {
        for kind in kinds {
            s.spawn(move || {
                let (_dir, mut c) = project_node(WorkloadKind::Broadcast, "broadcast.py");
                c.rate = 100.0;
                c.time_limit = Duration::from_millis(1500);
                c.latency_ms = 2.0;
                c.nemesis = vec![kind];
                c.nemesis_interval = Duration::from_millis(300);
                c.request_timeout = Duration::from_millis(500);
                c.recovery_time = Duration::from_secs(4);
                let r = run(&c);
                assert_eq!(r.verdict, Verdict::Valid, "{kind:?}: {}", explain(&r));
                assert!(r.outcome.faults.iter().all(|f| f.kind == kind && f.end_ns.is_some()), "{kind:?} healed");
                assert!(!r.outcome.faults.is_empty(), "{kind:?}");
                let h = r.history.as_ref().unwrap();
                let start = format!("start-{}", kind.name());
                assert!(h.faults.iter().any(|f| f.f.as_str() == start), "{kind:?} in the history");
                let m = &r.outcome.messages;
                let st = &r.outcome.stats;
                match kind {
                    NemesisKind::Loss => assert!(m.dropped_by_reason.contains_key(&DropReason::Loss), "{m:?}"),
                    NemesisKind::Duplicate => assert!(m.all.duplicated > 0, "{m:?}"),
                    NemesisKind::Delay => assert!(r.outcome.faults[0].value.to_string().contains("mean_ms")),
                    NemesisKind::Pause => {
                        // A stopped node answers nothing until it resumes.
                        let mut stalled = 0;
                        for f in &r.outcome.faults {
                            let paused: Vec<&str> =
                                f.value.as_seq().unwrap().iter().filter_map(|v| v.as_str()).collect();
                            let (from, to) = (f.start_ns as i64, f.end_ns.unwrap() as i64);
                            for o in &h.ops {
                                let (Some(t), Some(node)) = (o.invoke_time_ns, o.node.as_deref()) else { continue };
                                if t > from && t < to - 20_000_000 && paused.contains(&node) {
                                    stalled += 1;
                                    let done = o.complete_time_ns.unwrap_or(i64::MAX);
                                    assert!(done >= to || o.outcome != Outcome::Ok, "{o:?} answered while paused");
                                }
                            }
                        }
                        assert!(stalled > 0, "{kind:?}: no op reached a paused node: {}", explain(&r));
                    }
                    NemesisKind::Kill => {
                        assert!(st.restarts > 0, "{st:?}");
                        assert!(r.outcome.nodes.iter().any(|n| n.incarnations > 1 && n.pids.len() > 1));
                    }
                    NemesisKind::Partition => unreachable!(),
                }
            });
        }
    });
}

#[test]
fn a_lin_kv_node_answering_from_local_state_is_not_linearizable() {
    let (_dir, mut c) = project_node(WorkloadKind::LinKv, "lin_kv_local.py");
    c.concurrency = 6;
    c.key_count = 2;
    c.rate = 200.0;
    let r = run(&c);
    assert_found_only(&r, &["not-linearizable"]);
}

#[test]
fn a_lin_kv_proxy_over_the_lin_kv_service_is_linearizable() {
    let (_dir, mut c) = project_node(WorkloadKind::LinKv, "lin_kv_proxy.py");
    c.args = vec!["lin-kv".into()];
    c.concurrency = 6;
    c.key_count = 8; // many keys: some are read before their first write, however late ops run
    c.rate = 200.0;
    c.latency_ms = 1.0;
    c.latency_dist = maelstrom::LatencyDist::Exponential;
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Valid, "{}", explain(&r));
    assert!(r.outcome.stats.service_requests[&maelstrom::services::ServiceKind::LinKv] > 0);
    // The service's code 22 (cas precondition failed) is a definite `fail`;
    // its code 20 (no such key) on a read is an ok read of nil.
    let h = r.history.as_ref().unwrap();
    let failed_cas = h.ops.iter().filter(|o| o.f.as_str() == "cas" && o.outcome == Outcome::Fail).count();
    let nil_reads = h.ops.iter().filter(|o| o.f.as_str() == "read" && o.outcome == Outcome::Ok && o.output.is_nil());
    assert!(failed_cas > 0, "{}", explain(&r));
    assert!(nil_reads.count() > 0, "{}", explain(&r));
    assert_eq!(h.ops.iter().filter(|o| o.outcome == Outcome::Info).count() as u64, r.outcome.stats.timeouts);
}

#[test]
fn ids_from_lin_tso_are_unique_across_nodes() {
    let (_dir, mut c) = project_node(WorkloadKind::UniqueIds, "local.py");
    c.args = vec!["tso".into()];
    let r = run(&c);
    assert_eq!(r.verdict, Verdict::Valid, "{}", explain(&r));
    assert!(r.outcome.stats.ops_ok > 0, "{}", explain(&r));
    assert!(r.outcome.stats.service_requests[&maelstrom::services::ServiceKind::LinTso] >= r.outcome.stats.ops_ok);
}

/// The same one-node memory on three nodes: nothing is replicated, and each
/// workload's check names what that breaks.
#[test]
fn unreplicated_state_on_several_nodes_is_caught_by_each_workloads_check() {
    let cases: [(WorkloadKind, &[&str], &str); 4] = [
        (WorkloadKind::GSet, &["set"], "final-read-missing"),
        (WorkloadKind::GCounter, &[], "final-read-out-of-bounds"),
        (WorkloadKind::PnCounter, &[], "final-read-out-of-bounds"),
        (WorkloadKind::Kafka, &[], "inconsistent-offsets"),
    ];
    std::thread::scope(|s| {
        for (w, args, want) in cases {
            s.spawn(move || {
                let (_dir, mut c) = project_node(w, "local.py");
                c.args = args.iter().map(|a| a.to_string()).collect();
                let r = run(&c);
                assert_eq!(r.verdict, Verdict::Invalid, "{w:?}: {}", explain(&r));
                assert!(kinds(&r).contains(&want.to_string()), "{w:?}: {}", explain(&r));
                assert!(r.outcome.problems.is_empty(), "{w:?}: {:?}", r.outcome.problems);
            });
        }
    });
}

/// seq-kv serves stale states and lww-kv's replicas lose writes: a node
/// that trusts either as if it were lin-kv is not linearizable.
#[test]
fn a_lin_kv_proxy_over_seq_kv_or_lww_kv_is_not_linearizable() {
    use maelstrom::services::ServiceKind;
    std::thread::scope(|s| {
        for service in [ServiceKind::SeqKv, ServiceKind::LwwKv] {
            s.spawn(move || {
                let (_dir, mut c) = project_node(WorkloadKind::LinKv, "lin_kv_proxy.py");
                c.args = vec![service.name().into()];
                c.concurrency = 6;
                c.key_count = 2;
                c.rate = 300.0;
                let r = run(&c);
                assert_eq!(r.verdict, Verdict::Invalid, "{service:?}: {}", explain(&r));
                assert_eq!(kinds(&r), vec!["not-linearizable".to_string()], "{service:?}");
                assert!(r.outcome.stats.service_requests[&service] > 0, "{service:?}");
            });
        }
    });
}

/// One node serving every workload from memory is correct.
#[test]
fn one_local_node_passes_every_workload_it_can_be_checked_on() {
    let cases: [(WorkloadKind, &[&str], Verdict); 8] = [
        (WorkloadKind::UniqueIds, &[], Verdict::Valid),
        (WorkloadKind::GSet, &["set"], Verdict::Valid),
        (WorkloadKind::GCounter, &[], Verdict::Valid),
        (WorkloadKind::PnCounter, &[], Verdict::Valid),
        (WorkloadKind::Kafka, &[], Verdict::Valid),
        (WorkloadKind::LinKv, &[], Verdict::Valid),
        (WorkloadKind::TxnListAppend, &[], Verdict::Valid),
        (WorkloadKind::TxnRwRegister, &[], Verdict::Valid),
    ];
    std::thread::scope(|s| {
        for (w, args, want) in cases {
            s.spawn(move || {
                let (_dir, mut c) = project_node(w, "local.py");
                c.node_count = 1;
                c.time_limit = Duration::from_millis(700);
                c.args = args.iter().map(|a| a.to_string()).collect();
                let r = run(&c);
                assert_eq!(r.verdict, want, "{w:?}: {}", explain(&r));
                assert!(r.outcome.stats.ops_ok > 0, "{w:?}: {}", explain(&r));
                assert!(r.outcome.problems.is_empty(), "{w:?}: {:?}", r.outcome.problems);
                assert!(!r.results.is_empty(), "{w:?}: judged by a check");
            });
        }
    });
}

/// The checks that judged a txn run, by name.
fn checks(r: &Report) -> Vec<String> {
    r.results.iter().map(|c| c.check.to_string()).collect()
}

/// Transactions serialised through one leader are strict serializable, in
/// both txn workloads, and every model asked for judges them.
#[test]
fn txns_through_one_leader_are_strict_serializable() {
    use checker::CheckName;
    std::thread::scope(|s| {
        for w in [WorkloadKind::TxnListAppend, WorkloadKind::TxnRwRegister] {
            s.spawn(move || {
                let (_dir, mut c) = project_node(w, "txn_leader.py");
                c.consistency_models = vec![CheckName::StrictSerializable, CheckName::SnapshotIsolation];
                let r = run(&c);
                assert_eq!(r.verdict, Verdict::Valid, "{w:?}: {}", explain(&r));
                assert_eq!(checks(&r), ["strict-serializable", "snapshot-isolation"], "{w:?}");
                assert!(r.outcome.stats.ops_ok > 0, "{w:?}: {}", explain(&r));
                let h = r.history.as_ref().unwrap();
                assert!(h.ops.iter().all(|o| o.f.as_str() == "txn"), "{w:?}: recorded in the txn format");
            });
        }
    });
}

/// Each node applies a txn locally and replicates its writes 100 ms later:
/// a txn on another node misses a committed write. Strict serializability
/// (the default) catches it with a named anomaly whose ops are in the
/// history; which anomaly depends on how the real processes interleave.
#[test]
fn txns_applied_locally_and_replicated_later_are_not_strict_serializable() {
    // Cycles (with and without real-time and process edges) and the
    // list-append version-order anomalies such a node can show.
    const EXPECTED: [&str; 18] = [
        "G0",
        "G1c",
        "G-single",
        "G-nonadjacent",
        "G2-item",
        "G0-process",
        "G1c-process",
        "G-single-process",
        "G-nonadjacent-process",
        "G2-item-process",
        "G0-realtime",
        "G1c-realtime",
        "G-single-realtime",
        "G-nonadjacent-realtime",
        "G2-item-realtime",
        "incompatible-order",
        "lost-update",
        "cyclic-versions",
    ];
    std::thread::scope(|s| {
        for w in [WorkloadKind::TxnListAppend, WorkloadKind::TxnRwRegister] {
            s.spawn(move || {
                let (_dir, mut c) = project_node(w, "txn_async.py");
                c.concurrency = 6;
                c.key_count = 2;
                c.rate = 300.0;
                let r = run(&c);
                assert_eq!(r.verdict, Verdict::Invalid, "{w:?}: {}", explain(&r));
                assert_eq!(checks(&r), ["strict-serializable"], "{w:?}: the default model");
                let found = kinds(&r);
                assert!(!found.is_empty(), "{w:?}");
                assert!(found.iter().all(|k| EXPECTED.contains(&k.as_str())), "{w:?}: {found:?}");
                let h = r.history.as_ref().unwrap();
                for a in r.results.iter().flat_map(|c| &c.keys).flat_map(|k| &k.anomalies) {
                    assert!(!a.ops.is_empty(), "{w:?}: {} names its ops", a.kind);
                    for op in &a.ops {
                        assert_eq!(op.f, "txn", "{w:?}: {}", a.kind);
                        assert!(h.ops.iter().any(|o| o.id == op.id), "{w:?}: {} names op {:?}", a.kind, op.id);
                    }
                    assert!(!a.explanation.is_empty(), "{w:?}: {}", a.kind);
                }
            });
        }
    });
}

#[test]
fn repeated_ids_are_found() {
    let (_dir, mut c) = project_node(WorkloadKind::UniqueIds, "local.py");
    c.node_count = 1;
    c.args = vec!["dup-ids".into()];
    let r = run(&c);
    assert_found_only(&r, &["duplicate-id"]);
}

#[test]
fn kills_restart_nodes_and_pauses_stop_them() {
    let (_dir, mut c) = project_node(WorkloadKind::Echo, "echo.py");
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

/// `--availability total`, as Gossip Glomers asks of unique ids under
/// partitions: met by a node that never needs its peers, not met when a
/// killed node cannot answer.
#[test]
fn total_availability_holds_under_partitions_and_fails_under_kills() {
    let cases = [
        (WorkloadKind::UniqueIds, NemesisKind::Partition, Verdict::Valid),
        (WorkloadKind::Echo, NemesisKind::Kill, Verdict::Invalid),
    ];
    std::thread::scope(|s| {
        for (w, kind, want) in cases {
            s.spawn(move || {
                let (_dir, mut c) = project_node(w, "local.py");
                c.nemesis = vec![kind];
                c.nemesis_interval = Duration::from_millis(200);
                // Total availability means every op answered: on a loaded
                // machine a slow answer must not count as none.
                c.request_timeout = Duration::from_secs(20);
                c.availability = Some(1.0);
                let r = run(&c);
                assert_eq!(r.verdict, want, "{w:?}: {}", explain(&r));
                let a = r.availability.as_ref().unwrap();
                assert_eq!(a.met, want == Verdict::Valid, "{a:?}");
                assert!(kinds(&r).is_empty(), "no check found anything: {}", explain(&r));
                let json = &r.run_json["availability"];
                assert_eq!(json["met"], a.met);
                assert_eq!(json["required"], 1.0);
            });
        }
    });
}

#[test]
fn the_seed_fixes_the_faults_and_each_threads_ops() {
    let go = || {
        let (_dir, mut c) = project_node(WorkloadKind::Broadcast, "broadcast.py");
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

/// The [`config`] of an echo run of the node `script` writes as `name`, in
/// a fresh directory that lives as long as the returned guard.
fn echo_script_node(name: &str, body: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(dir.path(), name, body);
    let c = config(WorkloadKind::Echo, bin, &dir.path().join("o"));
    (dir, c)
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
    c.init_timeout = Duration::from_secs(3);
    let t = std::time::Instant::now();
    let e = run_and_check(&c).err().expect("must fail");
    assert!(t.elapsed() < Duration::from_secs(30), "no hang");
    assert!(e.to_string().contains("no init_ok") && e.to_string().contains("waiting forever"), "{e}");
}

/// A node that answers init, then misbehaves in every way at once:
/// garbage on stdout, a message to nobody, a reply to nothing, a malformed
/// reply, and finally a crash. The run records it all and ends invalid.
#[test]
fn a_node_that_breaks_the_protocol_is_reported_not_fatal() {
    let (_dir, mut c) = echo_script_node(
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
        sys.stderr.write("sending to n99\n")
        sys.stderr.flush()
        out("n99", {"type": "hello"})
        continue
    seen += 1
    if seen == 1:
        out(m["src"], {"type": "echo_ok", "in_reply_to": 999999, "echo": "x"})
        out(m["src"], {"type": "echo_ok", "in_reply_to": b["msg_id"]})
    elif seen < 5:
        out(m["src"], {"type": "echo_ok", "in_reply_to": b["msg_id"], "echo": b["echo"]})
    else:
        sys.stderr.write("crashing now\n")
        sys.exit(9)
"#,
    );
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
    // Every problem of a node comes with what it had logged by then.
    let unknown = r.outcome.problems.iter().find(|p| p.kind == ProblemKind::UnknownDestination).unwrap();
    assert!(unknown.stderr_tail.as_ref().unwrap().contains("sending to n99"), "{unknown:?}");
    // The echo with no payload is an ok op with the wrong answer.
    assert!(kinds(&r).contains(&"echo-mismatch".to_string()), "{}", explain(&r));
}

#[test]
fn a_stopped_or_flooding_node_cannot_hang_the_run() {
    // Answers init, then floods node n1 with messages and never reads again.
    let (_dir, mut c) = echo_script_node(
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
    c.node_count = 2;
    c.time_limit = Duration::from_millis(800);
    c.request_timeout = Duration::from_millis(200);
    c.limits.max_queued_bytes_per_node = 1 << 20;
    let t = std::time::Instant::now();
    let r = run(&c);
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert!(
        r.outcome.messages.dropped_by_reason.contains_key(&maelstrom::net::DropReason::Overflow),
        "{}",
        explain(&r)
    );
    // Nobody answered an echo: nothing was checked.
    assert_eq!(r.verdict, Verdict::Unknown, "{}", explain(&r));
}
