#!/usr/bin/env python3
"""A lin-kv node that answers from its own memory: correct on one node, not
linearizable across several (each node has its own idea of every key)."""
from node import Node, serve_kv

n = Node()
read, write, cas = serve_kv(n, {})
n.on("read", read)
n.on("write", write)
n.on("cas", cas)
n.run()
