//! Text and JUnit renderings of reports.

use checker::suite::FileReport;
use checker::{KeyResult, Verdict};
use std::fmt::Write;

fn key_name(k: &KeyResult) -> String {
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
    format!("{}: {} ({}, {} ops; {})", r.file, upper(r.verdict), r.format, r.ops, checks.join(", "))
}

/// The full text report of one file. Valid keys are listed only when
/// `verbose`; every invalid or unknown key is shown with its anomalies.
pub fn render(r: &FileReport, verbose: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {}\n  {} format, {} events, {} ops, {} fault events, checked in {} ms",
        r.file,
        upper(r.verdict),
        r.format,
        r.events,
        r.ops,
        r.faults,
        r.elapsed_ms
    );
    for c in &r.results {
        let counts = |v: Verdict| c.keys.iter().filter(|k| k.verdict == v).count();
        let _ = writeln!(
            s,
            "  {} [{}]: {} ({} keys: {} valid, {} invalid, {} unknown)",
            c.check,
            c.model,
            c.verdict,
            c.keys.len(),
            counts(Verdict::Valid),
            counts(Verdict::Invalid),
            counts(Verdict::Unknown)
        );
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

fn indent(text: &str, by: usize) -> String {
    text.lines().collect::<Vec<_>>().join(&format!("\n{}", " ".repeat(by)))
}

/// Every file's report, then a summary line when there are several.
pub fn render_all(reports: &[FileReport], verbose: bool) -> String {
    let mut s = String::new();
    for r in reports {
        s.push_str(&render(r, verbose));
    }
    if reports.len() > 1 {
        let count = |v: Verdict| reports.iter().filter(|r| r.verdict == v).count();
        let _ = writeln!(
            s,
            "\n{} files: {} valid, {} invalid, {} unknown",
            reports.len(),
            count(Verdict::Valid),
            count(Verdict::Invalid),
            count(Verdict::Unknown)
        );
    }
    s
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test suite per file, a test case per check; invalid checks
/// are failures, unknown ones are skipped with the reason.
pub fn junit(reports: &[FileReport]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"conch\">\n");
    for r in reports {
        let failures = r.results.iter().filter(|c| c.verdict == Verdict::Invalid).count();
        let skipped = r.results.iter().filter(|c| c.verdict == Verdict::Unknown).count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            xml_escape(&r.file),
            r.results.len(),
            r.elapsed_ms as f64 / 1000.0
        );
        for c in &r.results {
            let _ = write!(s, "    <testcase classname=\"{}\" name=\"{}\">", xml_escape(&r.file), c.check);
            match c.verdict {
                Verdict::Valid => {}
                Verdict::Invalid => {
                    let detail: Vec<String> = c
                        .keys
                        .iter()
                        .flat_map(|k| k.anomalies.iter().map(move |a| format!("{}: {}", key_name(k), a.explanation)))
                        .collect();
                    let _ = write!(
                        s,
                        "<failure message=\"{} violated\">{}</failure>",
                        c.check,
                        xml_escape(&detail.join("\n"))
                    );
                }
                Verdict::Unknown => {
                    let why: Vec<String> = c.keys.iter().filter_map(|k| k.unknown_reason.clone()).collect();
                    let _ = write!(s, "<skipped message=\"undecided: {}\"/>", xml_escape(&why.join("; ")));
                }
            }
            s.push_str("</testcase>\n");
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}
