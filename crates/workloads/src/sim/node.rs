//! The contract between the simulator and a protocol: a node is a state
//! machine that the simulator hands messages, timers and client requests,
//! through a [`Ctx`] that is its only window on the world.
//!
//! Architecture invariant: a node never reads the wall clock, spawns threads,
//! or iterates an unordered map into anything it sends; all randomness comes
//! from [`Ctx::rng`]. That is what makes (config, seed) determine the run.

use super::points::Points;
use checker::{Value, F};
use rand_chacha::ChaCha8Rng;
use std::fmt::Debug;

/// Index of a node in the cluster: `0..nodes`.
pub type NodeId = usize;

/// An operation's key: `None` for objects without one (the bank, Jepsen's
/// single register); the one key type of every protocol.
pub type Key = Option<Value>;

/// Identifies one client request; the node answers it with [`Ctx::reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A client's operation as delivered to a node: the same vocabulary as the
/// history (`f`, optional key, value).
///
/// What the bundled workloads (`crate::workload`) send, and what a store
/// should answer with `Response::Ok`:
/// - `read` (value nil): the key's state; nil for a key never updated.
/// - `write v`: v. `cas [old, new]`: `[old, new]` if the register held
///   `old` (else `Fail`).
/// - `append v` (list-append): v; a read returns the list in append order.
/// - `add v` (set): v; a read returns the elements as a sorted list.
/// - `incr d` (counter): d; a read returns the sum of increments (an int).
/// - bank, key nil: `transfer {"from": i, "to": j, "amount": a}` returns
///   its argument; a `read` returns the list of balances, element i being
///   account i, up to the highest account ever touched. Every account starts
///   at 0 and balances may go negative, so the balances always sum to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: RequestId,
    pub f: F,
    pub key: Key,
    pub value: Value,
}

/// A node's answer to a request. A request never answered is recorded by the
/// client as `info` when its timeout fires.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// Took effect; the value is the result (a read's value; for writes the
    /// written value).
    Ok(Value),
    /// Definitely did not take effect (the reason is kept in the history).
    Fail(String),
    /// Outcome unknown to the node itself (e.g. a coordinator lost contact
    /// mid-write): recorded as `info`, exactly as a timeout would be.
    Unknown(String),
}

/// Effects a node asks for. The simulator applies them after the handler
/// returns; they are public so that protocol unit tests can drive a node by
/// hand and inspect what it did.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect<M> {
    Send {
        to: NodeId,
        msg: M,
    },
    /// Fire `on_timer(tag)` after `after_ns` of virtual time.
    Timer {
        after_ns: u64,
        tag: u64,
    },
    Reply {
        id: RequestId,
        response: Response,
    },
}

/// A node's view of the world during one handler call.
pub struct Ctx<'a, M, D> {
    pub(crate) id: NodeId,
    pub(crate) nodes: usize,
    pub(crate) local_time_ns: i64,
    pub(crate) rng: &'a mut ChaCha8Rng,
    pub(crate) durable: &'a mut D,
    pub(crate) effects: &'a mut Vec<Effect<M>>,
    /// The run's fault points and coverage (`None` in hand-built contexts).
    pub(crate) points: Option<&'a mut Points>,
    /// Set when the node crashed at a fault point: the point, and how many
    /// effects it had asked for by then (later ones are lost).
    pub(crate) crashed_at: Option<(&'static str, usize)>,
    /// How far `local_time_ns` is from virtual time, either way (see
    /// [`Ctx::clock_error_bound_ns`]).
    pub(crate) clock_error_bound_ns: u64,
    /// The disk of a node that persists lazily ([`Protocol::lazy_fsync`]);
    /// `None`: every write is fsynced before the handler returns.
    pub(crate) disk: Option<&'a mut Disk<D>>,
}

/// What a lazily persisting node's durable state is on disk: the state as
/// of its last [`Ctx::fsync`], and whether it has changed since. A crash is
/// a power-off, so it restarts from `synced` (#15 §2).
#[derive(Debug)]
pub(crate) struct Disk<D> {
    pub(crate) synced: D,
    pub(crate) dirty: bool,
}

impl<'a, M, D> Ctx<'a, M, D> {
    /// Builds a context by hand: for protocol unit tests and for the
    /// simulator itself.
    pub fn new(
        id: NodeId,
        nodes: usize,
        local_time_ns: i64,
        rng: &'a mut ChaCha8Rng,
        durable: &'a mut D,
        effects: &'a mut Vec<Effect<M>>,
    ) -> Self {
        Ctx {
            id,
            nodes,
            local_time_ns,
            rng,
            durable,
            effects,
            points: None,
            crashed_at: None,
            clock_error_bound_ns: 0,
            disk: None,
        }
    }

    /// The same context with a clock error bound (for hand-built contexts:
    /// protocol unit tests, a protocol running a library node inside its own).
    pub fn with_clock_error_bound_ns(mut self, bound_ns: u64) -> Self {
        self.clock_error_bound_ns = bound_ns;
        self
    }

    /// A named fault point (FoundationDB's BUGGIFY): a place where a crash
    /// is most likely to expose a bug, e.g. right after persisting a vote or
    /// becoming leader. The simulator may decide, from the seed, that the
    /// node powers off here ([`super::points`]): then everything the
    /// handler asks for after this call is lost, as are its messages still
    /// in the send buffer, and the node restarts later from its durable
    /// state. Returns true when the node crashed here: the handler may
    /// return at once (what it does after that is discarded either way).
    /// Name points `protocol.what`, e.g. `raft.became-leader`.
    pub fn fault_point(&mut self, name: &'static str) -> bool {
        self.point(name, false)
    }

    /// A fault point the node passes as leader (right after becoming
    /// leader, after its commit index advanced): as
    /// [`Ctx::fault_point`], and also where the `leader` nemesis crashes
    /// the leader ([`super::points`]).
    pub fn leader_fault_point(&mut self, name: &'static str) -> bool {
        self.point(name, true)
    }

    fn point(&mut self, name: &'static str, leader: bool) -> bool {
        if self.crashed_at.is_some() {
            return true;
        }
        let Some(points) = self.points.as_deref_mut() else { return false };
        if points.hit(name, leader) {
            self.crashed_at = Some((name, self.effects.len()));
            return true;
        }
        false
    }

    /// Counts a named branch (e.g. the one a `bug=` parameter switches on):
    /// the run's coverage ([`super::RunStats::coverage`]) shows whether it
    /// ran, so that "the buggy branch ran and nothing broke" is visible.
    /// Unlike [`Node::stats`], the count survives crashes.
    pub fn cover(&mut self, name: &'static str) {
        if let Some(points) = self.points.as_deref_mut() {
            points.cover(name);
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Cluster size; node ids are `0..nodes()`.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Ids of every other node, in order.
    pub fn peers(&self) -> impl Iterator<Item = NodeId> {
        let me = self.id;
        (0..self.nodes).filter(move |&n| n != me)
    }

    /// Sends a message; the network may delay, drop, duplicate or reorder it.
    /// Sending to oneself is delivered (after a local delay) like any message.
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.effects.push(Effect::Send { to, msg });
    }

    /// Sends `msg` to every other node.
    pub fn broadcast(&mut self, msg: M)
    where
        M: Clone,
    {
        for to in 0..self.nodes {
            if to != self.id {
                self.effects.push(Effect::Send { to, msg: msg.clone() });
            }
        }
    }

    /// Asks for `on_timer(tag)` after `after_ns` of virtual time. Timers do
    /// not survive a crash.
    pub fn set_timer(&mut self, after_ns: u64, tag: u64) {
        self.effects.push(Effect::Timer { after_ns, tag });
    }

    /// Arms the first round of a periodic timer whose period may be 0 for
    /// "off" (`anti_entropy_ms=0`): [`Ctx::set_timer`] unless `period_ns` is
    /// 0. The handler of `tag` arms each next round itself.
    pub fn start_periodic(&mut self, period_ns: u64, tag: u64) {
        if period_ns > 0 {
            self.set_timer(period_ns, tag);
        }
    }

    /// Answers a client request. Answering twice, or answering a request of
    /// a previous incarnation, is ignored by the simulator. Only the node the
    /// request was delivered to can answer it (a node that forwards a request
    /// must relay the answer itself).
    pub fn reply(&mut self, id: RequestId, response: Response) {
        self.effects.push(Effect::Reply { id, response });
    }

    /// The node's local clock in nanoseconds: virtual time plus this node's
    /// skew and drift. Not comparable across nodes; use it as a real node
    /// would use its system clock (e.g. last-write-wins timestamps).
    pub fn local_time_ns(&self) -> i64 {
        self.local_time_ns
    }

    /// A bound on how far [`Ctx::local_time_ns`] is from true (virtual)
    /// time, in either direction: what a TrueTime daemon knows from its
    /// time masters and its oscillator's worst-case drift (Spanner, OSDI
    /// 2012, §3). The simulator plays the time masters: it reports the
    /// magnitude of the clock model's current error (0 unless a clock-skew
    /// fault is on), never its sign. Only protocols that model TrueTime
    /// read it (`spanner`); a protocol that uses the local clock as a real
    /// system clock must not.
    pub fn clock_error_bound_ns(&self) -> u64 {
        self.clock_error_bound_ns
    }

    /// The node's deterministic random source.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }

    /// What the node has persisted; survives crashes (for a node that
    /// persists lazily, what it has written, fsynced or not).
    pub fn durable(&self) -> &D {
        self.durable
    }

    /// Persists state: mutate it in place. Writes are durable before the
    /// handler's messages leave (as if fsynced as it returns), unless the
    /// protocol persists lazily ([`Protocol::lazy_fsync`]): then they
    /// survive a crash only once [`Ctx::fsync`] ran after them.
    pub fn durable_mut(&mut self) -> &mut D {
        if let Some(disk) = self.disk.as_mut() {
            disk.dirty = true;
        }
        self.durable
    }

    /// Whether writes since the last fsync would be lost by a crash now
    /// (always false unless the protocol persists lazily).
    pub fn unsynced(&self) -> bool {
        self.disk.as_ref().is_some_and(|d| d.dirty)
    }
}

impl<M, D: Clone> Ctx<'_, M, D> {
    /// fsync: everything written through [`Ctx::durable_mut`] so far
    /// survives a crash. Only lazily persisting protocols need it (for the
    /// rest it does nothing); a node that crashed at a fault point in this
    /// handler is already off, so it does nothing then either.
    pub fn fsync(&mut self) {
        if self.crashed_at.is_some() {
            return;
        }
        if let Some(disk) = self.disk.as_mut() {
            if disk.dirty {
                disk.synced.clone_from(self.durable);
                disk.dirty = false;
            }
        }
    }
}

/// A protocol's node: a deterministic state machine.
pub trait Node {
    /// Messages between nodes.
    type Msg: Clone + Debug;
    /// State that survives a crash. A crashed node is rebuilt by its
    /// [`Protocol::create`] from the last value of this (volatile state is lost).
    type Durable: Clone + Debug + Default;

    /// Called once after creation or restart, before any other handler.
    fn on_start(&mut self, ctx: &mut Ctx<Self::Msg, Self::Durable>);
    fn on_message(&mut self, ctx: &mut Ctx<Self::Msg, Self::Durable>, from: NodeId, msg: Self::Msg);
    fn on_timer(&mut self, ctx: &mut Ctx<Self::Msg, Self::Durable>, tag: u64);
    fn on_request(&mut self, ctx: &mut Ctx<Self::Msg, Self::Durable>, req: Request);

    /// Whether this node currently believes it leads (for protocols that
    /// have leaders). The nemesis uses it to aim "crash the leader" and
    /// "pause the leader" faults; without leaders it picks a random node.
    fn is_leader(&self) -> bool {
        false
    }

    /// Protocol statistics for comparisons (counters and sums, names ending
    /// in their unit, e.g. `commit_latency_ns_sum`). Volatile like any
    /// process's counters: a crash loses them, so the simulator should read
    /// them before crashing a node and at the end of the run, and add up
    /// the incarnations.
    fn stats(&self) -> std::collections::BTreeMap<String, i64> {
        std::collections::BTreeMap::new()
    }
}

/// Builds a protocol's nodes. Parameters (`--param NAME=VALUE`) are parsed
/// by the protocol itself before the run.
pub trait Protocol: Sync {
    type Node: Node;
    /// A node, fresh (`durable` = default) or restarting from `durable`.
    fn create(&self, id: NodeId, nodes: usize, durable: &<Self::Node as Node>::Durable) -> Self::Node;

    /// A fresh checker of the protocol's invariants for one run, or `None`
    /// (the default) when it declares none.
    fn monitor(&self) -> Option<Box<dyn Monitor<Self::Node>>> {
        None
    }

    /// Whether its nodes persist lazily: a write through
    /// [`Ctx::durable_mut`] reaches only the page cache, and a crash (a
    /// power-off) loses it unless [`Ctx::fsync`] ran after it. Default
    /// false: every handler's writes are fsynced before its messages leave.
    fn lazy_fsync(&self) -> bool {
        false
    }

    /// Whether it implements compare-and-set. The clients send no `cas` to
    /// a protocol that does not (every one would fail and test nothing);
    /// the workload's cas weight is then ignored (#15 §4).
    fn offers_cas(&self) -> bool {
        true
    }

    /// The datacenter node `id` of a `nodes`-node cluster sits in; the
    /// default, 0 for every node, is one datacenter. The `dc-partition`
    /// nemesis cuts every link between nodes of different datacenters.
    fn datacenter(&self, _id: NodeId, _nodes: usize) -> usize {
        0
    }
}

/// A protocol invariant that failed: which one, and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name, e.g. `election-safety`.
    pub invariant: &'static str,
    pub detail: String,
}

/// Checks a protocol's invariants over the whole cluster as a run goes: the
/// simulator shows it each node's state after every handler call, so it can
/// check what no single node can (one leader per term, every node committing
/// the same entry at an index, shards deciding alike). It only looks: it
/// never changes what the nodes do. Nodes may keep a volatile note of what
/// their last handler changed, for the monitor to check incrementally.
pub trait Monitor<N: Node> {
    /// Node `id` just ran a handler; `node` and `durable` are its state now.
    fn observe(&mut self, id: NodeId, node: &N, durable: &N::Durable) -> Option<Violation>;

    /// Whether the protocol, as configured, promises these invariants. A
    /// deliberately broken setting (a `bug=` parameter, 3pc under
    /// partitions) does not: its violations are findings. A violation of a
    /// promised invariant is also a bug of the bundled protocol, and debug
    /// builds stop there.
    fn promised(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// #15 §2: on a lazily persisting node, `fsync` makes what was written
    /// before it survive, writes after it are unsynced again, and a node
    /// that powered off at a fault point syncs nothing more; without a disk
    /// every write counts as synced.
    #[test]
    fn fsync_keeps_what_was_written_before_it_and_nothing_after_a_power_off() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (mut durable, mut effects) = (0u32, Vec::<Effect<()>>::new());
        let mut disk = Disk { synced: 0u32, dirty: false };
        let mut ctx = Ctx::new(0, 1, 0, &mut rng, &mut durable, &mut effects);
        ctx.disk = Some(&mut disk);
        assert!(!ctx.unsynced());
        *ctx.durable_mut() = 1;
        assert!(ctx.unsynced());
        ctx.fsync();
        assert!(!ctx.unsynced());
        *ctx.durable_mut() = 2;
        ctx.crashed_at = Some(("test.point", 0));
        ctx.fsync();
        assert!(ctx.unsynced(), "powered off: the fsync never ran");
        assert_eq!((durable, disk.synced, disk.dirty), (2, 1, true));
        let mut ctx = Ctx::new(0, 1, 0, &mut rng, &mut durable, &mut effects);
        *ctx.durable_mut() = 3;
        ctx.fsync();
        assert!(!ctx.unsynced(), "no disk: every write is synced");
    }
}
