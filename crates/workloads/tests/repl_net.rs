//! A hand-driven network for protocol scenario tests: messages are delivered
//! in send order with zero latency, links can be cut one way or both, nodes
//! crash and restart from their durable state, and timers fire when the test
//! advances virtual time. Used by the `repl_*` tests through `mod repl_net;`.
#![allow(dead_code)]

use checker::{Value, F};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use workloads::sim::{Ctx, Effect, Node, NodeId, Protocol, Request, RequestId, Response};

pub type Msg<P> = <<P as Protocol>::Node as Node>::Msg;
pub type Durable<P> = <<P as Protocol>::Node as Node>::Durable;

/// Bound on deliveries per `run` call: a protocol that never goes quiet is a
/// test failure, not a hang.
const MAX_STEPS: usize = 1_000_000;

pub struct Net<P: Protocol> {
    proto: P,
    pub nodes: Vec<Option<P::Node>>,
    pub durable: Vec<Durable<P>>,
    rngs: Vec<ChaCha8Rng>,
    pub queue: VecDeque<(NodeId, NodeId, Msg<P>)>,
    /// (due, seq, node, tag, incarnation)
    timers: Vec<(u64, u64, NodeId, u64, u64)>,
    timer_seq: u64,
    incarnation: Vec<u64>,
    pub now_ns: u64,
    pub skew_ns: Vec<i64>,
    pub replies: BTreeMap<RequestId, (NodeId, Response)>,
    /// Directed links that drop messages (checked at send and delivery).
    pub cut: BTreeSet<(NodeId, NodeId)>,
    pub sent: u64,
    pub dropped: u64,
    next_req: u64,
}

impl<P: Protocol> Net<P> {
    pub fn new(proto: P, n: usize) -> Self {
        let durable: Vec<Durable<P>> = (0..n).map(|_| Default::default()).collect();
        let nodes = (0..n).map(|i| Some(proto.create(i, n, &durable[i]))).collect();
        let mut net = Net {
            proto,
            nodes,
            durable,
            rngs: (0..n).map(|i| ChaCha8Rng::seed_from_u64(i as u64 + 1)).collect(),
            queue: VecDeque::new(),
            timers: Vec::new(),
            timer_seq: 0,
            incarnation: vec![0; n],
            now_ns: 1_000_000_000,
            skew_ns: vec![0; n],
            replies: BTreeMap::new(),
            cut: BTreeSet::new(),
            sent: 0,
            dropped: 0,
            next_req: 0,
        };
        for i in 0..n {
            net.with(i, |node, ctx| node.on_start(ctx));
        }
        net
    }

    pub fn n(&self) -> usize {
        self.nodes.len()
    }

    /// Calls a handler on `node` (if it is up) and applies its effects.
    fn with(&mut self, node: NodeId, f: impl FnOnce(&mut P::Node, &mut Ctx<Msg<P>, Durable<P>>)) {
        let n = self.n();
        let Some(nd) = self.nodes[node].as_mut() else { return };
        let mut effects = Vec::new();
        let local = self.now_ns as i64 + self.skew_ns[node];
        {
            let mut ctx = Ctx::new(node, n, local, &mut self.rngs[node], &mut self.durable[node], &mut effects);
            f(nd, &mut ctx);
        }
        for e in effects {
            match e {
                Effect::Send { to, msg } => {
                    self.sent += 1;
                    if self.cut.contains(&(node, to)) {
                        self.dropped += 1;
                    } else {
                        self.queue.push_back((node, to, msg));
                    }
                }
                Effect::Timer { after_ns, tag } => {
                    self.timer_seq += 1;
                    self.timers.push((self.now_ns + after_ns, self.timer_seq, node, tag, self.incarnation[node]));
                }
                Effect::Reply { id, response } => {
                    self.replies.entry(id).or_insert((node, response));
                }
            }
        }
    }

    pub fn request(&mut self, node: NodeId, f: F, key: Option<Value>, value: Value) -> RequestId {
        self.next_req += 1;
        let id = RequestId(self.next_req);
        self.with(node, |nd, ctx| nd.on_request(ctx, Request { id, f, key, value }));
        id
    }

    pub fn write(&mut self, node: NodeId, v: i64) -> RequestId {
        self.request(node, F::Write, None, Value::Int(v))
    }

    pub fn read(&mut self, node: NodeId) -> RequestId {
        self.request(node, F::Read, None, Value::Nil)
    }

    pub fn add(&mut self, node: NodeId, v: i64) -> RequestId {
        self.request(node, F::Add, None, Value::Int(v))
    }

    pub fn reply(&self, id: RequestId) -> Option<&Response> {
        self.replies.get(&id).map(|(_, r)| r)
    }

    /// Delivers the oldest message in flight; false if none.
    pub fn step(&mut self) -> bool {
        let Some((from, to, msg)) = self.queue.pop_front() else { return false };
        if self.cut.contains(&(from, to)) || self.nodes[to].is_none() {
            self.dropped += 1;
        } else {
            self.with(to, |nd, ctx| nd.on_message(ctx, from, msg));
        }
        true
    }

    /// Delivers until nothing is in flight.
    pub fn run(&mut self) {
        for _ in 0..MAX_STEPS {
            if !self.step() {
                return;
            }
        }
        panic!("protocol did not go quiet within {MAX_STEPS} deliveries");
    }

    /// Drops everything in flight.
    pub fn drop_in_flight(&mut self) {
        self.dropped += self.queue.len() as u64;
        self.queue.clear();
    }

    /// Advances virtual time by `ns`, delivering messages and firing timers
    /// in order.
    pub fn advance(&mut self, ns: u64) {
        let target = self.now_ns + ns;
        loop {
            self.run();
            let next = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, t)| t.0 <= target)
                .min_by_key(|(_, t)| (t.0, t.1))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let (due, _, node, tag, inc) = self.timers.swap_remove(i);
            self.now_ns = due;
            if inc == self.incarnation[node] {
                self.with(node, |nd, ctx| nd.on_timer(ctx, tag));
            }
        }
        self.now_ns = target;
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.advance(ms * 1_000_000);
    }

    pub fn crash(&mut self, node: NodeId) {
        self.nodes[node] = None;
        self.incarnation[node] += 1;
    }

    pub fn restart(&mut self, node: NodeId) {
        let n = self.n();
        self.nodes[node] = Some(self.proto.create(node, n, &self.durable[node]));
        self.with(node, |nd, ctx| nd.on_start(ctx));
    }

    /// Cuts every link between `group` and the other nodes, both ways.
    pub fn partition(&mut self, group: &[NodeId]) {
        for a in 0..self.n() {
            for b in 0..self.n() {
                if group.contains(&a) != group.contains(&b) {
                    self.cut.insert((a, b));
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }
}

pub fn ok(v: i64) -> Response {
    Response::Ok(Value::Int(v))
}

pub fn ok_nil() -> Response {
    Response::Ok(Value::Nil)
}

pub fn ok_list(v: &[i64]) -> Response {
    Response::Ok(Value::List(v.iter().map(|&i| Value::Int(i)).collect()))
}

pub fn params(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

// ---- Simulator runs and checks, shared by the `repl_*` seed sweeps ----

use checker::model::{ModelKind, NilRead};
use checker::{CheckName, CheckResult, History, Verdict, Workload};
use workloads::sim::{run, ClientRouting, FaultKind, NemesisConfig, RunOutput, SimConfig};
use workloads::workload::{WorkloadConfig, WorkloadKind};

/// A small run: 5 nodes, 5 clients, `ops` client ops, generated faults of
/// `faults` at twice the default rate. Register workloads use one register,
/// so that all clients contend on it. Exactly what `conch run --workload W
/// --nemesis F --intensity 2 --ops N [--keys 1]` runs, so a seed found here
/// reproduces from the command line. (Register workloads include cas, which
/// these protocols refuse with `fail`: such ops never happened.)
pub fn sim_cfg(seed: u64, kind: WorkloadKind, faults: &[FaultKind], ops: usize) -> SimConfig {
    let mut workload = WorkloadConfig::new(kind);
    if kind == WorkloadKind::Register {
        workload.keys = 1;
    }
    // The command line's own path from names, so that kinds are ordered alike.
    let names: Vec<&str> = faults.iter().map(|f| f.name()).collect();
    let nemesis = NemesisConfig::from_names(&names.join(","), 2.0).expect("known fault names");
    SimConfig { seed, ops, workload, nemesis, client_node: ClientRouting::Sticky, ..SimConfig::default() }
}

pub fn sim<P: Protocol>(p: &P, cfg: &SimConfig) -> (RunOutput, History) {
    let out = run(p, cfg);
    assert_eq!(out.stats.stopped_early, None, "seed {}", cfg.seed);
    let h = out.history().expect("simulated histories are well-formed");
    (out, h)
}

/// Linearizability with nil meaning "absent" (every bundled store starts
/// empty and reads nil only for keys never written).
pub fn linear(h: &History, model: ModelKind) -> CheckResult {
    testkit::checks::linearizability(h, model, NilRead::Absent, true)
}

/// The session guarantees and convergence, one result per check.
pub fn sessions(h: &History, workload: Workload) -> Vec<CheckResult> {
    testkit::checks::sessions(h, workload, &[])
}

pub fn verdict_of(results: &[CheckResult], c: CheckName) -> Verdict {
    results.iter().find(|r| r.check == c).map(|r| r.verdict).unwrap_or_else(|| panic!("no result for {c}"))
}

/// A one-line summary of what a check found, for failure messages.
pub fn describe(r: &CheckResult) -> String {
    let a = r.keys.iter().flat_map(|k| k.anomalies.iter()).next();
    let why = r.keys.iter().find_map(|k| k.unknown_reason.clone());
    format!("{} {}: {:?} {}", r.check, r.verdict, why, a.map(|a| a.explanation.as_str()).unwrap_or(""))
}
