#!/usr/bin/env python3
"""leaktop test target: objects held from each kind of root, known by
construction, for `dump --format heapsnapshot`.

usage: heapsnap_target.py TRUTH HEARTBEAT

- a module global: registry.items["leaks"], a list of 3,000 Leaky objects
  (a class instance's attribute holding a dict holding the list), and
  nothing else refers to them;
- a thread: the main loop's running function keeps `kept`, a list of 40
  Local objects, in a local variable;
- another thread, "worker": its running function keeps `mine`, a list of 7
  PerThread objects;
- C: one HeldFromC object, registered with atexit, which keeps it in C
  memory where no Python object refers to it.

The truth: the counts, sys.getsizeof of a Leaky, the threads' ids and
names, and the names on the way to the Leaky objects.
"""
import atexit
import gc
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
N, LOCALS = 3000, 40


class Leaky(object):
    def __init__(self, i):
        self.n = i + 100000


class Registry(object):
    def __init__(self):
        self.items = {}


class Local(object):
    pass


class PerThread(object):
    pass


class HeldFromC(object):
    def __call__(self):
        pass


registry = Registry()
registry.items["leaks"] = [Leaky(i) for i in range(N)]
atexit.register(HeldFromC())


def tid():
    return threading.get_native_id() if hasattr(threading, "get_native_id") else None


def work(started, out):
    """The worker: sleeps in time.sleep, holding mine."""
    mine = [PerThread() for _ in range(7)]
    out.update({"class": "__main__.PerThread", "count": len(mine), "variable": "mine",
                "function": "work", "tid": tid(), "name": threading.current_thread().name})
    started.set()
    while True:
        time.sleep(0.1)


def serve(hb):
    """The main loop: its frame runs (in time.sleep) and holds kept."""
    kept = [Local() for _ in range(LOCALS)]
    started, worker = threading.Event(), {}
    threading.Thread(target=work, args=(started, worker), name="worker", daemon=True).start()
    started.wait()
    del started
    publish(TRUTH, {
        "class": "__main__.Leaky", "count": N,
        "size": sys.getsizeof(registry.items["leaks"][0]),
        "path": ["__main__", "registry", "items", "leaks"],
        "local": {"class": "__main__.Local", "count": len(kept), "variable": "kept",
                  "function": "serve"},
        "held_from_c": "__main__.HeldFromC",
        "thread": {"tid": tid(), "name": threading.current_thread().name},
        "worker": worker,
    })
    ppid, beat = os.getppid(), 0
    while os.getppid() == ppid:
        beat += 1
        os.pwrite(hb, b"%20d\n" % beat, 0)
        time.sleep(0.1)
    os._exit(0)


gc.collect()
gc.disable()
serve(open_heartbeat(HEARTBEAT))
