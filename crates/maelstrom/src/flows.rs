//! The message flow around each anomaly, for the report's Lamport
//! diagrams: the journal (`messages.jsonl`) read once and fed to
//! [`workloads::flow::FlowBuilder`], which keeps the messages sent near the
//! anomaly's ops (their requests and replies drawn red), the ops themselves
//! and the faults in force. Messages whose body names another `key` than
//! the anomaly's are left out.

use crate::run::Outcome;
use checker::{History, Value};
use std::io::BufRead;
use std::path::Path;
use workloads::flow::{AnomalyWindow, Flow, FlowBuilder, FlowEnd, FlowFault};

/// Characters of a message body kept in its label (the tooltip shows it).
const LABEL_CHARS: usize = 120;

/// The flows of the first windows, from the journal at `path`. A journal
/// that cannot be read gives no flows and the reason.
pub fn flows(path: &Path, h: &History, windows: &[AnomalyWindow], o: &Outcome) -> Result<Vec<Flow>, String> {
    let faults: Vec<FlowFault> = o
        .faults
        .iter()
        .map(|f| FlowFault {
            start_ns: f.start_ns as i64,
            end_ns: f.end_ns.map(|e| e as i64),
            label: format!("{} {}", f.kind.name(), f.value),
        })
        .collect();
    let mut b = FlowBuilder::new(windows, h, &|p| o.client_names.get(&p).cloned(), &faults);
    if b.is_empty() {
        return Ok(Vec::new());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for line in std::io::BufReader::with_capacity(1 << 20, file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(t) = time_of(&line) else { continue };
        if t < b.first_ns() {
            continue;
        }
        if b.done_at(t) {
            break;
        }
        let Ok(ev) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        let Some(id) = ev["id"].as_u64() else { continue };
        match ev["event"].as_str() {
            Some("send") => {
                let (src, dest) = (ev["src"].as_str().unwrap_or("?"), ev["dest"].as_str().unwrap_or("?"));
                let body = &ev["msg"]["body"];
                let key = body.get("key").map(Value::from);
                b.send(id, t, src, dest, key.as_ref(), &|| label(body));
            }
            Some("deliver") => b.end(id, FlowEnd::Delivered { at_ns: t }),
            Some("drop") => {
                b.end(id, FlowEnd::Dropped { at_ns: t, reason: ev["reason"].as_str().unwrap_or("?").to_string() })
            }
            _ => {}
        }
    }
    Ok(b.finish())
}

/// `t_ns` of a journal line, read without parsing the message.
fn time_of(line: &str) -> Option<i64> {
    let at = line.find("\"t_ns\":")? + 7;
    let digits: &str = &line[at..at + line[at..].find(|c: char| !c.is_ascii_digit())?];
    digits.parse().ok()
}

/// The body's type, then the rest of it (without the ids).
fn label(body: &serde_json::Value) -> String {
    let ty = body["type"].as_str().unwrap_or("?");
    let mut rest = body.as_object().cloned().unwrap_or_default();
    for k in ["type", "msg_id", "in_reply_to"] {
        rest.remove(k);
    }
    if rest.is_empty() {
        return ty.to_string();
    }
    let s = format!("{ty} {}", serde_json::Value::Object(rest));
    if s.chars().count() > LABEL_CHARS {
        s.chars().take(LABEL_CHARS - 1).chain(std::iter::once('…')).collect()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_from_the_line_head() {
        assert_eq!(time_of(r#"{"id":3,"t_ns":120034,"event":"deliver"}"#), Some(120034));
        assert_eq!(time_of(r#"{"id":3,"event":"deliver"}"#), None);
    }

    #[test]
    fn labels_keep_the_payload_without_the_ids() {
        let b = serde_json::json!({"type": "read_ok", "msg_id": 4, "in_reply_to": 2, "messages": [1, 2]});
        assert_eq!(label(&b), r#"read_ok {"messages":[1,2]}"#);
        assert_eq!(label(&serde_json::json!({"type": "init_ok", "in_reply_to": 1})), "init_ok");
        let long = serde_json::json!({"type": "x", "pad": "y".repeat(500)});
        assert_eq!(label(&long).chars().count(), LABEL_CHARS);
    }
}
