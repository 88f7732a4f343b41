#!/usr/bin/env python3
"""A txn node that is NOT serializable across nodes: each node applies a
transaction to its own memory and answers at once, then sends its writes to
the other nodes every 100 ms. A transaction on another node that reads
meanwhile misses a write that has already committed, and appends reach the
nodes in different orders."""
from node import Node, apply_txn

n = Node()
kv = {}
pending = []  # writes not yet sent to the other nodes: [f, k, v]


def txn(m):
    out = apply_txn(kv, m["body"]["txn"], lambda f, key, v: pending.append([f, key, v]))
    n.reply(m, {"type": "txn_ok", "txn": out})


def replicate(m):
    apply_txn(kv, m["body"]["writes"])


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
