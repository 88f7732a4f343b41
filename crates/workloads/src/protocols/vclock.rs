//! Dynamo-style replication with vector clocks: the shopping cart.
//!
//! Each key holds a grow-only set (the set workload: `add` unique elements,
//! `read` the set). A replica keeps, per key, a list of *siblings*: versions
//! whose vector clocks are pairwise concurrent. A read answers with the union
//! of the siblings' sets (the cart the customer sees: Dynamo's semantic
//! merge). An `add` at a node supersedes what that node read: the new version
//! holds the union of its local siblings plus the element, with a clock that
//! is the join of their clocks advanced at this node, so it dominates (and
//! replaces) all of them. The new version is persisted, acknowledged, and sent
//! to every other replica; a received version replaces the siblings it
//! dominates, is dropped if one dominates it, and otherwise becomes a new
//! sibling. Periodic anti-entropy with one peer in rotation exchanges the
//! clocks per key and ships what the other side lacks.
//!
//! Invariant (why no acknowledged add is lost): a version with clock `V`
//! holds exactly the adds `(node j, j's k-th add)` with `k <= V[j]`, so a
//! version that dominates another also holds all its elements, and dropping
//! dominated versions loses nothing. Siblings per key are at most one per
//! coordinating node: a node's newer version dominates its older ones.
//!
//! Registers (`write`) and `cas` are not offered (answered
//! `Fail("unsupported")`): this store's merge is set union.
//!
//! Parameters (`--param NAME=VALUE`), all optional:
//! - `anti_entropy_ms` (default 50; 0 disables): period of clock exchange.
//! - `replicate` = `true` | `false` (default `true`): send each new version to
//!   the other replicas right away (otherwise only anti-entropy spreads it).

use super::common::{Key, Param, ParamError, Params, Rotation};
use crate::sim::{Ctx, Node, NodeId, Protocol, Request, Response};
use checker::{Value, F};
use std::collections::{BTreeMap, BTreeSet};

/// Keys per anti-entropy digest: bounds message size; the rest waits for
/// the next round.
const MAX_BATCH: usize = 256;
const TAG_ANTI_ENTROPY: u64 = 1;

/// The protocol's settings; see the module doc.
#[derive(Clone, Debug)]
pub struct VclockProtocol {
    pub anti_entropy_ns: u64,
    pub replicate: bool,
}

super::common::params::default_from_params!(VclockProtocol);

impl VclockProtocol {
    pub const PARAMS: &'static [Param] = &[
        Param::ms("anti_entropy_ms", 0, 50, "clock exchange period; 0 disables"),
        Param::flag("replicate", true, "send each new version to the other replicas right away"),
    ];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("vclock", Self::PARAMS, params)?;
        Ok(VclockProtocol { anti_entropy_ns: p.ns("anti_entropy_ms"), replicate: p.flag("replicate") })
    }
}

/// A vector clock: node id -> number of adds that node coordinated.
pub type Clock = BTreeMap<NodeId, u64>;

/// `a <= b` entrywise (`a` happened before or equals `b`).
pub fn clock_le(a: &Clock, b: &Clock) -> bool {
    a.iter().all(|(n, &c)| b.get(n).copied().unwrap_or(0) >= c)
}

fn join(into: &mut Clock, other: &Clock) {
    for (&n, &c) in other {
        let e = into.entry(n).or_insert(0);
        *e = (*e).max(c);
    }
}

/// One version of a key's set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sibling {
    pub clock: Clock,
    pub elems: BTreeSet<Value>,
}

/// What a vclock replica persists: its siblings per key.
#[derive(Clone, Debug, Default)]
pub struct VclockDurable {
    pub store: BTreeMap<Key, Vec<Sibling>>,
}

/// Messages between vclock nodes.
#[derive(Clone, Debug)]
pub enum VclockMsg {
    /// Versions to merge (replication of an add, or anti-entropy answer).
    Put { versions: Vec<(Key, Sibling)> },
    /// Anti-entropy: the sender's sibling clocks per key.
    Digest { entries: Vec<(Key, Vec<Clock>)> },
    /// Anti-entropy: send me your siblings of these keys.
    Pull { keys: Vec<Key> },
}

/// One vclock replica.
pub struct VclockNode {
    cfg: VclockProtocol,
    ae: Rotation,
}

impl Protocol for VclockProtocol {
    type Node = VclockNode;
    fn name(&self) -> &'static str {
        "vclock"
    }
    fn create(&self, _id: NodeId, _nodes: usize, _durable: &VclockDurable) -> VclockNode {
        VclockNode { cfg: self.clone(), ae: Rotation::default() }
    }
}

type VCtx<'a> = Ctx<'a, VclockMsg, VclockDurable>;

/// Merges `s` into a sibling list: dropped if some sibling dominates or
/// equals it; otherwise it replaces the siblings it dominates.
pub fn merge_sibling(list: &mut Vec<Sibling>, s: Sibling) -> bool {
    if list.iter().any(|l| clock_le(&s.clock, &l.clock)) {
        return false;
    }
    list.retain(|l| !clock_le(&l.clock, &s.clock));
    list.push(s);
    debug_assert!(concurrent(list), "siblings are pairwise concurrent");
    true
}

/// No sibling's clock is below another's (quadratic: debug checks only; at
/// most one sibling per coordinating node).
fn concurrent(list: &[Sibling]) -> bool {
    list.iter()
        .enumerate()
        .all(|(i, a)| list.iter().skip(i + 1).all(|b| !clock_le(&a.clock, &b.clock) && !clock_le(&b.clock, &a.clock)))
}

/// Whether `clock` is covered by (dominated by or equal to) one of `list`.
fn covered(clock: &Clock, list: &[Clock]) -> bool {
    list.iter().any(|l| clock_le(clock, l))
}

impl VclockNode {
    fn add(&mut self, ctx: &mut VCtx, key: Key, elem: Value) -> Sibling {
        let me = ctx.id();
        let list = ctx.durable_mut().store.entry(key).or_default();
        let mut clock = Clock::new();
        let mut elems = BTreeSet::new();
        for s in list.iter() {
            join(&mut clock, &s.clock);
            elems.extend(s.elems.iter().cloned());
        }
        *clock.entry(me).or_insert(0) += 1;
        elems.insert(elem);
        let s = Sibling { clock, elems };
        debug_assert!(
            list.iter().all(|l| clock_le(&l.clock, &s.clock) && l.clock != s.clock),
            "an add dominates what it read"
        );
        list.clear();
        list.push(s.clone());
        s
    }

    fn anti_entropy(&mut self, ctx: &mut VCtx) {
        let (id, nodes) = (ctx.id(), ctx.nodes());
        let all = |_: NodeId, _: &Key| true;
        let entry = |(k, l): (&Key, &Vec<Sibling>)| (k.clone(), l.iter().map(|s| s.clock.clone()).collect());
        if let Some((peer, entries)) = self.ae.next(id, nodes, &ctx.durable().store, MAX_BATCH, all, entry) {
            ctx.send(peer, VclockMsg::Digest { entries });
        }
    }
}

impl Node for VclockNode {
    type Msg = VclockMsg;
    type Durable = VclockDurable;

    fn on_start(&mut self, ctx: &mut VCtx) {
        if self.cfg.anti_entropy_ns > 0 {
            ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
        }
    }

    fn on_message(&mut self, ctx: &mut VCtx, from: NodeId, msg: VclockMsg) {
        match msg {
            VclockMsg::Put { versions } => {
                for (k, s) in versions {
                    merge_sibling(ctx.durable_mut().store.entry(k).or_default(), s);
                }
            }
            VclockMsg::Digest { entries } => {
                let mut pull = Vec::new();
                let mut push = Vec::new();
                for (key, theirs) in entries {
                    let mine = ctx.durable().store.get(&key).map(Vec::as_slice).unwrap_or(&[]);
                    let my_clocks: Vec<Clock> = mine.iter().map(|s| s.clock.clone()).collect();
                    if theirs.iter().any(|c| !covered(c, &my_clocks)) {
                        pull.push(key.clone());
                    }
                    for s in mine.iter().filter(|s| !covered(&s.clock, &theirs)) {
                        push.push((key.clone(), s.clone()));
                    }
                }
                if !pull.is_empty() {
                    ctx.send(from, VclockMsg::Pull { keys: pull });
                }
                if !push.is_empty() {
                    ctx.send(from, VclockMsg::Put { versions: push });
                }
            }
            VclockMsg::Pull { keys } => {
                let store = &ctx.durable().store;
                let versions: Vec<_> = keys
                    .into_iter()
                    .filter_map(|k| store.get(&k).map(|l| (k, l)))
                    .flat_map(|(k, l)| l.iter().map(move |s| (k.clone(), s.clone())))
                    .collect();
                if !versions.is_empty() {
                    ctx.send(from, VclockMsg::Put { versions });
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut VCtx, tag: u64) {
        if tag == TAG_ANTI_ENTROPY {
            self.anti_entropy(ctx);
            ctx.set_timer(self.cfg.anti_entropy_ns, TAG_ANTI_ENTROPY);
        }
    }

    fn on_request(&mut self, ctx: &mut VCtx, req: Request) {
        match req.f {
            F::Add => {
                let s = self.add(ctx, req.key.clone(), req.value.clone());
                ctx.reply(req.id, Response::Ok(req.value));
                if self.cfg.replicate {
                    ctx.broadcast(VclockMsg::Put { versions: vec![(req.key, s)] });
                }
            }
            F::Read | F::Get => {
                let elems: BTreeSet<&Value> =
                    ctx.durable().store.get(&req.key).into_iter().flatten().flat_map(|s| s.elems.iter()).collect();
                // Sorted, as the set workload expects.
                let v = Value::List(elems.into_iter().cloned().collect());
                ctx.reply(req.id, Response::Ok(v));
            }
            f => ctx.reply(req.id, super::common::not_a_set_op("vclock", &f)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(kv: &[(NodeId, u64)]) -> Clock {
        kv.iter().copied().collect()
    }
    fn sib(kv: &[(NodeId, u64)], e: &[i64]) -> Sibling {
        Sibling { clock: clock(kv), elems: e.iter().map(|&i| Value::Int(i)).collect() }
    }

    #[test]
    fn clocks_order_and_siblings_merge() {
        assert!(clock_le(&clock(&[(0, 1)]), &clock(&[(0, 1), (1, 1)])));
        assert!(!clock_le(&clock(&[(0, 2)]), &clock(&[(0, 1), (1, 1)])));
        let mut l = vec![sib(&[(0, 1)], &[1])];
        assert!(merge_sibling(&mut l, sib(&[(1, 1)], &[2])), "concurrent: kept as sibling");
        assert_eq!(l.len(), 2);
        assert!(!merge_sibling(&mut l, sib(&[(1, 1)], &[2])), "duplicate dropped");
        assert!(merge_sibling(&mut l, sib(&[(0, 1), (1, 1), (2, 1)], &[1, 2, 3])), "dominating replaces both");
        assert_eq!(l, vec![sib(&[(0, 1), (1, 1), (2, 1)], &[1, 2, 3])]);
        assert!(!merge_sibling(&mut l, sib(&[(0, 1)], &[1])), "dominated dropped");
    }

    use proptest::prelude::*;

    /// Versions as real runs make them: node `n`'s `k`-th add holds the
    /// adds its clock covers (the invariant in the module doc), so a version
    /// is determined by its clock.
    fn version() -> impl Strategy<Value = Sibling> {
        proptest::collection::btree_map(0usize..3, 1u64..4, 1..3).prop_map(|clock| {
            let elems =
                clock.iter().flat_map(|(&n, &k)| (1..=k).map(move |i| Value::Int(n as i64 * 10 + i as i64))).collect();
            Sibling { clock, elems }
        })
    }

    proptest! {
        /// Merging the same versions in any order leaves the same siblings
        /// (as a set), each version either kept or dominated by one kept,
        /// and no element of a merged version lost.
        #[test]
        fn merging_is_order_free_and_loses_no_element(vs in proptest::collection::vec(version(), 0..8)) {
            let merged = |order: &[Sibling]| {
                let mut l = Vec::new();
                for s in order {
                    merge_sibling(&mut l, s.clone());
                }
                l.sort_by(|a: &Sibling, b: &Sibling| a.clock.cmp(&b.clock));
                l
            };
            let forward = merged(&vs);
            let mut rev = vs.clone();
            rev.reverse();
            prop_assert_eq!(&forward, &merged(&rev));
            for v in &vs {
                prop_assert!(forward.iter().any(|k| clock_le(&v.clock, &k.clock) && v.elems.is_subset(&k.elems)));
            }
        }
    }
}
