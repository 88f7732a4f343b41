//! Anomaly kinds and transactional consistency models: which anomalies imply
//! which, which models proscribe which anomalies, and which models imply
//! which. The tables follow Adya's thesis (G0–G2, the PL levels), Cerone et
//! al. (read atomic, causal, prefix, parallel SI) and the hierarchy Elle uses
//! (`elle.consistency-model`), with Elle's names, so that conch's `not` /
//! `also-not` lists can be compared with Elle's line by line.
//!
//! One deliberate difference: conch's histories have no predicate reads, so
//! every anti-dependency is an *item* anti-dependency, and a G-single or
//! G-nonadjacent cycle is also an Adya G2-item (a cycle with at least one item
//! anti-dependency). Elle keeps that implication only for its `-item`
//! variants; conch applies it to every cycle when deciding which models a
//! history rules out (so a G-single rules out repeatable read), but not when
//! deciding which cycle searches are redundant (so a G2-item cycle is still
//! searched for and reported next to a G-single, as Elle does).

use serde::Serialize;
use std::fmt;

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum $name { $($(#[$vm])* $v,)* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }
            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|x| x.name() == s)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

named_enum! {
    /// Every anomaly conch names. The first group is what the checker reports;
    /// the rest exist so that the implication tables can say what a reported
    /// anomaly entails (e.g. G1a is a G1).
    AnomalyKind {
        G0 = "G0",
        G1c = "G1c",
        GSingle = "G-single",
        GNonadjacent = "G-nonadjacent",
        G2Item = "G2-item",
        G0Process = "G0-process",
        G1cProcess = "G1c-process",
        GSingleProcess = "G-single-process",
        GNonadjacentProcess = "G-nonadjacent-process",
        G2ItemProcess = "G2-item-process",
        G0Realtime = "G0-realtime",
        G1cRealtime = "G1c-realtime",
        GSingleRealtime = "G-single-realtime",
        GNonadjacentRealtime = "G-nonadjacent-realtime",
        G2ItemRealtime = "G2-item-realtime",
        /// A transaction read one key from T but missed T's write to another
        /// key it read (Bailis et al.'s fractured read): the cycle rw then
        /// wr that read atomic (Cerone et al.) forbids. Not an Elle name:
        /// Elle's read atomic forbids only internal, G1a and future-read.
        FracturedRead = "fractured-read",
        /// A transaction missed a write of T to a key it read although it
        /// read, through a chain of reads, from T: the cycle rw then wr...
        /// that causal consistency (Cerone et al.) forbids. Not an Elle name.
        CausalityViolation = "causality-violation",
        G1a = "G1a",
        G1b = "G1b",
        Internal = "internal",
        LostUpdate = "lost-update",
        DirtyUpdate = "dirty-update",
        DuplicateElements = "duplicate-elements",
        IncompatibleOrder = "incompatible-order",
        FutureRead = "future-read",
        CyclicVersions = "cyclic-versions",
        /// A read of an element or value that no transaction wrote (not an
        /// Elle name: Elle has no such check). Like an aborted read, it
        /// shows what no committed transaction wrote.
        GarbageRead = "garbage-read",
        // Cycles known to exist (from strongly connected components) when
        // the search for a specific cycle was cut short by a budget.
        Pl1CycleExists = "PL-1-cycle-exists",
        Pl2CycleExists = "PL-2-cycle-exists",
        PlSiCycleExists = "PL-SI-cycle-exists",
        Pl3CycleExists = "PL-3-cycle-exists",
        SsPl1CycleExists = "strong-session-PL-1-cycle-exists",
        SsPl2CycleExists = "strong-session-PL-2-cycle-exists",
        SsSiCycleExists = "strong-session-snapshot-isolation-cycle-exists",
        SsSerCycleExists = "strong-session-serializable-cycle-exists",
        SPl1CycleExists = "strong-PL-1-cycle-exists",
        SPl2CycleExists = "strong-PL-2-cycle-exists",
        SSiCycleExists = "strong-snapshot-isolation-cycle-exists",
        PlSsCycleExists = "PL-SS-cycle-exists",
        // Implied only.
        G1 = "G1",
        G1Process = "G1-process",
        G1Realtime = "G1-realtime",
        G2 = "G2",
        G2Process = "G2-process",
        G2Realtime = "G2-realtime",
        GSIb = "GSIb",
        GSI = "GSI",
        WriteSkew = "write-skew",
    }
}

named_enum! {
    /// Transactional consistency models, by Elle's friendly names (`causal`
    /// is Cerone et al.'s transactional causal consistency, Elle's
    /// `causal-cerone`).
    Model {
        ReadUncommitted = "read-uncommitted",
        ReadCommitted = "read-committed",
        CursorStability = "cursor-stability",
        MonotonicView = "monotonic-view",
        MonotonicSnapshotRead = "monotonic-snapshot-read",
        ConsistentView = "consistent-view",
        ForwardConsistentView = "forward-consistent-view",
        MonotonicAtomicView = "monotonic-atomic-view",
        ReadAtomic = "read-atomic",
        Causal = "causal",
        Prefix = "prefix",
        ParallelSnapshotIsolation = "parallel-snapshot-isolation",
        Rola = "ROLA",
        SnapshotIsolation = "snapshot-isolation",
        RepeatableRead = "repeatable-read",
        UpdateSerializable = "update-serializable",
        Serializable = "serializable",
        StrongSessionReadUncommitted = "strong-session-read-uncommitted",
        StrongSessionReadCommitted = "strong-session-read-committed",
        StrongReadUncommitted = "strong-read-uncommitted",
        StrongReadCommitted = "strong-read-committed",
        StrongSessionSnapshotIsolation = "strong-session-snapshot-isolation",
        StrongSnapshotIsolation = "strong-snapshot-isolation",
        StrongSessionSerializable = "strong-session-serializable",
        StrictSerializable = "strict-serializable",
    }
}

use AnomalyKind as A;
use Model as M;

impl Model {
    /// The models `--checks` accepts for transactional histories.
    pub const CHECKABLE: [Model; 12] = [
        M::ReadUncommitted,
        M::ReadCommitted,
        M::ReadAtomic,
        M::Causal,
        M::ConsistentView,
        M::SnapshotIsolation,
        M::RepeatableRead,
        M::Serializable,
        M::StrictSerializable,
        M::StrongSessionSerializable,
        M::StrongSessionSnapshotIsolation,
        M::StrongSnapshotIsolation,
    ];

    fn bit(self) -> u64 {
        1 << self as u8
    }
}

impl AnomalyKind {
    fn bit(self) -> u128 {
        1 << self as u8
    }

    /// Cycles between transactions (reported with their steps).
    pub fn is_cycle(self) -> bool {
        (self as u8) <= A::CausalityViolation as u8
    }
}

/// `a -> b`: an `a` is also a `b`. From Elle's implied-anomalies graph.
const IMPLIES: &[(AnomalyKind, AnomalyKind)] = &[
    (A::G0, A::G1c),
    (A::G0, A::G0Process),
    (A::G0Process, A::G1cProcess),
    (A::G0Process, A::G0Realtime),
    (A::G0Realtime, A::G1cRealtime),
    (A::G1a, A::G1),
    (A::G1b, A::G1),
    (A::G1c, A::G1),
    (A::G1c, A::G1cProcess),
    (A::G1cProcess, A::G1cRealtime),
    (A::G1cProcess, A::G1Process),
    (A::G1cRealtime, A::G1Realtime),
    (A::G1, A::G1Process),
    (A::G1Process, A::G1Realtime),
    (A::GSingle, A::GNonadjacent),
    (A::GSingle, A::GSIb),
    (A::GSingle, A::GSingleProcess),
    (A::GSingleProcess, A::GNonadjacentProcess),
    (A::GSingleProcess, A::GSingleRealtime),
    (A::GSingleRealtime, A::GNonadjacentRealtime),
    (A::GNonadjacent, A::G2),
    (A::GNonadjacent, A::GNonadjacentProcess),
    (A::GNonadjacentProcess, A::G2Process),
    (A::GNonadjacentProcess, A::GNonadjacentRealtime),
    (A::GNonadjacentRealtime, A::G2Realtime),
    (A::G2, A::G2Process),
    (A::G2Item, A::G2),
    (A::G2Item, A::G2ItemProcess),
    (A::G2ItemProcess, A::G2Process),
    (A::G2ItemProcess, A::G2ItemRealtime),
    (A::G2ItemRealtime, A::G2Realtime),
    (A::G2Process, A::G2Realtime),
    (A::GSIb, A::GSI),
    (A::FracturedRead, A::CausalityViolation),
    (A::CausalityViolation, A::GSingle),
    (A::GarbageRead, A::G1a),
    (A::IncompatibleOrder, A::G1a),
    (A::FutureRead, A::G1c),
    (A::DirtyUpdate, A::G1a),
    (A::LostUpdate, A::WriteSkew),
    (A::LostUpdate, A::G2Item),
    (A::WriteSkew, A::G2),
    // A cycle in a subgraph is a cycle in every larger one.
    (A::Pl1CycleExists, A::Pl2CycleExists),
    (A::Pl1CycleExists, A::SsPl1CycleExists),
    (A::Pl2CycleExists, A::PlSiCycleExists),
    (A::Pl2CycleExists, A::SsPl2CycleExists),
    (A::PlSiCycleExists, A::Pl3CycleExists),
    (A::PlSiCycleExists, A::SsSiCycleExists),
    (A::Pl3CycleExists, A::SsSerCycleExists),
    (A::SsPl1CycleExists, A::SsPl2CycleExists),
    (A::SsPl1CycleExists, A::SPl1CycleExists),
    (A::SsPl2CycleExists, A::SsSiCycleExists),
    (A::SsPl2CycleExists, A::SPl2CycleExists),
    (A::SsSiCycleExists, A::SsSerCycleExists),
    (A::SsSiCycleExists, A::SSiCycleExists),
    (A::SsSerCycleExists, A::PlSsCycleExists),
    (A::SPl1CycleExists, A::SPl2CycleExists),
    (A::SPl2CycleExists, A::SSiCycleExists),
    (A::SSiCycleExists, A::PlSsCycleExists),
];

/// Implications that hold because every anti-dependency here is on an item
/// (see the module docs): used for model boundaries, not to skip searches.
const ITEM_IMPLIES: &[(AnomalyKind, AnomalyKind)] = &[
    (A::GNonadjacent, A::G2Item),
    (A::GNonadjacentProcess, A::G2ItemProcess),
    (A::GNonadjacentRealtime, A::G2ItemRealtime),
];

/// `a -> b`: a history that satisfies `a` satisfies `b` (Elle's models graph).
const MODEL_IMPLIES: &[(Model, Model)] = &[
    (M::ReadCommitted, M::ReadUncommitted),
    (M::CursorStability, M::ReadCommitted),
    (M::MonotonicView, M::ReadCommitted),
    (M::MonotonicSnapshotRead, M::ReadCommitted),
    (M::ConsistentView, M::CursorStability),
    (M::ConsistentView, M::MonotonicView),
    (M::ForwardConsistentView, M::ConsistentView),
    (M::MonotonicAtomicView, M::ReadCommitted),
    (M::ReadAtomic, M::MonotonicAtomicView),
    (M::Causal, M::ReadAtomic),
    (M::Prefix, M::Causal),
    (M::ParallelSnapshotIsolation, M::Causal),
    (M::ParallelSnapshotIsolation, M::Rola),
    (M::Rola, M::ReadAtomic),
    (M::SnapshotIsolation, M::ForwardConsistentView),
    (M::SnapshotIsolation, M::MonotonicAtomicView),
    (M::SnapshotIsolation, M::MonotonicSnapshotRead),
    (M::SnapshotIsolation, M::ParallelSnapshotIsolation),
    (M::SnapshotIsolation, M::Prefix),
    (M::RepeatableRead, M::CursorStability),
    (M::RepeatableRead, M::MonotonicAtomicView),
    (M::UpdateSerializable, M::ForwardConsistentView),
    (M::Serializable, M::RepeatableRead),
    (M::Serializable, M::UpdateSerializable),
    (M::Serializable, M::SnapshotIsolation),
    (M::StrongSessionReadUncommitted, M::ReadUncommitted),
    (M::StrongSessionReadCommitted, M::ReadCommitted),
    (M::StrongSessionReadCommitted, M::StrongSessionReadUncommitted),
    (M::StrongReadUncommitted, M::StrongSessionReadUncommitted),
    (M::StrongReadCommitted, M::StrongSessionReadCommitted),
    (M::StrongReadCommitted, M::StrongReadUncommitted),
    (M::StrongSessionSnapshotIsolation, M::SnapshotIsolation),
    (M::StrongSessionSnapshotIsolation, M::StrongSessionReadCommitted),
    (M::StrongSnapshotIsolation, M::StrongSessionSnapshotIsolation),
    (M::StrongSnapshotIsolation, M::StrongReadCommitted),
    (M::StrongSessionSerializable, M::Serializable),
    (M::StrongSessionSerializable, M::StrongSessionSnapshotIsolation),
    (M::StrictSerializable, M::Serializable),
    (M::StrictSerializable, M::SnapshotIsolation),
    (M::StrictSerializable, M::StrongSnapshotIsolation),
    (M::StrictSerializable, M::StrongSessionSerializable),
];

/// What each model forbids directly (besides what the models it implies
/// forbid). Anomalies Elle lists that conch never detects nor implies (e.g.
/// G-cursor, G-update, predicate-read-miss) are left out: they change no
/// boundary.
const PROSCRIBES: &[(Model, &[AnomalyKind])] = &[
    (M::ReadUncommitted, &[A::G0, A::DuplicateElements, A::CyclicVersions, A::GarbageRead, A::Pl1CycleExists]),
    (M::ReadCommitted, &[A::G1, A::Pl2CycleExists]),
    (M::CursorStability, &[A::G1, A::LostUpdate]),
    (M::MonotonicView, &[A::G1]),
    (M::MonotonicSnapshotRead, &[A::G1]),
    (M::ConsistentView, &[A::G1, A::GSingle]),
    (M::ForwardConsistentView, &[A::G1, A::GSIb]),
    (M::ParallelSnapshotIsolation, &[A::Internal, A::G1a]),
    (M::Prefix, &[A::Internal, A::G1a]),
    (M::Causal, &[A::Internal, A::G1a, A::CausalityViolation]),
    (M::ReadAtomic, &[A::Internal, A::G1a, A::FutureRead, A::FracturedRead]),
    (M::Serializable, &[A::G1, A::G2, A::Internal, A::Pl3CycleExists]),
    (M::SnapshotIsolation, &[A::Internal, A::G1, A::GSI, A::GNonadjacent, A::PlSiCycleExists]),
    // Without predicates, a cycle of data dependencies is G0/G1c or has an
    // item anti-dependency (G2-item): repeatable read forbids them all.
    (M::RepeatableRead, &[A::G1, A::G2Item, A::LostUpdate, A::Pl3CycleExists]),
    (M::Rola, &[A::LostUpdate]),
    (M::UpdateSerializable, &[A::G1]),
    (M::StrictSerializable, &[A::G1, A::G1cRealtime, A::G2Realtime, A::PlSsCycleExists]),
    (M::StrongSessionReadUncommitted, &[A::G0Process, A::SsPl1CycleExists]),
    (M::StrongSessionReadCommitted, &[A::G1cProcess, A::SsPl2CycleExists]),
    (M::StrongReadUncommitted, &[A::G0Realtime, A::SPl1CycleExists]),
    (M::StrongReadCommitted, &[A::G1cRealtime, A::SPl2CycleExists]),
    (M::StrongSessionSnapshotIsolation, &[A::Internal, A::G1Process, A::GNonadjacentProcess, A::SsSiCycleExists]),
    (M::StrongSnapshotIsolation, &[A::Internal, A::G1Realtime, A::GNonadjacentRealtime, A::SSiCycleExists]),
    (M::StrongSessionSerializable, &[A::G1Process, A::G2Process, A::SsSerCycleExists]),
];

/// A set of `$of`s as the bits of a `$bits` (each `$of`'s `bit()`),
/// iterated in `$of::ALL` order.
macro_rules! bit_set {
    ($(#[$m:meta])* $name:ident of $of:ident in $bits:ty) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name($bits);

        impl $name {
            pub fn of(xs: impl IntoIterator<Item = $of>) -> $name {
                $name(xs.into_iter().fold(0, |m, x| m | x.bit()))
            }
            pub fn contains(self, x: $of) -> bool {
                self.0 & x.bit() != 0
            }
            pub fn insert(&mut self, x: $of) {
                self.0 |= x.bit();
            }
            pub fn iter(self) -> impl Iterator<Item = $of> {
                $of::ALL.iter().copied().filter(move |x| self.contains(*x))
            }
        }
    };
}

bit_set!(
    /// A set of anomaly kinds.
    Kinds of AnomalyKind in u128
);

bit_set!(
    /// A set of models.
    Models of Model in u64
);

impl Kinds {
    pub fn union(self, o: Kinds) -> Kinds {
        Kinds(self.0 | o.0)
    }
    pub fn intersects(self, o: Kinds) -> bool {
        self.0 & o.0 != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Closes a bit set (bit `i` = the variant with discriminant `i`) under
/// `edges`: forwards (`a -> b` adds `b`) or backwards (adds `a`).
fn closure(mut set: u128, edges: impl Iterator<Item = (u8, u8)> + Clone, forwards: bool) -> u128 {
    loop {
        let before = set;
        for (a, b) in edges.clone() {
            let (from, to) = if forwards { (a, b) } else { (b, a) };
            if set & (1 << from) != 0 {
                set |= 1 << to;
            }
        }
        if set == before {
            return set;
        }
    }
}

fn anomaly_closure(start: Kinds, item: bool, forwards: bool) -> Kinds {
    let extra: &[(AnomalyKind, AnomalyKind)] = if item { ITEM_IMPLIES } else { &[] };
    let edges = IMPLIES.iter().chain(extra).map(|&(a, b)| (a as u8, b as u8));
    Kinds(closure(start.0, edges, forwards))
}

/// Everything `found` entails, for skipping redundant cycle searches (Elle's
/// implications only).
pub fn implied_for_search(found: Kinds) -> Kinds {
    anomaly_closure(found, false, true)
}

/// Everything `found` entails, for model boundaries (with item implications).
pub fn implied(found: Kinds) -> Kinds {
    anomaly_closure(found, true, true)
}

fn model_closure(start: Models, forwards: bool) -> Models {
    let edges = MODEL_IMPLIES.iter().map(|&(a, b)| (a as u8, b as u8));
    Models(closure(start.0 as u128, edges, forwards) as u64)
}

/// The models `m` implies, `m` included.
pub fn implied_models(m: Model) -> Models {
    model_closure(Models::of([m]), true)
}

fn direct(m: Model) -> &'static [AnomalyKind] {
    PROSCRIBES.iter().find(|(x, _)| *x == m).map_or(&[], |(_, ks)| ks)
}

/// Every anomaly whose presence rules out `m`: the anomalies `m` and the
/// models it implies forbid, and every anomaly that entails one of them.
pub fn proscribed(m: Model) -> Kinds {
    let direct = Kinds::of(implied_models(m).iter().flat_map(|x| direct(x).iter().copied()));
    anomaly_closure(direct, true, false)
}

/// The models `found` rules out.
pub fn impossible(found: Kinds) -> Models {
    Models::of(Model::ALL.iter().copied().filter(|&m| proscribed(m).intersects(found)))
}

/// Elle's `:not` and `:also-not`: the weakest ruled-out models (those that
/// imply no other ruled-out model), then the rest, each in table order.
pub fn boundary(found: Kinds) -> (Vec<Model>, Vec<Model>) {
    boundary_of(impossible(found))
}

/// [`boundary`] of a set of ruled-out models.
pub fn boundary_of(out: Models) -> (Vec<Model>, Vec<Model>) {
    let weakest = |m: Model| !out.iter().any(|o| o != m && implied_models(m).contains(o));
    out.iter().partition(|&m| weakest(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ms: &[Model]) -> Vec<&'static str> {
        ms.iter().map(|m| m.name()).collect()
    }

    #[test]
    fn names_round_trip() {
        for &k in AnomalyKind::ALL {
            assert_eq!(AnomalyKind::parse(k.name()), Some(k));
        }
        for &m in Model::ALL {
            assert_eq!(Model::parse(m.name()), Some(m));
        }
        assert!(AnomalyKind::ALL.len() <= 128 && Model::ALL.len() <= 64);
    }

    #[test]
    fn g1c_rules_out_read_committed_and_everything_stronger() {
        let (not, also) = boundary(Kinds::of([A::G1c]));
        assert_eq!(names(&not), ["read-committed"]);
        assert!(also.contains(&M::StrictSerializable) && also.contains(&M::SnapshotIsolation));
        assert!(!also.contains(&M::ReadUncommitted));
    }

    #[test]
    fn g_single_rules_out_consistent_view_and_repeatable_read() {
        let out = impossible(Kinds::of([A::GSingle]));
        assert!(out.contains(M::ConsistentView) && out.contains(M::SnapshotIsolation));
        assert!(out.contains(M::RepeatableRead), "an item G-single is an Adya G2-item");
        assert!(!out.contains(M::ReadCommitted) && !out.contains(M::ReadAtomic));
        let (not, _) = boundary(Kinds::of([A::GSingle]));
        assert_eq!(names(&not), ["consistent-view", "repeatable-read"]);
    }

    #[test]
    fn g2_item_rules_out_serializable_not_snapshot_isolation() {
        let out = impossible(Kinds::of([A::G2Item]));
        assert!(out.contains(M::Serializable) && out.contains(M::RepeatableRead));
        assert!(!out.contains(M::SnapshotIsolation));
        let (not, also) = boundary(Kinds::of([A::G2Item]));
        assert_eq!(names(&not), ["repeatable-read"]);
        assert_eq!(names(&also), ["serializable", "strong-session-serializable", "strict-serializable"]);
    }

    #[test]
    fn realtime_variants_rule_out_strict_only() {
        let out = impossible(Kinds::of([A::GSingleRealtime]));
        assert_eq!(names(&out.iter().collect::<Vec<_>>()), ["strong-snapshot-isolation", "strict-serializable"]);
        let out = impossible(Kinds::of([A::G2ItemProcess]));
        assert_eq!(names(&out.iter().collect::<Vec<_>>()), ["strong-session-serializable", "strict-serializable"]);
    }

    #[test]
    fn proscribed_sets_follow_the_issue() {
        let rc = proscribed(M::ReadCommitted);
        for k in [A::G0, A::G1a, A::G1b, A::G1c, A::DirtyUpdate, A::IncompatibleOrder, A::FutureRead] {
            assert!(rc.contains(k), "{k}");
        }
        assert!(!rc.contains(A::GSingle) && !rc.contains(A::Internal));
        let si = proscribed(M::SnapshotIsolation);
        for k in [A::GSingle, A::GNonadjacent, A::LostUpdate, A::Internal] {
            assert!(si.contains(k), "{k}");
        }
        assert!(!si.contains(A::G2Item));
        assert!(proscribed(M::Serializable).contains(A::G2Item));
        let strict = proscribed(M::StrictSerializable);
        for k in [A::G0Realtime, A::GSingleRealtime, A::G2ItemProcess, A::G1cProcess] {
            assert!(strict.contains(k), "{k}");
        }
        assert!(!proscribed(M::Serializable).contains(A::GSingleProcess));
    }

    #[test]
    fn search_implications_keep_g2_item_after_g_single() {
        let imp = implied_for_search(Kinds::of([A::GSingle]));
        assert!(imp.contains(A::GNonadjacent) && !imp.contains(A::G2Item));
        assert!(implied(Kinds::of([A::GSingle])).contains(A::G2Item));
    }
}
