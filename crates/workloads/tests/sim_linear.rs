//! The simulator's histories through the checker: the single-node store is
//! linearizable under every fault across many seeds, the lagging store is
//! caught within a few seeds, and histories round-trip through the JSON
//! Lines writer and reader.

mod common;

use checker::model::ModelKind;
use checker::read::{read_bytes, ReadOptions};
use checker::{Verdict, F};
use common::{linear, model_for, rough_cfg, MS};
use workloads::protocols::lagging::Lagging;
use workloads::protocols::single::Single;
use workloads::sim::{run, ClientRouting, NemesisConfig, SimConfig};
use workloads::workload::WorkloadKind;

fn faulty(seed: u64, kind: WorkloadKind) -> SimConfig {
    rough_cfg(seed, kind, ClientRouting::Random)
}

#[test]
fn single_store_is_linearizable_under_faults_across_seeds() {
    let kinds =
        [WorkloadKind::Register, WorkloadKind::Kv, WorkloadKind::ListAppend, WorkloadKind::Set, WorkloadKind::Counter];
    let mut infos = 0;
    for seed in 0..150u64 {
        let kind = kinds[seed as usize % kinds.len()];
        let out = run(&Single, &faulty(seed, kind));
        assert_eq!(out.stats.stopped_early, None);
        let h = out.history().unwrap();
        infos += out.stats.ops_info;
        let r = linear(&h, model_for(kind));
        assert_eq!(r.verdict, Verdict::Valid, "seed {seed} {kind:?}: {r:#?}");
    }
    assert!(infos > 0, "the faults produced indeterminate ops for the checker to handle");
}

#[test]
fn lagging_store_fails_linearizability_within_a_few_seeds() {
    let first_bad = (0..5u64).find(|&seed| {
        let mut c = faulty(seed, WorkloadKind::Register);
        c.nemesis = NemesisConfig::none();
        let out = run(&Lagging { lag_ns: 20 * MS }, &c);
        let r = linear(&out.history().unwrap(), ModelKind::CasRegister);
        assert_ne!(r.verdict, Verdict::Unknown, "seed {seed}: small histories are decided");
        r.verdict == Verdict::Invalid
    });
    assert!(first_bad.is_some(), "stale follower reads must be caught");
}

#[test]
fn histories_round_trip_through_the_jsonl_reader() {
    for (seed, kind) in WorkloadKind::ALL.into_iter().enumerate() {
        let out = run(&Single, &faulty(seed as u64, kind));
        let bytes = out.to_jsonl();
        let (read, _) = read_bytes("sim.jsonl", &bytes, &ReadOptions::default()).unwrap();
        let direct = out.history().unwrap();
        assert_eq!(read.ops, direct.ops, "{kind:?}");
        assert_eq!(read.faults, direct.faults, "{kind:?}");
        assert_eq!(read.events, direct.events);
        assert!(direct.ops.iter().any(|o| o.is_final && (o.f == F::Read || kind.is_txn())));
    }
}
