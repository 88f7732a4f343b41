//! `conch check`: check history files, print a report per file (text or
//! JSON), and write HTML and JUnit reports.

use crate::cli::{self, CheckArgs};
use crate::output;
use checker::read::ReadOptions;
use checker::{BankSettings, CheckConfig};
use checker::{Budget, CheckName};
use runner::check::{self, FilesPlan};
use runner::files::{check_writable, numbered};
use std::time::Duration;

/// The plan the flags describe.
fn plan(args: &CheckArgs) -> Result<FilesPlan, runner::Error> {
    let mut checks = cli::checks(&args.checks);
    // `check` defaults to linearizability; `all` (an empty list) means every check that fits.
    if args.checks.is_empty() {
        checks.push(CheckName::Linearizable);
    }
    let budget =
        Budget::with_timeout(args.timeout.map(Duration::from_secs_f64), args.memory_mb.saturating_mul(1 << 20));
    let check = CheckConfig {
        checks,
        model: args.model.map(Into::into),
        nil_read: args.nil_read.map(Into::into),
        budget,
        fast_paths: !args.no_fast_paths,
        initial: args.initial.clone(),
        bank: BankSettings { initial: args.bank_initial.into(), negative_allowed: args.bank_negative_ok },
        txn_keys: checker::txn::KeyAssumptions {
            linearizable_keys: args.linearizable_keys,
            sequential_keys: args.sequential_keys,
        },
    };
    let read = ReadOptions {
        format: args.format.map(Into::into),
        independent: args.independent.into(),
        max_line_bytes: usize::try_from(args.max_line_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
        ..ReadOptions::default()
    };
    let plan = FilesPlan {
        check,
        read,
        shards: args.shards,
        spill_dir: args.spill_dir.clone(),
        keep_histories: args.html.is_some(),
    };
    plan.validate()?;
    Ok(plan)
}

pub fn run(args: CheckArgs) -> u8 {
    let plan = match plan(&args) {
        Ok(p) => p,
        Err(e) => return output::fail(e),
    };
    if let Some(n) = args.threads {
        // Only fails if a pool was already built, which never happens here.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n as usize).build_global();
    }
    // Refuse to clobber outputs before doing any work.
    for p in [&args.html, &args.junit].into_iter().flatten() {
        if let Err(e) = check_writable(p, args.force) {
            return output::fail(e);
        }
    }
    let bar = output::progress(args.files.len(), "checking");
    let outcomes = check::check_files(&args.files, &plan, &|| bar.inc(1));
    bar.finish_and_clear();
    for c in &outcomes {
        if let Err(e) = &c.result {
            eprintln!("conch: {e}");
        }
    }
    let code = check::exit_code(&outcomes);
    if args.json {
        output::print(&report::json::files(&outcomes, code));
    } else {
        output::print(&report::text::files(&outcomes, args.verbose));
    }
    if let Some(path) = &args.html {
        for (i, c) in outcomes.iter().enumerate() {
            let Ok((r, Some(h))) = &c.result else { continue };
            let target = if outcomes.len() == 1 { path.clone() } else { numbered(path, i) };
            if let Err(e) = output::write(&target, report::html::report_page(r, h).as_bytes(), args.force) {
                return output::fail(e);
            }
            eprintln!("conch: wrote {}", target.display());
        }
    }
    if let Some(path) = &args.junit {
        if let Err(e) = output::write(path, report::junit::junit(&outcomes).as_bytes(), args.force) {
            return output::fail(e);
        }
    }
    code
}
