//! A brute-force linearizability oracle for tiny histories: tries every
//! order of the ops that respects real time, leaving out any subset of the
//! info ops, with no memoisation and no pruning beyond model legality. Slow
//! (exponential) and plainly correct, it is what the real search is tested
//! against. Meant for histories of at most about 8 ops.

use crate::history::{History, OpId, Outcome};
use crate::model::Model;

/// Whether the ops (one object's) are linearizable under `model`. `fail`
/// ops are ignored; `ok` ops must all be placed; `info` ops may be placed
/// anywhere after their invoke, or left out.
pub fn brute_force<M: Model>(history: &History, ops: &[OpId], model: &M) -> bool {
    let ops: Vec<&crate::history::Op> =
        ops.iter().map(|&id| history.op(id)).filter(|op| op.outcome != Outcome::Fail).collect();
    let mut used = vec![false; ops.len()];
    place(&ops, &mut used, &model.init(), model)
}

fn place<M: Model>(ops: &[&crate::history::Op], used: &mut [bool], state: &M::State, model: &M) -> bool {
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
