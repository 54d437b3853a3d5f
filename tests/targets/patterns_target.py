#!/usr/bin/env python3
"""leaktop test target: the leak patterns users meet, one holder each.

usage: patterns_target.py TRUTH HEARTBEAT

COPIES (a global list of dict copies), CACHE (a dict of large bytes: the
largest, by construction), SELFREF (a list of self-referencing dicts),
CLOSURES (a list of closures over big lists), READERS (generators suspended
with a file open in each), HANDLES (unclosed files in a list).  The truth
gives, per holder, the sys.getsizeof sum of what it alone was made to hold:
a lower bound of what freeing it frees.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
DIR = tempfile.mkdtemp(prefix="leaktop-patterns-", dir=os.path.dirname(os.path.abspath(TRUTH)))
for k in range(40):
    with open(os.path.join(DIR, "f%d.csv" % k), "w") as f:
        f.write("a,b\n" * 100)


def make_closure(i):
    words = ["closure-%d-word-%d" % (i, k) for k in range(1000)]
    return lambda: len(words)


def reader(path):
    with open(path) as f:
        for line in f:
            yield line


BASE = {"field-%d" % k: k for k in range(20)}
COPIES = [dict(BASE) for _ in range(3000)]
CACHE = {"key-%d" % i: os.urandom(100000) for i in range(100)}
SELFREF = []
for i in range(5000):
    d = {"data": "x" * 200 + str(i)}
    d["self"] = d
    SELFREF.append(d)
CLOSURES = [make_closure(i) for i in range(50)]
READERS = [reader(os.path.join(DIR, "f%d.csv" % k)) for k in range(20)]
for r in READERS:
    next(r)
HANDLES = [open(os.path.join(DIR, "f%d.csv" % k)) for k in range(20, 40)]
shutil.rmtree(DIR)   # the files stay open


def files_size(f):
    return sys.getsizeof(f) + sys.getsizeof(f.buffer) + sys.getsizeof(f.buffer.raw)


payload = {
    "COPIES": sum(sys.getsizeof(d) for d in COPIES),
    "CACHE": sum(sys.getsizeof(v) for v in CACHE.values()),
    "SELFREF": sum(sys.getsizeof(d) + sys.getsizeof(d["data"]) for d in SELFREF),
    "CLOSURES": sum(sys.getsizeof(c.__closure__[0].cell_contents) for c in CLOSURES),
    "READERS": sum(sys.getsizeof(r) for r in READERS),
    "HANDLES": sum(files_size(f) for f in HANDLES),
}
assert all(payload["CACHE"] > 1.5 * v for k, v in payload.items() if k != "CACHE"), payload
hb = open_heartbeat(HEARTBEAT)
publish(TRUTH, {"payload": payload, "largest": "CACHE"})
sleep_until_orphaned(hb)
