//! The event loop: a binary heap of events keyed by (virtual time, sequence
//! number), the nodes, the network, the clients and the nemesis.

use super::nemesis::{Fault, FaultKind, Target};
use super::net::{exp_sample, grudge_value, node_name, PartitionShape};
use super::node::{Ctx, Effect, Node, NodeId, Protocol, Request, RequestId, Response};
use super::{ClientRouting, RunOutput, RunStats, SimConfig, TraceEntry, TraceKind};
use crate::workload::Generator;
use checker::{Event, EventType, Process, Value, F};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

type Msg<P> = <<P as Protocol>::Node as Node>::Msg;
type Durable<P> = <<P as Protocol>::Node as Node>::Durable;

enum Ev<M> {
    Deliver {
        from: u32,
        to: u32,
        inc: u32,
        id: u64,
        msg: M,
    },
    Timer {
        node: u32,
        inc: u32,
        tag: u64,
    },
    /// A client request reaches its node.
    Arrive {
        req: Box<Request>,
        node: u32,
    },
    /// A node's answer reaches the client.
    Answer {
        req: u64,
        response: Box<Response>,
    },
    ClientIssue {
        client: u32,
    },
    Timeout {
        req: u64,
    },
    FaultStart {
        index: usize,
    },
    FaultStop {
        id: u64,
        generated: bool,
    },
    GenNext,
    FinalStart,
}

/// A heap entry: the ordering key and where the event waits in the slab.
/// Kept small (24 bytes) because the heap moves entries on every push/pop;
/// the events themselves stay put.
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed: the heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// The event queue: a min-heap of keys over a slab of events with a free
/// list, so events are moved in once and out once.
struct Queue<M> {
    heap: BinaryHeap<Entry>,
    slab: Vec<Option<Ev<M>>>,
    free: Vec<u32>,
    seq: u64,
}

impl<M> Queue<M> {
    fn new() -> Self {
        Queue { heap: BinaryHeap::with_capacity(1024), slab: Vec::with_capacity(1024), free: Vec::new(), seq: 0 }
    }

    fn len(&self) -> usize {
        self.heap.len()
    }

    fn push(&mut self, time: u64, ev: Ev<M>) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(ev);
                i
            }
            None => {
                self.slab.push(Some(ev));
                // The in-flight bound (far below u32::MAX) keeps this exact.
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Entry { time, seq: self.seq, slot });
    }

    fn pop(&mut self) -> Option<(u64, Ev<M>)> {
        let e = self.heap.pop()?;
        self.free.push(e.slot);
        let ev = self.slab[e.slot as usize].take()?;
        Some((e.time, ev))
    }
}

/// A node's local clock: `base_local + elapsed * (1 + drift_ppm / 1e6)`
/// where elapsed is virtual time since `base_t`.
#[derive(Clone, Copy)]
struct Clock {
    base_t: u64,
    base_local: i64,
    drift_ppm: i64,
}

impl Clock {
    fn at(&self, now: u64) -> i64 {
        if self.drift_ppm == 0 {
            let d = now.saturating_sub(self.base_t).min(i64::MAX as u64) as i64;
            return self.base_local.saturating_add(d);
        }
        let d = now.saturating_sub(self.base_t) as i128;
        let local = self.base_local as i128 + d + d * self.drift_ppm as i128 / 1_000_000;
        local.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

struct Slot<N: Node> {
    /// `None` while crashed.
    node: Option<N>,
    durable: N::Durable,
    rng: ChaCha8Rng,
    /// Bumped at every crash; events addressed to an older incarnation are
    /// dropped.
    inc: u32,
    paused: bool,
    /// Events that reached the node while paused, in arrival order.
    deferred: Vec<Ev<N::Msg>>,
    clock: Clock,
}

struct Pending {
    client: u32,
    process: u64,
    f: F,
    key: Option<Value>,
    node: NodeId,
    /// The node incarnation that received it (set on arrival).
    inc: Option<u32>,
    answered: bool,
    is_final: bool,
}

struct Client {
    process: u64,
    /// `Some(node)` for a final reader.
    final_node: Option<NodeId>,
    final_next: usize,
    done: bool,
}

/// A fault the nemesis started and has not yet stopped.
struct Active {
    id: u64,
    kind: FaultKind,
    /// Nodes it crashed / paused / skewed.
    nodes: Vec<NodeId>,
    grudge: Vec<bool>,
    rate: f64,
}

#[derive(PartialEq, Eq)]
enum Phase {
    Clients,
    Quiesce,
    Final,
    Done,
}

pub(crate) struct Sim<'a, P: Protocol> {
    proto: &'a P,
    cfg: &'a SimConfig,
    n: usize,
    now: u64,
    heap: Queue<Msg<P>>,
    deferred_total: usize,
    rng: ChaCha8Rng,
    slots: Vec<Slot<P::Node>>,
    effects: Vec<Effect<Msg<P>>>,
    next_msg: u64,
    // network state under faults
    blocked: Vec<bool>,
    loss: f64,
    duplicate: f64,
    // clients
    gen: Generator,
    final_keys: Vec<Option<Value>>,
    clients: Vec<Client>,
    clients_active: usize,
    finals_active: usize,
    pending: BTreeMap<u64, Pending>,
    next_req: u64,
    ops_issued: usize,
    next_process: u64,
    phase: Phase,
    // nemesis
    active: Vec<Active>,
    next_fault_id: u64,
    nemesis_off: bool,
    // output
    events: Vec<Event>,
    trace: Option<Vec<TraceEntry>>,
    stats: RunStats,
}

impl<'a, P: Protocol> Sim<'a, P> {
    pub(crate) fn new(proto: &'a P, cfg: &'a SimConfig) -> Result<Self, String> {
        let n = cfg.nodes;
        let gen = Generator::new(&cfg.workload)?;
        let final_keys = gen.final_keys();
        let slots = (0..n)
            .map(|id| {
                let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
                rng.set_stream(1 + id as u64);
                let durable = Durable::<P>::default();
                Slot {
                    node: Some(proto.create(id, n, &durable)),
                    durable,
                    rng,
                    inc: 0,
                    paused: false,
                    deferred: Vec::new(),
                    clock: Clock { base_t: 0, base_local: 0, drift_ppm: 0 },
                }
            })
            .collect();
        let clients = (0..cfg.clients)
            .map(|c| Client { process: c as u64, final_node: None, final_next: 0, done: false })
            .collect();
        Ok(Sim {
            proto,
            cfg,
            n,
            now: 0,
            heap: Queue::new(),
            deferred_total: 0,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            slots,
            effects: Vec::with_capacity(64),
            next_msg: 0,
            blocked: vec![false; n * n],
            loss: cfg.net.loss,
            duplicate: cfg.net.duplicate,
            gen,
            final_keys,
            clients,
            clients_active: cfg.clients,
            finals_active: 0,
            pending: BTreeMap::new(),
            next_req: 0,
            ops_issued: 0,
            next_process: cfg.clients as u64,
            phase: Phase::Clients,
            active: Vec::new(),
            next_fault_id: 0,
            nemesis_off: false,
            events: Vec::new(),
            trace: if cfg.keep_trace { Some(Vec::new()) } else { None },
            stats: RunStats::default(),
        })
    }

    fn push(&mut self, time: u64, ev: Ev<Msg<P>>) {
        self.heap.push(time, ev);
    }

    fn full(&self) -> bool {
        self.heap.len() + self.deferred_total >= self.cfg.net.max_in_flight
    }

    pub(crate) fn run(mut self) -> RunOutput {
        for id in 0..self.n {
            self.call(id, |node, ctx| node.on_start(ctx));
        }
        for (index, f) in self.cfg.nemesis.faults.iter().enumerate() {
            self.push(f.at_ns, Ev::FaultStart { index });
        }
        if let Some(g) = &self.cfg.nemesis.generate {
            if !g.kinds.is_empty() {
                let gap = self.gap_ns();
                self.push(gap, Ev::GenNext);
            }
        }
        for c in 0..self.clients.len() {
            self.push(0, Ev::ClientIssue { client: c as u32 });
        }
        if self.clients.is_empty() {
            self.end_clients();
        }
        while self.phase != Phase::Done {
            let Some((time, ev)) = self.heap.pop() else {
                self.stats.stopped_early =
                    Some(format!("nothing left to do at {} ns with clients still waiting", self.now));
                break;
            };
            if self.stats.events_processed >= self.cfg.max_events {
                self.stats.stopped_early = Some(format!(
                    "stopped after {} events at {} ns of virtual time (max_events; livelock?)",
                    self.stats.events_processed, self.now
                ));
                break;
            }
            if time > self.cfg.max_time_ns {
                self.stats.stopped_early =
                    Some(format!("stopped at {} ns of virtual time (max_time_ns)", self.cfg.max_time_ns));
                break;
            }
            self.stats.events_processed += 1;
            self.now = time;
            self.dispatch(ev);
        }
        self.stats.sim_duration_ns = self.now;
        self.stats.ops_open = self.pending.len() as u64;
        for slot in &self.slots {
            if let Some(node) = &slot.node {
                merge_protocol_stats(&mut self.stats.protocol, node.stats());
            }
        }
        RunOutput { events: self.events, stats: self.stats, trace: self.trace }
    }

    fn dispatch(&mut self, ev: Ev<Msg<P>>) {
        match ev {
            Ev::Deliver { from, to, inc, id, msg } => {
                let slot = &mut self.slots[to as usize];
                if slot.node.is_none() || slot.inc != inc {
                    self.drop_msg(TraceKind::DropCrash, id, from as usize, to as usize, &msg);
                    return;
                }
                if from != to && self.blocked[from as usize * self.n + to as usize] {
                    self.drop_msg(TraceKind::DropPartition, id, from as usize, to as usize, &msg);
                    return;
                }
                if slot.paused {
                    slot.deferred.push(Ev::Deliver { from, to, inc, id, msg });
                    self.deferred_total += 1;
                    return;
                }
                self.stats.msgs_delivered += 1;
                self.trace_msg(TraceKind::Deliver, id, from as usize, to as usize, &msg);
                self.call(to as usize, |node, ctx| node.on_message(ctx, from as usize, msg));
            }
            Ev::Timer { node, inc, tag } => {
                let slot = &mut self.slots[node as usize];
                if slot.node.is_none() || slot.inc != inc {
                    return;
                }
                if slot.paused {
                    slot.deferred.push(Ev::Timer { node, inc, tag });
                    self.deferred_total += 1;
                    return;
                }
                self.stats.timers_fired += 1;
                self.call(node as usize, |n, ctx| n.on_timer(ctx, tag));
            }
            Ev::Arrive { req, node } => self.arrive(req, node),
            Ev::Answer { req, response } => self.answer(req, *response),
            Ev::ClientIssue { client } => self.issue(client as usize),
            Ev::Timeout { req } => {
                if let Some(p) = self.pending.remove(&req) {
                    self.complete(p, EventType::Info, Value::str("timeout"));
                }
            }
            Ev::FaultStart { index } => {
                if !self.nemesis_off {
                    let f = &self.cfg.nemesis.faults[index];
                    let (fault, duration) = (f.fault.clone(), f.duration_ns);
                    let id = self.start_fault(&fault);
                    self.push(self.now.saturating_add(duration), Ev::FaultStop { id, generated: false });
                }
            }
            Ev::FaultStop { id, generated } => {
                if let Some(i) = self.active.iter().position(|a| a.id == id) {
                    let a = self.active.remove(i);
                    self.stop_fault(a);
                }
                if generated && !self.nemesis_off {
                    let gap = self.gap_ns();
                    self.push(self.now.saturating_add(gap), Ev::GenNext);
                }
            }
            Ev::GenNext => {
                if !self.nemesis_off {
                    let fault = self.generate_fault();
                    let id = self.start_fault(&fault);
                    let g = self.cfg.nemesis.generate.as_ref().map(|g| g.duration_mean_ns).unwrap_or(0);
                    let duration = if g == 0 { 0 } else { self.rng.random_range(g / 2..=g + g / 2) };
                    self.push(self.now.saturating_add(duration), Ev::FaultStop { id, generated: true });
                }
            }
            Ev::FinalStart => self.final_start(),
        }
    }

    /// Runs one handler on a live node and applies its effects.
    fn call(&mut self, id: NodeId, f: impl FnOnce(&mut P::Node, &mut Ctx<Msg<P>, Durable<P>>)) {
        let local = self.slots[id].clock.at(self.now);
        let slot = &mut self.slots[id];
        let Some(node) = slot.node.as_mut() else { return };
        let mut ctx = Ctx::new(id, self.n, local, &mut slot.rng, &mut slot.durable, &mut self.effects);
        f(node, &mut ctx);
        self.apply_effects(id);
    }

    fn apply_effects(&mut self, from: NodeId) {
        let mut effects = std::mem::take(&mut self.effects);
        for e in effects.drain(..) {
            match e {
                Effect::Send { to, msg } => self.send(from, to, msg),
                Effect::Timer { after_ns, tag } => {
                    if self.full() {
                        continue;
                    }
                    let inc = self.slots[from].inc;
                    self.push(self.now.saturating_add(after_ns), Ev::Timer { node: from as u32, inc, tag });
                }
                Effect::Reply { id, response } => self.reply(from, id, response),
            }
        }
        self.effects = effects;
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: Msg<P>) {
        self.stats.msgs_sent += 1;
        let id = self.next_msg;
        self.next_msg += 1;
        if self.trace.is_some() {
            self.trace_msg(TraceKind::Send, id, from, to.min(self.n), &msg);
        }
        if to >= self.n || self.slots[to].node.is_none() {
            self.drop_msg(TraceKind::DropCrash, id, from, to, &msg);
            return;
        }
        if from != to {
            if self.blocked[from * self.n + to] {
                self.drop_msg(TraceKind::DropPartition, id, from, to, &msg);
                return;
            }
            if self.loss > 0.0 && self.rng.random_bool(self.loss) {
                self.drop_msg(TraceKind::DropLoss, id, from, to, &msg);
                return;
            }
        }
        if self.full() {
            self.drop_msg(TraceKind::DropOverflow, id, from, to, &msg);
            return;
        }
        let inc = self.slots[to].inc;
        if from != to && self.duplicate > 0.0 && self.rng.random_bool(self.duplicate) {
            self.stats.msgs_duplicated += 1;
            self.trace_msg(TraceKind::Duplicate, id, from, to, &msg);
            let delay = self.msg_delay();
            let copy = msg.clone();
            self.push(
                self.now.saturating_add(delay),
                Ev::Deliver { from: from as u32, to: to as u32, inc, id, msg: copy },
            );
        }
        let delay = self.msg_delay();
        self.push(self.now.saturating_add(delay), Ev::Deliver { from: from as u32, to: to as u32, inc, id, msg });
    }

    fn msg_delay(&mut self) -> u64 {
        let net = &self.cfg.net;
        let mut d = net.latency.sample(&mut self.rng);
        if net.reorder > 0.0 && self.rng.random_bool(net.reorder) {
            d = d.saturating_add(self.rng.random_range(0..=net.reorder_delay_ns));
        }
        d
    }

    fn drop_msg(&mut self, kind: TraceKind, id: u64, from: NodeId, to: NodeId, msg: &Msg<P>) {
        self.stats.msgs_dropped += 1;
        match kind {
            TraceKind::DropPartition => self.stats.msgs_dropped_partition += 1,
            TraceKind::DropLoss => self.stats.msgs_dropped_loss += 1,
            TraceKind::DropOverflow => self.stats.msgs_dropped_overflow += 1,
            _ => self.stats.msgs_dropped_crash += 1,
        }
        self.trace_msg(kind, id, from, to, msg);
    }

    fn trace_msg(&mut self, kind: TraceKind, id: u64, from: NodeId, to: NodeId, msg: &Msg<P>) {
        if let Some(t) = &mut self.trace {
            if t.len() >= self.cfg.trace_limit {
                self.stats.trace_dropped += 1;
                return;
            }
            t.push(TraceEntry { time_ns: self.now, kind, id, from, to, msg: format!("{msg:?}") });
        }
    }

    // ---- history ----

    fn record(&mut self, kind: EventType, process: Process, f: F, key: Option<Value>, value: Value) -> &mut Event {
        let line = self.events.len() as u64 + 1;
        let mut e = Event::new(line, kind, process, f, value);
        e.key = key;
        e.time_ns = Some(self.now.min(i64::MAX as u64) as i64);
        self.events.push(e);
        let last = self.events.len() - 1;
        &mut self.events[last]
    }

    // ---- clients ----

    fn issue(&mut self, c: usize) {
        let client = &self.clients[c];
        if client.done {
            return;
        }
        let (f, key, value, node, is_final) = if let Some(node) = client.final_node {
            if client.final_next >= self.final_keys.len() {
                self.clients[c].done = true;
                self.finals_active -= 1;
                if self.finals_active == 0 {
                    self.phase = Phase::Done;
                }
                return;
            }
            let key = self.final_keys[client.final_next].clone();
            self.clients[c].final_next += 1;
            (F::Read, key, Value::Nil, node, true)
        } else {
            if self.ops_issued >= self.cfg.ops || self.phase != Phase::Clients {
                self.clients[c].done = true;
                self.clients_active -= 1;
                if self.clients_active == 0 {
                    self.end_clients();
                }
                return;
            }
            self.ops_issued += 1;
            let op = self.gen.next_op(&mut self.rng);
            let node = match self.cfg.client_node {
                ClientRouting::Sticky => c % self.n,
                ClientRouting::Random => self.rng.random_range(0..self.n),
            };
            (op.f, op.key, op.value, node, false)
        };
        let process = self.clients[c].process;
        self.stats.ops_invoked += 1;
        if is_final {
            self.stats.final_reads += 1;
        }
        let e = self.record(EventType::Invoke, Process::Client(process), f.clone(), key.clone(), value.clone());
        e.node = Some(node_name(node));
        e.is_final = is_final;
        let rid = self.next_req;
        self.next_req += 1;
        let pending = Pending {
            client: c as u32,
            process,
            f: f.clone(),
            key: key.clone(),
            node,
            inc: None,
            answered: false,
            is_final,
        };
        if self.slots[node].node.is_none() {
            self.complete(pending, EventType::Fail, Value::str("connection refused"));
            return;
        }
        self.pending.insert(rid, pending);
        let req = Box::new(Request { id: RequestId(rid), f, key, value });
        let delay = self.cfg.net.client_latency.sample(&mut self.rng);
        self.push(self.now.saturating_add(delay), Ev::Arrive { req, node: node as u32 });
        self.push(self.now.saturating_add(self.cfg.request_timeout_ns), Ev::Timeout { req: rid });
    }

    fn arrive(&mut self, req: Box<Request>, node: u32) {
        let rid = req.id.0;
        let Some(p) = self.pending.get_mut(&rid) else { return };
        let slot = &mut self.slots[node as usize];
        if slot.node.is_none() {
            p.answered = true;
            self.send_answer(rid, Response::Fail("connection refused".into()));
            return;
        }
        if slot.paused {
            slot.deferred.push(Ev::Arrive { req, node });
            self.deferred_total += 1;
            return;
        }
        p.inc = Some(slot.inc);
        self.call(node as usize, |n, ctx| n.on_request(ctx, *req));
    }

    fn reply(&mut self, from: NodeId, id: RequestId, response: Response) {
        let inc = self.slots[from].inc;
        let Some(p) = self.pending.get_mut(&id.0) else { return };
        if p.answered || p.node != from || p.inc != Some(inc) {
            return;
        }
        p.answered = true;
        self.send_answer(id.0, response);
    }

    fn send_answer(&mut self, rid: u64, response: Response) {
        let delay = self.cfg.net.client_latency.sample(&mut self.rng);
        self.push(self.now.saturating_add(delay), Ev::Answer { req: rid, response: Box::new(response) });
    }

    fn answer(&mut self, rid: u64, response: Response) {
        let Some(p) = self.pending.remove(&rid) else { return };
        match response {
            Response::Ok(v) => self.complete(p, EventType::Ok, v),
            Response::Fail(why) => self.complete(p, EventType::Fail, Value::Str(why.into())),
            Response::Unknown(why) => self.complete(p, EventType::Info, Value::Str(why.into())),
        }
    }

    /// Records a completion and schedules the client's next op; an info
    /// retires the process.
    fn complete(&mut self, p: Pending, kind: EventType, value: Value) {
        match kind {
            EventType::Ok => self.stats.ops_ok += 1,
            EventType::Fail => self.stats.ops_fail += 1,
            _ => self.stats.ops_info += 1,
        }
        let e = self.record(kind, Process::Client(p.process), p.f, p.key, value);
        e.node = Some(node_name(p.node));
        e.is_final = p.is_final;
        let c = p.client as usize;
        if kind == EventType::Info {
            self.stats.processes_retired += 1;
            let client = &mut self.clients[c];
            client.process = if client.final_node.is_some() {
                self.next_process
            } else {
                // Jepsen: the replacement of process p is p + clients.
                client.process + self.cfg.clients as u64
            };
            self.next_process = self.next_process.max(client.process + 1);
        }
        let think = if p.is_final { 0 } else { self.think_ns() };
        self.push(self.now.saturating_add(think), Ev::ClientIssue { client: c as u32 });
    }

    fn think_ns(&mut self) -> u64 {
        exp_sample(&mut self.rng, self.cfg.workload.think_mean_ns as f64) as u64
    }

    /// All client ops are done: heal everything, then quiesce before the
    /// final reads (or finish).
    fn end_clients(&mut self) {
        self.nemesis_off = true;
        while !self.active.is_empty() {
            let a = self.active.remove(0);
            self.stop_fault(a);
        }
        if self.cfg.final_reads && !self.final_keys.is_empty() {
            self.phase = Phase::Quiesce;
            self.push(self.now.saturating_add(self.cfg.quiesce_ns), Ev::FinalStart);
        } else {
            self.phase = Phase::Done;
        }
    }

    fn final_start(&mut self) {
        self.phase = Phase::Final;
        let first = self.clients.len();
        for node in 0..self.n {
            let process = self.next_process;
            self.next_process += 1;
            self.clients.push(Client { process, final_node: Some(node), final_next: 0, done: false });
        }
        self.finals_active = self.n;
        for c in first..self.clients.len() {
            self.push(self.now, Ev::ClientIssue { client: c as u32 });
        }
    }

    // ---- nemesis ----

    fn gap_ns(&mut self) -> u64 {
        let Some(g) = &self.cfg.nemesis.generate else { return u64::MAX };
        let mean = g.gap_mean_ns as f64 / g.intensity;
        exp_sample(&mut self.rng, mean) as u64
    }

    fn generate_fault(&mut self) -> Fault {
        let Some(g) = &self.cfg.nemesis.generate else { return Fault::Loss { rate: 0.0 } };
        let kind = g.kinds[self.rng.random_range(0..g.kinds.len())];
        let (max_skew, max_drift) = (g.max_skew_ns.max(0), g.max_drift_ppm.max(0));
        let n = self.n;
        match kind {
            FaultKind::Partition => {
                let shapes = PartitionShape::ALL_RANDOM;
                Fault::Partition(shapes[self.rng.random_range(0..shapes.len())])
            }
            FaultKind::Crash => Fault::Crash(self.random_target()),
            FaultKind::Pause => Fault::Pause(self.random_target()),
            FaultKind::Loss => Fault::Loss { rate: self.rng.random_range(0.3..=1.0) },
            FaultKind::Duplicate => Fault::Duplicate { rate: self.rng.random_range(0.2..=0.8) },
            FaultKind::ClockSkew => {
                let target = if n > 1 { Target::Several(self.rng.random_range(1..=n / 2 + 1)) } else { Target::All };
                Fault::ClockSkew {
                    target,
                    skew_ns: self.rng.random_range(-max_skew..=max_skew),
                    drift_ppm: self.rng.random_range(-max_drift..=max_drift),
                }
            }
        }
    }

    fn random_target(&mut self) -> Target {
        match self.rng.random_range(0..3) {
            0 => Target::Random,
            1 => Target::Leader,
            _ => Target::Several(self.rng.random_range(1..=self.n / 2 + 1)),
        }
    }

    /// Live (not crashed) nodes the target names, in id order.
    fn resolve(&mut self, target: Target, want_unpaused: bool) -> Vec<NodeId> {
        let eligible: Vec<NodeId> =
            (0..self.n).filter(|&i| self.slots[i].node.is_some() && !(want_unpaused && self.slots[i].paused)).collect();
        if eligible.is_empty() {
            return eligible;
        }
        let mut out = match target {
            Target::Node(i) => eligible.iter().copied().filter(|&e| e == i).collect(),
            Target::Random => vec![eligible[self.rng.random_range(0..eligible.len())]],
            Target::Several(k) => {
                let mut v = eligible.clone();
                v.shuffle(&mut self.rng);
                v.truncate(k.max(1));
                v
            }
            Target::Leader => {
                let leaders: Vec<NodeId> = eligible
                    .iter()
                    .copied()
                    .filter(|&i| self.slots[i].node.as_ref().is_some_and(|n| n.is_leader()))
                    .collect();
                if leaders.is_empty() {
                    vec![eligible[self.rng.random_range(0..eligible.len())]]
                } else {
                    leaders
                }
            }
            Target::All => eligible,
        };
        out.sort_unstable();
        out
    }

    fn nodes_value(nodes: &[NodeId]) -> Value {
        Value::List(nodes.iter().map(|&i| Value::Str(node_name(i))).collect())
    }

    fn nemesis_event(&mut self, kind: EventType, f: &str, value: Value) {
        self.record(kind, Process::Nemesis, F::parse(f), None, value);
    }

    fn start_fault(&mut self, fault: &Fault) -> u64 {
        let id = self.next_fault_id;
        self.next_fault_id += 1;
        self.stats.faults += 1;
        let kind = fault.kind();
        let f = format!("start-{}", kind.name());
        let mut active = Active { id, kind, nodes: Vec::new(), grudge: Vec::new(), rate: 0.0 };
        let (request, result) = match *fault {
            Fault::Partition(shape) => {
                let grudge = shape.grudge(self.n, &mut self.rng);
                let shape_v = (Value::str("shape"), Value::str(shape.name()));
                let result = Value::map(vec![shape_v.clone(), (Value::str("grudge"), grudge_value(&grudge, self.n))]);
                active.grudge = grudge;
                (Value::map(vec![shape_v]), result)
            }
            Fault::Crash(target) | Fault::Pause(target) => {
                let nodes = self.resolve(target, kind == FaultKind::Pause);
                for &i in &nodes {
                    if kind == FaultKind::Crash {
                        self.crash(i);
                    } else {
                        self.slots[i].paused = true;
                    }
                }
                let result = Value::map(vec![(Value::str("nodes"), Self::nodes_value(&nodes))]);
                active.nodes = nodes;
                (Value::map(vec![(Value::str("target"), Value::Str(target.describe().into()))]), result)
            }
            Fault::Loss { rate } | Fault::Duplicate { rate } => {
                active.rate = rate;
                let v = Value::map(vec![(Value::str("rate"), Value::Float(rate))]);
                (v.clone(), v)
            }
            Fault::ClockSkew { target, skew_ns, drift_ppm } => {
                let nodes = self.resolve(target, false);
                for &i in &nodes {
                    let c = &mut self.slots[i].clock;
                    let local = c.at(self.now);
                    *c = Clock { base_t: self.now, base_local: local.saturating_add(skew_ns), drift_ppm };
                }
                let request = Value::map(vec![
                    (Value::str("target"), Value::Str(target.describe().into())),
                    (Value::str("skew_ns"), Value::Int(skew_ns)),
                    (Value::str("drift_ppm"), Value::Int(drift_ppm)),
                ]);
                let mut result = request.clone();
                if let Value::Map(m) = &mut result {
                    m.insert(Value::str("nodes"), Self::nodes_value(&nodes));
                }
                active.nodes = nodes;
                (request, result)
            }
        };
        self.nemesis_event(EventType::Invoke, &f, request);
        self.nemesis_event(EventType::Info, &f, result);
        self.active.push(active);
        self.refresh_net();
        id
    }

    fn stop_fault(&mut self, a: Active) {
        let f = format!("stop-{}", a.kind.name());
        self.nemesis_event(EventType::Invoke, &f, Value::Nil);
        let result = match a.kind {
            FaultKind::Partition => Value::str("network healed"),
            FaultKind::Loss | FaultKind::Duplicate => Value::map(vec![(Value::str("rate"), Value::Float(0.0))]),
            FaultKind::Crash => {
                for &i in &a.nodes {
                    self.restart(i);
                }
                Value::map(vec![(Value::str("nodes"), Self::nodes_value(&a.nodes))])
            }
            FaultKind::Pause => {
                for &i in &a.nodes {
                    self.resume(i);
                }
                Value::map(vec![(Value::str("nodes"), Self::nodes_value(&a.nodes))])
            }
            FaultKind::ClockSkew => {
                for &i in &a.nodes {
                    self.slots[i].clock = Clock { base_t: self.now, base_local: self.now as i64, drift_ppm: 0 };
                }
                Value::map(vec![(Value::str("nodes"), Self::nodes_value(&a.nodes))])
            }
        };
        self.nemesis_event(EventType::Info, &f, result);
        self.refresh_net();
    }

    /// Recomputes partition and loss/duplication rates from active faults.
    fn refresh_net(&mut self) {
        self.blocked.iter_mut().for_each(|b| *b = false);
        self.loss = self.cfg.net.loss;
        self.duplicate = self.cfg.net.duplicate;
        for a in &self.active {
            match a.kind {
                FaultKind::Partition => {
                    for (b, &g) in self.blocked.iter_mut().zip(&a.grudge) {
                        *b |= g;
                    }
                }
                FaultKind::Loss => self.loss = self.loss.max(a.rate),
                FaultKind::Duplicate => self.duplicate = self.duplicate.max(a.rate),
                _ => {}
            }
        }
    }

    fn crash(&mut self, i: NodeId) {
        self.stats.crashes += 1;
        let slot = &mut self.slots[i];
        if let Some(node) = slot.node.take() {
            merge_protocol_stats(&mut self.stats.protocol, node.stats());
        }
        slot.inc = slot.inc.wrapping_add(1);
        slot.paused = false;
        let deferred = std::mem::take(&mut slot.deferred);
        self.deferred_total -= deferred.len();
        for ev in deferred {
            // Requests that waited on a paused node were never processed.
            if let Ev::Arrive { req, .. } = ev {
                if let Some(p) = self.pending.get_mut(&req.id.0) {
                    p.answered = true;
                    self.send_answer(req.id.0, Response::Fail("connection refused".into()));
                }
            } else if let Ev::Deliver { from, to, id, msg, .. } = ev {
                self.drop_msg(TraceKind::DropCrash, id, from as usize, to as usize, &msg);
            }
        }
    }

    fn restart(&mut self, i: NodeId) {
        if self.slots[i].node.is_some() {
            return;
        }
        self.stats.restarts += 1;
        let node = self.proto.create(i, self.n, &self.slots[i].durable);
        self.slots[i].node = Some(node);
        self.call(i, |n, ctx| n.on_start(ctx));
    }

    fn resume(&mut self, i: NodeId) {
        let slot = &mut self.slots[i];
        if !slot.paused {
            return;
        }
        slot.paused = false;
        let deferred = std::mem::take(&mut slot.deferred);
        self.deferred_total -= deferred.len();
        for ev in deferred {
            self.push(self.now, ev);
        }
    }
}

/// Adds one node incarnation's protocol statistics to the run's: counters
/// named `*_max` keep the maximum, every other counter is summed.
fn merge_protocol_stats(
    into: &mut std::collections::BTreeMap<String, i64>,
    from: std::collections::BTreeMap<String, i64>,
) {
    for (k, v) in from {
        let e = into.entry(k.clone()).or_insert(0);
        *e = if k.ends_with("_max") { (*e).max(v) } else { e.saturating_add(v) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_pops_by_time_then_scheduling_order() {
        let mut q: Queue<()> = Queue::new();
        for (i, time) in [5, 3, 5, 3, 0].into_iter().enumerate() {
            q.push(time, Ev::Timer { node: i as u32, inc: 0, tag: 0 });
        }
        let order: Vec<(u64, u32)> = std::iter::from_fn(|| {
            q.pop().map(|(t, ev)| match ev {
                Ev::Timer { node, .. } => (t, node),
                _ => unreachable!(),
            })
        })
        .collect();
        assert_eq!(order, [(0, 4), (3, 1), (3, 3), (5, 0), (5, 2)]);
        // Slots are reused: the slab does not grow past the high-water mark.
        for round in 0..10 {
            q.push(round, Ev::GenNext);
            q.pop();
        }
        assert_eq!(q.slab.len(), 5);
    }

    #[test]
    fn clock_skews_and_drifts() {
        let c = Clock { base_t: 1_000, base_local: 500, drift_ppm: 0 };
        assert_eq!(c.at(1_000), 500);
        assert_eq!(c.at(2_000), 1_500);
        let fast = Clock { base_t: 0, base_local: 0, drift_ppm: 10_000 };
        assert_eq!(fast.at(1_000_000), 1_010_000);
        let slow = Clock { base_t: 0, base_local: 0, drift_ppm: -500_000 };
        assert_eq!(slow.at(1_000_000), 500_000);
        let huge = Clock { base_t: 0, base_local: i64::MAX, drift_ppm: 1_000_000 };
        assert_eq!(huge.at(u64::MAX), i64::MAX, "saturates instead of overflowing");
    }
}
