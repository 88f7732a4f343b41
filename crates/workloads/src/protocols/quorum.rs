//! Dynamo/Cassandra-style quorum replication of last-write-wins registers.
//!
//! Each key lives on `n` replicas (its preference list: `n` consecutive nodes
//! on a ring, starting at a deterministic hash of the key). Any node
//! coordinates a client request: a write is stamped with the coordinator's
//! local clock (ties broken by node id), sent to all `n` replicas and
//! acknowledged after `w` of them stored it; a read asks all `n` and answers
//! with the newest of the first `r` replies. Replicas merge by last write wins.
//! Stale replicas are repaired on reads (read repair: by default on a
//! random tenth of the reads, asynchronously, as Cassandra's
//! `read_repair_chance`), missed writes are kept by the coordinator as hints and handed off
//! later (hinted handoff), and replicas periodically compare per-key version
//! digests (anti-entropy).
//!
//! A write that does not gather `w` acks within `timeout_ms` is answered
//! `Unknown` (Cassandra's write timeout: it may have been applied on some
//! replicas and will spread from there); a read that does not gather `r`
//! replies is answered `Fail`. Compare-and-set is not offered (it needs
//! consensus; Cassandra uses Paxos for it): `cas` is answered
//! `Fail("unsupported")`.
//!
//! Parameters (`--param NAME=VALUE`), all optional:
//! - `consistency` = `one` | `quorum` | `all` (default `quorum`): sets both
//!   `r` and `w` to 1, `n/2+1` or `n`.
//! - `r`, `w`: replies a read / acks a write waits for; override
//!   `consistency`. Values above `n` are clamped to `n`.
//! - `n`: replication factor (default: the cluster size; clamped to it).
//! - `timeout_ms` (default 100): coordinator's request timeout.
//! - `read_repair` = `chance` | `always` | `blocking` | `off` (default
//!   `chance`): `chance` answers first and, on a random `read_repair_chance`
//!   of the reads, repairs the stale replicas in the background (Cassandra's
//!   probabilistic repair); `always` does so on every read (Dynamo, Riak),
//!   which repairs more than real systems do and hides the race between a
//!   write in flight and two reads; `blocking` writes the newest value to
//!   the stale replicas among the first `r` before answering (Cassandra's
//!   blocking read repair).
//! - `read_repair_chance` (default 0.1): the share of reads `chance` repairs.
//! - `hinted_handoff` = `true` | `false` (default `true`).
//! - `hint_interval_ms` (default 50): how often stored hints are re-sent.
//! - `max_hints` (default 10000): hints a coordinator keeps; beyond that new
//!   hints are dropped (anti-entropy still repairs).
//! - `anti_entropy_ms` (default 50; 0 disables): period of digest exchange.
//! - `sloppy` = `true` | `false` (default `false`): sloppy quorum. A
//!   coordinator suspects replicas that missed its last timeout (until it
//!   hears from them) and sends their share to the next healthy nodes on the
//!   ring instead, which keep it as a hint for the intended replica. Only has
//!   an effect when `n` is below the cluster size.
//!
//! Cassandra's datacenters and lightweight transactions are in the
//! submodules: `dc` (`dcs`, `inter_dc_ms`, replica placement per
//! datacenter, and the levels TWO, LOCAL_QUORUM, EACH_QUORUM, LOCAL_ONE)
//! and `lwt` (`lwt=true`: Paxos compare-and-set, `serial`); `cluster`
//! connects them to the coordinator's counting.

use super::common::lww::{diff, merge_noting, versions_of, NotesVersions, Stamp, StampMonitor, Versioned};
use super::common::{Key, Param, ParamError, Params, Rotation};
pub use dc::{Level, Serial};

mod cluster;
pub mod dc;
pub mod lwt;
use crate::sim::{Ctx, Monitor, Node, NodeId, Protocol, Request, RequestId, Response};
use checker::{Value, F};
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

/// Keys per anti-entropy digest, hint deliveries per round: bounds message
/// sizes and per-tick work; the rest waits for the next round.
const MAX_BATCH: usize = 512;

const TAG_ANTI_ENTROPY: u64 = 1;
const TAG_HINTS: u64 = 2;

/// How many replicas a read and a write wait for: Cassandra's levels.
pub type Consistency = Level;

/// When stale replicas seen by a read are repaired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadRepair {
    Off,
    /// Asynchronous, on a random share of the reads.
    Chance,
    /// Asynchronous, on every read.
    Always,
    Blocking,
}

/// The protocol's settings; see the module doc for each.
#[derive(Clone, Debug)]
pub struct QuorumProtocol {
    pub n: Option<usize>,
    pub consistency: Consistency,
    pub r: Option<usize>,
    pub w: Option<usize>,
    pub timeout_ns: u64,
    pub read_repair: ReadRepair,
    /// The share of reads [`ReadRepair::Chance`] repairs.
    pub read_repair_chance: f64,
    pub hinted_handoff: bool,
    pub hint_interval_ns: u64,
    pub max_hints: usize,
    pub anti_entropy_ns: u64,
    pub sloppy: bool,
    pub dcs: usize,
    pub inter_dc_ns: u64,
    pub lwt: bool,
    pub serial: Serial,
}

super::common::params::default_from_params!(QuorumProtocol);

impl QuorumProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::choice("consistency", Level::NAMES, "quorum", "Cassandra's level of reads and writes (r and w counts)"),
        Param::int("r", 1, 1024, None, "replies a read waits for (default from consistency); clamped to n"),
        Param::int("w", 1, 1024, None, "acks a write waits for (default from consistency); clamped to n"),
        Param::int("n", 1, 1024, None, "replication factor (default: the cluster size); clamped to it"),
        Param::ms("timeout_ms", 1, 100, "coordinator's request timeout"),
        Param::choice(
            "read_repair",
            &["chance", "always", "blocking", "off"],
            "chance",
            "when stale replicas seen by a read are repaired",
        ),
        Param::fraction("read_repair_chance", 0.1, "share of reads that repair stale replicas (read_repair=chance)"),
        Param::flag("hinted_handoff", true, "keep and re-send hints for replicas that missed a write"),
        Param::ms("hint_interval_ms", 1, 50, "how often hints are re-sent"),
        Param::int("max_hints", 0, 10_000_000, Some(10_000), "hints a coordinator keeps; new ones beyond are dropped"),
        Param::ms("anti_entropy_ms", 0, 50, "digest exchange period; 0 disables"),
        Param::flag("sloppy", false, "sloppy quorum with stand-ins (needs n below the cluster size)"),
        Param::int(
            "dcs",
            1,
            16,
            Some(1),
            "datacenters (contiguous groups of nodes); n is then replicas per datacenter",
        ),
        Param::ms("inter_dc_ms", 0, 20, "extra one-way delay of a message between datacenters"),
        Param::flag("lwt", false, "lightweight transactions: every read, write and cas by Paxos on the key"),
        Param::choice(
            "serial",
            &["serial", "local_serial"],
            "serial",
            "Paxos among all replicas or the local datacenter's",
        ),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("quorum", Self::PARAMS, params)?;
        Ok(QuorumProtocol {
            n: p.opt_int("n").map(|v| v as usize),
            consistency: Level::parse(p.choice("consistency")).expect("one of Level::NAMES"),
            r: p.opt_int("r").map(|v| v as usize),
            w: p.opt_int("w").map(|v| v as usize),
            timeout_ns: p.ns("timeout_ms"),
            read_repair: match p.choice("read_repair") {
                "off" => ReadRepair::Off,
                "blocking" => ReadRepair::Blocking,
                "always" => ReadRepair::Always,
                _ => ReadRepair::Chance,
            },
            read_repair_chance: p.fraction("read_repair_chance"),
            hinted_handoff: p.flag("hinted_handoff"),
            hint_interval_ns: p.ns("hint_interval_ms"),
            max_hints: p.int("max_hints") as usize,
            anti_entropy_ns: p.ns("anti_entropy_ms"),
            sloppy: p.flag("sloppy"),
            dcs: p.int("dcs") as usize,
            inter_dc_ns: p.ns("inter_dc_ms"),
            lwt: p.flag("lwt"),
            serial: if p.choice("serial") == "local_serial" { Serial::LocalSerial } else { Serial::Serial },
        })
        .and_then(|q| q.check_combination(&p))
    }

    /// (replication factor, r, w) for a cluster of `nodes`.
    pub fn levels(&self, nodes: usize) -> (usize, usize, usize) {
        let rf = self.n.unwrap_or(nodes).clamp(1, nodes.max(1));
        let level = match self.consistency {
            Level::One | Level::LocalOne => 1,
            Level::Two => 2.min(rf),
            Level::Quorum | Level::LocalQuorum | Level::EachQuorum => rf / 2 + 1,
            Level::All => rf,
        };
        (rf, self.r.unwrap_or(level).clamp(1, rf), self.w.unwrap_or(level).clamp(1, rf))
    }
}

/// What a quorum node persists: its replica store and its hints.
#[derive(Clone, Debug, Default)]
pub struct QuorumDurable {
    /// Bumped on every start; makes operation ids unique across restarts so
    /// that late replies to a previous incarnation's requests are ignored.
    pub incarnation: u64,
    pub store: BTreeMap<Key, Versioned>,
    /// Writes owed to another replica: newest per (target, key).
    pub hints: BTreeMap<(NodeId, Key), Versioned>,
    /// Lightweight transactions: each key's Paxos acceptor state.
    pub paxos: BTreeMap<Key, lwt::Acceptor>,
}

/// Messages between quorum nodes. `op` 0 means "no coordinator waiting"
/// (hint delivery, asynchronous repair).
#[derive(Clone, Debug)]
pub enum QuorumMsg {
    /// Store this version if newer; answer with `MutateAck`. With
    /// `hint_for`, the receiver stands in for that replica (sloppy quorum)
    /// and keeps the version as a hint for it instead.
    Mutate {
        op: u64,
        key: Key,
        version: Versioned,
        hint_for: Option<NodeId>,
    },
    MutateAck {
        op: u64,
        key: Key,
        stamp: Stamp,
    },
    Read {
        op: u64,
        key: Key,
    },
    ReadReply {
        op: u64,
        version: Option<Versioned>,
    },
    /// Anti-entropy: the sender's (key, stamp) for keys both replicate.
    Digest {
        entries: Vec<(Key, Stamp)>,
    },
    /// Anti-entropy: send me these keys.
    Pull {
        keys: Vec<Key>,
    },
    /// Anti-entropy: versions newer than the receiver's.
    Push {
        versions: Vec<(Key, Versioned)>,
    },
    /// A lightweight transaction's Paxos round.
    Paxos(lwt::PaxosMsg),
}

enum Pending {
    Write {
        req: RequestId,
        key: Key,
        version: Versioned,
        replicas: Vec<NodeId>,
        /// Sloppy quorum: stand-in -> the suspected replica it stands in for.
        stand_ins: BTreeMap<NodeId, NodeId>,
        acked: BTreeSet<NodeId>,
        replied: bool,
    },
    Read {
        req: RequestId,
        key: Key,
        replicas: Vec<NodeId>,
        replies: BTreeMap<NodeId, Option<Versioned>>,
        /// Blocking read repair in progress: the answer, and who must ack.
        repairing: Option<(Value, BTreeSet<NodeId>)>,
        replied: bool,
        /// Whether this read repairs stale replicas in the background
        /// (drawn once, when it starts).
        repairs: bool,
    },
}

/// The key's preference list: `rf` consecutive nodes on the ring from the
/// key's hash; every node when `rf >= nodes`.
pub fn preference_list(key: &Key, rf: usize, nodes: usize) -> Vec<NodeId> {
    if nodes == 0 {
        return Vec::new();
    }
    if rf >= nodes {
        return (0..nodes).collect();
    }
    // rustc-hash: no random state, so every node places keys alike.
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    let start = (h.finish() % nodes as u64) as usize;
    (0..rf).map(|i| (start + i) % nodes).collect()
}

/// One quorum node.
pub struct QuorumNode {
    cfg: QuorumProtocol,
    rf: usize,
    r: usize,
    w: usize,
    next_seq: u64,
    last_ts_ns: i64,
    /// Requests being coordinated. Bounded: each entry is removed by its
    /// timeout timer at the latest, so it holds at most the requests of one
    /// `timeout_ms` window.
    pending: BTreeMap<u64, Pending>,
    ae: Rotation,
    /// Sloppy quorum's failure detector: replicas that missed this node's
    /// last timeout and have not been heard from since (at most `nodes`).
    suspected: BTreeSet<NodeId>,
    /// What the current handler stored in the replica (a note for the
    /// monitor; cleared as each handler starts).
    stored: Vec<(Key, Versioned)>,
    /// Datacenters, lightweight transactions and what replies suffice.
    cluster: cluster::Cluster,
}

impl NotesVersions for QuorumNode {
    fn stored(&self) -> &[(Key, Versioned)] {
        &self.stored
    }
}

impl Protocol for QuorumProtocol {
    type Node = QuorumNode;
    /// Registers without consensus have no compare-and-set.
    fn offers_cas(&self) -> bool {
        self.lwt
    }
    /// Cassandra's datacenters ([`dc::Topology::members`]), for the
    /// `dc-partition` nemesis.
    fn datacenter(&self, id: NodeId, nodes: usize) -> usize {
        dc::Topology::new(nodes, self.dcs, 1).dc_of(id)
    }
    fn create(&self, id: NodeId, nodes: usize, _durable: &QuorumDurable) -> QuorumNode {
        let (rf, r, w) = self.levels(nodes);
        QuorumNode {
            cfg: self.clone(),
            rf,
            r,
            w,
            next_seq: 0,
            last_ts_ns: i64::MIN,
            pending: BTreeMap::new(),
            ae: Rotation::default(),
            suspected: BTreeSet::new(),
            stored: Vec::new(),
            cluster: cluster::Cluster::new(self, id, nodes),
        }
    }

    fn monitor(&self) -> Option<Box<dyn Monitor<QuorumNode>>> {
        Some(Box::new(StampMonitor::default()))
    }
}

type QCtx<'a> = Ctx<'a, QuorumMsg, QuorumDurable>;

fn newest<'v>(vs: impl Iterator<Item = &'v Option<Versioned>>) -> Option<&'v Versioned> {
    vs.flatten().max_by_key(|v| v.stamp)
}

impl QuorumNode {
    fn new_op(&mut self, ctx: &QCtx) -> u64 {
        self.next_seq += 1;
        (ctx.durable().incarnation << 32) | (self.next_seq & 0xffff_ffff)
    }

    fn prefs(&self, key: &Key, nodes: usize) -> Vec<NodeId> {
        self.cluster.replicas(key, self.rf, nodes)
    }

    /// Where a request for `key` goes: its preference list; with `sloppy`,
    /// each suspected replica replaced by the next unsuspected node further
    /// along the ring (returned as stand-in -> replica).
    fn targets(&self, key: &Key, me: NodeId, nodes: usize) -> (Vec<NodeId>, BTreeMap<NodeId, NodeId>) {
        let prefs = self.prefs(key, nodes);
        let mut stand_ins = BTreeMap::new();
        let Some(&start) = prefs.first() else { return (prefs, stand_ins) };
        if !self.cfg.sloppy || self.rf >= nodes {
            return (prefs, stand_ins);
        }
        let healthy = |n: &NodeId| *n == me || !self.suspected.contains(n);
        let mut spares = (self.rf..nodes).map(|i| (start + i) % nodes).filter(healthy);
        let mut out = Vec::with_capacity(prefs.len());
        for p in prefs {
            match (healthy(&p), spares.clone().next()) {
                (false, Some(s)) => {
                    spares.next();
                    out.push(s);
                    stand_ins.insert(s, p);
                }
                _ => out.push(p),
            }
        }
        (out, stand_ins)
    }

    fn start_write(&mut self, ctx: &mut QCtx, req: RequestId, key: Key, value: Value) {
        let ts_ns = ctx.local_time_ns().max(self.last_ts_ns.saturating_add(1));
        debug_assert!(ts_ns > self.last_ts_ns, "a coordinator's stamps strictly increase");
        self.last_ts_ns = ts_ns;
        let version = Versioned { stamp: Stamp { ts_ns, node: ctx.id() }, value };
        let op = self.new_op(ctx);
        let (replicas, stand_ins) = self.targets(&key, ctx.id(), ctx.nodes());
        let mut acked = BTreeSet::new();
        for &to in &replicas {
            let hint_for = stand_ins.get(&to).copied();
            if to == ctx.id() {
                match hint_for {
                    Some(t) => self.store_hint(ctx, t, &key, &version),
                    None => {
                        merge_noting(&mut ctx.durable_mut().store, &mut self.stored, &key, &version);
                    }
                }
                acked.insert(to);
            } else {
                ctx.send(to, QuorumMsg::Mutate { op, key: key.clone(), version: version.clone(), hint_for });
            }
        }
        ctx.set_timer(self.cfg.timeout_ns, op);
        let pending = Pending::Write { req, key, version, replicas, stand_ins, acked, replied: false };
        self.pending.insert(op, pending);
        self.check_write(ctx, op);
    }

    fn check_write(&mut self, ctx: &mut QCtx, op: u64) {
        let need = self.cluster.writes;
        if let Some(Pending::Write { req, version, replicas, acked, replied, .. }) = self.pending.get_mut(&op) {
            if !*replied && need.met(acked.iter()) {
                *replied = true;
                ctx.reply(*req, Response::Ok(version.value.clone()));
            }
            if acked.len() == replicas.len() {
                self.pending.remove(&op);
            }
        }
    }

    fn start_read(&mut self, ctx: &mut QCtx, req: RequestId, key: Key) {
        let op = self.new_op(ctx);
        // Stand-ins are read like replicas: they hold the hinted data only as
        // hints, which is what makes sloppy quorums miss writes.
        let (mut replicas, _) = self.targets(&key, ctx.id(), ctx.nodes());
        self.cluster.keep_asked_by_reads(&mut replicas);
        let mut replies = BTreeMap::new();
        for &to in &replicas {
            if to == ctx.id() {
                replies.insert(to, ctx.durable().store.get(&key).cloned());
            } else {
                ctx.send(to, QuorumMsg::Read { op, key: key.clone() });
            }
        }
        ctx.set_timer(self.cfg.timeout_ns, op);
        let repairs = match self.cfg.read_repair {
            ReadRepair::Off => false,
            ReadRepair::Always | ReadRepair::Blocking => true,
            ReadRepair::Chance => ctx.rng().random_bool(self.cfg.read_repair_chance),
        };
        let pending = Pending::Read { req, key, replicas, replies, repairing: None, replied: false, repairs };
        self.pending.insert(op, pending);
        self.check_read(ctx, op);
    }

    /// Answers the read once `r` replies are in, and repairs stale replicas.
    fn check_read(&mut self, ctx: &mut QCtx, op: u64) {
        let (need, mode) = (self.cluster.reads, self.cfg.read_repair);
        let Some(Pending::Read { req, key, replicas, replies, repairing, replied, repairs }) =
            self.pending.get_mut(&op)
        else {
            return;
        };
        if !need.met(replies.keys()) && !*replied {
            return;
        }
        let best = newest(replies.values()).cloned();
        let stale: Vec<NodeId> = match &best {
            Some(b) => {
                replies.iter().filter(|(_, v)| v.as_ref().map(|v| v.stamp) < Some(b.stamp)).map(|(&n, _)| n).collect()
            }
            None => Vec::new(),
        };
        let value = best.as_ref().map(|b| b.value.clone()).unwrap_or(Value::Nil);
        let me = ctx.id();
        if !*replied && repairing.is_none() {
            if let (ReadRepair::Blocking, Some(b), false) = (mode, best.clone(), stale.is_empty()) {
                let mut waiting = BTreeSet::new();
                for &n in &stale {
                    if n == me {
                        merge_noting(&mut ctx.durable_mut().store, &mut self.stored, key, &b);
                    } else {
                        waiting.insert(n);
                        ctx.send(n, QuorumMsg::Mutate { op, key: key.clone(), version: b.clone(), hint_for: None });
                    }
                }
                for n in &stale {
                    replies.insert(*n, Some(b.clone()));
                }
                if waiting.is_empty() {
                    *replied = true;
                    ctx.reply(*req, Response::Ok(value));
                } else {
                    *repairing = Some((value, waiting));
                }
                return;
            }
            *replied = true;
            ctx.reply(*req, Response::Ok(value));
        }
        if *replied && *repairs {
            // Asynchronous repair (also of late repliers after a blocking read).
            if let Some(b) = &best {
                for &n in &stale {
                    if n == me {
                        merge_noting(&mut ctx.durable_mut().store, &mut self.stored, key, b);
                    } else {
                        ctx.send(n, QuorumMsg::Mutate { op: 0, key: key.clone(), version: b.clone(), hint_for: None });
                    }
                    replies.insert(n, Some(b.clone()));
                }
            }
        }
        if *replied && replies.len() == replicas.len() {
            self.pending.remove(&op);
        }
    }

    fn on_mutate_ack(&mut self, ctx: &mut QCtx, from: NodeId, op: u64, key: Key, stamp: Stamp) {
        match self.pending.get_mut(&op) {
            Some(Pending::Write { acked, version, .. }) if version.stamp == stamp => {
                acked.insert(from);
                self.check_write(ctx, op);
            }
            Some(Pending::Read { req, repairing, replied, .. }) => {
                if let Some((value, waiting)) = repairing {
                    waiting.remove(&from);
                    if waiting.is_empty() {
                        ctx.reply(*req, Response::Ok(value.clone()));
                        *replied = true;
                        *repairing = None;
                    }
                }
            }
            _ => {}
        }
        // A delivered hint (or any ack covering it) retires the hint.
        let hk = (from, key);
        if let Some(h) = ctx.durable().hints.get(&hk) {
            if h.stamp <= stamp {
                ctx.durable_mut().hints.remove(&hk);
            }
        }
    }

    fn on_op_timeout(&mut self, ctx: &mut QCtx, op: u64) {
        let Some(p) = self.pending.remove(&op) else { return };
        match p {
            Pending::Write { req, key, version, replicas, stand_ins, acked, replied } => {
                if !replied {
                    let msg = format!("write timeout: {} of {} acks", acked.len(), self.w);
                    ctx.reply(req, Response::Unknown(msg));
                }
                for n in replicas.into_iter().filter(|n| !acked.contains(n)) {
                    if self.cfg.sloppy {
                        self.suspected.insert(n);
                    }
                    if self.cfg.hinted_handoff {
                        let intended = stand_ins.get(&n).copied().unwrap_or(n);
                        self.store_hint(ctx, intended, &key, &version);
                    }
                }
            }
            Pending::Read { req, replicas, replies, replied, .. } => {
                if self.cfg.sloppy {
                    self.suspected.extend(replicas.into_iter().filter(|n| !replies.contains_key(n)));
                }
                if !replied {
                    let msg = format!("read timeout: {} of {} replies", replies.len(), self.r);
                    ctx.reply(req, Response::Fail(msg));
                }
            }
        }
    }

    fn store_hint(&self, ctx: &mut QCtx, target: NodeId, key: &Key, v: &Versioned) {
        let hints = &mut ctx.durable_mut().hints;
        let hk = (target, key.clone());
        match hints.get(&hk) {
            Some(h) if h.stamp >= v.stamp => {}
            Some(_) => {
                hints.insert(hk, v.clone());
            }
            None if hints.len() < self.cfg.max_hints => {
                hints.insert(hk, v.clone());
            }
            None => {}
        }
    }

    fn deliver_hints(&mut self, ctx: &mut QCtx) {
        let batch: Vec<_> = ctx.durable().hints.iter().take(MAX_BATCH).map(|(k, v)| (k.clone(), v.clone())).collect();
        for ((to, key), version) in batch {
            ctx.send(to, QuorumMsg::Mutate { op: 0, key, version, hint_for: None });
        }
    }

    /// Sends a digest of the keys shared with the next peer in rotation.
    fn anti_entropy(&mut self, ctx: &mut QCtx) {
        let (nodes, rf, cluster) = (ctx.nodes(), self.rf, &self.cluster);
        let shared = |peer: NodeId, k: &Key| cluster.replicas(k, rf, nodes).contains(&peer);
        let entry = |(k, v): (&Key, &Versioned)| (k.clone(), v.stamp);
        let digest = |entries| QuorumMsg::Digest { entries };
        self.ae.send_digest(ctx, |d| &d.store, MAX_BATCH, shared, entry, digest);
    }

    fn on_digest(&mut self, ctx: &mut QCtx, from: NodeId, entries: Vec<(Key, Stamp)>) {
        let store = &ctx.durable().store;
        let d = diff(entries, |k| store.get(k).map(|v| v.stamp));
        let push = versions_of(store, d.push);
        if !d.pull.is_empty() {
            ctx.send(from, QuorumMsg::Pull { keys: d.pull });
        }
        if !push.is_empty() {
            ctx.send(from, QuorumMsg::Push { versions: push });
        }
    }
}

impl Node for QuorumNode {
    type Msg = QuorumMsg;
    type Durable = QuorumDurable;

    fn on_start(&mut self, ctx: &mut QCtx) {
        self.stored.clear();
        ctx.durable_mut().incarnation += 1;
        ctx.start_periodic(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
        if self.cfg.hinted_handoff {
            ctx.set_timer(self.cfg.hint_interval_ns, TAG_HINTS);
        }
    }

    fn on_message(&mut self, ctx: &mut QCtx, from: NodeId, msg: QuorumMsg) {
        // From another datacenter: held back for the wide-area delay first.
        let Some(msg) = self.cluster.arrive(ctx, from, msg) else { return };
        self.stored.clear();
        self.suspected.remove(&from);
        match msg {
            QuorumMsg::Mutate { op, key, version, hint_for } => {
                match hint_for {
                    Some(t) if t != ctx.id() => self.store_hint(ctx, t, &key, &version),
                    _ => {
                        merge_noting(&mut ctx.durable_mut().store, &mut self.stored, &key, &version);
                    }
                }
                ctx.send(from, QuorumMsg::MutateAck { op, key, stamp: version.stamp });
            }
            QuorumMsg::MutateAck { op, key, stamp } => self.on_mutate_ack(ctx, from, op, key, stamp),
            QuorumMsg::Read { op, key } => {
                let version = ctx.durable().store.get(&key).cloned();
                ctx.send(from, QuorumMsg::ReadReply { op, version });
            }
            QuorumMsg::ReadReply { op, version } => {
                if let Some(Pending::Read { replicas, replies, .. }) = self.pending.get_mut(&op) {
                    if replicas.contains(&from) && !replies.contains_key(&from) {
                        replies.insert(from, version);
                        self.check_read(ctx, op);
                    }
                }
            }
            QuorumMsg::Digest { entries } => self.on_digest(ctx, from, entries),
            QuorumMsg::Pull { keys } => {
                let versions = versions_of(&ctx.durable().store, keys);
                if !versions.is_empty() {
                    ctx.send(from, QuorumMsg::Push { versions });
                }
            }
            QuorumMsg::Push { versions } => {
                for (key, v) in versions {
                    merge_noting(&mut ctx.durable_mut().store, &mut self.stored, &key, &v);
                }
            }
            QuorumMsg::Paxos(m) => self.cluster.on_paxos(ctx, from, m, &mut self.stored),
        }
    }

    fn on_timer(&mut self, ctx: &mut QCtx, tag: u64) {
        self.stored.clear();
        match tag {
            TAG_ANTI_ENTROPY => {
                self.anti_entropy(ctx);
                ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
            }
            TAG_HINTS => {
                self.deliver_hints(ctx);
                ctx.set_timer(self.cfg.hint_interval_ns, TAG_HINTS);
            }
            cluster::TAG_WAN => self.deliver_parked(ctx),
            tag if lwt::Proposer::owns_retry(tag) => self.cluster.proposer.on_retry(ctx, tag),
            op if self.cluster.proposer.on_timeout(ctx, op) => {}
            op => self.on_op_timeout(ctx, op),
        }
    }

    fn on_request(&mut self, ctx: &mut QCtx, req: Request) {
        self.stored.clear();
        if self.cfg.lwt && matches!(req.f, F::Read | F::Get | F::Write | F::Put | F::Cas) {
            let op = self.new_op(ctx);
            ctx.set_timer(self.cfg.timeout_ns, op);
            return self.cluster.start_lwt(ctx, op, req);
        }
        match req.f {
            F::Read | F::Get => self.start_read(ctx, req.id, req.key),
            F::Write | F::Put => self.start_write(ctx, req.id, req.key, req.value),
            F::Cas => {
                ctx.reply(req.id, Response::Fail("unsupported: quorum has compare-and-set only with lwt=true".into()))
            }
            f => ctx.reply(req.id, Response::Fail(format!("unsupported: quorum has no `{}`", f.as_str()))),
        }
    }
}

#[cfg(test)]
mod dc_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::common::params::given;

    #[test]
    fn levels_follow_consistency_and_clamp() {
        let p = QuorumProtocol::from_params(&given(&[("consistency", "one"), ("timeout_ms", "50")])).unwrap();
        assert_eq!(p.levels(5), (5, 1, 1));
        assert_eq!(p.timeout_ns, 50_000_000);
        let p = QuorumProtocol::from_params(&given(&[("n", "3"), ("w", "3")])).unwrap();
        assert_eq!(p.levels(5), (3, 2, 3));
        assert_eq!(QuorumProtocol::from_params(&given(&[("consistency", "all")])).unwrap().levels(5), (5, 5, 5));
        assert_eq!(QuorumProtocol::from_params(&given(&[("r", "9")])).unwrap().levels(3), (3, 3, 2));
    }

    #[test]
    fn preference_lists_are_deterministic_and_spread() {
        let k = Some(Value::Int(7));
        assert_eq!(preference_list(&k, 3, 5), preference_list(&k, 3, 5));
        assert_eq!(preference_list(&k, 3, 5).len(), 3);
        assert_eq!(preference_list(&None, 9, 5), vec![0, 1, 2, 3, 4]);
        let starts: BTreeSet<NodeId> = (0..50).map(|i| preference_list(&Some(Value::Int(i)), 3, 5)[0]).collect();
        assert_eq!(starts.len(), 5, "50 keys should start on every one of 5 nodes");
    }
}
