//! The definitions again, as naively as possible, for tiny histories: no
//! pruning, no shared preprocessing, every order and every choice spelled
//! out. Tests compare the oracle's searches with these.

use super::history::{Mop, Observed, TxnHistory, TxnOutcome, Val};
use super::Model;
use std::collections::BTreeMap;

type State = BTreeMap<u64, Vec<Val>>;

/// Runs `t`'s micro-ops on `snapshot`: `None` if a read disagrees, else the
/// keys it wrote with what it wrote to each, in order.
fn replay(h: &TxnHistory, t: usize, snapshot: &State) -> Option<Vec<(u64, Vec<Val>)>> {
    let mut local = snapshot.clone();
    let mut writes: Vec<(u64, Vec<Val>)> = Vec::new();
    for m in &h.txns[t].mops {
        match m {
            Mop::Append(k, v) | Mop::Write(k, v) => {
                let e = local.entry(*k).or_default();
                if matches!(m, Mop::Write(..)) {
                    e.clear();
                }
                e.push(*v);
                match writes.iter_mut().find(|(wk, _)| wk == k) {
                    Some((_, vs)) => vs.push(*v),
                    None => writes.push((*k, vec![*v])),
                }
            }
            Mop::Read(k, o) => {
                let have = local.get(k).cloned().unwrap_or_default();
                let ok = match o {
                    Observed::Unknown => true,
                    Observed::List(l) => *l == have,
                    Observed::Reg(r) => r.iter().copied().collect::<Vec<_>>() == have,
                };
                if !ok {
                    return None;
                }
            }
        }
    }
    Some(writes)
}

/// Installs a transaction's writes on `state`.
fn install(h: &TxnHistory, state: &mut State, writes: &[(u64, Vec<Val>)]) {
    for (k, vs) in writes {
        let e = state.entry(*k).or_default();
        match h.workload {
            super::Workload::ListAppend => e.extend(vs),
            super::Workload::RwRegister => *e = vec![*vs.last().unwrap()],
        }
    }
}

/// Every set of transactions that may have committed: the ok ones and each
/// subset of the info ones.
fn committed_sets(h: &TxnHistory) -> Vec<Vec<usize>> {
    let ok: Vec<usize> = (0..h.txns.len()).filter(|&t| h.txns[t].outcome == TxnOutcome::Ok).collect();
    let info: Vec<usize> = (0..h.txns.len()).filter(|&t| h.txns[t].outcome == TxnOutcome::Info).collect();
    (0..1u32 << info.len())
        .map(|m| {
            let mut s = ok.clone();
            s.extend(info.iter().enumerate().filter(|(i, _)| m & (1 << i) != 0).map(|(_, &t)| t));
            s
        })
        .collect()
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.is_empty() {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x);
            out.push(p);
        }
    }
    out
}

/// `a` must be seen by `b` under the model: `a` completed before `b` was
/// invoked (strong), or also ran in `b`'s process (session).
fn must_see(h: &TxnHistory, model: Model, a: usize, b: usize) -> bool {
    let (ta, tb) = (&h.txns[a], &h.txns[b]);
    let before = ta.outcome == TxnOutcome::Ok && ta.complete_at.is_some_and(|c| c < tb.invoke_at);
    match model {
        Model::StrictSerializable | Model::StrongSnapshotIsolation => before,
        Model::StrongSessionSerializable | Model::StrongSessionSnapshotIsolation => before && ta.process == tb.process,
        _ => false,
    }
}

/// Serializable, strict or strong-session: some order of some committed set,
/// respecting what must be seen, replays every read.
pub(crate) fn serial(h: &TxnHistory, model: Model) -> bool {
    committed_sets(h).iter().any(|set| {
        permutations(set).iter().any(|order| {
            let respects =
                order.iter().enumerate().all(|(i, &b)| order[i + 1..].iter().all(|&a| !must_see(h, model, a, b)));
            let mut state = State::new();
            respects
                && order.iter().all(|&t| match replay(h, t, &state) {
                    Some(w) => {
                        install(h, &mut state, &w);
                        true
                    }
                    None => false,
                })
        })
    })
}

/// Every sequence of start and commit events, each start before its commit.
fn event_orders(set: &[usize]) -> Vec<Vec<(usize, bool)>> {
    fn go(left: &mut Vec<(usize, u8)>, cur: &mut Vec<(usize, bool)>, out: &mut Vec<Vec<(usize, bool)>>) {
        if left.iter().all(|(_, s)| *s == 2) {
            out.push(cur.clone());
            return;
        }
        for i in 0..left.len() {
            let (t, s) = left[i];
            if s < 2 {
                left[i].1 += 1;
                cur.push((t, s == 1));
                go(left, cur, out);
                cur.pop();
                left[i].1 -= 1;
            }
        }
    }
    let mut out = Vec::new();
    go(&mut set.iter().map(|&t| (t, 0)).collect(), &mut Vec::new(), &mut out);
    out
}

/// Snapshot isolation (and its strong and strong-session forms), by
/// Berenson et al.: a start and a commit event per transaction; reads from
/// the state committed at the start plus own writes; two transactions that
/// write a common key do not overlap; what must be seen committed before
/// the start.
pub(crate) fn snapshot(h: &TxnHistory, model: Model) -> bool {
    let writes_of =
        |t: usize| -> Vec<u64> { h.txns[t].mops.iter().filter(|m| m.is_write()).map(|m| m.key()).collect() };
    committed_sets(h).iter().any(|set| {
        event_orders(set).iter().any(|events| {
            let at = |t: usize, commit: bool| events.iter().position(|&e| e == (t, commit)).unwrap();
            for &a in set {
                for &b in set {
                    if a == b {
                        continue;
                    }
                    let overlap = at(a, false) < at(b, true) && at(b, false) < at(a, true);
                    if overlap && writes_of(a).iter().any(|k| writes_of(b).contains(k)) {
                        return false;
                    }
                    if must_see(h, model, a, b) && at(a, true) > at(b, false) {
                        return false;
                    }
                }
            }
            let mut state = State::new();
            let mut snaps: BTreeMap<usize, State> = BTreeMap::new();
            for &(t, commit) in events {
                if !commit {
                    snaps.insert(t, state.clone());
                } else {
                    match replay(h, t, &snaps[&t]) {
                        Some(w) => install(h, &mut state, &w),
                        None => return false,
                    }
                }
            }
            true
        })
    })
}

/// Read atomic or causal, by Cerone et al.: some arbitration order of some
/// committed set and some visibility within it (transitive for causal)
/// under which each transaction, reading the version of each key's
/// arbitration-last visible writer, replays its reads.
pub(crate) fn atomic_visibility(h: &TxnHistory, causal: bool) -> bool {
    committed_sets(h).iter().any(|set| {
        permutations(set).iter().any(|order| {
            // The version each writer installs, in arbitration order.
            let mut state = State::new();
            let mut version: BTreeMap<(usize, u64), Vec<Val>> = BTreeMap::new();
            for &t in order {
                let w = replay_writes(h, t);
                install(h, &mut state, &w);
                for (k, _) in &w {
                    version.insert((t, *k), state[k].clone());
                }
            }
            // Each transaction picks any subset of its predecessors.
            let n = order.len();
            let choices: u64 = (0..n).map(|i| 1u64 << i).product();
            (0..choices).any(|c| {
                let mut vis: Vec<Vec<usize>> = Vec::new();
                let mut rest = c;
                for i in 0..n {
                    let pick = rest % (1 << i);
                    rest /= 1 << i;
                    vis.push((0..i).filter(|j| pick & (1 << j) != 0).map(|j| order[j]).collect());
                }
                if causal {
                    // Transitive: whatever a visible transaction saw is visible.
                    for i in 0..n {
                        for &u in &vis[i] {
                            let j = order.iter().position(|&x| x == u).unwrap();
                            if !vis[j].iter().all(|x| vis[i].contains(x)) {
                                return false;
                            }
                        }
                    }
                }
                (0..n).all(|i| {
                    let mut snap = State::new();
                    for &w in order[..i].iter().filter(|w| vis[i].contains(w)) {
                        for (k, _) in replay_writes(h, w) {
                            snap.insert(k, version[&(w, k)].clone());
                        }
                    }
                    replay(h, order[i], &snap).is_some()
                })
            })
        })
    })
}

/// A transaction's writes, whatever it read.
fn replay_writes(h: &TxnHistory, t: usize) -> Vec<(u64, Vec<Val>)> {
    let mut writes: Vec<(u64, Vec<Val>)> = Vec::new();
    for m in &h.txns[t].mops {
        if let Mop::Append(k, v) | Mop::Write(k, v) = m {
            match writes.iter_mut().find(|(wk, _)| wk == k) {
                Some((_, vs)) => vs.push(*v),
                None => writes.push((*k, vec![*v])),
            }
        }
    }
    writes
}
