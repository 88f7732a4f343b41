//! Random small histories for every model, for the property tests that
//! compare the search, the fast paths and the oracle. Deterministic in the
//! source's choices. Values come from tiny domains so that both linearizable and
//! non-linearizable histories are common; the history has ok, fail and info
//! ops (and ops left open at the end, which become info).

use crate::source::Source;
use checker::history::{Event, EventType, History, Process, F};
use checker::model::ModelKind;
use checker::value::Value;

/// Shape of the generated histories.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Ops invoked, inclusive range.
    pub min_ops: usize,
    pub max_ops: usize,
    /// Concurrent client slots, inclusive range.
    pub min_processes: usize,
    pub max_processes: usize,
    /// Percent of completions that are `info` / `fail` (the rest are ok).
    pub info_percent: u64,
    pub fail_percent: u64,
    /// Distinct keys used by keyed models (ops without a key when 0).
    pub keys: usize,
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig {
            min_ops: 3,
            max_ops: 7,
            min_processes: 2,
            max_processes: 4,
            info_percent: 15,
            fail_percent: 10,
            keys: 1,
        }
    }
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn small<S: Source>(rng: &mut S) -> Value {
    int(1 + rng.below(3) as i64)
}

fn mop(f: &str, k: &str, v: Value) -> Value {
    Value::List(vec![Value::str(f), Value::str(k), v])
}

/// Half the time `update` of what `arg` draws, else `read` (of nil).
fn update_or<S: Source>(rng: &mut S, update: F, arg: impl FnOnce(&mut S) -> Value, read: F) -> (F, Value) {
    if rng.chance(50) {
        (update, arg(rng))
    } else {
        (read, Value::Nil)
    }
}

/// A random op for `model`: its function and invoke value.
pub fn random_invoke<S: Source>(model: ModelKind, rng: &mut S) -> (F, Value) {
    match model {
        ModelKind::Register | ModelKind::CasRegister => {
            let n = if model == ModelKind::CasRegister { 3 } else { 2 };
            match rng.below(n) {
                0 => (F::Read, Value::Nil),
                1 => (F::Write, small(rng)),
                _ => {
                    let old = nil_or(rng, 20, small);
                    (F::Cas, Value::List(vec![old, small(rng)]))
                }
            }
        }
        ModelKind::Kv => match rng.below(3) {
            0 => (F::Get, Value::Nil),
            1 => (F::Put, Value::str(rng.pick::<&str>(&["a", "b"]))),
            _ => (F::Append, Value::str(rng.pick::<&str>(&["a", "b"]))),
        },
        ModelKind::MultiRegister => {
            let n = 1 + rng.below(2);
            let ms = (0..n)
                .map(|_| {
                    let k = *rng.pick(&["x", "y"]);
                    if rng.chance(50) {
                        mop(rng.pick::<&str>(&["r", "read"]), k, Value::Nil)
                    } else {
                        mop(rng.pick::<&str>(&["w", "write"]), k, small(rng))
                    }
                })
                .collect();
            (F::Txn, Value::List(ms))
        }
        ModelKind::Mutex => (if rng.chance(50) { F::Acquire } else { F::Release }, Value::Nil),
        ModelKind::Set => update_or(rng, F::Add, small, F::Read),
        ModelKind::Counter => {
            update_or(rng, F::Incr, |rng| nil_or(rng, 30, |rng| int(1 + rng.below(2) as i64)), F::Read)
        }
        ModelKind::Queue => update_or(rng, F::Enqueue, small, F::Dequeue),
        ModelKind::ListAppend => update_or(rng, F::Append, small, F::Read),
    }
}

/// Nil with probability `percent` percent (a read of nothing), else what
/// `value` draws.
fn nil_or<S: Source>(rng: &mut S, percent: u64, value: impl FnOnce(&mut S) -> Value) -> Value {
    if rng.chance(percent) {
        Value::Nil
    } else {
        value(rng)
    }
}

/// A random result for an ok completion of `(f, input)`.
pub fn random_output<S: Source>(model: ModelKind, f: &F, input: &Value, rng: &mut S) -> Value {
    let small_list = |rng: &mut S| {
        let n = rng.below(3);
        Value::List((0..n).map(|_| small(rng)).collect())
    };
    match (model, f) {
        (ModelKind::Register | ModelKind::CasRegister, F::Read) => nil_or(rng, 20, small),
        (ModelKind::Kv, F::Get) => {
            nil_or(rng, 5, |rng| Value::str(rng.pick::<&str>(&["", "a", "b", "ab", "ba", "aa"])))
        }
        (ModelKind::MultiRegister, F::Txn) => match input {
            Value::List(ms) => Value::List(
                ms.iter()
                    .map(|m| match m.as_seq() {
                        Some([f, k, _]) if f.as_str().is_some_and(|f| f.starts_with('r')) => {
                            let v = nil_or(rng, 20, |rng| int(rng.below(3) as i64 + 1));
                            Value::List(vec![f.clone(), k.clone(), v])
                        }
                        _ => m.clone(),
                    })
                    .collect(),
            ),
            other => other.clone(),
        },
        (ModelKind::Set, F::Read) => nil_or(rng, 5, small_list),
        (ModelKind::Counter, F::Read) => nil_or(rng, 5, |rng| int(rng.below(5) as i64)),
        (ModelKind::Queue, F::Dequeue) => nil_or(rng, 25, small),
        (ModelKind::ListAppend, F::Read) => nil_or(rng, 5, small_list),
        // Writes, puts, cas, add, incr...: the ok echoes the argument.
        _ => input.clone(),
    }
}

/// An invoked op not yet completed: function, argument, key.
type OpenOp = (F, Value, Option<Value>);

/// A random well-formed history for `model`.
pub fn random_history<S: Source>(model: ModelKind, cfg: &GenConfig, rng: &mut S) -> History {
    let n_ops = cfg.min_ops + rng.below((cfg.max_ops - cfg.min_ops + 1) as u64) as usize;
    let slots = cfg.min_processes + rng.below((cfg.max_processes - cfg.min_processes + 1) as u64) as usize;
    // slot -> (process id, open op)
    let mut procs: Vec<(u64, Option<OpenOp>)> = (0..slots as u64).map(|p| (p, None)).collect();
    let mut next_process = slots as u64;
    let mut events = Vec::new();
    let mut started = 0;
    let keys: Vec<Value> = (0..cfg.keys).map(|k| Value::str(&format!("k{k}"))).collect();
    let mut line = 1;
    loop {
        let idle: Vec<usize> = (0..slots).filter(|&s| procs[s].1.is_none()).collect();
        let open: Vec<usize> = (0..slots).filter(|&s| procs[s].1.is_some()).collect();
        let can_invoke = started < n_ops && !idle.is_empty();
        if !can_invoke && open.is_empty() {
            break;
        }
        if can_invoke && (open.is_empty() || rng.chance(50)) {
            let s = *rng.pick(&idle);
            let (f, input) = random_invoke(model, rng);
            let key = if keys.is_empty() { None } else { Some(rng.pick(&keys).clone()) };
            let mut e = Event::new(line, EventType::Invoke, Process::Client(procs[s].0), f.clone(), input.clone());
            e.key = key.clone();
            events.push(e);
            procs[s].1 = Some((f, input, key));
            started += 1;
        } else {
            let s = *rng.pick(&open);
            // Leave some ops open at the very end: they become info.
            if started >= n_ops && rng.chance(10) {
                procs[s].1 = None;
                continue;
            }
            let Some((f, input, key)) = procs[s].1.take() else { continue };
            let roll = rng.below(100);
            let (kind, value) = if roll < cfg.info_percent {
                (EventType::Info, input.clone())
            } else if roll < cfg.info_percent + cfg.fail_percent {
                (EventType::Fail, input.clone())
            } else {
                (EventType::Ok, random_output(model, &f, &input, rng))
            };
            let mut e = Event::new(line, kind, Process::Client(procs[s].0), f, value);
            e.key = key;
            events.push(e);
            if kind == EventType::Info {
                procs[s].0 = next_process;
                next_process += 1;
            }
        }
        line += 1;
    }
    match History::from_events("generated", events) {
        Ok(h) => h,
        // The generator only produces well-formed event sequences.
        Err(e) => unreachable!("testgen produced a malformed history: {e}"),
    }
}

/// One line per event, for failure messages.
pub fn render(history: &History) -> String {
    let mut out = String::new();
    for op in &history.ops {
        out.push_str(&format!(
            "#{} p{} {}{} {} -> {:?} {} [{}..{}]\n",
            op.id.0,
            op.process,
            op.f,
            op.key.as_ref().map(|k| format!("[{k}]")).unwrap_or_default(),
            op.input,
            op.outcome,
            op.output,
            op.call,
            if op.ret == u64::MAX { "inf".to_string() } else { op.ret.to_string() }
        ));
    }
    out
}
