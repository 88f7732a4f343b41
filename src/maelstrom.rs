//! `conch maelstrom`: the `maelstrom` crate parses the flags, runs and checks
//! the cluster; this shows the result with the report crate's renderers.

use crate::output;
use maelstrom::cli::Parsed;
use runner::{check::Checked, exit};

pub fn run(words: Vec<String>) -> u8 {
    let inv = match maelstrom::cli::parse(&words) {
        Ok(Parsed::Run(i)) => i,
        Ok(Parsed::Help) => return (output::print(maelstrom::cli::HELP), exit::VALID).1,
        Err(msg) => return output::fail(format!("maelstrom: {msg}")),
    };
    let (cfg, _) = (&inv.config, maelstrom::run::stop_on_ctrl_c());
    let run = match maelstrom::run_and_check(cfg) {
        Ok(r) => r,
        Err(e) => return (output::fail(format!("maelstrom: {e}")), e.exit_code()).1,
    };
    let fr = run.file_report(cfg);
    let mut files = vec![(cfg.out_dir.join("report.json"), run.report_json(&fr), true)];
    if let Some(h) = &run.history {
        files.push((cfg.out_dir.join("report.html"), report::html::report_page_with_flows(&fr, h, &run.flows), true));
    }
    if let Some(path) = &inv.junit {
        let checked = Checked { file: fr.source().to_string(), result: Ok((fr.clone(), None)) };
        files.push((path.clone(), report::junit::junit(&[checked]), inv.force));
    }
    for (path, text, force) in files {
        if let Err(e) = output::write(&path, text.as_bytes(), force) {
            return output::fail(e);
        }
    }
    let text = if inv.json { run.json_document(&fr) } else { report::text::report(&fr, inv.verbose) + &run.text(cfg) };
    output::print(&text);
    exit::code([run.verdict], 0)
}
