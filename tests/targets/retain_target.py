#!/usr/bin/env python3
"""leaktop test target: holders whose retained sets are known by construction.

usage: retain_target.py TRUTH HEARTBEAT

- REGISTRY: a list of 10,000 Item objects, each owning a dict, a bytes
  payload and a large int (and a str and an int in that dict);
- SHARED_A and SHARED_B: two lists of the same 20,000 Blob objects, so
  that neither holder dominates them;
- CACHE: a dict of 40 keys to 64 KiB bytes objects;
- HANDLER: a closure over a list of 5,000 strings;
- rows: a local of the main loop's running frame (it sleeps in time.sleep),
  a list of 3,000 bytes objects nothing else refers to.

The truth: for each holder, what freeing it would free, computed in-process
as leaktop defines it: the objects reachable from the holder
(gc.get_referents, and the str keys of dicts and the names and constants
of code objects it leaves out) that no root (the modules in sys.modules, the main
thread's frame) reaches without passing through it, with their count and
sys.getsizeof sum.  Every object in them is fresh (ints beyond the small-int
cache, strings built at run time): nothing is also held from C.
"""
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, reach  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
HOLDERS = ("REGISTRY", "SHARED_A", "SHARED_B", "CACHE", "HANDLER")


class Item(object):
    def __init__(self, i):
        self.meta = {"id": i + 100000, "tag": "tag-%d" % i}
        self.payload = os.urandom(48)
        self.big = 10 ** 30 + i


class Blob(object):
    def __init__(self, i):
        self.n = i + 100000


def make_handler():
    words = ["word-%d" % i for i in range(5000)]

    def handler():
        return len(words)
    return handler


REGISTRY = [Item(i) for i in range(10000)]
SHARED_A = [Blob(i) for i in range(20000)]
SHARED_B = list(SHARED_A)
CACHE = {"key-%d" % i: os.urandom(64 * 1024) for i in range(40)}
HANDLER = make_handler()


def truth():
    main_frame = sys._getframe(1)   # the module's frame: the main thread's root
    roots = list(sys.modules.values()) + [main_frame]
    out = {}
    for name in HOLDERS:
        holder = globals()[name]
        mine = reach([holder])
        others = reach(roots, avoid=holder)
        kept = [o for i, o in mine.items() if i not in others]
        types = {}
        for o in kept:
            types[type(o).__name__] = types.get(type(o).__name__, 0) + 1
        out[name] = {"retained_objects": len(kept), "types": types,
                     "retained_bytes": sum(sys.getsizeof(o) for o in kept),
                     "type": "builtins." + type(holder).__name__, "len":
                     len(holder) if isinstance(holder, (list, dict)) else None}
        del mine, others, kept, holder, o
    return out


def serve(hb):
    """The main loop: its frame runs (in time.sleep, a C call) and holds
    rows, a list only this local refers to."""
    rows = [os.urandom(32) for _ in range(3000)]
    kept = [rows] + rows
    T["holders"]["rows"] = {"retained_objects": len(kept),
                            "retained_bytes": sum(sys.getsizeof(o) for o in kept),
                            "type": "builtins.list", "len": len(rows), "types": {}}
    del kept
    publish(TRUTH, T)
    ppid, beat = os.getppid(), 0
    while os.getppid() == ppid:
        beat += 1
        os.pwrite(hb, b"%20d\n" % beat, 0)
        time.sleep(0.1)
    os._exit(0)


gc.collect()
gc.disable()
T = {"holders": truth()}
gc.collect()
serve(open_heartbeat(HEARTBEAT))
