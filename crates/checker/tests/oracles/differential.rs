//! conch against the oracles, in every mode: fast paths on and off, whole
//! and sharded, each session check alone and all requested together.

use crate::support::conch::{self, check_name, model_kind, Mode};
use crate::support::gen::{self, Knobs, Spec};
use crate::support::hist::{Hist, V};
use crate::support::lin::{self, Model};
use crate::support::session::{self, Achieved, G};
use checker::report::{CheckName, Verdict};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeMap;

/// What the generators may produce. Maps and initial states wait on the
/// fixes that make conch read them (#12 §1e, §3c).
pub const KNOBS: Knobs = Knobs { maps: false, initial: false };

fn all_models() -> impl Strategy<Value = Model> {
    prop_oneof![
        Just(Model::Register),
        Just(Model::CasRegister),
        Just(Model::Kv),
        Just(Model::Set),
        Just(Model::Counter),
        Just(Model::ListAppend)
    ]
}

fn session_models() -> impl Strategy<Value = Model> {
    prop_oneof![Just(Model::Register), Just(Model::CasRegister), Just(Model::ListAppend), Just(Model::Set)]
}

fn mode(spec: &Spec, checks: Vec<CheckName>, fast_paths: bool, sharded: bool) -> Mode {
    Mode {
        fast_paths,
        sharded,
        checks,
        model: Some(model_kind(spec.model)),
        nil: spec.nil,
        initial: spec.initial.clone(),
    }
}

fn run(h: &Hist, m: &Mode) -> Result<checker::suite::FileReport, TestCaseError> {
    conch::check(h, m).map_err(|e| TestCaseError::fail(format!("conch refused the history: {e}\n{}", h.to_jsonl())))
}

/// Checks conch's per-key verdicts of `check` against `want`.
fn compare(
    h: &Hist,
    m: &Mode,
    check: CheckName,
    report: &checker::suite::FileReport,
    want: &BTreeMap<Option<V>, Verdict>,
) -> Result<(), TestCaseError> {
    let got = conch::verdicts(report, check);
    for (key, w) in want {
        let g = got.get(key);
        if g.map(|g| g.0) != Some(*w) {
            return Err(TestCaseError::fail(format!(
                "{check} on key {key:?}: conch says {g:?}, the oracle {w}\nmode {m:?}\n{}",
                h.to_jsonl()
            )));
        }
    }
    Ok(())
}

fn verdict(b: bool) -> Verdict {
    if b {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

/// Per key, the session oracle's answer.
pub fn session_oracle(h: &Hist, spec: &Spec) -> BTreeMap<Option<V>, Achieved> {
    let initial = spec.initial.clone().unwrap_or(V::Nil);
    h.by_key()
        .into_iter()
        .map(|(k, ops)| {
            let a = match spec.model {
                Model::ListAppend => session::collection(&ops, spec.nil, true),
                Model::Set => session::collection(&ops, spec.nil, false),
                _ => session::register(&ops, spec.nil, &initial),
            };
            (k, a)
        })
        .collect()
}

/// With `requested` checked together, `g` is violated iff it belongs to a
/// minimal set of the requested guarantees that no one choice satisfies.
pub fn jointly_violated(a: Achieved, requested: &[G], g: G) -> bool {
    let others: Vec<G> = requested.iter().copied().filter(|&x| x != g).collect();
    (0..1u32 << others.len()).any(|m| {
        let s: Vec<G> = (0..others.len()).filter(|i| m & (1 << i) != 0).map(|i| others[i]).collect();
        let mut with = s.clone();
        with.push(g);
        a.holds(&s) && !a.holds(&with)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::cases()))]

    #[test]
    fn linearizability_agrees_with_the_oracle(
        spec in all_models().prop_flat_map(|m| gen::spec(m, KNOBS, 8)),
        fast in any::<bool>(),
        sharded in prop::bool::weighted(0.05),
    ) {
        let h = gen::build(&spec, KNOBS);
        let want: BTreeMap<_, _> = lin::linearizable(&h, spec.model, spec.nil, spec.initial.as_ref())
            .into_iter()
            .map(|(k, b)| (k, verdict(b)))
            .collect();
        let m = mode(&spec, vec![CheckName::Linearizable], fast, sharded);
        let r = run(&h, &m)?;
        compare(&h, &m, CheckName::Linearizable, &r, &want)?;
    }

    #[test]
    fn each_session_check_alone_agrees_with_the_oracle(
        spec in session_models().prop_flat_map(|m| gen::spec(m, KNOBS, 8)),
        sharded in prop::bool::weighted(0.05),
    ) {
        let h = gen::build(&spec, KNOBS);
        let oracle = session_oracle(&h, &spec);
        for g in G::ALL {
            let want = oracle.iter().map(|(k, a)| (k.clone(), verdict(a.holds(&[g])))).collect();
            let m = mode(&spec, vec![check_name(g)], true, sharded);
            let r = run(&h, &m)?;
            compare(&h, &m, check_name(g), &r, &want)?;
        }
    }

    #[test]
    fn session_checks_together_agree_with_the_oracle(
        spec in session_models().prop_flat_map(|m| gen::spec(m, KNOBS, 8)),
        sharded in prop::bool::weighted(0.05),
    ) {
        let h = gen::build(&spec, KNOBS);
        let oracle = session_oracle(&h, &spec);
        let m = mode(&spec, G::ALL.iter().map(|&g| check_name(g)).collect(), true, sharded);
        let r = run(&h, &m)?;
        for g in G::ALL {
            let want = oracle.iter().map(|(k, a)| (k.clone(), verdict(!jointly_violated(*a, &G::ALL, g)))).collect();
            compare(&h, &m, check_name(g), &r, &want)?;
        }
    }
}
