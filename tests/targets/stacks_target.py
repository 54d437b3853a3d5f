#!/usr/bin/env python3
"""leaktop test target: threads waiting in known places.

usage: stacks_target.py TRUTH HEARTBEAT

- "sleeper" sleeps in time.sleep inside sleeper_wait();
- "acceptor" blocks in socket.accept inside accept_forever();
- "recursor" is 50 calls of recurse() deep, the last waiting on a
  threading.Event;
- the main thread is inside sorted(), whose key function blocks reading a
  pipe nobody writes;
- "monitor" writes the truth, then the heartbeat (its place varies).

Once every thread's innermost Python frame is where it blocks and stays
there, the monitor records for each its threading.get_native_id() and the
(function, line) pairs of sys._current_frames(), innermost first, with the
names 3.11+ give (co_qualname; co_name before), and the kind of native wait
it is in.
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
DEPTH = 50
EVENT = threading.Event()
PIPE_R, PIPE_W = os.pipe()
IDS = {}


def name_of(code):
    return getattr(code, "co_qualname", code.co_name)


def sleeper_wait():
    IDS["sleeper"] = threading.get_native_id()
    time.sleep(3600)


def accept_forever():
    IDS["acceptor"] = threading.get_native_id()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.accept()


def recurse(n):
    if n == 0:
        IDS["recursor"] = threading.get_native_id()
        EVENT.wait()
    else:
        recurse(n - 1)


def blocking_key(x):
    if x == 1:
        os.read(PIPE_R, 1)
    return x


# Where each thread blocks: its innermost Python function, and the native
# wait under it.
PLACES = {
    "sleeper": ("sleeper_wait", "sleep"),
    "acceptor": ("socket.accept" if sys.version_info >= (3, 11) else "accept", "accept"),
    "recursor": ("Condition.wait" if sys.version_info >= (3, 11) else "wait", "futex"),
    "MainThread": ("blocking_key", "read"),
}


def frames_of(frame):
    out = []
    while frame is not None:
        out.append([name_of(frame.f_code), frame.f_lineno])
        frame = frame.f_back
    return out


def snapshot():
    by_ident = sys._current_frames()
    threads = {t.name: t for t in threading.enumerate()}
    out = {}
    for name in PLACES:
        t = threads.get(name)
        if t is None or t.ident not in by_ident:
            return None
        out[name] = frames_of(by_ident[t.ident])
    return out


def monitor():
    hb = open_heartbeat(HEARTBEAT)
    deadline = time.time() + 30
    while time.time() < deadline:
        snap = snapshot()
        if snap and all(snap[n] and snap[n][0][0] == PLACES[n][0] for n in PLACES) \
                and len(IDS) == 3:
            time.sleep(0.3)   # into the C call under that frame
            if snapshot() == snap:
                break
        time.sleep(0.05)
    else:
        sys.exit("stacks_target: the threads never reached their places")
    threads = {t.name: t for t in threading.enumerate()}
    truth = {"threads": [], "depth": DEPTH,
             "monitor": threading.get_native_id()}
    for name, (leaf, wait) in PLACES.items():
        native_id = threads[name].native_id if name != "MainThread" else os.getpid()
        truth["threads"].append({"name": name, "native_id": native_id,
                                 "frames": snap[name], "wait": wait})
    publish(TRUTH, truth)
    sleep_until_orphaned(hb)


def main():
    for name, fn in (("sleeper", sleeper_wait), ("acceptor", accept_forever),
                     ("recursor", lambda: recurse(DEPTH - 1))):
        threading.Thread(target=fn, name=name, daemon=True).start()
    threading.Thread(target=monitor, name="monitor", daemon=True).start()
    sorted([0, 1, 2], key=blocking_key)


main()
