//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable
//! corpus test (`tests/fuzz_corpus.rs`): each takes arbitrary bytes and
//! panics only when conch has a bug (a reader panicked, or the checker's
//! verdict differs from the brute-force oracle).
//!
//! Not part of the public API: it exists so that the fuzzers and `cargo test`
//! run exactly the same code.

use crate::oracle;
use crate::small::render;
use crate::small::{random_invoke, random_output};
use crate::source::Source;
use checker::history::{Event, EventType, History, Outcome, Process, F};
use checker::model::{ModelKind, NilRead};
use checker::read::{read_bytes, Format, ReadOptions};
use checker::report::{Budget, CheckName, Report, Verdict};
use checker::shard::ShardOptions;
use checker::value::Value;
use checker::{CheckConfig, CheckError};

/// Most ops per object that the oracle is asked about: it is exponential
/// (8 ops is ~40k orders), and fuzzing needs thousands of runs a second.
pub const MAX_ORACLE_OPS: usize = 7;

/// Reader limits for fuzzing: small, so that the limits themselves are
/// exercised (a fuzz input is rarely longer than a few KiB).
fn fuzz_read_options(format: Option<Format>) -> ReadOptions {
    ReadOptions { format, max_line_bytes: 4096, max_depth: FUZZ_MAX_DEPTH, ..ReadOptions::default() }
}

/// Nesting limit when fuzzing: small, so that the limit is reached.
const FUZZ_MAX_DEPTH: usize = 32;

/// Fuzz entry for one reader: reads `data` as `format` and with detection
/// (under a name with and without the format's extension). Must never
/// panic. A history that reads and is small is also checked against the
/// oracle under the model inferred from it.
pub fn read_one(format: Format, data: &[u8]) {
    if format == Format::Jsonl {
        // The JSON parser against the serde_json one it replaced, line by line.
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            if let Err(diff) = checker::read::json_parsers_agree(line, i as u64 + 1, FUZZ_MAX_DEPTH) {
                panic!("line {}: {diff}", i + 1);
            }
        }
    }
    let ext = match format {
        Format::Jsonl => "fuzz.jsonl",
        Format::Edn | Format::PorcupineKv => "fuzz.edn",
        Format::JepsenLog => "fuzz.log",
    };
    for (name, fmt) in [("fuzz", Some(format)), ("fuzz", None), (ext, None)] {
        let opts = fuzz_read_options(fmt);
        let read = read_bytes(name, data, &opts);
        if let Ok((history, detected)) = read {
            if let Some(f) = fmt {
                assert_eq!(f, detected, "an explicit format must be kept");
            }
            history_invariants(&history);
            if let Ok(model) = checker::model::infer(&history) {
                check_against_oracle(&history, model, detected.default_nil_read());
            }
        }
    }
}

/// Fuzz entry for sharded checking: the bytes after the first are a history
/// file, checked whole and in 1-8 shards (the first byte picks how many);
/// the reports must be the same, or both attempts fail with the same error.
/// Reports with an unknown verdict are not compared: budgets are split
/// across however many keys run at once, which sharding changes.
pub fn sharded_matches_whole(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fuzz.jsonl");
    std::fs::write(&path, rest).expect("writing the fuzz input");
    let opts = fuzz_read_options(None);
    // Every check; the search budget keeps each input quick.
    let cfg = CheckConfig {
        checks: CheckName::ALL.to_vec(),
        budget: Budget { deadline: None, memory_bytes: 8 << 20 },
        ..CheckConfig::default()
    };
    let json = |r: &Report| {
        let mut j = serde_json::to_value(r).expect("reports serialize");
        j["elapsed_ms"] = 0.into();
        j
    };
    let outcome = |shards: Option<&ShardOptions>| match checker::check_path(&path, &opts, &cfg, shards) {
        Ok((r, _)) => Ok(r),
        Err(e @ CheckError::Spill { .. }) => panic!("spilling failed: {e}"),
        Err(e) => Err(e.to_string()),
    };
    let whole = outcome(None);
    let sharded = outcome(Some(&ShardOptions { shards: 1 + (first % 8) as usize, dir: dir.path().to_path_buf() }));
    match (&whole, &sharded) {
        (Ok(w), Ok(s)) if w.verdict != Verdict::Unknown && s.verdict != Verdict::Unknown => {
            assert_eq!(json(s), json(w), "sharded and whole reports differ")
        }
        (Ok(_), Ok(_)) => {}
        (Err(w), Err(s)) => assert_eq!(s, w, "sharded and whole errors differ"),
        _ => panic!("whole: {:?}\nsharded: {:?}", whole.map(|r| r.verdict), sharded.map(|r| r.verdict)),
    }
}

/// Fuzz entry for the checker: builds a small history (at most
/// [`MAX_ORACLE_OPS`] ops, one or two keys, a model chosen by the first
/// byte) from `data`, and asserts that the check, with and without the fast
/// paths, agrees with the brute-force oracle on every key.
pub fn check_bytes(data: &[u8]) {
    let Some((history, model, nil_read)) = history_from_bytes(data) else { return };
    history_invariants(&history);
    check_against_oracle(&history, model, nil_read);
}

/// An invoked op not yet completed: function, argument, key.
type OpenOp = (F, Value, Option<Value>);

/// Derives a history from bytes. Every byte sequence gives a well-formed
/// history, or `None` when the bytes give no event: invokes go to idle
/// processes, completions to open ones, and a process retired by an info is
/// replaced by a new id.
pub fn history_from_bytes(data: &[u8]) -> Option<(History, ModelKind, NilRead)> {
    let mut src = ByteSource { data, pos: 0 };
    let model = ModelKind::ALL[src.index(ModelKind::ALL.len())];
    let flags = src.byte();
    let nil_read = if flags & 1 == 0 { NilRead::Unknown } else { NilRead::Absent };
    let keys: &[Option<Value>] = if flags & 2 == 0 { &[None] } else { &[Some(Value::Int(0)), Some(Value::Int(1))] };
    let slots = 1 + (flags as usize >> 2) % 4;
    // slot -> (process id, open op: function, argument, key)
    let mut procs: Vec<(u64, Option<OpenOp>)> = (0..slots as u64).map(|p| (p, None)).collect();
    let mut next_process = slots as u64;
    let mut events = Vec::new();
    let mut invoked = 0;
    while !src.is_empty() {
        let action = src.byte();
        let s = (action as usize >> 1) % slots;
        if procs[s].1.is_none() {
            if invoked == MAX_ORACLE_OPS {
                continue;
            }
            let (f, input) = if action & 1 == 0 {
                random_invoke(model, &mut src)
            } else {
                // A value of any shape, for any function: exercises validation.
                let (f, _) = random_invoke(model, &mut src);
                (f, odd_value(&mut src))
            };
            let key = keys[src.index(keys.len())].clone();
            let mut e = Event::new(
                events.len() as u64 + 1,
                EventType::Invoke,
                Process::Client(procs[s].0),
                f.clone(),
                input.clone(),
            );
            e.key = key.clone();
            events.push(e);
            procs[s].1 = Some((f, input, key));
            invoked += 1;
        } else {
            let Some((f, input, key)) = procs[s].1.take() else { continue };
            let how = src.byte();
            let (kind, value) = match how % 8 {
                0 => (EventType::Info, Value::Nil),
                1 => (EventType::Fail, input.clone()),
                2 => (EventType::Ok, odd_value(&mut src)),
                _ => (EventType::Ok, random_output(model, &f, &input, &mut src)),
            };
            let mut e = Event::new(events.len() as u64 + 1, kind, Process::Client(procs[s].0), f, value);
            e.key = key;
            events.push(e);
            if kind == EventType::Info {
                procs[s].0 = next_process;
                next_process += 1;
            }
        }
    }
    if events.is_empty() {
        return None;
    }
    match History::from_events("fuzz", events) {
        Ok(h) => Some((h, model, nil_read)),
        Err(e) => panic!("history_from_bytes built a malformed history: {e}"),
    }
}

/// Checks `history` under `model` with and without fast paths and compares
/// each object's verdict with the oracle's, when every object has at most
/// [`MAX_ORACLE_OPS`] ops. A history with an op that does not fit the model
/// must be refused as bad input, never given a verdict; one with no ok op
/// is unknown (nothing was checked) unless an anomaly was found.
pub fn check_against_oracle(history: &History, model: ModelKind, nil_read: NilRead) {
    let groups = oracle::linear::objects(history, model);
    if groups.iter().any(|(_, g)| g.len() > MAX_ORACLE_OPS) {
        return;
    }
    let fits = history.ops.iter().all(|o| model.validate_op(o, nil_read).is_ok());
    let want = if fits { oracle::linear::expected(history, model, nil_read) } else { Vec::new() };
    for fast_paths in [true, false] {
        let cfg = CheckConfig {
            checks: vec![CheckName::Linearizable],
            model: Some(model),
            nil_read: Some(nil_read),
            budget: Budget::unlimited(),
            fast_paths,
            ..CheckConfig::default()
        };
        let shown = || format!("model {model}, nil read {nil_read:?}, fast paths {fast_paths}:\n{}", render(history));
        let report = match checker::check(history, &cfg) {
            Err(CheckError::BadValue { .. }) if !fits => continue,
            Err(e) => panic!("{e}: {}", shown()),
            Ok(_) if !fits => panic!("an op that does not fit the model was checked: {}", shown()),
            Ok(r) => r,
        };
        let got = report.result(CheckName::Linearizable).expect("linearizability was asked for");
        assert_eq!(got.keys.len(), want.len(), "one result per object");
        for ((key, want), k) in want.iter().zip(&got.keys) {
            assert_eq!(&k.key, key, "keys in the oracle's order");
            assert_eq!(k.verdict, *want, "key {key:?}, {}", shown());
        }
    }
}

/// What every history the readers return must satisfy.
fn history_invariants(history: &History) {
    for (i, op) in history.ops.iter().enumerate() {
        assert_eq!(op.id.0 as usize, i, "ops must be indexed in order");
        assert!(op.call < op.ret, "an op must be invoked before it completes");
        assert_eq!(op.outcome == Outcome::Info, op.ret == u64::MAX, "info ops and only they never return");
        if let Some(c) = op.complete_line {
            assert!(c > op.invoke_line, "completion line after invoke line");
        }
    }
}

/// A small pool of values of every shape, most of them wrong for most models.
fn odd_value(src: &mut ByteSource) -> Value {
    let i = |n: i64| Value::Int(n);
    match src.byte() % 16 {
        0 => Value::Nil,
        1 => i(-1),
        2 => i(i64::MAX),
        3 => i(i64::MIN),
        4 => Value::str("x"),
        5 => Value::Bool(true),
        6 => Value::Float(1.5),
        7 => Value::List(vec![]),
        8 => Value::List(vec![i(1)]),
        9 => Value::List(vec![i(1), i(2), i(3)]),
        10 => Value::List(vec![Value::Nil, Value::Nil]),
        11 => Value::List(vec![Value::str("r"), Value::str("x")]),
        12 => Value::List(vec![Value::List(vec![Value::str("w"), Value::str("x"), i(1)]), i(2)]),
        13 => Value::set(vec![i(1), i(2)]),
        14 => Value::map(vec![(Value::str("a"), i(1))]),
        _ => i(src.byte() as i64 % 4),
    }
}

/// Bytes as a stream of choices; zeros once exhausted.
struct ByteSource<'a> {
    data: &'a [u8],
    pos: usize,
}

impl ByteSource<'_> {
    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// In `0..n` (n > 0).
    fn index(&mut self, n: usize) -> usize {
        self.byte() as usize % n.max(1)
    }
}

/// The generators' choices come straight from the bytes, so the fuzzer
/// steers them (libFuzzer mutates bytes, and small values are common).
impl Source for ByteSource<'_> {
    fn below(&mut self, n: u64) -> u64 {
        if n <= 256 {
            self.byte() as u64 % n.max(1)
        } else {
            u64::from_le_bytes(std::array::from_fn(|_| self.byte())) % n
        }
    }
}

/// Fuzz entry for the transactional checker. The first byte picks how the
/// rest is used: as raw EDN or JSON Lines text (the micro-op parser must
/// reject what it cannot read, never panic), or as a recipe for a small
/// list-append or rw-register history with arbitrary read results
/// (garbage, duplicates, aborted and intermediate reads). Every history
/// that parses is checked against every model: the verdicts must respect
/// the model hierarchy (if a model holds, so does every weaker one), and
/// no model the brute-force oracle allows may be called violated.
pub fn check_txn(data: &[u8]) {
    use checker::txn::{self, Model, TxnHistory, TxnOptions};
    let Some((&mode, rest)) = data.split_first() else { return };
    let history = match mode % 3 {
        0 | 1 => {
            let format = if mode % 3 == 0 { Format::Edn } else { Format::Jsonl };
            let Ok((h, _)) = read_bytes("fuzz", rest, &fuzz_read_options(Some(format))) else { return };
            h
        }
        _ => match txn_history_from_bytes(mode, rest) {
            Some(h) => h,
            None => return,
        },
    };
    let Ok(th) = TxnHistory::from_history("fuzz", &history) else { return };
    let opts = TxnOptions { models: Model::CHECKABLE.to_vec(), ..TxnOptions::default() };
    let report = txn::check(&th, &opts);
    let verdict = |m: Model| report.models.iter().find(|r| r.model == m).map(|r| r.verdict);
    for &m in &Model::CHECKABLE {
        if verdict(m) != Some(Verdict::Valid) {
            continue;
        }
        for weaker in txn::model::implied_models(m).iter() {
            if let Some(v) = verdict(weaker) {
                assert_ne!(v, Verdict::Invalid, "{m} holds but {weaker} does not: {report:#?}");
            }
        }
    }
    // Soundness against the oracle, on histories small enough for it.
    let Ok(conv) = crate::txn_oracle::from_history(&history) else { return };
    let Ok(judgement) = crate::txn_oracle::check(&conv.history) else { return };
    for d in &judgement.decisions {
        let m = Model::parse(d.model.name()).expect("the oracle's models are conch's");
        if d.allowed {
            assert_ne!(
                verdict(m),
                Some(Verdict::Invalid),
                "{m}: the oracle allows it ({}): {report:#?}",
                d.explanation
            );
        }
    }
}

/// A small transactional history from bytes: up to 8 transactions on up to
/// 3 keys, up to 3 micro-ops each, completions ok / info / fail, and reads
/// returning whatever the bytes say.
fn txn_history_from_bytes(mode: u8, data: &[u8]) -> Option<History> {
    let mut src = ByteSource { data, pos: 0 };
    let append = mode & 8 == 0;
    let mut events = Vec::new();
    let mut next_value = 1i64;
    let mut open: Vec<(u64, Vec<Value>)> = Vec::new();
    let mut next_process = 0u64;
    let mut txns = 0;
    while !src.is_empty() {
        let action = src.byte();
        if action & 1 == 0 && txns < 8 && open.len() < 3 {
            let mut mops = Vec::new();
            for _ in 0..1 + src.below(3) {
                let key = Value::Int(src.below(3) as i64);
                let m = if src.byte() & 1 == 0 {
                    next_value += 1;
                    let f = if append { "append" } else { "w" };
                    vec![Value::str(f), key, Value::Int(next_value)]
                } else {
                    vec![Value::str("r"), key, Value::Nil]
                };
                mops.push(Value::List(m));
            }
            let p = next_process;
            next_process += 1;
            events.push(Event::new(
                events.len() as u64 + 1,
                EventType::Invoke,
                Process::Client(p),
                F::Txn,
                Value::List(mops.clone()),
            ));
            open.push((p, mops));
            txns += 1;
        } else if !open.is_empty() {
            let (p, mops) = open.remove(src.index(open.len()));
            let kind = match src.byte() % 8 {
                0 => EventType::Info,
                1 => EventType::Fail,
                _ => EventType::Ok,
            };
            let done: Vec<Value> = mops
                .iter()
                .map(|m| {
                    let mut m = m.as_list().expect("a micro-op").to_vec();
                    if kind == EventType::Ok && m[0] == Value::str("r") {
                        let n = src.below(4) as i64;
                        let value = |src: &mut ByteSource| Value::Int(src.below(next_value as u64 + 2) as i64);
                        m[2] = if append {
                            Value::List((0..n).map(|_| value(&mut src)).collect())
                        } else if n == 0 {
                            Value::Nil
                        } else {
                            value(&mut src)
                        };
                    }
                    Value::List(m)
                })
                .collect();
            events.push(Event::new(events.len() as u64 + 1, kind, Process::Client(p), F::Txn, Value::List(done)));
        }
    }
    if events.is_empty() {
        return None;
    }
    History::from_events("fuzz", events).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Rng;

    #[test]
    fn bytes_give_small_histories_of_every_model() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..2000u64 {
            let mut rng = Rng::new(seed);
            let data: Vec<u8> = (0..40).map(|_| rng.next_u64() as u8).collect();
            let Some((h, model, _)) = history_from_bytes(&data) else { continue };
            assert!(h.ops.len() <= MAX_ORACLE_OPS);
            seen.insert(model);
            check_bytes(&data);
        }
        assert_eq!(seen.len(), ModelKind::ALL.len());
    }

    #[test]
    fn both_verdicts_are_reached() {
        let (mut valid, mut invalid) = (0, 0);
        for seed in 0..2000u64 {
            let mut rng = Rng::new(seed);
            let data: Vec<u8> = (0..30).map(|_| rng.next_u64() as u8 & !1).collect();
            let Some((h, model, nil_read)) = history_from_bytes(&data) else { continue };
            let cfg = CheckConfig {
                checks: vec![CheckName::Linearizable],
                model: Some(model),
                nil_read: Some(nil_read),
                ..CheckConfig::default()
            };
            let Ok(report) = checker::check(&h, &cfg) else { continue };
            match report.verdict {
                Verdict::Valid => valid += 1,
                Verdict::Invalid => invalid += 1,
                Verdict::Unknown => {}
            }
        }
        assert!(valid > 100 && invalid > 100, "valid {valid}, invalid {invalid}");
    }

    #[test]
    fn check_bytes_empty_input_gives_no_history() {
        assert!(history_from_bytes(b"").is_none());
        assert!(history_from_bytes(&[3, 0]).is_none());
        check_bytes(b"");
    }

    #[test]
    fn readers_survive_garbage() {
        for format in Format::ALL {
            read_one(format, b"");
            read_one(format, b"\xff\xfe\0[[[[{{{{");
            read_one(format, b"{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":null}\n");
        }
    }
}
