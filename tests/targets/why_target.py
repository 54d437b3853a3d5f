#!/usr/bin/env python3
"""leaktop test target: the seed leak patterns, for `why` and garbage.

usage: why_target.py TRUTH HEARTBEAT

- pending_readers: generators reading files, sliced with islice and kept,
  each suspended at the `yield` with its file open;
- _cache: an unbounded global cache of Leaky instances;
- registry: a list of dicts that refer to themselves;
- handlers: a closure over a big list;
- a local of the running main() (a thread root);
- unreachable cycles, with the collector disabled: plain Node pairs, and
  Finalized pairs whose class has __del__.

The truth: the file, line, fds and addresses the scenario made, and the
exact garbage: every tracked object reachable from the cycles that was
created for them, counted per type (instance dicts on 3.8-3.10, not where
attributes live inline), computed before the last references are dropped.
"""
import gc
import itertools
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
N_READERS, N_CACHE, N_SELF, N_NODE_PAIRS, N_DEL_PAIRS = 20, 3000, 500, 300, 200


def csv_rows(path):
    f = open(path)
    for line in f:
        yield line


class Leaky(object):
    def __init__(self, key):
        self.key = key
        self.payload = [key]


class Node(object):
    def __init__(self):
        self.other = None


class Finalized(object):
    def __init__(self):
        self.other = None

    def __del__(self):
        pass


def make_handler():
    big = list(range(20000))

    def handler():
        return len(big)
    return handler


_cache = {}


def remember(key):
    _cache[key] = Leaky(key)


def type_name(o):
    t = type(o)
    return "%s.%s" % (t.__module__, t.__qualname__)


def make_cycles(truth):
    """Pairs referring to each other, then dropped: garbage nothing frees."""
    before = set(id(o) for o in gc.get_objects())
    roots = []
    for cls, n in ((Node, N_NODE_PAIRS), (Finalized, N_DEL_PAIRS)):
        for _ in range(n):
            a, b = cls(), cls()
            a.other, b.other = b, a
            roots.append(a)
    seen, stack, counts = set(), list(roots), {}
    while stack:
        o = stack.pop()
        if id(o) in seen or id(o) in before or not gc.is_tracked(o):
            continue
        seen.add(id(o))
        counts[type_name(o)] = counts.get(type_name(o), 0) + 1
        stack.extend(gc.get_referents(o))
    truth["garbage_types"] = counts
    truth["garbage_objects"] = len(seen)
    truth["garbage_cycles"] = N_NODE_PAIRS + N_DEL_PAIRS
    truth["garbage_finalizers"] = 2 * N_DEL_PAIRS
    truth["garbage_node"] = "0x%x" % id(roots[0])
    del roots[:]
    a = b = o = stack = seen = before = None


def marker_line(marker):
    with open(__file__) as f:
        return [i for i, text in enumerate(f, 1) if marker in text and "marker_line" not in text][0]


def main():
    # beside the truth: the harness removes that directory with the target
    tmp = tempfile.mkdtemp(prefix="leaktop-why-", dir=os.path.dirname(os.path.abspath(TRUTH)))
    pending_readers = globals().setdefault("pending_readers", [])
    for i in range(N_READERS):
        path = os.path.join(tmp, "rows%d.csv" % i)
        with open(path, "w") as f:
            f.write("".join("%d,%d\n" % (i, k) for k in range(10)))
        g = csv_rows(path)
        list(itertools.islice(g, 2))
        pending_readers.append(g)
    for i in range(N_CACHE):
        remember(i)
    registry = globals().setdefault("registry", [])
    for i in range(N_SELF):
        d = {"id": i}
        d["self"] = d
        registry.append(d)
    handlers = globals().setdefault("handlers", {})
    handlers["on_tick"] = make_handler()
    local_rows = [bytearray(8) for _ in range(100)]

    g0 = pending_readers[3]
    truth = {
        "reader_fd": g0.gi_frame.f_locals["f"].fileno(),
        "reader_line": g0.gi_frame.f_lineno,
        "reader_file": csv_rows.__code__.co_filename,
        "reader_index": 3,
        "readers": N_READERS,
        "cache": N_CACHE,
        "self_dict": "0x%x" % id(registry[7]),
        "big_list": "0x%x" % id(handlers["on_tick"].__closure__[0].cell_contents),
        "local_rows": "0x%x" % id(local_rows),
        "main_line": marker_line("# main_line: main() waits here"),
        "main_file": main.__code__.co_filename,
    }
    g0 = d = None
    gc.collect()          # nothing but the cycles below is garbage
    make_cycles(truth)
    hb = open_heartbeat(HEARTBEAT)
    publish(TRUTH, truth)
    sleep_until_orphaned(hb)   # main_line: main() waits here, local_rows alive


gc.disable()
main()
