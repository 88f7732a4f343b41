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

/// A history as Jepsen writes history.edn: one op map per line, keyword
/// fields and function names, EDN values.
fn to_edn(events: &[checker::history::Event]) -> String {
    use checker::history::Process;
    let mut out = String::new();
    for (i, e) in events.iter().enumerate() {
        let p = match &e.process {
            Process::Client(p) => p.to_string(),
            Process::Nemesis => ":nemesis".into(),
            Process::Anonymous => "nil".into(),
        };
        let kind = format!("{:?}", e.kind).to_lowercase();
        out += &format!("{{:type :{kind}, :f :{}, :process {p}, :value {}, :index {i}", e.f, e.value);
        if let Some(k) = &e.key {
            out += &format!(", :key {k}");
        }
        if let Some(t) = e.time_ns {
            out += &format!(", :time {t}");
        }
        if let Some(n) = &e.node {
            out += &format!(", :node {n:?}");
        }
        if e.is_final {
            out += ", :final? true";
        }
        out += "}\n";
    }
    out
}

/// The EDN reader on generated histories of each workload, read whole and
/// in small odd-sized chunks (so that chunk boundaries fall inside every
/// kind of token), gives the history the events make; the JSON Lines
/// reader gives the same (sets aside: JSON has none).
#[test]
fn edn_and_jsonl_readers_give_the_history_of_the_events() {
    use checker::read::{read_reader, Format};
    for workload in
        [GenWorkload::Register { cas: true }, GenWorkload::ListAppend, GenWorkload::Set, GenWorkload::Counter]
    {
        let cfg = GenConfig { ops: 1500, info_permille: 50, workload, ..GenConfig::default() };
        let evs = events(&cfg);
        let want = format!("{:?}", checker::History::from_events("g", evs.clone()).unwrap().ops);
        let edn = to_edn(&evs);
        let opts = ReadOptions { format: Some(Format::Edn), ..ReadOptions::default() };
        for cap in [None, Some(4093), Some(509)] {
            let h = match cap {
                None => read_bytes("g.edn", edn.as_bytes(), &opts).unwrap().0,
                Some(cap) => {
                    let r = std::io::BufReader::with_capacity(cap, edn.as_bytes());
                    read_reader("g.edn", r, &opts).unwrap_or_else(|e| panic!("{workload:?} {cap}: {e}")).0
                }
            };
            assert_eq!(format!("{:?}", h.ops), want, "{workload:?}, chunks of {cap:?} bytes");
        }
        if workload != GenWorkload::Set {
            let jsonl = checker::write::to_jsonl(&evs);
            let r = std::io::BufReader::with_capacity(4093, &jsonl[..]);
            let h = read_reader("g.jsonl", r, &ReadOptions::default()).unwrap().0;
            assert_eq!(format!("{:?}", h.ops), want, "{workload:?} as JSON Lines");
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
