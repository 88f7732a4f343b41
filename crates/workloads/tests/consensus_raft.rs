//! Raft in the simulator: linearizable, session guarantees and convergence
//! over many seeds under partitions, crashes and message loss; with a bug
//! switched on, the checker finds a violation and names the seed.

mod common;

use checker::{Budget, CheckName, Verdict};
use common::{
    bank_counts, bank_property, linear, model_for, params, roaming_cfg as config, session_workload, sessions, sim,
};
use workloads::protocols::raft::RaftProtocol;
use workloads::sim::{run, Fault, FaultKind, NemesisConfig, RunOutput, ScheduledFault, Target};
use workloads::workload::WorkloadKind;

fn raft(kv: &[(&str, &str)]) -> RaftProtocol {
    RaftProtocol::from_params(&params(kv)).unwrap()
}

fn linear_verdict(out: &RunOutput, kind: WorkloadKind) -> Verdict {
    linear(&out.history().unwrap(), model_for(kind)).verdict
}

const KINDS: [WorkloadKind; 4] =
    [WorkloadKind::Register, WorkloadKind::ListAppend, WorkloadKind::Set, WorkloadKind::Counter];
const FAULTS: [FaultKind; 3] = [FaultKind::Partition, FaultKind::Crash, FaultKind::Loss];

#[test]
fn raft_is_linearizable_and_converges_under_faults() {
    let p = raft(&[]);
    let mut oks = 0;
    let mut infos = 0;
    for seed in 0..100u64 {
        let kind = KINDS[seed as usize % KINDS.len()];
        let out = run(&p, &config(seed, kind, &FAULTS, 120));
        assert_eq!(out.stats.stopped_early, None, "seed {seed}");
        assert_eq!(out.stats.invariant_violations, vec![], "seed {seed}");
        oks += out.stats.ops_ok;
        infos += out.stats.ops_info;
        assert_eq!(linear_verdict(&out, kind), Verdict::Valid, "seed {seed} {kind:?}");
        let h = out.history().unwrap();
        for r in sessions(&h, session_workload(kind)) {
            assert_eq!(r.verdict, Verdict::Valid, "seed {seed} {kind:?} {}: {r:#?}", r.check);
        }
    }
    // Every crash fault is a failover episode (#15): for the rest of its
    // slot leaders die at their leader points, and with four crash slots
    // over 96 of the 120 ops most of a run is one. 6,507 of 12,000 ops ok
    // (over 8,000 before the episodes).
    assert!(oks > 5000, "raft made progress under faults ({oks} ok ops)");
    assert!(infos > 0, "faults left some ops indeterminate");
}

/// First seed in `seeds` whose history is not linearizable.
fn first_violation(p: &RaftProtocol, seeds: std::ops::Range<u64>, faults: &[FaultKind]) -> Option<u64> {
    seeds.into_iter().find(|&seed| {
        let out = run(p, &config(seed, WorkloadKind::Register, faults, 150));
        linear_verdict(&out, WorkloadKind::Register) == Verdict::Invalid
    })
}

#[test]
fn stale_reads_bug_is_found_with_a_reproducing_seed() {
    let buggy = raft(&[("bug", "stale-reads")]);
    let seed = first_violation(&buggy, 0..30, &[FaultKind::Partition]).expect("stale reads caught within 30 seeds");
    // The seed reproduces: same run, same verdict; the correct protocol on
    // the same seed is fine.
    let again = run(&buggy, &config(seed, WorkloadKind::Register, &[FaultKind::Partition], 150));
    assert_eq!(linear_verdict(&again, WorkloadKind::Register), Verdict::Invalid);
    let good = run(&raft(&[]), &config(seed, WorkloadKind::Register, &[FaultKind::Partition], 150));
    assert_eq!(linear_verdict(&good, WorkloadKind::Register), Verdict::Valid);
}

#[test]
fn runs_are_deterministic() {
    let p = raft(&[]);
    let c = config(7, WorkloadKind::ListAppend, &FAULTS, 80);
    assert_eq!(run(&p, &c).to_jsonl(), run(&p, &c).to_jsonl());
}

#[test]
fn convergence_of_final_reads() {
    let p = raft(&[]);
    for seed in 0..5u64 {
        let (_, h) = sim(&p, &config(seed, WorkloadKind::ListAppend, &FAULTS, 100));
        let r = sessions(&h, session_workload(WorkloadKind::ListAppend));
        let c = r.iter().find(|r| r.check == CheckName::Convergence).unwrap();
        assert_eq!(c.verdict, Verdict::Valid, "seed {seed}: {c:#?}");
        assert!(h.ops.iter().any(|o| o.is_final && o.outcome == checker::Outcome::Ok), "final reads answered");
    }
}

#[test]
fn raft_serves_the_bank_linearizably() {
    let p = raft(&[]);
    let (mut reads, mut decided) = (0, 0);
    for seed in 0..20u64 {
        // Crash faults are failover episodes (#15): they leave so many
        // transfers indeterminate that the whole-bank linearizability
        // search runs out of its memory budget (seed 7: unknown after 11.5M
        // configurations, never invalid). Odd seeds check the bank
        // invariants under every fault, even seeds also linearizability
        // under partitions and loss.
        let lin = seed % 2 == 0;
        let faults: &[FaultKind] = if lin { &[FaultKind::Partition, FaultKind::Loss] } else { &FAULTS };
        let (_, h) = sim(&p, &config(seed, WorkloadKind::Bank, faults, 100));
        // The search is over which indeterminate transfers took effect
        // before each read, 2^info at worst: seed 2 has 32 info transfers
        // in 105 ops and took 34 s unbounded. A memory budget (not a
        // timeout, so the verdict is the same on every machine) keeps the
        // test quick; an unknown is counted, an invalid verdict fails.
        // Unbounded, all ten were valid (40 s in all at c582503).
        let r = testkit::checks::sim_bank_within(&h, lin, Budget { deadline: None, memory_bytes: BANK_SEARCH_BYTES });
        assert_eq!(bank_property(&r, "total-conserved").verdict, Verdict::Valid, "seed {seed}: {r:#?}");
        if lin {
            let v = bank_property(&r, "linearizable").verdict;
            assert_ne!(v, Verdict::Invalid, "seed {seed}: {r:#?}");
            decided += (v == Verdict::Valid) as usize;
        }
        reads += bank_counts(&r).0;
    }
    // Over 10 a seed before #15's failover episodes, which leave a seed or
    // two of these short runs with few successful reads.
    assert!(reads > 100, "{reads} successful reads over 20 seeds");
    // 7 of the 10 at c582503 (seeds 2, 12 and 16 ran out).
    assert!(decided >= 5, "only {decided} of 10 linearizability searches decided within the budget");
}

/// Memoisation memory for each bank linearizability search in
/// `raft_serves_the_bank_linearizably`.
const BANK_SEARCH_BYTES: u64 = 64 << 20;

/// Hundreds of seeds (release: `cargo test --release -- --ignored`).
#[test]
#[ignore]
fn raft_holds_over_hundreds_of_seeds() {
    let p = raft(&[]);
    for seed in 0..400u64 {
        let kind = KINDS[seed as usize % KINDS.len()];
        let out = run(&p, &config(seed, kind, &FAULTS, 300));
        assert_eq!(linear_verdict(&out, kind), Verdict::Valid, "seed {seed} {kind:?}");
        let h = out.history().unwrap();
        for r in sessions(&h, session_workload(kind)) {
            assert_eq!(r.verdict, Verdict::Valid, "seed {seed} {kind:?} {}", r.check);
        }
    }
}

/// Searches for the Figure 8 bug under crashes and partitions, with one
/// entry per AppendEntries so that an old-term entry can reach a majority
/// before the new leader's no-op (release: `--ignored --nocapture`). Random
/// runs rarely produce the scenario; the unit test in `raft/tests.rs` drives
/// it by hand.
#[test]
#[ignore]
fn search_for_the_figure_8_bug() {
    let buggy = raft(&[("bug", "no-term-check-on-commit"), ("max_batch", "1")]);
    for faults in [&[FaultKind::Crash][..], &[FaultKind::Crash, FaultKind::Partition]] {
        let found = (0..3000u64).find(|&seed| {
            let mut c = config(seed, WorkloadKind::Register, faults, 200);
            c.nodes = 3;
            c.nemesis = NemesisConfig::generated(faults, 4.0);
            linear_verdict(&run(&buggy, &c), WorkloadKind::Register) == Verdict::Invalid
        });
        println!("figure 8 bug with {faults:?}: first violating seed {found:?}");
    }
}

/// Regression (#15): every successful AppendEntries reply sent another
/// AppendEntries, and every proposal re-sent the unacknowledged tail to
/// every follower: 32, 69 and 181 messages per op at 5, 10 and 20 clients,
/// and under `--nemesis duplicate` runs of seconds and one stop at the
/// 50M-event livelock bound. One entry-carrying AppendEntries in flight per
/// follower, and only replies that move the follower on send more.
#[test]
fn raft_reply_storm_under_duplication_is_bounded() {
    let p = raft(&[]);
    for (seed, clients) in [(0, 5), (1, 10), (2, 20)] {
        let mut cfg = common::cli_cfg(seed, WorkloadKind::Register, &[FaultKind::Duplicate], 1.0, 500);
        cfg.clients = clients;
        cfg.net.duplicate = 0.2;
        cfg.max_events = 200_000;
        let out = run(&p, &cfg);
        assert_eq!(out.stats.stopped_early, None, "seed {seed}, {clients} clients");
        let per_op = out.stats.msgs_sent as f64 / out.stats.ops_invoked as f64;
        assert!(per_op < 20.0, "seed {seed}, {clients} clients: {per_op:.1} messages per op");
        assert_eq!(linear_verdict(&out, WorkloadKind::Register), Verdict::Valid, "seed {seed}");
    }
}

/// #15's acceptance: Raft holds under duplicate,partition and under every
/// fault, never near an event bound.
#[test]
fn raft_holds_under_duplicate_partition_and_every_fault() {
    let p = raft(&[]);
    for seed in 0..6 {
        let faults: &[FaultKind] =
            if seed % 2 == 0 { &[FaultKind::Duplicate, FaultKind::Partition] } else { &FaultKind::ALL };
        let mut cfg = common::cli_cfg(seed, WorkloadKind::Register, faults, 1.0, 300);
        cfg.clients = 10;
        cfg.client_node = workloads::sim::ClientRouting::Random;
        cfg.max_events = 500_000;
        let out = run(&p, &cfg);
        assert_eq!(out.stats.stopped_early, None, "seed {seed}");
        assert_eq!(out.stats.invariant_violations, vec![], "seed {seed}");
        assert_eq!(linear_verdict(&out, WorkloadKind::Register), Verdict::Valid, "seed {seed}");
    }
}

/// #15: a failover episode (an explicit `Crash(LeaderFailover)` here; every
/// generated crash fault of a protocol with leader fault points) crashes
/// the leader, then each next leader at its leader points, rolling (the
/// one down before comes back), and leaves every node up when it ends;
/// correct Raft holds through it.
#[test]
fn a_failover_episode_crashes_successive_leaders_and_raft_holds() {
    let p = raft(&[]);
    let mut cfg = common::cli_cfg(3, WorkloadKind::Register, &[], 1.0, 400);
    cfg.clients = 10;
    let fault = Fault::Crash(Target::LeaderFailover);
    cfg.nemesis.faults = vec![ScheduledFault { at_ns: 100_000_000, duration_ns: 1_500_000_000, fault }];
    let out = run(&p, &cfg);
    let at_points: u64 = out.stats.fault_points.values().map(|s| s.crashes).sum();
    assert!(at_points >= 2, "successive leaders die at their points: {:?}", out.stats.fault_points);
    assert_eq!(out.stats.crashes, out.stats.restarts, "every node is back up");
    assert_eq!(out.stats.invariant_violations, vec![]);
    assert_eq!(linear_verdict(&out, WorkloadKind::Register), Verdict::Valid);
    let history = String::from_utf8(out.to_jsonl()).unwrap();
    assert!(history.contains(r#""target":"leader-failover""#), "the history names the episode");
}
