//! The whole `conch maelstrom` command, so that the binary only hands it the
//! words after `maelstrom`: parse the flags ([`crate::cli`]), run and check
//! the cluster ([`crate::run_and_check`]), write report.json, the plots, report.html
//! and `--junit` with the report crate's renderers, print the text or JSON
//! report, and give `check`'s exit code.

use crate::cli::{self, Parsed};
use runner::{check::Checked, exit};
use std::io::Write;

/// Runs `conch maelstrom WORDS...` and gives its exit code.
pub fn main(words: &[String]) -> u8 {
    let inv = match cli::parse(words) {
        Ok(Parsed::Run(i)) => i,
        Ok(Parsed::Help) => return (print(cli::HELP), exit::VALID).1,
        Err(msg) => return fail(msg, exit::BAD_INPUT),
    };
    let (cfg, _) = (&inv.config, crate::run::stop_on_ctrl_c());
    let run = match crate::run_and_check(cfg) {
        Ok(r) => r,
        Err(e) => return fail(e.to_string(), e.exit_code()),
    };
    let fr = run.file_report(cfg);
    let mut files = vec![(cfg.out_dir.join("report.json"), run.report_json(&fr), true)];
    if let Some(h) = &run.history {
        // The same files a simulated run's directory gets: the plots and report.html.
        let title = format!("maelstrom {} seed {}", cfg.workload.name(), cfg.seed);
        for (name, text) in ::report::html::run_files(&title, h, Some(&fr), &run.flows) {
            files.push((cfg.out_dir.join(name), text, true));
        }
    }
    if let Some(path) = &inv.junit {
        let checked = Checked { file: fr.source().to_string(), result: Ok((fr.clone(), None)) };
        files.push((path.clone(), ::report::junit::junit(&[checked]), inv.force));
    }
    for (path, text, force) in files {
        // Never clobbers a file the user gave without `--force`.
        if let Err(e) = runner::files::write_atomic(&path, text.as_bytes(), force) {
            return fail(e.to_string(), exit::BAD_INPUT);
        }
    }
    let text =
        if inv.json { run.json_document(&fr) } else { ::report::text::report(&fr, inv.verbose) + &run.text(cfg) };
    print(&text);
    exit::code([run.verdict], 0)
}

/// `s` on stdout, ending in a newline; a closed pipe is not an error here
/// (the binary restores SIGPIPE's default, as for every command).
fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    if !s.is_empty() && !s.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

fn fail(msg: String, code: u8) -> u8 {
    eprintln!("conch: maelstrom: {msg}");
    code
}
