#!/usr/bin/env python3
"""Plant one stale read in a conch JSON Lines register history.

usage: plant_stale_read.py IN.jsonl OUT.jsonl [--at FRACTION]

Finds the ok read whose completion line is nearest FRACTION of the file
(default 0.5) for which the read's key has two ok writes w1 -> w2 such that w1
completed before w2 was invoked and w2 completed before the read was invoked,
and makes the read return w1's value. With unique written values (conch gen)
that read cannot be linearized: it must come after w2, which overwrote the
only write of the value it returns. Everything else is copied byte for byte.
Prints the line changed.
"""
import json
import sys


def main():
    args = sys.argv[1:]
    frac = 0.5
    if "--at" in args:
        i = args.index("--at")
        frac = float(args[i + 1])
        del args[i:i + 2]
    src, dst = args
    with open(src, "rb") as f:
        lines = f.readlines()
    target = int(len(lines) * frac)

    # per key: ok writes as (invoke line, completion line, value), in completion order
    writes = {}
    open_ops = {}
    candidates = []  # (distance, completion line, stale value)
    for n, raw in enumerate(lines):
        ev = json.loads(raw)
        proc = json.dumps(ev.get("process"))
        if ev.get("process") == "nemesis":
            continue
        key = json.dumps(ev.get("key"))
        if ev["type"] == "invoke":
            open_ops[proc] = (n, ev)
            continue
        inv_line, inv = open_ops.pop(proc)
        if ev["type"] != "ok":
            continue
        if inv["f"] == "write":
            writes.setdefault(key, []).append((inv_line, n, inv["value"]))
        elif inv["f"] == "read" and abs(n - target) < 2000:
            # latest write w2 completed before this read's invoke, and a w1
            # completed before w2's invoke
            ws = [w for w in writes.get(key, []) if w[1] < inv_line]
            for j in range(len(ws) - 1, 0, -1):
                w2 = ws[j]
                older = [w for w in ws[:j] if w[1] < w2[0] and w[2] != ev["value"]]
                if older:
                    candidates.append((abs(n - target), n, older[-1][2]))
                    break
    if not candidates:
        sys.exit("no read fits; try another --at")
    _, line_no, stale = min(candidates)
    ev = json.loads(lines[line_no])
    before = lines[line_no].decode().rstrip("\n")
    ev["value"] = stale
    lines[line_no] = (json.dumps(ev, separators=(",", ":")) + "\n").encode()
    with open(dst, "wb") as f:
        f.writelines(lines)
    print(f"line {line_no + 1}: {before}")
    print(f"     now: {lines[line_no].decode().rstrip()}")


if __name__ == "__main__":
    main()
