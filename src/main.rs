//! The `conch` command: argument parsing, progress and output only. All
//! checking lives in the `checker` crate and all simulation in `workloads`.

mod check;
mod cli;
mod html;
mod output;
mod plot;
mod run;
mod compare;
mod text;

use clap::Parser;
use std::process::ExitCode;

/// Exit codes, for CI gates (see DESIGN.md).
pub mod exit {
    /// Every requested check holds.
    pub const VALID: u8 = 0;
    /// An anomaly was found.
    pub const INVALID: u8 = 1;
    /// Bad input or usage; the message names file and line.
    pub const BAD_INPUT: u8 = 2;
    /// A budget or timeout ran out and nothing was found.
    pub const UNKNOWN: u8 = 3;
}

fn main() -> ExitCode {
    output::quiet_broken_pipe();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::BAD_INPUT } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        cli::Command::Check(args) => check::run(args),
        cli::Command::List => {
            cli::print_list();
            exit::VALID
        }
        cli::Command::Run(args) => run::run(args),
        cli::Command::Compare(args) => compare::run(args),
        cli::Command::Demo(args) => compare::demo(args),
    };
    ExitCode::from(code)
}
