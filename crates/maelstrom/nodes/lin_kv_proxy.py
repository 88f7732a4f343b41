#!/usr/bin/env python3
"""A lin-kv node that forwards every request to a service named by its
argument (`lin-kv` by default) and relays the answer. On lin-kv it is
linearizable; on seq-kv its reads can be stale, and it is not."""
import sys
from node import Node

n = Node()
service = sys.argv[1] if len(sys.argv) > 1 else "lin-kv"


def proxy(m):
    body = {k: v for k, v in m["body"].items() if k != "msg_id"}

    def relay(reply):
        out = {k: v for k, v in reply["body"].items() if k not in ("msg_id", "in_reply_to")}
        n.reply(m, out)

    n.rpc(service, body, relay)


for ty in ("read", "write", "cas"):
    n.on(ty, proxy)
n.run()
