//! `conch check --initial` (#12 §3c): the state every key (or, for the
//! multi-register model, the one object) is in before the history, given as
//! JSON or EDN. Knossos checks its multi-register histories from x = 0,
//! y = 0; so must conch, and only then are they valid.

mod common;
use common::*;

fn fixture() -> String {
    root().join("crates/checker/testdata/jepsen/knossos-multi-register-initial.edn").display().to_string()
}

fn code_and_stderr(args: &[&str]) -> (Option<i32>, String) {
    let out = run(args);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn knossos_multi_register_history_is_valid_only_from_its_initial_state() {
    let f = fixture();
    for (initial, code) in
        [(Some("{:x 0 :y 0}"), 0), (Some(r#"{"x": 0, "y": 0}"#), 0), (None, 1), (Some("{:x 5 :y 0}"), 1)]
    {
        let mut args = vec!["check", "--model", "multi-register", f.as_str()];
        if let Some(i) = initial {
            args.extend(["--initial", i]);
        }
        let (got, stderr) = code_and_stderr(&args);
        assert_eq!(got, Some(code), "--initial {initial:?}: {stderr}");
    }
}

#[test]
fn initial_state_that_is_not_a_value_or_not_a_state_of_the_model_is_exit_2() {
    let f = fixture();
    let (code, stderr) = code_and_stderr(&["check", "--model", "multi-register", "--initial", "{:x 0", &f]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--initial") && stderr.contains("neither JSON"), "{stderr}");
    let (code, stderr) = code_and_stderr(&["check", "--model", "multi-register", "--initial", "[0 0]", &f]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("a map from register to value"), "{stderr}");
}
