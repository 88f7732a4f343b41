//! A brute-force oracle for transactional consistency, written from the
//! definitions alone, to measure a transactional checker against; and
//! proptest strategies that build small list-append and rw-register
//! histories ([`gen`]).
//!
//! [`check`] decides, for a history of at most [`MAX_MAYBE_COMMITTED_TXNS`]
//! ok-or-info transactions of at most [`MAX_MOPS_PER_TXN`] micro-ops, which of
//! twelve models (Elle's names, [`Model`]) allow it, with a witness or a reason
//! for each. Beyond the limits it answers [`OracleError::TooLarge`], never a
//! guess. It does not share code or types with any checker module.
//!
//! # Data model (Elle's)
//!
//! Keys start nil. `append k v` adds `v` to the list at `k`, `r k` returns
//! the list (nil is `[]`); `w k v` overwrites a register, `r k` returns its
//! value. Values are unique per key, so a value names its writer (Elle's
//! precondition; a history breaking it is [`InvalidHistory`], an input error).
//! Each key has a *version order*: every committed writer installs one
//! version, the previous version with its appends (list-append) or its last
//! written value (register), so every list read is a prefix of the key's
//! longest version (Kingsbury & Alvaro, "Elle", VLDB 2020, §3 and §4). An
//! `ok` transaction committed; `fail` did not (reading its writes is an
//! aborted read, G1a); `info` may have: every subset of the info transactions
//! is tried as committed, and their reads are unknown. Real time: `a`
//! precedes `b` iff `a` is ok and completed before `b` was invoked.
//! Process order: an ok `a` invoked before `b` by the same process.
//!
//! # Two formulations
//!
//! **Abstract executions** ([`Method::Arbitration`]; Cerone, Bernardi &
//! Gotsman, "A Framework for Transactional Consistency Models with Atomic
//! Visibility", CONCUR 2015). Enumerate every total *arbitration* order AR
//! of the committed transactions (ok plus any subset of info), each with a
//! visibility relation VIS ⊆ AR. A key's version order is AR restricted to
//! its writers. INT: each read after an earlier micro-op on its key in the
//! same transaction returns what that op left (Elle's `internal`). EXT: the
//! first read of a key returns the version of the AR-last *visible* writer
//! of that key (or nil), with the transaction's own earlier appends after
//! it. Models, from Cerone et al.'s axioms:
//!
//! - read-atomic: INT, EXT (any VIS). Decided by giving each transaction
//!   the least VIS its reads need (the writers they name) and checking that
//!   no later writer of a key it read is then visible.
//! - causal: read-atomic with VIS transitive (TRANSVIS): the least VIS is
//!   the transitive closure.
//! - snapshot-isolation: VIS is a prefix of AR (PREFIX: the snapshot at the
//!   transaction's start) and two transactions writing a common key are not
//!   concurrent (NOCONFLICT: the later one's snapshot includes the earlier).
//!   Equivalently (Berenson et al., "A Critique of ANSI SQL Isolation
//!   Levels", SIGMOD 1995): a start and a commit point per transaction, reads
//!   from the committed state at the start plus own writes, first committer
//!   wins. Enumerated as AR (the commit order) and, per transaction, every
//!   snapshot prefix.
//! - serializable: VIS = AR (TOTALVIS): serial replay of AR yields every
//!   read, including reads of own writes.
//! - strict-serializable: serializable with AR respecting real time.
//! - strong-session-serializable: serializable with AR respecting process
//!   order.
//! - strong-snapshot-isolation: snapshot isolation where every transaction
//!   that completed before `t` was invoked is in `t`'s snapshot (Daudjee &
//!   Salem, VLDB 2006, "strong SI"); strong-session-snapshot-isolation: the
//!   same for the transaction's own process's earlier transactions.
//!
//! Cerone et al. add the SESSION axiom (process order ⊆ VIS) to every model;
//! Elle keeps process order only in its strong-session models, and so does
//! this oracle, so that Elle's model graph (snapshot-isolation ⟹ causal ⟹
//! read-atomic) holds here too.
//!
//! **Direct serialization graphs** ([`Method::Dsg`]; Adya, "Weak
//! Consistency: A Generalized Theory and Optimistic Implementations for
//! Distributed Transactions", MIT PhD thesis 1999; Adya, Liskov & O'Neil,
//! "Generalized Isolation Level Definitions", ICDE 2000). Enumerate every
//! version order compatible with the reads (each read of a committed
//! transaction is the initial version, a committed writer's version, an
//! intermediate one, or one built on aborted writes) and build the DSG over
//! the committed transactions: `ww` from each version to the next, `wr` from
//! a writer to each reader of its version, `rw` from a reader of a version
//! to the writer of the next. A history is allowed iff *some* version order
//! avoids every proscribed phenomenon:
//!
//! - G0: a cycle of `ww` edges. G1a (aborted read): a read of a version
//!   written by a transaction that did not commit, or of a list holding such
//!   a value. G1b (intermediate read): a read of a version its writer
//!   overwrote in the same transaction. G1c: a cycle of `ww`/`wr` edges
//!   (a read of the transaction's own later write, Elle's `future-read`, is
//!   a `wr` self-loop). G-single: a cycle with exactly one `rw` edge.
//!   G2-item: a cycle with at least one `rw` edge. G-nonadjacent: a cycle
//!   with no two consecutive `rw` edges. The `-realtime` and `-process`
//!   variants add real-time or process edges to the graph.
//! - read-uncommitted (PL-1): no G0. read-committed (PL-2): no G0, G1a, G1b,
//!   G1c. consistent-view (PL-2+): also no G-single. repeatable-read
//!   (PL-2.99): also no G2-item. Without predicates G2-item is G2, so
//!   PL-2.99 is PL-3; as in Elle, repeatable-read does not proscribe
//!   `internal`, serializable does.
//! - The DSG form of the stronger models, for cross-checking the abstract
//!   executions: serializable = PL-3 + INT; strict-serializable and
//!   strong-session-serializable add real-time or process edges; the three
//!   snapshot-isolation models = no G1 + INT + no G-nonadjacent (with
//!   real-time or process edges), Elle's choice, which Cerone & Gotsman
//!   ("Analysing Snapshot Isolation", PODC 2016) prove equivalent to the
//!   axioms above: (wr ∪ ww ∪ so) ; rw? acyclic.
//!
//! Adya's theory takes for granted that a transaction reads its own writes,
//! so the PL levels are judged on each transaction's reads that precede its
//! writes to the key; reads after its own writes are held to INT only by the
//! models that proscribe `internal` (Elle: read-atomic and up). A second
//! read of a key, before any write to it, is for Adya another read of some
//! version: a non-repeatable read is then a G-single (Elle instead reports
//! only `internal`).
//!
//! Every version order without a `ww` cycle is the restriction of a total
//! order of the writers, so the DSG search enumerates those (skipping orders
//! that only swap transactions with no key written in common) and prunes a
//! branch once the edges fixed so far hold a proscribed cycle; edges only
//! grow as a branch deepens, so pruning never loses an answer.
//!
//! # Where this differs from Elle (what a checker comparison must expect)
//!
//! The oracle decides each model by its definition; Elle (and a checker
//! following it) decides by the anomalies it can infer. They agree where
//! inference recovers everything, and differ, by design, here:
//!
//! - A second read of a key before any write to it is, for Adya, another
//!   read of some version: a non-repeatable read is a G-single here (not
//!   consistent-view, not repeatable-read); Elle reports only `internal`.
//! - read-atomic and causal are decided by their axioms. Elle's lists of
//!   anomalies they proscribe are incomplete (its own words): a fractured
//!   read (a G-single through `wr` and `rw`) is not read-atomic here.
//! - rw-register version orders are quantified over, so a verdict is exact;
//!   Elle infers only some version order facts (the initial state first,
//!   write-follows-read, and optionally per-key linearizability or
//!   sequential consistency, which [`check_assuming`] takes from their
//!   definitions, see `keys.rs`): a checker may miss anomalies the oracle
//!   finds, and (read-uncommitted only) write-follows-read may find a G0
//!   that some version order avoids. A checker following Elle should be
//!   sound against the oracle (its "not allowed" implies the oracle's)
//!   rather than equal.
//! - List appends no read saw are placed anywhere after the longest read,
//!   every way; Elle infers no edges for them. A final read of every key
//!   ([`gen::Plan::final_read`]) removes the difference.
//! - read-uncommitted: two committed reads neither of which is a prefix of
//!   the other have no version order, so nothing allows them here; Elle
//!   maps `incompatible-order` to G1a, which read-uncommitted allows.
//! - Reads after own writes count for the PL levels only through their
//!   values (G1a, G1b, duplicates, values never written); Elle also feeds
//!   them to version inference, where a bad one can show as
//!   `incompatible-order`.
//!
//! # Bounds
//!
//! At most [`MAX_TXNS`] transactions, [`MAX_MAYBE_COMMITTED_TXNS`] of them ok
//! or info, [`MAX_INFO_TXNS`] info, [`MAX_MOPS_PER_TXN`] micro-ops each: an
//! arbitration search visits at most e·8! ≈ 110k orders, a DSG search at
//! most 2^4 info subsets of that; each search also stops after
//! [`MAX_SEARCH_NODES`] nodes with [`OracleError::TooLarge`].

mod arbitration;
mod dsg;
pub mod gen;
mod history;
mod keys;
#[cfg(test)]
mod naive;
mod prep;
#[cfg(test)]
mod tests;

pub use history::{
    from_history, ConvertError, Converted, InvalidHistory, Key, Mop, Observed, Txn, TxnHistory, TxnOutcome, Val,
    Workload,
};

pub use keys::KeyOrder;
use prep::Prep;
use std::fmt;

/// Most transactions in a history the oracle judges.
pub const MAX_TXNS: usize = 12;
/// Most ok or info transactions: the ones a search orders.
pub const MAX_MAYBE_COMMITTED_TXNS: usize = 8;
/// Most info transactions: every subset of them is tried as committed.
pub const MAX_INFO_TXNS: usize = 4;
/// Most micro-ops in one transaction.
pub const MAX_MOPS_PER_TXN: usize = 4;
/// Most search nodes (placements of one transaction) one search visits.
pub const MAX_SEARCH_NODES: u64 = 4_000_000;

/// A consistency model, by Elle's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    ReadUncommitted,
    ReadCommitted,
    ReadAtomic,
    Causal,
    ConsistentView,
    SnapshotIsolation,
    RepeatableRead,
    Serializable,
    StrongSessionSnapshotIsolation,
    StrongSnapshotIsolation,
    StrongSessionSerializable,
    StrictSerializable,
}

/// How a model is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Cerone et al.'s abstract executions: arbitration orders with visibility.
    Arbitration,
    /// Adya's direct serialization graph over every compatible version order.
    Dsg,
}

impl Model {
    pub const ALL: [Model; 12] = [
        Model::ReadUncommitted,
        Model::ReadCommitted,
        Model::ReadAtomic,
        Model::Causal,
        Model::ConsistentView,
        Model::SnapshotIsolation,
        Model::RepeatableRead,
        Model::Serializable,
        Model::StrongSessionSnapshotIsolation,
        Model::StrongSnapshotIsolation,
        Model::StrongSessionSerializable,
        Model::StrictSerializable,
    ];

    /// Elle's name.
    pub fn name(self) -> &'static str {
        match self {
            Model::ReadUncommitted => "read-uncommitted",
            Model::ReadCommitted => "read-committed",
            Model::ReadAtomic => "read-atomic",
            Model::Causal => "causal",
            Model::ConsistentView => "consistent-view",
            Model::SnapshotIsolation => "snapshot-isolation",
            Model::RepeatableRead => "repeatable-read",
            Model::Serializable => "serializable",
            Model::StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            Model::StrongSnapshotIsolation => "strong-snapshot-isolation",
            Model::StrongSessionSerializable => "strong-session-serializable",
            Model::StrictSerializable => "strict-serializable",
        }
    }

    pub fn from_name(s: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The models this one directly implies, as in Elle's model graph
    /// (`elle.consistency-model/models`) restricted to these twelve. Also
    /// true here but not in Elle's graph: repeatable-read ⟹ consistent-view
    /// (without predicates, G-single is a G2-item).
    pub fn implies(self) -> &'static [Model] {
        use Model::*;
        match self {
            StrictSerializable => &[Serializable, StrongSnapshotIsolation, StrongSessionSerializable],
            StrongSessionSerializable => &[Serializable, StrongSessionSnapshotIsolation],
            StrongSnapshotIsolation => &[StrongSessionSnapshotIsolation],
            StrongSessionSnapshotIsolation => &[SnapshotIsolation],
            Serializable => &[SnapshotIsolation, RepeatableRead],
            SnapshotIsolation => &[Causal, ConsistentView],
            RepeatableRead => &[ReadCommitted],
            Causal => &[ReadAtomic],
            ReadAtomic => &[ReadCommitted],
            ConsistentView => &[ReadCommitted],
            ReadCommitted => &[ReadUncommitted],
            ReadUncommitted => &[],
        }
    }

    /// Every model this one implies, itself included.
    pub fn implied(self) -> Vec<Model> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            for &m in out[i].implies() {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
            i += 1;
        }
        out.sort();
        out
    }

    /// The formulation [`check`] uses.
    pub fn primary(self) -> Method {
        self.methods()[0]
    }

    /// The formulations this oracle has for the model, primary first.
    pub fn methods(self) -> &'static [Method] {
        use Model::*;
        match self {
            ReadUncommitted | ReadCommitted | ConsistentView | RepeatableRead => &[Method::Dsg],
            ReadAtomic | Causal => &[Method::Arbitration],
            _ => &[Method::Arbitration, Method::Dsg],
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the oracle gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OracleError {
    /// Beyond the brute force's limits: no answer rather than a guess.
    #[error("too large for the oracle: {found} {what}, at most {limit}")]
    TooLarge { what: &'static str, found: usize, limit: usize },
    /// Not a well-formed history: an input error, not a verdict.
    #[error("invalid history: {0}")]
    Invalid(#[from] InvalidHistory),
}

/// One model's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub model: Model,
    pub method: Method,
    pub allowed: bool,
    /// The witness (an order, snapshots, version orders) when allowed; why
    /// none exists when not. For people debugging a disagreement.
    pub explanation: String,
}

/// Every model's answer for one history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub decisions: Vec<Decision>,
}

impl Judgement {
    pub fn get(&self, m: Model) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.model == m)
    }

    /// Whether the history is allowed under `m`. Panics if `m` was not decided.
    pub fn allowed(&self, m: Model) -> bool {
        self.get(m).unwrap_or_else(|| panic!("{m} was not decided")).allowed
    }

    /// Elle's `:not`: the weakest violated models, those that imply no
    /// other violated model.
    pub fn not(&self) -> Vec<Model> {
        let violated: Vec<Model> = self.decisions.iter().filter(|d| !d.allowed).map(|d| d.model).collect();
        violated.iter().copied().filter(|&m| !violated.iter().any(|&w| w != m && m.implied().contains(&w))).collect()
    }

    /// Elle's `:also-not`: the other violated models.
    pub fn also_not(&self) -> Vec<Model> {
        let not = self.not();
        self.decisions.iter().filter(|d| !d.allowed && !not.contains(&d.model)).map(|d| d.model).collect()
    }
}

impl fmt::Display for Judgement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.decisions {
            let verdict = if d.allowed { "allowed" } else { "NOT allowed" };
            writeln!(f, "{}: {verdict} ({:?}): {}", d.model, d.method, d.explanation)?;
        }
        Ok(())
    }
}

/// Decides every model with its primary formulation.
pub fn check(h: &TxnHistory) -> Result<Judgement, OracleError> {
    check_assuming(h, KeyOrder::NONE)
}

/// As [`check`], counting only executions in which every key behaves as
/// `order` assumes (see `keys.rs`): each key linearizable (real time
/// orders what transactions see and install on it) or sequential (each
/// process's order does). rw-register only; list-append is unaffected.
pub fn check_assuming(h: &TxnHistory, order: KeyOrder) -> Result<Judgement, OracleError> {
    let p = Prep::assuming(h, order)?;
    let arb: Vec<Model> = Model::ALL.into_iter().filter(|m| m.primary() == Method::Arbitration).collect();
    let dsg: Vec<Model> = Model::ALL.into_iter().filter(|m| m.primary() == Method::Dsg).collect();
    let mut decisions = arbitration::decide(&p, &arb)?;
    decisions.extend(dsg::decide(&p, &dsg)?);
    decisions.sort_by_key(|d| d.model);
    Ok(Judgement { decisions })
}

/// Decides the given models with one formulation. Models that formulation
/// has no definition for ([`Model::methods`]) are left out of the answer.
pub fn check_with(h: &TxnHistory, models: &[Model], method: Method) -> Result<Vec<Decision>, OracleError> {
    check_with_assuming(h, models, method, KeyOrder::NONE)
}

/// As [`check_with`], under the key assumptions `order`.
pub fn check_with_assuming(
    h: &TxnHistory,
    models: &[Model],
    method: Method,
    order: KeyOrder,
) -> Result<Vec<Decision>, OracleError> {
    let p = Prep::assuming(h, order)?;
    let models: Vec<Model> = models.iter().copied().filter(|m| m.methods().contains(&method)).collect();
    let mut out = match method {
        Method::Arbitration => arbitration::decide(&p, &models)?,
        Method::Dsg => dsg::decide(&p, &models)?,
    };
    out.sort_by_key(|d| d.model);
    Ok(out)
}

/// Decides one model with its primary formulation.
pub fn check_model(h: &TxnHistory, model: Model) -> Result<Decision, OracleError> {
    let mut d = check_with(h, &[model], model.primary())?;
    Ok(d.remove(0))
}
