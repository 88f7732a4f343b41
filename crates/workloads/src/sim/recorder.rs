//! The history being written: client and nemesis events in the order they
//! happen, each stamped with the virtual time.

use super::net::node_name;
use super::node::NodeId;
use checker::{Event, EventType, Process, Value, F};

#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) events: Vec<Event>,
}

impl Recorder {
    /// Appends an event at `now`; `line` is its 1-based position.
    pub(crate) fn record(
        &mut self,
        now: u64,
        kind: EventType,
        process: Process,
        f: F,
        key: Option<Value>,
        value: Value,
    ) -> &mut Event {
        let line = self.events.len() as u64 + 1;
        let mut e = Event::new(line, kind, process, f, value);
        e.key = key;
        e.time_ns = Some(now.min(i64::MAX as u64) as i64);
        self.events.push(e);
        let last = self.events.len() - 1;
        &mut self.events[last]
    }

    /// A client event, naming the node the client talks to.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn client(
        &mut self,
        now: u64,
        kind: EventType,
        process: u64,
        f: F,
        key: Option<Value>,
        value: Value,
        node: NodeId,
        is_final: bool,
    ) {
        let e = self.record(now, kind, Process::Client(process), f, key, value);
        e.node = Some(node_name(node));
        e.is_final = is_final;
    }

    /// A nemesis event (`start-KIND` / `stop-KIND`).
    pub(crate) fn nemesis(&mut self, now: u64, kind: EventType, f: &str, value: Value) {
        self.record(now, kind, Process::Nemesis, F::parse(f), None, value);
    }
}
