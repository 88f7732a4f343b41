//! The cluster's nodes as the simulator holds them: each node's live state
//! (absent while crashed), durable state, random stream, incarnation, pause
//! and local clock. Handlers run here; what they ask for comes back as
//! effects for the engine to apply.

use super::node::{Ctx, Disk, Effect, Monitor, Node, NodeId, Protocol, Request};
use super::points::Points;
use super::{InvariantViolation, MAX_VIOLATIONS_KEPT};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Something that reaches a node: a message, a timer, a client request.
pub(crate) enum Input<M> {
    /// `sent_ns` and `from_inc`: when and by which incarnation of the
    /// sender it was sent (a power-off loses what is still in the send
    /// buffer: [`Cluster::lost_in_send_buffer`]).
    Message {
        from: u32,
        id: u64,
        sent_ns: u64,
        from_inc: u32,
        msg: M,
    },
    Timer {
        tag: u64,
    },
    Request(Box<Request>),
}

/// An input that reached a paused node, kept until it resumes: the
/// incarnation it was addressed to (`None`: whichever is live) and the input.
pub(crate) type Deferred<M> = (Option<u32>, Input<M>);

/// A node's local clock: `base_local + elapsed * (1 + drift_ppm / 1e6)`
/// where elapsed is virtual time since `base_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Clock {
    pub(crate) base_t: u64,
    pub(crate) base_local: i64,
    pub(crate) drift_ppm: i64,
}

impl Clock {
    /// True time: local time equals virtual time.
    pub(crate) fn synced(now: u64) -> Clock {
        Clock { base_t: now, base_local: now.min(i64::MAX as u64) as i64, drift_ppm: 0 }
    }

    pub(crate) fn at(&self, now: u64) -> i64 {
        if self.drift_ppm == 0 {
            let d = now.saturating_sub(self.base_t).min(i64::MAX as u64) as i64;
            return self.base_local.saturating_add(d);
        }
        let d = now.saturating_sub(self.base_t) as i128;
        let local = self.base_local as i128 + d + d * self.drift_ppm as i128 / 1_000_000;
        local.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

/// What the nemesis needs to know of a node to aim a fault at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeStatus {
    pub(crate) up: bool,
    pub(crate) paused: bool,
    pub(crate) leader: bool,
}

struct Slot<N: Node> {
    /// `None` while crashed.
    node: Option<N>,
    durable: N::Durable,
    /// A lazily persisting node's disk ([`Protocol::lazy_fsync`]).
    disk: Option<Disk<N::Durable>>,
    rng: ChaCha8Rng,
    /// Bumped at every crash; inputs addressed to an older incarnation are
    /// dropped.
    inc: u32,
    paused: bool,
    /// Inputs that reached the node while paused, in arrival order.
    deferred: Vec<Deferred<N::Msg>>,
    clock: Clock,
    /// `ended_ns[k]`: when incarnation `k` crashed.
    ended_ns: Vec<u64>,
}

/// What came of a handler call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Called {
    /// The node is down: nothing ran.
    Down,
    Ran,
    /// The node crashed at this fault point (its effects after the point
    /// were removed); the engine crashes it.
    CrashedAt(&'static str),
}

pub(crate) struct Cluster<'p, P: Protocol> {
    proto: &'p P,
    slots: Vec<Slot<P::Node>>,
    /// Inputs held by paused nodes, over all nodes (they count against the
    /// in-flight bound like queued events).
    deferred_total: usize,
    pub(crate) crashes: u64,
    /// Crashes that lost writes the node had not fsynced.
    pub(crate) crashes_lost_unsynced: u64,
    pub(crate) restarts: u64,
    /// Statistics of node incarnations that crashed ([`Node::stats`]).
    crashed_stats: BTreeMap<String, i64>,
    monitor: Option<Box<dyn Monitor<P::Node>>>,
    pub(crate) violations: Vec<InvariantViolation>,
    pub(crate) violations_total: u64,
    pub(crate) points: Points,
    /// Nodes down after a crash at a fault point, not yet restarted.
    pub(crate) point_down: Vec<NodeId>,
    /// The node down from the last rolling crash (a targeted crash at a
    /// leader point: under leader faults or in a failover episode): the
    /// next one restarts it (the engine's `point_crash`).
    pub(crate) rolling: Option<NodeId>,
}

type Msg<P> = <<P as Protocol>::Node as Node>::Msg;
type Durable<P> = <<P as Protocol>::Node as Node>::Durable;

impl<'p, P: Protocol> Cluster<'p, P> {
    /// `n` fresh nodes; node `i` draws from stream `1 + i` of the seed.
    pub(crate) fn new(proto: &'p P, n: usize, seed: u64, points: Points) -> Self {
        let slots = (0..n)
            .map(|id| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(1 + id as u64);
                let durable = Durable::<P>::default();
                Slot {
                    node: Some(proto.create(id, n, &durable)),
                    disk: proto.lazy_fsync().then(|| Disk { synced: durable.clone(), dirty: false }),
                    durable,
                    rng,
                    inc: 0,
                    paused: false,
                    deferred: Vec::new(),
                    clock: Clock::synced(0),
                    ended_ns: Vec::new(),
                }
            })
            .collect();
        Cluster {
            proto,
            slots,
            deferred_total: 0,
            crashes: 0,
            crashes_lost_unsynced: 0,
            restarts: 0,
            crashed_stats: BTreeMap::new(),
            monitor: proto.monitor(),
            violations: Vec::new(),
            violations_total: 0,
            points,
            point_down: Vec::new(),
            rolling: None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn is_up(&self, i: NodeId) -> bool {
        self.slots[i].node.is_some()
    }

    pub(crate) fn is_paused(&self, i: NodeId) -> bool {
        self.slots[i].paused
    }

    pub(crate) fn incarnation(&self, i: NodeId) -> u32 {
        self.slots[i].inc
    }

    pub(crate) fn deferred_total(&self) -> usize {
        self.deferred_total
    }

    pub(crate) fn status(&self) -> Vec<NodeStatus> {
        self.slots
            .iter()
            .map(|s| NodeStatus {
                up: s.node.is_some(),
                paused: s.paused,
                leader: s.node.as_ref().is_some_and(|n| n.is_leader()),
            })
            .collect()
    }

    /// Runs one handler on node `id` if it is up, its effects appended to
    /// `effects` (which must be empty), and shows the result to the
    /// protocol's monitor.
    pub(crate) fn call(
        &mut self,
        id: NodeId,
        now: u64,
        effects: &mut Vec<Effect<Msg<P>>>,
        f: impl FnOnce(&mut P::Node, &mut Ctx<Msg<P>, Durable<P>>),
    ) -> Called {
        debug_assert!(effects.is_empty(), "a handler's effects start empty");
        let n = self.slots.len();
        let down = self.slots.iter().filter(|s| s.node.is_none()).count();
        // A crash at a point leaves a majority up; a rolling one brings the
        // node the last one keeps down back at once.
        let rolling_down = self.rolling.is_some_and(|r| self.slots[r].node.is_none()) as usize;
        let may = self.points.may_crash();
        self.points.armed = may && down < (n - 1) / 2;
        self.points.armed_targeted = may && down - rolling_down < (n - 1) / 2;
        let slot = &mut self.slots[id];
        let local = slot.clock.at(now);
        let Some(node) = slot.node.as_mut() else { return Called::Down };
        let error_ns = (local as i128 - now as i128).unsigned_abs().min(u64::MAX as u128) as u64;
        let mut ctx =
            Ctx::new(id, n, local, &mut slot.rng, &mut slot.durable, effects).with_clock_error_bound_ns(error_ns);
        ctx.points = Some(&mut self.points);
        ctx.disk = slot.disk.as_mut();
        f(node, &mut ctx);
        let crashed_at = ctx.crashed_at;
        if let Some((point, kept)) = crashed_at {
            effects.truncate(kept);
            return Called::CrashedAt(point);
        }
        if let Some(m) = self.monitor.as_mut() {
            if let Some(v) = m.observe(id, node, &slot.durable) {
                debug_assert!(
                    !m.promised(),
                    "invariant {} violated at {now} ns on node {id}: {}",
                    v.invariant,
                    v.detail
                );
                self.violations_total += 1;
                if self.violations.len() < MAX_VIOLATIONS_KEPT {
                    let (invariant, detail) = (v.invariant.to_string(), v.detail);
                    self.violations.push(InvariantViolation { time_ns: now, node: id, invariant, detail });
                }
            }
        }
        Called::Ran
    }

    /// Holds an input for a paused node.
    pub(crate) fn defer(&mut self, i: NodeId, deferred: Deferred<Msg<P>>) {
        debug_assert!(self.slots[i].paused, "only a paused node defers its inputs");
        self.slots[i].deferred.push(deferred);
        self.deferred_total += 1;
    }

    /// Crashes node `i`: its volatile state is gone (its statistics are
    /// kept), later inputs to this incarnation are dropped. Returns what it
    /// held while paused, for the engine to refuse or drop.
    pub(crate) fn crash(&mut self, i: NodeId, now: u64) -> Vec<Deferred<Msg<P>>> {
        self.crashes += 1;
        let slot = &mut self.slots[i];
        debug_assert_eq!(slot.ended_ns.len(), slot.inc as usize, "one end time per incarnation");
        slot.ended_ns.push(now);
        if let Some(node) = slot.node.take() {
            merge_protocol_stats(&mut self.crashed_stats, node.stats());
        }
        slot.inc = slot.inc.wrapping_add(1);
        slot.paused = false;
        // A power-off: what the node wrote but never fsynced is gone.
        if let Some(disk) = slot.disk.as_mut().filter(|d| d.dirty) {
            slot.durable.clone_from(&disk.synced);
            disk.dirty = false;
            self.crashes_lost_unsynced += 1;
        }
        let deferred = std::mem::take(&mut slot.deferred);
        self.deferred_total -= deferred.len();
        deferred
    }

    /// Whether a message that incarnation `from_inc` of node `from` sent at
    /// `sent_ns` was still in its send buffer (sent less than `window_ns`
    /// before) when that incarnation crashed: a power-off loses it.
    pub(crate) fn lost_in_send_buffer(&self, from: NodeId, from_inc: u32, sent_ns: u64, window_ns: u64) -> bool {
        let Some(slot) = self.slots.get(from) else { return false };
        slot.ended_ns.get(from_inc as usize).is_some_and(|&end| end < sent_ns.saturating_add(window_ns))
    }

    /// Rebuilds a crashed node from its durable state; false if it was up.
    /// The caller runs its `on_start`.
    pub(crate) fn restart(&mut self, i: NodeId) -> bool {
        if self.slots[i].node.is_some() {
            return false;
        }
        self.restarts += 1;
        let n = self.slots.len();
        let node = self.proto.create(i, n, &self.slots[i].durable);
        self.slots[i].node = Some(node);
        true
    }

    pub(crate) fn pause(&mut self, i: NodeId) {
        self.slots[i].paused = true;
    }

    /// Resumes a paused node; returns its held inputs, in arrival order.
    pub(crate) fn resume(&mut self, i: NodeId) -> Vec<Deferred<Msg<P>>> {
        let slot = &mut self.slots[i];
        if !slot.paused {
            return Vec::new();
        }
        slot.paused = false;
        let deferred = std::mem::take(&mut slot.deferred);
        self.deferred_total -= deferred.len();
        deferred
    }

    /// Jumps node `i`'s clock by `skew_ns` and makes it drift.
    pub(crate) fn skew_clock(&mut self, i: NodeId, now: u64, skew_ns: i64, drift_ppm: i64) {
        let c = &mut self.slots[i].clock;
        *c = Clock { base_t: now, base_local: c.at(now).saturating_add(skew_ns), drift_ppm };
    }

    /// Puts node `i`'s clock back on true time.
    pub(crate) fn sync_clock(&mut self, i: NodeId, now: u64) {
        self.slots[i].clock = Clock::synced(now);
    }

    /// The protocol's statistics over every incarnation, crashed and live.
    pub(crate) fn protocol_stats(&self) -> BTreeMap<String, i64> {
        let mut all = self.crashed_stats.clone();
        for slot in &self.slots {
            if let Some(node) = &slot.node {
                merge_protocol_stats(&mut all, node.stats());
            }
        }
        all
    }
}

/// Adds one node incarnation's protocol statistics to the run's: counters
/// named `*_max` keep the maximum, every other counter is summed.
fn merge_protocol_stats(into: &mut BTreeMap<String, i64>, from: BTreeMap<String, i64>) {
    for (k, v) in from {
        let e = into.entry(k.clone()).or_insert(0);
        *e = if k.ends_with("_max") { (*e).max(v) } else { e.saturating_add(v) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(Clock::synced(7).at(10), 10);
    }

    #[test]
    fn protocol_stats_sum_counters_and_keep_maxima() {
        let mut into = BTreeMap::from([("a".to_string(), 1), ("lat_ns_max".to_string(), 5)]);
        merge_protocol_stats(&mut into, BTreeMap::from([("a".to_string(), 2), ("lat_ns_max".to_string(), 3)]));
        assert_eq!(into, BTreeMap::from([("a".to_string(), 3), ("lat_ns_max".to_string(), 5)]));
    }
}
