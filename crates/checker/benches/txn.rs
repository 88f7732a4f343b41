//! Transactional-checker benchmarks (#14): list-append histories like
//! Elle's generator makes (at most 4 micro-ops per transaction, 10 active
//! keys, a key retired after 32 appends, 5% info, 10 concurrent processes),
//! checked for strict-serializable through the one entry
//! (`checker::check`: conversion to the compact form, inference, graph,
//! cycle search), at 100k and 1M transactions, and a 1M-transaction history
//! with one planted G-single, which must be found and named; and the same
//! three from a JSON Lines file as `conch check` reads it
//! (`checker::check_path_lean`: read straight into the compact form, then
//! checked), which is what the targets are about.
//!
//! Run (release): `cargo bench -p conch-checker --bench txn` (add
//! `-- 100000`, `-- g-single` or `-- file` to select). Each history is generated once,
//! on first use, outside the timed loop. The targets: 100k in < 1 s,
//! 1M in < 8 s (see docs/performance.md for the whole-command numbers).

use checker::read::ReadOptions;
use checker::report::{CheckName, Verdict};
use checker::{CheckConfig, History, Report};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::time::Duration;
use testkit::gen_txn::{jsonl, txn_events, Plant, TxnGenConfig, TxnWorkload};
use testkit::source::Rng;

fn config(txns: u64, plant: Option<Plant>) -> TxnGenConfig {
    TxnGenConfig {
        plants: plant.map(|p| vec![(txns / 2, p)]).unwrap_or_default(),
        ..TxnGenConfig::elle(TxnWorkload::ListAppend, txns)
    }
}

fn history(txns: u64, plant: Option<Plant>) -> History {
    let mut events = Vec::new();
    txn_events(&config(txns, plant), &mut Rng::new(42), &mut |e| events.push(e));
    History::from_events("bench", events).expect("generated histories are well formed")
}

/// The report must have the verdict (and the planted anomaly) the history
/// is built to have, or what is measured is not the whole check.
fn assert_expected(r: &Report, name: &str, plant: Option<Plant>) {
    let res = r.result(CheckName::StrictSerializable).expect("checked");
    match plant {
        None => assert_eq!(res.verdict, Verdict::Valid, "{name}"),
        Some(p) => {
            assert_eq!(res.verdict, Verdict::Invalid, "{name}");
            assert!(res.keys[0].anomalies.iter().any(|a| a.kind.as_str() == p.name()), "{name}");
        }
    }
}

fn strict(h: &History) -> Report {
    checker::check(h, &CheckConfig::default()).expect("a txn history")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("txn-list-append-strict-serializable");
    g.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_secs(1));
    let cases: [(&str, u64, Option<Plant>); 3] =
        [("valid", 100_000, None), ("valid", 1_000_000, None), ("g-single", 1_000_000, Some(Plant::GSingle))];
    for (name, txns, plant) in cases {
        g.measurement_time(Duration::from_secs(if txns >= 1_000_000 { 60 } else { 10 }));
        g.throughput(Throughput::Elements(txns));
        let mut cached: Option<History> = None;
        g.bench_function(BenchmarkId::new(name, txns), |b| {
            let h = cached.get_or_insert_with(|| {
                let h = history(txns, plant);
                // What is measured must be the whole check, with the verdict
                // the history is built to have.
                assert_expected(&strict(&h), name, plant);
                h
            });
            b.iter(|| black_box(strict(h)))
        });
    }
    g.finish();
}

/// From a file, as `conch check` does: reading included.
fn bench_file(c: &mut Criterion) {
    let mut g = c.benchmark_group("txn-list-append-strict-serializable-file");
    g.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_secs(1));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cases: [(&str, u64, Option<Plant>); 3] =
        [("valid", 100_000, None), ("valid", 1_000_000, None), ("g-single", 1_000_000, Some(Plant::GSingle))];
    for (name, txns, plant) in cases {
        g.measurement_time(Duration::from_secs(if txns >= 1_000_000 { 90 } else { 10 }));
        g.throughput(Throughput::Elements(txns));
        let path = dir.path().join(format!("{name}-{txns}.jsonl"));
        let check = || checker::check_path_lean(&path, &ReadOptions::default(), &CheckConfig::default(), None);
        let mut written = false;
        g.bench_function(BenchmarkId::new(name, txns), |b| {
            if !written {
                std::fs::write(&path, jsonl(&config(txns, plant), 42)).expect("the history written");
                assert_expected(&check().expect("a txn history"), name, plant);
                written = true;
            }
            b.iter(|| black_box(check().expect("a txn history")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_file);
criterion_main!(benches);
