//! Session guarantees (Terry et al. 1994: read-your-writes, monotonic reads,
//! monotonic writes, writes-follow-reads), convergence, and a staleness measure,
//! checked per key on the version order a history reveals.
//!
//! A session is a process id (a process retired by an `info` never runs again,
//! so its replacement is a new session). `fail` ops never happened; `info` ops
//! may have, so they may be seen but never must be.
//!
//! How "reflects" is decided, per workload:
//! - list-append and grow-only set: a read reflects a write iff it contains its
//!   element. When all reads are prefixes of one list (sets: a chain under
//!   inclusion) the reads reveal one version order and every check is a
//!   comparison of version levels (linear time); otherwise each read is checked
//!   element by element (module `lists`).
//! - register with unique values: a version graph (petgraph) over values whose
//!   edges are facts (the initial value comes first, a cas replaces old by new)
//!   and sessions' successive reads; each check adds its own constraint edges
//!   and is violated iff a cycle runs through one of them; checks requested
//!   together are also judged on one graph, since the store has one version
//!   order (module `register`).
//! - counter: a read reflects at least the total it returns; only read-your-writes
//!   and monotonic reads are observable (module `counter`).
//!
//! Keys are checked in parallel (rayon); within a large list or set key, so
//! are its sessions.

mod convergence;
mod counter;
mod explain;
mod lists;
mod register;
mod staleness;

use crate::error::NotApplicable;
use crate::history::{History, OpId, F};
use crate::linear::{self, LinearOptions};
use crate::model::ModelKind;
use crate::read::NilRead;
use crate::report::{
    Anomaly, AnomalyKind, Budget, CheckDetail, CheckName, CheckResult, ConvergenceSummary, KeyResult, KeyStats, Method,
    ModelName, Verdict,
};
use crate::value::Value;
use rayon::prelude::*;
use serde::Serialize;

pub use staleness::Staleness;
pub(crate) use staleness::{staleness_samples, StalenessSamples};

/// Check-level detail of convergence, recomputed from its keys (for results
/// merged across shards).
pub(crate) fn convergence_summary(keys: &[KeyResult]) -> ConvergenceSummary {
    convergence::summary(keys)
}

/// The kind of object a history operates on, which decides what a read reveals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// Appends of unique elements; reads return the whole list.
    ListAppend,
    /// Adds of unique elements to a grow-only set; reads return the set.
    Set,
    /// Increments only; reads return the total.
    Counter,
    /// Writes (and cas) of unique values; reads return one value.
    Register,
}

impl Workload {
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::ListAppend => "list-append",
            Workload::Set => "set",
            Workload::Counter => "counter",
            Workload::Register => "register",
        }
    }

    /// The checks that can find something in this workload. Counter reads
    /// return only totals, which cannot tell which increments a read reflects,
    /// so monotonic writes and writes-follow-reads are not observable there.
    pub fn applicable_checks(self) -> &'static [CheckName] {
        const ALL: &[CheckName] = &CheckName::SESSION;
        const COUNTER: &[CheckName] = &[CheckName::ReadYourWrites, CheckName::MonotonicReads, CheckName::Convergence];
        match self {
            Workload::Counter => COUNTER,
            _ => ALL,
        }
    }
}

/// Checks that `v` can start a key of workload `w` (for `--initial`).
pub(crate) fn validate_initial(w: Workload, v: &Value) -> Result<(), crate::error::CheckError> {
    let expected = match w {
        Workload::Register => return Ok(()),
        Workload::Counter if v.as_int().is_some() => return Ok(()),
        Workload::ListAppend if v.as_list().is_some() => return Ok(()),
        Workload::Set if v.as_seq().is_some() => return Ok(()),
        Workload::Counter => "an integer",
        Workload::ListAppend => "a list of elements",
        Workload::Set => "a list or set of elements",
    };
    Err(crate::error::CheckError::BadInitial { value: v.to_string(), of: format!("{w} workload"), expected })
}

impl Workload {
    /// The session workload of a linearizability model, if it has one: what
    /// `--model` says when the ops alone cannot (a history of reads only).
    pub fn of_model(m: ModelKind) -> Option<Workload> {
        match m {
            ModelKind::Register | ModelKind::CasRegister => Some(Workload::Register),
            ModelKind::ListAppend => Some(Workload::ListAppend),
            ModelKind::Set => Some(Workload::Set),
            ModelKind::Counter => Some(Workload::Counter),
            ModelKind::Kv | ModelKind::MultiRegister | ModelKind::Mutex | ModelKind::Queue => None,
        }
    }
}

impl Serialize for Workload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

display_as_str!(Workload);

/// Infers the workload from the ops' functions: `append` -> list-append,
/// `add` -> set, `incr` -> counter, `write`/`cas` -> register (each with
/// `read`). Mixed or unknown functions are an error naming the line.
pub(crate) fn infer_workload(h: &History) -> Result<Workload, NotApplicable> {
    let mut found: Option<(Workload, &str, u64)> = None;
    for op in &h.ops {
        let w = match op.f {
            F::Read => continue,
            F::Append => Workload::ListAppend,
            F::Add => Workload::Set,
            F::Incr => Workload::Counter,
            F::Write | F::Cas => Workload::Register,
            ref other => return Err(NotApplicable::NotASessionOp { f: other.to_string(), line: op.invoke_line }),
        };
        match found {
            None => found = Some((w, op.f.as_str(), op.invoke_line)),
            Some((prev, f, line)) if prev != w => {
                return Err(NotApplicable::MixedWorkloads {
                    f: op.f.to_string(),
                    line: op.invoke_line,
                    other: f.to_string(),
                    other_line: line,
                    first: prev,
                    second: w,
                })
            }
            Some(_) => {}
        }
    }
    match found {
        Some((w, _, _)) => Ok(w),
        None => Err(NotApplicable::NoWrites),
    }
}

/// Options for [`check`].
#[derive(Clone, Debug)]
pub(crate) struct SessionOptions {
    /// The deadline is honoured: keys not finished by then are `Unknown`.
    pub budget: Budget,
    /// What an ok read of `nil` means: under `Unknown` it reveals nothing
    /// and constrains nothing, as for linearizability.
    pub nil_read: NilRead,
    /// Every key's state before the history (`--initial`): a register's
    /// first version, a counter's starting total, a list's or set's first
    /// elements (which then read as an unknown writer's). `None`: empty.
    pub initial: Option<Value>,
}

impl Default for SessionOptions {
    /// The default budget; a nil read means the object is absent (conch's
    /// own histories).
    fn default() -> SessionOptions {
        SessionOptions { budget: Budget::default(), nil_read: NilRead::Absent, initial: None }
    }
}

/// The four session guarantees, as indices into per-key result arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guarantee {
    Ryw = 0,
    Mr = 1,
    Mw = 2,
    Wfr = 3,
}

impl Guarantee {
    pub(crate) const ALL: [Guarantee; 4] = [Guarantee::Ryw, Guarantee::Mr, Guarantee::Mw, Guarantee::Wfr];

    /// The kind of an anomaly of this guarantee alone.
    pub(crate) fn kind(self) -> AnomalyKind {
        match self {
            Guarantee::Ryw => AnomalyKind::ReadYourWrites,
            Guarantee::Mr => AnomalyKind::MonotonicReads,
            Guarantee::Mw => AnomalyKind::MonotonicWrites,
            Guarantee::Wfr => AnomalyKind::WritesFollowReads,
        }
    }

    /// The name as used in sentences.
    pub(crate) fn prose(self) -> &'static str {
        match self {
            Guarantee::Ryw => "read-your-writes",
            Guarantee::Mr => "monotonic reads",
            Guarantee::Mw => "monotonic writes",
            Guarantee::Wfr => "writes-follow-reads",
        }
    }

    pub(crate) fn check(self) -> CheckName {
        match self {
            Guarantee::Ryw => CheckName::ReadYourWrites,
            Guarantee::Mr => CheckName::MonotonicReads,
            Guarantee::Mw => CheckName::MonotonicWrites,
            Guarantee::Wfr => CheckName::WritesFollowReads,
        }
    }

    fn of(c: CheckName) -> Option<Guarantee> {
        Guarantee::ALL.into_iter().find(|g| g.check() == c)
    }
}

/// Anomalies kept per key and check; the rest are only counted (a lost write
/// can make every later read of its session violate read-your-writes).
pub(crate) const MAX_ANOMALIES_PER_KEY: usize = 8;

/// What one check found on one key.
#[derive(Clone, Debug)]
pub(crate) enum Found {
    Done { anomalies: Vec<Anomaly>, violations: u64 },
    Unknown(String),
}

impl Found {
    pub(crate) fn empty() -> Found {
        Found::Done { anomalies: Vec::new(), violations: 0 }
    }

    pub(crate) fn push(&mut self, a: impl FnOnce() -> Anomaly) {
        if let Found::Done { anomalies, violations } = self {
            *violations += 1;
            if anomalies.len() < MAX_ANOMALIES_PER_KEY {
                anomalies.push(a());
            }
        }
    }

    /// Adds `other`'s findings (in order, within the cap); unknown wins.
    pub(crate) fn merge(&mut self, other: Found) {
        match (&mut *self, other) {
            (Found::Unknown(_), _) => {}
            (_, u @ Found::Unknown(_)) => *self = u,
            (Found::Done { anomalies, violations }, Found::Done { anomalies: more, violations: n }) => {
                *violations += n;
                let room = MAX_ANOMALIES_PER_KEY.saturating_sub(anomalies.len());
                anomalies.extend(more.into_iter().take(room));
            }
        }
    }

    pub(crate) fn violations(&self) -> u64 {
        match self {
            Found::Done { violations, .. } => *violations,
            Found::Unknown(_) => 0,
        }
    }
}

/// The ops of one key, as every per-key checker sees them.
pub(crate) struct KeyOps<'a> {
    pub h: &'a History,
    pub key: Option<&'a Value>,
    /// In invoke order.
    pub ops: &'a [OpId],
    pub budget: &'a Budget,
    pub nil_read: NilRead,
    pub initial: Option<&'a Value>,
}

impl<'a> KeyOps<'a> {
    /// The ops of each session (process), each in session order; sessions
    /// sorted by process id.
    pub fn sessions(&self) -> Vec<(u64, Vec<OpId>)> {
        let mut by: std::collections::BTreeMap<u64, Vec<OpId>> = std::collections::BTreeMap::new();
        for &id in self.ops {
            by.entry(self.h.op(id).process).or_default().push(id);
        }
        by.into_iter().collect()
    }
}

/// Runs the requested session and convergence checks (`Linearizable` is
/// ignored) on every key in parallel. One [`CheckResult`] per requested check,
/// in the order requested, each with one [`KeyResult`] per key.
pub(crate) fn check(h: &History, checks: &[CheckName], workload: Workload, opts: &SessionOptions) -> Vec<CheckResult> {
    let mut wanted: Vec<CheckName> = Vec::new();
    for &c in checks {
        if c != CheckName::Linearizable && !wanted.contains(&c) {
            wanted.push(c);
        }
    }
    if wanted.is_empty() {
        return Vec::new();
    }
    let groups: Vec<(Option<&Value>, Vec<OpId>)> = h.by_key().into_iter().collect();
    let per_key: Vec<Vec<KeyResult>> = groups
        .par_iter()
        .map(|(key, ops)| {
            let k = KeyOps {
                h,
                key: *key,
                ops,
                budget: &opts.budget,
                nil_read: opts.nil_read,
                initial: opts.initial.as_ref(),
            };
            check_key(&k, workload, &wanted)
        })
        .collect();
    wanted
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let keys: Vec<KeyResult> = per_key.iter().map(|rs| rs[i].clone()).collect();
            let mut r = CheckResult::from_keys(c, ModelName::Workload(workload), keys);
            if c == CheckName::Convergence {
                r.detail = Some(CheckDetail::Convergence(convergence::summary(&r.keys)));
            }
            r
        })
        .collect()
}

fn check_key(k: &KeyOps, workload: Workload, wanted: &[CheckName]) -> Vec<KeyResult> {
    const LATE: &str = "deadline passed before this key was checked";
    let mut session: Option<([Found; 4], Method)> = None;
    if wanted.iter().any(|c| Guarantee::of(*c).is_some()) {
        session = Some(if k.budget.expired() {
            let u = || Found::Unknown(LATE.into());
            ([u(), u(), u(), u()], Method::None)
        } else {
            match workload {
                Workload::ListAppend => (lists::check(k, lists::Kind::List), Method::VersionOrder),
                Workload::Set => (lists::check(k, lists::Kind::Set), Method::VersionOrder),
                Workload::Register => {
                    let gs: Vec<Guarantee> = wanted.iter().filter_map(|&c| Guarantee::of(c)).collect();
                    (
                        register::check(
                            k,
                            &gs,
                            register::Setup { nil_read: k.nil_read, initial: k.initial.unwrap_or(&Value::Nil) },
                        ),
                        Method::VersionGraph,
                    )
                }
                Workload::Counter => (counter::check(k), Method::CounterTotals),
            }
        });
    }
    // A linearizable key satisfies every session guarantee (a linearization
    // orders the writes, and every read returns the latest before it), so a
    // guarantee left undecided is decided by linearizability when that
    // holds; otherwise it stays unknown (#12 §1d).
    let undecided = |fs: &[Found; 4]| {
        wanted.iter().filter_map(|&c| Guarantee::of(c)).any(|g| matches!(fs[g as usize], Found::Unknown(_)))
    };
    let mut by_linearizability = false;
    if let Some((fs, _)) = &mut session {
        if undecided(fs) && !k.budget.expired() && linearizable(k, workload) {
            for f in fs.iter_mut() {
                if matches!(f, Found::Unknown(_)) {
                    *f = Found::empty();
                }
            }
            by_linearizability = true;
        }
    }
    wanted
        .iter()
        .map(|&c| {
            let (found, method, stats) = match Guarantee::of(c) {
                Some(g) => {
                    let (fs, method) = session.as_ref().expect("computed above");
                    let method = if by_linearizability { Method::Linearizable } else { *method };
                    (fs[g as usize].clone(), method, KeyStats::default())
                }
                None if k.budget.expired() => (Found::Unknown(LATE.into()), Method::FinalReads, KeyStats::default()),
                None => {
                    let (f, convergence) = convergence::check(k, workload);
                    (f, Method::FinalReads, KeyStats { convergence, ..KeyStats::default() })
                }
            };
            key_result(k, found, method, stats)
        })
        .collect()
}

/// Whether the key's ops are linearizable under the workload's model (with
/// the same nil-read rule), within the key's budget.
fn linearizable(k: &KeyOps, workload: Workload) -> bool {
    let model = match workload {
        Workload::Register => ModelKind::CasRegister,
        Workload::ListAppend => ModelKind::ListAppend,
        Workload::Set => ModelKind::Set,
        Workload::Counter => ModelKind::Counter,
    };
    // Keys are checked in parallel: share the memory among the threads.
    let threads = rayon::current_num_threads().max(1) as u64;
    let budget = Budget { deadline: k.budget.deadline, memory_bytes: k.budget.memory_bytes / threads };
    let opts = LinearOptions { budget, nil_read: k.nil_read, use_fast_paths: true, initial: k.initial.cloned() };
    linear::check_ops(k.h, k.ops, &model, &opts).verdict == Verdict::Valid
}

fn key_result(k: &KeyOps, found: Found, method: Method, mut stats: KeyStats) -> KeyResult {
    let (verdict, anomalies, unknown_reason) = match found {
        Found::Done { anomalies, violations } => {
            stats.violations = (violations > 0).then_some(violations);
            let v = if violations > 0 { Verdict::Invalid } else { Verdict::Valid };
            (v, anomalies, None)
        }
        Found::Unknown(reason) => (Verdict::Unknown, Vec::new(), Some(reason)),
    };
    KeyResult { key: k.key.cloned(), verdict, method, ops: k.ops.len() as u64, anomalies, unknown_reason, stats }
}
