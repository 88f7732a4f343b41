//! The shape ARCHITECTURE.md promises, checked from the sources: crates
//! depend one way, the libraries know no command-line types, renderers do no
//! I/O, and the binary is small glue without import cycles.

mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};

/// The `conch-*` crates a manifest depends on (dev-dependencies excluded).
fn conch_deps(manifest: &str) -> (BTreeSet<String>, bool) {
    let text = std::fs::read_to_string(root().join(manifest)).unwrap();
    let mut section = String::new();
    let (mut deps, mut clap) = (BTreeSet::new(), false);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
        } else if section == "[dependencies]" {
            let name = line.split([' ', '=']).next().unwrap_or("");
            if let Some(c) = name.strip_prefix("conch-") {
                deps.insert(c.to_string());
            }
            clap |= name == "clap";
        }
    }
    (deps, clap)
}

#[test]
fn crates_depend_one_way_and_only_the_binary_knows_clap() {
    // The binary lists testkit for `conch gen` only (see Cargo.toml).
    let allowed: [(&str, &[&str]); 7] = [
        ("Cargo.toml", &["checker", "maelstrom", "report", "runner", "testkit", "workloads"]),
        ("crates/checker/Cargo.toml", &[]),
        ("crates/testkit/Cargo.toml", &["checker"]),
        ("crates/workloads/Cargo.toml", &["checker"]),
        ("crates/runner/Cargo.toml", &["checker", "workloads"]),
        ("crates/report/Cargo.toml", &["checker", "runner", "workloads"]),
        ("crates/maelstrom/Cargo.toml", &["checker", "report", "runner", "workloads"]),
    ];
    for (manifest, want) in allowed {
        let (deps, clap) = conch_deps(manifest);
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(deps, want, "{manifest}");
        assert!(!clap || manifest == "Cargo.toml", "{manifest} depends on clap");
    }
}

fn rust_files(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "rs") {
            out.push((p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn renderers_do_no_io() {
    for (name, text) in rust_files("crates/report/src") {
        for banned in ["std::fs", "std::io", "println!", "eprintln!", "File::"] {
            assert!(!text.contains(banned), "crates/report/src/{name}.rs uses {banned}");
        }
    }
}

#[test]
fn the_binary_is_small_glue_without_import_cycles() {
    let files = rust_files("src");
    let lines: usize = files.iter().map(|(_, t)| t.lines().count()).sum();
    // #13: the binary is CLI parsing and glue; what is not (plans, parsers
    // of values, generators' defaults, renderers) lives in the crates.
    assert!(lines <= 1000, "src/ is {lines} lines; the binary is glue (#13: at most 1,000)");
    let names: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let uses: BTreeMap<&str, BTreeSet<&str>> = files
        .iter()
        .map(|(n, t)| {
            let used = names.iter().copied().filter(|m| *m != n && t.contains(&format!("crate::{m}"))).collect();
            (n.as_str(), used)
        })
        .collect();
    // Depth-first search for a cycle in the module graph.
    fn visit<'a>(m: &'a str, uses: &BTreeMap<&'a str, BTreeSet<&'a str>>, path: &mut Vec<&'a str>) {
        assert!(!path.contains(&m), "import cycle: {} -> {m}", path.join(" -> "));
        path.push(m);
        for n in &uses[m] {
            visit(n, uses, path);
        }
        path.pop();
    }
    for m in uses.keys() {
        visit(m, &uses, &mut Vec::new());
    }
}

/// Every `.rs` file below `dir`, recursively, with its text.
fn rust_files_below(dir: &std::path::Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() && !p.ends_with("target") {
            rust_files_below(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(std::fs::read_to_string(&p).unwrap());
        }
    }
}

/// #13: ARCHITECTURE.md's invariants match the code. Each one names the test
/// that enforces it, and every test it names exists: a renamed or deleted
/// test makes this fail instead of leaving the document stale.
#[test]
fn every_architecture_invariant_names_tests_that_exist() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = doc.split("## Architecture invariants").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut sources = Vec::new();
    for dir in ["crates", "src", "tests", "fuzz"] {
        rust_files_below(&root().join(dir), &mut sources);
    }
    let sources = sources.join("\n");
    // A test is defined by `fn NAME` or, in a macro that stamps out tests, `NAME:`.
    let defined = |name: &str| sources.contains(&format!("fn {name}")) || sources.contains(&format!(" {name}:"));
    let bullets: Vec<String> =
        section.split("\n- ").skip(1).map(|b| b.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert!(bullets.len() >= 20, "only {} invariants found in ARCHITECTURE.md", bullets.len());
    for bullet in &bullets {
        // Backticked snake_case names with two or more underscores are tests;
        // a `module::path::name` names its last segment.
        let names: Vec<&str> = bullet
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|t| t.rsplit("::").next().unwrap().trim_end_matches('*'))
            .filter(|t| {
                t.matches('_').count() >= 2
                    && t.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            })
            .collect();
        let names_a_file = bullet.contains("tests/") || bullet.contains("tests.rs") || bullet.contains("doctest");
        assert!(!names.is_empty() || names_a_file, "this invariant names no test that enforces it: {bullet}");
        for name in names {
            assert!(defined(name), "ARCHITECTURE.md names the test `{name}`, which does not exist: {bullet}");
        }
    }
}
