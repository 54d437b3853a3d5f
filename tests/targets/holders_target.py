#!/usr/bin/env python3
"""leaktop test target: two holders that grow, one cache that churns.

usage: holders_target.py TRUTH HEARTBEAT

Every 0.1 s the main loop appends 40 Entry objects to FAST, puts 10 in
SLOW (a dict) and adds 3 to SESSION's log (SESSION is no container: an
object whose attribute grows), while CHURN, a dict of the same Entry type, is refilled to
100 entries in even half-seconds of the clock and to 300 in odd ones: it
comes and goes, it does not accumulate.  The truth names the holders and
their rates, in Entry objects per second.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]


class Entry(object):
    def __init__(self, i):
        self.payload = os.urandom(200)
        self.n = i + 100000


class Session(object):
    """No container itself: what it accumulates is in an attribute."""

    def __init__(self):
        self.log = []


FAST = []
SLOW = {}
CHURN = {}
SESSION = Session()


def main(hb):
    publish(TRUTH, {"growing": ["__main__.FAST", "__main__.SLOW", "__main__.SESSION"],
                    "churning": "__main__.CHURN",
                    "per_s": {"__main__.FAST": 400, "__main__.SLOW": 100}})
    ppid, tick = os.getppid(), 0
    while os.getppid() == ppid:
        tick += 1
        FAST.extend(Entry(tick * 100 + k) for k in range(40))
        for k in range(10):
            SLOW[tick * 100 + k] = Entry(k)
        SESSION.log.extend(Entry(k) for k in range(3))
        want = 100 if int(time.time() * 2) % 2 == 0 else 300
        if len(CHURN) != want:
            CHURN.clear()
            CHURN.update((k, Entry(k)) for k in range(want))
        os.pwrite(hb, b"%20d\n" % tick, 0)
        time.sleep(0.1)
    os._exit(0)


main(open_heartbeat(HEARTBEAT))
