//! The services a node may call by sending to their names, with Maelstrom's
//! documented semantics:
//!
//! - `lin-kv`: one linearizable map: `read {key}` → `read_ok {value}` or
//!   error 20; `write {key, value}`; `cas {key, from, to,
//!   create_if_not_exists?}` → `cas_ok`, error 20 (no key) or 22 (`from`
//!   differs);
//! - `seq-kv`: the same API, sequentially consistent: every request takes
//!   effect in one total order that respects each caller's own order, but a
//!   caller may see a past state. An op that leaves the state alone (a read,
//!   a failed cas) is served from a state chosen at random between the
//!   caller's last one and the newest, within [`SEQ_WINDOW`] versions; an op
//!   that changes it takes effect on the newest state. Stale reads follow;
//! - `lww-kv`: the same API over [`LWW_REPLICAS`] replicas that each serve
//!   requests alone, stamp writes with a Lamport clock and merge pairwise at
//!   random (higher stamp wins): deliberately weak;
//! - `lin-tso`: `ts` → `ts_ok {ts}`, strictly increasing from 0.
//!
//! Unknown request types get error 10 (not supported), a request missing a
//! field error 12 (malformed). Keys may be any JSON value; they are compared
//! by their canonical JSON text.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};

/// Versions of the past a `seq-kv` caller may be served from.
pub const SEQ_WINDOW: u64 = 32;
/// Independent replicas of `lww-kv`.
pub const LWW_REPLICAS: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    LinKv,
    SeqKv,
    LwwKv,
    LinTso,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [ServiceKind::LinKv, ServiceKind::SeqKv, ServiceKind::LwwKv, ServiceKind::LinTso];

    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::LinKv => "lin-kv",
            ServiceKind::SeqKv => "seq-kv",
            ServiceKind::LwwKv => "lww-kv",
            ServiceKind::LinTso => "lin-tso",
        }
    }

    pub fn parse(s: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// What a kv request does to one key's value (`None`: absent).
enum Effect {
    /// The reply; the state is unchanged.
    Same(Value),
    /// The reply, and the key's new value.
    Set(Value, Value),
}

fn error(code: i64, text: &str) -> Value {
    json!({"type": "error", "code": code, "text": text})
}

/// The key of a kv request, canonically.
fn key_of(body: &Value) -> Option<String> {
    body.get("key").map(|k| k.to_string())
}

/// Applies a kv request to the key's current value.
fn kv_effect(current: Option<&Value>, body: &Value) -> Effect {
    let ty = body.get("type").and_then(Value::as_str).unwrap_or("");
    match ty {
        "read" => match current {
            Some(v) => Effect::Same(json!({"type": "read_ok", "value": v})),
            None => Effect::Same(error(20, "key does not exist")),
        },
        "write" => match body.get("value") {
            Some(v) => Effect::Set(json!({"type": "write_ok"}), v.clone()),
            None => Effect::Same(error(12, "write needs a value")),
        },
        "cas" => {
            let (Some(from), Some(to)) = (body.get("from"), body.get("to")) else {
                return Effect::Same(error(12, "cas needs from and to"));
            };
            let create = body.get("create_if_not_exists").and_then(Value::as_bool).unwrap_or(false);
            match current {
                None if create => Effect::Set(json!({"type": "cas_ok"}), to.clone()),
                None => Effect::Same(error(20, "key does not exist")),
                Some(v) if v == from => Effect::Set(json!({"type": "cas_ok"}), to.clone()),
                Some(v) => Effect::Same(error(22, &format!("current value {v} is not {from}"))),
            }
        }
        other => Effect::Same(error(10, &format!("{} does not support `{other}`", "kv"))),
    }
}

fn is_kv_request(body: &Value) -> Result<String, Value> {
    let ty = body.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(ty, "read" | "write" | "cas") {
        return Err(error(10, &format!("kv services support read, write and cas, not `{ty}`")));
    }
    key_of(body).ok_or_else(|| error(12, "a kv request needs a key"))
}

/// `seq-kv`: per key, the values it held at recent versions.
#[derive(Default)]
struct SeqKv {
    /// Versions so far: each state change is one.
    version: u64,
    /// key -> (version it took effect, value); the front entry was in effect
    /// at `version - SEQ_WINDOW` (or the key did not exist then).
    keys: HashMap<String, VecDeque<(u64, Value)>>,
    /// caller -> the version it last saw.
    seen: HashMap<String, u64>,
}

impl SeqKv {
    fn handle(&mut self, src: &str, body: &Value, rng: &mut ChaCha8Rng) -> Value {
        let key = match is_kv_request(body) {
            Ok(k) => k,
            Err(e) => return e,
        };
        let last = self.seen.get(src).copied().unwrap_or(0);
        let lo = last.max(self.version.saturating_sub(SEQ_WINDOW));
        let at = rng.random_range(lo..=self.version);
        let value_at = |keys: &HashMap<String, VecDeque<(u64, Value)>>, v: u64| {
            keys.get(&key).and_then(|h| h.iter().rev().find(|(ver, _)| *ver <= v)).map(|(_, x)| x.clone())
        };
        let old = value_at(&self.keys, at);
        match kv_effect(old.as_ref(), body) {
            Effect::Same(reply) => {
                self.seen.insert(src.to_string(), at);
                reply
            }
            Effect::Set(..) => {
                // Changing the state must happen at the newest version, or
                // the total order would fork.
                let newest = value_at(&self.keys, self.version);
                match kv_effect(newest.as_ref(), body) {
                    Effect::Same(reply) => {
                        self.seen.insert(src.to_string(), self.version);
                        reply
                    }
                    Effect::Set(reply, v) => {
                        self.version += 1;
                        let h = self.keys.entry(key).or_default();
                        h.push_back((self.version, v));
                        let horizon = self.version.saturating_sub(SEQ_WINDOW);
                        while h.len() >= 2 && h[1].0 <= horizon {
                            h.pop_front();
                        }
                        self.seen.insert(src.to_string(), self.version);
                        reply
                    }
                }
            }
        }
    }
}

/// One `lww-kv` replica.
#[derive(Clone, Default)]
struct LwwReplica {
    clock: u64,
    /// key -> (stamp, value)
    map: HashMap<String, (u64, Value)>,
}

impl LwwReplica {
    fn merge_from(&mut self, other: &LwwReplica) {
        self.clock = self.clock.max(other.clock);
        for (k, (ts, v)) in &other.map {
            let newer = match self.map.get(k) {
                None => true,
                // Equal stamps: the larger value's text wins, so merges commute.
                Some((mine, mv)) => (ts, v.to_string()) > (mine, mv.to_string()),
            };
            if newer {
                self.map.insert(k.clone(), (*ts, v.clone()));
            }
        }
    }
}

/// All four services, and the generator behind their random choices.
pub struct Services {
    lin: HashMap<String, Value>,
    seq: SeqKv,
    lww: Vec<LwwReplica>,
    tso: u64,
    rng: ChaCha8Rng,
    next_msg_id: u64,
    /// Requests handled per service.
    pub handled: [u64; 4],
}

impl Services {
    pub fn new(rng: ChaCha8Rng) -> Services {
        Services {
            lin: HashMap::new(),
            seq: SeqKv::default(),
            lww: vec![LwwReplica::default(); LWW_REPLICAS],
            tso: 0,
            rng,
            next_msg_id: 0,
            handled: [0; 4],
        }
    }

    /// The reply body to a request from `src`, with `msg_id` and
    /// `in_reply_to` (when the request had a `msg_id`).
    pub fn handle(&mut self, kind: ServiceKind, src: &str, body: &Value) -> Value {
        self.handled[kind as usize] += 1;
        let mut reply = if !body.is_object() {
            error(12, "the body must be an object")
        } else {
            match kind {
                ServiceKind::LinKv => self.lin_kv(body),
                ServiceKind::SeqKv => self.seq.handle(src, body, &mut self.rng),
                ServiceKind::LwwKv => self.lww_kv(body),
                ServiceKind::LinTso => self.lin_tso(body),
            }
        };
        self.next_msg_id += 1;
        if let Some(obj) = reply.as_object_mut() {
            obj.insert("msg_id".into(), json!(self.next_msg_id));
            if let Some(id) = body.get("msg_id") {
                obj.insert("in_reply_to".into(), id.clone());
            }
        }
        reply
    }

    fn lin_kv(&mut self, body: &Value) -> Value {
        let key = match is_kv_request(body) {
            Ok(k) => k,
            Err(e) => return e,
        };
        match kv_effect(self.lin.get(&key), body) {
            Effect::Same(reply) => reply,
            Effect::Set(reply, v) => {
                self.lin.insert(key, v);
                reply
            }
        }
    }

    fn lww_kv(&mut self, body: &Value) -> Value {
        let key = match is_kv_request(body) {
            Ok(k) => k,
            Err(e) => return e,
        };
        let n = self.lww.len();
        let (from, to) = (self.rng.random_range(0..n), self.rng.random_range(0..n));
        if from != to {
            let source = self.lww[from].clone();
            self.lww[to].merge_from(&source);
        }
        let r = &mut self.lww[self.rng.random_range(0..n)];
        match kv_effect(r.map.get(&key).map(|(_, v)| v), body) {
            Effect::Same(reply) => reply,
            Effect::Set(reply, v) => {
                r.clock += 1;
                r.map.insert(key, (r.clock, v));
                reply
            }
        }
    }

    fn lin_tso(&mut self, body: &Value) -> Value {
        match body.get("type").and_then(Value::as_str) {
            Some("ts") => {
                let ts = self.tso;
                self.tso += 1;
                json!({"type": "ts_ok", "ts": ts})
            }
            other => error(10, &format!("lin-tso supports ts, not `{}`", other.unwrap_or(""))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn services() -> Services {
        Services::new(ChaCha8Rng::seed_from_u64(3))
    }

    fn req(ty: &str, extra: Value) -> Value {
        let mut b = json!({"type": ty, "msg_id": 7});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    }

    #[test]
    fn lin_kv_read_write_cas_and_error_codes() {
        let mut s = services();
        let k = ServiceKind::LinKv;
        let r = s.handle(k, "n0", &req("read", json!({"key": "x"})));
        assert_eq!(
            (r["type"].as_str(), r["code"].as_i64(), r["in_reply_to"].as_i64()),
            (Some("error"), Some(20), Some(7))
        );
        assert_eq!(s.handle(k, "n0", &req("cas", json!({"key": "x", "from": 1, "to": 2})))["code"], 20);
        assert_eq!(
            s.handle(k, "n0", &req("cas", json!({"key": "x", "from": 1, "to": 2, "create_if_not_exists": true})))
                ["type"],
            "cas_ok"
        );
        assert_eq!(s.handle(k, "n1", &req("read", json!({"key": "x"})))["value"], 2);
        assert_eq!(s.handle(k, "n1", &req("cas", json!({"key": "x", "from": 1, "to": 3})))["code"], 22);
        assert_eq!(s.handle(k, "n1", &req("write", json!({"key": "x", "value": [1, {"a": 2}]})))["type"], "write_ok");
        assert_eq!(s.handle(k, "n0", &req("read", json!({"key": "x"})))["value"], json!([1, {"a": 2}]));
        // Keys compare as JSON: 1 and "1" are different keys.
        assert_eq!(s.handle(k, "n0", &req("read", json!({"key": 1})))["code"], 20);
        assert_eq!(s.handle(k, "n0", &req("frob", json!({})))["code"], 10);
        assert_eq!(s.handle(k, "n0", &req("read", json!({})))["code"], 12);
        assert_eq!(s.handle(k, "n0", &json!([1]))["code"], 12);
    }

    #[test]
    fn lin_tso_counts_up() {
        let mut s = services();
        let ts: Vec<i64> = (0..5)
            .map(|_| s.handle(ServiceKind::LinTso, "n0", &req("ts", json!({})))["ts"].as_i64().unwrap())
            .collect();
        assert_eq!(ts, vec![0, 1, 2, 3, 4]);
    }

    /// A write by one caller, then many reads by another: seq-kv serves some
    /// of them stale, but never goes back for one caller, and a caller always
    /// sees its own writes.
    #[test]
    fn seq_kv_stale_reads_but_monotonic_per_caller() {
        let mut s = services();
        let k = ServiceKind::SeqKv;
        let (mut stale, mut last) = (0, -1i64);
        for i in 0..200i64 {
            assert_eq!(s.handle(k, "n0", &req("write", json!({"key": "x", "value": i})))["type"], "write_ok");
            assert_eq!(s.handle(k, "n0", &req("read", json!({"key": "x"})))["value"], i, "n0 reads its own write");
            let r = s.handle(k, "n1", &req("read", json!({"key": "x"})));
            let v = r["value"].as_i64().unwrap_or(-1);
            assert!(v >= last, "n1 went back from {last} to {v}");
            last = v;
            if v < i {
                stale += 1;
            }
        }
        assert!(stale > 50, "seq-kv should serve stale reads often, got {stale} of 200");
    }

    /// A cas that would succeed on an old state must not fork history: it
    /// takes effect on the newest state, or fails there.
    #[test]
    fn seq_kv_updates_act_on_the_newest_state() {
        let mut s = services();
        let k = ServiceKind::SeqKv;
        s.handle(k, "n0", &req("write", json!({"key": "x", "value": 0})));
        for i in 0..50 {
            s.handle(k, "n0", &req("write", json!({"key": "x", "value": i + 1})));
            // n1's cas from 0 may see the old 0, but must not succeed.
            assert_ne!(s.handle(k, "n1", &req("cas", json!({"key": "x", "from": 0, "to": -1})))["type"], "cas_ok");
        }
        assert_eq!(s.handle(k, "n0", &req("read", json!({"key": "x"})))["value"], 50);
    }

    #[test]
    fn lww_kv_loses_writes_sometimes() {
        let mut s = services();
        let k = ServiceKind::LwwKv;
        let mut missed = 0;
        for i in 0..200 {
            s.handle(k, "n0", &req("write", json!({"key": "x", "value": i})));
            if s.handle(k, "n0", &req("read", json!({"key": "x"})))["value"] != json!(i) {
                missed += 1;
            }
        }
        assert!(missed > 20, "replicas answer alone, so reads miss writes: {missed}");
    }

    #[test]
    fn same_seed_same_answers() {
        let run = || {
            let mut s = services();
            (0..100)
                .map(|i| {
                    s.handle(ServiceKind::SeqKv, "n0", &req("write", json!({"key": i % 3, "value": i})));
                    s.handle(ServiceKind::LwwKv, "n0", &req("write", json!({"key": i % 3, "value": i})));
                    (
                        s.handle(ServiceKind::SeqKv, "n1", &req("read", json!({"key": i % 3}))),
                        s.handle(ServiceKind::LwwKv, "n1", &req("read", json!({"key": i % 3}))),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
