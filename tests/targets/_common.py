"""Shared by the test targets: publishing the truth, sleeping quietly.

Import after `sys.path.insert(0, os.path.dirname(__file__))`: targets run
with python -I, which keeps their own directory off sys.path.
"""
import json
import os
import time


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


def sleep_until_orphaned(hb_fd):
    """Count heartbeats every 0.1 s until the harness (our parent) is gone.

    Allocates nothing while it loops: the counter is a bytearray counted up
    in place with small (cached) ints, and the parent is checked with
    os.kill(ppid, 0), which returns None.  A stop may land anywhere in the
    loop and two looks at the heap still agree exactly."""
    ppid = os.getppid()
    beat = bytearray(b"%20d\n" % 0)
    while True:
        if hb_fd >= 0:
            i = 19
            while beat[i] == 57:                # "9": carry
                beat[i] = 48
                i -= 1
            beat[i] = 49 if beat[i] == 32 else beat[i] + 1
            os.pwrite(hb_fd, beat, 0)
        time.sleep(0.1)
        try:
            os.kill(ppid, 0)
        except OSError:
            os._exit(0)
