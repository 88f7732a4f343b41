//! The oracles judged on hand-decided cases (from the definitions, with the
//! reasoning in each comment) and against each other.

use crate::support::gen::{self, Knobs};
use crate::support::hist::{int, list, Builder, Hist, F, V};
use crate::support::lin::{self, Model, Nil};
use crate::support::session::{self, Search, G};
use proptest::prelude::*;

fn lin1(h: &Hist, m: Model, nil: Nil) -> bool {
    let r = lin::linearizable(h, m, nil, None);
    r.values().all(|&b| b)
}

fn reg(h: &Hist, nil: Nil) -> session::Achieved {
    let ops: Vec<_> = h.ops.iter().collect();
    session::register(&ops, nil, &V::Nil)
}

fn coll(h: &Hist, ordered: bool) -> session::Achieved {
    let ops: Vec<_> = h.ops.iter().collect();
    session::collection(&ops, Nil::Absent, ordered)
}

/// Each of `x` and `y` holds alone; together they cannot.
fn assert_only_jointly_broken(a: &session::Achieved, x: G, y: G) {
    assert!(a.holds(&[x]), "{x:?} alone");
    assert!(a.holds(&[y]), "{y:?} alone");
    assert!(!a.holds(&[x, y]), "{x:?} with {y:?}");
}

#[test]
fn kv_info_put_of_empty_string_may_explain_a_nil_get() {
    // put "a"; put "" (info); get -> nil: linearizable if the info put took
    // effect before the get (missing and "" are one state); not without it.
    let base = |put_empty: Option<bool>| {
        let b = Builder::new().invoke(0, F::Put, Some("k"), V::s("a")).ok(0, V::Nil);
        let b = match put_empty {
            Some(true) => b.invoke(1, F::Put, Some("k"), V::s("")).ok(1, V::Nil),
            Some(false) => b.invoke(1, F::Put, Some("k"), V::s("")).info(1),
            None => b,
        };
        b.invoke(2, F::Get, Some("k"), V::Nil).ok(2, V::Nil).done()
    };
    assert!(lin1(&base(Some(false)), Model::Kv, Nil::Absent));
    assert!(lin1(&base(Some(true)), Model::Kv, Nil::Absent));
    assert!(!lin1(&base(None), Model::Kv, Nil::Absent));
    assert!(lin1(&base(None), Model::Kv, Nil::Unknown));
}

#[test]
fn written_nil_is_a_version_not_the_initial_value() {
    // write 1, write nil, read nil in one session: linearizable, and every
    // session guarantee holds (the read returned the second write).
    let h = Builder::new().w(0, 1).op(0, F::Write, V::Nil, V::Nil).r(0, V::Nil).done();
    assert!(lin1(&h, Model::Register, Nil::Absent));
    assert!(reg(&h, Nil::Absent).holds(&G::ALL));
    // Without the nil write the read returned the initial version, which
    // precedes the session's write: read-your-writes fails, alone.
    let h = Builder::new().w(0, 1).r(0, V::Nil).done();
    let a = reg(&h, Nil::Absent);
    assert!(!a.holds(&[G::ReadYourWrites]));
    assert!(a.holds(&[G::MonotonicReads, G::MonotonicWrites, G::WritesFollowReads]));
    // Under "nil is unknown" the read says nothing.
    assert!(reg(&h, Nil::Unknown).holds(&G::ALL));
}

#[test]
fn register_read_of_own_write_then_other_is_ryw_or_mr() {
    // p0 writes 1, p1 writes 2, p0 reads 2 then 1. A register read shows only
    // the latest version: with 1 < 2 the second read went back (monotonic
    // reads broken); with 2 < 1 the first read missed p0's own write
    // (read-your-writes broken). Each alone holds under some order; together
    // they cannot.
    let a = reg(&Builder::new().w(0, 1).w(1, 2).r(0, int(2)).r(0, int(1)).done(), Nil::Absent);
    assert_only_jointly_broken(&a, G::ReadYourWrites, G::MonotonicReads);
    assert!(a.holds(&[G::MonotonicWrites, G::WritesFollowReads, G::ReadYourWrites]));
    // The list shows the whole state: [1 2] then [1] lost 2; monotonic reads
    // alone is broken, read-your-writes holds (1 is in both).
    let h = Builder::new()
        .op(0, F::Append, int(1), V::Nil)
        .op(1, F::Append, int(2), V::Nil)
        .r(0, list(&[1, 2]))
        .r(0, list(&[1]))
        .done();
    let a = coll(&h, true);
    assert!(!a.holds(&[G::MonotonicReads]));
    assert!(a.holds(&[G::ReadYourWrites, G::MonotonicWrites, G::WritesFollowReads]));
}

#[test]
fn register_observed_order_is_monotonic_reads_own_constraint() {
    // p0 writes 1 then 2; p1 reads 2 then 1. Monotonic writes alone holds
    // (1 < 2: p1's second replica lacked 2); monotonic reads alone holds
    // (2 < 1); together they cannot.
    let a = reg(&Builder::new().w(0, 1).w(0, 2).r(1, int(2)).r(1, int(1)).done(), Nil::Absent);
    assert_only_jointly_broken(&a, G::MonotonicWrites, G::MonotonicReads);
    assert!(a.holds(&[G::MonotonicWrites, G::ReadYourWrites, G::WritesFollowReads]));
}

#[test]
fn repeated_values_let_a_read_return_either_write() {
    // p0 writes 1, p1 writes 2, p0 writes 1 again, p0 reads 2: the read
    // missed p0's own second write of 1 under any order... unless 1 (second)
    // < 2; then the read of 2 reflects both of p0's writes: all hold.
    let h = Builder::new().w(0, 1).w(1, 2).w(0, 1).r(0, int(2)).r(0, int(1)).done();
    // Reads 2 then 1: with order w1 < w1' < w2 the last read of 1 went back
    // (monotonic reads); with w1 < w2 < w1' the read of 2 missed w1'
    // (read-your-writes). Each alone holds.
    let a = reg(&h, Nil::Absent);
    assert_only_jointly_broken(&a, G::ReadYourWrites, G::MonotonicReads);
    assert!(a.holds(&[G::MonotonicWrites, G::WritesFollowReads, G::MonotonicReads]));
}

#[test]
fn cas_reads_its_old_value_before_writing() {
    // write 1; cas [1 2]; a read of 1 after the cas in the same session
    // broke read-your-writes (the cas's write of 2 follows 1) — unless...
    // nothing else wrote 1, so it did.
    let h = Builder::new().w(0, 1).op(0, F::Cas, V::List(vec![int(1), int(2)]), V::Nil).r(0, int(1)).done();
    let a = reg(&h, Nil::Absent);
    assert!(!a.holds(&[G::ReadYourWrites]));
    assert!(a.holds(&[G::MonotonicReads, G::MonotonicWrites, G::WritesFollowReads]));
    assert!(!lin1(&h, Model::CasRegister, Nil::Absent));
}

#[test]
fn unknown_writer_is_a_version_of_its_own() {
    // A read of 7, which no op wrote, is an unknown writer's version: it
    // may sit anywhere after the initial one.
    // 1 <= 7 (ryw) and 7 <= 1 (mr): only together impossible.
    let a = reg(&Builder::new().w(0, 1).r(0, int(7)).r(0, int(1)).done(), Nil::Absent);
    assert_only_jointly_broken(&a, G::ReadYourWrites, G::MonotonicReads);
}

#[test]
fn list_monotonic_writes_and_wfr_by_definition() {
    let h = Builder::new().op(0, F::Append, int(1), V::Nil).op(0, F::Append, int(2), V::Nil).r(1, list(&[2, 1])).done();
    let a = coll(&h, true);
    assert!(!a.holds(&[G::MonotonicWrites]));
    assert!(a.holds(&[G::ReadYourWrites, G::MonotonicReads, G::WritesFollowReads]));
    // As a set, order means nothing: all hold.
    assert!(coll(&h, false).holds(&G::ALL));
    let h = Builder::new()
        .op(1, F::Append, int(1), V::Nil)
        .r(0, list(&[1]))
        .op(0, F::Append, int(2), V::Nil)
        .r(2, list(&[2]))
        .done();
    let a = coll(&h, true);
    assert!(!a.holds(&[G::WritesFollowReads]));
    assert!(a.holds(&[G::ReadYourWrites, G::MonotonicReads, G::MonotonicWrites]));
}

const KNOBS: Knobs = Knobs { maps: true, initial: false, weak: false };

/// The models the generator builds computed reads for (not the queue,
/// mutex and multi-register).
const COMPUTED: &[Model] =
    &[Model::Register, Model::CasRegister, Model::Kv, Model::Set, Model::Counter, Model::ListAppend];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::cases()))]

    /// Built from computed reads only, a history is linearizable: checks the
    /// generator and the linearizability oracle against each other.
    #[test]
    fn computed_histories_are_linearizable(spec in gen::spec_of(COMPUTED, KNOBS, 8)) {
        let mut spec = spec;
        for o in &mut spec.ops {
            o.read %= 4;
            o.b %= 4; // no permuted set read order that matters, no map permutation
        }
        let h = gen::build(&spec, KNOBS);
        let r = lin::linearizable(&h, spec.model, spec.nil, spec.initial.as_ref());
        prop_assert!(r.values().all(|&b| b), "{}", h.to_jsonl());
    }

    /// Linearizability implies every session guarantee, jointly.
    #[test]
    fn linearizable_implies_session_guarantees(
        spec in gen::spec_of(gen::SESSION_MODELS, KNOBS, 8)
    ) {
        let h = gen::build(&spec, KNOBS);
        for (key, ops) in h.by_key() {
            if !lin::linearizable_ops(&ops, spec.model, spec.nil, &spec.model.empty()) {
                continue;
            }
            let a = match spec.model {
                Model::ListAppend => session::collection(&ops, spec.nil, true),
                Model::Set => session::collection(&ops, spec.nil, false),
                _ => session::register(&ops, spec.nil, &V::Nil),
            };
            prop_assert!(a.holds(&G::ALL), "key {key:?}\n{}", h.to_jsonl());
        }
    }

}

proptest! {
    // Trying every order is slow: fewer, smaller histories.
    #![proptest_config(ProptestConfig::with_cases(crate::cases() / 20 + 1))]

    /// The register oracle's topological shortcut agrees with trying every
    /// version order.
    #[test]
    fn register_orders_by_graph_and_by_permutation_agree(
        spec in gen::spec_of(gen::REGISTERS, KNOBS, 6)
    ) {
        let h = gen::build(&spec, KNOBS);
        for (_, ops) in h.by_key() {
            let a = session::register_by(&ops, spec.nil, &V::Nil, Search::Graph);
            let b = session::register_by(&ops, spec.nil, &V::Nil, Search::Permutations);
            for m in 0..16u8 {
                let gs: Vec<G> = G::ALL.into_iter().filter(|g| m & (1 << *g as u8) != 0).collect();
                prop_assert_eq!(a.holds(&gs), b.holds(&gs), "{:?}\n{}", gs, h.to_jsonl());
            }
        }
    }

    /// Part by part with one guarantee requested is the same as alone.
    #[test]
    fn parts_with_one_guarantee_are_the_guarantee_alone(
        spec in gen::spec_of(gen::REGISTERS, KNOBS, 7)
    ) {
        let h = gen::build(&spec, KNOBS);
        for (_, ops) in h.by_key() {
            let a = session::register(&ops, spec.nil, &V::Nil);
            for g in G::ALL {
                if let Some(b) = session::register_blamed(&ops, spec.nil, &V::Nil, &[g]) {
                    prop_assert_eq!(b.contains(&g), !a.holds(&[g]), "{:?}\n{}", g, h.to_jsonl());
                }
            }
            // And a violation found together is a violation of some member
            // together: a key satisfying all four jointly blames none.
            if let Some(b) = session::register_blamed(&ops, spec.nil, &V::Nil, &G::ALL) {
                prop_assert_eq!(b.is_empty(), a.holds(&G::ALL), "{}", h.to_jsonl());
            }
        }
    }
}
