//! The `conch` command: argument parsing, one file per command, and output
//! plumbing. Orchestration lives in the `runner` crate, rendering in
//! `report`, checking in `checker`, simulation in `workloads`, and running
//! users' node binaries in `maelstrom`.

mod check;
mod cli;
mod compare;
mod demo;
mod gen;
mod list;
mod output;
mod run;

use clap::Parser;
use runner::exit;
use std::process::ExitCode;

fn main() -> ExitCode {
    output::quiet_broken_pipe();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::BAD_INPUT } else { exit::VALID };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        cli::Command::Check(args) => check::run(args),
        cli::Command::List => list::run(),
        cli::Command::Gen(args) => gen::run(args),
        cli::Command::Run(args) => run::run(args),
        cli::Command::Compare(args) => compare::run(args),
        cli::Command::Demo(args) => demo::run(args),
        cli::Command::Maelstrom { words } => maelstrom::command::main(&words),
    };
    ExitCode::from(code)
}
