use std::collections::BTreeMap;
use workloads::protocols::raft::RaftProtocol;
use workloads::sim::{run, ClientRouting, FaultKind, NemesisConfig, SimConfig};
use workloads::workload::{WorkloadConfig, WorkloadKind};
const MS: u64 = 1_000_000;
#[test]
fn scratch() {
    let p = RaftProtocol::from_params(&BTreeMap::new()).unwrap();
    for seed in 0..4u64 {
        for faults in [vec![], vec![FaultKind::Partition, FaultKind::Crash, FaultKind::Loss]] {
            let mut c = SimConfig { seed, ops: 120, workload: WorkloadConfig::new(WorkloadKind::Register),
                nemesis: NemesisConfig::generated(&faults, 1.0), request_timeout_ns: 300 * MS,
                client_node: ClientRouting::Random, ..SimConfig::default() };
            c.workload.think_mean_ns = 2 * MS;
            let out = run(&p, &c);
            let s = &out.stats;
            println!("seed {seed} faults {} ok {} fail {} info {} dur {}ms msgs {} crashes {}", faults.len(), s.ops_ok, s.ops_fail, s.ops_info, s.sim_duration_ns / MS, s.msgs_sent, s.crashes);
            let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
            for e in &out.events { if e.kind == checker::EventType::Fail || e.kind == checker::EventType::Info { *reasons.entry(format!("{:?} {}", e.kind, e.value)).or_default() += 1; } }
            println!("  {reasons:?}");
        }
    }
}
