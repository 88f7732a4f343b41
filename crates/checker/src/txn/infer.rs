//! Version orders and dependencies, key by key (in parallel), and the
//! anomalies visible without a cycle.
//!
//! List-append: every element is appended once, a read returns the whole
//! list, so each read is a prefix of the key's version order, which is the
//! longest read. A key whose reads are not all prefixes of one list
//! (incompatible-order) or that repeats an element (duplicate-elements) has
//! no trustworthy version order: it contributes only write-read edges.
//! Appends no read observed come after every observed one. Anti-dependencies
//! go through a chain of hubs along the version order, so a reader reaches
//! the next writer and (as one rw step) every later one: what read atomic
//! and causal consistency need to see a missed write.
//!
//! rw-register: values are unique per key, so a read names its writer (wr).
//! The version order is partial, built from sources in Elle's order: the
//! initial state `nil` precedes every value; within an ok transaction a
//! write follows the key's first read (writes follow reads); optionally each
//! key is sequential (process order) or linearizable (real time): every
//! version a transaction saw (reads before its write) or made precedes
//! every one a later transaction (of its process, or invoked after it
//! completed) saw or made, nil coming first (a read of nil after one is
//! cyclic-versions). A source
//! that would make a key's version graph cyclic is dropped for that key and
//! reported (cyclic-versions). Each version edge `v1 < v2` yields ww
//! (writer of v1 to writer of v2) and rw (readers of v1 to writer of v2).
//!
//! What counts as evidence depends on the model judged ([`Evidence`]): as in
//! Adya's definitions, the PL levels see only a transaction's reads that
//! precede its own writes to the key, and writes-follow-reads holds from
//! read committed up; reads after a transaction's own writes count only for
//! models that require internal consistency (read atomic and up).

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

impl VersionSources {
    /// The default sources plus what the user assumes about the keys.
    pub fn assuming(keys: super::sources::KeyAssumptions) -> Self {
        VersionSources {
            sequential_keys: keys.sequential_keys,
            linearizable_keys: keys.linearizable_keys,
            ..VersionSources::default()
        }
    }

    /// The key assumptions among these sources.
    pub fn keys(self) -> super::sources::KeyAssumptions {
        super::sources::KeyAssumptions {
            sequential_keys: self.sequential_keys,
            linearizable_keys: self.linearizable_keys,
        }
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
    /// Reads show a transaction's appends `first`, `second` in the other
    /// order. When it committed (ok) no version order exists
    /// (cyclic-versions); when it may not have (info), reading its writes
    /// is an aborted read unless it did, so the reads are incompatible with
    /// any order of committed appends (incompatible-order).
    OwnOrder { key: KeyId, first: ElemId, second: ElemId, committed: bool },
}

impl Finding {
    /// The transaction and element of a finding about one read of one
    /// element: the same finding at another read of that element in the
    /// same transaction says nothing new (elements are per key, so the
    /// key is the same too).
    pub fn txn_elem(&self) -> Option<(u32, ElemId)> {
        match *self {
            Finding::DuplicateElements { read, elem, .. }
            | Finding::GarbageRead { read, elem }
            | Finding::G1a { read, elem, .. }
            | Finding::G1b { read, elem, .. }
            | Finding::FutureRead { read, elem, .. } => Some((read.slot, elem)),
            _ => None,
        }
    }
}

/// Which observations a pass may use. Each model is judged on the evidence
/// valid under it (see the module docs); inference runs once per distinct
/// setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Evidence {
    /// Writes follow reads within a transaction (read committed and up).
    pub wfr: bool,
    /// What a list read after the transaction's own appends to the key
    /// tells, when it shows them (it is `internal` otherwise).
    pub post_write_reads: PostWrite,
    /// An info transaction whose write was read committed (else the read
    /// was an aborted read, which read committed forbids): info
    /// transactions are in the graph. Read uncommitted allows aborted
    /// reads, so under it they are left out (the committed transactions'
    /// order is the version order without them).
    pub info_committed: bool,
}

/// See [`Evidence::post_write_reads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PostWrite {
    /// Nothing: the PL levels judge only reads before a transaction's own
    /// writes.
    Ignored,
    /// The elements before its own: the state it saw (read atomic, causal:
    /// its appends may land after later states than the one it saw).
    View,
    /// The whole list: a version, its appends right after the state it saw
    /// (snapshot isolation and up: no concurrent writer of the key commits).
    Version,
}

/// Internal consistency, decided once per history: the findings and, per
/// global micro-op, whether that read contradicts the transaction's own
/// earlier micro-ops.
pub struct Internal {
    pub findings: Vec<Finding>,
    pub bad: Vec<bool>,
}

/// Per-key facts kept for explaining cycle steps.
#[derive(Clone, Debug, Default)]
pub struct KeyFacts {
    /// List-append: the version order this pass inferred, and whether it is
    /// trusted (no incompatible reads, no duplicates).
    pub order: Vec<ElemId>,
    pub ordered: bool,
    /// rw-register: version edges `(from, to, sources)` sorted, `from` may
    /// be [`NIL`]; only `to` values with no other predecessor get `NIL` edges.
    pub versions: Vec<(u32, u32, u8)>,
}

/// The output of one inference pass.
pub struct Inferred {
    pub evidence: Evidence,
    /// Node -> slot.
    pub slot_of: Vec<u32>,
    /// List-append: each element's position in its key's version order.
    pub pos: Vec<u32>,
    pub edges: Vec<EdgeSet>,
    pub findings: Vec<Finding>,
    pub keys: Vec<KeyFacts>,
}

impl Inferred {
    /// A shortest chain of version edges `v1 < ... < v2` of `key`, each with
    /// its source bits: one the history proves (initial state, writes
    /// following reads) when there is one, else one through the key
    /// assumptions; `None` when the versions are not ordered so.
    pub fn version_path(&self, key: KeyId, v1: u32, v2: u32) -> Option<Vec<(u32, u32, u8)>> {
        let vs = &self.keys[key as usize].versions;
        let proven = |e: &(u32, u32, u8)| e.2 & (SRC_INITIAL | SRC_WFR) != 0;
        version_chain(vs, v1, v2, proven).or_else(|| version_chain(vs, v1, v2, |_| true))
    }
}

/// The version edges leaving `v` (`vs` sorted).
fn successors(vs: &[(u32, u32, u8)], v: u32) -> &[(u32, u32, u8)] {
    &vs[vs.partition_point(|e| e.0 < v)..vs.partition_point(|e| e.0 <= v)]
}

/// Breadth first from `v1` to `v2` over the edges `usable` allows.
fn version_chain(
    vs: &[(u32, u32, u8)],
    v1: u32,
    v2: u32,
    usable: impl Fn(&(u32, u32, u8)) -> bool,
) -> Option<Vec<(u32, u32, u8)>> {
    let mut prev: FxHashMap<u32, (u32, u32, u8)> = FxHashMap::default();
    let mut queue = std::collections::VecDeque::from([v1]);
    while let Some(v) = queue.pop_front() {
        for e in successors(vs, v).iter().filter(|e| usable(e)) {
            if e.1 == v1 || prev.contains_key(&e.1) {
                continue;
            }
            prev.insert(e.1, *e);
            if e.1 == v2 {
                let mut path = vec![*e];
                while path.last().expect("nonempty").0 != v1 {
                    path.push(prev[&path.last().expect("nonempty").0]);
                }
                path.reverse();
                return Some(path);
            }
            queue.push_back(e.1);
        }
    }
    None
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

/// Groups of `ats` (sorted by slot) by transaction.
fn per_txn(ats: &[At]) -> impl Iterator<Item = &[At]> {
    ats.chunk_by(|a, b| a.slot == b.slot)
}

pub fn infer(h: &TxnHistory, src: VersionSources, evidence: Evidence, internal: &Internal) -> Inferred {
    let mut node_of = vec![NONE; h.txns.len()];
    let mut slot_of = Vec::with_capacity(h.txns.len());
    for (slot, t) in h.txns.iter().enumerate() {
        if t.outcome == Outcome::Ok || t.outcome == Outcome::Info && evidence.info_committed {
            node_of[slot] = slot_of.len() as u32;
            slot_of.push(slot as u32);
        }
    }
    let bk = by_key(h);
    // Outcomes packed, read for every micro-op (a transaction is large).
    let outcomes: Vec<Outcome> = h.txns.iter().map(|t| t.outcome).collect();
    let cx = Cx { h, node_of: &node_of, outcomes: &outcomes, src, ev: evidence, bad: &internal.bad };
    let per_key: Vec<(EdgeSet, Vec<Finding>, KeyFacts)> = (0..h.keys.len())
        .into_par_iter()
        .map(|k| {
            let ats = &bk.at[bk.off[k] as usize..bk.off[k + 1] as usize];
            match h.workload {
                Workload::ListAppend => cx.list_key(k as KeyId, ats),
                Workload::RwRegister => cx.register_key(k as KeyId, ats),
            }
        })
        .collect();
    let mut edges = Vec::with_capacity(per_key.len());
    let mut findings = Vec::new();
    let mut keys = Vec::with_capacity(per_key.len());
    for (e, f, facts) in per_key {
        edges.push(e);
        findings.extend(f);
        keys.push(facts);
    }
    let mut pos = vec![NONE; h.elems.len()];
    for facts in &keys {
        for (i, &e) in facts.order.iter().enumerate() {
            if pos[e as usize] == NONE {
                pos[e as usize] = i as u32;
            }
        }
    }
    Inferred { evidence, slot_of, pos, edges, findings, keys }
}

/// Internal consistency of every ok transaction (in parallel): a read must
/// show what the transaction's earlier micro-ops on its key left.
pub fn internal(h: &TxnHistory) -> Internal {
    let per: Vec<(Vec<u32>, Vec<Finding>)> = (0..h.txns.len() as u32)
        .into_par_iter()
        .with_min_len(1024)
        .map(|slot| internal_txn(h, slot))
        .filter(|(bad, f)| !bad.is_empty() || !f.is_empty())
        .collect();
    let mut bad = vec![false; h.mops.len()];
    let mut findings = Vec::new();
    for (b, f) in per {
        for m in b {
            bad[m as usize] = true;
        }
        findings.extend(f);
    }
    Internal { findings, bad }
}

/// The reads of one transaction that contradict its own earlier micro-ops:
/// the first of them as a finding, and the garbage, aborted elements and
/// repeats its post-write reads show (which no model explains).
fn internal_txn(h: &TxnHistory, slot: u32) -> (Vec<u32>, Vec<Finding>) {
    let t = &h.txns[slot as usize];
    let mut bad = Vec::new();
    let mut first = None;
    if t.outcome != Outcome::Ok {
        return (bad, Vec::new());
    }
    // Key -> what the transaction expects to read next: the elements (or
    // value), and whether the prefix before them is known.
    let mut expect: Vec<(KeyId, Vec<u32>, bool)> = Vec::new();
    // Keys this transaction wrote so far. The passes judge a read after
    // the transaction's own write only under some models, but what no
    // transaction wrote no model explains: garbage is found here, for all.
    let mut wrote: Vec<KeyId> = Vec::new();
    let mut garbage = Vec::new();
    for (i, m) in h.mops_of(t).iter().enumerate() {
        let at = At { slot, mop: t.mops_start + i as u32 };
        if m.f == MopF::Read && wrote.contains(&m.key) {
            let elems: &[u32] = match h.workload {
                Workload::ListAppend => h.read_elems(m).unwrap_or(&[]),
                Workload::RwRegister if m.v == NIL || m.v == UNKNOWN => &[],
                Workload::RwRegister => std::slice::from_ref(&m.v),
            };
            // Nor a list that repeats an element: every element is
            // appended once, so no version (with or without the
            // transaction's own appends) holds one twice.
            if let Some((elem, count)) = duplicate(elems) {
                garbage.push(Finding::DuplicateElements { read: at, elem, count });
            }
            // Likewise what only failed transactions wrote (aborted
            // reads). The first of each kind, independently: an aborted
            // element before a garbage one must not hide the garbage,
            // which rules out more models (read uncommitted too).
            let writer = |elem: ElemId| h.elems[elem as usize].writer;
            if let Some(&elem) = elems.iter().find(|&&e| writer(e) == NONE) {
                garbage.push(Finding::GarbageRead { read: at, elem });
            }
            let aborted = |e: ElemId| {
                writer(e) != NONE && writer(e) != slot && h.txns[writer(e) as usize].outcome == Outcome::Fail
            };
            if let Some(&elem) = elems.iter().find(|&&e| aborted(e)) {
                garbage.push(Finding::G1a { read: at, elem, writer: writer(elem) });
            }
            // And an intermediate read: the last of what it saw of others
            // (the read without its own writes so far) is a version its
            // writer overwrote itself. Read committed forbids it whatever
            // came before in the transaction (as the oracle judges it).
            let own: Vec<ElemId> =
                h.mops_of(t)[..i].iter().filter(|w| w.key == m.key && w.f != MopF::Read).map(|w| w.v).collect();
            let others = elems.strip_suffix(&own[..]).unwrap_or(elems);
            if let Some(&elem) = others.iter().rev().find(|e| !own.contains(e)) {
                let w = writer(elem);
                if w != NONE && w != slot && h.txns[w as usize].outcome != Outcome::Fail && !final_write(h, elem) {
                    garbage.push(Finding::G1b { read: at, elem, writer: w });
                }
            }
        } else if m.f != MopF::Read {
            wrote.push(m.key);
        }
        let e = expect.iter().position(|x| x.0 == m.key);
        match (m.f, h.workload) {
            (MopF::Read, Workload::ListAppend) => {
                let Some(got) = h.read_elems(m) else { continue };
                if let Some(x) = e {
                    let (_, want, known) = &expect[x];
                    let fits = if *known {
                        got == &want[..]
                    } else {
                        got.len() >= want.len() && got[got.len() - want.len()..] == want[..]
                    };
                    if !fits {
                        bad.push(at.mop);
                        first.get_or_insert(Finding::Internal {
                            read: at,
                            expected: want.clone(),
                            prefix_known: *known,
                        });
                    }
                    expect[x] = (m.key, got.to_vec(), true);
                } else {
                    expect.push((m.key, got.to_vec(), true));
                }
            }
            (MopF::Read, Workload::RwRegister) => {
                if let Some(x) = e {
                    let want = expect[x].1[0];
                    if want != m.v {
                        bad.push(at.mop);
                        first.get_or_insert(Finding::Internal { read: at, expected: vec![want], prefix_known: true });
                    }
                    expect[x].1[0] = m.v;
                } else {
                    expect.push((m.key, vec![m.v], true));
                }
            }
            (MopF::Append, _) => match e {
                Some(x) => expect[x].1.push(m.v),
                None => expect.push((m.key, vec![m.v], false)),
            },
            (MopF::Write, _) => match e {
                Some(x) => expect[x].1 = vec![m.v],
                None => expect.push((m.key, vec![m.v], true)),
            },
        }
    }
    (bad, first.into_iter().chain(garbage).collect())
}

/// Is the write of `elem` the last write of its key in its transaction?
fn final_write(h: &TxnHistory, elem: ElemId) -> bool {
    let e = &h.elems[elem as usize];
    let t = &h.txns[e.writer as usize];
    let later = (e.writer_mop + 1..t.mops_len).map(|i| &h.mops[(t.mops_start + i) as usize]);
    !later.into_iter().any(|m| m.key == e.key && m.f != MopF::Read)
}

/// A list-append read this pass uses.
struct LRead<'a> {
    at: At,
    elems: &'a [ElemId],
    /// Not a prefix of the shared longest read.
    explicit: bool,
    /// Elements before the first one this transaction appended itself: what
    /// it saw of others (all of it, for a read before its own appends).
    view: usize,
}

struct Cx<'a> {
    h: &'a TxnHistory,
    node_of: &'a [u32],
    outcomes: &'a [Outcome],
    src: VersionSources,
    ev: Evidence,
    bad: &'a [bool],
}

impl Cx<'_> {
    fn mop(&self, a: At) -> &Mop {
        &self.h.mops[a.mop as usize]
    }

    fn outcome(&self, slot: u32) -> Outcome {
        self.outcomes[slot as usize]
    }

    fn node(&self, slot: u32) -> u32 {
        self.node_of[slot as usize]
    }

    /// The graph node of `elem`'s writer, if it is in the graph.
    fn writer_node(&self, elem: ElemId) -> u32 {
        let w = self.h.elems[elem as usize].writer;
        if w == NONE {
            NONE
        } else {
            self.node(w)
        }
    }

    fn final_write(&self, elem: ElemId) -> bool {
        final_write(self.h, elem)
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

    /// May this pass use the read at `a`, `post` telling whether the
    /// transaction wrote the key before it?
    fn eligible(&self, a: At, post: bool) -> bool {
        !post || (self.ev.post_write_reads != PostWrite::Ignored && !self.bad[a.mop as usize])
    }

    fn list_key(&self, key: KeyId, ats: &[At]) -> (EdgeSet, Vec<Finding>, KeyFacts) {
        let h = self.h;
        let mut out = Vec::new();
        let mut es = EdgeSet::default();
        let mut reads: Vec<LRead> = Vec::new();
        // Each transaction's appends to this key: (micro-op, element).
        let mut own: Vec<(u32, Vec<(u32, ElemId)>)> = Vec::new();
        for group in per_txn(ats) {
            let slot = group[0].slot;
            let ok = self.outcome(slot) == Outcome::Ok;
            let mut appends: Vec<(u32, ElemId)> = Vec::new();
            for &a in group {
                let m = self.mop(a);
                if m.f != MopF::Read {
                    appends.push((a.mop, m.v));
                    continue;
                }
                if !ok || m.v == UNKNOWN || !self.eligible(a, !appends.is_empty()) {
                    continue;
                }
                let mut elems = h.read_elems(m).unwrap_or(&[]);
                let mut explicit = m.v != NIL && h.list_reads[m.v as usize].explicit != NONE;
                // An eligible read is internally consistent: it ends with the
                // transaction's own appends so far, after the state it saw.
                let view = elems.len().saturating_sub(appends.len());
                if self.ev.post_write_reads == PostWrite::View && view < elems.len() {
                    // (A repeat anywhere in a post-write read is found for
                    // every model by `internal`.) Only the state it saw: its
                    // own appends are no version evidence.
                    elems = &elems[..view];
                    explicit = true;
                }
                reads.push(LRead { at: a, elems, explicit, view });
            }
            if !appends.is_empty() {
                own.push((slot, appends));
            }
        }
        // The version order: the longest read, if every read is a prefix of it.
        let longest = reads.iter().enumerate().max_by_key(|(i, r)| (r.elems.len(), !r.explicit, std::cmp::Reverse(*i)));
        let order: Vec<ElemId> = longest.map_or(Vec::new(), |(_, r)| r.elems.to_vec());
        let order_explicit = longest.is_some_and(|(_, r)| r.explicit);
        let fits = |r: &LRead| (!order_explicit && !r.explicit) || order.starts_with(r.elems);
        let misfit = reads.iter().find(|r| !fits(r)).map(|r| r.at);
        let mut pos: FxHashMap<ElemId, u32> = FxHashMap::default();
        let mut dup_at = None;
        for (i, &e) in order.iter().enumerate() {
            if pos.insert(e, i as u32).is_some() && dup_at.is_none() {
                dup_at = Some(i);
            }
        }
        // Each transaction's appends to the key come in the order it made
        // them: a version order that has them otherwise is cyclic.
        let mut reversed = false;
        if misfit.is_none() && dup_at.is_none() {
            for (slot, appends) in &own {
                let seen: Vec<(u32, ElemId)> =
                    appends.iter().filter_map(|&(_, e)| pos.get(&e).map(|&p| (p, e))).collect();
                if let Some(w) = seen.windows(2).find(|w| w[0].0 > w[1].0) {
                    let committed = self.outcome(*slot) == Outcome::Ok;
                    out.push(Finding::OwnOrder { key, first: w[0].1, second: w[1].1, committed });
                    reversed = true;
                    break;
                }
            }
        }
        let ordered = misfit.is_none() && dup_at.is_none() && !reversed;
        if let (Some(b), Some((_, a))) = (misfit, longest) {
            out.push(Finding::IncompatibleOrder { key, a: a.at, b });
        }
        // Duplicates, garbage and aborted elements, intermediate reads.
        let m = order.len();
        let mut first_reader: Vec<At> = Vec::with_capacity(m);
        for r in reads.iter().filter(|r| fits(r)) {
            while first_reader.len() < r.elems.len() {
                first_reader.push(r.at);
            }
        }
        for (i, &e) in order.iter().enumerate() {
            let w = h.elems[e as usize].writer;
            if w == NONE || self.outcome(w) == Outcome::Fail {
                self.dirty(first_reader[i], e, &mut out);
            }
        }
        for r in &reads {
            if !fits(r) {
                for &e in r.elems {
                    let w = h.elems[e as usize].writer;
                    if w == NONE || self.outcome(w) == Outcome::Fail {
                        self.dirty(r.at, e, &mut out);
                    }
                }
            }
            let dup = match dup_at {
                Some(d) if fits(r) && r.elems.len() > d => duplicate(&r.elems[..r.elems.len()]),
                _ if !fits(r) => duplicate(r.elems),
                _ => None,
            };
            if let Some((elem, count)) = dup {
                out.push(Finding::DuplicateElements { read: r.at, elem, count });
            }
            if r.view > 0 {
                let e = r.elems[r.view - 1];
                let w = h.elems[e as usize].writer;
                if w != NONE && w != r.at.slot && self.outcome(w) != Outcome::Fail && !self.final_write(e) {
                    out.push(Finding::G1b { read: r.at, elem: e, writer: w });
                }
            }
        }
        // Future reads: a read showing an element its transaction appends later.
        for (slot, appends) in &own {
            for r in reads.iter().filter(|r| r.at.slot == *slot) {
                let later = appends.iter().find(|&&(mop, e)| {
                    mop > r.at.mop
                        && if fits(r) {
                            pos.get(&e).is_some_and(|&p| (p as usize) < r.elems.len())
                        } else {
                            r.elems.contains(&e)
                        }
                });
                if let Some(&(mop, elem)) = later {
                    out.push(Finding::FutureRead { read: r.at, write: At { slot: *slot, mop }, elem });
                }
            }
        }
        self.lost_updates(key, ats, &mut out);
        // Write-read edges need no version order: a read names the writer
        // of the last element it saw of others.
        for r in &reads {
            if r.view > 0 {
                let w = self.writer_node(r.elems[r.view - 1]);
                if w != NONE {
                    es.push(w, self.node(r.at.slot), WR);
                }
            }
        }
        if ordered {
            self.dirty_updates(key, &order, &mut out);
            self.list_order_edges(&order, &pos, &reads, &own, ats, &mut es);
        }
        (es, out, KeyFacts { order, ordered, versions: Vec::new() })
    }

    /// ww along the version order, and rw from each read through a chain
    /// of hubs: hub `c[i]` reaches the writers of `order[i..]` and of the
    /// appends no read shows, so a reader of the first `l` elements enters
    /// at `c[l]` (or, when it appends to the key itself later, reaches the
    /// writers before its own append directly: those after it follow it by
    /// ww already).
    #[allow(clippy::too_many_arguments)]
    fn list_order_edges(
        &self,
        order: &[ElemId],
        pos: &FxHashMap<ElemId, u32>,
        reads: &[LRead],
        own: &[(u32, Vec<(u32, ElemId)>)],
        ats: &[At],
        es: &mut EdgeSet,
    ) {
        let m = order.len();
        // Consecutive writers in the graph: an element of a failed (or, under
        // read uncommitted, indeterminate) transaction is no committed version.
        let mut prev = NONE;
        for &e in order {
            let w = self.writer_node(e);
            if w != NONE {
                if prev != NONE {
                    es.push(prev, w, WW);
                }
                prev = w;
            }
        }
        let mut unread: Vec<u32> = Vec::new();
        for &a in ats {
            let mop = self.mop(a);
            if mop.f != MopF::Read && !pos.contains_key(&mop.v) && self.node(a.slot) != NONE {
                unread.push(self.node(a.slot));
            }
        }
        unread.sort_unstable();
        unread.dedup();
        if prev != NONE {
            for &u in &unread {
                es.push(prev, u, WW);
            }
        }
        // Entries: (reader node, position entered).
        let mut entries: Vec<(u32, usize)> = Vec::new();
        // Readers of everything observed that append unread elements later.
        let mut full_own_unread: Vec<u32> = Vec::new();
        for r in reads {
            let (t, l) = (self.node(r.at.slot), r.elems.len());
            // Its own appends the read does not show come after the state
            // it read: the writers between are what it missed.
            let later = own.iter().find(|(s, _)| *s == r.at.slot).map(|(_, apps)| {
                let later = apps.iter().filter(|(_, e)| !r.elems.contains(e));
                let observed = later.clone().filter_map(|(_, e)| pos.get(e).copied()).min();
                let unobserved = later.clone().any(|(_, e)| !pos.contains_key(e));
                (observed, unobserved)
            });
            match later {
                None | Some((None, false)) => entries.push((t, l)),
                Some((Some(p), _)) => {
                    for &e in order.get(l..(p as usize).max(l)).unwrap_or(&[]) {
                        let w = self.writer_node(e);
                        if w != NONE {
                            es.push(t, w, RW);
                        }
                    }
                }
                Some((None, true)) => {
                    for &e in order.get(l..).unwrap_or(&[]) {
                        let w = self.writer_node(e);
                        if w != NONE {
                            es.push(t, w, RW);
                        }
                    }
                    full_own_unread.push(t);
                }
            }
        }
        full_own_unread.sort_unstable();
        full_own_unread.dedup();
        es.all_to_all(&full_own_unread, &unread, RW);
        if entries.is_empty() {
            return;
        }
        let from = entries.iter().map(|e| e.1).min().expect("entries");
        let top = if unread.is_empty() { m } else { m + 1 };
        if from >= top {
            return;
        }
        // Hubs for positions from..top; hub i reaches order[i] and hub i+1.
        let hubs: Vec<u32> = (from..top).map(|_| es.new_hub()).collect();
        for i in from..top {
            let hub = hubs[i - from];
            if i < m {
                let w = self.writer_node(order[i]);
                if w != NONE {
                    es.push_hub(hub, w);
                }
            } else {
                for &u in &unread {
                    es.push_hub(hub, u);
                }
            }
            if i + 1 < top {
                es.push_hub(hub, hubs[i + 1 - from]);
            }
        }
        for (t, l) in entries {
            if l < top {
                es.push(t, hubs[l - from], RW);
            }
        }
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
        let mut groups: FxHashMap<Vec<u32>, Vec<(At, At)>> = FxHashMap::default();
        for group in per_txn(ats) {
            if self.outcome(group[0].slot) != Outcome::Ok {
                continue;
            }
            let Some(&r) = group.iter().find(|a| self.mop(**a).f == MopF::Read) else { continue };
            let Some(&w) = group.iter().find(|a| self.mop(**a).f != MopF::Read && a.mop > r.mop) else { continue };
            if group.iter().any(|a| self.mop(*a).f != MopF::Read && a.mop < r.mop) {
                continue;
            }
            let rm = self.mop(r);
            let version: Vec<u32> = match h.workload {
                Workload::ListAppend => match h.read_elems(rm) {
                    Some(els) => els.to_vec(),
                    None => continue,
                },
                Workload::RwRegister => vec![rm.v],
            };
            groups.entry(version).or_default().push((r, w));
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
        // Every read before an ok transaction's first write of the key:
        // each is a read of some version (a second one that differs is, for
        // Adya, a non-repeatable read, and as much evidence as the first).
        let mut pre_reads: Vec<(u32, u32)> = Vec::new();
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
                // Reads before the transaction's first write of the key:
                // dirty reads, and reads of its own later writes.
                let group = &ats[i..j];
                for (n, &a) in group.iter().enumerate() {
                    let m = self.mop(a);
                    if m.f != MopF::Read {
                        break;
                    }
                    pre_reads.push((slot, m.v));
                    if m.v == NIL {
                        continue;
                    }
                    let later = group[n + 1..].iter().find(|w| self.mop(**w).f != MopF::Read && self.mop(**w).v == m.v);
                    match later {
                        Some(&write) => out.push(Finding::FutureRead { read: a, write, elem: m.v }),
                        None => self.dirty(a, m.v, &mut out),
                    }
                }
            }
            i = j;
        }
        self.lost_updates(key, ats, &mut out);
        // Readers of each value (by external read) and the writer (external write).
        let mut readers: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut writer: FxHashMap<u32, u32> = FxHashMap::default();
        for &(slot, _, w) in &per {
            if w != NONE && node(slot) != NONE {
                writer.insert(w, node(slot));
            }
        }
        for &(slot, v) in &pre_reads {
            readers.entry(v).or_default().push(node(slot));
        }
        for rs in readers.values_mut() {
            rs.sort_unstable();
            rs.dedup();
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
                // nil precedes every value, so a value before nil (a
                // transaction read nil after one that saw or made `a`) is
                // a cycle already: nil < a < nil.
                if let Some(&(a, _)) = edges.iter().find(|&&(a, b)| b == NIL && a != NIL) {
                    out.push(Finding::CyclicVersions { key, values: vec![NIL, a], source });
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
        if self.src.wfr && self.ev.wfr {
            let write_of = |slot: u32| per.binary_search_by_key(&slot, |p| p.0).map_or(NONE, |i| per[i].2);
            let e: Vec<(u32, u32)> = pre_reads
                .iter()
                .filter(|&&(_, r)| r != NIL)
                .map(|&(slot, r)| (r, write_of(slot)))
                .filter(|&(_, w)| w != NONE)
                .collect();
            try_add(e, SRC_WFR, &mut versions, &mut out);
        }
        // For the process and real-time sources: the versions a
        // transaction saw (every read before its write of the key, ok only)
        // or made. Under a key assumption each of them precedes (or is)
        // each version a later transaction saw or made. Only versions
        // count: nil and committed writers' final writes. A read of
        // anything else (garbage, an aborted or an intermediate write) is
        // an anomaly of its own and orders no versions.
        let version = |v: u32| {
            v == NIL || {
                let wr = h.elems[v as usize].writer;
                // Info writers only where info transactions count as
                // committed (read uncommitted allows reading an abort).
                let committed = wr != NONE
                    && match self.outcome(wr) {
                        Outcome::Ok => true,
                        Outcome::Info => self.ev.info_committed,
                        Outcome::Fail => false,
                    };
                committed && final_write(h, v)
            }
        };
        let vals = |&(slot, _, w): &(u32, u32, u32)| -> Vec<u32> {
            let lo = pre_reads.partition_point(|r| r.0 < slot);
            let hi = pre_reads.partition_point(|r| r.0 <= slot);
            let mut vs: Vec<u32> = pre_reads[lo..hi].iter().map(|r| r.1).filter(|&v| v != UNKNOWN).collect();
            if w != NONE {
                vs.push(w);
            }
            vs.retain(|&v| version(v));
            vs.sort_unstable();
            vs.dedup();
            vs
        };
        let pairs = |a: &[u32], b: &[u32], e: &mut Vec<(u32, u32)>| {
            for &x in a {
                e.extend(b.iter().filter(|&&y| y != x).map(|&y| (x, y)));
            }
        };
        if self.src.sequential_keys {
            let mut by_proc: Vec<&(u32, u32, u32)> = per.iter().collect();
            by_proc.sort_by_key(|p| (h.txns[p.0 as usize].process, h.txns[p.0 as usize].call));
            let mut e = Vec::new();
            // Each transaction after the process's last one that left a
            // version: one that leaves none (it read only garbage or an
            // aborted write) passes its predecessor on, so the chain, and
            // with it the order's transitivity, is never broken.
            let mut last: Option<(u64, Vec<u32>)> = None;
            for &p in &by_proc {
                let process = h.txns[p.0 as usize].process;
                let vs = vals(p);
                if let Some((lp, lv)) = &last {
                    if *lp == process {
                        pairs(lv, &vs, &mut e);
                    }
                }
                if !vs.is_empty() || last.as_ref().is_some_and(|l| l.0 != process) {
                    last = Some((process, vs));
                }
            }
            try_add(e, SRC_PROCESS, &mut versions, &mut out);
        }
        if self.src.linearizable_keys {
            // Sweep invocations and completions; `frontier` holds completed
            // transactions no later-completed one has superseded.
            let vs: Vec<Vec<u32>> = per.iter().map(vals).collect();
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
                    for &a in &frontier {
                        pairs(&vs[a], &vs[i], &mut e);
                    }
                } else {
                    let covered = std::mem::take(&mut seen_by[i]);
                    frontier.retain(|a| !covered.contains(a));
                    if !vs[i].is_empty() {
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
        rw_edges(&versions, &readers, &writer, &mut es);
        (es, out, KeyFacts { order: Vec::new(), ordered: false, versions })
    }
}

/// Version-graph nodes a reader that also writes the key may visit, per
/// key, to find the writers of every later version; past it such readers
/// get only the next versions' writers (the rest of the order follows by
/// ww, which is enough for every class but read atomic's and causality's
/// missed writes, which may then go unseen: never a false one).
const RW_CLOSURE_VISITS_MAX: usize = 1 << 20;

/// rw-register anti-dependencies: a reader of `v1` precedes the writer of
/// every later version, as one step, as a list read does every later
/// append: read atomic and causal consistency need the missed write itself
/// (a reader of 1 that sees the writer of 3, with 1 < 2 < 3, missed 3, not
/// only 2). Readers that do not write the key reach them through a hub per
/// version, along the version graph (acyclic: a source that would close a
/// cycle was dropped), so the graph stays linear; a reader that writes the
/// key gets direct edges, which leave itself out (it follows its own read
/// by writes following reads, not by an anti-dependency).
fn rw_edges(
    versions: &[(u32, u32, u8)],
    readers: &FxHashMap<u32, Vec<u32>>,
    writer: &FxHashMap<u32, u32>,
    es: &mut EdgeSet,
) {
    let writes_key: rustc_hash::FxHashSet<u32> = writer.values().copied().collect();
    // Hubs for the versions with successors; a version without any is
    // reached at its writer.
    let mut hub: FxHashMap<u32, u32> = FxHashMap::default();
    let entry = |v: u32, hub: &FxHashMap<u32, u32>| hub.get(&v).copied().or_else(|| writer.get(&v).copied());
    let mut budget = RW_CLOSURE_VISITS_MAX;
    let mut froms: Vec<u32> = readers.keys().copied().filter(|&v| !successors(versions, v).is_empty()).collect();
    froms.sort_unstable();
    for v1 in froms {
        let rs = &readers[&v1];
        let (pure, own): (Vec<u32>, Vec<u32>) = rs.iter().partition(|r| !writes_key.contains(r));
        if !pure.is_empty() {
            if hub.is_empty() {
                let mut inner: Vec<u32> = versions.iter().map(|e| e.0).filter(|&v| v != NIL).collect();
                inner.dedup();
                for &v in &inner {
                    hub.insert(v, es.new_hub());
                }
                for &v in &inner {
                    let h = hub[&v];
                    if let Some(&w) = writer.get(&v) {
                        es.push_hub(h, w);
                    }
                    for e in successors(versions, v) {
                        if let Some(t) = entry(e.1, &hub) {
                            es.push_hub(h, t);
                        }
                    }
                }
            }
            let mut ts: Vec<u32> = successors(versions, v1).iter().filter_map(|e| entry(e.1, &hub)).collect();
            ts.sort_unstable();
            ts.dedup();
            es.all_to_all(&pure, &ts, RW);
        }
        if !own.is_empty() {
            // Every later version, breadth first, while the budget lasts.
            let mut seen: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
            let mut next: Vec<u32> = successors(versions, v1).iter().map(|e| e.1).collect();
            let mut ws: Vec<u32> = Vec::new();
            let mut i = 0;
            while i < next.len() {
                let v = next[i];
                i += 1;
                if !seen.insert(v) {
                    continue;
                }
                ws.extend(writer.get(&v));
                if budget > 0 {
                    budget -= 1;
                    next.extend(successors(versions, v).iter().map(|e| e.1));
                }
            }
            ws.sort_unstable();
            ws.dedup();
            es.all_to_all(&own, &ws, RW);
        }
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
