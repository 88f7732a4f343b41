//! Tests of the search: against the brute-force oracle on thousands of random
//! histories per model, by hand per model, and under exhausted budgets.

use checker::history::{History, OpId, F};
use checker::model::{ModelKind, NilRead};
use checker::report::{AnomalyDetail, AnomalyKind, Budget, CheckResult, Method, SearchFailure, Verdict};
use checker::value::Value;
use checker::{CheckConfig, CheckError, CheckName};
use proptest::prelude::*;
use std::time::Duration;
use testkit::checks::{linearizability, linearizability_within};
use testkit::notation::hist;
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

fn verdict(h: &History, model: ModelKind, nil_read: NilRead) -> Verdict {
    let r = check(h, model, nil_read);
    // The oracle must agree on every hand-written case too.
    let want = expected(h, model, nil_read);
    let got: Vec<(Option<Value>, Verdict)> = r.keys.iter().map(|k| (k.key.clone(), k.verdict)).collect();
    assert_eq!(got, want, "search and oracle disagree on\n{}", render(h));
    r.verdict
}

// ---------------------------------------------------------------- registers

#[test]
fn stale_read_is_invalid_and_explained() {
    let h = hist("0 write 1 | 0 write 2 | 1 read 1");
    assert_eq!(verdict(&h, ModelKind::CasRegister, NilRead::Unknown), Verdict::Invalid);
    let r = check(&h, ModelKind::CasRegister, NilRead::Unknown);
    let k = &r.keys[0];
    assert_eq!(k.method, Method::Wgl);
    assert_eq!(k.anomalies.len(), 1);
    let a = &k.anomalies[0];
    assert_eq!(a.kind, AnomalyKind::NotLinearizable);
    assert_eq!(a.ops[0].id, OpId(2), "the read is the op that could not be linearized");
    let named: Vec<OpId> = a.ops.iter().map(|o| o.id).collect();
    assert_eq!(named, vec![OpId(2), OpId(0), OpId(1)], "the read, the write it read and the write it missed");
    assert!(
        a.explanation.starts_with(
            "Stale read: process 1 read -> 1 (lines 5-6) returned 1 after process 0 write 2 -> ok (lines 3-4) \
             had overwritten it. In detail: The last write of 1, process 0 write 1 -> ok (lines 1-2), completed \
             before process 0's write (lines 3-4) began, and that write completed before the read began"
        ),
        "{}",
        a.explanation
    );
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

/// #18 §5: the explanation names the cause first. A read of the initial
/// value after a completed write missed that write.
#[test]
fn stale_read_of_the_initial_value_names_the_write_it_missed() {
    let h = hist("0 write 1 | 1 read null");
    assert_eq!(verdict(&h, ModelKind::CasRegister, NilRead::Absent), Verdict::Invalid);
    let a = &check(&h, ModelKind::CasRegister, NilRead::Absent).keys[0].anomalies[0];
    let named: Vec<OpId> = a.ops.iter().map(|o| o.id).collect();
    assert_eq!(named, vec![OpId(1), OpId(0)]);
    assert!(
        a.explanation.starts_with(
            "Stale read: process 1 read -> nil (lines 3-4) returned nil, the initial value, after process 0 \
             write 1 -> ok (lines 1-2) had overwritten it. In detail: The object started with nil and no op \
             wrote it, and that write completed before the read began."
        ),
        "{}",
        a.explanation
    );
}

/// A read of a value no op wrote is said to be that, not stale.
#[test]
fn read_of_a_value_nobody_wrote_says_so() {
    let h = hist("0 write 1 | 1 read 3");
    assert_eq!(verdict(&h, ModelKind::CasRegister, NilRead::Unknown), Verdict::Invalid);
    let a = &check(&h, ModelKind::CasRegister, NilRead::Unknown).keys[0].anomalies[0];
    assert!(
        a.explanation
            .starts_with("Impossible read: process 1 read -> 3 (lines 3-4) returned 3, which no operation wrote"),
        "{}",
        a.explanation
    );
    assert_eq!(a.ops.len(), 1);
}

#[test]
fn concurrent_read_may_see_either_value() {
    for seen in [1, 2] {
        let h = hist(&format!("0 write 1 | 0 invoke write 2 | 1 read {seen} | 0 ok write 2"));
        assert_eq!(verdict(&h, ModelKind::Register, NilRead::Unknown), Verdict::Valid, "read {seen}");
        let r = check(&h, ModelKind::Register, NilRead::Unknown);
        assert_eq!(r.keys[0].stats.witness.as_ref().unwrap().ops.len(), 3);
    }
}

#[test]
fn info_write_may_or_may_not_have_happened() {
    let with = |reads: &[i64]| {
        let reads: String = reads.iter().map(|v| format!(" | 0 read {v}")).collect();
        hist(&format!("0 write 1 | 1 invoke write 2 | 1 info write 2{reads}"))
    };
    assert_eq!(verdict(&with(&[1]), ModelKind::Register, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&with(&[2]), ModelKind::Register, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&with(&[1, 2]), ModelKind::Register, NilRead::Unknown), Verdict::Valid);
    // Once seen, the write cannot be undone.
    assert_eq!(verdict(&with(&[2, 1]), ModelKind::Register, NilRead::Unknown), Verdict::Invalid);
    // A write that failed never happened.
    let failed = hist("1 invoke write 2 | 1 fail write 2 | 0 read 2");
    assert_eq!(verdict(&failed, ModelKind::Register, NilRead::Unknown), Verdict::Invalid);
}

#[test]
fn cas_semantics() {
    let cas = |old: i64, new: i64, outcome: &str, read: i64| {
        hist(&format!("0 write 1 | 1 invoke cas [{old},{new}] | 1 {outcome} cas [{old},{new}] | 0 read {read}"))
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
    let after_write = hist("0 write 1 | 1 read null");
    assert_eq!(verdict(&after_write, ModelKind::CasRegister, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&after_write, ModelKind::CasRegister, NilRead::Absent), Verdict::Invalid);
    let before_write = hist("1 read null | 0 write 1");
    assert_eq!(verdict(&before_write, ModelKind::CasRegister, NilRead::Absent), Verdict::Valid);
    assert_eq!(verdict(&before_write, ModelKind::CasRegister, NilRead::Unknown), Verdict::Valid);
}

// ---------------------------------------------------------------- other models

#[test]
fn kv_appends_and_missing_keys() {
    let h = |got: &str| {
        hist(&format!(
            r#"0 get "" | 0 put a | 1 invoke append b | 0 invoke append c | 1 ok append b | 0 ok append c | 2 get "{got}""#
        ))
    };
    assert_eq!(verdict(&h("abc"), ModelKind::Kv, NilRead::Absent), Verdict::Valid);
    assert_eq!(verdict(&h("acb"), ModelKind::Kv, NilRead::Absent), Verdict::Valid);
    assert_eq!(verdict(&h("ab"), ModelKind::Kv, NilRead::Absent), Verdict::Invalid);
    assert_eq!(verdict(&h(""), ModelKind::Kv, NilRead::Absent), Verdict::Invalid);
}

#[test]
fn keys_are_checked_separately() {
    let h = hist(r#"0 put a @x | 0 get "" @y | 1 get "" @x"#);
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
    let both = hist("0 acquire null | 1 acquire null");
    assert_eq!(verdict(&both, ModelKind::Mutex, NilRead::Unknown), Verdict::Invalid);
    let handed = hist(
        "0 acquire null | 1 invoke acquire null | 0 invoke release null | 1 ok acquire null | 0 info release null",
    );
    assert_eq!(verdict(&handed, ModelKind::Mutex, NilRead::Unknown), Verdict::Valid);
}

/// Found on Knossos's mutex/bad/etcd.edn: the explanation printed each
/// lock op as "acquire -> nil", as if the acquire had read a nil.
#[test]
fn regression_mutex_ops_are_named_without_a_nil_result() {
    let both = hist("0 acquire null | 1 acquire null");
    let r = check(&both, ModelKind::Mutex, NilRead::Unknown);
    let a = &r.keys[0].anomalies[0];
    assert!(!a.explanation.contains("-> nil"), "{}", a.explanation);
    let named: Vec<String> = a.ops.iter().map(|o| o.to_string()).collect();
    assert!(named.iter().any(|o| o.starts_with("process 1 acquire -> ok")), "{named:?}");
    // A read's nil still says what it read.
    let read = hist("0 write 1 | 1 read null");
    let r = check(&read, ModelKind::CasRegister, NilRead::Absent);
    let named: Vec<String> = r.keys[0].anomalies[0].ops.iter().map(|o| o.to_string()).collect();
    assert!(named.iter().any(|o| o.contains("read -> nil")), "{named:?}");
}

#[test]
fn set_read_must_include_earlier_adds() {
    let h = |read: Vec<i64>| hist(&format!("0 add 1 | 1 invoke add 2 | 0 read {read:?} | 1 ok add 2"));
    assert_eq!(verdict(&h(vec![1]), ModelKind::Set, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(vec![2, 1]), ModelKind::Set, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(vec![2]), ModelKind::Set, NilRead::Unknown), Verdict::Invalid);
    assert_eq!(verdict(&h(vec![1, 3]), ModelKind::Set, NilRead::Unknown), Verdict::Invalid);
}

#[test]
fn counter_reads() {
    let h = |read: i64| hist(&format!("0 incr null | 0 invoke incr 5 | 1 read {read} | 0 info incr 5"));
    assert_eq!(verdict(&h(1), ModelKind::Counter, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(6), ModelKind::Counter, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(5), ModelKind::Counter, NilRead::Unknown), Verdict::Invalid);
    assert_eq!(verdict(&h(0), ModelKind::Counter, NilRead::Unknown), Verdict::Invalid);
}

#[test]
fn queue_is_fifo() {
    let h = |first: i64| hist(&format!("0 enqueue 1 | 0 enqueue 2 | 1 invoke dequeue null | 1 ok dequeue {first}"));
    assert_eq!(verdict(&h(1), ModelKind::Queue, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(2), ModelKind::Queue, NilRead::Unknown), Verdict::Invalid);
    let empty = hist("0 dequeue null");
    assert_eq!(verdict(&empty, ModelKind::Queue, NilRead::Unknown), Verdict::Valid);
}

#[test]
fn list_append_order() {
    let h = |read: Vec<i64>| hist(&format!("0 append 1 | 0 append 2 | 1 read {read:?}"));
    assert_eq!(verdict(&h(vec![1, 2]), ModelKind::ListAppend, NilRead::Unknown), Verdict::Valid);
    assert_eq!(verdict(&h(vec![2, 1]), ModelKind::ListAppend, NilRead::Unknown), Verdict::Invalid);
    assert_eq!(verdict(&h(vec![1]), ModelKind::ListAppend, NilRead::Unknown), Verdict::Invalid);
}

#[test]
fn multi_register_read_skew() {
    // Writes x = y = 1 in one txn; a concurrent txn reads x and y.
    let w = r#"[["w","x",1],["w","y",1]]"#;
    let h = |y: &str| {
        hist(&format!(
            r#"0 invoke txn {w} | 1 invoke txn [["r","x",0],["r","y",null]] | 1 ok txn [["r","x",1],["r","y",{y}]] | 0 ok txn {w}"#
        ))
    };
    assert_eq!(verdict(&h("1"), ModelKind::MultiRegister, NilRead::Absent), Verdict::Valid);
    // Saw x's write but not y's: the txn was not atomic.
    assert_eq!(verdict(&h("null"), ModelKind::MultiRegister, NilRead::Absent), Verdict::Invalid);
    assert_eq!(verdict(&h("null"), ModelKind::MultiRegister, NilRead::Unknown), Verdict::Valid);
}

#[test]
fn misfit_op_is_bad_input_not_guessed() {
    let h = hist("0 enqueue 1");
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
    let invokes = (0..writers).map(|p| format!("{} invoke write {}", 100 + p, p + 1));
    let reads = (1..=reads).chain([1]).map(|v| format!("0 read {v}"));
    hist(&invokes.chain(reads).collect::<Vec<_>>().join(" | "))
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
    for a in r.keys.iter().flat_map(|k| &k.anomalies) {
        cause_is_a_proof(model, nil_read, h, a)?;
    }
    Ok(want.iter().all(|(_, v)| *v == Verdict::Valid))
}

/// The value a register op can change the register to (a write's argument,
/// a cas's new value unless it is also the old one: `cas [v v]` changes
/// nothing, and leaving it out of a sub-history only drops a constraint).
fn produced(op: &checker::Op) -> Option<&Value> {
    match op.f {
        F::Write => Some(&op.input),
        F::Cas => match op.input.as_seq() {
            Some([old, new]) if old != new => Some(new),
            _ => None,
        },
        _ => None,
    }
}

/// Every read's cause as the register model names it (fail ops removed, as
/// the search sees them).
struct Causes<'a>(Vec<&'a checker::Op>);

impl checker::model::ModelVisitor for Causes<'_> {
    type Output = Vec<(usize, checker::model::ReadCause)>;
    fn visit<M: checker::model::Model>(self, m: &M) -> Self::Output {
        (0..self.0.len()).filter_map(|i| m.read_cause(&m.init(), &self.0, i).map(|c| (i, c))).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]
    /// #18 §5: every cause the register model names, for any read (not only
    /// the one a search failed on), is a proof by the oracle.
    #[test]
    fn every_named_read_cause_is_a_proof(
        h in strategy::small_history(ModelKind::CasRegister, GenConfig::default()),
        absent in any::<bool>(),
    ) {
        let nil_read = if absent { NilRead::Absent } else { NilRead::Unknown };
        let ops: Vec<&checker::Op> = h.ops.iter().filter(|o| o.outcome != checker::Outcome::Fail).collect();
        for (read, cause) in ModelKind::CasRegister.visit(nil_read, Causes(ops.clone())) {
            let mut named = vec![ops[read].id];
            match cause {
                checker::model::ReadCause::Stale { overwrite, .. } => named.push(ops[overwrite].id),
                // Relaxing their cas ops to writes would undo these proofs:
                // see every_cause_is_a_proof.
                checker::model::ReadCause::Unreachable { .. } | checker::model::ReadCause::ReusedWrite { .. } => {
                    continue
                }
                checker::model::ReadCause::StaleSeen { seen_by, .. } => {
                    // The read that saw the overwrite, and every write of its value.
                    let u = &ops[seen_by].output;
                    named.push(ops[seen_by].id);
                    named.extend(ops.iter().filter(|o| produced(o) == Some(u)).map(|o| o.id));
                }
                _ => {}
            }
            prop_assert!(relaxed_is_invalid(&h, &named, nil_read), "{cause:?} for {:?} in\n{}", ops[read].id, render(&h));
        }
    }
}

/// Every cause any model names for any op of `h` (not only the one a search
/// failed on) is a proof: the object is not linearizable by the oracle, and
/// the op with just the ops the cause names, in their real-time order, is
/// not linearizable either. Returns how many causes were checked.
fn every_cause_is_a_proof(model: ModelKind, nil_read: NilRead, h: &History) -> Result<usize, TestCaseError> {
    let ops: Vec<&checker::Op> = h.ops.iter().filter(|o| o.outcome != checker::Outcome::Fail).collect();
    let causes = model.visit(nil_read, Causes(ops.clone()));
    if causes.is_empty() {
        return Ok(0);
    }
    let whole = expected(h, model, nil_read);
    prop_assert!(
        whole.iter().any(|(_, v)| *v == Verdict::Invalid),
        "{model} {nil_read:?}: {causes:?} named for a linearizable history\n{}",
        render(h)
    );
    for (op, cause) in &causes {
        let mut ids: Vec<OpId> = std::iter::once(*op).chain(cause.ops()).map(|i| ops[i].id).collect();
        ids.sort();
        ids.dedup();
        prop_assert!(
            subset_is_invalid(h, &ids, model, nil_read, |_| {}),
            "{model} {nil_read:?}: {cause:?} for {:?}: the named ops {ids:?} alone are linearizable\n{}",
            ops[*op].id,
            render(h)
        );
    }
    Ok(causes.len())
}

macro_rules! cause_props {
    ($($name:ident: $model:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(CASES))]
            $(
                /// #18 §5: see [`every_cause_is_a_proof`].
                #[test]
                fn $name(
                    h in strategy::small_history($model, GenConfig::default()),
                    absent in any::<bool>(),
                ) {
                    let nil_read = if absent { NilRead::Absent } else { NilRead::Unknown };
                    every_cause_is_a_proof($model, nil_read, &h)?;
                }
            )*
        }
    };
}

cause_props! {
    causes_are_proofs_register: ModelKind::Register;
    causes_are_proofs_cas_register: ModelKind::CasRegister;
    causes_are_proofs_kv: ModelKind::Kv;
    causes_are_proofs_multi_register: ModelKind::MultiRegister;
    causes_are_proofs_mutex: ModelKind::Mutex;
    causes_are_proofs_set: ModelKind::Set;
    causes_are_proofs_counter: ModelKind::Counter;
    causes_are_proofs_queue: ModelKind::Queue;
    causes_are_proofs_list_append: ModelKind::ListAppend;
}

/// The properties above prove little unless causes are common: every model
/// names one for a fair share of the random histories, and for most
/// invalid ones the search's explanation leads with a cause.
#[test]
fn causes_are_common_in_generated_histories() {
    for model in ModelKind::ALL {
        let cfg = GenConfig::default();
        let (mut with_cause, mut invalid, mut explained) = (0, 0, 0);
        for seed in 0..300u64 {
            let h = testkit::small::random_history(model, &cfg, &mut Rng::new(seed));
            if every_cause_is_a_proof(model, NilRead::Unknown, &h).unwrap() > 0 {
                with_cause += 1;
            }
            for a in check(&h, model, NilRead::Unknown).keys.iter().flat_map(|k| &k.anomalies) {
                invalid += 1;
                explained += usize::from(!a.explanation.starts_with("No order"));
            }
        }
        assert!(with_cause >= 20, "{model}: a cause in only {with_cause} of 300 histories");
        // Measured (300 seeds, NilRead::Unknown): every invalid register
        // and set key explained, cas-register 228 of 230, queue 209 of 213,
        // counter 191 of 200, multi-register 222 of 236, mutex 141 of 194,
        // and kv, whose only cause is a missed append or put, 58 of 169.
        eprintln!("{model}: a cause in {with_cause} of 300 histories; {explained} of {invalid} invalid keys explained");
        assert!(explained * 4 >= invalid, "{model}: {explained} of {invalid} invalid keys explained by a cause");
    }
}

/// Whether the read `named[0]`, the other `named` ops and every op that
/// wrote the value it read are non-linearizable by themselves, relaxed: each
/// of those writers and the other named ops becomes a plain write of what it
/// wrote, so no cas can fail.
fn relaxed_is_invalid(h: &History, named: &[OpId], nil_read: NilRead) -> bool {
    let read = h.op(named[0]);
    let v = &read.output;
    let mut ids: Vec<OpId> = h
        .ops
        .iter()
        .filter(|o| o.key == read.key && o.outcome != checker::Outcome::Fail && produced(o) == Some(v))
        .map(|o| o.id)
        .chain(named.iter().copied())
        .collect();
    ids.sort();
    ids.dedup();
    subset_is_invalid(h, &ids, ModelKind::CasRegister, nil_read, |o| {
        if let Some(x) = produced(o).cloned() {
            o.f = F::Write;
            o.input = x.clone();
            o.output = x;
        }
    })
}

/// Whether the ops `ids` of `h` alone, renumbered and each changed by
/// `relax`, are not linearizable by the oracle.
fn subset_is_invalid(
    h: &History,
    ids: &[OpId],
    model: ModelKind,
    nil_read: NilRead,
    relax: impl Fn(&mut checker::Op),
) -> bool {
    let mut sub = History::default();
    for (i, &id) in ids.iter().enumerate() {
        let mut o = h.op(id).clone();
        o.id = OpId(i as u32);
        relax(&mut o);
        sub.ops.push(o);
    }
    sub.events = 2 * sub.ops.len() as u64;
    expected(&sub, model, nil_read).iter().any(|(_, v)| *v == Verdict::Invalid)
}

/// #18 §5: a cause the explanation names must be a proof on its own. The
/// search's anomaly lists exactly the op it explains and the cause's ops:
/// those alone must not be linearizable. A fast path's: see
/// [`relaxed_is_invalid`].
fn cause_is_a_proof(
    model: ModelKind,
    nil_read: NilRead,
    h: &History,
    a: &checker::Anomaly,
) -> Result<(), TestCaseError> {
    // These ops alone must not be linearizable.
    let these_ops_are_invalid = |ids: &[OpId]| -> Result<(), TestCaseError> {
        prop_assert!(
            subset_is_invalid(h, ids, model, nil_read, |_| {}),
            "the cause is no proof: {}\nwhole history:\n{}",
            a.explanation,
            render(h)
        );
        Ok(())
    };
    let searched = matches!(a.detail.as_deref(), Some(AnomalyDetail::Search(_)));
    if searched {
        if a.explanation.starts_with("No order") {
            return Ok(());
        }
        let mut ids: Vec<OpId> = a.ops.iter().map(|o| o.id).collect();
        ids.sort();
        return these_ops_are_invalid(&ids);
    }
    if !a.explanation.starts_with("Stale read:") || a.ops.len() < 3 && model != ModelKind::Kv {
        return Ok(());
    }
    if model == ModelKind::Kv {
        // The get and every put and append of its key, the other gets
        // dropped: if even that is not linearizable, the get's own result is
        // impossible, whatever the other gets returned.
        let get = h.op(a.ops[0].id);
        let ids: Vec<OpId> = h
            .ops
            .iter()
            .filter(|o| o.key == get.key && o.outcome != checker::Outcome::Fail && (o.f != F::Get || o.id == get.id))
            .map(|o| o.id)
            .collect();
        return these_ops_are_invalid(&ids);
    }
    prop_assert!(matches!(model, ModelKind::Register | ModelKind::CasRegister), "{model}: {}", a.explanation);
    // The unique-register fast path names the read, the write that
    // overwrote its value and the write of that value.
    let mut named = vec![a.ops[0].id];
    named.extend(a.ops[1..3].iter().map(|o| o.id));
    prop_assert!(
        relaxed_is_invalid(h, &named, nil_read),
        "the cause is no proof: {}\nwhole history:\n{}",
        a.explanation,
        render(h)
    );
    Ok(())
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

/// #18 §5: etcd_000's failure used to name an unrelated info `cas [1 1]`.
/// Its read of 2 (lines 85-86) missed process 0's write of 1 (lines 74-75),
/// which began after the last write of 2 (process 2, lines 65-69) completed.
#[test]
fn etcd_000_stale_read_names_the_write_it_missed() {
    let Some(dir) = porcupine_dir() else { return };
    let h = read_fixture(&dir, "jepsen/etcd_000.log");
    let r = check(&h, ModelKind::CasRegister, NilRead::Absent);
    let a = &r.keys[0].anomalies[0];
    let lines: Vec<(u64, Option<u64>)> = a.ops.iter().map(|o| (o.invoke_line, o.complete_line)).collect();
    assert_eq!(&lines[..3], &[(85, Some(86)), (65, Some(69)), (74, Some(75))], "{}", a.explanation);
    assert!(a.explanation.starts_with("Stale read: process 11 read -> 2 (lines 85-86)"), "{}", a.explanation);
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
    let h = hist("0 write 1 | 2 invoke cas [7,3] | 3 write 4 | 1 read 3 | 2 info cas [7,3]");
    let r = check(&h, ModelKind::CasRegister, NilRead::Unknown);
    assert_eq!(r.verdict, Verdict::Invalid);
    let a = &r.keys[0].anomalies[0];
    let ids: Vec<OpId> = a.ops.iter().map(|o| o.id).collect();
    // The read failed after both writes; the cas, which cannot apply, was
    // still pending. #18 §5: the cause names the write of 4 the read came
    // after and the cas, the only op that could write 3, which needs a 7
    // nothing makes; the first write plays no part.
    assert_eq!(ids, vec![OpId(3), OpId(2), OpId(1)]);
    assert_eq!(failure(a).longest_prefix.len(), 2);
    assert_eq!(failure(a).states, vec!["4"]);
    assert!(
        a.explanation.starts_with(
            "Stale read: process 1 read -> 3 (lines 6-7) returned 3, but process 3 write 4 -> ok (lines 4-5) left 4 \
             before it began"
        ),
        "{}",
        a.explanation
    );
    assert!(
        a.explanation.contains("the only one that could lead to 3, process 2 cas [7 3] -> info"),
        "{}",
        a.explanation
    );
}
