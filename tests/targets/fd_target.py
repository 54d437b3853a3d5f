#!/usr/bin/env python3
"""leaktop test target: one of every kind of descriptor a service holds.

usage: fd_target.py TRUTH HEARTBEAT

Opens files with open() (text, binary, unbuffered), files held by
generators suspended mid-iteration (the islice pattern), a socketpair, a
TCP listener on loopback with one accepted connection, a UDP socket, a
pipe, an epoll watching the pipe, an eventfd where the os module has it, and
an mmap of a file, and an sqlite3 database file.  The truth lists every
descriptor in /proc/self/fd with what readlink says, the kind, the socket
details the target can see itself, and the type of the Python object that
holds it (or null).
"""
import itertools
import mmap
import os
import select
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import fdset, open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
HERE = os.path.dirname(TRUTH)


def path(name, lines=200):
    p = os.path.join(HERE, name)
    with open(p, "w") as f:
        f.write("id,value\n" * lines)
    return p


def rows(p):
    with open(p) as f:
        for line in f:
            yield line


expect = {}   # fd -> (owner type, extra facts)


def owned(obj_fd, owner, **facts):
    expect[obj_fd] = dict(owner=owner, **facts)


for stream in (sys.stdin, sys.stdout, sys.stderr):
    if stream is not None:
        owned(stream.fileno(), "_io.FileIO")
before = fdset()
text = open(path("text.csv"))
owned(text.fileno(), "_io.FileIO", name=text.name, wrapped_by=["_io.BufferedReader", "_io.TextIOWrapper"])
raw = open(path("raw.bin"), "rb", buffering=0)
owned(raw.fileno(), "_io.FileIO", name=raw.name, wrapped_by=[])
binw = open(path("out.bin"), "wb")
owned(binw.fileno(), "_io.FileIO", name=binw.name, wrapped_by=["_io.BufferedWriter"])

# Generators suspended while reading: each holds its file through a frame.
readers = []
for i in range(3):
    g = rows(path("gen%d.csv" % i))
    list(itertools.islice(g, 2))
    readers.append(g)
gen_fds = fdset() - before - set(expect)
for fd in gen_fds:
    owned(fd, "_io.FileIO", name=os.readlink("/proc/self/fd/%d" % fd),
          wrapped_by=["_io.BufferedReader", "_io.TextIOWrapper"])

a, b = socket.socketpair()
owned(a.fileno(), "socket.socket", proto="unix", state="CONNECTED")
owned(b.fileno(), "socket.socket", proto="unix", state="CONNECTED")
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(4)
owned(listener.fileno(), "socket.socket", proto="tcp", state="LISTEN",
      local="127.0.0.1:%d" % listener.getsockname()[1])
client = socket.create_connection(listener.getsockname())
server, _ = listener.accept()
owned(client.fileno(), "socket.socket", proto="tcp", state="ESTABLISHED",
      local="%s:%d" % client.getsockname(), remote="%s:%d" % client.getpeername())
owned(server.fileno(), "socket.socket", proto="tcp", state="ESTABLISHED",
      local="%s:%d" % server.getsockname(), remote="%s:%d" % server.getpeername())
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
owned(udp.fileno(), "socket.socket", proto="udp", state="UNCONN",
      local="127.0.0.1:%d" % udp.getsockname()[1])

r, w = os.pipe()
owned(r, None)
owned(w, None)
ep = select.epoll()
ep.register(r, select.EPOLLIN)
owned(ep.fileno(), "select.epoll")
if hasattr(os, "eventfd"):
    efd = os.eventfd(7)
    owned(efd, None)

mapped = open(path("mapped.bin"), "r+b")
owned(mapped.fileno(), "_io.FileIO", name=mapped.name, wrapped_by=["_io.BufferedRandom"])
pre = fdset()
mm = mmap.mmap(mapped.fileno(), 0)
for fd in fdset() - pre:
    owned(fd, "mmap.mmap")          # mmap keeps a dup of the descriptor

try:
    import sqlite3
except ImportError:
    sqlite3 = None
if sqlite3:
    # the database file: sqlite opens it on the first statement, and only
    # its handle, inside the connection, knows the descriptor
    pre = fdset()
    database = sqlite3.connect(path("app.db", lines=0))
    database.execute("create table t (x)")
    database.execute("insert into t values (1)")
    database.commit()
    for fd in fdset() - pre:
        owned(fd, "sqlite3.Connection")

truth = {"pid": os.getpid(), "version": "%d.%d.%d" % sys.version_info[:3], "fds": {}}
listing = fdset()
for fd in sorted(listing):
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        continue                    # the listing's own descriptor, closed now
    e = dict(expect.get(fd, {}))
    e.setdefault("owner", "unknown")   # not ours (inherited): owner not checked
    e["target"] = target
    truth["fds"][str(fd)] = e
hb = open_heartbeat(HEARTBEAT)
truth["fds"][str(hb)] = {"owner": None, "target": os.readlink("/proc/self/fd/%d" % hb)}
publish(TRUTH, truth)
sleep_until_orphaned(hb)
