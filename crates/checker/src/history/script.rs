//! A tiny history builder for the workload checks' unit tests: events in
//! order on lines 1, 2, ..., 1 ms apart, client `p` on node `n{p}`.

use super::{Event, EventType, History, Process, F};
use crate::value::Value;

#[derive(Default)]
pub(crate) struct Script {
    events: Vec<Event>,
}

impl Script {
    pub(crate) fn ev(&mut self, kind: EventType, p: u64, f: &str, v: Value) -> &mut Self {
        let line = self.events.len() as u64 + 1;
        let mut e = Event::new(line, kind, Process::Client(p), F::parse(f), v);
        e.time_ns = Some(line as i64 * 1_000_000);
        e.node = Some(format!("n{p}").into());
        self.events.push(e);
        self
    }

    /// An op on the integer `x` (its invoke and its completion, `outcome`).
    pub(crate) fn op(&mut self, p: u64, f: &str, x: i64, outcome: EventType) -> &mut Self {
        self.ev(EventType::Invoke, p, f, Value::Int(x)).ev(outcome, p, f, Value::Int(x))
    }

    pub(crate) fn add(&mut self, p: u64, x: i64) -> &mut Self {
        self.op(p, "add", x, EventType::Ok)
    }

    pub(crate) fn remove(&mut self, p: u64, x: i64) -> &mut Self {
        self.op(p, "remove", x, EventType::Ok)
    }

    /// A read that returned the list `xs`.
    pub(crate) fn read(&mut self, p: u64, xs: &[i64], is_final: bool) -> &mut Self {
        let list = Value::List(xs.iter().map(|&x| Value::Int(x)).collect());
        self.ev(EventType::Invoke, p, "read", Value::Nil).ev(EventType::Ok, p, "read", list);
        let n = self.events.len();
        for e in &mut self.events[n - 2..] {
            e.is_final = is_final;
        }
        self
    }

    pub(crate) fn history(&self) -> History {
        History::from_events("t", self.events.clone()).unwrap()
    }
}
