//! Property tests: sequential histories pass everything; known mutations
//! get exactly the expected violation.

use checker::history::{History, Outcome, F};
use checker::report::{CheckName, CheckResult, Verdict};
use checker::value::Value;
use checker::Workload;
use proptest::prelude::*;
use testkit::checks::report;
use testkit::gen_session::{generate, GenOpts};
use testkit::strategy::{self, Case};
use testkit::{Rng, Source};

const WORKLOADS: [Workload; 4] = [Workload::ListAppend, Workload::Set, Workload::Counter, Workload::Register];
const CHECKS: [CheckName; 5] = CheckName::SESSION;

fn opts(w: Workload, seed: u64, sessions: usize, keys: usize, ops: usize, faulty: bool) -> GenOpts {
    GenOpts {
        workload: w,
        sessions,
        keys,
        ops,
        read_pct: 50,
        info_pct: if faulty { 8 } else { 0 },
        fail_pct: if faulty { 8 } else { 0 },
        nodes: 2,
        stale: false,
        seed,
    }
}

/// Generated histories of workload `w` (one of `ws`), with the other
/// generator options drawn from these ranges.
fn cases(
    ws: &'static [Workload],
    sessions: std::ops::Range<usize>,
    keys: std::ops::Range<usize>,
    ops: std::ops::Range<usize>,
    faulty: impl Strategy<Value = bool>,
    stale: bool,
) -> impl Strategy<Value = (Workload, Case)> {
    (proptest::sample::select(ws), sessions, keys, ops, faulty)
        .prop_flat_map(move |(w, s, k, n, faulty)| {
            (Just(w), strategy::session_history(GenOpts { stale, ..opts(w, 0, s, k, n, faulty) }))
        })
        .prop_filter("a write to infer the workload from", |(_, h)| h.ops.iter().any(|o| o.f != F::Read))
}

/// What the mutation tests start from: histories of `ws` with 1 to 3
/// sessions on one key, 4 to 39 ops, no faults and no stale reads.
fn clean_cases(ws: &'static [Workload]) -> impl Strategy<Value = (Workload, Case)> {
    cases(ws, 1..4, 1..2, 4..40, Just(false), false)
}

fn history(o: &GenOpts) -> History {
    History::from_events("gen", generate(o)).expect("generated histories are well formed")
}

fn run(h: &History, w: Workload) -> Vec<CheckResult> {
    let rs = report(h, &CHECKS).results;
    assert!(rs.iter().all(|r| r.model == checker::report::ModelName::Workload(w)));
    rs
}

fn verdicts(rs: &[CheckResult]) -> Vec<Verdict> {
    rs.iter().map(|r| r.verdict).collect()
}

/// What a history with no anomaly gets: valid, except the guarantees when
/// there was nothing to check, and on a counter monotonic writes and
/// writes-follow-reads, which a total cannot show and which are decided
/// only through linearizability (so a stale counter history leaves them
/// unknown).
fn all_valid(w: Workload, h: &History, linearizable: bool) -> Vec<Verdict> {
    use Verdict::*;
    match w {
        _ if crate::nothing_to_check(h) => vec![Unknown, Unknown, Unknown, Unknown, Valid],
        Workload::Counter if !linearizable => vec![Valid, Valid, Unknown, Unknown, Valid],
        _ => vec![Valid; 5],
    }
}

/// Session ops on `key`, in order, per process.
fn session_ops(h: &History, key: &Option<Value>) -> Vec<Vec<usize>> {
    let mut by: std::collections::BTreeMap<u64, Vec<usize>> = Default::default();
    for (i, op) in h.ops.iter().enumerate() {
        if op.key == *key && !op.is_final {
            by.entry(op.process).or_default().push(i);
        }
    }
    by.into_values().collect()
}

fn is_ok_read(h: &History, i: usize) -> bool {
    h.ops[i].f == F::Read && h.ops[i].outcome == Outcome::Ok
}

proptest! {
    // Mutations need a suitable read; histories without one are rejected.
    #![proptest_config(ProptestConfig { cases: 400, max_global_rejects: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn sequential_histories_pass_every_check((w, h) in cases(&WORKLOADS, 1..5, 1..3, 1..50, any::<bool>(), false)) {
        let rs = run(&h, w);
        prop_assert_eq!(verdicts(&rs), all_valid(w, &h, true), "{}", crate::summary(w, &rs));
        // Reads return the state at their linearization point: never behind
        // a write acknowledged before they began.
        let s = report(&h, &CHECKS).staleness.unwrap();
        prop_assert_eq!(s.versions_behind_max, 0);
        prop_assert_eq!(s.keys_not_measured, 0);
    }

    /// Drop the last element from a read of a list whose last element the
    /// reading session appended: read-your-writes, plus monotonic reads iff
    /// the session had already seen that element.
    #[test]
    fn dropping_own_element_violates_read_your_writes(
        (_, h) in clean_cases(&[Workload::ListAppend]), pick in any::<prop::sample::Index>(),
    ) {
        let mut h = h.history;
        let mut candidates = Vec::new();
        for sess in session_ops(&h, &None) {
            let mut own: Vec<(Value, usize)> = Vec::new();
            let mut seen: Vec<Value> = Vec::new();
            for &i in &sess {
                let op = &h.ops[i];
                if op.f == F::Append && op.outcome == Outcome::Ok {
                    own.push((op.input.clone(), i));
                } else if is_ok_read(&h, i) {
                    let items = op.output.as_seq().unwrap();
                    if let Some(last) = items.last() {
                        if let Some(&(_, w)) = own.iter().find(|(e, _)| e == last) {
                            candidates.push((i, w, seen.contains(last)));
                        }
                    }
                    seen.extend(items.iter().cloned());
                }
            }
        }
        prop_assume!(!candidates.is_empty());
        let (r, w, seen_before) = candidates[pick.index(candidates.len())];
        let mut items = h.ops[r].output.as_list().unwrap().to_vec();
        items.pop();
        h.ops[r].output = Value::List(items);
        let rs = run(&h, Workload::ListAppend);
        use Verdict::*;
        let mr = if seen_before { Invalid } else { Valid };
        prop_assert_eq!(verdicts(&rs), vec![Invalid, mr, Valid, Valid, Valid], "{}", crate::summary(Workload::ListAppend, &rs));
        let a = &rs[0].keys[0].anomalies[0];
        prop_assert_eq!(a.kind.as_str(), "read-your-writes");
        let lines: Vec<u64> = a.ops.iter().map(|o| o.invoke_line).collect();
        prop_assert_eq!(lines, vec![h.ops[w].invoke_line, h.ops[r].invoke_line]);
    }

    /// Swap the results of two consecutive reads of one session (the first
    /// saw less): exactly monotonic reads, naming both reads.
    #[test]
    fn swapping_reads_violates_monotonic_reads(
        (w, h) in clean_cases(&[Workload::Set, Workload::ListAppend]), pick in any::<prop::sample::Index>(),
    ) {
        let mut h = h.history;
        let mut candidates = Vec::new();
        for sess in session_ops(&h, &None) {
            for p in sess.windows(2) {
                if is_ok_read(&h, p[0]) && is_ok_read(&h, p[1])
                    && h.ops[p[0]].output.as_seq().unwrap().len() < h.ops[p[1]].output.as_seq().unwrap().len()
                {
                    candidates.push((p[0], p[1]));
                }
            }
        }
        prop_assume!(!candidates.is_empty());
        let (r1, r2) = candidates[pick.index(candidates.len())];
        let o1 = std::mem::take(&mut h.ops[r1].output);
        h.ops[r1].output = std::mem::replace(&mut h.ops[r2].output, o1);
        let rs = run(&h, w);
        use Verdict::*;
        prop_assert_eq!(verdicts(&rs), vec![Valid, Invalid, Valid, Valid, Valid], "{}", crate::summary(w, &rs));
        let a = &rs[1].keys[0].anomalies[0];
        prop_assert_eq!(rs[1].keys[0].anomalies.len(), 1);
        prop_assert_eq!(a.ops[0].invoke_line, h.ops[r2].invoke_line);
        prop_assert_eq!(a.ops[1].invoke_line, h.ops[r1].invoke_line);
    }

    /// Registers: a read after the session's own write returns nil instead
    /// (read-your-writes, plus monotonic reads iff the session's previous
    /// read saw a value); or a session's reads nil-then-v are swapped
    /// (exactly monotonic reads).
    #[test]
    fn register_mutations(
        (_, h) in clean_cases(&[Workload::Register]), pick in any::<u64>(), swap in any::<bool>(),
    ) {
        let mut h = h.history;
        use Verdict::*;
        let mut rng = Rng::new(pick);
        if swap {
            let mut candidates = Vec::new();
            for sess in session_ops(&h, &None) {
                for p in sess.windows(2) {
                    if is_ok_read(&h, p[0]) && is_ok_read(&h, p[1])
                        && h.ops[p[0]].output.is_nil() && !h.ops[p[1]].output.is_nil()
                    {
                        candidates.push((p[0], p[1]));
                    }
                }
            }
            prop_assume!(!candidates.is_empty());
            let (r1, r2) = candidates[rng.below(candidates.len() as u64) as usize];
            let o1 = std::mem::take(&mut h.ops[r1].output);
            h.ops[r1].output = std::mem::replace(&mut h.ops[r2].output, o1);
            let rs = run(&h, Workload::Register);
            prop_assert_eq!(verdicts(&rs), vec![Valid, Invalid, Valid, Valid, Valid], "{}", crate::summary(Workload::Register, &rs));
        } else {
            let mut candidates = Vec::new();
            for sess in session_ops(&h, &None) {
                let mut wrote = false;
                let mut prev_read_value: Option<bool> = None; // Some(is non-nil)
                for &i in &sess {
                    let op = &h.ops[i];
                    if is_ok_read(&h, i) && wrote {
                        candidates.push((i, prev_read_value == Some(true)));
                    }
                    if op.outcome == Outcome::Ok {
                        match op.f {
                            F::Read => prev_read_value = Some(!op.output.is_nil()),
                            F::Cas => {
                                prev_read_value = Some(!op.input.as_seq().unwrap()[0].is_nil());
                                wrote = true;
                            }
                            F::Write => wrote = true,
                            _ => {}
                        }
                    }
                }
            }
            prop_assume!(!candidates.is_empty());
            let (r, mr) = candidates[rng.below(candidates.len() as u64) as usize];
            h.ops[r].output = Value::Nil;
            let rs = run(&h, Workload::Register);
            let mr = if mr { Invalid } else { Valid };
            prop_assert_eq!(verdicts(&rs), vec![Invalid, mr, Valid, Valid, Valid], "{}", crate::summary(Workload::Register, &rs));
        }
    }

    /// Counters: a read after the session's own increments returns one less
    /// than they add up to.
    #[test]
    fn counter_read_below_own_increments(
        (_, h) in clean_cases(&[Workload::Counter]), pick in any::<prop::sample::Index>(),
    ) {
        let mut h = h.history;
        let mut candidates = Vec::new();
        for sess in session_ops(&h, &None) {
            let (mut own, mut max_read) = (0i64, None::<i64>);
            for &i in &sess {
                let op = &h.ops[i];
                if op.f == F::Incr && op.outcome == Outcome::Ok {
                    own += op.input.as_int().unwrap();
                } else if is_ok_read(&h, i) {
                    if own > 0 {
                        candidates.push((i, own - 1, max_read.is_some_and(|m| m > own - 1)));
                    }
                    max_read = max_read.max(op.output.as_int());
                }
            }
        }
        prop_assume!(!candidates.is_empty());
        let (r, v, mr) = candidates[pick.index(candidates.len())];
        h.ops[r].output = Value::Int(v);
        let rs = run(&h, Workload::Counter);
        use Verdict::*;
        let mr = if mr { Invalid } else { Valid };
        prop_assert_eq!(verdicts(&rs), vec![Invalid, mr, Unknown, Unknown, Valid], "{}", crate::summary(Workload::Counter, &rs));
    }
}

proptest! {
    // Mutations need a suitable read; histories without one are rejected.
    #![proptest_config(ProptestConfig { cases: 400, max_global_rejects: 10_000, ..ProptestConfig::default() })]

    /// Precision: sessions reading stale but never older than what they
    /// already saw or wrote satisfy every session guarantee, though the
    /// history is not linearizable.
    #[test]
    fn stale_session_consistent_histories_pass_every_check((w, h) in cases(&WORKLOADS, 1..5, 1..3, 1..50, any::<bool>(), true)) {
        let rs = run(&h, w);
        let lin = report(&h, &[CheckName::Linearizable]).verdict == Verdict::Valid;
        prop_assert_eq!(verdicts(&rs), all_valid(w, &h, lin), "{}", crate::summary(w, &rs));
    }
}

#[test]
fn stale_generator_makes_stale_reads() {
    let mut stale = 0;
    for seed in 0..20 {
        let h = history(&GenOpts { stale: true, ..opts(Workload::ListAppend, seed, 3, 1, 40, false) });
        stale += report(&h, &CHECKS).staleness.unwrap().stale_reads;
    }
    assert!(stale > 10, "{stale}");
}

#[test]
fn generated_histories_are_not_trivial() {
    // Guard against a generator that silently produces nothing to check.
    let h = history(&opts(Workload::ListAppend, 7, 3, 1, 40, true));
    assert!(h.ops.iter().filter(|o| o.f == F::Read && o.outcome == Outcome::Ok).count() > 5);
    assert!(h.ops.iter().any(|o| o.outcome == Outcome::Info));
    assert!(!h.faults.is_empty());
}
