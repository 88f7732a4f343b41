//! Histories from a sequential execution: random session interleavings over
//! one global order of versions per key, each write taking effect at its
//! completion. Reads return the state there (linearizable), or with `stale`
//! an older version: never older than what the session already read or wrote,
//! so every session guarantee still holds though linearizability does not.
//! Either way no session or convergence check may find anything in them.

use crate::history::{Event, EventType, Process, F};
use crate::session::Workload;
use crate::value::Value;

/// splitmix64: small, seedable, good enough to shape test histories.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

#[derive(Clone, Debug)]
pub(crate) struct GenOpts {
    pub workload: Workload,
    pub sessions: usize,
    pub keys: usize,
    pub ops: usize,
    pub read_pct: u64,
    pub info_pct: u64,
    pub fail_pct: u64,
    /// Final reads per key (one per node), after a fault event.
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
fn read_value(o: &GenOpts, s: &State, v: usize, rng: &mut Rng) -> Value {
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

pub(crate) fn generate(o: &GenOpts) -> Vec<Event> {
    let mut rng = Rng(o.seed);
    let mut states = vec![State::default(); o.keys.max(1)];
    let mut pids: Vec<u64> = (0..o.sessions as u64).collect();
    let mut next_pid = o.sessions as u64;
    let mut open: Vec<Option<Pending>> = (0..o.sessions).map(|_| None).collect();
    // Per session slot and key: the oldest version the session may still read.
    let mut floor: Vec<Vec<usize>> = vec![vec![0; o.keys.max(1)]; o.sessions];
    let mut written: Vec<i64> = Vec::new();
    let mut next_value = 1i64;
    let mut events: Vec<Event> = Vec::new();
    let mut issued = 0;
    let fault_at = rng.below(o.ops as u64 * 2 + 1) as usize;
    let push = |events: &mut Vec<Event>, kind, process, f: F, key: Option<Value>, value: Value| {
        let line = events.len() as u64 + 1;
        let mut e = Event::new(line, kind, process, f, value);
        e.key = key;
        e.time_ns = Some(line as i64 * 10);
        events.push(e);
    };
    loop {
        if events.len() == fault_at {
            push(&mut events, EventType::Info, Process::Nemesis, F::parse("partition"), None, Value::Nil);
        }
        let busy: Vec<usize> = (0..o.sessions).filter(|&s| open[s].is_some()).collect();
        if issued >= o.ops && busy.is_empty() {
            break;
        }
        let s = rng.below(o.sessions as u64) as usize;
        if let Some(p) = open[s].take() {
            let st = &mut states[p.key];
            let is_read = p.f == F::Read;
            let cas_fails = p.f == F::Cas && st.register() != p.input.as_seq().unwrap()[0].as_int();
            let roll = rng.below(100);
            let (kind, value) = if cas_fails || roll < o.fail_pct {
                (EventType::Fail, p.input.clone())
            } else if roll < o.fail_pct + o.info_pct {
                if !is_read && rng.pct(50) {
                    apply(o, st, &p);
                }
                (EventType::Info, p.input.clone())
            } else if is_read {
                let (lo, hi) = (floor[s][p.key], st.applied.len());
                let v = if o.stale { lo + rng.below((hi - lo) as u64 + 1) as usize } else { hi };
                floor[s][p.key] = v;
                (EventType::Ok, read_value(o, st, v, &mut rng))
            } else {
                apply(o, st, &p);
                // Its own write (and, for a cas, what it read) is now seen.
                floor[s][p.key] = st.applied.len();
                (EventType::Ok, p.input.clone())
            };
            push(&mut events, kind, Process::Client(pids[s]), p.f, key_value(o, p.key), value);
            if kind == EventType::Info {
                pids[s] = next_pid;
                next_pid += 1;
                floor[s].iter_mut().for_each(|f| *f = 0);
            }
        } else if issued < o.ops {
            issued += 1;
            let key = rng.below(o.keys.max(1) as u64) as usize;
            let (f, input) = if rng.pct(o.read_pct) {
                (F::Read, Value::Nil)
            } else {
                match o.workload {
                    Workload::ListAppend | Workload::Set => {
                        next_value += 1;
                        let f = if o.workload == Workload::Set { F::Add } else { F::Append };
                        (f, Value::Int(next_value))
                    }
                    Workload::Counter => (F::Incr, Value::Int(rng.below(3) as i64 + 1)),
                    Workload::Register => {
                        next_value += 1;
                        written.push(next_value);
                        if rng.pct(25) {
                            let old = if rng.pct(70) || written.len() < 2 {
                                states[key].register().map_or(Value::Nil, Value::Int)
                            } else {
                                Value::Int(written[rng.below(written.len() as u64) as usize])
                            };
                            (F::Cas, Value::List(vec![old, Value::Int(next_value)]))
                        } else {
                            (F::Write, Value::Int(next_value))
                        }
                    }
                }
            };
            push(&mut events, EventType::Invoke, Process::Client(pids[s]), f.clone(), key_value(o, key), input.clone());
            open[s] = Some(Pending { key, f, input });
        }
    }
    for (k, state) in states.iter().enumerate() {
        for n in 0..o.nodes {
            let pid = next_pid;
            next_pid += 1;
            for kind in [EventType::Invoke, EventType::Ok] {
                let v = if kind == EventType::Ok {
                    read_value(o, state, state.applied.len(), &mut rng)
                } else {
                    Value::Nil
                };
                push(&mut events, kind, Process::Client(pid), F::Read, key_value(o, k), v);
                let e = events.last_mut().unwrap();
                e.is_final = true;
                e.node = Some(format!("n{n}").into());
            }
        }
    }
    events
}
