//! Lamport (message-flow) diagrams of simulated runs. A run with anomalies
//! is run again with the simulator's message trace kept: same seed, same
//! history (the simulator is deterministic, and keeping a trace draws no
//! random number; a rerun whose history differs draws nothing). The trace
//! around each anomaly goes through the same [`FlowBuilder`] as
//! `conch maelstrom`'s journal, with the run's fault periods marked.
//!
//! The simulator's clients call nodes directly, not through its network,
//! so an anomaly op's call and answer are drawn from the history, as a
//! message from the client's lane to its node at invoke and one back at
//! completion (none for an op that never completed).

use crate::run::Finished;
use crate::{Error, Plan};
use checker::{History, Outcome, Report, Verdict};
use workloads::flow::{self, Flow, FlowBuilder, FlowEnd, FlowFault};
use workloads::registry;
use workloads::sim::{node_name, TraceEntry, TraceKind};

/// Trace entries kept by the rerun (a memory bound: messages after it are
/// not drawn, and the diagrams say so).
pub const TRACE_LIMIT: usize = 500_000;
/// Characters of a message's `Debug` rendering kept in its label.
const LABEL_CHARS: usize = 120;

/// The diagrams of a finished run: none when nothing was found.
pub fn of_run(plan: &Plan, f: &Finished, h: &History) -> Result<Vec<Flow>, Error> {
    let Some(report) = f.report.as_ref().filter(|r| r.verdict == Verdict::Invalid) else { return Ok(Vec::new()) };
    let mut cfg = plan.sim_config(f.seed)?;
    cfg.keep_trace = true;
    cfg.trace_limit = TRACE_LIMIT;
    let again = registry::run(&plan.protocol, &plan.params_for(f.seed), &cfg).map_err(|e| Error::Sim(e.to_string()))?;
    if again.events != f.output.events {
        debug_assert!(false, "seed {} of {} ran differently with a trace", f.seed, plan.protocol);
        return Ok(Vec::new());
    }
    let cut = (again.stats.trace_dropped > 0).then_some(TRACE_LIMIT);
    Ok(flows(h, report, &f.metrics.fault_windows, again.trace.as_deref().unwrap_or(&[]), cut))
}

/// The flows of `report`'s anomalies from the message trace; `cut`: the
/// trace stopped after this many entries.
pub fn flows(
    h: &History,
    report: &Report,
    faults: &[workloads::metrics::FaultWindow],
    trace: &[TraceEntry],
    cut: Option<usize>,
) -> Vec<Flow> {
    let windows = flow::windows(h, &report.results);
    let faults: Vec<FlowFault> = faults
        .iter()
        .map(|w| {
            // The start event's value says which nodes (a grudge, a node).
            let start = format!("start-{}", w.kind);
            let value = h.faults.iter().find(|x| x.f.as_str() == start && x.time_ns == Some(w.start_ns));
            let label = value.map_or(w.kind.clone(), |v| format!("{} {}", w.kind, v.value));
            FlowFault { start_ns: w.start_ns, end_ns: Some(w.end_ns), label }
        })
        .collect();
    let client = |p: u64| Some(format!("c{p}"));
    let mut b = FlowBuilder::new(&windows, h, &client, &faults);
    if b.is_empty() {
        return Vec::new();
    }
    // Ids above every trace id: the calls and answers drawn from the history.
    let mut synthetic = u64::MAX / 2;
    for w in windows.iter().take(flow::MAX_FLOWS) {
        for op in w.ops.iter().filter_map(|&id| h.get(id)) {
            let (Some(node), Some(at)) = (op.node.as_deref(), op.invoke_time_ns) else { continue };
            let c = format!("c{}", op.process);
            synthetic += 1;
            // Unlabelled: the op's bar on the client's lane says what it was.
            b.send(synthetic, at, &c, node, op.key.as_ref(), &String::new);
            b.end(synthetic, FlowEnd::Delivered { at_ns: at });
            if let (Some(done), true) = (op.complete_time_ns, op.outcome != Outcome::Info) {
                synthetic += 1;
                b.send(synthetic, done, node, &c, op.key.as_ref(), &String::new);
                b.end(synthetic, FlowEnd::Delivered { at_ns: done });
            }
        }
    }
    for e in trace {
        let t = e.time_ns.min(i64::MAX as u64) as i64;
        if t < b.first_ns() {
            continue;
        }
        if b.done_at(t) {
            break;
        }
        match e.kind {
            TraceKind::Send => b.send(e.id, t, &node_name(e.from), &node_name(e.to), None, &|| label(&e.msg)),
            TraceKind::Deliver => b.end(e.id, FlowEnd::Delivered { at_ns: t }),
            // Its delivery is traced on its own.
            TraceKind::Duplicate => {}
            kind => b.end(e.id, FlowEnd::Dropped { at_ns: t, reason: drop_reason(kind).into() }),
        }
    }
    let mut out = b.finish();
    if let Some(n) = cut {
        for f in &mut out {
            f.title.push_str(&format!(" (the message trace stopped after {n} entries)"));
        }
    }
    out
}

fn drop_reason(kind: TraceKind) -> &'static str {
    match kind {
        TraceKind::DropPartition => "partition",
        TraceKind::DropLoss => "loss",
        TraceKind::DropCrash => "crashed",
        TraceKind::DropOverflow => "overflow",
        _ => "dropped",
    }
}

fn label(msg: &str) -> String {
    if msg.chars().count() > LABEL_CHARS {
        msg.chars().take(LABEL_CHARS - 1).chain(std::iter::once('…')).collect()
    } else {
        msg.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::run_one;
    use checker::CheckName;

    /// #18 §3: an anomaly of a simulated run gets its diagram from the
    /// rerun's trace, the rerun leaves the run's history as it was, and
    /// the same seed draws the same diagram.
    #[test]
    fn a_simulated_anomaly_is_drawn_the_same_every_time() {
        let plan = Plan { nemesis: vec![workloads::sim::FaultKind::Partition], ..Plan::new("lagging").unwrap() };
        let f = run_one(&plan, 0, Some(&[CheckName::Linearizable])).unwrap();
        assert_eq!(f.verdict(), Some(Verdict::Invalid));
        let h = f.history.as_ref().unwrap();
        let a = of_run(&plan, &f, h).unwrap();
        assert!(!a.is_empty());
        for flow in &a {
            assert!(flow.lanes.iter().any(|l| l.starts_with('c')) && flow.lanes.iter().any(|l| l.starts_with('n')));
            assert!(flow.messages.iter().any(|m| m.highlight), "{}: the anomaly's calls", flow.title);
            assert!(!flow.spans.is_empty(), "{}", flow.title);
        }
        assert!(a.iter().any(|f| f.messages.iter().any(|m| !m.highlight)), "node-to-node messages from the trace");
        assert_eq!(of_run(&plan, &f, h).unwrap(), a, "same seed, same diagram");
        let raft = Plan::new("raft").unwrap();
        let valid = run_one(&raft, 0, Some(&[CheckName::Linearizable])).unwrap();
        assert_eq!(valid.verdict(), Some(Verdict::Valid));
        assert!(of_run(&raft, &valid, valid.history.as_ref().unwrap()).unwrap().is_empty(), "nothing to draw");
    }
}
