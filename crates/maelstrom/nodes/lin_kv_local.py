#!/usr/bin/env python3
"""A lin-kv node that answers from its own memory: correct on one node, not
linearizable across several (each node has its own idea of every key)."""
from node import Node

n = Node()
data = {}


def read(m):
    k = str(m["body"]["key"])
    if k in data:
        n.reply(m, {"type": "read_ok", "value": data[k]})
    else:
        n.error(m, 20, "key does not exist")


def write(m):
    data[str(m["body"]["key"])] = m["body"]["value"]
    n.reply(m, {"type": "write_ok"})


def cas(m):
    b = m["body"]
    k = str(b["key"])
    if k not in data:
        n.error(m, 20, "key does not exist")
    elif data[k] != b["from"]:
        n.error(m, 22, "expected %s, found %s" % (b["from"], data[k]))
    else:
        data[k] = b["to"]
        n.reply(m, {"type": "cas_ok"})


n.on("read", read)
n.on("write", write)
n.on("cas", cas)
n.run()
