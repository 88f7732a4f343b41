//! A message-flow record of a stretch of a run, for Lamport diagrams: the
//! participants (clients, nodes, services), every message between them with
//! when it was sent and delivered or dropped, the client ops as spans, and
//! the faults in force. `conch maelstrom` fills one per anomaly from its
//! message journal; the simulator can fill one from its trace. It is drawn
//! by `report::lamport`; nothing here renders.
//!
//! Times are nanoseconds on the run's own clock (since it started); only
//! their order matters to the drawing.

use serde::Serialize;

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
