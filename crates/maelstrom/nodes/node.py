"""A small Maelstrom node library in plain Python 3 (no packages), for conch's
own tests: reads messages from stdin, dispatches them by type, batches its
output, and runs periodic tasks. Not a product: just enough to write the
test nodes in a few lines each."""

import json
import os
import select
import sys
import time


class Node:
    def __init__(self):
        self.id = None
        self.ids = []
        self.handlers = {}
        self.callbacks = {}
        self.next_msg_id = 0
        self.out = []
        self.tasks = []  # [interval_s, next_due, fn]

    def log(self, *parts):
        print(self.id or "?", *parts, file=sys.stderr, flush=True)

    def on(self, ty, fn):
        self.handlers[ty] = fn

    def every(self, interval_s, fn):
        self.tasks.append([interval_s, time.monotonic() + interval_s, fn])

    def send(self, dest, body):
        self.out.append(json.dumps({"src": self.id, "dest": dest, "body": body}))

    def reply(self, req, body):
        self.next_msg_id += 1
        body["msg_id"] = self.next_msg_id
        body["in_reply_to"] = req["body"].get("msg_id")
        self.send(req["src"], body)

    def rpc(self, dest, body, callback):
        self.next_msg_id += 1
        body["msg_id"] = self.next_msg_id
        self.callbacks[self.next_msg_id] = callback
        self.send(dest, body)

    def error(self, req, code, text):
        self.reply(req, {"type": "error", "code": code, "text": text})

    def flush(self):
        if self.out:
            sys.stdout.write("\n".join(self.out) + "\n")
            sys.stdout.flush()
            self.out = []

    def handle(self, msg):
        body = msg["body"]
        ty = body.get("type")
        if ty == "init":
            self.id = body["node_id"]
            self.ids = body["node_ids"]
            self.reply(msg, {"type": "init_ok"})
            if "init" in self.handlers:
                self.handlers["init"](msg)
            return
        cb = self.callbacks.pop(body.get("in_reply_to"), None)
        if cb is not None:
            cb(msg)
        elif ty in self.handlers:
            self.handlers[ty](msg)
        elif "in_reply_to" not in body:
            self.error(msg, 10, "unsupported: %s" % ty)

    def run(self):
        fd = sys.stdin.fileno()
        buf = b""
        while True:
            now = time.monotonic()
            wait = min([t[1] for t in self.tasks], default=now + 1.0) - now
            ready, _, _ = select.select([fd], [], [], max(wait, 0.0))
            if ready:
                data = os.read(fd, 1 << 16)
                if not data:
                    break
                buf += data
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.strip():
                        self.handle(json.loads(line))
            now = time.monotonic()
            for t in self.tasks:
                if self.id is not None and now >= t[1]:
                    t[1] = now + t[0]
                    t[2]()
            self.flush()
        self.flush()


def apply_txn(kv, ops, on_write=None):
    """Applies a Maelstrom txn's micro-ops ([f, k, v]: "r", "append", "w")
    to the dict `kv` in order and returns them with the reads filled in;
    `on_write(f, key, v)` is told of each write."""
    out = []
    for f, k, v in ops:
        key = str(k)
        if f == "r":
            cur = kv.get(key)
            out.append([f, k, list(cur) if isinstance(cur, list) else cur])
            continue
        if f == "append":
            kv.setdefault(key, []).append(v)
        else:
            kv[key] = v
        if on_write is not None:
            on_write(f, key, v)
        out.append([f, k, v])
    return out


def serve_kv(n, kv):
    """Returns handlers (read, write, cas) answering lin-kv requests from the
    dict `kv` in this node's memory: error 20 for a missing key, 22 when a
    cas finds another value."""

    def read(m):
        k = str(m["body"]["key"])
        if k in kv:
            n.reply(m, {"type": "read_ok", "value": kv[k]})
        else:
            n.error(m, 20, "key does not exist")

    def write(m):
        kv[str(m["body"]["key"])] = m["body"]["value"]
        n.reply(m, {"type": "write_ok"})

    def cas(m):
        b = m["body"]
        k = str(b["key"])
        if k not in kv:
            n.error(m, 20, "key does not exist")
        elif kv[k] != b["from"]:
            n.error(m, 22, "expected %s, found %s" % (b["from"], kv[k]))
        else:
            kv[k] = b["to"]
            n.reply(m, {"type": "cas_ok"})

    return read, write, cas
