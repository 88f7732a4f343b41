//! Kafka-style logs (Maelstrom's kafka workload): append-only logs by key,
//! each offset holding one message; offsets may be sparse. Ops (all without
//! a history key: a poll spans keys):
//!
//! - `send`: invoke `{"key": k, "msg": m}`, ok `{"key": k, "msg": m, "offset": o}`;
//! - `poll`: invoke `{k: position, ...}`, ok `{k: [[offset, msg], ...], ...}`;
//! - `commit_offsets`: invoke `{k: offset, ...}`;
//! - `list_committed_offsets`: invoke `[k, ...]`, ok `{k: offset, ...}`. A
//!   process that lists committed offsets moves its positions there (an
//!   *assign*), so its polls of those keys start afresh.
//!
//! Anomalies, per key (after Jepsen's kafka checker):
//!
//! - *inconsistent-offsets*: one offset seen holding two messages;
//! - *duplicate-message*: one message seen at two offsets;
//! - *lost-write*: an acknowledged send never returned by a poll, though
//!   polls returned a higher offset;
//! - *unobserved*: an acknowledged send never polled and nothing beyond it
//!   polled either. Logs owe no recency, so this counts as an anomaly only
//!   when the history has `final` polls of the key (whose job is to drain
//!   it); otherwise it is counted in the stats;
//! - *nonmonotonic-send*: a process's sends to a key got offsets that do not
//!   increase;
//! - *nonmonotonic-poll*: offsets that do not increase within one poll
//!   (internal) or from one poll of a process to its next, with no assign
//!   between (external);
//! - *poll-skip*: offsets known to exist (sent or polled by anyone) jumped
//!   over, within a poll or between a process's successive polls;
//! - *phantom-commit*: a listed committed offset that no `commit_offsets`
//!   invoked before the listing returned asked for.
//!
//! No ok send and no ok poll is `unknown`: nothing was checked.

use crate::anomalies::Capped;
use crate::error::{InputError, InputErrorKind};
use crate::history::{History, Op, OpId, Outcome};
use crate::report::{Anomaly, AnomalyKind, CheckName, CheckResult, KeyResult, KeyStats, Method, OpRef, Verdict};
use crate::value::Value;
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "kafka";

/// Skipped offsets named in one anomaly.
const SKIPPED_NAMED: usize = 10;

/// One op, parsed: what it says about which keys.
enum Parsed<'h> {
    Send {
        key: &'h Value,
        msg: &'h Value,
        offset: Option<i64>,
    },
    /// `msgs` only for ok polls.
    Poll {
        positions: Vec<(&'h Value, i64)>,
        msgs: Vec<(&'h Value, Vec<(i64, &'h Value)>)>,
    },
    Commit {
        offsets: Vec<(&'h Value, i64)>,
    },
    List {
        keys: Vec<&'h Value>,
        offsets: Vec<(&'h Value, i64)>,
    },
}

fn field<'h>(v: &'h Value, name: &str) -> Option<&'h Value> {
    match v {
        Value::Map(m) => m.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v),
        _ => None,
    }
}

fn int_map(v: &Value) -> Option<Vec<(&Value, i64)>> {
    match v {
        Value::Map(m) => m.iter().map(|(k, o)| Some((k, o.as_int()?))).collect(),
        _ => None,
    }
}

struct Bad {
    f: &'static str,
    expected: &'static str,
    found: String,
    completion: bool,
}

fn parse(op: &Op) -> Result<Parsed<'_>, Bad> {
    let bad = |f, expected, found: &Value, completion| Bad { f, expected, found: found.to_string(), completion };
    let ok = op.outcome == Outcome::Ok;
    match op.f.as_str() {
        "send" => {
            let key = field(&op.input, "key");
            let msg = field(&op.input, "msg");
            let (Some(key), Some(msg)) = (key, msg) else {
                return Err(bad("send", "a map {key, msg}", &op.input, false));
            };
            let offset = if ok {
                match field(&op.output, "offset").and_then(Value::as_int) {
                    Some(o) => Some(o),
                    None => {
                        return Err(bad("send", "a map {key, msg, offset} with an integer offset", &op.output, true))
                    }
                }
            } else {
                None
            };
            Ok(Parsed::Send { key, msg, offset })
        }
        "poll" => {
            let Some(positions) = int_map(&op.input) else {
                return Err(bad("poll", "a map of key to integer position", &op.input, false));
            };
            let mut msgs = Vec::new();
            if ok {
                let expected = "a map of key to a list of [offset, msg] pairs";
                let Value::Map(m) = &op.output else { return Err(bad("poll", expected, &op.output, true)) };
                for (k, list) in m.iter() {
                    let Some(items) = list.as_seq() else { return Err(bad("poll", expected, &op.output, true)) };
                    let mut pairs = Vec::with_capacity(items.len());
                    for it in items {
                        match it.as_seq() {
                            Some([o, msg]) if o.as_int().is_some() => pairs.push((o.as_int().unwrap_or(0), msg)),
                            _ => return Err(bad("poll", expected, &op.output, true)),
                        }
                    }
                    msgs.push((k, pairs));
                }
            }
            Ok(Parsed::Poll { positions, msgs })
        }
        "commit_offsets" => match int_map(&op.input) {
            Some(offsets) => Ok(Parsed::Commit { offsets }),
            None => Err(bad("commit_offsets", "a map of key to integer offset", &op.input, false)),
        },
        "list_committed_offsets" => {
            let Some(keys) = op.input.as_seq() else {
                return Err(bad("list_committed_offsets", "a list of keys", &op.input, false));
            };
            let offsets = if ok && !op.output.is_nil() {
                match int_map(&op.output) {
                    Some(o) => o,
                    None => {
                        return Err(bad("list_committed_offsets", "a map of key to integer offset", &op.output, true))
                    }
                }
            } else {
                Vec::new()
            };
            Ok(Parsed::List { keys: keys.iter().collect(), offsets })
        }
        _ => Err(Bad { f: "", expected: "", found: String::new(), completion: false }),
    }
}

/// What one key's ops say, gathered in a first pass.
#[derive(Default)]
struct Key<'h> {
    ops: BTreeSet<OpId>,
    /// Offsets sent or polled.
    known: BTreeSet<i64>,
    /// offset -> message -> first op that showed it there.
    at: BTreeMap<i64, BTreeMap<&'h Value, OpId>>,
    /// message -> offsets it was seen at.
    offsets_of: BTreeMap<&'h Value, BTreeSet<i64>>,
    /// Messages returned by some poll.
    polled: BTreeSet<&'h Value>,
    max_polled: Option<i64>,
    /// offset -> first poll that returned it.
    polled_at: BTreeMap<i64, OpId>,
    /// Ok sends: (op, offset, message).
    sends: Vec<(OpId, i64, &'h Value)>,
    /// Commits invoked: (op, offset).
    commits: Vec<(OpId, i64)>,
    has_final_poll: bool,
}

/// Checks a kafka history; ops of other functions or of the wrong shape are
/// input errors naming their line.
pub fn check(h: &History, file: &str) -> Result<CheckResult, InputError> {
    let mut parsed: Vec<Parsed> = Vec::with_capacity(h.ops.len());
    for op in &h.ops {
        match parse(op) {
            Ok(p) => parsed.push(p),
            Err(b) if b.f.is_empty() => {
                let kind = InputErrorKind::UnsupportedOp {
                    model: NAME,
                    f: op.f.to_string(),
                    supported: "send, poll, commit_offsets, list_committed_offsets",
                };
                return Err(InputError::new(file, op.invoke_line, kind));
            }
            Err(b) => {
                let line = if b.completion { op.complete_line.unwrap_or(op.invoke_line) } else { op.invoke_line };
                let kind =
                    InputErrorKind::BadValue { model: NAME, f: b.f.into(), expected: b.expected, found: b.found };
                return Err(InputError::new(file, line, kind));
            }
        }
    }

    let mut keys: BTreeMap<&Value, Key> = BTreeMap::new();
    for (op, p) in h.ops.iter().zip(&parsed) {
        match p {
            Parsed::Send { key, msg, offset } => {
                let k = keys.entry(key).or_default();
                k.ops.insert(op.id);
                if let Some(o) = *offset {
                    k.known.insert(o);
                    k.at.entry(o).or_default().entry(msg).or_insert(op.id);
                    k.offsets_of.entry(msg).or_default().insert(o);
                    k.sends.push((op.id, o, msg));
                }
            }
            Parsed::Poll { positions, msgs } => {
                for (key, _) in positions {
                    keys.entry(key).or_default().ops.insert(op.id);
                }
                for (key, pairs) in msgs {
                    let k = keys.entry(key).or_default();
                    k.ops.insert(op.id);
                    k.has_final_poll |= op.is_final;
                    for &(o, msg) in pairs {
                        k.known.insert(o);
                        k.at.entry(o).or_default().entry(msg).or_insert(op.id);
                        k.offsets_of.entry(msg).or_default().insert(o);
                        k.polled.insert(msg);
                        k.polled_at.entry(o).or_insert(op.id);
                        k.max_polled = Some(k.max_polled.map_or(o, |m| m.max(o)));
                    }
                }
                if op.is_final {
                    for (key, _) in positions {
                        keys.entry(key).or_default().has_final_poll = true;
                    }
                }
            }
            Parsed::Commit { offsets } => {
                for &(key, o) in offsets {
                    let k = keys.entry(key).or_default();
                    k.ops.insert(op.id);
                    if op.outcome != Outcome::Fail {
                        k.commits.push((op.id, o));
                    }
                }
            }
            Parsed::List { keys: asked, offsets } => {
                for key in asked.iter().copied().chain(offsets.iter().map(|(k, _)| *k)) {
                    keys.entry(key).or_default().ops.insert(op.id);
                }
            }
        }
    }

    let mut found: BTreeMap<&Value, Capped> = BTreeMap::new();
    let mut unobserved_counted: BTreeMap<&Value, u64> = BTreeMap::new();
    for (&key, k) in &keys {
        let out = found.entry(key).or_default();
        for (o, msgs) in &k.at {
            if msgs.len() > 1 {
                let ops: Vec<OpRef> = msgs.values().map(|&id| OpRef::of(h, id)).collect();
                let shown: Vec<String> = msgs.keys().map(|m| m.to_string()).collect();
                out.push(anomaly(
                    AnomalyKind::InconsistentOffsets,
                    ops,
                    format!("offset {o} of key {key} was seen holding different messages: {}", shown.join(", ")),
                    serde_json::json!({ "key": key, "offset": o, "messages": msgs.keys().collect::<Vec<_>>() }),
                ));
            }
        }
        for (msg, offsets) in &k.offsets_of {
            if offsets.len() > 1 {
                let ops: Vec<OpRef> =
                    offsets.iter().filter_map(|o| k.at[o].get(msg)).map(|&id| OpRef::of(h, id)).collect();
                out.push(anomaly(
                    AnomalyKind::DuplicateMessage,
                    ops,
                    format!("message {msg} of key {key} was seen at several offsets: {offsets:?}"),
                    serde_json::json!({ "key": key, "message": msg, "offsets": offsets }),
                ));
            }
        }
        for &(id, o, msg) in &k.sends {
            if k.polled.contains(msg) {
                continue;
            }
            match k.max_polled {
                Some(m) if m > o => {
                    let beyond = k.polled_at.range(o + 1..).next().map(|(_, p)| p);
                    let mut ops = vec![OpRef::of(h, id)];
                    ops.extend(beyond.map(|&p| OpRef::of(h, p)));
                    out.push(anomaly(
                        AnomalyKind::LostWrite,
                        ops,
                        format!(
                            "{} was acknowledged at offset {o} of key {key}, but no poll ever returned it, though \
                             polls returned offsets up to {m}",
                            OpRef::of(h, id)
                        ),
                        serde_json::json!({ "key": key, "offset": o, "message": msg }),
                    ));
                }
                _ if k.has_final_poll => out.push(anomaly(
                    AnomalyKind::Unobserved,
                    vec![OpRef::of(h, id)],
                    format!(
                        "{} was acknowledged at offset {o} of key {key}, but not even the final polls, which drain \
                         the key, returned it",
                        OpRef::of(h, id)
                    ),
                    serde_json::json!({ "key": key, "offset": o, "message": msg }),
                )),
                _ => *unobserved_counted.entry(key).or_insert(0) += 1,
            }
        }
    }

    // Second pass, in invoke order (each process's ops in its own order):
    // monotonicity and skips per process and key.
    let mut last_send: BTreeMap<(u64, &Value), (i64, OpId)> = BTreeMap::new();
    let mut last_poll: BTreeMap<(u64, &Value), (i64, OpId)> = BTreeMap::new();
    for (op, p) in h.ops.iter().zip(&parsed) {
        match p {
            Parsed::Send { key, offset: Some(o), .. } => {
                if let Some(&(prev, prev_id)) = last_send.get(&(op.process, *key)) {
                    if *o <= prev {
                        found.entry(key).or_default().push(anomaly(
                            AnomalyKind::NonmonotonicSend,
                            vec![OpRef::of(h, prev_id), OpRef::new(op)],
                            format!(
                                "process {}'s send to key {key} got offset {o}, not above its previous send's {prev}",
                                op.process
                            ),
                            serde_json::json!({ "key": key, "offsets": [prev, o] }),
                        ));
                    }
                }
                last_send.insert((op.process, *key), (*o, op.id));
            }
            Parsed::Poll { msgs, .. } => {
                for (key, pairs) in msgs {
                    let k = &keys[key];
                    let out = found.entry(key).or_default();
                    for w in pairs.windows(2) {
                        let (a, b) = (w[0].0, w[1].0);
                        if b <= a {
                            out.push(anomaly(
                                AnomalyKind::NonmonotonicPoll,
                                vec![OpRef::new(op)],
                                format!("{} returned offset {b} after {a} on key {key}", OpRef::new(op)),
                                serde_json::json!({ "key": key, "offsets": [a, b], "internal": true }),
                            ));
                        } else if let Some(a) = skipped(k, a, b) {
                            out.push(a.into_anomaly(h, key, op, None, true));
                        }
                    }
                    let (Some(first), Some(last)) = (pairs.first(), pairs.last()) else { continue };
                    if let Some(&(prev, prev_id)) = last_poll.get(&(op.process, *key)) {
                        if first.0 <= prev {
                            out.push(anomaly(
                                AnomalyKind::NonmonotonicPoll,
                                vec![OpRef::of(h, prev_id), OpRef::new(op)],
                                format!(
                                    "process {}'s poll of key {key} began at offset {}, not above the {prev} its \
                                     previous poll ended at",
                                    op.process, first.0
                                ),
                                serde_json::json!({ "key": key, "offsets": [prev, first.0], "internal": false }),
                            ));
                        } else if let Some(s) = skipped(k, prev, first.0) {
                            out.push(s.into_anomaly(h, key, op, Some(prev_id), false));
                        }
                    }
                    last_poll.insert((op.process, *key), (last.0, op.id));
                }
            }
            Parsed::List { keys: asked, offsets } => {
                for key in asked {
                    last_poll.remove(&(op.process, *key));
                }
                if op.outcome != Outcome::Ok {
                    continue;
                }
                for &(key, c) in offsets {
                    let asked_for = keys
                        .get(key)
                        .is_some_and(|k| k.commits.iter().any(|&(cid, o)| o == c && h.op(cid).call < op.ret));
                    if !asked_for {
                        found.entry(key).or_default().push(anomaly(
                            AnomalyKind::PhantomCommit,
                            vec![OpRef::new(op)],
                            format!(
                                "{} listed committed offset {c} for key {key}, which no commit_offsets invoked \
                                 before it returned asked for",
                                OpRef::new(op)
                            ),
                            serde_json::json!({ "key": key, "offset": c }),
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    let results: Vec<KeyResult> = keys
        .iter()
        .map(|(&key, k)| {
            let c = found.remove(key).unwrap_or_default();
            let nothing = k.sends.is_empty() && k.polled.is_empty();
            let (verdict, unknown_reason) = if !c.is_empty() {
                (Verdict::Invalid, None)
            } else if nothing {
                (Verdict::Unknown, Some("no acknowledged send and no message polled: nothing was checked".into()))
            } else {
                (Verdict::Valid, None)
            };
            let stats = serde_json::json!({
                "acknowledged_sends": k.sends.len(),
                "messages_polled": k.polled.len(),
                "max_offset_polled": k.max_polled,
                "unobserved": unobserved_counted.get(key).copied().unwrap_or(0) + c.count("unobserved"),
                "final_polls": k.has_final_poll,
                "anomaly_counts": c.counts,
            });
            KeyResult {
                key: Some(key.clone()),
                verdict,
                method: Method::Workload(CheckName::Kafka),
                ops: k.ops.len() as u64,
                anomalies: c.listed,
                unknown_reason,
                stats: KeyStats::of_workload(stats),
            }
        })
        .collect();
    Ok(crate::anomalies::result(CheckName::Kafka, NAME, results))
}

/// Known offsets strictly between `a` and `b`.
struct Skip {
    count: usize,
    named: Vec<i64>,
    from: i64,
    to: i64,
}

fn skipped(k: &Key, a: i64, b: i64) -> Option<Skip> {
    if b <= a + 1 {
        return None;
    }
    let between = k.known.range(a + 1..b);
    let count = between.clone().count();
    (count > 0).then(|| Skip { count, named: between.take(SKIPPED_NAMED).copied().collect(), from: a, to: b })
}

impl Skip {
    fn into_anomaly(self, h: &History, key: &Value, op: &Op, prev: Option<OpId>, internal: bool) -> Anomaly {
        let mut ops: Vec<OpRef> = prev.map(|p| OpRef::of(h, p)).into_iter().collect();
        ops.push(OpRef::new(op));
        let within = if internal { "within one poll" } else { "from one poll to the process's next" };
        let explanation = format!(
            "{} jumped from offset {} to {} of key {key} {within}, skipping {} offsets known to exist: {:?}",
            OpRef::new(op),
            self.from,
            self.to,
            self.count,
            self.named
        );
        let detail = serde_json::json!({
            "key": key, "from": self.from, "to": self.to, "skipped": self.named,
            "skipped_count": self.count, "internal": internal,
        });
        anomaly(AnomalyKind::PollSkip, ops, explanation, detail)
    }
}

fn anomaly(kind: AnomalyKind, ops: Vec<OpRef>, explanation: String, detail: serde_json::Value) -> Anomaly {
    crate::anomalies::anomaly(kind, ops, explanation, detail)
}

#[cfg(test)]
mod tests;
