//! JSON documents: `conch check --json` and `compare.json`.

use runner::check::{Checked, FileError};
use runner::compare::Row;
use serde_json::{json, Value};

/// One input's entry: its report, or `{"file", "error": {"kind", "line", "message"}}`.
fn file_entry(c: &Checked) -> Value {
    match &c.result {
        Ok((r, _)) => json!(r),
        Err(e) => {
            let kind = match e {
                FileError::Input(_) => "input",
                FileError::Config(_) => "config",
            };
            json!({ "file": c.file, "error": { "kind": kind, "line": e.line(), "message": e.message(&c.file) } })
        }
    }
}

/// `conch check --json`: the overall verdict (`valid`, `invalid`,
/// `bad-input` or `unknown`, as the exit code says), the exit code, and
/// every input in the order given, including those that could not be read.
pub fn files(outcomes: &[Checked], exit_code: u8) -> String {
    let files: Vec<Value> = outcomes.iter().map(file_entry).collect();
    let verdict = match exit_code {
        runner::exit::VALID => "valid",
        runner::exit::INVALID => "invalid",
        runner::exit::BAD_INPUT => "bad-input",
        _ => "unknown",
    };
    let doc = json!({ "verdict": verdict, "exit_code": exit_code, "files": files });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// `compare.json`: the comparison rows.
pub fn compare(rows: &[Row]) -> String {
    serde_json::to_string_pretty(&json!({ "rows": rows })).unwrap_or_default()
}
