//! Tests of the search: against the brute-force oracle on thousands of random
//! histories per model, by hand per model, and under exhausted budgets.

use checker::history::{Event, EventType, History, OpId, Process, F};
use checker::model::{ModelKind, NilRead};
use checker::report::{AnomalyDetail, AnomalyKind, Budget, CheckResult, Method, SearchFailure, Verdict};
use checker::value::Value;
use checker::{CheckConfig, CheckError, CheckName};
use proptest::prelude::*;
use std::time::Duration;
use testkit::checks::{linearizability, linearizability_within};
use testkit::oracle::linear::expected;
use testkit::small::{render, GenConfig};
use testkit::strategy;
use testkit::Rng;

/// The general search alone (no fast path), unlimited.
fn check(h: &History, model: ModelKind, nil_read: NilRead) -> CheckResult {
    linearizability(h, model, nil_read, false)
}

/// The search's evidence for an invalid key.
fn failure(a: &checker::Anomaly) -> &SearchFailure {
    match a.detail.as_deref() {
        Some(AnomalyDetail::Search(f)) => f,
        other => panic!("not the search's evidence: {other:?}"),
    }
}

/// Events `(type, process, f, value)`, one per line from line 1.
fn hist(evs: &[(&str, u64, &str, Value)]) -> History {
    let events = evs.iter().enumerate().map(|(i, (t, p, f, v))| {
        Event::new(i as u64 + 1, EventType::parse(t).unwrap(), Process::Client(*p), F::parse(f), v.clone())
    });
    History::from_events("hand", events).unwrap()
}

fn verdict(h: &History, model: ModelKind, nil_read: NilRead) -> Verdict {
    let r = check(h, model, nil_read);
    // The oracle must agree on every hand-written case too.
    let want = expected(h, model, nil_read);
    let got: Vec<(Option<Value>, Verdict)> = r.keys.iter().map(|k| (k.key.clone(), k.verdict)).collect();
    assert_eq!(got, want, "search and oracle disagree on\n{}", render(h));
    r.verdict
}

fn nil() -> Value {
    Value::Nil
}

fn list(v: Vec<Value>) -> Value {
    Value::List(v)
}

// ---------------------------------------------------------------- registers

#[test]
fn stale_read_is_invalid_and_explained() {
    let h = hist(&[
        ("invoke", 0, "write", 1.into()),
        ("ok", 0, "write", 1.into()),
        ("invoke", 0, "write", 2.into()),
        ("ok", 0, "write", 2.into()),
        ("invoke", 1, "read", nil()),
        ("ok", 1, "read", 1.into()),
    ]);
    assert_eq!(verdict(&h, ModelKind::CasRegister, NilRead::Unknown), Verdict::Invalid);
    let r = check(&h, ModelKind::CasRegister, NilRead::Unknown);
    let k = &r.keys[0];
    assert_eq!(k.method, Method::Wgl);
    assert_eq!(k.anomalies.len(), 1);
    let a = &k.anomalies[0];
    assert_eq!(a.kind, AnomalyKind::NotLinearizable);
    assert_eq!(a.ops[0].id, OpId(2), "the read is the op that could not be linearized");
    assert_eq!(a.ops.len(), 1, "nothing else was pending");
    let f = failure(a);
    assert_eq!(f.failed_op.id, OpId(2));
    let prefix: Vec<OpId> = f.longest_prefix.iter().map(|o| o.id).collect();
    assert_eq!(prefix, vec![OpId(0), OpId(1)]);
    assert_eq!(f.states, vec!["2"]);
    // The JSON report keeps its field names.
    let j = serde_json::to_value(a).unwrap();
    assert_eq!(j["detail"]["failed_op"]["id"], 2);
    assert_eq!(j["detail"]["longest_prefix"][1]["invoke_line"], 3);
    assert_eq!(j["detail"]["states"], serde_json::json!(["2"]));
    assert!(a.explanation.contains("after linearizing 2 ops"), "{}", a.explanation);
    assert!(a.explanation.contains("process 1 read -> 1 (lines 5-6)"), "{}", a.explanation);
    assert!(a.explanation.contains("state {2}"), "{}", a.explanation);
}

#[test]
fn concurrent_read_may_see_either_value() {
    for seen in [1, 2] {
        let h = hist(&[
            ("invoke", 0, "write", 1.into()),
            ("ok", 0, "write", 1.into()),
            ("invoke", 0, "write", 2.into()),
            ("invoke", 1, "read", nil()),
            ("ok", 1, "read", seen.into()),
            ("ok", 0, "write", 2.into()),
        ]);
        assert_eq!(verdict(&h, ModelKind::Register, NilRead::Unknown), Verdict::Valid, "read {seen}");
        let r = check(&h, ModelKind::Register, NilRead::Unknown);
        assert_eq!(r.keys[0].stats.witness.as_ref().unwrap().ops.len(), 3);
    }
}

#[test]
fn info_write_may_or_may_not_have_happened() {
    let base = [("invoke", 0, "write", 1.into()), ("ok", 0, "write", 1.into()), ("invoke", 1, "write", 2.into())];
    let with = |reads: &[i64]| {
        let mut evs: Vec<(&str, u64, &str, Value)> = base.to_vec();
        evs.push(("info", 1, "write", 2.into()));
        for &v in reads {
            evs.push(("invoke", 0, "read", nil()));
            evs.push(("ok", 0, "read", v.into()));
        }
        hist(&evs)
    };
    assert_eq!(verdict(&with(&[1]), ModelKind::Register, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&with(&[2]), ModelKind::Register, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&with(&[1, 2]), ModelKind::Register, NilRead::Unknown), Verdict::Valid);
    // Once seen, the write cannot be undone.
    assert_eq!(verdict(&with(&[2, 1]), ModelKind::Register, NilRead::Unknown), Verdict::Invalid);
    // A write that failed never happened.
    let failed = hist(&[
        ("invoke", 1, "write", 2.into()),
        ("fail", 1, "write", 2.into()),
        ("invoke", 0, "read", nil()),
        ("ok", 0, "read", 2.into()),
    ]);
    assert_eq!(verdict(&failed, ModelKind::Register, NilRead::Unknown), Verdict::Invalid);
}

#[test]
fn cas_semantics() {
    let cas = |old: i64, new: i64, outcome: &'static str, read: i64| {
        hist(&[
            ("invoke", 0, "write", 1.into()),
            ("ok", 0, "write", 1.into()),
            ("invoke", 1, "cas", list(vec![old.into(), new.into()])),
            (outcome, 1, "cas", list(vec![old.into(), new.into()])),
            ("invoke", 0, "read", nil()),
            ("ok", 0, "read", read.into()),
        ])
    };
    let m = ModelKind::CasRegister;
    assert_eq!(verdict(&cas(1, 2, "ok", 2), m, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&cas(1, 2, "ok", 1), m, NilRead::Unknown), Verdict::Invalid);
    assert_eq!(verdict(&cas(3, 4, "ok", 4), m, NilRead::Unknown), Verdict::Invalid, "cas from a value never held");
    assert_eq!(verdict(&cas(1, 2, "fail", 1), m, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&cas(1, 2, "fail", 2), m, NilRead::Unknown), Verdict::Invalid);
    assert_eq!(verdict(&cas(1, 2, "info", 2), m, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&cas(1, 2, "info", 1), m, NilRead::Unknown), Verdict::Valid);
    assert_eq!(
        verdict(&cas(3, 4, "info", 4), m, NilRead::Unknown),
        Verdict::Invalid,
        "an info cas that could not apply"
    );
}

#[test]
fn nil_read_rule_both_ways() {
    let after_write = hist(&[
        ("invoke", 0, "write", 1.into()),
        ("ok", 0, "write", 1.into()),
        ("invoke", 1, "read", nil()),
        ("ok", 1, "read", nil()),
    ]);
    assert_eq!(verdict(&after_write, ModelKind::CasRegister, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&after_write, ModelKind::CasRegister, NilRead::Absent), Verdict::Invalid);
    let before_write = hist(&[
        ("invoke", 1, "read", nil()),
        ("ok", 1, "read", nil()),
        ("invoke", 0, "write", 1.into()),
        ("ok", 0, "write", 1.into()),
    ]);
    assert_eq!(verdict(&before_write, ModelKind::CasRegister, NilRead::Absent), Verdict::Valid);
    assert_eq!(verdict(&before_write, ModelKind::CasRegister, NilRead::Unknown), Verdict::Valid);
}

// ---------------------------------------------------------------- other models

#[test]
fn kv_appends_and_missing_keys() {
    let h = |got: &str| {
        hist(&[
            ("invoke", 0, "get", nil()),
            ("ok", 0, "get", "".into()),
            ("invoke", 0, "put", "a".into()),
            ("ok", 0, "put", "a".into()),
            ("invoke", 1, "append", "b".into()),
            ("invoke", 0, "append", "c".into()),
            ("ok", 1, "append", "b".into()),
            ("ok", 0, "append", "c".into()),
            ("invoke", 2, "get", nil()),
            ("ok", 2, "get", got.into()),
        ])
    };
    assert_eq!(verdict(&h("abc"), ModelKind::Kv, NilRead::Absent), Verdict::Valid);
    assert_eq!(verdict(&h("acb"), ModelKind::Kv, NilRead::Absent), Verdict::Valid);
    assert_eq!(verdict(&h("ab"), ModelKind::Kv, NilRead::Absent), Verdict::Invalid);
    assert_eq!(verdict(&h(""), ModelKind::Kv, NilRead::Absent), Verdict::Invalid);
}

#[test]
fn keys_are_checked_separately() {
    let mut evs = Vec::new();
    for (line, (t, p, f, v, k)) in [
        ("invoke", 0, "put", "a", "x"),
        ("ok", 0, "put", "a", "x"),
        ("invoke", 0, "get", "", "y"),
        ("ok", 0, "get", "", "y"),
        ("invoke", 1, "get", "", "x"),
        ("ok", 1, "get", "", "x"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e =
            Event::new(line as u64 + 1, EventType::parse(t).unwrap(), Process::Client(p), F::parse(f), v.into());
        e.key = Some(k.into());
        evs.push(e);
    }
    let h = History::from_events("keys", evs).unwrap();
    let r = check(&h, ModelKind::Kv, NilRead::Absent);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(r.keys.len(), 2);
    assert_eq!(r.keys[0].key, Some(Value::str("x")));
    assert_eq!(r.keys[0].verdict, Verdict::Invalid);
    assert_eq!(r.keys[0].anomalies[0].ops[0].id, OpId(2));
    assert_eq!(r.keys[1].verdict, Verdict::Valid);
}

#[test]
fn mutex_excludes() {
    let both = hist(&[
        ("invoke", 0, "acquire", nil()),
        ("ok", 0, "acquire", nil()),
        ("invoke", 1, "acquire", nil()),
        ("ok", 1, "acquire", nil()),
    ]);
    assert_eq!(verdict(&both, ModelKind::Mutex, NilRead::Unknown), Verdict::Invalid);
    let handed = hist(&[
        ("invoke", 0, "acquire", nil()),
        ("ok", 0, "acquire", nil()),
        ("invoke", 1, "acquire", nil()),
        ("invoke", 0, "release", nil()),
        ("ok", 1, "acquire", nil()),
        ("info", 0, "release", nil()),
    ]);
    assert_eq!(verdict(&handed, ModelKind::Mutex, NilRead::Unknown), Verdict::Valid);
}

#[test]
fn set_read_must_include_earlier_adds() {
    let h = |read: Vec<i64>| {
        hist(&[
            ("invoke", 0, "add", 1.into()),
            ("ok", 0, "add", 1.into()),
            ("invoke", 1, "add", 2.into()),
            ("invoke", 0, "read", nil()),
            ("ok", 0, "read", list(read.into_iter().map(Value::Int).collect())),
            ("ok", 1, "add", 2.into()),
        ])
    };
    assert_eq!(verdict(&h(vec![1]), ModelKind::Set, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(vec![2, 1]), ModelKind::Set, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(vec![2]), ModelKind::Set, NilRead::Unknown), Verdict::Invalid);
    assert_eq!(verdict(&h(vec![1, 3]), ModelKind::Set, NilRead::Unknown), Verdict::Invalid);
}

#[test]
fn counter_reads() {
    let h = |read: i64| {
        hist(&[
            ("invoke", 0, "incr", nil()),
            ("ok", 0, "incr", nil()),
            ("invoke", 0, "incr", 5.into()),
            ("invoke", 1, "read", nil()),
            ("ok", 1, "read", read.into()),
            ("info", 0, "incr", 5.into()),
        ])
    };
    assert_eq!(verdict(&h(1), ModelKind::Counter, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(6), ModelKind::Counter, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(5), ModelKind::Counter, NilRead::Unknown), Verdict::Invalid);
    assert_eq!(verdict(&h(0), ModelKind::Counter, NilRead::Unknown), Verdict::Invalid);
}

#[test]
fn queue_is_fifo() {
    let h = |first: i64| {
        hist(&[
            ("invoke", 0, "enqueue", 1.into()),
            ("ok", 0, "enqueue", 1.into()),
            ("invoke", 0, "enqueue", 2.into()),
            ("ok", 0, "enqueue", 2.into()),
            ("invoke", 1, "dequeue", nil()),
            ("ok", 1, "dequeue", first.into()),
        ])
    };
    assert_eq!(verdict(&h(1), ModelKind::Queue, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(2), ModelKind::Queue, NilRead::Unknown), Verdict::Invalid);
    let empty = hist(&[("invoke", 0, "dequeue", nil()), ("ok", 0, "dequeue", nil())]);
    assert_eq!(verdict(&empty, ModelKind::Queue, NilRead::Unknown), Verdict::Valid);
}

#[test]
fn list_append_order() {
    let h = |read: Vec<i64>| {
        hist(&[
            ("invoke", 0, "append", 1.into()),
            ("ok", 0, "append", 1.into()),
            ("invoke", 0, "append", 2.into()),
            ("ok", 0, "append", 2.into()),
            ("invoke", 1, "read", nil()),
            ("ok", 1, "read", list(read.into_iter().map(Value::Int).collect())),
        ])
    };
    assert_eq!(verdict(&h(vec![1, 2]), ModelKind::ListAppend, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(vec![2, 1]), ModelKind::ListAppend, NilRead::Unknown), Verdict::Invalid);
    assert_eq!(verdict(&h(vec![1]), ModelKind::ListAppend, NilRead::Unknown), Verdict::Invalid);
}

#[test]
fn multi_register_read_skew() {
    let mop = |f: &str, k: &str, v: Value| list(vec![Value::str(f), Value::str(k), v]);
    let w = list(vec![mop("w", "x", 1.into()), mop("w", "y", 1.into())]);
    let r = |x: i64, y: Value| list(vec![mop("r", "x", x.into()), mop("r", "y", y)]);
    let h = |y: Value| {
        hist(&[
            ("invoke", 0, "txn", w.clone()),
            ("invoke", 1, "txn", r(0, nil())),
            ("ok", 1, "txn", r(1, y)),
            ("ok", 0, "txn", w.clone()),
        ])
    };
    assert_eq!(verdict(&h(1.into()), ModelKind::MultiRegister, NilRead::Absent), Verdict::Valid);
    // Saw x's write but not y's: the txn was not atomic.
    assert_eq!(verdict(&h(nil()), ModelKind::MultiRegister, NilRead::Absent), Verdict::Invalid);
    assert_eq!(verdict(&h(nil()), ModelKind::MultiRegister, NilRead::Unknown), Verdict::Valid);
}

#[test]
fn misfit_op_is_bad_input_not_guessed() {
    let h = hist(&[("invoke", 0, "enqueue", 1.into()), ("ok", 0, "enqueue", 1.into())]);
    let cfg = CheckConfig {
        checks: vec![CheckName::Linearizable],
        model: Some(ModelKind::CasRegister),
        ..CheckConfig::default()
    };
    let e = checker::check(&h, &cfg).unwrap_err();
    assert!(matches!(e, CheckError::BadValue { line: 2, .. }), "{e}");
}

// ---------------------------------------------------------------- budgets

/// `writers` info writes of distinct values, all concurrent, then sequential
/// reads 1, 2, ..., `reads`, and finally 1 again: not linearizable (write 1
/// cannot take effect twice), but proving it means trying every subset of
/// the other writes.
fn pathological(writers: u64, reads: i64) -> History {
    let mut evs: Vec<(&str, u64, &str, Value)> = Vec::new();
    for p in 0..writers {
        evs.push(("invoke", 100 + p, "write", (p as i64 + 1).into()));
    }
    for v in (1..=reads).chain([1]) {
        evs.push(("invoke", 0, "read", nil()));
        evs.push(("ok", 0, "read", v.into()));
    }
    hist(&evs)
}

#[test]
fn tiny_budget_gives_unknown_with_reason() {
    let within = |h: &History, budget| {
        let mut r = linearizability_within(h, ModelKind::CasRegister, NilRead::Unknown, false, budget);
        r.keys.remove(0)
    };
    let h = pathological(40, 20);
    let r = within(&h, Budget { deadline: None, memory_bytes: 1 << 20 });
    assert_eq!(r.verdict, Verdict::Unknown);
    let reason = r.unknown_reason.unwrap();
    assert!(reason.starts_with("memory budget of 1 MiB exhausted after "), "{reason}");
    let r = within(&h, Budget::with_timeout(Some(Duration::from_millis(50)), u64::MAX));
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(r.unknown_reason.unwrap().starts_with("timeout"));
    // A smaller instance of the same shape is decided, and invalid.
    let h = pathological(8, 4);
    let r = within(&h, Budget::unlimited());
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(r.anomalies[0].ops[0].id, OpId(h.ops.len() as u32 - 1), "the final read of 1 fails");
}

#[test]
fn expired_deadline_through_driver() {
    let h = pathological(3, 2);
    let passed = Budget { deadline: Some(std::time::Instant::now()), ..Budget::unlimited() };
    let r = linearizability_within(&h, ModelKind::CasRegister, NilRead::Unknown, false, passed);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(r.keys[0].unknown_reason.as_deref().unwrap().starts_with("timeout"));
}

// ---------------------------------------------------------------- search == oracle

/// The search against the oracle on every object of `h`; returns whether
/// all are linearizable.
fn agrees_with_oracle(model: ModelKind, nil_read: NilRead, h: &History) -> Result<bool, TestCaseError> {
    let want = expected(h, model, nil_read);
    let r = check(h, model, nil_read);
    let got: Vec<(Option<Value>, Verdict)> = r.keys.iter().map(|k| (k.key.clone(), k.verdict)).collect();
    prop_assert_eq!(&got, &want, "{} {:?}:\n{}", model, nil_read, render(h));
    let whole = want.iter().fold(Verdict::Valid, |v, (_, k)| v.combine(*k));
    prop_assert_eq!(r.verdict, whole);
    Ok(want.iter().all(|(_, v)| *v == Verdict::Valid))
}

const CASES: u32 = 600;

macro_rules! oracle_props {
    ($($name:ident: $model:expr, $keys:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(CASES))]
            $(
                #[test]
                fn $name(
                    h in strategy::small_history($model, GenConfig { keys: $keys, ..GenConfig::default() }),
                    absent in any::<bool>(),
                ) {
                    let nil_read = if absent { NilRead::Absent } else { NilRead::Unknown };
                    agrees_with_oracle($model, nil_read, &h)?;
                }
            )*
        }
    };
}

oracle_props! {
    oracle_register: ModelKind::Register, 0;
    oracle_cas_register: ModelKind::CasRegister, 1;
    oracle_kv: ModelKind::Kv, 2;
    oracle_multi_register: ModelKind::MultiRegister, 0;
    oracle_mutex: ModelKind::Mutex, 0;
    oracle_set: ModelKind::Set, 1;
    oracle_counter: ModelKind::Counter, 0;
    oracle_queue: ModelKind::Queue, 0;
    oracle_list_append: ModelKind::ListAppend, 1;
}

/// The generator must give both verdicts often, or the properties above
/// prove little.
#[test]
fn generator_gives_both_verdicts() {
    for model in ModelKind::ALL {
        let cfg = GenConfig::default();
        let valid = (0..300u64)
            .filter(|&s| {
                let h = testkit::small::random_history(model, &cfg, &mut Rng::new(s));
                agrees_with_oracle(model, NilRead::Unknown, &h).unwrap()
            })
            .count();
        assert!((20..=280).contains(&valid), "{model}: {valid} of 300 valid");
    }
}

// ---------------------------------------------------------------- Porcupine fixtures

use testkit::fixtures::porcupine as porcupine_dir;

/// (file, expected verdict) for the fixtures under `prefix`, empty files left out.
fn fixture_rows(dir: &std::path::Path, prefix: &str) -> Vec<(String, Verdict)> {
    let tsv = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    tsv.lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .filter(|(f, _)| f.starts_with(prefix))
        .filter_map(|(f, v)| match v {
            "linearizable" => Some((f.to_string(), Verdict::Valid)),
            "not-linearizable" => Some((f.to_string(), Verdict::Invalid)),
            _ => None,
        })
        .collect()
}

fn read_fixture(dir: &std::path::Path, file: &str) -> History {
    checker::read::read_path(&dir.join(file), &checker::read::ReadOptions::default()).unwrap().0
}

/// Every etcd log gets its expected verdict from the general search alone
/// (no fast path), with Porcupine's nil-read rule. Decided in well under a
/// second in debug builds.
#[test]
fn porcupine_etcd_logs_get_expected_verdicts() {
    let Some(dir) = porcupine_dir() else { return };
    let rows = fixture_rows(&dir, "jepsen/");
    assert!(rows.len() >= 100, "expected ~100 etcd logs, saw {}", rows.len());
    for (file, want) in rows {
        let h = read_fixture(&dir, &file);
        let r = check(&h, ModelKind::CasRegister, NilRead::Absent);
        assert_eq!(r.verdict, want, "{file}");
        assert!(r.keys.iter().all(|k| k.method == Method::Wgl));
    }
}

/// The small kv fixtures; the c50 ones take seconds in debug builds and are
/// in the release-only test below.
#[test]
fn porcupine_small_kv_get_expected_verdicts() {
    let Some(dir) = porcupine_dir() else { return };
    for (file, want) in fixture_rows(&dir, "kv/").into_iter().filter(|(f, _)| !f.contains("c50")) {
        let h = read_fixture(&dir, &file);
        let r = check(&h, ModelKind::Kv, NilRead::Absent);
        assert_eq!(r.verdict, want, "{file}");
        // Without early stopping every key is decided.
        assert!(r.keys.iter().all(|k| k.verdict != Verdict::Unknown), "{file}");
    }
}

/// Times the general search on the fixtures (release: `cargo test --release
/// -p conch-checker --lib -- --ignored --nocapture porcupine_timings`).
#[test]
#[ignore = "timing report; slow in debug builds"]
fn porcupine_timings() {
    let Some(dir) = porcupine_dir() else { return };
    let etcd: Vec<(String, Verdict, History)> = fixture_rows(&dir, "jepsen/")
        .into_iter()
        .map(|(f, v)| {
            let h = read_fixture(&dir, &f);
            (f, v, h)
        })
        .collect();
    for round in 0..3 {
        let t = std::time::Instant::now();
        let mut configs = 0;
        for (f, want, h) in &etcd {
            let r = check(h, ModelKind::CasRegister, NilRead::Absent);
            assert_eq!(r.verdict, *want, "{f}");
            configs += r.keys.iter().filter_map(|k| k.stats.search.as_ref()).map(|s| s.configurations).sum::<u64>();
        }
        eprintln!("round {round}: all {} etcd logs in {:?} ({configs} configurations)", etcd.len(), t.elapsed());
    }
    // Each kv file gets 10 s per key (Porcupine was timed with 10 s per key:
    // every key to a verdict, no early stop at the first bad key); keys are
    // checked in parallel, so this is at least as generous.
    for (file, want) in fixture_rows(&dir, "kv/") {
        let h = read_fixture(&dir, &file);
        let t = std::time::Instant::now();
        let keys = h.by_key().len() as u64;
        let budget = Budget::with_timeout(Some(Duration::from_secs(10 * keys)), Budget::DEFAULT_MEMORY_BYTES);
        let r = linearizability_within(&h, ModelKind::Kv, NilRead::Absent, false, budget);
        for k in &r.keys {
            eprintln!(
                "  {file} key {}: {}, {} configurations{}",
                k.key.as_ref().unwrap(),
                k.verdict,
                k.stats.search.as_ref().map_or(0, |s| s.configurations),
                k.unknown_reason.as_ref().map(|u| format!(" ({u})")).unwrap_or_default()
            );
        }
        eprintln!("{file}: {} ({want:?} expected) in {:?}", r.verdict, t.elapsed());
        assert_ne!(r.verdict, if want == Verdict::Valid { Verdict::Invalid } else { Verdict::Valid }, "{file}");
    }
}

// ---------------------------------------------------------------- long histories

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Histories of 100-300 ops (several bitset words, so the stored windows
    /// of the linearized set move): the search agrees with the unique-value
    /// fast path, an independent algorithm.
    #[test]
    fn long_histories_agree_with_fast_path(
        (h, corrupt) in (100usize..300, 2u64..5, any::<bool>())
            .prop_flat_map(|(n, procs, corrupt)| (strategy::long_register_history(n, procs, corrupt), Just(corrupt))),
    ) {
        let wgl = check(&h, ModelKind::CasRegister, NilRead::Unknown);
        let fast = linearizability(&h, ModelKind::CasRegister, NilRead::Unknown, true);
        prop_assert_eq!(fast.keys[0].method, Method::UniqueRegister, "unique values: the fast path applies");
        prop_assert_eq!(wgl.verdict, fast.verdict);
        if !corrupt {
            prop_assert_eq!(wgl.verdict, Verdict::Valid);
        }
    }
}

#[test]
fn long_corrupted_histories_are_mostly_invalid() {
    let invalid = (0..40u64)
        .filter(|&seed| {
            let h = testkit::unique::long_register_history(&mut Rng::new(seed), 200, 3, true);
            check(&h, ModelKind::CasRegister, NilRead::Unknown).verdict == Verdict::Invalid
        })
        .count();
    assert!(invalid >= 20, "{invalid} of 40 corrupted histories invalid");
}

#[test]
fn invalid_report_names_pending_concurrent_ops() {
    let h = hist(&[
        ("invoke", 0, "write", 1.into()),
        ("ok", 0, "write", 1.into()),
        ("invoke", 2, "cas", list(vec![7.into(), 3.into()])),
        ("invoke", 3, "write", 4.into()),
        ("ok", 3, "write", 4.into()),
        ("invoke", 1, "read", nil()),
        ("ok", 1, "read", 3.into()),
        ("info", 2, "cas", list(vec![7.into(), 3.into()])),
    ]);
    let r = check(&h, ModelKind::CasRegister, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Invalid);
    let a = &r.keys[0].anomalies[0];
    let ids: Vec<OpId> = a.ops.iter().map(|o| o.id).collect();
    // The read failed after both writes; the cas, which cannot apply, was
    // still pending.
    assert_eq!(ids, vec![OpId(3), OpId(1)]);
    assert_eq!(failure(a).longest_prefix.len(), 2);
    assert_eq!(failure(a).states, vec!["4"]);
    assert!(a.explanation.contains("whether or not the ops still pending then go first"), "{}", a.explanation);
}
