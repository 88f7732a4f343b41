//! The nemesis at run time: when faults start and stop, which nodes they
//! hit, and their record in the history. It decides; the engine applies a
//! started fault to the nodes and the network ([`Active`]) and undoes it
//! when the fault stops.
//!
//! Generated faults come from one stream per kind ([`Generated`]), each
//! with its own random stream of the seed, so that asking for another kind
//! leaves the faults of the others as they were. A stream's faults are
//! placed in slots of the client phase, measured in ops issued or in
//! virtual time ([`Measure`]), or follow each other after random gaps
//! (`interval_ns`).

use super::engine::Ev;
use super::nemesis::{Fault, FaultKind, Generated, NemesisConfig, Target, HEAL_AT};
use super::net::{datacenter_grudge, grudge_value, node_name, PartitionShape};
use super::node::NodeId;
use super::nodes::NodeStatus;
use super::queue::Queue;
use super::recorder::Recorder;
use checker::{EventType, Value};
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The nemesis's own events.
pub(crate) enum FaultEv {
    /// Explicit fault `index` of the schedule starts.
    Start { index: usize },
    /// Fault `id` stops (an explicit fault, or a generated one whose
    /// duration is over).
    Stop { id: u64 },
    /// Stream `stream` starts its next fault.
    Next { stream: usize },
    /// [`HEAL_AT`] of the client phase (in time): generated faults stop.
    HealAll,
}

/// Where a nemesis decision is taken: the virtual time, the nodes' state
/// (whom a fault may hit), the event queue (for its stop) and the history.
pub(crate) struct At<'a, M> {
    pub(crate) now: u64,
    pub(crate) nodes: &'a [NodeStatus],
    pub(crate) q: &'a mut Queue<Ev<M>>,
    pub(crate) rec: &'a mut Recorder,
    /// The protocol passed a leader fault point in this run: generated
    /// crash faults are failover episodes ([`Target::LeaderFailover`]).
    pub(crate) leader_points: bool,
}

/// How the client phase is measured, and its planned length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Client ops issued, of this many.
    Ops(u64),
    /// Virtual nanoseconds, of this many (`--time-limit`).
    Time(u64),
}

impl Measure {
    fn total(&self) -> u64 {
        match *self {
            Measure::Ops(n) | Measure::Time(n) => n,
        }
    }

    /// Where generated faults are all healed.
    fn heal_at(&self) -> u64 {
        libm::floor(self.total() as f64 * HEAL_AT) as u64
    }
}

/// A started change for the engine to apply, in order.
pub(crate) enum Change {
    Start(Active),
    Stop(Active),
}

/// A fault that started and has not stopped: what the engine applied.
#[derive(Clone, Debug)]
pub(crate) struct Active {
    pub(crate) id: u64,
    pub(crate) kind: FaultKind,
    /// Nodes it crashed / paused / skewed.
    pub(crate) nodes: Vec<NodeId>,
    /// Partition: `grudge[a * n + b]`, a cannot reach b.
    pub(crate) grudge: Vec<bool>,
    /// Loss / duplication rate.
    pub(crate) rate: f64,
    /// Clock skew: the jump and the drift.
    pub(crate) skew_ns: i64,
    pub(crate) drift_ppm: i64,
    /// A crash that opens a failover episode ([`Target::LeaderFailover`],
    /// or any generated crash in a run with leader points).
    pub(crate) failover: bool,
    /// It crashed the leader (the episode's first rolling crash).
    pub(crate) leader_crash: bool,
    /// Its drawn duration (a failover episode's other nodes stay down
    /// this long, the episode its whole slot).
    pub(crate) duration_ns: u64,
    /// Swizzle: each clogged node and the virtual times it is clogged
    /// from and until (messages to or from it in between are held).
    pub(crate) clogs: Vec<(NodeId, u64, u64)>,
    /// Link loss: `link_rates[a * n + b]`, the loss rate from a to b.
    pub(crate) link_rates: Vec<f64>,
}

/// One kind's generated faults.
struct Stream {
    kind: FaultKind,
    rng: ChaCha8Rng,
    /// Slot schedule: each fault's (start, heal) point in the phase's
    /// measure, in order; empty with an interval.
    slots: Vec<(u64, u64)>,
    /// The next slot to start.
    next: usize,
    /// The active fault: its id, and (slot schedule) where it heals at the
    /// latest.
    active: Option<(u64, u64)>,
}

/// What the nemesis did, for the record and the run's statistics.
struct Log {
    n: usize,
    /// Each node's datacenter ([`super::Protocol::datacenter`]).
    dc_of: Vec<usize>,
    active: Vec<Active>,
    next_id: u64,
    /// Faults started.
    started: u64,
    /// Faults that took effect (a node fault hit at least one node), per kind.
    by_kind: BTreeMap<FaultKind, u64>,
    /// The next fault begun, a crash, opens a failover episode (set by the
    /// crash stream in a run with leader points; reset by [`Log::begin`]).
    episode: bool,
}

pub(crate) struct Faults<'c> {
    cfg: &'c NemesisConfig,
    measure: Measure,
    /// For explicit faults' random choices.
    rng: ChaCha8Rng,
    streams: Vec<Stream>,
    log: Log,
    /// Set when the clients finish: no fault starts after that.
    off: bool,
    /// Set at [`HEAL_AT`]: no generated fault starts after that.
    generated_off: bool,
}

impl<'c> Faults<'c> {
    /// `dc_of[i]`: node i's datacenter (one entry per node);
    /// `stream_rng(k)`: the random stream of kind `k`
    /// ([`FaultKind::stream_index`]).
    pub(crate) fn new(
        cfg: &'c NemesisConfig,
        dc_of: Vec<usize>,
        measure: Measure,
        rng: ChaCha8Rng,
        stream_rng: impl Fn(u64) -> ChaCha8Rng,
    ) -> Faults<'c> {
        let mut streams = Vec::new();
        if let Some(g) = &cfg.generate {
            for &kind in &g.kinds {
                let mut rng = stream_rng(kind.stream_index());
                let slots = if g.interval_ns.is_some() { Vec::new() } else { slots(g, measure, &mut rng) };
                streams.push(Stream { kind, rng, slots, next: 0, active: None });
            }
        }
        let log = Log {
            n: dc_of.len(),
            dc_of,
            active: Vec::new(),
            next_id: 0,
            started: 0,
            by_kind: BTreeMap::new(),
            episode: false,
        };
        Faults { cfg, measure, rng, streams, log, off: false, generated_off: false }
    }

    /// Faults started.
    pub(crate) fn started(&self) -> u64 {
        self.log.started
    }

    /// Faults that took effect, per kind, by name.
    pub(crate) fn by_kind(&self) -> BTreeMap<String, u64> {
        self.log.by_kind.iter().map(|(k, v)| (k.name().to_string(), *v)).collect()
    }

    /// Schedules the explicit faults and each stream's first fault.
    pub(crate) fn schedule<M>(&mut self, q: &mut Queue<Ev<M>>) {
        for (index, f) in self.cfg.faults.iter().enumerate() {
            q.push(f.at_ns, Ev::Fault(FaultEv::Start { index }));
        }
        let Some(g) = &self.cfg.generate else { return };
        if self.streams.is_empty() {
            return;
        }
        if let Measure::Time(_) = self.measure {
            q.push(self.measure.heal_at(), Ev::Fault(FaultEv::HealAll));
        }
        for stream in 0..self.streams.len() {
            match (g.interval_ns, self.measure) {
                (Some(interval), _) => {
                    let gap = gap_ns(g, interval, &mut self.streams[stream].rng);
                    q.push(gap, Ev::Fault(FaultEv::Next { stream }));
                }
                (None, Measure::Time(_)) => {
                    if let Some(&(at, _)) = self.streams[stream].slots.first() {
                        q.push(at, Ev::Fault(FaultEv::Next { stream }));
                    }
                }
                // Slots in ops start as the clients reach them (`progress`).
                (None, Measure::Ops(_)) => {}
            }
        }
    }

    /// Whether [`Faults::progress`] has something to do at `ops` issued.
    pub(crate) fn due(&self, ops: u64) -> bool {
        let Measure::Ops(_) = self.measure else { return false };
        if self.off || self.generated_off {
            return false;
        }
        ops >= self.measure.heal_at()
            || self.streams.iter().any(|s| match s.active {
                Some((_, heal)) => ops >= heal,
                None => s.slots.get(s.next).is_some_and(|&(start, _)| ops >= start),
            })
    }

    /// The clients have issued `ops` ops (phase measured in ops): faults
    /// whose slot starts or ends there start or stop.
    pub(crate) fn progress<M>(&mut self, ops: u64, mut at: At<M>) -> Vec<Change> {
        let mut out = Vec::new();
        if !self.due(ops) {
            return out;
        }
        if ops >= self.measure.heal_at() {
            return self.heal_generated(at.now, at.rec);
        }
        for s in 0..self.streams.len() {
            if let Some((id, heal)) = self.streams[s].active {
                if ops >= heal {
                    self.streams[s].active = None;
                    out.extend(self.log.end(id, at.now, at.rec).map(Change::Stop));
                }
            }
            let st = &self.streams[s];
            if st.active.is_none() && st.slots.get(st.next).is_some_and(|&(start, _)| ops >= start) {
                out.extend(self.start_next(s, &mut at).map(Change::Start));
            }
        }
        out
    }

    /// Handles a nemesis event: what to apply, in order.
    pub(crate) fn on_event<M>(&mut self, ev: FaultEv, mut at: At<M>) -> Vec<Change> {
        let mut out = Vec::new();
        match ev {
            FaultEv::Start { index } => {
                if !self.off {
                    let f = &self.cfg.faults[index];
                    let (fault, duration) = (f.fault.clone(), f.duration_ns);
                    let a = self.log.begin(&fault, fault.kind(), (at.now, duration), at.nodes, at.rec, &mut self.rng);
                    at.q.push(at.now.saturating_add(duration), Ev::Fault(FaultEv::Stop { id: a.id }));
                    out.push(Change::Start(a));
                }
            }
            FaultEv::Stop { id } => {
                out.extend(self.log.end(id, at.now, at.rec).map(Change::Stop));
                if let Some(s) = self.streams.iter().position(|s| s.active.is_some_and(|(a, _)| a == id)) {
                    self.streams[s].active = None;
                    self.chain(s, at.now, at.q);
                }
            }
            FaultEv::Next { stream } => {
                if !self.off && !self.generated_off && self.streams[stream].active.is_none() {
                    out.extend(self.start_next(stream, &mut at).map(Change::Start));
                }
            }
            FaultEv::HealAll => out = self.heal_generated(at.now, at.rec),
        }
        out
    }

    /// Stream `s`'s fault healed: queues its next one (time-driven
    /// schedules; slots in ops wait for the clients).
    fn chain<M>(&mut self, s: usize, now: u64, q: &mut Queue<Ev<M>>) {
        let Some(g) = &self.cfg.generate else { return };
        if self.off || self.generated_off {
            return;
        }
        let st = &mut self.streams[s];
        match (g.interval_ns, self.measure) {
            (Some(interval), _) => {
                let gap = gap_ns(g, interval, &mut st.rng);
                q.push(now.saturating_add(gap), Ev::Fault(FaultEv::Next { stream: s }));
            }
            (None, Measure::Time(_)) => {
                if let Some(&(at, _)) = st.slots.get(st.next) {
                    q.push(at.max(now), Ev::Fault(FaultEv::Next { stream: s }));
                }
            }
            (None, Measure::Ops(_)) => {}
        }
    }

    /// Starts stream `s`'s next fault, with a timed stop after its duration
    /// (or at its slot's end in time, if that comes first).
    fn start_next<M>(&mut self, s: usize, at: &mut At<M>) -> Option<Active> {
        let now = at.now;
        let g = self.cfg.generate.as_ref()?;
        let leader = at.nodes.iter().position(|s| s.up && s.leader);
        let st = &mut self.streams[s];
        let heal = match st.slots.get(st.next) {
            Some(&(_, heal)) => heal,
            None if g.interval_ns.is_some() => u64::MAX,
            None => return None,
        };
        st.next += 1;
        let fault = generate(g, st.kind, self.log.n, leader, &mut st.rng);
        let duration = duration_ns(g, &mut st.rng);
        self.log.episode = st.kind == FaultKind::Crash && at.leader_points;
        let mut a = self.log.begin(&fault, st.kind, (now, duration), at.nodes, at.rec, &mut st.rng);
        a.duration_ns = duration;
        if let Some(kept) = self.log.active.last_mut() {
            kept.duration_ns = duration;
        }
        let mut stop = now.saturating_add(duration);
        if let Measure::Time(_) = self.measure {
            stop = stop.min(heal.max(now));
        }
        st.active = Some((a.id, heal));
        // A failover episode lasts its whole slot: failover and failback
        // take several elections, longer than most drawn durations.
        let episode = a.failover && heal != u64::MAX;
        match (episode, self.measure) {
            (true, Measure::Ops(_)) => {}
            (true, Measure::Time(_)) => at.q.push(heal.max(now), Ev::Fault(FaultEv::Stop { id: a.id })),
            (false, _) => at.q.push(stop, Ev::Fault(FaultEv::Stop { id: a.id })),
        }
        Some(a)
    }

    /// [`HEAL_AT`]: every generated fault stops and none starts again.
    fn heal_generated(&mut self, now: u64, rec: &mut Recorder) -> Vec<Change> {
        self.generated_off = true;
        let ids: Vec<u64> = self.streams.iter_mut().filter_map(|s| s.active.take().map(|(id, _)| id)).collect();
        ids.into_iter().filter_map(|id| self.log.end(id, now, rec)).map(Change::Stop).collect()
    }

    /// Node `node` crashed at fault point `point`: recorded as a crash
    /// (`start-crash` naming the point), though not one of the nemesis's
    /// own faults ([`Faults::by_kind`] leaves it out).
    pub(crate) fn point_crash(&mut self, node: NodeId, point: &str, now: u64, rec: &mut Recorder) {
        let request = Value::map(vec![(Value::str("point"), Value::str(point))]);
        let result =
            Value::map(vec![(Value::str("point"), Value::str(point)), (Value::str("nodes"), nodes_value(&[node]))]);
        rec.nemesis(now, EventType::Invoke, "start-crash", request);
        rec.nemesis(now, EventType::Info, "start-crash", result);
    }

    /// Node `node`, crashed at a fault point, restarts.
    pub(crate) fn point_restart(&mut self, node: NodeId, now: u64, rec: &mut Recorder) {
        rec.nemesis(now, EventType::Invoke, "stop-crash", Value::Nil);
        rec.nemesis(now, EventType::Info, "stop-crash", Value::map(vec![(Value::str("nodes"), nodes_value(&[node]))]));
    }

    /// The clients are done: no more faults; returns the active ones, in the
    /// order they started, stopped (recorded) for the engine to undo.
    pub(crate) fn stop_all(&mut self, now: u64, rec: &mut Recorder) -> Vec<Active> {
        self.off = true;
        self.streams.iter_mut().for_each(|s| s.active = None);
        let ids: Vec<u64> = self.log.active.iter().map(|a| a.id).collect();
        ids.into_iter().filter_map(|id| self.log.end(id, now, rec)).collect()
    }
}

/// A stream's slots: `g.slots()` equal slots over the first [`HEAL_AT`] of
/// the phase; each fault starts in the first half of its slot and heals at
/// its end at the latest (one unit after its start, if the slot is empty).
fn slots(g: &Generated, measure: Measure, rng: &mut ChaCha8Rng) -> Vec<(u64, u64)> {
    let m = g.slots() as u64;
    let span = measure.heal_at();
    (0..m)
        .map(|j| {
            let (lo, hi) =
                ((span as u128 * j as u128 / m as u128) as u64, (span as u128 * (j + 1) as u128 / m as u128) as u64);
            let start = lo + rng.random_range(0..=(hi - lo) / 2);
            (start, hi.max(start + 1))
        })
        .collect()
}

/// A gap before a stream's next fault: uniform in [½, 1½] of
/// `interval / intensity`.
fn gap_ns(g: &Generated, interval: u64, rng: &mut ChaCha8Rng) -> u64 {
    let mean = (interval as f64 / g.intensity).max(1.0);
    let u: f64 = rng.random::<f64>();
    (mean * (0.5 + u)) as u64
}

/// A fault's duration: log-uniform in `[duration_min_ns, duration_max_ns]`.
fn duration_ns(g: &Generated, rng: &mut ChaCha8Rng) -> u64 {
    let (lo, hi) = (libm::log(g.duration_min_ns as f64), libm::log(g.duration_max_ns as f64));
    let u: f64 = rng.random::<f64>();
    (libm::exp(lo + (hi - lo) * u) as u64).clamp(g.duration_min_ns, g.duration_max_ns)
}

/// A fault of stream `kind`; `leader`: the live node that says it leads
/// (the first, if several do), for the leader stream.
fn generate(g: &Generated, kind: FaultKind, n: usize, leader: Option<NodeId>, rng: &mut ChaCha8Rng) -> Fault {
    let (max_skew, max_drift) = (g.max_skew_ns.max(0), g.max_drift_ppm.max(0));
    match kind {
        FaultKind::Partition => {
            let shapes = PartitionShape::ALL_RANDOM;
            Fault::Partition(shapes[rng.random_range(0..shapes.len())])
        }
        FaultKind::Crash => Fault::Crash(random_target(n, rng)),
        FaultKind::Pause => Fault::Pause(random_target(n, rng)),
        FaultKind::Loss => Fault::Loss { rate: rng.random_range(0.3..=1.0) },
        FaultKind::Duplicate => Fault::Duplicate { rate: rng.random_range(0.2..=0.8) },
        FaultKind::ClockSkew => {
            let target = if n > 1 { Target::Several(rng.random_range(1..=n / 2 + 1)) } else { Target::All };
            Fault::ClockSkew {
                target,
                skew_ns: rng.random_range(-max_skew..=max_skew),
                drift_ppm: rng.random_range(-max_drift..=max_drift),
            }
        }
        // Jepsen's `:primaries` targets: kill, pause or cut off the leader
        // (a random node when none leads).
        FaultKind::Leader => match rng.random_range(0..3) {
            0 => Fault::Crash(Target::Leader),
            1 => Fault::Pause(Target::Leader),
            _ => Fault::Partition(PartitionShape::Isolate(leader)),
        },
        FaultKind::DcPartition => Fault::DcPartition,
        // FoundationDB clogs a random subset: at least two nodes, so that
        // the order of clogging and unclogging matters.
        FaultKind::Swizzle => Fault::Swizzle { nodes: rng.random_range(2.min(n)..=n.max(1)) },
        // Moderate: up to 5-20% a link, where a loss fault drops 30-100%
        // of every message.
        FaultKind::LinkLoss => Fault::LinkLoss { max_rate: rng.random_range(0.05..=0.2) },
    }
}

/// A swizzle's step: the duration split into a clog and an unclog step per
/// node (at least 1 ns).
fn swizzle_step_ns(duration_ns: u64, clogged: usize) -> u64 {
    (duration_ns / (2 * clogged.max(1)) as u64).max(1)
}

/// A swizzle's clogs, in clogging order: `k` random nodes (all when 0 or
/// more than `n`), the i-th clogged at `now + i × step`, then unclogged in
/// a fresh random order, the j-th at `now + (k + j) × step`, so the last
/// unclogs before `now + duration_ns`.
fn swizzle_clogs(n: usize, k: usize, now: u64, duration_ns: u64, rng: &mut ChaCha8Rng) -> Vec<(NodeId, u64, u64)> {
    let k = if k == 0 || k > n { n } else { k };
    let mut order: Vec<NodeId> = (0..n).collect();
    order.shuffle(rng);
    order.truncate(k);
    let mut unclog: Vec<usize> = (0..k).collect();
    unclog.shuffle(rng);
    let step = swizzle_step_ns(duration_ns, k);
    let at = |i: usize| now.saturating_add(step.saturating_mul(i as u64));
    order.iter().enumerate().map(|(i, &node)| (node, at(i), at(k + unclog[i]))).collect()
}

fn random_target(n: usize, rng: &mut ChaCha8Rng) -> Target {
    match rng.random_range(0..3) {
        0 => Target::Random,
        1 => Target::Leader,
        _ => Target::Several(rng.random_range(1..=n / 2 + 1)),
    }
}

/// Live nodes the target names, in id order; `unpaused` also leaves out
/// paused ones.
fn resolve(target: Target, nodes: &[NodeStatus], unpaused: bool, rng: &mut ChaCha8Rng) -> Vec<NodeId> {
    let eligible: Vec<NodeId> = (0..nodes.len()).filter(|&i| nodes[i].up && !(unpaused && nodes[i].paused)).collect();
    if eligible.is_empty() {
        return eligible;
    }
    let mut out = match target {
        Target::Node(i) => eligible.iter().copied().filter(|&e| e == i).collect(),
        Target::Random => vec![eligible[rng.random_range(0..eligible.len())]],
        Target::Several(k) => {
            let mut v = eligible.clone();
            v.shuffle(rng);
            v.truncate(k.max(1));
            v
        }
        Target::Leader | Target::LeaderFailover => {
            let leaders: Vec<NodeId> = eligible.iter().copied().filter(|&i| nodes[i].leader).collect();
            if leaders.is_empty() {
                vec![eligible[rng.random_range(0..eligible.len())]]
            } else {
                leaders
            }
        }
        Target::All => eligible,
    };
    if target == Target::LeaderFailover {
        // One node down at a time in an episode (the rolling one).
        out.truncate(1);
    }
    out.sort_unstable();
    out
}

impl Log {
    /// Starts `fault`: decides what it hits, records it, and keeps it
    /// active, counted in [`Faults::by_kind`] under `counted` (its stream's
    /// kind). Returns it. `(now, duration_ns)`: when it starts and how long
    /// it is to last.
    fn begin(
        &mut self,
        fault: &Fault,
        counted: FaultKind,
        (now, duration_ns): (u64, u64),
        nodes: &[NodeStatus],
        rec: &mut Recorder,
        rng: &mut ChaCha8Rng,
    ) -> Active {
        let id = self.next_id;
        self.next_id += 1;
        self.started += 1;
        let kind = fault.kind();
        let failover = matches!(fault, Fault::Crash(Target::LeaderFailover)) || std::mem::take(&mut self.episode);
        let leader_crash = matches!(fault, Fault::Crash(Target::Leader | Target::LeaderFailover));
        let mut a = Active {
            id,
            kind,
            nodes: Vec::new(),
            grudge: Vec::new(),
            rate: 0.0,
            skew_ns: 0,
            drift_ppm: 0,
            failover,
            leader_crash,
            duration_ns: 0,
            clogs: Vec::new(),
            link_rates: Vec::new(),
        };
        let (request, result) = match *fault {
            Fault::Partition(shape) => {
                let grudge = shape.grudge(self.n, rng);
                let shape_v = (Value::str("shape"), Value::str(shape.name()));
                let result = Value::map(vec![shape_v.clone(), (Value::str("grudge"), grudge_value(&grudge, self.n))]);
                a.grudge = grudge;
                (Value::map(vec![shape_v]), result)
            }
            Fault::Crash(target) | Fault::Pause(target) => {
                a.nodes = resolve(target, nodes, kind == FaultKind::Pause, rng);
                let result = Value::map(vec![(Value::str("nodes"), nodes_value(&a.nodes))]);
                let mut request = vec![(Value::str("target"), Value::Str(target.describe().into()))];
                if failover {
                    request.push((Value::str("failover"), Value::Bool(true)));
                }
                (Value::map(request), result)
            }
            Fault::Loss { rate } | Fault::Duplicate { rate } => {
                a.rate = rate;
                let v = Value::map(vec![(Value::str("rate"), Value::Float(rate))]);
                (v.clone(), v)
            }
            Fault::DcPartition => {
                let grudge = datacenter_grudge(&self.dc_of);
                let count = self.dc_of.iter().max().map_or(0, |&d| d + 1);
                let dcs: Vec<Value> = (0..count)
                    .map(|d| {
                        let members: Vec<NodeId> = (0..self.n).filter(|&i| self.dc_of[i] == d).collect();
                        nodes_value(&members)
                    })
                    .collect();
                let result = Value::map(vec![
                    (Value::str("datacenters"), Value::List(dcs)),
                    (Value::str("grudge"), grudge_value(&grudge, self.n)),
                ]);
                a.grudge = grudge;
                (Value::Nil, result)
            }
            Fault::Swizzle { nodes: k } => {
                a.clogs = swizzle_clogs(self.n, k, now, duration_ns, rng);
                let order = |v: Vec<NodeId>| nodes_value(&v);
                let clog_order: Vec<NodeId> = a.clogs.iter().map(|c| c.0).collect();
                let mut unclog_order = a.clogs.clone();
                unclog_order.sort_by_key(|c| c.2);
                let result = Value::map(vec![
                    (Value::str("clog"), order(clog_order)),
                    (Value::str("unclog"), order(unclog_order.iter().map(|c| c.0).collect())),
                    (Value::str("step_ns"), Value::Int(swizzle_step_ns(duration_ns, a.clogs.len()) as i64)),
                ]);
                (Value::map(vec![(Value::str("nodes"), Value::Int(k as i64))]), result)
            }
            Fault::LinkLoss { max_rate } => {
                let n = self.n;
                a.link_rates = (0..n * n)
                    .map(|i| if i / n == i % n || max_rate <= 0.0 { 0.0 } else { rng.random_range(0.0..=max_rate) })
                    .collect();
                let links: Vec<Value> = (0..n * n)
                    .filter(|&i| a.link_rates[i] > 0.0)
                    .map(|i| {
                        let (from, to) = (Value::Str(node_name(i / n)), Value::Str(node_name(i % n)));
                        Value::List(vec![from, to, Value::Float(a.link_rates[i])])
                    })
                    .collect();
                let request = Value::map(vec![(Value::str("max_rate"), Value::Float(max_rate))]);
                (request, Value::map(vec![(Value::str("links"), Value::List(links))]))
            }
            Fault::ClockSkew { target, skew_ns, drift_ppm } => {
                a.nodes = resolve(target, nodes, false, rng);
                (a.skew_ns, a.drift_ppm) = (skew_ns, drift_ppm);
                let request = Value::map(vec![
                    (Value::str("target"), Value::Str(target.describe().into())),
                    (Value::str("skew_ns"), Value::Int(skew_ns)),
                    (Value::str("drift_ppm"), Value::Int(drift_ppm)),
                ]);
                let mut result = request.clone();
                if let Value::Map(m) = &mut result {
                    m.insert(Value::str("nodes"), nodes_value(&a.nodes));
                }
                (request, result)
            }
        };
        let f = format!("start-{}", kind.name());
        rec.nemesis(now, EventType::Invoke, &f, request);
        rec.nemesis(now, EventType::Info, &f, result);
        let hit = match kind {
            FaultKind::Crash | FaultKind::Pause | FaultKind::ClockSkew => !a.nodes.is_empty(),
            // One datacenter: nothing to cut.
            FaultKind::DcPartition => a.grudge.contains(&true),
            FaultKind::Swizzle => !a.clogs.is_empty(),
            _ => true,
        };
        if hit {
            *self.by_kind.entry(counted).or_insert(0) += 1;
        }
        self.active.push(a.clone());
        a
    }

    /// Stops fault `id` if it is active: records it and hands it back.
    fn end(&mut self, id: u64, now: u64, rec: &mut Recorder) -> Option<Active> {
        let i = self.active.iter().position(|a| a.id == id)?;
        let a = self.active.remove(i);
        let f = format!("stop-{}", a.kind.name());
        rec.nemesis(now, EventType::Invoke, &f, Value::Nil);
        let result = match a.kind {
            FaultKind::Partition | FaultKind::DcPartition | FaultKind::Swizzle => Value::str("network healed"),
            FaultKind::Loss | FaultKind::Duplicate | FaultKind::LinkLoss => {
                Value::map(vec![(Value::str("rate"), Value::Float(0.0))])
            }
            FaultKind::Crash | FaultKind::Pause | FaultKind::ClockSkew | FaultKind::Leader => {
                Value::map(vec![(Value::str("nodes"), nodes_value(&a.nodes))])
            }
        };
        rec.nemesis(now, EventType::Info, &f, result);
        Some(a)
    }
}

fn nodes_value(nodes: &[NodeId]) -> Value {
    Value::List(nodes.iter().map(|&i| Value::Str(node_name(i))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// #15 §5: a swizzle clogs `k` distinct nodes one step apart, then
    /// unclogs each of them once, at the later steps, in an order of its
    /// own, all before the fault's end; the same seed gives the same plan.
    #[test]
    fn a_swizzle_clogs_one_by_one_and_unclogs_in_its_own_order() {
        let plan = |seed: u64, k: usize| swizzle_clogs(5, k, 1_000, 1_000, &mut ChaCha8Rng::seed_from_u64(seed));
        let mut orders_differ = false;
        for seed in 0..50 {
            for k in [2, 3, 5] {
                let clogs = plan(seed, k);
                assert_eq!(clogs, plan(seed, k), "deterministic");
                assert_eq!(clogs.len(), k);
                let step = swizzle_step_ns(1_000, k);
                let mut nodes: Vec<NodeId> = clogs.iter().map(|c| c.0).collect();
                for (i, &(_, from, until)) in clogs.iter().enumerate() {
                    assert_eq!(from, 1_000 + i as u64 * step, "clogged in turn");
                    assert!(until >= 1_000 + k as u64 * step && until < 2_000, "unclogged after all clogged");
                }
                let mut unclogs: Vec<u64> = clogs.iter().map(|c| c.2).collect();
                unclogs.sort_unstable();
                unclogs.dedup();
                assert_eq!(unclogs.len(), k, "one node unclogs at each step");
                orders_differ |= clogs.windows(2).any(|w| w[0].2 > w[1].2);
                nodes.sort_unstable();
                nodes.dedup();
                assert!(nodes.len() == k && nodes.iter().all(|&n| n < 5), "distinct nodes of the cluster");
            }
        }
        assert!(orders_differ, "the unclog order is not always the clog order");
        assert_eq!(plan(0, 0).len(), 5, "0 clogs every node");
        assert_eq!(plan(0, 9).len(), 5, "so does more than the cluster");
    }
}
