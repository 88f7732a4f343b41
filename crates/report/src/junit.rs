//! JUnit XML for CI: a test suite per input file, a test case per check.

use crate::escape::escape;
use crate::text::key_name;
use checker::report::ModelName;
use checker::Report as FileReport;
use checker::Verdict;
use runner::check::Checked;
use std::fmt::Write;

fn suite(s: &mut String, r: &FileReport) {
    let failures = r.results.iter().filter(|c| c.verdict == Verdict::Invalid).count();
    let skipped = r.results.iter().filter(|c| c.verdict == Verdict::Unknown).count() + r.skipped.len();
    let file = escape(r.source());
    let _ = writeln!(
        s,
        "  <testsuite name=\"{file}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
        r.results.len() + r.skipped.len(),
        r.elapsed_ms as f64 / 1000.0
    );
    for c in &r.results {
        let _ = write!(s, "    <testcase classname=\"{file}\" name=\"{}\">", c.check);
        match c.verdict {
            Verdict::Valid => {}
            Verdict::Invalid => {
                // A transactional check has one verdict for the whole
                // history: its anomalies are named by kind, not by key.
                let txn = matches!(c.model, ModelName::Txn(_));
                let detail: Vec<String> = c
                    .keys
                    .iter()
                    .flat_map(|k| {
                        k.anomalies.iter().map(move |a| {
                            let about = if txn { a.kind.to_string() } else { key_name(k) };
                            format!("{about}: {}", a.explanation)
                        })
                    })
                    .collect();
                let _ = write!(s, "<failure message=\"{} violated\">{}</failure>", c.check, escape(&detail.join("\n")));
            }
            Verdict::Unknown => {
                let why: Vec<String> = c.keys.iter().filter_map(|k| k.unknown_reason.clone()).collect();
                let _ = write!(s, "<skipped message=\"undecided: {}\"/>", escape(&why.join("; ")));
            }
        }
        s.push_str("</testcase>\n");
    }
    for sk in &r.skipped {
        let _ = writeln!(
            s,
            "    <testcase classname=\"{file}\" name=\"{}\"><skipped message=\"not applicable: {}\"/></testcase>",
            sk.check,
            escape(&sk.reason.to_string())
        );
    }
    s.push_str("  </testsuite>\n");
}

/// Every input in the order given: a checked file's checks are test cases
/// (invalid: a failure; unknown or not applicable: skipped, with the
/// reason); a file that could not be read is a suite with one error case.
pub fn junit(outcomes: &[Checked]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"conch\">\n");
    for c in outcomes {
        match &c.result {
            Ok((r, _)) => suite(&mut s, r),
            Err(e) => {
                let file = escape(&c.file);
                let _ = writeln!(
                    s,
                    "  <testsuite name=\"{file}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">\n    \
                     <testcase classname=\"{file}\" name=\"input\"><error message=\"bad input\">{}</error></testcase>\n  \
                     </testsuite>",
                    escape(&e.to_string())
                );
            }
        }
    }
    s.push_str("</testsuites>\n");
    s
}
