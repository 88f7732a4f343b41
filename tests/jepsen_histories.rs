//! Jepsen-shaped histories through the `conch` binary (the files and their
//! sources: `crates/checker/testdata/jepsen/SOURCE.md`): times that go
//! backwards in file order, as Jepsen's per-thread clocks make them, are
//! read, and the verdicts are Knossos's.

mod common;
use common::*;

fn jepsen(name: &str) -> String {
    root().join("crates/checker/testdata/jepsen").join(name).display().to_string()
}

#[test]
fn knossos_histories_with_times_going_backwards_get_knossos_verdicts() {
    for (name, model, code) in [
        ("knossos-rethink-fail-smaller.edn", "cas-register", 1),
        ("knossos-rethink-ok.edn", "cas-register", 0),
        ("knossos-mutex-etcd.edn", "mutex", 1),
    ] {
        let out = run(&["check", "--model", model, &jepsen(name)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{name}: {stderr}");
    }
}

#[test]
fn max_line_mb_is_a_flag() {
    let out = run(&["check", "--max-line-mb", "0", &jepsen("knossos-rethink-ok.edn")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-line-mb"));
    let out = run(&["check", "--max-line-mb", "1", "--model", "cas-register", &jepsen("knossos-rethink-ok.edn")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
