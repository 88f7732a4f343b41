//! The sharded bank that 2PC and 3PC commit transactions on: accounts,
//! per-shard work, lock conflicts, and a recorder of every shard's decision
//! per transaction (for tests and statistics that must outlive crashes).

use crate::sim::{Key, NodeId};
use crate::workload::parse_transfer;
use checker::{Value, F};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// A transaction: its coordinator and the coordinator's durable sequence
/// number, so ids never repeat across restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnId {
    pub coord: NodeId,
    pub seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    Commit,
    Abort,
}

/// What a client asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum BankOp {
    Transfer {
        from: usize,
        to: usize,
        amount: i64,
    },
    /// A whole-bank read: a read-only transaction over every shard.
    Read,
}

impl BankOp {
    pub fn parse(f: &F, key: &Key, value: &Value) -> Result<BankOp, String> {
        if key.is_some() {
            return Err("the bank has no keys (key must be nil)".to_string());
        }
        match f {
            F::Transfer => parse_transfer(value).map(|(from, to, amount)| BankOp::Transfer { from, to, amount }),
            F::Read => Ok(BankOp::Read),
            f => Err(format!("the bank supports transfer and read, not `{f}`")),
        }
    }
}

/// Account `a` lives on node `a % nodes`: every node is a shard.
pub fn shard_of(account: usize, nodes: usize) -> NodeId {
    account % nodes.max(1)
}

/// One shard's part of a transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShardWork {
    /// Balance changes, in the order given.
    pub deltas: Vec<(usize, i64)>,
    /// Read every account of the shard (takes a shared lock on all of them).
    pub read_all: bool,
}

impl ShardWork {
    /// Whether two transactions' work on one shard needs exclusive access
    /// to a common account: writes conflict with overlapping writes and with
    /// whole-shard reads; reads share.
    pub fn conflicts(&self, other: &ShardWork) -> bool {
        let writes = |w: &ShardWork| w.deltas.iter().map(|d| d.0).collect::<BTreeSet<_>>();
        let (a, b) = (writes(self), writes(other));
        (self.read_all && !b.is_empty()) || (other.read_all && !a.is_empty()) || !a.is_disjoint(&b)
    }
}

/// Which shards take part, and what each does.
pub fn plan(op: &BankOp, nodes: usize) -> BTreeMap<NodeId, ShardWork> {
    let mut plan: BTreeMap<NodeId, ShardWork> = BTreeMap::new();
    match *op {
        BankOp::Transfer { from, to, amount } => {
            plan.entry(shard_of(from, nodes)).or_default().deltas.push((from, -amount));
            plan.entry(shard_of(to, nodes)).or_default().deltas.push((to, amount));
        }
        BankOp::Read => {
            for n in 0..nodes {
                plan.insert(n, ShardWork { deltas: Vec::new(), read_all: true });
            }
        }
    }
    plan
}

/// Assembles a whole-bank read from the shards' parts: the list of
/// balances, element `i` being account `i`, up to the highest account any
/// shard holds (untouched accounts are 0).
pub fn assemble_read(parts: &[Vec<(usize, i64)>]) -> Value {
    let max = parts.iter().flatten().map(|p| p.0).max();
    let mut balances = vec![Value::Int(0); max.map_or(0, |m| m + 1)];
    for &(a, b) in parts.iter().flatten() {
        balances[a] = Value::Int(b);
    }
    Value::List(balances)
}

/// Every shard's decision per transaction, recorded as it is made. Shared
/// by the nodes of one run (it survives their crashes); the protocol never
/// reads it back, so it cannot influence the run.
#[derive(Debug, Default)]
pub struct DecisionLog {
    inner: Mutex<DecisionLogInner>,
}

#[derive(Debug, Default, Clone)]
pub struct DecisionLogInner {
    /// (txn, shard) -> every decision the shard took for it, in order (more
    /// than one only if a shard contradicts itself).
    pub decisions: BTreeMap<TxnId, BTreeMap<NodeId, Vec<Decision>>>,
    /// Each coordinator's decision (what it told the client).
    pub coordinator: BTreeMap<TxnId, Decision>,
    /// How long each yes-voting shard waited for a decision (local ns).
    pub in_doubt_ns: Vec<i64>,
}

/// A transaction on which shards disagree.
#[derive(Clone, Debug, PartialEq)]
pub struct Disagreement {
    pub txn: TxnId,
    /// Shards' decisions.
    pub decisions: BTreeMap<NodeId, Vec<Decision>>,
    pub coordinator: Option<Decision>,
}

impl DecisionLog {
    pub fn record(&self, txn: TxnId, shard: NodeId, d: Decision) {
        if let Ok(mut g) = self.inner.lock() {
            g.decisions.entry(txn).or_default().entry(shard).or_default().push(d);
        }
    }

    pub fn record_coordinator(&self, txn: TxnId, d: Decision) {
        if let Ok(mut g) = self.inner.lock() {
            g.coordinator.insert(txn, d);
        }
    }

    pub fn record_in_doubt(&self, ns: i64) {
        if let Ok(mut g) = self.inner.lock() {
            g.in_doubt_ns.push(ns);
        }
    }

    pub fn snapshot(&self) -> DecisionLogInner {
        self.inner.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Transactions where the shards and the coordinator did not all
    /// decide alike (atomicity broken).
    pub fn disagreements(&self) -> Vec<Disagreement> {
        let snap = self.snapshot();
        snap.decisions
            .into_iter()
            .filter_map(|(txn, decisions)| {
                let coordinator = snap.coordinator.get(&txn).copied();
                let mut all: BTreeSet<Decision> = decisions.values().flatten().copied().collect();
                all.extend(coordinator);
                (all.len() > 1).then_some(Disagreement { txn, decisions, coordinator })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_and_conflicts() {
        let p = plan(&BankOp::Transfer { from: 1, to: 4, amount: 3 }, 3);
        assert_eq!(p[&1].deltas, vec![(1, -3), (4, 3)]);
        assert_eq!(p.len(), 1);
        let p = plan(&BankOp::Transfer { from: 0, to: 2, amount: 3 }, 3);
        assert_eq!(p.len(), 2);
        assert!(p[&0].conflicts(&ShardWork { deltas: vec![(0, 1)], read_all: false }));
        assert!(!p[&0].conflicts(&ShardWork { deltas: vec![(3, 1)], read_all: false }));
        let read = ShardWork { deltas: vec![], read_all: true };
        assert!(read.conflicts(&p[&0]) && p[&0].conflicts(&read));
        assert!(!read.conflicts(&read.clone()));
        assert_eq!(plan(&BankOp::Read, 3).len(), 3);
    }

    #[test]
    fn parses_and_assembles() {
        let t = Value::map(vec![("from".into(), 0.into()), ("to".into(), 1.into()), ("amount".into(), 2.into())]);
        assert_eq!(BankOp::parse(&F::Transfer, &None, &t), Ok(BankOp::Transfer { from: 0, to: 1, amount: 2 }));
        assert!(BankOp::parse(&F::Transfer, &Some(1.into()), &t).is_err());
        assert!(BankOp::parse(&F::Write, &None, &t).is_err());
        let v = assemble_read(&[vec![(0, -2), (2, 5)], vec![(1, -3)]]);
        assert_eq!(v, Value::List(vec![(-2).into(), (-3).into(), 5.into()]));
        assert_eq!(assemble_read(&[]), Value::List(vec![]));
    }

    #[test]
    fn finds_disagreements() {
        let log = DecisionLog::default();
        let t1 = TxnId { coord: 0, seq: 1 };
        let t2 = TxnId { coord: 0, seq: 2 };
        log.record(t1, 1, Decision::Commit);
        log.record(t1, 2, Decision::Commit);
        log.record(t2, 1, Decision::Commit);
        log.record(t2, 2, Decision::Abort);
        let d = log.disagreements();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].txn, t2);
        // A single shard that contradicts its coordinator.
        let t3 = TxnId { coord: 1, seq: 1 };
        log.record(t3, 2, Decision::Abort);
        log.record_coordinator(t3, Decision::Commit);
        log.record_coordinator(t1, Decision::Commit);
        let d = log.disagreements();
        assert_eq!(d.iter().map(|x| x.txn).collect::<Vec<_>>(), vec![t2, t3]);
        assert_eq!(d[1].coordinator, Some(Decision::Commit));
    }
}
