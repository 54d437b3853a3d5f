"""Shared by the test targets: publishing the truth, what a holder alone
reaches (reach), sleeping quietly.

Import after `sys.path.insert(0, os.path.dirname(__file__))`: targets run
with python -I, which keeps their own directory off sys.path.
"""
import gc
import json
import os
import time
from types import CodeType


def open_heartbeat(path):
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def fdset():
    """Open descriptors, less the one the listing itself used."""
    out = set()
    for x in os.listdir("/proc/self/fd"):
        try:
            os.readlink("/proc/self/fd/" + x)
            out.add(int(x))
        except OSError:
            pass
    return out


def publish(truth_path, truth):
    """Write the truth and rename it into place: the ready signal."""
    # json.dumps, not json.dump: the pure-Python encoder json.dump uses
    # leaves a cycle of closures behind, garbage the truth did not count.
    with open(truth_path + ".tmp", "w") as f:
        f.write(json.dumps(truth))
    os.rename(truth_path + ".tmp", truth_path)


def referents(o):
    """What o refers to.  gc.get_referents leaves out what cannot make a
    cycle, but holds it all the same: the str keys of a dict, and the
    constants of a code object (which has no traverse before 3.13)."""
    out = gc.get_referents(o)
    if type(o) is dict:
        out = out + list(o.keys())
    elif type(o) is CodeType:
        # stored attributes only: co_varnames and others are made anew
        # on each access from 3.11 (a fresh object would count as kept)
        out = out + [o.co_consts, o.co_names, o.co_name, o.co_filename,
                     getattr(o, "co_qualname", None)]
    return out


def traversal():
    """The interpreter's own traversal, for every object the GC tracks: its
    referents' ids (gc.get_referents) and its type's name, keyed by id in
    hex, as test_refs' and test_frameworks' truth."""
    objs = gc.get_objects()
    edges, types = {}, {}
    for o in objs:
        t = type(o)
        types["%x" % id(o)] = "%s.%s" % (t.__module__, t.__qualname__)
        edges["%x" % id(o)] = ["%x" % id(r) for r in gc.get_referents(o)]
    del objs
    return {"edges": edges, "types": types}


def reach(start, avoid=None):
    """Ids of everything reachable from start, without entering avoid;
    {id: object}."""
    seen = {}
    stack = [o for o in start if o is not avoid]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen[id(o)] = o
        for r in referents(o):
            if r is not avoid and id(r) not in seen:
                stack.append(r)
    return seen


# One-byte bytes for the heartbeat's digits, made at import (before any
# truth is taken).
DIGITS = tuple(b"%d" % i for i in range(10))


def sleep_until_orphaned(hb_fd):
    """Count heartbeats every 0.1 s until the harness (our parent) is gone.

    Allocates nothing while it loops, so that two looks at the heap agree
    exactly wherever a stop lands, and leaves no object behind that the
    truth did not count: the count lives in seven locals of one digit each
    (small ints are cached), written digit by digit from DIGITS into the
    "%20d" field; the parent is checked with os.kill(ppid, 0) (None)."""
    ppid = os.getppid()
    if hb_fd >= 0:
        os.pwrite(hb_fd, b"%20d\n" % 0, 0)
    d0 = d1 = d2 = d3 = d4 = d5 = d6 = 0
    while True:
        if hb_fd >= 0:
            d0 += 1
            if d0 == 10:
                d0, d1 = 0, d1 + 1
                if d1 == 10:
                    d1, d2 = 0, d2 + 1
                    if d2 == 10:
                        d2, d3 = 0, d3 + 1
                        if d3 == 10:
                            d3, d4 = 0, d4 + 1
                            if d4 == 10:
                                d4, d5 = 0, d5 + 1
                                if d5 == 10:
                                    d5, d6 = 0, d6 + 1
            os.pwrite(hb_fd, DIGITS[d6], 13)
            os.pwrite(hb_fd, DIGITS[d5], 14)
            os.pwrite(hb_fd, DIGITS[d4], 15)
            os.pwrite(hb_fd, DIGITS[d3], 16)
            os.pwrite(hb_fd, DIGITS[d2], 17)
            os.pwrite(hb_fd, DIGITS[d1], 18)
            os.pwrite(hb_fd, DIGITS[d0], 19)
        time.sleep(0.1)
        try:
            os.kill(ppid, 0)
        except OSError:
            os._exit(0)
