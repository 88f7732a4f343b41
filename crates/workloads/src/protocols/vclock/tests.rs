use super::*;
use proptest::prelude::*;

fn dot(node: NodeId, n: u64) -> Dot {
    Dot { node, n }
}

fn sib(d: Dot, past: &[Dot], e: &[i64]) -> Sibling {
    let mut c = Context::default();
    for &p in past {
        c.add(p);
    }
    Sibling { dot: d, past: c, cart: e.iter().map(|&i| Value::Int(i)).collect(), removed: BTreeSet::new(), ts_ns: 0 }
}

#[test]
fn contexts_fold_contiguous_dots_and_keep_gaps() {
    let mut c = Context::default();
    c.add(dot(0, 1));
    c.add(dot(0, 3));
    assert!(c.covers(dot(0, 1)) && c.covers(dot(0, 3)));
    assert!(!c.covers(dot(0, 2)), "a gap is not claimed as seen");
    assert_eq!(c.dots.len(), 1);
    c.add(dot(0, 2));
    assert_eq!((c.vv[&0], c.dots.len()), (3, 0), "the gap filled: one vector entry");
}

#[test]
fn siblings_merge_by_what_each_version_saw() {
    let mut l = vec![sib(dot(0, 1), &[], &[1])];
    assert!(merge_sibling(&mut l, sib(dot(1, 1), &[], &[2])), "concurrent: kept as sibling");
    assert_eq!(l.len(), 2);
    assert!(!merge_sibling(&mut l, sib(dot(1, 1), &[], &[2])), "duplicate dropped");
    assert!(merge_sibling(&mut l, sib(dot(2, 1), &[dot(0, 1), dot(1, 1)], &[1, 2, 3])), "superseding replaces both");
    assert_eq!(l, vec![sib(dot(2, 1), &[dot(0, 1), dot(1, 1)], &[1, 2, 3])]);
    assert!(!merge_sibling(&mut l, sib(dot(0, 1), &[], &[1])), "seen: dropped");
    // Node 0's second write from a context that missed its first (a stale
    // context) does not supersede it, though its counter is higher.
    let mut l = vec![sib(dot(0, 1), &[], &[1])];
    assert!(merge_sibling(&mut l, sib(dot(0, 2), &[], &[2])));
    assert_eq!(l.len(), 2, "a stale context leaves the version it missed as a sibling");
}

#[test]
fn merges_make_carts_as_named() {
    let mut a = sib(dot(0, 1), &[], &[1, 2]);
    a.ts_ns = 5;
    let mut b = sib(dot(1, 1), &[], &[1]);
    b.removed.insert(Value::Int(2));
    b.ts_ns = 9;
    let l = vec![a, b];
    let set = |v: &[i64]| v.iter().map(|&i| Value::Int(i)).collect::<BTreeSet<_>>();
    assert_eq!(merged(&l, Merge::Union).0, set(&[1, 2]), "union resurrects 2");
    assert_eq!(merged(&l, Merge::Lww).0, set(&[1]), "the later sibling wins");
    assert_eq!(merged(&l, Merge::Tombstones), (set(&[1]), set(&[2])), "the tombstone wins");
}

/// Versions as runs make them: node `n`'s `k`-th write saw some of the
/// versions written before it.
fn versions() -> impl Strategy<Value = Vec<Sibling>> {
    proptest::collection::vec((0usize..3, proptest::collection::vec(any::<bool>(), 0..12)), 0..10).prop_map(|spec| {
        let mut out: Vec<Sibling> = Vec::new();
        let mut counters = [0u64; 3];
        for (i, (node, saw)) in spec.into_iter().enumerate() {
            counters[node] += 1;
            let seen: Vec<Sibling> = out
                .iter()
                .zip(saw.iter().chain(std::iter::repeat(&false)))
                .filter(|(_, &s)| s)
                .map(|(v, _)| v.clone())
                .collect();
            let (mut cart, _) = merged(&seen, Merge::Union);
            cart.insert(Value::Int(i as i64));
            out.push(Sibling {
                dot: dot(node, counters[node]),
                past: context_of(&seen),
                cart,
                removed: BTreeSet::new(),
                ts_ns: 0,
            });
        }
        out
    })
}

proptest! {
    /// Merging the same versions in any order leaves the same siblings, and
    /// (adds only) every element of every version is in some sibling kept.
    #[test]
    fn merging_is_order_free_and_loses_no_added_element(vs in versions()) {
        let merged_in = |order: &[Sibling]| {
            let mut l = Vec::new();
            for s in order {
                merge_sibling(&mut l, s.clone());
            }
            l.sort_by_key(|s: &Sibling| s.dot);
            l
        };
        let forward = merged_in(&vs);
        let mut rev = vs.clone();
        rev.reverse();
        prop_assert_eq!(&forward, &merged_in(&rev));
        let kept: BTreeSet<&Value> = forward.iter().flat_map(|s| s.cart.iter()).collect();
        for v in &vs {
            prop_assert!(v.cart.iter().all(|e| kept.contains(e)));
        }
    }
}
