//! The general linearizability search for one object: Wing & Gong's
//! backtracking with Lowe's just-in-time linearization and memoisation of
//! (linearized set, model state) configurations, as in Porcupine and
//! Knossos's `wgl`.
//!
//! Calls and returns sit in one doubly linked list sorted by position. The
//! search walks it from the head: a call may be linearized now if the model
//! allows it and the resulting configuration is new; reaching a return means
//! that op was not linearized in time, so it backtracks. `info` ops have no
//! return entry: they may be linearized at any point after their call, or
//! never; the search succeeds once every `ok` op is linearized.

use crate::history::{History, Op, OpId, Outcome, F};
use crate::model::{Model, ReadCause};
use crate::report::{
    Anomaly, AnomalyDetail, AnomalyKind, Budget, KeyResult, KeyStats, Method, OpRef, PrefixOp, SearchFailure,
    SearchStats, Verdict, Witness,
};
use hashbrown::HashTable;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};
use std::time::Instant;

/// Steps between deadline checks: reading the clock costs ~20 ns; a step a
/// few. Thousands of steps take well under a millisecond.
const DEADLINE_CHECK_STEPS: u64 = 4096;
/// Model states listed in an invalid report.
const MAX_STATES_REPORTED: usize = 16;
/// Concurrent ops named in an invalid report.
const MAX_CONCURRENT_REPORTED: usize = 20;

/// The list's sentinel: head and tail at once (the list is circular).
const HEAD: u32 = 0;
const NO_MATCH: u32 = u32::MAX;

/// Statistics and outcome of one search, before it becomes a [`KeyResult`].
enum SearchOutcome {
    Valid(Vec<u32>),
    Invalid(Failure),
    Unknown(String),
}

/// What the deepest dead end looked like.
#[derive(Default)]
struct Failure {
    /// Local op indices, in linearization order.
    prefix: Vec<u32>,
    states: Vec<String>,
    failed: u32,
    /// Ops that could still have been linearized before `failed` returned.
    pending: Vec<u32>,
}

/// The ops the search sees (fail ops removed, droppable info ops left out)
/// and where each must take effect (`None`: an info op that may be left out).
fn prepare<'h, M: Model>(history: &'h History, ops: &[OpId], model: &M) -> (Vec<&'h Op>, Vec<Option<u64>>) {
    // Fail ops never happened; the model names info ops that may be left
    // out (leaving an info op out is always allowed).
    let happened: Vec<&Op> = ops.iter().map(|&id| history.op(id)).filter(|op| op.outcome != Outcome::Fail).collect();
    let droppable = model.droppable_infos(&happened);
    let kept: Vec<&Op> = happened
        .iter()
        .enumerate()
        .filter(|&(i, op)| !(op.outcome == Outcome::Info && droppable.get(i).copied().unwrap_or(false)))
        .map(|(_, op)| *op)
        .collect();
    // Ok ops must take effect before they return; so must the info ops the
    // model finds required (if the deadline is after their call; otherwise
    // they stay optional and the op that needs them fails on its own).
    let required = model.required_infos(&kept);
    let deadlines: Vec<Option<u64>> = kept
        .iter()
        .enumerate()
        .map(|(i, op)| match op.outcome {
            Outcome::Ok => Some(op.ret),
            _ => required.get(i).copied().flatten().filter(|&d| d > op.call),
        })
        .collect();
    (kept, deadlines)
}

/// The longest linearizable prefix of one object's ops, for a key a fast
/// path decided invalid (the timeline steps through it; the fast path's own
/// proof stays the anomaly): the search's dead end, if it is reached within
/// `max_steps` steps and `memory_bytes` of memo table. Bounded by steps, not
/// time, so the same history always gets the same answer.
pub(crate) fn longest_prefix<M: Model>(
    history: &History,
    ops: &[OpId],
    model: &M,
    max_steps: u64,
    memory_bytes: u64,
) -> Option<SearchFailure> {
    let (kept, deadlines) = prepare(history, ops, model);
    let budget = Budget { deadline: None, memory_bytes };
    let mut s = Search::new(&kept, &deadlines, model, &budget);
    s.max_steps = max_steps;
    match s.run() {
        SearchOutcome::Invalid(f) => Some(failure_detail(&kept, &f)),
        SearchOutcome::Valid(_) | SearchOutcome::Unknown(_) => None,
    }
}

/// The report's form of a dead end.
fn failure_detail(kept: &[&Op], f: &Failure) -> SearchFailure {
    let longest_prefix = f
        .prefix
        .iter()
        .map(|&i| {
            let o = kept[i as usize];
            PrefixOp { complete_line: o.complete_line, id: o.id, invoke_line: o.invoke_line }
        })
        .collect();
    SearchFailure { failed_op: OpRef::new(kept[f.failed as usize]), longest_prefix, states: f.states.clone() }
}

/// Checks one object's ops for linearizability under `model` within
/// `budget` (its `memory_bytes` is this search's own share). Method `wgl`.
pub(crate) fn search<M: Model>(history: &History, ops: &[OpId], model: &M, budget: &Budget) -> KeyResult {
    let key = ops.first().and_then(|&id| history.op(id).key.clone());
    let (kept, deadlines) = prepare(history, ops, model);
    let mut s = Search::new(&kept, &deadlines, model, budget);
    let outcome = s.run();
    let search = SearchStats {
        configurations: s.cache_len() as u64,
        max_depth: s.max_depth as u64,
        memory_bytes_estimate: s.memory_bytes(),
        ops_searched: kept.len() as u64,
        steps: s.steps,
    };
    let mut result = KeyResult::valid(key, Method::Wgl, ops.len() as u64);
    result.stats = KeyStats { search: Some(search), ..KeyStats::default() };
    match outcome {
        SearchOutcome::Valid(order) => {
            // The linearization found, for the HTML report.
            result.stats.witness = Some(Witness::new(order.iter().map(|&i| kept[i as usize].id)));
        }
        SearchOutcome::Unknown(reason) => {
            result.verdict = Verdict::Unknown;
            result.unknown_reason = Some(reason);
        }
        SearchOutcome::Invalid(f) => {
            result.verdict = Verdict::Invalid;
            let cause = find_cause(model, &kept, f.failed);
            result.anomalies.push(anomaly(&kept, &f, cause));
        }
    }
    result
}

/// Explanations name at most this many ops that may precede a read.
const MAX_LISTED: usize = 12;

/// Ops in prose, `a, b and c`; past [`MAX_LISTED`], the count of the rest.
fn list_ops(ops: &[&Op], idx: &[usize]) -> String {
    let mut names: Vec<String> = idx.iter().take(MAX_LISTED).map(|&i| OpRef::new(ops[i]).to_string()).collect();
    if idx.len() > MAX_LISTED {
        names.push(format!("{} more", idx.len() - MAX_LISTED));
    }
    match names.len() {
        0 => String::new(),
        1 => names.remove(0),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

/// The value a register op `op` saw the object hold: a read's result, a
/// cas's expected value.
fn observed(op: &Op) -> &crate::value::Value {
    match (&op.f, crate::model::arg(op).as_seq()) {
        (F::Cas, Some([old, _])) => old,
        _ => &op.output,
    }
}

/// The value a register op left: a write's, a cas's new one, a read's.
fn held(op: &Op) -> &crate::value::Value {
    match (&op.f, crate::model::arg(op).as_seq()) {
        (F::Cas, Some([_, new])) => new,
        (F::Write, _) => crate::model::arg(op),
        _ => &op.output,
    }
}

/// An explanation's lead (one short sentence naming the cause) and its
/// details, for the op `kept[target]` and its cause. `vals` are the ops
/// whose values the text quotes: `kept` itself, or for a multi-register
/// cause each transaction's effect on the one register.
fn cause_text(kept: &[&Op], vals: &[&Op], target: usize, cause: &ReadCause) -> (String, String) {
    let op = |i: usize| OpRef::new(kept[i]).to_string();
    let brief = |i: usize| OpRef::new(kept[i]).brief();
    let me = op(target);
    let t = vals[target];
    let v = observed(t);
    let (noun, did) = if t.f == F::Cas { ("cas", "expected") } else { ("read", "returned") };
    match cause {
        ReadCause::NeverWritten => (
            format!("Impossible read: {me} returned {v}, which no operation wrote and the object did not start with."),
            format!("no op writes {v}, so no order can give it."),
        ),
        ReadCause::Stale { last_write: Some(l), overwrite } => (
            format!("Stale read: {me} returned {v} after {} had overwritten it.", op(*overwrite)),
            format!(
                "the last write of {v}, {}, completed before {} began, and that write completed before the read \
                 began, so every order consistent with real time puts it between them.",
                op(*l),
                brief(*overwrite)
            ),
        ),
        ReadCause::Stale { last_write: None, overwrite } => (
            format!("Stale read: {me} returned {v}, the initial value, after {} had overwritten it.", op(*overwrite)),
            format!("the object started with {v} and no op wrote it, and that write completed before the read began."),
        ),
        ReadCause::StaleSeen { last_write, write, seen_by } => {
            let u = &vals[*seen_by].output;
            let since = match last_write {
                Some(l) => format!("after the last write of {v}, {}, completed", op(*l)),
                None => format!("after the start, when the object held {v}"),
            };
            (
                format!("Stale read: {me} returned {v} after {} had already seen {u}.", op(*seen_by)),
                format!(
                    "that read completed before this one began, and every write of {u} (the first: {}) began \
                     {since}, so {u} replaced {v} before the read.",
                    op(*write)
                ),
            )
        }
        ReadCause::Missed { write } => {
            let w = vals[*write];
            let x = &w.input;
            match w.f {
                F::Put => (
                    format!("Stale read: {me} does not start with {x}, put by {}, which completed before it began.", op(*write)),
                    "no put can replace the value in between, and everything else only appends.".to_string(),
                ),
                F::Append if t.f == F::Get => (
                    format!("Stale read: {me} lacks {x}, appended by {}, which completed before it began.", op(*write)),
                    "no put can replace the value in between, so the read must contain it.".to_string(),
                ),
                _ => (
                    format!("Stale read: {me} lacks {x}, added by {}, which completed before it began.", op(*write)),
                    "the collection only grows, so every order puts the add before the read and the read must contain it."
                        .to_string(),
                ),
            }
        }
        ReadCause::Unreachable { from, via, held } => {
            let via_text = match via.len() {
                0 => format!("none of them writes {v}."),
                1 => format!(
                    "the only one that could lead to {v}, {}, needs a value they cannot make first.",
                    list_ops(kept, via)
                ),
                _ => format!(
                    "the only ones that could lead to {v}, {}, need values they cannot make first.",
                    list_ops(kept, via)
                ),
            };
            match from {
                Some(f) => (
                    format!(
                        "Stale {noun}: {me} {did} {v}, but {} {} {held} before it began, and nothing that can take \
                         effect in between turns {held} into {v}.",
                        op(*f),
                        if vals[*f].f == F::Read { "saw" } else { "left" }
                    ),
                    format!(
                        "The ops that can take effect between them (invoked before the {noun} returned, not completed \
                         before {} began) cannot, in any order, turn {held} into {v}: {via_text}",
                        brief(*f)
                    ),
                ),
                None => (
                    format!(
                        "Impossible {noun}: {me} {did} {v}, which no op invoked before it returned can make from the \
                         initial value {held}."
                    ),
                    format!("From {held}, those ops cannot, in any order, make {v}: {via_text}"),
                ),
            }
        }
        ReadCause::ReusedWrite { before, writes, earlier } => {
            let a = held(vals[*before]);
            // What an op shows of the value after it: a read saw it, others left it.
            let verb = |i: usize| if vals[i].f == F::Read { "saw" } else { "left" };
            let only = match writes.len() {
                1 => format!("the only op that can write {v} in between, {},", list_ops(kept, writes)),
                n => format!("the only {n} ops that can write {v} in between, {},", list_ops(kept, writes)),
            };
            let gaps: Vec<String> = earlier
                .iter()
                .map(|&(p, q)| {
                    let a2 = held(vals[p]);
                    if q == *before || earlier.iter().any(|&(p1, _)| p1 == q) {
                        format!("between {}, which {} {a2}, and that cas, which expected {v}", op(p), verb(p))
                    } else {
                        format!("between {}, which {} {a2}, and {}, which saw {v}", op(p), verb(p), op(q))
                    }
                })
                .collect();
            let then = if writes.len() == 1 {
                format!("Earlier, it must also take effect {}; no op takes effect twice.", gaps.join("; and "))
            } else {
                format!(
                    "Earlier, one of them must also take effect in each of these gaps, each before the next: {}; no \
                     op takes effect twice, so {} ops cannot fill {} gaps.",
                    gaps.join("; and "),
                    writes.len(),
                    earlier.len() + 1
                )
            };
            (
                format!(
                    "Stale {noun}: {me} {did} {v} after {} {} {a}, but {only} had to take effect earlier.",
                    op(*before),
                    verb(*before)
                ),
                format!(
                    "{} completed before the {noun} began, so an op that changes the value to {v} takes effect \
                     between them, and only {} can. {then}",
                    brief(*before),
                    if writes.len() == 1 { "that one" } else { "those" },
                ),
            )
        }
        ReadCause::BelowCompleted { incrs, least } => {
            let negative = incrs.iter().any(|&i| vals[i].input.as_int().is_some_and(|n| n < 0));
            let (them, counting) = match (incrs.len(), negative) {
                (0, _) => (String::new(), ""),
                (1, false) => (
                    format!(
                        "{} completed before the read began, so every order puts it before the read. ",
                        list_ops(kept, incrs)
                    ),
                    "",
                ),
                (_, false) => (
                    format!(
                        "{} completed before the read began, so every order puts them before the read. ",
                        list_ops(kept, incrs)
                    ),
                    "",
                ),
                (_, true) => (
                    format!(
                        "Of {}, the increments completed before the read began and the decrements may precede it. ",
                        list_ops(kept, incrs)
                    ),
                    ", counting every decrement",
                ),
            };
            (
                format!("Stale read: {me} returned {v}, but the counter was at least {least} when it began."),
                format!("{them}With the start{counting}, that makes at least {least}."),
            )
        }
        ReadCause::AboveInvoked { incrs, most } => (
            format!("Impossible read: {me} returned {v}, but the counter could be at most {most} by then."),
            if incrs.is_empty() {
                "no increment was invoked before the read returned.".to_string()
            } else {
                format!("only {} can precede the read and add to it.", list_ops(kept, incrs))
            },
        ),
        ReadCause::NeverAdded { element, later } => {
            let (what, verb) = if t.f == F::Dequeue { ("dequeue", "enqueued") } else { ("read", "added") };
            let short = if t.f == F::Dequeue {
                format!("Impossible dequeue: {me} returned {element}, which nothing {verb} before it completed.")
            } else {
                format!("Impossible read: {me} contains {element}, which nothing {verb} before it completed.")
            };
            let detail = match later {
                Some(l) => {
                    format!("the first op that {verb} {element}, {}, was invoked after the {what} completed.", op(*l))
                }
                None => format!("no op {verb} {element}, and the collection did not start with it."),
            };
            (short, detail)
        }
        ReadCause::DequeuedTwice { enqueue, other } => (
            format!(
                "Duplicate dequeue: {me} and {} both returned {v}, which only {} enqueued.",
                op(*other),
                op(*enqueue)
            ),
            format!("the queue did not start with {v}, so at most one dequeue can return it."),
        ),
        ReadCause::OutOfOrder { earlier, later } => {
            let x = &vals[*earlier].input;
            (
                format!(
                    "Out-of-order dequeue: {me} returned {v} while {x}, enqueued before it by {}, was still queued.",
                    op(*earlier)
                ),
                format!(
                    "that enqueue completed before {} (the first to enqueue {v}) began, so {x} is ahead of {v}, and \
                     no dequeue that could remove {x} (one that returned it, or one whose result is unknown) can take \
                     effect before this one.",
                    op(*later)
                ),
            )
        }
        ReadCause::FoundEmpty { enqueue } => {
            let x = &vals[*enqueue].input;
            (
                format!(
                    "Lost element: {me} found the queue empty, though {} had enqueued {x} before it began.",
                    op(*enqueue)
                ),
                format!(
                    "no dequeue that could remove {x} (one that returned it, or one whose result is unknown) can \
                     take effect before this one."
                ),
            )
        }
        ReadCause::AlreadyHeld { acquire: Some(a) } => (
            format!(
                "Double acquire: {me} took the lock while process {} held it.",
                crate::history::process_name(kept[*a].process)
            ),
            format!("{} completed before this acquire began, and no release can take effect between them.", op(*a)),
        ),
        ReadCause::AlreadyHeld { acquire: None } => (
            format!("Double acquire: {me} took the lock, which was held from the start."),
            "no release was invoked before the acquire completed.".to_string(),
        ),
        ReadCause::AlreadyFree { release: Some(r) } => (
            format!("Double release: {me} released the lock after {} had already released it.", op(*r)),
            "that release completed before this one began, and no acquire can take effect between them.".to_string(),
        ),
        ReadCause::AlreadyFree { release: None } => (
            format!("Double release: {me} released the lock, which was free from the start."),
            "no acquire was invoked before the release completed.".to_string(),
        ),
        ReadCause::InRegister { key, cause, .. } => {
            // Only to quote values: every read shown, nil ones too.
            let projected: Vec<Op> = kept
                .iter()
                .map(|o| crate::model::multi_register::project(crate::model::NilRead::Absent, o, key))
                .collect();
            let refs: Vec<&Op> = projected.iter().collect();
            let (short, detail) = cause_text(kept, &refs, target, cause);
            let short = match short.split_once(": ") {
                Some((label, rest)) => format!("{label} of register {key}: {rest}"),
                None => format!("Register {key}: {short}"),
            };
            (short, detail)
        }
    }
}

/// An op that no order explains and its cause, when the model can name one:
/// the op the search failed on if it has one, else the first ok op (by
/// completion, up to [`OTHER_CAUSES_TRIED`] of them) that has one. Any
/// cause proves the object non-linearizable.
fn find_cause<M: Model>(model: &M, kept: &[&Op], failed: u32) -> Option<(usize, ReadCause)> {
    let init = model.init();
    if let Some(c) = model.read_cause(&init, kept, failed as usize) {
        return Some((failed as usize, c));
    }
    let mut others: Vec<usize> =
        (0..kept.len()).filter(|&i| i != failed as usize && kept[i].outcome == Outcome::Ok).collect();
    others.sort_by_key(|&i| kept[i].ret);
    others.into_iter().take(OTHER_CAUSES_TRIED).find_map(|i| model.read_cause(&init, kept, i).map(|c| (i, c)))
}

/// Ops [`find_cause`] tries besides the failed one: a bound on the work.
const OTHER_CAUSES_TRIED: usize = 256;

fn anomaly(kept: &[&Op], f: &Failure, cause: Option<(usize, ReadCause)>) -> Anomaly {
    let op = |i: u32| OpRef::new(kept[i as usize]);
    let failed = op(f.failed);
    let mut ops = vec![];
    let push = |i: usize, ops: &mut Vec<OpRef>| {
        if !ops.iter().any(|o: &OpRef| o.id == kept[i].id) {
            ops.push(OpRef::new(kept[i]));
        }
    };
    let (lead, cause_detail) = match &cause {
        Some((target, c)) => {
            push(*target, &mut ops);
            // Exactly the cause's ops: the search's dead end (in the
            // detail) names the op it failed on, which may be another.
            for i in c.ops() {
                push(i, &mut ops);
            }
            let (short, detail) = cause_text(kept, kept, *target, c);
            (short, format!("{} ", capitalise(&detail)))
        }
        None => {
            push(f.failed as usize, &mut ops);
            for &i in &f.pending {
                push(i as usize, &mut ops);
            }
            (format!("No order of the ops consistent with real time explains the result of {failed}."), String::new())
        }
    };
    let prefix_desc = match f.prefix.last() {
        None => "before any op is linearized".to_string(),
        Some(&last) => format!(
            "after linearizing {} op{} (the longest linearizable prefix found, ending with {})",
            f.prefix.len(),
            if f.prefix.len() == 1 { "" } else { "s" },
            op(last)
        ),
    };
    let pending_desc = if f.pending.is_empty() || cause.is_some() {
        String::new()
    } else {
        let names: Vec<String> = f.pending.iter().map(|&i| op(i).to_string()).collect();
        format!(
            ", whether or not the ops still pending then go first ({}: each is illegal there or changes nothing)",
            names.join("; ")
        )
    };
    let that_op = match &cause {
        Some((target, _)) if *target != f.failed as usize => failed.to_string(),
        _ => "that op".to_string(),
    };
    let search = if cause.is_some() { "The search's dead end: " } else { "" };
    // A short sentence first (the cause, or what cannot be), details after.
    let explanation = format!(
        "{lead} In detail: {cause_detail}{search}{prefix_desc}, the model could be in state{} {{{}}}; in none of \
         them can {that_op} take effect{pending_desc}, yet it must take effect before it returned.",
        if f.states.len() == 1 { "" } else { "s" },
        f.states.join(", "),
    );
    let detail = failure_detail(kept, f);
    Anomaly {
        kind: AnomalyKind::NotLinearizable,
        ops,
        explanation,
        detail: Some(Box::new(AnomalyDetail::Search(detail))),
    }
}

/// `s` with its first letter upper-case.
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn mix64(mut z: u64) -> u64 {
    // splitmix64's finaliser: spreads FxHash's weak low bits over the word.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The set of linearized ops: a bitset with its Zobrist hash and the window
/// that the memo table stores. Ops tend to be linearized roughly in order,
/// so the set is a run of full words, a few mixed ones, then zeros; storing
/// only the mixed window (with its first word's index, which makes it
/// canonical) keeps each configuration small on long histories.
struct LinSet {
    words: Vec<u64>,
    hash: u64,
    /// First word that is not all ones (`words.len()` if none).
    lo: usize,
    /// One past the last non-zero word (0 if none). `lo <= hi` always.
    hi: usize,
}

impl LinSet {
    fn new(words: usize) -> LinSet {
        LinSet { words: vec![0; words], hash: 0, lo: 0, hi: 0 }
    }

    fn contains(&self, i: u32) -> bool {
        self.words[i as usize / 64] & (1u64 << (i % 64)) != 0
    }

    fn insert(&mut self, i: u32, key: u64) {
        let w = i as usize / 64;
        self.words[w] |= 1u64 << (i % 64);
        self.hash ^= key;
        self.hi = self.hi.max(w + 1);
        while self.lo < self.words.len() && self.words[self.lo] == u64::MAX {
            self.lo += 1;
        }
    }

    fn remove(&mut self, i: u32, key: u64) {
        let w = i as usize / 64;
        self.words[w] &= !(1u64 << (i % 64));
        self.hash ^= key;
        self.lo = self.lo.min(w);
        while self.hi > 0 && self.words[self.hi - 1] == 0 {
            self.hi -= 1;
        }
    }

    /// (index of the first stored word, the stored words).
    fn window(&self) -> (u32, &[u64]) {
        (self.lo as u32, &self.words[self.lo..self.hi.max(self.lo)])
    }
}

struct Search<'a, M: Model> {
    ops: &'a [&'a Op],
    model: &'a M,
    budget: &'a Budget,
    // The entry list: index 0 is the sentinel; entry e in 1..=len.
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Local op index of each entry.
    entry_op: Vec<u32>,
    is_call: Vec<bool>,
    /// Call entry -> its return entry (`NO_MATCH` for info ops).
    matching: Vec<u32>,
    /// Zobrist key per op: the linearized set's hash is their xor.
    zobrist: Vec<u64>,
    /// For an info op, the previous info op (by call) with the same function
    /// and argument, or `NO_MATCH`. Such twins are interchangeable, and the
    /// earlier-called one can go wherever the later one can, so the search
    /// only linearizes a twin after its predecessor: k identical info ops
    /// give k+1 configurations instead of 2^k.
    twin_prev: Vec<u32>,
    /// Ops the search must linearize: ok ops and required info ops (those
    /// with a return entry).
    required: Vec<bool>,
    words: usize,
    // The memo table: configuration i is its linearized set's window
    // (`spans[i]` = start in `bits`, first word, word count) and states[i].
    table: HashTable<u32>,
    bits: Vec<u64>,
    spans: Vec<(usize, u32, u32)>,
    states: Vec<M::State>,
    hashes: Vec<u64>,
    heap_bytes: usize,
    steps: u64,
    /// Steps after which the search gives up (unknown); `u64::MAX` unless
    /// [`longest_prefix`] bounds it.
    max_steps: u64,
    max_depth: usize,
    failure: Failure,
    failure_depth: Option<usize>,
    failure_bits: Vec<u64>,
}

impl<'a, M: Model> Search<'a, M> {
    /// `deadlines[i]`: where op i's return entry goes (ok ops and required
    /// info ops); `None` for info ops that may be left out.
    fn new(ops: &'a [&'a Op], deadlines: &[Option<u64>], model: &'a M, budget: &'a Budget) -> Search<'a, M> {
        let n = ops.len();
        // (position, local op, is_call)
        let mut events: Vec<(u64, u32, bool)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call, i as u32, true));
            if let Some(ret) = deadlines[i] {
                events.push((ret, i as u32, false));
            }
        }
        let required: Vec<bool> = deadlines.iter().map(Option::is_some).collect();
        // Positions are unique per event; the op index breaks ties only in
        // hand-built histories.
        // A required info op's return shares its position with the ok op that
        // needs it; the ok op's comes first, so that a dead end there names
        // the op whose result cannot be explained.
        events.sort_unstable_by_key(|&(pos, i, call)| (pos, !call, ops[i as usize].outcome != Outcome::Ok, i));
        let len = events.len();
        let mut next = vec![HEAD; len + 1];
        let mut prev = vec![HEAD; len + 1];
        for e in 0..=len {
            next[e] = if e == len { HEAD } else { e as u32 + 1 };
            prev[e] = if e == 0 { len as u32 } else { e as u32 - 1 };
        }
        let mut entry_op = vec![0; len + 1];
        let mut is_call = vec![false; len + 1];
        let mut matching = vec![NO_MATCH; len + 1];
        let mut call_entry = vec![0u32; n];
        for (k, &(_, i, call)) in events.iter().enumerate() {
            let e = k + 1;
            entry_op[e] = i;
            is_call[e] = call;
            if call {
                call_entry[i as usize] = e as u32;
            } else {
                matching[call_entry[i as usize] as usize] = e as u32;
            }
        }
        let mut twin_prev = vec![NO_MATCH; n];
        let mut by_call: Vec<u32> = (0..n as u32).collect();
        by_call.sort_unstable_by_key(|&i| ops[i as usize].call);
        let mut last_twin: rustc_hash::FxHashMap<(&crate::history::F, &crate::value::Value), u32> = Default::default();
        for &i in &by_call {
            let op = ops[i as usize];
            if !required[i as usize] {
                if let Some(prev) = last_twin.insert((&op.f, &op.input), i) {
                    twin_prev[i as usize] = prev;
                }
            }
        }
        let zobrist = (0..n as u64).map(|i| mix64(i.wrapping_add(0x9e37_79b9_7f4a_7c15))).collect();
        Search {
            ops,
            model,
            budget,
            next,
            prev,
            entry_op,
            is_call,
            matching,
            zobrist,
            twin_prev,
            required,
            words: n.div_ceil(64).max(1),
            table: HashTable::new(),
            bits: Vec::new(),
            spans: Vec::new(),
            states: Vec::new(),
            hashes: Vec::new(),
            heap_bytes: 0,
            steps: 0,
            max_steps: u64::MAX,
            max_depth: 0,
            failure: Failure::default(),
            failure_depth: None,
            failure_bits: Vec::new(),
        }
    }

    fn cache_len(&self) -> usize {
        self.states.len()
    }

    /// Approximate bytes held by the memo table and its arenas.
    fn memory_bytes(&self) -> u64 {
        let state_size = std::mem::size_of::<M::State>();
        (self.bits.capacity() * 8
            + self.spans.capacity() * std::mem::size_of::<(usize, u32, u32)>()
            + self.states.capacity() * state_size
            + self.hashes.capacity() * 8
            + self.table.capacity() * (4 + 1)
            + self.heap_bytes) as u64
    }

    fn lift(&mut self, e: u32) {
        let remove = |next: &mut Vec<u32>, prev: &mut Vec<u32>, x: u32| {
            let (p, n) = (prev[x as usize], next[x as usize]);
            next[p as usize] = n;
            prev[n as usize] = p;
        };
        remove(&mut self.next, &mut self.prev, e);
        let m = self.matching[e as usize];
        if m != NO_MATCH {
            remove(&mut self.next, &mut self.prev, m);
        }
    }

    fn unlift(&mut self, e: u32) {
        // Undo in reverse order of removal (dancing links).
        let restore = |next: &mut Vec<u32>, prev: &mut Vec<u32>, x: u32| {
            let (p, n) = (prev[x as usize], next[x as usize]);
            next[p as usize] = x;
            prev[n as usize] = x;
        };
        let m = self.matching[e as usize];
        if m != NO_MATCH {
            restore(&mut self.next, &mut self.prev, m);
        }
        restore(&mut self.next, &mut self.prev, e);
    }

    fn state_hash(state: &M::State) -> u64 {
        let mut h = FxHasher::default();
        state.hash(&mut h);
        h.finish()
    }

    /// Inserts the configuration if it is new; false if it was seen before.
    fn remember(&mut self, cur: &LinSet, state: &M::State) -> bool {
        let h = mix64(cur.hash ^ Self::state_hash(state));
        let (lo, window) = cur.window();
        let (bits, spans, states, hashes) = (&self.bits, &self.spans, &self.states, &self.hashes);
        let found = self.table.find(h, |&i| {
            let i = i as usize;
            let (start, first, len) = spans[i];
            hashes[i] == h && first == lo && bits[start..start + len as usize] == *window && states[i] == *state
        });
        if found.is_some() {
            return false;
        }
        let idx = self.states.len() as u32;
        self.spans.push((self.bits.len(), lo, window.len() as u32));
        self.bits.extend_from_slice(window);
        self.states.push(state.clone());
        self.hashes.push(h);
        self.heap_bytes += self.model.heap_bytes(state);
        let hashes = &self.hashes;
        self.table.insert_unique(h, idx, |&i| hashes[i as usize]);
        true
    }

    fn run(&mut self) -> SearchOutcome {
        if self.budget.expired() {
            return SearchOutcome::Unknown("timeout: the deadline passed before this key was searched".to_string());
        }
        if self.ops.len() >= u32::MAX as usize / 2 {
            return SearchOutcome::Unknown(format!("too many ops on one key ({}) for the search", self.ops.len()));
        }
        let mut ok_left = self.required.iter().filter(|&&r| r).count();
        let mut cur = LinSet::new(self.words);
        let mut state = self.model.init();
        // (call entry linearized, state before it)
        let mut stack: Vec<(u32, M::State)> = Vec::new();
        let mut entry = self.next[HEAD as usize];
        loop {
            if ok_left == 0 {
                return SearchOutcome::Valid(stack.iter().map(|&(e, _)| self.entry_op[e as usize]).collect());
            }
            self.steps += 1;
            if self.steps > self.max_steps {
                return SearchOutcome::Unknown(format!("gave up after {} steps", self.max_steps));
            }
            if self.steps.is_multiple_of(DEADLINE_CHECK_STEPS)
                && self.budget.deadline.is_some_and(|d| Instant::now() >= d)
            {
                return SearchOutcome::Unknown(format!(
                    "timeout after {} configurations (longest linearizable prefix: {} of {} ops)",
                    self.cache_len(),
                    self.max_depth,
                    self.ops.len()
                ));
            }
            if entry == HEAD {
                // Unreachable while an ok op is left (its return is in the
                // list); kept as a guard rather than a panic.
                return SearchOutcome::Unknown("internal error: entry list exhausted with ok ops left".to_string());
            }
            let op_i = self.entry_op[entry as usize];
            if self.is_call[entry as usize] {
                let op = self.ops[op_i as usize];
                let twin = self.twin_prev[op_i as usize];
                if twin != NO_MATCH && !cur.contains(twin) {
                    entry = self.next[entry as usize];
                    continue;
                }
                // An info op that would not change the state here is better
                // left for later (or out): any order placing it here stays
                // legal without it.
                let must = self.required[op_i as usize];
                let next = self.model.step(&state, op).filter(|n| must || *n != state);
                if let Some(next_state) = next {
                    cur.insert(op_i, self.zobrist[op_i as usize]);
                    if self.remember(&cur, &next_state) {
                        if self.memory_bytes() > self.budget.memory_bytes {
                            return SearchOutcome::Unknown(format!(
                                "memory budget of {} MiB exhausted after {} configurations",
                                self.budget.memory_bytes >> 20,
                                self.cache_len()
                            ));
                        }
                        stack.push((entry, std::mem::replace(&mut state, next_state)));
                        self.max_depth = self.max_depth.max(stack.len());
                        self.lift(entry);
                        if must {
                            ok_left -= 1;
                        }
                        entry = self.next[HEAD as usize];
                        continue;
                    }
                    cur.remove(op_i, self.zobrist[op_i as usize]);
                }
                entry = self.next[entry as usize];
            } else {
                self.note_dead_end(&stack, &cur.words, &state, entry);
                let Some((e, prev_state)) = stack.pop() else {
                    return SearchOutcome::Invalid(std::mem::take(&mut self.failure));
                };
                state = prev_state;
                let i = self.entry_op[e as usize];
                cur.remove(i, self.zobrist[i as usize]);
                self.unlift(e);
                if self.required[i as usize] {
                    ok_left += 1;
                }
                entry = self.next[e as usize];
            }
        }
    }

    /// Records the deepest dead end for the report: the first time a depth is
    /// reached at a dead end, its prefix and pending ops; afterwards, further
    /// states with the same linearized set.
    fn note_dead_end(&mut self, stack: &[(u32, M::State)], cur: &[u64], state: &M::State, ret_entry: u32) {
        let depth = stack.len();
        match self.failure_depth {
            Some(d) if d > depth => {}
            Some(d) if d == depth => {
                if self.failure.states.len() < MAX_STATES_REPORTED && self.failure_bits == cur {
                    let desc = self.model.describe(state);
                    if !self.failure.states.contains(&desc) {
                        self.failure.states.push(desc);
                    }
                }
            }
            _ => {
                self.failure_depth = Some(depth);
                self.failure_bits = cur.to_vec();
                let mut pending = Vec::new();
                let mut e = self.next[HEAD as usize];
                while e != ret_entry && e != HEAD && pending.len() < MAX_CONCURRENT_REPORTED {
                    if self.is_call[e as usize] && self.entry_op[e as usize] != self.entry_op[ret_entry as usize] {
                        pending.push(self.entry_op[e as usize]);
                    }
                    e = self.next[e as usize];
                }
                self.failure = Failure {
                    prefix: stack.iter().map(|&(e, _)| self.entry_op[e as usize]).collect(),
                    states: vec![self.model.describe(state)],
                    failed: self.entry_op[ret_entry as usize],
                    pending,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LinSet;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The stored window is canonical: `lo`/`hi` always equal their
        /// definitions, so equal sets store equal windows (and unequal ones
        /// differ).
        #[test]
        fn window_is_canonical(flips in proptest::collection::vec((0u32..4, 0u32..260), 1..600)) {
            let mut s = LinSet::new(5);
            let mut model = [false; 320];
            let mut next = 0;
            for (step, &(kind, random)) in flips.iter().enumerate() {
                // Mostly fill in order (as the search does), sometimes flip
                // any bit (backtracking).
                let sequential = kind != 0 && next < 260;
                let i = if sequential { next } else { random };
                if sequential {
                    next += 1;
                }
                if sequential && model[i as usize] {
                    continue;
                }
                if model[i as usize] {
                    s.remove(i, 1 << (i % 64));
                } else {
                    s.insert(i, 1 << (i % 64));
                }
                model[i as usize] = !model[i as usize];
                let lo = (0..5).find(|&w| s.words[w] != u64::MAX).unwrap_or(5);
                let hi = (0..5).rev().find(|&w| s.words[w] != 0).map_or(0, |w| w + 1);
                prop_assert_eq!((s.lo, s.hi), (lo, hi), "after step {}", step);
                for (j, &m) in model.iter().enumerate().take(260) {
                    prop_assert_eq!(s.contains(j as u32), m);
                }
            }
        }
    }

    #[test]
    fn full_prefix_is_not_stored() {
        let mut s = LinSet::new(3);
        for i in 0..70 {
            s.insert(i, 0);
        }
        assert_eq!(s.window(), (1, &[0x3f][..]));
        s.remove(3, 0);
        assert_eq!(s.window().0, 0);
        assert_eq!(s.window().1.len(), 2);
    }
}
