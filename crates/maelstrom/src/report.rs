//! After the run: the history checked by the workload's checks, the run's
//! own findings (node problems, a run cut short) folded into one verdict,
//! and the run directory's `history.jsonl` and `run.json`.
//!
//! The verdict is invalid if a check found an anomaly or a node broke the
//! protocol (an error-severity problem); otherwise unknown if anything was
//! left undecided, not checked, or the run was cut short; otherwise valid.

use crate::config::{Config, WorkloadKind};
use crate::flows;
use crate::journal::{Category, MessageStats};
use crate::run::{self, FaultRecord, NodeReport, Outcome, Problem, RunError, RunStats, Severity};
use crate::workload::Workload;
use checker::{CheckResult, History, Outcome as OpOutcome, Report as FileReport, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use workloads::flow::AnomalyWindow;

/// Everything a run found.
pub struct Report {
    pub verdict: Verdict,
    pub workload: WorkloadKind,
    pub results: Vec<CheckResult>,
    /// Why the verdict cannot be valid though no check found anything.
    pub unknown_reasons: Vec<String>,
    pub outcome: Outcome,
    /// The recorded history, paired (`None` if it could not be: a bug).
    pub history: Option<History>,
    pub anomaly_windows: Vec<AnomalyWindow>,
    /// The messages around each anomaly (the first windows'), for Lamport
    /// diagrams.
    pub flows: Vec<workloads::flow::Flow>,
    /// `--availability`: what was asked and what the clients got.
    pub availability: Option<Availability>,
    pub run_json: serde_json::Value,
    pub dir: PathBuf,
    /// Time spent checking the history.
    pub check_ms: u64,
}

/// Maelstrom's availability check: the fraction of client ops (final ops
/// aside) that succeeded, against `--availability`.
#[derive(Clone, Debug, Serialize)]
pub struct Availability {
    pub required: f64,
    /// `ok / ops`; `None` when no client op ran.
    pub measured: Option<f64>,
    pub ops: u64,
    pub ok: u64,
    pub met: bool,
}

impl Availability {
    pub fn of(h: &History, required: f64) -> Availability {
        let ops = h.ops.iter().filter(|o| !o.is_final);
        let (n, ok) = ops.fold((0u64, 0u64), |(n, ok), o| (n + 1, ok + u64::from(o.outcome == OpOutcome::Ok)));
        let measured = (n > 0).then(|| ok as f64 / n as f64);
        Availability { required, measured, ops: n, ok, met: measured.is_some_and(|m| m >= required) }
    }
}

/// What the seed decides and what it cannot.
pub fn reproducibility() -> serde_json::Value {
    serde_json::json!({
        "from_the_seed": [
            "the fault schedule: each fault's kind, start, end, target nodes, partition shape and rates",
            "each client thread's ops in order (function, key, arguments, unique values) and their pacing",
            "the network's and the services' random choices, in the order messages reach them",
        ],
        "not_reproducible": [
            "the node processes are real: the kernel schedules them, and their timing, message order and own randomness differ from run to run",
            "so the order messages reach the router, and with it which random draw each message gets",
            "when each op completes, hence which ops time out (info) and the process ids that follow",
            "kafka polls and commits, which follow the replies",
            "times in the history and the journal: wall-clock nanoseconds since the run started",
        ],
    })
}

/// Runs the cluster, checks the history, writes `history.jsonl` and
/// `run.json` into the run directory.
pub fn run_and_check(cfg: &Config) -> Result<Report, RunError> {
    let outcome = run::run(cfg)?;
    let mut unknown_reasons = Vec::new();
    let history = match History::from_events("maelstrom", outcome.events.iter().cloned()) {
        Ok(h) => Some(h),
        Err(e) => {
            unknown_reasons.push(format!("the recorded history is not well formed (a conch bug): {e}"));
            None
        }
    };
    let mut results = Vec::new();
    let checking = std::time::Instant::now();
    if let Some(h) = &history {
        let checked = Workload::new(cfg).check(h);
        results = checked.results;
        unknown_reasons.extend(checked.unknown);
    }
    let check_ms = checking.elapsed().as_millis() as u64;
    if let Some(why) = &outcome.cut_short {
        unknown_reasons.push(format!("the run was cut short: {why}"));
    }
    let mut verdict = results.iter().fold(Verdict::Valid, |v, r| v.combine(r.verdict));
    if results.is_empty() && verdict == Verdict::Valid {
        verdict = Verdict::Unknown;
        if unknown_reasons.is_empty() {
            unknown_reasons.push("no check ran".into());
        }
    }
    if !unknown_reasons.is_empty() {
        verdict = verdict.combine(Verdict::Unknown);
    }
    let availability = cfg.availability.zip(history.as_ref()).map(|(want, h)| Availability::of(h, want));
    if let Some(a) = availability.as_ref().filter(|a| a.measured.is_none()) {
        unknown_reasons.push(format!("--availability {}: no client op ran, so none could be measured", a.required));
        verdict = verdict.combine(Verdict::Unknown);
    }
    if outcome.problems.iter().any(|p| p.severity == Severity::Error) || has_error_kind(&outcome) {
        verdict = Verdict::Invalid;
    }
    if availability.as_ref().is_some_and(|a| a.measured.is_some() && !a.met) {
        verdict = Verdict::Invalid;
    }
    let anomaly_windows = history.as_ref().map(|h| workloads::flow::windows(h, &results)).unwrap_or_default();
    let journal = cfg.out_dir.join("messages.jsonl");
    // Drawing is not judging: a journal that cannot be read costs the
    // diagrams, not the verdict.
    let (flows, flows_error) = match history.as_ref().map(|h| flows::flows(&journal, h, &anomaly_windows, &outcome)) {
        Some(Ok(f)) => (f, None),
        Some(Err(e)) => (Vec::new(), Some(e)),
        None => (Vec::new(), None),
    };
    let mut run_json =
        run_json(cfg, verdict, &results, &unknown_reasons, &outcome, &anomaly_windows, availability.as_ref());
    run_json["diagrams"] = serde_json::json!({"drawn": flows.len(), "error": flows_error});
    write_files(&cfg.out_dir, &outcome, &run_json)?;
    Ok(Report {
        verdict,
        workload: cfg.workload,
        results,
        unknown_reasons,
        outcome,
        history,
        anomaly_windows,
        flows,
        availability,
        run_json,
        dir: cfg.out_dir.clone(),
        check_ms,
    })
}

/// Whether problems beyond the listed ones include errors (counts are kept
/// per kind; every kind but duplicate replies is an error).
fn has_error_kind(o: &Outcome) -> bool {
    o.stats.problems_by_kind.keys().any(|k| *k != run::ProblemKind::DuplicateReply)
}

/// Messages per client op, by category (Maelstrom's msgs-per-op) and by
/// body type.
fn per_op(m: &MessageStats, stats: &RunStats) -> serde_json::Value {
    let ops = stats.ops_invoked.max(1) as f64;
    let of = |c: Category| m.by_category.get(&c).map_or(0, |x| x.sent) as f64 / ops;
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let by_type: BTreeMap<&String, f64> = m.by_type.iter().map(|(t, c)| (t, round(c.sent as f64 / ops))).collect();
    serde_json::json!({
        "all": round(m.all.sent as f64 / ops),
        "server": round(of(Category::Server)),
        "client": round(of(Category::Client)),
        "service": round(of(Category::Service)),
        "by_type": by_type,
    })
}

fn run_json(
    cfg: &Config,
    verdict: Verdict,
    results: &[CheckResult],
    unknown: &[String],
    o: &Outcome,
    windows: &[AnomalyWindow],
    availability: Option<&Availability>,
) -> serde_json::Value {
    let checks: Vec<serde_json::Value> =
        results.iter().map(|r| serde_json::json!({"check": r.check, "model": r.model, "verdict": r.verdict})).collect();
    let problems: Vec<&Problem> = o.problems.iter().collect();
    let nodes: Vec<&NodeReport> = o.nodes.iter().collect();
    let faults: Vec<&FaultRecord> = o.faults.iter().collect();
    let mut by_type: BTreeMap<&String, u64> = BTreeMap::new();
    for (t, c) in &o.messages.by_type {
        by_type.insert(t, c.sent);
    }
    serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "workload": cfg.workload,
        "seed": cfg.seed,
        "command": cfg.command(),
        "config": cfg,
        "verdict": verdict,
        "checks": checks,
        "unknown_reasons": unknown,
        "availability": availability,
        "cut_short": o.cut_short,
        "reproducibility": reproducibility(),
        "stats": o.stats,
        "messages": o.messages,
        "messages_per_op": per_op(&o.messages, &o.stats),
        "message_counts_by_type": by_type,
        "nodes": nodes,
        "problems": problems,
        "faults": faults,
        "client_start_ns": o.client_start_ns,
        "anomaly_windows": windows,
        "files": {
            "history": "history.jsonl",
            "messages": "messages.jsonl",
            "node_logs": "nodes/",
        },
    })
}

fn write_files(dir: &Path, o: &Outcome, run_json: &serde_json::Value) -> Result<(), RunError> {
    let io = |p: &Path, e: std::io::Error| RunError::Io(format!("{}: cannot write: {e}", p.display()));
    let h = dir.join("history.jsonl");
    let f = std::fs::File::create(&h).map_err(|e| io(&h, e))?;
    checker::write::write_jsonl(std::io::BufWriter::new(f), &o.events).map_err(|e| io(&h, e))?;
    let r = dir.join("run.json");
    let text = serde_json::to_string_pretty(run_json).unwrap_or_default() + "\n";
    std::fs::write(&r, text).map_err(|e| io(&r, e))?;
    Ok(())
}

impl Report {
    /// The checks' results as a check report, so the report crate's
    /// renderers (text, JSON, JUnit, HTML) show them like `conch check`'s.
    pub fn file_report(&self, cfg: &Config) -> FileReport {
        let h = self.history.as_ref();
        FileReport {
            file: Some(format!("maelstrom {} ({})", cfg.workload.name(), cfg.bin.display())),
            format: Some(checker::read::Format::Jsonl),
            events: h.map_or(0, |h| h.events),
            ops: h.map_or(0, |h| h.ops.len() as u64),
            faults: h.map_or(0, |h| h.faults.len() as u64),
            verdict: self.verdict,
            unknown_reason: (!self.unknown_reasons.is_empty()).then(|| self.unknown_reasons.join("; ")),
            results: self.results.clone(),
            skipped: Vec::new(),
            staleness: None,
            isolation: None,
            elapsed_ms: self.check_ms,
        }
    }

    /// `report.json`: the check report.
    pub fn report_json(&self, fr: &FileReport) -> String {
        serde_json::to_string_pretty(fr).unwrap_or_default() + "\n"
    }

    /// `--json`: the run (run.json's content) and the check report.
    pub fn json_document(&self, fr: &FileReport) -> String {
        serde_json::to_string_pretty(&serde_json::json!({ "run": self.run_json, "report": fr })).unwrap_or_default()
    }

    /// The run's own part of the text report, after the checks': ops,
    /// messages, latency, what stayed undecided, node problems with their
    /// stderr, where the files are, how to run it again.
    pub fn text(&self, cfg: &Config) -> String {
        let mut s = String::new();
        let st = &self.outcome.stats;
        let m = &self.run_json["messages_per_op"];
        s.push_str(&format!(
            "  ops: {} invoked, {} ok, {} fail, {} info ({} timed out); {} faults, {} restarts\n",
            st.ops_invoked,
            st.ops_ok,
            st.ops_fail,
            st.ops_info,
            st.timeouts,
            self.outcome.faults.len(),
            st.restarts
        ));
        s.push_str(&format!(
            "  messages: {} routed ({:.0}/s while clients ran), per op: {} all, {} between nodes\n",
            self.outcome.messages.all.sent, st.client_phase_messages_per_s, m["all"], m["server"]
        ));
        for k in self.results.iter().flat_map(|r| &r.keys) {
            let q = k.stats.figure("stable_latency_ms");
            if !q.is_null() {
                s.push_str(&format!(
                    "  stable latency: p50 {} ms, p99 {} ms, max {} ms; {} stale, {} lost\n",
                    q["p50"],
                    q["p99"],
                    q["p100"],
                    k.stats.figure("stale"),
                    k.stats.figure("lost")
                ));
            }
        }
        if let Some(a) = &self.availability {
            let got = a.measured.map_or("nothing measured".into(), |m| format!("{:.4}", m));
            let verdict = if a.met { "met" } else { "NOT met" };
            s.push_str(&format!(
                "  availability: {got} of client ops ok ({} of {}), {} required: {verdict}\n",
                a.ok, a.ops, a.required
            ));
        }
        for why in &self.unknown_reasons {
            s.push_str(&format!("  unknown: {why}\n"));
        }
        if !self.outcome.problems.is_empty() {
            s.push_str("  node problems:\n");
            // A node's stderr once, under its first problem (each problem
            // has its own tail in run.json).
            let mut shown = std::collections::BTreeSet::new();
            for p in &self.outcome.problems {
                let node = p.node.as_deref().unwrap_or("-");
                let sev = if p.severity == Severity::Error { "error" } else { "warning" };
                s.push_str(&format!("    {node} {sev}: {}\n", p.message));
                if let Some(t) = p.stderr_tail.as_ref().filter(|_| shown.insert(node)) {
                    let lines: Vec<&str> = t.lines().collect();
                    for l in &lines[lines.len().saturating_sub(10)..] {
                        s.push_str(&format!("      | {l}\n"));
                    }
                }
            }
            let all: u64 = st.problems_by_kind.values().sum();
            let listed = self.outcome.problems.len() as u64;
            if all > listed {
                s.push_str(&format!("    ... and {} more (counts by kind in run.json)\n", all - listed));
            }
        }
        s.push_str(&format!(
            "  files: {} (history.jsonl, messages.jsonl, run.json, report.json, report.html, nodes/)\n",
            self.dir.display()
        ));
        if !self.flows.is_empty() {
            s.push_str(&format!(
                "  report.html draws the messages around {} of {} anomalies (Lamport diagrams)\n",
                self.flows.len(),
                self.anomaly_windows.len()
            ));
        }
        s.push_str(&format!("  reproduce: {}\n", cfg.command()));
        s.push_str("  (the seed fixes the faults and each client's ops; the node processes are real, so their timing is not)\n");
        s
    }
}
