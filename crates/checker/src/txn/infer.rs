//! Version orders and dependencies, key by key (in parallel), and the
//! anomalies visible without a cycle.
//!
//! List-append: every element is appended once, a read returns the whole
//! list, so each read is a prefix of the key's version order, which is the
//! longest read. A key whose reads are not all prefixes of one list
//! (incompatible-order) or that repeats an element (duplicate-elements) has
//! no trustworthy version order: it contributes only write-read edges.
//! Appends no read observed come after every observed one.
//!
//! rw-register: values are unique per key, so a read names its writer (wr).
//! The version order is partial, built from sources in Elle's order: the
//! initial state `nil` precedes every value; within an ok transaction a
//! write follows the key's first read (writes follow reads); optionally each
//! key is sequential (process order) or linearizable (real time). A source
//! that would make a key's version graph cyclic is dropped for that key and
//! reported (cyclic-versions). Each version edge `v1 < v2` yields ww
//! (writer of v1 to writer of v2) and rw (readers of v1 to writer of v2).

use super::graph::{EdgeSet, RW, WR, WW};
use super::history::{ElemId, KeyId, Mop, MopF, TxnHistory, Workload, NIL, NONE, UNKNOWN};
use crate::history::Outcome;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Which version-order sources a rw-register check may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionSources {
    /// Within an ok transaction, a write to a key follows its first read of it.
    pub wfr: bool,
    /// Each key is sequentially consistent: a process sees its versions in order.
    pub sequential_keys: bool,
    /// Each key is linearizable: real time orders its versions.
    pub linearizable_keys: bool,
}

impl Default for VersionSources {
    fn default() -> Self {
        VersionSources { wfr: true, sequential_keys: false, linearizable_keys: false }
    }
}

/// Bits naming where a version edge came from.
pub const SRC_INITIAL: u8 = 1;
pub const SRC_WFR: u8 = 2;
pub const SRC_PROCESS: u8 = 4;
pub const SRC_REALTIME: u8 = 8;

/// A read micro-op: transaction slot and global micro-op index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct At {
    pub slot: u32,
    pub mop: u32,
}

/// An anomaly found without a cycle, with what is needed to explain it.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    /// A read returned `elem` `count` times.
    DuplicateElements { read: At, elem: ElemId, count: u32 },
    /// Two reads of one key that are not prefixes of one list.
    IncompatibleOrder { key: KeyId, a: At, b: At },
    /// A read of an element or value no transaction wrote.
    GarbageRead { read: At, elem: ElemId },
    /// A read of a failed transaction's write.
    G1a { read: At, elem: ElemId, writer: u32 },
    /// A read of a state another transaction later overwrote itself.
    G1b { read: At, elem: ElemId, writer: u32 },
    /// A committed append after a failed one in the version order.
    DirtyUpdate { key: KeyId, failed: ElemId, later: ElemId },
    /// Transactions that read the same version of `key` and all wrote it:
    /// (first read, first write) of each.
    LostUpdate { key: KeyId, txns: Vec<(At, At)> },
    /// A read that disagrees with the transaction's own earlier reads and
    /// writes of the key: `expected` are the elements (or the value) it
    /// should have seen; `prefix_known` is false when only their tail is
    /// known.
    Internal { read: At, expected: Vec<u32>, prefix_known: bool },
    /// A read of a value the transaction itself writes later.
    FutureRead { read: At, write: At, elem: ElemId },
    /// A cycle in a key's version graph once `source` is added.
    CyclicVersions { key: KeyId, values: Vec<u32>, source: u8 },
}

/// Per-key facts kept for explaining cycle steps.
#[derive(Clone, Debug, Default)]
pub struct KeyFacts {
    /// List-append: the key's version order is trusted (no incompatible
    /// reads, no duplicates).
    pub ordered: bool,
    /// rw-register: version edges `(from, to, sources)` sorted, `from` may
    /// be [`NIL`]; only `to` values with no other predecessor get `NIL` edges.
    pub versions: Vec<(u32, u32, u8)>,
}

/// The output of inference.
pub struct Inferred {
    /// Node -> slot.
    pub slot_of: Vec<u32>,
    /// List-append: each element's position in its key's version order.
    pub pos: Vec<u32>,
    pub edges: Vec<EdgeSet>,
    pub findings: Vec<Finding>,
    pub keys: Vec<KeyFacts>,
}

/// Micro-ops grouped by key: `at[off[k]..off[k+1]]`, in op order.
struct ByKey {
    off: Vec<u32>,
    at: Vec<At>,
}

fn by_key(h: &TxnHistory) -> ByKey {
    let nk = h.keys.len();
    let mut off = vec![0u32; nk + 1];
    for m in &h.mops {
        off[m.key as usize + 1] += 1;
    }
    for k in 0..nk {
        off[k + 1] += off[k];
    }
    let mut fill = off.clone();
    let mut at = vec![At { slot: 0, mop: 0 }; h.mops.len()];
    for (slot, t) in h.txns.iter().enumerate() {
        for i in t.mops_start..t.mops_start + t.mops_len {
            let k = h.mops[i as usize].key as usize;
            at[fill[k] as usize] = At { slot: slot as u32, mop: i };
            fill[k] += 1;
        }
    }
    ByKey { off, at }
}

pub fn infer(h: &TxnHistory, src: VersionSources) -> Inferred {
    let mut node_of = vec![NONE; h.txns.len()];
    let mut slot_of = Vec::with_capacity(h.txns.len());
    for (slot, t) in h.txns.iter().enumerate() {
        if t.outcome != Outcome::Fail {
            node_of[slot] = slot_of.len() as u32;
            slot_of.push(slot as u32);
        }
    }
    let bk = by_key(h);
    // Positions in the version order, and where each key first repeats one.
    let mut pos = vec![NONE; h.elems.len()];
    let mut dup_at = vec![NONE; h.keys.len()];
    if h.workload == Workload::ListAppend {
        for (k, order) in h.longest.iter().enumerate() {
            for (i, &e) in order.iter().enumerate() {
                if pos[e as usize] == NONE {
                    pos[e as usize] = i as u32;
                } else if dup_at[k] == NONE {
                    dup_at[k] = i as u32;
                }
            }
        }
    }
    let cx = Cx { h, node_of: &node_of, pos: &pos, src };
    let per_key: Vec<(EdgeSet, Vec<Finding>, KeyFacts)> = (0..h.keys.len())
        .into_par_iter()
        .map(|k| {
            let ats = &bk.at[bk.off[k] as usize..bk.off[k + 1] as usize];
            match h.workload {
                Workload::ListAppend => cx.list_key(k as KeyId, ats, dup_at[k]),
                Workload::RwRegister => cx.register_key(k as KeyId, ats),
            }
        })
        .collect();
    let per_txn: Vec<Vec<Finding>> = (0..h.txns.len())
        .into_par_iter()
        .with_min_len(1024)
        .map(|slot| cx.txn_findings(slot as u32))
        .filter(|f| !f.is_empty())
        .collect();
    let mut edges = Vec::with_capacity(per_key.len());
    let mut findings = Vec::new();
    let mut keys = Vec::with_capacity(per_key.len());
    for (e, f, facts) in per_key {
        edges.push(e);
        findings.extend(f);
        keys.push(facts);
    }
    findings.extend(per_txn.into_iter().flatten());
    Inferred { slot_of, pos, edges, findings, keys }
}

struct Cx<'a> {
    h: &'a TxnHistory,
    node_of: &'a [u32],
    pos: &'a [u32],
    src: VersionSources,
}

impl Cx<'_> {
    fn mop(&self, a: At) -> &Mop {
        &self.h.mops[a.mop as usize]
    }

    fn outcome(&self, slot: u32) -> Outcome {
        self.h.txns[slot as usize].outcome
    }

    /// Is the write of `elem` the last write of its key in its transaction?
    fn final_write(&self, elem: ElemId) -> bool {
        let e = &self.h.elems[elem as usize];
        let t = &self.h.txns[e.writer as usize];
        let later = (e.writer_mop + 1..t.mops_len).map(|i| &self.h.mops[(t.mops_start + i) as usize]);
        !later.into_iter().any(|m| m.key == e.key && m.f != MopF::Read)
    }

    /// Anomalies of a read of `elem` written by someone else: aborted,
    /// intermediate or garbage.
    fn dirty(&self, read: At, elem: ElemId, out: &mut Vec<Finding>) {
        let writer = self.h.elems[elem as usize].writer;
        if writer == NONE {
            out.push(Finding::GarbageRead { read, elem });
        } else if writer != read.slot {
            if self.outcome(writer) == Outcome::Fail {
                out.push(Finding::G1a { read, elem, writer });
            } else if !self.final_write(elem) {
                out.push(Finding::G1b { read, elem, writer });
            }
        }
    }

    fn list_key(&self, key: KeyId, ats: &[At], dup_at: u32) -> (EdgeSet, Vec<Finding>, KeyFacts) {
        let h = self.h;
        let order = &h.longest[key as usize];
        let m = order.len() as u32;
        let mut out = Vec::new();
        let mut es = EdgeSet::default();
        // Ok reads: (at, length) for shared ones; explicit ones separately.
        let mut reads: Vec<(At, u32)> = Vec::new();
        let mut explicit: Vec<At> = Vec::new();
        let mut unread: Vec<u32> = Vec::new();
        for &a in ats {
            let mop = self.mop(a);
            match mop.f {
                MopF::Read if mop.v == UNKNOWN => {}
                MopF::Read if mop.v == NIL => reads.push((a, 0)),
                MopF::Read => {
                    let lr = h.list_reads[mop.v as usize];
                    if lr.explicit == NONE {
                        reads.push((a, lr.len));
                    } else {
                        explicit.push(a);
                    }
                }
                _ => {
                    if self.pos[mop.v as usize] == NONE && self.outcome(a.slot) != Outcome::Fail {
                        unread.push(self.node_of[a.slot as usize]);
                    }
                }
            }
        }
        // Garbage and aborted elements, once per element, at the first
        // read that shows it (reads come in op order).
        let mut first_reader = Vec::with_capacity(m as usize);
        for &(a, len) in &reads {
            while (first_reader.len() as u32) < len {
                first_reader.push(a);
            }
        }
        for (i, &e) in order.iter().enumerate() {
            let w = h.elems[e as usize].writer;
            if (w == NONE || self.outcome(w) == Outcome::Fail) && i < first_reader.len() {
                self.dirty(first_reader[i], e, &mut out);
            }
        }
        // Intermediate reads, at every read.
        for &(a, len) in &reads {
            if len > 0 {
                let e = order[len as usize - 1];
                let w = h.elems[e as usize].writer;
                if w != NONE && w != a.slot && self.outcome(w) != Outcome::Fail && !self.final_write(e) {
                    out.push(Finding::G1b { read: a, elem: e, writer: w });
                }
            }
        }
        for &a in &explicit {
            let elems = h.list_read(key, self.mop(a).v);
            for &e in elems {
                let w = h.elems[e as usize].writer;
                if w == NONE || self.outcome(w) == Outcome::Fail {
                    self.dirty(a, e, &mut out);
                }
            }
            if let Some(&e) = elems.last() {
                let w = h.elems[e as usize].writer;
                if w != NONE && w != a.slot && self.outcome(w) != Outcome::Fail && !self.final_write(e) {
                    out.push(Finding::G1b { read: a, elem: e, writer: w });
                }
            }
            if let Some((e, count)) = duplicate(elems) {
                out.push(Finding::DuplicateElements { read: a, elem: e, count });
            }
        }
        if dup_at != NONE {
            let (e, count) = duplicate(order).expect("dup_at says there is one");
            for &(a, len) in &reads {
                if len > dup_at {
                    let (_, c) = duplicate(&order[..len as usize]).unwrap_or((e, count));
                    out.push(Finding::DuplicateElements { read: a, elem: e, count: c });
                }
            }
        }
        let ordered = explicit.is_empty() && dup_at == NONE;
        if let Some(&b) = explicit.first() {
            // The read that set the longest list, against the first that
            // does not fit it.
            let a = reads.iter().filter(|r| r.1 == m).map(|r| r.0).next();
            if let Some(a) = a {
                out.push(Finding::IncompatibleOrder { key, a, b });
            } else {
                let c = explicit.get(1).copied().unwrap_or(b);
                out.push(Finding::IncompatibleOrder { key, a: b, b: c });
            }
        }
        self.lost_updates(key, ats, &mut out);
        // Write-read edges need no version order: a read names the writer
        // of its last element.
        let node = |slot: u32| self.node_of[slot as usize];
        for &(a, len) in &reads {
            if len > 0 {
                let w = h.elems[order[len as usize - 1] as usize].writer;
                if w != NONE && node(w) != NONE {
                    es.push(node(w), node(a.slot), WR);
                }
            }
        }
        for &a in &explicit {
            if let Some(&e) = h.list_read(key, self.mop(a).v).last() {
                let w = h.elems[e as usize].writer;
                if w != NONE && node(w) != NONE {
                    es.push(node(w), node(a.slot), WR);
                }
            }
        }
        if ordered {
            self.dirty_updates(key, order, &mut out);
            let writer = |i: u32| {
                let w = h.elems[order[i as usize] as usize].writer;
                if w == NONE {
                    NONE
                } else {
                    node(w)
                }
            };
            for i in 1..m {
                let (a, b) = (writer(i - 1), writer(i));
                if a != NONE && b != NONE {
                    es.push(a, b, WW);
                }
            }
            // Readers by length, for rw edges to the next append.
            let mut by_len: Vec<(u32, u32)> = reads.iter().map(|&(a, len)| (len, node(a.slot))).collect();
            by_len.sort_unstable();
            by_len.dedup();
            let mut full: Vec<u32> = Vec::new();
            for &(len, r) in &by_len {
                if len < m {
                    let w = writer(len);
                    if w != NONE {
                        es.push(r, w, RW);
                    }
                } else {
                    full.push(r);
                }
            }
            unread.sort_unstable();
            unread.dedup();
            if m > 0 {
                let last = writer(m - 1);
                if last != NONE {
                    for &u in &unread {
                        es.push(last, u, WW);
                    }
                }
            }
            es.all_to_all(&full, &unread, RW);
        }
        (es, out, KeyFacts { ordered, versions: Vec::new() })
    }

    /// Dirty update: in the version order, a committed append after a
    /// failed one (with only indeterminate appends between).
    fn dirty_updates(&self, key: KeyId, order: &[ElemId], out: &mut Vec<Finding>) {
        let mut failed: Option<ElemId> = None;
        for &e in order {
            let w = self.h.elems[e as usize].writer;
            if w == NONE {
                continue;
            }
            match self.outcome(w) {
                Outcome::Fail => {
                    failed.get_or_insert(e);
                }
                Outcome::Ok => {
                    if let Some(f) = failed.take() {
                        out.push(Finding::DirtyUpdate { key, failed: f, later: e });
                    }
                }
                Outcome::Info => {}
            }
        }
    }

    /// Lost update: committed transactions that read the same version of a
    /// key (their first read of it, before writing it) and then wrote it.
    fn lost_updates(&self, key: KeyId, ats: &[At], out: &mut Vec<Finding>) {
        let h = self.h;
        // Version read -> (first read, first write) per transaction.
        let mut groups: FxHashMap<Vec<u32>, Vec<(At, At)>> = FxHashMap::default();
        let mut i = 0;
        while i < ats.len() {
            let slot = ats[i].slot;
            let mut j = i;
            while j < ats.len() && ats[j].slot == slot {
                j += 1;
            }
            if self.outcome(slot) == Outcome::Ok {
                let mut read: Option<At> = None;
                for &a in &ats[i..j] {
                    let m = self.mop(a);
                    match m.f {
                        MopF::Read => {
                            read.get_or_insert(a);
                        }
                        _ => {
                            if let Some(r) = read {
                                let rm = self.mop(r);
                                let version: Vec<u32> = match h.workload {
                                    Workload::ListAppend => match h.read_elems(rm) {
                                        Some(els) => {
                                            let lr = (rm.v != NIL).then(|| h.list_reads[rm.v as usize]);
                                            match lr {
                                                Some(lr) if lr.explicit == NONE => vec![lr.len],
                                                None => vec![0],
                                                Some(_) => {
                                                    std::iter::once(u32::MAX).chain(els.iter().copied()).collect()
                                                }
                                            }
                                        }
                                        None => break,
                                    },
                                    Workload::RwRegister => vec![rm.v],
                                };
                                groups.entry(version).or_default().push((r, a));
                            }
                            break;
                        }
                    }
                }
            }
            i = j;
        }
        let mut gs: Vec<Vec<(At, At)>> = groups.into_values().filter(|g| g.len() > 1).collect();
        gs.sort_unstable();
        for txns in gs {
            out.push(Finding::LostUpdate { key, txns });
        }
    }

    /// First read and last write of `key` in an ok or info transaction:
    /// its external read (ok only; [`NIL`] for nil) and external write.
    fn ext(&self, ats: &[At]) -> (u32, u32) {
        let slot = ats[0].slot;
        let ok = self.outcome(slot) == Outcome::Ok;
        let mut read = NONE;
        let mut write = NONE;
        for &a in ats {
            let m = self.mop(a);
            match m.f {
                MopF::Read => {
                    if ok && read == NONE && write == NONE {
                        read = m.v;
                    }
                }
                _ => write = m.v,
            }
        }
        (read, write)
    }

    fn register_key(&self, key: KeyId, ats: &[At]) -> (EdgeSet, Vec<Finding>, KeyFacts) {
        let h = self.h;
        let mut out = Vec::new();
        let mut es = EdgeSet::default();
        let node = |slot: u32| self.node_of[slot as usize];
        // Per transaction on this key: (slot, ext read, ext write).
        let mut per: Vec<(u32, u32, u32)> = Vec::new();
        let mut i = 0;
        while i < ats.len() {
            let slot = ats[i].slot;
            let mut j = i;
            while j < ats.len() && ats[j].slot == slot {
                j += 1;
            }
            if self.outcome(slot) != Outcome::Fail {
                let (r, w) = self.ext(&ats[i..j]);
                per.push((slot, r, w));
            }
            if self.outcome(slot) == Outcome::Ok {
                for &a in &ats[i..j] {
                    let m = self.mop(a);
                    if m.f == MopF::Read && m.v != NIL {
                        self.dirty(a, m.v, &mut out);
                    }
                }
            }
            i = j;
        }
        self.lost_updates(key, ats, &mut out);
        // Readers of each value (by external read) and the writer (external write).
        let mut readers: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut writer: FxHashMap<u32, u32> = FxHashMap::default();
        for &(slot, r, w) in &per {
            if r != NONE && r != UNKNOWN {
                readers.entry(r).or_default().push(node(slot));
            }
            if w != NONE {
                writer.insert(w, node(slot));
            }
        }
        // wr: a read names its writer.
        for (&v, rs) in &readers {
            if v == NIL {
                continue;
            }
            if let Some(&w) = writer.get(&v) {
                for &r in rs {
                    es.push(w, r, WR);
                }
            }
        }
        // Version graph, source by source.
        let mut versions: Vec<(u32, u32, u8)> = Vec::new();
        let try_add =
            |edges: Vec<(u32, u32)>, source: u8, versions: &mut Vec<(u32, u32, u8)>, out: &mut Vec<Finding>| {
                if edges.is_empty() {
                    return;
                }
                let mut cand = versions.clone();
                cand.extend(edges.iter().filter(|(a, b)| a != b).map(|&(a, b)| (a, b, source)));
                if let Some(cycle) = version_cycle(&cand) {
                    out.push(Finding::CyclicVersions { key, values: cycle, source });
                    return;
                }
                *versions = cand;
            };
        if self.src.wfr {
            let e: Vec<(u32, u32)> = per
                .iter()
                .filter(|&&(_, r, w)| r != NONE && r != NIL && r != UNKNOWN && w != NONE)
                .map(|&(_, r, w)| (r, w))
                .collect();
            try_add(e, SRC_WFR, &mut versions, &mut out);
        }
        // For the process and real-time sources: the last version a
        // transaction saw or made, and the first.
        let last = |&(slot, r, w): &(u32, u32, u32)| -> u32 {
            match self.outcome(slot) {
                Outcome::Ok if w != NONE => w,
                Outcome::Ok if r != NONE && r != UNKNOWN => r,
                Outcome::Info if w != NONE => w,
                _ => NONE,
            }
        };
        let first = |&(slot, r, w): &(u32, u32, u32)| -> u32 {
            match self.outcome(slot) {
                Outcome::Ok if r != NONE && r != UNKNOWN => r,
                Outcome::Ok | Outcome::Info if w != NONE => w,
                _ => NONE,
            }
        };
        if self.src.sequential_keys {
            let mut by_proc: Vec<&(u32, u32, u32)> = per.iter().collect();
            by_proc.sort_by_key(|p| (h.txns[p.0 as usize].process, h.txns[p.0 as usize].call));
            let mut e = Vec::new();
            for w in by_proc.windows(2) {
                let (a, b) = (w[0], w[1]);
                if h.txns[a.0 as usize].process == h.txns[b.0 as usize].process {
                    let (x, y) = (last(a), first(b));
                    if x != NONE && y != NONE && x != y && y != NIL {
                        e.push((x, y));
                    }
                }
            }
            try_add(e, SRC_PROCESS, &mut versions, &mut out);
        }
        if self.src.linearizable_keys {
            // Sweep invocations and completions; `frontier` holds completed
            // transactions no later-completed one has superseded.
            let mut evs: Vec<(u64, bool, usize)> = Vec::new();
            for (i, p) in per.iter().enumerate() {
                let t = &h.txns[p.0 as usize];
                evs.push((t.call, true, i));
                if t.ret != u64::MAX {
                    evs.push((t.ret, false, i));
                }
            }
            evs.sort_unstable();
            let mut frontier: Vec<usize> = Vec::new();
            let mut seen_by: Vec<Vec<usize>> = vec![Vec::new(); per.len()];
            let mut e = Vec::new();
            for &(_, invoke, i) in &evs {
                if invoke {
                    seen_by[i] = frontier.clone();
                    let y = first(&per[i]);
                    for &a in &frontier {
                        let x = last(&per[a]);
                        if x != NONE && y != NONE && x != y && y != NIL {
                            e.push((x, y));
                        }
                    }
                } else {
                    let covered = std::mem::take(&mut seen_by[i]);
                    frontier.retain(|a| !covered.contains(a));
                    if last(&per[i]) != NONE {
                        frontier.push(i);
                    } else {
                        // A transaction that leaves no version passes its
                        // predecessors on.
                        frontier.extend(covered);
                        frontier.sort_unstable();
                        frontier.dedup();
                    }
                }
            }
            try_add(e, SRC_REALTIME, &mut versions, &mut out);
        }
        versions.sort_unstable();
        versions.dedup_by(|b, a| {
            if a.0 == b.0 && a.1 == b.1 {
                a.2 |= b.2;
                true
            } else {
                false
            }
        });
        // The initial state precedes every value with no other predecessor.
        let mut has_pred: Vec<u32> = versions.iter().map(|v| v.1).collect();
        has_pred.sort_unstable();
        has_pred.dedup();
        let mut values: Vec<u32> =
            writer.keys().copied().chain(readers.keys().copied()).filter(|&v| v != NIL).collect();
        values.sort_unstable();
        values.dedup();
        let roots: Vec<u32> = values.iter().copied().filter(|v| has_pred.binary_search(v).is_err()).collect();
        for &v in &roots {
            versions.push((NIL, v, SRC_INITIAL));
        }
        versions.sort_unstable();
        // ww along every version edge between written values.
        for &(v1, v2, _) in &versions {
            if let (Some(&w1), Some(&w2)) = (writer.get(&v1), writer.get(&v2)) {
                es.push(w1, w2, WW);
            }
        }
        // rw grouped by source version, so many readers share a hub.
        let mut i = 0;
        while i < versions.len() {
            let v1 = versions[i].0;
            let mut j = i;
            while j < versions.len() && versions[j].0 == v1 {
                j += 1;
            }
            if let Some(rs) = readers.get(&v1) {
                let mut ws: Vec<u32> = versions[i..j].iter().filter_map(|v| writer.get(&v.1).copied()).collect();
                ws.sort_unstable();
                ws.dedup();
                let mut rs = rs.clone();
                rs.sort_unstable();
                rs.dedup();
                es.all_to_all(&rs, &ws, RW);
            }
            i = j;
        }
        (es, out, KeyFacts { ordered: false, versions })
    }

    /// Internal consistency and future reads, within one ok transaction.
    fn txn_findings(&self, slot: u32) -> Vec<Finding> {
        let h = self.h;
        let t = &h.txns[slot as usize];
        let mut out = Vec::new();
        if t.outcome != Outcome::Ok {
            return out;
        }
        let mops = h.mops_of(t);
        // Key -> what the transaction expects to read next: the elements
        // (or value), and whether the prefix before them is known.
        let mut expect: Vec<(KeyId, Vec<u32>, bool)> = Vec::new();
        let mut internal_done = false;
        let mut future_done = false;
        for (i, m) in mops.iter().enumerate() {
            let at = At { slot, mop: t.mops_start + i as u32 };
            let slot_e = expect.iter().position(|x| x.0 == m.key);
            match (m.f, h.workload) {
                (MopF::Read, Workload::ListAppend) => {
                    let Some(got) = h.read_elems(m) else { continue };
                    if let Some(x) = slot_e {
                        let (_, want, known) = &expect[x];
                        let fits = if *known {
                            got == &want[..]
                        } else {
                            got.len() >= want.len() && got[got.len() - want.len()..] == want[..]
                        };
                        if !fits && !internal_done {
                            out.push(Finding::Internal { read: at, expected: want.clone(), prefix_known: *known });
                            internal_done = true;
                        }
                        expect[x] = (m.key, got.to_vec(), true);
                    } else {
                        expect.push((m.key, got.to_vec(), true));
                    }
                }
                (MopF::Read, Workload::RwRegister) => {
                    if let Some(x) = slot_e {
                        let want = expect[x].1[0];
                        if want != m.v && !internal_done {
                            out.push(Finding::Internal { read: at, expected: vec![want], prefix_known: true });
                            internal_done = true;
                        }
                        expect[x].1[0] = m.v;
                    } else {
                        expect.push((m.key, vec![m.v], true));
                    }
                }
                (MopF::Append, _) => match slot_e {
                    Some(x) => expect[x].1.push(m.v),
                    None => expect.push((m.key, vec![m.v], false)),
                },
                (MopF::Write, _) => match slot_e {
                    Some(x) => expect[x].1 = vec![m.v],
                    None => expect.push((m.key, vec![m.v], true)),
                },
            }
            // A later write of something this read already saw.
            if m.f != MopF::Read && !future_done {
                for (j, r) in mops[..i].iter().enumerate() {
                    if r.f != MopF::Read || r.key != m.key {
                        continue;
                    }
                    let saw = match h.workload {
                        Workload::ListAppend => h.read_elems(r).is_some_and(|els| {
                            let p = self.pos[m.v as usize];
                            let lr = (r.v != NIL).then(|| h.list_reads[r.v as usize]);
                            match lr {
                                Some(lr) if lr.explicit == NONE => p != NONE && p < lr.len,
                                _ => els.contains(&m.v),
                            }
                        }),
                        Workload::RwRegister => r.v == m.v,
                    };
                    if saw {
                        let read = At { slot, mop: t.mops_start + j as u32 };
                        out.push(Finding::FutureRead { read, write: at, elem: m.v });
                        future_done = true;
                        break;
                    }
                }
            }
        }
        out
    }
}

/// The first element repeated in `xs`, and how often it occurs.
fn duplicate(xs: &[ElemId]) -> Option<(ElemId, u32)> {
    let mut seen: FxHashMap<ElemId, u32> = FxHashMap::default();
    let mut first = None;
    for &x in xs {
        let c = seen.entry(x).or_insert(0);
        *c += 1;
        if *c == 2 && first.is_none() {
            first = Some(x);
        }
    }
    first.map(|x| (x, seen[&x]))
}

/// A shortest cycle among version edges, as the values along it.
fn version_cycle(edges: &[(u32, u32, u8)]) -> Option<Vec<u32>> {
    let mut ids: Vec<u32> = edges.iter().flat_map(|e| [e.0, e.1]).collect();
    ids.sort_unstable();
    ids.dedup();
    let idx = |v: u32| ids.binary_search(&v).expect("listed") as u32;
    let mut adj: Vec<Vec<u32>> = vec![Vec::new(); ids.len()];
    for e in edges {
        adj[idx(e.0) as usize].push(idx(e.1));
    }
    let (comp, n) = super::graph::tarjan(ids.len(), |v, out| out.extend(&adj[v as usize]));
    if n as usize == ids.len() {
        return None;
    }
    // Shortest cycle through any node of the first cyclic component.
    let mut size = vec![0u32; n as usize];
    for &c in &comp {
        size[c as usize] += 1;
    }
    let start = (0..ids.len()).find(|&v| size[comp[v] as usize] > 1)?;
    let mut prev = vec![u32::MAX; ids.len()];
    let mut queue = std::collections::VecDeque::from([start as u32]);
    while let Some(x) = queue.pop_front() {
        for &y in &adj[x as usize] {
            if y as usize == start {
                let mut path = vec![ids[x as usize]];
                let mut at = x;
                while at as usize != start {
                    at = prev[at as usize];
                    path.push(ids[at as usize]);
                }
                path.reverse();
                return Some(path);
            }
            if prev[y as usize] == u32::MAX && comp[y as usize] == comp[start] {
                prev[y as usize] = x;
                queue.push_back(y);
            }
        }
    }
    None
}
