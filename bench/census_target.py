"""Benchmark target: N live instances of a small class.

usage: census_target.py RESULT N [THREADS]
Measures, inside itself, what leaktop replaces: gc.get_objects() plus a
count by module.qualname (best of 3), writes RESULT (the ready signal), then
sleeps while a watchdog thread records how long the process is kept from
running (the pause as the target itself sees it) into RESULT.gaps.  With
THREADS, that many more threads wait on an event and one more spins: a
stop must stop them all.
"""
import collections
import gc
import json
import os
import sys
import threading
import time


class Small:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a
        self.b = None


def census():
    objs = gc.get_objects()
    counts = collections.Counter(
        "%s.%s" % (type(o).__module__, type(o).__qualname__) for o in objs)
    n = len(objs)
    del objs
    return n, counts


def watchdog(path):
    # Sleep 1 ms at a time; a gap much longer than that is time the process
    # was stopped.  Written as plain text so no GC objects are made.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    last = time.monotonic()
    while True:
        time.sleep(0.001)
        now = time.monotonic()
        gap = now - last
        last = now
        if gap > 0.005:
            os.write(fd, b"%d\n" % int(gap * 1e6))


def spin():
    x = 0
    while True:
        x += 1


def main():
    result, n = sys.argv[1], int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    keep = [Small(i) for i in range(n)]
    idle = threading.Event()
    for _ in range(threads):
        threading.Thread(target=idle.wait, daemon=True).start()
    if threads:
        threading.Thread(target=spin, daemon=True).start()
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        total, counts = census()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    del counts
    gc.collect()
    with open(result + ".tmp", "w") as f:
        debug = "d" if hasattr(sys, "gettotalrefcount") else ""   # a Py_DEBUG build
        json.dump({"pid": os.getpid(), "version": "%d.%d.%d%s" % (sys.version_info[:3] + (debug,)),
                   "objects": total, "inprocess_us": int(best * 1e6), "instances": len(keep)}, f)
    os.rename(result + ".tmp", result)
    threading.Thread(target=watchdog, args=(result + ".gaps",), daemon=True).start()
    ppid = os.getppid()
    while os.getppid() == ppid:
        time.sleep(0.2)


main()
