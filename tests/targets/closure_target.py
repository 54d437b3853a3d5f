#!/usr/bin/env python3
"""leaktop test target: objects the GC does not track.

usage: closure_target.py TRUTH HEARTBEAT

Holds 64 bytearrays of 64 KiB, 100,000 distinct strings and 100,000
distinct ints (beyond the small-int cache) in global lists, a dict of
floats, tuples of atoms (which the GC untracks) and a few big strings
(allocated outside pymalloc).  The truth is the closure over
gc.get_referents() from every tracked object (gc.get_objects() and the
frozen generation), like a tool inside the process would compute it: the
untracked objects per type with their count and sys.getsizeof sum, and the
exact numbers the scenario created.
"""
import gc
import io
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]

gc.disable()
BUFFERS = [bytearray(64 * 1024) for _ in range(64)]
STRINGS = ["item-%06d-%s" % (i, "x" * (i % 17)) for i in range(100000)]
INTS = [10 ** 6 + i for i in range(100000)]
FLOATS = {"f%d" % i: i / 7.0 for i in range(5000)}
TUPLES = [(i, "t%d" % i) for i in range(3000)]
BIG = ["B" * (4096 + i) for i in range(32)]
# Strings held from C: itertools.repeat keeps its element in a C field
# leaktop has no layout for; the conservative scan of its body finds them.
C_HELD = [itertools.repeat("c-held-%06d" % i) for i in range(10000)]
# Text files open for reading: each TextIOWrapper holds a newline decoder,
# which 3.8-3.11 do not track (only the wrapper's references reach it).
TEXT = [open(os.path.abspath(__file__)) for _ in range(7)]
gc.collect()          # untracks the tuples of atoms, as a running service would
for t in TUPLES[:1]:
    assert not gc.is_tracked(t)


def closure():
    gc.unfreeze()
    start = gc.get_objects()
    gc.freeze()
    seen = set()
    stack = []
    counts = {}
    for o in start:
        seen.add(id(o))
    stack.extend(start)
    for o in start:
        pass
    while stack:
        o = stack.pop()
        for r in gc.get_referents(o):
            if id(r) in seen:
                continue
            seen.add(id(r))
            stack.append(r)
            if not gc.is_tracked(r):
                t = type(r)
                name = "%s.%s" % (t.__module__, t.__qualname__)
                c = counts.setdefault(name, [0, 0])
                c[0] += 1
                c[1] += sys.getsizeof(r)
    return counts


def nldecoders():
    """The newline decoders the text streams hold (gc.get_referents sees
    them whether the GC tracks them or not)."""
    return len({id(r) for w in gc.get_objects() if isinstance(w, io.TextIOWrapper)
                for r in gc.get_referents(w) if type(r).__name__ == "IncrementalNewlineDecoder"})


NLDECODERS = nldecoders()   # before closure() freezes the tracked objects
untracked = closure()
truth = {
    "pid": os.getpid(), "version": "%d.%d.%d" % sys.version_info[:3],
    "untracked": {k: {"count": v[0], "bytes": v[1]} for k, v in untracked.items()},
    "scenario": {
        "builtins.bytearray": {"count": 64, "bytes": sum(sys.getsizeof(b) for b in BUFFERS)},
        "strings": {"count": 100000, "bytes": sum(sys.getsizeof(s) for s in STRINGS)},
        "ints": {"count": 100000, "bytes": sum(sys.getsizeof(i) for i in INTS)},
        "c_held_strings": 10000,
        "nldecoders": NLDECODERS,
    },
}
publish(TRUTH, truth)
del truth, untracked
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
