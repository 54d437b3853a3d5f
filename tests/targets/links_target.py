#!/usr/bin/env python3
"""leaktop test target: a container whose links lead out of its root.

usage: links_target.py TRUTH LIBRARY HOSTDIR HEARTBEAT

Run in a root of its own (the test's overlay of a suite root).  Loads
LIBRARY (a shared object the test put in the root), then deletes it and
leaves, under the name its mapping now shows ("LIBRARY (deleted)"), a link
to HOSTDIR/libdecoy.so: a path that exists on the host, not here.  The
test has made the root's /usr/lib/debug a link to HOSTDIR too.  A reader
that follows either link from outside the root opens the host's files.
The truth: how many Items it holds.
"""
import ctypes
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, LIBRARY, HOSTDIR, HEARTBEAT = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[-1]


class Item(object):
    pass


LOADED = ctypes.CDLL(LIBRARY)
os.unlink(LIBRARY)
os.symlink(os.path.join(HOSTDIR, "libdecoy.so"), LIBRARY + " (deleted)")
ITEMS = [Item() for _ in range(777)]
publish(TRUTH, {"pid": os.getpid(), "items": len(ITEMS),
                "mapped": any(LIBRARY in line for line in open("/proc/self/maps"))})
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
