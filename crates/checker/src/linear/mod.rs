//! Linearizability: the driver that splits a history by key
//! (P-compositionality), tries a polynomial fast path per key and otherwise
//! runs the general search ([`wgl`]).

pub(crate) mod fast;
pub(crate) mod wgl;

pub(crate) use wgl::search;

use crate::history::{History, OpId};
use crate::model::{with_model, Model, ModelKind, NilRead, WithInitial};
use crate::report::{Budget, CheckName, CheckResult, KeyResult, Method, ModelName};
use crate::value::Value;
use rayon::prelude::*;

/// Keys a fast path decides invalid get the longest linearizable prefix from
/// a bounded search, for the timeline, when they have at most this many ops
/// and the search reaches its dead end within this many steps and bytes: a
/// few milliseconds a key, the same answer every time.
const PREFIX_MAX_OPS: usize = 5_000;
const PREFIX_MAX_STEPS: u64 = 200_000;
const PREFIX_MEMORY_BYTES: u64 = 64 << 20;

/// Settings of one linearizability check.
#[derive(Clone, Debug)]
pub(crate) struct LinearOptions {
    /// Deadline and memory for the whole run; the memory is shared fairly
    /// among the keys searched at once.
    pub budget: Budget,
    /// What an ok read of `nil` means.
    pub nil_read: NilRead,
    /// Try the polynomial algorithms before the general search.
    pub use_fast_paths: bool,
    /// Every key's state before the history (`--initial`); `None`: the
    /// model's empty state. The fast paths assume the empty state, so they
    /// step aside when one is given.
    pub initial: Option<Value>,
}

impl Default for LinearOptions {
    /// The default budget, Knossos's nil-read rule, fast paths on.
    fn default() -> LinearOptions {
        LinearOptions { budget: Budget::default(), nil_read: NilRead::Unknown, use_fast_paths: true, initial: None }
    }
}

/// Checks a history for linearizability under `model`, each key on its own,
/// keys in parallel on the current rayon pool. Every op must already fit the
/// model (`model::validate_history`, which the one caller runs first), so the
/// keys do not validate their ops again.
pub(crate) fn check(history: &History, model: &ModelKind, opts: &LinearOptions) -> CheckResult {
    let groups: Vec<(Option<Value>, Vec<OpId>)> = if model.splits_by_key() {
        history.by_key().into_iter().map(|(k, ids)| (k.cloned(), ids)).collect()
    } else {
        vec![(None, history.ops.iter().map(|op| op.id).collect())]
    };
    // Each thread searches one key at a time, so this many searches hold
    // memo tables at once.
    let concurrent = rayon::current_num_threads().clamp(1, groups.len().max(1)) as u64;
    let per_key = LinearOptions {
        budget: Budget { deadline: opts.budget.deadline, memory_bytes: opts.budget.memory_bytes / concurrent },
        ..opts.clone()
    };
    let one = |(key, ids): &(Option<Value>, Vec<OpId>)| check_key(history, key.clone(), ids, model, &per_key, true);
    // One key needs no pool: waking workers costs more than small searches.
    let keys: Vec<KeyResult> =
        if groups.len() == 1 { groups.iter().map(one).collect() } else { groups.par_iter().map(one).collect() };
    CheckResult::from_keys(CheckName::Linearizable, ModelName::Model(*model), keys)
}

/// One object's ops (e.g. one key's), as [`check`] decides each key.
pub(crate) fn check_ops(history: &History, ids: &[OpId], model: &ModelKind, opts: &LinearOptions) -> KeyResult {
    check_key(history, None, ids, model, opts, false)
}

/// One key: validate its ops (unless `validated`: the whole history was, and
/// its ids are the history's own), then the fast path if one applies, else
/// WGL. Each pass over a key's ops is a cache miss per op in a large
/// history, so none is made twice.
fn check_key(
    history: &History,
    key: Option<Value>,
    ids: &[OpId],
    model: &ModelKind,
    opts: &LinearOptions,
    validated: bool,
) -> KeyResult {
    if !validated {
        for &id in ids {
            let op = history.op(id);
            if let Err(e) = model.validate_op(op, opts.nil_read) {
                // Callers should have rejected the file (model::validate_history);
                // if not, say so rather than guess.
                let line = if op.outcome == crate::history::Outcome::Ok { op.complete_line } else { None };
                let reason = format!("line {}: {e}", line.unwrap_or(op.invoke_line));
                return KeyResult::unknown(key, Method::Validate, ids.len() as u64, reason);
            }
        }
    }
    // Every id is present now (looked up above, or taken from the history).
    let fast = if opts.use_fast_paths && opts.initial.is_none() {
        fast::decide(history, ids, *model, opts.nil_read, true)
    } else {
        None
    };
    let mut result = match (fast, &opts.initial) {
        (Some(r), _) => r,
        (None, None) => with_model!(*model, opts.nil_read, |m| search(history, ids, &m, &opts.budget)),
        (None, Some(v)) => with_model!(*model, opts.nil_read, |m| match m.state_of(v) {
            Some(init) => search(history, ids, &WithInitial { model: &m, init }, &opts.budget),
            None => KeyResult::unknown(
                None,
                Method::Validate,
                ids.len() as u64,
                format!("the initial state {v} is not a state of the {model} model"),
            ),
        }),
    };
    // The search's own anomalies carry their prefix; a fast path's do not.
    if result.verdict == crate::report::Verdict::Invalid && result.method.is_fast_path() && ids.len() <= PREFIX_MAX_OPS
    {
        result.stats.prefix = with_model!(*model, opts.nil_read, |m| wgl::longest_prefix(
            history,
            ids,
            &m,
            PREFIX_MAX_STEPS,
            PREFIX_MEMORY_BYTES
        ));
    }
    result.key = key;
    result
}
