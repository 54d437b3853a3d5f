#!/usr/bin/env python3
"""leaktop test target for the snapshot image: large payloads, churn.

usage: image_target.py TRUTH SCENARIO HEARTBEAT

payload  200,000 Leaky instances, plus large buffers whose payload the copy
         must leave out: a bytes subclass, a bytearray subclass and an
         array of doubles of 40 MiB each (above glibc's largest mmap
         threshold, so each has a mapping of its own whatever was freed).
unmap    20,000 Leaky instances and 32 MiB of anonymous memory, every page
         written; SIGUSR1 unmaps it and then creates TRUTH.unmapped, so a
         test can make memory vanish between leaktop's plan and its copy;
         SIGUSR2 makes 30,000 more Leaky (new arenas) and then writes
         TRUTH.added (how much its RSS grew), so that memory can appear
         there too.

The truth: count and getsizeof of every instance of the scenario's classes,
and the payload bytes.  Then the quiet sleep loop of _common.
"""
import array
import gc
import mmap
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, SCENARIO, HEARTBEAT = sys.argv[1:4]


class Leaky(object):
    def __init__(self, i):
        self.ident = i
        self.payload = [i]


class Blob(bytes):
    pass


class Buffer(bytearray):
    pass


class Doubles(array.array):
    pass


ADDED = []


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def add(_sig, _frame):
    before = rss()
    ADDED.extend(Leaky(i) for i in range(30000))
    with open(TRUTH + ".added", "w") as f:
        f.write("%d\n" % (rss() - before))      # what it made resident


def unmap(_sig, _frame):
    # mmap objects are not GC-tracked: the census of Leaky is undisturbed.
    MAPPED.close()
    with open(TRUTH + ".unmapped", "w"):
        pass


gc.disable()
if SCENARIO == "payload":
    KEEP = [Leaky(i) for i in range(200000)]
    BIG = [Blob(b"\x01" * (40 << 20)), Buffer(b"\x02" * (40 << 20)),
           Doubles("d", bytes(40 << 20))]
    payload = sum(len(b) for b in BIG[:2]) + BIG[2].buffer_info()[1] * BIG[2].itemsize
elif SCENARIO == "unmap":
    KEEP = [Leaky(i) for i in range(20000)]
    BIG = []
    payload = 0
    MAPPED = mmap.mmap(-1, 32 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for off in range(0, 32 << 20, 4096):
        MAPPED[off] = 1
    signal.signal(signal.SIGUSR1, unmap)
    signal.signal(signal.SIGUSR2, add)
else:
    sys.stderr.write("image_target.py: unknown scenario %r\n" % SCENARIO)
    sys.exit(2)

def tally():
    # In a function: a module-level loop variable naming a 3.15 lazy
    # import's proxy would import it.
    types = {}
    for o in gc.get_objects():
        if type(o) in (Leaky, Blob, Buffer, Doubles):
            t = types.setdefault("__main__." + type(o).__qualname__, {"count": 0, "bytes": 0})
            t["count"] += 1
            t["bytes"] += sys.getsizeof(o)
    return types


hb_fd = open_heartbeat(HEARTBEAT)
types = tally()
publish(TRUTH, {"pid": os.getpid(), "version": "%d.%d.%d" % sys.version_info[:3],
                "scenario": SCENARIO, "types": types, "payload_bytes": payload})
sleep_until_orphaned(hb_fd)
