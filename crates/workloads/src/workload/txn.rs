//! Transactional workloads as Elle generates them (`elle.txn/wr-txns`):
//! each transaction is 1 to `max_txn_len` micro-ops, each a read or (with
//! the mix's update weight) a write — an append for list-append, a register
//! write for rw-register — on one of `keys` *active* keys chosen uniformly.
//! A key that has taken `max_writes_per_key` writes is retired and replaced
//! by a fresh one, so each key's history stays short enough for version
//! inference (and for a checker's search) while the run goes on. Written
//! values are unique in the whole run (the workloads' one counter), which
//! is Elle's precondition that a value names its writer.
//!
//! Final reads (`final: true`) are one read transaction per key ever used.

use super::{GenOp, WorkloadConfig, WorkloadKind};
use checker::{Value, F};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Bound on [`WorkloadConfig::max_txn_len`].
pub const MAX_TXN_LEN: usize = 16;

/// The state of a transactional generator.
pub(crate) struct TxnGen {
    append: bool,
    max_len: usize,
    max_writes_per_key: u64,
    read_weight: u32,
    write_weight: u32,
    /// Active keys and the writes each has been given.
    active: Vec<(i64, u64)>,
    /// Keys handed out so far: `0..next_key`.
    next_key: i64,
}

impl TxnGen {
    pub(crate) fn new(cfg: &WorkloadConfig) -> TxnGen {
        let keys = cfg.keys.max(1);
        TxnGen {
            append: cfg.kind == WorkloadKind::TxnListAppend,
            max_len: cfg.max_txn_len,
            max_writes_per_key: cfg.max_writes_per_key,
            read_weight: cfg.mix.read,
            write_weight: cfg.mix.update,
            active: (0..keys as i64).map(|k| (k, 0)).collect(),
            next_key: keys as i64,
        }
    }

    /// The next transaction; `fresh` hands out unique values.
    pub(crate) fn next_op(&mut self, rng: &mut ChaCha8Rng, mut fresh: impl FnMut() -> i64) -> GenOp {
        let len = rng.random_range(1..=self.max_len);
        let total = self.read_weight as u64 + self.write_weight as u64;
        let mut mops = Vec::with_capacity(len);
        for _ in 0..len {
            let slot = rng.random_range(0..self.active.len());
            let key = self.active[slot].0;
            let write = rng.random_range(0..total) >= self.read_weight as u64;
            let (f, v) = if write {
                self.active[slot].1 += 1;
                let v = Value::Int(fresh());
                if self.active[slot].1 >= self.max_writes_per_key {
                    // Retired: later transactions use a fresh key in its place.
                    self.active[slot] = (self.next_key, 0);
                    self.next_key += 1;
                }
                (if self.append { "append" } else { "w" }, v)
            } else {
                ("r", Value::Nil)
            };
            mops.push(Value::List(vec![Value::str(f), Value::Int(key), v]));
        }
        GenOp { f: F::Txn, key: None, value: Value::List(mops) }
    }

    /// Every key handed out, in order.
    pub(crate) fn keys_used(&self) -> impl Iterator<Item = i64> {
        0..self.next_key
    }
}

/// The final read of `key`: a one-read transaction.
pub(crate) fn final_read(key: &Value) -> GenOp {
    GenOp {
        f: F::Txn,
        key: None,
        value: Value::List(vec![Value::List(vec![Value::str("r"), key.clone(), Value::Nil])]),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Generator;
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    /// Elle's shape: 1..=4 micro-ops, reads nil, writes of values unique in
    /// the run, at most `max_writes_per_key` writes per key, and no more
    /// than `keys` keys active at once (keys appear in increasing order of
    /// first use, each new one replacing a retired one).
    #[test]
    fn txns_have_elles_shape_and_keys_retire_after_their_writes() {
        for kind in [WorkloadKind::TxnListAppend, WorkloadKind::TxnRwRegister] {
            let mut cfg = WorkloadConfig::new(kind);
            cfg.max_writes_per_key = 5;
            let mut g = Generator::new(&cfg).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut writes: BTreeMap<i64, u64> = BTreeMap::new();
            let mut values = std::collections::BTreeSet::new();
            let mut last_seen: BTreeMap<i64, usize> = BTreeMap::new();
            let write_f = if kind == WorkloadKind::TxnListAppend { "append" } else { "w" };
            for i in 0..500 {
                let op = g.next_op(&mut rng);
                assert_eq!((op.f, op.key), (F::Txn, None));
                let mops = op.value.as_seq().unwrap();
                assert!((1..=4).contains(&mops.len()), "{}", op.value);
                for m in mops {
                    let [f, k, v] = m.as_seq().unwrap() else { panic!("{m}") };
                    let k = k.as_int().unwrap();
                    last_seen.insert(k, i);
                    match f.as_str().unwrap() {
                        "r" => assert_eq!(*v, Value::Nil),
                        w => {
                            assert_eq!(w, write_f);
                            assert!(values.insert(v.as_int().unwrap()), "value reused");
                            *writes.entry(k).or_default() += 1;
                        }
                    }
                }
                // Keys used in the last transaction are among the active ones.
                let recent = last_seen.values().filter(|&&at| at == i).count();
                assert!(recent <= 4);
            }
            assert!(writes.values().all(|&w| w <= 5), "{writes:?}");
            let used = g.final_keys().len();
            assert!(used > cfg.keys, "keys were retired and replaced ({used} used)");
            assert_eq!(used as i64, *last_seen.keys().max().unwrap() + 1);
            let fin = g.final_op(&Some(Value::Int(2)));
            assert_eq!(fin.value, Value::List(vec![Value::List(vec![Value::str("r"), Value::Int(2), Value::Nil])]));
        }
    }
}
