//! Assumptions about each key on its own (Elle's `:linearizable-keys?` and
//! `:sequential-keys?`, rw-register), as constraints on the executions the
//! searches may pick, derived from the definitions.
//!
//! A key is *linearizable* when its micro-ops, each taking effect at one
//! instant inside its transaction's interval (invoke to completion; an
//! info transaction's never ends), form a linearizable register. Then if
//! `a` completed before `b` was invoked, every micro-op of `a` on the key
//! takes effect before every one of `b`, so every version `a` read or
//! installed on the key precedes, or is, every version `b` read or
//! installed (versions advance along the version order, values being
//! unique). A key is *sequential* when the same holds with "completed
//! before invoked" replaced by "earlier in the same process".
//!
//! As constraints on a version order, between versions of committed
//! transactions (nil, the initial version, first): `before ≤ after`. A
//! value that is no committed version (garbage, an aborted or an
//! intermediate write) constrains nothing: its read is an anomaly of its
//! own. `after = nil` with `before` a version is unsatisfiable once
//! `before`'s writer commits.

use super::history::{Mop, Observed, TxnOutcome};
use super::prep::{bits, Mask, Prep};

/// Which key assumptions hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyOrder {
    pub linearizable_keys: bool,
    pub sequential_keys: bool,
}

impl KeyOrder {
    pub const NONE: KeyOrder = KeyOrder { linearizable_keys: false, sequential_keys: false };
}

/// On one key: the version installed by `before` precedes the one
/// installed by `after` (`None`: the initial nil). `why` names the pair of
/// transactions that imply it.
#[derive(Clone, Debug)]
pub(crate) struct Precede {
    pub key: usize,
    pub before: usize,
    pub after: Option<usize>,
    pub why: String,
}

/// The committed version a register value of dense key `k` names: `None`
/// for nil, `Some(writer)` for a final write of a transaction that did not
/// fail; no version (outer `None`) otherwise.
fn version(p: &Prep, k: usize, v: Option<u64>) -> Option<Option<usize>> {
    let Some(v) = v else { return Some(None) };
    let w = p.writer.get(&(k, v))?;
    (w.last && p.outcome[w.txn] != TxnOutcome::Fail).then_some(Some(w.txn))
}

/// Every version `t` read (ok only) or installed on dense key `k`. As
/// everywhere in this oracle (Adya's reads), a read after the
/// transaction's own write to the key counts only for internal
/// consistency, not as a read of a version.
fn touched(p: &Prep, t: usize, k: usize, dense: &dyn Fn(u64) -> usize) -> Vec<Option<usize>> {
    let mut out = Vec::new();
    let mut wrote = false;
    for m in &p.h.txns[t].mops {
        if dense(m.key()) != k {
            continue;
        }
        let v = match m {
            Mop::Read(_, Observed::Reg(r)) if p.outcome[t] == TxnOutcome::Ok && !wrote => version(p, k, *r),
            Mop::Write(_, v) => {
                wrote = true;
                version(p, k, Some(*v))
            }
            _ => None,
        };
        if let Some(v) = v {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// The constraints `order` implies on `p`'s rw-register history (none for
/// list-append, whose reads give the version order).
pub(crate) fn constraints(p: &Prep, order: KeyOrder) -> Vec<Precede> {
    let mut out = Vec::new();
    if p.workload != super::history::Workload::RwRegister || order == KeyOrder::NONE {
        return out;
    }
    let dense = |key: u64| p.keys.iter().position(|&x| x == key).expect("a dense key");
    for b in 0..p.n {
        if p.outcome[b] == TxnOutcome::Fail {
            continue;
        }
        let mut preds: Mask = 0;
        if order.linearizable_keys {
            preds |= p.rt_pred[b];
        }
        if order.sequential_keys {
            preds |= p.po_pred[b];
        }
        for a in bits(preds) {
            let how = if p.rt_pred[b] & (1 << a) != 0 && order.linearizable_keys {
                format!("T{a} completed before T{b} began (linearizable keys)")
            } else {
                format!("T{a} precedes T{b} in their process (sequential keys)")
            };
            for k in 0..p.keys.len() {
                let va = touched(p, a, k, &dense);
                let vb = touched(p, b, k, &dense);
                for &x in &va {
                    let Some(x) = x else { continue };
                    for &y in &vb {
                        if Some(x) != y {
                            out.push(Precede {
                                key: k,
                                before: x,
                                after: y,
                                why: format!("on key {}: {how}", p.key_name(k)),
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// Why placing `t` next in a version order (after the writers in
/// `placed`) breaks a constraint: one whose `after` is already placed
/// while `t` is its `before`, or whose `after` is nil.
pub(crate) fn breaks(cs: &[Precede], t: usize, placed: Mask) -> Option<&Precede> {
    cs.iter().find(|c| c.before == t && c.after.is_none_or(|y| placed & (1 << y) != 0))
}
