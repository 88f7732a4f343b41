//! `conch compare` and `conch demo`: every protocol under the same faults and
//! seeds, a table (terminal, CSV, JSON), SVG plots and an HTML index.

use crate::cli::{CompareArgs, DemoArgs, RunArgs};
use crate::exit;
use crate::output;
use crate::run::{self, Finished, Plan};
use checker::{CheckName, Verdict};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use workloads::metrics::percentile;
use workloads::registry;
use workloads::workload::WorkloadKind;

/// One check's result across a protocol's seeds.
#[derive(Clone, Debug, Serialize)]
pub struct CheckSummary {
    pub check: CheckName,
    pub seeds_valid: u64,
    pub seeds_invalid: u64,
    pub seeds_unknown: u64,
    pub first_violating_seed: Option<u64>,
}

/// One row of the comparison table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub protocol: String,
    pub workload: String,
    pub seeds: u64,
    pub ops: u64,
    pub throughput_ops_per_s: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    pub availability: f64,
    pub availability_during_faults: Option<f64>,
    pub msgs_per_op: f64,
    /// Longest time, over seeds, from the last fault to the replicas
    /// agreeing (from the convergence check); `None` when never measured.
    pub converge_ms_max: Option<f64>,
    pub checks: Vec<CheckSummary>,
    /// Reproduce the first violating (or first) seed.
    pub command: String,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Summarises a protocol's runs.
fn row(plan: &Plan, runs: &[Finished]) -> Row {
    let mut lat: Vec<u64> = runs.iter().flat_map(|f| f.metrics.latencies.iter().map(|&(_, l)| l)).collect();
    lat.sort_unstable();
    let n = runs.len().max(1) as f64;
    let ops: u64 = runs.iter().map(|f| f.metrics.ops).sum();
    let ok: u64 = runs.iter().map(|f| f.metrics.ok).sum();
    let during: Vec<f64> = runs.iter().filter_map(|f| f.metrics.availability_during_faults).collect();
    let mut checks: BTreeMap<CheckName, CheckSummary> = BTreeMap::new();
    for f in runs {
        let Some(r) = &f.report else { continue };
        for c in &r.results {
            let s = checks.entry(c.check).or_insert(CheckSummary {
                check: c.check,
                seeds_valid: 0,
                seeds_invalid: 0,
                seeds_unknown: 0,
                first_violating_seed: None,
            });
            match c.verdict {
                Verdict::Valid => s.seeds_valid += 1,
                Verdict::Unknown => s.seeds_unknown += 1,
                Verdict::Invalid => {
                    s.seeds_invalid += 1;
                    if s.first_violating_seed.is_none_or(|x| f.seed < x) {
                        s.first_violating_seed = Some(f.seed);
                    }
                }
            }
        }
    }
    let checks: Vec<CheckSummary> = checks.into_values().collect();
    let converge_ms_max = runs
        .iter()
        .filter_map(|f| f.report.as_ref())
        .flat_map(|r| r.results.iter().filter(|c| c.check == CheckName::Convergence))
        .filter_map(|c| c.detail.get("agreed_ns_after_last_fault_max")?.as_i64())
        .max()
        .map(|ns| ns.max(0) as f64 / 1e6);
    let first_bad = checks.iter().filter_map(|c| c.first_violating_seed).min();
    Row {
        protocol: plan.protocol.clone(),
        workload: plan.workload.name().to_string(),
        seeds: runs.len() as u64,
        ops,
        throughput_ops_per_s: runs.iter().map(|f| f.metrics.throughput_ops_per_s).sum::<f64>() / n,
        latency_ms_p50: ms(percentile(&lat, 0.5)),
        latency_ms_p99: ms(percentile(&lat, 0.99)),
        latency_ms_max: ms(lat.last().copied().unwrap_or(0)),
        availability: if ops == 0 { 0.0 } else { ok as f64 / ops as f64 },
        availability_during_faults: (!during.is_empty()).then(|| during.iter().sum::<f64>() / during.len() as f64),
        msgs_per_op: runs.iter().map(|f| f.metrics.msgs_per_op).sum::<f64>() / n,
        converge_ms_max,
        checks,
        command: plan.command(first_bad.unwrap_or_else(|| runs.first().map_or(0, |f| f.seed))),
    }
}

fn verdict_cell(c: &CheckSummary) -> String {
    match (c.seeds_invalid, c.seeds_unknown) {
        (0, 0) => "ok".to_string(),
        (0, u) => format!("{u} unknown"),
        (i, _) => format!("FAIL {i}/{} (seed {})", c.seeds_valid + c.seeds_invalid + c.seeds_unknown, {
            c.first_violating_seed.map_or("?".into(), |s| s.to_string())
        }),
    }
}

const CHECK_COLUMNS: [(CheckName, &str); 7] = [
    (CheckName::Linearizable, "linearizable"),
    (CheckName::ReadYourWrites, "ryw"),
    (CheckName::MonotonicReads, "mono-reads"),
    (CheckName::MonotonicWrites, "mono-writes"),
    (CheckName::WritesFollowReads, "wfr"),
    (CheckName::Convergence, "convergence"),
    (CheckName::Bank, "bank"),
];

/// The terminal table.
pub fn table(rows: &[Row]) -> String {
    let mut header = vec![
        "protocol",
        "workload",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "avail",
        "avail@fault",
        "msgs/op",
        "converge ms",
    ];
    header.extend(CHECK_COLUMNS.iter().map(|(_, h)| *h));
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let mut line = vec![
            r.protocol.clone(),
            r.workload.clone(),
            format!("{:.0}", r.throughput_ops_per_s),
            format!("{:.1}", r.latency_ms_p50),
            format!("{:.1}", r.latency_ms_p99),
            format!("{:.1}", r.latency_ms_max),
            format!("{:.0}%", r.availability * 100.0),
            r.availability_during_faults.map_or("-".into(), |a| format!("{:.0}%", a * 100.0)),
            format!("{:.1}", r.msgs_per_op),
            r.converge_ms_max.map_or("-".into(), |c| format!("{c:.0}")),
        ];
        for (check, _) in CHECK_COLUMNS {
            line.push(r.checks.iter().find(|c| c.check == check).map_or("-".into(), verdict_cell));
        }
        cells.push(line);
    }
    let widths: Vec<usize> =
        (0..cells[0].len()).map(|i| cells.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    let mut s = String::new();
    for l in &cells {
        let parts: Vec<String> = l.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(s, "{}", parts.join("  ").trim_end());
    }
    s
}

/// The same table as CSV.
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(
        "protocol,workload,seeds,ops,throughput_ops_per_s,latency_ms_p50,latency_ms_p99,latency_ms_max,\
         availability,availability_during_faults,msgs_per_op,converge_ms_max",
    );
    for (c, _) in CHECK_COLUMNS {
        let _ = write!(s, ",{c}_invalid_seeds,{c}_first_violating_seed");
    }
    s.push('\n');
    for r in rows {
        let _ = write!(
            s,
            "{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.4},{},{:.3},{}",
            r.protocol,
            r.workload,
            r.seeds,
            r.ops,
            r.throughput_ops_per_s,
            r.latency_ms_p50,
            r.latency_ms_p99,
            r.latency_ms_max,
            r.availability,
            r.availability_during_faults.map_or(String::new(), |a| format!("{a:.4}")),
            r.msgs_per_op,
            r.converge_ms_max.map_or(String::new(), |c| format!("{c:.3}"))
        );
        for (check, _) in CHECK_COLUMNS {
            match r.checks.iter().find(|c| c.check == check) {
                Some(c) => {
                    let _ = write!(
                        s,
                        ",{},{}",
                        c.seeds_invalid,
                        c.first_violating_seed.map_or(String::new(), |x| x.to_string())
                    );
                }
                None => s.push_str(",,"),
            }
        }
        s.push('\n');
    }
    s
}

/// Runs every plan for every seed, writing each run under `out/PROTOCOL/seed-N/`.
fn run_all(plans: &[Plan], seeds: &[u64], out: &Path, force: bool) -> Result<Vec<(Plan, Vec<Finished>)>, String> {
    let jobs: Vec<(usize, u64)> =
        plans.iter().enumerate().flat_map(|(i, _)| seeds.iter().map(move |&s| (i, s))).collect();
    let progress = output::progress(jobs.len() as u64, "runs");
    let done: Vec<Result<(usize, Finished), String>> = jobs
        .par_iter()
        .map(|&(i, seed)| {
            let f = run::run_one(&plans[i], seed, Some(&[]))?;
            let dir = out.join(&plans[i].protocol).join(format!("seed-{seed}"));
            run::write_run(&dir, &plans[i], &f, force)?;
            progress.inc(1);
            Ok((i, f))
        })
        .collect();
    progress.finish_and_clear();
    let mut by_plan: Vec<Vec<Finished>> = plans.iter().map(|_| Vec::new()).collect();
    for d in done {
        let (i, f) = d?;
        by_plan[i].push(f);
    }
    Ok(plans.iter().cloned().zip(by_plan).collect())
}

/// Writes the table (CSV, JSON), plots and an index page; returns the rows.
fn write_outputs(results: &[(Plan, Vec<Finished>)], out: &Path, force: bool) -> Result<Vec<Row>, String> {
    let rows: Vec<Row> = results.iter().map(|(p, runs)| row(p, runs)).collect();
    output::write_atomic(&out.join("compare.csv"), csv(&rows).as_bytes(), force)?;
    let doc = serde_json::to_string_pretty(&serde_json::json!({ "rows": rows })).unwrap_or_default();
    output::write_atomic(&out.join("compare.json"), doc.as_bytes(), force)?;
    output::write_atomic(
        &out.join("latency-over-time.svg"),
        crate::plot::latency_over_time(results).as_bytes(),
        force,
    )?;
    output::write_atomic(&out.join("latency.svg"), crate::plot::latency_bars(&rows).as_bytes(), force)?;
    output::write_atomic(&out.join("availability.svg"), crate::plot::availability_bars(&rows).as_bytes(), force)?;
    output::write_atomic(&out.join("index.html"), crate::html::compare_index(&rows, results).as_bytes(), force)?;
    Ok(rows)
}

fn plans_for(
    protocols: &[String],
    workload: Option<&str>,
    nemesis: &str,
    intensity: f64,
    sizes: (usize, usize, usize),
    params: &[String],
) -> Result<Vec<Plan>, String> {
    let names: Vec<String> = if protocols.is_empty() {
        // Only protocols that serve the workload: the others would refuse
        // every op and show green at 0 ops/s.
        let kind = workload.map(WorkloadKind::from_name).transpose()?;
        registry::compared(kind).iter().map(|p| p.name.into()).collect()
    } else {
        protocols.to_vec()
    };
    let mut plans = Vec::new();
    for name in names {
        // PROTOCOL:NAME=VALUE applies to that protocol only.
        let own: Vec<String> = params
            .iter()
            .filter_map(|p| p.split_once(':').filter(|(proto, _)| *proto == name).map(|(_, kv)| kv.to_string()))
            .collect();
        let args = RunArgs {
            protocol: name.clone(),
            workload: workload.map(str::to_string),
            nemesis: nemesis.to_string(),
            intensity,
            seed: None,
            seeds: None,
            param: own,
            nodes: sizes.0,
            clients: sizes.1,
            ops: sizes.2,
            keys: None,
            routing: "sticky".into(),
            out: None,
            check: true,
            checks: Vec::new(),
            until_violation: false,
            force: false,
        };
        plans.push(run::plan(&args)?);
    }
    for p in params {
        if !p.contains(':') {
            return Err(format!("--param: expected PROTOCOL:NAME=VALUE, found `{p}`"));
        }
    }
    Ok(plans)
}

pub fn run(args: CompareArgs) -> u8 {
    let go = || -> Result<u8, String> {
        let plans = plans_for(
            &args.protocols,
            args.workload.as_deref(),
            &args.nemesis,
            args.intensity,
            (args.nodes, args.clients, args.ops),
            &args.param,
        )?;
        let seeds = run::parse_seeds(&args.seeds)?;
        output::check_writable(&args.out.join("compare.csv"), args.force)?;
        let results = run_all(&plans, &seeds, &args.out, args.force)?;
        let rows = write_outputs(&results, &args.out, args.force)?;
        output::print(&table(&rows));
        output::print(&format!("wrote {}", args.out.join("index.html").display()));
        Ok(exit::VALID)
    };
    go().unwrap_or_else(|msg| {
        eprintln!("conch: {msg}");
        exit::BAD_INPUT
    })
}

/// The demo's fault schedule: partitions, crashes, clock skew and loss, so
/// that each protocol's textbook failure has a chance to show.
pub const DEMO_NEMESIS: &str = "partition,crash,clock-skew,loss";

/// Settings under which each protocol shows its textbook behaviour.
const DEMO_PARAMS: [&str; 1] = ["quorum:consistency=one"];

pub fn demo(args: DemoArgs) -> u8 {
    let go = || -> Result<u8, String> {
        let plans = plans_for(&[], None, DEMO_NEMESIS, 1.0, (5, 5, args.ops), &DEMO_PARAMS.map(str::to_string))?;
        let seeds: Vec<u64> = (0..args.seeds).collect();
        let sim_dir = args.out.join("protocols");
        println!(
            "conch demo: {} protocols x {} seeds under {DEMO_NEMESIS}, every check that fits each workload\n",
            plans.len(),
            seeds.len()
        );
        let results = run_all(&plans, &seeds, &sim_dir, true)?;
        let rows = write_outputs(&results, &sim_dir, true)?;
        output::print(&table(&rows));
        println!("example histories under {}:", args.histories.display());
        let code = crate::check::demo_histories(&args.histories, &args.out.join("histories"));
        if code != exit::VALID {
            return Ok(code);
        }
        let index = crate::html::demo_index(&rows);
        output::write_atomic(&args.out.join("index.html"), index.as_bytes(), true)?;
        println!("\nreport: {}", args.out.join("index.html").display());
        Ok(exit::VALID)
    };
    go().unwrap_or_else(|msg| {
        eprintln!("conch: {msg}");
        exit::BAD_INPUT
    })
}
