//! `conch maelstrom`: run a Maelstrom-protocol node binary as a cluster under
//! conch's network, faults and checkers (the `maelstrom` crate), and show
//! the result like `check` does. Flag names follow Maelstrom's `test`.

use crate::output;
use checker::suite::FileReport;
use clap::Args;
use maelstrom::{Config, LatencyDist, NemesisKind, Report, RunError, Topology, WorkloadKind};
use runner::check::Checked;
use runner::exit;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct MaelstromArgs {
    /// Workload: echo, unique-ids, broadcast, g-set, g-counter, pn-counter, lin-kv,
    /// txn-list-append, txn-rw-register, kafka.
    #[arg(short = 'w', long)]
    pub workload: String,
    /// The node binary (any executable speaking Maelstrom's JSON lines on stdin/stdout).
    #[arg(long)]
    pub bin: PathBuf,
    /// An argument for the binary (repeatable); arguments after `--` are passed too.
    #[arg(long = "arg", allow_hyphen_values = true)]
    pub args: Vec<String>,
    #[arg(last = true)]
    pub trailing: Vec<String>,
    /// Nodes, named n0, n1, ...
    #[arg(long, default_value_t = 5)]
    pub node_count: usize,
    /// Seconds during which clients issue ops and the nemesis acts.
    #[arg(long, default_value_t = 10.0)]
    pub time_limit: f64,
    /// Client ops per second over all clients.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Client threads, a number or Kn (K per node); default: one per node.
    #[arg(long)]
    pub concurrency: Option<String>,
    /// Comma-separated faults: partition, pause, kill, loss, duplicate, delay, all, none.
    #[arg(long, default_value = "none")]
    pub nemesis: String,
    /// Mean seconds between nemesis actions.
    #[arg(long, default_value_t = 10.0)]
    pub nemesis_interval: f64,
    /// Mean message latency in milliseconds.
    #[arg(long, default_value_t = 0.0)]
    pub latency: f64,
    /// constant, uniform (0 to twice the mean) or exponential.
    #[arg(long, default_value = "constant")]
    pub latency_dist: String,
    /// Broadcast topology: grid, line, tree (tree2, tree3, tree4) or total.
    #[arg(long, default_value = "grid")]
    pub topology: String,
    /// Seed of the fault schedule, the client ops and the network's choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keys for lin-kv, txn-* and kafka.
    #[arg(long)]
    pub key_count: Option<usize>,
    #[arg(long, default_value_t = 4)]
    pub max_txn_length: usize,
    #[arg(long, default_value_t = 16)]
    pub max_writes_per_key: usize,
    /// Seconds before an unanswered request is recorded as info.
    #[arg(long, default_value_t = 5.0)]
    pub request_timeout: f64,
    /// Seconds each node has to answer init.
    #[arg(long, default_value_t = 10.0)]
    pub init_timeout: f64,
    /// Seconds between healing the faults and the final reads.
    #[arg(long, default_value_t = 5.0)]
    pub recovery_time: f64,
    /// Run directory (default: conch-out/maelstrom/WORKLOAD/N, the next free N).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Reuse a run directory that is not empty.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Print every key, not only the ones that are not valid.
    #[arg(long, short)]
    pub verbose: bool,
}

fn seconds(name: &str, s: f64) -> Result<Duration, String> {
    if !(s.is_finite() && (0.0..=maelstrom::config::MAX_SECONDS).contains(&s)) {
        return Err(format!("--{name}: expected seconds in 0..={}, found {s}", maelstrom::config::MAX_SECONDS));
    }
    Ok(Duration::from_secs_f64(s))
}

fn config(a: &MaelstromArgs) -> Result<Config, String> {
    let workload = WorkloadKind::parse(&a.workload).ok_or_else(|| {
        let names: Vec<&str> = WorkloadKind::ALL.iter().map(|w| w.name()).collect();
        format!("unknown workload `{}`: expected one of {}", a.workload, names.join(", "))
    })?;
    let out = match &a.out {
        Some(d) => {
            if !a.force && d.read_dir().is_ok_and(|mut e| e.next().is_some()) {
                return Err(format!("{}: not empty; pass --force to reuse it", d.display()));
            }
            d.clone()
        }
        None => next_free(&Path::new("conch-out").join("maelstrom").join(workload.name())),
    };
    let mut c = Config::new(workload, a.bin.clone(), out);
    c.args = a.args.iter().chain(&a.trailing).cloned().collect();
    c.node_count = a.node_count;
    c.time_limit = seconds("time-limit", a.time_limit)?;
    c.rate = a.rate;
    c.concurrency = match &a.concurrency {
        Some(s) => maelstrom::config::parse_concurrency(s, a.node_count)?,
        None => a.node_count,
    };
    c.nemesis = NemesisKind::parse_list(&a.nemesis).map_err(|e| format!("--nemesis: {e}"))?;
    c.nemesis_interval = seconds("nemesis-interval", a.nemesis_interval)?;
    c.latency_ms = a.latency;
    c.latency_dist = LatencyDist::parse(&a.latency_dist).ok_or_else(|| {
        format!("--latency-dist: expected constant, uniform or exponential, found `{}`", a.latency_dist)
    })?;
    c.topology = Topology::parse(&a.topology).ok_or_else(|| {
        format!("--topology: expected grid, line, tree, tree2, tree3, tree4 or total, found `{}`", a.topology)
    })?;
    c.seed = a.seed;
    if let Some(k) = a.key_count {
        c.key_count = k;
    }
    c.max_txn_length = a.max_txn_length;
    c.max_writes_per_key = a.max_writes_per_key;
    c.request_timeout = seconds("request-timeout", a.request_timeout)?;
    c.init_timeout = seconds("init-timeout", a.init_timeout)?;
    c.recovery_time = seconds("recovery-time", a.recovery_time)?;
    c.validate()?;
    Ok(c)
}

/// `base/N` for the smallest N above every numbered directory there.
fn next_free(base: &Path) -> PathBuf {
    let used = std::fs::read_dir(base)
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok()).max().unwrap_or(0))
        .unwrap_or(0);
    base.join((used + 1).to_string())
}

/// SIGINT and SIGTERM stop the run; it then shuts its nodes down and reports.
fn on_interrupt() {
    extern "C" fn handler(_: libc::c_int) {
        maelstrom::interrupt();
    }
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as *const () as libc::sighandler_t);
    }
}

pub fn run(args: MaelstromArgs) -> u8 {
    let cfg = match config(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("conch: maelstrom: {msg}");
            return exit::BAD_INPUT;
        }
    };
    on_interrupt();
    eprintln!(
        "conch: running {} on {} nodes of {} for {:?}; files in {}",
        cfg.workload.name(),
        cfg.node_count,
        cfg.bin.display(),
        cfg.time_limit,
        cfg.out_dir.display()
    );
    let run = match maelstrom::run_and_check(&cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conch: maelstrom: {e}");
            return if matches!(e, RunError::Interrupted) { exit::UNKNOWN } else { exit::BAD_INPUT };
        }
    };
    let file_report = run.file_report(&cfg);
    if let Err(e) = write_reports(&cfg, &run, &file_report) {
        return output::fail(e);
    }
    if let Some(path) = &args.junit {
        let checked = Checked { file: file_report.file.clone(), result: Ok((file_report.clone(), None)) };
        if let Err(e) = output::write(path, report::junit::junit(&[checked]).as_bytes(), args.force) {
            return output::fail(e);
        }
    }
    if args.json {
        output::print(&run.json_document(&file_report));
    } else {
        output::print(&(report::text::report(&file_report, args.verbose) + &run.text(&cfg)));
    }
    exit::code([run.verdict], 0)
}

/// `report.json` and `report.html` in the run directory (history.jsonl,
/// messages.jsonl and run.json are the run's own).
fn write_reports(cfg: &Config, r: &Report, fr: &FileReport) -> Result<(), runner::Error> {
    let dir = &cfg.out_dir;
    output::write(&dir.join("report.json"), r.report_json(fr).as_bytes(), true)?;
    if let Some(h) = &r.history {
        output::write(&dir.join("report.html"), report::html::report_page(fr, h).as_bytes(), true)?;
    }
    Ok(())
}
