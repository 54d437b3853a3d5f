#!/usr/bin/env python3
"""A small "service" that leaks the way real ones do, for trying leaktop.

Every tick (0.2 s by default) it handles a few fake requests and, by
mistake, keeps:
  - every Request in a global list (an unbounded registry),
  - a cache entry per request that is never evicted,
  - an abandoned generator reading a file, sliced with islice,
  - a pair of Session objects that point at each other (a reference cycle).
Run it and point leaktop at its PID; Ctrl-C stops it.
"""
import itertools
import os
import sys
import tempfile
import time


class Request:
    def __init__(self, n):
        self.n = n
        self.path = "/api/items/%d" % n
        self.headers = {"accept": "application/json", "x-request": str(n)}
        self.body = [n] * 64


class Session:
    def __init__(self, user):
        self.user = user
        self.peer = None


registry = []            # every request ever seen: the leak
cache = {}               # memoised results, never evicted
pending_readers = []     # generators abandoned mid-file


def rows(path):
    with open(path) as f:
        for line in f:
            yield line.rstrip("\n")


def handle(n, data_file):
    req = Request(n)
    registry.append(req)
    cache[req.path] = [n] * 8
    if n % 20 == 0 and len(pending_readers) < 400:   # stay below ulimit -n
        reader = rows(data_file)
        list(itertools.islice(reader, 1))   # read one row, then forget to finish
        pending_readers.append(reader)
    a, b = Session("u%d" % n), Session("peer%d" % n)
    a.peer, b.peer = b, a


def main():
    tick = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    fd, data_file = tempfile.mkstemp(prefix="leaktop-demo-", suffix=".csv")
    with os.fdopen(fd, "w") as f:
        f.write("id,name\n" + "".join("%d,item%d\n" % (i, i) for i in range(100)))
    print("leaky_service: pid %d, leaking every %.1f s" % (os.getpid(), tick), flush=True)
    n = 0
    try:
        while True:
            for _ in range(20):
                handle(n, data_file)
                n += 1
            time.sleep(tick)
    except KeyboardInterrupt:
        pass
    finally:
        os.unlink(data_file)


if __name__ == "__main__":
    main()
