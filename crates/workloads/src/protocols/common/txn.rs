//! Transactions as the clients send them (`f: txn`, Elle's data model): a
//! list of micro-ops `["r", k, nil]`, `["w", k, v]`, `["append", k, v]`,
//! answered with the same list, each read's `nil` replaced by what it read.
//! The one parser and encoder of micro-ops for every store, and the atomic
//! application of a whole transaction to a [`KvStore`] (what raft and single
//! do: a transaction is one entry of their log, so it is strict
//! serializable).

use super::kv::KvStore;
use checker::Value;
use std::collections::BTreeMap;

/// Most micro-ops in one transaction a store accepts (a bound on the work
/// one request may ask for; the generators send at most 4).
pub const MAX_MOPS: usize = 64;

/// What a micro-op does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MopKind {
    Read,
    Write,
    Append,
}

impl MopKind {
    /// The name in the history (`r`, `w`, `append`).
    pub fn name(self) -> &'static str {
        match self {
            MopKind::Read => "r",
            MopKind::Write => "w",
            MopKind::Append => "append",
        }
    }
}

/// One micro-op: a read (value nil until answered, then what it read), a
/// register write or a list append.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mop {
    pub kind: MopKind,
    pub key: Value,
    pub value: Value,
}

impl Mop {
    pub fn read(key: Value) -> Mop {
        Mop { kind: MopKind::Read, key, value: Value::Nil }
    }

    pub fn is_write(&self) -> bool {
        self.kind != MopKind::Read
    }

    /// `[f, k, v]`.
    pub fn encode(&self) -> Value {
        Value::List(vec![Value::str(self.kind.name()), self.key.clone(), self.value.clone()])
    }
}

/// Parses a transaction's value: a list of at most [`MAX_MOPS`] micro-ops
/// `[f, k, v]` with `f` one of `r`/`read`, `w`/`write`, `append`.
pub fn parse(v: &Value) -> Result<Vec<Mop>, String> {
    let Some(items) = v.as_seq() else {
        return Err(format!("txn expects a list of micro-ops [f k v], got {v}"));
    };
    if items.len() > MAX_MOPS {
        return Err(format!("txn has {} micro-ops, more than the {MAX_MOPS} accepted", items.len()));
    }
    items
        .iter()
        .map(|m| {
            let Some([f, k, v]) = m.as_seq().and_then(|s| <&[Value; 3]>::try_from(s).ok()) else {
                return Err(format!("micro-op must be [f k v], got {m}"));
            };
            let kind = match f.as_str() {
                Some("r" | "read") => MopKind::Read,
                Some("w" | "write") => MopKind::Write,
                Some("append") => MopKind::Append,
                _ => return Err(format!("micro-op function must be r, w or append, got {f}")),
            };
            Ok(Mop { kind, key: k.clone(), value: v.clone() })
        })
        .collect()
}

/// The list of micro-ops as a history value.
pub fn encode(mops: &[Mop]) -> Value {
    Value::List(mops.iter().map(Mop::encode).collect())
}

/// A key's value after `pending` (a transaction's own effects on it, in
/// order) are applied on top of `base`: writes replace, appends extend a
/// list (nil is the empty list). `None` when an append meets a non-list.
pub fn overlay(base: &Value, pending: &[Mop]) -> Option<Value> {
    let mut cur = base.clone();
    for m in pending {
        cur = match m.kind {
            MopKind::Read => cur,
            MopKind::Write => m.value.clone(),
            MopKind::Append => match cur {
                Value::Nil => Value::List(vec![m.value.clone()]),
                Value::List(mut items) => {
                    items.push(m.value.clone());
                    Value::List(items)
                }
                ref other => match other.as_list() {
                    Some(items) => {
                        let mut items = items.to_vec();
                        items.push(m.value.clone());
                        Value::List(items)
                    }
                    None => return None,
                },
            },
        };
    }
    Some(cur)
}

/// The newest of a key's versions `(timestamp, value)` (in timestamp
/// order) at or before `ts`; nil when none: a multi-version store's read
/// at a snapshot (mvcc, spanner).
pub fn version_at<T: Copy + Ord>(versions: &[(T, Value)], ts: T) -> Value {
    let i = versions.partition_point(|(t, _)| *t <= ts);
    versions.get(i.wrapping_sub(1)).map_or(Value::Nil, |(_, v)| v.clone())
}

/// A transaction's buffered writes, per key in first-write order of keys
/// (the order they are installed in does not matter: they install at once).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteSet {
    by_key: BTreeMap<Value, Vec<Mop>>,
}

impl WriteSet {
    pub fn push(&mut self, m: Mop) {
        debug_assert!(m.is_write(), "only writes are buffered");
        self.by_key.entry(m.key.clone()).or_default().push(m);
    }

    /// This transaction's own effects on `key`, in order.
    pub fn on(&self, key: &Value) -> &[Mop] {
        self.by_key.get(key).map_or(&[], |v| v.as_slice())
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Written keys, in key order.
    pub fn keys(&self) -> impl Iterator<Item = &Value> {
        self.by_key.keys()
    }

    /// `(key, own effects)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &[Mop])> {
        self.by_key.iter().map(|(k, v)| (k, v.as_slice()))
    }
}

/// Runs a transaction against `read` (the committed state it sees: a
/// snapshot, or the latest) with its own writes visible to its later reads
/// (Elle's `internal` consistency), and returns the answered micro-ops and
/// the write set. Fails (nothing changes) when an append meets a non-list.
pub fn execute(mops: &[Mop], mut read: impl FnMut(&Value) -> Value) -> Result<(Vec<Mop>, WriteSet), String> {
    let mut writes = WriteSet::default();
    let mut out = Vec::with_capacity(mops.len());
    for m in mops {
        match m.kind {
            MopKind::Read => {
                let seen = overlay(&read(&m.key), writes.on(&m.key))
                    .ok_or_else(|| format!("key {} holds a non-list under appends", m.key))?;
                out.push(Mop { kind: MopKind::Read, key: m.key.clone(), value: seen });
            }
            _ => {
                if m.kind == MopKind::Append {
                    let mut probe = writes.on(&m.key).to_vec();
                    probe.push(m.clone());
                    if overlay(&read(&m.key), &probe).is_none() {
                        return Err(format!("cannot append to key {}: not a list", m.key));
                    }
                }
                writes.push(m.clone());
                out.push(m.clone());
            }
        }
    }
    Ok((out, writes))
}

/// Applies a whole transaction to `kv` atomically (all or nothing) and
/// returns the answered micro-ops: the way a store that applies operations
/// one at a time (a replicated log, a single owner) runs a transaction.
pub fn apply(kv: &mut KvStore, v: &Value) -> Result<Value, String> {
    let mops = parse(v)?;
    let (out, writes) = execute(&mops, |k| kv.get(&Some(k.clone())))?;
    for (key, own) in writes.iter() {
        let k = Some(key.clone());
        let next = overlay(&kv.get(&k), own).expect("checked while executing");
        kv.put(k, next);
    }
    Ok(encode(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mop(f: &str, k: i64, v: Value) -> Value {
        Value::List(vec![Value::str(f), Value::Int(k), v])
    }

    fn ints(v: &[i64]) -> Value {
        Value::List(v.iter().map(|&i| Value::Int(i)).collect())
    }

    #[test]
    fn a_transaction_reads_its_own_writes_and_applies_all_at_once() {
        let mut kv = KvStore::default();
        let t = Value::List(vec![
            mop("append", 1, 5.into()),
            mop("r", 1, Value::Nil),
            mop("w", 2, 7.into()),
            mop("r", 2, Value::Nil),
            mop("r", 3, Value::Nil),
        ]);
        let out = apply(&mut kv, &t).unwrap();
        assert_eq!(
            out,
            Value::List(vec![
                mop("append", 1, 5.into()),
                mop("r", 1, ints(&[5])),
                mop("w", 2, 7.into()),
                mop("r", 2, 7.into()),
                mop("r", 3, Value::Nil),
            ])
        );
        apply(&mut kv, &Value::List(vec![mop("append", 1, 6.into())])).unwrap();
        assert_eq!(kv.get(&Some(1.into())), ints(&[5, 6]));
        // An append to a register fails the whole transaction: nothing changes.
        let bad = Value::List(vec![mop("w", 1, 9.into()), mop("append", 2, 1.into())]);
        assert!(apply(&mut kv, &bad).is_err());
        assert_eq!(kv.get(&Some(1.into())), ints(&[5, 6]));
    }

    #[test]
    fn malformed_transactions_are_refused_with_the_reason() {
        assert!(parse(&Value::Int(1)).unwrap_err().contains("list of micro-ops"));
        assert!(parse(&Value::List(vec![Value::Int(1)])).unwrap_err().contains("[f k v]"));
        assert!(parse(&Value::List(vec![mop("x", 1, Value::Nil)])).unwrap_err().contains("r, w or append"));
        let long = Value::List(vec![mop("r", 1, Value::Nil); MAX_MOPS + 1]);
        assert!(parse(&long).unwrap_err().contains("more than"));
        let ok = Value::List(vec![mop("read", 1, Value::Nil), mop("write", 1, 2.into())]);
        assert_eq!(parse(&ok).unwrap().len(), 2);
    }
}
