//! `conch run`: run a protocol in the simulator for one or many seeds, write
//! the history and run statistics, and optionally check them.

use crate::cli::RunArgs;
use crate::exit;
use crate::output;
use checker::read::Format;
use checker::suite::{self, BankSettings, CheckConfig, FileReport};
use checker::{Budget, CheckName, History, Verdict};
use rayon::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use workloads::metrics::{self, RunMetrics};
use workloads::registry;
use workloads::sim::{NemesisConfig, RunOutput, SimConfig};
use workloads::workload::{WorkloadConfig, WorkloadKind};

/// Everything that determines a set of runs, parsed from the command line.
#[derive(Clone, Debug)]
pub struct Plan {
    pub protocol: String,
    pub workload: WorkloadKind,
    pub nemesis: String,
    pub intensity: f64,
    pub params: BTreeMap<String, String>,
    pub nodes: usize,
    pub clients: usize,
    pub ops: usize,
    pub keys: Option<usize>,
    pub sticky: bool,
}

impl Plan {
    /// The simulator config for one seed.
    pub fn config(&self, seed: u64) -> Result<SimConfig, String> {
        let mut workload = WorkloadConfig::new(self.workload);
        if let Some(k) = self.keys {
            workload.keys = k;
        }
        let cfg = SimConfig {
            seed,
            nodes: self.nodes,
            clients: self.clients,
            ops: self.ops,
            workload,
            nemesis: NemesisConfig::from_names(&self.nemesis, self.intensity)?,
            client_node: if self.sticky {
                workloads::sim::ClientRouting::Sticky
            } else {
                workloads::sim::ClientRouting::Random
            },
            ..SimConfig::default()
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// The exact command that reproduces the run with `seed`.
    pub fn command(&self, seed: u64) -> String {
        let mut s = format!(
            "conch run --protocol {} --workload {} --nemesis {} --seed {seed} --nodes {} --clients {} --ops {}",
            self.protocol,
            self.workload.name(),
            self.nemesis,
            self.nodes,
            self.clients,
            self.ops
        );
        if self.intensity != 1.0 {
            s.push_str(&format!(" --intensity {}", self.intensity));
        }
        if let Some(k) = self.keys {
            s.push_str(&format!(" --keys {k}"));
        }
        if !self.sticky {
            s.push_str(" --routing random");
        }
        for (k, v) in &self.params {
            s.push_str(&format!(" --param {k}={v}"));
        }
        s
    }
}

/// One finished run: its output, metrics and (if checked) report.
pub struct Finished {
    pub seed: u64,
    pub output: RunOutput,
    pub metrics: RunMetrics,
    pub history: Option<History>,
    pub report: Option<FileReport>,
}

/// Parses `A..B` (B exclusive) or a single number.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("--seeds: expected A..B (B exclusive) or N, found `{s}`");
    match s.split_once("..") {
        Some((a, b)) => {
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            if b <= a {
                return Err(format!("--seeds: empty range `{s}`"));
            }
            if b - a > 1_000_000 {
                return Err(format!("--seeds: at most 1000000 seeds per command, `{s}` has {}", b - a));
            }
            Ok((a..b).collect())
        }
        None => Ok(vec![s.trim().parse().map_err(|_| bad())?]),
    }
}

/// Parses repeated `NAME=VALUE`.
pub fn parse_params(list: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    for p in list {
        let (k, v) = p.split_once('=').ok_or_else(|| format!("--param: expected NAME=VALUE, found `{p}`"))?;
        if m.insert(k.trim().to_string(), v.trim().to_string()).is_some() {
            return Err(format!("--param: `{k}` given twice"));
        }
    }
    Ok(m)
}

/// Runs one seed and, when `checks` is given, checks the history.
pub fn run_one(plan: &Plan, seed: u64, checks: Option<&[CheckName]>) -> Result<Finished, String> {
    let cfg = plan.config(seed)?;
    let output = registry::run(&plan.protocol, &plan.params, &cfg)?;
    let metrics = metrics::metrics(&output.events, &output.stats);
    let (history, report) = match checks {
        None => (None, None),
        Some(checks) => {
            let h = output.history().map_err(|e| format!("seed {seed}: simulator produced a bad history: {e}"))?;
            // The simulator's bank starts every account at 0 and lets
            // balances go negative (see workloads::workload).
            let bank = BankSettings { initial: Some(BTreeMap::new()), negative_allowed: true };
            let cfg =
                CheckConfig { checks: checks.to_vec(), budget: Budget::default(), bank, ..CheckConfig::default() };
            let name = format!("{} seed {seed}", plan.protocol);
            let mut r = suite::check_history(&name, Format::Jsonl, &h, &cfg).map_err(|e| e.0)?;
            // A run cut short by a livelock bound has an incomplete history:
            // what was found stands, but "valid" would be a guess.
            if output.stats.stopped_early.is_some() && r.verdict == Verdict::Valid {
                r.verdict = Verdict::Unknown;
            }
            (Some(h), Some(r))
        }
    };
    Ok(Finished { seed, output, metrics, history, report })
}

/// Writes a run's files into `dir`: history.jsonl, run.json and, when
/// checked, report.json and report.html.
pub fn write_run(dir: &Path, plan: &Plan, f: &Finished, force: bool) -> Result<(), String> {
    output::write_atomic(&dir.join("history.jsonl"), &f.output.to_jsonl(), force)?;
    let cfg = plan.config(f.seed)?;
    let run = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": plan.protocol,
        "params": plan.params,
        "seed": f.seed,
        "command": plan.command(f.seed),
        "config": cfg,
        "stats": f.output.stats,
        "metrics": f.metrics,
    });
    output::write_atomic(&dir.join("run.json"), pretty(&run).as_bytes(), force)?;
    if let (Some(r), Some(h)) = (&f.report, &f.history) {
        output::write_atomic(&dir.join("report.json"), pretty(&json!(r)).as_bytes(), force)?;
        output::write_atomic(&dir.join("report.html"), crate::html::render(r, h).as_bytes(), force)?;
    }
    Ok(())
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// Parses the shared run flags into a plan.
pub fn plan(args: &RunArgs) -> Result<Plan, String> {
    let info = registry::info(&args.protocol).ok_or_else(|| {
        let names: Vec<&str> = registry::PROTOCOLS.iter().map(|p| p.name).collect();
        format!("unknown protocol `{}`: expected one of {}", args.protocol, names.join(", "))
    })?;
    let workload = match &args.workload {
        Some(w) => WorkloadKind::parse(w).ok_or_else(|| {
            let names: Vec<&str> = WorkloadKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown workload `{w}`: expected one of {}", names.join(", "))
        })?,
        None => info.default_workload,
    };
    let params = parse_params(&args.param)?;
    registry::check_params(&args.protocol, &params)?;
    let sticky = match args.routing.as_str() {
        "sticky" => true,
        "random" => false,
        other => return Err(format!("--routing: expected sticky or random, found `{other}`")),
    };
    let plan = Plan {
        protocol: args.protocol.clone(),
        workload,
        nemesis: args.nemesis.clone(),
        intensity: args.intensity,
        params,
        nodes: args.nodes,
        clients: args.clients,
        ops: args.ops,
        keys: args.keys,
        sticky,
    };
    plan.config(0)?;
    Ok(plan)
}

/// Parses `--checks` names; `all` anywhere gives the empty list (every check
/// that fits the history). Used by both `run` and `check`.
pub fn parse_checks(list: &[String]) -> Result<Vec<CheckName>, String> {
    let mut out = Vec::new();
    for c in list {
        if c != "all" {
            out.push(CheckName::parse(c).ok_or_else(|| {
                format!(
                    "unknown check `{c}`: expected one of {}, or all",
                    CheckName::ALL
                        .iter()
                        .chain(&CheckName::WORKLOAD)
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?);
        }
    }
    if list.iter().any(|c| c == "all") {
        out.clear();
    }
    Ok(out)
}

pub fn run(args: RunArgs) -> u8 {
    match run_inner(&args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("conch: {msg}");
            exit::BAD_INPUT
        }
    }
}

fn run_inner(args: &RunArgs) -> Result<u8, String> {
    let plan = plan(args)?;
    let seeds = match (&args.seeds, args.seed) {
        (Some(_), Some(_)) => return Err("give --seed or --seeds, not both".into()),
        (Some(s), None) => parse_seeds(s)?,
        (None, Some(s)) => vec![s],
        (None, None) => vec![0],
    };
    let checks = if args.check { Some(parse_checks(&args.checks)?) } else { None };
    let out_dir = args.out.clone().unwrap_or_else(|| PathBuf::from("conch-out/run"));
    let dir_of = |seed: u64| if seeds.len() == 1 { out_dir.clone() } else { out_dir.join(format!("seed-{seed}")) };
    if !args.force {
        for &s in &seeds {
            output::check_writable(&dir_of(s).join("history.jsonl"), false)?;
        }
    }
    let progress = output::progress(seeds.len() as u64, "seeds");
    // In batches of a few per core so that --until-violation stops soon
    // after the first violating seed, yet cores stay busy.
    let batch = if args.until_violation { rayon::current_num_threads().max(1) * 2 } else { seeds.len() };
    let mut verdicts = Vec::new();
    let mut first_violation: Option<u64> = None;
    for chunk in seeds.chunks(batch) {
        let done: Vec<Result<Finished, String>> = chunk
            .par_iter()
            .map(|&seed| {
                let f = run_one(&plan, seed, checks.as_deref())?;
                write_run(&dir_of(seed), &plan, &f, args.force)?;
                progress.inc(1);
                Ok(f)
            })
            .collect();
        for f in done {
            let f = f?;
            let line = match &f.report {
                Some(r) => crate::text::summary_line(r),
                None => format!("{} seed {}: {} ops", plan.protocol, f.seed, f.metrics.ops),
            };
            progress.suspend(|| output::print(&line));
            if let Some(why) = &f.output.stats.stopped_early {
                progress.suspend(|| eprintln!("conch: seed {}: run stopped early: {why}", f.seed));
            }
            if let Some(r) = &f.report {
                if r.verdict == Verdict::Invalid && first_violation.is_none_or(|s| f.seed < s) {
                    first_violation = Some(f.seed);
                }
                verdicts.push(r.verdict);
                if seeds.len() == 1 && r.verdict != Verdict::Valid {
                    progress.suspend(|| output::print(&crate::text::render(r, false)));
                }
            }
        }
        if args.until_violation && first_violation.is_some() {
            break;
        }
    }
    progress.finish_and_clear();
    let shown = first_violation.unwrap_or(seeds[0]);
    if let Some(seed) = first_violation {
        output::print(&format!("first violation: seed {seed}, files in {}", dir_of(seed).display()));
    } else {
        output::print(&format!("wrote {}", out_dir.display()));
    }
    output::print(&format!("reproduce: {}", plan.command(shown)));
    if args.check {
        Ok(crate::check::exit_code(verdicts.into_iter()))
    } else {
        Ok(exit::VALID)
    }
}
