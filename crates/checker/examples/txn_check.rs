//! Reads a transactional history straight into its compact form (as
//! `conch check` does for a txn file) and checks it for strict
//! serializability, printing wall and CPU time of reading and of checking
//! separately: the release command behind the stage numbers of the
//! transactional section of docs/performance.md.
//!
//! ```text
//! cargo run --release -p conch-checker --example txn_check -- FILE [--runs N]
//! ```
//!
//! CPU time is the process's user plus system time (from /proc/self/stat),
//! which stays comparable when the machine is shared; wall time does not.

use checker::read::{read_path_into, ReadOptions};
use checker::txn::{self, TxnOptions, TxnReader};
use std::time::Instant;

/// User + system CPU seconds of this process so far (Linux), if known.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |s| s.1.split_whitespace().collect());
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() {
    let mut file = None;
    let mut runs = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0).unwrap_or(1);
        } else {
            file = Some(a);
        }
    }
    let Some(file) = file else {
        eprintln!("usage: txn_check FILE [--runs N]");
        std::process::exit(2)
    };
    for _ in 0..runs {
        let (cpu0, t0) = (cpu_s(), Instant::now());
        let (h, _) = match read_path_into(std::path::Path::new(&file), &ReadOptions::default(), TxnReader::new(&file)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2)
            }
        };
        let (cpu1, t1) = (cpu_s(), Instant::now());
        let report = txn::check(&h, &TxnOptions::default());
        let (cpu2, t2) = (cpu_s(), Instant::now());
        drop(h);
        println!(
            "{file}: {} ({} passes, {} nodes, {} edges); read {:.2} s wall {:.2} s cpu; check {:.2} s wall {:.2} s cpu",
            report.verdict,
            report.stats.passes,
            report.stats.nodes,
            report.stats.edges,
            (t1 - t0).as_secs_f64(),
            cpu1 - cpu0,
            (t2 - t1).as_secs_f64(),
            cpu2 - cpu1,
        );
        for a in report.anomalies.iter().take(3) {
            println!("  {}: {}", a.kind, a.explanation);
        }
    }
}
