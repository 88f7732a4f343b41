//! The one entry: [`check`] runs the requested checks on a history and
//! gathers a [`Report`]; [`check_path`] reads a file first, whole or shard
//! by shard, through the same code.
//!
//! Bank histories (ops named `transfer`) go to the bank checks; everything
//! else to linearizability and the session checks. What applies is decided
//! from the whole history ([`Facts`]), so that every shard of a sharded
//! check is judged the same way. Two rules keep a report from being green
//! when nothing was checked: a check whose history has no successful op of
//! the kind it needs is unknown with the reason ([`Seen::missing`]), and a
//! report in which every check was skipped is unknown ("nothing was
//! checked") with the reasons.

use crate::bank::{self, BankOptions};
use crate::error::{CheckError, NotApplicable};
use crate::error::{InputError, InputErrorKind};
use crate::history::{Event, EventTarget, History, HistoryBuilder, Op, Outcome, Process, RawTxn, F};
use crate::linear::{self, LinearOptions};
use crate::model::{self, ModelKind};
use crate::read::{self, Format, NilRead, ReadOptions};
use crate::report::{
    BankSummary, Budget, CheckDetail, CheckName, CheckResult, Isolation, KeyResult, KeyStats, Method, ModelName,
    Report, Skipped, Verdict,
};
use crate::session::{self, SessionOptions, StalenessSamples, Workload};
use crate::shard::{self, ShardOptions};
use crate::txn::{self, TxnReader};
use crate::value::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// What to check and with which limits.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// Checks to run; empty means every check that fits the history. A
    /// check named here that does not fit is an error; one implied by
    /// "every check" is skipped with the reason.
    pub checks: Vec<CheckName>,
    /// Sequential model for linearizability; inferred when `None`.
    pub model: Option<ModelKind>,
    /// How an ok read of nil is judged. `None`: the default of the format
    /// the history was read from ([`Format::default_nil_read`]); a history
    /// built in memory follows conch's native format (`absent`).
    pub nil_read: Option<NilRead>,
    pub budget: Budget,
    /// Allow the polynomial-time paths where they apply.
    pub fast_paths: bool,
    /// Every key's state before the history (`--initial`), for the model
    /// and the session checks; `None`: the model's empty state (nil, "",
    /// empty, 0, free).
    pub initial: Option<Value>,
    pub bank: BankSettings,
    /// rw-register histories: what else orders a key's versions (Elle's
    /// `--linearizable-keys` / `--sequential-keys`).
    pub txn_keys: txn::KeyAssumptions,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            checks: Vec::new(),
            model: None,
            nil_read: None,
            budget: Budget::default(),
            fast_paths: true,
            initial: None,
            bank: BankSettings::default(),
            txn_keys: txn::KeyAssumptions::default(),
        }
    }
}

impl CheckConfig {
    /// This config for a history read in `format`: an unset nil-read rule
    /// becomes the format's default.
    pub fn for_format(&self, format: Format) -> CheckConfig {
        CheckConfig { nil_read: Some(self.nil_read.unwrap_or(format.default_nil_read())), ..self.clone() }
    }
}

/// How bank histories are judged.
#[derive(Clone, Debug, Default)]
pub struct BankSettings {
    /// Initial balances; `None` infers the total from the first ok read.
    pub initial: Option<BTreeMap<Value, i64>>,
    /// conch's own bank workload lets balances go negative; Jepsen's does not.
    pub negative_allowed: bool,
}

/// Checks a history held in memory.
///
/// # Errors
///
/// [`CheckError::NotApplicable`] when a check named in `cfg.checks` does
/// not fit the history (e.g. its model cannot be inferred), and
/// [`CheckError::BadValue`] when an op's value does not fit the model.
pub fn check(history: &History, cfg: &CheckConfig) -> Result<Report, CheckError> {
    let started = Instant::now();
    let nil_read = cfg.nil_read.unwrap_or(Format::Jsonl.default_nil_read());
    let part = check_part(history, cfg, &Facts::of(history), nil_read)?;
    Ok(part.report(Counts::of(history), started))
}

/// Reads a history file and checks it; the report names the file and its
/// format. With `shards`, the file is checked shard by shard
/// ([`crate::shard`]) in bounded memory and gives the same report; without,
/// the history is read whole and returned with the report.
///
/// # Errors
///
/// As [`check`], and [`CheckError::Input`] when the file cannot be read as a
/// history, [`CheckError::Spill`] when shard files cannot be written.
pub fn check_path(
    path: &Path,
    read: &ReadOptions,
    cfg: &CheckConfig,
    shards: Option<&ShardOptions>,
) -> Result<(Report, Option<History>), CheckError> {
    if let Some(opts) = shards {
        return Ok((shard::check_path(path, read, cfg, opts)?, None));
    }
    let (history, format) = read::read_path(path, read)?;
    let report = check(&history, &cfg.for_format(format))?;
    Ok((report.with_source(&path.to_string_lossy(), format), Some(history)))
}

/// Reads a history file and checks it, as [`check_path`] does, but without
/// keeping the history: a transactional file (its first client op is a
/// `txn`) is read straight into the checker's compact form
/// ([`txn::TxnReader`]), never held as values, which is most of the time
/// and memory of checking a large one. The report is the same.
///
/// # Errors
///
/// As [`check_path`].
pub fn check_path_lean(
    path: &Path,
    read: &ReadOptions,
    cfg: &CheckConfig,
    shards: Option<&ShardOptions>,
) -> Result<Report, CheckError> {
    // Only where the whole history would go to the transactional checks,
    // so every error is the one the whole history gives.
    let lean = shards.is_none() && cfg.model.is_none() && txn_checks(cfg, &cfg.checks).is_ok();
    if !lean {
        return check_path(path, read, cfg, shards).map(|r| r.0);
    }
    let name = path.to_string_lossy();
    let (read, format) =
        read::read_path_into(path, read, Sniff::Undecided { file: name.to_string(), held: Vec::new() }).map_err(
            |e| match e.kind {
                // The transactional conversion's errors, as `check` gives them.
                InputErrorKind::BadTxn { .. } => CheckError::BadValue { line: e.line, kind: e.kind },
                _ => CheckError::Input(e),
            },
        )?;
    let report = match read {
        Sniffed::History(h) => check(&h, &cfg.for_format(format))?,
        Sniffed::Txn(th) => {
            let started = Instant::now();
            let mut part = Part::default();
            check_txn_compact(&th, cfg, &txn_checks(cfg, &cfg.checks)?, &mut part);
            part.report(Counts { events: th.events, ops: th.txns.len() as u64, faults: th.faults }, started)
        }
    };
    Ok(report.with_source(&name, format))
}

/// Events to a whole history or, when the first client event is a `txn`,
/// to a transactional one; fault events before it are held until then.
enum Sniff {
    Undecided { file: String, held: Vec<Event> },
    History(Box<HistoryBuilder>),
    Txn(Box<TxnReader>),
}

enum Sniffed {
    History(History),
    Txn(txn::TxnHistory),
}

impl EventTarget for Sniff {
    type Output = Sniffed;

    fn push(&mut self, e: Event) -> Result<(), InputError> {
        match self {
            Sniff::History(b) => b.push(e),
            Sniff::Txn(r) => r.push(e),
            Sniff::Undecided { held, .. } if e.process == Process::Nemesis => {
                held.push(e);
                Ok(())
            }
            Sniff::Undecided { file, held } => {
                let held = std::mem::take(held);
                *self = if e.f == F::Txn {
                    // Its errors name no file: the caller names it, as for `check`'s.
                    Sniff::Txn(Box::new(TxnReader::named(file, "")))
                } else {
                    Sniff::History(Box::new(HistoryBuilder::new(file)))
                };
                for h in held {
                    self.push(h)?;
                }
                self.push(e)
            }
        }
    }

    fn wants_raw_txn(&self) -> bool {
        match self {
            Sniff::History(_) => false,
            Sniff::Undecided { .. } | Sniff::Txn(_) => true,
        }
    }

    fn push_raw(&mut self, mut e: Event, raw: Option<Box<RawTxn>>) -> Result<(), InputError> {
        match self {
            Sniff::Txn(r) => r.push_raw(e, raw),
            // A raw txn is a client's: in an undecided history it makes it
            // transactional.
            Sniff::Undecided { file, held } if raw.is_some() => {
                let held = std::mem::take(held);
                let mut r = Box::new(TxnReader::named(file, ""));
                for h in held {
                    r.push(h)?;
                }
                *self = Sniff::Txn(r);
                self.push_raw(e, raw)
            }
            _ => {
                if let Some(r) = raw {
                    e.value = r.to_value();
                }
                self.push(e)
            }
        }
    }

    fn finish(self) -> Result<Sniffed, InputError> {
        Ok(match self {
            Sniff::Undecided { file, held } => {
                let mut b = HistoryBuilder::new(&file);
                for e in held {
                    b.push(e)?;
                }
                Sniffed::History(b.finish()?)
            }
            Sniff::History(b) => Sniffed::History((*b).finish()?),
            Sniff::Txn(r) => Sniffed::Txn((*r).finish()?),
        })
    }
}

/// The successful ops a history has, by the kind each check needs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Seen {
    ok: bool,
    /// Ok reads, and ok cas (which read the value they replaced).
    ok_read: bool,
    /// Ok writes of any kind: write, cas, put, append, add, incr.
    ok_update: bool,
    ok_transfer: bool,
    /// Ok reads that returned something (a bank read's balances).
    ok_read_value: bool,
    /// Any op marked final; and an ok final read.
    has_final: bool,
    ok_final_read: bool,
}

impl Seen {
    pub(crate) fn add(&mut self, op: &Op) {
        self.has_final |= op.is_final;
        if op.outcome != Outcome::Ok {
            return;
        }
        self.ok = true;
        match op.f {
            F::Read => {
                self.ok_read = true;
                self.ok_read_value |= !op.output.is_nil();
                self.ok_final_read |= op.is_final;
            }
            F::Cas => (self.ok_read, self.ok_update) = (true, true),
            F::Write | F::Put | F::Append | F::Add | F::Incr => self.ok_update = true,
            F::Transfer => self.ok_transfer = true,
            _ => {}
        }
    }

    /// Why `check` had nothing to check, if it had not: no successful op of
    /// a kind it needs. A check that saw none finds nothing by construction,
    /// so valid would be a guess.
    pub(crate) fn missing(&self, check: CheckName, is_bank: bool) -> Option<&'static str> {
        use CheckName::*;
        match check {
            Linearizable | Bank if is_bank => first_unmet(&[
                (self.ok_transfer, "no transfer completed ok: nothing moved money, so there is nothing to check"),
                (self.ok_read_value, "no read of the balances completed ok: there is nothing to check"),
            ]),
            Linearizable => {
                (!self.ok).then_some("no operation completed ok: there is nothing to check linearizability against")
            }
            ReadYourWrites | MonotonicReads | MonotonicWrites | WritesFollowReads => first_unmet(&[
                (self.ok_read, "no read completed ok: the session guarantees are judged by what reads return"),
                (self.ok_update, "no write completed ok: there is nothing a read could miss"),
            ]),
            Convergence => (!self.ok_final_read).then_some("no final read completed ok: nothing shows the end state"),
            // The transactional checker says itself when no transaction
            // completed ok.
            Bank
            | ReadUncommitted
            | ReadCommitted
            | ReadAtomic
            | Causal
            | ConsistentView
            | SnapshotIsolation
            | RepeatableRead
            | Serializable
            | StrictSerializable
            | StrongSessionSerializable
            | StrongSessionSnapshotIsolation
            | StrongSnapshotIsolation => None,
            SetFull | CounterBounds | UniqueIds | Echo | Kafka | Cart => None,
        }
    }
}

/// The reason of the first requirement not met (`(met, why not)`, in order).
fn first_unmet(needs: &[(bool, &'static str)]) -> Option<&'static str> {
    needs.iter().find(|(met, _)| !met).map(|&(_, why)| why)
}

/// What the whole history says about which checks apply and how: decided
/// once from the whole history, even when it is checked shard by shard, so
/// that every shard is judged the same way.
#[derive(Clone, Debug)]
pub(crate) struct Facts {
    pub is_bank: bool,
    /// Some op is a transaction (`f: txn`): the history is judged by the
    /// isolation models (`crate::txn`), unless a sequential model is named.
    pub is_txn: bool,
    pub model: Result<ModelKind, NotApplicable>,
    pub workload: Result<Workload, NotApplicable>,
    pub seen: Seen,
}

impl Facts {
    /// Facts of a whole history.
    pub(crate) fn of(h: &History) -> Facts {
        // One pass: what every op says, and the first op of each function
        // (the summary the sharded path builds too), instead of a pass per
        // question over the whole history.
        let mut seen = Seen::default();
        let mut firsts: Vec<Op> = Vec::new();
        for o in &h.ops {
            seen.add(o);
            if !firsts.iter().any(|f| f.f == o.f) {
                firsts.push(o.clone());
            }
        }
        Facts::of_summary(&History { ops: firsts, ..History::default() }, seen)
    }

    /// Facts from a summary of a history: `h` holds the first op of each
    /// function (all that inference looks at), `seen` covers every op.
    pub(crate) fn of_summary(h: &History, seen: Seen) -> Facts {
        Facts {
            is_bank: h.ops.iter().any(|o| o.f == F::Transfer),
            is_txn: h.ops.iter().any(|o| o.f == F::Txn),
            model: model::infer(h),
            workload: session::infer_workload(h),
            seen,
        }
    }
}

/// A history's size, for the report.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Counts {
    pub events: u64,
    pub ops: u64,
    pub faults: u64,
}

impl Counts {
    fn of(h: &History) -> Counts {
        Counts { events: h.events, ops: h.ops.len() as u64, faults: h.faults.len() as u64 }
    }
}

/// The checks' findings on a history or on one shard of it; shards' parts
/// merge into the whole history's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Part {
    pub results: Vec<CheckResult>,
    pub skipped: Vec<Skipped>,
    pub staleness: Option<(Workload, StalenessSamples)>,
    pub isolation: Option<Isolation>,
}

impl Part {
    /// Adds another shard's findings: keys of the same check are pooled.
    pub(crate) fn merge(&mut self, other: Part) {
        for r in other.results {
            match self.results.iter_mut().find(|x| x.check == r.check) {
                Some(x) => {
                    // Each part lists its keys in key order; keep the pool so.
                    x.keys.extend(r.keys);
                    x.keys.sort_by(|a, b| a.key.cmp(&b.key));
                    x.detail = x.detail.take().or(r.detail);
                    x.unknown_reason = x.unknown_reason.take().or(r.unknown_reason);
                }
                None => self.results.push(r),
            }
        }
        for sk in other.skipped {
            if !self.skipped.iter().any(|x| x.check == sk.check) {
                self.skipped.push(sk);
            }
        }
        // A transactional history is never split (its ops have no key).
        self.isolation = self.isolation.take().or(other.isolation);
        match (&mut self.staleness, other.staleness) {
            (Some((_, mine)), Some((_, theirs))) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }

    /// Recomputes what depends on the pooled keys.
    pub(crate) fn seal(&mut self) {
        for r in &mut self.results {
            if r.check == CheckName::Convergence {
                r.detail = Some(CheckDetail::Convergence(session::convergence_summary(&r.keys)));
            }
            r.seal();
        }
    }

    /// The report: the checks' verdicts combined, or unknown when nothing
    /// was checked (every check skipped).
    pub(crate) fn report(self, counts: Counts, started: Instant) -> Report {
        let verdict = self.results.iter().fold(Verdict::Valid, |v, r| v.combine(r.verdict));
        let unknown_reason = self.results.is_empty().then(|| nothing_checked(&self.skipped));
        Report {
            file: None,
            format: None,
            events: counts.events,
            ops: counts.ops,
            faults: counts.faults,
            verdict: if unknown_reason.is_some() { Verdict::Unknown } else { verdict },
            unknown_reason,
            results: self.results,
            skipped: self.skipped,
            staleness: self.staleness.map(|(w, s)| s.summary(w)),
            isolation: self.isolation,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    }
}

/// "nothing was checked", and why each check was skipped (checks skipped
/// for the same reason named together).
fn nothing_checked(skipped: &[Skipped]) -> String {
    if skipped.is_empty() {
        return "nothing was checked: no check applies to this history".into();
    }
    let mut by_reason: Vec<(&NotApplicable, Vec<String>)> = Vec::new();
    for s in skipped {
        match by_reason.iter_mut().find(|(r, _)| *r == &s.reason) {
            Some((_, checks)) => checks.push(s.check.to_string()),
            None => by_reason.push((&s.reason, vec![s.check.to_string()])),
        }
    }
    let why: Vec<String> = by_reason.iter().map(|(r, checks)| format!("{}: {r}", checks.join(", "))).collect();
    format!("nothing was checked: {}", why.join("; "))
}

/// Runs the configured checks on `h` (a whole history or one shard of it),
/// judged by the whole history's `facts`.
pub(crate) fn check_part(h: &History, cfg: &CheckConfig, facts: &Facts, nil_read: NilRead) -> Result<Part, CheckError> {
    let explicit = !cfg.checks.is_empty();
    let mut wanted: Vec<CheckName> = if explicit { cfg.checks.clone() } else { CheckName::ALL.to_vec() };
    let mut part = Part::default();
    if facts.is_txn && cfg.model.is_none() {
        check_txn(h, cfg, &cfg.checks, &mut part)?;
        return Ok(part);
    }
    if let Some(&c) = cfg.checks.iter().find(|c| c.txn_model().is_some()) {
        return Err(CheckError::NotApplicable { check: c, reason: NotApplicable::NotTxn });
    }
    // The workload checks run only by name, each on its own.
    for &c in wanted.iter().filter(|c| CheckName::WORKLOAD.contains(c)) {
        part.results.push(check_workload(h, c)?);
    }
    wanted.retain(|c| !CheckName::WORKLOAD.contains(c));
    if explicit && wanted.is_empty() {
        return Ok(part);
    }
    if facts.is_bank {
        check_bank(h, cfg, &wanted, explicit, &mut part)?;
    } else {
        if wanted.contains(&CheckName::Linearizable) {
            check_linear(h, cfg, facts, nil_read, explicit, &mut part)?;
        }
        if explicit && wanted.contains(&CheckName::Bank) {
            return Err(CheckError::NotApplicable { check: CheckName::Bank, reason: NotApplicable::NotBank });
        }
        check_sessions(h, cfg, facts, nil_read, &wanted, explicit, &mut part)?;
    }
    for r in &mut part.results {
        if let Some(why) = facts.seen.missing(r.check, facts.is_bank) {
            nothing_to_check(r, why);
        }
    }
    Ok(part)
}

/// One workload check (set-full, counter-bounds, unique-ids, echo, kafka, cart).
/// A history of the wrong shape is bad input naming the line.
fn check_workload(h: &History, check: CheckName) -> Result<CheckResult, CheckError> {
    use crate::{cart, counter_bounds, echo, kafka, set_full, unique_ids};
    // The error names the line; whoever read the file names the file.
    let file = "";
    let r = match check {
        CheckName::SetFull => {
            // Maelstrom's broadcast workload adds with `broadcast`, g-set with `add`.
            let broadcast = F::parse("broadcast");
            let add_f = if h.ops.iter().any(|o| o.f == broadcast) { broadcast } else { F::Add };
            set_full::check(h, file, &set_full::SetFullOptions { add_f, linearizable: false })
        }
        CheckName::CounterBounds => counter_bounds::check(h, file),
        CheckName::UniqueIds => unique_ids::check(h, file),
        CheckName::Echo => echo::check(h, file),
        CheckName::Kafka => kafka::check(h, file),
        CheckName::Cart => cart::check(h, file),
        other => unreachable!("{other} is not a workload check"),
    };
    r.map_err(|e| CheckError::BadValue { line: e.line, kind: e.kind })
}

/// Marks a check that had nothing to check unknown, and its keys that say
/// valid (an anomaly found stands, and then the check carries no unknown
/// reason: the reason says why a verdict is unknown).
fn nothing_to_check(r: &mut CheckResult, why: &str) {
    for k in r.keys.iter_mut().filter(|k| k.verdict == Verdict::Valid) {
        k.verdict = Verdict::Unknown;
        k.unknown_reason = Some(why.to_string());
    }
    let before = r.unknown_reason.replace(why.to_string());
    r.seal();
    if r.verdict == Verdict::Invalid {
        r.unknown_reason = before;
    }
}

/// Linearizability under the configured or inferred model.
fn check_linear(
    h: &History,
    cfg: &CheckConfig,
    facts: &Facts,
    nil_read: NilRead,
    explicit: bool,
    part: &mut Part,
) -> Result<(), CheckError> {
    let kind = match (&cfg.model, &facts.model) {
        (Some(m), _) | (None, Ok(m)) => *m,
        (None, Err(why)) if explicit => {
            return Err(CheckError::NotApplicable { check: CheckName::Linearizable, reason: why.clone() })
        }
        (None, Err(why)) => {
            part.skipped.push(Skipped { check: CheckName::Linearizable, reason: why.clone() });
            return Ok(());
        }
    };
    // A value of the wrong shape for the model is bad input (exit 2), not
    // an undecided key; so is an initial state the model has no room for
    // (judged first: it is the flag's fault, not the file's).
    if let Some(v) = &cfg.initial {
        model::validate_initial(kind, v)?;
    }
    model::validate_history(h, kind, nil_read)?;
    let opts = LinearOptions {
        budget: cfg.budget.clone(),
        nil_read,
        use_fast_paths: cfg.fast_paths,
        initial: cfg.initial.clone(),
    };
    part.results.push(linear::check(h, &kind, &opts));
    Ok(())
}

/// The session guarantees and convergence, under the inferred workload.
fn check_sessions(
    h: &History,
    cfg: &CheckConfig,
    facts: &Facts,
    nil_read: NilRead,
    wanted: &[CheckName],
    explicit: bool,
    part: &mut Part,
) -> Result<(), CheckError> {
    let mut checks: Vec<CheckName> = wanted.iter().copied().filter(|c| CheckName::SESSION.contains(c)).collect();
    let Some(&first) = checks.first() else { return Ok(()) };
    // The model, when given, says the workload (reads alone cannot).
    let workload = match cfg.model.and_then(Workload::of_model) {
        Some(w) => Ok(w),
        None => facts.workload.clone(),
    };
    let w = match &workload {
        Ok(w) => *w,
        Err(why) if explicit => return Err(CheckError::NotApplicable { check: first, reason: why.clone() }),
        Err(why) => {
            part.skipped.extend(checks.iter().map(|&check| Skipped { check, reason: why.clone() }));
            return Ok(());
        }
    };
    if !explicit {
        // Every check: only those this workload can decide, and convergence
        // only when the history has final reads.
        checks.retain(|c| w.applicable_checks().contains(c));
        if !facts.seen.has_final {
            checks.retain(|c| *c != CheckName::Convergence);
            part.skipped.push(Skipped { check: CheckName::Convergence, reason: NotApplicable::NoFinalReads });
        }
    }
    if let Some(v) = &cfg.initial {
        session::validate_initial(w, v)?;
    }
    let opts = SessionOptions { budget: cfg.budget.clone(), nil_read, initial: cfg.initial.clone() };
    part.results.extend(session::check(h, &checks, w, &opts));
    part.staleness = Some((w, session::staleness_samples(h, w)));
    Ok(())
}

/// The isolation models a transactional history is checked for: each
/// requested check's model (none: strict-serializable). `linearizable` on a
/// history of transactions is strict serializability (linearizability with
/// each transaction one operation on the whole database), so it is checked
/// as that; the other single-object checks do not apply.
fn txn_checks(cfg: &CheckConfig, wanted: &[CheckName]) -> Result<Vec<(CheckName, txn::Model)>, CheckError> {
    let mut checks: Vec<(CheckName, txn::Model)> = Vec::new();
    for &c in wanted {
        let c = if c == CheckName::Linearizable { CheckName::StrictSerializable } else { c };
        let Some(m) = c.txn_model() else {
            return Err(CheckError::NotApplicable { check: c, reason: NotApplicable::TxnHistory });
        };
        if !checks.iter().any(|x| x.0 == c) {
            checks.push((c, m));
        }
    }
    if checks.is_empty() {
        checks.push((CheckName::StrictSerializable, txn::Model::StrictSerializable));
    }
    if cfg.initial.is_some() {
        // Elle's workloads start from empty lists and nil registers; a
        // different start would change every version order.
        return Err(CheckError::NotApplicable { check: checks[0].0, reason: NotApplicable::TxnInitial });
    }
    Ok(checks)
}

/// Transactional histories held as ops: checked in their compact form.
fn check_txn(h: &History, cfg: &CheckConfig, wanted: &[CheckName], part: &mut Part) -> Result<(), CheckError> {
    let checks = txn_checks(cfg, wanted)?;
    let th = txn::TxnHistory::from_history("", h).map_err(|e| CheckError::BadValue { line: e.line, kind: e.kind })?;
    check_txn_compact(&th, cfg, &checks, part);
    Ok(())
}

fn check_txn_compact(th: &txn::TxnHistory, cfg: &CheckConfig, checks: &[(CheckName, txn::Model)], part: &mut Part) {
    let opts = txn::TxnOptions {
        models: checks.iter().map(|x| x.1).collect(),
        sources: txn::VersionSources::assuming(cfg.txn_keys),
        budget: cfg.budget.clone(),
        ..txn::TxnOptions::default()
    };
    let report = txn::check(th, &opts);
    part.results = report.results(th, checks);
    part.isolation = Some(report.isolation());
}

/// Bank histories: the bank invariants, and linearizability of transfers
/// and whole-bank reads under the bank model.
fn check_bank(
    h: &History,
    cfg: &CheckConfig,
    wanted: &[CheckName],
    explicit: bool,
    part: &mut Part,
) -> Result<(), CheckError> {
    if explicit {
        if let Some(&c) = wanted.iter().find(|c| !matches!(c, CheckName::Linearizable | CheckName::Bank)) {
            return Err(CheckError::NotApplicable { check: c, reason: NotApplicable::BankHistory });
        }
    } else {
        part.skipped.push(Skipped { check: CheckName::ReadYourWrites, reason: NotApplicable::SessionChecksOnBank });
    }
    let want_lin = wanted.contains(&CheckName::Linearizable);
    if !want_lin && !wanted.contains(&CheckName::Bank) {
        return Ok(());
    }
    let opts = BankOptions {
        initial: cfg.bank.initial.clone(),
        negative_allowed: cfg.bank.negative_allowed,
        linearizable: want_lin,
        budget: cfg.budget.clone(),
    };
    let report = bank::check(h, &opts)?;
    let ops = h.ops.len() as u64;
    let keys = |lin: bool| -> Vec<KeyResult> {
        let props = report.properties.iter().filter(|p| (p.name == bank::LINEARIZABLE) == lin);
        props.map(|p| property_key(p, ops)).collect()
    };
    if want_lin {
        part.results.push(CheckResult::from_keys(CheckName::Linearizable, ModelName::Bank, keys(true)));
    }
    if wanted.contains(&CheckName::Bank) {
        let mut r = CheckResult::from_keys(CheckName::Bank, ModelName::Bank, keys(false));
        r.detail = Some(CheckDetail::Bank(BankSummary {
            expected_total: report.expected_total,
            reads: report.reads,
            total_source: report.total_source.clone(),
            transfers: report.transfers,
        }));
        part.results.push(r);
    }
    Ok(())
}

/// A bank property as a key of its check, named after the property.
fn property_key(p: &bank::BankProperty, ops: u64) -> KeyResult {
    KeyResult {
        key: Some(Value::str(p.name)),
        verdict: p.verdict,
        method: if p.name == bank::LINEARIZABLE { Method::Wgl } else { Method::BankReads },
        ops,
        anomalies: p.anomalies.clone(),
        unknown_reason: p.unknown_reason.clone(),
        stats: KeyStats { anomaly_count: Some(p.anomaly_count), ..KeyStats::default() },
    }
}
