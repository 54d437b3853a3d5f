#!/usr/bin/env python3
"""leaktop test target: build a scenario, write the census truth, sleep.

usage: census_target.py TRUTH SCENARIO [HEARTBEAT]

SCENARIO is one of classes, cycles, generators, big, idle.  The truth is
written to TRUTH.tmp and renamed to TRUTH (the ready signal).  The sleep
loop then writes a counter to HEARTBEAT every 0.1 s, exits when the parent
changes, and creates no GC-tracked objects (ints and bytes only).

Runs on CPython 3.8 .. 3.14, stdlib only.
"""
import gc
import sys

if sys.argv[2:3] == ["cycles"]:
    gc.disable()                  # the cycles must never be collected

import json
import os
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import sleep_until_orphaned  # noqa: E402

TRUTH = sys.argv[1]
SCENARIO = sys.argv[2]
HEARTBEAT = sys.argv[3] if len(sys.argv) > 3 else None


def allow_any_tracer():
    # Under Yama ptrace_scope=1 only ancestors may trace us; leaktop is our
    # sibling.  Root (CAP_SYS_PTRACE) is exempt, so only do this otherwise.
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = f.read().strip()
    except OSError:
        return
    if scope != "1" or os.geteuid() == 0:
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PTRACER = 0x59616D61
        libc.prctl(PR_SET_PTRACER, ctypes.c_ulong(-1), 0, 0, 0)
    except Exception:
        pass


allow_any_tracer()

# leaktop counts the gc.freeze() permanent generation too, which
# gc.get_objects() does not return (3.12 even freezes ~375 tuples at
# startup).  Make it known: unfreeze, remember everything, freeze it all.
# The permanent generation is then exactly FROZEN's items plus FROZEN
# itself, and every census exercises the permanent-generation walk.
gc.unfreeze()
FROZEN = gc.get_objects()
gc.freeze()


class Leaky(object):
    def __init__(self, i):
        self.ident = i
        self.payload = [i]


class Slotted(object):
    __slots__ = ("a", "b")

    def __init__(self, i):
        self.a = i
        self.b = None


class Node(object):
    def __init__(self):
        self.next = None


class Small(object):
    __slots__ = ("v",)            # a slot keeps the class GC-tracked


def counting(n):
    for i in range(n):
        yield i


KEEP = None
EXPECT = {}
if SCENARIO == "classes":
    KEEP = ([Leaky(i) for i in range(50000)],
            [Slotted(i) for i in range(1000)])
    EXPECT = {"__main__.Leaky": 50000, "__main__.Slotted": 1000}
elif SCENARIO == "cycles":
    for _i in range(200):
        a = Node()
        b = Node()
        c = Node()
        a.next = b
        b.next = c
        c.next = a
    del a, b, c, _i
    EXPECT = {"__main__.Node": 600}
elif SCENARIO == "generators":
    KEEP = [counting(10) for _i in range(5000)]
    for g in KEEP:
        next(g)
    del g
    EXPECT = {"builtins.generator": 5000}     # at least; compare with truth
elif SCENARIO == "big":
    KEEP = [Small() for _i in range(1000000)]
    EXPECT = {"__main__.Small": 1000000}
elif SCENARIO == "collecting":
    # A heap big enough that each full collection takes a while; a thread
    # started after the truth collects it over and over.
    KEEP = ([Leaky(i) for i in range(50000)], [[i] for i in range(200000)])
    EXPECT = {"__main__.Leaky": 50000}
elif SCENARIO == "idle":
    pass
else:
    sys.stderr.write("census_target.py: unknown scenario %r\n" % SCENARIO)
    sys.exit(2)

# Open the heartbeat before counting so the census does not change later.
hb_fd = -1
if HEARTBEAT:
    hb_fd = os.open(HEARTBEAT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def type_name(t):
    try:
        mod = t.__module__
    except Exception:
        mod = "?"
    try:
        qual = t.__qualname__
    except Exception:
        qual = getattr(t, "__name__", "?")
    return "%s.%s" % (mod, qual)


# From here on nothing may be collected automatically, so the state the
# truth describes is the state leaktop sees.  (No gc.collect(): objects stay
# spread over the generations the way the scenario left them.)
gc.disable()



def tally():
    """Count and size what gc.get_objects() and the frozen generation hold.
    A function, not module code: on 3.15, naming a lazy import's proxy in
    a global (the loop variable at module level) imports it, which would
    change the heap while it is being counted."""
    # The tallies map str -> int, so CPython leaves these dicts untracked
    # and they do not disturb the census.
    counts = {}
    sizes = {}
    names = {}                    # id(type) -> name (int keys: untracked)
    sizeof_errors = 0
    getsizeof = sys.getsizeof

    if SCENARIO == "big":
        # A million getsizeof() calls are slow on old interpreters; the
        # kill test only needs the headline numbers.
        objs = gc.get_objects() + FROZEN
        objs.append(FROZEN)
        total_objects = len(objs)
        n_small = 0
        for o in objs:
            if type(o) is Small:
                n_small += 1
        del objs, o
        counts["__main__.Small"] = n_small
        sizes["__main__.Small"] = n_small * getsizeof(KEEP[0])
        return counts, sizes, total_objects, None, 0
    objs = gc.get_objects() + FROZEN      # generations 0-2 + permanent
    objs.append(FROZEN)
    for o in objs:
        t = type(o)
        k = id(t)
        name = names.get(k)
        if name is None:
            name = type_name(t)
            names[k] = name
        try:
            sz = getsizeof(o)
        except Exception:
            sz = 0
            sizeof_errors += 1
        counts[name] = counts.get(name, 0) + 1
        sizes[name] = sizes.get(name, 0) + sz
    total_objects = len(objs)
    del objs, o, t
    return counts, sizes, total_objects, sum(sizes.values()), sizeof_errors


counts, sizes, total_objects, total_bytes, sizeof_errors = tally()

truth = {
    "pid": os.getpid(),
    "version": "%d.%d.%d" % sys.version_info[:3],
    "version_full": sys.version.split()[0],
    "executable": sys.executable,
    "objects": total_objects,
    "bytes": total_bytes,
    "sizeof_errors": sizeof_errors,
    "freeze_count": gc.get_freeze_count(),    # must be len(FROZEN) + 1
    "frozen": len(FROZEN) + 1,
    "scenario": {"name": SCENARIO, "expect": EXPECT},
    "types": {n: {"count": counts[n], "bytes": sizes[n]} for n in counts},
}
data = json.dumps(truth, sort_keys=True).encode("utf-8")
tmp = TRUTH + ".tmp"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
view = 0
while view < len(data):
    view += os.write(fd, data[view:])
os.close(fd)
os.rename(tmp, TRUTH)
del truth, data, counts, sizes

if SCENARIO == "collecting":
    import threading

    def churn():
        while True:
            gc.collect()
            time.sleep(0.005)

    threading.Thread(target=churn, daemon=True).start()

sleep_until_orphaned(hb_fd)
