//! Cassandra's lightweight transactions for `quorum` (`lwt=true`):
//! compare-and-set by Paxos on each key, among the key's replicas in every
//! datacenter (`SERIAL`) or the coordinator's own (`LOCAL_SERIAL`).
//!
//! Each round is Cassandra's prepare / promise, read, propose / accept,
//! commit, with the read folded into the promises (as Cassandra 4.1's
//! Paxos v2 does, and as CASPaxos does): a replica's promise carries the
//! proposal it last accepted, and the coordinator takes the newest one
//! among a majority as the key's current value. It evaluates the
//! condition on it and proposes the new value — or the current value
//! again when the condition fails or the operation is a read, so that
//! what it answers is chosen by a majority before it answers (a value
//! seen only on a minority could otherwise be lost after it was read).
//! Once a majority accepts, the coordinator answers and sends a commit,
//! which the replicas also apply to their ordinary last-write-wins store
//! (stamped with the ballot), where non-serial reads find it.
//!
//! A coordinator whose ballot is refused while preparing retries with a
//! higher one after a random backoff. One whose *changing* proposal is
//! refused or unanswered does not retry: the proposal may still be chosen
//! by the next round, so the answer is `info` (Cassandra's CAS write
//! timeout), never a retry that would apply the change twice.
//!
//! With `lwt=true` every read, write and compare-and-set on a key goes
//! through Paxos (serial reads, writes as conditional updates whose
//! condition always holds): mixing lightweight transactions with ordinary
//! writes of the same key is not linearizable in Cassandra either.

use super::dc::{Serial, Topology};
use super::{QuorumDurable, QuorumMsg};
use crate::protocols::common::lww::{merge_noting, Stamp, Versioned};
use crate::protocols::common::Key;
use crate::sim::{Ctx, NodeId, Request, Response};
use checker::{Value, F};
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet};

/// Timer tags of Paxos retries: the op id with this bit set (op ids are
/// below 2^62: an incarnation above 2^30 would be needed to reach it).
pub const RETRY_BIT: u64 = 1 << 62;

/// Longest random backoff before a refused round retries within one
/// datacenter, in ns (a few local round trips; Cassandra waits up to
/// 100 ms).
pub const BACKOFF_LOCAL_NS: u64 = 3_000_000;

/// A Paxos ballot: a round number from the coordinator's clock, then its
/// node id (distinct coordinators never share one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ballot {
    pub round: u64,
    pub node: NodeId,
}

/// A proposal a replica accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub ballot: Ballot,
    pub value: Value,
}

/// One key's Paxos state at a replica (durable).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Acceptor {
    pub promised: Ballot,
    pub accepted: Option<Proposal>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PaxosMsg {
    Prepare {
        op: u64,
        key: Key,
        ballot: Ballot,
    },
    /// `refused`: the ballot this replica promised instead.
    Promise {
        op: u64,
        ballot: Ballot,
        refused: Option<Ballot>,
        accepted: Option<Proposal>,
    },
    Propose {
        op: u64,
        key: Key,
        proposal: Proposal,
    },
    Accepted {
        op: u64,
        ballot: Ballot,
        refused: Option<Ballot>,
    },
    Commit {
        key: Key,
        proposal: Proposal,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Preparing,
    Proposing,
    /// Refused while preparing: waiting out the backoff.
    Backoff,
}

/// A compare-and-set (or serial read, or write) this node coordinates.
#[derive(Clone, Debug)]
struct Round {
    req: Request,
    ballot: Ballot,
    asked: Vec<NodeId>,
    phase: Phase,
    promises: BTreeMap<NodeId, Option<Proposal>>,
    accepts: BTreeSet<NodeId>,
    /// What the client hears once the proposal is accepted.
    answer: Option<Response>,
    proposed: Option<Proposal>,
    /// The proposal changes the key's value (it must not be retried).
    changes: bool,
    /// Highest ballot a replica promised instead of ours.
    highest_seen: Ballot,
}

/// The coordinator side (volatile; the acceptor side is in the durable
/// state).
#[derive(Clone, Debug, Default)]
pub struct Proposer {
    rounds: BTreeMap<u64, Round>,
    last_round: u64,
    /// Longest random backoff after a refusal: longer than a round's
    /// round trips, or two coordinators keep preempting each other.
    backoff_max_ns: u64,
    pub retries: u64,
}

type QCtx<'a> = Ctx<'a, QuorumMsg, QuorumDurable>;

fn send(ctx: &mut QCtx, to: NodeId, m: PaxosMsg) {
    ctx.send(to, QuorumMsg::Paxos(m));
}

impl Proposer {
    pub fn new(backoff_max_ns: u64) -> Proposer {
        Proposer { backoff_max_ns: backoff_max_ns.max(1), ..Proposer::default() }
    }

    /// Whether a timer tag is one of this proposer's retries.
    pub fn owns_retry(tag: u64) -> bool {
        tag & RETRY_BIT != 0
    }

    /// Starts a serial operation `req` under op id `op`; its timeout timer
    /// (tag `op`) is the caller's.
    pub fn start(&mut self, ctx: &mut QCtx, op: u64, req: Request, topo: &Topology, serial: Serial) {
        let local = topo.dc_of(ctx.id());
        let asked = topo.asked(&req.key, local, serial == Serial::LocalSerial);
        debug_assert!(!asked.is_empty(), "every key has replicas");
        let round = Round {
            req,
            ballot: Ballot::default(),
            asked,
            phase: Phase::Backoff,
            promises: BTreeMap::new(),
            accepts: BTreeSet::new(),
            answer: None,
            proposed: None,
            changes: false,
            highest_seen: Ballot::default(),
        };
        self.rounds.insert(op, round);
        self.prepare(ctx, op);
    }

    fn prepare(&mut self, ctx: &mut QCtx, op: u64) {
        let now = ctx.local_time_ns().max(0) as u64;
        let Some(r) = self.rounds.get_mut(&op) else { return };
        let round = now.max(self.last_round + 1).max(r.highest_seen.round + 1);
        self.last_round = round;
        r.ballot = Ballot { round, node: ctx.id() };
        r.phase = Phase::Preparing;
        r.promises.clear();
        r.accepts.clear();
        let (key, ballot) = (r.req.key.clone(), r.ballot);
        for &to in &r.asked.clone() {
            send(ctx, to, PaxosMsg::Prepare { op, key: key.clone(), ballot });
        }
    }

    /// A coordinator's message back from a replica.
    pub fn on_reply(&mut self, ctx: &mut QCtx, from: NodeId, m: PaxosMsg) {
        match m {
            PaxosMsg::Promise { op, ballot, refused, accepted } => {
                self.on_promise(ctx, from, op, ballot, refused, accepted)
            }
            PaxosMsg::Accepted { op, ballot, refused } => self.on_accepted(ctx, from, op, ballot, refused),
            _ => {}
        }
    }

    fn on_promise(
        &mut self,
        ctx: &mut QCtx,
        from: NodeId,
        op: u64,
        ballot: Ballot,
        refused: Option<Ballot>,
        accepted: Option<Proposal>,
    ) {
        let Some(r) = self.rounds.get_mut(&op) else { return };
        if r.phase != Phase::Preparing || r.ballot != ballot || !r.asked.contains(&from) {
            return;
        }
        if let Some(b) = refused {
            r.highest_seen = r.highest_seen.max(b);
            r.phase = Phase::Backoff;
            self.retries += 1;
            let wait = ctx.rng().random_range(1..=self.backoff_max_ns);
            ctx.set_timer(wait, op | RETRY_BIT);
            return;
        }
        r.promises.insert(from, accepted);
        if r.promises.len() < Topology::paxos_majority(r.asked.len()) {
            return;
        }
        // The key's current value: the newest proposal a majority knows of.
        let current = r.promises.values().flatten().max_by_key(|p| p.ballot).map_or(Value::Nil, |p| p.value.clone());
        let (next, answer) = match r.req.f {
            F::Write | F::Put => (r.req.value.clone(), Response::Ok(r.req.value.clone())),
            F::Cas => match r.req.value.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) {
                Some([old, new]) if *old == current => (new.clone(), Response::Ok(r.req.value.clone())),
                Some(_) => (current.clone(), Response::Fail(format!("not applied: current value is {current}"))),
                None => (current.clone(), Response::Fail(format!("cas expects [old, new], got {}", r.req.value))),
            },
            _ => (current.clone(), Response::Ok(current.clone())),
        };
        r.changes = next != current;
        r.answer = Some(answer);
        r.phase = Phase::Proposing;
        let proposal = Proposal { ballot: r.ballot, value: next };
        r.proposed = Some(proposal.clone());
        let key = r.req.key.clone();
        for &to in &r.asked.clone() {
            send(ctx, to, PaxosMsg::Propose { op, key: key.clone(), proposal: proposal.clone() });
        }
    }

    fn on_accepted(&mut self, ctx: &mut QCtx, from: NodeId, op: u64, ballot: Ballot, refused: Option<Ballot>) {
        let Some(r) = self.rounds.get_mut(&op) else { return };
        if r.phase != Phase::Proposing || r.ballot != ballot || !r.asked.contains(&from) {
            return;
        }
        if let Some(b) = refused {
            r.highest_seen = r.highest_seen.max(b);
            if r.changes {
                // May still be chosen by a later round: indeterminate.
                let r = self.rounds.remove(&op).expect("present");
                ctx.reply(r.req.id, Response::Unknown("CAS write contended: proposal refused".into()));
            } else {
                r.phase = Phase::Backoff;
                self.retries += 1;
                let wait = ctx.rng().random_range(1..=self.backoff_max_ns);
                ctx.set_timer(wait, op | RETRY_BIT);
            }
            return;
        }
        r.accepts.insert(from);
        if r.accepts.len() < Topology::paxos_majority(r.asked.len()) {
            return;
        }
        let r = self.rounds.remove(&op).expect("present");
        // Chosen: answer, and let every replica apply it to its store.
        let proposal = r.proposed.clone().expect("a round proposes before it counts accepts");
        ctx.reply(r.req.id, r.answer.clone().expect("decided with the proposal"));
        for &to in &r.asked {
            send(ctx, to, PaxosMsg::Commit { key: r.req.key.clone(), proposal: proposal.clone() });
        }
    }

    /// A retry's backoff is over: prepare again with a higher ballot.
    pub fn on_retry(&mut self, ctx: &mut QCtx, tag: u64) {
        let op = tag & !RETRY_BIT;
        if self.rounds.get(&op).is_some_and(|r| r.phase == Phase::Backoff) {
            self.prepare(ctx, op);
        }
    }

    /// The operation's timeout: `true` if it was this proposer's (and is
    /// answered now).
    pub fn on_timeout(&mut self, ctx: &mut QCtx, op: u64) -> bool {
        let Some(r) = self.rounds.remove(&op) else { return false };
        let response = if r.changes && r.phase == Phase::Proposing {
            Response::Unknown("CAS write timeout: proposal not yet accepted by a majority".into())
        } else {
            Response::Fail(format!("CAS timeout in the {:?} phase: nothing was proposed", r.phase))
        };
        ctx.reply(r.req.id, response);
        true
    }
}

/// A replica's side of a Paxos message; `stored` collects what it applied
/// to its store (the monitor's notes).
pub fn on_acceptor(ctx: &mut QCtx, from: NodeId, m: PaxosMsg, stored: &mut Vec<(Key, Versioned)>) {
    match m {
        PaxosMsg::Prepare { op, key, ballot } => {
            let a = ctx.durable_mut().paxos.entry(key).or_default();
            // The same ballot again is a duplicate of a prepare already
            // promised: promise again (refusing would make the proposer
            // back off for nothing).
            let refused = if ballot >= a.promised {
                a.promised = ballot;
                None
            } else {
                Some(a.promised)
            };
            let accepted = a.accepted.clone();
            debug_assert!(a.accepted.as_ref().is_none_or(|p| p.ballot <= a.promised), "accepted beyond promised");
            send(ctx, from, PaxosMsg::Promise { op, ballot, refused, accepted });
        }
        PaxosMsg::Propose { op, key, proposal } => {
            let a = ctx.durable_mut().paxos.entry(key).or_default();
            let ballot = proposal.ballot;
            let refused = if ballot >= a.promised {
                debug_assert!(
                    a.accepted.as_ref().is_none_or(|p| p.ballot <= ballot),
                    "a replica accepts newer ballots only"
                );
                a.promised = ballot;
                a.accepted = Some(proposal);
                None
            } else {
                Some(a.promised)
            };
            send(ctx, from, PaxosMsg::Accepted { op, ballot, refused });
        }
        PaxosMsg::Commit { key, proposal } => {
            let stamp = Stamp { ts_ns: proposal.ballot.round.min(i64::MAX as u64) as i64, node: proposal.ballot.node };
            let v = Versioned { stamp, value: proposal.value };
            merge_noting(&mut ctx.durable_mut().store, stored, &key, &v);
        }
        PaxosMsg::Promise { .. } | PaxosMsg::Accepted { .. } => {}
    }
}
