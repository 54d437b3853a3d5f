#!/usr/bin/env python3
"""leaktop test target: objects of C types with a __sizeof__ of their own.

usage: sizes_target.py TRUTH SCENARIO HEARTBEAT

SCENARIO stdlib: array.array (several typecodes, lengths, grown by append),
_struct.Struct (several formats, one with many codes), Elements of the C
_elementtree (bare, with attributes, with more children than fit inline),
decimal.Decimal (short, long, special, computed),
mmap.mmap of a temporary file (one closed), bytearrays, ctypes classes,
a subclass of each, and classes whose __sizeof__ is a Python function.
SCENARIO numpy: numpy.ndarray owning its data (several dtypes and shapes,
0-d, empty, structured), views (slices, transposes, reshapes), arrays over
bytes (np.frombuffer), a subclass; the truth says {"numpy": false} when
numpy cannot be imported.  In two phases: after the import the truth is
the "baseline" (numpy's own arrays), and the arrays are made once the test
has made TRUTH.go; the truth is then rewritten with phase "arrays".

The truth, per watched type (named as leaktop names it, module.qualname):
the count and the sum of sys.getsizeof of every instance of exactly that
type the target can see: its own, and all that gc.get_objects() and the
referents of those (untracked objects included) reach.  With them:
"buffer" (what the objects own apart: array items, bytearray bytes, a
long Decimal's words, an ndarray's data when it owns it, each measured as
getsizeof less the getsizeof of an empty one, or nbytes), "mapped" (open mmaps' lengths),
and "object_only": the classes whose __sizeof__ is Python code.
"""
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, SCENARIO, HEARTBEAT = sys.argv[1], sys.argv[2], sys.argv[-1]
KEEP = []        # everything made here, held to the end
T = {"scenario": SCENARIO}


def name_of(tp):
    return "%s.%s" % (tp.__module__, tp.__qualname__)


def everything():
    """Every object reachable from gc.get_objects(), by id."""
    seen = {}
    stack = gc.get_objects() + KEEP
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen[id(o)] = o
        for r in gc.get_referents(o):
            if id(r) not in seen:
                stack.append(r)
        # an ndarray refers to its base (the array or buffer whose data it
        # views) without a tp_traverse: np.zeros(5).view(Sub)'s base is
        # held by nothing else
        base = getattr(o, "base", None) if type(o).__name__ in ("ndarray", "Sub") else None
        if base is not None and id(base) not in seen:
            stack.append(base)
    return seen


def account(watched, buffer_of=None, mapped_of=None):
    """The truth for each type in watched (type objects)."""
    want = {t: name_of(t) for t in watched}
    rows = {n: {"count": 0, "bytes": 0, "buffer": 0, "mapped": 0} for n in want.values()}
    for o in everything().values():
        n = want.get(type(o))
        if n is None:
            continue
        r = rows[n]
        r["count"] += 1
        r["bytes"] += sys.getsizeof(o)
        if buffer_of:
            r["buffer"] += buffer_of(o)
        if mapped_of:
            r["mapped"] += mapped_of(o)
    return rows


def stdlib():
    import array
    import ctypes
    import decimal
    import mmap
    import struct
    import xml.etree.ElementTree as ET

    class Arr(array.array):
        pass

    class Packer(struct.Struct):
        pass

    class Node(ET.Element):
        pass

    class Blob(bytearray):
        pass

    class Money(decimal.Decimal):
        pass

    class Sized(object):
        def __init__(self, i):
            self.i = i

        def __sizeof__(self):          # Python code: leaktop cannot run it
            return 1000 + object.__sizeof__(self)

    class SizedChild(Sized):
        pass

    class SizedList(list):
        def __sizeof__(self):
            return 5000

    class Plain(object):
        def __init__(self, i):
            self.i = i

    assert name_of(ET.Element) == "xml.etree.ElementTree.Element", ET.Element  # the C one
    codes = "bBhHiIlLqQfd"
    arrays = []
    for k, tc in enumerate(codes):
        for n in (0, 1, 7, 100, 5000):
            arrays.append(array.array(tc, [1] * n) if tc not in "fd" else
                          array.array(tc, [1.0] * n))
        grown = array.array(tc)
        for i in range(37 + k):
            grown.append(i % 100)     # over-allocated: allocated > len
        arrays.append(grown)
    arrays += [Arr("d", [2.0] * 33), Arr("b"), Arr("q", range(1000))]
    KEEP.append(arrays)

    formats = ["", "i", "10i3sx", "<hhl", "100x", "?" * 40, "4s4s4s" * 30, "@qQdP"]
    structs = [struct.Struct(f) for f in formats for _ in range(3)]
    structs += [Packer("ii"), Packer("!" + "H" * 25)]
    KEEP.append(structs)

    elements = [ET.Element("bare")]
    elements.append(ET.Element("attrs", {"a": "1", "b": "2"}))
    for n in (1, 4, 5, 30):
        parent = ET.Element("parent%d" % n)
        for i in range(n):
            ET.SubElement(parent, "child", {"i": str(i)})
        elements.append(parent)
    node = Node("sub")
    node.append(ET.Element("x"))
    elements.append(node)
    KEEP.append(elements)

    path = TRUTH + ".mmap"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"m" * (3 * 65536 + 100))
    maps = [mmap.mmap(fd, 4096), mmap.mmap(fd, 3 * 65536 + 100), mmap.mmap(fd, 0),
            mmap.mmap(fd, 8192, offset=65536)]
    closed = mmap.mmap(fd, 4096)
    closed.close()
    maps.append(closed)
    os.close(fd)
    os.unlink(path)
    KEEP.append(maps)

    blobs = [Blob(), Blob(b"x" * 10), Blob(b"y" * 100000)]
    grown = Blob()
    for i in range(1000):
        grown.append(i % 256)
    blobs.append(grown)
    KEEP.append(blobs)

    D = decimal.Decimal
    decimals = [D(0), D("1.5"), D("-7e-300"), D("NaN"), D("-Infinity"), D("1" * 50),
                D("9" * 80), D("3" * 1000), D(2) ** 500, D(1) / D(7), Money("12.50"),
                Money("5" * 200)]
    KEEP.append(decimals)

    class Point(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double), ("tag", ctypes.c_char * 12)]

    class Pair(ctypes.Union):
        _fields_ = [("i", ctypes.c_int64), ("d", ctypes.c_double)]

    KEEP.append([Point, Pair, Point * 10, ctypes.c_int * 3 * 4, ctypes.POINTER(Point),
                 ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)])

    sized = [Sized(i) for i in range(20)] + [SizedChild(i) for i in range(5)]
    sized += [SizedList([1, 2, 3]) for _ in range(4)]
    KEEP.append(sized)
    KEEP.append([Plain(i) for i in range(7)])
    struct._clearcache()

    def buffer_of(o):
        if isinstance(o, array.array):
            return sys.getsizeof(o) - sys.getsizeof(type(o)(o.typecode))
        if isinstance(o, bytearray):
            return sys.getsizeof(o) - sys.getsizeof(type(o)())
        if isinstance(o, decimal.Decimal):
            return sys.getsizeof(o) - sys.getsizeof(type(o)(0))
        return 0

    def mapped_of(o):
        return 0 if o.closed else len(o)

    meta = [type(Point), type(Pair), type(Point * 10), type(ctypes.POINTER(Point)),
            type(ctypes.c_int), type(ctypes.CFUNCTYPE(ctypes.c_int))]
    stgdicts = [type(r) for r in gc.get_referents(Point.__dict__) if isinstance(r, dict)]
    gc.collect()
    T["types"] = account([array.array, Arr, bytearray, Blob], buffer_of=buffer_of)
    T["types"].update(account([struct.Struct, Packer, ET.Element, Node]))
    T["types"].update(account([decimal.Decimal, Money], buffer_of=buffer_of))
    T["types"].update(account([mmap.mmap], mapped_of=mapped_of))
    T["types"].update(account(set(meta) | set(t for t in stgdicts if t is not dict)))
    T["exact"] = sorted(T["types"])
    # bytearray: the interpreter and leaktop's walk may make or find others
    T["exact"].remove("builtins.bytearray")
    T["object_only"] = [name_of(Sized), name_of(SizedChild), name_of(SizedList)]
    T["not_object_only"] = [name_of(Plain), name_of(Arr), "builtins.list"]


def numpy_scenario():
    try:
        import numpy as np
    except ImportError as e:
        T["numpy"] = False
        T["why"] = str(e)
        return
    T["numpy"] = np.__version__

    class Sub(np.ndarray):
        pass

    def make():
        owned = [np.zeros(0), np.zeros(()), np.arange(10), np.ones((30, 40)),
                 np.zeros((2, 3, 4, 5), dtype=np.int16), np.zeros(7, dtype="S13"),
                 np.zeros(9, dtype=[("a", "i4"), ("b", "f8"), ("c", "u1", (3,))]),
                 np.array([1, "x", None], dtype=object), np.empty(100000, dtype=np.uint8),
                 np.arange(24.0).reshape(4, 6).copy(), np.full(1000, 3, dtype=np.complex128)]
        base = np.arange(1000.0)
        views = [base[10:20], base[::3], base.reshape(10, 100), base.reshape(10, 100).T,
                 owned[3][5], owned[3][:, 1], base.view(np.int64)]
        payload = b"0123456789abcdef" * 64
        over_bytes = [np.frombuffer(payload, dtype=np.uint8),
                      np.frombuffer(payload, dtype=np.float64),
                      np.frombuffer(bytearray(b"\0" * 800), dtype=np.int32)]
        subs = [np.zeros(5).view(Sub), Sub((3, 3))]
        T["mine"] = {"owned": len(owned) + 1, "views": len(views),
                     "over_bytes": len(over_bytes)}
        return [owned, base, views, payload, over_bytes, subs]

    def buffer_of(a):
        return a.nbytes if a.flags.owndata else 0

    # numpy holds a few arrays from C that no referent reaches (leaktop
    # finds them in pymalloc's arenas), some made on first use: make the
    # arrays once and drop them, publish the state then (the baseline),
    # wait for the test's dump of it, then make them again and keep them.
    make()
    gc.collect()
    T["phase"] = "baseline"
    T["baseline"] = account([np.ndarray], buffer_of=buffer_of)
    publish(TRUTH, T)
    hb, beat, ppid = open_heartbeat(HEARTBEAT), 0, os.getppid()
    while not os.path.exists(TRUTH + ".go"):
        beat += 1
        os.pwrite(hb, b"%20d\n" % beat, 0)
        time.sleep(0.1)
        if beat > 3000 or os.getppid() != ppid:
            os._exit(1)
    os.close(hb)
    T["phase"] = "arrays"
    KEEP.append(make())
    gc.collect()
    T["types"] = account([np.ndarray, Sub], buffer_of=buffer_of)
    T["exact"] = sorted(T["types"])


gc.collect()
gc.disable()
if SCENARIO == "numpy":
    numpy_scenario()
else:
    stdlib()
gc.collect()
publish(TRUTH, T)
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
