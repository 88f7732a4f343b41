//! What both searches need from a history, computed once: dense keys, each
//! transaction's writes per key, who wrote each value, the external value
//! each transaction's reads require, its external and internal reads, and
//! the real-time and process orders.

use super::history::{Key, Mop, Observed, TxnHistory, TxnOutcome, Val, Workload};
use super::{OracleError, MAX_INFO_TXNS, MAX_MAYBE_COMMITTED_TXNS, MAX_MOPS_PER_TXN, MAX_TXNS};
use std::collections::{BTreeMap, HashMap};

/// A set of transactions, bit `t` for transaction `t` (at most [`MAX_TXNS`]).
pub(crate) type Mask = u32;

pub(crate) fn bits(m: Mask) -> impl Iterator<Item = usize> {
    (0..32).filter(move |i| m & (1 << i) != 0)
}

/// A transaction's reads contradict each other or its own writes (Cerone's
/// INT axiom; Elle's `internal`).
#[derive(Clone, Debug)]
pub(crate) struct IntViolation {
    pub mop: usize,
    /// What the read should have returned given the transaction's earlier
    /// micro-ops on the key (`None` for a list read that does not end with
    /// the transaction's own appends).
    pub expected: Option<Vec<Val>>,
}

/// A read that precedes every write of its transaction to its key: Adya's
/// reads, which the dependency graph is built from.
#[derive(Clone, Debug)]
pub(crate) struct ExtRead {
    pub txn: usize,
    pub key: usize,
    pub mop: usize,
    /// The list (list-append) or `[v]` / `[]` (register).
    pub value: Vec<Val>,
}

/// A read that follows a write of its transaction to its key.
#[derive(Clone, Debug)]
pub(crate) struct IntRead {
    pub txn: usize,
    pub key: usize,
    pub mop: usize,
    /// How many of the transaction's appends to the key precede the read.
    pub own_before: usize,
    pub value: Vec<Val>,
}

/// The external value of each key a transaction reads: (dense key, value).
pub(crate) type ExtView = Vec<(usize, Vec<Val>)>;

/// Who wrote a value to a key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Writer {
    pub txn: usize,
    /// The transaction's last write to the key (not an intermediate one).
    pub last: bool,
}

pub(crate) struct Prep<'h> {
    pub h: &'h TxnHistory,
    pub n: usize,
    pub workload: Workload,
    pub outcome: Vec<TxnOutcome>,
    /// Dense key index -> the history's key.
    pub keys: Vec<Key>,
    /// Per transaction, per dense key it writes (ascending): the values in order.
    pub writes: Vec<Vec<(usize, Vec<Val>)>>,
    /// Per transaction: the dense keys it writes, as a bit set.
    pub write_keys: Vec<u64>,
    pub writer: HashMap<(usize, Val), Writer>,
    /// Per transaction: the external value of each key it reads, which its
    /// reads and own writes together imply, or why they contradict.
    pub ext: Vec<Result<ExtView, IntViolation>>,
    pub ext_reads: Vec<ExtRead>,
    pub int_reads: Vec<IntRead>,
    /// Per transaction: the ok transactions that complete before it is invoked.
    pub rt_pred: Vec<Mask>,
    /// Per transaction: the ok transactions of its process invoked before it.
    pub po_pred: Vec<Mask>,
    pub ok: Mask,
    pub info: Mask,
    /// Version-order constraints from key assumptions (`keys`), if any.
    pub key_order: Vec<super::keys::Precede>,
}

/// Every value `mops` write to dense key `k`.
fn written_by(mops: &[Mop], k: usize, dense: &BTreeMap<Key, usize>) -> Vec<Val> {
    mops.iter()
        .filter_map(|m| match m {
            Mop::Append(key, v) | Mop::Write(key, v) if dense[key] == k => Some(*v),
            _ => None,
        })
        .collect()
}

/// A read's value as a list: register reads are `[v]` or `[]` (nil).
fn as_list(o: &Observed) -> Option<Vec<Val>> {
    match o {
        Observed::Unknown => None,
        Observed::List(l) => Some(l.clone()),
        Observed::Reg(r) => Some(r.iter().copied().collect()),
    }
}

/// The version a writer installs on top of `prev`: the list with its appends
/// (list-append), or `[last value]` (register).
pub(crate) fn install(workload: Workload, prev: &[Val], writes: &[Val]) -> Vec<Val> {
    match workload {
        Workload::ListAppend => prev.iter().chain(writes).copied().collect(),
        Workload::RwRegister => writes.last().map(|&v| vec![v]).unwrap_or_else(|| prev.to_vec()),
    }
}

impl<'h> Prep<'h> {
    /// What the searches need, with the version-order constraints the key
    /// assumptions `order` imply.
    pub fn assuming(h: &'h TxnHistory, order: super::keys::KeyOrder) -> Result<Prep<'h>, OracleError> {
        h.validate().map_err(OracleError::Invalid)?;
        let n = h.txns.len();
        let too_large = |what, found, limit| Err(OracleError::TooLarge { what, found, limit });
        if n > MAX_TXNS {
            return too_large("transactions", n, MAX_TXNS);
        }
        let maybe = h.txns.iter().filter(|t| t.outcome != TxnOutcome::Fail).count();
        if maybe > MAX_MAYBE_COMMITTED_TXNS {
            return too_large("ok and info transactions", maybe, MAX_MAYBE_COMMITTED_TXNS);
        }
        let info = h.txns.iter().filter(|t| t.outcome == TxnOutcome::Info).count();
        if info > MAX_INFO_TXNS {
            return too_large("info transactions", info, MAX_INFO_TXNS);
        }
        if let Some(t) = h.txns.iter().find(|t| t.mops.len() > MAX_MOPS_PER_TXN) {
            return too_large("micro-ops in one transaction", t.mops.len(), MAX_MOPS_PER_TXN);
        }
        let mut dense: BTreeMap<Key, usize> = BTreeMap::new();
        for t in &h.txns {
            for m in &t.mops {
                let next = dense.len();
                dense.entry(m.key()).or_insert(next);
            }
        }
        let mut keys = vec![0; dense.len()];
        for (&k, &i) in &dense {
            keys[i] = k;
        }
        let key = |k: Key| dense[&k];
        let outcome: Vec<TxnOutcome> = h.txns.iter().map(|t| t.outcome).collect();
        let mut writes = Vec::with_capacity(n);
        let mut write_keys = Vec::with_capacity(n);
        let mut writer = HashMap::new();
        for (t, txn) in h.txns.iter().enumerate() {
            let mut per: BTreeMap<usize, Vec<Val>> = BTreeMap::new();
            for m in &txn.mops {
                if let Mop::Append(k, v) | Mop::Write(k, v) = m {
                    per.entry(key(*k)).or_default().push(*v);
                }
            }
            let mut mask = 0u64;
            for (&k, vs) in &per {
                mask |= 1 << k;
                for (i, &v) in vs.iter().enumerate() {
                    writer.insert((k, v), Writer { txn: t, last: i + 1 == vs.len() });
                }
            }
            write_keys.push(mask);
            writes.push(per.into_iter().collect());
        }
        let mut ext = Vec::with_capacity(n);
        let mut ext_reads = Vec::new();
        let mut int_reads = Vec::new();
        for (t, txn) in h.txns.iter().enumerate() {
            // Per key: the external value implied so far, and own writes so far.
            let mut views: BTreeMap<usize, (Option<Vec<Val>>, Vec<Val>)> = BTreeMap::new();
            let mut violation = None;
            for (i, m) in txn.mops.iter().enumerate() {
                let k = key(m.key());
                let (e, own) = views.entry(k).or_default();
                match m {
                    Mop::Append(_, v) | Mop::Write(_, v) => own.push(*v),
                    Mop::Read(_, o) => {
                        let Some(r) = as_list(o) else { continue };
                        if own.is_empty() {
                            ext_reads.push(ExtRead { txn: t, key: k, mop: i, value: r.clone() });
                        } else {
                            int_reads.push(IntRead { txn: t, key: k, mop: i, own_before: own.len(), value: r.clone() });
                        }
                        let expected: Option<Vec<Val>> = match (h.workload, &*e) {
                            (Workload::RwRegister, _) if !own.is_empty() => Some(vec![*own.last().unwrap()]),
                            (Workload::RwRegister, Some(e)) => Some(e.clone()),
                            (Workload::ListAppend, Some(e)) => Some(install(h.workload, e, own)),
                            (_, None) => None,
                        };
                        match expected {
                            Some(x) if x != r => {
                                violation.get_or_insert(IntViolation { mop: i, expected: Some(x) });
                            }
                            Some(_) => {}
                            None => match h.workload {
                                Workload::RwRegister => *e = Some(r),
                                Workload::ListAppend => {
                                    // After its own appends, what the transaction saw
                                    // of others cannot hold its own values.
                                    let base = r.strip_suffix(&own[..]).unwrap_or(&[]);
                                    let mine = written_by(&txn.mops, k, &dense);
                                    let clean = own.is_empty() || !base.iter().any(|v| mine.contains(v));
                                    if r.ends_with(own) && clean {
                                        *e = Some(base.to_vec());
                                    } else {
                                        violation.get_or_insert(IntViolation { mop: i, expected: None });
                                    }
                                }
                            },
                        }
                    }
                }
            }
            ext.push(match violation {
                Some(v) => Err(v),
                None => Ok(views.into_iter().filter_map(|(k, (e, _))| e.map(|e| (k, e))).collect()),
            });
        }
        let mut ok: Mask = 0;
        let mut info: Mask = 0;
        for (t, o) in outcome.iter().enumerate() {
            match o {
                TxnOutcome::Ok => ok |= 1 << t,
                TxnOutcome::Info => info |= 1 << t,
                TxnOutcome::Fail => {}
            }
        }
        let mut rt_pred = vec![0 as Mask; n];
        let mut po_pred = vec![0 as Mask; n];
        for (b, tb) in h.txns.iter().enumerate() {
            for (a, ta) in h.txns.iter().enumerate() {
                if ta.outcome != TxnOutcome::Ok || a == b {
                    continue;
                }
                if ta.complete_at.is_some_and(|c| c < tb.invoke_at) {
                    rt_pred[b] |= 1 << a;
                }
                if ta.process == tb.process && ta.invoke_at < tb.invoke_at {
                    po_pred[b] |= 1 << a;
                }
            }
        }
        let mut p = Prep {
            h,
            n,
            workload: h.workload,
            outcome,
            keys,
            writes,
            write_keys,
            writer,
            ext,
            ext_reads,
            int_reads,
            rt_pred,
            po_pred,
            ok,
            info,
            key_order: Vec::new(),
        };
        p.key_order = super::keys::constraints(&p, order);
        Ok(p)
    }

    /// The values transaction `t` writes to dense key `k` (empty if none).
    pub fn writes_to(&self, t: usize, k: usize) -> &[Val] {
        match self.writes[t].binary_search_by_key(&k, |(k, _)| *k) {
            Ok(i) => &self.writes[t][i].1,
            Err(_) => &[],
        }
    }

    /// The history's name of dense key `k`.
    pub fn key_name(&self, k: usize) -> Key {
        self.keys[k]
    }

    /// `[1 2]` for a list, `1` or `nil` for a register.
    pub fn show(&self, v: &[Val]) -> String {
        match self.workload {
            Workload::ListAppend => {
                let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                format!("[{}]", items.join(" "))
            }
            Workload::RwRegister => v.last().map_or("nil".to_string(), |x| x.to_string()),
        }
    }

    /// `T2's read of key 5 (micro-op 1) = [1 2]`.
    pub fn show_read(&self, t: usize, mop: usize) -> String {
        format!("T{t} micro-op {mop} {}", self.h.txns[t].mops[mop])
    }
}
