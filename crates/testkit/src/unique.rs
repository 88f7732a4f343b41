//! Histories with unique written values (and unique list elements), the
//! inputs on which the linearizability fast paths apply: small ones from a
//! simulated object whose reads are sometimes corrupted (both verdicts are
//! common), kv put/append/get histories, and large linearizable ones.

use crate::source::{Rng, Source};
use checker::history::{Event, EventType, History, HistoryBuilder, Process, F};
use checker::model::ModelKind;
use checker::value::Value;

fn s(x: &str) -> Value {
    Value::str(x)
}

/// The interleaving both small generators share: up to 200 steps, each
/// picking a random client that invokes its next op or completes its open
/// one; now and then, once every op is invoked, an open op is left open for
/// good (it becomes info). A client whose op ends info goes on as a fresh
/// process, as Jepsen's do.
struct Interleaving<O> {
    n_ops: u64,
    invoked: u64,
    steps: u32,
    proc_ids: Vec<u64>,
    next_proc: u64,
    open: Vec<Option<O>>,
    evs: Vec<Event>,
}

enum Turn<O> {
    Invoke(usize),
    Complete(usize, O),
}

impl<O: Clone> Interleaving<O> {
    /// Bounds the generators' work whatever `n_ops` is.
    const STEPS_MAX: u32 = 200;

    fn new(slots: usize, n_ops: u64) -> Self {
        Interleaving {
            n_ops,
            invoked: 0,
            steps: 0,
            proc_ids: (0..slots as u64).collect(),
            next_proc: slots as u64,
            open: vec![None; slots],
            evs: Vec::new(),
        }
    }

    fn next<S: Source>(&mut self, rng: &mut S) -> Option<Turn<O>> {
        while self.steps < Self::STEPS_MAX && (self.invoked < self.n_ops || self.open.iter().any(Option::is_some)) {
            self.steps += 1;
            let slot = rng.below(self.open.len() as u64) as usize;
            match self.open[slot].take() {
                None if self.invoked < self.n_ops => {
                    self.invoked += 1;
                    return Some(Turn::Invoke(slot));
                }
                None => {}
                Some(_) if self.invoked >= self.n_ops && rng.chance(5) => {} // left open: becomes info
                Some(o) => return Some(Turn::Complete(slot, o)),
            }
        }
        None
    }

    fn invoke(&mut self, slot: usize, f: F, input: Value, open: O) {
        self.push(slot, EventType::Invoke, f, input);
        self.open[slot] = Some(open);
    }

    fn complete(&mut self, slot: usize, kind: EventType, f: F, out: Value) {
        self.push(slot, kind, f, out);
        if kind == EventType::Info {
            self.proc_ids[slot] = self.next_proc;
            self.next_proc += 1;
        }
    }

    fn push(&mut self, slot: usize, kind: EventType, f: F, value: Value) {
        let line = self.evs.len() as u64 + 1;
        self.evs.push(Event::new(line, kind, Process::Client(self.proc_ids[slot]), f, value));
    }

    fn history(self) -> History {
        History::from_events("gen", self.evs).unwrap_or_default()
    }
}

/// A random small history with unique written values for `model`. A
/// simulated object takes each op's effect at a random moment in its
/// interval, and reads usually report the true state, sometimes a random
/// one, so both verdicts are common.
pub fn unique_history<S: Source>(model: ModelKind, max_ops: u64, rng: &mut S) -> History {
    let slots = 1 + rng.below(4) as usize;
    let n_ops = 2 + rng.below(max_ops - 1);
    let kv = model == ModelKind::Kv;
    let lst = model == ModelKind::ListAppend;
    let mk = |n: i64| if kv { Value::Str(format!("v{n}").into()) } else { Value::Int(n) };
    let initial = if kv { Value::str("") } else { Value::Nil };
    // State: the register value, or the list.
    let mut reg = initial.clone();
    let mut lst_state: Vec<Value> = Vec::new();
    let mut written: Vec<Value> = Vec::new();
    let mut next_value = 1i64;
    // Per slot, the open op: f, input, applied?
    let mut run: Interleaving<(F, Value, bool)> = Interleaving::new(slots, n_ops);
    let (read_f, write_f) = match model {
        ModelKind::Kv => (F::Get, F::Put),
        ModelKind::ListAppend => (F::Read, F::Append),
        _ => (F::Read, F::Write),
    };
    while let Some(turn) = run.next(rng) {
        match turn {
            Turn::Invoke(s) => {
                let (f, input) = if model == ModelKind::CasRegister && rng.chance(35) {
                    // Expect the current value usually, else any value seen.
                    let old = if rng.chance(60) || written.is_empty() {
                        reg.clone()
                    } else if rng.chance(20) {
                        Value::Nil
                    } else {
                        written[rng.below(written.len() as u64) as usize].clone()
                    };
                    let new = mk(next_value);
                    next_value += 1;
                    written.push(new.clone());
                    (F::Cas, Value::List(vec![old, new]))
                } else if rng.chance(40) {
                    (read_f.clone(), Value::Nil)
                } else {
                    let v = mk(next_value);
                    next_value += 1;
                    written.push(v.clone());
                    (write_f.clone(), v)
                };
                let mut applied = false;
                if f == write_f && rng.chance(30) {
                    applied = true;
                    if lst {
                        lst_state.push(input.clone())
                    } else {
                        reg = input.clone()
                    }
                }
                run.invoke(s, f.clone(), input.clone(), (f, input, applied));
            }
            Turn::Complete(s, (f, input, applied)) => {
                let roll = rng.below(100);
                let kind = if roll < 70 || f == read_f && roll < 80 {
                    EventType::Ok
                } else if roll < 85 {
                    EventType::Fail
                } else {
                    EventType::Info
                };
                let mut out = Value::Nil;
                if f == write_f {
                    let take = match kind {
                        EventType::Ok => true,
                        EventType::Info => rng.chance(50),
                        _ => rng.chance(3), // a lying failure, now and then
                    };
                    if take && !applied {
                        if lst {
                            lst_state.push(input.clone())
                        } else {
                            reg = input.clone()
                        }
                    }
                    out = if kind == EventType::Ok { input.clone() } else { Value::Nil };
                    if kind == EventType::Fail || kind == EventType::Info {
                        out = Value::Nil;
                    }
                } else if f == read_f && kind == EventType::Ok {
                    out = if rng.chance(50) {
                        if lst {
                            Value::List(lst_state.clone())
                        } else {
                            reg.clone()
                        }
                    } else if lst {
                        let mut l = lst_state.clone();
                        match rng.below(4) {
                            0 => {
                                l.pop();
                            }
                            1 if l.len() >= 2 => l.swap(0, 1),
                            2 if !written.is_empty() => {
                                l.push(written[rng.below(written.len() as u64) as usize].clone())
                            }
                            _ => l.clear(),
                        }
                        if rng.chance(10) {
                            Value::Nil
                        } else {
                            Value::List(l)
                        }
                    } else {
                        match rng.below(8) {
                            0 => Value::Nil,
                            1 => initial.clone(),
                            2 => mk(next_value + 5),
                            _ if !written.is_empty() => written[rng.below(written.len() as u64) as usize].clone(),
                            _ => Value::Nil,
                        }
                    };
                } else if f == F::Cas {
                    // Succeeds iff the register holds the expected value now;
                    // info ones may or may not; now and then a lie.
                    let [old, new] = [input.as_seq().unwrap()[0].clone(), input.as_seq().unwrap()[1].clone()];
                    let matches = old == reg;
                    let kind = match kind {
                        EventType::Info => EventType::Info,
                        _ if rng.chance(5) => {
                            if matches {
                                EventType::Fail
                            } else {
                                EventType::Ok
                            }
                        }
                        _ => {
                            if matches {
                                EventType::Ok
                            } else {
                                EventType::Fail
                            }
                        }
                    };
                    let take = match kind {
                        EventType::Ok => matches,
                        EventType::Info => matches && rng.chance(50),
                        _ => false,
                    };
                    if take {
                        reg = new;
                    }
                    run.complete(s, kind, f, input);
                    continue;
                }
                run.complete(s, kind, f, out);
            }
        }
    }
    run.history()
}

/// A linearizable history: `clients` clients on `keys` keys, each op taking
/// effect at its completion; writes carry unique values (list-append: unique
/// elements).
pub fn big_history(model: ModelKind, ops: u64, keys: u64, clients: u64, seed: u64) -> History {
    let mut rng = Rng::new(seed);
    let lst = model == ModelKind::ListAppend;
    let mut regs: Vec<Value> = vec![Value::Nil; keys as usize];
    let mut lists: Vec<Vec<Value>> = vec![Vec::new(); keys as usize];
    let mut open: Vec<Option<(F, u64, Value)>> = vec![None; clients as usize];
    let mut b = HistoryBuilder::new("big");
    let (mut invoked, mut line, mut next) = (0u64, 0u64, 0i64);
    while invoked < ops || open.iter().any(|o| o.is_some()) {
        let c = rng.below(clients) as usize;
        line += 1;
        let mut e = match open[c].take() {
            None if invoked < ops => {
                invoked += 1;
                let k = rng.below(keys);
                let (f, v) = if model == ModelKind::CasRegister && rng.chance(20) {
                    // Expects the value the key holds at invoke.
                    next += 1;
                    (F::Cas, Value::List(vec![regs[k as usize].clone(), Value::Int(next)]))
                } else if rng.chance(50) {
                    (F::Read, Value::Nil)
                } else {
                    next += 1;
                    (if lst { F::Append } else { F::Write }, Value::Int(next))
                };
                open[c] = Some((f.clone(), k, v.clone()));
                let mut e = Event::new(line, EventType::Invoke, Process::Client(c as u64), f, v);
                e.key = Some(Value::Int(k as i64));
                e
            }
            None => continue,
            Some((F::Cas, k, v)) => {
                let (old, new) = (v.as_seq().unwrap()[0].clone(), v.as_seq().unwrap()[1].clone());
                let kind = if regs[k as usize] == old {
                    regs[k as usize] = new;
                    EventType::Ok
                } else {
                    EventType::Fail
                };
                let mut e = Event::new(line, kind, Process::Client(c as u64), F::Cas, v);
                e.key = Some(Value::Int(k as i64));
                e
            }
            Some((f, k, v)) => {
                let out = match (&f, lst) {
                    (F::Read, false) => regs[k as usize].clone(),
                    (F::Read, true) => Value::List(lists[k as usize].clone()),
                    (_, false) => {
                        regs[k as usize] = v.clone();
                        v
                    }
                    (_, true) => {
                        lists[k as usize].push(v.clone());
                        v
                    }
                };
                let mut e = Event::new(line, EventType::Ok, Process::Client(c as u64), f, out);
                e.key = Some(Value::Int(k as i64));
                e
            }
        };
        e.time_ns = None;
        b.push(e).unwrap();
    }
    b.finish().unwrap()
}

/// A random small kv history with put/append/get and unique strings. A
/// simulated object takes each mutation's effect at a random moment in its
/// interval; gets usually report the true string, else a corrupted one. One
/// in six histories draws its strings from a tiny alphabet (`a`, `b`, `ab`,
/// ...), so some gets split in two ways; in three of ten, appends repeat
/// strings now and then.
pub fn kv_append_history<S: Source>(max_ops: u64, rng: &mut S) -> History {
    const TRICKY_APPENDS: [&str; 6] = ["a", "b", "ab", "ba", "c", "bc"];
    const TRICKY_PUTS: [&str; 3] = ["p", "pa", "b"];
    let slots = 1 + rng.below(4) as usize;
    let n_ops = 2 + rng.below(max_ops - 1);
    let tricky = rng.chance(17);
    let dup_percent = if rng.chance(30) { 25 } else { 0 };
    let mut apps: Vec<String> = Vec::new();
    let (mut n_app, mut n_put) = (0usize, 0usize);
    let mut pieces: Vec<String> = Vec::new(); // pieces[0] is the put value or ""
    pieces.push(String::new());
    let mut written: Vec<String> = Vec::new();
    let mut run: Interleaving<(F, String, bool)> = Interleaving::new(slots, n_ops);
    let apply = |pieces: &mut Vec<String>, f: &F, v: &str| {
        if *f == F::Put {
            *pieces = vec![v.to_string()];
        } else {
            pieces.push(v.to_string());
        }
    };
    while let Some(turn) = run.next(rng) {
        match turn {
            Turn::Invoke(sl) => {
                let roll = rng.below(100);
                let (f, v) = if roll < 40 {
                    (F::Get, String::new())
                } else if roll < 60 && (!tricky || n_put < TRICKY_PUTS.len()) {
                    n_put += 1;
                    (F::Put, if tricky { TRICKY_PUTS[n_put - 1].to_string() } else { format!("P{n_put}.") })
                } else if !apps.is_empty() && rng.chance(dup_percent) {
                    // A repeated append string (Porcupine's clients do this).
                    (F::Append, apps[rng.below(apps.len() as u64) as usize].clone())
                } else if !tricky || n_app < TRICKY_APPENDS.len() {
                    n_app += 1;
                    let v = if tricky { TRICKY_APPENDS[n_app - 1].to_string() } else { format!("x{n_app}y") };
                    apps.push(v.clone());
                    (F::Append, v)
                } else {
                    (F::Get, String::new())
                };
                if f != F::Get {
                    written.push(v.clone());
                }
                let applied = f != F::Get && rng.chance(30);
                if applied {
                    apply(&mut pieces, &f, &v);
                }
                let input = if f == F::Get { Value::Nil } else { s(&v) };
                run.invoke(sl, f.clone(), input, (f, v, applied));
            }
            Turn::Complete(sl, (f, v, applied)) => {
                let roll = rng.below(100);
                let kind = if roll < 70 || f == F::Get && roll < 85 {
                    EventType::Ok
                } else if roll < 88 {
                    EventType::Fail
                } else {
                    EventType::Info
                };
                let out = if f == F::Get {
                    if kind != EventType::Ok {
                        Value::Nil
                    } else if rng.chance(60) {
                        s(&pieces.concat())
                    } else {
                        let mut ps = pieces.clone();
                        match rng.below(6) {
                            0 if ps.len() > 1 => {
                                ps.pop();
                            }
                            1 if ps.len() > 2 => ps.swap(1, 2),
                            2 if !written.is_empty() => {
                                ps.push(written[rng.below(written.len() as u64) as usize].clone())
                            }
                            3 if !written.is_empty() => {
                                ps[0] = written[rng.below(written.len() as u64) as usize].clone()
                            }
                            4 => return_nil_or_garbage(rng, &mut ps),
                            _ => ps = vec![String::new()],
                        }
                        if ps.is_empty() {
                            Value::Nil
                        } else {
                            s(&ps.concat())
                        }
                    }
                } else {
                    let take = match kind {
                        EventType::Ok => true,
                        EventType::Info => rng.chance(50),
                        _ => rng.chance(3), // a lying failure, now and then
                    };
                    if take && !applied {
                        apply(&mut pieces, &f, &v);
                    }
                    if kind == EventType::Ok {
                        s(&v)
                    } else {
                        Value::Nil
                    }
                };
                run.complete(sl, kind, f, out);
            }
        }
    }
    run.history()
}

/// Corrupts a get's pieces into nil (empty pieces) or a string nobody wrote.
fn return_nil_or_garbage<S: Source>(rng: &mut S, ps: &mut Vec<String>) {
    if rng.chance(50) {
        ps.clear();
    } else {
        ps.push("zz".into());
    }
}

/// A register history of `n` ops on `procs` processes with unique written
/// values, produced by a real register (each ok op takes effect when it
/// completes, an info write with probability 1/2 when it times out); then,
/// if `corrupt`, one read's result replaced by another written value.
pub fn long_register_history<S: Source>(rng: &mut S, n: usize, procs: u64, corrupt: bool) -> History {
    let mut evs: Vec<Event> = Vec::new();
    let mut open: Vec<Option<(F, i64)>> = vec![None; procs as usize];
    let mut ids: Vec<u64> = (0..procs).collect();
    let mut next_id = procs;
    let (mut reg, mut next_val, mut started) = (0i64, 1i64, 0usize);
    let mut read_lines = Vec::new();
    while started < n || open.iter().any(Option::is_some) {
        // Only processes that can act: every step makes progress, whatever
        // the source says.
        let ready: Vec<usize> = (0..procs as usize).filter(|&p| started < n || open[p].is_some()).collect();
        let p = *rng.pick(&ready);
        let line = evs.len() as u64 + 1;
        match open[p].take() {
            None if started < n => {
                let (f, v) = if rng.chance(50) {
                    next_val += 1;
                    (F::Write, next_val)
                } else {
                    (F::Read, 0)
                };
                let val = if f == F::Write { Value::Int(v) } else { Value::Nil };
                evs.push(Event::new(line, EventType::Invoke, Process::Client(ids[p]), f.clone(), val));
                open[p] = Some((f, v));
                started += 1;
            }
            None => {}
            Some((F::Write, v)) if rng.chance(5) => {
                if rng.chance(50) {
                    reg = v;
                }
                evs.push(Event::new(line, EventType::Info, Process::Client(ids[p]), F::Write, Value::Int(v)));
                ids[p] = next_id;
                next_id += 1;
            }
            Some((F::Write, v)) => {
                reg = v;
                evs.push(Event::new(line, EventType::Ok, Process::Client(ids[p]), F::Write, Value::Int(v)));
            }
            Some((f, _)) => {
                read_lines.push(evs.len());
                // 0: never written, read as nil.
                let seen = if reg == 0 { Value::Nil } else { Value::Int(reg) };
                evs.push(Event::new(line, EventType::Ok, Process::Client(ids[p]), f, seen));
            }
        }
    }
    if corrupt && !read_lines.is_empty() {
        let i = read_lines[rng.below(read_lines.len() as u64) as usize];
        evs[i].value = Value::Int(1 + rng.below(next_val as u64) as i64);
    }
    History::from_events("long", evs).unwrap()
}
