//! Hand-decided counters, and the check against subset enumeration.

use super::*;
use crate::history::{Event, EventType, Process};
use proptest::prelude::*;

/// (process, f, delta or read value, outcome, final)
type Step = (u64, &'static str, i64, EventType, bool);

fn history(steps: &[Step]) -> History {
    let mut events = Vec::new();
    for &(p, f, v, kind, is_final) in steps {
        let (inv, done) = if f == "add" { (Value::Int(v), Value::Int(v)) } else { (Value::Nil, Value::Int(v)) };
        let mut e = Event::new(events.len() as u64 + 1, EventType::Invoke, Process::Client(p), F::parse(f), inv);
        e.is_final = is_final;
        events.push(e);
        let mut e = Event::new(events.len() as u64 + 1, kind, Process::Client(p), F::parse(f), done);
        e.is_final = is_final;
        events.push(e);
    }
    History::from_events("t", events).unwrap()
}

use EventType::{Info, Ok as Done};

#[test]
fn final_read_of_the_ok_sum_is_valid() {
    let h = history(&[(0, "add", 3, Done, false), (1, "add", 4, Done, false), (2, "read", 7, Done, true)]);
    assert_eq!(check(&h, "t").unwrap().verdict, Verdict::Valid);
}

#[test]
fn info_adds_may_or_may_not_count() {
    // An ok add of 1 and info adds of 5 and 10, then a final read.
    let final_read = |total| {
        history(&[
            (0, "add", 1, Done, false),
            (1, "add", 5, Info, false),
            (2, "add", 10, Info, false),
            (3, "read", total, Done, true),
        ])
    };
    for total in [1, 6, 11, 16] {
        assert_eq!(check(&final_read(total), "t").unwrap().verdict, Verdict::Valid, "{total}");
    }
    let r = check(&final_read(7), "t").unwrap();
    assert_eq!(r.verdict, Verdict::Invalid);
    let a = &r.keys[0].anomalies[0];
    assert_eq!(a.kind.as_str(), "final-read-out-of-bounds");
    assert!(a.explanation.contains("{1, 6, 11, 16}"), "{}", a.explanation);
}

#[test]
fn a_read_above_everything_invoked_is_out_of_bounds() {
    let h = history(&[
        (0, "add", 2, Done, false),
        (1, "read", 5, Done, false),
        (0, "add", 3, Done, false),
        (2, "read", 5, Done, true),
    ]);
    let r = check(&h, "t").unwrap();
    assert_eq!(r.keys[0].anomaly_kinds(), vec!["read-out-of-bounds"]);
}

#[test]
fn stale_non_final_reads_are_fine() {
    let h = history(&[
        (0, "add", 2, Done, false),
        (0, "add", 3, Done, false),
        (1, "read", 0, Done, false),
        (1, "read", 5, Done, true),
    ]);
    assert_eq!(check(&h, "t").unwrap().verdict, Verdict::Valid);
}

#[test]
fn pn_counter_negative_deltas() {
    let h = history(&[
        (0, "add", -2, Done, false),
        (1, "read", -2, Done, false),
        (0, "add", 5, Info, false),
        (2, "read", -2, Done, true),
        (3, "read", 3, Done, true),
    ]);
    assert_eq!(check(&h, "t").unwrap().verdict, Verdict::Valid);
}

#[test]
fn no_final_read_is_unknown() {
    let h = history(&[(0, "add", 2, Done, false), (1, "read", 2, Done, false)]);
    let r = check(&h, "t").unwrap();
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(r.keys[0].unknown_reason.as_ref().unwrap().contains("final"));
}

#[test]
fn bad_values_are_input_errors() {
    let h =
        History::from_events("t", vec![Event::new(1, EventType::Invoke, Process::Client(0), F::Add, Value::str("x"))])
            .unwrap();
    let e = check(&h, "c.jsonl").unwrap_err();
    assert!(e.to_string().starts_with("c.jsonl:1:"), "{e}");
}

#[test]
fn interval_set_cut_to_hull_is_undecided_inside() {
    let mut s = IntervalSet::point(0);
    // Powers of a large base never merge: 2^k intervals.
    for k in 0..14 {
        s.add_optional(1_000i128.pow(1) * (1 << k) * 3);
    }
    assert!(!s.exact);
    assert_eq!(s.contains(-1), Some(false));
    assert_eq!(s.contains(5), None);
}

/// Whether `x` is `definite` plus the sum of some subset of `infos`.
fn subset_sum(definite: i64, infos: &[i64], x: i64) -> bool {
    (0u32..1 << infos.len())
        .any(|m| definite + (0..infos.len()).filter(|i| m >> i & 1 == 1).map(|i| infos[i]).sum::<i64>() == x)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_subset_enumeration(
        adds in prop::collection::vec((-6i64..7, 0u8..3), 0..9),
        reads in prop::collection::vec((-20i64..30, any::<bool>(), 0usize..10), 1..6),
    ) {
        // Adds run one after another; each read runs after the first `pos` adds.
        let mut steps: Vec<Step> = Vec::new();
        let mut order: Vec<(usize, Step)> = Vec::new();
        for (i, &(d, o)) in adds.iter().enumerate() {
            let kind = match o { 0 => EventType::Fail, 1 => Info, _ => Done };
            order.push((2 * i + 1, (100 + i as u64, "add", d, kind, false)));
        }
        for (j, &(v, is_final, pos)) in reads.iter().enumerate() {
            let pos = if is_final { 2 * adds.len() + 2 } else { 2 * pos.min(adds.len()) };
            order.push((pos, (200 + j as u64, "read", v, Done, is_final)));
        }
        order.sort_by_key(|(p, _)| *p);
        steps.extend(order.into_iter().map(|(_, s)| s));
        let h = history(&steps);
        let r = check(&h, "t").unwrap();

        let definite: i64 = adds.iter().filter(|a| a.1 == 2).map(|a| a.0).sum();
        let infos: Vec<i64> = adds.iter().filter(|a| a.1 == 1).map(|a| a.0).collect();
        let mut expect_bad = 0;
        let mut any_final = false;
        for (j, &(v, is_final, pos)) in reads.iter().enumerate() {
            if is_final {
                any_final = true;
                if !subset_sum(definite, &infos, v) { expect_bad += 1; }
            }
            // Bounds: the adds invoked before the read returned.
            let before: Vec<i64> = if is_final {
                adds.iter().filter(|a| a.1 != 0).map(|a| a.0).collect()
            } else {
                adds.iter().take(pos.min(adds.len())).filter(|a| a.1 != 0).map(|a| a.0).collect()
            };
            let lo: i64 = before.iter().filter(|d| **d < 0).sum();
            let hi: i64 = before.iter().filter(|d| **d > 0).sum();
            if v < lo || v > hi { expect_bad += 1; }
            let _ = j;
        }
        let got: u64 = r.keys[0].anomalies.len() as u64;
        prop_assert_eq!(got, expect_bad);
        let expect = if expect_bad > 0 { Verdict::Invalid } else if any_final { Verdict::Valid } else { Verdict::Unknown };
        prop_assert_eq!(r.verdict, expect);
    }
}
