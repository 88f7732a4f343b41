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
