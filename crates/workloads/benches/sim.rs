//! Simulator throughput: a 5-node echo protocol (every message is answered
//! by one back to its sender) keeps the network busy; the run is cut at a
//! fixed number of events, and criterion reports deliveries per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use workloads::sim::{run, Ctx, Node, NodeId, Protocol, Request, Response, SimConfig};

struct Echo;
struct EchoNode;

/// Messages bounced back and forth; the payload keeps them non-trivial.
#[derive(Clone, Debug)]
struct Ping {
    hops: u64,
    origin: u32,
}

/// Messages each node starts with per peer: 5 nodes x 4 peers x 8 = 160 in
/// flight, a realistic queue size.
const FANOUT: u64 = 8;

impl Protocol for Echo {
    type Node = EchoNode;
    fn create(&self, _: NodeId, _: usize, _: &()) -> EchoNode {
        EchoNode
    }
}

impl Node for EchoNode {
    type Msg = Ping;
    type Durable = ();
    fn on_start(&mut self, ctx: &mut Ctx<Ping, ()>) {
        let me = ctx.id() as u32;
        for _ in 0..FANOUT {
            ctx.broadcast(Ping { hops: 0, origin: me });
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<Ping, ()>, from: NodeId, msg: Ping) {
        ctx.send(from, Ping { hops: msg.hops + 1, origin: msg.origin });
    }
    fn on_timer(&mut self, _: &mut Ctx<Ping, ()>, _: u64) {}
    fn on_request(&mut self, ctx: &mut Ctx<Ping, ()>, req: Request) {
        ctx.reply(req.id, Response::Ok(req.value));
    }
}

fn config(events: u64) -> SimConfig {
    let mut c =
        SimConfig { seed: 1, nodes: 5, clients: 5, ops: usize::MAX / 2, max_events: events, ..SimConfig::default() };
    // Clients barely register: the bench measures the network.
    c.workload.think_mean_ns = 1_000_000_000;
    c
}

fn bench(c: &mut Criterion) {
    let events = 1_000_000;
    let cfg = config(events);
    let probe = run(&Echo, &cfg);
    assert!(probe.stats.stopped_early.is_some());
    let deliveries = probe.stats.msgs_delivered;
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.throughput(Throughput::Elements(deliveries));
    g.bench_function("echo-5-nodes-deliveries", |b| {
        b.iter(|| black_box(run(&Echo, black_box(&cfg)).stats.msgs_delivered))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
