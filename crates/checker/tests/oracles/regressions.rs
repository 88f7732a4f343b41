//! Regression tests, one per wrong verdict found (#12 and the differential
//! tests), each named after its bug and run through conch's public entry in
//! every mode it applies to.

use crate::support::conch::{self, Mode};
use crate::support::hist::{int, Builder, Hist, F, V};
use crate::support::lin::Nil;
use checker::model::ModelKind;
use checker::read::{self, Format, ReadOptions};
use checker::report::{CheckName, Verdict};
use checker::{CheckConfig, Report};

/// conch's report on `h` in each mode (fast paths on and off, whole and
/// sharded); all must agree, and the first is returned.
fn check_all_modes(h: &Hist, checks: &[CheckName], model: Option<ModelKind>, nil: Nil) -> Report {
    let mut first: Option<Report> = None;
    for fast_paths in [true, false] {
        for sharded in [false, true] {
            let m = Mode { fast_paths, sharded, checks: checks.to_vec(), model, nil, initial: None };
            let r = conch::check(h, &m).unwrap_or_else(|e| panic!("conch refused: {e}\n{}", h.to_jsonl()));
            match &first {
                None => first = Some(r),
                Some(f) => {
                    for c in checks {
                        assert_eq!(
                            conch::verdicts(f, *c),
                            conch::verdicts(&r, *c),
                            "{c} differs in mode {m:?}\n{}",
                            h.to_jsonl()
                        );
                    }
                }
            }
        }
    }
    first.expect("at least one mode")
}

fn verdict_of(r: &Report, c: CheckName) -> Verdict {
    r.results.iter().find(|x| x.check == c).unwrap_or_else(|| panic!("no {c} result")).verdict
}

/// #12 §1a: put "a"; put "" (info); get -> nil. Missing and "" are one kv
/// state, so the info put may explain the nil get: linearizable.
#[test]
fn kv_info_put_of_empty_string_is_kept_when_every_get_read_nil() {
    let h = Builder::new()
        .invoke(0, F::Put, Some("k"), V::s("a"))
        .ok(0, V::Nil)
        .invoke(1, F::Put, Some("k"), V::s(""))
        .info(1)
        .invoke(2, F::Get, Some("k"), V::Nil)
        .ok(2, V::Nil)
        .done();
    let r = check_all_modes(&h, &[CheckName::Linearizable], Some(ModelKind::Kv), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::Linearizable), Verdict::Valid);
    // Pending (never completed) is the same as info.
    let mut pending = h.clone();
    pending.events.retain(|e| *e != crate::support::hist::Ev::Complete(1));
    pending.ops[1].outcome = crate::support::hist::Outcome::Pending;
    let r = check_all_modes(&pending, &[CheckName::Linearizable], Some(ModelKind::Kv), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::Linearizable), Verdict::Valid);
    // Without the info put the nil get is not linearizable.
    let h = Builder::new()
        .invoke(0, F::Put, Some("k"), V::s("a"))
        .ok(0, V::Nil)
        .invoke(2, F::Get, Some("k"), V::Nil)
        .ok(2, V::Nil)
        .done();
    let r = check_all_modes(&h, &[CheckName::Linearizable], Some(ModelKind::Kv), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::Linearizable), Verdict::Invalid);
}

const SESSION: [CheckName; 4] =
    [CheckName::ReadYourWrites, CheckName::MonotonicReads, CheckName::MonotonicWrites, CheckName::WritesFollowReads];

fn kinds_of(r: &Report, c: CheckName) -> Vec<String> {
    conch::verdicts(r, c).into_values().flat_map(|(_, kinds)| kinds).collect()
}

/// #12 §1b: write 1, write nil, read nil in one session is linearizable; the
/// read returned the second write, not the initial value.
#[test]
fn written_nil_is_a_version_not_the_initial_value() {
    let h = Builder::new().w(0, 1).op(0, F::Write, V::Nil, V::Nil).r(0, V::Nil).done();
    let mut checks = vec![CheckName::Linearizable];
    checks.extend(SESSION);
    let r = check_all_modes(&h, &checks, Some(ModelKind::Register), Nil::Absent);
    for c in &checks {
        assert_eq!(verdict_of(&r, *c), Verdict::Valid, "{c}: {:?}", kinds_of(&r, *c));
    }
    for c in SESSION {
        let r = check_all_modes(&h, &[c], Some(ModelKind::Register), Nil::Absent);
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c} alone");
    }
}

/// #12 §1b: a cas that writes nil is a new version. write 1; cas [1 nil] was
/// reported as a writes-follow-reads cycle naming the cas twice.
#[test]
fn cas_writing_nil_is_not_a_cycle_through_the_initial_value() {
    let h = Builder::new().w(0, 1).op(0, F::Cas, V::List(vec![int(1), V::Nil]), V::Nil).r(0, V::Nil).done();
    let mut checks = vec![CheckName::Linearizable];
    checks.extend(SESSION);
    let r = check_all_modes(&h, &checks, Some(ModelKind::CasRegister), Nil::Absent);
    for c in &checks {
        assert_eq!(verdict_of(&r, *c), Verdict::Valid, "{c}: {:?}", kinds_of(&r, *c));
    }
}

/// #12 §1c: p0 writes 1, p1 writes 2, p0 reads 2 then 1. A register read
/// shows only the latest version: with 1 < 2 the second read went back
/// (monotonic reads), with 2 < 1 the first missed p0's own write
/// (read-your-writes). Each holds alone; together they cannot, and neither
/// monotonic writes nor writes-follow-reads is involved.
#[test]
fn register_session_checks_judge_each_guarantee_by_its_own_definition() {
    let h = Builder::new().w(0, 1).w(1, 2).r(0, int(2)).r(0, int(1)).done();
    for c in SESSION {
        let r = check_all_modes(&h, &[c], Some(ModelKind::Register), Nil::Absent);
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c} alone: {:?}", kinds_of(&r, c));
    }
    let r = check_all_modes(&h, &SESSION, Some(ModelKind::Register), Nil::Absent);
    for (c, want) in SESSION.into_iter().zip([Verdict::Invalid, Verdict::Invalid, Verdict::Valid, Verdict::Valid]) {
        assert_eq!(verdict_of(&r, c), want, "{c}");
    }
    assert_eq!(kinds_of(&r, CheckName::ReadYourWrites), vec!["joint-version-order"]);
    assert_eq!(kinds_of(&r, CheckName::MonotonicReads), vec!["joint-version-order"]);
    // The same as a list shows the whole state: [1 2] then [1] lost 2, which
    // is monotonic reads alone.
    let h = Builder::new()
        .op(0, F::Append, int(1), V::Nil)
        .op(1, F::Append, int(2), V::Nil)
        .r(0, crate::support::hist::list(&[1, 2]))
        .r(0, crate::support::hist::list(&[1]))
        .done();
    let r = check_all_modes(&h, &SESSION, Some(ModelKind::ListAppend), Nil::Absent);
    for (c, want) in SESSION.into_iter().zip([Verdict::Valid, Verdict::Invalid, Verdict::Valid, Verdict::Valid]) {
        assert_eq!(verdict_of(&r, c), want, "{c}");
    }
    assert_eq!(kinds_of(&r, CheckName::MonotonicReads), vec!["monotonic-reads"]);
}

/// #12 §1d: a linearizable key is never invalid or unknown under a session
/// check, whatever its values. Repeated values made such keys unknown, and
/// `conch check --checks all` exit 3.
#[test]
fn linearizable_key_with_repeated_values_passes_every_session_check() {
    // Register: 1 written twice, read back; a read of nil before any write.
    let h = Builder::new().r(1, V::Nil).w(0, 1).r(1, int(1)).w(0, 2).w(0, 1).r(1, int(1)).done();
    let r = check_all_modes(&h, &[], None, Nil::Absent);
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.results.iter().map(|c| (c.check, c.verdict)).collect::<Vec<_>>());
    for c in SESSION {
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c}");
    }
    // List: an element appended twice, read back twice.
    let h = Builder::new()
        .op(0, F::Append, int(1), V::Nil)
        .op(1, F::Append, int(1), V::Nil)
        .r(1, crate::support::hist::list(&[1, 1]))
        .done();
    let r = check_all_modes(&h, &[], None, Nil::Absent);
    assert_eq!(r.verdict, Verdict::Valid);
    // Counter: monotonic writes and writes-follow-reads cannot be observed on
    // totals, but a linearizable counter satisfies them.
    let h = Builder::new().op(0, F::Incr, int(1), V::Nil).r(0, int(1)).done();
    let r = check_all_modes(&h, &SESSION, None, Nil::Absent);
    for c in SESSION {
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c}");
    }
}

/// Found by the differential tests: under `--nil-read unknown` (Knossos's
/// rule, the EDN default) a read of nil tells nothing, for linearizability
/// and so for the session checks; they read it as the initial value.
#[test]
fn nil_read_unknown_constrains_no_session_check() {
    let h = Builder::new().w(0, 1).r(0, V::Nil).done();
    let r = check_all_modes(&h, &SESSION, Some(ModelKind::Register), Nil::Unknown);
    for c in SESSION {
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c}");
    }
    let h = Builder::new().op(0, F::Append, int(1), V::Nil).r(0, V::Nil).done();
    let r = check_all_modes(&h, &SESSION, Some(ModelKind::ListAppend), Nil::Unknown);
    for c in SESSION {
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c}");
    }
    // Under "absent" the same reads are the empty state: read-your-writes.
    let r = check_all_modes(&h, &SESSION, Some(ModelKind::ListAppend), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::ReadYourWrites), Verdict::Invalid);
}

/// Found by the differential tests: a history of reads only, checked with
/// `--model register` and a session check named, was refused ("cannot infer
/// the workload") though the model says it. With no write there is nothing
/// a read could miss: each check is unknown, saying so (#12 §2b).
#[test]
fn model_names_the_session_workload_of_a_reads_only_history() {
    let h = Builder::new().r(0, V::Nil).r(0, V::Nil).done();
    let r = check_all_modes(&h, &SESSION, Some(ModelKind::Register), Nil::Absent);
    for c in SESSION {
        let res = r.results.iter().find(|x| x.check == c).expect("checked");
        assert_eq!(res.verdict, Verdict::Unknown, "{c}");
        assert!(res.keys[0].unknown_reason.as_deref().is_some_and(|w| w.contains("no write completed ok")), "{c}");
    }
}

/// Found by the differential tests: a list read that holds an element twice
/// was read as a set, so a later read without the copy passed monotonic
/// reads. The workload needs unique elements: undecided, not valid.
#[test]
fn list_read_holding_an_element_twice_is_not_a_set() {
    let h = Builder::new()
        .op(0, F::Append, int(2), V::Nil)
        .r(0, crate::support::hist::list(&[2, 2]))
        .r(0, crate::support::hist::list(&[2]))
        .done();
    let r = check_all_modes(&h, &[CheckName::MonotonicReads], Some(ModelKind::ListAppend), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::MonotonicReads), Verdict::Unknown);
}

/// Found by the differential tests: a session that read [1 2] and only then
/// appended 2 read that very append before making it; as for a register
/// (read 2, then write the only 2), writes-follow-reads cannot hold.
#[test]
fn list_append_read_before_it_was_made_breaks_writes_follow_reads() {
    let h = Builder::new()
        .op(1, F::Append, int(1), V::Nil)
        .r(1, crate::support::hist::list(&[1, 2]))
        .op(1, F::Append, int(2), V::Nil)
        .done();
    let r = check_all_modes(&h, &[CheckName::WritesFollowReads], Some(ModelKind::ListAppend), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::WritesFollowReads), Verdict::Invalid);
    let h = Builder::new().r(1, int(2)).w(1, 2).done();
    let r = check_all_modes(&h, &[CheckName::WritesFollowReads], Some(ModelKind::Register), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::WritesFollowReads), Verdict::Invalid);
}

/// conch's verdict of `check` on a history given as text, with `--initial`
/// given as JSON or EDN text, fast paths on and off (they must agree).
fn verdict_from(text: &str, format: Format, model: ModelKind, check: CheckName, initial: Option<&str>) -> Verdict {
    let opts = ReadOptions { format: Some(format), ..ReadOptions::default() };
    let (h, format) = read::read_bytes("h", text.as_bytes(), &opts).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let verdicts: Vec<Verdict> = [true, false]
        .into_iter()
        .map(|fast_paths| {
            let cfg = CheckConfig {
                checks: vec![check],
                model: Some(model),
                fast_paths,
                initial: initial.map(|t| read::parse_value(t).unwrap_or_else(|e| panic!("{e}"))),
                ..CheckConfig::default()
            };
            let r = checker::check(&h, &cfg.for_format(format)).unwrap_or_else(|e| panic!("{e}\n{text}"));
            verdict_of(&r, check)
        })
        .collect();
    assert_eq!(verdicts[0], verdicts[1], "fast paths on and off disagree\n{text}");
    verdicts[0]
}

/// #12 §3c: models take an initial state. Knossos checks its multi-register
/// histories from x = 0, y = 0; reads of 0 before any write of 0 are
/// linearizable from there and from no other state (the empty one, where
/// only y or x is 0, or where x starts at 5). JSON and EDN spell one value.
#[test]
fn knossos_multi_register_history_is_linearizable_only_from_its_initial_state() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/jepsen/knossos-multi-register-initial.edn");
    let text = std::fs::read_to_string(path).expect("the fixture");
    let lin = |initial| verdict_from(&text, Format::Edn, ModelKind::MultiRegister, CheckName::Linearizable, initial);
    assert_eq!(lin(Some("{:x 0, :y 0}")), Verdict::Valid);
    assert_eq!(lin(Some(r#"{"y": 0, "x": 0}"#)), Verdict::Valid);
    assert_eq!(lin(None), Verdict::Invalid);
    assert_eq!(lin(Some("{:x 0}")), Verdict::Invalid);
    assert_eq!(lin(Some("{:x 5, :y 0}")), Verdict::Invalid);
}

/// #12 §3c: every model starts from `--initial` when given: each history's
/// first ok op observes the initial state, so it is linearizable with it
/// and not from the empty state (or from another).
#[test]
fn initial_state_is_where_every_model_starts() {
    let ev = |p: u64, t: &str, f: &str, v: &str| format!(r#"{{"type":"{t}","process":{p},"f":"{f}","value":{v}}}"#);
    let op = |p: u64, f: &str, input: &str, output: &str| {
        format!("{}\n{}\n", ev(p, "invoke", f, input), ev(p, "ok", f, output))
    };
    let cases: Vec<(ModelKind, String, &str, &str)> = vec![
        (ModelKind::Register, op(0, "read", "null", "5") + &op(1, "write", "6", "6"), "5", "6"),
        (ModelKind::CasRegister, op(0, "cas", "[5, 6]", "[5, 6]") + &op(1, "read", "null", "6"), "5", "6"),
        (ModelKind::Kv, op(0, "append", r#""b""#, "null") + &op(0, "get", "null", r#""ab""#), r#""a""#, r#""b""#),
        (ModelKind::Set, op(0, "add", "2", "null") + &op(1, "read", "null", "[1, 2]"), "[1]", "[2]"),
        (ModelKind::Counter, op(0, "incr", "1", "null") + &op(1, "read", "null", "4"), "3", "1"),
        (ModelKind::ListAppend, op(0, "append", "2", "null") + &op(1, "read", "null", "[1, 2]"), "[1]", "[2]"),
        (ModelKind::Queue, op(0, "enqueue", "2", "null") + &op(1, "dequeue", "null", "1"), "[1]", "[2]"),
        (ModelKind::Mutex, op(0, "release", "null", "null") + &op(1, "acquire", "null", "null"), "true", "false"),
    ];
    for (model, text, initial, other) in cases {
        let lin = |initial| verdict_from(&text, Format::Jsonl, model, CheckName::Linearizable, initial);
        assert_eq!(lin(Some(initial)), Verdict::Valid, "{model} from {initial}\n{text}");
        assert_eq!(lin(None), Verdict::Invalid, "{model} from empty\n{text}");
        assert_eq!(lin(Some(other)), Verdict::Invalid, "{model} from {other}\n{text}");
    }
}

/// #12 §3c: an initial state that is no state of the model is bad input
/// (exit 2 from the binary) naming what the model takes, not a verdict.
#[test]
fn initial_state_of_the_wrong_shape_is_refused() {
    let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"incr\",\"value\":1}\n{\"type\":\"ok\",\"process\":0,\"f\":\"incr\",\"value\":1}\n";
    let (h, format) = read::read_bytes("h", text.as_bytes(), &ReadOptions::default()).unwrap();
    for (model, initial, says) in [
        (ModelKind::Counter, "[1]", "an integer"),
        (ModelKind::Mutex, "0", "true (held) or false (free)"),
        (ModelKind::MultiRegister, "[1]", "a map from register to value"),
    ] {
        let cfg = CheckConfig {
            checks: vec![CheckName::Linearizable],
            model: Some(model),
            initial: Some(read::parse_value(initial).unwrap()),
            ..CheckConfig::default()
        };
        let e = checker::check(&h, &cfg.for_format(format)).expect_err("refused").to_string();
        assert!(e.contains("--initial") && e.contains(says), "{model}: {e}");
    }
    assert!(read::parse_value("[1").is_err());
}

/// conch's convergence verdict on `h`'s one key, whole and sharded (which
/// must agree), with the anomaly kinds it named.
fn convergence(h: &Hist, model: ModelKind, nil: Nil, initial: Option<V>) -> (Verdict, Vec<String>) {
    let mut got = Vec::new();
    for sharded in [false, true] {
        let checks = vec![CheckName::Convergence];
        let m = Mode { fast_paths: true, sharded, checks, model: Some(model), nil, initial: initial.clone() };
        let r = conch::check(h, &m).unwrap_or_else(|e| panic!("conch refused: {e}\n{}", h.to_jsonl()));
        let keys = conch::verdicts(&r, CheckName::Convergence);
        assert_eq!(keys.len(), 1, "one key: {keys:?}");
        got.push(keys.into_values().next().expect("one key"));
    }
    assert_eq!(got[0], got[1], "whole and sharded\n{}", h.to_jsonl());
    got.remove(0)
}

/// The convergence bugs the oracle of `support/convergence.rs` found (#12):
/// write 1, write nil, every final read nil. The replicas hold the second
/// write; convergence called every acknowledged write lost.
#[test]
fn convergence_written_nil_is_a_version_not_a_lost_write() {
    let h = Builder::new().w(0, 1).op(0, F::Write, V::Nil, V::Nil).final_read(1, V::Nil).final_read(2, V::Nil).done();
    assert_eq!(convergence(&h, ModelKind::Register, Nil::Absent, None), (Verdict::Valid, vec![]));
}

/// Found by the convergence differential test: under `--nil-read absent` a
/// set's final reads of nil and of [] are both the empty set, yet they were
/// compared as a list and a set and called divergent.
#[test]
fn convergence_set_final_reads_of_nil_and_empty_agree() {
    let h = Builder::new().final_read(0, V::Nil).final_read(1, V::List(vec![])).done();
    assert_eq!(convergence(&h, ModelKind::Set, Nil::Absent, None), (Verdict::Valid, vec![]));
    let h = Builder::new().final_read(0, V::Nil).final_read(1, V::List(vec![int(1)])).done();
    assert_eq!(convergence(&h, ModelKind::Set, Nil::Absent, None).0, Verdict::Invalid);
}

/// Under `--nil-read unknown` a read of nil tells nothing about the state:
/// final reads of nil are no evidence of lost writes (they were).
#[test]
fn convergence_nil_final_reads_under_nil_read_unknown_are_no_evidence() {
    let h = Builder::new().w(0, 1).final_read(1, V::Nil).final_read(2, V::Nil).done();
    assert_eq!(convergence(&h, ModelKind::Register, Nil::Unknown, None).0, Verdict::Unknown);
    let (v, kinds) = convergence(&h, ModelKind::Register, Nil::Absent, None);
    assert_eq!((v, kinds), (Verdict::Invalid, vec!["lost-write".to_string()]));
}

/// With `--initial 10`, incr 5 and final reads of 7: increments were lost
/// (10 + 5 = 15); convergence compared 7 with the increments alone.
#[test]
fn convergence_counts_the_initial_counter_total() {
    let h = Builder::new().op(0, F::Incr, int(5), V::Nil).final_read(1, int(7)).final_read(2, int(7)).done();
    let (v, kinds) = convergence(&h, ModelKind::Counter, Nil::Absent, Some(int(10)));
    assert_eq!((v, kinds), (Verdict::Invalid, vec!["lost-write".to_string()]));
    let h = Builder::new().op(0, F::Incr, int(5), V::Nil).final_read(1, int(15)).final_read(2, int(15)).done();
    assert_eq!(convergence(&h, ModelKind::Counter, Nil::Absent, Some(int(10))).0, Verdict::Valid);
}

/// With `--initial 0`, write 1 and every final read 0: the write was lost;
/// convergence looked only for final reads of nil. An info write of 0
/// might have been the last write, so then nothing is proven lost.
#[test]
fn convergence_final_reads_of_a_given_initial_value_lose_the_writes() {
    let lost = Builder::new().w(0, 1).final_read(1, int(0)).final_read(2, int(0));
    let (v, kinds) = convergence(&lost.done(), ModelKind::Register, Nil::Absent, Some(int(0)));
    assert_eq!((v, kinds), (Verdict::Invalid, vec!["lost-write".to_string()]));
    let h = Builder::new()
        .w(0, 1)
        .invoke(3, F::Write, None, int(0))
        .info(3)
        .final_read(1, int(0))
        .final_read(2, int(0))
        .done();
    assert_eq!(convergence(&h, ModelKind::Register, Nil::Absent, Some(int(0))).0, Verdict::Valid);
}
