//! Polynomial-time linearizability for the common special cases, exact where
//! they apply: read/write/cas registers and kv put/get with unique written
//! values (`unique-register`, `register.rs`) and list-append with unique
//! elements (`append-prefix`, `append.rs`); kv get/put/append whose gets'
//! strings decode into put and appended strings (`kv-append`,
//! `kv_append.rs`); each file proves its criterion.
//! [`decide`] returns `None` whenever a precondition of exactness fails,
//! and the general search decides instead.

mod append;
mod kv_append;
mod register;

use crate::history::{History, Op, OpId, Outcome, F};
use crate::model::{arg, ModelKind, NilRead};
use crate::report::{Anomaly, AnomalyDetail, AnomalyKind, KeyResult, Method, OpRef, Verdict, Witness};
use crate::value::Value;
use append::AppendOps;
use kv_append::KvOps;
use register::RegisterOps;

/// `i` as a 1-based English ordinal for explanations: 0 -> "1st", 11 -> "12th".
fn ordinal(i: usize) -> String {
    let n = i + 1;
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The verdict of a fast path: valid with an optional witness (op ids in
/// linearization order), or invalid with the anomaly that shows it.
#[derive(Debug)]
pub(crate) enum Found {
    Valid(Option<Vec<OpId>>),
    Invalid(Anomaly),
}

/// Invoke position, shifted by one so that 0 can mean "-infinity" (the
/// virtual write of the initial value).
pub(crate) fn call_pos(op: &Op) -> u64 {
    op.call.saturating_add(1)
}

/// Completion position, shifted like [`call_pos`]; `u64::MAX` for info ops.
pub(crate) fn ret_pos(op: &Op) -> u64 {
    op.ret.saturating_add(1)
}

/// An op in prose, as reports show it.
pub(crate) fn show(history: &History, id: OpId) -> String {
    OpRef::of(history, id).to_string()
}

/// An op named briefly (`process 3's get (lines 12-14)`), for lead sentences.
pub(crate) fn brief(history: &History, id: OpId) -> String {
    OpRef::of(history, id).brief()
}

/// Decides one key's ops (`ops`, all of one key, in any order) exactly in
/// polynomial time when the model and the history allow it; `None` when no
/// fast path applies, and the general search must run.
///
/// Applies to: `register`, `cas-register` and `kv` (put/get; no non-failed
/// append) histories in which every write and every cas writes a distinct
/// value, different from the initial one (`nil`; `""` for kv) — method
/// `unique-register`; and `list-append` histories in which every append adds
/// a distinct element — method `append-prefix`; `kv` histories with appends
/// whose put values are distinct, put values and appended strings
/// non-empty, and whose gets split in few ways into a put value (or `""`)
/// and appended strings — method `kv-append`. A valid key's witness
/// linearization is its [`Witness`] (cut to
/// [`WITNESS_MAX_OPS`](crate::report::WITNESS_MAX_OPS)); an invalid key has
/// one `not-linearizable` anomaly whose detail names the rule broken.
/// `witness` says whether to build the linearization of a valid key. Every
/// id in `ops` must be in `history` (the caller looked each up): a pass to
/// make sure would cost a cache miss per op on a large history.
pub(crate) fn decide(
    history: &History,
    ops: &[OpId],
    model: ModelKind,
    nil_read: NilRead,
    witness: bool,
) -> Option<KeyResult> {
    let (method, found) = match model {
        ModelKind::Register | ModelKind::CasRegister => {
            let reg = register_ops(history, ops, nil_read, model == ModelKind::CasRegister)?;
            (Method::UniqueRegister, register::check(history, &reg, &Value::Nil, witness)?)
        }
        ModelKind::Kv => {
            match kv_ops(history, ops, nil_read)
                .and_then(|reg| register::check(history, &reg, &Value::str(""), witness))
            {
                Some(found) => (Method::UniqueRegister, found),
                None => {
                    let kv = kv_append_ops(history, ops, nil_read)?;
                    (Method::KvAppend, kv_append::check(history, &kv, witness)?)
                }
            }
        }
        ModelKind::ListAppend => {
            let app = append_ops(history, ops, nil_read)?;
            (Method::AppendPrefix, append::check(history, &app, witness)?)
        }
        _ => return None,
    };
    let key = ops.first().and_then(|&id| history.op(id).key.clone());
    let mut result = KeyResult::valid(key, method, ops.len() as u64);
    match found {
        Found::Valid(w) => result.stats.witness = w.map(|w| Witness::new(w.into_iter())),
        Found::Invalid(a) => {
            result.verdict = Verdict::Invalid;
            result.anomalies.push(a);
        }
    }
    Some(result)
}

/// A `not-linearizable` anomaly of a fast path: the ops named (each once,
/// in order of mention) and the rule broken.
pub(crate) fn anomaly(history: &History, ids: &[OpId], explanation: String, detail: AnomalyDetail) -> Anomaly {
    let mut seen: Vec<OpId> = Vec::with_capacity(ids.len());
    for &id in ids {
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    Anomaly {
        kind: AnomalyKind::NotLinearizable,
        ops: seen.iter().map(|&id| OpRef::of(history, id)).collect(),
        explanation,
        detail: Some(Box::new(detail)),
    }
}

/// How many ops ahead a key's scan asks for the op it will read: a key's ops
/// lie far apart in a large history, and each is a cache miss otherwise
/// waited for in turn.
const PREFETCH_AHEAD: usize = 8;

/// Register / cas-register ops; `None` on a cas where the model has none, a
/// write of nil (indistinguishable from the initial state), a repeated
/// written value or an op the model lacks.
fn register_ops<'h>(history: &'h History, ids: &[OpId], nil_read: NilRead, allow_cas: bool) -> Option<RegisterOps<'h>> {
    let mut out = RegisterOps::default();
    for (i, &id) in ids.iter().enumerate() {
        if let Some(&ahead) = ids.get(i + PREFETCH_AHEAD) {
            history.prefetch(ahead);
        }
        let op = history.op(id);
        match (&op.f, op.outcome) {
            (F::Read, Outcome::Ok) => match (&op.output, nil_read) {
                (Value::Nil, NilRead::Unknown) => out.free(op),
                (Value::Nil, NilRead::Absent) => out.read(op, None),
                (v, _) => out.read(op, Some(v)),
            },
            (F::Read, _) => {}
            (F::Write, Outcome::Fail) => out.failed(op, arg(op)),
            (F::Write, _) => match arg(op) {
                Value::Nil => return None,
                v => out.write(op, v),
            },
            (F::Cas, outcome) if allow_cas => {
                let Some([old, new]) = arg(op).as_seq() else { return None };
                match (outcome, old, new) {
                    (Outcome::Fail, _, _) => out.failed(op, new),
                    (_, _, Value::Nil) => return None,
                    (_, Value::Nil, _) => out.cas(op, None, new),
                    _ => out.cas(op, Some(old), new),
                }
            }
            _ => return None,
        }
    }
    // A repeated value is rare: found once, at the end, not checked per op.
    (!out.duplicate).then_some(out)
}

/// Kv (Porcupine) ops: the initial value is `""`. `None` on a non-failed
/// append, a put of `""` or of a non-string, a repeated put value, or an op
/// the model lacks.
fn kv_ops<'h>(history: &'h History, ids: &[OpId], nil_read: NilRead) -> Option<RegisterOps<'h>> {
    let mut out = RegisterOps::default();
    for &id in ids {
        let op = history.op(id);
        match (&op.f, op.outcome) {
            (F::Get, Outcome::Ok) => match (&op.output, nil_read) {
                (Value::Nil, NilRead::Unknown) => out.free(op),
                (Value::Nil, NilRead::Absent) => out.read(op, None),
                (Value::Str(s), _) if s.is_empty() => out.read(op, None),
                (v @ Value::Str(_), _) => out.read(op, Some(v)),
                _ => return None,
            },
            (F::Get, _) | (F::Append, Outcome::Fail) => {}
            (F::Put, Outcome::Fail) => out.failed(op, arg(op)),
            (F::Put, _) => match arg(op) {
                v @ Value::Str(s) if !s.is_empty() => out.write(op, v),
                _ => return None,
            },
            _ => return None,
        }
    }
    // A repeated value is rare: found once, at the end, not checked per op.
    (!out.duplicate).then_some(out)
}

/// Kv ops with appends; `None` on a put or append of something other than a
/// non-empty string, a get of a non-string, or an op the model lacks.
fn kv_append_ops<'h>(history: &'h History, ids: &[OpId], nil_read: NilRead) -> Option<KvOps<'h>> {
    let mut out = KvOps::default();
    for &id in ids {
        let op = history.op(id);
        match (&op.f, op.outcome) {
            (F::Get, Outcome::Ok) => match (&op.output, nil_read) {
                (Value::Nil, NilRead::Unknown) => out.free.push(id),
                (Value::Nil, NilRead::Absent) => out.gets.push((op, "")),
                (Value::Str(s), _) => out.gets.push((op, s)),
                _ => return None,
            },
            (F::Get, _) => {}
            (F::Put, _) => out.puts.push((op, arg(op).as_str().filter(|s| !s.is_empty())?)),
            (F::Append, _) => out.appends.push((op, arg(op).as_str().filter(|s| !s.is_empty())?)),
            _ => return None,
        }
    }
    Some(out)
}

/// List-append ops; `None` on a read of something not a list or an op the
/// model lacks.
fn append_ops<'h>(history: &'h History, ids: &[OpId], nil_read: NilRead) -> Option<AppendOps<'h>> {
    let mut out = AppendOps::default();
    for &id in ids {
        let op = history.op(id);
        match (&op.f, op.outcome) {
            (F::Read, Outcome::Ok) => match (&op.output, nil_read) {
                (Value::Nil, NilRead::Unknown) => out.free.push(id),
                (Value::Nil, NilRead::Absent) => out.reads.push((id, &[])),
                (v, _) => out.reads.push((id, v.as_seq()?)),
            },
            (F::Read, _) => {}
            (F::Append, Outcome::Fail) => out.failed.push((id, arg(op))),
            (F::Append, _) => out.appends.push((id, arg(op))),
            _ => return None,
        }
    }
    Some(out)
}
