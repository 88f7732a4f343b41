//! What connects `quorum`'s coordinator to its datacenters and lightweight
//! transactions: where a key's replicas are, which replies satisfy the
//! configured level, which replicas a read asks, the wide-area delay on
//! arrival, and the Paxos messages. With one datacenter and no `lwt` it
//! changes nothing: replicas are the preference list, the levels count
//! as `r` and `w`.

use super::dc::{Level, Serial, Topology, Wan};
use super::lwt::{self, PaxosMsg};
use super::{preference_list, QuorumDurable, QuorumMsg, QuorumNode, QuorumProtocol};
use crate::protocols::common::lww::Versioned;
use crate::protocols::common::Key;
use crate::sim::{Ctx, Node, NodeId, Request};
use std::collections::BTreeSet;

/// Timer tag of a parked message's wide-area delay (op ids, the other
/// timer tags, are at least 2^32).
pub const TAG_WAN: u64 = 3;

type QCtx<'a> = Ctx<'a, QuorumMsg, QuorumDurable>;

/// Which replies satisfy a read or a write.
#[derive(Clone, Copy, Debug)]
pub struct Need {
    /// `r` or `w` given: this many replies, wherever they come from.
    count: Option<usize>,
    level: Level,
    topo: Topology,
    local: usize,
}

impl Need {
    pub fn met<'a>(&self, from: impl Iterator<Item = &'a NodeId>) -> bool {
        let set: BTreeSet<NodeId> = from.copied().collect();
        match self.count {
            Some(c) => set.len() >= c,
            None => self.topo.satisfied(self.level, self.local, &set),
        }
    }
}

#[derive(Debug)]
pub struct Cluster {
    /// Datacenters (with one datacenter: the preference list's placement).
    topo: Topology,
    multi_dc: bool,
    local: usize,
    pub reads: Need,
    pub writes: Need,
    wan: Wan<QuorumMsg>,
    /// Set while a parked message is handled, so it is not parked again.
    unparking: bool,
    pub proposer: lwt::Proposer,
    serial: Serial,
}

impl Cluster {
    pub fn new(cfg: &QuorumProtocol, id: NodeId, nodes: usize) -> Cluster {
        let (rf, r, w) = cfg.levels(nodes);
        let topo = Topology::new(nodes, cfg.dcs, rf);
        let local = topo.dc_of(id);
        let need = |given: Option<usize>, count: usize| Need {
            count: given.map(|_| count),
            level: cfg.consistency,
            topo,
            local,
        };
        Cluster {
            topo,
            multi_dc: topo.dcs > 1,
            local,
            reads: need(cfg.r, r),
            writes: need(cfg.w, w),
            wan: Wan::new(cfg.inter_dc_ns),
            unparking: false,
            // A round is two round trips: across datacenters, four delays.
            proposer: lwt::Proposer::new(lwt::BACKOFF_LOCAL_NS + if topo.dcs > 1 { 4 * cfg.inter_dc_ns } else { 0 }),
            serial: cfg.serial,
        }
    }

    /// The key's replicas: per datacenter with several, else the
    /// preference list of `rf` on the whole ring.
    pub fn replicas(&self, key: &Key, rf: usize, nodes: usize) -> Vec<NodeId> {
        if self.multi_dc {
            self.topo.replicas(key)
        } else {
            preference_list(key, rf, nodes)
        }
    }

    /// LOCAL_ONE and LOCAL_QUORUM reads ask only the local datacenter.
    pub fn keep_asked_by_reads(&self, replicas: &mut Vec<NodeId>) {
        if self.multi_dc && self.reads.count.is_none() && self.reads.level.is_local() {
            replicas.retain(|&n| self.topo.dc_of(n) == self.local);
        }
    }

    /// A message as it arrives: `None` when it came from another
    /// datacenter and waits for the wide-area delay (a timer is set).
    pub fn arrive(&mut self, ctx: &mut QCtx, from: NodeId, msg: QuorumMsg) -> Option<QuorumMsg> {
        let remote = self.multi_dc && self.wan.delay_ns > 0 && self.topo.dc_of(from) != self.local;
        if self.unparking || !remote {
            return Some(msg);
        }
        if self.wan.park(from, msg) {
            ctx.set_timer(self.wan.delay_ns, TAG_WAN);
        }
        None
    }

    pub fn on_paxos(&mut self, ctx: &mut QCtx, from: NodeId, m: PaxosMsg, stored: &mut Vec<(Key, Versioned)>) {
        match m {
            PaxosMsg::Promise { .. } | PaxosMsg::Accepted { .. } => self.proposer.on_reply(ctx, from, m),
            _ => lwt::on_acceptor(ctx, from, m, stored),
        }
    }

    pub fn start_lwt(&mut self, ctx: &mut QCtx, op: u64, req: Request) {
        self.proposer.start(ctx, op, req, &self.topo, self.serial);
    }
}

impl QuorumNode {
    /// A parked message's delay is over: handle it (the oldest).
    pub(super) fn deliver_parked(&mut self, ctx: &mut QCtx) {
        let Some((from, msg)) = self.cluster.wan.pop() else { return };
        self.cluster.unparking = true;
        Node::on_message(self, ctx, from, msg);
        self.cluster.unparking = false;
    }
}

impl QuorumProtocol {
    /// Refuses settings that do not go together.
    pub(super) fn check_combination(self, p: &super::Params) -> Result<QuorumProtocol, super::ParamError> {
        if self.sloppy && self.dcs > 1 {
            return Err(p.conflict("sloppy quorums need dcs=1 (stand-ins are chosen on one ring)"));
        }
        Ok(self)
    }
}
