#!/usr/bin/env python3
"""A correct gossip broadcast: every new message goes to the neighbours at
once, every 100 ms each neighbour is sent what it has not acknowledged, so
partitions and lost messages heal, and every 500 ms everything, so a
neighbour that was killed and restarted (with an empty memory) catches up.

With the argument `no-forward` it never tells anyone: the broken node of
Gossip Glomers' first attempt. With `no-retry` it forwards each new message
once and never again: correct on a perfect network, but what a partition
or a lost message cuts off stays lost."""
import sys
from node import Node

n = Node()
forward = "no-forward" not in sys.argv[1:]
retry = "no-retry" not in sys.argv[1:]
messages = set()
neighbours = []
acked = {}  # neighbour -> messages it acknowledged


def topology(m):
    global neighbours
    neighbours = m["body"]["topology"].get(n.id, [])
    for x in neighbours:
        acked.setdefault(x, set())
    n.reply(m, {"type": "topology_ok"})


def gossip_to(dest, msgs):
    def done(reply):
        acked.setdefault(dest, set()).update(reply["body"]["messages"])
    n.rpc(dest, {"type": "gossip", "messages": sorted(msgs)}, done)


def learn(msgs, sender):
    new = [x for x in msgs if x not in messages]
    messages.update(new)
    if forward and new:
        for x in neighbours:
            if x != sender:
                gossip_to(x, new)


def broadcast(m):
    learn([m["body"]["message"]], None)
    n.reply(m, {"type": "broadcast_ok"})


def gossip(m):
    learn(m["body"]["messages"], m["src"])
    acked.setdefault(m["src"], set()).update(m["body"]["messages"])
    n.reply(m, {"type": "gossip_ok", "messages": m["body"]["messages"]})


def anti_entropy():
    if not (forward and retry):
        return
    for x in neighbours:
        missing = messages - acked.get(x, set())
        if missing:
            gossip_to(x, missing)


def full_sync():
    # Acknowledgements go stale when a neighbour restarts: resend everything.
    if forward and retry and messages:
        for x in neighbours:
            gossip_to(x, messages)


n.on("topology", topology)
n.on("broadcast", broadcast)
n.on("gossip", gossip)
n.on("read", lambda m: n.reply(m, {"type": "read_ok", "messages": sorted(messages)}))
n.every(0.1, anti_entropy)
n.every(0.5, full_sync)
n.run()
