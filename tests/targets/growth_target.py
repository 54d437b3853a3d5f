#!/usr/bin/env python3
"""leaktop test target: grows one class steadily and churns another.

usage: growth_target.py TRUTH EXIT_AFTER HEARTBEAT

Every TICK seconds the target keeps GROW more Grower instances for good,
and every CHURN_TICK seconds it replaces its Churn list with either CHURN or
0 instances, alternately: a type that jumps up and down without growing.
The truth (written before the loop starts, as the ready signal) says how
much Grower grows per second.  EXIT_AFTER > 0 makes the target exit after
that many seconds.  The heartbeat counts ticks.
"""
import json
import os
import sys
import time

TRUTH, EXIT_AFTER, HEARTBEAT = sys.argv[1], float(sys.argv[2]), sys.argv[3]
TICK, GROW = 0.25, 250
CHURN_TICK, CHURN = 0.35, 3000


class Grower(object):
    pass


class Churn(object):
    pass


def main():
    keep = []
    churn = []
    start = time.time()
    with open(TRUTH + ".tmp", "w") as f:
        json.dump({"pid": os.getpid(), "version": "%d.%d.%d" % sys.version_info[:3],
                   "grow_per_second": GROW / TICK, "churn": CHURN}, f)
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
            next_grow += TICK
            beat += 1
            os.pwrite(hb, b"%20d\n" % beat, 0)
        if now >= next_churn:
            churn = [Churn() for _ in range(CHURN)] if not churn else []
            next_churn += CHURN_TICK
        time.sleep(0.02)


main()
