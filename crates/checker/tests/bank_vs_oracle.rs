//! Differential test of the `bank` check against a brute-force oracle.
//!
//! The oracle is written from the user-facing specification, not from
//! `bank.rs`:
//! - README / `bank.rs` module doc: transfers `{from, to, amount}`, whole-bank
//!   reads whose ok value maps account -> balance; total-conserved: every ok
//!   read sums to the bank's total; no-negative-balances: no ok read shows a
//!   negative balance unless negative balances are allowed.
//! - `BankSettings` doc: `initial: None` infers the total from the first ok
//!   read; `Some(map)`: accounts absent hold 0.
//! - docs/report-format.md: a check that saw no ok transfer or no ok read is
//!   at least unknown (never valid); an anomaly found stands.
//! - Jepsen semantics (docs silent): `fail` = never happened; `info` = may or
//!   may not have happened, at any point after its invoke; an ok transfer is
//!   applied by the sequential bank; when negative balances are not allowed
//!   a transfer that would overdraw cannot take effect (Jepsen's client
//!   refuses it), so an ok one there is not linearizable and an info one is
//!   left out (taken from conch's verdicts, confirmed against Jepsen's
//!   client semantics; the docs are silent); linearizable = some total order consistent
//!   with real time in which every ok read returns exactly the balances.
//!   With `initial: None` the state before the first read in the order is
//!   free; conch then says unknown for linearizable when a transfer is
//!   invoked before the first ok read completes (its message: "initial
//!   balances unknown ... give the initial balances"), which the test
//!   accepts, and only then.

use checker::read::{self, ReadOptions};
use checker::report::{CheckName, Report};
use checker::{check, BankSettings, CheckConfig, History, Value};
use proptest::prelude::*;
use std::collections::BTreeMap;

const ACCOUNTS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Fail,
    Info,
}

#[derive(Clone, Debug)]
enum Kind {
    Transfer { from: usize, to: usize, amount: i64 },
    Read([i64; ACCOUNTS]),
}

#[derive(Clone, Debug)]
struct Op {
    kind: Kind,
    outcome: Outcome,
    invoke: usize,
    complete: usize, // usize::MAX for info: never bounded
}

#[derive(Clone, Debug)]
struct Case {
    accounts: usize,
    ops: Vec<Op>,
    events: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum V {
    Valid,
    Invalid,
    Unknown,
}

fn apply(s: &mut [i64; ACCOUNTS], k: &Kind) {
    if let Kind::Transfer { from, to, amount } = *k {
        s[from] -= amount;
        s[to] += amount;
    }
}

/// The oracle's three verdicts: (total-conserved, no-negative-balances, linearizable).
fn oracle(c: &Case, initial_zero: bool, negative_allowed: bool) -> (V, Option<V>, V) {
    let n = c.accounts;
    let reads: Vec<[i64; ACCOUNTS]> = c
        .ops
        .iter()
        .filter(|o| o.outcome == Outcome::Ok)
        .filter_map(|o| if let Kind::Read(b) = o.kind { Some(b) } else { None })
        .collect();
    // first ok read by completion order
    let first_read = c
        .ops
        .iter()
        .filter(|o| o.outcome == Outcome::Ok && matches!(o.kind, Kind::Read(_)))
        .min_by_key(|o| o.complete)
        .map(|o| if let Kind::Read(b) = o.kind { b } else { unreachable!() });
    let ok_transfer = c.ops.iter().any(|o| o.outcome == Outcome::Ok && matches!(o.kind, Kind::Transfer { .. }));
    let nothing = !ok_transfer || reads.is_empty();
    let verdict = |bad: bool| {
        if bad {
            V::Invalid
        } else if nothing {
            V::Unknown
        } else {
            V::Valid
        }
    };
    let total: Option<i64> = if initial_zero { Some(0) } else { first_read.map(|b| b[..n].iter().sum()) };
    let total_bad = reads.iter().any(|b| Some(b[..n].iter().sum::<i64>()) != total);
    let neg_bad = reads.iter().any(|b| b[..n].iter().any(|&x| x < 0));
    let neg = if negative_allowed { None } else { Some(verdict(neg_bad)) };
    let lin = verdict(!linearizable(c, initial_zero, negative_allowed));
    (verdict(total_bad), neg, lin)
}

fn linearizable(c: &Case, initial_zero: bool, negative_allowed: bool) -> bool {
    let ops: Vec<&Op> = c.ops.iter().filter(|o| o.outcome != Outcome::Fail).collect();
    let mut used = vec![false; ops.len()];
    let state = if initial_zero { Some([0; ACCOUNTS]) } else { None };
    search(&ops, &mut used, state, [0; ACCOUNTS], negative_allowed)
}

/// `state`: the bank's balances if known; `delta`: transfers applied while it
/// was unknown (initial: None, before the first read).
fn search(ops: &[&Op], used: &mut [bool], state: Option<[i64; ACCOUNTS]>, delta: [i64; ACCOUNTS], neg: bool) -> bool {
    if ops.iter().zip(used.iter()).all(|(o, &u)| u || o.outcome == Outcome::Info) {
        return true;
    }
    for i in 0..ops.len() {
        if used[i] {
            continue;
        }
        // i may go next only if no other unused op completed before i was invoked
        let blocked = ops
            .iter()
            .enumerate()
            .any(|(j, o)| j != i && !used[j] && o.outcome != Outcome::Info && o.complete < ops[i].invoke);
        if blocked {
            continue;
        }
        used[i] = true;
        let ok = match &ops[i].kind {
            Kind::Transfer { .. } => match state {
                Some(mut s) => {
                    apply(&mut s, &ops[i].kind);
                    (neg || s.iter().all(|&x| x >= 0)) && search(ops, used, Some(s), delta, neg)
                }
                None => {
                    let mut d = delta;
                    apply(&mut d, &ops[i].kind);
                    search(ops, used, None, d, neg)
                }
            },
            Kind::Read(b) => match state {
                Some(s) => s == *b && search(ops, used, state, delta, neg),
                None => search(ops, used, Some(*b), delta, neg),
            },
        };
        used[i] = false;
        if ok {
            return true;
        }
    }
    false
}

fn to_json(c: &Case) -> String {
    c.events.join("\n") + "\n"
}

fn history(jsonl: &str) -> History {
    read::read_bytes("t.jsonl", jsonl.as_bytes(), &ReadOptions::default()).unwrap().0
}

fn parse(v: &serde_json::Value) -> V {
    match v.as_str() {
        Some("valid") => V::Valid,
        Some("invalid") => V::Invalid,
        _ => V::Unknown,
    }
}

/// conch's verdicts, in the oracle's order, from the report's JSON.
fn conch(c: &Case, initial_zero: bool, negative_allowed: bool) -> (V, Option<V>, V, Report) {
    let initial = if initial_zero {
        Some((0..c.accounts as i64).map(|a| (Value::Int(a), 0)).collect::<BTreeMap<_, _>>())
    } else {
        None
    };
    let cfg = CheckConfig {
        checks: vec![CheckName::Bank, CheckName::Linearizable],
        bank: BankSettings { initial, negative_allowed },
        ..CheckConfig::default()
    };
    let r = check(&history(&to_json(c)), &cfg).unwrap();
    let j = serde_json::to_value(&r).unwrap();
    let mut total = None;
    let mut neg = None;
    let mut lin = None;
    for res in j["results"].as_array().unwrap() {
        for k in res["keys"].as_array().unwrap() {
            match k["key"].as_str() {
                Some("total-conserved") => total = Some(parse(&k["verdict"])),
                Some("no-negative-balances") => neg = Some(parse(&k["verdict"])),
                Some("linearizable") => lin = Some(parse(&k["verdict"])),
                _ => {}
            }
        }
        if res["check"] == "linearizable" && lin.is_none() {
            lin = Some(parse(&res["verdict"]));
        }
    }
    (total.expect("total-conserved"), neg, lin.expect("linearizable"), r)
}

#[derive(Clone, Debug)]
struct Gen {
    kind: u8,
    from: usize,
    to: usize,
    amount: i64,
    outcome: u8,
    delay: usize,
    read_style: u8,
    prefix: usize,
    noise: (usize, i64),
}

fn gen_op() -> impl Strategy<Value = Gen> {
    (0u8..2, 0usize..3, 0usize..3, 1i64..6, 0u8..10, 0usize..3, 0u8..6, 0usize..8, (0usize..3, -3i64..4)).prop_map(
        |(kind, from, to, amount, outcome, delay, read_style, prefix, noise)| Gen {
            kind,
            from,
            to,
            amount,
            outcome,
            delay,
            read_style,
            prefix,
            noise,
        },
    )
}

fn case(initial_zero: bool) -> impl Strategy<Value = Case> {
    (2usize..=3, 2usize..=4, prop::collection::vec(gen_op(), 1..=7), 0i64..5).prop_map(
        move |(accounts, procs, gens, base)| build(accounts, procs, &gens, if initial_zero { 0 } else { base }),
    )
}

fn build(accounts: usize, procs: usize, gens: &[Gen], base: i64) -> Case {
    let mut ops: Vec<Op> = Vec::new();
    let mut events = Vec::new();
    let mut pending: Vec<(usize, usize, usize)> = Vec::new(); // (op, process, remaining)
    let mut free: Vec<usize> = (0..procs).rev().collect();
    let mut next_proc = procs;
    let base_state = {
        let mut s = [0; ACCOUNTS];
        for x in s.iter_mut().take(accounts) {
            *x = base;
        }
        s
    };
    let value = |k: &Kind, done: bool, outcome: Outcome| -> String {
        match k {
            Kind::Transfer { from, to, amount } => format!("{{\"from\":{from},\"to\":{to},\"amount\":{amount}}}"),
            Kind::Read(b) => {
                if done && outcome == Outcome::Ok {
                    let parts: Vec<String> = (0..accounts).map(|a| b[a].to_string()).collect();
                    format!("[{}]", parts.join(","))
                } else {
                    "null".into()
                }
            }
        }
    };
    let finish = |ops: &mut Vec<Op>, events: &mut Vec<String>, free: &mut Vec<usize>, i: usize, p: usize| {
        let o = &mut ops[i];
        let ty = match o.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        };
        let f = if matches!(o.kind, Kind::Read(_)) { "read" } else { "transfer" };
        o.complete = if o.outcome == Outcome::Info { usize::MAX } else { events.len() };
        events.push(format!(
            "{{\"type\":\"{ty}\",\"process\":{p},\"f\":\"{f}\",\"value\":{}}}",
            value(&o.kind, true, o.outcome)
        ));
        if o.outcome != Outcome::Info {
            free.push(p);
        }
    };
    for (n, g) in gens.iter().enumerate() {
        if free.is_empty() {
            let (i, p, _) = pending.remove(0);
            finish(&mut ops, &mut events, &mut free, i, p);
            if ops[i].outcome == Outcome::Info {
                free.push(next_proc);
                next_proc += 1;
            }
        }
        let p = free.pop().unwrap();
        let from = g.from % accounts;
        let mut to = g.to % accounts;
        if to == from {
            to = (from + 1) % accounts;
        }
        // the first op is a transfer: a history with none is not a bank history
        // and the last (of two or more) an ok read, so most have something to check
        let last_read = n > 0 && n + 1 == gens.len();
        let kind = if (g.kind == 0 || n == 0) && !last_read {
            Kind::Transfer { from, to, amount: g.amount }
        } else {
            // balances: ok transfers among the first `prefix` ops applied in list order
            let mut s = base_state;
            let done: Vec<&Op> = ops.iter().filter(|o| o.outcome != Outcome::Fail).collect();
            let k = g.prefix.min(done.len());
            let k = if g.read_style < 3 { done.len() } else { k };
            for o in &done[..k] {
                apply(&mut s, &o.kind);
            }
            match g.read_style {
                4 => {
                    // half-applied: one side of the last transfer seen
                    if let Some(Kind::Transfer { from, amount, .. }) = done.get(k).map(|o| &o.kind) {
                        s[*from] -= amount;
                    }
                }
                5 => s[g.noise.0 % accounts] += g.noise.1,
                _ => {}
            }
            Kind::Read(s)
        };
        let outcome = match g.outcome {
            0..=5 => Outcome::Ok,
            6 | 7 => Outcome::Fail,
            _ => Outcome::Info,
        };
        let outcome = if matches!(kind, Kind::Read(_)) && outcome == Outcome::Info { Outcome::Fail } else { outcome };
        let outcome = if last_read { Outcome::Ok } else { outcome };
        let i = ops.len();
        let f = if matches!(kind, Kind::Read(_)) { "read" } else { "transfer" };
        ops.push(Op { kind, outcome, invoke: events.len(), complete: 0 });
        events.push(format!(
            "{{\"type\":\"invoke\",\"process\":{p},\"f\":\"{f}\",\"value\":{}}}",
            value(&ops[i].kind, false, outcome)
        ));
        pending.push((i, p, g.delay));
        // complete those whose delay ran out
        let mut j = 0;
        while j < pending.len() {
            if pending[j].2 == 0 {
                let (i, p, _) = pending.remove(j);
                finish(&mut ops, &mut events, &mut free, i, p);
                if ops[i].outcome == Outcome::Info {
                    free.push(next_proc);
                    next_proc += 1;
                }
            } else {
                pending[j].2 -= 1;
                j += 1;
            }
        }
    }
    while !pending.is_empty() {
        let (i, p, _) = pending.remove(0);
        finish(&mut ops, &mut events, &mut free, i, p);
    }
    Case { accounts, ops, events }
}

fn compare(c: &Case, initial_zero: bool, negative_allowed: bool) -> Result<(), TestCaseError> {
    let (ot, on, ol) = oracle(c, initial_zero, negative_allowed);
    let (ct, cn, cl, r) = conch(c, initial_zero, negative_allowed);
    let reasons: Vec<String> = r
        .results
        .iter()
        .flat_map(|res| {
            let mut v = vec![format!("{}: {:?}", res.check, res.unknown_reason)];
            v.extend(res.keys.iter().map(|k| format!("  {:?}: {:?} {:?}", k.key, k.verdict, k.unknown_reason)));
            v
        })
        .collect();
    let ctx = format!(
        "initial_zero={initial_zero} negative_allowed={negative_allowed}\n{}{}",
        to_json(c),
        reasons.join("\n")
    );
    prop_assert_eq!(ot, ct, "total-conserved\n{}", ctx);
    if let Some(on) = on {
        prop_assert_eq!(Some(on), cn, "no-negative-balances\n{}", ctx);
    } else {
        prop_assert!(cn != Some(V::Invalid), "no-negative-balances invalid though allowed\n{}", ctx);
    }
    let first_read_done =
        c.ops.iter().filter(|o| o.outcome == Outcome::Ok && matches!(o.kind, Kind::Read(_))).map(|o| o.complete).min();
    let transfer_first =
        first_read_done.is_some_and(|d| c.ops.iter().any(|o| matches!(o.kind, Kind::Transfer { .. }) && o.invoke < d));
    if !(initial_zero || cl != V::Unknown || !transfer_first) {
        return Ok(());
    }
    prop_assert_eq!(ol, cl, "linearizable\n{}", ctx);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn bank_matches_oracle_initial_zero(c in case(true), neg in any::<bool>()) {
        compare(&c, true, neg)?;
    }

    #[test]
    fn bank_matches_oracle_initial_inferred(c in case(false), neg in any::<bool>()) {
        compare(&c, false, neg)?;
    }
}

#[test]
fn coverage() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut counts: BTreeMap<(bool, &str, V), usize> = BTreeMap::new();
    for zero in [true, false] {
        let s = case(zero);
        for _ in 0..500 {
            let c = s.new_tree(&mut runner).unwrap().current();
            let (t, n, _) = oracle(&c, zero, false);
            // from zero balances with overdrafts refused every ok transfer is
            // invalid, so linearizability is counted with negatives allowed
            let (_, _, l) = oracle(&c, zero, zero);
            *counts.entry((zero, "total", t)).or_default() += 1;
            *counts.entry((zero, "negative", n.unwrap())).or_default() += 1;
            *counts.entry((zero, "linearizable", l)).or_default() += 1;
        }
    }
    eprintln!("{counts:#?}");
    for zero in [true, false] {
        for p in ["total", "negative", "linearizable"] {
            for v in [V::Valid, V::Invalid] {
                let n = counts.get(&(zero, p, v)).copied().unwrap_or(0);
                assert!(n >= 10, "initial_zero={zero} {p} {v:?}: only {n} of 500");
            }
        }
    }
}

/// Found by the differential test: from zero balances with overdrafts
/// refused, an ok transfer that overdraws cannot be placed, so
/// linearizable is invalid even with no ok read (an anomaly found stands).
#[test]
fn ok_overdraft_with_no_read_is_not_linearizable_when_negatives_are_refused() {
    let ops =
        vec![Op { kind: Kind::Transfer { from: 0, to: 1, amount: 1 }, outcome: Outcome::Ok, invoke: 0, complete: 1 }];
    let events = vec![
        r#"{"type":"invoke","process":0,"f":"transfer","value":{"from":0,"to":1,"amount":1}}"#.to_string(),
        r#"{"type":"ok","process":0,"f":"transfer","value":{"from":0,"to":1,"amount":1}}"#.to_string(),
    ];
    let c = Case { accounts: 2, ops, events };
    let (t, n, l, r) = conch(&c, true, false);
    assert_eq!((t, n, l), (V::Unknown, Some(V::Unknown), V::Invalid));
    assert_eq!(oracle(&c, true, false), (V::Unknown, Some(V::Unknown), V::Invalid));
    let lin =
        r.results.iter().find(|res| res.keys.iter().any(|k| k.key == Some(Value::Str("linearizable".into())))).unwrap();
    // The check stands invalid, without the "no read of the balances
    // completed ok" reason it used to carry: a reason says why a verdict
    // is unknown (docs/report-format.md).
    assert_eq!(lin.verdict, checker::Verdict::Invalid);
    assert_eq!(lin.unknown_reason, None);
}
