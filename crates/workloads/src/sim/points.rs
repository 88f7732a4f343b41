//! Fault points and coverage (FoundationDB's BUGGIFY idea): a protocol
//! names the places where a crash hurts most ("just became leader", "commit
//! advanced", "vote persisted") with [`Ctx::fault_point`](super::Ctx::fault_point),
//! and names branches worth seeing taken with [`Ctx::cover`](super::Ctx::cover).
//! The simulator decides from the seed whether a point crashes the node.
//!
//! Policy, when the nemesis generates `crash` faults: the first time a run
//! hits a point, the point is enabled with probability ½ and given a firing
//! rate `2^-k`, `k` uniform in `1..=4` (so a point hit once per election and
//! one hit on every commit both get a fair chance); an enabled point fires
//! at each hit with its rate while the budget lasts ([`PointConfig::budget`],
//! the crash stream's fault count), while the clients run, and only when
//! the crash leaves a majority of the nodes up. Every draw comes from the points' own random stream,
//! so a protocol without points runs exactly as before.
//!
//! Leader points ([`Ctx::leader_fault_point`](super::Ctx::leader_fault_point):
//! passed by a node as it leads, e.g. "just became leader", "commit
//! advanced") follow that policy under `crash` alone; when the nemesis
//! generates `leader` faults they are all enabled, at rate ½, with a budget
//! of their own ([`PointConfig::leader_budget`], [`LEADER_POINT_CRASHES`]
//! per leader fault) that the crash stream's points cannot spend, and a
//! crash there is a rolling one (the node stays down until the next leader
//! dies at a point: see the engine's `point_crash`). A bug that needs the
//! leader to die at two well-chosen moments in a row, with the first one
//! back in between (Raft's Figure 8), needs that many chances.
//!
//! Failover episodes (#15): in a run whose protocol has passed a leader
//! point, every generated `crash` fault also opens an episode for the rest
//! of its slot ([`Points::failover_begin`]): its target crashes as drawn
//! (a crashed leader is the episode's first rolling crash), and meanwhile
//! leader points fire as under leader faults (rate ½, rolling), from a
//! budget of [`LEADER_POINT_CRASHES`] the episode brings. Jepsen's crash
//! nemesis aims at `:primaries` among its targets; FoundationDB's BUGGIFY
//! picks the moment: an episode does both, which is what a failover bug
//! needs (plain crashes at random moments found Raft's Figure 8 in none of
//! 40 seeds).
//!
//! A crash at a point is a power-off at that instant: effects the handler
//! asked for after the point are lost, and so are the node's messages still
//! in its send buffer ([`NetConfig::send_buffer_ns`](super::NetConfig::send_buffer_ns)).
//! Durable writes made before the handler returned are kept (every write in
//! conch is synchronous, as if fsynced).

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a run may do at fault points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PointConfig {
    /// Crashes at points are allowed (the nemesis generates crashes).
    pub(crate) crash: bool,
    /// Crashes at leader points are allowed at a fixed rate (the nemesis
    /// generates leader faults).
    pub(crate) leader: bool,
    /// Most crashes at points in a run, leader points under leader faults
    /// aside.
    pub(crate) budget: u32,
    /// Most crashes at leader points under leader faults in a run: a
    /// budget of their own, so that the crash stream's points cannot spend
    /// it.
    pub(crate) leader_budget: u32,
}

/// Largest `k` of a point's firing rate `2^-k`.
const MAX_RATE_EXPONENT: u32 = 4;
/// `k` of a leader point's firing rate `2^-k` under leader faults.
const LEADER_RATE_EXPONENT: u32 = 1;
/// Crashes at leader points allowed per generated leader fault.
pub(crate) const LEADER_POINT_CRASHES: u32 = 16;

/// One fault point's record in a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointStats {
    /// Times a handler passed the point.
    pub hits: u64,
    /// Times the node crashed there.
    pub crashes: u64,
    /// Whether the seed enabled the point for crashes (false when crashes
    /// at points are off). Targeted crashes (leader points under leader
    /// faults, which are all enabled, or in a failover episode of the
    /// crash stream) also happen at leader points the seed left disabled.
    pub enabled: bool,
}

struct Point {
    stats: PointStats,
    /// A leader point ([`Ctx::leader_fault_point`](super::Ctx::leader_fault_point)).
    leader: bool,
    /// Under the crash policy: fires at a hit when a draw below
    /// 2^64 >> `rate_shift` comes up.
    rate_shift: u32,
}

/// The run's fault points and coverage counters.
pub(crate) struct Points {
    cfg: PointConfig,
    rng: ChaCha8Rng,
    budget_left: u32,
    leader_budget_left: u32,
    /// Set by the cluster before each handler: a crash here would be allowed.
    pub(crate) armed: bool,
    /// The same for a targeted crash (a rolling one: see [`Points::hit`]).
    pub(crate) armed_targeted: bool,
    /// Failover episodes of the crash stream under way
    /// ([`Points::failover_begin`]): leader points are targeted meanwhile.
    failover: u32,
    /// Whether the last crash at a point was a targeted one (a leader point
    /// under leader faults or in a failover episode): the engine makes it a
    /// rolling crash.
    last_targeted: bool,
    points: BTreeMap<&'static str, Point>,
    coverage: BTreeMap<&'static str, u64>,
}

impl Points {
    pub(crate) fn new(cfg: PointConfig, rng: ChaCha8Rng) -> Points {
        Points {
            cfg,
            rng,
            budget_left: cfg.budget,
            leader_budget_left: cfg.leader_budget,
            armed: false,
            armed_targeted: false,
            failover: 0,
            last_targeted: false,
            points: BTreeMap::new(),
            coverage: BTreeMap::new(),
        }
    }

    /// Whether crashes at points may still happen (before the per-node
    /// conditions the cluster checks).
    pub(crate) fn may_crash(&self) -> bool {
        (self.cfg.crash && self.budget_left > 0)
            || ((self.cfg.leader || self.failover > 0) && self.leader_budget_left > 0)
    }

    /// No crash at a point from now on (the clients are done).
    pub(crate) fn stop(&mut self) {
        self.cfg.crash = false;
        self.cfg.leader = false;
        self.failover = 0;
    }

    /// A failover episode of the crash stream starts: until
    /// [`Points::failover_end`], leader points fire as under leader faults
    /// (rate ½, rolling), from a budget of [`LEADER_POINT_CRASHES`] the
    /// episode brings.
    pub(crate) fn failover_begin(&mut self) {
        self.failover += 1;
        self.leader_budget_left = self.leader_budget_left.saturating_add(LEADER_POINT_CRASHES);
    }

    pub(crate) fn failover_end(&mut self) {
        self.failover = self.failover.saturating_sub(1);
    }

    /// Whether the protocol passed a leader point in this run so far: only
    /// then can a crash fault be a failover episode (a protocol without
    /// leader points runs exactly as before).
    pub(crate) fn has_leader_points(&self) -> bool {
        self.points.values().any(|p| p.leader)
    }

    /// A handler passed point `name` (`leader`: a leader point): whether
    /// the node crashes here.
    pub(crate) fn hit(&mut self, name: &'static str, leader: bool) -> bool {
        let crash = self.cfg.crash;
        let (under_leader_faults, targeted) =
            (leader && self.cfg.leader, leader && (self.cfg.leader || self.failover > 0));
        let rng = &mut self.rng;
        let p = self.points.entry(name).or_insert_with(|| {
            // Only draw when crashes are on, so that a run without them is
            // not shifted by the first hits.
            let (enabled, rate_shift) = if under_leader_faults {
                (true, LEADER_RATE_EXPONENT)
            } else {
                let enabled = crash && rng.random_bool(0.5);
                (enabled, if enabled { rng.random_range(1..=MAX_RATE_EXPONENT) } else { 0 })
            };
            Point { stats: PointStats { enabled, ..PointStats::default() }, leader, rate_shift }
        });
        p.stats.hits += 1;
        let (on, left, shift) = if targeted {
            (true, &mut self.leader_budget_left, LEADER_RATE_EXPONENT)
        } else {
            (crash && p.stats.enabled, &mut self.budget_left, p.rate_shift)
        };
        let armed = if targeted { self.armed_targeted } else { self.armed };
        if !(armed && on && *left > 0) {
            return false;
        }
        let draw: u64 = self.rng.random();
        if draw >> (64 - shift) != 0 {
            return false;
        }
        p.stats.crashes += 1;
        *left -= 1;
        self.armed = false;
        self.armed_targeted = false;
        self.last_targeted = targeted;
        true
    }

    /// Whether the last crash at a point was targeted (see
    /// [`Points::hit`]): the engine makes it a rolling one.
    pub(crate) fn last_crash_targeted(&self) -> bool {
        self.last_targeted
    }

    /// A handler took named branch `name`.
    pub(crate) fn cover(&mut self, name: &'static str) {
        *self.coverage.entry(name).or_insert(0) += 1;
    }

    /// How long a node crashed at a point stays down: log-uniform in
    /// `[min_ns, max_ns]`.
    pub(crate) fn downtime_ns(&mut self, min_ns: u64, max_ns: u64) -> u64 {
        let (lo, hi) = (libm::log(min_ns.max(1) as f64), libm::log(max_ns.max(min_ns).max(1) as f64));
        let u: f64 = self.rng.random::<f64>();
        (libm::exp(lo + (hi - lo) * u) as u64).clamp(min_ns, max_ns.max(min_ns))
    }

    pub(crate) fn stats(&self) -> BTreeMap<String, PointStats> {
        self.points.iter().map(|(k, p)| (k.to_string(), p.stats)).collect()
    }

    pub(crate) fn coverage(&self) -> BTreeMap<String, u64> {
        self.coverage.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn points(crash: bool, budget: u32) -> Points {
        Points::new(PointConfig { crash, leader: false, budget, leader_budget: 0 }, ChaCha8Rng::seed_from_u64(7))
    }

    #[test]
    fn points_never_fire_without_crashes_and_count_hits() {
        let mut p = points(false, 10);
        (p.armed, p.armed_targeted) = (true, true);
        for _ in 0..1000 {
            assert!(!p.hit("a", false));
        }
        p.cover("branch");
        p.cover("branch");
        assert_eq!(p.stats()["a"], PointStats { hits: 1000, crashes: 0, enabled: false });
        assert_eq!(p.coverage()["branch"], 2);
    }

    #[test]
    fn enabled_points_fire_within_the_budget_and_only_when_armed() {
        let mut p = points(true, 3);
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let mut fired = 0;
        for round in 0..5000 {
            for n in names {
                p.armed = round % 2 == 0;
                let armed = p.armed;
                if p.hit(n, false) {
                    assert!(armed, "fired while disarmed");
                    fired += 1;
                }
            }
        }
        assert_eq!(fired, 3, "the budget bounds crashes at points");
        let s = p.stats();
        assert_eq!(s.values().map(|p| p.crashes).sum::<u64>(), 3);
        assert!(s.values().all(|p| p.crashes == 0 || p.enabled));
        assert!(s.values().any(|p| p.enabled) && s.values().any(|p| !p.enabled), "about half are enabled");
    }

    /// Under leader faults every leader point is enabled at rate ½ without
    /// a draw, other points are not enabled unless crashes are asked for
    /// too, and the budget still bounds the crashes.
    #[test]
    fn leader_faults_enable_every_leader_point() {
        let mut p = Points::new(
            PointConfig { crash: false, leader: true, budget: 0, leader_budget: 16 },
            ChaCha8Rng::seed_from_u64(7),
        );
        let mut fired = 0;
        for _ in 0..400 {
            (p.armed, p.armed_targeted) = (true, true);
            assert!(!p.hit("follower", false), "not a leader point");
            for n in ["became-leader", "commit-advanced"] {
                (p.armed, p.armed_targeted) = (true, true);
                fired += p.hit(n, true) as u32;
            }
        }
        let s = p.stats();
        assert_eq!(fired, 16, "the budget bounds crashes at points");
        assert!(s["became-leader"].enabled && s["commit-advanced"].enabled && !s["follower"].enabled);
        assert!(s["became-leader"].crashes > 0 && s["commit-advanced"].crashes > 0);
        p.stop();
        (p.armed, p.armed_targeted) = (true, true);
        assert!(!p.may_crash() || !p.hit("became-leader", true), "no crash after the clients are done");
    }

    /// Under crash and leader faults together, the crash stream's points
    /// spend their budget and the leader points theirs: neither can starve
    /// the other (with one shared budget, `crash,leader` found nothing).
    #[test]
    fn leader_points_have_a_budget_of_their_own() {
        let cfg = PointConfig { crash: true, leader: true, budget: 2, leader_budget: 5 };
        let mut p = Points::new(cfg, ChaCha8Rng::seed_from_u64(3));
        let (mut plain, mut leader) = (0, 0);
        for _ in 0..2000 {
            for n in ["a", "b", "c", "d", "e", "f"] {
                (p.armed, p.armed_targeted) = (true, true);
                plain += p.hit(n, false) as u32;
            }
            (p.armed, p.armed_targeted) = (true, true);
            leader += p.hit("became-leader", true) as u32;
        }
        assert_eq!((plain, leader), (2, 5), "each budget bounds its own points");
        assert_eq!(p.stats()["became-leader"].crashes, 5);
        assert!(!p.may_crash(), "both budgets are spent");
    }

    /// #15: under crashes alone, a failover episode of the crash stream
    /// targets the leader points (rate ½, rolling) with a budget of its
    /// own, and only while it lasts; other points keep the crash policy.
    #[test]
    fn failover_episodes_target_leader_points_while_they_last() {
        let cfg = PointConfig { crash: true, leader: false, budget: 0, leader_budget: 0 };
        let mut p = Points::new(cfg, ChaCha8Rng::seed_from_u64(5));
        let hit = |p: &mut Points, n: &'static str, leader: bool| {
            (p.armed, p.armed_targeted) = (true, true);
            p.hit(n, leader)
        };
        for _ in 0..200 {
            assert!(!hit(&mut p, "became-leader", true), "no episode, no crash budget: no crash");
        }
        assert!(p.has_leader_points() && !p.may_crash());
        p.failover_begin();
        assert!(p.may_crash());
        let fired = (0..400).filter(|_| hit(&mut p, "became-leader", true)).count();
        assert_eq!(fired as u32, LEADER_POINT_CRASHES, "the episode's budget bounds its crashes");
        assert!(p.last_crash_targeted(), "an episode's crash is a rolling one");
        assert!(!(0..400).any(|_| hit(&mut p, "follower", false)), "plain points keep the spent crash budget");
        p.failover_end();
        p.failover_begin();
        p.failover_end();
        assert!(!(0..400).any(|_| hit(&mut p, "became-leader", true)), "no crash after the episode");
        // Not armed for a targeted crash (a majority would be down): none.
        p.failover_begin();
        (p.armed, p.armed_targeted) = (true, false);
        assert!(!(0..400).any(|_| p.hit("became-leader", true)));
    }

    #[test]
    fn downtime_stays_in_range() {
        let mut p = points(true, 1);
        for _ in 0..100 {
            let d = p.downtime_ns(10, 1000);
            assert!((10..=1000).contains(&d));
        }
    }
}
