#!/usr/bin/env python3
"""leaktop test target: grows one class steadily and churns another.

usage: growth_target.py TRUTH EXIT_AFTER [files] HEARTBEAT

Every TICK seconds the target keeps GROW more Grower instances for good,
and every CHURN_TICK seconds it replaces its Churn list with either CHURN or
0 instances, alternately: a type that jumps up and down without growing.
The truth (written before the loop starts, as the ready signal) says how
much Grower grows per second.  EXIT_AFTER > 0 makes the target exit after
that many seconds.  With "files", every tick also leaves one more
generator suspended in the middle of reading a file (the islice pattern),
holding it open: a descriptor leak, up to FILES_MAX.  The heartbeat counts
ticks.
"""
import itertools
import json
import os
import sys
import time

TRUTH, EXIT_AFTER, HEARTBEAT = sys.argv[1], float(sys.argv[2]), sys.argv[-1]
FILES = "files" in sys.argv[3:-1]
TICK, GROW, FILES_MAX = 0.25, 250, 200
CHURN_TICK, CHURN = 0.35, 3000


class Grower(object):
    pass


class Churn(object):
    pass


def rows(path):
    with open(path) as f:
        for line in f:
            yield line


def main():
    data = os.path.join(os.path.dirname(TRUTH), "rows.csv")
    with open(data, "w") as f:
        f.write("id,name\n" * 100)
    readers = []
    keep = []
    churn = []
    start = time.time()
    with open(TRUTH + ".tmp", "w") as f:
        json.dump({"pid": os.getpid(), "version": "%d.%d.%d" % sys.version_info[:3],
                   "grow_per_second": GROW / TICK, "churn": CHURN,
                   "files": FILES, "data": data}, f)
    os.rename(TRUTH + ".tmp", TRUTH)
    hb = os.open(HEARTBEAT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    ppid = os.getppid()
    beat = 0
    next_grow = next_churn = start
    while os.getppid() == ppid:
        now = time.time()
        if EXIT_AFTER > 0 and now - start > EXIT_AFTER:
            return
        if now >= next_grow:
            keep.extend(Grower() for _ in range(GROW))
            if FILES and len(readers) < FILES_MAX:
                reader = rows(data)
                list(itertools.islice(reader, 1))
                readers.append(reader)
            next_grow += TICK
            beat += 1
            os.pwrite(hb, b"%20d\n" % beat, 0)
        if now >= next_churn:
            churn = [Churn() for _ in range(CHURN)] if not churn else []
            next_churn += CHURN_TICK
        time.sleep(0.02)


main()
