//! The message flow around each anomaly, for the report's Lamport
//! diagrams: the journal (`messages.jsonl`) read once, keeping the messages
//! sent near the anomaly's ops (their requests and replies drawn red), the
//! ops themselves and the faults in force.
//!
//! An anomaly's ops may be far apart (a broadcast early, the final read that
//! misses it seconds later), so a flow shows the moments around each op,
//! not everything in between: `FOCUS_MARGIN_NS` either side of each op.
//! Messages about another key than the anomaly's (a `key` field in the
//! body) are left out.

use crate::report::AnomalyWindow;
use crate::run::Outcome;
use checker::{History, Value};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use workloads::flow::{Flow, FlowEnd, FlowFault, FlowMessage, FlowSpan};

/// Flows drawn (the first anomalies').
pub const MAX_FLOWS: usize = 20;
/// Messages drawn per flow besides the anomaly's own; the rest are counted.
pub const MAX_MESSAGES_PER_FLOW: usize = 150;
/// Time shown either side of each of the anomaly's ops.
const FOCUS_MARGIN_NS: i64 = 15_000_000;
/// A message sent in focus is followed this long for its delivery; after,
/// it is drawn as still in flight.
const DELIVERY_SLACK_NS: i64 = 2_000_000_000;
/// Characters of a message body kept in its label (the tooltip shows it).
const LABEL_CHARS: usize = 120;

/// One flow under construction.
struct Building {
    flow: Flow,
    /// Merged intervals around the anomaly's ops.
    focus: Vec<(i64, i64)>,
    /// The anomaly's clients and when each had its op outstanding.
    highlight: Vec<(String, i64, i64)>,
    /// Non-anomaly messages kept so far.
    kept: usize,
    /// The anomaly's key: messages naming another key are left out.
    key: Option<checker::Value>,
}

impl Building {
    fn in_focus(&self, t: i64) -> bool {
        self.focus.iter().any(|&(a, b)| a <= t && t <= b)
    }

    fn highlighted(&self, src: &str, dest: &str, t: i64) -> bool {
        self.highlight.iter().any(|(c, a, b)| (c == src || c == dest) && *a <= t && t <= *b)
    }
}

/// The flows of the first [`MAX_FLOWS`] windows, from the journal at `path`.
/// A journal that cannot be read gives no flows and the reason.
pub fn flows(path: &Path, h: &History, windows: &[AnomalyWindow], o: &Outcome) -> Result<Vec<Flow>, String> {
    let mut b: Vec<Building> = windows.iter().take(MAX_FLOWS).map(|w| start(w, h, o)).collect();
    if b.is_empty() {
        return Ok(Vec::new());
    }
    let first = b.iter().flat_map(|x| x.focus.first()).map(|f| f.0).min().unwrap_or(0);
    let last = b.iter().flat_map(|x| x.focus.last()).map(|f| f.1).max().unwrap_or(0);
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // Journal id -> (flow, message) of each copy drawn.
    let mut open: HashMap<u64, Vec<(usize, usize)>> = HashMap::new();
    for line in std::io::BufReader::with_capacity(1 << 20, file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(t) = time_of(&line) else { continue };
        if t < first {
            continue;
        }
        if t > last.saturating_add(DELIVERY_SLACK_NS) {
            break;
        }
        let Ok(ev) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        let Some(id) = ev["id"].as_u64() else { continue };
        match ev["event"].as_str() {
            Some("send") if t <= last => {
                let (src, dest) = (ev["src"].as_str().unwrap_or("?"), ev["dest"].as_str().unwrap_or("?"));
                for (k, x) in b.iter_mut().enumerate() {
                    if !x.in_focus(t) {
                        continue;
                    }
                    let highlight = x.highlighted(src, dest, t);
                    let body = &ev["msg"]["body"];
                    if !highlight
                        && x.key.as_ref().is_some_and(|k| body.get("key").is_some_and(|b| Value::from(b) != *k))
                    {
                        continue;
                    }
                    if !highlight && x.kept >= MAX_MESSAGES_PER_FLOW {
                        x.flow.omitted_messages += 1;
                        continue;
                    }
                    x.kept += usize::from(!highlight);
                    let (from, to) = (x.flow.lane(src), x.flow.lane(dest));
                    let label = label(body);
                    x.flow.messages.push(FlowMessage {
                        from,
                        to,
                        sent_ns: t,
                        end: FlowEnd::InFlight,
                        label,
                        highlight,
                    });
                    open.entry(id).or_default().push((k, x.flow.messages.len() - 1));
                }
            }
            Some(e @ ("deliver" | "drop")) => {
                let Some(copies) = open.get_mut(&id) else { continue };
                let end = if e == "deliver" {
                    FlowEnd::Delivered { at_ns: t }
                } else {
                    FlowEnd::Dropped { at_ns: t, reason: ev["reason"].as_str().unwrap_or("?").to_string() }
                };
                for c in copies.iter_mut() {
                    let msgs = &mut b[c.0].flow.messages;
                    if msgs[c.1].end == FlowEnd::InFlight {
                        msgs[c.1].end = end.clone();
                    } else {
                        // A duplicate's second copy.
                        let mut copy = msgs[c.1].clone();
                        copy.end = end.clone();
                        msgs.push(copy);
                        c.1 = msgs.len() - 1;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(b.into_iter().map(finish).collect())
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

fn start(w: &AnomalyWindow, h: &History, o: &Outcome) -> Building {
    let mut flow = Flow {
        title: format!(
            "{} {}{}: op {}",
            w.check,
            w.kind,
            w.key.as_ref().map_or(String::new(), |k| format!(" on key {k}")),
            w.ops.iter().map(|id| id.0.to_string()).collect::<Vec<_>>().join(", ")
        ),
        start_ns: w.start_ns,
        end_ns: w.end_ns,
        ..Flow::default()
    };
    let mut focus = Vec::new();
    let mut highlight = Vec::new();
    for op in w.ops.iter().filter_map(|&id| h.get(id)) {
        let Some(a) = op.invoke_time_ns else { continue };
        let b = op.complete_time_ns.unwrap_or(w.end_ns);
        focus.push((a - FOCUS_MARGIN_NS, b + FOCUS_MARGIN_NS));
        if let Some(c) = o.client_names.get(&op.process) {
            highlight.push((c.clone(), a, b));
            let lane = flow.lane(c);
            let out = if op.outcome == checker::Outcome::Ok { format!(" → {}", op.output) } else { String::new() };
            flow.spans.push(FlowSpan {
                lane,
                start_ns: a,
                end_ns: op.complete_time_ns,
                label: format!("{} {}{out} ({:?})", op.f, op.input, op.outcome).to_lowercase(),
                highlight: true,
            });
        }
    }
    focus.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (a, b) in focus {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let (lo, hi) = (merged.first().map_or(w.start_ns, |f| f.0), merged.last().map_or(w.end_ns, |f| f.1));
    for f in &o.faults {
        let (a, b) = (f.start_ns as i64, f.end_ns.map_or(i64::MAX, |e| e as i64));
        if a <= hi && b >= lo {
            let value = f.value.to_string();
            let value: String = value.chars().take(60).collect();
            flow.faults.push(FlowFault {
                start_ns: a.max(lo),
                end_ns: (b <= hi).then_some(b),
                label: format!("{} {value}", f.kind.name()),
            });
        }
    }
    flow.start_ns = lo;
    flow.end_ns = hi;
    Building { flow, focus: merged, highlight, kept: 0, key: w.key.clone() }
}

/// Lanes in reading order: clients, nodes, services; messages and spans
/// re-indexed.
fn finish(b: Building) -> Flow {
    let mut flow = b.flow;
    let rank = |name: &str| -> (u8, u64, String) {
        let num = |p: char| name.strip_prefix(p).and_then(|d| d.parse::<u64>().ok());
        match (num('c'), num('n')) {
            (Some(k), _) => (0, k, String::new()),
            (_, Some(k)) => (1, k, String::new()),
            _ => (2, 0, name.to_string()),
        }
    };
    let mut order: Vec<usize> = (0..flow.lanes.len()).collect();
    order.sort_by_key(|&i| rank(&flow.lanes[i]));
    let mut new_index = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    flow.lanes = order.iter().map(|&i| flow.lanes[i].clone()).collect();
    for m in &mut flow.messages {
        m.from = new_index[m.from];
        m.to = new_index[m.to];
    }
    for s in &mut flow.spans {
        s.lane = new_index[s.lane];
    }
    flow.messages.sort_by_key(|m| m.sent_ns);
    flow
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
