//! Every message, recorded: `messages.jsonl` in the run directory holds one
//! line per event, `send` (with the whole message as sent), then `deliver`
//! (once per copy) or `drop` (with the reason), linked by `id`. Times are
//! nanoseconds since the run started. A message-flow (Lamport) diagram of
//! any window can be drawn from it.
//!
//! Counts by category and by body type are kept for `run.json` even past
//! the journal's limit.

use crate::net::DropReason;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Which kind of link a message crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Between a client and a node.
    Client,
    /// Between two nodes.
    Server,
    /// Between a node and a service.
    Service,
    /// Init and topology.
    Harness,
}

/// Counts of one category or type.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
}

/// All counts, for `run.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MessageStats {
    pub all: Counts,
    pub by_category: BTreeMap<Category, Counts>,
    /// By body `type` (`other` beyond the limit on distinct types,
    /// `(none)` without one).
    pub by_type: BTreeMap<String, Counts>,
    pub dropped_by_reason: BTreeMap<DropReason, u64>,
    /// Journal events not written (over the limit).
    pub journal_truncated: u64,
}

/// The journal file and the counts.
pub struct Journal {
    out: Option<BufWriter<File>>,
    written: u64,
    limit: u64,
    max_types: usize,
    next_id: u64,
    pub stats: MessageStats,
    /// First write error, reported once.
    pub error: Option<String>,
}

/// What the journal remembers about a message until it is delivered.
#[derive(Clone, Debug)]
pub struct Sent {
    pub id: u64,
    pub category: Category,
    pub ty: String,
}

impl Journal {
    pub fn create(path: &Path, limit: u64, max_types: usize) -> std::io::Result<Journal> {
        let f = File::create(path)?;
        Ok(Journal {
            out: Some(BufWriter::with_capacity(1 << 20, f)),
            written: 0,
            limit,
            max_types,
            next_id: 0,
            stats: MessageStats::default(),
            error: None,
        })
    }

    /// A journal that only counts (tests).
    pub fn counting() -> Journal {
        Journal {
            out: None,
            written: 0,
            limit: 0,
            max_types: 1000,
            next_id: 0,
            stats: MessageStats::default(),
            error: None,
        }
    }

    fn type_key(&mut self, ty: Option<&str>) -> String {
        let ty = ty.unwrap_or("(none)");
        if self.stats.by_type.contains_key(ty) || self.stats.by_type.len() < self.max_types {
            ty.to_string()
        } else {
            "other".to_string()
        }
    }

    fn write(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        if self.written >= self.limit {
            self.stats.journal_truncated += 1;
            return;
        }
        let Some(out) = &mut self.out else { return };
        let mut line = Vec::with_capacity(256);
        f(&mut line);
        line.push(b'\n');
        if let Err(e) = out.write_all(&line) {
            if self.error.is_none() {
                self.error = Some(format!("cannot write the message journal: {e}"));
            }
            self.out = None;
            return;
        }
        self.written += 1;
    }

    /// Applies `f` to the counts of everything, of the category and of the type.
    fn count(&mut self, category: Category, ty: &str, f: impl Fn(&mut Counts)) {
        f(&mut self.stats.all);
        f(self.stats.by_category.entry(category).or_default());
        match self.stats.by_type.get_mut(ty) {
            Some(c) => f(c),
            None => f(self.stats.by_type.entry(ty.to_string()).or_default()),
        }
    }

    /// Records a message entering the network. `line` is the message as
    /// sent (one JSON object, no newline).
    pub fn send(
        &mut self,
        t_ns: u64,
        category: Category,
        src: &str,
        dest: &str,
        ty: Option<&str>,
        line: &[u8],
    ) -> Sent {
        let id = self.next_id;
        self.next_id += 1;
        let ty = self.type_key(ty);
        self.count(category, &ty, |c| c.sent += 1);
        self.write(|l| {
            let _ = write!(l, "{{\"id\":{id},\"t_ns\":{t_ns},\"event\":\"send\",\"src\":");
            let _ = serde_json::to_writer(&mut *l, src);
            l.extend_from_slice(b",\"dest\":");
            let _ = serde_json::to_writer(&mut *l, dest);
            l.extend_from_slice(b",\"msg\":");
            l.extend_from_slice(line);
            l.push(b'}');
        });
        Sent { id, category, ty }
    }

    pub fn duplicated(&mut self, s: &Sent) {
        self.count(s.category, &s.ty, |c| c.duplicated += 1);
    }

    pub fn deliver(&mut self, t_ns: u64, s: &Sent) {
        self.count(s.category, &s.ty, |c| c.delivered += 1);
        let id = s.id;
        self.write(|l| {
            let _ = write!(l, "{{\"id\":{id},\"t_ns\":{t_ns},\"event\":\"deliver\"}}");
        });
    }

    pub fn drop(&mut self, t_ns: u64, s: &Sent, why: DropReason) {
        self.count(s.category, &s.ty, |c| c.dropped += 1);
        *self.stats.dropped_by_reason.entry(why).or_insert(0) += 1;
        let id = s.id;
        self.write(|l| {
            let _ = write!(l, "{{\"id\":{id},\"t_ns\":{t_ns},\"event\":\"drop\",\"reason\":\"{}\"}}", why.name());
        });
    }

    pub fn flush(&mut self) {
        if let Some(out) = &mut self.out {
            if let Err(e) = out.flush() {
                self.error.get_or_insert(format!("cannot write the message journal: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_json_lines_linked_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut j = Journal::create(&path, 10, 2).unwrap();
        let a = j.send(
            5,
            Category::Server,
            "n0",
            "n1",
            Some("gossip"),
            br#"{"src":"n0","dest":"n1","body":{"type":"gossip"}}"#,
        );
        j.duplicated(&a);
        j.deliver(7, &a);
        j.deliver(9, &a);
        let b = j.send(6, Category::Client, "c1", "n0", Some("x"), b"{}");
        j.drop(8, &b, DropReason::Partition);
        let c = j.send(6, Category::Client, "c1", "n0", Some("y"), b"{}");
        j.flush();
        assert_eq!(c.ty, "other", "types beyond the limit are pooled");
        let lines: Vec<serde_json::Value> =
            std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0]["msg"]["body"]["type"], "gossip");
        assert_eq!(lines[2]["id"], 0);
        assert_eq!(lines[4]["reason"], "partition");
        assert_eq!(j.stats.all.sent, 3);
        assert_eq!(j.stats.by_category[&Category::Server].delivered, 2);
        assert_eq!(j.stats.by_type["gossip"].duplicated, 1);
        assert_eq!(j.stats.dropped_by_reason[&DropReason::Partition], 1);
    }

    #[test]
    fn the_journal_stops_at_its_limit_but_counts_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut j = Journal::create(&path, 2, 10).unwrap();
        for _ in 0..5 {
            j.send(0, Category::Server, "n0", "n1", None, b"{}");
        }
        j.flush();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        assert_eq!(j.stats.journal_truncated, 3);
        assert_eq!(j.stats.all.sent, 5);
    }
}
