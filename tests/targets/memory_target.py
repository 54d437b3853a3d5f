#!/usr/bin/env python3
"""leaktop test target: a known mix of resident memory, then idle.

usage: memory_target.py TRUTH HEARTBEAT

Holds a big bytes object (its own malloc'd mapping), many small objects
(pymalloc's arenas), a file mmap'd and read page by page (resident file
pages), and a few threads parked on an event (their stacks).  The truth
says how big each is; then the main thread sleeps quietly without
allocating, the others wait on the event.
"""
import mmap
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
HERE = os.path.dirname(TRUTH)
BIG = 24 << 20
MAPPED = 8 << 20
THREADS = 3

big = b"m" * BIG
small = [(i, str(i), float(i)) for i in range(100000)]

path = os.path.join(HERE, "mapped.bin")
with open(path, "wb") as f:
    f.write(b"\x01" * MAPPED)
mapped_file = open(path, "rb")
mm = mmap.mmap(mapped_file.fileno(), 0, prot=mmap.PROT_READ)
page = mmap.PAGESIZE
touched = 0
for off in range(0, MAPPED, page):
    touched += mm[off]          # fault every page in: resident, file-backed

park = threading.Event()
started = threading.Barrier(THREADS + 1)


def parked():
    started.wait()
    park.wait()                 # blocked in the kernel until the process ends


threads = [threading.Thread(target=parked, daemon=True) for _ in range(THREADS)]
for t in threads:
    t.start()
started.wait()

truth = {"pid": os.getpid(), "version": "%d.%d.%d" % sys.version_info[:3],
         "big_bytes": BIG, "mapped_bytes": MAPPED, "touched_pages": touched,
         "threads": THREADS, "small": len(small)}
hb = open_heartbeat(HEARTBEAT)
publish(TRUTH, truth)
sleep_until_orphaned(hb)
