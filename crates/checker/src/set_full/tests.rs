//! Hand-decided histories, and the check against a brute-force oracle that
//! follows the definitions read by read.

use super::*;
use crate::history::{Event, EventType, Process};
use proptest::prelude::*;
use std::collections::BTreeMap;

type H = crate::history::script::Script;

fn run(h: &H) -> KeyResult {
    check(&h.history(), "t", &SetFullOptions::default()).unwrap().into_only_key()
}

#[test]
fn every_read_after_the_add_sees_it_valid() {
    let k = run(H::default().add(0, 1).read(1, &[1], false).read(2, &[1], true));
    assert_eq!(k.verdict, Verdict::Valid, "{k:?}");
    assert_eq!(k.stats.figure("stable"), 1);
    assert_eq!(k.stats.figure("stale"), 0);
}

#[test]
fn stale_then_present_is_valid_but_counted() {
    let k = run(H::default().add(0, 1).read(1, &[], false).read(2, &[1], true));
    assert_eq!(k.verdict, Verdict::Valid, "{k:?}");
    assert_eq!(k.stats.figure("stale"), 1);
    // Add invoked at 1 ms, the read that missed it invoked at 3 ms.
    assert_eq!(k.stats.figure("stable_latency_ms")["p100"], 2);
    let lin = check(
        &H::default().add(0, 1).read(1, &[], false).read(2, &[1], true).history(),
        "t",
        &SetFullOptions { linearizable: true, ..SetFullOptions::default() },
    )
    .unwrap();
    assert_eq!(lin.verdict, Verdict::Invalid);
    assert_eq!(lin.keys[0].anomalies[0].kind.as_str(), "stale-read");
}

#[test]
fn present_then_gone_is_lost() {
    let k = run(H::default().add(0, 1).read(1, &[1], false).read(2, &[], true));
    assert_eq!(k.verdict, Verdict::Invalid);
    assert_eq!(k.anomaly_kinds(), vec!["lost"]);
    let ops: Vec<&str> = k.anomalies[0].ops.iter().map(|o| o.f.as_str()).collect();
    assert_eq!(ops, vec!["add", "read", "read"], "names the add, the read that had it and the one that lost it");
}

#[test]
fn acknowledged_never_returned_is_lost() {
    let k = run(H::default().add(0, 1).read(1, &[], true));
    assert_eq!(k.anomaly_kinds(), vec!["lost"]);
}

#[test]
fn info_add_never_seen_is_owed_nothing() {
    let k = run(H::default().add(0, 1).op(3, "add", 2, EventType::Info).read(1, &[1], true));
    assert_eq!(k.verdict, Verdict::Valid, "{k:?}");
    assert_eq!(k.stats.figure("indeterminate"), 1);
}

#[test]
fn info_add_once_seen_is_owed() {
    let k = run(H::default().op(3, "add", 2, EventType::Info).read(1, &[2], false).read(2, &[], true));
    assert_eq!(k.anomaly_kinds(), vec!["lost"]);
}

/// p1's read, concurrent with p0's add of 1, misses it.
fn read_missing_a_concurrent_add() -> H {
    let mut h = H::default();
    h.ev(EventType::Invoke, 1, "read", Value::Nil);
    h.add(0, 1);
    h.ev(EventType::Ok, 1, "read", Value::List(vec![]));
    h
}

#[test]
fn read_concurrent_with_the_add_may_miss_it() {
    let mut h = read_missing_a_concurrent_add();
    h.read(2, &[1], true);
    assert_eq!(run(&h).verdict, Verdict::Valid);
}

#[test]
fn no_read_after_the_ack_is_unknown() {
    let k = run(&read_missing_a_concurrent_add());
    assert_eq!(k.verdict, Verdict::Unknown);
    assert!(k.unknown_reason.unwrap().contains("never read"));
}

#[test]
fn nothing_to_check_is_unknown() {
    assert_eq!(run(H::default().op(0, "add", 1, EventType::Fail)).verdict, Verdict::Unknown);
    assert_eq!(run(H::default().read(0, &[], true)).verdict, Verdict::Unknown);
}

#[test]
fn unexpected_duplicate_and_failed_elements() {
    let k = run(H::default().add(0, 1).op(0, "add", 2, EventType::Fail).read(1, &[1, 1, 2, 9], true));
    let mut ks = k.anomaly_kinds();
    ks.sort();
    assert_eq!(ks, vec!["duplicate-element", "unexpected-element", "unexpected-element"]);
}

#[test]
fn a_node_whose_final_read_lacks_an_element_others_have() {
    // n1's final read begins after the ack but misses 1; n2's later one has it.
    let k = run(H::default().add(0, 1).read(1, &[], true).read(2, &[1], true));
    assert_eq!(k.anomaly_kinds(), vec!["final-read-missing"]);
    assert_eq!(crate::anomalies::evidence(&k.anomalies[0], "node"), "n1");
}

#[test]
fn other_ops_and_bad_reads_are_input_errors() {
    let mut h = H::default();
    h.ev(EventType::Invoke, 0, "write", Value::Int(1));
    let e = check(&h.history(), "f.jsonl", &SetFullOptions::default()).unwrap_err();
    assert_eq!(e.line, 1);
    let mut h = H::default();
    h.ev(EventType::Invoke, 0, "read", Value::Nil);
    h.ev(EventType::Ok, 0, "read", Value::Int(3));
    let e = check(&h.history(), "f.jsonl", &SetFullOptions::default()).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("list"), "{e}");
}

#[test]
fn broadcast_is_the_add_when_asked() {
    let mut h = H::default();
    h.ev(EventType::Invoke, 0, "broadcast", Value::Int(4));
    h.ev(EventType::Ok, 0, "broadcast", Value::Int(4));
    h.read(1, &[4], true);
    let opts = SetFullOptions { add_f: F::parse("broadcast"), linearizable: false };
    assert_eq!(check(&h.history(), "t", &opts).unwrap().verdict, Verdict::Valid);
}

/// The definitions, read by read: quadratic, obviously right.
fn oracle(h: &History) -> (BTreeMap<&'static str, u64>, BTreeMap<String, u64>) {
    let reads: Vec<&Op> = h.ops.iter().filter(|o| o.f == F::Read && o.outcome == Outcome::Ok).collect();
    let has = |r: &Op, v: &Value| r.output.as_seq().unwrap().contains(v);
    let mut values: Vec<&Value> = h.ops.iter().filter(|o| o.f == F::Add).map(|o| &o.input).collect();
    values.sort();
    values.dedup();
    let mut fates = BTreeMap::new();
    let mut anomalies: BTreeMap<String, u64> = BTreeMap::new();
    let bump = |m: &mut BTreeMap<String, u64>, k: &str| *m.entry(k.to_string()).or_insert(0) += 1;
    let mut lost_values = Vec::new();
    let mut known_of = BTreeMap::new();
    for v in &values {
        let adds: Vec<&Op> = h.ops.iter().filter(|o| o.f == F::Add && o.input == **v).collect();
        if adds.iter().all(|a| a.outcome == Outcome::Fail) {
            continue;
        }
        let mut known = adds.iter().filter(|a| a.outcome == Outcome::Ok).map(|a| a.ret).min().unwrap_or(u64::MAX);
        known = known.min(reads.iter().filter(|r| has(r, v)).map(|r| r.ret).min().unwrap_or(u64::MAX));
        known_of.insert(*v, known);
        let fate = if known == u64::MAX {
            "indeterminate"
        } else {
            let relevant: Vec<&&Op> = reads.iter().filter(|r| r.call > known).collect();
            if relevant.is_empty() {
                "never_read"
            } else {
                let last_present = reads.iter().filter(|r| has(r, v)).map(|r| r.call).max();
                let last_absent = relevant.iter().filter(|r| !has(r, v)).map(|r| r.call).max();
                match (last_present, last_absent) {
                    (_, None) => "stable",
                    (Some(p), Some(a)) if p > a => "stale",
                    _ => "lost",
                }
            }
        };
        if fate == "lost" {
            bump(&mut anomalies, "lost");
            lost_values.push(*v);
        }
        *fates.entry(fate).or_insert(0) += 1;
    }
    for r in &reads {
        let items = r.output.as_seq().unwrap();
        for (i, x) in items.iter().enumerate() {
            if items[..i].contains(x) {
                bump(&mut anomalies, "duplicate-element");
            }
        }
    }
    let mut unexpected: BTreeSet<&Value> = BTreeSet::new();
    for r in &reads {
        for x in r.output.as_seq().unwrap() {
            if !known_of.contains_key(x) {
                unexpected.insert(x);
            }
        }
    }
    for _ in &unexpected {
        bump(&mut anomalies, "unexpected-element");
    }
    for r in reads.iter().filter(|r| r.is_final) {
        if known_of.iter().any(|(v, &k)| k < r.call && !lost_values.contains(v) && !has(r, v)) {
            bump(&mut anomalies, "final-read-missing");
        }
    }
    (fates, anomalies)
}

/// Builds a history from steps: a process with an open op completes it
/// (ok, fail or info), otherwise it invokes an add of a small element or a
/// read (which, when ok, returns the given elements: some never added,
/// sometimes twice).
fn history_from(steps: &[(u8, u8, u8, Vec<u8>)]) -> History {
    let mut events = Vec::new();
    let mut open: BTreeMap<u64, (F, Value, bool)> = BTreeMap::new();
    let mut next_proc: BTreeMap<u8, u64> = BTreeMap::new();
    for (slot, action, arg, set) in steps {
        let p = *next_proc.entry(*slot % 4).or_insert(u64::from(*slot % 4));
        let line = events.len() as u64 + 1;
        let mut e = match open.remove(&p) {
            None => {
                let (f, v) =
                    if action % 3 == 0 { (F::Read, Value::Nil) } else { (F::Add, Value::Int(i64::from(arg % 5))) };
                let is_final = f == F::Read && action % 7 == 3;
                open.insert(p, (f.clone(), v.clone(), is_final));
                let mut e = Event::new(line, EventType::Invoke, Process::Client(p), f, v);
                e.is_final = is_final;
                e
            }
            Some((f, v, is_final)) => {
                let (kind, value) = if f == F::Read {
                    (EventType::Ok, Value::List(set.iter().map(|&x| Value::Int(i64::from(x % 6))).collect()))
                } else {
                    match action % 4 {
                        0 => (EventType::Fail, v),
                        1 => (EventType::Info, v),
                        _ => (EventType::Ok, v),
                    }
                };
                if kind == EventType::Info {
                    next_proc.insert(*slot % 4, p + 4);
                }
                let mut e = Event::new(line, kind, Process::Client(p), f, value);
                e.is_final = is_final;
                e
            }
        };
        e.time_ns = Some(line as i64);
        events.push(e);
    }
    History::from_events("prop", events).unwrap()
}

fn step() -> impl Strategy<Value = (u8, u8, u8, Vec<u8>)> {
    (any::<u8>(), any::<u8>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..6))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_the_oracle(steps in prop::collection::vec(step(), 1..40)) {
        let h = history_from(&steps);
        let r = check(&h, "prop", &SetFullOptions::default()).unwrap();
        let k = &r.keys[0];
        let (fates, anomalies) = oracle(&h);
        let stat = |name: &str| k.stats.figure(name).as_u64().unwrap();
        let f = |name: &str| fates.get(name).copied().unwrap_or(0);
        prop_assert_eq!(stat("stable"), f("stable") + f("stale"));
        prop_assert_eq!(stat("stale"), f("stale"));
        prop_assert_eq!(stat("lost"), f("lost"));
        prop_assert_eq!(stat("never_read"), f("never_read"));
        prop_assert_eq!(stat("indeterminate"), f("indeterminate"));
        let counts: BTreeMap<String, u64> = serde_json::from_value(k.stats.figure("anomaly_counts").clone()).unwrap();
        prop_assert_eq!(&counts, &anomalies);
        prop_assert_eq!(k.verdict == Verdict::Invalid, !anomalies.is_empty());
    }
}
