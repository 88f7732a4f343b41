//! Proptest strategies that build small transactional histories of either
//! workload, by running a *plan* on a simulated database at a chosen
//! isolation level and then, optionally, planting anomalies.
//!
//! A [`Plan`] is small structured data (transactions as key choices, client
//! schedules as choice lists, a level, mutations), and [`Plan::run`] turns it
//! into a [`TxnHistory`] deterministically, so failures shrink well: fewer
//! transactions, fewer micro-ops, key 0, schedules that run clients one
//! after another, the strictest level, no mutations.
//!
//! Levels (each guarantees its model by construction, see the tests):
//! [`Level::StrictSerial`] runs each transaction atomically at its
//! completion (strict-serializable); [`Level::Serial`] runs them atomically
//! in an order of its own, unrelated to real time (serializable);
//! [`Level::StrongSnapshot`] takes the snapshot at the invoke and commits at
//! the completion, first committer wins (strong-snapshot-isolation);
//! [`Level::Snapshot`] does so at times of its own (snapshot-isolation);
//! [`Level::ReadCommitted`] runs micro-ops one step at a time under long
//! write locks, reads seeing the latest committed state (read-committed:
//! lost updates, write skew, read skew, fractured reads);
//! [`Level::ReadUncommitted`] likewise but writes in place, so reads see
//! uncommitted writes (read-uncommitted: aborted and intermediate reads).
//! [`Mutation`]s then plant what no level produces: stale and future reads,
//! dirty reads, internal inconsistency, duplicate elements, incompatible
//! list orders, real-time and process violations, outcomes changed after
//! the fact, and (invalid input) duplicate writes.
//!
//! A `txn` checker's property test is then: for each [`TxnCase`], convert
//! `case.history.to_history()` and compare the checker's verdicts with
//! [`super::check`]`(&case.history)` (see the module doc of [`super`] for
//! where a checker following Elle is expected to be only sound):
//!
//! ```
//! use proptest::prelude::*;
//! use testkit::txn_oracle::{check, gen, Model, Workload};
//!
//! proptest! {
//!     #![proptest_config(ProptestConfig::with_cases(16))]
//!     // In a test file, with #[test]:
//!     fn oracle_answers(case in gen::any_history(Workload::ListAppend)) {
//!         let Some(history) = case.history.to_history() else { return Ok(()) }; // invalid input
//!         prop_assert_eq!(history.ops.len(), case.history.txns.len());
//!         let judgement = check(&case.history).unwrap();
//!         let _strict: bool = judgement.allowed(Model::StrictSerializable);
//!         // ... compare with the checker's verdict on `history` here.
//!     }
//! }
//! # oracle_answers();
//! ```

use super::history::{Mop, Observed, Txn, TxnHistory, TxnOutcome, Val, Workload};
use super::{MAX_INFO_TXNS, MAX_MAYBE_COMMITTED_TXNS, MAX_MOPS_PER_TXN};
use proptest::prelude::*;
use std::fmt;

/// The isolation level of the simulated database that runs a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    StrictSerial,
    Serial,
    StrongSnapshot,
    Snapshot,
    ReadCommitted,
    ReadUncommitted,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::StrictSerial,
        Level::Serial,
        Level::StrongSnapshot,
        Level::Snapshot,
        Level::ReadCommitted,
        Level::ReadUncommitted,
    ];

    /// The strongest model every history of this level (without mutations)
    /// satisfies.
    pub fn guarantees(self) -> super::Model {
        use super::Model;
        match self {
            Level::StrictSerial => Model::StrictSerializable,
            Level::Serial => Model::Serializable,
            Level::StrongSnapshot => Model::StrongSnapshotIsolation,
            Level::Snapshot => Model::SnapshotIsolation,
            Level::ReadCommitted => Model::ReadCommitted,
            Level::ReadUncommitted => Model::ReadUncommitted,
        }
    }
}

/// What a transaction is meant to do; the database may still abort it
/// (first-committer-wins, deadlock), which makes it fail (or, for an info
/// fate, not commit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fate {
    Commit,
    Abort,
    /// Commits, but the client never learns: `info`.
    InfoCommitted,
    /// Does not commit, and the client never learns: `info`.
    InfoLost,
}

/// A micro-op of a plan: a read or a write of key `key` (the write's value
/// is chosen when the plan runs: the next unused value of that key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlanMop {
    pub write: bool,
    pub key: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PlanTxn {
    /// Which client runs it; a client runs its transactions in plan order.
    pub client: u8,
    pub mops: Vec<PlanMop>,
    pub fate: Fate,
    pub mutation: Option<Mutation>,
}

/// A change planted in one transaction after the run. Numbers pick among
/// the transaction's candidates (modulo their count); a mutation with no
/// candidate does nothing. Mutations belong to their transaction so that
/// removing other transactions while shrinking leaves them in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutation {
    /// A read returns an older version: the list without its last element,
    /// or the register's previous committed value.
    StaleRead(u8),
    /// A read returns the key's final committed version.
    FreshRead(u8),
    /// A read sees a value of an aborted or overwritten write (the second
    /// number picks it).
    DirtyRead(u8, u8),
    /// The transaction, if ok and writing, fails instead: its readers read
    /// aborted writes.
    Abort,
    /// The transaction, if ok, becomes info: its reads become unknown.
    Crash,
    /// A read after an own write no longer reflects it (one is added if none).
    Internal(u8),
    /// A list read repeats its first element.
    DuplicateElement(u8),
    /// A list read swaps its last two elements.
    SwapElements(u8),
    /// The transaction is invoked just before it completes: more
    /// transactions precede it in real time.
    LateInvoke,
    /// The transaction completes just after its invoke.
    EarlyComplete,
    /// The transaction moves to the process of the transaction this picks,
    /// where it fits.
    SameProcess(u8),
    /// A read returns a value no transaction wrote (after the list's
    /// elements, or instead of the register's value).
    GarbageRead(u8),
    /// A write reuses another write's value on its key: an invalid history.
    DuplicateWrite(u8),
}

/// Everything a history is built from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Plan {
    pub workload: Workload,
    pub level: Level,
    pub txns: Vec<PlanTxn>,
    /// Picks, step by step, which client moves next (modulo those that can);
    /// when it runs out, the first one that can.
    pub schedule: Vec<u8>,
    /// For [`Level::Serial`] and [`Level::Snapshot`]: the database's own
    /// order of executions (or of snapshots and commits), picked likewise.
    pub db_schedule: Vec<u8>,
    /// A last transaction, after all others, reads every key.
    pub final_read: bool,
}

impl Plan {
    /// The mutations planted, with their transactions.
    pub fn mutations(&self) -> Vec<(usize, Mutation)> {
        self.txns.iter().enumerate().filter_map(|(t, x)| x.mutation.map(|m| (t, m))).collect()
    }

    /// The same plan without mutations.
    pub fn unmutated(&self) -> Plan {
        let mut p = self.clone();
        for t in &mut p.txns {
            t.mutation = None;
        }
        p
    }
}

/// A generated history with the plan that built it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TxnCase {
    pub plan: Plan,
    pub history: TxnHistory,
}

impl fmt::Debug for TxnCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:?} at {:?}, mutations {:?}:", self.plan.workload, self.plan.level, self.plan.mutations())?;
        write!(f, "{}", self.history)
    }
}

/// What the strategies draw from.
#[derive(Clone, Debug)]
pub struct GenConfig {
    pub workload: Workload,
    /// Levels to pick among (a level listed twice is picked twice as
    /// often); the first is where shrinking goes.
    pub levels: Vec<Level>,
    /// Transactions, the final read included (at most
    /// [`MAX_MAYBE_COMMITTED_TXNS`]).
    pub max_txns: usize,
    /// Keys 0..keys (at most [`MAX_MOPS_PER_TXN`], so one final read covers them).
    pub keys: u8,
    pub max_mops: usize,
    pub clients: u8,
    /// Whether transactions may be meant to abort or end info.
    pub faults: bool,
    /// At most this many transactions get a mutation (each is drawn with
    /// one chance in four).
    pub max_mutations: usize,
    pub mutations: Vec<MutationKind>,
}

/// The kinds of [`Mutation`], for choosing which a config may plant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MutationKind {
    StaleRead,
    FreshRead,
    DirtyRead,
    Abort,
    Crash,
    Internal,
    DuplicateElement,
    SwapElements,
    LateInvoke,
    EarlyComplete,
    SameProcess,
    GarbageRead,
    DuplicateWrite,
}

impl MutationKind {
    /// Every kind that keeps the history valid input.
    pub const VALID: [MutationKind; 12] = [
        MutationKind::StaleRead,
        MutationKind::FreshRead,
        MutationKind::DirtyRead,
        MutationKind::Abort,
        MutationKind::Crash,
        MutationKind::Internal,
        MutationKind::DuplicateElement,
        MutationKind::SwapElements,
        MutationKind::LateInvoke,
        MutationKind::EarlyComplete,
        MutationKind::SameProcess,
        MutationKind::GarbageRead,
    ];
}

impl GenConfig {
    /// Histories valid by construction at `level`: no mutations, but
    /// aborted and info transactions.
    pub fn valid(workload: Workload, level: Level) -> GenConfig {
        GenConfig {
            workload,
            levels: vec![level],
            max_txns: MAX_MAYBE_COMMITTED_TXNS,
            keys: 3,
            max_mops: MAX_MOPS_PER_TXN,
            clients: 3,
            faults: true,
            max_mutations: 0,
            mutations: Vec::new(),
        }
    }

    /// Every level and up to two valid-input mutations: the mix for
    /// comparing a checker with the oracle.
    pub fn any(workload: Workload) -> GenConfig {
        GenConfig {
            // The snapshot and read-committed levels twice: they make the
            // anomalies between the models (write skew, lost update, read skew).
            levels: [&Level::ALL[..], &[Level::StrongSnapshot, Level::Snapshot, Level::ReadCommitted]].concat(),
            max_mutations: 2,
            mutations: MutationKind::VALID.to_vec(),
            ..GenConfig::valid(workload, Level::StrictSerial)
        }
    }
}

fn mutation(kind: MutationKind) -> BoxedStrategy<Mutation> {
    let a = any::<u8>();
    match kind {
        MutationKind::StaleRead => a.prop_map(Mutation::StaleRead).boxed(),
        MutationKind::FreshRead => a.prop_map(Mutation::FreshRead).boxed(),
        MutationKind::DirtyRead => (a, any::<u8>()).prop_map(|(x, y)| Mutation::DirtyRead(x, y)).boxed(),
        MutationKind::Abort => Just(Mutation::Abort).boxed(),
        MutationKind::Crash => Just(Mutation::Crash).boxed(),
        MutationKind::Internal => a.prop_map(Mutation::Internal).boxed(),
        MutationKind::DuplicateElement => a.prop_map(Mutation::DuplicateElement).boxed(),
        MutationKind::SwapElements => a.prop_map(Mutation::SwapElements).boxed(),
        MutationKind::LateInvoke => Just(Mutation::LateInvoke).boxed(),
        MutationKind::EarlyComplete => Just(Mutation::EarlyComplete).boxed(),
        MutationKind::SameProcess => a.prop_map(Mutation::SameProcess).boxed(),
        MutationKind::GarbageRead => a.prop_map(Mutation::GarbageRead).boxed(),
        MutationKind::DuplicateWrite => a.prop_map(Mutation::DuplicateWrite).boxed(),
    }
}

/// Plans drawn from `cfg`.
pub fn plans(cfg: &GenConfig) -> impl Strategy<Value = Plan> {
    assert!(!cfg.levels.is_empty(), "a config needs a level");
    let max_txns = cfg.max_txns.clamp(1, MAX_MAYBE_COMMITTED_TXNS);
    let keys = cfg.keys.clamp(1, MAX_MOPS_PER_TXN as u8);
    let max_mops = cfg.max_mops.clamp(1, MAX_MOPS_PER_TXN);
    // Micro-op shapes: a read, a write, a read then a write of one key (the
    // read-modify-write lost updates are made of), or reads of two keys then
    // a write of the first (what write skew is made of).
    let mop = (0u8..4, 0..keys).prop_map(move |(shape, key)| {
        let (r, w) = (PlanMop { write: false, key }, PlanMop { write: true, key });
        match shape {
            0 => vec![r],
            1 => vec![w],
            2 => vec![r, w],
            _ => vec![r, PlanMop { write: false, key: (key + 1) % keys }, w],
        }
    });
    let mops = prop::collection::vec(mop, 1..=max_mops)
        .prop_map(move |ms| ms.into_iter().flatten().take(max_mops).collect::<Vec<_>>());
    let fate = if cfg.faults {
        prop_oneof![
            10 => Just(Fate::Commit),
            1 => Just(Fate::Abort),
            1 => Just(Fate::InfoCommitted),
            1 => Just(Fate::InfoLost),
        ]
        .boxed()
    } else {
        Just(Fate::Commit).boxed()
    };
    let mutation = if cfg.mutations.is_empty() || cfg.max_mutations == 0 {
        Just(None).boxed()
    } else {
        let one = prop::sample::select(cfg.mutations.clone()).prop_flat_map(mutation).prop_map(Some);
        prop_oneof![3 => Just(None), 1 => one].boxed()
    };
    let txn = (0..cfg.clients.max(1), mops, fate, mutation).prop_map(|(client, mops, fate, mutation)| PlanTxn {
        client,
        mops,
        fate,
        mutation,
    });
    let max_mutations = cfg.max_mutations;
    let workload = cfg.workload;
    (
        prop::sample::select(cfg.levels.clone()),
        prop::collection::vec(txn, 1..=max_txns),
        prop::collection::vec(any::<u8>(), 0..24),
        prop::collection::vec(any::<u8>(), 0..24),
        any::<bool>(),
    )
        .prop_map(move |(level, mut txns, schedule, db_schedule, final_read)| {
            let mut planted = 0;
            for t in &mut txns {
                if t.mutation.is_some() {
                    planted += 1;
                    if planted > max_mutations {
                        t.mutation = None;
                    }
                }
            }
            // Room for the final read within the oracle's limits.
            if final_read && txns.len() >= max_txns {
                txns.truncate(max_txns.saturating_sub(1).max(1));
            }
            let final_read = final_read && txns.len() < max_txns;
            Plan { workload, level, txns, schedule, db_schedule, final_read }
        })
}

/// Histories drawn from `cfg`.
pub fn histories(cfg: &GenConfig) -> impl Strategy<Value = TxnCase> {
    plans(cfg).prop_map(|plan| TxnCase { history: plan.run(), plan })
}

/// The mix for comparing a checker with the oracle ([`GenConfig::any`]).
pub fn any_history(workload: Workload) -> impl Strategy<Value = TxnCase> {
    histories(&GenConfig::any(workload))
}

/// Histories valid at `level` by construction ([`GenConfig::valid`]).
pub fn valid_history(workload: Workload, level: Level) -> impl Strategy<Value = TxnCase> {
    histories(&GenConfig::valid(workload, level))
}

// ---------------------------------------------------------------- running

/// Gap between event positions, leaving room for mutations to move an
/// invoke or completion between existing events.
const POSITION_STEP: u64 = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Invoke,
    Mop(usize),
    Complete,
}

/// The database: committed versions per key, per-key history of committed
/// versions, and (read-uncommitted) the physical state with uncommitted writes.
struct Db {
    workload: Workload,
    committed: Vec<Vec<Val>>,
    versions: Vec<Vec<Vec<Val>>>,
    physical: Vec<Vec<Val>>,
    /// Per key: how many commits had happened when it was last written.
    last_commit: Vec<u64>,
    commits: u64,
    locks: Vec<Option<usize>>,
}

impl Db {
    fn apply(&self, state: &mut Vec<Val>, v: Val) {
        match self.workload {
            Workload::ListAppend => state.push(v),
            Workload::RwRegister => *state = vec![v],
        }
    }

    fn observed(&self, state: &[Val]) -> Observed {
        match self.workload {
            Workload::ListAppend => Observed::List(state.to_vec()),
            Workload::RwRegister => Observed::Reg(state.last().copied()),
        }
    }

    fn install(&mut self, writes: &[(usize, Val)]) {
        let mut touched = Vec::new();
        for &(k, v) in writes {
            let mut s = std::mem::take(&mut self.committed[k]);
            self.apply(&mut s, v);
            self.committed[k] = s;
            if !touched.contains(&k) {
                touched.push(k);
            }
        }
        self.commits += 1;
        for k in touched {
            self.last_commit[k] = self.commits;
            self.versions[k].push(self.committed[k].clone());
            self.physical[k] = self.committed[k].clone();
        }
    }
}

struct Run<'p> {
    plan: &'p Plan,
    nkeys: usize,
    /// Per txn, per mop: its value (writes).
    vals: Vec<Vec<Val>>,
    fates: Vec<Fate>,
    reads: Vec<Vec<Option<Observed>>>,
    aborted: Vec<bool>,
    invoke_at: Vec<u64>,
    complete_at: Vec<u64>,
    process: Vec<u64>,
    db: Db,
    /// Per txn: its snapshot (SI) and the commit count when taken.
    snapshot: Vec<Option<(Vec<Vec<Val>>, u64)>>,
    /// Per txn: writes buffered until commit (read-committed, snapshots).
    buffer: Vec<Vec<(usize, Val)>>,
}

impl Plan {
    /// All transactions, the final read last.
    fn all_txns(&self) -> Vec<PlanTxn> {
        let mut txns = self.txns.clone();
        if self.final_read {
            let keys = txns.iter().flat_map(|t| t.mops.iter().map(|m| m.key)).max().map_or(1, |k| k + 1);
            let mops = (0..keys.min(MAX_MOPS_PER_TXN as u8)).map(|key| PlanMop { write: false, key }).collect();
            txns.push(PlanTxn { client: u8::MAX, mops, fate: Fate::Commit, mutation: None });
        }
        txns
    }

    /// Runs the plan: the history it makes, mutations planted.
    pub fn run(&self) -> TxnHistory {
        let txns = self.all_txns();
        let n = txns.len();
        let nkeys = txns.iter().flat_map(|t| t.mops.iter().map(|m| m.key as usize + 1)).max().unwrap_or(1);
        let mut next = vec![1 as Val; nkeys];
        let vals = txns
            .iter()
            .map(|t| {
                t.mops
                    .iter()
                    .map(|m| {
                        let k = m.key as usize;
                        let v = next[k];
                        if m.write {
                            next[k] += 1;
                        }
                        v
                    })
                    .collect()
            })
            .collect();
        // At most MAX_INFO_TXNS info fates; the rest commit.
        let mut infos = 0;
        let fates = txns
            .iter()
            .map(|t| match t.fate {
                Fate::InfoCommitted | Fate::InfoLost if infos >= MAX_INFO_TXNS => Fate::Commit,
                f @ (Fate::InfoCommitted | Fate::InfoLost) => {
                    infos += 1;
                    f
                }
                f => f,
            })
            .collect();
        let empty = vec![Vec::new(); nkeys];
        let mut run = Run {
            plan: self,
            nkeys,
            vals,
            fates,
            reads: txns.iter().map(|t| vec![None; t.mops.len()]).collect(),
            aborted: vec![false; n],
            invoke_at: vec![0; n],
            complete_at: vec![0; n],
            process: vec![0; n],
            db: Db {
                workload: self.workload,
                committed: empty.clone(),
                versions: vec![Vec::new(); nkeys],
                physical: empty,
                last_commit: vec![0; nkeys],
                commits: 0,
                locks: vec![None; nkeys],
            },
            snapshot: vec![None; n],
            buffer: vec![Vec::new(); n],
        };
        run.go(&txns);
        run.history(&txns)
    }
}

impl<'p> Run<'p> {
    fn steps(&self, txns: &[PlanTxn], t: usize) -> Vec<Step> {
        match self.plan.level {
            Level::ReadCommitted | Level::ReadUncommitted => std::iter::once(Step::Invoke)
                .chain((0..txns[t].mops.len()).map(Step::Mop))
                .chain(std::iter::once(Step::Complete))
                .collect(),
            _ => vec![Step::Invoke, Step::Complete],
        }
    }

    fn go(&mut self, txns: &[PlanTxn]) {
        let n = txns.len();
        let main = if self.plan.final_read { n - 1 } else { n };
        let clients = txns[..main].iter().map(|t| t.client as usize + 1).max().unwrap_or(1);
        // Per client: its transactions in plan order, with its step lists.
        let mut queues: Vec<Vec<usize>> = vec![Vec::new(); clients];
        for (t, txn) in txns[..main].iter().enumerate() {
            queues[txn.client as usize].push(t);
        }
        let mut crashes = vec![0u64; clients];
        let mut at: Vec<(usize, usize)> = vec![(0, 0); clients]; // (txn index in queue, step index)
        let steps: Vec<Vec<Step>> = (0..n).map(|t| self.steps(txns, t)).collect();
        let mut choices = self.plan.schedule.iter().copied();
        let mut pos = 0u64;
        loop {
            let pending: Vec<usize> = (0..clients).filter(|&c| at[c].0 < queues[c].len()).collect();
            if pending.is_empty() {
                break;
            }
            let runnable: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|&c| {
                    let t = queues[c][at[c].0];
                    !self.blocked(txns, t, steps[t][at[c].1])
                })
                .collect();
            let c = if runnable.is_empty() {
                // Deadlock on write locks: the first waiting transaction aborts.
                let c = pending[0];
                let t = queues[c][at[c].0];
                self.abort_now(t);
                at[c].1 = steps[t].len() - 1;
                c
            } else {
                let pick = choices.next().unwrap_or(0) as usize % runnable.len();
                runnable[pick]
            };
            let t = queues[c][at[c].0];
            let step = steps[t][at[c].1];
            pos += POSITION_STEP;
            match step {
                Step::Invoke => {
                    self.invoke_at[t] = pos;
                    self.process[t] = c as u64 + crashes[c] * clients as u64;
                    self.on_invoke(txns, t);
                }
                Step::Mop(i) => self.on_mop(txns, t, i),
                Step::Complete => {
                    self.complete_at[t] = pos;
                    self.on_complete(txns, t);
                    if matches!(self.fates[t], Fate::InfoCommitted | Fate::InfoLost) {
                        crashes[c] += 1;
                    }
                }
            }
            at[c].1 += 1;
            if at[c].1 == steps[t].len() {
                at[c] = (at[c].0 + 1, 0);
            }
        }
        if matches!(self.plan.level, Level::Serial | Level::Snapshot) {
            self.db_order(txns, main);
        }
        if self.plan.final_read {
            let t = n - 1;
            self.invoke_at[t] = pos + POSITION_STEP;
            self.complete_at[t] = pos + 2 * POSITION_STEP;
            self.process[t] = (clients as u64) * (1 + crashes.iter().max().copied().unwrap_or(0));
            self.atomic(txns, t);
        }
    }

    /// Runs the database's own order (serial, or snapshot starts and commits).
    fn db_order(&mut self, txns: &[PlanTxn], main: usize) {
        let mut choices = self.plan.db_schedule.iter().copied();
        match self.plan.level {
            Level::Serial => {
                let mut left: Vec<usize> = (0..main).collect();
                while !left.is_empty() {
                    let t = left.remove(choices.next().unwrap_or(0) as usize % left.len());
                    self.atomic(txns, t);
                }
            }
            _ => {
                // Each transaction: start, then commit.
                let mut next: Vec<u8> = vec![0; main];
                loop {
                    let open: Vec<usize> = (0..main).filter(|&t| next[t] < 2).collect();
                    if open.is_empty() {
                        break;
                    }
                    let t = open[choices.next().unwrap_or(0) as usize % open.len()];
                    if next[t] == 0 {
                        self.snapshot[t] = Some((self.db.committed.clone(), self.db.commits));
                    } else {
                        self.commit_snapshot(txns, t);
                    }
                    next[t] += 1;
                }
            }
        }
    }

    fn commits(&self, t: usize) -> bool {
        matches!(self.fates[t], Fate::Commit | Fate::InfoCommitted) && !self.aborted[t]
    }

    fn is_ok(&self, t: usize) -> bool {
        self.fates[t] == Fate::Commit && !self.aborted[t]
    }

    fn blocked(&self, txns: &[PlanTxn], t: usize, step: Step) -> bool {
        match step {
            Step::Mop(i) if txns[t].mops[i].write => {
                self.db.locks[txns[t].mops[i].key as usize].is_some_and(|owner| owner != t)
            }
            _ => false,
        }
    }

    fn release(&mut self, t: usize) {
        for l in &mut self.db.locks {
            if *l == Some(t) {
                *l = None;
            }
        }
    }

    /// Aborts `t` before its completion (deadlock), undoing in-place writes.
    fn abort_now(&mut self, t: usize) {
        self.aborted[t] = true;
        for k in 0..self.nkeys {
            if self.db.locks[k] == Some(t) {
                self.db.physical[k] = self.db.committed[k].clone();
            }
        }
        self.release(t);
        self.buffer[t].clear();
    }

    fn on_invoke(&mut self, _txns: &[PlanTxn], t: usize) {
        if self.plan.level == Level::StrongSnapshot {
            self.snapshot[t] = Some((self.db.committed.clone(), self.db.commits));
        }
    }

    fn on_mop(&mut self, txns: &[PlanTxn], t: usize, i: usize) {
        if self.aborted[t] {
            return;
        }
        let m = txns[t].mops[i];
        let k = m.key as usize;
        let uncommitted = self.plan.level == Level::ReadUncommitted;
        if m.write {
            self.db.locks[k] = Some(t);
            let v = self.vals[t][i];
            if uncommitted {
                let mut s = std::mem::take(&mut self.db.physical[k]);
                self.db.apply(&mut s, v);
                self.db.physical[k] = s;
            }
            self.buffer[t].push((k, v));
        } else {
            let state = if uncommitted {
                self.db.physical[k].clone()
            } else {
                let mut s = self.db.committed[k].clone();
                for &(bk, v) in &self.buffer[t] {
                    if bk == k {
                        self.db.apply(&mut s, v);
                    }
                }
                s
            };
            self.reads[t][i] = Some(self.db.observed(&state));
        }
    }

    fn on_complete(&mut self, txns: &[PlanTxn], t: usize) {
        match self.plan.level {
            Level::StrictSerial => self.atomic(txns, t),
            Level::StrongSnapshot => self.commit_snapshot(txns, t),
            Level::ReadCommitted | Level::ReadUncommitted => {
                if self.commits(t) {
                    let writes = std::mem::take(&mut self.buffer[t]);
                    self.db.install(&writes);
                } else {
                    self.abort_now(t);
                }
                self.release(t);
            }
            Level::Serial | Level::Snapshot => {}
        }
    }

    /// Runs `t` at once on the committed state.
    fn atomic(&mut self, txns: &[PlanTxn], t: usize) {
        if !self.commits(t) {
            return;
        }
        let mut state = self.db.committed.clone();
        let writes = self.execute(txns, t, &mut state);
        self.db.install(&writes);
    }

    /// Runs `t`'s micro-ops on `state`, recording its reads; its writes, to
    /// install at commit.
    fn execute(&mut self, txns: &[PlanTxn], t: usize, state: &mut [Vec<Val>]) -> Vec<(usize, Val)> {
        let mut writes = Vec::new();
        for (i, m) in txns[t].mops.iter().enumerate() {
            let k = m.key as usize;
            if m.write {
                let mut s = std::mem::take(&mut state[k]);
                self.db.apply(&mut s, self.vals[t][i]);
                state[k] = s;
                writes.push((k, self.vals[t][i]));
            } else {
                self.reads[t][i] = Some(self.db.observed(&state[k]));
            }
        }
        writes
    }

    /// Reads from `t`'s snapshot, then commits unless a concurrent
    /// transaction committed a write to a key `t` writes.
    fn commit_snapshot(&mut self, txns: &[PlanTxn], t: usize) {
        let Some((mut state, taken)) = self.snapshot[t].take() else { return };
        let writes = self.execute(txns, t, &mut state);
        let conflict = writes.iter().any(|&(k, _)| self.db.last_commit[k] > taken);
        if conflict {
            self.aborted[t] = true;
        } else if self.commits(t) {
            self.db.install(&writes);
        }
    }

    fn history(&self, txns: &[PlanTxn]) -> TxnHistory {
        let w = self.plan.workload;
        let mut out = Vec::new();
        for (t, txn) in txns.iter().enumerate() {
            let outcome = match self.fates[t] {
                Fate::InfoCommitted | Fate::InfoLost => TxnOutcome::Info,
                _ if self.is_ok(t) => TxnOutcome::Ok,
                _ => TxnOutcome::Fail,
            };
            let mops = txn
                .mops
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let (k, v) = (m.key as u64, self.vals[t][i]);
                    match (m.write, w) {
                        (true, Workload::ListAppend) => Mop::Append(k, v),
                        (true, Workload::RwRegister) => Mop::Write(k, v),
                        (false, _) if outcome == TxnOutcome::Ok => {
                            Mop::Read(k, self.reads[t][i].clone().unwrap_or(Observed::Unknown))
                        }
                        (false, _) => Mop::Read(k, Observed::Unknown),
                    }
                })
                .collect();
            out.push(Txn {
                process: self.process[t],
                outcome,
                invoke_at: self.invoke_at[t],
                complete_at: Some(self.complete_at[t]),
                mops,
            });
        }
        let mut h = TxnHistory { workload: w, txns: out };
        for (t, txn) in txns.iter().enumerate() {
            if let Some(m) = txn.mutation {
                mutate(&mut h, t, m, &self.db.versions, &self.db.committed);
            }
        }
        h.txns.sort_by_key(|t| t.invoke_at);
        h
    }
}

/// The `i`th (modulo) of `items`.
fn pick<T: Copy>(items: &[T], i: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[i as usize % items.len()])
}

/// Transaction `t`'s reads with known values: (txn, mop).
fn ok_reads(h: &TxnHistory, t: usize) -> Vec<(usize, usize)> {
    let txn = &h.txns[t];
    (0..txn.mops.len())
        .filter(|&i| matches!(txn.mops[i], Mop::Read(_, Observed::List(_) | Observed::Reg(_))))
        .map(|i| (t, i))
        .collect()
}

fn read_mut(h: &mut TxnHistory, (t, i): (usize, usize)) -> &mut Observed {
    match &mut h.txns[t].mops[i] {
        Mop::Read(_, o) => o,
        _ => unreachable!("ok_reads gives reads"),
    }
}

/// Plants `m` in transaction `t` (its index in plan order, which the
/// history keeps until it is sorted).
fn mutate(h: &mut TxnHistory, t: usize, m: Mutation, versions: &[Vec<Vec<Val>>], last: &[Vec<Val>]) {
    let reads = ok_reads(h, t);
    let key_of = |h: &TxnHistory, (t, i): (usize, usize)| h.txns[t].mops[i].key() as usize;
    let list_reads = |h: &TxnHistory, min: usize| -> Vec<(usize, usize)> {
        reads
            .iter()
            .copied()
            .filter(|&(t, i)| matches!(&h.txns[t].mops[i], Mop::Read(_, Observed::List(l)) if l.len() >= min))
            .collect()
    };
    match m {
        Mutation::StaleRead(i) => {
            let Some(r) = pick(&reads, i) else { return };
            let k = key_of(h, r);
            match read_mut(h, r) {
                Observed::List(l) => {
                    l.pop();
                }
                Observed::Reg(v) => {
                    let Some(cur) = *v else { return };
                    let seq = versions.get(k).map_or(&[][..], |s| s);
                    let at = seq.iter().position(|s| s.last() == Some(&cur));
                    *v = match at {
                        Some(j) if j > 0 => seq[j - 1].last().copied(),
                        _ => None,
                    };
                }
                Observed::Unknown => {}
            }
        }
        Mutation::FreshRead(i) => {
            let Some(r) = pick(&reads, i) else { return };
            let k = key_of(h, r);
            let fin = last.get(k).cloned().unwrap_or_default();
            match read_mut(h, r) {
                Observed::List(l) => *l = fin,
                Observed::Reg(v) => *v = fin.last().copied(),
                Observed::Unknown => {}
            }
        }
        Mutation::DirtyRead(i, j) => {
            let Some(r) = pick(&reads, i) else { return };
            let k = key_of(h, r) as u64;
            // Values of failed writers, and values their writer overwrote.
            let mut dirty = Vec::new();
            for txn in &h.txns {
                for (x, m) in txn.mops.iter().enumerate() {
                    if let Mop::Append(mk, v) | Mop::Write(mk, v) = m {
                        let overwritten = txn.mops[x + 1..].iter().any(|n| n.is_write() && n.key() == *mk);
                        if *mk == k && (txn.outcome == TxnOutcome::Fail || overwritten) {
                            dirty.push(*v);
                        }
                    }
                }
            }
            let Some(v) = pick(&dirty, j) else { return };
            match read_mut(h, r) {
                Observed::List(l) if !l.contains(&v) => l.push(v),
                Observed::Reg(x) => *x = Some(v),
                _ => {}
            }
        }
        Mutation::Abort => {
            let txn = &mut h.txns[t];
            if txn.outcome == TxnOutcome::Ok && txn.mops.iter().any(Mop::is_write) {
                txn.outcome = TxnOutcome::Fail;
                forget_reads(txn);
            }
        }
        Mutation::Crash => {
            let infos = h.txns.iter().filter(|t| t.outcome == TxnOutcome::Info).count();
            if infos >= MAX_INFO_TXNS || h.txns[t].outcome != TxnOutcome::Ok {
                return;
            }
            h.txns[t].outcome = TxnOutcome::Info;
            forget_reads(&mut h.txns[t]);
            // A crashed process never runs again: its later transactions
            // move to a fresh process.
            let p = h.txns[t].process;
            let fresh = h.txns.iter().map(|x| x.process).max().unwrap_or(0) + 1;
            let at = h.txns[t].invoke_at;
            for x in &mut h.txns {
                if x.process == p && x.invoke_at > at {
                    x.process = fresh;
                }
            }
        }
        Mutation::Internal(i) => {
            // Reads after an own write of their key.
            let after: Vec<(usize, usize)> = reads
                .iter()
                .copied()
                .filter(|&(t, x)| {
                    let k = h.txns[t].mops[x].key();
                    h.txns[t].mops[..x].iter().any(|m| m.is_write() && m.key() == k)
                })
                .collect();
            if let Some(r) = pick(&after, i) {
                match read_mut(h, r) {
                    Observed::List(l) => {
                        l.pop();
                    }
                    Observed::Reg(v) => *v = None,
                    Observed::Unknown => {}
                }
                return;
            }
            // None: add a read that misses the transaction's last write.
            let txn = &h.txns[t];
            if txn.outcome != TxnOutcome::Ok || txn.mops.len() >= MAX_MOPS_PER_TXN {
                return;
            }
            let Some(k) = txn.mops.iter().rev().find(|m| m.is_write()).map(Mop::key) else { return };
            let o = match h.workload {
                Workload::ListAppend => Observed::List(Vec::new()),
                Workload::RwRegister => Observed::Reg(None),
            };
            h.txns[t].mops.push(Mop::Read(k, o));
        }
        Mutation::DuplicateElement(i) => {
            if let Some(r) = pick(&list_reads(h, 1), i) {
                if let Observed::List(l) = read_mut(h, r) {
                    l.push(l[0]);
                }
            }
        }
        Mutation::SwapElements(i) => {
            if let Some(r) = pick(&list_reads(h, 2), i) {
                if let Observed::List(l) = read_mut(h, r) {
                    let n = l.len();
                    l.swap(n - 1, n - 2);
                }
            }
        }
        Mutation::LateInvoke => {
            if let Some(c) = h.txns[t].complete_at {
                // Just before its completion: a free position (events sit at
                // multiples of POSITION_STEP).
                h.txns[t].invoke_at = h.txns[t].invoke_at.max(c - 1);
            }
        }
        Mutation::EarlyComplete => {
            if let Some(c) = h.txns[t].complete_at {
                h.txns[t].complete_at = Some(c.min(h.txns[t].invoke_at + 1));
            }
        }
        Mutation::SameProcess(j) => {
            let j = j as usize % h.txns.len();
            if j == t {
                return;
            }
            let old = h.txns[t].process;
            h.txns[t].process = h.txns[j].process;
            if h.validate().is_err() {
                h.txns[t].process = old;
            }
        }
        Mutation::GarbageRead(i) => {
            let Some(r) = pick(&reads, i) else { return };
            // Values count up from 1 per key; this one is past them all.
            let garbage = 1_000_000;
            match read_mut(h, r) {
                Observed::List(l) => l.push(garbage),
                Observed::Reg(v) => *v = Some(garbage),
                Observed::Unknown => {}
            }
        }
        Mutation::DuplicateWrite(i) => {
            let writes: Vec<usize> = (0..h.txns[t].mops.len()).filter(|&x| h.txns[t].mops[x].is_write()).collect();
            let Some(x) = pick(&writes, i) else { return };
            let k = h.txns[t].mops[x].key();
            // Another write's value on the same key.
            let other = h
                .txns
                .iter()
                .enumerate()
                .flat_map(|(u, txn)| txn.mops.iter().enumerate().map(move |(y, m)| (u, y, m)))
                .find(|&(u, y, m)| (u, y) != (t, x) && m.is_write() && m.key() == k);
            let Some((_, _, Mop::Append(_, v) | Mop::Write(_, v))) = other else { return };
            let v = *v;
            if let Mop::Append(_, w) | Mop::Write(_, w) = &mut h.txns[t].mops[x] {
                *w = v;
            }
        }
    }
}

fn forget_reads(txn: &mut Txn) {
    for m in &mut txn.mops {
        if let Mop::Read(_, o) = m {
            *o = Observed::Unknown;
        }
    }
}
