//! A hand-driven network for protocol scenario tests: the test decides
//! which message is delivered when, cuts links, crashes and restarts nodes,
//! and moves virtual time to fire timers. Messages go in send order with
//! zero latency unless the test picks them; nothing is random except each
//! node's own generator. The protocol's [`Monitor`] watches every handler
//! call; what it finds is in [`ManualNet::violations`]. The one harness of
//! every protocol's unit and scenario tests (the simulator proper is
//! [`crate::sim::run`]).

use super::node::{Ctx, Effect, Key, Monitor, Node, NodeId, Protocol, Request, RequestId, Response, Violation};
use checker::{Value, F};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub type Msg<P> = <<P as Protocol>::Node as Node>::Msg;
pub type Durable<P> = <<P as Protocol>::Node as Node>::Durable;

/// Bound on deliveries per [`ManualNet::run`]: a protocol that never goes
/// quiet is a test failure, not a hang.
const MAX_STEPS: usize = 1_000_000;

/// A pending timer: due time, scheduling order, node, tag, incarnation.
type Timer = (u64, u64, NodeId, u64, u64);

pub struct ManualNet<P: Protocol> {
    /// Builds restarted nodes; replace it to restart with other settings.
    pub proto: P,
    /// `None` while crashed.
    pub nodes: Vec<Option<P::Node>>,
    pub durable: Vec<Durable<P>>,
    rngs: Vec<ChaCha8Rng>,
    /// Messages in flight, oldest first: (from, to, message).
    pub queue: VecDeque<(NodeId, NodeId, Msg<P>)>,
    timers: Vec<Timer>,
    timer_seq: u64,
    incarnation: Vec<u64>,
    /// Virtual time; starts at 1 s so that negative skews stay positive.
    pub now_ns: u64,
    /// Added to `now_ns` for each node's local clock.
    pub skew_ns: Vec<i64>,
    /// The first answer to each request, and the node that gave it.
    pub replies: BTreeMap<RequestId, (NodeId, Response)>,
    /// Directed links that drop messages (checked at send and at delivery).
    pub cut: BTreeSet<(NodeId, NodeId)>,
    pub sent: u64,
    pub dropped: u64,
    next_req: u64,
    monitor: Option<Box<dyn Monitor<P::Node>>>,
    /// What the protocol's monitor found, in order (with the node).
    pub violations: Vec<(NodeId, Violation)>,
}

impl<P: Protocol> ManualNet<P> {
    /// `n` fresh nodes, started.
    pub fn new(proto: P, n: usize) -> Self {
        let durable: Vec<Durable<P>> = (0..n).map(|_| Default::default()).collect();
        let nodes = (0..n).map(|i| Some(proto.create(i, n, &durable[i]))).collect();
        let mut net = ManualNet {
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
            monitor: None,
            violations: Vec::new(),
        };
        net.monitor = net.proto.monitor();
        for i in 0..n {
            net.with(i, |node, ctx| node.on_start(ctx));
        }
        net
    }

    pub fn n(&self) -> usize {
        self.nodes.len()
    }

    /// Node `i`, which must be up.
    pub fn node(&self, i: NodeId) -> &P::Node {
        self.nodes[i].as_ref().unwrap_or_else(|| panic!("node {i} is down"))
    }

    /// Calls a handler on node `i` (if it is up) and applies its effects.
    pub fn with(&mut self, i: NodeId, f: impl FnOnce(&mut P::Node, &mut Ctx<Msg<P>, Durable<P>>)) {
        let n = self.n();
        let Some(node) = self.nodes[i].as_mut() else { return };
        let mut effects = Vec::new();
        let local = (self.now_ns as i64).saturating_add(self.skew_ns[i]);
        let mut ctx = Ctx::new(i, n, local, &mut self.rngs[i], &mut self.durable[i], &mut effects)
            .with_clock_error_bound_ns(self.skew_ns[i].unsigned_abs());
        f(node, &mut ctx);
        if let Some(v) = self.monitor.as_mut().and_then(|m| m.observe(i, node, &self.durable[i])) {
            self.violations.push((i, v));
        }
        for e in effects {
            match e {
                Effect::Send { to, msg } => {
                    self.sent += 1;
                    if self.cut.contains(&(i, to)) {
                        self.dropped += 1;
                    } else {
                        self.queue.push_back((i, to, msg));
                    }
                }
                Effect::Timer { after_ns, tag } => {
                    self.timer_seq += 1;
                    self.timers.push((self.now_ns + after_ns, self.timer_seq, i, tag, self.incarnation[i]));
                }
                Effect::Reply { id, response } => {
                    self.replies.entry(id).or_insert((i, response));
                }
            }
        }
    }

    /// A client request with a fresh id to node `node`.
    pub fn request(&mut self, node: NodeId, f: F, key: Key, value: Value) -> RequestId {
        self.next_req += 1;
        let id = RequestId(self.next_req);
        self.request_with_id(node, id, f, key, value);
        id
    }

    /// A client request with a chosen id.
    pub fn request_with_id(&mut self, node: NodeId, id: RequestId, f: F, key: Key, value: Value) {
        self.with(node, |nd, ctx| nd.on_request(ctx, Request { id, f, key, value }));
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

    /// The value request `id` was answered `ok` with; panics, naming the
    /// request and what came instead, on anything else.
    pub fn ok_value(&self, id: RequestId) -> Value {
        match self.reply(id) {
            Some(Response::Ok(v)) => v.clone(),
            other => panic!("{id:?}: {other:?}"),
        }
    }

    /// Delivers one message, unless its link is cut or its receiver down.
    pub fn deliver(&mut self, from: NodeId, to: NodeId, msg: Msg<P>) {
        if self.cut.contains(&(from, to)) || self.nodes[to].is_none() {
            self.dropped += 1;
        } else {
            self.with(to, |nd, ctx| nd.on_message(ctx, from, msg));
        }
    }

    /// Delivers the oldest message in flight; false if none.
    pub fn step(&mut self) -> bool {
        let Some((from, to, msg)) = self.queue.pop_front() else { return false };
        self.deliver(from, to, msg);
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

    /// Delivers, in order, only messages matching `pred` (also those sent
    /// meanwhile) until none is left; the others stay queued in order.
    pub fn deliver_if(&mut self, pred: impl Fn(&Msg<P>) -> bool) {
        for _ in 0..MAX_STEPS {
            let queued: Vec<_> = self.queue.drain(..).collect();
            let mut delivered = false;
            for (from, to, msg) in queued {
                if pred(&msg) {
                    delivered = true;
                    self.deliver(from, to, msg);
                } else {
                    self.queue.push_back((from, to, msg));
                }
            }
            if !delivered {
                return;
            }
        }
        panic!("protocol did not go quiet within {MAX_STEPS} rounds");
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

    /// Crashes node `i`: its volatile state and timers are gone.
    pub fn crash(&mut self, i: NodeId) {
        self.nodes[i] = None;
        self.incarnation[i] += 1;
    }

    /// Rebuilds node `i` from its durable state (crashing it first if it
    /// is up) and starts it.
    pub fn restart(&mut self, i: NodeId) {
        if self.nodes[i].is_some() {
            self.crash(i);
        }
        let n = self.n();
        self.nodes[i] = Some(self.proto.create(i, n, &self.durable[i]));
        self.with(i, |nd, ctx| nd.on_start(ctx));
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

    /// Cuts node `i` off from every other node, both ways.
    pub fn isolate(&mut self, i: NodeId) {
        for b in (0..self.n()).filter(|&b| b != i) {
            self.cut.insert((i, b));
            self.cut.insert((b, i));
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }
}
