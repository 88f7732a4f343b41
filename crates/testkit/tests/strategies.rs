//! The strategies must build histories worth testing on: of every model,
//! with both verdicts common, and shrinking towards smaller histories.

use checker::history::Outcome;
use checker::model::{ModelKind, NilRead};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use testkit::oracle::linear::history_linearizable;
use testkit::small::GenConfig;
use testkit::strategy::{self, Case};

fn sample<S: Strategy<Value = Case>>(s: &S, n: usize) -> Vec<Case> {
    let mut runner = TestRunner::deterministic();
    (0..n).map(|_| s.new_tree(&mut runner).expect("a case").current()).collect()
}

#[test]
fn small_histories_give_both_verdicts_for_every_model() {
    for model in ModelKind::ALL {
        let cases = sample(&strategy::small_history(model, GenConfig::default()), 300);
        let valid = cases.iter().filter(|h| history_linearizable(h, model, NilRead::Unknown)).count();
        assert!((20..=280).contains(&valid), "{model}: {valid} of 300 valid");
        let ops: usize = cases.iter().map(|h| h.ops.len()).sum();
        assert!(ops >= 300 * 4, "{model}: {ops} ops in 300 histories");
    }
}

#[test]
fn unique_histories_give_both_verdicts() {
    for model in [ModelKind::Register, ModelKind::CasRegister, ModelKind::Kv, ModelKind::ListAppend] {
        let cases = sample(&strategy::unique_history(model, 7), 300);
        let valid = cases.iter().filter(|h| history_linearizable(h, model, NilRead::Unknown)).count();
        assert!((40..=260).contains(&valid), "{model}: {valid} of 300 valid");
    }
}

#[test]
fn session_histories_have_reads_faults_and_info_ops() {
    let o = testkit::gen_session::GenOpts {
        workload: checker::Workload::ListAppend,
        sessions: 3,
        keys: 1,
        ops: 40,
        read_pct: 50,
        info_pct: 8,
        fail_pct: 8,
        nodes: 2,
        stale: false,
        seed: 0,
    };
    for h in sample(&strategy::session_history(o), 20) {
        assert!(h.ops.iter().filter(|o| o.outcome == Outcome::Ok).count() > 10);
        assert_eq!(h.faults.len(), 1);
    }
}

#[test]
fn shrinking_makes_histories_smaller() {
    let s =
        strategy::small_history(ModelKind::CasRegister, GenConfig { min_ops: 3, max_ops: 7, ..GenConfig::default() });
    let mut runner = TestRunner::deterministic();
    let mut tree = s.new_tree(&mut runner).unwrap();
    let before = tree.current().ops.len();
    // Simplify as far as proptest can, as if every simpler case failed too.
    let mut steps = 0;
    while tree.simplify() && steps < 10_000 {
        steps += 1;
    }
    let after = tree.current();
    assert!(after.ops.len() <= before);
    assert_eq!(after.ops.len(), 3, "the fewest ops the config allows:\n{after:?}");
}
