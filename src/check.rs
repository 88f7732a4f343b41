//! `conch check` and `conch demo`: read files, run the checker, print.

use crate::cli::CheckArgs;
use crate::exit;
use crate::output;
use checker::read::{self, Format, Independent, NilRead, ReadOptions};
use checker::shard::{self, ShardError, ShardOptions};
use checker::suite::{self, CheckConfig, FileReport};
use checker::{Budget, CheckName, InputError, Verdict};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `--shards auto` shards files at least this large.
const AUTO_SHARD_INPUT_BYTES: u64 = 256 << 20;

/// When to check a file shard by shard (see `checker::shard`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum ShardMode {
    Auto,
    Off,
    Fixed(usize),
}

fn shard_mode(args: &CheckArgs) -> Result<ShardMode, String> {
    let mode = match args.shards.as_str() {
        "auto" => ShardMode::Auto,
        "off" => ShardMode::Off,
        n => match n.parse::<usize>() {
            Ok(n) if (1..=shard::MAX_SHARDS).contains(&n) => ShardMode::Fixed(n),
            _ => {
                return Err(format!(
                    "--shards: expected auto, off or a number from 1 to {}, found `{n}`",
                    shard::MAX_SHARDS
                ))
            }
        },
    };
    if args.html.is_some() {
        return match mode {
            ShardMode::Fixed(_) => Err("--html needs the whole history in memory; drop --shards".into()),
            _ => Ok(ShardMode::Off),
        };
    }
    Ok(mode)
}

/// How to shard `file`, if at all.
fn shard_plan(file: &str, mode: ShardMode, spill_dir: &Option<PathBuf>) -> Option<ShardOptions> {
    let shards = match mode {
        ShardMode::Off => return None,
        ShardMode::Fixed(n) => n,
        ShardMode::Auto if file == "-" => return None,
        ShardMode::Auto => {
            let bytes = std::fs::metadata(file).ok()?.len();
            if bytes < AUTO_SHARD_INPUT_BYTES {
                return None;
            }
            shard::shards_for(bytes)
        }
    };
    Some(ShardOptions { shards, dir: spill_dir.clone().unwrap_or_else(std::env::temp_dir) })
}

/// Why a file produced no report.
enum Failure {
    Input(InputError),
    Config(String),
}

/// Parses the check-related flags into a config; `Err` is a usage message.
fn config(args: &CheckArgs) -> Result<(CheckConfig, ReadOptions), String> {
    let mut checks = crate::run::parse_checks(&args.checks)?;
    // `check` defaults to linearizability; `all` (an empty list) means every check that fits.
    if args.checks.is_empty() {
        checks.push(CheckName::Linearizable);
    }
    let model = match &args.model {
        Some(m) => Some(m.parse().map_err(|e| format!("--model: {e}"))?),
        None => None,
    };
    let nil_read = match args.nil_read.as_deref() {
        None => None,
        Some("unknown") => Some(NilRead::Unknown),
        Some("absent") => Some(NilRead::Absent),
        Some(other) => return Err(format!("--nil-read: expected `unknown` or `absent`, found `{other}`")),
    };
    let format: Option<Format> = match &args.format {
        Some(f) => Some(f.parse().map_err(|e| format!("--format: {e}"))?),
        None => None,
    };
    let timeout = match args.timeout {
        Some(t) if !(t > 0.0 && t.is_finite()) => return Err(format!("--timeout: expected seconds > 0, found {t}")),
        Some(t) => Some(Duration::from_secs_f64(t)),
        None => None,
    };
    let budget = Budget::with_timeout(timeout, args.memory_mb.saturating_mul(1 << 20));
    let independent = match args.independent.as_str() {
        "auto" => Independent::Auto,
        "yes" => Independent::Yes,
        "no" => Independent::No,
        other => return Err(format!("--independent: expected auto, yes or no, found `{other}`")),
    };
    if args.max_line_mb == 0 {
        return Err("--max-line-mb: expected at least 1".into());
    }
    let max_line_bytes = usize::try_from(args.max_line_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    let read_opts = ReadOptions { format, independent, max_line_bytes, ..ReadOptions::default() };
    let initial = match args.bank_initial.as_str() {
        "zero" => Some(std::collections::BTreeMap::new()),
        "first-read" => None,
        other => return Err(format!("--bank-initial: expected `zero` or `first-read`, found `{other}`")),
    };
    let bank = checker::suite::BankSettings { initial, negative_allowed: args.bank_negative_ok };
    Ok((CheckConfig { checks, model, nil_read, budget, fast_paths: !args.no_fast_paths, bank }, read_opts))
}

/// Reads and checks one file; keeps the history only when `keep` (for the
/// HTML report: standard input cannot be read twice).
fn check_one(
    file: &str,
    cfg: &CheckConfig,
    read_opts: &ReadOptions,
    keep: bool,
    plan: Option<ShardOptions>,
) -> Result<(FileReport, Option<checker::History>), Failure> {
    if let Some(opts) = plan {
        let report = shard::check_path(Path::new(file), read_opts, cfg, &opts).map_err(|e| match e {
            ShardError::Input(e) => Failure::Input(e),
            ShardError::Config(e) => Failure::Config(e.0),
            ShardError::Spill(msg) => Failure::Config(msg),
        })?;
        return Ok((report, None));
    }
    let (history, format) = read::read_path(Path::new(file), read_opts).map_err(Failure::Input)?;
    let report = suite::check_history(file, format, &history, cfg).map_err(|e| Failure::Config(e.0))?;
    Ok((report, keep.then_some(history)))
}

pub fn run(args: CheckArgs) -> u8 {
    let (cfg, read_opts, mode) = match config(&args).and_then(|(c, r)| Ok((c, r, shard_mode(&args)?))) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("conch: {msg}");
            return exit::BAD_INPUT;
        }
    };
    if let Some(n) = args.threads {
        if n == 0 {
            eprintln!("conch: --threads: expected at least 1");
            return exit::BAD_INPUT;
        }
        // Only fails if a pool was already built, which never happens here.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    // Refuse to clobber outputs before doing any work.
    for p in [&args.html, &args.junit].into_iter().flatten() {
        if let Err(e) = output::check_writable(p, args.force) {
            eprintln!("conch: {e}");
            return exit::BAD_INPUT;
        }
    }
    let progress = output::progress(args.files.len() as u64, "checking");
    let outcomes: Vec<Result<(FileReport, Option<checker::History>), Failure>> = args
        .files
        .par_iter()
        .map(|f| {
            let plan = shard_plan(f, mode, &args.spill_dir);
            let r = check_one(f, &cfg, &read_opts, args.html.is_some(), plan);
            progress.inc(1);
            r
        })
        .collect();
    progress.finish_and_clear();

    let mut reports = Vec::new();
    let mut histories = Vec::new();
    let mut bad_input = false;
    for o in outcomes {
        match o {
            Ok((r, h)) => {
                reports.push(r);
                histories.push(h);
            }
            Err(Failure::Input(e)) => {
                eprintln!("conch: {e}");
                bad_input = true;
            }
            Err(Failure::Config(msg)) => {
                eprintln!("conch: {msg}");
                bad_input = true;
            }
        }
    }
    if args.json {
        output::print(&serde_json::to_string_pretty(&serde_json::json!({ "files": reports })).unwrap_or_default());
    } else {
        output::print(&crate::text::render_all(&reports, args.verbose));
    }
    if let Some(path) = &args.html {
        for (i, (r, h)) in reports.iter().zip(&histories).enumerate() {
            let target = if reports.len() == 1 { path.clone() } else { output::numbered(path, i) };
            let Some(h) = h else { continue };
            let page = crate::html::render(r, h);
            if let Err(e) = output::write_atomic(&target, page.as_bytes(), args.force) {
                eprintln!("conch: {e}");
                return exit::BAD_INPUT;
            }
            eprintln!("conch: wrote {}", target.display());
        }
    }
    if let Some(path) = &args.junit {
        if let Err(e) = output::write_atomic(path, crate::text::junit(&reports).as_bytes(), args.force) {
            eprintln!("conch: {e}");
            return exit::BAD_INPUT;
        }
    }
    if bad_input {
        return exit::BAD_INPUT;
    }
    exit_code(reports.iter().map(|r| r.verdict))
}

/// 1 if anything is invalid, else 3 if anything is unknown, else 0.
pub fn exit_code(verdicts: impl Iterator<Item = Verdict>) -> u8 {
    match verdicts.fold(Verdict::Valid, Verdict::combine) {
        Verdict::Valid => exit::VALID,
        Verdict::Invalid => exit::INVALID,
        Verdict::Unknown => exit::UNKNOWN,
    }
}

/// The demo's second half: check every example history under `dir` and
/// write an HTML report for each into `out`, with an index.
pub fn demo_histories(dir: &Path, out: &Path) -> u8 {
    let mut files = Vec::new();
    output::collect_files(dir, &mut files);
    files.sort();
    let files: Vec<String> = files
        .into_iter()
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jsonl" | "edn" | "log" | "txt")))
        .map(|p| p.display().to_string())
        .collect();
    if files.is_empty() {
        eprintln!("conch: demo: no histories found under {}", dir.display());
        return exit::BAD_INPUT;
    }
    let cfg = CheckConfig::default();
    let read_opts = ReadOptions::default();
    let reports: Vec<Result<(FileReport, checker::History), String>> = files
        .par_iter()
        .map(|f| {
            let (h, format) = read::read_path(Path::new(f), &read_opts).map_err(|e| e.to_string())?;
            let r = suite::check_history(f, format, &h, &cfg).map_err(|e| e.0)?;
            Ok((r, h))
        })
        .collect();
    let mut index = Vec::new();
    for r in reports {
        let (report, h) = match r {
            Ok(x) => x,
            Err(e) => {
                eprintln!("conch: {e}");
                return exit::BAD_INPUT;
            }
        };
        output::print(&format!("  {}", crate::text::summary_line(&report)));
        let rel = Path::new(&report.file).strip_prefix(dir).unwrap_or(Path::new(&report.file));
        let name = rel.display().to_string().replace(['/', '\\'], "_") + ".html";
        if let Err(e) = output::write_atomic(&out.join(&name), crate::html::render(&report, &h).as_bytes(), true) {
            eprintln!("conch: {e}");
            return exit::BAD_INPUT;
        }
        index.push((report, name));
    }
    if let Err(e) = output::write_atomic(&out.join("index.html"), crate::html::index(&index).as_bytes(), true) {
        eprintln!("conch: {e}");
        return exit::BAD_INPUT;
    }
    exit::VALID
}
