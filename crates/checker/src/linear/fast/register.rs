//! Exact O(n log n) linearizability for read/write/cas registers whose
//! written values are unique (Gibbons & Korach's read-mapping case; the
//! "zones" of Golab, Li & Shah, extended here to cas chains).
//!
//! # The criterion and its proof
//!
//! Ops are intervals `[call, ret]` of event positions (all distinct; an info
//! op has `ret = +inf`). A linearization is equivalent to choosing a point
//! `t(o)` strictly inside each included op's interval, all distinct, and
//! ordering by points (an interval order can always be realised that way).
//! Every value written (by a write, or as a cas's new value) is distinct and
//! differs from the initial value.
//!
//! Fail ops never happened: dropped. Info reads have no known result and do
//! not change the state: dropped. Reads that constrain nothing (`nil` under
//! `NilRead::Unknown`) are legal in every state: witness only. A value is
//! *needed* if an ok read returned it or an included cas expects it; an ok
//! op is included, an info write or cas is included iff its value is needed
//! (fixpoint). Leaving out an unneeded info op is always allowed: in a
//! linearization that includes it, the ops up to the next plain write neither
//! read nor cas its value (not needed), so there are none, and removing it
//! leaves a legal sequence. An ok cas succeeded (the model requires its
//! expected value), so each included cas both reads its old value and writes
//! its new one.
//!
//! In a legal sequence the state after a plain write `w` of `v` holds until
//! the next write or cas; the ops in between read `v` or cas from `v` — at
//! most one such cas, since `v` never returns. So the ops form *chains*, each
//! headed by a plain write (or by the virtual write of the initial value at
//! `-inf`), laid out as contiguous blocks in fixed *layers*: `[w(v1)]`,
//! `[reads of v1]`, `[cas v1->v2]`, `[reads of v2]`, ... Hence: a read or cas
//! of a value nobody wrote, or two included cas from one value, is not
//! linearizable (a cas cycle with no head is left to the general search).
//!
//! For a chain `C` let `f(C)` be the smallest `ret` in it and `s(C)` the
//! largest `call` (`f = -inf` for the initial chain).
//!
//! **Claim.** The history is linearizable iff
//! (A) in every chain, no op completes before an op of an earlier layer is
//!     invoked, and
//! (B) there are no two chains `C != D` with `f(C) < s(D)` and `f(D) < s(C)`.
//!
//! *Necessity.* (A) is real time against the forced order inside a chain.
//! For (B): the block of `C` starts at or before each of its ops' points, so
//! before `f(C)`, and ends after `s(C)`. If an op of `C` ends before an op of
//! `D` starts, the blocks being contiguous, all of `C` precedes all of `D`.
//! Both directions together are impossible.
//!
//! *Sufficiency.* Inside a chain, with `E_j` the largest call in layers `< j`,
//! (A) says `E_j < ret(o)` for `o` in layer `j`; so for any window `[lo, hi]`
//! with `lo < f` and `hi > s`, the points `t(o) = max(lo, E_j, call(o)) + e`
//! (later layers a little later) are increasing by layer, inside their
//! intervals and inside the window. A chain is *forward* if `f < s` (zone
//! `[f, s]`) and *backward* otherwise. (B) says exactly: forward zones are
//! pairwise disjoint, and no backward chain's `(s, f)` lies inside a forward
//! zone (two backward chains can never violate (B)). Lay a forward chain in
//! the window `(f - e, s + e)`; lay a backward chain in a tiny window around
//! a point `p` in `(s, f)` outside every forward zone — `s` itself if it is
//! outside all zones, else just after the end of the (only) zone containing
//! `s`, which ends before `f` because the chain is not inside it. Blocks are
//! disjoint and each op's point is inside its interval, so sorting the points
//! gives a legal linearization.
//!
//! Checking (B): sort forward zones by `f`; zones are pairwise disjoint iff
//! consecutive ones are. For a backward chain only the forward zone with the
//! largest `f < s` can contain it. Hence O(n log n) in all.

use super::{brief, call_pos, ret_pos, show, Found};
use crate::history::{History, Op, OpId, Outcome};
use crate::report::{Anomaly, AnomalyDetail, RegisterRule};
use crate::value::Value;
use rustc_hash::FxHashMap;

/// A fast-path anomaly breaking one of this path's rules.
fn anomaly(history: &History, ids: &[OpId], explanation: String, rule: RegisterRule) -> Anomaly {
    super::anomaly(history, ids, explanation, AnomalyDetail::Register(rule))
}

/// A value as a hash key: integers (the common case) inline, so that lookups
/// do not chase pointers into the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum VKey<'h> {
    Int(i64),
    Other(&'h Value),
}

impl<'h> VKey<'h> {
    fn of(v: &'h Value) -> VKey<'h> {
        match v {
            Value::Int(i) => VKey::Int(*i),
            v => VKey::Other(v),
        }
    }
}

/// An op's interval, copied out of the history so that the check reads
/// compact arrays.
#[derive(Clone, Copy, Debug)]
struct Iv {
    id: OpId,
    call: u64,
    ret: u64,
}

impl Iv {
    fn of(op: &Op) -> Iv {
        Iv { id: op.id, call: call_pos(op), ret: ret_pos(op) }
    }
}

/// Who wrote a value: an index in `writes` or in `cases`.
#[derive(Clone, Copy, Debug)]
enum Writer {
    Write(u32),
    Cas(u32),
}

/// A non-failed cas. Values are ids; `old: None` expects the initial value.
#[derive(Clone, Copy, Debug)]
struct Cas {
    iv: Iv,
    old: Option<u32>,
    new: u32,
    info: bool,
}

/// One key's register ops, sorted out by what they do, with values interned
/// to small ids. Filled by the model adapters in `mod.rs`.
#[derive(Debug, Default)]
pub(crate) struct RegisterOps<'h> {
    ids: FxHashMap<VKey<'h>, u32>,
    /// Value id -> the value.
    values: Vec<&'h Value>,
    /// Value id -> its (only) writer.
    writer: Vec<Option<Writer>>,
    /// Plain writes that may have happened (ok or info): value id, info.
    writes: Vec<(Iv, u32, bool)>,
    cases: Vec<Cas>,
    /// Ok reads whose result constrains the state: value id, `None` for the
    /// initial state.
    reads: Vec<(Iv, Option<u32>)>,
    /// Ok ops legal in any state (nil reads under `NilRead::Unknown`); only
    /// placed in the witness.
    free: Vec<Iv>,
    /// Failed writes and cas ops with the value they would have written, to
    /// explain reads of it.
    failed: Vec<(OpId, &'h Value)>,
    /// A value written twice (or a cas of a value to itself): the criterion
    /// does not apply.
    pub duplicate: bool,
}

impl<'h> RegisterOps<'h> {
    fn intern(&mut self, v: &'h Value) -> u32 {
        let next = self.values.len() as u32;
        let id = *self.ids.entry(VKey::of(v)).or_insert(next);
        if id == next {
            self.values.push(v);
            self.writer.push(None);
        }
        id
    }

    fn set_writer(&mut self, v: u32, w: Writer) {
        let slot = &mut self.writer[v as usize];
        if slot.is_some() {
            self.duplicate = true;
        }
        *slot = Some(w);
    }

    /// A write (ok or info) of `v`, which must differ from the initial value.
    pub fn write(&mut self, op: &'h Op, v: &'h Value) {
        let id = self.intern(v);
        self.set_writer(id, Writer::Write(self.writes.len() as u32));
        self.writes.push((Iv::of(op), id, op.outcome == Outcome::Info));
    }

    /// A cas (ok or info) from `old` (`None`: the initial value) to `new`,
    /// which must differ from the initial value.
    pub fn cas(&mut self, op: &'h Op, old: Option<&'h Value>, new: &'h Value) {
        let old = old.map(|v| self.intern(v));
        let new = self.intern(new);
        if old == Some(new) {
            self.duplicate = true;
        }
        self.set_writer(new, Writer::Cas(self.cases.len() as u32));
        self.cases.push(Cas { iv: Iv::of(op), old, new, info: op.outcome == Outcome::Info });
    }

    /// An ok read of `v` (`None`: of the initial state).
    pub fn read(&mut self, op: &'h Op, v: Option<&'h Value>) {
        let id = v.map(|v| self.intern(v));
        self.reads.push((Iv::of(op), id));
    }

    /// An ok op legal in every state.
    pub fn free(&mut self, op: &'h Op) {
        self.free.push(Iv::of(op));
    }

    /// A failed write (or cas) of `v`.
    pub fn failed(&mut self, op: &'h Op, v: &'h Value) {
        self.failed.push((op.id, v));
    }

    fn writer_iv(&self, w: Writer) -> Iv {
        match w {
            Writer::Write(i) => self.writes[i as usize].0,
            Writer::Cas(i) => self.cases[i as usize].iv,
        }
    }
}

/// One chain: its ops in layer order live in `Chains::ops[start..end]`.
#[derive(Clone, Copy, Debug)]
struct Chain {
    /// The first value slot (the initial slot for the initial chain).
    head: usize,
    /// The head write, if any.
    write: Option<OpId>,
    start: u32,
    end: u32,
    /// Smallest completion position (0 = -inf for the initial chain) and
    /// the op that has it; largest invoke position and its op.
    f: u64,
    f_op: Option<OpId>,
    s: u64,
    s_op: Option<OpId>,
}

/// Where the witness puts a chain.
#[derive(Clone, Copy)]
enum Place {
    Forward,
    /// A point outside every forward zone.
    Backward(u64),
}

/// Decides one key. `None` when the written values are not unique or cas
/// ops form a cycle (the criterion does not apply); else the verdict with a
/// witness or anomaly.
pub(crate) fn check(history: &History, ops: &RegisterOps<'_>, initial: &Value, witness: bool) -> Option<Found> {
    if ops.duplicate {
        return None;
    }
    let invalid = |a: Anomaly| Some(Found::Invalid(a));
    for &(r, v) in &ops.reads {
        if let Some(v) = v.filter(|&v| ops.writer[v as usize].is_none()) {
            return invalid(unwritten(history, r.id, ops.values[v as usize], ops, false));
        }
    }
    let (need, included) = needed(ops);
    let succ = match successors(ops, &included) {
        Ok(succ) => succ,
        Err(Bad::Unwritten(c, s)) => return invalid(unwritten(history, ops.cases[c].iv.id, ops.values[s], ops, true)),
        Err(Bad::DoubleCas(a, b)) => return invalid(double_cas(history, ops, a, b, initial)),
    };
    let (chains, seq, cas_seen) = match Walk::new(ops, &succ, &need).chains() {
        Ok(Some(walked)) => walked,
        Ok(None) => return None,
        Err((head, x, y)) => return invalid(chain_order(history, ops, &succ, head, x, y, initial)),
    };
    if cas_seen != included.iter().filter(|&&b| b).count() {
        // Some included cas hangs in a cycle with no head: the general
        // search decides.
        return None;
    }
    let place = match place_chains(&chains) {
        Ok(place) => place,
        Err((c, d)) => return invalid(cycle(history, ops, &succ, &chains[c], &chains[d], initial)),
    };
    if !witness {
        return Some(Found::Valid(None));
    }
    Some(Found::Valid(Some(witness_order(ops, &chains, &seq, &place))))
}

/// The value slot of a value id: `0..n` are value ids, `n` is the initial
/// value.
fn slot(ops: &RegisterOps<'_>, v: Option<u32>) -> usize {
    v.map_or(ops.values.len(), |v| v as usize)
}

/// Needed values (slots) and included cas ops: a fixpoint, see the module
/// comment.
fn needed(ops: &RegisterOps<'_>) -> (Vec<bool>, Vec<bool>) {
    let n = ops.values.len();
    let mut need = vec![false; n + 1];
    let mut included = vec![false; ops.cases.len()];
    let mut stack: Vec<usize> = ops.reads.iter().map(|&(_, v)| slot(ops, v)).collect();
    for (i, c) in ops.cases.iter().enumerate() {
        if !c.info {
            included[i] = true;
            stack.push(slot(ops, c.old));
        }
    }
    while let Some(v) = stack.pop() {
        if std::mem::replace(&mut need[v], true) || v == n {
            continue;
        }
        if let Some(Writer::Cas(c)) = ops.writer[v] {
            if !included[c as usize] {
                included[c as usize] = true;
                stack.push(slot(ops, ops.cases[c as usize].old));
            }
        }
    }
    (need, included)
}

/// Why the included cas ops cannot chain.
enum Bad {
    /// Cas `.0` expects slot `.1`, which nobody wrote.
    Unwritten(usize, usize),
    /// Two cas ops replace one value.
    DoubleCas(u32, u32),
}

/// The included cas that replaces each value slot.
fn successors(ops: &RegisterOps<'_>, included: &[bool]) -> Result<Vec<Option<u32>>, Bad> {
    let n = ops.values.len();
    let mut succ: Vec<Option<u32>> = vec![None; n + 1];
    for (i, c) in ops.cases.iter().enumerate().filter(|&(i, _)| included[i]) {
        let s = slot(ops, c.old);
        if s < n && ops.writer[s].is_none() {
            return Err(Bad::Unwritten(i, s));
        }
        if let Some(other) = succ[s] {
            return Err(Bad::DoubleCas(other, i as u32));
        }
        succ[s] = Some(i as u32);
    }
    Ok(succ)
}

/// The walk along the chains from their heads, checking (A) on the way.
struct Walk<'a, 'h> {
    ops: &'a RegisterOps<'h>,
    succ: &'a [Option<u32>],
    need: &'a [bool],
    /// Reads grouped by slot (counting sort): reads of slot v are
    /// `by_slot[first[v]..first[v + 1]]`, in op order.
    first: Vec<u32>,
    by_slot: Vec<u32>,
}

/// (A) broken in the chain headed at `.0`: op `.2` completed before op `.1`
/// of an earlier layer began (`None`: the initial value's virtual write).
type ChainOrder = (usize, Option<OpId>, OpId);

/// What the walk found: the chains, their ops `(op, layer)` in chain order,
/// and how many cas ops they hold.
type Walked = (Vec<Chain>, Vec<(Iv, u32)>, usize);

impl<'a, 'h> Walk<'a, 'h> {
    fn new(ops: &'a RegisterOps<'h>, succ: &'a [Option<u32>], need: &'a [bool]) -> Walk<'a, 'h> {
        let n = ops.values.len();
        let mut first = vec![0u32; n + 2];
        for &(_, v) in &ops.reads {
            first[slot(ops, v) + 1] += 1;
        }
        for i in 1..first.len() {
            first[i] += first[i - 1];
        }
        let mut by_slot = vec![0u32; ops.reads.len()];
        let mut fill = first.clone();
        for (i, &(_, v)) in ops.reads.iter().enumerate() {
            let s = slot(ops, v);
            by_slot[fill[s] as usize] = i as u32;
            fill[s] += 1;
        }
        Walk { ops, succ, need, first, by_slot }
    }

    /// The chains, their ops `(op, layer)` in chain order and the number of
    /// cas ops on them; `None` on a cas cycle.
    fn chains(&self) -> Result<Option<Walked>, ChainOrder> {
        let (ops, n) = (self.ops, self.ops.values.len());
        let mut chains: Vec<Chain> = Vec::new();
        let mut seq: Vec<(Iv, u32)> = Vec::with_capacity(ops.writes.len() + ops.reads.len() + ops.cases.len());
        let mut cas_seen = 0usize;
        let heads = ops
            .writes
            .iter()
            .filter(|&&(_, v, info)| !info || self.need[v as usize])
            .map(|&(iv, v, _)| (Some(iv), v as usize))
            .chain(self.need[n].then_some((None, n)));
        for (head_iv, head) in heads {
            let start = seq.len() as u32;
            let mut chain =
                Chain { head, write: head_iv.map(|iv| iv.id), start, end: start, f: 0, f_op: None, s: 0, s_op: None };
            let mut layers = Layers { seq: &mut seq, before: (0, None), layer_max: (0, None), layer: 0 };
            let mut chain_f = match head_iv {
                Some(iv) => {
                    layers.visit(iv).ok();
                    (iv.ret, Some(iv.id))
                }
                None => (0, None),
            };
            let mut v = head;
            loop {
                layers.next_layer();
                for &r in &self.by_slot[self.first[v] as usize..self.first[v + 1] as usize] {
                    let iv = ops.reads[r as usize].0;
                    chain_f = chain_f.min((iv.ret, Some(iv.id)));
                    layers.visit(iv).map_err(|(x, y)| (head, x, y))?;
                }
                let Some(c) = self.succ[v] else { break };
                cas_seen += 1;
                if cas_seen > ops.cases.len() {
                    return Ok(None); // a cycle: cannot happen with a head, but stay finite
                }
                let cas = ops.cases[c as usize];
                layers.next_layer();
                chain_f = chain_f.min((cas.iv.ret, Some(cas.iv.id)));
                layers.visit(cas.iv).map_err(|(x, y)| (head, x, y))?;
                v = cas.new as usize;
            }
            (chain.s, chain.s_op) = layers.layer_max;
            chain.end = seq.len() as u32;
            (chain.f, chain.f_op) = chain_f;
            chains.push(chain);
        }
        Ok(Some((chains, seq, cas_seen)))
    }
}

/// One chain's layers as the walk lays them out.
struct Layers<'s> {
    seq: &'s mut Vec<(Iv, u32)>,
    /// The largest call in earlier layers, and its op.
    before: (u64, Option<OpId>),
    /// The largest call so far, and its op.
    layer_max: (u64, Option<OpId>),
    layer: u32,
}

impl Layers<'_> {
    fn next_layer(&mut self) {
        self.before = self.layer_max;
        self.layer += 1;
    }

    /// Adds `iv` to the current layer; `Err((x, y))` when it completed
    /// before op `x` of an earlier layer began.
    fn visit(&mut self, iv: Iv) -> Result<(), (Option<OpId>, OpId)> {
        if iv.ret < self.before.0 {
            return Err((self.before.1, iv.id));
        }
        self.layer_max = self.layer_max.max((iv.call, Some(iv.id)));
        self.seq.push((iv, self.layer));
        Ok(())
    }
}

/// Checks (B) and places each chain; `Err((c, d))` when chains `c` and `d`
/// must each precede the other.
fn place_chains(chains: &[Chain]) -> Result<Vec<Place>, (usize, usize)> {
    let mut forward: Vec<usize> = (0..chains.len()).filter(|&i| chains[i].f < chains[i].s).collect();
    forward.sort_unstable_by_key(|&i| chains[i].f);
    for pair in forward.windows(2) {
        if chains[pair[1]].f < chains[pair[0]].s {
            return Err((pair[0], pair[1]));
        }
    }
    let mut place: Vec<Place> = vec![Place::Forward; chains.len()];
    // For each backward chain: the forward zone that starts last before its
    // last invoke, if that zone reaches past its last invoke.
    for (b, ch) in chains.iter().enumerate() {
        if ch.f < ch.s {
            continue;
        }
        let k = forward.partition_point(|&i| chains[i].f < ch.s);
        let mut p = ch.s;
        if k > 0 {
            let z = &chains[forward[k - 1]];
            if z.s > ch.f {
                return Err((forward[k - 1], b));
            }
            p = p.max(z.s);
        }
        place[b] = Place::Backward(p);
    }
    Ok(place)
}

/// The witness: the points of the sufficiency proof, sorted. A point is
/// (position, phase, group, order) with phase 0 = just before the position,
/// 2 = just after it, 3 = after that (backward blocks); `order` follows the
/// chain's layers.
fn witness_order(ops: &RegisterOps<'_>, chains: &[Chain], seq: &[(Iv, u32)], place: &[Place]) -> Vec<OpId> {
    let mut points: Vec<((u64, u8, u64, u64), OpId)> = Vec::with_capacity(seq.len() + ops.free.len());
    for (c, ch) in chains.iter().enumerate() {
        let ops_of = &seq[ch.start as usize..ch.end as usize];
        match place[c] {
            Place::Backward(p) => {
                for (k, &(iv, _)) in ops_of.iter().enumerate() {
                    points.push(((p, 3, c as u64, k as u64), iv.id));
                }
            }
            Place::Forward => {
                // t(o) = max(f - e, E_layer, call(o)) + e, in layer order.
                let (mut before, mut layer_max, mut layer) = (0u64, 0u64, 0u32);
                for (k, &(iv, l)) in ops_of.iter().enumerate() {
                    if l != layer {
                        (before, layer) = (layer_max, l);
                    }
                    layer_max = layer_max.max(iv.call);
                    let at = before.max(iv.call);
                    let key = if at < ch.f { (ch.f, 0, c as u64, k as u64) } else { (at, 2, c as u64, k as u64) };
                    points.push((key, iv.id));
                }
            }
        }
    }
    for &iv in &ops.free {
        points.push(((iv.call, 2, u64::MAX, 0), iv.id));
    }
    points.sort_unstable_by_key(|&(k, _)| k);
    points.into_iter().map(|(_, id)| id).collect()
}

fn value_name(v: Option<&Value>, initial: &Value) -> String {
    match v {
        Some(v) => format!("value {v}"),
        None => format!("the initial value {initial}"),
    }
}

/// The values of the chain headed at slot `head`, e.g. `value 3` or
/// `values 3 -> 4 -> 5`. At most a few are named.
fn chain_name(ops: &RegisterOps<'_>, succ: &[Option<u32>], head: usize, initial: &Value) -> String {
    const NAMED: usize = 6;
    let n = ops.values.len();
    let mut names: Vec<String> = Vec::new();
    let mut v = head;
    let succ_of = |v: usize| succ[v].map(|c| ops.cases[c as usize]);
    loop {
        names.push(if v == n { format!("{initial} (initial)") } else { ops.values[v].to_string() });
        match succ_of(v) {
            Some(c) if names.len() < NAMED => v = c.new as usize,
            Some(_) => {
                names.push("...".into());
                break;
            }
            None => break,
        }
    }
    if names.len() == 1 {
        value_name((head < n).then(|| ops.values[head]), initial)
    } else {
        format!("values {}", names.join(" -> "))
    }
}

fn unwritten(history: &History, r: OpId, v: &Value, ops: &RegisterOps<'_>, is_cas: bool) -> Anomaly {
    let failed = ops.failed.iter().find(|&&(_, fv)| fv == v).map(|&(w, _)| w);
    let mut ids = vec![r];
    let what = if is_cas { "expected" } else { "returned" };
    let explanation = match failed {
        Some(w) => {
            ids.push(w);
            format!(
                "{} {what} {v}, but the only write of {v}, {}, failed, so it never took effect.",
                show(history, r),
                show(history, w)
            )
        }
        None => format!("{} {what} {v}, a value that no operation wrote.", show(history, r)),
    };
    let (failed_write, op, value) = (failed, r, v.clone());
    let rule = match (is_cas, failed.is_some()) {
        (false, true) => RegisterRule::ReadOfFailedWrite { failed_write, op, value },
        (false, false) => RegisterRule::ReadOfUnwrittenValue { failed_write, op, value },
        (true, _) => RegisterRule::CasOfUnwrittenValue { failed_write, op, value },
    };
    anomaly(history, &ids, explanation, rule)
}

fn double_cas(history: &History, ops: &RegisterOps<'_>, a: u32, b: u32, initial: &Value) -> Anomaly {
    let (ca, cb) = (ops.cases[a as usize], ops.cases[b as usize]);
    let old = value_name(ca.old.map(|v| ops.values[v as usize]), initial);
    let explanation = format!(
        "{} and {} both replaced {old}, which was written only once (written values are unique), so at most \
         one of them can have succeeded.{}",
        show(history, ca.iv.id),
        show(history, cb.iv.id),
        if ca.info || cb.info {
            " (An info cas counts as having happened when its new value was observed.)"
        } else {
            ""
        }
    );
    let ids = [ca.iv.id, cb.iv.id];
    anomaly(history, &ids, explanation, RegisterRule::DoubleCas { ops: ids })
}

/// Inside the chain headed at `head`, op `y` completed before op `x` of an
/// earlier layer began.
fn chain_order(
    history: &History,
    ops: &RegisterOps<'_>,
    succ: &[Option<u32>],
    head: usize,
    x: Option<OpId>,
    y: OpId,
    initial: &Value,
) -> Anomaly {
    let Some(x) = x else {
        // The initial chain's virtual write has no op and begins at -inf.
        let explanation = "an op completed before the start of the history".to_string();
        let rule = RegisterRule::CasChainOrder { first: None, then: None, ops: Vec::new() };
        return anomaly(history, &[y], explanation, rule);
    };
    // Is x the writer of the value y read?
    let y_read = ops.reads.iter().find(|&&(iv, _)| iv.id == y).map(|&(_, v)| v);
    let wrote_it = y_read.flatten().and_then(|v| ops.writer[v as usize]).is_some_and(|w| ops.writer_iv(w).id == x);
    let is_read = |id: OpId| ops.reads.iter().any(|&(iv, _)| iv.id == id);
    let (bx, by) = (brief(history, x), brief(history, y));
    let explanation = if wrote_it {
        format!(
            "{by} read {} before {bx}, the only write of it, began. In detail: {} completed before {}, the only \
             write of that value, was invoked: it read the value before it was written.",
            history.op(y).output,
            show(history, y),
            show(history, x)
        )
    } else {
        // The lead names the stale read when there is one; the proof follows.
        let lead = if is_read(x) {
            let saw = if is_read(y) { "read" } else { "made" };
            format!(
                "Stale read: {bx} returned {}, older than the value {by} had already {saw} (it completed before the \
                 read began).",
                history.op(x).output
            )
        } else {
            format!("{bx} must take effect before {by}, but {by} completed before it began.")
        };
        format!(
            "{lead} In detail: the {} can only follow one another in this order (each cas replaces the value before \
             it, and no value is written twice), so {} must be linearized before {}; but the latter completed before \
             the former began.",
            chain_name(ops, succ, head, initial).replacen("value ", "values ", 1),
            show(history, x),
            show(history, y)
        )
    };
    let ids = if wrote_it { [y, x] } else { [x, y] };
    let rule = if wrote_it {
        RegisterRule::ReadBeforeWrite { ops: ids, read: y, write: x }
    } else {
        RegisterRule::CasChainOrder { first: Some(x), then: Some(y), ops: ids.to_vec() }
    };
    anomaly(history, &ids, explanation, rule)
}

/// Op `y_c` of the initial chain (named `vc`) must precede every write, but
/// `x_d` completed before it began (`via` it came after the write).
fn initial_first(history: &History, y_c: OpId, x_d: OpId, vc: &str, via: &str) -> String {
    let needs = if vc.starts_with("values") {
        format!("belongs to the run of {vc} that starts from the initial state")
    } else {
        format!("needs {vc}")
    };
    format!(
        "Too late for {vc}: {} needs it, but a write had already taken effect before it began. In detail: it \
         {needs}, so it must be linearized before every write; but {} completed before it began{via}.",
        show(history, y_c),
        show(history, x_d)
    )
}

/// Chains `c` and `d` must each precede the other: `f(c) < s(d)` and
/// `f(d) < s(c)`.
fn cycle(
    history: &History,
    ops: &RegisterOps<'_>,
    succ: &[Option<u32>],
    c: &Chain,
    d: &Chain,
    initial: &Value,
) -> Anomaly {
    // Put the initial chain, if any, first: it precedes everything.
    let (c, d) = if d.write.is_none() { (d, c) } else { (c, d) };
    let (w_c, w_d) = (c.write, d.write);
    // Every chain has an op with its largest invoke; d has a write.
    let (Some(y_c), Some(y_d), Some(x_d)) = (c.s_op, d.s_op, d.f_op) else {
        let explanation = "two values must each be linearized before the other".to_string();
        let rule = RegisterRule::ConflictingValueOrder { ops: Vec::new(), values: None, writes: None };
        return anomaly(history, &[], explanation, rule);
    };
    let vd = chain_name(ops, succ, d.head, initial);
    let vc = chain_name(ops, succ, c.head, initial);
    let wd = w_d.map(|w| show(history, w)).unwrap_or_default();
    let (order, explanation) = if c.write.is_none() {
        let via =
            if Some(x_d) == w_d { String::new() } else { format!(", and it comes after {wd}, which starts {vd}") };
        (vec![Some(y_c), Some(x_d), w_d], initial_first(history, y_c, x_d, &vc, &via))
    } else {
        let x_c = c.f_op.unwrap_or(y_c);
        let wc = w_c.map(|w| show(history, w)).unwrap_or_default();
        let single = |ch: &Chain| ch.end - ch.start;
        if single(d) == 1 && Some(x_c) == w_c && y_c != x_c && !vc.starts_with("values") {
            // The common shape: w(c) < w(d) < a read of c's value.
            let bare = |v: &str| v.trim_start_matches("value ").to_string();
            let text = format!(
                "Stale read: {} saw {} after {} had overwritten it. In detail: it began after {wd} completed, \
                 which itself began after {wc} completed, so the read must see {} or a later value.",
                show(history, y_c),
                bare(&vc),
                bare(&vd),
                bare(&vd)
            );
            (vec![Some(y_c), w_d, w_c], text)
        } else {
            let text = format!(
                "The {vc} and the {vd} must each come before the other. In detail: the write of a value and the \
                 ops that read it (or cas from it) must be linearized as one block with no other write inside. {} \
                 completed before {} began, so the block of {vc} must come before \
                 the block of {vd}; but {} completed before {} began, which forces the block of {vd} first. ({vc} \
                 starts with {wc}; {vd} with {wd}.)",
                show(history, x_c),
                show(history, y_d),
                show(history, x_d),
                show(history, y_c)
            );
            (vec![Some(x_c), Some(y_d), Some(x_d), Some(y_c), w_c, w_d], text)
        }
    };
    // The ops named, first mention first.
    let mut ids: Vec<OpId> = Vec::new();
    for id in order.into_iter().flatten() {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let value_of = |ch: &Chain| (ch.head < ops.values.len()).then(|| ops.values[ch.head].clone());
    let rule = RegisterRule::ConflictingValueOrder {
        ops: ids.clone(),
        values: Some([value_of(c), value_of(d)]),
        writes: Some([w_c, w_d]),
    };
    anomaly(history, &ids, explanation, rule)
}
