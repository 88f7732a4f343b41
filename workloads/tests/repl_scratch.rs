mod repl_net;
use checker::model::ModelKind;
use checker::session::Workload;
use checker::Outcome;
use repl_net::*;
use workloads::sim::{ClientRouting, FaultKind, NemesisConfig, Protocol};
use workloads::workload::WorkloadKind;

fn explore<P: Protocol>(name: &str, p: &P, kind: WorkloadKind, faults: &[FaultKind], routing: ClientRouting, seeds: u64) {
    let mut found = std::collections::BTreeMap::<String, Vec<u64>>::new();
    let (mut info, mut fail, mut okc) = (0, 0, 0);
    for seed in 0..seeds {
        let mut c = sim_cfg(seed, kind, faults, 500);
        if kind == WorkloadKind::Register { c.workload.keys = std::env::var("KEYS").ok().and_then(|s| s.parse().ok()).unwrap_or(1); }
        c.client_node = routing;
        let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<u64>().ok());
        if let Some(x) = env("CLIENTS") { c.clients = x as usize; }
        if let Some(x) = env("LAT_US") { c.net.latency = workloads::sim::Latency::Exponential { min_ns: 100_000, mean_ns: x * 1000 }; }
        if let Some(x) = env("REORDER") { c.net.reorder = x as f64 / 100.0; }
        if let Some(x) = env("OPS") { c.ops = x as usize; }
        if !faults.is_empty() { c.nemesis = NemesisConfig::generated(faults, 2.0); }
        let (_out, h) = sim(p, &c);
        info += h.ops.iter().filter(|o| o.outcome == Outcome::Info).count();
        fail += h.ops.iter().filter(|o| o.outcome == Outcome::Fail).count();
        okc += h.ops.iter().filter(|o| o.outcome == Outcome::Ok).count();
        let model = if kind == WorkloadKind::Set { ModelKind::Set } else { ModelKind::CasRegister };
        let w = if kind == WorkloadKind::Set { Workload::Set } else { Workload::Register };
        let mut rs = vec![linear(&h, model)];
        rs.extend(sessions(&h, w));
        for r in rs {
            if r.verdict != checker::Verdict::Valid {
                found.entry(format!("{} {}", r.check, r.verdict)).or_default().push(seed);
            }
        }
    }
    eprintln!("== {name}: ok {okc} info {info} fail {fail}");
    for (k, v) in found { eprintln!("   {k}: {} seeds, first {:?}", v.len(), &v[..v.len().min(5)]); }
}

#[test]
fn scratch() {
    use workloads::protocols::*;
    let all = [FaultKind::Partition, FaultKind::Crash, FaultKind::Pause, FaultKind::Loss, FaultKind::Duplicate];
    let n = std::env::var("SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let which = std::env::var("WHICH").unwrap_or_default();
    let q = |kv: &[(&str, &str)]| quorum::QuorumProtocol::from_params(&params(kv)).unwrap();
    if which.contains("V") {
        explore("quorum rr-off", &q(&[("read_repair", "off")]), WorkloadKind::Register, &all, ClientRouting::Sticky, n);
        explore("quorum rr-off random", &q(&[("read_repair", "off")]), WorkloadKind::Register, &all, ClientRouting::Random, n);
        explore("quorum r2w2", &q(&[("r", "2"), ("w", "2")]), WorkloadKind::Register, &all, ClientRouting::Sticky, n);
    }
    if which.contains("B") {
        let mut sk = all.to_vec(); sk.push(FaultKind::ClockSkew);
        explore("quorum blocking skew", &q(&[("read_repair", "blocking")]), WorkloadKind::Register, &sk, ClientRouting::Sticky, n);
        explore("quorum rr-off", &q(&[("read_repair", "off")]), WorkloadKind::Register, &all, ClientRouting::Sticky, n);
    }
    if which.contains("D") {
        explore("quorum", &q(&[]), WorkloadKind::Register, &all, ClientRouting::Sticky, n);
    }
    if which.contains("Q") {
        explore("quorum", &q(&[]), WorkloadKind::Register, &all, ClientRouting::Sticky, n);
        explore("quorum random", &q(&[]), WorkloadKind::Register, &all, ClientRouting::Random, n);
    }
    if which.contains("w") {
        explore("weak", &weak::WeakProtocol::default(), WorkloadKind::Set, &all, ClientRouting::Random, n);
        explore("weak loss", &weak::WeakProtocol::default(), WorkloadKind::Set, &[FaultKind::Loss], ClientRouting::Random, n);
        explore("weak partition", &weak::WeakProtocol::default(), WorkloadKind::Set, &[FaultKind::Partition], ClientRouting::Random, n);
    }
    if which.contains("q") {
        explore("quorum", &q(&[]), WorkloadKind::Register, &all, ClientRouting::Sticky, n);
        explore("quorum blocking", &q(&[("read_repair", "blocking")]), WorkloadKind::Register, &all, ClientRouting::Sticky, n);
        explore("quorum one random", &q(&[("consistency", "one")]), WorkloadKind::Register, &all, ClientRouting::Random, n);
        explore("quorum one nofault", &q(&[("consistency", "one")]), WorkloadKind::Register, &[], ClientRouting::Random, n);
    }
    if which.contains("l") {
        let mut sk = all.to_vec(); sk.push(FaultKind::ClockSkew);
        explore("lww skew", &lww::LwwProtocol::default(), WorkloadKind::Register, &sk, ClientRouting::Sticky, n);
        explore("lww skew only", &lww::LwwProtocol::default(), WorkloadKind::Register, &[FaultKind::ClockSkew], ClientRouting::Sticky, n);
    }
    if which.contains("s") {
        explore("vclock", &vclock::VclockProtocol::default(), WorkloadKind::Set, &all, ClientRouting::Random, n);
        explore("gossip", &gossip::GossipProtocol::default(), WorkloadKind::Set, &all, ClientRouting::Random, n);
        explore("gossip sticky", &gossip::GossipProtocol::default(), WorkloadKind::Set, &all, ClientRouting::Sticky, n);
        explore("weak", &weak::WeakProtocol::default(), WorkloadKind::Set, &all, ClientRouting::Random, n);
    }
}
