//! `conch list`: every name a script may rely on, a line of description
//! each, from the flags' own value enums and the protocol registry.

use crate::cli::{Check, InputFormat, Model, Nemesis, Workload};
use clap::ValueEnum;
use runner::exit;

fn section<T: ValueEnum>(title: &str) {
    println!("{title}:");
    for v in T::value_variants() {
        if let Some(p) = v.to_possible_value() {
            println!("  {:<22} {}", p.get_name(), p.get_help().map(|h| h.to_string()).unwrap_or_default());
        }
    }
}

pub fn run() -> u8 {
    section::<Model>("models (--model)");
    println!();
    section::<Check>("checks (--checks)");
    println!();
    section::<InputFormat>("formats (--format)");
    println!();
    println!("protocols (--protocol; settings with --param NAME=VALUE, see docs/protocols/):");
    for p in workloads::registry::PROTOCOLS {
        let serves: Vec<&str> = p.workloads.iter().map(|w| w.name()).collect();
        println!("  {:<22} {} (workloads: {})", p.name, p.description, serves.join(", "));
    }
    println!();
    section::<Workload>("workloads (--workload)");
    println!();
    section::<Nemesis>("nemeses (--nemesis, comma-separated)");
    print!("\n{}", maelstrom::cli::list());
    exit::VALID
}
