//! Reads history files into memory, as `conch check` does before checking,
//! and prints for each the wall and CPU time of reading alone (no check):
//! the release command behind the reading numbers in docs/performance.md.
//!
//! ```text
//! cargo run --release -p conch-checker --example read_file -- FILE... [--runs N]
//! ```
//!
//! `RAYON_NUM_THREADS=1` reads on one core. CPU time is the process's user
//! plus system time (from /proc/self/stat), which stays comparable when the
//! machine is shared; wall time does not.

use checker::read::{read_path, ReadOptions};
use std::time::Instant;

/// User + system CPU seconds of this process so far (Linux), if known.
fn cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let mut files = Vec::new();
    let mut runs = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0).unwrap_or_else(|| {
                eprintln!("--runs: expected a positive number");
                std::process::exit(2)
            });
        } else {
            files.push(a);
        }
    }
    if files.is_empty() {
        eprintln!("usage: read_file FILE... [--runs N]");
        std::process::exit(2);
    }
    for file in &files {
        let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (cpu0, start) = (cpu_s(), Instant::now());
            let (h, format) = match read_path(std::path::Path::new(file), &ReadOptions::default()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(2)
                }
            };
            let wall = start.elapsed().as_secs_f64();
            // Dropping the history is part of what a check run pays, but not reading.
            let (events, ops) = (h.events, h.ops.len());
            if let (Some(a), Some(b)) = (cpu0, cpu_s()) {
                cpus.push(b - a);
            }
            drop(h);
            walls.push(wall);
            println!(
                "{file}: {format}, {events} events, {ops} ops, {wall:.3} s wall, {:.0} MB/s",
                bytes as f64 / wall / 1e6
            );
        }
        let cpu = if cpus.is_empty() { f64::NAN } else { median(cpus) };
        let wall = median(walls);
        println!(
            "{file}: median of {runs}: {wall:.3} s wall ({:.0} MB/s), {cpu:.3} s CPU ({:.0} MB/s per CPU second)",
            bytes as f64 / wall / 1e6,
            bytes as f64 / cpu / 1e6
        );
    }
}
