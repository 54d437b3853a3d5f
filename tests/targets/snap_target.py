#!/usr/bin/env python3
"""leaktop test target for snapshot files and diff: a heap that grows on cue.

usage: snap_target.py TRUTH HEARTBEAT

Holds FIRST Item objects in the module-level list STORE and FILES open
files in HANDLES, with a second thread ("snap-worker") asleep in
worker_loop while the main thread sleeps in main.  When the file
TRUTH.grow appears it adds GROW more Items to STORE and opens MORE_FILES
more files, then publishes TRUTH.2, the truth after the growth.  Each
truth counts the Items (gc), their bytes (sys.getsizeof), STORE's length,
the descriptors (/proc/self/fd) and the threads' native ids.
"""
import gc
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import fdset, open_heartbeat, publish  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
FIRST, GROW, FILES, MORE_FILES = 3000, 1700, 3, 4


class Item(object):
    __slots__ = ("n", "tag")

    def __init__(self, n):
        self.n = n
        self.tag = None


STORE = []
HANDLES = []
DATA = os.path.join(os.path.dirname(os.path.abspath(TRUTH)), "data")


def add(items, files):
    STORE.extend(Item(len(STORE) + k) for k in range(items))
    for _ in range(files):
        HANDLES.append(open(os.path.join(DATA, "h%d.log" % len(HANDLES)), "w"))


def truth(worker):
    gc.collect()
    items = [o for o in gc.get_objects() if type(o) is Item]
    return {"items": len(items), "item_bytes": sum(sys.getsizeof(o) for o in items),
            "store_len": len(STORE), "fds": len(fdset()), "log_fds": len(HANDLES),
            "main_tid": threading.get_native_id() if hasattr(threading, "get_native_id") else 0,
            "worker_tid": worker.native_id if hasattr(worker, "native_id") else 0,
            "worker_name": worker.name, "grow": GROW, "more_files": MORE_FILES}


def worker_loop(ready):
    ready.set()
    while True:
        time.sleep(0.1)


def main(hb):
    os.makedirs(DATA, exist_ok=True)
    add(FIRST, FILES)
    ready = threading.Event()
    worker = threading.Thread(target=worker_loop, args=(ready,), name="snap-worker", daemon=True)
    worker.start()
    ready.wait()
    publish(TRUTH, truth(worker))
    ppid, beat, grown = os.getppid(), 0, False
    while os.getppid() == ppid:
        if not grown and os.path.exists(TRUTH + ".grow"):
            add(GROW, MORE_FILES)
            grown = True
            publish(TRUTH + ".2", truth(worker))
        beat += 1
        os.pwrite(hb, b"%20d\n" % beat, 0)
        time.sleep(0.1)
    os._exit(0)


main(open_heartbeat(HEARTBEAT))
