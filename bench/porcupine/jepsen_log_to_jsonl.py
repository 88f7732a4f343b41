#!/usr/bin/env python3
"""Convert a Jepsen text log of a cas-register test (the etcd logs in
../shared/fixtures/porcupine/jepsen/) to conch JSON Lines, so the Porcupine
driver (which reads JSON Lines only) can check it.

usage: jepsen_log_to_jsonl.py IN.log OUT.jsonl

Lines `INFO  jepsen.util - PROCESS<TAB>:TYPE<TAB>:F<TAB>VALUE` (tabs or
spaces: etcd_100..102 use spaces); other lines are skipped. VALUE is nil, an integer, `[old new]` (cas) or `:timed-out`
(info). An info completion keeps its invoke's value; line order is kept.
"""
import json
import re
import sys

LINE = re.compile(r"INFO\s+jepsen\.util\s+-\s+(\S+)\s+:(\w+)\s+:(\w+)\s+(.*)$")


def value(text):
    text = text.strip()
    if text == "nil" or text.startswith(":"):
        return None
    if text.startswith("["):
        return [value(t) for t in text[1:-1].split()]
    return int(text)


def main():
    src, dst = sys.argv[1:]
    with open(src) as f, open(dst, "w") as out:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            proc, typ, fn, val = m.groups()
            ev = {"type": typ, "process": int(proc), "f": fn, "value": value(val)}
            out.write(json.dumps(ev, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
