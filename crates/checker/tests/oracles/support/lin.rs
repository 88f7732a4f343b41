//! Brute-force linearizability, from the definition alone: a key's history
//! is linearizable iff some total order of all its ok ops plus any subset of
//! its info (and pending) ops, never its fail ops, respects real time (`a`
//! before `b` when `a` returned before `b` was invoked; an info op never
//! returned) and is legal for the sequential object started in its initial
//! state. Depth-first over "which op takes effect next", memoised on
//! (ops placed, state), which loses no order: the future of a search depends
//! on nothing else.

use super::hist::{Hist, Op, Outcome, F, V};
use std::collections::{BTreeMap, HashSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    Register,
    CasRegister,
    /// Porcupine's kv: one string per key, initially `""`; get returns it,
    /// put replaces it, append concatenates. A missing key and `""` are the
    /// same state.
    Kv,
    Set,
    Counter,
    ListAppend,
    /// A FIFO queue: enqueue x; dequeue returns the head, or nil when empty.
    Queue,
    /// A lock: acquire when free, release when held.
    Mutex,
    /// Registers named by key, read and written by transactions; the whole
    /// history is one object.
    MultiRegister,
}

/// What an ok read of nil means (docs/history-format.md, "Reads of nil").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nil {
    /// Knossos: nil means "not known": always legal.
    Unknown,
    /// nil means the object is absent: legal only in the empty state.
    Absent,
}

impl Model {
    /// The state of an object nobody has written.
    pub fn empty(self) -> V {
        match self {
            Model::Register | Model::CasRegister => V::Nil,
            Model::Kv => V::s(""),
            Model::Set | Model::ListAppend => V::List(Vec::new()),
            Model::Counter => V::Int(0),
            Model::Queue => V::List(Vec::new()),
            Model::Mutex => V::Bool(false),
            Model::MultiRegister => V::Map(Vec::new()),
        }
    }

    /// `s` as the oracle stores it: sets sorted and deduplicated, maps in
    /// canonical order, so equal states hash equal.
    fn norm(self, v: &V) -> V {
        match (self, v) {
            (Model::Set, V::List(xs)) => {
                let mut xs: Vec<V> = xs.iter().map(V::canon).collect();
                xs.sort();
                xs.dedup();
                V::List(xs)
            }
            // A register holding nil is one nobody wrote.
            (Model::MultiRegister, V::Map(es)) => {
                V::Map(es.iter().filter(|(_, x)| !x.is_nil()).cloned().collect::<Vec<_>>()).canon()
            }
            _ => v.canon(),
        }
    }

    /// The op applied to `s`: the next state, or `None` if illegal there.
    pub fn step(self, nil: Nil, s: &V, op: &Op) -> Option<V> {
        match op.f {
            F::Read | F::Get => {
                if op.outcome != Outcome::Ok {
                    return Some(s.clone()); // result unknown: any state
                }
                let out = &op.output;
                let legal = match (out, nil) {
                    (V::Nil, Nil::Unknown) => true,
                    (V::Nil, Nil::Absent) => *s == self.empty(),
                    _ => self.norm(out) == *s,
                };
                legal.then(|| s.clone())
            }
            F::Write | F::Put => Some(op.input.canon()),
            F::Cas => {
                let V::List(ab) = &op.input else { return None };
                (ab[0].canon() == *s).then(|| ab[1].canon())
            }
            F::Append => match (self, s, &op.input) {
                (Model::Kv, V::Str(a), V::Str(b)) => Some(V::Str(format!("{a}{b}"))),
                (Model::ListAppend, V::List(xs), x) => {
                    let mut xs = xs.clone();
                    xs.push(x.canon());
                    Some(V::List(xs))
                }
                _ => None,
            },
            F::Add => {
                let V::List(xs) = s else { return None };
                let mut xs = xs.clone();
                xs.push(op.input.canon());
                Some(self.norm(&V::List(xs)))
            }
            F::Incr => match (s, &op.input) {
                (V::Int(a), V::Int(b)) => Some(V::Int(a + b)),
                _ => None,
            },
            F::Enqueue => {
                let V::List(xs) = s else { return None };
                let mut xs = xs.clone();
                xs.push(op.input.canon());
                Some(V::List(xs))
            }
            F::Dequeue => {
                let V::List(xs) = s else { return None };
                match (op.outcome == Outcome::Ok, xs.first()) {
                    // Not known what it returned: it took the head, if any.
                    (false, None) => Some(s.clone()),
                    (false, Some(_)) => Some(V::List(xs[1..].to_vec())),
                    (true, None) => op.output.is_nil().then(|| s.clone()),
                    (true, Some(head)) => (op.output.canon() == *head).then(|| V::List(xs[1..].to_vec())),
                }
            }
            F::Acquire => (*s == V::Bool(false)).then_some(V::Bool(true)),
            F::Release => (*s == V::Bool(true)).then_some(V::Bool(false)),
            F::Txn => {
                let V::Map(es) = s else { return None };
                let mut regs: BTreeMap<String, V> = es.iter().cloned().collect();
                let ok = op.outcome == Outcome::Ok;
                let V::List(micro) = (if ok { &op.output } else { &op.input }) else { return None };
                for m in micro {
                    let V::List(parts) = m else { return None };
                    let [V::Str(f), V::Str(k), v] = parts.as_slice() else { return None };
                    let cur = regs.get(k).cloned().unwrap_or(V::Nil);
                    match f.as_str() {
                        "r" if ok => {
                            let legal = match (v, nil) {
                                (V::Nil, Nil::Unknown) => true,
                                _ => v.canon() == cur,
                            };
                            if !legal {
                                return None;
                            }
                        }
                        "r" => {}
                        "w" => {
                            regs.insert(k.clone(), v.canon());
                        }
                        _ => return None,
                    }
                }
                Some(self.norm(&V::Map(regs.into_iter().collect())))
            }
        }
    }
}

/// Whether one object's ops are linearizable from `init`.
pub fn linearizable_ops(ops: &[&Op], model: Model, nil: Nil, init: &V) -> bool {
    let ops: Vec<&Op> = ops.iter().copied().filter(|o| o.outcome != Outcome::Fail).collect();
    assert!(ops.len() <= 32, "the oracle is for small histories");
    let all_ok: u32 = ops.iter().enumerate().filter(|(_, o)| o.outcome == Outcome::Ok).map(|(i, _)| 1 << i).sum();
    let mut failed: HashSet<(u32, V)> = HashSet::new();
    dfs(&ops, model, nil, all_ok, 0, model.norm(init), &mut failed)
}

fn dfs(ops: &[&Op], model: Model, nil: Nil, all_ok: u32, placed: u32, s: V, failed: &mut HashSet<(u32, V)>) -> bool {
    if placed & all_ok == all_ok {
        return true;
    }
    if failed.contains(&(placed, s.clone())) {
        return false;
    }
    for (i, op) in ops.iter().enumerate() {
        if placed & (1 << i) != 0 {
            continue;
        }
        // `op` may take effect next only if no ok op still waiting returned
        // before it was invoked.
        let blocked = ops
            .iter()
            .enumerate()
            .any(|(j, o)| j != i && placed & (1 << j) == 0 && o.outcome == Outcome::Ok && o.ret < op.call);
        if blocked {
            continue;
        }
        if let Some(next) = model.step(nil, &s, op) {
            if dfs(ops, model, nil, all_ok, placed | (1 << i), next, failed) {
                return true;
            }
        }
    }
    failed.insert((placed, s));
    false
}

/// Per key: whether that key's ops are linearizable. Every key starts in
/// `initial` (the model's empty state when `None`).
pub fn linearizable(h: &Hist, model: Model, nil: Nil, initial: Option<&V>) -> BTreeMap<Option<V>, bool> {
    let init = initial.cloned().unwrap_or_else(|| model.empty());
    h.by_key().into_iter().map(|(k, ops)| (k, linearizable_ops(&ops, model, nil, &init))).collect()
}
