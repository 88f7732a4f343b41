//! Large transactional histories, strict-serializable by construction, like
//! the ones Elle's list-append and rw-register generators make (at most
//! `mops_max` micro-ops per transaction over `keys_active` keys, a key
//! retired after `writes_per_key_max` writes, a share of `info`
//! completions), with optional planted anomalies: for the transactional
//! checker's benches and for experiments (`conch gen --workload txn-*`).
//!
//! The store applies each transaction atomically at its completion (a point
//! inside its invoke–complete interval), so every `ok` transaction's reads
//! are those of a serial, real-time-respecting order. An `info` transaction
//! is applied or dropped by a coin flip; its process never runs again.
//! Events go to a callback, so a history of millions of transactions is
//! never held as values.

use crate::source::Source;
use checker::history::{Event, EventType, Process, F};
use checker::value::Value;

/// Which workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnWorkload {
    ListAppend,
    RwRegister,
}

/// An anomaly to plant once, after `at` transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plant {
    /// Read skew: a writer appends (writes) to two fresh keys, then a
    /// reader sees its write to one and not the other (G-single).
    GSingle,
}

#[derive(Clone, Debug)]
pub struct TxnGenConfig {
    pub workload: TxnWorkload,
    pub txns: u64,
    /// Processes with a transaction open at once.
    pub concurrency: u64,
    pub keys_active: u64,
    pub mops_max: u64,
    /// A key retires after this many writes (Elle: 32 appends).
    pub writes_per_key_max: u64,
    pub info_percent: u64,
    /// Planted anomalies, each with the transaction count it follows.
    pub plants: Vec<(u64, Plant)>,
}

impl TxnGenConfig {
    /// Elle's list-append defaults: ≤ 4 micro-ops, 10 active keys, 32
    /// appends per key, 5% info, 10 concurrent processes.
    pub fn elle(workload: TxnWorkload, txns: u64) -> TxnGenConfig {
        TxnGenConfig {
            workload,
            txns,
            concurrency: 10,
            keys_active: 10,
            mops_max: 4,
            writes_per_key_max: 32,
            info_percent: 5,
            plants: Vec::new(),
        }
    }
}

/// A micro-op before it runs: (is write, key, value written).
type Planned = (bool, u64, u64);

/// The store and the key rotation.
struct Store {
    workload: TxnWorkload,
    /// Key -> its list (list-append) or last value (rw-register, as a
    /// one-element list; empty is nil).
    state: Vec<Vec<u64>>,
    /// Writes so far per key (values are 1, 2, ... per key).
    writes: Vec<u64>,
    active: Vec<u64>,
    next_key: u64,
}

impl Store {
    fn new(workload: TxnWorkload, keys_active: u64) -> Store {
        let keys_active = keys_active.max(1);
        Store {
            workload,
            state: vec![Vec::new(); keys_active as usize],
            writes: vec![0; keys_active as usize],
            active: (0..keys_active).collect(),
            next_key: keys_active,
        }
    }

    fn fresh_key(&mut self) -> u64 {
        let k = self.next_key;
        self.next_key += 1;
        self.state.push(Vec::new());
        self.writes.push(0);
        k
    }

    /// A write's value, unique per key; retires the key when it is full.
    fn next_value(&mut self, key: u64, max: u64) -> u64 {
        let w = &mut self.writes[key as usize];
        *w += 1;
        let v = *w;
        if v >= max {
            if let Some(i) = self.active.iter().position(|&k| k == key) {
                let k = self.fresh_key();
                self.active[i] = k;
            }
        }
        v
    }

    fn apply(&mut self, mops: &[Planned]) -> Vec<Value> {
        mops.iter()
            .map(|&(write, k, v)| {
                let s = &mut self.state[k as usize];
                match (self.workload, write) {
                    (TxnWorkload::ListAppend, true) => {
                        s.push(v);
                        mop("append", k, Value::Int(v as i64))
                    }
                    (TxnWorkload::RwRegister, true) => {
                        *s = vec![v];
                        mop("w", k, Value::Int(v as i64))
                    }
                    (TxnWorkload::ListAppend, false) => {
                        mop("r", k, Value::List(s.iter().map(|&x| Value::Int(x as i64)).collect()))
                    }
                    (TxnWorkload::RwRegister, false) => {
                        mop("r", k, s.last().map_or(Value::Nil, |&x| Value::Int(x as i64)))
                    }
                }
            })
            .collect()
    }

    fn read_of(&self, k: u64, state: &[u64]) -> Value {
        match self.workload {
            TxnWorkload::ListAppend => mop("r", k, Value::List(state.iter().map(|&x| Value::Int(x as i64)).collect())),
            TxnWorkload::RwRegister => mop("r", k, state.last().map_or(Value::Nil, |&x| Value::Int(x as i64))),
        }
    }

    fn write_name(&self) -> &'static str {
        match self.workload {
            TxnWorkload::ListAppend => "append",
            TxnWorkload::RwRegister => "w",
        }
    }
}

fn mop(f: &str, k: u64, v: Value) -> Value {
    Value::List(vec![Value::str(f), Value::Int(k as i64), v])
}

fn invoke_value(store: &Store, mops: &[Planned]) -> Value {
    Value::List(
        mops.iter()
            .map(|&(w, k, v)| if w { mop(store.write_name(), k, Value::Int(v as i64)) } else { mop("r", k, Value::Nil) })
            .collect(),
    )
}

/// Generates the history, calling `emit` with each event in order (lines
/// from 1). Returns the number of events.
pub fn txn_events(cfg: &TxnGenConfig, src: &mut dyn Source, emit: &mut dyn FnMut(Event)) -> u64 {
    let mut store = Store::new(cfg.workload, cfg.keys_active);
    let mut line = 0u64;
    let mut time_ns = 0u64;
    let mut push = |kind: EventType, p: u64, value: Value, emit: &mut dyn FnMut(Event)| {
        line += 1;
        time_ns += 1 + src_free_jitter(line);
        let mut e = Event::new(line, kind, Process::Client(p), F::Txn, value);
        e.time_ns = Some(time_ns);
        e.index = Some(line - 1);
        emit(e);
    };
    // Open transactions: (process, planned micro-ops); process ids are
    // replaced after an info.
    let concurrency = cfg.concurrency.max(1);
    let mut slots: Vec<(u64, Option<Vec<Planned>>)> = (0..concurrency).map(|p| (p, None)).collect();
    let mut next_process = concurrency;
    let mut started = 0u64;
    let mut plants: Vec<(u64, Plant)> = cfg.plants.clone();
    plants.sort_by_key(|p| std::cmp::Reverse(p.0));
    loop {
        if let Some(&(at, plant)) = plants.last() {
            if started >= at && slots.iter().all(|s| s.1.is_none()) {
                plants.pop();
                let p = slots[0].0;
                plant_one(plant, &mut store, p, cfg, &mut |k, p, v| push(k, p, v, emit));
                continue;
            }
        }
        let open = slots.iter().filter(|s| s.1.is_some()).count() as u64;
        let idle = concurrency - open;
        let plant_due = plants.last().is_some_and(|&(at, _)| started >= at);
        let can_start = started < cfg.txns && !plant_due;
        if open == 0 && !can_start {
            if plants.is_empty() {
                break;
            }
            continue;
        }
        // Start one with probability idle/concurrency, else complete one.
        let start = can_start && (open == 0 || src.below(concurrency) < idle);
        if start {
            let i = slots.iter().position(|s| s.1.is_none()).expect("an idle process");
            let n = src.between(1, cfg.mops_max.max(1));
            let mut mops: Vec<Planned> = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let k = *src.pick(&store.active);
                if src.chance(50) {
                    let v = store.next_value(k, cfg.writes_per_key_max.max(1));
                    mops.push((true, k, v));
                } else {
                    mops.push((false, k, 0));
                }
            }
            let p = slots[i].0;
            push(EventType::Invoke, p, invoke_value(&store, &mops), emit);
            slots[i].1 = Some(mops);
            started += 1;
        } else {
            let busy: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].1.is_some()).collect();
            let i = *src.pick(&busy);
            let mops = slots[i].1.take().expect("busy");
            let p = slots[i].0;
            if src.chance(cfg.info_percent) {
                if src.chance(50) {
                    store.apply(&mops);
                }
                push(EventType::Info, p, invoke_value(&store, &mops), emit);
                slots[i].0 = next_process;
                next_process += 1;
            } else {
                let done = store.apply(&mops);
                push(EventType::Ok, p, Value::List(done), emit);
            }
        }
    }
    line
}

/// Time steps vary a little (deterministically, from the line number), so
/// reports show distinct times without consuming the source's decisions.
fn src_free_jitter(line: u64) -> u64 {
    line.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 61
}

/// Plants one anomaly with every other transaction idle, on fresh keys.
fn plant_one(plant: Plant, store: &mut Store, p: u64, cfg: &TxnGenConfig, emit: &mut dyn FnMut(EventType, u64, Value)) {
    match plant {
        Plant::GSingle => {
            let (x, y) = (store.fresh_key(), store.fresh_key());
            let max = cfg.writes_per_key_max.max(2);
            let (vx, vy) = (store.next_value(x, max), store.next_value(y, max));
            let before_x = store.state[x as usize].clone();
            let writer = [(true, x, vx), (true, y, vy)];
            emit(EventType::Invoke, p, invoke_value(store, &writer));
            let done = store.apply(&writer);
            emit(EventType::Ok, p, Value::List(done));
            // The reader sees y after the writer but x before it.
            let reader = [(false, x, 0), (false, y, 0)];
            emit(EventType::Invoke, p, invoke_value(store, &reader));
            let after_y = store.state[y as usize].clone();
            let reads = Value::List(vec![store.read_of(x, &before_x), store.read_of(y, &after_y)]);
            emit(EventType::Ok, p, reads);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Rng;

    fn history(cfg: &TxnGenConfig, seed: u64) -> checker::History {
        let mut events = Vec::new();
        txn_events(cfg, &mut Rng::new(seed), &mut |e| events.push(e));
        checker::History::from_events("gen", events).expect("a well-formed history")
    }

    #[test]
    fn small_generated_histories_are_what_the_oracle_calls_strict_serializable() {
        use crate::txn_oracle::{self as oracle, Model};
        for workload in [TxnWorkload::ListAppend, TxnWorkload::RwRegister] {
            let mut judged = 0;
            for seed in 0..200 {
                let cfg = TxnGenConfig { concurrency: 3, keys_active: 2, ..TxnGenConfig::elle(workload, 6) };
                let h = history(&cfg, seed);
                let conv = oracle::from_history(&h).expect("converts");
                let Ok(j) = oracle::check(&conv.history) else { continue };
                judged += 1;
                let d = j.decisions.iter().find(|d| d.model == Model::StrictSerializable).expect("decided");
                assert!(d.allowed, "{workload:?} seed {seed}: {}\n{}", d.explanation, conv.history);
            }
            assert!(judged > 100, "{workload:?}: only {judged} judged");
        }
    }

    #[test]
    fn a_planted_g_single_is_not_serializable() {
        use crate::txn_oracle::{self as oracle, Model};
        for workload in [TxnWorkload::ListAppend, TxnWorkload::RwRegister] {
            let cfg = TxnGenConfig {
                concurrency: 2,
                keys_active: 2,
                plants: vec![(2, Plant::GSingle)],
                info_percent: 0,
                ..TxnGenConfig::elle(workload, 4)
            };
            let h = history(&cfg, 1);
            let conv = oracle::from_history(&h).expect("converts");
            let j = oracle::check(&conv.history).expect("small");
            let d = j.decisions.iter().find(|d| d.model == Model::Serializable).expect("decided");
            assert!(!d.allowed, "{workload:?}: {}", conv.history);
            let d = j.decisions.iter().find(|d| d.model == Model::ReadCommitted).expect("decided");
            assert!(d.allowed, "{workload:?}: {}", conv.history);
        }
    }

    #[test]
    fn same_seed_same_events() {
        let cfg = TxnGenConfig::elle(TxnWorkload::ListAppend, 200);
        let a = format!("{:?}", history(&cfg, 9).ops);
        let b = format!("{:?}", history(&cfg, 9).ops);
        assert_eq!(a, b);
    }
}
