//! The oracle on hand-decided textbook histories, and its formulations and
//! model lattice cross-checked on generated ones.

use super::*;
use Model::*;

const ALL: [Model; 12] = Model::ALL;

/// Asserts exactly `allowed` of the twelve models allow `text`, by the
/// primary formulation and by every alternative one.
#[track_caller]
fn expect(text: &str, allowed: &[Model]) -> Judgement {
    let h = TxnHistory::parse(text).unwrap();
    let j = check(&h).unwrap_or_else(|e| panic!("{e}\n{h}"));
    for m in ALL {
        assert_eq!(j.allowed(m), allowed.contains(&m), "{m} on\n{h}\n{j}");
        for &method in m.methods() {
            let d = check_with(&h, &[m], method).unwrap().remove(0);
            assert_eq!(d.allowed, allowed.contains(&m), "{m} by {method:?} on\n{h}\n{}", d.explanation);
        }
    }
    j
}

/// The DSG formulation's explanation of `model` on `text`.
fn dsg_says(text: &str, model: Model) -> String {
    check_with(&TxnHistory::parse(text).unwrap(), &[model], Method::Dsg).unwrap().remove(0).explanation
}

fn except(not: &[Model]) -> Vec<Model> {
    ALL.into_iter().filter(|m| !not.contains(m)).collect()
}

#[test]
fn serial_history_is_allowed_everywhere() {
    let j = expect("0 ok 0-1: a 1 1\n1 ok 2-3: r 1 [1]; a 2 5\n2 ok 4-5: r 2 [5]; r 1 [1]", &ALL);
    assert!(j.get(StrictSerializable).unwrap().explanation.contains("serial order T0 T1 T2"), "{j}");
    assert!(j.not().is_empty() && j.also_not().is_empty());
}

#[test]
fn write_skew_is_snapshot_isolation_not_serializable() {
    let j = expect(
        "0 ok 0-10: r 1 nil; r 2 nil; w 1 1\n1 ok 1-11: r 1 nil; r 2 nil; w 2 2",
        &except(&[RepeatableRead, Serializable, StrongSessionSerializable, StrictSerializable]),
    );
    assert_eq!(j.not(), vec![RepeatableRead]);
    let d = dsg_says("0 ok 0-10: r 1 nil; r 2 nil; w 1 1\n1 ok 1-11: r 1 nil; r 2 nil; w 2 2", RepeatableRead);
    assert!(d.contains("G2-item"), "{}", d);
}

#[test]
fn write_skew_on_lists() {
    expect(
        "0 ok 0-10: r 1 nil; r 2 nil; a 1 1\n1 ok 1-11: r 1 nil; r 2 nil; a 2 2\n2 ok 12-13: r 1 [1]; r 2 [2]",
        &except(&[RepeatableRead, Serializable, StrongSessionSerializable, StrictSerializable]),
    );
}

#[test]
fn lost_update_is_neither_snapshot_isolation_nor_serializable() {
    let j = expect(
        "0 ok 0-10: r 1 nil; a 1 1\n1 ok 1-11: r 1 nil; a 1 2\n2 ok 12-13: r 1 [1 2]",
        &[ReadUncommitted, ReadCommitted, ReadAtomic, Causal],
    );
    let cv = j.get(ConsistentView).unwrap();
    assert!(cv.explanation.contains("G-single: T1 -rw 1-> T0 -ww 1-> T1"), "{}", cv.explanation);
    assert_eq!(j.not(), vec![ConsistentView, RepeatableRead]);
    expect(
        "0 ok 0-10: r 1 nil; w 1 1\n1 ok 1-11: r 1 nil; w 1 2\n2 ok 12-13: r 1 2",
        &[ReadUncommitted, ReadCommitted, ReadAtomic, Causal],
    );
}

#[test]
fn read_skew_is_read_committed_but_not_snapshot_isolation() {
    // T0 reads key 1 before T1's write and key 2 after it: G-single, and a
    // fractured read.
    let j = expect("0 ok 0-10: r 1 nil; r 2 1\n1 ok 1-5: w 1 1; w 2 1", &[ReadUncommitted, ReadCommitted]);
    assert!(j.get(ConsistentView).unwrap().explanation.contains("G-single: T"), "{j}");
    expect("0 ok 0-10: r 1 nil; r 2 [1]\n1 ok 1-5: a 1 1; a 2 1", &[ReadUncommitted, ReadCommitted]);
}

#[test]
fn long_fork_is_consistent_view_and_causal_but_not_snapshot_isolation() {
    let j = expect(
        "0 ok 0-1: w 1 1\n1 ok 2-3: w 2 1\n2 ok 4-10: r 1 1; r 2 nil\n3 ok 5-11: r 1 nil; r 2 1",
        &[ReadUncommitted, ReadCommitted, ReadAtomic, Causal, ConsistentView],
    );
    let si = dsg_says(
        "0 ok 0-1: w 1 1\n1 ok 2-3: w 2 1\n2 ok 4-10: r 1 1; r 2 nil\n3 ok 5-11: r 1 nil; r 2 1",
        SnapshotIsolation,
    );
    assert!(si.contains("G-nonadjacent"), "{}", si);
    assert_eq!(j.not(), vec![SnapshotIsolation, RepeatableRead]);
}

#[test]
fn aborted_read_is_only_read_uncommitted() {
    let j = expect("0 fail 0-1: a 1 1\n1 ok 2-3: r 1 [1]", &[ReadUncommitted]);
    assert!(j.get(ReadCommitted).unwrap().explanation.contains("G1a"), "{j}");
    expect("0 fail 0-1: w 1 1\n1 ok 2-3: r 1 1", &[ReadUncommitted]);
    // A list built on an aborted append is also G1a.
    expect("0 fail 0-1: a 1 1\n1 ok 2-3: a 1 2\n2 ok 4-5: r 1 [1 2]", &[ReadUncommitted]);
}

#[test]
fn intermediate_read_is_only_read_uncommitted() {
    let j = expect("0 ok 0-5: a 1 1; a 1 2\n1 ok 1-4: r 1 [1]", &[ReadUncommitted]);
    assert!(j.get(ReadCommitted).unwrap().explanation.contains("G1b"), "{j}");
    expect("0 ok 0-5: w 1 1; w 1 2\n1 ok 1-4: r 1 1", &[ReadUncommitted]);
}

#[test]
fn circular_information_flow_is_only_read_uncommitted() {
    let j = expect("0 ok 0-10: a 1 1; r 2 [2]\n1 ok 1-11: a 2 2; r 1 [1]", &[ReadUncommitted]);
    assert!(j.get(ReadCommitted).unwrap().explanation.contains("G1c"), "{j}");
}

#[test]
fn future_read_is_only_read_uncommitted() {
    expect("0 ok 0-1: r 1 [1]; a 1 1", &[ReadUncommitted]);
    expect("0 ok 0-1: r 1 1; w 1 1", &[ReadUncommitted]);
}

#[test]
fn write_cycle_is_nothing() {
    // Key 1 says T0 then T1, key 2 says T1 then T0: G0.
    expect("0 ok 0-10: a 1 1; a 2 1\n1 ok 1-11: a 1 2; a 2 2\n2 ok 12-13: r 1 [1 2]; r 2 [2 1]", &[]);
}

#[test]
fn stale_read_is_serializable_but_not_strict() {
    let j = expect("0 ok 0-1: a 1 1\n1 ok 2-3: r 1 nil", &except(&[StrictSerializable, StrongSnapshotIsolation]));
    assert!(j.get(Serializable).unwrap().explanation.contains("serial order T1 T0"), "{j}");
    assert!(j.get(StrictSerializable).unwrap().explanation.contains("T1 would see key 1 = [1]"), "{j}");
    assert_eq!(j.not(), vec![StrongSnapshotIsolation]);
    let dsg = dsg_says("0 ok 0-1: a 1 1\n1 ok 2-3: r 1 nil", StrictSerializable);
    assert!(dsg.contains("realtime"), "{}", dsg);
}

#[test]
fn stale_read_in_one_process_breaks_the_session_models() {
    let j = expect(
        "0 ok 0-1: a 1 1\n0 ok 2-3: r 1 nil",
        &except(&[
            StrictSerializable,
            StrongSnapshotIsolation,
            StrongSessionSerializable,
            StrongSessionSnapshotIsolation,
        ]),
    );
    assert_eq!(j.not(), vec![StrongSessionSnapshotIsolation]);
}

#[test]
fn internal_inconsistency_breaks_only_the_models_with_int() {
    // Elle: `internal` is proscribed by read-atomic and up, not by the PL levels.
    expect("0 ok 0-1: a 1 1; r 1 nil", &[ReadUncommitted, ReadCommitted, ConsistentView, RepeatableRead]);
    expect("0 ok 0-1: w 1 1; r 1 nil", &[ReadUncommitted, ReadCommitted, ConsistentView, RepeatableRead]);
    expect(
        "0 ok 0-1: r 1 nil; a 1 1; r 1 [2 1]\n1 ok 2-3: a 1 2",
        &[ReadUncommitted, ReadCommitted, ConsistentView, RepeatableRead],
    );
}

#[test]
fn non_repeatable_read_is_a_g_single() {
    // Adya: the second read is another read of some version, so T0 reads
    // around T1's write (Elle reports only `internal` here).
    let j = expect("0 ok 0-10: r 1 nil; r 1 [1]\n1 ok 1-5: a 1 1", &[ReadUncommitted, ReadCommitted]);
    assert!(
        j.get(RepeatableRead).unwrap().explanation.contains("G-single")
            || j.get(RepeatableRead).unwrap().explanation.contains("G2"),
        "{j}"
    );
}

#[test]
fn duplicate_elements_and_incompatible_orders_are_nothing() {
    expect("0 ok 0-1: a 1 1\n1 ok 2-3: r 1 [1 1]", &[]);
    expect("0 ok 0-10: a 1 1\n1 ok 1-11: a 1 2\n2 ok 12-13: r 1 [1 2]\n3 ok 14-15: r 1 [2 1]", &[]);
    // A value nobody wrote.
    expect("0 ok 0-1: a 1 1\n1 ok 2-3: r 1 [1 9]", &[]);
    expect("0 ok 0-1: r 1 9", &[]);
    // Appends of one transaction out of order.
    expect("0 ok 0-1: a 1 1; a 1 2\n1 ok 2-3: r 1 [2 1]", &[]);
}

#[test]
fn reads_after_own_writes_still_need_real_values() {
    // Adya's levels do not look at reads after own writes, but a read that
    // holds a value twice, a value nobody wrote, or an aborted write is still
    // duplicate-elements, garbage or G1a.
    expect("0 ok 0-1: a 1 1; r 1 [1 1]", &[]);
    expect("0 ok 0-1: a 1 1; r 1 [7 1]", &[]);
    expect("0 fail 0-1: a 1 9\n1 ok 2-3: a 1 1; r 1 [9 1]", &[ReadUncommitted]);
    expect("0 fail 0-1: w 1 9\n1 ok 2-3: w 1 1; r 1 9", &[ReadUncommitted]);
    // Another's intermediate version under its own append: G1b.
    expect("0 ok 0-9: a 1 1; a 1 2\n1 ok 1-8: a 1 3; r 1 [1 3]", &[ReadUncommitted]);
}

#[test]
fn g_single_through_real_time_and_process_order() {
    // T1 misses T0's append though T0 completed first: the cycle needs the
    // real-time (or process) edge T0 -> T1 and T1's anti-dependency.
    let h = "0 ok 0-1: a 1 1; a 2 1\n1 ok 2-3: r 1 nil; r 2 nil";
    let j = expect(h, &except(&[StrictSerializable, StrongSnapshotIsolation]));
    let dsg = dsg_says(h, StrongSnapshotIsolation);
    assert!(dsg.contains("G-nonadjacent-realtime: T0 -realtime-> T1 -rw 1-> T0"), "{dsg}");
    let dsg = dsg_says(h, StrictSerializable);
    assert!(dsg.contains("G2-item-realtime: T0 -realtime-> T1 -rw 1-> T0"), "{dsg}");
    let dsg = dsg_says(&h.replace("1 ok", "0 ok"), StrongSessionSerializable);
    assert!(dsg.contains("G2-item-process: T0 -process-> T1 -rw 1-> T0"), "{dsg}");
    assert!(j.allowed(StrongSessionSnapshotIsolation));
}

#[test]
fn strong_session_snapshot_isolation_sees_its_own_process() {
    // T1 (same process as T0) reads a snapshot without T0; T2 in another
    // process may.
    expect(
        "0 ok 0-1: w 1 1\n1 ok 2-3: r 1 nil\n0 ok 4-5: r 1 1",
        &except(&[StrictSerializable, StrongSnapshotIsolation]),
    );
    expect(
        "0 ok 0-1: w 1 1\n0 ok 2-3: r 1 nil",
        &except(&[
            StrictSerializable,
            StrongSnapshotIsolation,
            StrongSessionSerializable,
            StrongSessionSnapshotIsolation,
        ]),
    );
}

#[test]
fn blind_appends_of_concurrent_transactions_are_allowed() {
    // Concurrent in real time, yet one can commit before the other starts:
    // nothing needs them to overlap, even under strong snapshot isolation.
    expect("0 ok 0-10: a 1 1\n1 ok 1-11: a 1 2\n2 ok 12-13: r 1 [1 2]", &ALL);
    // With reads of another key, still no conflict on what they read.
    expect("0 ok 0-10: r 2 nil; a 1 1\n1 ok 1-11: r 2 nil; a 1 2; a 2 1\n2 ok 12-13: r 1 [1 2]; r 2 [1]", &ALL);
}

#[test]
fn read_atomic_but_not_causal() {
    // T2 sees T1, which saw T0, but misses T0's write.
    expect(
        "0 ok 0-1: w 1 1\n1 ok 2-3: r 1 1; w 2 1\n2 ok 4-5: r 2 1; r 1 nil",
        &[ReadUncommitted, ReadCommitted, ReadAtomic],
    );
}

#[test]
fn info_transactions_may_or_may_not_have_committed() {
    let j = expect("0 info 0: a 1 1\n1 ok 2-3: r 1 [1]", &ALL);
    assert!(j.get(Serializable).unwrap().explanation.contains("info committed: T0"), "{j}");
    expect("0 info 0: a 1 1\n1 ok 2-3: r 1 nil", &ALL);
    expect("0 info 0: a 1 1\n1 ok 2-3: r 1 nil\n2 ok 4-5: r 1 [1]", &ALL);
    // Seen by T1, then unseen by T2 which began after T1 ended.
    expect(
        "0 info 0: a 1 1\n1 ok 2-3: r 1 [1]\n2 ok 4-5: r 1 nil",
        &except(&[StrictSerializable, StrongSnapshotIsolation]),
    );
    // An info write nobody saw, in a history that needs it not to have happened.
    expect("0 info 0: a 1 1\n1 ok 2-3: a 1 2\n2 ok 4-5: r 1 [2]", &ALL);
}

#[test]
fn failed_transactions_take_no_part() {
    expect("0 fail 0-1: a 1 1\n1 ok 2-3: r 1 nil\n2 ok 4-5: a 1 2\n3 ok 6-7: r 1 [2]", &ALL);
}

#[test]
fn too_large_and_invalid_histories_get_no_verdict() {
    let mut text = String::new();
    for i in 0..9 {
        text.push_str(&format!("{i} ok {}-{}: a 1 {i}\n", 2 * i, 2 * i + 1));
    }
    let h = TxnHistory::parse(&text).unwrap();
    assert!(matches!(check(&h), Err(OracleError::TooLarge { limit: 8, .. })));
    let dup = TxnHistory::parse("0 ok 0-1: a 1 1\n1 ok 2-3: a 1 1").unwrap();
    assert!(matches!(check(&dup), Err(OracleError::Invalid(InvalidHistory::DuplicateWrite { key: 1, value: 1, .. }))));
    let overlap = TxnHistory::parse("0 ok 0-3: a 1 1\n0 ok 2-5: a 1 2").unwrap();
    assert!(matches!(check(&overlap), Err(OracleError::Invalid(InvalidHistory::ProcessOverlap { .. }))));
    let after_info = TxnHistory::parse("0 info 0: a 1 1\n0 ok 2-5: a 1 2").unwrap();
    assert!(matches!(check(&after_info), Err(OracleError::Invalid(InvalidHistory::ProcessOverlap { .. }))));
}

// ------------------------------------------------------------ generated

use gen::{GenConfig, Level, TxnCase};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const WORKLOADS: [Workload; 2] = [Workload::ListAppend, Workload::RwRegister];

/// Runs `f` on `cases` histories from `cfg`, deterministically.
fn each_case(cfg: &GenConfig, cases: u32, f: impl Fn(&TxnCase) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new_with_rng(
        Config { cases, failure_persistence: None, ..Config::default() },
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let result = runner.run(&gen::histories(cfg), |case| f(&case));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn each_level_guarantees_its_model() {
    for w in WORKLOADS {
        for level in Level::ALL {
            each_case(&GenConfig::valid(w, level), 150, |case| {
                let j = check(&case.history).map_err(|e| TestCaseError::fail(e.to_string()))?;
                for m in level.guarantees().implied() {
                    prop_assert!(j.allowed(m), "{m} at {level:?}:\n{case:?}\n{j}");
                }
                Ok(())
            });
        }
    }
}

#[test]
fn models_respect_the_lattice() {
    for w in WORKLOADS {
        each_case(&GenConfig::any(w), 400, |case| {
            let j = match check(&case.history) {
                Ok(j) => j,
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            };
            for d in &j.decisions {
                if d.allowed {
                    for m in d.model.implied() {
                        prop_assert!(j.allowed(m), "{} allowed but {m} not:\n{case:?}\n{j}", d.model);
                    }
                }
            }
            // Without predicates, repeatable read rules out G-single too.
            if j.allowed(RepeatableRead) {
                prop_assert!(j.allowed(ConsistentView), "{case:?}\n{j}");
            }
            Ok(())
        });
    }
}

#[test]
fn arbitration_and_dsg_formulations_agree() {
    let both: Vec<Model> = ALL.into_iter().filter(|m| m.methods().len() == 2).collect();
    for w in WORKLOADS {
        each_case(&GenConfig::any(w), 400, |case| {
            let a = check_with(&case.history, &both, Method::Arbitration)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let d = check_with(&case.history, &both, Method::Dsg).map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (a, d) in a.iter().zip(&d) {
                prop_assert_eq!(
                    a.allowed,
                    d.allowed,
                    "{}:\n{:?}\narbitration: {}\ndsg: {}",
                    a.model,
                    case,
                    a.explanation,
                    d.explanation
                );
            }
            Ok(())
        });
    }
}

/// Every model is both allowed and violated in the generated mix, and
/// every boundary of the lattice (a model violated while a model it implies
/// holds) is crossed: otherwise comparing a checker with the oracle on the
/// mix tests little. Prints the counts with `--nocapture`.
#[test]
fn generated_mix_covers_every_model_and_boundary() {
    for w in WORKLOADS {
        let seen = std::sync::Mutex::new(Vec::new());
        each_case(&GenConfig::any(w), 1500, |case| {
            let j = check(&case.history).map_err(|e| TestCaseError::fail(e.to_string()))?;
            seen.lock().unwrap().push(j);
            Ok(())
        });
        let seen = seen.into_inner().unwrap();
        eprintln!("{w:?}: {} histories", seen.len());
        for m in ALL {
            let violated = seen.iter().filter(|j| !j.allowed(m)).count();
            eprintln!("  {m:36} violated {violated:4}");
            assert!(violated > 0 && violated < seen.len(), "{m} on {w:?}: violated {violated}");
            for &weaker in m.implies() {
                let boundary = seen.iter().filter(|j| !j.allowed(m) && j.allowed(weaker)).count();
                eprintln!("    but {weaker:32} holds {boundary:4}");
                assert!(boundary > 0, "never {weaker} without {m} on {w:?}");
            }
        }
    }
}

#[test]
#[ignore = "a measurement: cargo test -p conch-testkit --release -- --ignored --nocapture oracle_speed"]
fn oracle_speed() {
    for w in WORKLOADS {
        for max_txns in [6, 8] {
            let cfg = GenConfig { max_txns, ..GenConfig::any(w) };
            let times = std::sync::Mutex::new(Vec::new());
            each_case(&cfg, 300, |case| {
                let t0 = std::time::Instant::now();
                let _ = check(&case.history);
                let both: Vec<Model> = ALL.into_iter().filter(|m| m.methods().len() == 2).collect();
                let _ = check_with(&case.history, &both, Method::Dsg);
                times.lock().unwrap().push((t0.elapsed().as_micros(), case.history.to_string()));
                Ok(())
            });
            let mut t = times.into_inner().unwrap();
            t.sort();
            let n = t.len();
            eprintln!(
                "{w:?} max {max_txns}: median {} us, p99 {} us, max {} us",
                t[n / 2].0,
                t[n * 99 / 100].0,
                t[n - 1].0
            );
            eprintln!("slowest:\n{}", t[n - 1].1);
        }
    }
}

// ------------------------------------------------------------ conversion

fn read(text: &str) -> Converted {
    let (h, _) = checker::read::read_bytes("t", text.as_bytes(), &checker::read::ReadOptions::default()).unwrap();
    from_history(&h).unwrap()
}

#[test]
fn converts_jsonl_list_append() {
    let c = read(concat!(
        "{\"type\":\"invoke\",\"process\":0,\"f\":\"txn\",\"value\":[[\"append\",5,1],[\"r\",6,null]]}\n",
        "{\"type\":\"invoke\",\"process\":1,\"f\":\"txn\",\"value\":[[\"r\",5,null]]}\n",
        "{\"type\":\"ok\",\"process\":0,\"f\":\"txn\",\"value\":[[\"append\",5,1],[\"r\",6,null]]}\n",
        "{\"type\":\"ok\",\"process\":1,\"f\":\"txn\",\"value\":[[\"r\",5,[1]]]}\n",
    ));
    let h = &c.history;
    assert_eq!(h.workload, Workload::ListAppend);
    assert_eq!(h.txns[0].mops, vec![Mop::Append(5, 1), Mop::Read(6, Observed::List(vec![]))]);
    assert_eq!(h.txns[1].mops, vec![Mop::Read(5, Observed::List(vec![1]))]);
    assert_eq!((h.txns[0].invoke_at, h.txns[0].complete_at), (0, Some(2)));
    assert_eq!(c.keys[&5], checker::Value::Int(5), "non-negative integers keep their numbers");
    assert!(check(h).unwrap().allowed(StrictSerializable));
}

#[test]
fn converts_edn_with_keywords_info_and_fail() {
    let c = read(concat!(
        "{:type :invoke, :f :txn, :value [[:w :x 1] [:r :y nil]], :process 2, :index 0}\n",
        "{:type :invoke, :f :txn, :value [[:w :y \"a\"]], :process 3, :index 1}\n",
        "{:type :fail, :f :txn, :value [[:w :y \"a\"]], :process 3, :index 2}\n",
        "{:type :info, :f :txn, :value [[:w :x 1] [:r :y nil]], :process 2, :index 3}\n",
        "{:type :invoke, :f :txn, :value [[:r :x nil] [:r :y nil]], :process 4, :index 4}\n",
        "{:type :ok, :f :txn, :value [[:r :x 1] [:r :y \"a\"]], :process 4, :index 5}\n",
    ));
    let h = &c.history;
    assert_eq!(h.workload, Workload::RwRegister);
    assert_eq!(h.txns[0].outcome, TxnOutcome::Info);
    assert_eq!(h.txns[0].complete_at, None);
    assert_eq!(h.txns[0].mops[1], Mop::Read(1, Observed::Unknown));
    assert_eq!(h.txns[1].outcome, TxnOutcome::Fail);
    assert_eq!(c.keys[&0], checker::Value::str("x"), "keywords are interned in order of appearance");
    let j = check(h).unwrap();
    // T2 read y = "a" from the failed T1: an aborted read; x = 1 from the info T0.
    assert!(j.allowed(ReadUncommitted) && !j.allowed(ReadCommitted), "{j}");
}

#[test]
fn conversion_names_the_op_of_a_bad_micro_op() {
    let (h, _) = checker::read::read_bytes(
        "t",
        b"{\"type\":\"invoke\",\"process\":0,\"f\":\"txn\",\"value\":[[\"cas\",5,1]]}\n",
        &checker::read::ReadOptions::default(),
    )
    .unwrap();
    let e = from_history(&h).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.reason.contains("cas"), "{e}");
}

/// Positions as ranks, for comparing histories whose events are in the same order.
fn ranked(h: &TxnHistory) -> TxnHistory {
    let mut ps: Vec<u64> = h.txns.iter().flat_map(|t| std::iter::once(t.invoke_at).chain(t.complete_at)).collect();
    ps.sort();
    let rank = |p: u64| ps.binary_search(&p).unwrap() as u64;
    let mut h = h.clone();
    for t in &mut h.txns {
        t.invoke_at = rank(t.invoke_at);
        t.complete_at = t.complete_at.map(rank);
    }
    h
}

#[test]
fn generated_histories_survive_the_checker_round_trip() {
    for w in WORKLOADS {
        each_case(&GenConfig::any(w), 200, |case| {
            let Some(h) = case.history.to_history() else {
                prop_assert!(case.history.validate().is_err());
                return Ok(());
            };
            let back = from_history(&h).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut want = ranked(&case.history);
            // Info completions are not completions to the checker.
            for t in &mut want.txns {
                if t.outcome == TxnOutcome::Info {
                    t.complete_at = None;
                }
            }
            let mut got = ranked(&back.history);
            got.workload = want.workload; // a history of reads of nil only has no telling workload
            prop_assert_eq!(ranked(&got), ranked(&want), "{:?}", case);
            Ok(())
        });
    }
}

#[test]
fn edn_txns_of_two_micro_ops_are_not_independent_tuples() {
    let (h, _) = checker::read::read_bytes(
        "t",
        b"{:type :invoke, :f :txn, :value [[:append 5 1] [:r 6 nil]], :process 2, :index 0}\n{:type :ok, :f :txn, :value [[:append 5 1] [:r 6 [1 2]]], :process 2, :index 1}\n",
        &checker::read::ReadOptions::default(),
    )
    .unwrap();
    let c = from_history(&h);
    assert!(c.is_ok(), "{:?} {:?}", c, h.ops[0]);
}

#[test]
#[ignore = "a measurement"]
fn level_stats() {
    for w in WORKLOADS {
        for level in Level::ALL {
            let seen = std::sync::Mutex::new(Vec::new());
            each_case(&GenConfig::valid(w, level), 300, |case| {
                seen.lock().unwrap().push(check(&case.history).unwrap());
                Ok(())
            });
            let seen = seen.into_inner().unwrap();
            let line: Vec<String> =
                ALL.iter().map(|&m| format!("{}", seen.iter().filter(|j| !j.allowed(m)).count())).collect();
            eprintln!("{w:?} {level:?}: violated {}", line.join(" "));
        }
    }
}

// ------------------------------------------------------------ strategies

#[test]
fn strategies_shrink_to_tiny_histories() {
    // A false claim: every generated history is serializable. The shrunk
    // counterexample must be tiny.
    for w in WORKLOADS {
        let mut runner = TestRunner::new_with_rng(
            Config { failure_persistence: None, ..Config::default() },
            proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
        );
        let result = runner.run(&gen::any_history(w), |case| {
            let ok = check(&case.history).map(|j| j.allowed(Serializable)).unwrap_or(true);
            prop_assert!(ok);
            Ok(())
        });
        let Err(proptest::test_runner::TestError::Fail(_, minimal)) = result else {
            panic!("no counterexample: {result:?}")
        };
        let mops: usize = minimal.history.txns.iter().map(|t| t.mops.len()).sum();
        assert!(minimal.history.txns.len() <= 2 && mops <= 4, "{w:?} shrank only to\n{minimal:?}\n{:?}", minimal.plan);
        assert!(minimal.plan.mutations().len() <= 1 && minimal.plan.schedule.iter().all(|&c| c == 0), "{minimal:?}");
    }
}

/// The run of `plan` without its mutations.
fn unmutated(plan: &gen::Plan) -> TxnHistory {
    plan.unmutated().run()
}

#[test]
fn every_mutation_plants_something() {
    use gen::MutationKind as K;
    let all = [K::VALID.as_slice(), &[K::DuplicateWrite]].concat();
    for w in WORKLOADS {
        for kind in all.iter().copied() {
            // Reads of lists only: nothing to do on registers.
            if w == Workload::RwRegister && matches!(kind, K::DuplicateElement | K::SwapElements) {
                continue;
            }
            let cfg = GenConfig { mutations: vec![kind], max_mutations: 1, ..GenConfig::any(w) };
            let changed = std::sync::atomic::AtomicU32::new(0);
            each_case(&cfg, 100, |case| {
                if case.history == unmutated(&case.plan) {
                    return Ok(());
                }
                changed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let v = case.history.validate();
                prop_assert_eq!(v.is_err(), kind == K::DuplicateWrite, "{:?}: {:?}\n{:?}", kind, v, case);
                if v.is_err() {
                    return Ok(());
                }
                let j = check(&case.history).unwrap();
                match kind {
                    K::DuplicateElement | K::GarbageRead => prop_assert!(!j.allowed(ReadUncommitted), "{case:?}\n{j}"),
                    K::Internal => prop_assert!(!j.allowed(ReadAtomic) && !j.allowed(Serializable), "{case:?}\n{j}"),
                    _ => {}
                }
                Ok(())
            });
            let changed = changed.into_inner();
            assert!(changed >= 10, "{kind:?} on {w:?} changed only {changed} of 100 histories");
        }
    }
}

// ------------------------------------------------------------ metamorphic

/// Models allowed by `a` but not by `b`.
fn lost(a: &Judgement, b: &Judgement) -> Vec<Model> {
    ALL.into_iter().filter(|&m| a.allowed(m) && !b.allowed(m)).collect()
}

#[test]
fn crashing_a_transaction_only_relaxes() {
    // An ok transaction that becomes info may still have committed, its
    // reads are forgotten and it precedes nothing in real time: whatever
    // was allowed stays allowed.
    for w in WORKLOADS {
        let cfg = GenConfig { mutations: vec![gen::MutationKind::Crash], max_mutations: 1, ..GenConfig::any(w) };
        each_case(&cfg, 300, |case| {
            let before = check(&unmutated(&case.plan)).unwrap();
            let after = check(&case.history).unwrap();
            prop_assert!(lost(&before, &after).is_empty(), "{:?}\nbefore:\n{}after:\n{}", case, before, after);
            Ok(())
        });
    }
}

#[test]
fn unread_failed_transactions_change_nothing() {
    for w in WORKLOADS {
        each_case(&GenConfig::any(w), 300, |case| {
            let h = &case.history;
            let Ok(before) = check(h) else { return Ok(()) };
            let read: std::collections::BTreeSet<(Key, Val)> = h
                .txns
                .iter()
                .flat_map(|t| t.mops.iter())
                .flat_map(|m| match m {
                    Mop::Read(k, Observed::List(l)) => l.iter().map(|v| (*k, *v)).collect(),
                    Mop::Read(k, Observed::Reg(Some(v))) => vec![(*k, *v)],
                    _ => Vec::new(),
                })
                .collect();
            let mut g = h.clone();
            g.txns.retain(|t| {
                t.outcome != TxnOutcome::Fail
                    || t.mops
                        .iter()
                        .any(|m| matches!(m, Mop::Append(k, v) | Mop::Write(k, v) if read.contains(&(*k, *v))))
            });
            let after = check(&g).unwrap();
            for m in ALL {
                prop_assert_eq!(before.allowed(m), after.allowed(m), "{} on {:?}", m, case);
            }
            Ok(())
        });
    }
}

#[test]
fn overlapping_everything_in_real_time_only_relaxes() {
    // Invoking every transaction at the start leaves no real-time order
    // and, one transaction per process, no process order.
    for w in WORKLOADS {
        each_case(&GenConfig::any(w), 300, |case| {
            let Ok(before) = check(&case.history) else { return Ok(()) };
            let mut g = case.history.clone();
            for (i, t) in g.txns.iter_mut().enumerate() {
                t.invoke_at = i as u64;
                t.complete_at = t.complete_at.map(|c| c + 1000);
                t.process = i as u64;
            }
            let after = check(&g).unwrap();
            prop_assert!(lost(&before, &after).is_empty(), "{:?}\nbefore:\n{}after:\n{}", case, before, after);
            // Without real time or processes the strong models are the plain ones.
            prop_assert_eq!(after.allowed(StrictSerializable), after.allowed(Serializable));
            prop_assert_eq!(after.allowed(StrongSnapshotIsolation), after.allowed(SnapshotIsolation));
            Ok(())
        });
    }
}

#[test]
#[ignore = "prints explanations for review"]
fn show_explanations() {
    for text in [
        "0 ok 0-1: a 1 1; a 2 1\n1 ok 2-3: r 1 nil; r 2 nil",
        "0 ok 0-10: r 1 nil; a 1 1\n1 ok 1-11: r 1 nil; a 1 2\n2 ok 12-13: r 1 [1 2]",
        "0 ok 0-10: r 1 nil; r 2 1\n1 ok 1-5: w 1 1; w 2 1",
        "0 info 0: a 1 1\n1 ok 2-3: r 1 [1]\n2 ok 4-5: r 1 nil",
    ] {
        let h = TxnHistory::parse(text).unwrap();
        eprintln!("{h}{}", check(&h).unwrap());
        for d in check_with(&h, &ALL, Method::Dsg).unwrap() {
            eprintln!("  dsg {}: {} {}", d.model, d.allowed, d.explanation);
        }
    }
}

#[test]
fn searches_agree_with_the_naive_definitions() {
    // Tiny histories, where every order, every event interleaving and every
    // visibility can be spelled out. (Also run once with max_txns 5 and 1,500
    // cases per workload, in release: all agreed.)
    for w in WORKLOADS {
        let cfg = GenConfig { max_txns: 4, ..GenConfig::any(w) };
        each_case(&cfg, 300, |case| {
            let h = &case.history;
            let Ok(j) = check(h) else { return Ok(()) };
            for m in [Serializable, StrictSerializable, StrongSessionSerializable] {
                prop_assert_eq!(j.allowed(m), naive::serial(h, m), "{}:\n{:?}\n{}", m, case, j);
            }
            for m in [SnapshotIsolation, StrongSnapshotIsolation, StrongSessionSnapshotIsolation] {
                prop_assert_eq!(j.allowed(m), naive::snapshot(h, m), "{}:\n{:?}\n{}", m, case, j);
            }
            prop_assert_eq!(
                j.allowed(ReadAtomic),
                naive::atomic_visibility(h, false),
                "read-atomic:\n{:?}\n{}",
                case,
                j
            );
            prop_assert_eq!(j.allowed(Causal), naive::atomic_visibility(h, true), "causal:\n{:?}\n{}", case, j);
            Ok(())
        });
    }
}
