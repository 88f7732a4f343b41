#!/usr/bin/env python3
"""A txn node that is NOT serializable across nodes: each node applies a
transaction to its own memory and answers at once, then sends its writes to
the other nodes every 100 ms. A transaction on another node that reads
meanwhile misses a write that has already committed, and appends reach the
nodes in different orders."""
from node import Node

n = Node()
kv = {}
pending = []  # writes not yet sent to the other nodes: [f, k, v]


def write(f, key, v):
    if f == "append":
        kv.setdefault(key, []).append(v)
    else:
        kv[key] = v


def txn(m):
    out = []
    for f, k, v in m["body"]["txn"]:
        key = str(k)
        if f == "r":
            cur = kv.get(key)
            out.append([f, k, list(cur) if isinstance(cur, list) else cur])
        else:
            write(f, key, v)
            pending.append([f, key, v])
            out.append([f, k, v])
    n.reply(m, {"type": "txn_ok", "txn": out})


def replicate(m):
    for f, key, v in m["body"]["writes"]:
        write(f, key, v)


def gossip():
    if pending:
        for other in n.ids:
            if other != n.id:
                n.send(other, {"type": "replicate", "writes": list(pending)})
        pending.clear()


n.on("txn", txn)
n.on("replicate", replicate)
n.every(0.1, gossip)
n.run()
