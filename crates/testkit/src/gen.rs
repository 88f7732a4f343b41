//! Large random histories that are linearizable by construction, for `conch
//! gen`, benchmarks and tests (not a simulator: no protocol, no network).
//!
//! Each client invokes an op, the op takes effect atomically at a random
//! instant before it completes, and reads return the state at that instant.
//! Written values are unique per key. Some ops end `fail` (no effect) or
//! `info` (effect applied or not, at random; the process is retired).

use crate::source::{Rng, Source};
use checker::history::{Event, EventType, Process, F};
use checker::value::Value;
use std::collections::BinaryHeap;

/// What the generated clients do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenWorkload {
    /// read / write with unique values (plus cas when `cas` is on).
    Register { cas: bool },
    /// append unique ints, read the whole list.
    ListAppend,
    /// add unique ints, read the whole set.
    Set,
    /// incr by 1, read the total.
    Counter,
}

#[derive(Clone, Debug)]
pub struct GenConfig {
    pub seed: u64,
    pub clients: usize,
    pub keys: usize,
    pub ops: usize,
    pub workload: GenWorkload,
    /// Share of ops that are reads, in percent.
    pub read_percent: u32,
    /// Per-mille of ops that end `info` (indeterminate).
    pub info_permille: u32,
    /// Per-mille of ops that end `fail`.
    pub fail_permille: u32,
    /// Longest op duration in ticks (ops overlap more when larger).
    pub max_latency: u64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 1,
            clients: 16,
            keys: 100,
            ops: 10_000,
            workload: GenWorkload::Register { cas: false },
            read_percent: 50,
            info_permille: 5,
            fail_permille: 5,
            max_latency: 100,
        }
    }
}

#[derive(Clone, Debug, Default)]
enum State {
    #[default]
    Empty,
    Reg(Value),
    List(Vec<Value>),
    Counter(i64),
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// Reverse-ordered by the heap wrapper below.
    Invoke,
    Effect,
    Complete,
}

/// A pending step of one client's current op.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    time: u64,
    seq: u64,
    client: usize,
    step: Step,
}

struct Client {
    process: u64,
    f: F,
    key: usize,
    input: Value,
    output: Value,
    end: EventType,
}

/// Generates the events of one history, drawn from `cfg.seed`.
pub fn events(cfg: &GenConfig) -> Vec<Event> {
    events_from(cfg, &mut Rng::new(cfg.seed))
}

/// [`events`] with every decision drawn from `rng` (`cfg.seed` unused).
pub fn events_from<S: Source>(cfg: &GenConfig, rng: &mut S) -> Vec<Event> {
    assert!(cfg.clients > 0 && cfg.keys > 0, "need clients and keys");
    let mut states = vec![State::Empty; cfg.keys];
    let mut next_value: i64 = 1;
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<std::cmp::Reverse<Pending>>, time, client, step| {
        seq += 1;
        heap.push(std::cmp::Reverse(Pending { time, seq, client, step }));
    };
    let mut clients: Vec<Client> = (0..cfg.clients)
        .map(|i| Client {
            process: i as u64,
            f: F::Read,
            key: 0,
            input: Value::Nil,
            output: Value::Nil,
            end: EventType::Ok,
        })
        .collect();
    for c in 0..cfg.clients {
        push(&mut heap, rng.below(cfg.max_latency.max(1)), c, Step::Invoke);
    }
    let mut issued = 0usize;
    let mut out = Vec::with_capacity(cfg.ops * 2);
    let lat = cfg.max_latency.max(2);
    while let Some(std::cmp::Reverse(p)) = heap.pop() {
        let c = &mut clients[p.client];
        match p.step {
            Step::Invoke => {
                if issued >= cfg.ops {
                    continue;
                }
                issued += 1;
                c.key = rng.below(cfg.keys as u64) as usize;
                let read = rng.below(100) < cfg.read_percent as u64;
                let (f, input) = match (cfg.workload, read) {
                    (_, true) => (F::Read, Value::Nil),
                    (GenWorkload::Register { cas: true }, false) if rng.below(3) == 0 => {
                        // Compare against the current value half the time so
                        // that some cas ops succeed.
                        let old = match &states[c.key] {
                            State::Reg(v) if rng.below(2) == 0 => v.clone(),
                            _ => Value::Int(rng.below(next_value as u64) as i64),
                        };
                        next_value += 1;
                        (F::Cas, Value::List(vec![old, Value::Int(next_value - 1)]))
                    }
                    (GenWorkload::Register { .. }, false) => (F::Write, Value::Int(post_inc(&mut next_value))),
                    (GenWorkload::ListAppend, false) => (F::Append, Value::Int(post_inc(&mut next_value))),
                    (GenWorkload::Set, false) => (F::Add, Value::Int(post_inc(&mut next_value))),
                    (GenWorkload::Counter, false) => (F::Incr, Value::Int(1)),
                };
                let roll = rng.below(1000) as u32;
                c.end = if roll < cfg.info_permille {
                    EventType::Info
                } else if roll < cfg.info_permille + cfg.fail_permille && f != F::Read {
                    EventType::Fail
                } else {
                    EventType::Ok
                };
                c.f = f;
                c.input = input;
                c.output = Value::Nil;
                out.push(event(p.time, EventType::Invoke, c, c.input.clone(), cfg));
                let effect_at = p.time + 1 + rng.below(lat / 2);
                push(&mut heap, effect_at, p.client, Step::Effect);
            }
            Step::Effect => {
                // Fail ops never take effect; info ops half the time.
                let mut applies = match c.end {
                    EventType::Fail => false,
                    EventType::Info => rng.below(2) == 0,
                    _ => true,
                };
                // A cas whose expected value does not match fails, as in
                // Jepsen's cas-register clients.
                if c.f == F::Cas && !cas_matches(&states[c.key], &c.input) {
                    applies = false;
                    if c.end == EventType::Ok {
                        c.end = EventType::Fail;
                    }
                }
                c.output = apply(&mut states[c.key], &c.f, &c.input, applies);
                if c.f == F::Read {
                    // Reads of an untouched key: the workload's empty value.
                    c.output = match (cfg.workload, std::mem::take(&mut c.output)) {
                        (GenWorkload::Set, Value::List(l)) => Value::set(l),
                        (GenWorkload::Set, Value::Nil) => Value::Set(Vec::new()),
                        (GenWorkload::ListAppend, Value::Nil) => Value::List(Vec::new()),
                        (GenWorkload::Counter, Value::Nil) => Value::Int(0),
                        (_, other) => other,
                    };
                }
                push(&mut heap, p.time + 1 + rng.below(lat / 2), p.client, Step::Complete);
            }
            Step::Complete => {
                let value = match c.end {
                    EventType::Ok => c.output.clone(),
                    EventType::Fail => c.input.clone(),
                    _ => Value::str("timed-out"),
                };
                out.push(event(p.time, c.end, c, value, cfg));
                if c.end == EventType::Info {
                    c.process += cfg.clients as u64;
                }
                push(&mut heap, p.time + 1 + rng.below(lat / 4 + 1), p.client, Step::Invoke);
            }
        }
    }
    number_lines(&mut out);
    out
}

fn cas_matches(s: &State, input: &Value) -> bool {
    let cur = match s {
        State::Reg(v) => v,
        _ => &Value::Nil,
    };
    matches!(input.as_seq(), Some([old, _]) if old == cur)
}

fn post_inc(v: &mut i64) -> i64 {
    *v += 1;
    *v - 1
}

fn event(time: u64, kind: EventType, c: &Client, value: Value, cfg: &GenConfig) -> Event {
    let mut e = Event::new(0, kind, Process::Client(c.process), c.f.clone(), value);
    e.key = (cfg.keys > 1).then_some(Value::Int(c.key as i64));
    e.time_ns = Some(time as i64);
    e
}

/// Applies an op to a key's state (when `applies`) and returns the result an
/// ok completion reports.
fn apply(s: &mut State, f: &F, input: &Value, applies: bool) -> Value {
    match f {
        F::Read => match s {
            State::Empty => Value::Nil,
            State::Reg(v) => v.clone(),
            State::List(l) => Value::List(l.clone()),
            State::Counter(n) => Value::Int(*n),
        },
        F::Write if applies => {
            *s = State::Reg(input.clone());
            input.clone()
        }
        F::Cas => {
            let (old, new) = match input.as_seq() {
                Some([o, n]) => (o.clone(), n.clone()),
                _ => return Value::Nil,
            };
            let cur = match s {
                State::Reg(v) => v.clone(),
                _ => Value::Nil,
            };
            if applies && cur == old {
                *s = State::Reg(new);
            }
            input.clone()
        }
        F::Append | F::Add if applies => {
            match s {
                State::List(l) => l.push(input.clone()),
                _ => *s = State::List(vec![input.clone()]),
            }
            input.clone()
        }
        F::Incr if applies => {
            let by = input.as_int().unwrap_or(1);
            match s {
                State::Counter(n) => *n += by,
                _ => *s = State::Counter(by),
            }
            input.clone()
        }
        _ => input.clone(),
    }
}

/// Numbers events' lines 1.. in order (as if written to a file).
pub fn number_lines(events: &mut [Event]) {
    for (i, e) in events.iter_mut().enumerate() {
        e.line = i as u64 + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::history::History;

    #[test]
    fn same_seed_same_history_and_it_pairs() {
        // 5 per mille info ops: about 10 expected in 2,000.
        let cfg = GenConfig { ops: 2000, ..GenConfig::default() };
        let a = events(&cfg);
        assert_eq!(a, events(&cfg));
        assert_ne!(a, events(&GenConfig { seed: 2, ..cfg }));
        let h = History::from_events("gen", a).unwrap();
        assert_eq!(h.ops.len(), 2000);
        assert!(h.ops.iter().any(|o| o.outcome == checker::history::Outcome::Info));
    }
}
