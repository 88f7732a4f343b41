//! Plain-text reports for the terminal.

use checker::report::{AnomalyDetail, Isolation, ModelName};
use checker::txn::report::Step;
use checker::Report as FileReport;
use checker::{KeyResult, Verdict};
use runner::check::{Checked, FileError};
use std::fmt::Write;

/// `1 key`, `3 keys`.
pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `key "x"`, or `history` for a history without keys.
pub fn key_name(k: &KeyResult) -> String {
    match &k.key {
        Some(v) => format!("key {v}"),
        None => "history".to_string(),
    }
}

fn upper(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "VALID",
        Verdict::Invalid => "INVALID",
        Verdict::Unknown => "UNKNOWN",
    }
}

/// One line per file: `FILE: VERDICT (format, N ops; check verdicts)`.
pub fn summary_line(r: &FileReport) -> String {
    let checks: Vec<String> = r.results.iter().map(|c| format!("{} {}", c.check, c.verdict)).collect();
    format!("{}: {} ({}, {} ops; {})", r.source(), upper(r.verdict), r.format_name(), r.ops, checks.join(", "))
}

/// The line that ends a run of several seeds: how many ran, how their
/// checks ended and how long it took. `verdicts` holds one per checked seed
/// (none when the runs were not checked); fewer seeds `ran` than `planned`
/// means the sweep stopped at the first violation.
pub fn seeds_summary(
    protocol: &str,
    ran: usize,
    planned: usize,
    verdicts: &[Verdict],
    first: Option<u64>,
    elapsed_s: f64,
) -> String {
    let mut s = format!("{protocol}: {} run", plural(ran, "seed"));
    if ran < planned {
        let _ = write!(s, " of {planned} (stopped at the first violation)");
    }
    if verdicts.is_empty() {
        s.push_str(", not checked");
    } else {
        let _ = write!(s, ": {}", verdict_counts(verdicts.iter().copied(), first.map(|s| format!("seed {s}"))));
    }
    let _ = write!(s, "; {elapsed_s:.1} s");
    s
}

/// `3 valid, 2 invalid (first at seed 4), 0 unknown`.
fn verdict_counts(verdicts: impl Iterator<Item = Verdict>, first_invalid: Option<String>) -> String {
    let (mut valid, mut invalid, mut unknown) = (0, 0, 0);
    for v in verdicts {
        *match v {
            Verdict::Valid => &mut valid,
            Verdict::Invalid => &mut invalid,
            Verdict::Unknown => &mut unknown,
        } += 1;
    }
    let first = first_invalid.filter(|_| invalid > 0).map_or(String::new(), |f| format!(" (first at {f})"));
    format!("{valid} valid, {invalid} invalid{first}, {unknown} unknown")
}

/// The line that ends the demo: the protocols that violated a check or an
/// invariant on some seed, the example histories' verdicts (a history that
/// could not be read counted apart) and how long it all took.
pub fn demo_summary(rows: &[runner::compare::Row], histories: &[Checked], elapsed_s: f64) -> String {
    let seeds = rows.first().map_or(0, |r| r.seeds as usize);
    let names = row_names(rows);
    let bad: Vec<&str> = rows
        .iter()
        .zip(&names)
        .filter(|(r, _)| r.verdicts().any(|v| v == Verdict::Invalid))
        .map(|(_, n)| n.as_str())
        .collect();
    let mut s = format!("demo: {} x {}: ", plural(rows.len(), "protocol"), plural(seeds, "seed"));
    if bad.is_empty() {
        s.push_str("no violation");
    } else {
        let _ = write!(s, "violations in {} ({})", bad.len(), bad.join(", "));
    }
    let read: Vec<&FileReport> = histories.iter().filter_map(|c| c.result.as_ref().ok().map(|(r, _)| r)).collect();
    let first = read.iter().find(|r| r.verdict == Verdict::Invalid).map(|r| r.source().to_string());
    let _ = write!(
        s,
        "; {}: {}",
        plural(histories.len(), "example history").replace("historys", "histories"),
        verdict_counts(read.iter().map(|r| r.verdict), first)
    );
    if read.len() < histories.len() {
        let _ = write!(s, ", {} unreadable", histories.len() - read.len());
    }
    let _ = write!(s, "; {elapsed_s:.1} s");
    s
}

/// Each row's name in a summary: its protocol, with the workload added when
/// the protocol has several rows (the demo runs lww twice), so that no name
/// stands twice for different rows.
fn row_names(rows: &[runner::compare::Row]) -> Vec<String> {
    let repeated = |p: &str| rows.iter().filter(|r| r.protocol == p).count() > 1;
    rows.iter()
        .map(|r| if repeated(&r.protocol) { format!("{} {}", r.protocol, r.workload) } else { r.protocol.clone() })
        .collect()
}

/// What ends a comparison: per row, the faults injected, the isolation
/// found against the one promised and the coverage of named branches; then,
/// as the last line, which protocols violated a check, on how many seeds, or
/// that none did.
pub fn compare_summary(rows: &[runner::compare::Row]) -> String {
    let seeds = rows.first().map_or(0, |r| r.seeds as usize);
    let named = || rows.iter().zip(row_names(rows));
    let mut s = String::new();
    for (r, name) in named().filter(|(r, _)| !r.faults_by_kind.is_empty()) {
        let kinds: Vec<String> = r.faults_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = write!(s, "  {name} faults: {}", kinds.join(", "));
        if r.seeds_missing_faults > 0 {
            let _ = write!(
                s,
                " (warning: on {} a requested kind never took effect)",
                plural(r.seeds_missing_faults as usize, "seed")
            );
        }
        s.push('\n');
    }
    // Transactional rows: where on the anomaly lattice the histories fell,
    // against the model the protocol promises.
    for (r, name) in named() {
        let Some(promised) = r.promises else { continue };
        let found: Vec<String> =
            r.anomalies.iter().map(|(k, n)| format!("{k} on {}", plural(*n as usize, "seed"))).collect();
        let found = if found.is_empty() { "none".to_string() } else { found.join(", ") };
        let _ =
            writeln!(s, "  {name} promises {promised}: {}; anomalies found: {found}", crate::table::isolation_cell(r));
    }
    // Coverage: the named branches each protocol took and the crashes at
    // its fault points, so that a bug's branch that ran without breaking
    // anything is visible.
    for (r, name) in named().filter(|(r, _)| !r.coverage.is_empty()) {
        let parts: Vec<String> =
            r.coverage.iter().filter(|(k, _)| !k.starts_with("point:")).map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "  {name} coverage: {}", parts.join(", "));
    }
    let bad: Vec<String> = named()
        .filter_map(|(r, name)| {
            let mut checks: Vec<String> = r
                .checks
                .iter()
                .filter(|c| c.seeds_invalid > 0)
                .map(|c| format!("{} on {}", c.check, plural(c.seeds_invalid as usize, "seed")))
                .collect();
            let inv = &r.invariants;
            if inv.seeds_violated > 0 {
                let first = inv.first.as_deref().unwrap_or("?");
                checks.push(format!("invariant {first} on {}", plural(inv.seeds_violated as usize, "seed")));
            }
            (!checks.is_empty()).then(|| format!("{name} ({})", checks.join(", ")))
        })
        .collect();
    let _ = write!(s, "compare: {}, {} each: ", plural(rows.len(), "protocol"), plural(seeds, "seed"));
    if bad.is_empty() {
        s.push_str("no violation");
    } else {
        let _ = write!(s, "violations in {}", bad.join("; "));
    }
    s
}

fn indent(text: &str, by: usize) -> String {
    text.lines().collect::<Vec<_>>().join(&format!("\n{}", " ".repeat(by)))
}

/// The full text report of one file. Valid keys are listed only when
/// `verbose`; every invalid or unknown key is shown with its anomalies.
pub fn report(r: &FileReport, verbose: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {}\n  {} format, {}, {}, {}, checked in {} ms",
        r.source(),
        upper(r.verdict),
        r.format_name(),
        plural(r.events as usize, "event"),
        plural(r.ops as usize, "op"),
        plural(r.faults as usize, "fault event"),
        r.elapsed_ms
    );
    if let Some(why) = &r.unknown_reason {
        let _ = writeln!(s, "  undecided: {why}");
    }
    for c in &r.results {
        let counts = |v: Verdict| c.keys.iter().filter(|k| k.verdict == v).count();
        if let ModelName::Txn(_) = c.model {
            // One verdict for the whole history: no keys to count.
            let _ = writeln!(s, "  {} [{}]: {}", c.check, c.model, c.verdict);
        } else {
            let _ = writeln!(
                s,
                "  {} [{}]: {} ({}: {} valid, {} invalid, {} unknown)",
                c.check,
                c.model,
                c.verdict,
                plural(c.keys.len(), "key"),
                counts(Verdict::Valid),
                counts(Verdict::Invalid),
                counts(Verdict::Unknown)
            );
        }
        if let Some(why) = &c.unknown_reason {
            let _ = writeln!(s, "    undecided: {why}");
        }
        for k in &c.keys {
            if k.verdict == Verdict::Valid && !verbose {
                continue;
            }
            let _ = writeln!(s, "    {}: {} (decided by {}, {} ops)", key_name(k), k.verdict, k.method, k.ops);
            if let Some(why) = &k.unknown_reason {
                let _ = writeln!(s, "      undecided: {why}");
            }
            for a in &k.anomalies {
                let _ = writeln!(s, "      {}: {}", a.kind, indent(&a.explanation, 8));
                let txn = match a.detail.as_deref() {
                    Some(AnomalyDetail::Txn(t)) => Some(t),
                    _ => None,
                };
                for (i, op) in a.ops.iter().enumerate() {
                    match txn.and_then(|t| t.txns.get(i)) {
                        Some(name) => writeln!(s, "        - {name}: {op}"),
                        None => writeln!(s, "        - {op}"),
                    }
                    .unwrap_or(());
                }
                if let Some(t) = txn.filter(|t| !t.steps.is_empty()) {
                    let _ = writeln!(s, "        cycle: {}", cycle(&t.steps));
                }
            }
        }
    }
    if let Some(iso) = &r.isolation {
        isolation(&mut s, iso);
    }
    for sk in &r.skipped {
        let _ = writeln!(s, "  {}: skipped ({})", sk.check, sk.reason);
    }
    if let Some(st) = &r.staleness {
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(st) {
            let parts: Vec<String> = m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(s, "  staleness: {}", parts.join(" "));
        }
    }
    s
}

/// `T1 -rw x-> T2 -wr y-> T1`: a cycle's labelled edges.
fn cycle(steps: &[Step]) -> String {
    let mut out = steps.first().map_or(String::new(), |st| st.from.clone());
    for st in steps {
        match &st.key {
            Some(k) => {
                let _ = write!(out, " -{} {k}-> {}", st.kind, st.to);
            }
            None => {
                let _ = write!(out, " -{}-> {}", st.kind, st.to);
            }
        }
    }
    out
}

/// A transactional history's summary: Elle's `not` / `also-not`, the
/// anomaly counts and the dependency graph's size.
fn isolation(s: &mut String, iso: &Isolation) {
    let names = |ms: &[checker::txn::Model]| {
        if ms.is_empty() {
            "none".to_string()
        } else {
            ms.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
        }
    };
    let st = &iso.stats;
    let _ = writeln!(
        s,
        "  isolation ({}, {}: {} ok, {} info, {} fail; {}; dependency graph of {}, {}, {}{})",
        iso.workload,
        plural((st.ok + st.info + st.fail) as usize, "txn"),
        st.ok,
        st.info,
        st.fail,
        plural(st.keys as usize, "key"),
        plural(st.nodes as usize, "node"),
        plural(st.edges as usize, "edge"),
        plural(st.cyclic_sccs as usize, "cyclic component"),
        if st.cyclic_sccs > 0 {
            format!(", the largest of {}", plural(st.largest_scc_txns as usize, "txn"))
        } else {
            String::new()
        }
    );
    if iso.key_assumptions.any() {
        let _ = writeln!(s, "    {}", key_assumptions(iso));
    }
    let _ = writeln!(s, "    not: {}", names(&iso.not));
    let _ = writeln!(s, "    also-not: {}", names(&iso.also_not));
    if !iso.counts.is_empty() {
        let counts: Vec<String> = iso.counts.iter().map(|c| format!("{} {}", c.kind, c.count)).collect();
        let _ = writeln!(s, "    anomalies: {}", counts.join(", "));
    }
    for c in &iso.incomplete {
        let _ = writeln!(s, "    cut short: {} in a component of {} txns: {}", c.kind, c.scc_txns, c.reason);
    }
}

/// The line naming the key assumptions a txn check was asked to make.
fn key_assumptions(iso: &Isolation) -> String {
    use checker::txn::{VersionSource, Workload};
    let asked: Vec<&str> = [
        (iso.key_assumptions.sequential_keys, VersionSource::SequentialKeys),
        (iso.key_assumptions.linearizable_keys, VersionSource::LinearizableKeys),
    ]
    .into_iter()
    .filter(|x| x.0)
    .filter_map(|x| x.1.flag())
    .collect();
    match iso.workload {
        Workload::ListAppend => {
            format!("assumed {} (no effect: list-append reads give the version order)", asked.join(", "))
        }
        Workload::RwRegister => {
            let used: Vec<&str> = iso.version_sources.iter().filter(|v| v.assumed()).map(|v| v.order_name()).collect();
            format!("assumed {}: versions also ordered by {}", asked.join(", "), used.join(" and "))
        }
    }
}

/// A file that has no report: `FILE: BAD INPUT` and what is wrong.
pub fn file_error(file: &str, e: &FileError) -> String {
    match e.line() {
        Some(line) => format!("{file}: BAD INPUT\n  line {line}: {}\n", e.message(file)),
        None => format!("{file}: BAD INPUT\n  {}\n", e.message(file)),
    }
}

/// Every input's outcome in the order given, then a summary line when there
/// are several. A lone input that could not be read prints nothing here
/// (its error goes to standard error): the empty string.
pub fn files(outcomes: &[Checked], verbose: bool) -> String {
    let mut s = String::new();
    let several = outcomes.len() > 1;
    for c in outcomes {
        match &c.result {
            Ok((r, _)) => s.push_str(&report(r, verbose)),
            Err(e) if several => s.push_str(&file_error(&c.file, e)),
            Err(_) => {}
        }
    }
    if several {
        let count = |v: Verdict| outcomes.iter().filter(|c| c.verdict() == Some(v)).count();
        let bad = outcomes.iter().filter(|c| c.result.is_err()).count();
        let _ = write!(
            s,
            "\n{}: {} valid, {} invalid, {} unknown",
            plural(outcomes.len(), "file"),
            count(Verdict::Valid),
            count(Verdict::Invalid),
            count(Verdict::Unknown)
        );
        if bad > 0 {
            let _ = write!(s, ", {bad} bad input");
        }
        s.push('\n');
    }
    s
}
