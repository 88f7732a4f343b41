//! Session-guarantee benchmarks: what `conch check --checks all` runs on a
//! session workload (the four session guarantees, convergence and the
//! staleness measure) on generated histories with 64 sessions and 1,000 keys,
//! register and list-append (50% reads), at 100k and 1M ops.
//!
//! Run (release; the whole bench takes a few minutes):
//! `cargo bench -p conch-checker --bench session` (add `-- register` or
//! `-- list-append/100000` to select). Each history is generated once, on
//! first use, outside the timed loop; the 1M-op cases use the minimum sample
//! count of 10.

use checker::{CheckConfig, CheckName, History, Report, Verdict, Workload};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::time::Duration;
use testkit::gen_session::{events, GenOpts};

const CHECKS: [CheckName; 5] = CheckName::SESSION;

/// The shape: 64 sessions, 1,000 keys, half reads, a few `info` and
/// `fail` ops, two final reads per key (convergence has something to compare).
fn history(workload: Workload, ops: usize) -> History {
    let o = GenOpts {
        workload,
        sessions: 64,
        keys: 1000,
        ops,
        read_pct: 50,
        info_pct: 1,
        fail_pct: 1,
        nodes: 2,
        stale: false,
        seed: 42,
    };
    History::from_events("bench", events(&o)).expect("generated histories are well formed")
}

/// The session checks and staleness, through the one entry.
fn check_all(h: &History) -> Report {
    checker::check(h, &CheckConfig { checks: CHECKS.to_vec(), ..CheckConfig::default() }).expect("a session history")
}

fn bench_workload(c: &mut Criterion, w: Workload) {
    let mut g = c.benchmark_group(format!("session-{w}"));
    // One iteration per sample: a 1M-op check takes seconds.
    g.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_secs(1));
    for ops in [100_000usize, 1_000_000] {
        g.measurement_time(Duration::from_secs(if ops >= 1_000_000 { 40 } else { 5 }));
        g.throughput(Throughput::Elements(ops as u64));
        // Built on first use, so a filtered-out case costs nothing.
        let mut cached: Option<History> = None;
        g.bench_function(BenchmarkId::from_parameter(ops), |b| {
            let h = cached.get_or_insert_with(|| {
                let h = history(w, ops);
                // The work measured must be the full check of a valid history.
                let r = check_all(&h);
                assert_eq!(r.results.len(), CHECKS.len());
                assert!(r.staleness.is_some());
                assert!(r.results.iter().all(|r| r.verdict == Verdict::Valid), "{w} {ops}: not all valid");
                h
            });
            b.iter(|| black_box(check_all(black_box(h))))
        });
    }
    g.finish();
}

fn bench_register(c: &mut Criterion) {
    bench_workload(c, Workload::Register);
}

fn bench_list_append(c: &mut Criterion) {
    bench_workload(c, Workload::ListAppend);
}

criterion_group!(benches, bench_register, bench_list_append);
criterion_main!(benches);
