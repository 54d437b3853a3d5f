#!/usr/bin/env python3
"""leaktop test target: the references the interpreter itself sees.

usage: refs_target.py TRUTH HEARTBEAT

Builds objects of the standard library's C types that hold references
(deques, defaultdict, the C OrderedDict, lru_cache wrappers and their
links, partial, itertools objects, bound methods, properties, cells,
coroutines and async generators, asyncio futures and tasks waiting on an
Event and a Queue, contextvars, thread locals, SimpleQueue, sqlite3,
re, json's scanner and encoder, pickle, csv, ElementTree, memoryview,
slices, iterators, mappingproxy, SimpleNamespace, generic aliases,
exceptions with tracebacks, weak references and weak containers), then
records, for every object the GC tracks, gc.get_referents() by id: the
edges tp_traverse reports.  The truth also names each object's type, the
objects the weak containers (WEAKSET, WVD, WKD, REFS) refer to (held by
WEAKLY_HELD), and what four holders alone hold: QUEUE (a deque of 3,000
dicts), STATES ({State(o): o}, State keeping weakref.ref(o, self.cleanup)),
bounded (an lru_cache of 2,000 Items) and WEAKLY_HELD.
"""
import asyncio
import collections
import contextvars
import csv
import functools
import gc
import io
import itertools
import json
import os
import pickle
import queue
import re
import sqlite3
import sys
import threading
import types
import weakref
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (open_heartbeat, publish, reach, sleep_until_orphaned,  # noqa: E402
                     traversal)

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]


class Item:
    def __init__(self, i):
        self.i = i + 1000           # fresh ints: none is also held from C
        self.payload = b"%08d" % i * 8

    def method(self):
        return self.i

    @property
    def prop(self):
        return self.i

    @classmethod
    def cm(cls):
        return cls

    @staticmethod
    def sm():
        return 0


class State:
    """Keeps a weak reference to o whose callback is its own method."""

    def __init__(self, o):
        self.ref = weakref.ref(o, self.cleanup)

    def cleanup(self, _ref):
        pass


def closure(n):
    cell = [Item(n)]

    def inner():
        return cell
    return inner


def gen():
    f = io.StringIO("a\nb\nc\n")
    for line in f:
        yield line


async def agen():
    yield Item(-1)


async def waiter(event):
    await event.wait()


async def consumer(q):
    await q.get()


@functools.lru_cache(maxsize=2000)
def bounded(i):
    return Item(i)


@functools.lru_cache(maxsize=None)
def unbounded(i):
    return Item(i)


# The holders whose retained sets the test checks (module globals, so that
# they are retainers): a deque, a dict of objects with weakref callbacks, a
# bounded lru_cache, a list that weak containers also refer to.
QUEUE = collections.deque({"d": i + 1000} for i in range(3000))
STATES = {State(o): o for o in [Item(i) for i in range(2000)]}
for i in range(2000):
    bounded(i + 1000)
WEAKLY_HELD = [Item(i) for i in range(3000)]
WEAKSET = weakref.WeakSet(WEAKLY_HELD)
WVD = weakref.WeakValueDictionary((i, o) for i, o in enumerate(WEAKLY_HELD))
WKD = weakref.WeakKeyDictionary((o, i) for i, o in enumerate(WEAKLY_HELD))
REFS = [weakref.ref(o) for o in WEAKLY_HELD]

KEEP = {}
KEEP["defaultdict"] = collections.defaultdict(list, {i: [Item(i)] for i in range(20)})
KEEP["odict"] = collections.OrderedDict((str(i), Item(i)) for i in range(20))
KEEP["counter"] = collections.Counter("abracadabra")
for i in range(40):
    unbounded(i)
KEEP["partial"] = functools.partial(Item, 5)
KEEP["islice"] = itertools.islice(gen(), 0, 2)
KEEP["chain"] = itertools.chain([Item(1)], [Item(2)])
KEEP["cycle"] = itertools.cycle([Item(3)])
KEEP["tee"] = itertools.tee(iter([Item(4), Item(5)]))
KEEP["repeat"] = itertools.repeat(Item(6))
KEEP["groupby"] = itertools.groupby([Item(7)], key=id)
KEEP["zip_longest"] = itertools.zip_longest([Item(8)], [], fillvalue=Item(9))
KEEP["accumulate"] = itertools.accumulate([1, 2], lambda a, b: a + b)
KEEP["product"] = itertools.product([Item(10)], repeat=2)
KEEP["count"] = itertools.count(10 ** 20)
KEEP["bound"] = Item(11).method
KEEP["cm"] = Item.cm
KEEP["closures"] = [closure(i) for i in range(10)]
KEEP["gen"] = gen()
next(KEEP["gen"])
KEEP["coro"] = waiter(None)
KEEP["agen"] = agen()
KEEP["asend"] = KEEP["agen"].asend(None)
KEEP["athrow"] = KEEP["agen"].athrow(ValueError)
KEEP["ctx"] = contextvars.ContextVar("ctx", default=Item(12))
KEEP["ctx"].set(Item(13))
KEEP["context"] = contextvars.copy_context()
KEEP["local"] = threading.local()
KEEP["local"].value = Item(14)
KEEP["simplequeue"] = queue.SimpleQueue()
for i in range(5):
    KEEP["simplequeue"].put(Item(i))
KEEP["sqlite"] = sqlite3.connect(":memory:")
KEEP["cursor"] = KEEP["sqlite"].execute("select 1")
KEEP["pattern"] = re.compile(r"(\w+)-(\d+)")
KEEP["match"] = KEEP["pattern"].match("item-42")
KEEP["decoder"] = json.JSONDecoder(object_hook=dict)
KEEP["scanner"] = KEEP["decoder"].scan_once
KEEP["encoder"] = json.JSONEncoder(default=str)
KEEP["iterencode"] = KEEP["encoder"].iterencode({"a": 1}, _one_shot=True)
KEEP["pickler"] = pickle.Pickler(io.BytesIO())
KEEP["unpickler"] = pickle.Unpickler(io.BytesIO(b""))
KEEP["csvwriter"] = csv.writer(io.StringIO())
KEEP["csvreader"] = csv.reader(io.StringIO("a,b\n"))
root = ET.Element("root", {"k": "v"})
for i in range(10):
    ET.SubElement(root, "child", {"i": str(i)}).text = "t%d" % i
KEEP["element"] = root
KEEP["memoryview"] = memoryview(bytearray(64))
KEEP["slice"] = slice(Item(15), Item(16), None)
KEEP["listiter"] = iter([Item(17), Item(18)])
KEEP["dictiter"] = iter({"k": Item(19)}.items())
KEEP["mappingproxy"] = types.MappingProxyType({"m": Item(20)})
KEEP["namespace"] = types.SimpleNamespace(a=Item(21), b=[Item(22)])
if sys.version_info >= (3, 9):
    KEEP["alias"] = list[Item]
if sys.version_info >= (3, 10):
    KEEP["union"] = int | str
try:
    raise ValueError(Item(23))
except ValueError as e:
    KEEP["exception"] = e
KEEP["weakmethod"] = weakref.WeakMethod(KEEP["bound"])

# asyncio: tasks waiting on an Event and on a Queue, and a future.
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
event = asyncio.Event()
q = asyncio.Queue()
KEEP["tasks"] = [loop.create_task(waiter(event)) for _ in range(5)] + \
    [loop.create_task(consumer(q)) for _ in range(3)]
KEEP["future"] = loop.create_future()


class Field(object):
    """A value that only one field of one future or task holds."""

    def __call__(self, fut):
        pass


class FieldError(Exception):
    pass


# _asyncio's Future and Task fields, each value held by that field alone:
# the label leaktop gives the field, and the value's id.
AIO = [loop.create_future() for _ in range(3)]
AIO[0].add_done_callback(Field())
AIO[0].add_done_callback(Field())
AIO[1].set_result(Field())
AIO[2].set_exception(FieldError())
AIO.append(loop.create_task(waiter(event), name="".join(["aio-", "task"])))
AIO_FIELDS = [("_asyncio.Future", "_callback0", id(AIO[0]._callbacks[0][0])),
              ("_asyncio.Future", "_context0", id(AIO[0]._callbacks[0][1])),
              ("builtins.tuple", "[0]", id(AIO[0]._callbacks[1][0])),
              ("_asyncio.Future", "_result", id(AIO[1].result())),
              ("_asyncio.Future", "_exception", id(AIO[2].exception())),
              ("_asyncio.Task", "_coro", id(AIO[3].get_coro())),
              ("_asyncio.Task", "_name", id(AIO[3].get_name()))]
KEEP["event"], KEEP["queue"], KEEP["loop"] = event, q, loop
loop.run_until_complete(asyncio.sleep(0))
loop.run_until_complete(asyncio.sleep(0))

gc.collect()
del root, i


def retained(main_frame):
    """What each holder alone holds, as leaktop defines it: reachable from
    it, and from no root (the modules, the main thread's frame) without
    passing through it; count and sys.getsizeof sum."""
    roots = list(sys.modules.values()) + [main_frame]
    out = {}
    for name in ("QUEUE", "STATES", "bounded", "WEAKLY_HELD"):
        holder = globals()[name]
        others = reach(roots, avoid=holder)
        kept = [o for i, o in reach([holder]).items() if i not in others]
        items = sum(1 for o in kept if type(o) is Item)
        out[name] = {"objects": len(kept), "bytes": sum(sys.getsizeof(o) for o in kept),
                     "items": items}
        del others, kept, holder
    # The weak containers retain no Item by construction: WEAKLY_HELD, a
    # global, holds every one they refer to.
    for name in ("WEAKSET", "WVD", "WKD", "REFS"):
        out[name] = {"items": 0}
    return out


truth = traversal()
truth.update({
    "pid": os.getpid(),
    "version": "%d.%d.%d" % sys.version_info[:3],
    "weakly_held": ["%x" % id(o) for o in WEAKLY_HELD],
    "holders": retained(sys._getframe()),
    "items": sum(1 for o in gc.get_objects() if type(o) is Item),
    "aio_fields": [[t, label, "%x" % i] for t, label, i in AIO_FIELDS],
})
publish(TRUTH, truth)
del truth
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
