//! Reading generated histories: the JSON Lines parser against the serde_json
//! parser it replaced, and times in any order.

use checker::read::{json_parsers_agree, read_bytes, ReadOptions};
use proptest::prelude::*;
use testkit::gen::{events, GenConfig, GenWorkload};

/// Every line of generated histories of each workload: the JSON parser
/// gives what the serde_json reference gives.
#[test]
fn json_parser_agrees_with_the_serde_json_reference_on_generated_histories() {
    for workload in
        [GenWorkload::Register { cas: true }, GenWorkload::ListAppend, GenWorkload::Set, GenWorkload::Counter]
    {
        let cfg = GenConfig { ops: 2000, workload, ..GenConfig::default() };
        let bytes = checker::write::to_jsonl(&events(&cfg));
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            json_parsers_agree(line, i as u64 + 1, 64).unwrap_or_else(|d| panic!("{workload:?} line {}: {d}", i + 1));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Issue #12 §3a: times in any order (Jepsen's are per thread) change
    /// nothing but the times; the ops, their order and pairing come from
    /// the file order.
    #[test]
    fn shuffled_times_change_only_the_times(seed in 0u64..1000, times in proptest::collection::vec(any::<i64>(), 400)) {
        let cfg = GenConfig { seed, ops: 100, clients: 4, keys: 3, ..GenConfig::default() };
        let evs = events(&cfg);
        let mut shuffled = evs.clone();
        for (e, t) in shuffled.iter_mut().zip(times.iter().cycle()) {
            e.time_ns = Some(*t);
        }
        let opts = ReadOptions::default();
        let (a, _) = read_bytes("a.jsonl", &checker::write::to_jsonl(&evs), &opts).unwrap();
        let (b, _) = read_bytes("b.jsonl", &checker::write::to_jsonl(&shuffled), &opts).unwrap();
        prop_assert_eq!(a.ops.len(), b.ops.len());
        for (x, y) in a.ops.iter().zip(&b.ops) {
            let mut y = y.clone();
            y.invoke_time_ns = x.invoke_time_ns;
            y.complete_time_ns = x.complete_time_ns;
            prop_assert_eq!(x, &y);
        }
    }
}
