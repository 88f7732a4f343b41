#!/usr/bin/env python3
"""Every workload from one node's memory: correct when it is the only node
(echo, unique-ids, g-set, g-counter, pn-counter, lin-kv, txn-list-append,
txn-rw-register, kafka). Reads without a key return the set with the
argument `set`, else the counter. With the argument `dup-ids` ids repeat;
with `tso` each id is a timestamp from the lin-tso service, so ids are
unique across any number of nodes."""
import sys
from node import Node, apply_txn, serve_kv

n = Node()
dup_ids = "dup-ids" in sys.argv[1:]
tso = "tso" in sys.argv[1:]
as_set = "set" in sys.argv[1:]
counter = [0]
elements = set()
total = [0]
kv = {}
logs = {}  # key -> list of [offset, msg]
committed = {}


def generate(m):
    if tso:
        n.rpc("lin-tso", {"type": "ts"}, lambda r: n.reply(m, {"type": "generate_ok", "id": r["body"]["ts"]}))
        return
    counter[0] += 1
    ident = counter[0] // 2 if dup_ids else "%s-%d" % (n.id, counter[0])
    n.reply(m, {"type": "generate_ok", "id": ident})


def add(m):
    b = m["body"]
    if "element" in b:
        elements.add(b["element"])
    else:
        total[0] += b["delta"]
    n.reply(m, {"type": "add_ok"})


kv_read, write, cas = serve_kv(n, kv)


def read(m):
    if "key" in m["body"]:
        kv_read(m)
    else:
        n.reply(m, {"type": "read_ok", "value": sorted(elements) if as_set else total[0]})


def txn(m):
    n.reply(m, {"type": "txn_ok", "txn": apply_txn(kv, m["body"]["txn"])})


def send(m):
    b = m["body"]
    log = logs.setdefault(b["key"], [])
    offset = len(log)
    log.append([offset, b["msg"]])
    n.reply(m, {"type": "send_ok", "offset": offset})


def poll(m):
    msgs = {}
    for k, start in m["body"]["offsets"].items():
        got = [p for p in logs.get(k, []) if p[0] >= start][:5]
        if got:
            msgs[k] = got
    n.reply(m, {"type": "poll_ok", "msgs": msgs})


def commit(m):
    for k, o in m["body"]["offsets"].items():
        committed[k] = max(o, committed.get(k, o))
    n.reply(m, {"type": "commit_offsets_ok"})


def list_committed(m):
    keys = m["body"]["keys"]
    n.reply(m, {"type": "list_committed_offsets_ok", "offsets": {k: committed[k] for k in keys if k in committed}})


for ty, fn in [("echo", lambda m: n.reply(m, {"type": "echo_ok", "echo": m["body"]["echo"]})), ("generate", generate),
               ("add", add), ("read", read), ("write", write), ("cas", cas), ("txn", txn), ("send", send),
               ("poll", poll), ("commit_offsets", commit), ("list_committed_offsets", list_committed)]:
    n.on(ty, fn)
n.run()
