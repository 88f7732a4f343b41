//! Registers: guarantees judged jointly on one version order. Hand-written
//! cycles that need two checks' constraints, and a property test against a
//! brute-force oracle that tries every order of a key's versions.

use super::{file, lines_of, parse, run, summary};
use checker::history::{History, F};
use checker::report::Verdict::{self, Invalid, Unknown, Valid};
use checker::report::{Anomaly, CheckName, CheckResult};
use checker::Workload;
use proptest::prelude::*;
use testkit::checks::report;
use testkit::gen_session::GenOpts;
use testkit::oracle::session::{constraints, required, satisfiable};
use testkit::strategy;
use testkit::Rng;

const JOINT: &str = "joint-version-order";
const SESSION_CHECKS: [CheckName; 4] =
    [CheckName::ReadYourWrites, CheckName::MonotonicReads, CheckName::MonotonicWrites, CheckName::WritesFollowReads];

fn verdict_of(rs: &[CheckResult], c: CheckName) -> Verdict {
    rs.iter().find(|r| r.check == c).unwrap().verdict
}

fn anomalies_of(rs: &[CheckResult], c: CheckName) -> Vec<&Anomaly> {
    rs.iter().find(|r| r.check == c).unwrap().keys.iter().flat_map(|k| &k.anomalies).collect()
}

fn only(h: &History, checks: &[CheckName]) -> Vec<CheckResult> {
    let rs = report(h, checks).results;
    assert!(rs.iter().all(|r| r.model == checker::report::ModelName::Workload(Workload::Register)));
    rs
}

/// One session wrote 1, then 2, then read 1.
const W1_W2_R1: &str = include_str!("data/w1_w2_r1.jsonl");

#[test]
fn write_write_read_back_needs_two_orders() {
    let h = parse(W1_W2_R1);
    // Alone, each guarantee has an order: 1 < 2 (the read was stale, but it
    // is its own write) or 2 < 1 (the writes were applied out of order).
    let joint = [CheckName::ReadYourWrites, CheckName::MonotonicWrites];
    let rs = only_jointly_invalid(&h, [Invalid, Valid, Invalid, Valid, Unknown], &joint);
    for c in joint {
        let a = anomalies_of(&rs, c)[0];
        assert_eq!(lines_of(a), vec![1, 3, 5]);
        assert_eq!(
            a.explanation,
            "At least one of read-your-writes and monotonic writes was violated: together they need the \
             register's versions in the order 1 < 2 < 1, a cycle, though each may hold alone. In detail: process 0 \
             wrote 1 (lines 1-2) and later wrote 2 (lines 3-4), so monotonic writes needs 1 to precede 2; process 0 \
             wrote 2 (lines 3-4) and later read 1 (lines 5-6), so read-your-writes needs 2 to precede 1."
        );
        let j = serde_json::to_value(&a.detail).unwrap();
        assert_eq!(j["checks"], serde_json::json!(["read-your-writes", "monotonic-writes"]));
        assert_eq!(j["cycle"].as_array().unwrap().len(), 2);
    }
    let stats = &rs[0].keys[0].stats;
    assert_eq!(stats.violations, Some(1));
    // Read-your-writes with monotonic reads or writes-follow-reads: still one order each.
    let rs = only(&h, &[CheckName::ReadYourWrites, CheckName::MonotonicReads, CheckName::WritesFollowReads]);
    assert!(rs.iter().all(|r| r.verdict == Valid), "{}", summary(Workload::Register, &rs));
    // Exactly these two: a pair of requested checks is enough.
    let rs = only(&h, &[CheckName::MonotonicWrites, CheckName::ReadYourWrites]);
    assert_eq!(rs.iter().map(|r| r.verdict).collect::<Vec<_>>(), vec![Invalid, Invalid]);
}

#[test]
fn read_write_read_back_across_two_sessions() {
    // p0 read p1's 1, wrote 2, and read 1 again: writes-follow-reads puts 1
    // before 2, read-your-writes 2 before 1.
    let h = file("register-joint-wfr");
    let joint = [CheckName::ReadYourWrites, CheckName::WritesFollowReads];
    let rs = only_jointly_invalid(&h, [Invalid, Valid, Valid, Invalid, Unknown], &joint);
    for c in joint {
        let a = anomalies_of(&rs, c);
        assert_eq!(lines_of(a[0]), vec![3, 5, 7]);
        assert!(
            a[0].explanation.contains(
                "in the order 1 < 2 < 1, a cycle, though each may hold alone. In detail: process 0 read 1 (lines \
                 3-4) and later wrote 2 (lines 5-6), so writes-follow-reads needs 1 to precede 2; process 0 wrote 2 \
                 (lines 5-6) and later read 1 (lines 7-8), so read-your-writes needs 2 to precede 1."
            ),
            "{}",
            a[0].explanation
        );
        assert!(a[0]
            .explanation
            .starts_with("At least one of read-your-writes and writes-follow-reads was violated: together they need"));
    }
}

/// #12 §1c: what a session observed is monotonic reads' own constraint, not
/// a fact every check infers the order from. p0 read 1 and then wrote 2; p1
/// read 2 and then 1. Writes-follow-reads alone holds (1 < 2: p1's second
/// replica lacked 2), monotonic reads alone holds (2 < 1); together they
/// cannot, so the cycle is a joint one under both.
#[test]
fn register_session_checks_judge_each_guarantee_by_its_definition() {
    let h = parse(include_str!("data/register_session_checks_judge_each_guarantee_by_its_definition.jsonl"));
    let joint = [CheckName::MonotonicReads, CheckName::WritesFollowReads];
    let rs = only_jointly_invalid(&h, [Valid, Invalid, Valid, Invalid, Unknown], &joint);
    for c in joint {
        let a = anomalies_of(&rs, c);
        assert_eq!(lines_of(a[0]), vec![3, 5, 7, 9]);
        assert_eq!(
            serde_json::to_value(a[0]).unwrap()["detail"]["checks"],
            serde_json::json!(["monotonic-reads", "writes-follow-reads"])
        );
    }
    // The issue's own case: p0 writes 1, p1 writes 2, p0 reads 2 then 1. A
    // register read shows only the latest version: either the first read
    // missed p0's own write (2 < 1) or the second went back (1 < 2).
    let h = parse(include_str!("data/register_session_checks_judge_each_guarantee_by_its_definition-2.jsonl"));
    let joint = [CheckName::ReadYourWrites, CheckName::MonotonicReads];
    only_jointly_invalid(&h, [Invalid, Invalid, Valid, Valid, Unknown], &joint);
}

/// Each session check alone finds `h` valid; all together give `expected`
/// (the four session checks, then convergence), and each of `joint` reports
/// one anomaly, a joint cycle. The results, for more.
fn only_jointly_invalid(h: &History, expected: [Verdict; 5], joint: &[CheckName]) -> Vec<CheckResult> {
    for c in SESSION_CHECKS {
        assert_eq!(verdict_of(&only(h, &[c]), c), Valid, "{c} alone");
    }
    let (_, rs) = run(h);
    let got: Vec<Verdict> = rs.iter().map(|r| r.verdict).collect();
    assert_eq!(got, expected, "{}", summary(Workload::Register, &rs));
    for &c in joint {
        let a = anomalies_of(&rs, c);
        assert_eq!((a.len(), a[0].kind.as_str()), (1, JOINT), "{a:#?}");
    }
    rs
}

#[test]
fn joint_cycle_is_found_next_to_a_single_check_cycle() {
    // p1's write 3 then read nil is read-your-writes alone (3 < nil < 3);
    // p0's write 1, write 2, read 1 is still reported as a joint cycle.
    let h = parse(include_str!("data/joint_cycle_is_found_next_to_a_single_check_cycle.jsonl"));
    let (_, rs) = run(&h);
    let ryw: Vec<(&str, Vec<u64>)> =
        anomalies_of(&rs, CheckName::ReadYourWrites).iter().map(|a| (a.kind.as_str(), lines_of(a))).collect();
    assert_eq!(ryw, vec![("read-your-writes", vec![3, 5]), (JOINT, vec![1, 7, 9])]);
    let mw: Vec<(&str, Vec<u64>)> =
        anomalies_of(&rs, CheckName::MonotonicWrites).iter().map(|a| (a.kind.as_str(), lines_of(a))).collect();
    assert_eq!(mw, vec![(JOINT, vec![1, 7, 9])]);
    assert_eq!(rs[0].keys[0].stats.violations, Some(2));
}

#[test]
fn failed_writes_add_no_joint_constraint() {
    // As W1_W2_R1, but the write of 2 failed: it never happened.
    let h = parse(&W1_W2_R1.replace(
        include_str!("data/failed_writes_add_no_joint_constraint.jsonl"),
        include_str!("data/failed_writes_add_no_joint_constraint-2.jsonl"),
    ));
    let (_, rs) = run(&h);
    assert!(rs[..4].iter().all(|r| r.verdict == Valid), "{}", summary(Workload::Register, &rs));
}

const SUBSETS: usize = 16;

fn subset(bits: usize) -> Vec<CheckName> {
    SESSION_CHECKS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, &c)| c).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// For every set of requested checks, the checker finds a violation iff
    /// no single order of the versions satisfies them all; a violation that
    /// no requested check has alone is reported as a joint one.
    #[test]
    fn joint_verdict_matches_brute_force(
        h in (1..4u64, 1..10usize).prop_flat_map(|(sessions, ops)| strategy::tiny_register_history(sessions, ops)),
        bits in 1..SUBSETS,
    ) {
        if h.ops.iter().all(|o| o.f == F::Read) {
            return Ok(()); // not a register history: no workload to infer
        }
        let wanted = subset(bits);
        let c = constraints(&h);
        let alone: Vec<bool> = wanted.iter().map(|&w| satisfiable(&c.versions, &required(&c, &[w]))).collect();
        let together = satisfiable(&c.versions, &required(&c, &wanted));
        let rs = only(&h, &wanted);
        let s = summary(Workload::Register, &rs);
        // With nothing to check, what is not invalid is unknown, never valid.
        let undecided = if crate::nothing_to_check(&h) { Valid } else { Unknown };
        prop_assert!(rs.iter().all(|r| r.verdict != undecided), "{}", s);
        for (r, &sat) in rs.iter().zip(&alone) {
            // A check alone is judged exactly as before; only joint anomalies are new.
            let own = r.keys.iter().flat_map(|k| &k.anomalies).any(|a| a.kind.as_str() == r.check.as_str());
            prop_assert_eq!(own, !sat, "{}: {}", r.check, s);
        }
        let invalid = rs.iter().any(|r| r.verdict == Invalid);
        prop_assert_eq!(invalid, !together, "{:?}: {}", wanted, s);
        if alone.iter().all(|&a| a) && !together {
            for r in rs.iter().filter(|r| r.verdict == Invalid) {
                prop_assert!(r.keys.iter().flat_map(|k| &k.anomalies).all(|a| a.kind.as_str() == JOINT), "{}", s);
            }
        }
        if wanted.len() == 1 {
            prop_assert!(!s.contains(JOINT), "{}", s);
        }
    }

    /// Histories of a sequential execution (fresh or stale reads) pass every
    /// requested set of checks, jointly too.
    #[test]
    fn sequential_registers_pass_any_set_of_checks(
        h in (1..5usize, 1..60usize, any::<bool>()).prop_flat_map(|(sessions, ops, stale)| {
            strategy::session_history(GenOpts {
                workload: Workload::Register, sessions, keys: 2, ops, read_pct: 50, info_pct: 5, fail_pct: 5,
                nodes: 2, stale, seed: 0,
            })
        }),
        bits in 1..SUBSETS,
    ) {
        prop_assume!(h.ops.iter().any(|o| o.f != F::Read), "a write to infer the workload from");
        let rs = only(&h, &subset(bits));
        let want = if crate::nothing_to_check(&h) { Unknown } else { Valid };
        prop_assert!(rs.iter().all(|r| r.verdict == want), "{}", summary(Workload::Register, &rs));
    }
}

#[test]
fn oracle_sees_the_textbook_cases() {
    // Guard the oracle itself: w1 w2 r1 is satisfiable per check, not jointly.
    let c = constraints(&parse(W1_W2_R1));
    let sat = |w: &[CheckName]| satisfiable(&c.versions, &required(&c, w));
    assert!(sat(&[CheckName::ReadYourWrites]) && sat(&[CheckName::MonotonicWrites]));
    assert!(!sat(&[CheckName::ReadYourWrites, CheckName::MonotonicWrites]));
    let c = constraints(&file("register-mr"));
    assert!(!satisfiable(&c.versions, &required(&c, &[CheckName::MonotonicReads])));
    assert!(satisfiable(&c.versions, &required(&c, &[CheckName::ReadYourWrites])));
}

#[test]
fn tiny_histories_do_reach_joint_cycles() {
    // Guard the generator: the property test must see joint-only violations.
    let mut joint = 0;
    for seed in 0..3000 {
        let h = testkit::gen_session::tiny_register_history(&mut Rng::new(seed), 2, 8);
        if h.ops.iter().all(|o| o.f == F::Read) {
            continue;
        }
        let (_, rs) = run(&h);
        joint +=
            rs.iter().flat_map(|r| &r.keys).flat_map(|k| &k.anomalies).filter(|a| a.kind.as_str() == JOINT).count();
    }
    assert!(joint > 20, "{joint}");
}
