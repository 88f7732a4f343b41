#!/usr/bin/env python3
"""A txn node (txn-list-append and txn-rw-register) that is strict
serializable: every transaction is forwarded to one leader (the first node
id), which applies it to its memory whole, one at a time, and answers. The
other nodes only relay."""
from node import Node, apply_txn

n = Node()
kv = {}


def txn(m):
    leader = n.ids[0]
    if n.id == leader:
        n.reply(m, {"type": "txn_ok", "txn": apply_txn(kv, m["body"]["txn"])})
        return

    def relay(r):
        body = {k: v for k, v in r["body"].items() if k not in ("msg_id", "in_reply_to")}
        n.reply(m, body)

    n.rpc(leader, {"type": "txn", "txn": m["body"]["txn"]}, relay)


n.on("txn", txn)
n.run()
