//! The comparison table: for the terminal and as CSV.

use checker::CheckName;
use runner::compare::{CheckSummary, Row};
use std::fmt::Write;

/// The check columns, with their short headers.
pub const CHECK_COLUMNS: [(CheckName, &str); 7] = [
    (CheckName::Linearizable, "linearizable"),
    (CheckName::ReadYourWrites, "ryw"),
    (CheckName::MonotonicReads, "mono-reads"),
    (CheckName::MonotonicWrites, "mono-writes"),
    (CheckName::WritesFollowReads, "wfr"),
    (CheckName::Convergence, "convergence"),
    (CheckName::Bank, "bank"),
];

/// The isolation models comparisons check transactional runs against (every
/// model in `workloads::registry`'s `isolation` lists), weakest first: their
/// CSV columns.
pub const TXN_COLUMNS: [CheckName; 5] = [
    CheckName::ReadCommitted,
    CheckName::ConsistentView,
    CheckName::SnapshotIsolation,
    CheckName::Serializable,
    CheckName::StrictSerializable,
];

/// A transactional row's isolation checks, weakest first:
/// `snapshot-isolation ok; serializable FAIL 7/20 (seed 1)`; `-` for the
/// other rows.
pub fn isolation_cell(r: &Row) -> String {
    let cells: Vec<String> = r
        .checks
        .iter()
        .filter(|c| c.check.txn_model().is_some())
        .map(|c| format!("{} {}", c.check, verdict_cell(c)))
        .collect();
    if cells.is_empty() {
        "-".into()
    } else {
        cells.join("; ")
    }
}

/// `G2-item:7;G-single:2`: seeds per anomaly kind found, by name.
fn anomalies_cell(r: &Row) -> String {
    r.anomalies.iter().map(|(k, n)| format!("{k}:{n}")).collect::<Vec<_>>().join(";")
}

/// `ok`, `2 unknown`, or `FAIL 3/5 (seed 1)`.
pub fn verdict_cell(c: &CheckSummary) -> String {
    match (c.seeds_invalid, c.seeds_unknown) {
        (0, 0) => "ok".to_string(),
        (0, u) => format!("{u} unknown"),
        (i, _) => format!(
            "FAIL {i}/{} (seed {})",
            c.seeds_valid + c.seeds_invalid + c.seeds_unknown,
            c.first_violating_seed.map_or("?".into(), |s| s.to_string())
        ),
    }
}

/// `42%`, or `-` when not measured.
pub fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |a| format!("{:.0}%", a * 100.0))
}

/// `12`, or `-` when not measured.
pub fn converge_cell(x: Option<f64>) -> String {
    x.map_or("-".into(), |c| format!("{c:.0}"))
}

/// The terminal table, columns aligned.
pub fn table(rows: &[Row]) -> String {
    let mut header = vec![
        "protocol",
        "workload",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "avail",
        "avail@fault",
        "msgs/op",
        "converge ms",
    ];
    header.extend(CHECK_COLUMNS.iter().map(|(_, h)| *h));
    header.push("isolation");
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let mut line = vec![
            r.protocol.clone(),
            r.workload.clone(),
            format!("{:.0}", r.throughput_ops_per_s),
            format!("{:.1}", r.latency_ms_p50),
            format!("{:.1}", r.latency_ms_p99),
            format!("{:.1}", r.latency_ms_max),
            percent(Some(r.availability)),
            percent(r.availability_during_faults),
            format!("{:.1}", r.msgs_per_op),
            converge_cell(r.converge_ms_max),
        ];
        for (check, _) in CHECK_COLUMNS {
            line.push(r.checks.iter().find(|c| c.check == check).map_or("-".into(), verdict_cell));
        }
        line.push(isolation_cell(r));
        cells.push(line);
    }
    let widths: Vec<usize> =
        (0..cells[0].len()).map(|i| cells.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    let mut s = String::new();
    for l in &cells {
        let parts: Vec<String> = l.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(s, "{}", parts.join("  ").trim_end());
    }
    s
}

/// The same table as CSV, with full precision and per-check columns.
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(
        "protocol,workload,seeds,ops,throughput_ops_per_s,latency_ms_p50,latency_ms_p99,latency_ms_max,\
         availability,availability_during_faults,msgs_per_op,converge_ms_max",
    );
    let columns = || CHECK_COLUMNS.iter().map(|(c, _)| *c).chain(TXN_COLUMNS);
    for c in columns() {
        let _ = write!(s, ",{c}_invalid_seeds,{c}_first_violating_seed");
    }
    s.push_str(",anomalies\n");
    for r in rows {
        let _ = write!(
            s,
            "{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.4},{},{:.3},{}",
            r.protocol,
            r.workload,
            r.seeds,
            r.ops,
            r.throughput_ops_per_s,
            r.latency_ms_p50,
            r.latency_ms_p99,
            r.latency_ms_max,
            r.availability,
            r.availability_during_faults.map_or(String::new(), |a| format!("{a:.4}")),
            r.msgs_per_op,
            r.converge_ms_max.map_or(String::new(), |c| format!("{c:.3}"))
        );
        for check in columns() {
            match r.checks.iter().find(|c| c.check == check) {
                Some(c) => {
                    let first = c.first_violating_seed.map_or(String::new(), |x| x.to_string());
                    let _ = write!(s, ",{},{first}", c.seeds_invalid);
                }
                None => s.push_str(",,"),
            }
        }
        let _ = writeln!(s, ",{}", anomalies_cell(r));
    }
    s
}
