//! Exact O(n log n + total get length x longest token) linearizability for
//! kv (`get`/`put`/`append` on strings) histories in which every put value
//! and every appended string is distinct and non-empty, and every get's
//! string splits in exactly one way into a put value (or the initial `""`)
//! followed by appended strings: each get then reveals the exact sequence of
//! mutations since the last put.
//!
//! # The criterion and its proof
//!
//! Ops are intervals of event positions, as in `register.rs`; a linearization
//! is a choice of distinct points strictly inside the included ops'
//! intervals. Fail ops never happened; info gets and nil gets under
//! `NilRead::Unknown` constrain nothing (the latter go in the witness only).
//!
//! *Decoding.* In any legal sequence the state is `P a1 ... ak`: the value of
//! the last put `P` (or the initial `""`) followed by the strings of the
//! appends since, each append once. A get returns that string, which is thus
//! one split of it into a put value (or `""`) and append strings. We count the
//! splits over the strings of *all* puts and appends (failed ones too,
//! repeated appends allowed, capped at 2): none means no state ever reads
//! so (invalid); two or more and we give up (`None`); exactly one is the
//! state's own split, so if it uses a failed op or repeats an append, no
//! state reads so either (invalid). Otherwise the get *reveals* the epoch
//! `P` and the sequence `a1..ak`.
//!
//! *Epochs.* The ops between a put `P` (or the start) and the next put form
//! the *epoch* of `P`. A get revealing `(P, a1..ak)` lies in the epoch of `P`
//! after exactly `a1..ak` of its appends. So, as in `append.rs`, the gets of
//! one epoch reveal prefixes of its longest revealed sequence `L_P`
//! (otherwise invalid), and an append revealed in two epochs is invalid (it
//! happened once). A *seen* op is a put some get revealed, or an append in
//! some `L_P`; it must have happened (info ones included). The *chain* of a
//! seen epoch is its put, its gets and the appends of `L_P`, in the forced
//! layers `[P] [gets of 0 appends] [a1] [gets of 1] [a2] ...`; the initial
//! epoch's chain starts with a virtual put at `-inf`. An ok put nobody saw is
//! a chain of its own, `[P]`.
//!
//! An unseen info put or append can be left out: a get after it in its epoch
//! would reveal it, so nothing reads what it did; removing it leaves every
//! get's state as it was (an unseen put's epoch has no gets, so the appends
//! of that epoch move harmlessly into the tail of the one before). An unseen
//! ok append `u` must be placed after every seen op of its epoch (a get after
//! it in the epoch, or one that saw a later append of it, would reveal it)
//! and before the next put: outside every chain's *span* (from its first op
//! to its last). Conversely a point outside every span is in some epoch's
//! tail, where nothing observes `u`.
//!
//! Chains are exactly `register.rs`'s chains (the appends play the part of
//! its cas ops: each replaces the state before it), and blocks of distinct
//! chains cannot interleave (a put starts a new epoch). With `f(C)` the
//! smallest return in a chain (`-inf` for the initial one) and `s(C)` the
//! largest invoke, `register.rs` proves: without unseen ok appends, the
//! history is linearizable iff
//! (A) in every chain no op completes before an op of an earlier layer is
//!     invoked, and
//! (B) no two chains `C != D` have `f(C) < s(D)` and `f(D) < s(C)`.
//!
//! **Claim.** With unseen ok appends, it is linearizable iff (A), (B) and
//! (C) no unseen ok append `u` has `f(C) < call(u)` and `ret(u) < s(C)` for
//! a chain `C` (its interval lies inside `C`'s *zone*).
//!
//! *Necessity of (C).* The span of `C` runs from before `f(C)` (the op
//! returning at `f` has its point earlier) to after `s(C)`, so `u`'s point
//! would be inside the span. *Sufficiency.* (B) makes the zones `[f, s]` of
//! forward chains (`f < s`) pairwise disjoint; by (C) and integrality the
//! open interval of `u` is not inside any one of them, so (being connected)
//! it has a point `x_u` outside all of them: `call(u)` itself if that is
//! outside every zone, else just after the end `s` of the zone holding
//! `call(u)`, which is before `ret(u)`. `register.rs`'s layout puts each
//! forward chain inside `(f - e, s + e)` and each backward chain inside an
//! arbitrarily small window; for small enough `e` and windows none of them
//! contains any `x_u`, so every unseen append sits in some epoch's tail.
//!
//! Checking: (A) on a walk of each chain; (B) and (C) by sorting the
//! forward zones by `f` and, for a backward chain or an unseen append, only
//! looking at the zone that starts last before it.

use super::{call_pos, ret_pos, show, Found};
use crate::history::{History, Op, OpId, Outcome};
use crate::report::{Anomaly, OpRef};
use serde_json::json;
use std::collections::HashMap;

/// Trie steps allowed for decoding all gets of a key. Decoding costs at most
/// (get length x longest token) steps per get, polynomial but unbounded in
/// principle; past this many the general search decides instead.
const DECODE_STEPS_MAX: u64 = 200_000_000;

/// One key's kv ops, sorted out by what they do. Filled by `mod.rs`.
#[derive(Debug, Default)]
pub(crate) struct KvOps<'h> {
    /// Puts of every outcome, with their (non-empty) values.
    pub puts: Vec<(&'h Op, &'h str)>,
    /// Appends of every outcome, with their (non-empty) strings.
    pub appends: Vec<(&'h Op, &'h str)>,
    /// Ok gets with the string they returned.
    pub gets: Vec<(&'h Op, &'h str)>,
    /// Ok gets legal in any state (nil under `NilRead::Unknown`).
    pub free: Vec<OpId>,
}

/// A byte trie over tokens, each ending at a node that names it.
struct Trie {
    /// Children (byte, node) and the token ending here.
    nodes: Vec<(Vec<(u8, u32)>, Option<u32>)>,
    /// Longest token, in bytes.
    depth: usize,
}

impl Trie {
    fn new() -> Trie {
        Trie { nodes: vec![(Vec::new(), None)], depth: 0 }
    }

    /// Adds `token` as number `id`; false if it was there already.
    fn insert(&mut self, token: &[u8], id: u32) -> bool {
        let mut n = 0usize;
        for &b in token {
            n = match self.nodes[n].0.iter().find(|&&(c, _)| c == b) {
                Some(&(_, next)) => next as usize,
                None => {
                    let next = self.nodes.len();
                    self.nodes[n].0.push((b, next as u32));
                    self.nodes.push((Vec::new(), None));
                    next
                }
            };
        }
        self.depth = self.depth.max(token.len());
        self.nodes[n].1.replace(id).is_none()
    }

    /// Calls `hit(len, id)` for every token that is a prefix of `text`;
    /// returns the steps taken.
    fn prefixes(&self, text: &[u8], mut hit: impl FnMut(usize, u32)) -> u64 {
        let mut n = 0usize;
        for (i, &b) in text.iter().enumerate() {
            match self.nodes[n].0.iter().find(|&&(c, _)| c == b) {
                Some(&(_, next)) => n = next as usize,
                None => return i as u64 + 1,
            }
            if let Some(id) = self.nodes[n].1 {
                hit(i + 1, id);
            }
        }
        text.len() as u64
    }
}

/// How a get's string splits.
enum Split {
    /// No split: no state ever reads so.
    None,
    /// Two or more splits.
    Ambiguous,
    /// The only split: put index (`None`: the initial `""`) and append
    /// indexes.
    One(Option<u32>, Vec<u32>),
}

/// Splits `text` over the put trie and the append trie, adding the steps
/// taken to `steps`.
fn split(text: &str, puts: &Trie, appends: &Trie, steps: &mut u64) -> Split {
    let b = text.as_bytes();
    let n = b.len();
    // ways[i]: splits of text[i..] into append strings, capped at 2;
    // next[i]: the first one's token and where it ends.
    let mut ways = vec![0u8; n + 1];
    let mut next: Vec<(u32, usize)> = vec![(0, 0); n + 1];
    ways[n] = 1;
    for i in (0..n).rev() {
        let (mut w, mut first) = (0u8, None);
        *steps += appends.prefixes(&b[i..], |len, id| {
            if ways[i + len] > 0 {
                w = w.saturating_add(ways[i + len]).min(2);
                first.get_or_insert((id, i + len));
            }
        });
        ways[i] = w;
        if let Some(f) = first {
            next[i] = f;
        }
    }
    let mut total = ways[0];
    let mut head: (Option<u32>, usize) = (None, 0);
    *steps += puts.prefixes(b, |len, id| {
        if ways[len] > 0 {
            if total == 0 {
                head = (Some(id), len);
            }
            total = total.saturating_add(ways[len]).min(2);
        }
    });
    match total {
        0 => Split::None,
        1 => {
            let mut seq = Vec::new();
            let mut i = head.1;
            while i < n {
                seq.push(next[i].0);
                i = next[i].1;
            }
            Split::One(head.0, seq)
        }
        _ => Split::Ambiguous,
    }
}

/// One op of a chain: its invoke position and layer.
#[derive(Clone, Copy, Debug)]
struct Node {
    id: OpId,
    call: u64,
    layer: u32,
}

/// A chain: its ops, in layer order, are `nodes[start..end]`.
#[derive(Clone, Copy, Debug)]
struct Chain {
    /// The put index heading it (`None`: the initial epoch).
    put: Option<u32>,
    start: usize,
    end: usize,
    /// Smallest return (0 = -inf for the initial chain) and its op; largest
    /// invoke and its op.
    f: u64,
    f_op: Option<OpId>,
    s: u64,
    s_op: Option<OpId>,
}

fn anomaly(history: &History, ids: &[OpId], explanation: String, detail: serde_json::Value) -> Anomaly {
    let mut refs: Vec<OpRef> = Vec::new();
    let mut seen: Vec<OpId> = Vec::new();
    for &id in ids {
        if !seen.contains(&id) {
            seen.push(id);
            refs.push(OpRef::of(history, id));
        }
    }
    Anomaly { kind: "not-linearizable".into(), ops: refs, explanation, detail }
}

/// Decides one key. `None` when put values or append strings repeat, a get
/// splits in more than one way, or decoding would take too long.
pub(crate) fn check(history: &History, ops: &KvOps<'_>, witness: bool) -> Option<Found> {
    let mut put_trie = Trie::new();
    for (i, &(_, v)) in ops.puts.iter().enumerate() {
        if v.is_empty() || !put_trie.insert(v.as_bytes(), i as u32) {
            return None;
        }
    }
    let mut app_trie = Trie::new();
    for (i, &(_, v)) in ops.appends.iter().enumerate() {
        if v.is_empty() || !app_trie.insert(v.as_bytes(), i as u32) {
            return None;
        }
    }
    let put_op = |p: u32| ops.puts[p as usize].0;
    let app_op = |a: u32| ops.appends[a as usize].0;
    let epoch_name = |e: Option<u32>| match e {
        None => "the initial empty value".to_string(),
        Some(p) => format!("the value {} written by {}", ops.puts[p as usize].1, show(history, put_op(p).id)),
    };

    // Decode every get.
    let mut steps = 0u64;
    // (get index, epoch, revealed appends)
    let mut revealed: Vec<(usize, Option<u32>, Vec<u32>)> = Vec::with_capacity(ops.gets.len());
    for (g, &(op, text)) in ops.gets.iter().enumerate() {
        let (head, seq) = match split(text, &put_trie, &app_trie, &mut steps) {
            Split::Ambiguous => return None,
            Split::None => {
                let explanation = format!(
                    "{} returned {:?}, which is not the initial \"\" or a put value followed by appended strings, \
                     so no state of the key ever read so.",
                    show(history, op.id),
                    text
                );
                let detail = json!({ "reason": "read-of-unwritten-value", "read": op.id, "value": text });
                return Some(Found::Invalid(anomaly(history, &[op.id], explanation, detail)));
            }
            Split::One(head, seq) => (head, seq),
        };
        if steps > DECODE_STEPS_MAX {
            return None;
        }
        let failed =
            head.map(put_op).into_iter().chain(seq.iter().map(|&a| app_op(a))).find(|o| o.outcome == Outcome::Fail);
        if let Some(w) = failed {
            let explanation = format!(
                "{} returned {:?}, which can only be read after {}, but that op failed, so it never took effect.",
                show(history, op.id),
                text,
                show(history, w.id)
            );
            let detail = json!({ "reason": "read-of-failed-write", "read": op.id, "failed_write": w.id });
            return Some(Found::Invalid(anomaly(history, &[op.id, w.id], explanation, detail)));
        }
        let mut sorted = seq.clone();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            let a = app_op(w[0]);
            let explanation = format!(
                "{} returned {:?}, which contains {:?} twice, but only {} appended it, once.",
                show(history, op.id),
                text,
                ops.appends[w[0] as usize].1,
                show(history, a.id)
            );
            let detail = json!({ "reason": "duplicate-element", "read": op.id, "append": a.id });
            return Some(Found::Invalid(anomaly(history, &[op.id, a.id], explanation, detail)));
        }
        revealed.push((g, head, seq));
    }

    // Epochs: the longest revealed sequence of each, and its reader.
    let mut longest: HashMap<Option<u32>, usize> = HashMap::new();
    for (r, (_, e, seq)) in revealed.iter().enumerate() {
        let best = longest.entry(*e).or_insert(r);
        if revealed[*best].2.len() < seq.len() {
            *best = r;
        }
    }
    // Each revealed append's epoch and position, and the get that shows it.
    let mut epochs: Vec<Option<u32>> = longest.keys().copied().collect();
    epochs.sort_unstable();
    let mut owner: HashMap<u32, (Option<u32>, usize, usize)> = HashMap::new();
    for &e in &epochs {
        let r = longest[&e];
        for (j, &a) in revealed[r].2.iter().enumerate() {
            if let Some(&(e2, _, r2)) = owner.get(&a) {
                let (g1, g2) = (ops.gets[revealed[r].0].0.id, ops.gets[revealed[r2].0].0.id);
                let explanation = format!(
                    "{} shows {:?} appended to {}, and {} shows it appended to {}; but {} happened only once.",
                    show(history, g1),
                    ops.appends[a as usize].1,
                    epoch_name(e),
                    show(history, g2),
                    epoch_name(e2),
                    show(history, app_op(a).id)
                );
                let detail = json!({ "reason": "append-in-two-epochs", "reads": [g1, g2], "append": app_op(a).id });
                return Some(Found::Invalid(anomaly(history, &[g1, g2, app_op(a).id], explanation, detail)));
            }
            owner.insert(a, (e, j, r));
        }
    }
    for (g, e, seq) in &revealed {
        let r = longest[e];
        let full = &revealed[r].2;
        if let Some(j) = seq.iter().zip(full).position(|(x, y)| x != y) {
            let g = ops.gets[*g].0;
            let h = ops.gets[revealed[r].0].0;
            let explanation = format!(
                "{} and {} both read {} with appends after it, but disagree on the {} append ({:?} vs {:?}); \
                 every get returns the whole string, so one must extend the other.",
                show(history, g.id),
                show(history, h.id),
                epoch_name(*e),
                ordinal(j),
                ops.appends[seq[j] as usize].1,
                ops.appends[full[j] as usize].1
            );
            let detail = json!({ "reason": "divergent-reads", "reads": [g.id, h.id], "index": j });
            return Some(Found::Invalid(anomaly(history, &[g.id, h.id], explanation, detail)));
        }
    }

    // Chains, walked in layer order with (A) checked on the way.
    for (p, &(op, _)) in ops.puts.iter().enumerate() {
        if op.outcome == Outcome::Ok && !longest.contains_key(&Some(p as u32)) {
            epochs.push(Some(p as u32));
        }
    }
    let mut gets_of: HashMap<(Option<u32>, usize), Vec<OpId>> = HashMap::new();
    for (g, e, seq) in &revealed {
        gets_of.entry((*e, seq.len())).or_default().push(ops.gets[*g].0.id);
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(ops.gets.len() + ops.puts.len() + ops.appends.len());
    let mut chains: Vec<Chain> = Vec::with_capacity(epochs.len());
    for &e in &epochs {
        let start = nodes.len();
        let mut layers: Vec<Vec<OpId>> = Vec::new();
        if let Some(p) = e {
            layers.push(vec![put_op(p).id]);
        }
        let full: &[u32] = longest.get(&e).map_or(&[], |&r| &revealed[r].2);
        for k in 0..=full.len() {
            if let Some(gs) = gets_of.get(&(e, k)) {
                layers.push(gs.clone());
            }
            if let Some(&a) = full.get(k) {
                layers.push(vec![app_op(a).id]);
            }
        }
        let mut before: (u64, Option<OpId>) = (0, None);
        let mut f: (u64, Option<OpId>) = if e.is_none() { (0, None) } else { (u64::MAX, None) };
        for (l, layer) in layers.iter().enumerate() {
            let mut layer_max = before;
            for &id in layer {
                let o = history.op(id);
                let (call, ret) = (call_pos(o), ret_pos(o));
                if ret < before.0 {
                    let x = before.1.unwrap_or(id);
                    return Some(Found::Invalid(order_violation(history, ops, e, x, id)));
                }
                layer_max = layer_max.max((call, Some(id)));
                f = f.min((ret, Some(id)));
                nodes.push(Node { id, call, layer: l as u32 });
            }
            before = layer_max;
        }
        chains.push(Chain { put: e, start, end: nodes.len(), f: f.0, f_op: f.1, s: before.0, s_op: before.1 });
    }

    // (B): forward zones pairwise disjoint, no backward chain inside one.
    let mut forward: Vec<usize> = (0..chains.len()).filter(|&i| chains[i].f < chains[i].s).collect();
    forward.sort_unstable_by_key(|&i| chains[i].f);
    for pair in forward.windows(2) {
        let (c, d) = (&chains[pair[0]], &chains[pair[1]]);
        if d.f < c.s {
            return Some(Found::Invalid(cycle(history, ops, c, d)));
        }
    }
    // The forward zone that starts last before position `x`, if any.
    let zone_before = |x: u64| -> Option<&Chain> {
        let k = forward.partition_point(|&i| chains[i].f < x);
        k.checked_sub(1).map(|k| &chains[forward[k]])
    };
    let mut place: Vec<Option<u64>> = vec![None; chains.len()];
    for (b, ch) in chains.iter().enumerate() {
        if ch.f < ch.s {
            continue;
        }
        let mut p = ch.s;
        if let Some(z) = zone_before(ch.s) {
            if z.s > ch.f {
                return Some(Found::Invalid(cycle(history, ops, z, ch)));
            }
            p = p.max(z.s);
        }
        place[b] = Some(p);
    }
    // (C): unseen ok appends outside every zone.
    let mut unseen: Vec<(u64, OpId)> = Vec::new();
    for (a, &(op, _)) in ops.appends.iter().enumerate() {
        if op.outcome != Outcome::Ok || owner.contains_key(&(a as u32)) {
            continue;
        }
        let (call, ret) = (call_pos(op), ret_pos(op));
        let mut x = call;
        if let Some(z) = zone_before(call) {
            if z.s > ret {
                return Some(Found::Invalid(lost_append(history, ops, z, a as u32)));
            }
            x = x.max(z.s);
        }
        unseen.push((x, op.id));
    }
    if !witness {
        return Some(Found::Valid(None));
    }

    // Witness: the points of the sufficiency proof, as in `register.rs`: a
    // point is (position, phase, group, order), phase 0 = just before the
    // position, 2 = just after it, 3 = after that (backward blocks).
    let mut points: Vec<((u64, u8, u64, u64), OpId)> = Vec::with_capacity(nodes.len() + unseen.len());
    for (c, ch) in chains.iter().enumerate() {
        let of = &nodes[ch.start..ch.end];
        match place[c] {
            Some(p) => {
                for (k, n) in of.iter().enumerate() {
                    points.push(((p, 3, c as u64, k as u64), n.id));
                }
            }
            None => {
                let (mut before, mut layer_max, mut layer) = (0u64, 0u64, 0u32);
                for (k, n) in of.iter().enumerate() {
                    if n.layer != layer {
                        (before, layer) = (layer_max, n.layer);
                    }
                    layer_max = layer_max.max(n.call);
                    let at = before.max(n.call);
                    let key = if at < ch.f { (ch.f, 0, c as u64, k as u64) } else { (at, 2, c as u64, k as u64) };
                    points.push((key, n.id));
                }
            }
        }
    }
    // After every chain op at the same position (group `u64::MAX - 1`).
    for (k, &(x, id)) in unseen.iter().enumerate() {
        points.push(((x, 2, u64::MAX - 1, k as u64), id));
    }
    for &id in &ops.free {
        points.push(((call_pos(history.op(id)), 2, u64::MAX, 0), id));
    }
    points.sort_unstable_by_key(|&(k, _)| k);
    Some(Found::Valid(Some(points.into_iter().map(|(_, id)| id).collect())))
}

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

/// What an op of a chain did, for explanations.
fn role(history: &History, ops: &KvOps<'_>, id: OpId) -> String {
    let o = history.op(id);
    if let Some(&(_, v)) = ops.puts.iter().find(|(p, _)| p.id == id) {
        format!("{} wrote {v:?}", show(history, id))
    } else if let Some(&(_, v)) = ops.appends.iter().find(|(a, _)| a.id == id) {
        format!("{} appended {v:?}", show(history, id))
    } else {
        format!("{} returned {}", show(history, id), o.output)
    }
}

/// Inside the chain of epoch `e`, op `y` completed before op `x` of an
/// earlier layer was invoked.
fn order_violation(history: &History, ops: &KvOps<'_>, e: Option<u32>, x: OpId, y: OpId) -> Anomaly {
    let explanation = if x == y {
        format!("{} completed before the start of the history.", show(history, y))
    } else {
        format!(
            "{}; {}. Values only grow by appends until the next put and every put value and appended string is \
             unique, so the former must be linearized before the latter; but {} completed before {} began.",
            role(history, ops, x),
            role(history, ops, y),
            show(history, y),
            show(history, x)
        )
    };
    let detail = json!({ "reason": "real-time-order", "first": x, "then": y, "epoch_put": e.map(|p| ops.puts[p as usize].0.id) });
    anomaly(history, &[y, x], explanation, detail)
}

/// The block of the value a chain starts, in prose.
fn block_name(history: &History, ops: &KvOps<'_>, ch: &Chain) -> String {
    match ch.put {
        None => "the initial empty value".to_string(),
        Some(p) => format!("{:?} (written by {})", ops.puts[p as usize].1, show(history, ops.puts[p as usize].0.id)),
    }
}

/// Chains `c` and `d` must each precede the other.
fn cycle(history: &History, ops: &KvOps<'_>, c: &Chain, d: &Chain) -> Anomaly {
    let (c, d) = if d.put.is_none() { (d, c) } else { (c, d) };
    let (Some(y_c), Some(x_d), Some(y_d)) = (c.s_op, d.f_op, d.s_op) else {
        let explanation = "two put values must each be linearized before the other".to_string();
        return anomaly(history, &[], explanation, json!({ "reason": "conflicting-value-order" }));
    };
    let (vc, vd) = (block_name(history, ops, c), block_name(history, ops, d));
    let (ids, explanation) = match c.f_op {
        None => (
            vec![y_c, x_d],
            format!(
                "{} belongs to the run of values that starts from {vc}, before any put; but {} completed before it \
                 began, and that op belongs to the run started by {vd}, so a put had already taken effect.",
                role(history, ops, y_c),
                role(history, ops, x_d)
            ),
        ),
        Some(x_c) => (
            vec![x_c, y_d, x_d, y_c],
            format!(
                "A put, the appends after it and the gets that see them must be linearized as one block with no other \
                 put inside. {} completed before {} began, so the block of {vc} must come before the block of {vd}; \
                 but {} completed before {} began, which forces the opposite order.",
                show(history, x_c),
                show(history, y_d),
                show(history, x_d),
                show(history, y_c)
            ),
        ),
    };
    let puts: Vec<Option<OpId>> = [c.put, d.put].iter().map(|p| p.map(|p| ops.puts[p as usize].0.id)).collect();
    let detail = json!({ "reason": "conflicting-value-order", "puts": puts, "ops": ids });
    anomaly(history, &ids, explanation, detail)
}

/// Unseen ok append `a` ran entirely inside the zone of chain `z`.
fn lost_append(history: &History, ops: &KvOps<'_>, z: &Chain, a: u32) -> Anomaly {
    let (op, text) = ops.appends[a as usize];
    let (x, y) = (z.f_op, z.s_op.unwrap_or(op.id));
    let after = match x {
        Some(x) => format!("after {} completed", show(history, x)),
        None => "from the start of the history".to_string(),
    };
    let y_is_get = ops.gets.iter().any(|(g, _)| g.id == y);
    let seen_by = if y_is_get { "that get" } else { "the get that saw that append" };
    let explanation = format!(
        "{} ran {after} and completed before {} began, both within the run of values that starts from {}; so \
         {text:?} was appended inside that run, before {}, and {seen_by} would contain it. No get returned \
         {text:?}.",
        show(history, op.id),
        show(history, y),
        block_name(history, ops, z),
        show(history, y),
    );
    let ids: Vec<OpId> = [Some(op.id), x, Some(y)].into_iter().flatten().collect();
    let detail = json!({ "reason": "lost-append", "append": op.id, "then": y, "ops": ids });
    anomaly(history, &ids, explanation, detail)
}
