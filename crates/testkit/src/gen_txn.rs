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

use crate::source::{Rng, Source};
use checker::history::{Event, EventType, Process, F};
use checker::value::Value;

/// Which workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnWorkload {
    ListAppend,
    RwRegister,
}

/// What `conch gen` writes: single-object ops ([`crate::gen`]), or
/// transactions (this module).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenKind {
    Ops(crate::gen::GenWorkload),
    Txn(TxnWorkload),
}

/// An anomaly to plant once, after `at` transactions, on fresh keys while
/// no other transaction is open (so it is the only one the history has).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plant {
    /// Read skew: a writer appends (writes) to two fresh keys, then a
    /// reader sees its write to one and not the other (G-single).
    GSingle,
    /// Write skew: two concurrent transactions each read two fresh keys
    /// empty and write one of them (G2-item, allowed by snapshot isolation).
    G2Item,
    /// Two concurrent transactions read a fresh key empty and both write it
    /// (lost-update).
    LostUpdate,
    /// A reader sees the write of a transaction that failed (G1a).
    G1a,
}

impl Plant {
    pub const ALL: [Plant; 4] = [Plant::GSingle, Plant::G2Item, Plant::LostUpdate, Plant::G1a];

    /// The name of the anomaly the checker reports for it.
    pub fn name(self) -> &'static str {
        match self {
            Plant::GSingle => "G-single",
            Plant::G2Item => "G2-item",
            Plant::LostUpdate => "lost-update",
            Plant::G1a => "G1a",
        }
    }
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
    /// Per mille of transactions that end `info` (applied or not, by a coin flip).
    pub info_permille: u64,
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
            info_permille: 50,
            plants: Vec::new(),
        }
    }
}

impl TxnGenConfig {
    /// This config with `plants` added, the i-th of n after (i + 1) / (n + 1)
    /// of the transactions.
    pub fn planted_evenly(mut self, plants: &[Plant]) -> TxnGenConfig {
        let n = plants.len() as u64;
        self.plants.extend(plants.iter().enumerate().map(|(i, &p)| (self.txns * (i as u64 + 1) / (n + 1), p)));
        self
    }
}

/// The history in conch's JSON Lines, generated from `seed`.
pub fn jsonl(cfg: &TxnGenConfig, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(cfg.txns as usize * 256);
    txn_events(cfg, &mut Rng::new(seed), &mut |e| {
        checker::write::write_event(&mut out, &e);
        out.push(b'\n');
    });
    out
}

impl GenKind {
    /// `conch gen`'s clients, keys (transactions: keys active at once) and
    /// per-mille of `info`: the ones given, else the kind's defaults
    /// (single-object ops 16, 100 and 5; transactions Elle's 10, 10 and 50);
    /// an error for the user when one is out of range or anomalies are to
    /// be planted in single-object ops.
    pub fn sizes(
        self,
        clients: Option<usize>,
        keys: Option<usize>,
        info_permille: Option<u32>,
        planting: bool,
    ) -> Result<(usize, usize, u32), &'static str> {
        let txn = matches!(self, GenKind::Txn(_));
        let pick = |x: Option<usize>, ops: usize, txns: usize| x.unwrap_or(if txn { txns } else { ops });
        let (clients, keys) = (pick(clients, 16, 10), pick(keys, 100, 10));
        let info_permille = info_permille.unwrap_or(if txn { 50 } else { 5 });
        if clients == 0 || keys == 0 || info_permille > 1000 || (!txn && planting) {
            return Err("gen: --clients, --keys >= 1; --info-permille <= 1000; --plant only for txn workloads");
        }
        Ok((clients, keys, info_permille))
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
            .map(
                |&(w, k, v)| if w { mop(store.write_name(), k, Value::Int(v as i64)) } else { mop("r", k, Value::Nil) },
            )
            .collect(),
    )
}

/// Generates the history, calling `emit` with each event in order (lines
/// from 1). Returns the number of events.
pub fn txn_events<S: Source>(cfg: &TxnGenConfig, src: &mut S, emit: &mut dyn FnMut(Event)) -> u64 {
    let mut store = Store::new(cfg.workload, cfg.keys_active);
    let mut line = 0u64;
    let mut time_ns = 0u64;
    let mut push = |kind: EventType, p: u64, value: Value, emit: &mut dyn FnMut(Event)| {
        line += 1;
        time_ns += 1 + src_free_jitter(line);
        let mut e = Event::new(line, kind, Process::Client(p), F::Txn, value);
        e.time_ns = Some(time_ns as i64);
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
                // Fresh processes: a plant's transactions may overlap.
                let ps = [next_process, next_process + 1];
                next_process += 2;
                plant_one(plant, &mut store, ps, cfg, &mut |k, p, v| push(k, p, v, emit));
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
            if src.below(1000) + cfg.info_permille.min(1000) >= 1000 {
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

/// Plants one anomaly with every other transaction idle, on fresh keys,
/// by processes `ps` that run nothing else.
fn plant_one(
    plant: Plant,
    store: &mut Store,
    ps: [u64; 2],
    cfg: &TxnGenConfig,
    emit: &mut dyn FnMut(EventType, u64, Value),
) {
    let max = cfg.writes_per_key_max.max(2);
    let (x, y) = (store.fresh_key(), store.fresh_key());
    let (vx, vy) = (store.next_value(x, max), store.next_value(y, max));
    let read = |store: &Store, k: u64, state: &[u64]| store.read_of(k, state);
    let write = |store: &Store, k: u64, v: u64| mop(store.write_name(), k, Value::Int(v as i64));
    let reads_nil = |ks: &[u64]| -> Vec<Value> { ks.iter().map(|&k| mop("r", k, Value::Nil)).collect() };
    match plant {
        Plant::GSingle => {
            let writer = [(true, x, vx), (true, y, vy)];
            emit(EventType::Invoke, ps[0], invoke_value(store, &writer));
            let done = store.apply(&writer);
            emit(EventType::Ok, ps[0], Value::List(done));
            // The reader sees y after the writer but x before it.
            emit(EventType::Invoke, ps[1], Value::List(reads_nil(&[x, y])));
            let reads = vec![read(store, x, &[]), read(store, y, &store.state[y as usize].clone())];
            emit(EventType::Ok, ps[1], Value::List(reads));
        }
        Plant::G2Item => {
            // Both read x and y empty; one writes x, the other y.
            let (mut t1, mut t2) = (reads_nil(&[x, y]), reads_nil(&[x, y]));
            t1.push(write(store, x, vx));
            t2.push(write(store, y, vy));
            emit(EventType::Invoke, ps[0], Value::List(t1));
            emit(EventType::Invoke, ps[1], Value::List(t2));
            let empty = [read(store, x, &[]), read(store, y, &[])];
            store.apply(&[(true, x, vx), (true, y, vy)]);
            let done1 = vec![empty[0].clone(), empty[1].clone(), write(store, x, vx)];
            let done2 = vec![empty[0].clone(), empty[1].clone(), write(store, y, vy)];
            emit(EventType::Ok, ps[0], Value::List(done1));
            emit(EventType::Ok, ps[1], Value::List(done2));
        }
        Plant::LostUpdate => {
            // Both read x empty and write it (the second value is y's
            // counter's: values are per key, so use x's next one).
            let vx2 = store.next_value(x, max);
            let t1 = vec![mop("r", x, Value::Nil), write(store, x, vx)];
            let t2 = vec![mop("r", x, Value::Nil), write(store, x, vx2)];
            emit(EventType::Invoke, ps[0], Value::List(t1));
            emit(EventType::Invoke, ps[1], Value::List(t2));
            let empty = read(store, x, &[]);
            store.apply(&[(true, x, vx), (true, x, vx2)]);
            emit(EventType::Ok, ps[0], Value::List(vec![empty.clone(), write(store, x, vx)]));
            emit(EventType::Ok, ps[1], Value::List(vec![empty, write(store, x, vx2)]));
        }
        Plant::G1a => {
            // A failed write of x, then a read that shows it.
            let t1 = vec![write(store, x, vx)];
            emit(EventType::Invoke, ps[0], Value::List(t1.clone()));
            emit(EventType::Fail, ps[0], Value::List(t1));
            emit(EventType::Invoke, ps[1], Value::List(reads_nil(&[x])));
            emit(EventType::Ok, ps[1], Value::List(vec![read(store, x, &[vx])]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Each plant, alone in a tiny history, is what the oracle says it is:
    /// the weakest model it should break is broken, and the one below holds.
    #[test]
    fn each_plant_breaks_exactly_its_models_by_the_oracle() {
        use crate::txn_oracle::{self as oracle, Model};
        let cases = [
            (Plant::GSingle, Model::ReadCommitted, Model::SnapshotIsolation),
            (Plant::G2Item, Model::SnapshotIsolation, Model::Serializable),
            (Plant::LostUpdate, Model::ReadCommitted, Model::SnapshotIsolation),
            (Plant::G1a, Model::ReadUncommitted, Model::ReadCommitted),
        ];
        for workload in [TxnWorkload::ListAppend, TxnWorkload::RwRegister] {
            for (plant, holds, broken) in cases {
                let cfg = TxnGenConfig {
                    concurrency: 2,
                    keys_active: 2,
                    plants: vec![(2, plant)],
                    info_permille: 0,
                    ..TxnGenConfig::elle(workload, 4)
                };
                let h = history(&cfg, 1);
                let conv = oracle::from_history(&h).expect("converts");
                let j = oracle::check(&conv.history).expect("small");
                let allowed = |m: Model| j.decisions.iter().find(|d| d.model == m).expect("decided").allowed;
                assert!(allowed(holds), "{workload:?} {plant:?} should be {holds}: {}", conv.history);
                assert!(!allowed(broken), "{workload:?} {plant:?} should not be {broken}: {}", conv.history);
            }
        }
    }

    /// In a larger history, the checker finds each plant and names it, and
    /// the same history without it is strict serializable.
    #[test]
    fn the_checker_names_each_plant_in_a_larger_history() {
        use checker::report::{AnomalyKind, CheckName, Verdict};
        for workload in [TxnWorkload::ListAppend, TxnWorkload::RwRegister] {
            let clean = history(&TxnGenConfig::elle(workload, 2_000), 3);
            let r = checker::check(&clean, &checker::CheckConfig::default()).expect("checks");
            assert_eq!(r.verdict, Verdict::Valid, "{workload:?}: {:?}", r.isolation);
            for plant in Plant::ALL {
                let cfg = TxnGenConfig { plants: vec![(1_000, plant)], ..TxnGenConfig::elle(workload, 2_000) };
                let h = history(&cfg, 3);
                let r = checker::check(&h, &checker::CheckConfig::default()).expect("checks");
                let res = r.result(CheckName::StrictSerializable).expect("strict-serializable");
                assert_eq!(res.verdict, Verdict::Invalid, "{workload:?} {plant:?}");
                let named = res.keys[0].anomalies.iter().any(|a| a.kind.as_str() == plant.name());
                assert!(named, "{workload:?} {plant:?}: {:?}", r.isolation);
                assert!(res.keys[0].anomalies.iter().all(|a| matches!(a.kind, AnomalyKind::Txn(_))));
            }
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
