//! The toy stores through the checker's other checks: the single-node
//! store passes every session guarantee, convergence and the bank check
//! under faults; the lagging store breaks session guarantees.

mod common;

use checker::{CheckName, Verdict, Workload};
use common::{bank_check_with, bank_counts, rough_cfg, session_workload, sessions, MS};
use std::collections::BTreeMap;
use workloads::protocols::lagging::Lagging;
use workloads::protocols::single::Single;
use workloads::sim::{run, ClientRouting, NemesisConfig, SimConfig};
use workloads::workload::WorkloadKind;

fn faulty(seed: u64, kind: WorkloadKind) -> SimConfig {
    let routing = if seed.is_multiple_of(2) { ClientRouting::Sticky } else { ClientRouting::Random };
    let mut c = rough_cfg(seed, kind, routing);
    c.net.reorder = 0.0;
    c
}

#[test]
fn single_store_passes_session_and_convergence_checks() {
    let kinds = [WorkloadKind::Register, WorkloadKind::ListAppend, WorkloadKind::Set, WorkloadKind::Counter];
    for seed in 0..60u64 {
        let kind = kinds[seed as usize % kinds.len()];
        let out = run(&Single, &faulty(seed, kind));
        let h = out.history().unwrap();
        let w = session_workload(kind);
        for r in sessions(&h, w) {
            assert_eq!(r.verdict, Verdict::Valid, "seed {seed} {kind:?} {:?}: {r:#?}", r.check);
        }
    }
}

#[test]
fn single_store_passes_the_bank_check() {
    for seed in 0..20u64 {
        let mut c = faulty(seed, WorkloadKind::Bank);
        // The bank's linearizability search is expensive in debug builds:
        // run it on small histories only.
        let linearizable = seed < 3;
        if linearizable {
            c.ops = 30;
        }
        let out = run(&Single, &c);
        let h = out.history().unwrap();
        let r = bank_check_with(&h, linearizable);
        let (reads, transfers) = bank_counts(&r);
        assert!(reads > 0 && transfers > 0);
        assert_eq!(r.verdict, Verdict::Valid, "seed {seed}: {r:#?}");
    }
}

#[test]
fn lagging_store_breaks_session_guarantees() {
    let mut broken = BTreeMap::new();
    for seed in 0..6u64 {
        let mut c = faulty(seed, WorkloadKind::ListAppend);
        c.nemesis = NemesisConfig::none();
        c.client_node = ClientRouting::Sticky;
        let h = run(&Lagging { lag_ns: 20 * MS }, &c).history().unwrap();
        for r in sessions(&h, Workload::ListAppend) {
            if r.verdict == Verdict::Invalid {
                *broken.entry(r.check.as_str()).or_insert(0) += 1;
            }
        }
    }
    // A client appends through its follower (forwarded to the primary) and
    // then reads its follower's stale copy.
    assert!(broken.contains_key(CheckName::ReadYourWrites.as_str()), "{broken:?}");
}
