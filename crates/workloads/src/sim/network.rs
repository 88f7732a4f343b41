//! The network at run time: which links are cut, what is lost or
//! duplicated, each message's delay, and the message trace. Faults change
//! the link state through [`Network::cut`] and [`Network::set_rate`]; faults
//! that overlap compose (a link is cut while any partition cuts it; the
//! highest active loss rate applies).

use super::net::NetConfig;
use super::node::NodeId;
use super::{TraceEntry, TraceKind};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::fmt::Debug;

/// Message counters of a run.
#[derive(Clone, Debug, Default)]
pub(crate) struct NetStats {
    pub(crate) sent: u64,
    pub(crate) delivered: u64,
    pub(crate) dropped_partition: u64,
    pub(crate) dropped_loss: u64,
    pub(crate) dropped_crash: u64,
    pub(crate) dropped_overflow: u64,
    pub(crate) duplicated: u64,
    /// Messages a swizzle clog held.
    pub(crate) held: u64,
    pub(crate) trace_dropped: u64,
}

impl NetStats {
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped_partition + self.dropped_loss + self.dropped_crash + self.dropped_overflow
    }
}

/// A message the network accepted: its id and the delay of each copy.
pub(crate) struct Sent {
    pub(crate) id: u64,
    pub(crate) delay_ns: u64,
    /// A duplicate's own delay (scheduled before the original).
    pub(crate) duplicate_delay_ns: Option<u64>,
}

/// Rates a fault can set for the whole network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rate {
    Loss,
    Duplicate,
}

pub(crate) struct Network {
    cfg: NetConfig,
    n: usize,
    rng: ChaCha8Rng,
    /// `cuts[a * n + b]`: active partitions that drop messages from a to b.
    cuts: Vec<u32>,
    /// Active swizzle faults by id: each clogged node with the times it is
    /// clogged from and until.
    clogs: BTreeMap<u64, Vec<(NodeId, u64, u64)>>,
    /// Active fault rates by fault id; the effective rate is the largest of
    /// these and the configured one.
    loss_faults: BTreeMap<u64, f64>,
    /// Active link-loss faults by id: `rates[a * n + b]` for the link a to b.
    link_loss: BTreeMap<u64, Vec<f64>>,
    duplicate_faults: BTreeMap<u64, f64>,
    loss: f64,
    duplicate: f64,
    next_id: u64,
    trace: Option<Vec<TraceEntry>>,
    trace_limit: usize,
    pub(crate) stats: NetStats,
}

impl Network {
    pub(crate) fn new(cfg: &NetConfig, n: usize, rng: ChaCha8Rng, trace: bool, trace_limit: usize) -> Network {
        Network {
            cfg: cfg.clone(),
            n,
            rng,
            cuts: vec![0; n * n],
            clogs: BTreeMap::new(),
            loss_faults: BTreeMap::new(),
            link_loss: BTreeMap::new(),
            duplicate_faults: BTreeMap::new(),
            loss: cfg.loss,
            duplicate: cfg.duplicate,
            next_id: 0,
            trace: trace.then(Vec::new),
            trace_limit,
            stats: NetStats::default(),
        }
    }

    /// A message from `from` to `to` leaves now. `to_up`: the receiver is a
    /// live node; `full`: the in-flight bound is reached. Returns how to
    /// deliver it, or `None` if it was dropped (counted and traced).
    pub(crate) fn send<M: Debug>(
        &mut self,
        now: u64,
        from: NodeId,
        to: NodeId,
        to_up: bool,
        full: bool,
        msg: &M,
    ) -> Option<Sent> {
        self.stats.sent += 1;
        let id = self.next_id;
        self.next_id += 1;
        if self.trace.is_some() {
            self.record(now, TraceKind::Send, id, from, to.min(self.n), msg);
        }
        if to >= self.n || !to_up {
            self.drop(now, TraceKind::DropCrash, id, from, to, msg);
            return None;
        }
        if from != to {
            if self.is_cut(from, to) {
                self.drop(now, TraceKind::DropPartition, id, from, to, msg);
                return None;
            }
            let loss = self.loss_on(from, to);
            if loss > 0.0 && self.rng.random_bool(loss) {
                self.drop(now, TraceKind::DropLoss, id, from, to, msg);
                return None;
            }
        }
        if full {
            self.drop(now, TraceKind::DropOverflow, id, from, to, msg);
            return None;
        }
        let mut duplicate_delay_ns = None;
        if from != to && self.duplicate > 0.0 && self.rng.random_bool(self.duplicate) {
            self.stats.duplicated += 1;
            self.record(now, TraceKind::Duplicate, id, from, to, msg);
            duplicate_delay_ns = Some(self.delay());
        }
        // A clogged link holds the message until it unclogs (FoundationDB's
        // clogging: delayed, never lost), then it takes its usual delay.
        let held_ns = if from != to { self.held_ns(now, from, to) } else { 0 };
        if held_ns > 0 {
            self.stats.held += 1;
        }
        let duplicate_delay_ns = duplicate_delay_ns.map(|d| d + held_ns);
        Some(Sent { id, delay_ns: held_ns + self.delay(), duplicate_delay_ns })
    }

    /// How long a message from `from` to `to` sent now waits for a clog on
    /// either end to lift.
    fn held_ns(&self, now: u64, from: NodeId, to: NodeId) -> u64 {
        let clogged = self
            .clogs
            .values()
            .flatten()
            .filter(|&&(node, start, end)| (node == from || node == to) && start <= now && now < end);
        clogged.map(|&(_, _, end)| end - now).max().unwrap_or(0)
    }

    /// The loss rate from `from` to `to` now: the network's, or a link-loss
    /// fault's rate for this link if higher.
    fn loss_on(&self, from: NodeId, to: NodeId) -> f64 {
        let link = from * self.n + to;
        self.link_loss.values().map(|rates| rates[link]).fold(self.loss, f64::max)
    }

    /// Link-loss fault `id` starts (`Some(rates)`, one per directed link)
    /// or stops (`None`).
    pub(crate) fn set_link_loss(&mut self, id: u64, rates: Option<&[f64]>) {
        match rates {
            Some(r) => {
                debug_assert_eq!(r.len(), self.n * self.n, "a rate per directed link");
                self.link_loss.insert(id, r.to_vec());
            }
            None => {
                self.link_loss.remove(&id);
            }
        }
    }

    /// Swizzle fault `id` starts: its clogs apply from their own times.
    pub(crate) fn clog(&mut self, id: u64, clogs: &[(NodeId, u64, u64)]) {
        self.clogs.insert(id, clogs.to_vec());
    }

    /// Swizzle fault `id` stops: nothing new is held (held messages keep
    /// their delivery times).
    pub(crate) fn unclog(&mut self, id: u64) {
        self.clogs.remove(&id);
    }

    /// Whether a partition cuts the link from `from` to `to` now.
    pub(crate) fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        from != to && self.cuts[from * self.n + to] > 0
    }

    /// A message reached a node that takes it: counted and traced.
    pub(crate) fn delivered<M: Debug>(&mut self, now: u64, id: u64, from: NodeId, to: NodeId, msg: &M) {
        self.stats.delivered += 1;
        self.record(now, TraceKind::Deliver, id, from, to, msg);
    }

    /// Drops a message on its way (crashed receiver, partition at delivery).
    pub(crate) fn drop<M: Debug>(&mut self, now: u64, kind: TraceKind, id: u64, from: NodeId, to: NodeId, msg: &M) {
        match kind {
            TraceKind::DropPartition => self.stats.dropped_partition += 1,
            TraceKind::DropLoss => self.stats.dropped_loss += 1,
            TraceKind::DropOverflow => self.stats.dropped_overflow += 1,
            _ => self.stats.dropped_crash += 1,
        }
        self.record(now, kind, id, from, to, msg);
    }

    /// Adds (`on`) or removes a partition's grudge (`grudge[a * n + b]`:
    /// a cannot reach b).
    pub(crate) fn cut(&mut self, grudge: &[bool], on: bool) {
        for (c, &g) in self.cuts.iter_mut().zip(grudge) {
            if g {
                if on {
                    *c += 1;
                } else {
                    debug_assert!(*c > 0, "healing a cut that was never made");
                    *c = c.saturating_sub(1);
                }
            }
        }
    }

    /// Sets (`Some`) or clears fault `id`'s rate of `kind`.
    pub(crate) fn set_rate(&mut self, kind: Rate, id: u64, rate: Option<f64>) {
        let (faults, base) = match kind {
            Rate::Loss => (&mut self.loss_faults, self.cfg.loss),
            Rate::Duplicate => (&mut self.duplicate_faults, self.cfg.duplicate),
        };
        match rate {
            Some(r) => faults.insert(id, r),
            None => faults.remove(&id),
        };
        let effective = faults.values().copied().fold(base, f64::max);
        match kind {
            Rate::Loss => self.loss = effective,
            Rate::Duplicate => self.duplicate = effective,
        }
    }

    fn delay(&mut self) -> u64 {
        let net = &self.cfg;
        let mut d = net.latency.sample(&mut self.rng);
        if net.reorder > 0.0 && self.rng.random_bool(net.reorder) {
            d = d.saturating_add(self.rng.random_range(0..=net.reorder_delay_ns));
        }
        d
    }

    fn record<M: Debug>(&mut self, now: u64, kind: TraceKind, id: u64, from: NodeId, to: NodeId, msg: &M) {
        if let Some(t) = &mut self.trace {
            if t.len() >= self.trace_limit {
                self.stats.trace_dropped += 1;
                return;
            }
            t.push(TraceEntry { time_ns: now, kind, id, from, to, msg: format!("{msg:?}") });
        }
    }

    pub(crate) fn take_trace(&mut self) -> Option<Vec<TraceEntry>> {
        self.trace.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::net::Latency;
    use rand::SeedableRng;

    fn net(loss: f64) -> Network {
        let cfg = NetConfig { loss, ..NetConfig::default() };
        Network::new(&cfg, 3, ChaCha8Rng::seed_from_u64(1), true, 100)
    }

    #[test]
    fn overlapping_partitions_heal_independently() {
        let mut n = net(0.0);
        let mut a = vec![false; 9];
        a[1] = true; // 0 -> 1
        let mut b = a.clone();
        b[2] = true; // 0 -> 2
        n.cut(&a, true);
        n.cut(&b, true);
        assert!(n.is_cut(0, 1) && n.is_cut(0, 2) && !n.is_cut(1, 0));
        n.cut(&b, false);
        assert!(n.is_cut(0, 1), "still cut by the first partition");
        assert!(!n.is_cut(0, 2));
        n.cut(&a, false);
        assert!(!n.is_cut(0, 1));
        assert!(n.send(0, 0, 1, true, false, &"m").is_some());
    }

    #[test]
    fn the_highest_active_rate_applies_and_clearing_restores_the_base() {
        let mut n = net(0.1);
        n.set_rate(Rate::Loss, 1, Some(0.5));
        n.set_rate(Rate::Loss, 2, Some(0.3));
        assert_eq!(n.loss, 0.5);
        n.set_rate(Rate::Loss, 1, None);
        assert_eq!(n.loss, 0.3);
        n.set_rate(Rate::Loss, 2, None);
        assert_eq!(n.loss, 0.1);
        n.set_rate(Rate::Loss, 3, Some(1.0));
        assert!(n.send(0, 0, 1, true, false, &"m").is_none());
        assert_eq!(n.stats.dropped_loss, 1);
        // Messages to oneself are never lost or cut.
        assert!(n.send(0, 1, 1, true, false, &"m").is_some());
    }

    /// #15 §5: a clogged node's messages, either way, are held until its
    /// clog lifts and then take their usual delay; none is lost, messages
    /// between unclogged nodes and to oneself pass, and a lifted fault
    /// holds nothing new.
    #[test]
    fn a_clog_holds_messages_until_it_lifts_and_loses_none() {
        let cfg = NetConfig { latency: Latency::Constant { ns: 1 }, reorder: 0.0, ..NetConfig::default() };
        let mut n = Network::new(&cfg, 3, ChaCha8Rng::seed_from_u64(1), true, 100);
        let delay = |n: &mut Network, now: u64, from: NodeId, to: NodeId| {
            n.send(now, from, to, true, false, &"m").unwrap().delay_ns
        };
        n.clog(7, &[(1, 10, 100), (2, 50, 80)]);
        assert_eq!(delay(&mut n, 5, 0, 1), 1, "sent before node 1 clogged: not held");
        assert_eq!(delay(&mut n, 20, 0, 1), 81, "to a clogged node: held until 100");
        assert_eq!(delay(&mut n, 60, 1, 0), 41, "from a clogged node too");
        assert_eq!(delay(&mut n, 60, 2, 1), 41, "the later of the two ends' clogs");
        assert_eq!(delay(&mut n, 60, 2, 0), 21, "node 2's clog lifts at 80");
        assert_eq!(delay(&mut n, 60, 1, 1), 1, "to oneself: never held");
        assert_eq!(delay(&mut n, 30, 0, 2), 1, "node 2 clogs only at 50");
        assert_eq!(delay(&mut n, 100, 0, 1), 1, "node 1's clog is over at 100");
        assert_eq!(n.stats.held, 4);
        assert_eq!(n.stats.dropped(), 0, "a clog delays, never drops");
        n.unclog(7);
        assert_eq!(delay(&mut n, 60, 0, 1), 1, "lifted: nothing new held");
        assert_eq!(n.stats.held, 4);
    }

    /// #15 §5: a link-loss fault drops on each directed link at that
    /// link's rate (the higher of it and the network's), leaves the other
    /// links alone, and stops with its fault.
    #[test]
    fn link_loss_drops_link_by_link() {
        let mut n = net(0.0);
        let mut rates = vec![0.0; 9];
        rates[1] = 1.0; // 0 -> 1 loses everything
        n.set_link_loss(4, Some(&rates));
        assert_eq!((n.loss_on(0, 1), n.loss_on(1, 0), n.loss_on(0, 2)), (1.0, 0.0, 0.0));
        assert!(n.send(0, 0, 1, true, false, &"m").is_none());
        assert!(n.send(0, 1, 0, true, false, &"m").is_some(), "the other direction is fine");
        assert!(n.send(0, 0, 2, true, false, &"m").is_some());
        assert_eq!(n.stats.dropped_loss, 1);
        n.set_rate(Rate::Loss, 5, Some(0.25));
        assert_eq!((n.loss_on(0, 1), n.loss_on(1, 0)), (1.0, 0.25), "the higher rate applies");
        n.set_link_loss(4, None);
        assert_eq!(n.loss_on(0, 1), 0.25);
        n.set_rate(Rate::Loss, 5, None);
        assert!(n.send(0, 0, 1, true, false, &"m").is_some(), "stopped: nothing lost");
    }

    #[test]
    fn drops_are_counted_by_cause_and_traced() {
        let mut n = net(0.0);
        assert!(n.send(0, 0, 1, false, false, &"m").is_none());
        assert!(n.send(0, 0, 7, true, false, &"m").is_none());
        assert!(n.send(0, 0, 1, true, true, &"m").is_none());
        assert_eq!((n.stats.dropped_crash, n.stats.dropped_overflow, n.stats.sent), (2, 1, 3));
        assert_eq!(n.stats.dropped(), 3);
        let t = n.take_trace().unwrap();
        assert_eq!(t.iter().filter(|e| e.kind == TraceKind::Send).count(), 3);
        assert_eq!(t[1].kind, TraceKind::DropCrash);
    }
}
