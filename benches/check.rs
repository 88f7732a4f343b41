//! Checker benchmarks: the Porcupine fixtures (read + check, every key
//! decided) and generated unique-value histories at 10k/100k/1M ops.
//!
//! Run: `cargo bench --bench check` (add `-- fixtures` or `-- generated` to
//! select). The 1M-op cases are large; criterion's sample count is lowered.

use checker::model::ModelKind;
use checker::read::{NilRead, ReadOptions};
use checker::{CheckConfig, CheckName, History};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::gen::{self, GenConfig, GenWorkload};

fn fixture_files(dir: &Path, sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(sub)).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

fn check_files(files: &[PathBuf], model: ModelKind) -> usize {
    use rayon::prelude::*;
    let cfg = CheckConfig { checks: vec![CheckName::Linearizable], model: Some(model), ..CheckConfig::default() };
    files
        .par_iter()
        .filter_map(|f| {
            let (report, _) = checker::check_path(f, &ReadOptions::default(), &cfg, None).ok()?;
            Some(report.verdict as usize)
        })
        .sum()
}

fn bench_fixtures(c: &mut Criterion) {
    let Some(dir) = testkit::fixtures::porcupine() else {
        eprintln!("fixtures not found; skipping");
        return;
    };
    let etcd = fixture_files(&dir, "jepsen");
    let kv = fixture_files(&dir, "kv");
    let mut g = c.benchmark_group("fixtures");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("etcd-all", |b| b.iter(|| check_files(&etcd, "cas-register".parse().unwrap())));
    g.bench_function("kv-all", |b| b.iter(|| check_files(&kv, "kv".parse().unwrap())));
    g.finish();
}

fn generated(workload: GenWorkload, ops: usize, clients: usize) -> History {
    let cfg = GenConfig { seed: 7, clients, keys: 100, ops, workload, ..GenConfig::default() };
    History::from_events("gen", gen::events(&cfg)).unwrap()
}

fn bench_generated(c: &mut Criterion) {
    let mut g = c.benchmark_group("generated-register");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    let model: ModelKind = "cas-register".parse().unwrap();
    let cfg = CheckConfig {
        checks: vec![CheckName::Linearizable],
        model: Some(model),
        nil_read: Some(NilRead::Absent),
        ..CheckConfig::default()
    };
    for ops in [10_000usize, 100_000, 1_000_000] {
        for clients in [16usize, 64] {
            let h = generated(GenWorkload::Register { cas: false }, ops, clients);
            g.throughput(Throughput::Elements(ops as u64));
            g.bench_with_input(BenchmarkId::new(format!("{clients}-clients"), ops), &h, |b, h| {
                b.iter(|| checker::check(h, &cfg).unwrap().verdict)
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_fixtures, bench_generated);
criterion_main!(benches);
