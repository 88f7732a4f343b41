//! dynamo in the simulator on single items: strongly consistent reads and
//! conditional writes are linearizable under every fault with clients on
//! every node; the default eventually consistent reads are stale and go
//! back in time. Configurations are `conch run`'s (`cli_cfg`), so a seed
//! found here reproduces from the command line. Its transactions are
//! judged in `txn_stores.rs`.

mod common;

use checker::{CheckName, Verdict};
use common::{cli_cfg, linear, model_for, params, session_workload, sessions, verdict_of};
use workloads::registry;
use workloads::sim::{ClientRouting, FaultKind};
use workloads::workload::{WorkloadConfig, WorkloadKind};

/// `conch run --protocol dynamo --routing random --nemesis F --ops N --seed
/// S --param reads=R` (the register workload on its default keys): the
/// verdicts of linearizability and monotonic reads.
fn register_run(seed: u64, faults: &[FaultKind], ops: usize, reads: &str) -> (Verdict, Verdict) {
    let mut cfg = cli_cfg(seed, WorkloadKind::Register, faults, 1.0, ops);
    cfg.workload = WorkloadConfig::new(WorkloadKind::Register);
    cfg.client_node = ClientRouting::Random;
    let out = registry::run("dynamo", &params(&[("reads", reads)]), &cfg).unwrap();
    assert_eq!(out.stats.stopped_early, None, "seed {seed}");
    assert!(out.stats.invariant_violations.is_empty(), "seed {seed}: {:?}", out.stats.invariant_violations);
    let h = out.history().unwrap();
    let lin = linear(&h, model_for(WorkloadKind::Register)).verdict;
    let mono = verdict_of(&sessions(&h, session_workload(WorkloadKind::Register)), CheckName::MonotonicReads);
    (lin, mono)
}

#[test]
fn dynamo_strong_reads_and_conditional_writes_are_linearizable_under_every_fault() {
    for seed in 0..3 {
        let (lin, mono) = register_run(seed, &FaultKind::ALL, 200, "strong");
        assert_eq!((lin, mono), (Verdict::Valid, Verdict::Valid), "seed {seed}");
    }
}

/// Without faults an eventual read after an acknowledged write returns
/// the old value; a partition keeps followers stale long enough for a
/// client to go back in time. Each within the first seeds (the command
/// line's sweeps are in docs/protocols/detection.md).
#[test]
fn dynamo_eventual_reads_are_stale_and_not_monotonic() {
    let stale = (0..4).find(|&s| register_run(s, &[], 500, "eventual").0 == Verdict::Invalid);
    assert!(stale.is_some(), "no stale read in seeds 0..4");
    let back = (0..4).find(|&s| register_run(s, &[FaultKind::Partition], 500, "eventual").1 == Verdict::Invalid);
    assert!(back.is_some(), "monotonic reads held in seeds 0..4");
}

/// The sweep behind the expected-verdict rows: `cargo test -p
/// conch-workloads --test repl_dynamo -- --ignored --nocapture`.
#[test]
#[ignore]
fn dynamo_seeds_to_first_violation() {
    let partition = [FaultKind::Partition];
    for (reads, faults) in [("eventual", &[][..]), ("eventual", &partition[..]), ("strong", &FaultKind::ALL[..])] {
        let (mut lin_first, mut lin_n, mut mono_first, mut mono_n) = (None, 0, None, 0);
        for seed in 0..40 {
            let (lin, mono) = register_run(seed, faults, 500, reads);
            if lin == Verdict::Invalid {
                lin_first.get_or_insert(seed);
                lin_n += 1;
            }
            if mono == Verdict::Invalid {
                mono_first.get_or_insert(seed);
                mono_n += 1;
            }
        }
        println!(
            "reads={reads} {faults:?}: not linearizable {lin_n}/40 (first {lin_first:?}); \
             monotonic reads broken {mono_n}/40 (first {mono_first:?})"
        );
    }
}
