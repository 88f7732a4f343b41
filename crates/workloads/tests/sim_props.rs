//! Properties over random configurations: the simulator never panics, its
//! histories are always well-formed, its statistics add up, and it is
//! deterministic.

use checker::{EventType, Outcome, Process};
use proptest::prelude::*;
use std::collections::BTreeMap;
use workloads::protocols::lagging::Lagging;
use workloads::protocols::single::Single;
use workloads::sim::{run, ClientRouting, FaultKind, Latency, NemesisConfig, RunOutput, SimConfig};
use workloads::workload::{WorkloadConfig, WorkloadKind};

fn config() -> impl Strategy<Value = SimConfig> {
    (
        any::<u64>(),
        1usize..7,
        0usize..6,
        0usize..120,
        0usize..WorkloadKind::ALL.len(),
        any::<bool>(),
        (0.0f64..0.3, 0.0f64..0.3, 0.0f64..0.3),
        proptest::collection::vec(0usize..FaultKind::ALL.len(), 0..4),
        (1u64..60, any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                seed,
                nodes,
                clients,
                ops,
                kind,
                random,
                (loss, dup, reorder),
                faults,
                (timeout_ms, finals, zero_latency),
            )| {
                let mut c = SimConfig {
                    seed,
                    nodes,
                    clients: if ops > 0 { clients.max(1) } else { clients },
                    ops,
                    workload: WorkloadConfig::new(WorkloadKind::ALL[kind]),
                    request_timeout_ns: timeout_ms * 1_000_000,
                    client_node: if random { ClientRouting::Random } else { ClientRouting::Sticky },
                    final_reads: finals,
                    quiesce_ns: 10_000_000,
                    ..SimConfig::default()
                };
                c.net.loss = loss;
                c.net.duplicate = dup;
                c.net.reorder = reorder;
                if zero_latency {
                    c.net.latency = Latency::Constant { ns: 0 };
                    c.net.client_latency = Latency::Constant { ns: 0 };
                    c.workload.think_mean_ns = 0;
                }
                let kinds: Vec<FaultKind> = faults.into_iter().map(|i| FaultKind::ALL[i]).collect();
                c.nemesis =
                    NemesisConfig::from_names(&kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(","), 5.0)
                        .unwrap();
                c
            },
        )
}

fn well_formed(c: &SimConfig, out: &RunOutput) -> Result<(), TestCaseError> {
    prop_assert_eq!(&out.stats.stopped_early, &None);
    if out.events.is_empty() {
        prop_assert_eq!(c.ops, 0);
        return Ok(());
    }
    let h = out.history().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let s = &out.stats;
    prop_assert_eq!(s.ops_invoked, h.ops.len() as u64);
    prop_assert_eq!(s.ops_ok + s.ops_fail + s.ops_info + s.ops_open, s.ops_invoked);
    prop_assert_eq!(s.ops_open, 0, "a finished run leaves nothing open");
    prop_assert_eq!(h.ops.iter().filter(|o| !o.is_final).count(), c.ops);
    // Every copy is delivered, dropped, or still queued when the run ends.
    prop_assert!(s.msgs_delivered + s.msgs_dropped <= s.msgs_sent + s.msgs_duplicated);
    prop_assert_eq!(
        s.msgs_dropped,
        s.msgs_dropped_partition + s.msgs_dropped_loss + s.msgs_dropped_crash + s.msgs_dropped_overflow
    );
    let mut last = 0;
    for (i, e) in out.events.iter().enumerate() {
        prop_assert_eq!(e.line, i as u64 + 1);
        let t = e.time_ns.unwrap();
        prop_assert!(t >= last);
        last = t;
    }
    // Nemesis events come in invoke/info pairs, and every start is stopped.
    let nem: Vec<_> = out.events.iter().filter(|e| e.process == Process::Nemesis).collect();
    prop_assert_eq!(nem.len() % 2, 0);
    for pair in nem.chunks(2) {
        prop_assert_eq!(pair[0].kind, EventType::Invoke);
        prop_assert_eq!(pair[1].kind, EventType::Info);
        prop_assert_eq!(&pair[0].f, &pair[1].f);
    }
    let mut open: BTreeMap<String, i64> = BTreeMap::new();
    for e in nem.iter().step_by(2) {
        let f = e.f.as_str();
        if let Some(k) = f.strip_prefix("start-") {
            *open.entry(k.to_string()).or_default() += 1;
        } else if let Some(k) = f.strip_prefix("stop-") {
            *open.entry(k.to_string()).or_default() -= 1;
        }
    }
    prop_assert!(open.values().all(|&v| v == 0), "{:?}", open);
    // A retired process never runs again.
    for o in h.ops.iter().filter(|o| o.outcome == Outcome::Info) {
        prop_assert!(h.ops.iter().filter(|p| p.process == o.process).all(|p| p.call <= o.call));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_configs_give_well_formed_deterministic_histories(c in config()) {
        let a = run(&Single, &c);
        well_formed(&c, &a)?;
        let b = run(&Single, &c);
        prop_assert_eq!(a.to_jsonl(), b.to_jsonl());
        let l = run(&Lagging { lag_ns: 3_000_000 }, &c);
        well_formed(&c, &l)?;
    }
}
