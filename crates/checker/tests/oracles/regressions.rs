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
    let _ = int(0);
}
