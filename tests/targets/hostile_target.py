#!/usr/bin/env python3
"""leaktop test target: a heap with damage in it.

usage: hostile_target.py TRUTH MODE HEARTBEAT

Builds 20,000 Leaky objects, then (with the GC disabled, so the damage is
never touched by the target itself) breaks one thing with ctypes:
  prev      the GC list back-link of one Leaky points elsewhere
  gcnull    the GC list forward link of one Leaky is NULL (mid-list)
  objects   three objects lie, each its own way: a type pointer points at
            garbage, a dict's keys pointer at unmapped memory, a str
            claims an absurd length
  tsloop    the main thread's state links to itself as the next thread
  frameloop the innermost frame of a 50-deep recursion is its own caller
  bothloops tsloop and frameloop together
  counts    a str's reference count and a tuple's length are -2**63 (both
            were undefined arithmetic in leaktop, found by its fuzz harness)
  multiply  2,000 lists each claim the 20,000 items of one big list:
            40 million references, more than the heap has words
The field offsets of thread states and frames are found, not assumed: the
target scans its own structures for the link it knows the value of.
It records what it damaged ("damaged": false when it could not) and
sleeps without allocating tracked objects; it is killed, never exits
normally, so CPython never trips over the damage.
"""
import ctypes
import gc
import os
import sys
import threading

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
VICTIM_COUNTS = ["c" * 50, tuple(range(1000, 1003))]
WORD = ctypes.sizeof(ctypes.c_void_p)


def poke(addr, value):
    ctypes.c_uint64.from_address(addr).value = value


def peek(addr):
    return ctypes.c_uint64.from_address(addr).value


def find_link(struct_addr, value, words=16):
    """Offset of the word at struct_addr that holds value, or None."""
    for k in range(words):
        if peek(struct_addr + k * WORD) == value:
            return k * WORD
    return None


def thread_state():
    get = ctypes.pythonapi.PyThreadState_Get
    get.restype = ctypes.c_void_p
    return get()


def loop_thread_list():
    """A second thread's state links to the main one (threads are pushed
    at the head); make the main thread's link point at itself."""
    main_ts, got, hold = thread_state(), [], threading.Event()

    def worker():
        got.append(thread_state())
        hold.wait()

    threading.Thread(target=worker, name="worker", daemon=True).start()
    while not got:
        pass
    off = find_link(got[0], main_ts)
    if off is None:
        return False
    poke(main_ts + off, main_ts)
    return True


def frame_struct(f):
    """The structure the interpreter chains running frames with: the frame
    object before 3.11, its interpreter frame (f_frame, after f_back) since."""
    if sys.version_info >= (3, 11):
        return peek(id(f) + 3 * WORD)
    return id(f)


def loop_innermost_frame():
    f = sys._getframe(1)
    me, up = frame_struct(f), frame_struct(f.f_back)
    off = find_link(me, up)
    if off is None:
        return False
    poke(me + off, me)
    return True


def deep(n, then):
    if n:
        return deep(n - 1, then)
    return then()


def sleep_damaged():
    """At the bottom of the recursion: damage this very frame, publish,
    sleep here for good."""
    damaged = loop_innermost_frame()
    if MODE == "bothloops":
        damaged = damaged and loop_thread_list()
    publish(TRUTH, {"pid": os.getpid(), "mode": MODE, "damaged": damaged})
    sleep_until_orphaned(open_heartbeat(HEARTBEAT))


victim = KEEP[10000]
if MODE in ("frameloop", "bothloops"):
    deep(50, sleep_damaged)
damaged = True
if MODE == "prev":
    poke(id(victim) - WORD, 0x1000)              # PyGC_Head._gc_prev
elif MODE == "gcnull":
    poke(id(victim) - 2 * WORD, 0)               # PyGC_Head._gc_next
elif MODE == "objects":
    poke(id(victim) + WORD, 0x10)                # ob_type
    poke(id(VICTIM_DICT) + 4 * WORD, 0x10)       # ma_keys (after refcnt, type, used, version)
    poke(id(VICTIM_STR) + 2 * WORD, 1 << 60)     # PyASCIIObject.length
elif MODE == "counts":
    poke(id(VICTIM_COUNTS[0]), 1 << 63)                   # ob_refcnt
    poke(id(VICTIM_COUNTS[1]) + 2 * WORD, 1 << 63)        # ob_size
elif MODE == "tsloop":
    damaged = loop_thread_list()
elif MODE == "multiply":
    SHARED = [[i] for i in range(2000)]
    for small in SHARED:
        poke(id(small) + 3 * WORD, peek(id(KEEP) + 3 * WORD))   # ob_item
        poke(id(small) + 2 * WORD, len(KEEP))                    # ob_size
        poke(id(small) + 4 * WORD, len(KEEP))                    # allocated
else:
    sys.exit("unknown mode %r" % MODE)

publish(TRUTH, {"pid": os.getpid(), "mode": MODE, "damaged": damaged})
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
