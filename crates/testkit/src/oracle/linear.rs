//! A brute-force linearizability oracle for tiny histories: tries every
//! order of the ops that respects real time, leaving out any subset of the
//! info ops, with no memoisation and no pruning beyond model legality. Slow
//! (exponential) and plainly correct, it is what the real search is tested
//! against. Meant for histories of at most about 8 ops.

use checker::history::{History, Op, OpId, Outcome};
use checker::model::{Model, ModelKind, ModelVisitor, NilRead};
use checker::report::Verdict;
use checker::value::Value;

/// Whether the ops (one object's) are linearizable under `model`. `fail`
/// ops are ignored; `ok` ops must all be placed; `info` ops may be placed
/// anywhere after their invoke, or left out.
pub fn brute_force<M: Model>(history: &History, ops: &[OpId], model: &M) -> bool {
    let ops: Vec<&Op> = ops.iter().map(|&id| history.op(id)).filter(|op| op.outcome != Outcome::Fail).collect();
    let mut used = vec![false; ops.len()];
    place(&ops, &mut used, &model.init(), model)
}

fn place<M: Model>(ops: &[&Op], used: &mut [bool], state: &M::State, model: &M) -> bool {
    let all_ok_placed = ops.iter().zip(used.iter()).all(|(op, &u)| u || op.outcome != Outcome::Ok);
    if all_ok_placed {
        return true;
    }
    for i in 0..ops.len() {
        if used[i] {
            continue;
        }
        // Real time: an unplaced ok op that completed before this one was
        // invoked must come first. (Unplaced info ops precede nothing.)
        let blocked =
            ops.iter().zip(used.iter()).any(|(other, &u)| !u && other.outcome == Outcome::Ok && other.precedes(ops[i]));
        if blocked {
            continue;
        }
        if let Some(next) = model.step(state, ops[i]) {
            used[i] = true;
            let found = place(ops, used, &next, model);
            used[i] = false;
            if found {
                return true;
            }
        }
    }
    false
}

/// The objects the checker judges separately: one per key, or the whole
/// history for a model whose ops span keys. Keys in the checker's order.
pub fn objects(history: &History, model: ModelKind) -> Vec<(Option<Value>, Vec<OpId>)> {
    if model.splits_by_key() {
        history.by_key().into_iter().map(|(k, ids)| (k.cloned(), ids)).collect()
    } else {
        vec![(None, history.ops.iter().map(|o| o.id).collect())]
    }
}

/// [`brute_force`] under the model `kind` names.
pub fn linearizable(history: &History, ops: &[OpId], kind: ModelKind, nil_read: NilRead) -> bool {
    struct BruteForce<'a>(&'a History, &'a [OpId]);
    impl ModelVisitor for BruteForce<'_> {
        type Output = bool;
        fn visit<M: Model>(self, model: &M) -> bool {
            brute_force(self.0, self.1, model)
        }
    }
    kind.visit(nil_read, BruteForce(history, ops))
}

/// The verdict the checker must give each object of `history` under
/// `kind`: the oracle's, except that a valid object is unknown when no op of
/// the whole history completed ok (nothing was checked).
pub fn expected(history: &History, kind: ModelKind, nil_read: NilRead) -> Vec<(Option<Value>, Verdict)> {
    let nothing_ok = !history.ops.iter().any(|o| o.outcome == Outcome::Ok);
    objects(history, kind)
        .into_iter()
        .map(|(key, ids)| {
            let v = match linearizable(history, &ids, kind, nil_read) {
                false => Verdict::Invalid,
                true if nothing_ok => Verdict::Unknown,
                true => Verdict::Valid,
            };
            (key, v)
        })
        .collect()
}

/// Whether every object of `history` is linearizable under `kind`.
pub fn history_linearizable(history: &History, kind: ModelKind, nil_read: NilRead) -> bool {
    objects(history, kind).iter().all(|(_, ids)| linearizable(history, ids, kind, nil_read))
}
