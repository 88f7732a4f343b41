//! The event loop: pops the earliest event and hands it to the part of the
//! simulator it belongs to — a node ([`nodes`](super::nodes)), the clients
//! ([`clients`](super::clients)) or the nemesis ([`faults`](super::faults)) —
//! then applies what came of it: a node's effects go through the network
//! ([`network`](super::network)), a started or stopped fault changes nodes
//! and links.

use super::clients::{ClientEv, Clients, Issued, Phase};
use super::faults::{Active, At, Change, FaultEv, Faults, Measure};
use super::nemesis::{FaultKind, Generated};
use super::network::{Network, Rate};
use super::node::{Ctx, Effect, Node, NodeId, Protocol};
use super::nodes::{Called, Cluster, Deferred, Input};
use super::points::{self, PointConfig, Points};
use super::queue::Queue;
use super::recorder::Recorder;
use super::{RunOutput, RunStats, SimConfig, TraceKind};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

type Msg<P> = <<P as Protocol>::Node as Node>::Msg;
type Durable<P> = <<P as Protocol>::Node as Node>::Durable;

/// Every event the queue holds.
pub(crate) enum Ev<M> {
    /// An input reaches node `node`; `inc`: the incarnation it is addressed
    /// to (`None`: whichever is live, for client requests).
    Input {
        node: u32,
        inc: Option<u32>,
        input: Input<M>,
    },
    Client(ClientEv),
    Fault(FaultEv),
    /// Node `node`, crashed at a fault point as incarnation `inc - 1`,
    /// restarts (unless something else restarted it already).
    Restart {
        node: u32,
        inc: u32,
    },
}

/// Random streams of one seed, one per part of the simulator, so that
/// changing one part (another fault kind, more clients) leaves the others'
/// draws alone. Node `i` uses stream `1 + i` (see [`Cluster::new`]); these
/// sit above any node's.
const STREAM_NETWORK: u64 = 1 << 40;
const STREAM_CLIENTS: u64 = STREAM_NETWORK + 1;
const STREAM_FAULTS: u64 = STREAM_NETWORK + 2;
/// Generated faults of kind `k` (its `FaultKind::stream_index`).
const STREAM_FAULT_KINDS: u64 = STREAM_NETWORK + 16;
/// Fault points ([`Points`]).
const STREAM_POINTS: u64 = STREAM_NETWORK + 3;

/// Fault points crash nodes when the nemesis generates crashes, as often at
/// most as the crash stream places crashes.
fn point_config(cfg: &SimConfig) -> PointConfig {
    match &cfg.nemesis.generate {
        Some(g) => {
            let (crash, leader) = (g.kinds.contains(&FaultKind::Crash), g.kinds.contains(&FaultKind::Leader));
            let budget = if crash { g.slots() } else { 0 };
            let leader_budget = if leader { g.slots().saturating_mul(points::LEADER_POINT_CRASHES) } else { 0 };
            PointConfig { crash, leader, budget, leader_budget }
        }
        None => PointConfig { crash: false, leader: false, budget: 0, leader_budget: 0 },
    }
}

/// The client phase is measured in virtual time with a time limit, else in
/// ops issued.
fn measure(cfg: &SimConfig) -> Measure {
    match cfg.time_limit_ns {
        Some(t) => Measure::Time(t),
        None => Measure::Ops(cfg.ops as u64),
    }
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

pub(crate) struct Sim<'a, P: Protocol> {
    cfg: &'a SimConfig,
    now: u64,
    queue: Queue<Ev<Msg<P>>>,
    cluster: Cluster<'a, P>,
    network: Network,
    clients: Clients,
    faults: Faults<'a>,
    rec: Recorder,
    /// Reused buffer for a handler's effects.
    effects: Vec<Effect<Msg<P>>>,
    timers_fired: u64,
    events_processed: u64,
    stopped_early: Option<String>,
}

impl<'a, P: Protocol> Sim<'a, P> {
    pub(crate) fn new(proto: &'a P, cfg: &'a SimConfig) -> Result<Self, String> {
        let n = cfg.nodes;
        Ok(Sim {
            cfg,
            now: 0,
            queue: Queue::new(),
            cluster: Cluster::new(proto, n, cfg.seed, Points::new(point_config(cfg), stream(cfg.seed, STREAM_POINTS))),
            network: Network::new(&cfg.net, n, stream(cfg.seed, STREAM_NETWORK), cfg.keep_trace, cfg.trace_limit),
            clients: Clients::new(cfg, stream(cfg.seed, STREAM_CLIENTS), proto.offers_cas())?,
            faults: Faults::new(
                &cfg.nemesis,
                (0..n).map(|i| proto.datacenter(i, n)).collect(),
                measure(cfg),
                stream(cfg.seed, STREAM_FAULTS),
                |k| stream(cfg.seed, STREAM_FAULT_KINDS + k),
            ),
            rec: Recorder::default(),
            effects: Vec::with_capacity(64),
            timers_fired: 0,
            events_processed: 0,
            stopped_early: None,
        })
    }

    pub(crate) fn run(mut self) -> RunOutput {
        for id in 0..self.cluster.len() {
            self.call(id, |node, ctx| node.on_start(ctx));
        }
        self.faults.schedule(&mut self.queue);
        if self.clients.start(&mut self.queue) == Issued::ClientsDone {
            self.end_clients();
        }
        while self.clients.phase() != Phase::Done {
            let Some((time, ev)) = self.queue.pop() else {
                self.stopped_early = Some(format!("nothing left to do at {} ns with clients still waiting", self.now));
                break;
            };
            if self.events_processed >= self.cfg.max_events {
                self.stopped_early = Some(format!(
                    "stopped after {} events at {} ns of virtual time (max_events; livelock?)",
                    self.events_processed, self.now
                ));
                break;
            }
            if time > self.cfg.max_time_ns {
                self.stopped_early =
                    Some(format!("stopped at {} ns of virtual time (max_time_ns)", self.cfg.max_time_ns));
                break;
            }
            debug_assert!(time >= self.now, "virtual time never goes back");
            self.events_processed += 1;
            self.now = time;
            match ev {
                Ev::Input { node, inc, input } => self.input(node as usize, inc, input),
                Ev::Client(ev) => self.client_event(ev),
                Ev::Fault(ev) => self.fault_event(ev),
                Ev::Restart { node, inc } => self.point_restart(node as usize, inc),
            }
        }
        self.finish()
    }

    fn finish(mut self) -> RunOutput {
        let (c, n) = (&self.clients.stats, &self.network.stats);
        let stats = RunStats {
            ops_invoked: c.invoked,
            ops_ok: c.ok,
            ops_fail: c.fail,
            ops_info: c.info,
            ops_open: self.clients.open() as u64,
            final_reads: c.final_reads,
            processes_retired: c.retired,
            msgs_sent: n.sent,
            msgs_delivered: n.delivered,
            msgs_dropped: n.dropped(),
            msgs_dropped_partition: n.dropped_partition,
            msgs_dropped_loss: n.dropped_loss,
            msgs_dropped_crash: n.dropped_crash,
            msgs_dropped_overflow: n.dropped_overflow,
            msgs_duplicated: n.duplicated,
            msgs_held: n.held,
            timers_fired: self.timers_fired,
            faults: self.faults.started(),
            faults_by_kind: self.faults.by_kind(),
            crashes: self.cluster.crashes,
            crashes_lost_unsynced: self.cluster.crashes_lost_unsynced,
            restarts: self.cluster.restarts,
            sim_duration_ns: self.now,
            events_processed: self.events_processed,
            trace_dropped: n.trace_dropped,
            stopped_early: self.stopped_early.take(),
            protocol: self.cluster.protocol_stats(),
            invariant_violations: std::mem::take(&mut self.cluster.violations),
            invariant_violations_total: self.cluster.violations_total,
            fault_points: self.cluster.points.stats(),
            coverage: self.cluster.points.coverage(),
        };
        RunOutput { events: std::mem::take(&mut self.rec.events), stats, trace: self.network.take_trace() }
    }

    /// Events in flight count against `max_in_flight`, those a paused node
    /// holds included.
    fn full(&self) -> bool {
        self.queue.len() + self.cluster.deferred_total() >= self.cfg.net.max_in_flight
    }

    // ---- nodes ----

    fn input(&mut self, i: NodeId, inc: Option<u32>, input: Input<Msg<P>>) {
        let live = self.cluster.is_up(i) && inc.is_none_or(|inc| inc == self.cluster.incarnation(i));
        match input {
            Input::Message { from, id, sent_ns, from_inc, msg } => {
                let from_id = from as usize;
                let buffered =
                    self.cluster.lost_in_send_buffer(from_id, from_inc, sent_ns, self.cfg.net.send_buffer_ns);
                if !live || buffered {
                    self.network.drop(self.now, TraceKind::DropCrash, id, from_id, i, &msg);
                } else if self.network.is_cut(from_id, i) {
                    self.network.drop(self.now, TraceKind::DropPartition, id, from_id, i, &msg);
                } else if self.cluster.is_paused(i) {
                    self.cluster.defer(i, (inc, Input::Message { from, id, sent_ns, from_inc, msg }));
                } else {
                    self.network.delivered(self.now, id, from_id, i, &msg);
                    self.call(i, |node, ctx| node.on_message(ctx, from_id, msg));
                }
            }
            Input::Timer { tag } => {
                if !live {
                    // Timers die with their incarnation.
                } else if self.cluster.is_paused(i) {
                    self.cluster.defer(i, (inc, Input::Timer { tag }));
                } else {
                    self.timers_fired += 1;
                    self.call(i, |node, ctx| node.on_timer(ctx, tag));
                }
            }
            Input::Request(req) => {
                let rid = req.id.0;
                if !self.clients.is_pending(rid) {
                    // Timed out on the way.
                } else if !live {
                    self.clients.refuse(rid, self.now, &mut self.queue);
                } else if self.cluster.is_paused(i) {
                    self.cluster.defer(i, (inc, Input::Request(req)));
                } else {
                    self.clients.arrived(rid, self.cluster.incarnation(i));
                    self.call(i, |node, ctx| node.on_request(ctx, *req));
                }
            }
        }
    }

    /// Runs one handler on a live node and applies its effects.
    fn call(&mut self, id: NodeId, f: impl FnOnce(&mut P::Node, &mut Ctx<Msg<P>, Durable<P>>)) {
        let mut effects = std::mem::take(&mut self.effects);
        let called = self.cluster.call(id, self.now, &mut effects, f);
        for e in effects.drain(..) {
            self.apply(id, e);
        }
        self.effects = effects;
        if let Called::CrashedAt(point) = called {
            self.point_crash(id, point);
        }
    }

    /// Node `id` powered off at fault point `point`: it crashes now (its
    /// send buffer is lost with it) and restarts after a downtime drawn
    /// log-uniformly from the shortest eighth of a crash fault's durations
    /// (a reboot, not an outage: the point is the moment, not the
    /// downtime).
    ///
    /// A crash at a leader point under leader faults is a rolling one
    /// instead: the node stays down until the next such crash takes down
    /// another leader, and restarts then (at most a downtime drawn from the
    /// longer half of a crash fault's durations). That is Raft's Figure 8
    /// schedule — the old leader comes back as the new one dies, with
    /// entries of its term that the next leader may wrongly commit — and any
    /// leader-based protocol's "failover and failback" in general.
    fn point_crash(&mut self, id: NodeId, point: &'static str) {
        let targeted = self.cluster.points.last_crash_targeted();
        self.down_until_restart(id, targeted);
        self.faults.point_crash(id, point, self.now, &mut self.rec);
        if targeted {
            self.roll(id);
        }
    }

    /// Crashes node `id` (the caller records it) and queues its restart
    /// after a downtime: from the longer half of a crash fault's durations
    /// for a `rolling` crash, else from their shortest eighth.
    fn down_until_restart(&mut self, id: NodeId, rolling: bool) {
        // An explicit schedule's failover episode: the default durations.
        let defaults = Generated::new(Vec::new(), 1.0);
        let g = self.cfg.nemesis.generate.as_ref().unwrap_or(&defaults);
        let (lo, hi) = if rolling {
            (g.duration_max_ns / 8, g.duration_max_ns / 2)
        } else {
            (g.duration_min_ns, g.duration_max_ns / 8)
        };
        let downtime = self.cluster.points.downtime_ns(lo, hi);
        self.down_for(id, downtime);
    }

    /// Crashes node `id` (the caller records it) and queues its restart
    /// `downtime_ns` from now.
    fn down_for(&mut self, id: NodeId, downtime_ns: u64) {
        let held = self.cluster.crash(id, self.now);
        self.discard(id, held);
        self.cluster.point_down.push(id);
        let inc = self.cluster.incarnation(id);
        self.queue.push(self.now.saturating_add(downtime_ns), Ev::Restart { node: id as u32, inc });
    }

    /// Node `id` is the rolling crash's node now: the one down before it
    /// restarts.
    fn roll(&mut self, id: NodeId) {
        if let Some(prev) = self.cluster.rolling.replace(id) {
            let inc = self.cluster.incarnation(prev);
            self.point_restart(prev, inc);
        }
    }

    /// The end of a fault point's crash: node `i` restarts if it is still
    /// down in the incarnation the crash left.
    fn point_restart(&mut self, i: NodeId, inc: u32) {
        let Some(k) = self.cluster.point_down.iter().position(|&d| d == i) else { return };
        if self.cluster.incarnation(i) != inc {
            return;
        }
        self.cluster.point_down.remove(k);
        if self.cluster.rolling == Some(i) {
            self.cluster.rolling = None;
        }
        self.faults.point_restart(i, self.now, &mut self.rec);
        if self.cluster.restart(i) {
            self.call(i, |n, ctx| n.on_start(ctx));
        }
    }

    fn apply(&mut self, from: NodeId, e: Effect<Msg<P>>) {
        match e {
            Effect::Send { to, msg } => {
                let to_up = to < self.cluster.len() && self.cluster.is_up(to);
                let full = self.full();
                let Some(sent) = self.network.send(self.now, from, to, to_up, full, &msg) else { return };
                let inc = Some(self.cluster.incarnation(to));
                let from_inc = self.cluster.incarnation(from);
                let (node, sent_ns, from) = (to as u32, self.now, from as u32);
                if let Some(d) = sent.duplicate_delay_ns {
                    let input = Input::Message { from, id: sent.id, sent_ns, from_inc, msg: msg.clone() };
                    self.queue.push(self.now.saturating_add(d), Ev::Input { node, inc, input });
                }
                let input = Input::Message { from, id: sent.id, sent_ns, from_inc, msg };
                self.queue.push(self.now.saturating_add(sent.delay_ns), Ev::Input { node, inc, input });
            }
            Effect::Timer { after_ns, tag } => {
                if !self.full() {
                    let inc = Some(self.cluster.incarnation(from));
                    let ev = Ev::Input { node: from as u32, inc, input: Input::Timer { tag } };
                    self.queue.push(self.now.saturating_add(after_ns), ev);
                }
            }
            Effect::Reply { id, response } => {
                let inc = self.cluster.incarnation(from);
                self.clients.reply(from, inc, id, response, self.now, &mut self.queue);
            }
        }
    }

    /// Inputs a crashed node held while paused: requests are refused,
    /// messages dropped, timers forgotten.
    fn discard(&mut self, i: NodeId, deferred: Vec<Deferred<Msg<P>>>) {
        for (_, input) in deferred {
            match input {
                Input::Request(req) => self.clients.refuse(req.id.0, self.now, &mut self.queue),
                Input::Message { from, id, msg, .. } => {
                    self.network.drop(self.now, TraceKind::DropCrash, id, from as usize, i, &msg)
                }
                Input::Timer { .. } => {}
            }
        }
    }

    // ---- clients ----

    fn client_event(&mut self, ev: ClientEv) {
        let (now, q, rec) = (self.now, &mut self.queue, &mut self.rec);
        match ev {
            ClientEv::Issue { client } => {
                let cluster = &self.cluster;
                let done = self.clients.issue(client as usize, now, |n| cluster.is_up(n), q, rec);
                let ops = self.clients.ops_issued() as u64;
                if self.faults.due(ops) {
                    let status = self.cluster.status();
                    let leader_points = self.cluster.points.has_leader_points();
                    let at =
                        At { now: self.now, nodes: &status, q: &mut self.queue, rec: &mut self.rec, leader_points };
                    let changes = self.faults.progress(ops, at);
                    self.apply_changes(changes);
                }
                if done == Issued::ClientsDone {
                    self.end_clients();
                }
            }
            ClientEv::Answer { req, response } => self.clients.answer(req, *response, now, q, rec),
            ClientEv::Timeout { req } => self.clients.timeout(req, now, q, rec),
            ClientEv::FinalStart => self.clients.final_start(now, q),
        }
    }

    /// Every client op is done: heal everything, then quiesce before the
    /// final reads (or finish).
    fn end_clients(&mut self) {
        for a in self.faults.stop_all(self.now, &mut self.rec) {
            self.undo(a);
        }
        self.cluster.points.stop();
        self.cluster.rolling = None;
        for i in std::mem::take(&mut self.cluster.point_down) {
            self.faults.point_restart(i, self.now, &mut self.rec);
            if self.cluster.restart(i) {
                self.call(i, |n, ctx| n.on_start(ctx));
            }
        }
        self.clients.quiesce(self.now, &mut self.queue);
    }

    // ---- faults ----

    fn fault_event(&mut self, ev: FaultEv) {
        let status = self.cluster.status();
        let leader_points = self.cluster.points.has_leader_points();
        let at = At { now: self.now, nodes: &status, q: &mut self.queue, rec: &mut self.rec, leader_points };
        let changes = self.faults.on_event(ev, at);
        self.apply_changes(changes);
    }

    fn apply_changes(&mut self, changes: Vec<Change>) {
        for c in changes {
            match c {
                Change::Start(a) => self.apply_fault(&a),
                Change::Stop(a) => self.undo(a),
            }
        }
    }

    fn apply_fault(&mut self, a: &Active) {
        match a.kind {
            FaultKind::Partition | FaultKind::DcPartition => self.network.cut(&a.grudge, true),
            FaultKind::Swizzle => self.network.clog(a.id, &a.clogs),
            FaultKind::LinkLoss => self.network.set_link_loss(a.id, Some(&a.link_rates)),
            FaultKind::Crash if a.failover => {
                // A crashed leader is the episode's first rolling crash (the
                // next leader to die at a point brings it back); other
                // targets stay down for the drawn duration.
                self.cluster.points.failover_begin();
                for &i in &a.nodes {
                    if a.leader_crash {
                        self.down_until_restart(i, true);
                        self.roll(i);
                    } else {
                        self.down_for(i, a.duration_ns);
                    }
                }
            }
            FaultKind::Crash => {
                for &i in &a.nodes {
                    let held = self.cluster.crash(i, self.now);
                    self.discard(i, held);
                }
            }
            FaultKind::Pause => a.nodes.iter().for_each(|&i| self.cluster.pause(i)),
            FaultKind::Loss => self.network.set_rate(Rate::Loss, a.id, Some(a.rate)),
            FaultKind::Duplicate => self.network.set_rate(Rate::Duplicate, a.id, Some(a.rate)),
            FaultKind::ClockSkew => {
                for &i in &a.nodes {
                    self.cluster.skew_clock(i, self.now, a.skew_ns, a.drift_ppm);
                }
            }
            // Never an active fault's kind: the leader stream's faults are
            // crashes, pauses and partitions.
            FaultKind::Leader => {}
        }
    }

    fn undo(&mut self, a: Active) {
        match a.kind {
            FaultKind::Partition | FaultKind::DcPartition => self.network.cut(&a.grudge, false),
            FaultKind::Swizzle => self.network.unclog(a.id),
            FaultKind::LinkLoss => self.network.set_link_loss(a.id, None),
            FaultKind::Crash if a.failover => {
                // The episode is over: the nodes it keeps down come back.
                self.cluster.points.failover_end();
                for i in self.cluster.rolling.into_iter().chain(a.nodes) {
                    let inc = self.cluster.incarnation(i);
                    self.point_restart(i, inc);
                }
            }
            FaultKind::Crash => {
                for &i in &a.nodes {
                    if self.cluster.restart(i) {
                        self.call(i, |n, ctx| n.on_start(ctx));
                    }
                }
            }
            FaultKind::Pause => {
                for &i in &a.nodes {
                    for (inc, input) in self.cluster.resume(i) {
                        self.queue.push(self.now, Ev::Input { node: i as u32, inc, input });
                    }
                }
            }
            FaultKind::Loss => self.network.set_rate(Rate::Loss, a.id, None),
            FaultKind::Duplicate => self.network.set_rate(Rate::Duplicate, a.id, None),
            FaultKind::ClockSkew => a.nodes.iter().for_each(|&i| self.cluster.sync_clock(i, self.now)),
            FaultKind::Leader => {}
        }
    }
}
