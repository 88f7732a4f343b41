//! Regression tests, one per wrong verdict found (#12 and the differential
//! tests), each named after its bug and run through conch's public entry in
//! every mode it applies to.

use crate::support::conch::{self, Mode};
use crate::support::hist::{int, Builder, Hist, F, V};
use crate::support::lin::Nil;
use checker::model::ModelKind;
use checker::report::{CheckName, Verdict};
use checker::suite::FileReport;

/// conch's report on `h` in each mode (fast paths on and off, whole and
/// sharded); all must agree, and the first is returned.
fn check_all_modes(h: &Hist, checks: &[CheckName], model: Option<ModelKind>, nil: Nil) -> FileReport {
    let mut first: Option<FileReport> = None;
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

fn verdict_of(r: &FileReport, c: CheckName) -> Verdict {
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

fn kinds_of(r: &FileReport, c: CheckName) -> Vec<String> {
    conch::verdicts(r, c).into_values().flat_map(|(_, kinds)| kinds).collect()
}

/// #12 §1b: write 1, write nil, read nil in one session is linearizable; the
/// read returned the second write, not the initial value.
#[test]
fn written_nil_is_a_version_not_the_initial_value() {
    let h = Builder::new()
        .op(0, F::Write, int(1), V::Nil)
        .op(0, F::Write, V::Nil, V::Nil)
        .op(0, F::Read, V::Nil, V::Nil)
        .done();
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
    let h = Builder::new()
        .op(0, F::Write, int(1), V::Nil)
        .op(0, F::Cas, V::List(vec![int(1), V::Nil]), V::Nil)
        .op(0, F::Read, V::Nil, V::Nil)
        .done();
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
    let h = Builder::new()
        .op(0, F::Write, int(1), V::Nil)
        .op(1, F::Write, int(2), V::Nil)
        .op(0, F::Read, V::Nil, int(2))
        .op(0, F::Read, V::Nil, int(1))
        .done();
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
        .op(0, F::Read, V::Nil, crate::support::hist::list(&[1, 2]))
        .op(0, F::Read, V::Nil, crate::support::hist::list(&[1]))
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
    let h = Builder::new()
        .op(1, F::Read, V::Nil, V::Nil)
        .op(0, F::Write, int(1), V::Nil)
        .op(1, F::Read, V::Nil, int(1))
        .op(0, F::Write, int(2), V::Nil)
        .op(0, F::Write, int(1), V::Nil)
        .op(1, F::Read, V::Nil, int(1))
        .done();
    let r = check_all_modes(&h, &[], None, Nil::Absent);
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.results.iter().map(|c| (c.check, c.verdict)).collect::<Vec<_>>());
    for c in SESSION {
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c}");
    }
    // List: an element appended twice, read back twice.
    let h = Builder::new()
        .op(0, F::Append, int(1), V::Nil)
        .op(1, F::Append, int(1), V::Nil)
        .op(1, F::Read, V::Nil, crate::support::hist::list(&[1, 1]))
        .done();
    let r = check_all_modes(&h, &[], None, Nil::Absent);
    assert_eq!(r.verdict, Verdict::Valid);
    // Counter: monotonic writes and writes-follow-reads cannot be observed on
    // totals, but a linearizable counter satisfies them.
    let h = Builder::new().op(0, F::Incr, int(1), V::Nil).op(0, F::Read, V::Nil, int(1)).done();
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
    let h = Builder::new().op(0, F::Write, int(1), V::Nil).op(0, F::Read, V::Nil, V::Nil).done();
    let r = check_all_modes(&h, &SESSION, Some(ModelKind::Register), Nil::Unknown);
    for c in SESSION {
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c}");
    }
    let h = Builder::new().op(0, F::Append, int(1), V::Nil).op(0, F::Read, V::Nil, V::Nil).done();
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
/// the workload") though the model says it.
#[test]
fn model_names_the_session_workload_of_a_reads_only_history() {
    let h = Builder::new().op(0, F::Read, V::Nil, V::Nil).op(0, F::Read, V::Nil, V::Nil).done();
    let r = check_all_modes(&h, &SESSION, Some(ModelKind::Register), Nil::Absent);
    for c in SESSION {
        assert_eq!(verdict_of(&r, c), Verdict::Valid, "{c}");
    }
}

/// Found by the differential tests: a list read that holds an element twice
/// was read as a set, so a later read without the copy passed monotonic
/// reads. The workload needs unique elements: undecided, not valid.
#[test]
fn list_read_holding_an_element_twice_is_not_a_set() {
    let h = Builder::new()
        .op(0, F::Append, int(2), V::Nil)
        .op(0, F::Read, V::Nil, crate::support::hist::list(&[2, 2]))
        .op(0, F::Read, V::Nil, crate::support::hist::list(&[2]))
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
        .op(1, F::Read, V::Nil, crate::support::hist::list(&[1, 2]))
        .op(1, F::Append, int(2), V::Nil)
        .done();
    let r = check_all_modes(&h, &[CheckName::WritesFollowReads], Some(ModelKind::ListAppend), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::WritesFollowReads), Verdict::Invalid);
    let h = Builder::new().op(1, F::Read, V::Nil, int(2)).op(1, F::Write, int(2), V::Nil).done();
    let r = check_all_modes(&h, &[CheckName::WritesFollowReads], Some(ModelKind::Register), Nil::Absent);
    assert_eq!(verdict_of(&r, CheckName::WritesFollowReads), Verdict::Invalid);
}
