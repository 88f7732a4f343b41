//! Plain-text reports for the terminal.

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

fn indent(text: &str, by: usize) -> String {
    text.lines().collect::<Vec<_>>().join(&format!("\n{}", " ".repeat(by)))
}

/// The full text report of one file. Valid keys are listed only when
/// `verbose`; every invalid or unknown key is shown with its anomalies.
pub fn report(r: &FileReport, verbose: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {}\n  {} format, {} events, {} ops, {} fault events, checked in {} ms",
        r.source(),
        upper(r.verdict),
        r.format_name(),
        r.events,
        r.ops,
        r.faults,
        r.elapsed_ms
    );
    if let Some(why) = &r.unknown_reason {
        let _ = writeln!(s, "  undecided: {why}");
    }
    for c in &r.results {
        let counts = |v: Verdict| c.keys.iter().filter(|k| k.verdict == v).count();
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
                for op in &a.ops {
                    let _ = writeln!(s, "        - {op}");
                }
            }
        }
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
