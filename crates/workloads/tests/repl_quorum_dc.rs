//! Cassandra's datacenters under the `dc-partition` nemesis (#17): the
//! partition cuts exactly the links between datacenters, and the
//! consistency levels keep or lose linearizability as the verdict table in
//! docs/protocols/quorum.md says. The configs are `conch run`'s
//! (`--nodes 6 --param dcs=2 --nemesis dc-partition --keys 3`: 10 clients
//! on every node, failover routing, intensity 1), with few ops so that the
//! tests stay fast; the table's seed counts come from the command line.

mod common;

use checker::model::ModelKind;
use checker::{EventType, Outcome, Process, Verdict};
use common::{describe, linear, params, sim, MS};
use workloads::protocols::quorum::dc::Topology;
use workloads::protocols::quorum::QuorumProtocol;
use workloads::sim::{run, ClientRouting, Fault, FaultKind, NemesisConfig, ScheduledFault, SimConfig, TraceKind};
use workloads::workload::{WorkloadConfig, WorkloadKind};

const NODES: usize = 6;

fn quorum(kv: &[(&str, &str)]) -> QuorumProtocol {
    let mut all = vec![("dcs", "2")];
    all.extend_from_slice(kv);
    QuorumProtocol::from_params(&params(&all)).unwrap()
}

/// `conch run --protocol quorum --nodes 6 --keys 3 --ops OPS --seed SEED
/// --nemesis dc-partition` (with the protocol's `--param`s).
fn cfg(seed: u64, ops: usize) -> SimConfig {
    let mut workload = WorkloadConfig::new(WorkloadKind::Register);
    workload.keys = 3;
    SimConfig {
        seed,
        nodes: NODES,
        clients: 10,
        ops,
        workload,
        nemesis: NemesisConfig::from_names("dc-partition", 1.0).unwrap(),
        client_node: ClientRouting::Failover,
        ..SimConfig::default()
    }
}

fn linearizable(p: &QuorumProtocol, seed: u64, ops: usize) -> Verdict {
    let (out, h) = sim(p, &cfg(seed, ops));
    assert!(out.stats.faults_by_kind.get("dc-partition").copied().unwrap_or(0) > 0, "seed {seed}: no dc partition");
    // Something was checked: a level that answers nothing is trivially
    // linearizable.
    let ok = h.ops.iter().filter(|o| !o.is_final && o.outcome == Outcome::Ok).count();
    assert!(ok >= 10, "seed {seed}: only {ok} ops ok");
    let r = linear(&h, ModelKind::CasRegister);
    assert_ne!(r.verdict, Verdict::Unknown, "seed {seed}: {}", describe(&r));
    r.verdict
}

/// The partition cuts every link between the datacenters, both ways, and
/// none inside one: during it, every message that crosses is dropped and
/// messages inside each datacenter are delivered.
#[test]
fn a_dc_partition_cuts_only_the_links_between_datacenters() {
    let p = quorum(&[]);
    let topo = Topology::new(NODES, 2, 3);
    let (start, stop) = (20 * MS, 220 * MS);
    let mut c = cfg(1, 300);
    c.nemesis = NemesisConfig {
        faults: vec![ScheduledFault { at_ns: start, duration_ns: stop - start, fault: Fault::DcPartition }],
        generate: None,
    };
    c.keep_trace = true;
    let out = run(&p, &c);
    assert_eq!(out.stats.stopped_early, None);
    let trace = out.trace.as_ref().unwrap();
    let (mut cut, mut inside) = (0, 0);
    for e in trace.iter().filter(|e| e.from != e.to) {
        let crosses = topo.dc_of(e.from) != topo.dc_of(e.to);
        match e.kind {
            TraceKind::DropPartition => {
                assert!(crosses, "a link inside a datacenter was cut: {e:?}");
                assert!((start..stop).contains(&e.time_ns), "cut outside the partition: {e:?}");
                cut += 1;
            }
            TraceKind::Deliver if (start..stop).contains(&e.time_ns) => {
                assert!(!crosses, "a message crossed the partition: {e:?}");
                inside += 1;
            }
            _ => {}
        }
    }
    assert!(cut > 0 && inside > 0, "cut {cut}, delivered inside {inside}");
    // The history names the datacenters and the grudge.
    let info = out
        .events
        .iter()
        .find(|e| e.process == Process::Nemesis && e.kind == EventType::Info && e.f.as_str() == "start-dc-partition")
        .expect("start-dc-partition recorded");
    let v = info.value.to_string();
    assert!(v.contains(r#""datacenters" [["n0" "n1" "n2"] ["n3" "n4" "n5"]]"#), "{v}");
    assert!(v.contains(r#""n0" ["n3" "n4" "n5"]"#) && v.contains(r#""n5" ["n0" "n1" "n2"]"#), "{v}");
    assert_eq!(out.stats.faults_by_kind.get("dc-partition"), Some(&1));
    assert!(out.events.iter().any(|e| e.f.as_str() == "stop-dc-partition"));
}

/// One datacenter: the partition has nothing to cut, and the run says the
/// fault never took effect instead of counting it.
#[test]
fn a_dc_partition_of_one_datacenter_never_takes_effect() {
    let p = QuorumProtocol::from_params(&params(&[])).unwrap();
    let c = cfg(0, 100);
    let out = run(&p, &c);
    assert_eq!(out.stats.msgs_dropped_partition, 0);
    assert_eq!(out.stats.missing_faults(&c.nemesis), vec![FaultKind::DcPartition]);
}

#[test]
fn same_seed_same_bytes_under_a_dc_partition() {
    let p = quorum(&[("consistency", "local_quorum")]);
    let a = run(&p, &cfg(7, 200));
    let b = run(&p, &cfg(7, 200));
    assert_eq!(a.to_jsonl(), b.to_jsonl());
    assert_ne!(a.to_jsonl(), run(&p, &cfg(8, 200)).to_jsonl());
}

/// LOCAL_QUORUM (and LOCAL_ONE, and LOCAL_SERIAL lightweight
/// transactions) acknowledge and answer inside one datacenter: across a
/// datacenter partition, a read in one datacenter misses a write
/// acknowledged in the other.
#[test]
fn local_levels_are_not_linearizable_across_a_dc_partition() {
    let cases: [&[(&str, &str)]; 3] = [
        &[("consistency", "local_quorum")],
        &[("consistency", "local_one")],
        &[("lwt", "true"), ("serial", "local_serial")],
    ];
    for level in cases {
        let p = quorum(level);
        let first = (0..3).find(|&s| linearizable(&p, s, 200) == Verdict::Invalid);
        assert!(first.is_some(), "{level:?}: no violation in seeds 0..3");
    }
}

/// EACH_QUORUM, QUORUM and ALL need replies from both datacenters, and
/// lightweight transactions a Paxos majority of all replicas: under a
/// datacenter partition they stop answering rather than answer wrong.
#[test]
fn cross_datacenter_levels_and_lwt_stay_linearizable_under_a_dc_partition() {
    let cases: [&[(&str, &str)]; 4] = [
        &[("consistency", "each_quorum")],
        &[("consistency", "quorum")],
        &[("consistency", "all")],
        &[("lwt", "true"), ("timeout_ms", "500")],
    ];
    for kv in cases {
        let p = quorum(kv);
        for seed in 0..2 {
            assert_eq!(linearizable(&p, seed, 150), Verdict::Valid, "{kv:?} seed {seed}");
        }
    }
}
