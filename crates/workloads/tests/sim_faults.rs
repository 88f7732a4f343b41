//! The generated fault schedule (#15 §1, #12 §2d): every requested kind
//! fires, streams of different kinds are independent and overlap, clients
//! keep working after the last heal, and `time_limit_ns` / `interval_ns`
//! measure the schedule in virtual time.

use checker::{EventType, Process, Value};
use workloads::metrics::fault_windows;
use workloads::protocols::quorum::QuorumProtocol;
use workloads::protocols::raft::RaftProtocol;
use workloads::protocols::single::Single;
use workloads::sim::{run, FaultKind, NemesisConfig, RunOutput, SimConfig};
use workloads::workload::{WorkloadConfig, WorkloadKind};

mod common;
use common::MS;

fn cfg(seed: u64, kinds: &[FaultKind]) -> SimConfig {
    SimConfig {
        seed,
        ops: 500,
        workload: WorkloadConfig::new(WorkloadKind::Register),
        nemesis: NemesisConfig::generated(kinds, 1.0),
        ..SimConfig::default()
    }
}

/// (start, end) of every fault window, and the times of client invokes.
fn last_heal_and_invokes(out: &RunOutput) -> (i64, Vec<i64>) {
    let windows = fault_windows(&out.events, out.stats.sim_duration_ns as i64);
    let last_heal = windows.iter().map(|w| w.end_ns).max().unwrap_or(0);
    let invokes = out
        .events
        .iter()
        .filter(|e| e.kind == EventType::Invoke && e.process != Process::Nemesis && !e.is_final)
        .map(|e| e.time_ns.unwrap_or(0))
        .collect();
    (last_heal, invokes)
}

/// Regression (#12 §2d): the README's `run --protocol quorum --nemesis
/// partition` (500 ops) injected 0 or 1 partition per seed, and 6 of 8 lww
/// seeds with clock-skew,partition had none. Every requested kind now fires
/// at least 3 times, alone or with every other kind.
#[test]
fn requested_faults_happen_at_least_three_times_per_kind_in_500_ops() {
    let quorum = QuorumProtocol::default();
    for seed in 0..8 {
        for kinds in [&[FaultKind::Partition][..], &[FaultKind::ClockSkew, FaultKind::Partition], &FaultKind::ALL] {
            let c = cfg(seed, kinds);
            let out = run(&quorum, &c);
            assert_eq!(out.stats.stopped_early, None);
            for k in kinds {
                let n = out.stats.faults_by_kind.get(k.name()).copied().unwrap_or(0);
                assert!(n >= 3, "seed {seed} {kinds:?}: {n} faults of {}", k.name());
            }
            assert_eq!(out.stats.missing_faults(&c.nemesis), vec![], "seed {seed}");
            let total: u64 = out.stats.faults_by_kind.values().sum();
            assert!(total <= out.stats.faults, "only faults that started took effect");
        }
    }
}

#[test]
fn a_kind_that_never_fired_is_reported_missing() {
    let mut c = cfg(0, &[FaultKind::Crash, FaultKind::Loss]);
    c.ops = 0;
    let out = run(&Single, &c);
    assert_eq!(out.stats.faults, 0);
    assert_eq!(out.stats.missing_faults(&c.nemesis), vec![FaultKind::Crash, FaultKind::Loss]);
    assert_eq!(out.stats.missing_faults(&NemesisConfig::none()), vec![]);
}

/// Kinds have their own streams (Jepsen's composed nemesis): faults of
/// different kinds overlap, and asking for another kind leaves the faults
/// a stream draws as they were.
#[test]
fn fault_streams_of_different_kinds_are_independent_and_overlap() {
    let out = run(&Single, &cfg(3, &FaultKind::ALL));
    let w = fault_windows(&out.events, out.stats.sim_duration_ns as i64);
    let overlaps = w
        .iter()
        .enumerate()
        .any(|(i, a)| w[i + 1..].iter().any(|b| a.kind != b.kind && b.start_ns < a.end_ns && a.start_ns < b.end_ns));
    assert!(overlaps, "no two faults of different kinds overlapped: {w:?}");
    let partitions = |out: &RunOutput| -> Vec<Value> {
        out.events
            .iter()
            .filter(|e| e.process == Process::Nemesis && e.kind == EventType::Info && e.f.as_str() == "start-partition")
            .map(|e| e.value.clone())
            .collect()
    };
    let alone = partitions(&run(&Single, &cfg(3, &[FaultKind::Partition])));
    let with_all = partitions(&out);
    assert_eq!(alone.len(), 4);
    assert_eq!(alone, with_all, "the partition stream draws the same faults with other kinds beside it");
}

/// Everything heals by 80% of the ops, and the clients keep working on the
/// healed system (no client used to see the post-heal window).
#[test]
fn clients_keep_working_after_the_last_heal() {
    for seed in 0..5 {
        let out = run(&RaftProtocol::default(), &cfg(seed, &[FaultKind::Partition, FaultKind::Crash]));
        let (last_heal, invokes) = last_heal_and_invokes(&out);
        let after = invokes.iter().filter(|&&t| t > last_heal).count();
        assert!(after >= 50, "seed {seed}: {after} ops invoked after the last heal at {last_heal} ns");
    }
}

/// `time_limit_ns` ends the client phase in virtual time and the faults are
/// spread over it; `interval_ns` spaces faults by a mean gap instead.
#[test]
fn time_limit_bounds_the_clients_and_places_the_faults() {
    let mut c = cfg(1, &[FaultKind::Partition, FaultKind::Pause]);
    c.ops = usize::MAX / 2;
    c.time_limit_ns = Some(3_000 * MS);
    let out = run(&Single, &c);
    assert_eq!(out.stats.stopped_early, None);
    let (last_heal, invokes) = last_heal_and_invokes(&out);
    let last_invoke = *invokes.iter().max().unwrap();
    assert!(last_invoke < 3_000 * MS as i64, "no op starts after the limit: {last_invoke}");
    assert!(invokes.len() > 1000, "clients worked the whole time: {} ops", invokes.len());
    assert!(last_heal <= 2_400 * MS as i64, "healed by 80% of the time: {last_heal}");
    assert_eq!(out.stats.faults_by_kind.values().copied().collect::<Vec<_>>(), vec![4, 4]);
    let mut c = c.clone();
    if let Some(g) = &mut c.nemesis.generate {
        g.interval_ns = Some(20 * MS);
        g.duration_max_ns = 50 * MS;
    }
    let out = run(&Single, &c);
    let n = out.stats.faults_by_kind["partition"];
    // Mean cycle: a 20 ms gap and a log-uniform 10..50 ms fault, over 2.4 s.
    assert!((25..=100).contains(&n), "{n} partitions at a 20 ms interval");
    let (last_heal, _) = last_heal_and_invokes(&out);
    assert!(last_heal <= 2_400 * MS as i64, "healed by 80% of the time: {last_heal}");
}

#[test]
fn schedules_are_validated() {
    let mut c = cfg(0, &[FaultKind::Loss]);
    c.time_limit_ns = Some(0);
    assert!(c.validate().unwrap_err().contains("time limit"));
    let mut c = cfg(0, &[FaultKind::Loss]);
    c.nemesis.generate.as_mut().unwrap().interval_ns = Some(0);
    assert!(c.validate().unwrap_err().contains("interval"));
    let mut c = cfg(0, &[FaultKind::Loss]);
    c.nemesis.generate.as_mut().unwrap().duration_min_ns = 0;
    assert!(c.validate().unwrap_err().contains("durations"));
}

/// #15 §2: with crashes requested, Raft's fault points crash nodes there
/// (recorded as `start-crash` naming the point, restarted later), within
/// the budget of the crash stream's count (and of its failover episodes,
/// at leader points), and every point passed is
/// counted; without crashes, points never fire and nothing is drawn.
#[test]
fn fault_points_crash_nodes_when_crashes_are_requested() {
    let p = RaftProtocol::default();
    let mut crashed = 0;
    for seed in 0..6 {
        let out = run(&p, &cfg(seed, &[FaultKind::Crash]));
        let pts = &out.stats.fault_points;
        assert!(pts["raft.became-leader"].hits > 0, "seed {seed}: {pts:?}");
        assert!(pts["raft.commit-advanced"].hits > 0, "seed {seed}");
        let at_points: u64 = pts.values().map(|p| p.crashes).sum();
        // Leader points also fire in the crash faults' failover episodes,
        // 16 crashes at most each; the other points spend the crash
        // stream's budget of 4, and only where the seed enabled them.
        let leader_points = ["raft.became-leader", "raft.commit-advanced", "raft.entry-appended"];
        let plain = pts.iter().filter(|(k, _)| !leader_points.contains(&k.as_str()));
        assert!(plain.clone().map(|(_, p)| p.crashes).sum::<u64>() <= 4, "seed {seed}: the crash stream's budget");
        assert!(plain.clone().all(|(_, p)| p.crashes == 0 || p.enabled), "seed {seed}");
        assert!(at_points <= 4 + 4 * 16, "seed {seed}: the budgets bound the crashes at points");
        let starts: Vec<&checker::Event> = out
            .events
            .iter()
            .filter(|e| e.process == Process::Nemesis && e.kind == EventType::Info && e.f.as_str() == "start-crash")
            .filter(|e| matches!(&e.value, Value::Map(m) if m.get_str("point").is_some()))
            .collect();
        assert_eq!(starts.len() as u64, at_points, "seed {seed}: each crash at a point is in the history");
        assert!(out.stats.restarts >= at_points, "seed {seed}: nodes crashed at points come back");
        crashed += at_points;
    }
    assert!(crashed > 0, "some point fired in 6 seeds");
    let calm = run(&p, &cfg(0, &[FaultKind::Partition]));
    assert!(calm.stats.fault_points.values().all(|p| p.crashes == 0 && !p.enabled));
    assert!(calm.stats.fault_points["raft.commit-advanced"].hits > 0, "hits are counted all the same");
}

/// #15 §2: a crash is a power-off: messages the leader sent within the
/// send buffer's span before it crashed are lost, though their receivers
/// are up; with a zero buffer a crash delivers everything sent.
#[test]
fn power_off_loses_the_send_buffer() {
    use workloads::sim::{Fault, ScheduledFault, Target, TraceKind};
    let p = RaftProtocol::default();
    let lost_from_leader = |buffer_ns: u64| {
        let mut c = cfg(0, &[]);
        c.nemesis = NemesisConfig { faults: Vec::new(), generate: None };
        c.keep_trace = true;
        c.net.send_buffer_ns = buffer_ns;
        // Every 150 ms (time to elect another), crash the leader for 1 ms:
        // some crash lands within a buffer's span of an AppendEntries.
        c.nemesis.faults = (0..20)
            .map(|k| ScheduledFault {
                at_ns: (100 + 150 * k) * MS,
                duration_ns: MS,
                fault: Fault::Crash(Target::Leader),
            })
            .collect();
        let out = run(&p, &c);
        let t = out.trace.unwrap();
        t.iter().filter(|e| e.kind == TraceKind::DropCrash && e.from != e.to).count()
    };
    let (lost, clean) = (lost_from_leader(MS), lost_from_leader(0));
    assert!(lost > clean, "the send buffer is lost at a crash ({lost} vs {clean} drops)");
}

/// #15 §5: the swizzle nemesis fires like any requested kind, holds
/// messages (never drops them), records its clog and unclog orders in the
/// history, and the same seed gives the same run; correct Raft and ABD stay
/// linearizable under it with clients on every node.
#[test]
fn swizzle_clogs_hold_messages_and_correct_protocols_survive_them() {
    use checker::model::ModelKind;
    use checker::Verdict;
    use workloads::protocols::abd::AbdProtocol;
    let raft = RaftProtocol::default();
    for seed in 0..4 {
        let c = cfg(seed, &[FaultKind::Swizzle]);
        let out = run(&raft, &c);
        assert_eq!(out.stats.stopped_early, None);
        assert!(out.stats.faults_by_kind["swizzle"] >= 3, "seed {seed}: {:?}", out.stats.faults_by_kind);
        assert!(out.stats.msgs_held > 0, "seed {seed}: a clog held something");
        assert_eq!(out.stats.msgs_dropped_partition + out.stats.msgs_dropped_loss, 0, "seed {seed}: held, not lost");
        let starts: Vec<&Value> = out
            .events
            .iter()
            .filter(|e| e.process == Process::Nemesis && e.kind == EventType::Info && e.f.as_str() == "start-swizzle")
            .map(|e| &e.value)
            .collect();
        assert!(starts.len() >= 3, "seed {seed}");
        for v in starts {
            let Value::Map(m) = v else { panic!("seed {seed}: {v:?}") };
            let (Some(Value::List(clog)), Some(Value::List(unclog))) = (m.get_str("clog"), m.get_str("unclog")) else {
                panic!("seed {seed}: no orders in {v:?}")
            };
            let (mut a, mut b) = (clog.clone(), unclog.clone());
            a.sort();
            b.sort();
            assert!(clog.len() >= 2 && a == b, "seed {seed}: every clogged node unclogs once: {v:?}");
        }
        let again = run(&raft, &c);
        assert_eq!(format!("{:?}", out.events), format!("{:?}", again.events), "seed {seed}: same seed, same run");
        let h = out.history().unwrap();
        assert_eq!(common::linear(&h, ModelKind::CasRegister).verdict, Verdict::Valid, "seed {seed}: raft");
    }
    let abd = AbdProtocol::default();
    for seed in 0..4 {
        let mut c = cfg(seed, &[FaultKind::Swizzle]);
        c.workload = WorkloadConfig { keys: 1, ..WorkloadConfig::new(WorkloadKind::Register) };
        (c.clients, c.client_node) = (10, workloads::sim::ClientRouting::Random);
        let out = run(&abd, &c);
        assert!(out.stats.msgs_held > 0, "seed {seed}");
        let h = out.history().unwrap();
        assert_eq!(common::linear(&h, ModelKind::Register).verdict, Verdict::Valid, "seed {seed}: abd");
    }
}

/// #15 §2: a crash is a power-off, so Raft with `fsync=periodic` (votes,
/// terms and entries acknowledged from the page cache) loses them: crashes
/// lose unsynced state, the invariants see terms go back, and the checker
/// finds acknowledged writes lost within a few seeds; the default
/// `fsync=always` loses nothing under the same faults, and without crashes
/// periodic fsync loses nothing either.
#[test]
fn power_off_loses_what_raft_did_not_fsync() {
    use checker::model::ModelKind;
    use checker::Verdict;
    let periodic = RaftProtocol::from_params(&common::params(&[("fsync", "periodic")])).unwrap();
    assert!(periodic.config.fsync_period_ns == Some(100 * MS));
    let mut first_invalid = None;
    for seed in 0..8 {
        // The command line's clients: two per node, failing over.
        let mut c = cfg(seed, &[FaultKind::Crash]);
        (c.clients, c.client_node) = (10, workloads::sim::ClientRouting::Failover);
        let out = run(&periodic, &c);
        assert!(out.stats.crashes_lost_unsynced > 0, "seed {seed}: {:?}", out.stats);
        assert!(out.stats.crashes_lost_unsynced <= out.stats.crashes);
        assert!(
            out.stats.invariant_violations.iter().any(|v| v.invariant == "term-monotonic"),
            "seed {seed}: {:?}",
            out.stats.invariant_violations
        );
        let h = out.history().unwrap();
        if first_invalid.is_none() && common::linear(&h, ModelKind::CasRegister).verdict == Verdict::Invalid {
            first_invalid = Some(seed);
        }
    }
    assert!(first_invalid.is_some(), "acknowledged writes were lost in some seed of 8");
    eprintln!("first seed with lost writes: {first_invalid:?}");
    let always = RaftProtocol::default();
    for seed in 0..3 {
        let out = run(&always, &cfg(seed, &[FaultKind::Crash]));
        assert_eq!(out.stats.crashes_lost_unsynced, 0);
        assert!(
            out.stats.crashes > 0 && out.stats.invariant_violations.is_empty(),
            "seed {seed}: {:?}",
            out.stats.invariant_violations
        );
        let h = out.history().unwrap();
        assert_eq!(common::linear(&h, ModelKind::CasRegister).verdict, Verdict::Valid, "seed {seed}");
        let calm = run(&periodic, &cfg(seed, &[FaultKind::Partition, FaultKind::Pause]));
        assert_eq!((calm.stats.crashes, calm.stats.crashes_lost_unsynced), (0, 0));
        assert!(calm.stats.invariant_violations.is_empty(), "seed {seed}: {:?}", calm.stats.invariant_violations);
    }
}

/// #15 §5: the link-loss nemesis fires like any requested kind, gives each
/// directed link its own moderate rate (recorded in the history), drops
/// messages without cutting any link off, and correct Raft stays
/// linearizable under it.
#[test]
fn link_loss_gives_each_link_a_moderate_rate_of_its_own() {
    use checker::model::ModelKind;
    use checker::Verdict;
    let raft = RaftProtocol::default();
    for seed in 0..4 {
        let out = run(&raft, &cfg(seed, &[FaultKind::LinkLoss]));
        assert!(out.stats.faults_by_kind["link-loss"] >= 3, "seed {seed}: {:?}", out.stats.faults_by_kind);
        assert!(out.stats.msgs_dropped_loss > 0, "seed {seed}");
        assert_eq!(out.stats.msgs_dropped_partition, 0, "seed {seed}");
        for e in out.events.iter().filter(|e| e.kind == EventType::Info && e.f.as_str() == "start-link-loss") {
            let Value::Map(m) = &e.value else { panic!("{:?}", e.value) };
            let Some(Value::List(links)) = m.get_str("links") else { panic!("{:?}", e.value) };
            assert!(links.len() <= 20 && links.len() >= 15, "seed {seed}: most of the 20 links: {}", links.len());
            let rates: Vec<f64> = links
                .iter()
                .map(|l| match l {
                    Value::List(t) => match (&t[0], &t[1], &t[2]) {
                        (Value::Str(a), Value::Str(b), Value::Float(r)) if a != b => *r,
                        _ => panic!("{l:?}"),
                    },
                    _ => panic!("{l:?}"),
                })
                .collect();
            assert!(rates.iter().all(|&r| r > 0.0 && r <= 0.2), "seed {seed}: moderate: {rates:?}");
            assert!(rates.windows(2).any(|w| w[0] != w[1]), "seed {seed}: a rate per link");
        }
        let h = out.history().unwrap();
        assert_eq!(common::linear(&h, ModelKind::CasRegister).verdict, Verdict::Valid, "seed {seed}");
    }
}
