use super::*;
use crate::history::Outcome;
use crate::read::{self, ReadOptions};
use crate::report::{Budget, Verdict};
use crate::InputErrorKind;
use proptest::prelude::*;

pub(crate) fn parse(name: &str, text: &str) -> Result<TxnHistory, crate::InputError> {
    let (h, _) = read::read_bytes(name, text.as_bytes(), &ReadOptions::default())?;
    TxnHistory::from_history(name, &h)
}

fn history(text: &str) -> TxnHistory {
    parse("t.edn", text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(text: &str, models: &[Model]) -> TxnReport {
    run_assuming(text, models, KeyAssumptions::default())
}

fn run_assuming(text: &str, models: &[Model], keys: KeyAssumptions) -> TxnReport {
    let opts = TxnOptions { models: models.to_vec(), sources: VersionSources::assuming(keys), ..TxnOptions::default() };
    check(&history(text), &opts)
}

/// The key assumptions a history's `NAME.args` asks for (the golden
/// runner's settings `linearizable-keys: true`, `sequential-keys: true`).
fn case_keys(name: &str) -> KeyAssumptions {
    let args = std::fs::read_to_string(format!("{}/{name}.args", dir())).unwrap_or_default();
    let on = |setting: &str| args.lines().any(|l| l.replace(' ', "") == format!("{setting}:true"));
    KeyAssumptions { linearizable_keys: on("linearizable-keys"), sequential_keys: on("sequential-keys") }
}

fn verdict(r: &TxnReport, m: Model) -> Verdict {
    r.models.iter().find(|x| x.model == m).unwrap_or_else(|| panic!("no {m} in {r:?}")).verdict
}

fn kinds(r: &TxnReport) -> Vec<AnomalyKind> {
    r.counts.iter().map(|c| c.kind).collect()
}

/// The report as the golden files show it.
pub(crate) fn summary(r: &TxnReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "workload: {}", r.workload);
    for m in &r.models {
        let by: Vec<&str> = m.violated_by.iter().map(|k| k.name()).collect();
        match (&m.unknown_reason, by.is_empty()) {
            (Some(why), _) => {
                let _ = writeln!(s, "{}: {} ({why})", m.model, m.verdict);
            }
            (None, true) => {
                let _ = writeln!(s, "{}: {}", m.model, m.verdict);
            }
            (None, false) => {
                let _ = writeln!(s, "{}: {} ({})", m.model, m.verdict, by.join(", "));
            }
        }
    }
    let names = |ms: &[Model]| ms.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ");
    let _ = writeln!(s, "not: {}", names(&r.not));
    let _ = writeln!(s, "also-not: {}", names(&r.also_not));
    for c in &r.counts {
        let _ = writeln!(s, "{}: {}", c.kind, c.count);
        for a in r.anomalies.iter().filter(|a| a.kind == c.kind) {
            for t in &a.txns {
                let lines = match t.complete_line {
                    Some(c) => format!("lines {}-{c}", t.invoke_line),
                    None => format!("line {}", t.invoke_line),
                };
                let outcome = match t.outcome {
                    Outcome::Ok => "ok",
                    Outcome::Info => "info",
                    Outcome::Fail => "fail",
                };
                let _ = writeln!(s, "  {} = process {}, {lines}, {outcome}: {}", t.name, t.process, t.value);
            }
            for st in &a.steps {
                let _ = writeln!(s, "  {} -{}-> {}", st.from, st.kind, st.to);
            }
            let _ = writeln!(s, "  {}", a.explanation);
            if let Some(why) = a.assumes {
                let _ = writeln!(s, "  (assumes {why})");
            }
            let names: Vec<(String, String)> = a.steps.iter().map(|s| (s.from.clone(), s.to.clone())).collect();
            if let Some(p) = sources::phrase(&a.assumed, &names) {
                let _ = writeln!(s, "  ({p})");
            }
        }
    }
    s
}

fn dir() -> String {
    format!("{}/../../histories/txn", env!("CARGO_MANIFEST_DIR"))
}

/// Every histories/txn/NAME.edn has NAME.expected (the report for every
/// model `--checks` takes); set UPDATE_EXPECT=1 to rewrite them.
#[test]
fn golden_reports() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".edn").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 18, "{names:?}");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for name in names {
        let text = std::fs::read_to_string(format!("{}/{name}.edn", dir())).unwrap();
        let got = summary(&run_assuming(&text, &Model::CHECKABLE, case_keys(&name)));
        let path = format!("{}/{name}.expected", dir());
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            failures.push(format!("{name}:\n--- expected\n{want}--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// #18 §5: every transactional explanation leads with one short sentence
/// naming a transaction or key, then the proof after "In detail:" ending in
/// the anomaly's name, on every anomaly of every golden history.
#[test]
fn explanations_lead_with_a_short_sentence() {
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("edn") {
            continue;
        }
        let r = run(&std::fs::read_to_string(&path).unwrap(), &Model::CHECKABLE);
        for a in &r.anomalies {
            seen += 1;
            let e = &a.explanation;
            let (lead, detail) = e.split_once(". In detail: ").unwrap_or_else(|| panic!("{path:?}: {e}"));
            assert!(lead.len() <= 140, "{path:?}: lead of {} chars: {lead}", lead.len());
            assert!(lead.starts_with(|c: char| c.is_uppercase()), "{path:?}: {lead}");
            assert!(lead.contains("T1") || lead.contains("Key "), "{path:?}: {lead}");
            assert!(detail.ends_with(a.kind.name()), "{path:?}: {detail}");
        }
    }
    assert!(seen >= 20, "only {seen} anomalies in the golden histories");
}

/// Each anomaly history shows its anomaly (and the valid one none), with
/// the transactions it is about.
#[test]
fn each_history_shows_its_class() {
    use AnomalyKind as A;
    let cases: &[(&str, A, &[u64])] = &[
        ("g0", A::G0, &[0, 1]),
        ("g1c", A::G1c, &[0, 1]),
        ("g-single", A::GSingle, &[0, 1]),
        ("g-nonadjacent", A::GNonadjacent, &[0, 1, 2, 3]),
        ("g2-item", A::G2Item, &[0, 1]),
        ("g1a", A::G1a, &[1, 0]),
        ("g1b", A::G1b, &[1, 0]),
        ("internal", A::Internal, &[0]),
        ("lost-update", A::LostUpdate, &[0, 1]),
        ("dirty-update", A::DirtyUpdate, &[0, 1]),
        ("duplicate-elements", A::DuplicateElements, &[1]),
        ("incompatible-order", A::IncompatibleOrder, &[2, 3]),
        ("future-read", A::FutureRead, &[0]),
        ("garbage-read", A::GarbageRead, &[1]),
        ("g-single-realtime", A::GSingleRealtime, &[1, 0]),
        ("g-single-process", A::GSingleProcess, &[0, 0]),
        ("rw-g-single", A::GSingle, &[0, 1]),
        ("rw-cyclic-versions", A::CyclicVersions, &[]),
        ("rw-lost-update", A::LostUpdate, &[0, 1]),
        ("causality-violation", A::CausalityViolation, &[0, 1, 2]),
        ("g0-process", A::G0Process, &[0, 0]),
        ("g0-realtime", A::G0Realtime, &[0, 1]),
        ("g1c-process", A::G1cProcess, &[0, 0]),
        ("g1c-realtime", A::G1cRealtime, &[0, 1]),
        ("g-nonadjacent-process", A::GNonadjacentProcess, &[0, 1, 1, 2]),
        ("g-nonadjacent-realtime", A::GNonadjacentRealtime, &[0, 1, 2, 3]),
        ("g2-item-process", A::G2ItemProcess, &[0, 0, 1]),
        ("g2-item-realtime", A::G2ItemRealtime, &[0, 1, 2]),
    ];
    for &(name, kind, procs) in cases {
        let text = std::fs::read_to_string(format!("{}/{name}.edn", dir())).unwrap();
        let r = run(&text, &[]);
        let a = r.anomalies.iter().find(|a| a.kind == kind).unwrap_or_else(|| panic!("{name}: no {kind}: {r:#?}"));
        let mut got: Vec<u64> = a.txns.iter().map(|t| t.process).collect();
        let mut want = procs.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{name}: {a:#?}");
        assert_eq!(r.verdict, Verdict::Invalid, "{name}");
    }
    let valid = std::fs::read_to_string(format!("{}/valid.edn", dir())).unwrap();
    let r = run(&valid, &Model::CHECKABLE);
    assert!(r.anomalies.is_empty(), "{r:#?}");
    assert!(r.models.iter().all(|m| m.verdict == Verdict::Valid), "{r:#?}");
}

/// The `-process` and `-realtime` histories: each one's only cycle needs an
/// edge of its variant, so exactly the models that order a process's (or
/// real time's) transactions are violated, and no model without them.
#[test]
fn variant_histories_violate_only_the_models_with_their_order() {
    use Model as M;
    const SESSION: &[Model] = &[
        M::StrongSessionSnapshotIsolation,
        M::StrongSnapshotIsolation,
        M::StrongSessionSerializable,
        M::StrictSerializable,
    ];
    const SESSION_SER: &[Model] = &[M::StrongSessionSerializable, M::StrictSerializable];
    const REALTIME: &[Model] = &[M::StrongSnapshotIsolation, M::StrictSerializable];
    const STRICT: &[Model] = &[M::StrictSerializable];
    let cases: &[(&str, &[Model])] = &[
        ("g0-process", SESSION),
        ("g1c-process", SESSION),
        ("g-single-process", SESSION),
        ("g-nonadjacent-process", SESSION),
        ("g2-item-process", SESSION_SER),
        ("g0-realtime", REALTIME),
        ("g1c-realtime", REALTIME),
        ("g-single-realtime", REALTIME),
        ("g-nonadjacent-realtime", REALTIME),
        ("g2-item-realtime", STRICT),
    ];
    for &(name, violated) in cases {
        let text = std::fs::read_to_string(format!("{}/{name}.edn", dir())).unwrap();
        let r = run(&text, &Model::CHECKABLE);
        for m in Model::CHECKABLE {
            let want = if violated.contains(&m) { Verdict::Invalid } else { Verdict::Valid };
            assert_eq!(verdict(&r, m), want, "{name}: {m}: {r:#?}");
        }
        assert_eq!(r.counts.len(), 1, "{name}: one class only: {:?}", kinds(&r));
        assert!(r.anomalies[0].assumes.is_none(), "{name}: nothing to assume: {:?}", r.anomalies[0]);
    }
}

#[test]
fn g_single_cycle_steps_name_keys_and_values() {
    let text = std::fs::read_to_string(format!("{}/g-single.edn", dir())).unwrap();
    let r = run(&text, &[Model::Serializable]);
    let a = &r.anomalies[0];
    assert_eq!(a.kind, AnomalyKind::GSingle);
    assert_eq!(a.steps.len(), 2);
    let rw = a.steps.iter().find(|s| s.kind == "rw").unwrap();
    let wr = a.steps.iter().find(|s| s.kind == "wr").unwrap();
    assert_eq!(rw.key, Some(Value::str("x")));
    assert_eq!(rw.value, Some(Value::List(vec![])));
    assert_eq!(rw.value_to, Some(Value::Int(1)));
    assert_eq!((rw.from_mop, rw.to_mop), (Some(0), Some(0)));
    assert_eq!(wr.key, Some(Value::str("y")));
    assert_eq!((wr.from_mop, wr.to_mop), (Some(1), Some(1)));
    assert!(a.explanation.contains("exactly one anti-dependency"), "{}", a.explanation);
    assert_eq!(verdict(&r, Model::Serializable), Verdict::Invalid);
    assert_eq!(r.not, [Model::ConsistentView, Model::ReadAtomic, Model::RepeatableRead]);
}

use crate::value::Value;

fn bad(text: &str) -> (u64, String) {
    let e = parse("bad.edn", text).expect_err("should be rejected");
    let InputErrorKind::BadTxn { reason } = &e.kind else { panic!("{e}") };
    (e.line, reason.clone())
}

/// Bad transactional histories: the text, the line its error names, and
/// what the error says.
const BAD_INPUTS: &[(&str, u64, &[&str])] = &[
    ("{:type :invoke, :f :txn, :value [[:incr :x 1]], :process 0}\n", 1, &["unknown function"]),
    (
        concat!(
            "{:type :invoke, :f :txn, :value [[:append :x 1]], :process 0}\n",
            "{:type :ok, :f :txn, :value [[:append :x 1]], :process 0}\n",
            "{:type :invoke, :f :txn, :value [[:append :x 1]], :process 1}\n"
        ),
        3,
        &["appended to key \"x\" twice", "line 1"],
    ),
    (
        concat!(
            "{:type :invoke, :f :txn, :value [[:append :x 1]], :process 0}\n",
            "{:type :ok, :f :txn, :value [[:append :x 2]], :process 0}\n"
        ),
        2,
        &["changes the txn's writes"],
    ),
    (
        concat!(
            "{:type :invoke, :f :txn, :value [[:append :x 1] [:r :x nil]], :process 0}\n",
            "{:type :ok, :f :txn, :value [[:append :x 1] [:r :x 5]], :process 0}\n"
        ),
        2,
        &["list-append"],
    ),
    (
        concat!(
            "{:type :invoke, :f :txn, :value [[:append :x 1]], :process 0}\n",
            "{:type :ok, :f :txn, :value [[:append :x 1]], :process 0}\n",
            "{:type :invoke, :f :txn, :value [[:w :y 1]], :process 0}\n",
            "{:type :ok, :f :txn, :value [[:w :y 1]], :process 0}\n"
        ),
        3,
        &["either list-append"],
    ),
    (
        concat!(
            "{:type :invoke, :f :txn, :value [[:r :x nil]], :process 0}\n",
            "{:type :ok, :f :txn, :value [[:r :x [1 [2]]]], :process 0}\n"
        ),
        2,
        &["value [2]"],
    ),
    (
        concat!(
            "{:type :invoke, :f :txn, :value [[:r :x nil]], :process 0}\n",
            "{:type :ok, :f :txn, :value [[:r :x]], :process 0}\n"
        ),
        2,
        &["three elements"],
    ),
    (
        concat!(
            "{:type :invoke, :f :txn, :value [[:r :x nil]], :process 0}\n",
            "{:type :invoke, :f :read, :value nil, :process 1}\n"
        ),
        2,
        &["every client op must be `txn`"],
    ),
    ("{:type :invoke, :f :txn, :value [[:w [1] 1]], :process 0}\n", 1, &["key [1]"]),
];

#[test]
fn bad_input_names_the_line() {
    for &(text, line, says) in BAD_INPUTS {
        let (at, why) = bad(text);
        assert_eq!(at, line, "{text}");
        for s in says {
            assert!(why.contains(s), "{why}");
        }
    }
}

#[test]
fn jsonl_and_edn_read_the_same() {
    let edn = concat!(
        "{:type :invoke, :f :txn, :value [[:append 5 1] [:r 6 nil]], :process 2, :time 10, :index 4}\n",
        "{:type :ok, :f :txn, :value [[:append 5 1] [:r 6 [1 2]]], :process 2, :time 20, :index 5}\n",
    );
    let jsonl = concat!(
        r#"{"type":"invoke","process":2,"f":"txn","value":[["append",5,1],["r",6,null]]}"#,
        "\n",
        r#"{"type":"ok","process":2,"f":"txn","value":[["append",5,1],["r",6,[1,2]]]}"#,
        "\n",
    );
    let (a, b) = (parse("a.edn", edn).unwrap(), parse("b.jsonl", jsonl).unwrap());
    assert_eq!(a.render_txn(&a.txns[0]), b.render_txn(&b.txns[0]));
    assert_eq!(a.workload, Workload::ListAppend);
    assert_eq!(a.txns[0].outcome, Outcome::Ok);
}

#[test]
fn no_committed_transaction_is_unknown() {
    let r = run(
        concat!(
            "{:type :invoke, :f :txn, :value [[:append :x 1]], :process 0}\n",
            "{:type :fail, :f :txn, :value [[:append :x 1]], :process 0}\n",
        ),
        &[Model::Serializable],
    );
    assert_eq!(verdict(&r, Model::Serializable), Verdict::Unknown);
    assert!(r.models[0].unknown_reason.as_deref().unwrap().contains("no transaction"));
}

#[test]
fn serializable_ignores_real_time_but_strict_does_not() {
    let text = std::fs::read_to_string(format!("{}/g-single-realtime.edn", dir())).unwrap();
    let r = run(&text, &[Model::Serializable, Model::StrictSerializable]);
    assert_eq!(verdict(&r, Model::Serializable), Verdict::Valid);
    assert_eq!(verdict(&r, Model::StrictSerializable), Verdict::Invalid);
    assert_eq!(kinds(&r), [AnomalyKind::GSingleRealtime]);
}

fn mop(f: &str, k: i64, v: Value) -> Value {
    Value::List(vec![Value::str(f), Value::Int(k), v])
}

fn list(xs: &[i64]) -> Value {
    Value::List(xs.iter().map(|&x| Value::Int(x)).collect())
}

/// A history of ok transactions that all run concurrently (every invoke,
/// then every completion): no real-time order between them.
fn concurrent(txns: &[Vec<Value>]) -> TxnHistory {
    use crate::history::{Event, EventType, Process, F};
    let invoke_value = |ms: &Vec<Value>| {
        Value::List(
            ms.iter()
                .map(|m| {
                    let mut m = m.as_list().unwrap().to_vec();
                    if m[0] == Value::str("r") {
                        m[2] = Value::Nil;
                    }
                    Value::List(m)
                })
                .collect(),
        )
    };
    let mut events = Vec::new();
    for (p, ms) in txns.iter().enumerate() {
        events.push(Event::new(
            events.len() as u64 + 1,
            EventType::Invoke,
            Process::Client(p as u64),
            F::Txn,
            invoke_value(ms),
        ));
    }
    for (p, ms) in txns.iter().enumerate() {
        let v = Value::List(ms.clone());
        events.push(Event::new(events.len() as u64 + 1, EventType::Ok, Process::Client(p as u64), F::Txn, v));
    }
    let h = crate::History::from_events("gen", events).unwrap();
    TxnHistory::from_history("gen", &h).unwrap()
}

/// A ring of write skews: transaction i reads keys i+1 and i+2 empty and
/// appends to key i, so every cycle is all anti-dependencies (G2-item),
/// thousands of them in one strongly connected component.
fn skew_ring(n: i64) -> Vec<Vec<Value>> {
    (0..n)
        .map(|i| {
            vec![mop("r", (i + 1) % n, list(&[])), mop("r", (i + 2) % n, list(&[])), mop("append", i, Value::Int(i))]
        })
        .collect()
}

#[test]
fn a_sea_of_g2_item_hides_no_g_single() {
    let h = concurrent(&skew_ring(3000));
    let models = [Model::ConsistentView, Model::SnapshotIsolation, Model::Serializable];
    let r = check(&h, &TxnOptions { models: models.to_vec(), ..TxnOptions::default() });
    assert_eq!(verdict(&r, Model::ConsistentView), Verdict::Valid, "{:?}", r.models);
    assert_eq!(verdict(&r, Model::SnapshotIsolation), Verdict::Valid);
    assert_eq!(verdict(&r, Model::Serializable), Verdict::Invalid);
    assert_eq!(kinds(&r), [AnomalyKind::G2Item]);
    assert_eq!(r.stats.largest_scc_txns, 3000);
}

#[test]
fn a_g_single_hidden_in_a_sea_of_g2_item_is_found() {
    let n = 3000;
    let mut txns = skew_ring(n);
    // A chain of write-read dependencies from A (at key 10_000) through 40
    // transactions to B, which misses A's append to key 20_000: a G-single
    // of 42 steps; A and B are tied into the ring both ways.
    let (p, q) = (10_000, 20_000);
    txns.push(vec![mop("append", p, Value::Int(0)), mop("append", q, Value::Int(1)), mop("r", 7, list(&[]))]);
    for j in 0..40 {
        txns.push(vec![mop("r", p + j, list(&[j])), mop("append", p + j + 1, Value::Int(j + 1))]);
    }
    txns.push(vec![mop("r", p + 40, list(&[40])), mop("r", q, list(&[]))]);
    txns[100].push(mop("r", q, list(&[])));
    let h = concurrent(&txns);
    let r = check(&h, &TxnOptions { models: vec![Model::ConsistentView], ..TxnOptions::default() });
    assert_eq!(verdict(&r, Model::ConsistentView), Verdict::Invalid);
    let g = r.anomalies.iter().find(|a| a.kind == AnomalyKind::GSingle).expect("the G-single");
    assert_eq!(g.steps.len(), 42, "{}", g.explanation);
    assert_eq!(g.steps.iter().filter(|s| s.kind == "rw").count(), 1);
    assert_eq!(r.stats.largest_scc_txns, 3000 + 42);
}

#[test]
fn budget_cut_search_is_unknown_unless_cycle_exists_decides() {
    // A long fork (G-nonadjacent) tied into a ring of write skews. With
    // almost no search work allowed, the searches for G-single and
    // G-nonadjacent give up: consistent view is unknown, with the reason;
    // snapshot isolation is decided by its exact cycle-exists check.
    let mut txns = skew_ring(200);
    let (a, b) = (1000, 2000);
    txns.push(vec![mop("append", a, Value::Int(1)), mop("r", 7, list(&[]))]);
    txns.push(vec![mop("r", a, list(&[1])), mop("r", b, list(&[]))]);
    txns.push(vec![mop("append", b, Value::Int(1))]);
    txns.push(vec![mop("r", b, list(&[1])), mop("r", a, list(&[]))]);
    txns[100].push(mop("r", a, list(&[])));
    let h = concurrent(&txns);
    let models = vec![Model::ConsistentView, Model::SnapshotIsolation, Model::Serializable];
    let full = check(&h, &TxnOptions { models: models.clone(), ..TxnOptions::default() });
    assert_eq!(verdict(&full, Model::ConsistentView), Verdict::Valid, "{:?}", full.models);
    assert_eq!(kinds(&full), [AnomalyKind::GNonadjacent, AnomalyKind::G2Item]);
    let r = check(&h, &TxnOptions { models, search_work_max: 10, ..TxnOptions::default() });
    assert_eq!(verdict(&r, Model::ConsistentView), Verdict::Unknown, "{:?}", r.models);
    let why = r.models[0].unknown_reason.as_deref().unwrap();
    assert!(why.contains("G-single") && why.contains("gave up"), "{why}");
    assert_eq!(verdict(&r, Model::SnapshotIsolation), Verdict::Invalid);
    assert_eq!(verdict(&r, Model::Serializable), Verdict::Invalid);
    assert!(r.incomplete.iter().any(|c| c.kind == AnomalyKind::GSingle));
}

#[test]
fn budget_expired_reports_the_cycles_known_to_exist() {
    let mut txns = skew_ring(50);
    txns.push(vec![mop("append", 1000, Value::Int(1)), mop("r", 7, list(&[]))]);
    txns.push(vec![mop("r", 1000, list(&[1])), mop("r", 2000, list(&[]))]);
    txns.push(vec![mop("append", 2000, Value::Int(1))]);
    txns.push(vec![mop("r", 2000, list(&[1])), mop("r", 1000, list(&[]))]);
    txns[10].push(mop("r", 1000, list(&[])));
    let h = concurrent(&txns);
    let budget = Budget { deadline: Some(std::time::Instant::now()), ..Budget::default() };
    let models = vec![Model::ConsistentView, Model::SnapshotIsolation, Model::Serializable];
    let r = check(&h, &TxnOptions { models, budget, ..TxnOptions::default() });
    assert_eq!(verdict(&r, Model::ConsistentView), Verdict::Unknown);
    assert!(r.models[0].unknown_reason.as_deref().unwrap().contains("timeout"));
    assert_eq!(verdict(&r, Model::SnapshotIsolation), Verdict::Invalid);
    assert_eq!(verdict(&r, Model::Serializable), Verdict::Invalid);
    // The weakest fact only: a cycle in SI's subgraph is also one in
    // serializability's.
    assert_eq!(kinds(&r), [AnomalyKind::PlSiCycleExists]);
    let a = &r.anomalies[0];
    assert_eq!(a.txns.len(), 10, "the first ten of the component are named");
    assert!(a.explanation.contains("54 transactions"), "{}", a.explanation);
}

#[test]
fn regression_value_written_twice_in_one_txn_is_bad_input_not_a_panic() {
    let (line, why) = bad("{:type :invoke, :f :txn, :value [[:w :x 1] [:w :x 1]], :process 0}\n");
    assert_eq!(line, 1);
    assert!(why.contains("earlier in the same txn"), "{why}");
}

/// Found by running Knossos's own multi-register history without `--model`:
/// its `txn`s of `:read`/`:write` are taken for rw-register transactions,
/// whose values must be unique per key, and the error did not say how to
/// check it as Knossos does.
#[test]
fn regression_knossos_multi_register_read_as_rw_register_names_the_model_to_use() {
    let (line, why) = bad("{:type :invoke, :f :txn, :value [[:write :x 1]], :process 0}\n\
         {:type :ok, :f :txn, :value [[:write :x 1]], :process 0}\n\
         {:type :invoke, :f :txn, :value [[:write :x 1]], :process 1}\n");
    assert_eq!(line, 3);
    assert!(why.contains("at line 1") && why.contains("--model multi-register"), "{why}");
    // Elle's duplicate-appends precondition has no such reading.
    let (_, why) = bad("{:type :invoke, :f :txn, :value [[:append :x 1] [:append :x 1]], :process 0}\n");
    assert!(!why.contains("multi-register"), "{why}");
}

/// Found by the oracle comparison: T1 appended 2, then read [2 2]. The
/// read ends with its own append, so it is internally consistent, but the
/// state it saw, [2], holds an element only T1 writes. Every element is
/// appended once, so no version of the key, whatever the model shows a
/// transaction of its own writes, repeats one: duplicate-elements at every
/// level, read uncommitted included (as the oracle judges it).
#[test]
fn regression_own_element_in_the_state_a_post_write_read_saw_is_duplicate_elements() {
    let r = run(
        "{:type :invoke, :f :txn, :value [[:append 0 2] [:r 0 nil]], :process 0}\n\
         {:type :ok, :f :txn, :value [[:append 0 2] [:r 0 [2 2]]], :process 0}\n",
        &[Model::ReadUncommitted, Model::ReadCommitted, Model::ReadAtomic],
    );
    for m in [Model::ReadUncommitted, Model::ReadCommitted, Model::ReadAtomic] {
        assert_eq!(verdict(&r, m), Verdict::Invalid, "{m}: {r:?}");
    }
    assert_eq!(kinds(&r), vec![AnomalyKind::DuplicateElements], "{r:?}");
    assert_eq!(r.not, vec![Model::ReadUncommitted], "{r:?}");
}

/// Found by the oracle comparison (seed-dependent before the fix): T0
/// appended 1, read [1 1], appended 2. The PL levels judge only reads
/// before a transaction's own writes, and read-uncommitted's pass ignored
/// this one, so only read atomic and up were ruled out; but a repeated
/// element is no version under any model, and the finding now comes from
/// the one internal-consistency pass every model shares.
#[test]
fn regression_post_write_read_repeating_an_element_is_duplicate_elements_at_every_level() {
    let text = "{:type :invoke, :f :txn, :value [[:append 1 1] [:r 1 nil] [:append 1 2]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:append 1 1] [:r 1 [1 1]] [:append 1 2]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:r 0 nil] [:r 1 nil]], :process 1}\n\
                {:type :ok, :f :txn, :value [[:r 0 []] [:r 1 [1 2]]], :process 1}\n";
    let r = run(text, &Model::CHECKABLE);
    for m in &r.models {
        assert_eq!(m.verdict, Verdict::Invalid, "{}: {r:?}", m.model);
        assert!(m.violated_by.contains(&AnomalyKind::DuplicateElements), "{}: {r:?}", m.model);
    }
    let dup = r.anomalies.iter().find(|a| a.kind == AnomalyKind::DuplicateElements).expect("named");
    assert_eq!(dup.txns.len(), 1, "{dup:?}");
    assert_eq!(dup.txns[0].invoke_line, 1, "{dup:?}");
    assert_eq!(r.not, vec![Model::ReadUncommitted], "{r:?}");
}

/// docs/anomalies.md teaches each anomaly with its history from
/// histories/txn/: every event line of every one is quoted there, so the
/// page cannot drift from the files the golden reports come from.
#[test]
fn anomalies_page_quotes_every_txn_history() {
    let page = std::fs::read_to_string(format!("{}/../../docs/anomalies.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut missing = Vec::new();
    for e in std::fs::read_dir(dir()).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "edn") {
            let text = std::fs::read_to_string(&path).unwrap();
            let events: Vec<&str> = text.lines().filter(|l| l.starts_with('{')).collect();
            if !page.contains(&events.join("\n")) {
                missing.push(path.display().to_string());
            }
        }
    }
    missing.sort();
    assert!(missing.is_empty(), "docs/anomalies.md does not quote: {missing:?}");
}

/// Found by the oracle comparison: a read after the transaction's own
/// append shows an element no transaction wrote. The PL levels do not judge
/// post-write reads, but no model explains garbage.
#[test]
fn regression_garbage_in_a_post_write_read_rules_out_read_uncommitted() {
    let r = run(
        "{:type :invoke, :f :txn, :value [[:append 1 1] [:r 1 nil]], :process 0}\n\
         {:type :ok, :f :txn, :value [[:append 1 1] [:r 1 [1 1000000]]], :process 0}\n",
        &[Model::ReadUncommitted],
    );
    assert_eq!(verdict(&r, Model::ReadUncommitted), Verdict::Invalid, "{r:?}");
    assert!(kinds(&r).contains(&AnomalyKind::GarbageRead), "{r:?}");
}

/// Found by the oracle comparison (100,000 cases): T3 appended 2 and then
/// read [1 2 1000000], where 1 is a failed transaction's append and
/// 1000000 nobody's. The post-write read's scan stopped at the first bad
/// element, the aborted 1 (G1a, which read uncommitted allows), so the
/// garbage after it, which no model allows, went unreported.
#[test]
fn regression_an_aborted_element_does_not_hide_garbage_after_it_in_a_post_write_read() {
    let text = "{:type :invoke, :f :txn, :value [[:append 0 1]], :process 0}\n\
                {:type :fail, :f :txn, :value [[:append 0 1]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:append 0 2] [:r 0 nil] [:append 0 3]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:append 0 2] [:r 0 [1 2 1000000]] [:append 0 3]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:r 0 nil]], :process 1}\n\
                {:type :ok, :f :txn, :value [[:r 0 [1 2 3]]], :process 1}\n";
    let r = run(text, &[Model::ReadUncommitted, Model::ReadCommitted]);
    assert_eq!(verdict(&r, Model::ReadUncommitted), Verdict::Invalid, "{r:?}");
    let ru = r.models.iter().find(|m| m.model == Model::ReadUncommitted).unwrap();
    assert_eq!(ru.violated_by, vec![AnomalyKind::GarbageRead], "{r:?}");
    assert!(kinds(&r).contains(&AnomalyKind::G1a), "the aborted element is still named: {r:?}");
    let garbage = r.anomalies.iter().find(|a| a.kind == AnomalyKind::GarbageRead).expect("named");
    assert_eq!(garbage.txns[0].invoke_line, 3, "{garbage:?}");
}

/// Found by the oracle comparison (100,000 cases): T0 appended 1 and then
/// read [1 2], where 2 is T1's append that T1 followed with 3. The read
/// is internally inconsistent (it should end with T0's own 1), so every
/// pass left it out, but what it saw of others ends in a version its
/// writer overwrote: an intermediate read (G1b), which read committed
/// forbids whatever the transaction did before.
#[test]
fn regression_a_post_write_read_of_an_intermediate_version_is_g1b() {
    let text = "{:type :invoke, :f :txn, :value [[:append 1 1] [:r 0 nil] [:r 1 nil]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:append 1 1] [:r 0 []] [:r 1 [1 2]]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:append 1 2] [:append 1 3]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:append 1 2] [:append 1 3]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:r 0 nil] [:r 1 nil]], :process 1}\n\
                {:type :ok, :f :txn, :value [[:r 0 []] [:r 1 [1 2 3]]], :process 1}\n";
    let r = run(text, &[Model::ReadUncommitted, Model::ReadCommitted]);
    assert_eq!(verdict(&r, Model::ReadUncommitted), Verdict::Valid, "{r:?}");
    assert_eq!(verdict(&r, Model::ReadCommitted), Verdict::Invalid, "{r:?}");
    let g1b = r.anomalies.iter().find(|a| a.kind == AnomalyKind::G1b).expect("G1b named");
    let lines: Vec<u64> = g1b.txns.iter().map(|t| t.invoke_line).collect();
    assert_eq!(lines, [1, 3], "the reader, then the writer: {g1b:?}");
}

/// Found by differential testing: a transaction that read a value nobody
/// wrote in two micro-ops (`[[:r 1 5] [:r 1 5]]`) got two identical
/// garbage-read entries. One mistake, one entry naming the transaction.
#[test]
fn regression_one_txn_reading_the_same_garbage_twice_reports_it_once() {
    let cases = [
        "{:type :invoke, :f :txn, :value [[:r 1 nil] [:r 1 nil]], :process 0}\n\
         {:type :ok, :f :txn, :value [[:r 1 5] [:r 1 5]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:r 1 nil] [:r 1 nil]], :process 0}\n\
         {:type :ok, :f :txn, :value [[:r 1 [5]] [:r 1 [5]]], :process 0}\n",
        // A pre-write read and a post-write one of the same garbage.
        "{:type :invoke, :f :txn, :value [[:r 1 nil] [:w 1 6] [:r 1 nil]], :process 0}\n\
         {:type :ok, :f :txn, :value [[:r 1 5] [:w 1 6] [:r 1 5]], :process 0}\n",
    ];
    for text in cases {
        let r = run(text, &Model::CHECKABLE);
        assert_eq!(verdict(&r, Model::ReadUncommitted), Verdict::Invalid, "{r:?}");
        let garbage: Vec<&TxnAnomaly> = r.anomalies.iter().filter(|a| a.kind == AnomalyKind::GarbageRead).collect();
        assert_eq!(garbage.len(), 1, "{text}: {garbage:#?}");
        assert_eq!(garbage[0].txns.len(), 1);
        assert_eq!(garbage[0].txns[0].invoke_line, 1);
        let count = r.counts.iter().find(|c| c.kind == AnomalyKind::GarbageRead).expect("counted");
        assert_eq!(count.count, 1, "{text}");
    }
    // The same for an aborted read, an intermediate read and a future read.
    let others = [
        (
            AnomalyKind::G1a,
            "{:type :invoke, :f :txn, :value [[:w 1 5]], :process 0}\n\
             {:type :fail, :f :txn, :value [[:w 1 5]], :process 0}\n\
             {:type :invoke, :f :txn, :value [[:r 1 nil] [:r 1 nil]], :process 1}\n\
             {:type :ok, :f :txn, :value [[:r 1 5] [:r 1 5]], :process 1}\n",
        ),
        (
            AnomalyKind::G1b,
            "{:type :invoke, :f :txn, :value [[:w 1 5] [:w 1 6]], :process 0}\n\
             {:type :ok, :f :txn, :value [[:w 1 5] [:w 1 6]], :process 0}\n\
             {:type :invoke, :f :txn, :value [[:r 1 nil] [:r 1 nil]], :process 1}\n\
             {:type :ok, :f :txn, :value [[:r 1 5] [:r 1 5]], :process 1}\n",
        ),
        (
            AnomalyKind::FutureRead,
            "{:type :invoke, :f :txn, :value [[:r 1 nil] [:r 1 nil] [:w 1 5]], :process 0}\n\
             {:type :ok, :f :txn, :value [[:r 1 5] [:r 1 5] [:w 1 5]], :process 0}\n",
        ),
    ];
    for (kind, text) in others {
        let r = run(text, &Model::CHECKABLE);
        let n = r.anomalies.iter().filter(|a| a.kind == kind).count();
        assert_eq!(n, 1, "{kind}: {r:#?}");
        assert_eq!(r.counts.iter().find(|c| c.kind == kind).map(|c| c.count), Some(1), "{kind}: {r:#?}");
    }
}

/// Small histories of both workloads whose reads repeat and return values
/// from a small set (garbage, aborted, intermediate and future ones
/// among them): what a report says twice it says once too many.
fn repeating_history() -> impl Strategy<Value = String> {
    // Per transaction: process, outcome (0 ok, 1 fail, 2 info), micro-ops
    // (kind 0 = write/append, else a read of a value set drawn from 1..=5).
    let mop = (0u8..3, 0u8..2, proptest::collection::vec(0u8..=5, 0..3));
    let txn =
        (0u8..2, prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)], proptest::collection::vec(mop, 1..4));
    (any::<bool>(), proptest::collection::vec(txn, 1..5)).prop_map(|(list, txns)| {
        let mut next = 1u32;
        let mut lines = Vec::new();
        for (process, outcome, mops) in txns {
            let (mut inv, mut done) = (Vec::new(), Vec::new());
            for (kind, key, vals) in mops {
                if kind == 0 {
                    let (f, v) = (if list { "append" } else { "w" }, next);
                    next += 1;
                    inv.push(format!("[:{f} {key} {v}]"));
                    done.push(format!("[:{f} {key} {v}]"));
                } else {
                    inv.push(format!("[:r {key} nil]"));
                    let shown = if list {
                        let xs: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
                        format!("[{}]", xs.join(" "))
                    } else {
                        vals.first().map_or("nil".to_string(), |v| v.to_string())
                    };
                    done.push(format!("[:r {key} {shown}]"));
                }
            }
            let end = ["ok", "fail", "info"][outcome as usize];
            // Failed and info completions repeat the invocation's reads.
            let value = if outcome == 0 { done.join(" ") } else { inv.join(" ") };
            lines.push(format!("{{:type :invoke, :f :txn, :value [{}], :process {process}}}", inv.join(" ")));
            lines.push(format!("{{:type :{end}, :f :txn, :value [{value}], :process {process}}}"));
        }
        lines.join("\n") + "\n"
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, failure_persistence: None, ..Default::default() })]

    /// No report holds two identical anomaly entries (the class of
    /// `regression_one_txn_reading_the_same_garbage_twice_reports_it_once`).
    #[test]
    fn no_two_identical_anomaly_entries(text in repeating_history()) {
        let Ok(h) = parse("t.edn", &text) else { return Ok(()) };
        let opts = TxnOptions { models: Model::CHECKABLE.to_vec(), examples_max: 1000, ..TxnOptions::default() };
        let r = check(&h, &opts);
        for (i, a) in r.anomalies.iter().enumerate() {
            for b in &r.anomalies[..i] {
                proptest::prop_assert!(a != b, "twice in\n{}\n{:#?}", text, a);
            }
        }
        for c in &r.counts {
            let shown = r.anomalies.iter().filter(|a| a.kind == c.kind).count() as u64;
            proptest::prop_assert_eq!(shown, c.count, "{} in\n{}", c.kind, text);
        }
    }
}

/// Elle's `:linearizable-keys?` on a hand case (histories/txn/
/// rw-linearizable-keys.edn): serializable from what the reads prove, a
/// G-single between T2 (the writer of x = 2 and y = 2) and T3 (the reader)
/// once real time orders x's versions; the rw step is the one that rests on
/// the assumption, and the report says so.
#[test]
fn linearizable_keys_turn_a_valid_history_into_g_single() {
    let text = std::fs::read_to_string(format!("{}/rw-linearizable-keys.edn", dir())).unwrap();
    let plain = run(&text, &[Model::Serializable]);
    assert_eq!(verdict(&plain, Model::Serializable), Verdict::Valid, "{plain:#?}");
    assert!(plain.anomalies.is_empty(), "{plain:#?}");
    assert_eq!(plain.version_sources, vec![VersionSource::InitialState, VersionSource::WfrKeys]);

    let lin = KeyAssumptions { linearizable_keys: true, sequential_keys: false };
    let r = run_assuming(&text, &[Model::Serializable], lin);
    assert_eq!(verdict(&r, Model::Serializable), Verdict::Invalid, "{r:#?}");
    assert_eq!(
        r.version_sources,
        vec![VersionSource::InitialState, VersionSource::WfrKeys, VersionSource::LinearizableKeys]
    );
    let i = r.anomalies.iter().position(|a| a.kind == AnomalyKind::GSingle).expect("a G-single");
    let a = &r.anomalies[i];
    // The writer of x = 2, y = 2 (process 1) and the reader (process 2).
    let mut procs: Vec<u64> = a.txns.iter().map(|t| t.process).collect();
    procs.sort_unstable();
    assert_eq!(procs, vec![1, 2], "{a:#?}");
    let rw = a.steps.iter().position(|s| s.kind == "rw").expect("an rw step");
    assert_eq!(a.steps[rw].key, Some(Value::str("x")), "{a:#?}");
    assert_eq!((a.steps[rw].value.clone(), a.steps[rw].value_to.clone()), (Some(Value::Int(1)), Some(Value::Int(2))));
    // Only that step rests on the assumption; the wr step is proven.
    assert_eq!(
        a.assumed,
        vec![AssumedStep { step: Some(rw as u32), kind: Some("rw"), source: VersionSource::LinearizableKeys }],
        "{a:#?}"
    );
    let h = history(&text);
    let shown = a.to_anomaly(&h);
    assert!(shown.explanation.contains("real-time order (--linearizable-keys)"), "{}", shown.explanation);
}

/// Elle's `:sequential-keys?` (histories/txn/rw-sequential-keys.edn): one
/// process writes x = 1, then x = 2, then reads x = 1. Serializable from the
/// reads alone; under sequential keys its order gives 1 < 2 and 2 < 1, a
/// cyclic version order, reported as resting on the assumption.
#[test]
fn sequential_keys_find_cyclic_versions_in_one_process() {
    let text = std::fs::read_to_string(format!("{}/rw-sequential-keys.edn", dir())).unwrap();
    let plain = run(&text, &[Model::Serializable]);
    assert_eq!(verdict(&plain, Model::Serializable), Verdict::Valid, "{plain:#?}");
    let seq = KeyAssumptions { linearizable_keys: false, sequential_keys: true };
    let r = run_assuming(&text, &[Model::Serializable], seq);
    assert_eq!(verdict(&r, Model::Serializable), Verdict::Invalid, "{r:#?}");
    let i = r.anomalies.iter().position(|a| a.kind == AnomalyKind::CyclicVersions).expect("cyclic-versions");
    assert_eq!(r.anomalies[i].key, Some(Value::str("x")));
    assert_eq!(
        r.anomalies[i].assumed,
        vec![AssumedStep { step: None, kind: None, source: VersionSource::SequentialKeys }]
    );
    // Linearizable keys see the same (one process's order is real time).
    let lin = KeyAssumptions { linearizable_keys: true, sequential_keys: false };
    let r = run_assuming(&text, &[Model::Serializable], lin);
    assert!(kinds(&r).contains(&AnomalyKind::CyclicVersions), "{r:#?}");
}

/// A read of nil after a write to the key completed: nil precedes every
/// version, so under linearizable keys x = 1 < nil is a cycle (Elle links
/// the version to nil too). Found by the oracle comparison's first run.
#[test]
fn regression_linearizable_keys_stale_nil_read_is_cyclic_versions() {
    let text = "{:type :invoke, :f :txn, :value [[:w :x 1]], :process 0, :index 0}\n\
                {:type :ok, :f :txn, :value [[:w :x 1]], :process 0, :index 1}\n\
                {:type :invoke, :f :txn, :value [[:r :x nil]], :process 1, :index 2}\n\
                {:type :ok, :f :txn, :value [[:r :x nil]], :process 1, :index 3}\n";
    let lin = KeyAssumptions { linearizable_keys: true, sequential_keys: false };
    assert_eq!(verdict(&run(text, &[Model::Serializable]), Model::Serializable), Verdict::Valid);
    let r = run_assuming(text, &[Model::ReadUncommitted], lin);
    assert!(kinds(&r).contains(&AnomalyKind::CyclicVersions), "{r:#?}");
    assert_eq!(verdict(&r, Model::ReadUncommitted), Verdict::Invalid);
}

/// Found by the oracle comparison: a transaction that read x twice before
/// writing it (1, then nil) after x = 1 was written and completed; the
/// second read is as much a version it saw as the first.
#[test]
fn regression_linearizable_keys_count_every_read_before_a_write() {
    let text = "{:type :invoke, :f :txn, :value [[:w 1 1]], :process 0, :index 0}\n\
                {:type :ok, :f :txn, :value [[:w 1 1]], :process 0, :index 1}\n\
                {:type :invoke, :f :txn, :value [[:r 1 nil] [:r 1 nil]], :process 0, :index 2}\n\
                {:type :ok, :f :txn, :value [[:r 1 1] [:r 1 nil]], :process 0, :index 3}\n";
    let lin = KeyAssumptions { linearizable_keys: true, sequential_keys: false };
    let r = run_assuming(text, &[Model::ReadUncommitted], lin);
    assert_eq!(verdict(&r, Model::ReadUncommitted), Verdict::Invalid, "{r:#?}");
}

/// List-append histories carry their version order in their reads: the key
/// assumptions change nothing there, and the report says which source it used.
#[test]
fn key_assumptions_change_nothing_on_list_append() {
    let text = std::fs::read_to_string(format!("{}/g-single.edn", dir())).unwrap();
    let both = KeyAssumptions { linearizable_keys: true, sequential_keys: true };
    let r = run_assuming(&text, &Model::CHECKABLE, both);
    let plain = run(&text, &Model::CHECKABLE);
    assert_eq!(r.version_sources, vec![VersionSource::ListReads]);
    assert_eq!((&r.models, &r.anomalies), (&plain.models, &plain.anomalies));
    assert!(r.anomalies.iter().all(|a| a.assumed.is_empty()));
}

/// Under `--sequential-keys` the order runs through a process's
/// transactions on a key even when one between them leaves no version (it
/// read only an aborted write): x = 1, then that read, then a read of nil
/// in one process is 1 < nil, cyclic. Each transaction used to be ordered
/// only after the one right before it, so the chain broke there.
#[test]
fn regression_sequential_keys_order_runs_past_a_transaction_that_left_no_version() {
    let text = "{:type :invoke, :f :txn, :value [[:w :x 5]], :process 1, :index 0}\n\
                {:type :fail, :f :txn, :value [[:w :x 5]], :process 1, :index 1}\n\
                {:type :invoke, :f :txn, :value [[:w :x 1]], :process 0, :index 2}\n\
                {:type :ok, :f :txn, :value [[:w :x 1]], :process 0, :index 3}\n\
                {:type :invoke, :f :txn, :value [[:r :x nil]], :process 0, :index 4}\n\
                {:type :ok, :f :txn, :value [[:r :x 5]], :process 0, :index 5}\n\
                {:type :invoke, :f :txn, :value [[:r :x nil]], :process 0, :index 6}\n\
                {:type :ok, :f :txn, :value [[:r :x nil]], :process 0, :index 7}\n";
    let seq = KeyAssumptions { linearizable_keys: false, sequential_keys: true };
    assert_eq!(verdict(&run(text, &[Model::ReadUncommitted]), Model::ReadUncommitted), Verdict::Valid);
    let r = run_assuming(text, &[Model::ReadUncommitted], seq);
    assert_eq!(verdict(&r, Model::ReadUncommitted), Verdict::Invalid, "{r:#?}");
    assert!(kinds(&r).contains(&AnomalyKind::CyclicVersions), "{r:#?}");
}

/// A transaction's own read-then-write of a key orders its versions only
/// from read committed up (writes follow reads), also under a key
/// assumption: like Elle, whose `:wfr-keys?` is separate from
/// `:sequential-keys?`, and like the oracle's key constraints, which order
/// versions across transactions only. Here process 0 reads x = 1 and then
/// writes x = 2, and process 1 reads x = 2 and then writes x = 1: under
/// sequential keys each process's order alone is consistent, so read
/// uncommitted (which lets a write land before the version its writer
/// read) holds; from read committed up writes follow reads, 1 < 2 < 1.
#[test]
fn own_read_then_write_orders_versions_only_from_read_committed_up() {
    let text = "{:type :invoke, :f :txn, :value [[:r :x nil] [:w :x 2]], :process 0, :index 0}\n\
                {:type :invoke, :f :txn, :value [[:r :x nil] [:w :x 1]], :process 1, :index 1}\n\
                {:type :ok, :f :txn, :value [[:r :x 1] [:w :x 2]], :process 0, :index 2}\n\
                {:type :ok, :f :txn, :value [[:r :x 2] [:w :x 1]], :process 1, :index 3}\n";
    let seq = KeyAssumptions { linearizable_keys: false, sequential_keys: true };
    let r = run_assuming(text, &[Model::ReadUncommitted, Model::ReadCommitted], seq);
    assert_eq!(verdict(&r, Model::ReadUncommitted), Verdict::Valid, "{r:#?}");
    assert_eq!(verdict(&r, Model::ReadCommitted), Verdict::Invalid, "{r:#?}");
}

/// Within one class a cycle the history proves is reported before one
/// that rests on `--linearizable-keys`: two G-single cycles, one proven by
/// the reads (writes follow reads), one only by real time; the report's
/// G-single examples are the proven one, then the assumed one.
#[test]
fn a_proven_cycle_is_preferred_over_an_assumed_one_in_its_class() {
    // Keys a, b: histories/txn/rw-linearizable-keys.edn (a = 1 completes
    // before a = 2, b = 2 is written; a reader sees a = 1 and b = 2): a
    // G-single only under linearizable keys. Keys x, y, later: T1 writes
    // x = 1, y = 1; T2 reads x = 1 and y = nil: a G-single the reads prove.
    let text = "{:type :invoke, :f :txn, :value [[:w :a 1]], :process 0, :index 0}\n\
                {:type :ok, :f :txn, :value [[:w :a 1]], :process 0, :index 1}\n\
                {:type :invoke, :f :txn, :value [[:r :a nil] [:r :b nil]], :process 2, :index 2}\n\
                {:type :invoke, :f :txn, :value [[:w :a 2] [:w :b 2]], :process 1, :index 3}\n\
                {:type :ok, :f :txn, :value [[:w :a 2] [:w :b 2]], :process 1, :index 4}\n\
                {:type :ok, :f :txn, :value [[:r :a 1] [:r :b 2]], :process 2, :index 5}\n\
                {:type :invoke, :f :txn, :value [[:w :x 1] [:w :y 1]], :process 3, :index 6}\n\
                {:type :invoke, :f :txn, :value [[:r :x nil] [:r :y nil]], :process 4, :index 7}\n\
                {:type :ok, :f :txn, :value [[:w :x 1] [:w :y 1]], :process 3, :index 8}\n\
                {:type :ok, :f :txn, :value [[:r :x 1] [:r :y nil]], :process 4, :index 9}\n";
    let lin = KeyAssumptions { linearizable_keys: true, sequential_keys: false };
    let plain = run(text, &[Model::Serializable]);
    let proven = plain.anomalies.iter().find(|a| a.kind == AnomalyKind::GSingle).expect("a proven G-single");
    let r = run_assuming(text, &[Model::Serializable], lin);
    let shown: Vec<&TxnAnomaly> = r.anomalies.iter().filter(|a| a.kind == AnomalyKind::GSingle).collect();
    assert_eq!(shown.len(), 2, "{r:#?}");
    assert!(shown[0].assumed.is_empty(), "the proven cycle first: {:#?}", shown[0]);
    assert_eq!(shown[0].steps, proven.steps);
    assert!(!shown[1].assumed.is_empty(), "then the assumed one: {:#?}", shown[1]);
    assert_eq!(r.counts.iter().find(|c| c.kind == AnomalyKind::GSingle).map(|c| c.count), Some(2));
}

/// The `flag_gap_missed` the differential test counted: one process writes
/// key 2 = 1, 2, 3, then reads 2 = 3 and writes 1 = 1; another reads 1 = 1
/// and 2 = 1. Under sequential keys 1 < 2 < 3, and the reader saw (through
/// the writer of 1 = 1, which read 3) the transaction that wrote 3, yet
/// read 1: causal consistency is violated. The anti-dependency used to
/// reach only the writer of the next version (2), which the reader does
/// not see, so the read-only cycle causality needs was not there.
#[test]
fn regression_missed_write_beyond_the_next_version_under_sequential_keys() {
    let text = "{:type :invoke, :f :txn, :value [[:w 2 1]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:w 2 1]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:w 2 2]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:w 2 2]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:w 2 3]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:w 2 3]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:r 2 nil] [:w 1 1]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:r 2 3] [:w 1 1]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:r 1 nil] [:r 2 nil]], :process 1}\n\
                {:type :ok, :f :txn, :value [[:r 1 1] [:r 2 1]], :process 1}\n";
    let seq = KeyAssumptions { linearizable_keys: false, sequential_keys: true };
    let r = run_assuming(text, &[Model::Causal], seq);
    assert_eq!(verdict(&r, Model::Causal), Verdict::Invalid, "{r:#?}");
    let a = r.anomalies.iter().find(|a| a.kind == AnomalyKind::CausalityViolation).expect("named");
    let rw = a.steps.iter().find(|s| s.kind == "rw").expect("an rw step");
    assert_eq!((rw.value.clone(), rw.value_to.clone()), (Some(Value::Int(1)), Some(Value::Int(3))), "{a:#?}");
    assert!(a.explanation.contains("1 < 2: ") && a.explanation.contains("2 < 3: "), "{}", a.explanation);
    assert!(!a.assumed.is_empty(), "rests on sequential keys: {a:#?}");
    // Without the assumption nothing orders 1 before 3.
    assert_eq!(verdict(&run(text, &[Model::Causal]), Model::Causal), Verdict::Valid);
}

/// The same gap without any flag: writes following reads chain x = 1 < 2
/// < 3, and a reader of x = 1 that reads y from the writer of 3 read that
/// transaction only in part (a fractured read, which read atomic forbids),
/// though the next version's writer (2) is none it read from.
#[test]
fn regression_fractured_read_of_a_write_beyond_the_next_version() {
    let text = "{:type :invoke, :f :txn, :value [[:w :x 1]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:w :x 1]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:r :x nil] [:w :x 2]], :process 1}\n\
                {:type :ok, :f :txn, :value [[:r :x 1] [:w :x 2]], :process 1}\n\
                {:type :invoke, :f :txn, :value [[:r :x nil] [:w :x 3] [:w :y 1]], :process 2}\n\
                {:type :ok, :f :txn, :value [[:r :x 2] [:w :x 3] [:w :y 1]], :process 2}\n\
                {:type :invoke, :f :txn, :value [[:r :x nil] [:r :y nil]], :process 3}\n\
                {:type :ok, :f :txn, :value [[:r :x 1] [:r :y 1]], :process 3}\n";
    let r = run(text, &[Model::ReadAtomic]);
    assert_eq!(verdict(&r, Model::ReadAtomic), Verdict::Invalid, "{r:#?}");
    let a = r.anomalies.iter().find(|a| a.kind == AnomalyKind::FracturedRead).expect("named");
    assert_eq!(a.txns.len(), 2, "{a:#?}");
    assert!(a.assumed.is_empty(), "proven by the history: {a:#?}");
    assert!(a.explanation.contains("1 < 2: a transaction read 1 before writing 2"), "{}", a.explanation);
}
