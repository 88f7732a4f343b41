//! Generated session-workload histories, for tests and benches (not a
//! simulator: no protocol, no network).
//!
//! A sequential execution: random session interleavings over one global order
//! of versions per key, each write taking effect at its completion. Reads
//! return the state there (linearizable), or with `stale` an older version:
//! never older than what the session already read or wrote, so every session
//! guarantee still holds though linearizability does not. Each key can end with
//! one final read per node, all of the last state, so convergence holds too.
//! Either way no session or convergence check may find anything in them.
//! The output depends only on [`GenOpts`] (same seed, same history).

use crate::source::{Rng, Source};
use checker::history::{Event, EventType, History, Process, F};
use checker::value::Value;
use checker::Workload;
use std::collections::VecDeque;

/// What [`generate`] produces.
#[derive(Clone, Copy, Debug)]
pub struct GenOpts {
    pub workload: Workload,
    /// Concurrent client slots; a slot whose op ends `info` continues as a
    /// new process (a new session). At least 1 is used.
    pub sessions: usize,
    /// Keys `0..keys`; with a single key, events carry no key.
    pub keys: usize,
    /// Client ops invoked (each completes), not counting final reads.
    pub ops: usize,
    /// Share of ops that are reads, in percent.
    pub read_pct: u64,
    /// Share of ops that end `info`, in percent (a write's effect is applied
    /// or not at random).
    pub info_pct: u64,
    /// Share of ops that end `fail` (no effect), in percent.
    pub fail_pct: u64,
    /// Final reads per key (one per node, all of the last state), after every
    /// client op. 0 for none.
    pub nodes: usize,
    /// Reads may return any version from the session's floor to the newest.
    pub stale: bool,
    pub seed: u64,
}

/// One key: the versions applied so far, in order (list/set elements,
/// counter deltas, register values), and the counter's running totals.
#[derive(Clone, Default)]
struct State {
    applied: Vec<i64>,
    totals: Vec<i64>,
}

impl State {
    fn register(&self) -> Option<i64> {
        self.applied.last().copied()
    }
}

struct Pending {
    key: usize,
    f: F,
    input: Value,
}

fn key_value(o: &GenOpts, k: usize) -> Option<Value> {
    (o.keys > 1).then_some(Value::Int(k as i64))
}

/// The state after the first `v` versions.
fn read_value<S: Source>(o: &GenOpts, s: &State, v: usize, rng: &mut S) -> Value {
    let prefix = &s.applied[..v];
    match o.workload {
        Workload::ListAppend => Value::List(prefix.iter().map(|&x| Value::Int(x)).collect()),
        Workload::Set => {
            let mut items: Vec<Value> = prefix.iter().map(|&x| Value::Int(x)).collect();
            for i in (1..items.len()).rev() {
                items.swap(i, rng.below(i as u64 + 1) as usize);
            }
            Value::List(items)
        }
        Workload::Counter => Value::Int(if v == 0 { 0 } else { s.totals[v - 1] }),
        Workload::Register => prefix.last().map_or(Value::Nil, |&x| Value::Int(x)),
    }
}

fn apply(o: &GenOpts, s: &mut State, p: &Pending) {
    let x = match (o.workload, &p.f) {
        (Workload::ListAppend | Workload::Set, F::Append | F::Add) | (Workload::Counter, F::Incr) => {
            p.input.as_int().unwrap()
        }
        (Workload::Register, F::Write) => p.input.as_int().unwrap(),
        (Workload::Register, F::Cas) => p.input.as_seq().unwrap()[1].as_int().unwrap(),
        _ => return,
    };
    s.applied.push(x);
    let t = s.totals.last().copied().unwrap_or(0) + x;
    s.totals.push(t);
}

/// The events of one history (lines numbered from 1, times 10 ns apart),
/// ready for [`History::from_events`](checker::history::History::from_events).
/// A nemesis `partition` event is placed at a random line. Collects
/// [`events`]; prefer that for large list-append histories.
pub fn generate(o: &GenOpts) -> Vec<Event> {
    events(o).collect()
}

/// The same events as [`generate`], made one at a time: fed straight into
/// [`History::from_events`](checker::history::History::from_events), the
/// whole-list reads of a large list-append history are never all in memory
/// at once (1M ops on 1,000 keys read ~121M elements in all).
pub fn events(o: &GenOpts) -> Events<Rng> {
    events_from(o, Rng::new(o.seed))
}

/// [`events`] with every decision drawn from `rng` (`o.seed` unused).
pub fn events_from<S: Source>(o: &GenOpts, mut rng: S) -> Events<S> {
    let sessions = o.sessions.max(1);
    let keys = o.keys.max(1);
    let fault_at = rng.below((o.ops as u64).saturating_mul(2).saturating_add(1));
    Events {
        o: *o,
        sessions,
        rng,
        states: vec![State::default(); keys],
        pids: (0..sessions as u64).collect(),
        next_pid: sessions as u64,
        open: (0..sessions).map(|_| None).collect(),
        floor: vec![vec![0; keys]; sessions],
        written: Vec::new(),
        next_value: 1,
        issued: 0,
        fault_at,
        emitted: 0,
        out: VecDeque::new(),
        phase: Phase::Clients,
    }
}

enum Phase {
    Clients,
    /// Next final read: key, node.
    Final(usize, usize),
    Done,
}

/// Iterator returned by [`events`].
pub struct Events<S> {
    o: GenOpts,
    sessions: usize,
    rng: S,
    states: Vec<State>,
    /// Process id of each session slot.
    pids: Vec<u64>,
    next_pid: u64,
    open: Vec<Option<Pending>>,
    /// Per session slot and key: the oldest version the session may still read.
    floor: Vec<Vec<usize>>,
    /// Every register value written, for cas with a stale expected value.
    written: Vec<i64>,
    next_value: i64,
    issued: usize,
    /// The number of events before the nemesis event.
    fault_at: u64,
    emitted: u64,
    /// Made but not yet returned (at most a few).
    out: VecDeque<Event>,
    phase: Phase,
}

impl<S: Source> Events<S> {
    fn push(&mut self, kind: EventType, process: Process, f: F, key: Option<Value>, value: Value) -> &mut Event {
        self.emitted += 1;
        let line = self.emitted;
        let mut e = Event::new(line, kind, process, f, value);
        e.key = key;
        e.time_ns = Some(line as i64 * 10);
        self.out.push_back(e);
        self.out.back_mut().expect("just pushed")
    }

    /// One scheduling step: maybe the nemesis event, then a session completes
    /// its open op or invokes a new one. False when every op has completed.
    fn step(&mut self) -> bool {
        // A copy, so that `self` can be borrowed mutably below.
        let o = &self.o.clone();
        if self.emitted == self.fault_at {
            self.push(EventType::Info, Process::Nemesis, F::parse("partition"), None, Value::Nil);
        }
        if self.issued >= o.ops && self.open.iter().all(Option::is_none) {
            return false;
        }
        // Only sessions that can act: every step makes progress, whatever
        // the source says.
        let ready: Vec<usize> = (0..self.sessions).filter(|&s| self.issued < o.ops || self.open[s].is_some()).collect();
        let s = *self.rng.pick(&ready);
        if let Some(p) = self.open[s].take() {
            let rng = &mut self.rng;
            let st = &mut self.states[p.key];
            let is_read = p.f == F::Read;
            let cas_fails = p.f == F::Cas && st.register() != p.input.as_seq().unwrap()[0].as_int();
            let roll = rng.below(100);
            let (kind, value) = if cas_fails || roll < o.fail_pct {
                (EventType::Fail, p.input.clone())
            } else if roll < o.fail_pct + o.info_pct {
                if !is_read && rng.chance(50) {
                    apply(o, st, &p);
                }
                (EventType::Info, p.input.clone())
            } else if is_read {
                let (lo, hi) = (self.floor[s][p.key], st.applied.len());
                let v = if o.stale { lo + rng.below((hi - lo) as u64 + 1) as usize } else { hi };
                self.floor[s][p.key] = v;
                (EventType::Ok, read_value(o, st, v, rng))
            } else {
                apply(o, st, &p);
                // Its own write (and, for a cas, what it read) is now seen.
                self.floor[s][p.key] = st.applied.len();
                (EventType::Ok, p.input.clone())
            };
            let key = key_value(o, p.key);
            self.push(kind, Process::Client(self.pids[s]), p.f, key, value);
            if kind == EventType::Info {
                self.pids[s] = self.next_pid;
                self.next_pid += 1;
                self.floor[s].iter_mut().for_each(|f| *f = 0);
            }
        } else if self.issued < o.ops {
            self.issued += 1;
            let rng = &mut self.rng;
            let key = rng.below(self.states.len() as u64) as usize;
            let (f, input) = if rng.chance(o.read_pct) {
                (F::Read, Value::Nil)
            } else {
                match o.workload {
                    Workload::ListAppend | Workload::Set => {
                        self.next_value += 1;
                        let f = if o.workload == Workload::Set { F::Add } else { F::Append };
                        (f, Value::Int(self.next_value))
                    }
                    Workload::Counter => (F::Incr, Value::Int(rng.below(3) as i64 + 1)),
                    Workload::Register => {
                        self.next_value += 1;
                        let written = &mut self.written;
                        written.push(self.next_value);
                        if rng.chance(25) {
                            let old = if rng.chance(70) || written.len() < 2 {
                                self.states[key].register().map_or(Value::Nil, Value::Int)
                            } else {
                                Value::Int(written[rng.below(written.len() as u64) as usize])
                            };
                            (F::Cas, Value::List(vec![old, Value::Int(self.next_value)]))
                        } else {
                            (F::Write, Value::Int(self.next_value))
                        }
                    }
                }
            };
            let k = key_value(o, key);
            self.push(EventType::Invoke, Process::Client(self.pids[s]), f.clone(), k, input.clone());
            self.open[s] = Some(Pending { key, f, input });
        }
        true
    }

    /// The final read of key `k` on node `n` (invoke and ok), after all ops.
    fn final_read(&mut self, k: usize, n: usize) {
        let pid = self.next_pid;
        self.next_pid += 1;
        for kind in [EventType::Invoke, EventType::Ok] {
            let v = if kind == EventType::Ok {
                let st = &self.states[k];
                read_value(&self.o, st, st.applied.len(), &mut self.rng)
            } else {
                Value::Nil
            };
            let key = key_value(&self.o, k);
            let e = self.push(kind, Process::Client(pid), F::Read, key, v);
            e.is_final = true;
            e.node = Some(format!("n{n}").into());
        }
    }
}

impl<S: Source> Iterator for Events<S> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.out.pop_front() {
                return Some(e);
            }
            match self.phase {
                Phase::Clients => {
                    if !self.step() {
                        self.phase = Phase::Final(0, 0);
                    }
                }
                Phase::Final(k, n) => {
                    if k >= self.states.len() || self.o.nodes == 0 {
                        self.phase = Phase::Done;
                    } else {
                        self.final_read(k, n);
                        self.phase = if n + 1 < self.o.nodes { Phase::Final(k, n + 1) } else { Phase::Final(k + 1, 0) };
                    }
                }
                Phase::Done => return None,
            }
        }
    }
}

/// A small random register history on one key: up to 5 distinct written
/// values (1, 2, ... in invoke order), reads of any of them or nil, cas
/// whose old value is nil or an earlier value (so cas facts never form a
/// cycle on their own), some info and failed ops. Ops do not overlap.
pub fn tiny_register_history<S: Source>(rng: &mut S, sessions: u64, ops: usize) -> History {
    let mut events = Vec::new();
    let mut pids: Vec<u64> = (0..sessions).collect();
    let mut next_pid = sessions;
    let mut next_value = 1i64;
    for _ in 0..ops {
        let s = rng.below(sessions) as usize;
        let (f, input, mut output) = if next_value > 5 || rng.chance(45) {
            let v = rng.below(next_value as u64 + 1) as i64;
            (F::Read, Value::Nil, if v == 0 { Value::Nil } else { Value::Int(v) })
        } else {
            let new = Value::Int(next_value);
            next_value += 1;
            if rng.chance(20) {
                let old = rng.below(next_value as u64 - 1) as i64;
                let old = if old == 0 { Value::Nil } else { Value::Int(old) };
                (F::Cas, Value::List(vec![old, new]), Value::Nil)
            } else {
                (F::Write, new, Value::Nil)
            }
        };
        let kind = match rng.below(100) {
            0..=83 => EventType::Ok,
            84..=91 => EventType::Fail,
            _ => EventType::Info,
        };
        if f != F::Read || kind != EventType::Ok {
            output = input.clone();
        }
        let line = events.len() as u64 + 1;
        events.push(Event::new(line, EventType::Invoke, Process::Client(pids[s]), f.clone(), input));
        events.push(Event::new(line + 1, kind, Process::Client(pids[s]), f, output));
        if kind == EventType::Info {
            pids[s] = next_pid;
            next_pid += 1;
        }
    }
    History::from_events("tiny", events).unwrap()
}
