//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and the pinned
//! crash inputs (`fuzz/regressions/<target>/`) through the same entry
//! functions the cargo-fuzz targets call, on the stable toolchain: no reader
//! may panic, and the checker's verdicts must equal the oracle's.

use checker::read::Format;
use std::path::{Path, PathBuf};
use testkit::fuzzing;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The entry function of a fuzz target, by the target's name.
fn entry(target: &str) -> fn(&[u8]) {
    match target {
        "read_jsonl" => |d| fuzzing::read_one(Format::Jsonl, d),
        "read_edn" => |d| fuzzing::read_one(Format::Edn, d),
        "read_jepsen_log" => |d| fuzzing::read_one(Format::JepsenLog, d),
        "read_porcupine_kv" => |d| fuzzing::read_one(Format::PorcupineKv, d),
        "check" => fuzzing::check_bytes,
        "check_sharded" => fuzzing::sharded_matches_whole,
        "check_txn" => fuzzing::check_txn,
        other => panic!("fuzz/{other}: no such fuzz target (update crates/testkit/tests/fuzz_corpus.rs)"),
    }
}

/// Feeds every file under `fuzz/<dir>/<target>/`; returns how many.
fn replay(dir: &str, target: &str) -> usize {
    let f = entry(target);
    let path = fuzz_dir().join(dir).join(target);
    let Ok(entries) = std::fs::read_dir(&path) else { return 0 };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| f(&data));
        assert!(outcome.is_ok(), "{} panicked (see the message above)", file.display());
    }
    files.len()
}

const TARGETS: [&str; 7] =
    ["read_jsonl", "read_edn", "read_jepsen_log", "read_porcupine_kv", "check", "check_sharded", "check_txn"];

#[test]
fn corpus_has_every_target_and_nothing_else() {
    let mut dirs: Vec<String> = std::fs::read_dir(fuzz_dir().join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut want: Vec<String> = TARGETS.iter().map(|t| t.to_string()).collect();
    want.sort();
    assert_eq!(dirs, want);
}

macro_rules! corpus_tests {
    ($($name:ident: $target:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let seeds = replay("corpus", $target);
                assert!(seeds >= 3, "fuzz/corpus/{} has only {seeds} files", $target);
                let pinned = replay("regressions", $target);
                eprintln!("fuzz/{}: {seeds} corpus files, {pinned} regressions", $target);
            }
        )*
    };
}

corpus_tests! {
    corpus_read_jsonl: "read_jsonl";
    corpus_read_edn: "read_edn";
    corpus_read_jepsen_log: "read_jepsen_log";
    corpus_read_porcupine_kv: "read_porcupine_kv";
    corpus_check: "check";
    corpus_check_sharded: "check_sharded";
    corpus_check_txn: "check_txn";
}
