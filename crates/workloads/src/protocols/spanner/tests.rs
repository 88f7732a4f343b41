use super::record::{Applied, GroupState, Record};
use super::*;
use crate::sim::{run, NemesisConfig, SimConfig};
use crate::workload::{WorkloadConfig, WorkloadKind};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn mop(kind: MopKind, k: i64, v: i64) -> Mop {
    Mop { kind, key: Value::Int(k), value: Value::Int(v) }
}

/// TrueTime at a node whose clock is `error_ns` off true time `true_ns`,
/// with ε derived (no `epsilon_ms`) or fixed.
fn tt_at(proto: &SpannerProtocol, true_ns: i64, error_ns: i64) -> Tt {
    let node = SpannerNode::new(0, 3, proto.clone());
    let (mut rng, mut durable, mut effects) = (ChaCha8Rng::seed_from_u64(0), SpannerDurable::default(), Vec::new());
    let ctx = Ctx::new(0, 3, true_ns + error_ns, &mut rng, &mut durable, &mut effects)
        .with_clock_error_bound_ns(error_ns.unsigned_abs());
    node.tt(&ctx)
}

#[test]
fn truetime_covers_true_time_whatever_the_clock_error() {
    let proto = SpannerProtocol::default();
    for error in [0, 1, -1, 7_000_000, -500_000_000, 123_456_789] {
        let t = 10_000_000_000;
        let tt = tt_at(&proto, t, error);
        assert!(tt.earliest <= t && t <= tt.latest, "error {error}: {tt:?}");
        assert_eq!(tt.latest - tt.earliest, 2 * (BASE_EPSILON_NS as i64 + error.abs()));
    }
}

#[test]
fn a_fixed_epsilon_below_the_clock_error_misses_true_time() {
    let mut p = BTreeMap::new();
    p.insert("epsilon_ms".to_string(), "1".to_string());
    let proto = SpannerProtocol::from_params(&p).unwrap();
    let tt = tt_at(&proto, 10_000_000_000, 5_000_000);
    assert!(tt.earliest > 10_000_000_000, "{tt:?}: the interval is past true time");
}

#[test]
fn records_round_trip_through_values() {
    let recs = [
        Record::Prepare {
            txn: (2, 9),
            ts: 77,
            coord: 1,
            reads: vec![Value::Int(3)],
            writes: vec![mop(MopKind::Append, 4, 5), mop(MopKind::Write, 6, 7)],
        },
        Record::Commit { txn: (0, 1), ts: -5, writes: vec![mop(MopKind::Append, 1, 2)] },
        Record::Abort { txn: (4, 1 << 40) },
        Record::Barrier,
    ];
    for r in recs {
        assert_eq!(Record::decode(&r.encode()), Some(r.clone()));
    }
    assert_eq!(Record::decode(&Value::str("nonsense")), None);
}

#[test]
fn versions_are_read_at_a_timestamp_and_the_first_decision_wins() {
    let mut s = GroupState::default();
    let t1 = (0, 1);
    assert_eq!(
        s.apply(Record::Commit { txn: t1, ts: 10, writes: vec![mop(MopKind::Append, 1, 1)] }),
        Applied::Decided(t1, Some(10))
    );
    let t2 = (1, 1);
    let prep = Record::Prepare { txn: t2, ts: 15, coord: 0, reads: vec![], writes: vec![mop(MopKind::Append, 1, 2)] };
    assert_eq!(s.apply(prep.clone()), Applied::Prepared(t2));
    assert_eq!(s.apply(prep), Applied::Ignored, "a duplicated prepare");
    assert_eq!(s.min_prepared_ts(), Some(15));
    assert_eq!(
        s.apply(Record::Commit { txn: t2, ts: 20, writes: vec![mop(MopKind::Append, 1, 2)] }),
        Applied::Decided(t2, Some(20))
    );
    assert_eq!(s.apply(Record::Abort { txn: t2 }), Applied::Ignored, "a decision after the first is ignored");
    assert_eq!(s.min_prepared_ts(), None);
    let list = |v: &[i64]| Value::List(v.iter().map(|&i| Value::Int(i)).collect());
    assert_eq!(s.read_at(&Value::Int(1), 9), Value::Nil);
    assert_eq!(s.read_at(&Value::Int(1), 10), list(&[1]));
    assert_eq!(s.read_at(&Value::Int(1), 19), list(&[1]));
    assert_eq!(s.read_at(&Value::Int(1), 20), list(&[1, 2]));
    assert_eq!(s.latest(&Value::Int(1)), list(&[1, 2]));
    let t3 = (1, 2);
    assert_eq!(s.apply(Record::Abort { txn: t3 }), Applied::Decided(t3, None));
    assert_eq!(s.apply(Record::Commit { txn: t3, ts: 30, writes: vec![mop(MopKind::Append, 1, 3)] }), Applied::Ignored);
    assert_eq!(s.latest(&Value::Int(1)), list(&[1, 2]), "an aborted transaction's commit never installs");
    assert_eq!(s.max_ts, 30);
}

#[test]
#[should_panic(expected = "version at 5 after one at Some(10)")]
#[cfg(debug_assertions)]
fn versions_of_a_key_must_come_in_timestamp_order() {
    let mut s = GroupState::default();
    s.apply(Record::Commit { txn: (0, 1), ts: 10, writes: vec![mop(MopKind::Write, 1, 1)] });
    s.apply(Record::Commit { txn: (0, 2), ts: 5, writes: vec![mop(MopKind::Write, 1, 2)] });
}

#[test]
fn keys_fall_in_ranges_and_ranges_in_groups() {
    let p = SpannerProtocol::default();
    let groups: Vec<GroupId> = (0..8).map(|k| p.group_of(&Value::Int(k))).collect();
    assert_eq!(groups, [0, 0, 1, 1, 2, 2, 0, 0]);
    assert_eq!(p.members(2, 5), [2, 3, 4]);
    assert_eq!(p.members(4, 5), [4, 0, 1]);
    assert_eq!(p.members(0, 2), [0, 1], "at most the cluster");
}

fn cfg(seed: u64, faults: &str) -> SimConfig {
    SimConfig {
        seed,
        ops: 150,
        workload: WorkloadConfig::new(WorkloadKind::TxnListAppend),
        nemesis: NemesisConfig::from_names(faults, 3.0).expect("known faults"),
        ..SimConfig::default()
    }
}

/// Transactions commit with commit wait, read-only ones read snapshots, and
/// the leaders' locks and timestamps never trip a debug assertion.
#[test]
fn transactions_commit_after_commit_wait() {
    let out = run(&SpannerProtocol::default(), &cfg(1, "none"));
    assert_eq!(out.stats.stopped_early, None);
    let s = &out.stats.protocol;
    assert!(s["txns_committed"] > 50, "{s:?}");
    assert!(s["read_only_txns"] > 5, "{s:?}");
    assert_eq!(s["commit_waits"], s["txns_committed"]);
    // ε is 1 ms with synchronised clocks: a wait lasts at most 2ε (s is at
    // most TT.now().latest when chosen), less the time Raft took to commit.
    assert_eq!(s["epsilon_ns_max"], BASE_EPSILON_NS as i64);
    let mean = s["commit_wait_ns_sum"] / s["commit_waits"];
    assert!((1..=2_000_000).contains(&mean), "mean commit wait {mean} ns");
    assert!(s["commit_wait_ns_max"] <= 2_000_000 + TICK_NS as i64, "{s:?}");
    assert!(out.stats.ops_ok > 100, "{:?}", out.stats);
}

#[test]
fn no_commit_wait_answers_at_once() {
    let mut p = BTreeMap::new();
    p.insert("bug".to_string(), "no-commit-wait".to_string());
    let out = run(&SpannerProtocol::from_params(&p).unwrap(), &cfg(1, "none"));
    assert_eq!(out.stats.protocol["commit_waits"], 0);
    assert!(out.stats.coverage.get("spanner.no-commit-wait").copied().unwrap_or(0) > 0);
}
