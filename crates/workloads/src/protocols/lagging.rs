//! `lagging`: a deliberately broken replicated store, to show the checker
//! catching stale reads. Node 0 is the primary: updates are forwarded to it,
//! applied there and acknowledged at once; it ships the new state of each
//! changed key to the followers only every `lag_ns` (asynchronous
//! replication). Reads are answered by whichever node the client talks to,
//! so a follower answers from stale data: not linearizable, nor even
//! read-your-writes.
//!
//! Parameters: `lag_ns` (default 20000000, i.e. 20 ms).

use super::common::{Key, KvStore, Param, ParamError, Params};
use crate::sim::{Ctx, Node, NodeId, Protocol, Request, RequestId, Response};
use checker::{Value, F};
use std::collections::BTreeMap;

const PRIMARY: NodeId = 0;
const FLUSH_TIMER: u64 = 1;

#[derive(Clone, Debug)]
pub struct Lagging {
    pub lag_ns: u64,
}

impl Lagging {
    pub const PARAMS: &'static [Param] =
        &[Param::ns("lag_ns", 1, 20_000_000, "how often the primary ships changed keys to the followers")];

    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, ParamError> {
        let p = Params::parse("lagging", Self::PARAMS, params)?;
        Ok(Lagging { lag_ns: p.ns("lag_ns") })
    }
}

#[derive(Clone, Debug)]
pub enum LaggingMsg {
    Forward(Request),
    Result {
        id: RequestId,
        response: Response,
    },
    /// New states of keys, each with the primary's version counter.
    Replicate(Vec<(Key, u64, Value)>),
}

/// Kept across crashes: the data with per-key versions.
#[derive(Clone, Debug, Default)]
pub struct Replica {
    pub kv: KvStore,
    pub versions: BTreeMap<Key, u64>,
    pub version: u64,
}

#[derive(Debug)]
pub struct LaggingNode {
    id: NodeId,
    lag_ns: u64,
    /// Keys changed since the last flush (primary only).
    dirty: Vec<Key>,
}

impl Protocol for Lagging {
    type Node = LaggingNode;

    fn create(&self, id: NodeId, _nodes: usize, _durable: &Replica) -> LaggingNode {
        LaggingNode { id, lag_ns: self.lag_ns, dirty: Vec::new() }
    }
}

impl LaggingNode {
    fn update(&mut self, ctx: &mut Ctx<LaggingMsg, Replica>, req: &Request) -> Response {
        let r = ctx.durable_mut();
        let response = r.kv.apply(req);
        if matches!(response, Response::Ok(_)) {
            r.version += 1;
            let v = r.version;
            r.versions.insert(req.key.clone(), v);
            if !self.dirty.contains(&req.key) {
                self.dirty.push(req.key.clone());
            }
        }
        response
    }
}

impl Node for LaggingNode {
    type Msg = LaggingMsg;
    type Durable = Replica;

    fn on_start(&mut self, ctx: &mut Ctx<LaggingMsg, Replica>) {
        if self.id == PRIMARY {
            // After a restart, re-ship everything: followers keep the newest.
            self.dirty = ctx.durable().kv.entries().map(|(k, _)| k.clone()).collect();
            ctx.set_timer(self.lag_ns, FLUSH_TIMER);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<LaggingMsg, Replica>, from: NodeId, msg: LaggingMsg) {
        match msg {
            LaggingMsg::Forward(req) if self.id == PRIMARY => {
                let response = self.update(ctx, &req);
                ctx.send(from, LaggingMsg::Result { id: req.id, response });
            }
            LaggingMsg::Forward(_) => {}
            LaggingMsg::Result { id, response } => ctx.reply(id, response),
            LaggingMsg::Replicate(entries) => {
                let r = ctx.durable_mut();
                for (key, version, value) in entries {
                    if r.versions.get(&key).is_none_or(|&v| v < version) {
                        r.versions.insert(key.clone(), version);
                        r.kv.put(key, value);
                    }
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<LaggingMsg, Replica>, tag: u64) {
        if tag != FLUSH_TIMER {
            return;
        }
        if !self.dirty.is_empty() {
            let r = ctx.durable();
            let entries: Vec<_> = self
                .dirty
                .drain(..)
                .map(|k| {
                    let v = r.versions.get(&k).copied().unwrap_or(0);
                    let value = r.kv.get(&k);
                    (k, v, value)
                })
                .collect();
            ctx.broadcast(LaggingMsg::Replicate(entries));
        }
        ctx.set_timer(self.lag_ns, FLUSH_TIMER);
    }

    fn on_request(&mut self, ctx: &mut Ctx<LaggingMsg, Replica>, req: Request) {
        if req.f == F::Read {
            // The bug: any replica answers reads from its own, possibly
            // stale, copy.
            let response = ctx.durable().kv.read(&req.f, &req.key);
            ctx.reply(req.id, response);
        } else if self.id == PRIMARY {
            let response = self.update(ctx, &req);
            ctx.reply(req.id, response);
        } else {
            ctx.send(PRIMARY, LaggingMsg::Forward(req));
        }
    }

    fn is_leader(&self) -> bool {
        self.id == PRIMARY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params() {
        let p = |k: &str, v: &str| [(k.to_string(), v.to_string())].into_iter().collect::<BTreeMap<_, _>>();
        assert_eq!(Lagging::from_params(&p("lag_ns", "5")).unwrap().lag_ns, 5);
        assert!(Lagging::from_params(&p("lag_ns", "x")).is_err());
        assert!(Lagging::from_params(&p("lag", "5")).is_err());
        assert_eq!(Lagging::from_params(&BTreeMap::new()).unwrap().lag_ns, 20_000_000);
    }
}
