//! Convergence by its definition: once faults heal, the final reads (ops
//! marked `final`) of one key all return the same state, and that state
//! holds every acknowledged write: each acknowledged append or add is in it,
//! a counter's total is at least the initial total plus every acknowledged
//! increment, and a register does not still hold its initial value when
//! writes were acknowledged and none of them wrote that value. Under
//! `Nil::Unknown` a read of nil says nothing and is left out.

use super::hist::{Op, Outcome, F, V};
use super::lin::{Model, Nil};

/// `None` when the key has no informative final read (conch: unknown).
pub fn converged(ops: &[&Op], model: Model, nil: Nil, initial: &V) -> Option<bool> {
    let finals: Vec<&Op> = ops
        .iter()
        .copied()
        .filter(|o| o.is_final && o.outcome == Outcome::Ok && o.f.is_read())
        .filter(|o| !(nil == Nil::Unknown && o.output.is_nil()))
        .collect();
    if finals.is_empty() {
        return None;
    }
    let state = |o: &Op| -> V {
        match (model, &o.output) {
            (Model::Set, V::List(xs)) => {
                let mut xs: Vec<V> = xs.iter().map(V::canon).collect();
                xs.sort();
                xs.dedup();
                V::List(xs)
            }
            (Model::Set | Model::ListAppend, V::Nil) => V::List(Vec::new()),
            (Model::Counter, V::Nil) => V::Int(0),
            (_, v) => v.canon(),
        }
    };
    let states: Vec<V> = finals.iter().map(|o| state(o)).collect();
    if states.iter().any(|s| *s != states[0]) {
        return Some(false);
    }
    let fin = &states[0];
    let acked = |f: F| ops.iter().copied().filter(move |o| o.f == f && o.outcome == Outcome::Ok);
    let holds = match model {
        Model::ListAppend | Model::Set => {
            let f = if model == Model::Set { F::Add } else { F::Append };
            let V::List(xs) = fin else { return Some(false) };
            acked(f).all(|w| xs.contains(&w.input.canon()))
        }
        Model::Counter => {
            let base = match initial {
                V::Int(i) => *i,
                _ => 0,
            };
            let sum: i64 = acked(F::Incr).map(|o| if let V::Int(d) = o.input { d } else { 0 }).sum();
            matches!(fin, V::Int(t) if *t >= base + sum)
        }
        Model::Register | Model::CasRegister => {
            let wrote = |o: &Op| match (o.f, &o.input) {
                (F::Write, v) => Some(v.canon()),
                (F::Cas, V::List(ab)) => Some(ab[1].canon()),
                _ => None,
            };
            let any_acked = ops.iter().any(|o| o.outcome == Outcome::Ok && wrote(o).is_some());
            let someone_wrote_it = ops.iter().any(|o| o.outcome != Outcome::Fail && wrote(o).as_ref() == Some(fin));
            !(any_acked && *fin == initial.canon() && !someone_wrote_it)
        }
        _ => panic!("convergence is for register, list, set and counter keys"),
    };
    Some(holds)
}
