//! `conch run`: a protocol in the simulator for one or many seeds; each
//! run's directory written, and optionally checked.

use crate::cli::{self, RunArgs};
use crate::output;
use checker::Verdict;
use runner::files::check_writable;
use runner::plan::{parse_params, parse_seeds};
use runner::run::{notes, sweep, Note, RunDirs};
use runner::{exit, Error, Plan};
use std::path::PathBuf;

/// The plan the flags describe.
fn plan(args: &RunArgs) -> Result<Plan, Error> {
    let base = Plan::new(&args.protocol)?;
    let plan = Plan {
        workload: args.workload.map_or(base.workload, Into::into),
        nemesis: cli::faults(&args.nemesis),
        intensity: args.intensity,
        nemesis_interval_ns: args.nemesis_interval.map(runner::plan::seconds_ns),
        time_limit_ns: args.time_limit.map(runner::plan::seconds_ns),
        params: parse_params(args.param.iter().map(String::as_str))?,
        nodes: args.nodes,
        clients: args.clients,
        ops: runner::plan::ops_budget(args.ops, args.time_limit, base.ops),
        keys: args.keys,
        routing: args.routing.into(),
        max_events: args.max_events,
        op_mix: args.op_mix.as_deref().map(runner::plan::parse_op_mix).transpose()?,
        latency_dist: args.latency_dist.as_deref().and_then(workloads::sim::LatencyDist::parse),
        key_dist: args.key_dist.as_deref().and_then(workloads::workload::KeyDist::preset),
        ..base
    };
    plan.validate()?;
    Ok(plan)
}

pub fn run(args: RunArgs) -> u8 {
    go(&args).unwrap_or_else(output::fail)
}

fn go(args: &RunArgs) -> Result<u8, Error> {
    let plan = plan(args)?;
    let seeds = match (&args.seeds, args.seed) {
        (Some(s), _) => parse_seeds(s)?,
        (None, s) => vec![s.unwrap_or(0)],
    };
    let checks = args.check.then(|| cli::checks(&args.checks));
    let out_dir = args.out.clone().unwrap_or_else(|| PathBuf::from("conch-out/run"));
    let dir_of = |seed: u64| if seeds.len() == 1 { out_dir.clone() } else { out_dir.join(format!("seed-{seed}")) };
    for &s in &seeds {
        check_writable(&dir_of(s).join("history.jsonl"), args.force)?;
    }
    let started = std::time::Instant::now();
    let bar = output::progress(seeds.len(), "seeds");
    let dirs = RunDirs { dir_of: &dir_of, force: args.force, render: report::html::run_files };
    let mut verdicts = Vec::new();
    let mut first_violation: Option<u64> = None;
    let mut ran = 0;
    sweep(&plan, &seeds, checks.as_deref(), args.until_violation, &dirs, &|| bar.inc(1), |f| {
        ran += 1;
        let line = match &f.report {
            Some(r) => report::text::summary_line(r),
            None => format!("{} seed {}: {} ops", plan.protocol, f.seed, f.metrics.ops),
        };
        bar.suspend(|| output::print(&line));
        for note in notes(&plan, &f) {
            bar.suspend(|| match note {
                Note::Out(line) => output::print(&line),
                Note::Warn(line) => eprintln!("conch: {line}"),
            });
        }
        if let (Some(r), Some(verdict)) = (&f.report, f.verdict()) {
            if verdict == Verdict::Invalid && first_violation.is_none_or(|s| f.seed < s) {
                first_violation = Some(f.seed);
            }
            verdicts.push(verdict);
            if seeds.len() == 1 && verdict != Verdict::Valid {
                bar.suspend(|| output::print(&report::text::report(r, false)));
            }
        }
    })?;
    bar.finish_and_clear();
    match first_violation {
        Some(seed) => output::print(&format!("first violation: seed {seed}, files in {}", dir_of(seed).display())),
        None => output::print(&format!("wrote {}", out_dir.display())),
    }
    // A sweep names the seed worth rerunning only when one violated; a
    // sweep always ends with its one-line summary.
    if seeds.len() == 1 || first_violation.is_some() {
        output::print(&format!("reproduce: {}", plan.command(first_violation.unwrap_or(seeds[0]))));
    }
    if seeds.len() > 1 {
        let (n, secs) = (seeds.len(), started.elapsed().as_secs_f64());
        output::print(&report::text::seeds_summary(&plan.protocol, ran, n, &verdicts, first_violation, secs));
    }
    Ok(if args.check { exit::code(verdicts, 0) } else { exit::VALID })
}
