//! `conch demo`: every bundled protocol under the demo's faults, compared,
//! and the bundled example histories checked, with an HTML index of it all.

use crate::cli::DemoArgs;
use crate::output;
use runner::files::check_dir_writable;
use runner::{demo, exit, Error};

pub fn run(args: DemoArgs) -> u8 {
    go(&args).unwrap_or_else(output::fail)
}

fn go(args: &DemoArgs) -> Result<u8, Error> {
    // Refuse before any work: an earlier demo's (or anyone's) files in --out,
    // or a --histories directory without histories.
    check_dir_writable(&args.out, args.force)?;
    let examples = demo::examples(args.histories.as_deref())?;
    let plans = demo::plans(args.ops)?;
    let started = std::time::Instant::now();
    let seeds: Vec<u64> = (0..args.seeds).collect();
    let nemesis: Vec<&str> = demo::NEMESIS.iter().map(|k| k.name()).collect();
    output::print(&format!(
        "conch demo: {} protocols x {} seeds under {}, every check that fits each workload\n\n",
        plans.len(),
        seeds.len(),
        nemesis.join(",")
    ));
    let rows = crate::compare::run_and_write(&plans, &seeds, &args.out.join("protocols"), true)?;
    output::print(&report::table::table(&rows));
    output::print(&report::text::compare_summary(&rows));
    match &args.histories {
        Some(dir) => output::print(&format!("example histories under {}:", dir.display())),
        None => output::print("bundled example histories:"),
    }
    let checked = demo::check_examples(&examples);
    let dir = args.out.join("histories");
    let mut index = Vec::new();
    for (e, c) in examples.iter().zip(&checked) {
        match &c.result {
            Ok((r, h)) => {
                output::print(&format!("  {}", report::text::summary_line(r)));
                if let Some(h) = h {
                    output::write(&dir.join(demo::page_name(e)), report::html::report_page(r, h).as_bytes(), true)?;
                }
            }
            Err(err) => eprintln!("conch: {err}"),
        }
        index.push((c, demo::page_name(e)));
    }
    output::write(&dir.join("index.html"), report::html::examples_index(&index).as_bytes(), true)?;
    output::write(&args.out.join("index.html"), report::html::demo_index(&rows).as_bytes(), true)?;
    output::print(&format!("\nreport: {}", args.out.join("index.html").display()));
    output::print(&report::text::demo_summary(&rows, &checked, started.elapsed().as_secs_f64()));
    Ok(if checked.iter().any(|c| c.result.is_err()) { exit::BAD_INPUT } else { exit::VALID })
}
