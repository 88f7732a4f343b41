//! Client workloads: what operations the simulated clients issue.
//!
//! Every written value (write, cas's new value, append, add) is unique across
//! the whole run, drawn from one counter, so checkers can tell writes apart.
//! The operations and their expected answers are listed on
//! [`crate::sim::Request`].

mod txn;

pub use txn::MAX_TXN_LEN;

use checker::{Value, F};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The workloads, by their command-line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkloadKind {
    /// read / write / cas on a few registers.
    Register,
    /// read / write over many keys.
    Kv,
    /// append unique ints to lists; reads return lists.
    ListAppend,
    /// add unique ints to grow-only sets; reads return sorted lists.
    Set,
    /// incr / read counters.
    Counter,
    /// transfers between accounts and whole-bank reads (key nil).
    Bank,
    /// shopping carts: add unique ints, remove ones added earlier, read the
    /// cart (a sorted list); checked by the `cart` check.
    Cart,
    /// transactions of appends and reads over lists (Elle's list-append).
    TxnListAppend,
    /// transactions of writes and reads over registers (Elle's rw-register).
    TxnRwRegister,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 9] = [
        WorkloadKind::Register,
        WorkloadKind::Kv,
        WorkloadKind::ListAppend,
        WorkloadKind::Set,
        WorkloadKind::Counter,
        WorkloadKind::Bank,
        WorkloadKind::Cart,
        WorkloadKind::TxnListAppend,
        WorkloadKind::TxnRwRegister,
    ];

    /// The transactional workloads (`f: txn`), in `ALL`'s order.
    pub const TXN: [WorkloadKind; 2] = WorkloadKind::those(true);

    /// Every workload but the transactional ones, in `ALL`'s order.
    pub const SINGLE_OBJECT: [WorkloadKind; 7] = WorkloadKind::those(false);

    /// Whether its ops are transactions: the one place that says which
    /// workloads are.
    pub const fn is_txn(&self) -> bool {
        matches!(self, WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister)
    }

    /// The workloads of `ALL` whose [`is_txn`](Self::is_txn) is `txn`; `N`
    /// must be their number (checked when the constant is evaluated).
    const fn those<const N: usize>(txn: bool) -> [WorkloadKind; N] {
        let mut out = [WorkloadKind::Register; N];
        let (mut i, mut n) = (0, 0);
        while i < WorkloadKind::ALL.len() {
            if WorkloadKind::ALL[i].is_txn() == txn {
                out[n] = WorkloadKind::ALL[i];
                n += 1;
            }
            i += 1;
        }
        assert!(n == N, "the array's length is not the number of such workloads");
        out
    }

    pub fn name(&self) -> &'static str {
        match self {
            WorkloadKind::Register => "register",
            WorkloadKind::Kv => "kv",
            WorkloadKind::ListAppend => "list-append",
            WorkloadKind::Set => "set",
            WorkloadKind::Counter => "counter",
            WorkloadKind::Bank => "bank",
            WorkloadKind::Cart => "cart",
            WorkloadKind::TxnListAppend => "txn-list-append",
            WorkloadKind::TxnRwRegister => "txn-rw-register",
        }
    }

    pub fn parse(s: &str) -> Option<WorkloadKind> {
        WorkloadKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// [`WorkloadKind::parse`], or an error listing the names.
    pub fn from_name(s: &str) -> Result<WorkloadKind, String> {
        WorkloadKind::parse(s).ok_or_else(|| {
            let names: Vec<&str> = WorkloadKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown workload `{s}`: expected one of {}", names.join(", "))
        })
    }

    /// The update operation of this workload.
    pub fn update_f(&self) -> F {
        match self {
            WorkloadKind::Register | WorkloadKind::Kv => F::Write,
            WorkloadKind::ListAppend => F::Append,
            WorkloadKind::Set | WorkloadKind::Cart => F::Add,
            WorkloadKind::Counter => F::Incr,
            WorkloadKind::Bank => F::Transfer,
            WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => F::Txn,
        }
    }
}

/// How keys are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum KeyDist {
    Uniform,
    /// Key `k` (0-based) has weight `1 / (k + 1)^exponent`.
    Zipfian {
        exponent: f64,
    },
    /// Key 0 takes `share_pct` percent of the ops, the others share the
    /// rest uniformly: contention on one key, as the bugs that need two
    /// writers on one coordinator want (#15 §4).
    Hot {
        share_pct: u32,
    },
}

impl KeyDist {
    /// The presets `--key-dist` takes, in [`KeyDist::PRESETS`]'s order.
    pub const NAMES: [&'static str; 3] = ["uniform", "zipfian", "hot"];
    pub const PRESETS: [KeyDist; 3] =
        [KeyDist::Uniform, KeyDist::Zipfian { exponent: 1.0 }, KeyDist::Hot { share_pct: HOT_KEY_SHARE_PCT }];

    /// The preset of this name.
    pub fn preset(name: &str) -> Option<KeyDist> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| Self::PRESETS[i])
    }

    /// The name of the preset this is, if it is one.
    pub fn preset_name(&self) -> Option<&'static str> {
        Self::PRESETS.iter().position(|p| p == self).map(|i| Self::NAMES[i])
    }
}

/// The hot-key preset's share of ops on key 0 (YCSB's hotspot puts 80% of
/// ops on a hot set; one key at 90% keeps a single register contended).
pub const HOT_KEY_SHARE_PCT: u32 = 90;

/// Relative weights of reads, updates (the workload's write/append/add/incr/
/// transfer) and compare-and-sets (register workloads only). For the
/// transactional workloads, the weights of read and write micro-ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpMix {
    pub read: u32,
    pub update: u32,
    pub cas: u32,
}

/// The workload's parameters (client and op counts are in
/// [`crate::sim::SimConfig`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    pub kind: WorkloadKind,
    /// Number of keys (ignored by bank, which has one object).
    pub keys: usize,
    pub key_dist: KeyDist,
    pub mix: OpMix,
    /// Mean think time between a client's ops (exponential); 0 issues the
    /// next op as soon as the previous completes. Sets the rate: about
    /// `clients / (think + latency)` ops per second.
    pub think_mean_ns: u64,
    /// Bank: number of accounts.
    pub accounts: usize,
    /// Bank: transfers move `1..=max_transfer`.
    pub max_transfer: i64,
    /// Counter: increments are `1..=max_incr`.
    pub max_incr: i64,
    /// Transactions: at most this many micro-ops each (1..=[`MAX_TXN_LEN`]).
    #[serde(default = "default_max_txn_len")]
    pub max_txn_len: usize,
    /// Transactions: a key is retired after this many writes (Elle's
    /// `max-writes-per-key`); `keys` are the ones active at once.
    #[serde(default = "default_max_writes_per_key")]
    pub max_writes_per_key: u64,
}

fn default_max_txn_len() -> usize {
    4
}

fn default_max_writes_per_key() -> u64 {
    32
}

/// Upper bound on keys/accounts: the zipfian table and final reads are
/// proportional to it.
pub const MAX_KEYS: usize = 1_000_000;

impl WorkloadConfig {
    /// The workload's defaults.
    pub fn new(kind: WorkloadKind) -> WorkloadConfig {
        let (keys, key_dist, mix) = match kind {
            WorkloadKind::Register => (3, KeyDist::Uniform, OpMix { read: 2, update: 2, cas: 1 }),
            WorkloadKind::Kv => (100, KeyDist::Zipfian { exponent: 1.0 }, OpMix { read: 1, update: 1, cas: 0 }),
            WorkloadKind::ListAppend | WorkloadKind::Set => (5, KeyDist::Uniform, OpMix { read: 1, update: 2, cas: 0 }),
            // A few carts, so that concurrent updates of one cart are common.
            WorkloadKind::Cart => (3, KeyDist::Uniform, OpMix { read: 1, update: 3, cas: 0 }),
            WorkloadKind::Counter => (2, KeyDist::Uniform, OpMix { read: 1, update: 2, cas: 0 }),
            WorkloadKind::Bank => (1, KeyDist::Uniform, OpMix { read: 1, update: 3, cas: 0 }),
            // Elle's: a few active keys, reads and writes equally likely.
            WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => {
                (3, KeyDist::Uniform, OpMix { read: 1, update: 1, cas: 0 })
            }
        };
        WorkloadConfig {
            kind,
            keys,
            key_dist,
            mix,
            think_mean_ns: 1_000_000,
            accounts: 5,
            max_transfer: 5,
            max_incr: 5,
            max_txn_len: default_max_txn_len(),
            max_writes_per_key: default_max_writes_per_key(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.keys == 0 || self.keys > MAX_KEYS {
            return Err(format!("keys must be in 1..={MAX_KEYS}, got {}", self.keys));
        }
        if self.kind == WorkloadKind::Bank && (self.accounts < 2 || self.accounts > MAX_KEYS) {
            return Err(format!("bank needs 2..={MAX_KEYS} accounts, got {}", self.accounts));
        }
        let m = self.mix;
        let cas = if matches!(self.kind, WorkloadKind::Register | WorkloadKind::Kv) { m.cas } else { 0 };
        if m.read as u64 + m.update as u64 + cas as u64 == 0 {
            return Err("op mix has no weight".into());
        }
        if self.kind.is_txn() {
            if !(1..=MAX_TXN_LEN).contains(&self.max_txn_len) {
                return Err(format!("max_txn_len must be in 1..={MAX_TXN_LEN}, got {}", self.max_txn_len));
            }
            if self.max_writes_per_key == 0 {
                return Err("max_writes_per_key must be at least 1".into());
            }
            if self.key_dist != KeyDist::Uniform {
                return Err("transactional workloads choose among their active keys uniformly".into());
            }
        }
        if self.max_transfer < 1 || self.max_incr < 1 {
            return Err("max_transfer and max_incr must be at least 1".into());
        }
        match self.key_dist {
            KeyDist::Zipfian { exponent } if !(exponent.is_finite() && exponent >= 0.0) => {
                return Err(format!("zipfian exponent must be >= 0, got {exponent}"));
            }
            KeyDist::Hot { share_pct } if !(1..=100).contains(&share_pct) => {
                return Err(format!("hot key share must be in 1..=100 percent, got {share_pct}"));
            }
            _ => {}
        }
        Ok(())
    }
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig::new(WorkloadKind::Register)
    }
}

/// One generated operation.
#[derive(Clone, Debug, PartialEq)]
pub struct GenOp {
    pub f: F,
    pub key: Option<Value>,
    pub value: Value,
}

/// Produces operations from a workload config and the run's rng.
pub struct Generator {
    cfg: WorkloadConfig,
    /// Next unique value to write.
    next_value: i64,
    /// Last value handed out for each key (cas aims at it).
    last_written: Vec<Option<i64>>,
    /// Cumulative weights for zipfian choice (empty when uniform).
    cdf: Vec<f64>,
    /// The transactional workloads' own state.
    txn: Option<txn::TxnGen>,
    /// Cart: per key, the elements added and not yet chosen for removal.
    in_cart: Vec<Vec<i64>>,
}

/// Cart: of the updates, the share that removes (one in `REMOVE_ONE_IN`),
/// when the cart has an element to remove.
const REMOVE_ONE_IN: u32 = 3;

impl Generator {
    pub fn new(cfg: &WorkloadConfig) -> Result<Generator, String> {
        cfg.validate()?;
        let keys = if cfg.kind == WorkloadKind::Bank { 1 } else { cfg.keys };
        let mut cdf = Vec::new();
        match cfg.key_dist {
            KeyDist::Uniform => {}
            KeyDist::Zipfian { exponent } => {
                let mut acc = 0.0;
                for k in 0..keys {
                    // libm, not the platform's: the weights choose keys, which
                    // reach the history, so they must have the same bits everywhere.
                    acc += libm::pow((k + 1) as f64, -exponent);
                    cdf.push(acc);
                }
            }
            // Integer weights, so the table is exact: key 0 weighs
            // share × (keys - 1), each other key 100 - share.
            KeyDist::Hot { share_pct } if keys > 1 => {
                let (hot, cold) = (share_pct as f64 * (keys - 1) as f64, (100 - share_pct) as f64);
                cdf.push(hot);
                for k in 1..keys {
                    cdf.push(hot + cold * k as f64);
                }
            }
            KeyDist::Hot { .. } => {}
        }
        let txn = cfg.kind.is_txn().then(|| txn::TxnGen::new(cfg));
        let in_cart = if cfg.kind == WorkloadKind::Cart { vec![Vec::new(); keys] } else { Vec::new() };
        Ok(Generator { cfg: cfg.clone(), next_value: 1, last_written: vec![None; keys], cdf, txn, in_cart })
    }

    fn key_index(&self, rng: &mut ChaCha8Rng) -> usize {
        let n = self.last_written.len();
        if self.cdf.is_empty() {
            return rng.random_range(0..n);
        }
        let total = self.cdf[n - 1];
        let x = rng.random::<f64>() * total;
        self.cdf.partition_point(|&c| c <= x).min(n - 1)
    }

    fn fresh(&mut self) -> i64 {
        let v = self.next_value;
        self.next_value += 1;
        v
    }

    /// The next client operation.
    pub fn next_op(&mut self, rng: &mut ChaCha8Rng) -> GenOp {
        if let Some(t) = &mut self.txn {
            let next_value = &mut self.next_value;
            return t.next_op(rng, || {
                *next_value += 1;
                *next_value - 1
            });
        }
        let kind = self.cfg.kind;
        let m = self.cfg.mix;
        let cas_w = if matches!(kind, WorkloadKind::Register | WorkloadKind::Kv) { m.cas } else { 0 };
        let total = m.read as u64 + m.update as u64 + cas_w as u64;
        let pick = rng.random_range(0..total.max(1));
        if kind == WorkloadKind::Bank {
            if pick < m.read as u64 {
                return GenOp { f: F::Read, key: None, value: Value::Nil };
            }
            let from = rng.random_range(0..self.cfg.accounts);
            let mut to = rng.random_range(0..self.cfg.accounts - 1);
            if to >= from {
                to += 1;
            }
            let amount = rng.random_range(1..=self.cfg.max_transfer);
            return GenOp { f: F::Transfer, key: None, value: transfer_value(from, to, amount) };
        }
        let k = self.key_index(rng);
        let key = Some(Value::Int(k as i64));
        if pick < m.read as u64 {
            return GenOp { f: F::Read, key, value: Value::Nil };
        }
        if pick >= m.read as u64 + m.update as u64 {
            if let Some(old) = self.last_written[k] {
                let new = self.fresh();
                self.last_written[k] = Some(new);
                return GenOp { f: F::Cas, key, value: Value::List(vec![Value::Int(old), Value::Int(new)]) };
            }
            // Nothing written to this key yet: a cas could only fail, so
            // write instead.
        }
        if kind == WorkloadKind::Cart {
            return self.cart_update(rng, k, key);
        }
        let value = match kind {
            WorkloadKind::Counter => Value::Int(rng.random_range(1..=self.cfg.max_incr)),
            _ => {
                let v = self.fresh();
                self.last_written[k] = Some(v);
                Value::Int(v)
            }
        };
        GenOp { f: kind.update_f(), key, value }
    }

    /// A cart update of key `k`: remove an element added earlier (chosen
    /// uniformly among those not yet removed; its add may still be in
    /// flight, or have failed), else add a fresh one.
    fn cart_update(&mut self, rng: &mut ChaCha8Rng, k: usize, key: Option<Value>) -> GenOp {
        let removable = self.in_cart[k].len();
        if removable > 0 && rng.random_range(0..REMOVE_ONE_IN) == 0 {
            let v = self.in_cart[k].swap_remove(rng.random_range(0..removable));
            return GenOp { f: checker::remove_f(), key, value: Value::Int(v) };
        }
        let v = self.fresh();
        self.in_cart[k].push(v);
        GenOp { f: F::Add, key, value: Value::Int(v) }
    }

    /// The keys a final read covers, in order: for transactions, every key
    /// handed out so far (ask once the clients are done).
    pub fn final_keys(&self) -> Vec<Option<Value>> {
        if let Some(t) = &self.txn {
            return t.keys_used().map(|k| Some(Value::Int(k))).collect();
        }
        if self.cfg.kind == WorkloadKind::Bank {
            vec![None]
        } else {
            (0..self.last_written.len()).map(|k| Some(Value::Int(k as i64))).collect()
        }
    }
}

impl Generator {
    /// The final read of `key` (one of [`Generator::final_keys`]): a read,
    /// or for transactions a one-read transaction.
    pub fn final_op(&self, key: &Option<Value>) -> GenOp {
        match (&self.txn, key) {
            (Some(_), Some(k)) => txn::final_read(k),
            _ => GenOp { f: F::Read, key: key.clone(), value: Value::Nil },
        }
    }
}

/// `{"from": from, "to": to, "amount": amount}`.
pub fn transfer_value(from: usize, to: usize, amount: i64) -> Value {
    Value::map(vec![
        (Value::str("from"), Value::Int(from as i64)),
        (Value::str("to"), Value::Int(to as i64)),
        (Value::str("amount"), Value::Int(amount)),
    ])
}

/// Parses a transfer's value back: `(from, to, amount)`, accounts below
/// [`MAX_KEYS`] (balances are dense lists, so a bad request must not make
/// one huge). The one parser of transfers, for every bank.
pub fn parse_transfer(v: &Value) -> Result<(usize, usize, i64), String> {
    let field = |name: &str| match v {
        Value::Map(m) => m.iter().find(|(k, _)| k.as_str() == Some(name)).and_then(|(_, v)| v.as_int()),
        _ => None,
    };
    let account = |name: &str| field(name).and_then(|a| usize::try_from(a).ok()).filter(|&a| a < MAX_KEYS);
    match (account("from"), account("to"), field("amount")) {
        (Some(from), Some(to), Some(amount)) => Ok((from, to, amount)),
        _ => Err(format!("transfer expects {{from, to, amount}} with accounts in 0..{MAX_KEYS}, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    #[test]
    fn written_values_are_unique_and_ops_fit_the_workload() {
        for kind in WorkloadKind::ALL {
            let mut g = Generator::new(&WorkloadConfig::new(kind)).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let mut seen = BTreeSet::new();
            let mut removed = BTreeSet::new();
            let mut fs = BTreeSet::new();
            for _ in 0..2000 {
                let op = g.next_op(&mut rng);
                fs.insert(op.f.clone());
                match (&op.f, &op.value) {
                    (F::Write | F::Append | F::Add, Value::Int(v)) => assert!(seen.insert(*v), "{kind:?} reused {v}"),
                    (F::Cas, Value::List(l)) => assert!(seen.insert(l[1].as_int().unwrap())),
                    (F::Transfer, v) => {
                        let (from, to, amount) = parse_transfer(v).unwrap();
                        assert!(from != to && from < 5 && to < 5 && (1..=5).contains(&amount));
                        assert_eq!(op.key, None);
                    }
                    (F::Incr, Value::Int(d)) => assert!((1..=5).contains(d)),
                    (F::Read, Value::Nil) => {}
                    (F::Other(_), Value::Int(v)) if kind == WorkloadKind::Cart => {
                        assert!(seen.contains(v) && removed.insert(*v), "remove {v} of an element added once")
                    }
                    (F::Txn, Value::List(_)) => {}
                    other => panic!("{kind:?} generated unexpected {other:?}"),
                }
            }
            let expect: BTreeSet<F> = match kind {
                WorkloadKind::Register => [F::Read, F::Write, F::Cas].into(),
                WorkloadKind::Kv => [F::Read, F::Write].into(),
                WorkloadKind::ListAppend => [F::Read, F::Append].into(),
                WorkloadKind::Set => [F::Read, F::Add].into(),
                WorkloadKind::Counter => [F::Read, F::Incr].into(),
                WorkloadKind::Bank => [F::Read, F::Transfer].into(),
                WorkloadKind::Cart => [F::Read, F::Add, checker::remove_f()].into(),
                WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => [F::Txn].into(),
            };
            assert_eq!(fs, expect, "{kind:?}");
        }
    }

    #[test]
    fn zipfian_prefers_low_keys() {
        let mut cfg = WorkloadConfig::new(WorkloadKind::Kv);
        cfg.keys = 50;
        let mut g = Generator::new(&cfg).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut counts = vec![0u32; 50];
        for _ in 0..5000 {
            let op = g.next_op(&mut rng);
            counts[op.key.unwrap().as_int().unwrap() as usize] += 1;
        }
        assert!(counts[0] > 4 * counts[49].max(1), "{counts:?}");
        assert!(counts.iter().all(|&c| c < 5000));
    }

    /// #15 §4: the hot-key preset puts its share on key 0 and spreads the
    /// rest evenly; every preset's name round-trips.
    #[test]
    fn the_hot_key_takes_its_share() {
        let mut cfg = WorkloadConfig::new(WorkloadKind::Register);
        cfg.keys = 5;
        cfg.key_dist = KeyDist::preset("hot").unwrap();
        let mut g = Generator::new(&cfg).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut counts = [0u32; 5];
        for _ in 0..10_000 {
            counts[g.next_op(&mut rng).key.unwrap().as_int().unwrap() as usize] += 1;
        }
        assert!((8_800..=9_200).contains(&counts[0]), "{counts:?}");
        assert!(counts[1..].iter().all(|&c| (150..=350).contains(&c)), "{counts:?}");
        for name in KeyDist::NAMES {
            assert_eq!(KeyDist::preset(name).unwrap().preset_name(), Some(name));
        }
        cfg.key_dist = KeyDist::Hot { share_pct: 0 };
        assert!(Generator::new(&cfg).is_err());
    }

    #[test]
    fn bad_configs_rejected() {
        let mut cfg = WorkloadConfig::new(WorkloadKind::Bank);
        cfg.accounts = 1;
        assert!(Generator::new(&cfg).is_err());
        let mut cfg = WorkloadConfig::new(WorkloadKind::Kv);
        cfg.keys = 0;
        assert!(Generator::new(&cfg).is_err());
        // cas weight only counts for registers.
        let mut cfg = WorkloadConfig::new(WorkloadKind::ListAppend);
        cfg.mix = OpMix { read: 0, update: 0, cas: 5 };
        assert!(Generator::new(&cfg).is_err());
        assert_eq!(WorkloadKind::parse("list-append"), Some(WorkloadKind::ListAppend));
    }
}
