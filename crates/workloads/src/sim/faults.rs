//! The nemesis at run time: when faults start and stop, which nodes they
//! hit, and their record in the history. It decides; the engine applies a
//! started fault to the nodes and the network ([`Active`]) and undoes it
//! when the fault stops.

use super::engine::Ev;
use super::nemesis::{Fault, FaultKind, NemesisConfig, Target};
use super::net::{exp_sample, grudge_value, node_name, PartitionShape};
use super::node::NodeId;
use super::nodes::NodeStatus;
use super::queue::Queue;
use super::recorder::Recorder;
use checker::{EventType, Value};
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// The nemesis's own events.
pub(crate) enum FaultEv {
    /// Explicit fault `index` of the schedule starts.
    Start { index: usize },
    /// Fault `id` stops; `generated` faults are followed by the next one.
    Stop { id: u64, generated: bool },
    /// The next generated fault starts.
    Next,
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
}

pub(crate) struct Faults<'c> {
    cfg: &'c NemesisConfig,
    n: usize,
    rng: ChaCha8Rng,
    active: Vec<Active>,
    next_id: u64,
    /// Set when the clients finish: no fault starts after that.
    off: bool,
    /// Faults started.
    pub(crate) started: u64,
}

impl<'c> Faults<'c> {
    pub(crate) fn new(cfg: &'c NemesisConfig, n: usize, rng: ChaCha8Rng) -> Faults<'c> {
        Faults { cfg, n, rng, active: Vec::new(), next_id: 0, off: false, started: 0 }
    }

    /// Schedules the explicit faults and the first generated one.
    pub(crate) fn schedule<M>(&mut self, q: &mut Queue<Ev<M>>) {
        for (index, f) in self.cfg.faults.iter().enumerate() {
            q.push(f.at_ns, Ev::Fault(FaultEv::Start { index }));
        }
        if self.cfg.generate.as_ref().is_some_and(|g| !g.kinds.is_empty()) {
            let gap = self.gap_ns();
            q.push(gap, Ev::Fault(FaultEv::Next));
        }
    }

    /// Handles a nemesis event: returns a fault to apply (started) and/or
    /// one to undo (stopped).
    pub(crate) fn on_event<M>(
        &mut self,
        ev: FaultEv,
        now: u64,
        nodes: &[NodeStatus],
        q: &mut Queue<Ev<M>>,
        rec: &mut Recorder,
    ) -> (Option<Active>, Option<Active>) {
        match ev {
            FaultEv::Start { index } => {
                if self.off {
                    return (None, None);
                }
                let f = &self.cfg.faults[index];
                let (fault, duration) = (f.fault.clone(), f.duration_ns);
                let a = self.begin(&fault, now, nodes, rec);
                q.push(now.saturating_add(duration), Ev::Fault(FaultEv::Stop { id: a, generated: false }));
                (self.active.last().cloned(), None)
            }
            FaultEv::Stop { id, generated } => {
                let stopped = self.end(id, now, rec);
                if generated && !self.off {
                    let gap = self.gap_ns();
                    q.push(now.saturating_add(gap), Ev::Fault(FaultEv::Next));
                }
                (None, stopped)
            }
            FaultEv::Next => {
                if self.off {
                    return (None, None);
                }
                let fault = self.generate();
                let id = self.begin(&fault, now, nodes, rec);
                let g = self.cfg.generate.as_ref().map(|g| g.duration_mean_ns).unwrap_or(0);
                let duration = if g == 0 { 0 } else { self.rng.random_range(g / 2..=g + g / 2) };
                q.push(now.saturating_add(duration), Ev::Fault(FaultEv::Stop { id, generated: true }));
                (self.active.last().cloned(), None)
            }
        }
    }

    /// The clients are done: no more faults; returns the active ones, in the
    /// order they started, stopped (recorded) for the engine to undo.
    pub(crate) fn stop_all(&mut self, now: u64, rec: &mut Recorder) -> Vec<Active> {
        self.off = true;
        let ids: Vec<u64> = self.active.iter().map(|a| a.id).collect();
        ids.into_iter().filter_map(|id| self.end(id, now, rec)).collect()
    }

    fn gap_ns(&mut self) -> u64 {
        let Some(g) = &self.cfg.generate else { return u64::MAX };
        let mean = g.gap_mean_ns as f64 / g.intensity;
        exp_sample(&mut self.rng, mean) as u64
    }

    fn generate(&mut self) -> Fault {
        let Some(g) = &self.cfg.generate else { return Fault::Loss { rate: 0.0 } };
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

    /// Live nodes the target names, in id order; `unpaused` also leaves
    /// out paused ones.
    fn resolve(&mut self, target: Target, nodes: &[NodeStatus], unpaused: bool) -> Vec<NodeId> {
        let eligible: Vec<NodeId> =
            (0..nodes.len()).filter(|&i| nodes[i].up && !(unpaused && nodes[i].paused)).collect();
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
                let leaders: Vec<NodeId> = eligible.iter().copied().filter(|&i| nodes[i].leader).collect();
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

    /// Starts `fault`: decides what it hits, records it, and keeps it
    /// active. Returns its id.
    fn begin(&mut self, fault: &Fault, now: u64, nodes: &[NodeStatus], rec: &mut Recorder) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.started += 1;
        let kind = fault.kind();
        let mut a = Active { id, kind, nodes: Vec::new(), grudge: Vec::new(), rate: 0.0, skew_ns: 0, drift_ppm: 0 };
        let (request, result) = match *fault {
            Fault::Partition(shape) => {
                let grudge = shape.grudge(self.n, &mut self.rng);
                let shape_v = (Value::str("shape"), Value::str(shape.name()));
                let result = Value::map(vec![shape_v.clone(), (Value::str("grudge"), grudge_value(&grudge, self.n))]);
                a.grudge = grudge;
                (Value::map(vec![shape_v]), result)
            }
            Fault::Crash(target) | Fault::Pause(target) => {
                a.nodes = self.resolve(target, nodes, kind == FaultKind::Pause);
                let result = Value::map(vec![(Value::str("nodes"), nodes_value(&a.nodes))]);
                (Value::map(vec![(Value::str("target"), Value::Str(target.describe().into()))]), result)
            }
            Fault::Loss { rate } | Fault::Duplicate { rate } => {
                a.rate = rate;
                let v = Value::map(vec![(Value::str("rate"), Value::Float(rate))]);
                (v.clone(), v)
            }
            Fault::ClockSkew { target, skew_ns, drift_ppm } => {
                a.nodes = self.resolve(target, nodes, false);
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
        self.active.push(a);
        id
    }

    /// Stops fault `id` if it is active: records it and hands it back.
    fn end(&mut self, id: u64, now: u64, rec: &mut Recorder) -> Option<Active> {
        let i = self.active.iter().position(|a| a.id == id)?;
        let a = self.active.remove(i);
        let f = format!("stop-{}", a.kind.name());
        rec.nemesis(now, EventType::Invoke, &f, Value::Nil);
        let result = match a.kind {
            FaultKind::Partition => Value::str("network healed"),
            FaultKind::Loss | FaultKind::Duplicate => Value::map(vec![(Value::str("rate"), Value::Float(0.0))]),
            FaultKind::Crash | FaultKind::Pause | FaultKind::ClockSkew => {
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
