//! Transactional-checker benchmarks (#14): list-append histories like
//! Elle's generator makes (at most 4 micro-ops per transaction, 10 active
//! keys, a key retired after 32 appends, 5% info, 10 concurrent processes),
//! checked for strict-serializable through the one entry
//! (`checker::check`: conversion to the compact form, inference, graph,
//! cycle search), at 100k and 1M transactions, and a 1M-transaction history
//! with one planted G-single, which must be found and named.
//!
//! Run (release): `cargo bench -p conch-checker --bench txn` (add
//! `-- 100000` or `-- g-single` to select). Each history is generated once,
//! on first use, outside the timed loop. The targets: 100k in < 1 s,
//! 1M in < 8 s (see docs/performance.md for the whole-command numbers).

use checker::report::{CheckName, Verdict};
use checker::{CheckConfig, History, Report};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::time::Duration;
use testkit::gen_txn::{txn_events, Plant, TxnGenConfig, TxnWorkload};
use testkit::source::Rng;

fn history(txns: u64, plant: Option<Plant>) -> History {
    let cfg = TxnGenConfig {
        plants: plant.map(|p| vec![(txns / 2, p)]).unwrap_or_default(),
        ..TxnGenConfig::elle(TxnWorkload::ListAppend, txns)
    };
    let mut events = Vec::new();
    txn_events(&cfg, &mut Rng::new(42), &mut |e| events.push(e));
    History::from_events("bench", events).expect("generated histories are well formed")
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
                let r = strict(&h);
                let res = r.result(CheckName::StrictSerializable).expect("checked");
                match plant {
                    None => assert_eq!(res.verdict, Verdict::Valid, "{name} {txns}"),
                    Some(p) => {
                        assert_eq!(res.verdict, Verdict::Invalid, "{name} {txns}");
                        assert!(res.keys[0].anomalies.iter().any(|a| a.kind.as_str() == p.name()), "{name}");
                    }
                }
                h
            });
            b.iter(|| black_box(strict(h)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
