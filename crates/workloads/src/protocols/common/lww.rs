//! Last-write-wins versions and the digest exchange of anti-entropy, shared
//! by lww and quorum (and, for the digest, by ABD's tags).

use crate::sim::{Key, Monitor, Node, NodeId, Violation};
use checker::Value;
use std::collections::BTreeMap;

/// A write's timestamp: the stamping node's local clock, ties broken by its
/// id. Ordered by time, then node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    pub ts_ns: i64,
    pub node: NodeId,
}

/// A value with its stamp; the larger stamp wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    pub stamp: Stamp,
    pub value: Value,
}

/// Stores `v` at `key` if its stamp is larger than the stored one; true if
/// it did. Merging is commutative, associative and idempotent, so replicas
/// that saw the same versions in any order agree.
pub fn merge(store: &mut BTreeMap<Key, Versioned>, key: &Key, v: &Versioned) -> bool {
    match store.get(key) {
        Some(cur) if cur.stamp >= v.stamp => false,
        _ => {
            store.insert(key.clone(), v.clone());
            true
        }
    }
}

/// [`merge`], noting what was stored in `noted` (for the monitor).
pub(crate) fn merge_noting(
    store: &mut BTreeMap<Key, Versioned>,
    noted: &mut Vec<(Key, Versioned)>,
    key: &Key,
    v: &Versioned,
) -> bool {
    let stored = merge(store, key, v);
    if stored {
        noted.push((key.clone(), v.clone()));
    }
    stored
}

/// A node that notes the versions its last handler stored in its replica.
pub(crate) trait NotesVersions {
    fn stored(&self) -> &[(Key, Versioned)];
}

/// Checks that a stamp names one write: every replica storing `(key,
/// stamp)` stores the same value. Stamps are `(local clock, node)` and each
/// node's stamps strictly increase, so two writes never share one; if they
/// did, replicas that merged them in different orders would keep different
/// values for good (merge keeps the first of equal stamps).
#[derive(Default)]
pub(crate) struct StampMonitor {
    values: BTreeMap<(Key, Stamp), Value>,
}

impl<N: Node + NotesVersions> Monitor<N> for StampMonitor {
    fn observe(&mut self, id: NodeId, node: &N, _durable: &N::Durable) -> Option<Violation> {
        for (key, v) in node.stored() {
            match self.values.get(&(key.clone(), v.stamp)) {
                Some(first) if *first != v.value => {
                    let detail = format!(
                        "n{id} stored {} with stamp {:?} of key {key:?}, which names {first}",
                        v.value, v.stamp
                    );
                    return Some(Violation { invariant: "unique-stamps", detail });
                }
                Some(_) => {}
                None => {
                    self.values.insert((key.clone(), v.stamp), v.value.clone());
                }
            }
        }
        None
    }
}

/// What one side of a digest exchange should do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Keys where the peer is newer (or we have nothing): ask for them.
    pub pull: Vec<Key>,
    /// Keys where we are newer: send ours.
    pub push: Vec<Key>,
}

/// Compares a peer's digest (`(key, version)` pairs, any ordered version:
/// LWW stamps, ABD tags) with the local versions `mine`.
pub fn diff<S: Ord>(digest: Vec<(Key, S)>, mine: impl Fn(&Key) -> Option<S>) -> Diff {
    let mut d = Diff::default();
    for (key, theirs) in digest {
        match mine(&key) {
            Some(m) if m > theirs => d.push.push(key),
            Some(m) if m == theirs => {}
            _ => d.pull.push(key),
        }
    }
    d
}

/// The stored versions of `keys` (those we have), to answer a pull or push.
pub fn versions_of(store: &BTreeMap<Key, Versioned>, keys: Vec<Key>) -> Vec<(Key, Versioned)> {
    keys.into_iter().filter_map(|k| store.get(&k).cloned().map(|v| (k, v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(ts: i64, node: NodeId, x: i64) -> Versioned {
        Versioned { stamp: Stamp { ts_ns: ts, node }, value: Value::Int(x) }
    }

    #[test]
    fn merge_is_last_write_wins_with_node_tiebreak() {
        let mut s = BTreeMap::new();
        assert!(merge(&mut s, &None, &v(10, 1, 1)));
        assert!(!merge(&mut s, &None, &v(9, 4, 2)));
        assert!(!merge(&mut s, &None, &v(10, 0, 3)));
        assert!(!merge(&mut s, &None, &v(10, 1, 1)), "idempotent");
        assert!(merge(&mut s, &None, &v(10, 2, 4)));
        assert_eq!(s[&None].value, Value::Int(4));
    }

    #[test]
    fn diff_pulls_newer_and_missing_and_pushes_older() {
        let mine: BTreeMap<Key, u64> =
            [(Some(Value::Int(1)), 5), (Some(Value::Int(2)), 5), (Some(Value::Int(3)), 5)].into();
        let digest = vec![
            (Some(Value::Int(1)), 6),
            (Some(Value::Int(2)), 5),
            (Some(Value::Int(3)), 4),
            (Some(Value::Int(4)), 1),
        ];
        let d = diff(digest, |k| mine.get(k).copied());
        assert_eq!(d.pull, vec![Some(Value::Int(1)), Some(Value::Int(4))]);
        assert_eq!(d.push, vec![Some(Value::Int(3))]);
    }

    fn store() -> impl Strategy<Value = BTreeMap<Key, Versioned>> {
        proptest::collection::btree_map(
            (0i64..6).prop_map(|k| Some(Value::Int(k))),
            // A stamp names one write, so it determines the value.
            (0i64..4, 0usize..3).prop_map(|(t, n)| v(t, n, t * 10 + n as i64)),
            0..6,
        )
    }

    proptest! {
        /// One digest exchange (a's digest to b; b pulls and pushes) leaves
        /// both stores equal to the key-wise maximum: what anti-entropy
        /// promises, whatever the stores held.
        #[test]
        fn one_exchange_converges_to_the_newest_version_of_every_key(a in store(), b in store()) {
            let (mut a, mut b) = (a, b);
            let mut want = a.clone();
            for (k, x) in &b {
                merge(&mut want, k, x);
            }
            let digest: Vec<(Key, Stamp)> = a.iter().map(|(k, x)| (k.clone(), x.stamp)).collect();
            let d = diff(digest, |k| b.get(k).map(|x| x.stamp));
            for (k, x) in versions_of(&a, d.pull) {
                merge(&mut b, &k, &x);
            }
            for (k, x) in versions_of(&b, d.push) {
                merge(&mut a, &k, &x);
            }
            // Keys only b has travel on b's own digest round.
            let digest: Vec<(Key, Stamp)> = b.iter().map(|(k, x)| (k.clone(), x.stamp)).collect();
            let d = diff(digest, |k| a.get(k).map(|x| x.stamp));
            for (k, x) in versions_of(&b, d.pull) {
                merge(&mut a, &k, &x);
            }
            prop_assert_eq!(&a, &want);
            prop_assert_eq!(&b, &want);
        }
    }
}
