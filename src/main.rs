//! The `conch` command: argument parsing, progress and output only. All
//! checking lives in the `checker` crate, all simulation in `workloads`, and
//! running users' node binaries in `maelstrom`.

mod check;
mod cli;
mod compare;
mod html;
mod maelstrom;
mod output;
mod plot;
mod run;
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
        cli::Command::Gen(args) => gen(args),
        cli::Command::Run(args) => run::run(args),
        cli::Command::Compare(args) => compare::run(args),
        cli::Command::Demo(args) => compare::demo(args),
        cli::Command::Maelstrom(args) => maelstrom::run(args),
    };
    ExitCode::from(code)
}

/// `conch gen`: a synthetic linearizable history in the native format.
fn gen(args: cli::GenArgs) -> u8 {
    use checker::gen::{GenConfig, GenWorkload};
    let workload = match args.workload.as_str() {
        "register" => GenWorkload::Register { cas: false },
        "cas-register" => GenWorkload::Register { cas: true },
        "list-append" => GenWorkload::ListAppend,
        "set" => GenWorkload::Set,
        "counter" => GenWorkload::Counter,
        other => {
            eprintln!(
                "conch: gen: unknown workload `{other}`: expected register, cas-register, list-append, set or counter"
            );
            return exit::BAD_INPUT;
        }
    };
    if args.clients == 0 || args.keys == 0 || args.info_permille > 1000 {
        eprintln!("conch: gen: need --clients >= 1, --keys >= 1 and --info-permille <= 1000");
        return exit::BAD_INPUT;
    }
    let cfg = GenConfig {
        seed: args.seed,
        clients: args.clients,
        keys: args.keys,
        ops: args.ops,
        workload,
        info_permille: args.info_permille,
        ..GenConfig::default()
    };
    let bytes = checker::write::to_jsonl(&checker::gen::events(&cfg));
    match &args.out {
        Some(path) => match output::write_atomic(path, &bytes, args.force) {
            Ok(()) => exit::VALID,
            Err(e) => {
                eprintln!("conch: {e}");
                exit::BAD_INPUT
            }
        },
        None => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(&bytes);
            exit::VALID
        }
    }
}
