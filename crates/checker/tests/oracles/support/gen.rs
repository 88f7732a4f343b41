//! Proptest strategies that build small histories, so a failure shrinks to
//! a few ops: a history is a list of op specs (which process slot, which
//! function, which small value, how it ended, how long it stayed open, and
//! whether a read returned the state at its linearization point, a stale
//! one, or an arbitrary value), turned into events by [`build`].
//!
//! Histories built from "computed" reads only are linearizable; stale and
//! arbitrary reads make the weaker and the broken ones the checks must
//! tell apart.

use super::hist::{Ev, Hist, Op, Outcome, F, V};
use super::lin::{Model, Nil};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct OpSpec {
    pub slot: u8,
    pub f: u8,
    pub a: u8,
    pub b: u8,
    pub outcome: u8,
    pub effect: u8,
    pub read: u8,
    pub delay: u8,
    pub key: u8,
    pub fin: bool,
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub model: Model,
    pub nil: Nil,
    /// Written values are unique per key (the fast paths' precondition).
    pub unique: bool,
    /// Ops carry one of two keys (kv always does).
    pub keyed: bool,
    /// Every key's initial state; `None` is the model's empty state.
    pub initial: Option<V>,
    pub ops: Vec<OpSpec>,
}

/// Knobs for what the generated histories may contain.
#[derive(Clone, Copy, Debug)]
pub struct Knobs {
    /// Register values include a map, read back with its fields permuted.
    pub maps: bool,
    /// Histories start from a non-empty initial state sometimes.
    pub initial: bool,
    /// Most reads are stale (up to four states back) or arbitrary: the
    /// histories of weakly consistent stores, which session checks judge.
    pub weak: bool,
}

fn op_spec() -> impl Strategy<Value = OpSpec> {
    (0..3u8, 0..3u8, 0..5u8, 0..5u8, 0..8u8, 0..3u8, 0..8u8, 0..3u8, 0..2u8, prop::bool::weighted(0.1)).prop_map(
        |(slot, f, a, b, outcome, effect, read, delay, key, fin)| OpSpec {
            slot,
            f,
            a,
            b,
            outcome,
            effect,
            read,
            delay,
            key,
            fin,
        },
    )
}

/// Every model the oracles know.
pub const ALL_MODELS: &[Model] = &[
    Model::Register,
    Model::CasRegister,
    Model::Kv,
    Model::Set,
    Model::Counter,
    Model::ListAppend,
    Model::Queue,
    Model::Mutex,
    Model::MultiRegister,
];
/// The models with session checks of their own (and a session oracle).
pub const SESSION_MODELS: &[Model] = &[Model::Register, Model::CasRegister, Model::ListAppend, Model::Set];
/// The session models and the counter: those with a convergence check.
pub const CONVERGENT_MODELS: &[Model] =
    &[Model::Register, Model::CasRegister, Model::ListAppend, Model::Set, Model::Counter];
pub const REGISTERS: &[Model] = &[Model::Register, Model::CasRegister];

/// A spec of up to `max_ops` ops for one of `models`: shrinks towards the
/// first model.
pub fn spec_of(models: &'static [Model], knobs: Knobs, max_ops: usize) -> impl Strategy<Value = Spec> {
    prop::sample::select(models).prop_flat_map(move |m| spec(m, knobs, max_ops))
}

pub fn spec(model: Model, knobs: Knobs, max_ops: usize) -> impl Strategy<Value = Spec> {
    let initial = if knobs.initial { prop::option::weighted(0.3, 0..4u8).boxed() } else { Just(None).boxed() };
    (any::<bool>(), any::<bool>(), any::<bool>(), initial, prop::collection::vec(op_spec(), 1..=max_ops)).prop_map(
        move |(absent, unique, keyed, init, ops)| Spec {
            model,
            nil: if absent { Nil::Absent } else { Nil::Unknown },
            unique,
            keyed: (keyed || model == Model::Kv) && model != Model::MultiRegister,
            initial: init.map(|i| initial_value(model, i, knobs)),
            ops,
        },
    )
}

fn initial_value(model: Model, i: u8, knobs: Knobs) -> V {
    match model {
        Model::Register | Model::CasRegister => register_value(i % 4 + 1, knobs),
        Model::Kv => V::s(["a", "b", "ab", ""][i as usize % 4]),
        Model::Set | Model::ListAppend => V::List((1..=(i as i64 % 3)).map(|x| V::Int(x + 100)).collect()),
        Model::Counter => V::Int(i as i64),
        Model::Queue => V::List((1..=(i as i64 % 3)).map(|x| V::Int(x + 100)).collect()),
        Model::Mutex => V::Bool(i % 2 == 1),
        Model::MultiRegister => V::Map(match i % 4 {
            0 => vec![("x".into(), V::Int(0)), ("y".into(), V::Int(0))],
            1 => vec![("x".into(), V::Int(0))],
            2 => vec![("y".into(), V::Int(2)), ("x".into(), V::Int(1))],
            _ => vec![("x".into(), V::Nil), ("y".into(), V::Int(0))],
        }),
    }
}

fn register_value(a: u8, knobs: Knobs) -> V {
    match a % 5 {
        0 => V::Nil,
        4 if knobs.maps => V::Map(vec![("a".into(), V::Int(1)), ("b".into(), V::Int(2))]),
        x => V::Int(x as i64),
    }
}

/// The same value with every map's fields in reverse order.
fn permuted(v: &V) -> V {
    match v {
        V::Map(es) => V::Map(es.iter().rev().map(|(k, x)| (k.clone(), permuted(x))).collect()),
        V::List(xs) => V::List(xs.iter().map(permuted).collect()),
        v => v.clone(),
    }
}

fn function(model: Model, f: u8) -> F {
    match (model, f) {
        (_, 0) => match model {
            Model::Kv => F::Get,
            Model::Queue => F::Dequeue,
            Model::Mutex => F::Acquire,
            Model::MultiRegister => F::Txn,
            _ => F::Read,
        },
        (Model::Register, _) => F::Write,
        (Model::CasRegister, 1) => F::Write,
        (Model::CasRegister, _) => F::Cas,
        (Model::Kv, 1) => F::Put,
        (Model::Kv, _) => F::Append,
        (Model::Set, _) => F::Add,
        (Model::Counter, _) => F::Incr,
        (Model::ListAppend, _) => F::Append,
        (Model::Queue, _) => F::Enqueue,
        // Chosen again from the lock's state where the op takes effect.
        (Model::Mutex, 1) => F::Release,
        (Model::Mutex, _) => F::Acquire,
        (Model::MultiRegister, _) => F::Txn,
    }
}

/// Turns a spec into a history: events first (invokes in spec order, each
/// op completing `delay` invokes later or when its process is next used),
/// then values, by running the model over the ops in the order they take
/// effect (an ok op at its invoke or just before its completion; an info op
/// at its invoke, before its completion, or never).
pub fn build(spec: &Spec, knobs: Knobs) -> Hist {
    let n = spec.ops.len();
    let mut ops: Vec<Op> = Vec::with_capacity(n);
    let mut events = Vec::new();
    let mut pid: Vec<u64> = (0..3).collect();
    let mut next_pid = 10;
    let mut open: Vec<Option<(usize, u8)>> = vec![None; 3];
    let last_of_slot: Vec<Option<usize>> = (0..3).map(|s| spec.ops.iter().rposition(|o| o.slot == s)).collect();
    let complete = |i: usize, ops: &mut Vec<Op>, events: &mut Vec<Ev>| {
        if ops[i].outcome != Outcome::Pending {
            events.push(Ev::Complete(i));
            if ops[i].outcome != Outcome::Info {
                ops[i].ret = events.len() - 1;
            }
        }
    };
    let mut info_complete: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, s) in spec.ops.iter().enumerate() {
        let slot = s.slot as usize;
        if let Some((j, _)) = open[slot].take() {
            complete(j, &mut ops, &mut events);
            if ops[j].outcome == Outcome::Info {
                info_complete.insert(j, events.len() - 1);
            }
        }
        let mut outcome = match s.outcome {
            0..=4 => Outcome::Ok,
            5 => Outcome::Info,
            6 => Outcome::Fail,
            _ => Outcome::Pending,
        };
        if outcome == Outcome::Pending && last_of_slot[slot] != Some(i) {
            outcome = Outcome::Info;
        }
        let f = function(spec.model, s.f);
        let key = if spec.model == Model::Kv {
            Some(V::s(["k", "j"][s.key as usize]))
        } else if spec.keyed {
            Some(V::s(["x", "y"][s.key as usize]))
        } else {
            None
        };
        events.push(Ev::Invoke(i));
        ops.push(Op {
            process: pid[slot],
            f,
            key,
            input: V::Nil,
            output: V::Nil,
            outcome,
            call: events.len() - 1,
            ret: usize::MAX,
            is_final: s.fin && f.is_read(),
        });
        if outcome.maybe() {
            pid[slot] = next_pid;
            next_pid += 1;
        }
        open[slot] = Some((i, s.delay));
        // Ops opened earlier count down; those due complete now.
        for sl in 0..3 {
            if sl == slot {
                continue;
            }
            if let Some((j, d)) = open[sl] {
                if d == 0 {
                    open[sl] = None;
                    complete(j, &mut ops, &mut events);
                    if ops[j].outcome == Outcome::Info {
                        info_complete.insert(j, events.len() - 1);
                    }
                } else {
                    open[sl] = Some((j, d - 1));
                }
            }
        }
    }
    for sl in 0..3 {
        if let Some((j, _)) = open[sl].take() {
            complete(j, &mut ops, &mut events);
            if ops[j].outcome == Outcome::Info {
                info_complete.insert(j, events.len() - 1);
            }
        }
    }

    // When each op takes effect (twice the event position, plus or minus
    // one: just after the invoke, just before the completion).
    let mut effects: Vec<(usize, usize)> = Vec::new();
    for (i, s) in spec.ops.iter().enumerate() {
        let op = &ops[i];
        let at = match op.outcome {
            Outcome::Fail => None,
            Outcome::Ok => Some(if s.effect == 0 { 2 * op.call + 1 } else { 2 * op.ret - 1 }),
            Outcome::Info => match (s.effect, info_complete.get(&i)) {
                (0, _) => Some(2 * op.call + 1),
                (1, Some(&c)) => Some(2 * c - 1),
                _ => None,
            },
            Outcome::Pending => (s.effect == 0).then_some(2 * op.call + 1),
        };
        if let Some(at) = at {
            effects.push((at, i));
        }
    }
    effects.sort();

    let model = spec.model;
    let init = spec.initial.clone().unwrap_or_else(|| model.empty());
    let mut states: BTreeMap<Option<V>, Vec<V>> = BTreeMap::new();
    let values = Values { spec, knobs };
    let mut done = vec![false; n];
    for &(_, i) in &effects {
        let key = ops[i].key.clone();
        let hist = states.entry(key).or_insert_with(|| vec![init.clone()]);
        let state = hist.last().unwrap().clone();
        let (input, output) = values.make(i, Some((&state, hist)));
        let mut op = ops[i].clone();
        // Most lock ops are the legal one where they take effect, so that
        // valid histories are common; the rest are as drawn.
        if model == Model::Mutex && spec.ops[i].read < 6 {
            op.f = if state == V::Bool(true) { F::Release } else { F::Acquire };
        }
        op.input = input;
        op.output = if op.outcome == Outcome::Ok { output } else { V::Nil };
        if let Some(next) = model.step(Nil::Unknown, &state, &Op { outcome: Outcome::Info, ..op.clone() }) {
            if next != state {
                hist.push(next);
            }
        }
        ops[i] = op;
        done[i] = true;
    }
    for i in 0..n {
        if !done[i] {
            let (input, _) = values.make(i, None);
            ops[i].input = input;
        }
    }
    Hist { ops, events }
}

struct Values<'a> {
    spec: &'a Spec,
    knobs: Knobs,
}

impl Values<'_> {
    /// The op's argument and (for a read) its result, given the state of its
    /// object when it takes effect and the states before (oldest first).
    fn make(&self, i: usize, at: Option<(&V, &Vec<V>)>) -> (V, V) {
        let s = &self.spec.ops[i];
        let model = self.spec.model;
        let f = function(model, s.f);
        let unique = self.spec.unique;
        let elem = |a: u8| if unique { V::Int(10 + i as i64) } else { V::Int(1 + (a % 3) as i64) };
        match f {
            F::Read | F::Get => {
                let Some((state, hist)) = at else { return (V::Nil, V::Nil) };
                let stale = |back: usize| hist[hist.len().saturating_sub(1 + back)].clone();
                let out = match (self.knobs.weak, s.read) {
                    (false, 0..=3) | (true, 0..=1) => state.clone(),
                    (false, 4 | 5) => stale((s.read - 3) as usize),
                    (true, 2..=5) => stale((s.read - 1) as usize),
                    _ => self.arbitrary(i, state),
                };
                let out = match (model, &out) {
                    // A set read lists its elements in any order.
                    (Model::Set, V::List(xs)) if s.b % 2 == 1 => V::List(xs.iter().rev().cloned().collect()),
                    _ => out,
                };
                (V::Nil, if s.b == 4 { permuted(&out) } else { out })
            }
            F::Write => (self.register_write(i, s.a), V::Nil),
            F::Cas => {
                let old = match (s.read, at) {
                    (0..=3, Some((state, _))) => state.clone(),
                    _ => register_value(s.b, self.knobs),
                };
                (V::List(vec![permuted(&old), self.register_write(i, s.a)]), V::Nil)
            }
            F::Put => (V::s(["", "a", "b", "ab", "a"][s.a as usize]), V::Nil),
            F::Append if model == Model::Kv => (V::s(["a", "b"][s.a as usize % 2]), V::Nil),
            F::Append | F::Add => (elem(s.a), V::Nil),
            F::Incr => (V::Int(1 + (s.a % 2) as i64), V::Nil),
            F::Enqueue => (elem(s.a), V::Nil),
            F::Acquire | F::Release => (V::Nil, V::Nil),
            F::Dequeue => {
                let Some((state, hist)) = at else { return (V::Nil, V::Nil) };
                let head = |q: &V| match q {
                    V::List(xs) => xs.first().cloned().unwrap_or(V::Nil),
                    _ => V::Nil,
                };
                let out = match s.read {
                    0..=3 => head(state),
                    4 | 5 => head(&hist[hist.len().saturating_sub(1 + (s.read - 3) as usize)]),
                    _ => [V::Nil, V::Int(1), V::Int(2), V::Int(101)][(s.a % 4) as usize].clone(),
                };
                (V::Nil, out)
            }
            F::Txn => self.txn(i, at),
        }
    }

    /// A transaction of one or two micro-ops on registers x and y: its
    /// invoke (reads of nil) and its ok (reads filled in: the registers as
    /// the transaction sees them, a stale state's, or arbitrary).
    fn txn(&self, i: usize, at: Option<(&V, &Vec<V>)>) -> (V, V) {
        let s = &self.spec.ops[i];
        let get = |m: &V, k: &str| match m {
            V::Map(es) => es.iter().find(|(x, _)| x == k).map_or(V::Nil, |(_, v)| v.clone()),
            _ => V::Nil,
        };
        let mut cur: Vec<(String, V)> = match at {
            Some((V::Map(es), _)) => es.clone(),
            _ => Vec::new(),
        };
        let (mut input, mut output) = (Vec::new(), Vec::new());
        for j in 0..1 + (s.b % 2) as usize {
            let k = ["x", "y"][(s.key as usize + j) % 2];
            let micro = |f: &str, v: V| V::List(vec![V::s(f), V::s(k), v]);
            if (s.a >> j) & 1 == 1 {
                let v = if self.spec.unique {
                    V::Int(10 + 2 * i as i64 + j as i64)
                } else if (s.a as usize + j) % 5 == 4 {
                    V::Nil
                } else {
                    V::Int(1 + ((s.a as usize + j) % 3) as i64)
                };
                cur.retain(|(x, _)| x != k);
                cur.push((k.to_string(), v.clone()));
                input.push(micro("w", v.clone()));
                output.push(micro("w", v));
            } else {
                let seen = match (s.read, at) {
                    (_, None) => V::Nil,
                    (0..=3, _) => get(&V::Map(cur.clone()), k),
                    (4 | 5, Some((_, hist))) => get(&hist[hist.len().saturating_sub(1 + (s.read - 3) as usize)], k),
                    _ => [V::Nil, V::Int(0), V::Int(1), V::Int(2)][(s.b as usize + j) % 4].clone(),
                };
                input.push(micro("r", V::Nil));
                output.push(micro("r", seen));
            }
        }
        (V::List(input), V::List(output))
    }

    fn register_write(&self, i: usize, a: u8) -> V {
        if self.spec.unique && !a.is_multiple_of(5) {
            V::Int(10 + i as i64)
        } else {
            register_value(a, self.knobs)
        }
    }

    /// A read result unrelated to the state (mostly wrong).
    fn arbitrary(&self, i: usize, state: &V) -> V {
        let a = (self.spec.ops[i].a + self.spec.ops[i].b) % 5;
        match self.spec.model {
            Model::Register | Model::CasRegister => register_value(a, self.knobs),
            Model::Kv => [V::Nil, V::s(""), V::s("a"), V::s("b"), V::s("ba")][a as usize].clone(),
            Model::Counter => V::Int(a as i64),
            // Their reads are drawn where they are made (`make`, `txn`).
            Model::Queue | Model::Mutex | Model::MultiRegister => V::Nil,
            Model::Set | Model::ListAppend => {
                let V::List(xs) = state else { return V::Nil };
                match a {
                    0 => V::List(Vec::new()),
                    1 => V::List(xs.iter().rev().cloned().collect()),
                    2 => V::List(xs.iter().skip(1).cloned().collect()),
                    3 => V::List(xs.iter().cloned().chain([V::Int(2)]).collect()),
                    _ => V::Nil,
                }
            }
        }
    }
}
