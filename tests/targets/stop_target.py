#!/usr/bin/env python3
"""leaktop test target for the stop: what looking costs, and busy threads.

usage: stop_target.py TRUTH SCENARIO HEARTBEAT

idle   3,000 Marker instances; a 1 GiB anonymous mapping it never touches
       (not a page of it resident), and a list whose items pointer and
       length the target rewrote to point there, 2**22 items (a hostile
       heap: a reader that follows it reads 32 MiB of it).  The
       collector is off: the target itself never walks that list.  Then
       the quiet sleep loop.
churn  3,000 Marker instances, and eight threads that allocate and free
       lists, dicts, big strings and fresh arenas' worth of small objects
       as fast as they can, forever.  The main thread sleeps.

The truth: the Markers' count, and for idle the mapping's address and
length and the hostile list's address.
"""
import ctypes
import gc
import mmap
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, SCENARIO, HEARTBEAT = sys.argv[1:4]


class Marker(object):
    def __init__(self, i):
        self.i = i


MARKERS = [Marker(i) for i in range(3000)]


def churn(k):
    keep = []
    i = 0
    while True:
        keep.append([{"k": i, "v": "x" * (i % 5000)} for _ in range(40)])
        if i % 5 == 0:
            keep.append([object() for _ in range(5000)])    # pools, arenas come and go
        if i % 11 == 0:
            keep.append("y" * (200000 + k))                   # a big string: a mapping
        if len(keep) > 16:
            del keep[:8]
        i += 1


if SCENARIO == "idle":
    gc.disable()
    MAPPED = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    BASE = ctypes.addressof(ctypes.c_char.from_buffer(MAPPED))
    HOSTILE = [None] * 4
    # PyListObject: header (ob_refcnt, ob_type), ob_size, ob_item.  A
    # debug build's header is larger: sys.getsizeof(object()) is its size.
    head = sys.getsizeof(object())
    ctypes.c_ssize_t.from_address(id(HOSTILE) + head).value = 1 << 22
    ctypes.c_void_p.from_address(id(HOSTILE) + head + 8).value = BASE
    truth = {"markers": len(MARKERS), "mapping": BASE, "mapping_len": 1 << 30,
             "hostile": id(HOSTILE)}
elif SCENARIO == "churn":
    # Busy as a service, and yielding to the rest of the suite sharing
    # the machine: its snapshots are the same at any priority.
    os.nice(10)
    for k in range(8):
        threading.Thread(target=churn, args=(k,), daemon=True).start()
    time.sleep(0.5)
    truth = {"markers": len(MARKERS)}
else:
    sys.stderr.write("stop_target.py: unknown scenario %r\n" % SCENARIO)
    sys.exit(2)
publish(TRUTH, dict(truth, pid=os.getpid()))
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
