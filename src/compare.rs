//! `conch compare`: several protocols under the same workload, faults and
//! seeds; a table on the terminal, and CSV, JSON, SVG plots and an HTML
//! index in the output directory.

use crate::cli::{self, CompareArgs};
use crate::output;
use report::html::RunLinks;
use runner::compare::{self, Common, Row};
use runner::files::check_writable;
use runner::plan::parse_seeds;
use runner::{Error, Plan};
use std::path::Path;

pub fn run(args: CompareArgs) -> u8 {
    go(&args).unwrap_or_else(output::fail)
}

fn go(args: &CompareArgs) -> Result<u8, Error> {
    let common = Common {
        workload: args.workload.map(Into::into),
        nemesis: cli::faults(&args.nemesis),
        intensity: args.intensity,
        nodes: args.nodes,
        clients: args.clients,
        ops: args.ops,
    };
    let names: Vec<&str> = if args.protocols.is_empty() {
        compare::default_protocols(common.workload)
    } else {
        args.protocols.iter().map(String::as_str).collect()
    };
    let params: Vec<&str> = args.param.iter().map(String::as_str).collect();
    let plans = compare::plans(&names, &common, &params)?;
    let seeds = parse_seeds(&args.seeds)?;
    check_writable(&args.out.join("compare.csv"), args.force)?;
    let rows = run_and_write(&plans, &seeds, &args.out, args.force)?;
    output::print(&report::table::table(&rows));
    output::print(&format!("wrote {}", args.out.join("index.html").display()));
    // The summary is the last thing printed, as at the end of every sweep.
    output::print(&report::text::compare_summary(&rows));
    Ok(compare::exit_code(&rows))
}

/// Runs every plan for every seed under `out`, then writes the table (CSV,
/// JSON), the plots and the index page; returns the rows.
pub fn run_and_write(plans: &[Plan], seeds: &[u64], out: &Path, force: bool) -> Result<Vec<Row>, Error> {
    let bar = output::progress(plans.len() * seeds.len(), "runs");
    // Each plan's runs are summarised and plotted as soon as they are done,
    // then dropped: only the row and the links are kept.
    let summarised = compare::run_all(plans, seeds, out, force, report::html::run_files, &|| bar.inc(1), |p, runs| {
        for (name, svg) in report::plot::seeds_overlay(&p.protocol, &runs) {
            output::write(&out.join(&p.protocol).join(name), svg.as_bytes(), force)?;
        }
        Ok((compare::row(p, &runs), RunLinks::of(p, &runs)))
    });
    bar.finish_and_clear();
    let (rows, links): (Vec<Row>, Vec<RunLinks>) = summarised?.into_iter().unzip();
    let files: [(&str, String); 5] = [
        ("compare.csv", report::table::csv(&rows)),
        ("compare.json", report::json::compare(&rows)),
        ("latency.svg", report::svg::latency_bars(&rows)),
        ("availability.svg", report::svg::availability_bars(&rows)),
        ("index.html", report::html::compare_index(&rows, &links)),
    ];
    for (name, bytes) in files {
        output::write(&out.join(name), bytes.as_bytes(), force)?;
    }
    Ok(rows)
}
