//! Raft's safety properties (Figure 3 of the paper), checked over the whole
//! cluster after every handler call:
//!
//! - `term-monotonic`: a node's term never goes back, and it votes at most
//!   once per term (`one-vote-per-term`);
//! - `election-safety`: at most one leader per term;
//! - `log-matching`: an (index, term) names one entry in every log;
//! - `leader-completeness`: a new leader's log holds every entry committed
//!   in an earlier term (a leader of an older term may still be elected
//!   late, by delayed votes, without what a later term committed);
//! - `state-machine-safety`: every node commits the same entry at each
//!   index (so committed entries never change).
//!
//! Work is incremental: log matching looks only at the entries the node's
//! last handler wrote ([`RaftNode::log_changed_from`]), commits only at
//! indices a node newly committed; each new leader is compared once with
//! the committed prefix.

use super::{Command, Entry, RaftDurable, RaftNode, Role};
use crate::sim::{Monitor, NodeId, Violation};
use std::collections::BTreeMap;

/// What identifies an entry: its term and the request (origin node and
/// request id; `None` for a leader's no-op, one per term).
type EntryId = (u64, Option<(NodeId, u64)>);

fn entry_id(e: &Entry) -> EntryId {
    match &e.cmd {
        Command::Noop => (e.term, None),
        Command::Client { origin, req } => (e.term, Some((*origin, req.id.0))),
    }
}

pub(crate) struct RaftMonitor {
    promised: bool,
    /// term -> its leader.
    leaders: BTreeMap<u64, NodeId>,
    /// The committed log, index `i` (1-based) at `committed[i - 1]`, with
    /// the term in which it was first seen committed (the committing
    /// leader's).
    committed: Vec<(EntryId, u64)>,
    /// (index, term) -> the entry first seen there.
    by_position: BTreeMap<(u64, u64), EntryId>,
    /// Per node: commit index, term and vote at the last observation.
    seen: Vec<Seen>,
}

#[derive(Clone, Copy, Default)]
struct Seen {
    commit: u64,
    term: u64,
    vote: Option<NodeId>,
}

impl RaftMonitor {
    pub(crate) fn new(promised: bool) -> RaftMonitor {
        RaftMonitor {
            promised,
            leaders: BTreeMap::new(),
            committed: Vec::new(),
            by_position: BTreeMap::new(),
            seen: Vec::new(),
        }
    }
}

fn violation(invariant: &'static str, detail: String) -> Option<Violation> {
    Some(Violation { invariant, detail })
}

impl Monitor<RaftNode> for RaftMonitor {
    fn observe(&mut self, id: NodeId, node: &RaftNode, d: &RaftDurable) -> Option<Violation> {
        if self.seen.len() <= id {
            self.seen.resize(id + 1, Seen::default());
        }
        let before = self.seen[id];
        let term = d.current_term;
        self.seen[id].term = term;
        self.seen[id].vote = d.voted_for;
        if term < before.term {
            return violation("term-monotonic", format!("n{id}'s term went from {} back to {term}", before.term));
        }
        if term == before.term && before.vote.is_some() && d.voted_for != before.vote {
            return violation(
                "one-vote-per-term",
                format!("n{id} voted for {:?} and then {:?} in term {term}", before.vote, d.voted_for),
            );
        }
        if node.role() == Role::Leader {
            match self.leaders.get(&term) {
                Some(&other) if other != id => {
                    return violation("election-safety", format!("n{other} and n{id} both lead term {term}"));
                }
                Some(_) => {}
                None => {
                    self.leaders.insert(term, id);
                    for (i, (want, _)) in self.committed.iter().enumerate().filter(|(_, c)| c.1 < term) {
                        let have = d.log.get(i).map(entry_id);
                        if have != Some(*want) {
                            return violation(
                                "leader-completeness",
                                format!("n{id} leads term {term} without committed entry {} {want:?}", i + 1),
                            );
                        }
                    }
                }
            }
        }
        if let Some(from) = node.log_changed_from() {
            for i in from.max(1)..=d.last_index() {
                let e = entry_id(&d.log[i as usize - 1]);
                match self.by_position.get(&(i, e.0)) {
                    Some(first) if *first != e => {
                        return violation(
                            "log-matching",
                            format!("n{id} has {e:?} at index {i}, where {first:?} of the same term was"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        self.by_position.insert((i, e.0), e);
                    }
                }
            }
        }
        let commit = node.commit_index();
        if commit > d.last_index() {
            return violation("state-machine-safety", format!("n{id} committed {commit} past its log's end"));
        }
        // A restart forgets the commit index; it is learned again.
        let from = if commit < before.commit { 0 } else { before.commit };
        self.seen[id].commit = commit;
        for i in from + 1..=commit {
            let e = entry_id(&d.log[i as usize - 1]);
            match self.committed.get(i as usize - 1) {
                Some((c, _)) if *c != e => {
                    return violation(
                        "state-machine-safety",
                        format!("n{id} committed {e:?} at index {i}, where {c:?} was committed"),
                    );
                }
                Some(_) => {}
                None => self.committed.push((e, d.current_term)),
            }
        }
        None
    }

    fn promised(&self) -> bool {
        self.promised
    }
}
