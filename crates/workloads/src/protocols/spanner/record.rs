//! What a group's Raft log carries, and the state every replica of the
//! group rebuilds from it: multi-version data, prepared transactions and
//! decisions. Records travel inside Raft's client requests as values (the
//! Raft implementation replicates requests; it does not know spanner's
//! types), so this module is also their one encoder and decoder.

use super::{GroupId, Ts, TxnId};
use crate::protocols::common::txn::{self, Mop};
use checker::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One entry of a group's log.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A participant's prepare: it holds the locks on `reads` and `writes`
    /// (rebuilt by a new leader from this record) and promises to commit at
    /// no timestamp below `ts`.
    Prepare { txn: TxnId, ts: Ts, coord: GroupId, reads: Vec<Value>, writes: Vec<Mop> },
    /// The transaction committed at `ts`; `writes` are this group's.
    /// In the coordinator group this is the decision itself.
    Commit { txn: TxnId, ts: Ts, writes: Vec<Mop> },
    /// The transaction aborted (in the coordinator group: the decision).
    Abort { txn: TxnId },
    /// Nothing: a leader commits one to learn that it still leads and has
    /// applied everything before it (a snapshot read's barrier).
    Barrier,
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn txn_value(t: TxnId) -> [Value; 2] {
    [Value::Int(t.0 as i64), Value::Int(t.1 as i64)]
}

impl Record {
    pub fn encode(&self) -> Value {
        let mut out = Vec::new();
        match self {
            Record::Prepare { txn, ts, coord, reads, writes } => {
                out.push(Value::str("prepare"));
                out.extend(txn_value(*txn));
                out.push(Value::Int(*ts));
                out.push(Value::Int(*coord as i64));
                out.push(Value::List(reads.clone()));
                out.push(txn::encode(writes));
            }
            Record::Commit { txn, ts, writes } => {
                out.push(Value::str("commit"));
                out.extend(txn_value(*txn));
                out.push(Value::Int(*ts));
                out.push(txn::encode(writes));
            }
            Record::Abort { txn } => {
                out.push(Value::str("abort"));
                out.extend(txn_value(*txn));
            }
            Record::Barrier => out.push(Value::str("barrier")),
        }
        Value::List(out)
    }

    /// The record a value encodes; `None` for anything else (every value
    /// in a spanner log was made by [`Record::encode`]).
    pub fn decode(v: &Value) -> Option<Record> {
        let items = v.as_seq()?;
        let txn = || Some((int(items.get(1)?)? as usize, int(items.get(2)?)? as u64));
        Some(match items.first()?.as_str()? {
            "prepare" => Record::Prepare {
                txn: txn()?,
                ts: int(items.get(3)?)?,
                coord: int(items.get(4)?)? as usize,
                reads: items.get(5)?.as_seq()?.to_vec(),
                writes: txn::parse(items.get(6)?).ok()?,
            },
            "commit" => {
                Record::Commit { txn: txn()?, ts: int(items.get(3)?)?, writes: txn::parse(items.get(4)?).ok()? }
            }
            "abort" => Record::Abort { txn: txn()? },
            "barrier" => Record::Barrier,
            _ => return None,
        })
    }
}

/// A prepared transaction, as every replica knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub ts: Ts,
    pub coord: GroupId,
    pub reads: Vec<Value>,
    pub writes: Vec<Mop>,
}

/// A group's replicated state: what its log says, applied in order.
#[derive(Clone, Debug, Default)]
pub struct GroupState {
    /// Every key's versions, oldest first, with strictly increasing
    /// timestamps.
    pub versions: BTreeMap<Value, Vec<(Ts, Value)>>,
    pub prepared: BTreeMap<TxnId, Prepared>,
    /// Decided transactions: `Some(ts)` committed, `None` aborted. The
    /// first decision in the log wins; a later one is ignored.
    pub decided: BTreeMap<TxnId, Option<Ts>>,
    /// The highest timestamp the log holds (a new leader assigns above it).
    pub max_ts: Ts,
    /// Log index applied up to.
    pub applied: u64,
}

/// What applying a record changed, for the leader's bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    Prepared(TxnId),
    /// The transaction's first decision (duplicates and later decisions
    /// report `Ignored`).
    Decided(TxnId, Option<Ts>),
    Barrier,
    Ignored,
}

impl GroupState {
    /// The latest value of `key` at or below `ts` (nil if none).
    pub fn read_at(&self, key: &Value, ts: Ts) -> Value {
        self.versions.get(key).map_or(Value::Nil, |vs| txn::version_at(vs, ts))
    }

    /// The latest committed value of `key`.
    pub fn latest(&self, key: &Value) -> Value {
        self.versions.get(key).and_then(|vs| vs.last()).map_or(Value::Nil, |(_, v)| v.clone())
    }

    /// Timestamps still pending here: a snapshot read at or above one of
    /// them must wait (the prepared part of Spanner's t_safe).
    pub fn min_prepared_ts(&self) -> Option<Ts> {
        self.prepared.values().map(|p| p.ts).min()
    }

    pub fn apply(&mut self, rec: Record) -> Applied {
        match rec {
            Record::Prepare { txn, ts, coord, reads, writes } => {
                self.max_ts = self.max_ts.max(ts);
                if self.decided.contains_key(&txn) || self.prepared.contains_key(&txn) {
                    return Applied::Ignored;
                }
                self.prepared.insert(txn, Prepared { ts, coord, reads, writes });
                Applied::Prepared(txn)
            }
            Record::Commit { txn, ts, writes } => {
                self.max_ts = self.max_ts.max(ts);
                if self.decided.contains_key(&txn) {
                    return Applied::Ignored;
                }
                if let Some(p) = self.prepared.remove(&txn) {
                    debug_assert!(ts >= p.ts, "txn {txn:?} commits at {ts} below its prepare timestamp {}", p.ts);
                }
                let mut by_key: BTreeMap<&Value, Vec<Mop>> = BTreeMap::new();
                for m in &writes {
                    by_key.entry(&m.key).or_default().push(m.clone());
                }
                for (key, own) in by_key {
                    let base = self.latest(key);
                    let next = txn::overlay(&base, &own).unwrap_or(base);
                    let vs = self.versions.entry(key.clone()).or_default();
                    // One timestamp order: writers of a key are serialized
                    // by its write lock, and each takes a timestamp above
                    // every one its leader has seen.
                    debug_assert!(
                        vs.last().is_none_or(|(t, _)| *t < ts),
                        "key {key}: version at {ts} after one at {:?}",
                        vs.last().map(|v| v.0)
                    );
                    vs.push((ts, next));
                }
                self.decided.insert(txn, Some(ts));
                Applied::Decided(txn, Some(ts))
            }
            Record::Abort { txn } => {
                if self.decided.contains_key(&txn) {
                    return Applied::Ignored;
                }
                self.prepared.remove(&txn);
                self.decided.insert(txn, None);
                Applied::Decided(txn, None)
            }
            Record::Barrier => Applied::Barrier,
        }
    }
}

/// The keys a prepared transaction locks.
pub fn locked_keys(p: &Prepared) -> (BTreeSet<Value>, BTreeSet<Value>) {
    (p.reads.iter().cloned().collect(), p.writes.iter().map(|m| m.key.clone()).collect())
}
