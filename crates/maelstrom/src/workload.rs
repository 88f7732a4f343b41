//! The client side of each workload: what each client thread sends (drawn
//! from the thread's own seeded generator, so thread `t`'s `k`-th op is the
//! same in every run with the seed), how replies become history events, the
//! final ops after the faults heal, and which checks judge the history.
//!
//! Values that must be unique (broadcast messages, set elements, appended
//! and written values, kafka messages) are `k × concurrency + t` for thread
//! `t`'s `k`-th draw, so uniqueness needs no coordination between threads.

use crate::config::{Config, Topology, WorkloadKind};
use checker::model::ModelKind;
use checker::read::NilRead;
use checker::{CheckConfig, CheckName, CheckResult, EventType, History, Value, F};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeMap;

/// One client op about to be sent.
#[derive(Clone, Debug)]
pub struct Request {
    pub f: F,
    pub key: Option<Value>,
    /// The history's invoke value.
    pub value: Value,
    /// The request body, without `msg_id`.
    pub body: serde_json::Value,
    pub is_final: bool,
}

impl Request {
    /// The reply type that means success: the request's type plus `_ok`.
    pub fn ok_type(&self) -> String {
        format!("{}_ok", self.body["type"].as_str().unwrap_or(""))
    }
}

/// How an op ended, as the history records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// `Ok`, `Fail` or `Info`.
    pub kind: EventType,
    pub value: Value,
    /// The reply broke the workload's contract (e.g. a read without its
    /// value): the op is `info` and the node is reported.
    pub problem: Option<String>,
}

impl Completion {
    pub fn ok(value: Value) -> Completion {
        Completion { kind: EventType::Ok, value, problem: None }
    }

    fn malformed(req: &Request, why: String) -> Completion {
        Completion { kind: EventType::Info, value: req.value.clone(), problem: Some(why) }
    }
}

/// What the checks found, and what could not be checked.
pub struct Checked {
    pub results: Vec<CheckResult>,
    /// Reasons the verdict must be `unknown` whatever the results say.
    pub unknown: Vec<String>,
}

/// Maelstrom's workload client, for one run.
pub struct Workload {
    kind: WorkloadKind,
    concurrency: usize,
    keys: usize,
    max_txn_length: usize,
    /// Ops a thread draws before its txn keys move on to fresh ones.
    txn_key_epoch_ops: u64,
    /// Per thread: ops drawn so far.
    drawn: Vec<u64>,
    /// Per thread: kafka consumer state.
    kafka: Vec<KafkaThread>,
    /// Final op slots: kafka drains one key per slot.
    finals: Vec<FinalSlot>,
    /// `--consistency-models` (txn workloads).
    models: Vec<CheckName>,
}

#[derive(Clone, Default)]
struct KafkaThread {
    /// Whether the current process has assigned itself (listed committed offsets).
    assigned: bool,
    /// key -> next offset to poll from.
    positions: BTreeMap<String, i64>,
    /// key -> highest offset polled.
    consumed: BTreeMap<String, i64>,
}

#[derive(Clone, Default)]
struct FinalSlot {
    issued: u64,
    position: i64,
    done: bool,
}

/// Polls one final drain of a kafka key makes at most.
const MAX_DRAIN_POLLS: u64 = 1_000;

impl Workload {
    pub fn new(cfg: &Config) -> Workload {
        let writes_per_txn = (cfg.max_txn_length as f64 + 1.0) / 4.0;
        let epoch = (cfg.max_writes_per_key as f64 * cfg.key_count as f64) / (cfg.concurrency as f64 * writes_per_txn);
        Workload {
            kind: cfg.workload,
            concurrency: cfg.concurrency,
            keys: cfg.key_count,
            max_txn_length: cfg.max_txn_length,
            txn_key_epoch_ops: (epoch as u64).max(1),
            drawn: vec![0; cfg.concurrency],
            kafka: vec![KafkaThread::default(); cfg.concurrency],
            finals: Vec::new(),
            models: cfg.consistency_models.clone(),
        }
    }

    pub fn kind(&self) -> WorkloadKind {
        self.kind
    }

    /// A value unique to thread `t`'s current draw.
    fn unique(&self, t: usize) -> i64 {
        (self.drawn[t] as i64).saturating_mul(self.concurrency as i64).saturating_add(t as i64)
    }

    fn kafka_key(i: usize) -> String {
        i.to_string()
    }

    /// Setup messages (after init): `topology` to every node for broadcast.
    pub fn setup(&self, names: &[String], topology: Topology) -> Vec<(usize, serde_json::Value)> {
        if self.kind != WorkloadKind::Broadcast {
            return Vec::new();
        }
        let nb = topology.neighbours(names.len());
        let mut map = serde_json::Map::new();
        for (i, ns) in nb.iter().enumerate() {
            map.insert(names[i].clone(), json!(ns.iter().map(|&j| names[j].as_str()).collect::<Vec<_>>()));
        }
        let body = json!({"type": "topology", "topology": map});
        (0..names.len()).map(|i| (i, body.clone())).collect()
    }

    /// The next op of thread `t`, drawn from its generator.
    pub fn next(&mut self, t: usize, rng: &mut ChaCha8Rng) -> Request {
        let req = self.draw(t, rng);
        self.drawn[t] += 1;
        req
    }

    fn draw(&mut self, t: usize, rng: &mut ChaCha8Rng) -> Request {
        let simple = |f: &str, value: Value, body: serde_json::Value| Request {
            f: F::parse(f),
            key: None,
            value,
            body,
            is_final: false,
        };
        let u = self.unique(t);
        match self.kind {
            WorkloadKind::Echo => {
                let payload = format!("Please echo {u}");
                simple("echo", Value::str(&payload), json!({"type": "echo", "echo": payload}))
            }
            WorkloadKind::UniqueIds => simple("generate", Value::Nil, json!({"type": "generate"})),
            WorkloadKind::Broadcast => {
                if rng.random_bool(0.5) {
                    simple("broadcast", Value::Int(u), json!({"type": "broadcast", "message": u}))
                } else {
                    simple("read", Value::Nil, json!({"type": "read"}))
                }
            }
            WorkloadKind::GSet => {
                if rng.random_bool(0.5) {
                    simple("add", Value::Int(u), json!({"type": "add", "element": u}))
                } else {
                    simple("read", Value::Nil, json!({"type": "read"}))
                }
            }
            WorkloadKind::GCounter | WorkloadKind::PnCounter => {
                if rng.random_bool(0.5) {
                    let d: i64 = if self.kind == WorkloadKind::GCounter {
                        rng.random_range(0..5)
                    } else {
                        rng.random_range(-5..5)
                    };
                    simple("add", Value::Int(d), json!({"type": "add", "delta": d}))
                } else {
                    simple("read", Value::Nil, json!({"type": "read"}))
                }
            }
            WorkloadKind::LinKv => {
                let k = rng.random_range(0..self.keys) as i64;
                let key = Some(Value::Int(k));
                let (f, value, body) = match rng.random_range(0..3) {
                    0 => ("read", Value::Nil, json!({"type": "read", "key": k})),
                    1 => {
                        let v: i64 = rng.random_range(0..5);
                        ("write", Value::Int(v), json!({"type": "write", "key": k, "value": v}))
                    }
                    _ => {
                        let (a, b): (i64, i64) = (rng.random_range(0..5), rng.random_range(0..5));
                        (
                            "cas",
                            Value::List(vec![Value::Int(a), Value::Int(b)]),
                            json!({"type": "cas", "key": k, "from": a, "to": b}),
                        )
                    }
                };
                Request { f: F::parse(f), key, value, body, is_final: false }
            }
            WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => self.txn(t, rng, u),
            WorkloadKind::Kafka => self.kafka_op(t, rng, u),
        }
    }

    fn txn(&self, t: usize, rng: &mut ChaCha8Rng, u: i64) -> Request {
        let epoch = self.drawn[t] / self.txn_key_epoch_ops;
        let first_key = epoch.saturating_mul(self.keys as u64) as i64;
        let write = if self.kind == WorkloadKind::TxnListAppend { "append" } else { "w" };
        let len = rng.random_range(1..=self.max_txn_length);
        let mut micro = Vec::with_capacity(len);
        for i in 0..len {
            let k = first_key + rng.random_range(0..self.keys) as i64;
            if rng.random_bool(0.5) {
                micro.push(json!(["r", k, null]));
            } else {
                // Unique per key: this draw's unique value, spread over its micro-ops.
                let v = u.saturating_mul(self.max_txn_length as i64).saturating_add(i as i64);
                micro.push(json!([write, k, v]));
            }
        }
        let value = Value::from(&serde_json::Value::Array(micro.clone()));
        Request { f: F::Txn, key: None, value, body: json!({"type": "txn", "txn": micro}), is_final: false }
    }

    fn kafka_op(&mut self, t: usize, rng: &mut ChaCha8Rng, u: i64) -> Request {
        let keys: Vec<String> = (0..self.keys).map(Self::kafka_key).collect();
        let th = &self.kafka[t];
        let roll = rng.random_range(0..100);
        let key = keys[rng.random_range(0..keys.len())].clone();
        if !th.assigned || roll < 5 {
            return kafka_list(&keys);
        }
        if roll < 15 && !th.consumed.is_empty() {
            let offsets: serde_json::Map<String, serde_json::Value> =
                th.consumed.iter().map(|(k, o)| (k.clone(), json!(o))).collect();
            let v = Value::from(&serde_json::Value::Object(offsets.clone()));
            return Request {
                f: F::parse("commit_offsets"),
                key: None,
                value: v,
                body: json!({"type": "commit_offsets", "offsets": offsets}),
                is_final: false,
            };
        }
        if roll < 50 {
            let positions: serde_json::Map<String, serde_json::Value> =
                keys.iter().map(|k| (k.clone(), json!(th.positions.get(k).copied().unwrap_or(0)))).collect();
            return kafka_poll(positions, false);
        }
        let value = Value::map(vec![(Value::str("key"), Value::str(&key)), (Value::str("msg"), Value::Int(u))]);
        Request {
            f: F::parse("send"),
            key: None,
            value,
            body: json!({"type": "send", "key": key, "msg": u}),
            is_final: false,
        }
    }

    /// Thread `t`'s process was retired (an info): its successor starts afresh.
    pub fn retired(&mut self, t: usize) {
        if let Some(k) = self.kafka.get_mut(t) {
            *k = KafkaThread::default();
        }
    }

    /// Interprets a success reply (its type already checked).
    pub fn complete(&mut self, t: Option<usize>, req: &Request, reply: &serde_json::Value) -> Completion {
        let field = |name: &str| reply.get(name);
        let need = |name: &str, what: &str| -> Result<Value, Completion> {
            match field(name) {
                Some(v) => Ok(Value::from(v)),
                None => Err(Completion::malformed(req, format!("{} without `{name}` ({what})", req.ok_type()))),
            }
        };
        let result = (|| -> Result<Completion, Completion> {
            Ok(match (self.kind, req.f.as_str()) {
                (WorkloadKind::Echo, _) => Completion::ok(field("echo").map(Value::from).unwrap_or(Value::Nil)),
                (WorkloadKind::UniqueIds, _) => Completion::ok(need("id", "the id generated")?),
                (WorkloadKind::Broadcast, "read") => Completion::ok(list(need("messages", "the messages seen")?, req)?),
                (WorkloadKind::GSet, "read") => Completion::ok(list(need("value", "the elements")?, req)?),
                (WorkloadKind::GCounter | WorkloadKind::PnCounter, "read") => {
                    let v = need("value", "the counter's value")?;
                    if v.as_int().is_none() {
                        return Err(Completion::malformed(req, format!("read_ok value {v} is not an integer")));
                    }
                    Completion::ok(v)
                }
                (WorkloadKind::LinKv, "read") => Completion::ok(need("value", "the key's value")?),
                (WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister, _) => self.txn_done(req, field("txn"))?,
                (WorkloadKind::Kafka, f) => self.kafka_done(t, req, f, reply)?,
                // Writes, adds, broadcasts, cas: the argument is the result.
                _ => Completion::ok(req.value.clone()),
            })
        })();
        result.unwrap_or_else(|c| c)
    }

    /// An error reply. Definite codes fail the op, others leave it unknown;
    /// a lin-kv read of a missing key (20) is an ok read of nothing.
    pub fn on_error(&self, req: &Request, code: i64) -> Completion {
        if self.kind == WorkloadKind::LinKv && req.f == F::Read && code == 20 {
            return Completion::ok(Value::Nil);
        }
        let kind = if crate::message::error_is_definite(code) { EventType::Fail } else { EventType::Info };
        Completion { kind, value: req.value.clone(), problem: None }
    }

    fn txn_done(&self, req: &Request, got: Option<&serde_json::Value>) -> Result<Completion, Completion> {
        let sent = req.body["txn"].as_array().cloned().unwrap_or_default();
        let bad = |why: String| Completion::malformed(req, format!("txn_ok {why}"));
        let Some(got) = got.and_then(|g| g.as_array()) else { return Err(bad("without `txn`".into())) };
        if got.len() != sent.len() {
            return Err(bad(format!("has {} micro-ops, the request {}", got.len(), sent.len())));
        }
        for (i, (s, g)) in sent.iter().zip(got).enumerate() {
            let Some(g3) = g.as_array().filter(|a| a.len() == 3) else {
                return Err(bad(format!("micro-op {i} is not [f, k, v]")));
            };
            if g3[0] != s[0] || g3[1] != s[1] {
                return Err(bad(format!("micro-op {i} is {g}, the request's was {s}")));
            }
            if s[0] != "r" && g3[2] != s[2] {
                return Err(bad(format!("micro-op {i} changed the written value: {g}, sent {s}")));
            }
            if s[0] == "r" && self.kind == WorkloadKind::TxnListAppend && !(g3[2].is_null() || g3[2].is_array()) {
                return Err(bad(format!("micro-op {i} read {} , not a list", g3[2])));
            }
        }
        Ok(Completion::ok(Value::from(&serde_json::Value::Array(got.clone()))))
    }

    fn kafka_done(
        &mut self,
        t: Option<usize>,
        req: &Request,
        f: &str,
        reply: &serde_json::Value,
    ) -> Result<Completion, Completion> {
        let th = t.and_then(|t| self.kafka.get_mut(t));
        match f {
            "send" => {
                let Some(o) = reply.get("offset").and_then(serde_json::Value::as_i64) else {
                    return Err(Completion::malformed(req, "send_ok without an integer `offset`".into()));
                };
                let mut v = req.value.clone();
                if let Value::Map(m) = &mut v {
                    m.insert(Value::str("offset"), Value::Int(o));
                }
                Ok(Completion::ok(v))
            }
            "poll" => {
                let msgs = reply.get("msgs").cloned().unwrap_or(serde_json::Value::Null);
                let Some(obj) = msgs.as_object() else {
                    return Err(Completion::malformed(req, "poll_ok without a `msgs` map".into()));
                };
                for (k, pairs) in obj {
                    let ok = pairs.as_array().is_some_and(|ps| {
                        ps.iter().all(|p| p.as_array().is_some_and(|p| p.len() == 2 && p[0].is_i64()))
                    });
                    if !ok {
                        return Err(Completion::malformed(
                            req,
                            format!("poll_ok msgs of key {k} are not [offset, msg] pairs"),
                        ));
                    }
                }
                if let Some(th) = th {
                    for (k, pairs) in obj {
                        if let Some(last) = pairs.as_array().and_then(|ps| ps.last()).and_then(|p| p[0].as_i64()) {
                            th.positions.insert(k.clone(), last.saturating_add(1));
                            th.consumed.insert(k.clone(), last);
                        }
                    }
                }
                Ok(Completion::ok(Value::from(&msgs)))
            }
            "list_committed_offsets" => {
                let offsets = reply.get("offsets").cloned().unwrap_or(json!({}));
                let Some(obj) = offsets.as_object() else {
                    return Err(Completion::malformed(req, "list_committed_offsets_ok `offsets` is not a map".into()));
                };
                if obj.values().any(|o| !o.is_i64()) {
                    return Err(Completion::malformed(
                        req,
                        "list_committed_offsets_ok offsets are not integers".into(),
                    ));
                }
                if let Some(th) = th {
                    th.assigned = true;
                    th.positions.clear();
                    th.consumed.clear();
                    for (k, o) in obj {
                        let o = o.as_i64().unwrap_or(0);
                        th.positions.insert(k.clone(), o.saturating_add(1));
                    }
                }
                Ok(Completion::ok(Value::from(&offsets)))
            }
            _ => Ok(Completion::ok(req.value.clone())),
        }
    }

    /// How many final op sequences run after the faults heal (each on its
    /// own process, slot `s` on node `s mod nodes`).
    pub fn final_slots(&mut self, nodes: usize) -> usize {
        let n = match self.kind {
            WorkloadKind::Broadcast | WorkloadKind::GSet | WorkloadKind::GCounter | WorkloadKind::PnCounter => nodes,
            WorkloadKind::Kafka => self.keys,
            _ => 0,
        };
        self.finals = vec![FinalSlot::default(); n];
        n
    }

    /// Slot `s`'s next final op, given how its previous one ended.
    pub fn final_next(&mut self, s: usize, last: Option<&Completion>) -> Option<Request> {
        let kind = self.kind;
        let slot = self.finals.get_mut(s)?;
        if slot.done {
            return None;
        }
        match kind {
            WorkloadKind::Kafka => {
                let key = Self::kafka_key(s);
                if let Some(c) = last {
                    let got = match (&c.kind, &c.value) {
                        (EventType::Ok, Value::Map(m)) => {
                            m.iter().find(|(k, _)| k.as_str() == Some(&key)).and_then(|(_, l)| {
                                l.as_seq()
                                    .and_then(|l| l.last())
                                    .and_then(|p| p.as_seq())
                                    .and_then(|p| p.first())
                                    .and_then(Value::as_int)
                            })
                        }
                        _ => None,
                    };
                    match got {
                        Some(o) => slot.position = o.saturating_add(1),
                        None => {
                            slot.done = true;
                            return None;
                        }
                    }
                }
                if slot.issued >= MAX_DRAIN_POLLS {
                    slot.done = true;
                    return None;
                }
                slot.issued += 1;
                let mut positions = serde_json::Map::new();
                positions.insert(key, json!(slot.position));
                Some(kafka_poll(positions, true))
            }
            _ => {
                slot.done = true;
                if last.is_some() {
                    return None;
                }
                let mut r =
                    Request { f: F::Read, key: None, value: Value::Nil, body: json!({"type": "read"}), is_final: true };
                r.is_final = true;
                Some(r)
            }
        }
    }

    /// Runs the checks that judge this workload's history, through the
    /// checker's one entry.
    pub fn check(&self, h: &History) -> Checked {
        let cfg = match self.kind {
            WorkloadKind::Echo => CheckConfig { checks: vec![CheckName::Echo], ..CheckConfig::default() },
            WorkloadKind::UniqueIds => CheckConfig { checks: vec![CheckName::UniqueIds], ..CheckConfig::default() },
            WorkloadKind::Broadcast | WorkloadKind::GSet => {
                CheckConfig { checks: vec![CheckName::SetFull], ..CheckConfig::default() }
            }
            WorkloadKind::GCounter | WorkloadKind::PnCounter => {
                CheckConfig { checks: vec![CheckName::CounterBounds], ..CheckConfig::default() }
            }
            WorkloadKind::Kafka => CheckConfig { checks: vec![CheckName::Kafka], ..CheckConfig::default() },
            // The lin-kv API says a missing key is error 20, recorded as an
            // ok read of nil: nil means "never written".
            WorkloadKind::LinKv => CheckConfig {
                checks: vec![CheckName::Linearizable],
                model: Some(ModelKind::CasRegister),
                nil_read: Some(NilRead::Absent),
                ..CheckConfig::default()
            },
            // The transactional checker, for each `--consistency-models`
            // model (none: strict-serializable, as Maelstrom's default).
            WorkloadKind::TxnListAppend | WorkloadKind::TxnRwRegister => {
                CheckConfig { checks: self.models.clone(), ..CheckConfig::default() }
            }
        };
        match checker::check(h, &cfg) {
            Ok(r) => Checked { results: r.results, unknown: r.unknown_reason.into_iter().collect() },
            // The history is conch's own recording; a shape error here means
            // a reply slipped past the workload's validation.
            Err(e) => Checked { results: Vec::new(), unknown: vec![format!("the history could not be checked: {e}")] },
        }
    }
}

fn list(v: Value, req: &Request) -> Result<Value, Completion> {
    match v {
        Value::List(_) => Ok(v),
        other => Err(Completion::malformed(req, format!("{} value {other} is not a list", req.ok_type()))),
    }
}

fn kafka_list(keys: &[String]) -> Request {
    let v = Value::List(keys.iter().map(|k| Value::str(k)).collect());
    Request {
        f: F::parse("list_committed_offsets"),
        key: None,
        value: v,
        body: json!({"type": "list_committed_offsets", "keys": keys}),
        is_final: false,
    }
}

fn kafka_poll(positions: serde_json::Map<String, serde_json::Value>, is_final: bool) -> Request {
    let v = Value::from(&serde_json::Value::Object(positions.clone()));
    Request { f: F::parse("poll"), key: None, value: v, body: json!({"type": "poll", "offsets": positions}), is_final }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn workload(kind: WorkloadKind) -> Workload {
        let mut cfg = Config::new(kind, "x".into(), "o".into());
        cfg.concurrency = 3;
        Workload::new(&cfg)
    }

    #[test]
    fn each_threads_ops_follow_from_the_seed() {
        for kind in WorkloadKind::ALL {
            let draw = || {
                let mut w = workload(kind);
                let mut rng = ChaCha8Rng::seed_from_u64(5);
                (0..20).map(|_| w.next(1, &mut rng).body.to_string()).collect::<Vec<_>>()
            };
            assert_eq!(draw(), draw(), "{kind:?}");
        }
    }

    #[test]
    fn unique_values_never_repeat_across_threads() {
        let mut w = workload(WorkloadKind::Broadcast);
        let mut seen = std::collections::BTreeSet::new();
        let mut rngs: Vec<ChaCha8Rng> = (0..3).map(ChaCha8Rng::seed_from_u64).collect();
        for i in 0..300 {
            let t = i % 3;
            let r = w.next(t, &mut rngs[t]);
            if r.f.as_str() == "broadcast" {
                assert!(seen.insert(r.body["message"].as_i64().unwrap()));
            }
        }
        assert!(seen.len() > 100);
    }

    #[test]
    fn replies_become_completions() {
        let mut w = workload(WorkloadKind::LinKv);
        let read = Request {
            f: F::Read,
            key: Some(Value::Int(1)),
            value: Value::Nil,
            body: json!({"type": "read", "key": 1}),
            is_final: false,
        };
        assert_eq!(w.complete(Some(0), &read, &json!({"type": "read_ok", "value": 3})), Completion::ok(Value::Int(3)));
        assert_eq!(w.on_error(&read, 20), Completion::ok(Value::Nil), "a missing key reads nil");
        let malformed = w.complete(Some(0), &read, &json!({"type": "read_ok"}));
        assert_eq!(malformed.kind, EventType::Info);
        assert!(malformed.problem.unwrap().contains("value"));
        let cas = Request {
            f: F::Cas,
            key: Some(Value::Int(1)),
            value: Value::Nil,
            body: json!({"type": "cas"}),
            is_final: false,
        };
        assert_eq!(w.on_error(&cas, 22).kind, EventType::Fail);
        assert_eq!(w.on_error(&cas, 0).kind, EventType::Info, "timeouts are indefinite");
        assert_eq!(w.on_error(&cas, 13).kind, EventType::Info);
        assert_eq!(w.on_error(&cas, 1001).kind, EventType::Info, "a node's own codes are indefinite");
        assert_eq!(w.on_error(&cas, 11).kind, EventType::Fail);
        assert_eq!(w.on_error(&read, 11).kind, EventType::Fail);
    }

    #[test]
    fn txn_replies_must_match_their_requests() {
        let w = workload(WorkloadKind::TxnListAppend);
        let req = Request {
            f: F::Txn,
            key: None,
            value: Value::Nil,
            body: json!({"type": "txn", "txn": [["r", 1, null], ["append", 1, 6]]}),
            is_final: false,
        };
        let mut w2 = workload(WorkloadKind::TxnListAppend);
        let ok = w2.complete(None, &req, &json!({"type": "txn_ok", "txn": [["r", 1, [3]], ["append", 1, 6]]}));
        assert_eq!(ok.kind, EventType::Ok);
        for bad in [
            json!([["r", 1, [3]]]),
            json!([["r", 2, [3]], ["append", 1, 6]]),
            json!([["r", 1, 3], ["append", 1, 6]]),
            json!([["r", 1, null], ["append", 1, 7]]),
        ] {
            let c = w2.complete(None, &req, &json!({"type": "txn_ok", "txn": bad}));
            assert_eq!(c.kind, EventType::Info, "{bad}");
            assert!(c.problem.is_some());
        }
        let _ = w;
    }

    #[test]
    fn kafka_consumers_follow_their_polls() {
        let mut w = workload(WorkloadKind::Kafka);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let first = w.next(0, &mut rng);
        assert_eq!(first.f.as_str(), "list_committed_offsets", "a fresh consumer assigns itself first");
        w.complete(Some(0), &first, &json!({"type": "list_committed_offsets_ok", "offsets": {"1": 4}}));
        let poll = kafka_poll(serde_json::Map::new(), false);
        w.complete(Some(0), &poll, &json!({"type": "poll_ok", "msgs": {"0": [[2, 9], [5, 7]]}}));
        assert_eq!(w.kafka[0].positions.get("0"), Some(&6));
        assert_eq!(w.kafka[0].positions.get("1"), Some(&5));
        w.retired(0);
        assert!(!w.kafka[0].assigned);
    }

    #[test]
    fn kafka_final_drains_until_empty() {
        let mut w = workload(WorkloadKind::Kafka);
        assert_eq!(w.final_slots(5), 3, "one drain per key");
        let p = w.final_next(0, None).unwrap();
        assert_eq!(p.body["offsets"], json!({"0": 0}));
        assert!(p.is_final);
        let got = Completion::ok(Value::from(&json!({"0": [[0, 1], [3, 2]]})));
        let p = w.final_next(0, Some(&got)).unwrap();
        assert_eq!(p.body["offsets"], json!({"0": 4}));
        let empty = Completion::ok(Value::from(&json!({})));
        assert!(w.final_next(0, Some(&empty)).is_none());
    }

    #[test]
    fn reads_one_final_per_node() {
        let mut w = workload(WorkloadKind::Broadcast);
        assert_eq!(w.final_slots(4), 4);
        assert!(w.final_next(2, None).unwrap().is_final);
        assert!(w.final_next(2, Some(&Completion::ok(Value::Nil))).is_none());
    }
}
