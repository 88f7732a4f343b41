//! Exact linearizability for kv (`get`/`put`/`append` on strings)
//! histories whose put values are distinct and non-empty and whose gets'
//! strings split in few ways into a put value (or the initial `""`) followed
//! by appended strings: each split reveals the exact sequence of mutations
//! since the last put. Append strings may repeat (Porcupine's clients
//! repeat some); the few ways to match them to ops are searched.
//!
//! # The criterion and its proof
//!
//! Ops are intervals of event positions, as in `register.rs`; a linearization
//! is a choice of distinct points strictly inside the included ops'
//! intervals. Fail ops never happened; info gets and nil gets under
//! `NilRead::Unknown` constrain nothing (the latter go in the witness only).
//!
//! *Splits.* In any legal sequence the state is `P a1 ... ak`: the value of
//! the last put `P` (or `""`) followed by the strings of the appends since,
//! each a different op. A get returns that string, so it is one *split* of
//! the get's string over the distinct put values and append strings. We
//! list each get's splits (more than [`SPLITS_MAX`]: `None`) and keep the
//! *feasible* ones: no failed put as head, no string used more often than
//! non-failed appends wrote it. A get with none is invalid.
//!
//! *Matchings.* A legal sequence picks, for each get, the split of its state,
//! and for each position of an epoch's state (below) the append op that put
//! it there. So the history is linearizable iff for some choice of a
//! feasible split per get and some matching of positions to distinct
//! non-failed appends of the same string, the criterion below holds with the
//! matched appends as the *seen* ones: necessity takes the linearization's
//! own choices (an append it places under a get of its epoch is then
//! matched), sufficiency builds a legal sequence in which each get returns
//! its chosen split. We try the combinations, at most [`COMBOS_MAX`] (else
//! `None`); usually there is exactly one. An invalid key reports the first
//! combination's anomaly.
//!
//! *Epochs.* The ops between a put `P` (or the start) and the next put form
//! the *epoch* of `P`. A get revealing `(P, a1..ak)` lies in the epoch of `P`
//! after exactly `a1..ak` of its appends. So, as in `append.rs`, the gets of
//! one epoch reveal prefixes of its longest revealed sequence `L_P`
//! (otherwise invalid), and a string occurring in the `L_P` more often than
//! non-failed appends wrote it is invalid (each happened once). A *seen* op
//! is a put some get revealed, or an append matched to a position of some
//! `L_P`; it must have happened (info ones included). The *chain* of a
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

use super::{brief, call_pos, ordinal, ret_pos, show, Found};
use crate::history::{History, Op, OpId, Outcome};
use crate::report::{Anomaly, AnomalyDetail, KvAppendRule};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

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

/// A trie node: children (byte, node) and the token ending here.
type TrieNode = (Vec<(u8, u32)>, Option<u32>);

/// A byte trie over tokens, each ending at a node that names it.
struct Trie {
    nodes: Vec<TrieNode>,
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

/// Splits of one get's string into a put value (or `""`) and append
/// strings, more than this many and the general search decides: each is a
/// branch of the search below.
const SPLITS_MAX: usize = 4;

/// Up to `SPLITS_MAX + 1` splits of `text`: (put string id or `None` for
/// the initial `""`, append string ids). Adds the trie steps taken to
/// `steps`.
fn splits(text: &str, puts: &Trie, appends: &Trie, steps: &mut u64) -> Vec<(Option<u32>, Vec<u32>)> {
    const CAP: u8 = SPLITS_MAX as u8 + 1;
    let b = text.as_bytes();
    let n = b.len();
    // ways[i]: splits of text[i..] into append strings, capped at CAP.
    let mut ways = vec![0u8; n + 1];
    ways[n] = 1;
    for i in (0..n).rev() {
        let mut w = 0u8;
        *steps += appends.prefixes(&b[i..], |len, _| w = w.saturating_add(ways[i + len]).min(CAP));
        ways[i] = w;
    }
    let mut heads: Vec<(Option<u32>, usize)> = vec![(None, 0)];
    *steps += puts.prefixes(b, |len, id| heads.push((Some(id), len)));
    let mut out = Vec::new();
    for (head, start) in heads {
        // The k-th split of text[start..] for each k below its count: a
        // walk that skips the options whose (capped) counts k passes; a
        // capped count is at least CAP > k, so the walk is exact.
        for k in 0..ways[start] {
            if out.len() > SPLITS_MAX {
                return out;
            }
            let (mut i, mut k, mut seq) = (start, k, Vec::new());
            while i < n {
                let mut pick = None;
                *steps += appends.prefixes(&b[i..], |len, id| {
                    if pick.is_none() {
                        if k < ways[i + len] {
                            pick = Some((len, id));
                        } else {
                            k -= ways[i + len];
                        }
                    }
                });
                let Some((len, id)) = pick else { break };
                seq.push(id);
                i += len;
            }
            out.push((head, seq));
        }
    }
    out
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

/// A fast-path anomaly breaking one of this path's rules.
fn anomaly(history: &History, ids: &[OpId], explanation: String, rule: KvAppendRule) -> Anomaly {
    super::anomaly(history, ids, explanation, AnomalyDetail::KvAppend(rule))
}

/// Combinations (a split per get, then an append op per occurrence of a
/// repeated string) tried before the general search decides instead; each
/// costs one O(n log n) check.
const COMBOS_MAX: u64 = 4096;

/// The result of checking one combination.
enum Try {
    Valid(Option<Vec<OpId>>),
    Invalid(Anomaly),
    /// Too many combinations.
    GiveUp,
}

/// Decides one key. `None` when put values repeat, a get splits in too
/// many ways, or the combinations or decoding would take too long.
pub(crate) fn check(history: &History, ops: &KvOps<'_>, witness: bool) -> Option<Found> {
    let mut put_trie = Trie::new();
    for (i, &(_, v)) in ops.puts.iter().enumerate() {
        if v.is_empty() || !put_trie.insert(v.as_bytes(), i as u32) {
            return None;
        }
    }
    let Appends { trie: app_trie, strings, writers, failed_by } = Appends::of(ops)?;
    let sets = Sets { strings: &strings, writers: &writers };
    let cands = match candidates(history, ops, &sets, &failed_by, &put_trie, &app_trie) {
        Ok(c) => c?,
        Err(a) => return Some(Found::Invalid(a)),
    };

    // Every combination of splits (an odometer over the gets with more
    // than one), each with every matching of repeated strings to ops.
    let varying: Vec<usize> = (0..cands.len()).filter(|&g| cands[g].len() > 1).collect();
    let mut choice: Vec<usize> = vec![0; cands.len()];
    let mut tried = 0u64;
    let mut first: Option<Anomaly> = None;
    for round in 0.. {
        // Rounds that fail before matching count too.
        if round > COMBOS_MAX {
            return None;
        }
        let revealed: Vec<(usize, Option<u32>, &[u32])> =
            choice.iter().enumerate().map(|(g, &c)| (g, cands[g][c].0, &cands[g][c].1[..])).collect();
        match check_splits(history, ops, &sets, &revealed, witness, &mut tried) {
            Try::Valid(w) => return Some(Found::Valid(w)),
            Try::GiveUp => return None,
            Try::Invalid(a) => {
                first.get_or_insert(a);
            }
        }
        // Next combination.
        let mut advanced = false;
        for &g in &varying {
            choice[g] += 1;
            if choice[g] < cands[g].len() {
                advanced = true;
                break;
            }
            choice[g] = 0;
        }
        if !advanced {
            break;
        }
    }
    let mut a = first?;
    if tried > 1 {
        a.explanation.push_str(&format!(
            " (Some strings here were written by more than one op, or a get's string can be read in more than \
             one way; all {tried} ways to match them to the ops that wrote them fail, and this is the first.)"
        ));
    }
    Some(Found::Invalid(a))
}

/// The append strings, interned: the non-failed appends of each
/// (`writers`) and a failed one, for explanations.
struct Appends<'h> {
    trie: Trie,
    strings: Vec<&'h str>,
    writers: Vec<Vec<u32>>,
    failed_by: Vec<Option<u32>>,
}

impl<'h> Appends<'h> {
    /// `None` on an append of the empty string (the criterion does not
    /// apply).
    fn of(ops: &KvOps<'h>) -> Option<Appends<'h>> {
        let mut out = Appends { trie: Trie::new(), strings: Vec::new(), writers: Vec::new(), failed_by: Vec::new() };
        let mut sid_of: FxHashMap<&str, u32> = FxHashMap::default();
        for (i, &(op, v)) in ops.appends.iter().enumerate() {
            if v.is_empty() {
                return None;
            }
            let sid = *sid_of.entry(v).or_insert_with(|| {
                out.trie.insert(v.as_bytes(), out.strings.len() as u32);
                out.strings.push(v);
                out.writers.push(Vec::new());
                out.failed_by.push(None);
                out.strings.len() as u32 - 1
            });
            if op.outcome == Outcome::Fail {
                out.failed_by[sid as usize] = Some(i as u32);
            } else {
                out.writers[sid as usize].push(i as u32);
            }
        }
        Some(out)
    }
}

/// One way to read a get's string: the put value (`None`: the initial
/// `""`) and the append strings after it.
type Split = (Option<u32>, Vec<u32>);

/// The feasible splits of every get, those real time allows first; `None`
/// when some get splits in too many ways, an anomaly when one has none.
fn candidates(
    history: &History,
    ops: &KvOps<'_>,
    sets: &Sets<'_, '_>,
    failed_by: &[Option<u32>],
    put_trie: &Trie,
    app_trie: &Trie,
) -> Result<Option<Vec<Vec<Split>>>, Anomaly> {
    let first_put_ret =
        ops.puts.iter().filter(|(o, _)| o.outcome == Outcome::Ok).map(|(o, _)| ret_pos(o)).min().unwrap_or(u64::MAX);
    let mut steps = 0u64;
    let mut cands: Vec<Vec<Split>> = Vec::with_capacity(ops.gets.len());
    for &(op, text) in &ops.gets {
        let all = splits(text, put_trie, app_trie, &mut steps);
        if all.len() > SPLITS_MAX || steps > DECODE_STEPS_MAX {
            return Ok(None);
        }
        let feasible = |(head, seq): &Split| {
            let mut count: FxHashMap<u32, usize> = FxHashMap::default();
            head.is_none_or(|p| ops.puts[p as usize].0.outcome != Outcome::Fail)
                && seq.iter().all(|&s| {
                    let c = count.entry(s).or_insert(0);
                    *c += 1;
                    *c <= sets.writers[s as usize].len()
                })
        };
        let ok: Vec<Split> = all.iter().filter(|s| feasible(s)).cloned().collect();
        if ok.is_empty() {
            return Err(unreadable(history, ops, sets, failed_by, op.id, text, all.first()));
        }
        // Drop splits real time rules out, if any other is left (exact
        // either way, fewer combinations): the initial epoch for a get that
        // began after an ok put completed (that put precedes it), a put's
        // epoch for a get that completed before the put began.
        let (call, ret) = (call_pos(op), ret_pos(op));
        let timely = |(head, _): &&Split| match head {
            None => call < first_put_ret,
            Some(p) => call_pos(ops.puts[*p as usize].0) < ret,
        };
        let kept: Vec<Split> = ok.iter().filter(timely).cloned().collect();
        cands.push(if kept.is_empty() { ok } else { kept });
    }
    Ok(Some(cands))
}

/// The interned append strings and their non-failed writers.
struct Sets<'a, 'h> {
    strings: &'a [&'h str],
    writers: &'a [Vec<u32>],
}

/// A get none of whose splits is feasible; `split` is one, if any.
fn unreadable(
    history: &History,
    ops: &KvOps<'_>,
    sets: &Sets<'_, '_>,
    failed_by: &[Option<u32>],
    get: OpId,
    text: &str,
    split: Option<&(Option<u32>, Vec<u32>)>,
) -> Anomaly {
    let Some((head, seq)) = split else {
        let explanation = format!(
            "{} returned {text:?}, which is not the initial \"\" or a put value followed by appended strings, so no \
             state of the key ever read so.",
            show(history, get)
        );
        let detail = KvAppendRule::ReadOfUnwrittenValue { read: get, value: text.to_string() };
        return anomaly(history, &[get], explanation, detail);
    };
    let failed_put = head.map(|p| ops.puts[p as usize].0).filter(|o| o.outcome == Outcome::Fail);
    let failed_app = seq.iter().find(|&&s| sets.writers[s as usize].is_empty()).and_then(|&s| failed_by[s as usize]);
    if let Some(w) = failed_put.or(failed_app.map(|a| ops.appends[a as usize].0)) {
        let explanation = format!(
            "{} returned {text:?}, which can only be read after {}, but that op failed, so it never took effect.",
            show(history, get),
            show(history, w.id)
        );
        let detail = KvAppendRule::ReadOfFailedWrite { failed_write: w.id, read: get };
        return anomaly(history, &[get, w.id], explanation, detail);
    }
    // Some string occurs more often than it was appended.
    let mut count: FxHashMap<u32, usize> = FxHashMap::default();
    for &s in seq {
        *count.entry(s).or_insert(0) += 1;
    }
    let (&s, &n) = count.iter().max_by_key(|&(&s, &n)| (n > sets.writers[s as usize].len(), s)).unwrap_or((&0, &0));
    let by: Vec<OpId> =
        sets.writers.get(s as usize).into_iter().flatten().map(|&a| ops.appends[a as usize].0.id).collect();
    let explanation = format!(
        "{} returned {text:?}, which contains {:?} {n} times, but only {} append{} of it took effect ({}).",
        show(history, get),
        sets.strings.get(s as usize).copied().unwrap_or_default(),
        by.len(),
        if by.len() == 1 { "" } else { "s" },
        by.iter().map(|&id| show(history, id)).collect::<Vec<_>>().join(", ")
    );
    let mut ids = vec![get];
    ids.extend(&by);
    let detail = KvAppendRule::DuplicateElement { appends: by.clone(), read: get };
    anomaly(history, &ids, explanation, detail)
}

/// Checks one choice of split per get (`revealed`: get index, epoch,
/// string ids) under every matching of repeated strings to their writers;
/// counts the combinations in `tried`.
fn check_splits(
    history: &History,
    ops: &KvOps<'_>,
    sets: &Sets<'_, '_>,
    revealed: &[(usize, Option<u32>, &[u32])],
    witness: bool,
    tried: &mut u64,
) -> Try {
    let longest = match longest_per_epoch(history, ops, sets, revealed) {
        Ok(l) => l,
        Err(a) => return Try::Invalid(a),
    };
    let mut epochs: Vec<Option<u32>> = longest.keys().copied().collect();
    epochs.sort_unstable();
    let occ = match occurrences(history, ops, sets, revealed, &longest, &epochs) {
        Ok(o) => o,
        Err(a) => return Try::Invalid(a),
    };
    // Every matching of occurrences to distinct writers, per string.
    let mut maps: Vec<(u32, Vec<Vec<u32>>)> = Vec::with_capacity(occ.len());
    let mut product = 1u64;
    for (&s, places) in &occ {
        let w = &sets.writers[s as usize];
        let count = (0..places.len() as u64).fold(1u64, |acc, i| acc.saturating_mul(w.len() as u64 - i));
        product = product.saturating_mul(count);
        if tried.saturating_add(product) > COMBOS_MAX {
            return Try::GiveUp;
        }
        let mut all: Vec<Vec<u32>> = Vec::new();
        injections(w, places.len(), &mut Vec::new(), &mut all);
        maps.push((s, all));
    }
    let mut pick: Vec<usize> = vec![0; maps.len()];
    let mut first: Option<Anomaly> = None;
    loop {
        *tried += 1;
        // The append op at each position of each epoch.
        let mut full: Vec<Vec<u32>> = epochs.iter().map(|e| vec![0; revealed[longest[e]].2.len()]).collect();
        let mut seen = vec![false; ops.appends.len()];
        for (m, (s, all)) in maps.iter().enumerate() {
            for (&(ei, j), &a) in occ[s].iter().zip(&all[pick[m]]) {
                full[ei][j] = a;
                seen[a as usize] = true;
            }
        }
        let m = Matching { revealed, epochs: &epochs, full: &full, seen: &seen };
        match chains_check(history, ops, &m, witness) {
            Ok(w) => return Try::Valid(w),
            Err(a) => {
                first.get_or_insert(a);
            }
        }
        let mut advanced = false;
        for (m, (_, all)) in maps.iter().enumerate() {
            pick[m] += 1;
            if pick[m] < all.len() {
                advanced = true;
                break;
            }
            pick[m] = 0;
        }
        if !advanced {
            break;
        }
    }
    match first {
        Some(a) => Try::Invalid(a),
        None => Try::GiveUp,
    }
}

/// How an epoch is named in explanations.
fn epoch_name(history: &History, ops: &KvOps<'_>, e: Option<u32>) -> String {
    match e {
        None => "the initial empty value".to_string(),
        Some(p) => {
            format!("the value {:?} written by {}", ops.puts[p as usize].1, show(history, ops.puts[p as usize].0.id))
        }
    }
}

/// For each epoch, the index in `revealed` of its longest revealed
/// sequence; an anomaly unless every get's sequence is a prefix of it.
fn longest_per_epoch(
    history: &History,
    ops: &KvOps<'_>,
    sets: &Sets<'_, '_>,
    revealed: &[(usize, Option<u32>, &[u32])],
) -> Result<FxHashMap<Option<u32>, usize>, Anomaly> {
    let mut longest: FxHashMap<Option<u32>, usize> = FxHashMap::default();
    for (r, &(_, e, seq)) in revealed.iter().enumerate() {
        let best = longest.entry(e).or_insert(r);
        if revealed[*best].2.len() < seq.len() {
            *best = r;
        }
    }
    for &(g, e, seq) in revealed {
        let r = longest[&e];
        let full = revealed[r].2;
        if let Some(j) = seq.iter().zip(full).position(|(x, y)| x != y) {
            let g = ops.gets[g].0;
            let h = ops.gets[revealed[r].0].0;
            let explanation = format!(
                "{} and {} both read {} with appends after it, but disagree on the {} append ({:?} vs {:?}); \
                 every get returns the whole string, so one must extend the other.",
                show(history, g.id),
                show(history, h.id),
                epoch_name(history, ops, e),
                ordinal(j),
                sets.strings[seq[j] as usize],
                sets.strings[full[j] as usize]
            );
            let detail = KvAppendRule::DivergentReads { index: j, reads: [g.id, h.id] };
            return Err(anomaly(history, &[g.id, h.id], explanation, detail));
        }
    }
    Ok(longest)
}

/// Where each string occurs over the epochs' longest sequences: (epoch
/// index, position); an anomaly when it occurs more often than non-failed
/// appends wrote it.
fn occurrences(
    history: &History,
    ops: &KvOps<'_>,
    sets: &Sets<'_, '_>,
    revealed: &[(usize, Option<u32>, &[u32])],
    longest: &FxHashMap<Option<u32>, usize>,
    epochs: &[Option<u32>],
) -> Result<BTreeMap<u32, Vec<(usize, usize)>>, Anomaly> {
    let mut occ: BTreeMap<u32, Vec<(usize, usize)>> = BTreeMap::new();
    for (ei, e) in epochs.iter().enumerate() {
        for (j, &s) in revealed[longest[e]].2.iter().enumerate() {
            occ.entry(s).or_default().push((ei, j));
        }
    }
    for (&s, places) in &occ {
        let n = sets.writers[s as usize].len();
        if places.len() > n {
            let (e1, e2) = (epochs[places[0].0], epochs[places[places.len() - 1].0]);
            let (g1, g2) = (ops.gets[revealed[longest[&e1]].0].0.id, ops.gets[revealed[longest[&e2]].0].0.id);
            let by: Vec<OpId> = sets.writers[s as usize].iter().map(|&a| ops.appends[a as usize].0.id).collect();
            let explanation = format!(
                "{} (after {}) and {} (after {}) show {:?} appended {} times in all, but only {n} append{} of it took \
                 effect, and each happened once.",
                show(history, g1),
                epoch_name(history, ops, e1),
                show(history, g2),
                epoch_name(history, ops, e2),
                sets.strings[s as usize],
                places.len(),
                if n == 1 { "" } else { "s" }
            );
            let mut ids = vec![g1, g2];
            ids.extend(&by);
            let detail = KvAppendRule::AppendInTwoEpochs { appends: by.clone(), reads: [g1, g2] };
            return Err(anomaly(history, &ids, explanation, detail));
        }
    }
    Ok(occ)
}

/// All sequences of `k` distinct items of `from` (callers bound their
/// number, so `k` is small).
fn injections(from: &[u32], k: usize, cur: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
    if cur.len() == k {
        out.push(cur.clone());
        return;
    }
    for &x in from {
        if !cur.contains(&x) {
            cur.push(x);
            injections(from, k, cur, out);
            cur.pop();
        }
    }
}

/// One choice of splits and of the appends matched to their strings.
#[derive(Clone, Copy)]
struct Matching<'a, 'r> {
    /// Each get's chosen split: (get, epoch, appended strings).
    revealed: &'a [(usize, Option<u32>, &'r [u32])],
    /// The seen epochs.
    epochs: &'a [Option<u32>],
    /// `full[i]`: the appends of epoch `i`, in order.
    full: &'a [Vec<u32>],
    /// The appends in them.
    seen: &'a [bool],
}

/// Criterion (A), (B), (C) of the module comment for one matching. The
/// witness, or the anomaly.
fn chains_check(history: &History, ops: &KvOps<'_>, m: &Matching, witness: bool) -> Result<Option<Vec<OpId>>, Anomaly> {
    let (nodes, chains) = build_chains(history, ops, m)?;
    // (B): forward zones pairwise disjoint, no backward chain inside one.
    let mut forward: Vec<usize> = (0..chains.len()).filter(|&i| chains[i].f < chains[i].s).collect();
    forward.sort_unstable_by_key(|&i| chains[i].f);
    for pair in forward.windows(2) {
        let (c, d) = (&chains[pair[0]], &chains[pair[1]]);
        if d.f < c.s {
            return Err(cycle(history, ops, c, d));
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
                return Err(cycle(history, ops, z, ch));
            }
            p = p.max(z.s);
        }
        place[b] = Some(p);
    }
    // (C): unseen ok appends outside every zone.
    let mut unseen: Vec<(u64, OpId)> = Vec::new();
    for (a, &(op, _)) in ops.appends.iter().enumerate() {
        if op.outcome != Outcome::Ok || m.seen[a] {
            continue;
        }
        let (call, ret) = (call_pos(op), ret_pos(op));
        let mut x = call;
        if let Some(z) = zone_before(call) {
            if z.s > ret {
                return Err(lost_append(history, ops, z, a as u32));
            }
            x = x.max(z.s);
        }
        unseen.push((x, op.id));
    }
    Ok(witness.then(|| witness_order(history, ops, &nodes, &chains, &place, &unseen)))
}

/// The chain of every seen epoch and of every unseen ok put, with their ops
/// in layer order; checks (A) on the way.
fn build_chains(history: &History, ops: &KvOps<'_>, m: &Matching) -> Result<(Vec<Node>, Vec<Chain>), Anomaly> {
    let Matching { revealed, epochs, full, .. } = *m;
    let put_op = |p: u32| ops.puts[p as usize].0;
    let app_op = |a: u32| ops.appends[a as usize].0;
    let mut gets_of: FxHashMap<(Option<u32>, usize), Vec<OpId>> = FxHashMap::default();
    for &(g, e, seq) in revealed {
        gets_of.entry((e, seq.len())).or_default().push(ops.gets[g].0.id);
    }
    let empty: Vec<u32> = Vec::new();
    let mut all_epochs: Vec<(Option<u32>, &Vec<u32>)> = epochs.iter().copied().zip(full).collect();
    for (p, &(op, _)) in ops.puts.iter().enumerate() {
        if op.outcome == Outcome::Ok && epochs.binary_search(&Some(p as u32)).is_err() {
            all_epochs.push((Some(p as u32), &empty));
        }
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(ops.gets.len() + ops.puts.len() + ops.appends.len());
    let mut chains: Vec<Chain> = Vec::with_capacity(all_epochs.len());
    for &(e, full) in &all_epochs {
        let start = nodes.len();
        let mut layers: Vec<Vec<OpId>> = Vec::new();
        if let Some(p) = e {
            layers.push(vec![put_op(p).id]);
        }
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
                    return Err(order_violation(history, ops, e, x, id));
                }
                layer_max = layer_max.max((call, Some(id)));
                f = f.min((ret, Some(id)));
                nodes.push(Node { id, call, layer: l as u32 });
            }
            before = layer_max;
        }
        chains.push(Chain { put: e, start, end: nodes.len(), f: f.0, f_op: f.1, s: before.0, s_op: before.1 });
    }
    Ok((nodes, chains))
}

/// Witness: the points of the sufficiency proof, as in `register.rs`: a
/// point is (position, phase, group, order), phase 0 = just before the
/// position, 2 = just after it, 3 = after that (backward blocks, placed at
/// `place`); the unseen ok appends at their points.
fn witness_order(
    history: &History,
    ops: &KvOps<'_>,
    nodes: &[Node],
    chains: &[Chain],
    place: &[Option<u64>],
    unseen: &[(u64, OpId)],
) -> Vec<OpId> {
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
    points.into_iter().map(|(_, id)| id).collect()
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
    let run = match e {
        None => "the initial empty value".to_string(),
        Some(p) => format!("{:?} (written by {})", ops.puts[p as usize].1, show(history, ops.puts[p as usize].0.id)),
    };
    let explanation = if x == y {
        format!("{} completed before the start of the history.", show(history, y))
    } else {
        let appended = |id: OpId| ops.appends.iter().find(|(a, _)| a.id == id).map(|&(_, v)| v);
        let is_get = |id: OpId| ops.gets.iter().any(|(g, _)| g.id == id);
        let (bx, by) = (brief(history, x), brief(history, y));
        // The lead names the cause in the reader's terms; the proof follows.
        let lead = match (appended(x), appended(y)) {
            (None, Some(b)) if is_get(x) => {
                format!("Stale read: {bx} missed {by} of {b:?}, which completed before the get began.")
            }
            (Some(a), None) if is_get(y) => format!("{by} saw {bx} of {a:?} before that append began."),
            (None, None) if is_get(x) && is_get(y) => {
                format!("Stale read: {bx} returned an older value than {by}, which completed before it began.")
            }
            (Some(a), Some(b)) => format!(
                "The gets show {bx} of {a:?} before {by} of {b:?}, though the latter completed before the former \
                 began."
            ),
            _ => format!("{bx} must take effect before {by}, but {by} completed before it began."),
        };
        format!(
            "{lead} In detail: {}; {}. The gets show the value growing by appends from {run}, the former before \
             the latter, so the former must be linearized first; but {} completed before {} began.",
            role(history, ops, x),
            role(history, ops, y),
            show(history, y),
            show(history, x)
        )
    };
    let epoch_put = e.map(|p| ops.puts[p as usize].0.id);
    let detail = KvAppendRule::RealTimeOrder { epoch_put, first: x, then: y };
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
        let detail = KvAppendRule::ConflictingValueOrder { ops: Vec::new(), puts: None };
        return anomaly(history, &[], explanation, detail);
    };
    let (vc, vd) = (block_name(history, ops, c), block_name(history, ops, d));
    let (ids, explanation) = match c.f_op {
        None => (
            vec![y_c, x_d],
            format!(
                "Too late for {vc}: {} needs it, but a put had already taken effect before it began. In detail: it \
                 belongs to the run of values that starts from {vc}, before any put; but {} completed before it \
                 began, and that op belongs to the run started by {vd}.",
                role(history, ops, y_c),
                role(history, ops, x_d)
            ),
        ),
        Some(x_c) => (
            vec![x_c, y_d, x_d, y_c],
            format!(
                "The run of values started by {vc} and the one started by {vd} must each come before the other. In \
                 detail: a put, the appends after it and the gets that see them must be linearized as one block with \
                 no other put inside. {} completed before {} began, so the block of {vc} must come before the block of {vd}; \
                 but {} completed before {} began, which forces the opposite order.",
                show(history, x_c),
                show(history, y_d),
                show(history, x_d),
                show(history, y_c)
            ),
        ),
    };
    let puts = [c.put, d.put].map(|p| p.map(|p| ops.puts[p as usize].0.id));
    let detail = KvAppendRule::ConflictingValueOrder { ops: ids.clone(), puts: Some(puts) };
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
    let detail = KvAppendRule::LostAppend { append: op.id, ops: ids.clone(), then: y };
    anomaly(history, &ids, explanation, detail)
}
