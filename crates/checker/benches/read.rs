//! Reading speed: histories generated once (outside the timed loop) and read
//! from memory into a `History`, as `conch check` reads a file. Run with
//! `cargo bench -p conch-checker --bench read`; throughput is in bytes of
//! input per second. See docs/performance.md for the numbers and the
//! release commands on whole files.

use checker::read::{read_bytes, Format, ReadOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use testkit::gen::{events, GenConfig, GenWorkload};

/// A generated register history (unique values, 16 clients, 100 keys, 5%
/// info, as the held-out file) as JSON Lines.
fn jsonl(ops: usize) -> Vec<u8> {
    let cfg = GenConfig { ops, clients: 16, keys: 100, info_permille: 50, ..GenConfig::default() };
    checker::write::to_jsonl(&events(&cfg))
}

/// The same history as Jepsen EDN, one op map per line with keyword fields
/// and jepsen.independent `[k v]` values, as Jepsen writes history.edn.
fn edn(ops: usize) -> Vec<u8> {
    let cfg = GenConfig { ops, clients: 16, keys: 100, info_permille: 50, ..GenConfig::default() };
    let mut out = String::new();
    for (i, e) in events(&cfg).iter().enumerate() {
        let kind = format!("{:?}", e.kind).to_lowercase();
        let p = match &e.process {
            checker::history::Process::Client(p) => p.to_string(),
            _ => ":nemesis".into(),
        };
        let k = e.key.as_ref().map_or("nil".into(), |k| k.to_string());
        out += &format!(
            "{{:type :{kind}, :f :{}, :value [{k} {}], :time {}, :process {p}, :index {i}}}\n",
            e.f,
            e.value,
            e.time_ns.unwrap_or(0)
        );
    }
    out.into_bytes()
}

/// A list-append history of transactions, `f: txn`, as JSON Lines.
fn txn_jsonl(ops: usize) -> Vec<u8> {
    let cfg = GenConfig {
        ops,
        clients: 16,
        keys: 100,
        info_permille: 50,
        workload: GenWorkload::ListAppend,
        ..GenConfig::default()
    };
    let mut out = Vec::new();
    for e in events(&cfg) {
        // Each op becomes a one-micro-op transaction on its key.
        let k = e.key.clone().unwrap_or_default();
        let mop = match (e.f.as_str(), &e.value) {
            ("append", v) => format!("[\"append\",{},{}]", json(&k), json(v)),
            (_, v) => format!("[\"r\",{},{}]", json(&k), json(v)),
        };
        let mut t = e.clone();
        t.key = None;
        t.f = checker::history::F::Txn;
        t.value = checker::Value::Nil;
        let line = checker::write::event_to_json(&t).replace("\"value\":null", &format!("\"value\":[{mop}]"));
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn json(v: &checker::Value) -> String {
    serde_json::to_string(v).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    g.sample_size(10);
    let ops = 100_000;
    for (name, bytes, format) in [
        ("jsonl", jsonl(ops), Format::Jsonl),
        ("edn", edn(ops), Format::Edn),
        ("txn-jsonl", txn_jsonl(ops), Format::Jsonl),
    ] {
        let opts = ReadOptions { format: Some(format), ..ReadOptions::default() };
        // Every history reads, with all its ops, before it is timed.
        let (h, _) = read_bytes(name, &bytes, &opts).unwrap();
        assert_eq!(h.ops.len(), ops, "{name}");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new(name, ops), &bytes, |b, bytes| {
            b.iter(|| read_bytes(name, bytes, &opts).unwrap().0.ops.len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
