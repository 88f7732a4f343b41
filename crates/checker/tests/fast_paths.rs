//! The fast paths against the brute-force oracle and the general search on
//! random small histories with unique values, plus hand-written cases for
//! each criterion.

use checker::history::{Event, EventType, History, OpId, Outcome, Process, F};
use checker::model::{Model, ModelKind, ModelVisitor, NilRead};
use checker::report::{AnomalyDetail, KeyResult, Method, RegisterRule, Verdict};
use checker::value::Value;
use proptest::prelude::*;
use testkit::checks::linearizability;
use testkit::notation::hist;
use testkit::oracle::linear::expected;
use testkit::strategy;
use testkit::unique::{big_history, kv_append_history, unique_history};
use testkit::Rng;

// ---------------------------------------------------------------- helpers

fn all(h: &History) -> Vec<OpId> {
    h.ops.iter().map(|o| o.id).collect()
}

/// The fast path's result on a history of one key, if one applies.
fn decide(h: &History, model: ModelKind, nil_read: NilRead) -> Option<KeyResult> {
    let mut r = linearizability(h, model, nil_read, true);
    assert_eq!(r.keys.len(), 1, "one key");
    let k = r.keys.remove(0);
    k.method.is_fast_path().then_some(k)
}

fn run(h: &History, model: ModelKind, nil_read: NilRead) -> KeyResult {
    decide(h, model, nil_read).expect("fast path applies")
}

/// The general search's verdict on a history.
fn wgl(h: &History, model: ModelKind, nil_read: NilRead) -> Verdict {
    linearizability(h, model, nil_read, false).verdict
}

fn i(x: i64) -> Value {
    Value::Int(x)
}

fn nil() -> Value {
    Value::Nil
}

fn lines(r: &KeyResult) -> Vec<u64> {
    r.anomalies[0].ops.iter().map(|o| o.invoke_line).collect()
}

/// The fast path's result on a one-line history (nil reads unknown),
/// asserting the rule its first anomaly names and the lines of its ops.
fn anomaly(model: ModelKind, notation: &str, rule: &str, op_lines: &[u64]) -> KeyResult {
    let r = run(&hist(notation), model, NilRead::Unknown);
    assert_eq!((reason(&r).as_str(), lines(&r).as_slice()), (rule, op_lines), "{notation}");
    r
}

/// A valid key's witness, as op ids.
fn witness(r: &KeyResult) -> Vec<u32> {
    r.stats.witness.as_ref().expect("a witness").ops.iter().map(|o| o.0).collect()
}

/// The rule the first anomaly names, as the JSON report shows it.
fn reason(r: &KeyResult) -> String {
    let j = serde_json::to_value(&r.anomalies[0].detail).unwrap();
    j["reason"].as_str().unwrap().to_string()
}

/// The witness is a legal, real-time-respecting sequence that contains
/// every ok op whose effect matters.
fn assert_witness(h: &History, ids: &[OpId], model: ModelKind, nil_read: NilRead, r: &KeyResult) {
    let Some(w) = &r.stats.witness else { return };
    let w = &w.ops;
    for (a, &x) in w.iter().enumerate() {
        for &y in &w[a + 1..] {
            assert!(!h.op(y).precedes(h.op(x)), "witness {w:?} puts {y:?} after {x:?} against real time");
        }
    }
    for &id in ids {
        let op = h.op(id);
        let is_read = matches!(op.f, F::Read | F::Get);
        if op.outcome == Outcome::Ok && !w.contains(&id) {
            panic!("ok op {id:?} missing from witness {w:?}");
        }
        if op.outcome == Outcome::Fail || (op.outcome == Outcome::Info && is_read) {
            assert!(!w.contains(&id), "witness {w:?} has dropped op {id:?}");
        }
    }
    struct Replay<'a>(&'a History, &'a [OpId]);
    impl ModelVisitor for Replay<'_> {
        type Output = ();
        fn visit<M: Model>(self, m: &M) {
            let (h, w) = (self.0, self.1);
            let mut s = m.init();
            for &id in w {
                s = m.step(&s, h.op(id)).unwrap_or_else(|| panic!("witness {w:?} illegal at {id:?}"));
            }
        }
    }
    model.visit(nil_read, Replay(h, w));
}

// ------------------------------------------------------ hand-written cases

#[test]
fn brief_example_write_write_read() {
    // w3 < w4 < read -> 3.
    let h = hist("0 write 3 | 1 write 4 | 2 read 3");
    let r = run(&h, ModelKind::Register, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(r.method, Method::UniqueRegister);
    assert_eq!(lines(&r), vec![5, 3, 1]);
    assert_eq!(reason(&r), "conflicting-value-order");
    let e = &r.anomalies[0].explanation;
    assert!(e.contains("In detail: it began after process 1 write 4 -> ok (lines 3-4) completed"), "{e}");
    assert!(e.starts_with("Stale read: process 2 read -> 3 (lines 5-6) saw 3 after 4 had overwritten it."), "{e}");
    assert!(e.contains("must see 4 or a later value"), "{e}");
}

/// #18 §2: a key a fast path decides invalid still gets the longest
/// linearizable prefix (from a bounded search) for the timeline to step
/// through; the anomaly stays the fast path's proof.
#[test]
fn a_fast_path_invalid_key_carries_the_searchs_longest_prefix() {
    let h = hist("0 write 3 | 1 write 4 | 2 read 3");
    let r = run(&h, ModelKind::Register, NilRead::Unknown);
    assert_eq!((r.verdict, r.method), (Verdict::Invalid, Method::UniqueRegister));
    assert!(!matches!(r.anomalies[0].detail.as_deref(), Some(AnomalyDetail::Search(_))));
    let p = r.stats.prefix.as_ref().expect("a prefix for the timeline");
    let prefix: Vec<u32> = p.longest_prefix.iter().map(|o| o.id.0).collect();
    assert_eq!(prefix, vec![0, 1], "both writes linearize, then the read of 3 cannot");
    assert_eq!(p.failed_op.id, OpId(2));
    assert_eq!(p.states, vec!["4".to_string()]);
    // A valid key needs none.
    let ok = run(&hist("0 write 3 | 1 read 3"), ModelKind::Register, NilRead::Unknown);
    assert!(ok.stats.prefix.is_none());
}

#[test]
fn concurrent_writes_either_order() {
    // w1 and w2 overlap; reads see 2 then 1: valid with w2 before w1.
    let h = hist("0 invoke write 1 | 1 invoke write 2 | 0 ok write 1 | 1 ok write 2 | 2 read 1");
    let r = run(&h, ModelKind::Register, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Valid);
    let w: Vec<u32> = witness(&r);
    assert_eq!(w, vec![1, 0, 2]);
    assert_witness(&h, &all(&h), ModelKind::Register, NilRead::Unknown, &r);
}

#[test]
fn read_of_unwritten_and_failed_values() {
    let r =
        anomaly(ModelKind::Register, "0 invoke write 1 | 0 fail write 1 | 1 read 1", "read-of-failed-write", &[3, 1]);
    assert_eq!(r.verdict, Verdict::Invalid);
    let h = hist("1 read 9");
    let r = run(&h, ModelKind::Register, NilRead::Unknown);
    assert_eq!(reason(&r), "read-of-unwritten-value");
    assert!(r.anomalies[0].explanation.contains("returned 9, a value that no operation wrote"));
}

#[test]
fn read_completing_before_its_write() {
    anomaly(ModelKind::Register, "1 read 5 | 0 write 5", "read-before-write", &[1, 3]);
}

#[test]
fn nil_read_rules() {
    // A write completes, then a read returns nil.
    let h = hist("0 write 1 | 1 read null");
    assert_eq!(run(&h, ModelKind::Register, NilRead::Unknown).verdict, Verdict::Valid);
    let r = run(&h, ModelKind::Register, NilRead::Absent);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(lines(&r), vec![3, 1]);
    assert!(r.anomalies[0].explanation.contains("the initial value nil"), "{}", r.anomalies[0].explanation);
    // Concurrent with the write: fine under Absent too.
    let h = hist("0 invoke write 1 | 1 invoke read null | 0 ok write 1 | 1 ok read null");
    assert_eq!(run(&h, ModelKind::Register, NilRead::Absent).verdict, Verdict::Valid);
}

#[test]
fn info_writes() {
    // An info write that someone read took effect, with no end.
    let h = hist("0 invoke write 1 | 0 info write 1 | 1 write 2 | 2 read 1 | 3 read 2");
    // 1 may land after 2, but then the read of 2 (after the read of 1) is stale.
    let r = run(&h, ModelKind::Register, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Invalid);
    // Without the last read: valid, the info write landing late.
    let h2 = hist("0 invoke write 1 | 0 info write 1 | 1 write 2 | 2 read 1");
    let r = run(&h2, ModelKind::Register, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Valid);
    assert_witness(&h2, &all(&h2), ModelKind::Register, NilRead::Unknown, &r);
    // An unread info write is dropped from the witness.
    let h3 = hist("0 invoke write 1 | 0 info write 1");
    let r = run(&h3, ModelKind::Register, NilRead::Unknown);
    assert_eq!(witness(&r), Vec::<u32>::from([]));
}

#[test]
fn not_applicable() {
    // Duplicate values, a successful cas, a write of nil: the general search decides.
    let dup = hist("0 write 1 | 0 invoke write 1");
    assert!(decide(&dup, ModelKind::Register, NilRead::Unknown).is_none());
    let cas = hist("0 cas [1,2]");
    assert_misfit(&cas, ModelKind::Register);
    let r = run(&cas, ModelKind::CasRegister, NilRead::Unknown);
    assert_eq!(reason(&r), "cas-of-unwritten-value");
    let failed_cas = hist("0 invoke cas [1,2] | 0 fail cas [1,2]");
    assert!(decide(&failed_cas, ModelKind::CasRegister, NilRead::Unknown).is_some());
    let wnil = hist("0 write null");
    assert!(decide(&wnil, ModelKind::Register, NilRead::Unknown).is_none());
    let app = hist("0 append x");
    // kv appends are `kv-append`'s (see the kv-append tests); a repeated
    // put value is not.
    assert_eq!(run(&app, ModelKind::Kv, NilRead::Unknown).method, Method::KvAppend);
    let app2 = hist("0 append x | 0 put p | 0 invoke put p");
    assert!(decide(&app2, ModelKind::Kv, NilRead::Unknown).is_none());
    assert_misfit(&app, ModelKind::Queue);
}

/// Ops the model lacks are bad input: no path, fast or general, decides.
fn assert_misfit(h: &History, model: ModelKind) {
    let cfg = checker::CheckConfig {
        checks: vec![checker::CheckName::Linearizable],
        model: Some(model),
        ..checker::CheckConfig::default()
    };
    let e = checker::check(h, &cfg).unwrap_err();
    assert!(matches!(e, checker::CheckError::BadValue { .. }), "{e}");
}

#[test]
fn kv_initial_is_empty_string() {
    let h = hist(r#"0 put a | 1 get """#);
    let r = run(&h, ModelKind::Kv, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.anomalies[0].explanation.contains("the initial value \"\""), "{}", r.anomalies[0].explanation);
    let h = hist(r#"1 get "" | 0 invoke put a"#);
    assert_eq!(run(&h, ModelKind::Kv, NilRead::Unknown).verdict, Verdict::Valid);
}

#[test]
fn general_cycle_explanation_names_four_ops() {
    // Two forward zones overlapping: value 1 = {w1, r1 late}, value 2 = {w2, r2 late}.
    let h = hist("0 write 1 | 1 write 2 | 2 read 1 | 3 read 2");
    let r = run(&h, ModelKind::Register, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(reason(&r), "conflicting-value-order");
    let Some(AnomalyDetail::Register(RegisterRule::ConflictingValueOrder { writes, .. })) =
        r.anomalies[0].detail.as_deref()
    else {
        panic!("{:?}", r.anomalies[0].detail)
    };
    assert_eq!(*writes, Some([Some(OpId(0)), Some(OpId(1))]));
}

#[test]
fn cas_chains() {
    // An unread info write, an info cas from it, and a read of the cas's value: valid.
    let h = hist("0 invoke write 1 | 0 info write 1 | 1 invoke cas [1,2] | 1 info cas [1,2] | 2 read 2");
    let r = run(&h, ModelKind::CasRegister, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(witness(&r), Vec::<u32>::from([0, 1, 2]));
    // Two cas ops from 1 that both took effect.
    anomaly(ModelKind::CasRegister, "0 write 1 | 1 cas [1,2] | 2 cas [1,3]", "double-cas", &[3, 5]);
    // A read of 1 that began after the cas 1 -> 2 completed.
    let r = anomaly(ModelKind::CasRegister, "0 write 1 | 1 cas [1,2] | 2 read 1", "cas-chain-order", &[5, 3]);
    let e = &r.anomalies[0].explanation;
    assert!(e.contains("values 1 -> 2 can only follow one another"), "{e}");
    // cas from the initial value after a write completed (NilRead does not matter for cas).
    anomaly(ModelKind::CasRegister, "0 write 1 | 1 cas [null,2]", "conflicting-value-order", &[3, 1]);
    // A cas cycle with no head is left to the general search.
    let h = hist("1 cas [1,2] | 2 cas [2,1]");
    assert!(decide(&h, ModelKind::CasRegister, NilRead::Unknown).is_none());
}

#[test]
fn append_divergent_and_stale_reads() {
    let h = hist("0 invoke append 1 | 1 invoke append 2 | 0 ok append 1 | 1 ok append 2 | 2 read [1,2] | 3 read [2]");
    let r = run(&h, ModelKind::ListAppend, NilRead::Unknown);
    assert_eq!(r.method, Method::AppendPrefix);
    assert_eq!(reason(&r), "divergent-reads");
    assert_eq!(lines(&r), vec![7, 5]);
    // Stale: a read after [1 2] returns [1].
    let r = anomaly(
        ModelKind::ListAppend,
        "0 append 1 | 0 append 2 | 2 read [1,2] | 3 read [1]",
        "real-time-order",
        &[3, 7],
    );
    let e = &r.anomalies[0].explanation;
    assert!(e.contains("returned only 1 element, without 2"), "{e}");
}

#[test]
fn append_lost_and_unread_elements() {
    // An ok append, then a read that lacks it.
    anomaly(ModelKind::ListAppend, "0 append 1 | 1 append 2 | 2 read [2]", "lost-append", &[1, 5]);
    // A read of an element nobody appended; a duplicate element.
    let h = hist("2 read [7]");
    assert_eq!(reason(&run(&h, ModelKind::ListAppend, NilRead::Unknown)), "read-of-unappended-element");
    let h = hist("0 append 1 | 2 read [1,1]");
    assert_eq!(reason(&run(&h, ModelKind::ListAppend, NilRead::Unknown)), "duplicate-element");
    // An unseen ok append concurrent with the last read: valid, placed last.
    let h = hist("0 append 1 | 1 invoke append 2 | 2 invoke read null | 1 ok append 2 | 2 ok read [1]");
    let r = run(&h, ModelKind::ListAppend, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Valid);
    assert_witness(&h, &all(&h), ModelKind::ListAppend, NilRead::Unknown, &r);
}

#[test]
fn append_read_before_append() {
    let r = anomaly(ModelKind::ListAppend, "2 read [1] | 0 append 1", "real-time-order", &[1, 3]);
    assert!(r.anomalies[0].explanation.contains("completed before process 0 append 1"));
}

// ------------------------------------------------- random unique histories

/// Fast path vs oracle (and the general search) on one generated history.
fn agree(model: ModelKind, nil_read: NilRead, h: &History) -> Result<(), TestCaseError> {
    let ids = all(h);
    let Some(fast) = decide(h, model, nil_read) else { return Ok(()) };
    let expect = expected(h, model, nil_read)[0].1;
    prop_assert_eq!(fast.verdict, expect, "model {} {:?}\n{:#?}", model, nil_read, fast);
    prop_assert_eq!(wgl(h, model, nil_read), expect, "wgl disagrees with the oracle");
    if fast.verdict == Verdict::Valid {
        assert_witness(h, &ids, model, nil_read, &fast);
    } else if fast.verdict == Verdict::Invalid {
        prop_assert_eq!(fast.anomalies.len(), 1);
        prop_assert!(!fast.anomalies[0].ops.is_empty());
    }
    Ok(())
}

fn nil_read(absent: bool) -> NilRead {
    if absent {
        NilRead::Absent
    } else {
        NilRead::Unknown
    }
}

/// One proptest per model: its fast path agrees with the oracle on
/// shrinkable unique-value histories of up to 7 ops.
macro_rules! agrees_with_oracle {
    ($($name:ident: $model:ident),+ $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $name(h in strategy::unique_history(ModelKind::$model, 7), absent in any::<bool>()) {
                    agree(ModelKind::$model, nil_read(absent), &h)?;
                }
            )+
        }
    };
}

agrees_with_oracle! {
    register_agrees_with_oracle: Register,
    cas_register_agrees_with_oracle: CasRegister,
    kv_agrees_with_oracle: Kv,
    list_append_agrees_with_oracle: ListAppend,
}

/// Many more and bigger histories than the proptests; minutes in release.
#[test]
#[ignore = "long soak; run in release"]
fn soak_agreement() {
    for model in [ModelKind::Register, ModelKind::CasRegister, ModelKind::Kv, ModelKind::ListAppend] {
        for seed in 0..100_000u64 {
            let h = unique_history(model, 9, &mut Rng::new(seed));
            if let Err(e) = agree(model, nil_read(seed % 2 == 0), &h) {
                panic!("{model} seed {seed}: {e}");
            }
        }
    }
}

/// The generator makes both verdicts often, and the fast path applies.
#[test]
fn generator_covers_both_verdicts() {
    for model in [ModelKind::Register, ModelKind::CasRegister, ModelKind::Kv, ModelKind::ListAppend] {
        let (mut valid, mut invalid) = (0, 0);
        for seed in 0..300 {
            let h = unique_history(model, 7, &mut Rng::new(seed));
            match decide(&h, model, NilRead::Unknown).map(|r| r.verdict) {
                Some(Verdict::Valid) => valid += 1,
                Some(Verdict::Invalid) => invalid += 1,
                _ => {}
            }
        }
        assert!(valid > 40 && invalid > 40, "{model}: {valid} valid, {invalid} invalid");
    }
}

/// Nanoseconds this thread has run on a CPU (Linux), else `None`: wall time
/// is meaningless on a loaded shared machine.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Best of three runs over all keys, on one thread: (wall, thread CPU time).
fn time_all_keys(h: &History, model: ModelKind) -> (std::time::Duration, Option<std::time::Duration>) {
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let mut best = (std::time::Duration::MAX, None::<std::time::Duration>);
    for _ in 0..3 {
        let (start, cpu0) = (std::time::Instant::now(), thread_cpu_ns());
        let r = one.install(|| linearizability(h, model, NilRead::Unknown, true));
        assert!(r.keys.iter().all(|k| k.method.is_fast_path() && k.verdict == Verdict::Valid));
        let wall = start.elapsed();
        let cpu = cpu0.zip(thread_cpu_ns()).map(|(a, b)| std::time::Duration::from_nanos(b - a));
        best = (best.0.min(wall), best.1.min(cpu).or(cpu));
    }
    best
}

/// Run with `cargo test --release -p conch-checker --test fast_paths perf -- --ignored --nocapture`.
#[test]
#[ignore = "performance measurement; run in release"]
fn perf_one_million_register_ops() {
    let h = big_history(ModelKind::Register, 1_000_000, 100, 32, 7);
    let d = time_all_keys(&h, ModelKind::Register);
    eprintln!("unique-register: {} ops, 100 keys, 32 clients: wall {:?}, cpu {:?}", h.ops.len(), d.0, d.1);
    let h = big_history(ModelKind::CasRegister, 1_000_000, 100, 32, 7);
    let d = time_all_keys(&h, ModelKind::CasRegister);
    let ok_cas = h.ops.iter().filter(|o| o.f == F::Cas && o.outcome == Outcome::Ok).count();
    eprintln!("unique-register with {ok_cas} ok cas: {} ops: wall {:?}, cpu {:?}", h.ops.len(), d.0, d.1);
    // The same work with each key's ops contiguous in memory: the cost of
    // the algorithm itself, without the cache misses of 100 interleaved keys.
    let h = big_history(ModelKind::Register, 10_000, 1, 32, 7);
    let ids = all(&h);
    let (start, cpu0) = (std::time::Instant::now(), thread_cpu_ns());
    for _ in 0..100 {
        assert_eq!(decide(&h, ModelKind::Register, NilRead::Unknown).unwrap().verdict, Verdict::Valid);
    }
    let cpu = cpu0.zip(thread_cpu_ns()).map(|(a, b)| std::time::Duration::from_nanos(b - a));
    eprintln!("unique-register, one key of {} ops, x100: wall {:?}, cpu {cpu:?}", ids.len(), start.elapsed());
    let h = big_history(ModelKind::ListAppend, 100_000, 100, 32, 7);
    let d = time_all_keys(&h, ModelKind::ListAppend);
    eprintln!("append-prefix: {} ops, 100 keys, 32 clients: wall {:?}, cpu {:?}", h.ops.len(), d.0, d.1);
}

/// The big generator's histories are small-scale checked too, against the
/// general search, in debug mode.
#[test]
fn big_generator_is_linearizable_small() {
    for model in [ModelKind::Register, ModelKind::CasRegister, ModelKind::ListAppend] {
        let h = big_history(model, 300, 3, 4, 1);
        let fast = linearizability(&h, model, NilRead::Unknown, true);
        assert_eq!((fast.verdict, wgl(&h, model, NilRead::Unknown)), (Verdict::Valid, Verdict::Valid));
        for (ids, k) in h.by_key().values().zip(&fast.keys) {
            assert!(k.method.is_fast_path());
            assert_witness(&h, ids, model, NilRead::Unknown, k);
        }
    }
}

/// Through the driver: the fast path decides keyed histories, per key.
#[test]
fn driver_uses_fast_paths() {
    let mut evs = Vec::new();
    let rows: [(u64, &str, &str, Value, i64); 6] = [
        (0, "invoke", "write", i(1), 1),
        (1, "invoke", "write", i(1), 2),
        (0, "ok", "write", i(1), 1),
        (1, "ok", "write", i(1), 2),
        (2, "invoke", "read", nil(), 2),
        (2, "ok", "read", i(7), 2),
    ];
    for (line, (p, t, f, v, k)) in rows.into_iter().enumerate() {
        let mut e = Event::new(line as u64 + 1, EventType::parse(t).unwrap(), Process::Client(p), F::parse(f), v);
        e.key = Some(Value::Int(k));
        evs.push(e);
    }
    let h = History::from_events("t", evs).unwrap();
    let res = linearizability(&h, ModelKind::Register, NilRead::Unknown, true);
    assert_eq!(res.verdict, Verdict::Invalid);
    let got: Vec<(Option<Value>, Verdict, Method)> =
        res.keys.iter().map(|k| (k.key.clone(), k.verdict, k.method)).collect();
    assert_eq!(
        got,
        vec![
            (Some(i(1)), Verdict::Valid, Method::UniqueRegister),
            (Some(i(2)), Verdict::Invalid, Method::UniqueRegister)
        ]
    );
    let slow = linearizability(&h, ModelKind::Register, NilRead::Unknown, false);
    assert!(slow.keys.iter().all(|k| k.method == Method::Wgl));
}

// ------------------------------------------------------------- kv-append

/// kv-append vs the oracle and the general search on one generated history;
/// returns the fast verdict, if the path applied.
fn agree_kv(nil_read: NilRead, h: &History) -> Result<Option<Verdict>, TestCaseError> {
    let ids = all(h);
    let Some(fast) = decide(h, ModelKind::Kv, nil_read) else { return Ok(None) };
    let expect = expected(h, ModelKind::Kv, nil_read)[0].1;
    prop_assert_eq!(fast.verdict, expect, "{:?}\n{}\n{:#?}", nil_read, testkit::small::render(h), fast);
    prop_assert_eq!(wgl(h, ModelKind::Kv, nil_read), expect, "wgl disagrees with the oracle");
    if fast.verdict == Verdict::Valid {
        assert_witness(h, &ids, ModelKind::Kv, nil_read, &fast);
    } else if fast.verdict == Verdict::Invalid {
        prop_assert_eq!(fast.anomalies.len(), 1);
        prop_assert!(!fast.anomalies[0].ops.is_empty());
        prop_assert!(!fast.anomalies[0].explanation.is_empty());
    }
    Ok(Some(fast.verdict))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn kv_append_agrees_with_oracle(h in strategy::kv_append_history(7), absent in any::<bool>()) {
        agree_kv(nil_read(absent), &h)?;
    }
}

/// Bigger kv histories than the proptest; minutes in release.
#[test]
#[ignore = "long soak; run in release"]
fn kv_append_soak() {
    for seed in 0..200_000u64 {
        let h = kv_append_history(9, &mut Rng::new(seed));
        if let Err(e) = agree_kv(nil_read(seed % 2 == 0), &h) {
            panic!("seed {seed}: {e}");
        }
    }
}

/// The kv generator makes both verdicts often, and kv-append decides them
/// (not the register path).
#[test]
fn kv_append_generator_covers_both_verdicts() {
    let (mut valid, mut invalid, mut none, mut branched) = (0, 0, 0, 0);
    for seed in 0..600 {
        let h = kv_append_history(7, &mut Rng::new(seed));
        match decide(&h, ModelKind::Kv, NilRead::Unknown) {
            Some(r) if r.method == Method::KvAppend && r.verdict == Verdict::Valid => valid += 1,
            Some(r) if r.method == Method::KvAppend && r.verdict == Verdict::Invalid => {
                invalid += 1;
                branched += usize::from(r.anomalies[0].explanation.contains("ways to match"));
            }
            Some(_) => {}
            None => none += 1,
        }
    }
    assert!(
        valid > 100 && invalid > 100 && branched >= 3 && none < 30,
        "{valid} valid, {invalid} invalid ({branched} over several matchings), {none} undecided"
    );
}

// ---------------------------------------------------- Porcupine kv fixtures

/// Every key of every Porcupine kv fixture is decided (no Unknown) through
/// the driver with fast paths on, and each file gets its expected verdict;
/// prints the time and the method of each key (`--nocapture`).
#[test]
fn porcupine_kv_every_key_decided() {
    let Some(dir) = testkit::fixtures::porcupine() else { return };
    let tsv = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let rows: Vec<(&str, Verdict)> = tsv
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(f, _)| f.starts_with("kv/"))
        .filter_map(|(f, v)| match v {
            "linearizable" => Some((f, Verdict::Valid)),
            "not-linearizable" => Some((f, Verdict::Invalid)),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), 6, "expected the six kv fixtures");
    for (file, want) in rows {
        let h = checker::read::read_path(&dir.join(file), &checker::read::ReadOptions::default()).unwrap().0;
        let t = std::time::Instant::now();
        let r = linearizability(&h, ModelKind::Kv, NilRead::Absent, true);
        let took = t.elapsed();
        let methods: Vec<String> = r
            .keys
            .iter()
            .map(|k| {
                format!("{}={}:{:?}", k.key.as_ref().map(|v| v.to_string()).unwrap_or_default(), k.method, k.verdict)
            })
            .collect();
        eprintln!("{file}: {:?} in {took:?}; {}", r.verdict, methods.join(" "));
        // The small files: every key's verdict matches the general search.
        if !file.contains("c50") {
            let slow = linearizability(&h, ModelKind::Kv, NilRead::Absent, false);
            for (mine, wgl) in r.keys.iter().zip(&slow.keys) {
                assert_eq!((&mine.key, mine.verdict), (&wgl.key, wgl.verdict), "{file}");
            }
        }
        assert_eq!(r.verdict, want, "{file}");
        assert!(r.keys.iter().all(|k| k.verdict != Verdict::Unknown), "{file}: {methods:?}");
        if want == Verdict::Invalid {
            let bad = r.keys.iter().find(|k| k.verdict == Verdict::Invalid).unwrap();
            assert_eq!(bad.anomalies.len(), 1);
            assert!(bad.anomalies[0].ops.iter().all(|o| o.invoke_line > 0));
            eprintln!("  key {:?}: {}", bad.key, bad.anomalies[0].explanation);
        }
    }
}

// ------------------------------------------------ kv-append, rule by rule

/// The kv-append path's result on a history in [`hist`]'s notation.
fn kv(text: &str) -> KeyResult {
    let h = hist(text);
    let r = run(&h, ModelKind::Kv, NilRead::Unknown);
    assert_eq!(r.method, Method::KvAppend);
    assert_witness(&h, &all(&h), ModelKind::Kv, NilRead::Unknown, &r);
    r
}

#[test]
fn kv_append_valid_with_witness() {
    let r = kv("0 put P | 1 invoke append a | 3 invoke append u | 1 ok append a | 2 get Pa | 3 ok append u");
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(witness(&r), Vec::<u32>::from([0, 1, 3, 2]));
}

#[test]
fn kv_append_unreadable_values() {
    let r = kv("0 append a | 1 get zz");
    assert_eq!((reason(&r), lines(&r)), ("read-of-unwritten-value".to_string(), vec![3]));
    let r = kv("0 invoke append a | 0 fail append a | 1 append b | 2 get ab");
    assert_eq!((reason(&r), lines(&r)), ("read-of-failed-write".to_string(), vec![5, 1]));
    assert!(r.anomalies[0].explanation.contains("failed"), "{}", r.anomalies[0].explanation);
    let r = kv("0 append a | 1 get aa");
    assert_eq!((reason(&r), lines(&r)), ("duplicate-element".to_string(), vec![3, 1]));
}

#[test]
fn kv_append_repeated_strings_are_matched() {
    // Two appends of "a": the get sees both.
    assert_eq!(kv("0 append a | 0 append a | 1 get aa").verdict, Verdict::Valid);
    // The get of "ab" saw the first "a" (the second came after "b"), but
    // the get of "a" began after the second "a" completed and must see "ab".
    let r = kv("0 append a | 1 append b | 0 append a | 2 get a");
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.anomalies[0].explanation.contains("ways to match"), "{}", r.anomalies[0].explanation);
}

#[test]
fn kv_append_ambiguous_split_branches() {
    // "b" is both a put value and an appended string; the get of "b" ends
    // before the put begins, so it read the initial "" + "b".
    let r = kv("0 append b | 1 get b | 2 put b | 1 get b");
    assert_eq!(r.verdict, Verdict::Valid);
    // Too many splits: the general search decides.
    let h = hist("0 append a | 0 append aa | 0 append aaa | 1 get aaaaaa");
    assert!(decide(&h, ModelKind::Kv, NilRead::Unknown).is_none());
}

#[test]
fn kv_append_divergent_and_two_epochs() {
    let r = kv("0 invoke append a | 1 invoke append b | 0 ok append a | 1 ok append b | 2 get ab | 3 get ba");
    assert_eq!((reason(&r), lines(&r)), ("divergent-reads".to_string(), vec![7, 5]));
    let r = kv("0 put P | 1 append a | 2 get Pa | 0 put Q | 2 get Qa");
    assert_eq!(reason(&r), "append-in-two-epochs");
    assert_eq!(lines(&r), vec![5, 9, 3]);
}

#[test]
fn kv_append_real_time_and_epoch_order() {
    let r = kv("2 get a | 0 append a");
    assert_eq!((reason(&r), lines(&r)), ("real-time-order".to_string(), vec![1, 3]));
    assert!(r.anomalies[0].explanation.contains("process 2 get"), "{}", r.anomalies[0].explanation);
    // The get of "Pa" began after the put of "Q" completed.
    let r = kv("0 put P | 1 append a | 0 put Q | 2 get Pa");
    assert_eq!(reason(&r), "conflicting-value-order");
    assert!(lines(&r).contains(&5) && lines(&r).contains(&7), "{:?}", lines(&r));
    // The get of "" began after the put completed: not the initial epoch.
    let r = kv("1 append a | 0 put P | 2 get a");
    assert_eq!(reason(&r), "conflicting-value-order");
}

#[test]
fn kv_append_lost_and_dropped_appends() {
    // An ok append between the put and a later get that does not show it.
    let r = kv("0 put P | 1 append u | 2 get P");
    assert_eq!((reason(&r), lines(&r)), ("lost-append".to_string(), vec![3, 1, 5]));
    // The same append as info: it may never have happened.
    assert_eq!(kv("0 put P | 1 invoke append u | 1 info append null | 2 get P").verdict, Verdict::Valid);
    // An info append a get saw did happen, and must be in the witness.
    let r = kv("1 invoke append u | 1 info append null | 2 get u");
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(witness(&r), Vec::<u32>::from([0, 1]));
    // An ok put nobody saw, inside the run of "P": invalid; concurrent with
    // the get: valid.
    assert_eq!(kv("0 put P | 1 put Q | 3 append a | 2 get Pa").verdict, Verdict::Invalid);
    let concurrent = "0 put P | 1 invoke put Q | 2 invoke get null | 3 append a | 2 ok get Pa | 1 ok put Q";
    assert_eq!(kv(concurrent).verdict, Verdict::Valid);
}

#[test]
fn kv_append_branches_and_limits() {
    // "b" is a put value and an appended string and the put overlaps the
    // first get: both its readings survive real time and are tried; the
    // second get began after the put, so it read the put's run.
    let r = kv("0 invoke put b | 1 append b | 2 get b | 0 ok put b | 1 append c | 2 get bc");
    assert_eq!(r.verdict, Verdict::Valid);
    // Too many ways to match 7 occurrences of "a" to 12 appends of it.
    let h = hist(&("0 append a | ".repeat(12) + "1 get aaaaaaa"));
    assert!(decide(&h, ModelKind::Kv, NilRead::Unknown).is_none());
}
