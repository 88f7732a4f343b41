//! A message-flow record of a stretch of a run, for Lamport diagrams: the
//! participants (clients, nodes, services), every message between them with
//! when it was sent and delivered or dropped, the client ops as spans, and
//! the faults in force. It is drawn by `report::lamport`; nothing here
//! renders.
//!
//! [`windows`] finds the stretch around each anomaly a check reported, and
//! [`FlowBuilder`] fills one flow per window from a stream of message
//! events in time order: `conch maelstrom` feeds it its message journal,
//! `conch run` the simulator's message trace (`runner::flows`).
//!
//! An anomaly's ops may be far apart (a broadcast early, the final read that
//! misses it seconds later), so a flow shows the moments around each op, not
//! everything in between: [`FOCUS_MARGIN_NS`] either side of each op.
//! Messages about another key than the anomaly's are left out.
//!
//! Times are nanoseconds on the run's own clock (since it started); only
//! their order matters to the drawing.

use checker::{CheckResult, History, OpId, Value};
use serde::Serialize;
use std::collections::BTreeMap;

/// One diagram's data.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Flow {
    pub title: String,
    pub start_ns: i64,
    pub end_ns: i64,
    /// Participants, left to right; messages and spans index into it.
    pub lanes: Vec<String>,
    pub messages: Vec<FlowMessage>,
    pub spans: Vec<FlowSpan>,
    pub faults: Vec<FlowFault>,
    /// Messages of the window left out (a diagram stays readable).
    pub omitted_messages: u64,
}

/// One message (a duplicated message is two, one per copy).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowMessage {
    pub from: usize,
    pub to: usize,
    pub sent_ns: i64,
    pub end: FlowEnd,
    /// Usually the body's `type`.
    pub label: String,
    /// Part of the anomaly: a request or reply of one of its ops.
    pub highlight: bool,
}

/// How a message's journey ended, within the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum FlowEnd {
    Delivered {
        at_ns: i64,
    },
    Dropped {
        at_ns: i64,
        reason: String,
    },
    /// Still in flight when the window ends.
    InFlight,
}

/// A client op, from invoke to completion, on its client's lane.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowSpan {
    pub lane: usize,
    pub start_ns: i64,
    /// `None`: not complete within the window.
    pub end_ns: Option<i64>,
    pub label: String,
    pub highlight: bool,
}

/// A fault in force over part of the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowFault {
    pub start_ns: i64,
    pub end_ns: Option<i64>,
    pub label: String,
}

impl Flow {
    /// The lane named `name`, added on the right if new.
    pub fn lane(&mut self, name: &str) -> usize {
        match self.lanes.iter().position(|l| l == name) {
            Some(i) => i,
            None => {
                self.lanes.push(name.to_string());
                self.lanes.len() - 1
            }
        }
    }
}

/// Windows found at most (run.json lists them).
pub const MAX_WINDOWS: usize = 50;
/// Margin added on each side of a window.
const WINDOW_MARGIN_NS: i64 = 50_000_000;
/// Flows drawn (the first windows').
pub const MAX_FLOWS: usize = 20;
/// Messages drawn per flow besides the anomaly's own; the rest are counted.
pub const MAX_MESSAGES_PER_FLOW: usize = 150;
/// Time shown either side of each of the anomaly's ops.
pub const FOCUS_MARGIN_NS: i64 = 15_000_000;
/// A message sent in focus is followed this long for its delivery; after,
/// it is drawn as still in flight.
const DELIVERY_SLACK_NS: i64 = 2_000_000_000;

/// The stretch of time around one anomaly: the messages between `start_ns`
/// and `end_ns` are those that may explain it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnomalyWindow {
    pub check: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub ops: Vec<OpId>,
    /// Nodes that served the anomaly's ops.
    pub nodes: Vec<String>,
}

/// The window of each anomaly whose ops have times (the first
/// [`MAX_WINDOWS`]), in the order the checks report them.
pub fn windows(h: &History, results: &[CheckResult]) -> Vec<AnomalyWindow> {
    let mut out = Vec::new();
    for r in results {
        for k in &r.keys {
            for a in &k.anomalies {
                if out.len() >= MAX_WINDOWS {
                    return out;
                }
                let ops: Vec<OpId> = a.ops.iter().map(|o| o.id).collect();
                let found: Vec<&checker::Op> = ops.iter().filter_map(|&id| h.get(id)).collect();
                let times: Vec<(i64, i64)> = found
                    .iter()
                    .filter_map(|o| Some((o.invoke_time_ns?, o.complete_time_ns.or(o.invoke_time_ns)?)))
                    .collect();
                let (Some(start), Some(end)) = (times.iter().map(|t| t.0).min(), times.iter().map(|t| t.1).max())
                else {
                    continue;
                };
                let mut nodes: Vec<String> =
                    found.iter().filter_map(|o| o.node.as_deref().map(str::to_string)).collect();
                nodes.sort();
                nodes.dedup();
                out.push(AnomalyWindow {
                    check: r.check.to_string(),
                    kind: a.kind.as_str().to_string(),
                    key: k.key.clone(),
                    start_ns: (start - WINDOW_MARGIN_NS).max(0),
                    end_ns: end + WINDOW_MARGIN_NS,
                    ops,
                    nodes,
                });
            }
        }
    }
    out
}

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
    key: Option<Value>,
}

impl Building {
    fn in_focus(&self, t: i64) -> bool {
        self.focus.iter().any(|&(a, b)| a <= t && t <= b)
    }

    fn highlighted(&self, src: &str, dest: &str, t: i64) -> bool {
        self.highlight.iter().any(|(c, a, b)| (c == src || c == dest) && *a <= t && t <= *b)
    }
}

/// Fills the flows of the first [`MAX_FLOWS`] windows from message events
/// fed in time order ([`FlowBuilder::send`], [`FlowBuilder::end`]).
pub struct FlowBuilder {
    b: Vec<Building>,
    /// Message id -> (flow, message) of each copy drawn.
    open: BTreeMap<u64, Vec<(usize, usize)>>,
    first_ns: i64,
    last_ns: i64,
}

impl FlowBuilder {
    /// `client` names the lane of an op's process (`None`: not drawn as a
    /// span); `faults` are the run's fault periods (`end_ns` `None`: never
    /// healed), each a label.
    pub fn new(
        windows: &[AnomalyWindow],
        h: &History,
        client: &dyn Fn(u64) -> Option<String>,
        faults: &[FlowFault],
    ) -> FlowBuilder {
        let b: Vec<Building> = windows.iter().take(MAX_FLOWS).map(|w| start(w, h, client, faults)).collect();
        let first_ns = b.iter().flat_map(|x| x.focus.first()).map(|f| f.0).min().unwrap_or(0);
        let last_ns = b.iter().flat_map(|x| x.focus.last()).map(|f| f.1).max().unwrap_or(0);
        FlowBuilder { b, open: BTreeMap::new(), first_ns, last_ns }
    }

    /// Whether no flow is being filled (nothing to feed).
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    /// Events before this time matter to no flow.
    pub fn first_ns(&self) -> i64 {
        self.first_ns
    }

    /// Whether an event at `t_ns` and every later one matter to no flow.
    pub fn done_at(&self, t_ns: i64) -> bool {
        t_ns > self.last_ns.saturating_add(DELIVERY_SLACK_NS)
    }

    /// Message `id` left `src` for `dest` at `t_ns`; `key`: the key its body
    /// names, if any. `label` is asked for only if some flow keeps it.
    pub fn send(&mut self, id: u64, t_ns: i64, src: &str, dest: &str, key: Option<&Value>, label: &dyn Fn() -> String) {
        if t_ns < self.first_ns || t_ns > self.last_ns {
            return;
        }
        let mut text: Option<String> = None;
        for (k, x) in self.b.iter_mut().enumerate() {
            if !x.in_focus(t_ns) {
                continue;
            }
            let highlight = x.highlighted(src, dest, t_ns);
            if !highlight && x.key.is_some() && key.is_some() && x.key.as_ref() != key {
                continue;
            }
            if !highlight && x.kept >= MAX_MESSAGES_PER_FLOW {
                x.flow.omitted_messages += 1;
                continue;
            }
            x.kept += usize::from(!highlight);
            let (from, to) = (x.flow.lane(src), x.flow.lane(dest));
            let label = text.get_or_insert_with(label).clone();
            x.flow.messages.push(FlowMessage { from, to, sent_ns: t_ns, end: FlowEnd::InFlight, label, highlight });
            self.open.entry(id).or_default().push((k, x.flow.messages.len() - 1));
        }
    }

    /// Message `id` (or one more copy of it: a duplicate) was delivered or
    /// dropped.
    pub fn end(&mut self, id: u64, end: FlowEnd) {
        let Some(copies) = self.open.get_mut(&id) else { return };
        for c in copies.iter_mut() {
            let msgs = &mut self.b[c.0].flow.messages;
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

    /// The flows, lanes in reading order.
    pub fn finish(self) -> Vec<Flow> {
        self.b.into_iter().map(finish).collect()
    }
}

fn start(w: &AnomalyWindow, h: &History, client: &dyn Fn(u64) -> Option<String>, faults: &[FlowFault]) -> Building {
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
        focus.push(((a - FOCUS_MARGIN_NS).max(0), b + FOCUS_MARGIN_NS));
        if let Some(c) = client(op.process) {
            highlight.push((c.clone(), a, b));
            let lane = flow.lane(&c);
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
    for f in faults {
        let b = f.end_ns.unwrap_or(i64::MAX);
        if f.start_ns <= hi && b >= lo {
            let label: String = f.label.chars().take(60).collect();
            flow.faults.push(FlowFault { start_ns: f.start_ns.max(lo), end_ns: (b <= hi).then_some(b), label });
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
