//! Hand-decided logs, and the check against a brute-force oracle.

use super::*;
use crate::history::{Event, EventType, Process, F};
use proptest::prelude::*;

fn s(x: &str) -> Value {
    Value::str(x)
}

fn map(entries: Vec<(Value, Value)>) -> Value {
    Value::map(entries)
}

fn pairs(xs: &[(i64, i64)]) -> Value {
    Value::List(xs.iter().map(|&(o, m)| Value::List(vec![Value::Int(o), Value::Int(m)])).collect())
}

#[derive(Default)]
struct H {
    events: Vec<Event>,
}

impl H {
    fn op(&mut self, p: u64, f: &str, input: Value, kind: EventType, output: Value, is_final: bool) -> &mut Self {
        for (k, v) in [(EventType::Invoke, input), (kind, output)] {
            let mut e = Event::new(self.events.len() as u64 + 1, k, Process::Client(p), F::parse(f), v);
            e.is_final = is_final;
            self.events.push(e);
        }
        self
    }
    fn send(&mut self, p: u64, key: &str, msg: i64, offset: i64) -> &mut Self {
        let inv = map(vec![(s("key"), s(key)), (s("msg"), Value::Int(msg))]);
        let ok = map(vec![(s("key"), s(key)), (s("msg"), Value::Int(msg)), (s("offset"), Value::Int(offset))]);
        self.op(p, "send", inv, EventType::Ok, ok, false)
    }
    fn poll(&mut self, p: u64, key: &str, from: i64, got: &[(i64, i64)], is_final: bool) -> &mut Self {
        let inv = map(vec![(s(key), Value::Int(from))]);
        let out = map(vec![(s(key), pairs(got))]);
        self.op(p, "poll", inv, EventType::Ok, out, is_final)
    }
    fn commit(&mut self, p: u64, key: &str, o: i64) -> &mut Self {
        let v = map(vec![(s(key), Value::Int(o))]);
        self.op(p, "commit_offsets", v.clone(), EventType::Ok, v, false)
    }
    fn list(&mut self, p: u64, key: &str, o: Option<i64>) -> &mut Self {
        let out = map(o.map(|o| (s(key), Value::Int(o))).into_iter().collect());
        self.op(p, "list_committed_offsets", Value::List(vec![s(key)]), EventType::Ok, out, false)
    }
    fn check(&self) -> CheckResult {
        check(&History::from_events("t", self.events.clone()).unwrap(), "t").unwrap()
    }
}

fn kinds(r: &CheckResult) -> Vec<String> {
    let mut k: Vec<String> =
        r.keys.iter().flat_map(|k| k.anomalies.iter().map(|a| a.kind.as_str().to_string())).collect();
    k.sort();
    k
}

#[test]
fn a_log_read_in_order_is_valid() {
    let r = H::default().send(0, "a", 10, 0).send(0, "a", 11, 1).poll(1, "a", 0, &[(0, 10), (1, 11)], false).check();
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
}

#[test]
fn acknowledged_but_polled_past_is_lost() {
    let r = H::default().send(0, "a", 10, 0).send(0, "a", 11, 1).poll(1, "a", 0, &[(1, 11)], false).check();
    assert_eq!(kinds(&r), vec!["lost-write"]);
    assert_eq!(r.keys[0].anomalies[0].ops.len(), 2, "names the send and a poll beyond it");
}

#[test]
fn unobserved_is_an_anomaly_only_after_final_polls() {
    let h = || {
        let mut h = H::default();
        h.send(0, "a", 10, 0).send(0, "a", 11, 1).poll(1, "a", 0, &[(0, 10)], false);
        h
    };
    let r = h().check();
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(r.keys[0].stats.figure("unobserved"), 1);
    let r = h().poll(9, "a", 0, &[(0, 10)], true).check();
    assert_eq!(kinds(&r), vec!["unobserved"]);
}

#[test]
fn offsets_going_backwards() {
    let r = H::default().send(0, "a", 10, 5).send(0, "a", 11, 3).check();
    assert_eq!(kinds(&r), vec!["nonmonotonic-send"]);
    let r = H::default().send(0, "a", 10, 0).send(0, "a", 11, 1).poll(1, "a", 0, &[(1, 11), (0, 10)], false).check();
    assert_eq!(kinds(&r), vec!["nonmonotonic-poll"]);
    assert_eq!(crate::anomalies::evidence(&r.keys[0].anomalies[0], "internal"), true);
    let r = H::default()
        .send(0, "a", 10, 0)
        .send(0, "a", 11, 1)
        .poll(1, "a", 0, &[(0, 10), (1, 11)], false)
        .poll(1, "a", 2, &[(1, 11)], false)
        .check();
    assert_eq!(kinds(&r), vec!["nonmonotonic-poll"]);
    assert_eq!(crate::anomalies::evidence(&r.keys[0].anomalies[0], "internal"), false);
}

#[test]
fn skips_within_and_between_polls_but_not_across_an_assign() {
    let base = || {
        let mut h = H::default();
        h.send(0, "a", 10, 0).send(0, "a", 11, 1).send(0, "a", 12, 2);
        h
    };
    let r = base().poll(1, "a", 0, &[(0, 10), (2, 12)], false).poll(2, "a", 0, &[(1, 11)], false).check();
    assert_eq!(kinds(&r), vec!["poll-skip"]);
    let r = base()
        .poll(1, "a", 0, &[(0, 10)], false)
        .poll(1, "a", 1, &[(2, 12)], false)
        .poll(2, "a", 1, &[(1, 11)], false)
        .check();
    assert_eq!(kinds(&r), vec!["poll-skip"]);
    assert_eq!(crate::anomalies::evidence(&r.keys[0].anomalies[0], "skipped"), &serde_json::json!([1]));
    let r = base()
        .poll(1, "a", 0, &[(0, 10)], false)
        .commit(1, "a", 1)
        .list(1, "a", Some(1))
        .poll(1, "a", 2, &[(2, 12)], false)
        .poll(2, "a", 1, &[(1, 11)], false)
        .check();
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
}

#[test]
fn one_offset_two_messages_and_one_message_two_offsets() {
    let r = H::default().send(0, "a", 10, 0).poll(1, "a", 0, &[(0, 99)], false).check();
    assert!(kinds(&r).contains(&"inconsistent-offsets".to_string()), "{:?}", kinds(&r));
    let r = H::default().send(0, "a", 10, 0).poll(1, "a", 0, &[(0, 10), (1, 10)], false).check();
    assert_eq!(kinds(&r), vec!["duplicate-message"]);
}

#[test]
fn listed_offsets_must_have_been_committed() {
    let r = H::default().send(0, "a", 10, 0).list(1, "a", Some(7)).check();
    assert_eq!(kinds(&r), vec!["phantom-commit"]);
    let r = H::default().send(0, "a", 10, 0).commit(0, "a", 7).list(1, "a", Some(7)).check();
    assert_eq!(r.verdict, Verdict::Valid);
}

#[test]
fn nothing_checked_is_unknown_and_bad_shapes_are_errors() {
    let mut h = H::default();
    h.op(0, "poll", map(vec![(s("a"), Value::Int(0))]), EventType::Info, Value::Nil, false);
    assert_eq!(h.check().verdict, Verdict::Unknown);
    let mut h = H::default();
    h.op(0, "send", Value::Int(3), EventType::Info, Value::Nil, false);
    let e = check(&History::from_events("t", h.events).unwrap(), "k.jsonl").unwrap_err();
    assert!(e.to_string().starts_with("k.jsonl:1:") && e.to_string().contains("send"), "{e}");
    let mut h = H::default();
    h.op(0, "read", Value::Nil, EventType::Info, Value::Nil, false);
    assert!(check(&History::from_events("t", h.events).unwrap(), "k").is_err());
}

/// Anomaly counts by kind from the definitions, scanning all ops for each
/// question (one key, `"a"`).
fn oracle(ops: &[Op]) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let mut bump = |k: &str| *out.entry(k.to_string()).or_insert(0) += 1;
    let ok = |o: &&Op| o.outcome == Outcome::Ok;
    let sends: Vec<(u64, i64, Value)> = ops
        .iter()
        .filter(ok)
        .filter(|o| o.f.as_str() == "send")
        .map(|o| {
            (o.process, field(&o.output, "offset").unwrap().as_int().unwrap(), field(&o.input, "msg").unwrap().clone())
        })
        .collect();
    let polls: Vec<(&Op, Vec<(i64, Value)>)> = ops
        .iter()
        .filter(ok)
        .filter(|o| o.f.as_str() == "poll")
        .map(|o| {
            let list = field(&o.output, "a").and_then(|l| l.as_seq()).unwrap_or_default();
            (
                o,
                list.iter()
                    .map(|p| (p.as_seq().unwrap()[0].as_int().unwrap(), p.as_seq().unwrap()[1].clone()))
                    .collect(),
            )
        })
        .collect();
    let mut seen: Vec<(i64, Value)> = sends.iter().map(|(_, o, m)| (*o, m.clone())).collect();
    seen.extend(polls.iter().flat_map(|(_, l)| l.iter().cloned()));
    let known: BTreeSet<i64> = seen.iter().map(|(o, _)| *o).collect();
    for o in &known {
        let msgs: BTreeSet<&Value> = seen.iter().filter(|(x, _)| x == o).map(|(_, m)| m).collect();
        if msgs.len() > 1 {
            bump("inconsistent-offsets");
        }
    }
    let msgs: BTreeSet<&Value> = seen.iter().map(|(_, m)| m).collect();
    for m in msgs {
        let offs: BTreeSet<i64> = seen.iter().filter(|(_, x)| x == m).map(|(o, _)| *o).collect();
        if offs.len() > 1 {
            bump("duplicate-message");
        }
    }
    let polled: Vec<&(i64, Value)> = polls.iter().flat_map(|(_, l)| l.iter()).collect();
    let max_polled = polled.iter().map(|(o, _)| *o).max();
    let has_final = polls.iter().any(|(o, _)| o.is_final) || ops.iter().any(|o| o.f.as_str() == "poll" && o.is_final);
    for (_, o, m) in &sends {
        if polled.iter().any(|(_, x)| x == m) {
            continue;
        }
        if max_polled.is_some_and(|x| x > *o) {
            bump("lost-write");
        } else if has_final {
            bump("unobserved");
        }
    }
    let procs: BTreeSet<u64> = ops.iter().map(|o| o.process).collect();
    for p in procs {
        let mine: Vec<&Op> = ops.iter().filter(|o| o.process == p).collect();
        let offs: Vec<i64> = mine
            .iter()
            .filter(|o| o.outcome == Outcome::Ok && o.f.as_str() == "send")
            .map(|o| field(&o.output, "offset").unwrap().as_int().unwrap())
            .collect();
        for w in offs.windows(2) {
            if w[1] <= w[0] {
                bump("nonmonotonic-send");
            }
        }
        let mut prev: Option<i64> = None;
        for o in &mine {
            match o.f.as_str() {
                "list_committed_offsets" => prev = None,
                "poll" if o.outcome == Outcome::Ok => {
                    let list = &polls.iter().find(|(x, _)| x.id == o.id).unwrap().1;
                    let skip = |a: i64, b: i64| known.iter().any(|&k| a < k && k < b);
                    for w in list.windows(2) {
                        if w[1].0 <= w[0].0 {
                            bump("nonmonotonic-poll");
                        } else if skip(w[0].0, w[1].0) {
                            bump("poll-skip");
                        }
                    }
                    if let (Some(first), Some(last)) = (list.first(), list.last()) {
                        if let Some(pv) = prev {
                            if first.0 <= pv {
                                bump("nonmonotonic-poll");
                            } else if skip(pv, first.0) {
                                bump("poll-skip");
                            }
                        }
                        prev = Some(last.0);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// (process, action, argument, poll result pairs)
type Step = (u8, u8, u8, Vec<(u8, u8)>);

fn history_from(steps: &[Step]) -> History {
    let mut h = H::default();
    let mut next_msg = 100;
    for (p, action, x, got) in steps {
        let p = u64::from(p % 3);
        match action % 4 {
            0 | 1 => {
                next_msg += 1;
                h.send(p, "a", next_msg, i64::from(x % 6));
            }
            2 => {
                let list: Vec<(i64, i64)> =
                    got.iter().map(|&(o, m)| (i64::from(o % 6), 100 + i64::from(m % 5))).collect();
                h.poll(p, "a", i64::from(x % 6), &list, x % 5 == 0);
            }
            _ => {
                h.list(p, "a", None);
            }
        }
    }
    History::from_events("prop", h.events).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_the_oracle(steps in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>(), prop::collection::vec((any::<u8>(), any::<u8>()), 0..4)), 1..16)) {
        let h = history_from(&steps);
        let r = check(&h, "prop").unwrap();
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for k in &r.keys {
            let counts: BTreeMap<String, u64> = serde_json::from_value(k.stats.figure("anomaly_counts").clone()).unwrap();
            for (kind, n) in counts {
                *got.entry(kind).or_insert(0) += n;
            }
        }
        prop_assert_eq!(got, oracle(&h.ops));
    }
}
