#!/usr/bin/env python3
"""leaktop test target: a heap whose census it knows, for core files.

usage: core_target.py TRUTH HEARTBEAT

Holds N_LEAKY Leaky instances in the global REGISTRY (each with a list),
N_SLOTTED Slotted instances in a tuple, and a worker thread parked in
worker_waits() on an Event; the main thread sleeps in
sleep_until_orphaned() called from wait_for_core().  The truth: the counts
and sys.getsizeof sums of the two classes, the worker's native id, and the
functions each thread sits in (innermost first).  Nothing GC-tracked is
created after the truth is written, so a core taken at any moment holds
what the truth says.

Runs on CPython 3.8 .. 3.15, stdlib only.
"""
import gc
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
N_LEAKY, N_SLOTTED = 5000, 1000


class Leaky(object):
    def __init__(self, i):
        self.ident = i
        self.payload = [i]


class Slotted(object):
    __slots__ = ("a", "b")

    def __init__(self, i):
        self.a = i
        self.b = None


REGISTRY = [Leaky(i) for i in range(N_LEAKY)]
PINNED = tuple(Slotted(i) for i in range(N_SLOTTED))
READY = threading.Event()
NEVER = threading.Event()
WORKER = {}


def worker_waits():
    WORKER["native_id"] = threading.get_native_id() if hasattr(threading, "get_native_id") \
        else None
    READY.set()
    NEVER.wait()


def wait_for_core(hb):
    sleep_until_orphaned(hb)


def main():
    gc.disable()                  # nothing collected from here on
    t = threading.Thread(target=worker_waits, name="worker", daemon=True)
    t.start()
    READY.wait()
    size = sys.getsizeof
    truth = {
        "pid": os.getpid(),
        "types": {
            "__main__.Leaky": {"count": N_LEAKY, "bytes": sum(size(o) for o in REGISTRY)},
            "__main__.Slotted": {"count": N_SLOTTED, "bytes": sum(size(o) for o in PINNED)},
        },
        "worker": {"tid": WORKER["native_id"], "name": "worker",
                   "functions": ["wait", "wait", "worker_waits"]},
        "main": {"functions": ["sleep_until_orphaned", "wait_for_core", "main", "<module>"]},
        "version": "%d.%d.%d" % sys.version_info[:3],
    }
    hb = open_heartbeat(HEARTBEAT)
    publish(TRUTH, truth)
    del truth, t
    wait_for_core(hb)


if __name__ == "__main__":
    main()
