//! The clients: processes that each keep one operation outstanding, choose
//! a node for it, record invoke and completion in the history, retire on an
//! indeterminate outcome (Jepsen's rule: the replacement of process `p` is
//! `p + clients`), and at the end read every key on every node.

use super::engine::Ev;
use super::net::{exp_sample, Latency};
use super::node::{NodeId, Request, RequestId, Response};
use super::nodes::Input;
use super::queue::Queue;
use super::recorder::Recorder;
use super::{ClientRouting, SimConfig};
use crate::workload::Generator;
use checker::{EventType, Value, F};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The clients' own events.
pub(crate) enum ClientEv {
    /// Client `client` issues its next operation.
    Issue { client: u32 },
    /// A node's answer reaches the client.
    Answer { req: u64, response: Box<Response> },
    /// The request's timeout fired.
    Timeout { req: u64 },
    /// Quiescence is over: the final reads begin.
    FinalStart,
}

/// Where the run is, from the clients' side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Client operations are being issued.
    Clients,
    /// Every client op is done; waiting before the final reads.
    Quiesce,
    Final,
    Done,
}

/// Operation counters of a run.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientStats {
    pub(crate) invoked: u64,
    pub(crate) ok: u64,
    pub(crate) fail: u64,
    pub(crate) info: u64,
    pub(crate) final_reads: u64,
    pub(crate) retired: u64,
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
    /// The node it talks to (sticky routing with failover).
    node: NodeId,
    /// `Some(node)` for a final reader.
    final_node: Option<NodeId>,
    final_next: usize,
    done: bool,
}

pub(crate) struct Clients {
    gen: Generator,
    final_keys: Vec<Option<Value>>,
    list: Vec<Client>,
    /// Normal clients that have not finished.
    active: usize,
    finals_active: usize,
    pending: BTreeMap<u64, Pending>,
    next_req: u64,
    ops_issued: usize,
    next_process: u64,
    phase: Phase,
    rng: ChaCha8Rng,
    nodes: usize,
    clients: usize,
    ops: usize,
    /// The client phase ends here at the latest (`--time-limit`).
    time_limit_ns: Option<u64>,
    routing: ClientRouting,
    request_timeout_ns: u64,
    think_mean_ns: u64,
    latency: Latency,
    final_reads: bool,
    quiesce_ns: u64,
    pub(crate) stats: ClientStats,
}

/// What issuing an operation led to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Issued {
    /// Nothing more for the engine to do.
    Nothing,
    /// That was the last normal client: the client phase is over.
    ClientsDone,
}

impl Clients {
    /// `cas`: whether the protocol offers compare-and-set; if not, the
    /// workload's cas weight is ignored.
    pub(crate) fn new(cfg: &SimConfig, rng: ChaCha8Rng, cas: bool) -> Result<Clients, String> {
        let mut workload = cfg.workload.clone();
        if !cas {
            workload.mix.cas = 0;
            workload.validate().map_err(|e| format!("{e} (the protocol has no compare-and-set)"))?;
        }
        let gen = Generator::new(&workload)?;
        let final_keys = gen.final_keys();
        let list = (0..cfg.clients)
            .map(|c| Client {
                process: c as u64,
                node: c % cfg.nodes.max(1),
                final_node: None,
                final_next: 0,
                done: false,
            })
            .collect();
        Ok(Clients {
            gen,
            final_keys,
            list,
            active: cfg.clients,
            finals_active: 0,
            pending: BTreeMap::new(),
            next_req: 0,
            ops_issued: 0,
            next_process: cfg.clients as u64,
            phase: Phase::Clients,
            rng,
            nodes: cfg.nodes,
            clients: cfg.clients,
            ops: cfg.ops,
            time_limit_ns: cfg.time_limit_ns,
            routing: cfg.client_node,
            request_timeout_ns: cfg.request_timeout_ns,
            think_mean_ns: cfg.workload.think_mean_ns,
            latency: cfg.net.client_latency.clone(),
            final_reads: cfg.final_reads,
            quiesce_ns: cfg.quiesce_ns,
            stats: ClientStats::default(),
        })
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// Client ops issued so far (final reads not included).
    pub(crate) fn ops_issued(&self) -> usize {
        self.ops_issued
    }

    /// Requests invoked and not completed.
    pub(crate) fn open(&self) -> usize {
        self.pending.len()
    }

    /// Schedules every client's first operation; with no clients the client
    /// phase is over at once.
    pub(crate) fn start<M>(&mut self, q: &mut Queue<Ev<M>>) -> Issued {
        for c in 0..self.list.len() {
            q.push(0, Ev::Client(ClientEv::Issue { client: c as u32 }));
        }
        if self.list.is_empty() {
            Issued::ClientsDone
        } else {
            Issued::Nothing
        }
    }

    /// Client `c` issues its next operation (or finishes). `up` says which
    /// nodes are live: a request to a crashed node is refused at once.
    pub(crate) fn issue<M>(
        &mut self,
        c: usize,
        now: u64,
        up: impl Fn(NodeId) -> bool,
        q: &mut Queue<Ev<M>>,
        rec: &mut Recorder,
    ) -> Issued {
        let client = &self.list[c];
        if client.done {
            return Issued::Nothing;
        }
        let (f, key, value, node, is_final) = if let Some(node) = client.final_node {
            if client.final_next >= self.final_keys.len() {
                self.list[c].done = true;
                self.finals_active -= 1;
                if self.finals_active == 0 {
                    self.phase = Phase::Done;
                }
                return Issued::Nothing;
            }
            let op = self.gen.final_op(&self.final_keys[client.final_next]);
            self.list[c].final_next += 1;
            (op.f, op.key, op.value, node, true)
        } else {
            let timed_out = self.time_limit_ns.is_some_and(|t| now >= t);
            if self.ops_issued >= self.ops || self.phase != Phase::Clients || timed_out {
                self.list[c].done = true;
                self.active -= 1;
                return if self.active == 0 { Issued::ClientsDone } else { Issued::Nothing };
            }
            self.ops_issued += 1;
            let op = self.gen.next_op(&mut self.rng);
            let node = match self.routing {
                ClientRouting::Sticky => c % self.nodes,
                ClientRouting::Random => self.rng.random_range(0..self.nodes),
                ClientRouting::Failover => {
                    let from = self.list[c].node;
                    let node = (0..self.nodes).map(|i| (from + i) % self.nodes).find(|&n| up(n)).unwrap_or(from);
                    self.list[c].node = node;
                    node
                }
            };
            (op.f, op.key, op.value, node, false)
        };
        let process = self.list[c].process;
        self.stats.invoked += 1;
        if is_final {
            self.stats.final_reads += 1;
        }
        rec.client(now, EventType::Invoke, process, f.clone(), key.clone(), value.clone(), node, is_final);
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
        if !up(node) {
            self.complete(pending, EventType::Fail, Value::str("connection refused"), now, q, rec);
            return Issued::Nothing;
        }
        self.pending.insert(rid, pending);
        let req = Box::new(Request { id: RequestId(rid), f, key, value });
        let delay = self.latency.sample(&mut self.rng);
        q.push(now.saturating_add(delay), Ev::Input { node: node as u32, inc: None, input: Input::Request(req) });
        q.push(now.saturating_add(self.request_timeout_ns), Ev::Client(ClientEv::Timeout { req: rid }));
        Issued::Nothing
    }

    /// Whether request `rid` still waits for an answer (it may have timed out).
    pub(crate) fn is_pending(&self, rid: u64) -> bool {
        self.pending.contains_key(&rid)
    }

    /// Request `rid` reached incarnation `inc` of its node.
    pub(crate) fn arrived(&mut self, rid: u64, inc: u32) {
        if let Some(p) = self.pending.get_mut(&rid) {
            p.inc = Some(inc);
        }
    }

    /// The node of request `rid` is down (or went down holding it): the
    /// client hears "connection refused".
    pub(crate) fn refuse<M>(&mut self, rid: u64, now: u64, q: &mut Queue<Ev<M>>) {
        if let Some(p) = self.pending.get_mut(&rid) {
            if !p.answered {
                p.answered = true;
                self.send_answer(rid, Response::Fail("connection refused".into()), now, q);
            }
        }
    }

    /// Incarnation `inc` of node `from` answers request `id`. Only the first
    /// answer of the incarnation that received it counts.
    pub(crate) fn reply<M>(
        &mut self,
        from: NodeId,
        inc: u32,
        id: RequestId,
        response: Response,
        now: u64,
        q: &mut Queue<Ev<M>>,
    ) {
        let Some(p) = self.pending.get_mut(&id.0) else { return };
        if p.answered || p.node != from || p.inc != Some(inc) {
            return;
        }
        p.answered = true;
        self.send_answer(id.0, response, now, q);
    }

    fn send_answer<M>(&mut self, rid: u64, response: Response, now: u64, q: &mut Queue<Ev<M>>) {
        let delay = self.latency.sample(&mut self.rng);
        q.push(now.saturating_add(delay), Ev::Client(ClientEv::Answer { req: rid, response: Box::new(response) }));
    }

    /// An answer reached the client.
    pub(crate) fn answer<M>(
        &mut self,
        rid: u64,
        response: Response,
        now: u64,
        q: &mut Queue<Ev<M>>,
        rec: &mut Recorder,
    ) {
        let Some(p) = self.pending.remove(&rid) else { return };
        match response {
            Response::Ok(v) => self.complete(p, EventType::Ok, v, now, q, rec),
            Response::Fail(why) => self.complete(p, EventType::Fail, Value::Str(why.into()), now, q, rec),
            Response::Unknown(why) => self.complete(p, EventType::Info, Value::Str(why.into()), now, q, rec),
        }
    }

    /// Request `rid` timed out: indeterminate.
    pub(crate) fn timeout<M>(&mut self, rid: u64, now: u64, q: &mut Queue<Ev<M>>, rec: &mut Recorder) {
        if let Some(p) = self.pending.remove(&rid) {
            self.complete(p, EventType::Info, Value::str("timeout"), now, q, rec);
        }
    }

    /// Records a completion and schedules the client's next op; an info
    /// retires the process.
    fn complete<M>(
        &mut self,
        p: Pending,
        kind: EventType,
        value: Value,
        now: u64,
        q: &mut Queue<Ev<M>>,
        rec: &mut Recorder,
    ) {
        match kind {
            EventType::Ok => self.stats.ok += 1,
            EventType::Fail => self.stats.fail += 1,
            _ => self.stats.info += 1,
        }
        rec.client(now, kind, p.process, p.f, p.key, value, p.node, p.is_final);
        let c = p.client as usize;
        if kind == EventType::Info && self.routing == ClientRouting::Failover && self.nodes > 1 && !p.is_final {
            // Timed out: the node may be unreachable; try another.
            let other = (p.node + self.rng.random_range(1..self.nodes)) % self.nodes;
            self.list[p.client as usize].node = other;
        }
        if kind == EventType::Info {
            self.stats.retired += 1;
            let client = &mut self.list[c];
            client.process = if client.final_node.is_some() {
                self.next_process
            } else {
                // Jepsen: the replacement of process p is p + clients.
                client.process + self.clients as u64
            };
            self.next_process = self.next_process.max(client.process + 1);
        }
        let think = if p.is_final { 0 } else { exp_sample(&mut self.rng, self.think_mean_ns as f64) as u64 };
        q.push(now.saturating_add(think), Ev::Client(ClientEv::Issue { client: c as u32 }));
    }

    /// The client phase is over: wait `quiesce_ns`, then read every key on
    /// every node (or finish, without final reads).
    pub(crate) fn quiesce<M>(&mut self, now: u64, q: &mut Queue<Ev<M>>) {
        if self.final_reads && !self.final_keys.is_empty() {
            self.phase = Phase::Quiesce;
            q.push(now.saturating_add(self.quiesce_ns), Ev::Client(ClientEv::FinalStart));
        } else {
            self.phase = Phase::Done;
        }
    }

    /// One final reader per node, each reading every key in order.
    pub(crate) fn final_start<M>(&mut self, now: u64, q: &mut Queue<Ev<M>>) {
        self.phase = Phase::Final;
        // Transactional workloads retire keys as they go: read every key used.
        self.final_keys = self.gen.final_keys();
        let first = self.list.len();
        for node in 0..self.nodes {
            let process = self.next_process;
            self.next_process += 1;
            self.list.push(Client { process, node, final_node: Some(node), final_next: 0, done: false });
        }
        self.finals_active = self.nodes;
        for c in first..self.list.len() {
            q.push(now, Ev::Client(ClientEv::Issue { client: c as u32 }));
        }
    }
}
