#!/usr/bin/env python3
"""leaktop test target: a heap with damage in it.

usage: hostile_target.py TRUTH MODE HEARTBEAT

Builds 20,000 Leaky objects, then (with the GC disabled, so the damage is
never touched by the target itself) breaks one thing with ctypes:
  prev     the GC list back-link of one Leaky points elsewhere
  type     one object's type pointer points at garbage
  dictkeys a dict's keys pointer points at unmapped memory
  strlen   a str claims an absurd length
The target then sleeps without allocating tracked objects; it is killed,
never exits normally, so CPython never trips over the damage.
"""
import ctypes
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, MODE, HEARTBEAT = sys.argv[1], sys.argv[2], sys.argv[-1]
gc.disable()


class Leaky(object):
    def __init__(self, i):
        self.i = i


KEEP = [Leaky(i) for i in range(20000)]
VICTIM_DICT = {"k%d" % i: [i] for i in range(10)}
VICTIM_STR = "s" * 100
WORD = ctypes.sizeof(ctypes.c_void_p)


def poke(addr, value):
    ctypes.c_uint64.from_address(addr).value = value


victim = KEEP[10000]
if MODE == "prev":
    poke(id(victim) - WORD, 0x1000)              # PyGC_Head._gc_prev
elif MODE == "type":
    poke(id(victim) + WORD, 0x10)                # ob_type
elif MODE == "dictkeys":
    poke(id(VICTIM_DICT) + 4 * WORD, 0x10)       # ma_keys (after refcnt, type, used, version)
elif MODE == "strlen":
    poke(id(VICTIM_STR) + 2 * WORD, 1 << 60)     # PyASCIIObject.length
else:
    sys.exit("unknown mode %r" % MODE)

publish(TRUTH, {"pid": os.getpid(), "mode": MODE})
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
