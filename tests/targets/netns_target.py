#!/usr/bin/env python3
"""leaktop test target: a few sockets of its own in a crowded namespace.

usage: netns_target.py TRUTH HEARTBEAT

Opens a TCP listener on 127.0.0.1 with one accepted connection (both ends),
a bound UDP socket and a unix socketpair, then records every descriptor in
/proc/self/fd and, for each socket, what the socket API says of it:
protocol, state (SO_ACCEPTCONN, then whether it has a peer), getsockname,
getpeername and the inode readlink names.
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import fdset, open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(4)
client = socket.create_connection(listener.getsockname())
server, _ = listener.accept()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
pair = socket.socketpair()
SOCKETS = [listener, client, server, udp] + list(pair)


def addr(family, a):
    """As leaktop prints it: "127.0.0.1:80"; a unix name, None if unnamed."""
    if family == socket.AF_UNIX:
        if isinstance(a, bytes):
            a = ("@" + a[1:].decode("latin-1")) if a[:1] == b"\0" else a.decode("latin-1")
        return a or None
    return "%s:%d" % a[:2]


def facts(s):
    unix = s.family == socket.AF_UNIX
    try:
        peer = addr(s.family, s.getpeername())
        connected = True
    except OSError:
        peer, connected = None, False
    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        state = "LISTEN"
    elif unix:
        state = "CONNECTED" if connected else "UNCONNECTED"
    elif s.type == socket.SOCK_STREAM:
        state = "ESTABLISHED" if connected else "CLOSE"
    else:
        state = "ESTABLISHED" if connected else "UNCONN"
    f = {"proto": "unix" if unix else "tcp" if s.type == socket.SOCK_STREAM else "udp",
         "state": state, "local": addr(s.family, s.getsockname()),
         "remote": None if unix else peer}
    if unix:
        f["type"] = "STREAM" if s.type == socket.SOCK_STREAM else "DGRAM"
    return f


hb = open_heartbeat(HEARTBEAT)
truth = {"pid": os.getpid(), "fds": {}}
mine = dict((s.fileno(), facts(s)) for s in SOCKETS)
for fd in sorted(fdset()):
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        continue
    e = {"target": target}
    if fd in mine:
        e["socket"] = mine[fd]
        e["socket"]["inode"] = int(target[len("socket:["):-1])
    truth["fds"][str(fd)] = e
publish(TRUTH, truth)
sleep_until_orphaned(hb)
