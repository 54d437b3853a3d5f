"""A small Python heap of varied shapes for scripts/fuzz to take a seed from.

Holds a few thousand objects of every kind the walkers read: lists, dicts
(split, combined, with int and str keys), sets and frozensets, tuples,
instances with __dict__ and __slots__, closures and cells, a suspended
generator and coroutine, bound methods, properties, a cycle that is garbage,
deques and OrderedDicts, an lru_cache, a partial, files, a socket pair, an
epoll and an mmap, and threads parked in frames with locals.  Writes
"ready PID" to the path in argv[1] (or stdout), keeps a scratch file beside
it, and waits to be killed.
"""
import collections
import functools
import mmap
import os
import select
import socket
import sys
import threading
import time


class Node:
    def __init__(self, value, nxt=None):
        self.value = value
        self.next = nxt
        self.tags = {"k%d" % (value % 7): value}


class Slotted:
    __slots__ = ("a", "b", "c")

    def __init__(self, a):
        self.a = a
        self.b = str(a) * 3
        self.c = (a, float(a))


class WithDel:
    def __del__(self):
        pass


class Registry(dict):
    pass


def make_closure(n):
    captured = [n] * 3

    def inner():
        return captured, n
    return inner


def counter(limit):
    total = 0
    for i in range(limit):
        total += i
        yield total


async def coro(x):
    return x


@functools.lru_cache(maxsize=64)
def cached(x):
    return x * 2


def parked(ev, label, depth):
    local_list = [label] * 5
    local_dict = {label: depth}
    if depth:
        return parked(ev, label, depth - 1)
    ev.wait()
    return local_list, local_dict


def main():
    keep = {}
    keep["ints"] = list(range(-5, 1500))
    keep["floats"] = [i / 3 for i in range(300)]
    keep["strs"] = ["s%05d" % i for i in range(600)] + ["\u00e9t\u00e9", "\U0001f600x", ""]
    keep["bytes"] = [bytes(range(i % 50)) for i in range(100)] + [bytearray(b"xyz" * 20)]
    keep["tuples"] = [(i, "t", None, True) for i in range(200)] + [(), (1,)]
    keep["dicts"] = [{"a": i, "b": [i], 3: "three"} for i in range(200)]
    keep["sets"] = [set(range(i % 20)) for i in range(60)] + [frozenset({1, 2, "x"})]
    keep["nodes"] = None
    head = None
    for i in range(300):
        head = Node(i, head)
    keep["nodes"] = head
    keep["slotted"] = [Slotted(i) for i in range(150)]
    keep["closures"] = [make_closure(i) for i in range(80)]
    gen = counter(100)
    next(gen)
    keep["gen"] = gen
    c = coro(5)
    keep["coro"] = c
    keep["methods"] = [head.__init__, "x".upper, [].append]
    keep["deque"] = collections.deque(range(100), maxlen=200)
    keep["odict"] = collections.OrderedDict((str(i), i) for i in range(50))
    keep["counter"] = collections.Counter("abracadabra")
    keep["defaultdict"] = collections.defaultdict(list, {"x": [1]})
    keep["registry"] = Registry(x=1, y=[2])
    for i in range(40):
        cached(i)
    keep["partial"] = functools.partial(max, 1, key=abs)
    keep["prop"] = property(lambda self: 1)
    keep["types"] = [type("Dyn%d" % i, (object,), {"v": i}) for i in range(10)]
    keep["big_list"] = [None] * 5000
    keep["nested"] = [[[i]] for i in range(100)]

    # A cycle nothing else holds: cyclic garbage, with a finalizer.
    a, b = WithDel(), WithDel()
    a.other, b.other = b, a
    del a, b
    la = []
    la.append(la)
    del la

    # Descriptor holders: a file, a socket pair, an epoll, an mmap.
    out = sys.argv[1] if len(sys.argv) > 1 else None
    path = os.path.join(os.path.dirname(os.path.abspath(out or "x")), "fuzz-target.tmp")
    f = open(path, "w+b")
    f.write(b"\0" * 4096)
    f.flush()
    keep["file"] = f
    keep["text"] = open(path, "r", encoding="latin-1")
    keep["sockets"] = socket.socketpair()
    if hasattr(select, "epoll"):
        keep["epoll"] = select.epoll()
    keep["mmap"] = mmap.mmap(f.fileno(), 4096)

    ev = threading.Event()
    # Small stacks keep a core of this process (the core seed) small.
    threading.stack_size(256 * 1024)
    threads = [threading.Thread(target=parked, args=(ev, "t%d" % i, i + 1), daemon=True)
               for i in range(3)]
    for t in threads:
        t.start()
    keep["threads"] = threads
    time.sleep(0.2)

    if out:
        with open(out + ".tmp", "w") as r:
            r.write("ready %d\n" % os.getpid())
        os.rename(out + ".tmp", out)
    else:
        print("ready", os.getpid(), flush=True)
    local_in_main = keep
    while True:
        time.sleep(1)
    return local_in_main


if __name__ == "__main__":
    main()
