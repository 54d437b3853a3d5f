#!/usr/bin/env python3
"""leaktop test target: a pandas workload and its own memory accounting.

usage: pandas_target.py TRUTH HEARTBEAT

Builds a DataFrame of ROWS rows (integers, floats, strings, a categorical),
a derived Series, a string Index, a numpy array of 1,000 Marker objects,
GRID, a 40 x 50 array of Cell objects in Fortran order (owned, not
C-contiguous), and TAGGED, a DataFrame with a column of 2,000 Tag objects,
then counts what it holds as a tool
inside the process would: the closure over gc.get_referents() from every
object the collector lists, each sized by sys.getsizeof, except that a
class whose __sizeof__ is Python code (pandas' own: DataFrame's runs
memory_usage(deep=True)) is sized by object.__sizeof__, as leaktop must.
The closure also takes what gc.get_referents leaves out: the items of
numpy object arrays and what code objects hold.
The truth says {"pandas": false} when pandas cannot be imported.
"""
import gc
import inspect
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
ROWS = 200000

try:
    import numpy as np
    import pandas as pd
except ImportError:
    publish(TRUTH, {"pandas": False})
    sleep_until_orphaned(open_heartbeat(HEARTBEAT))

rng = np.random.default_rng(7)
FRAME = pd.DataFrame({
    "id": np.arange(ROWS),
    "price": rng.random(ROWS),
    "name": ["item-%06d" % (i % 50000) for i in range(ROWS)],
    "kind": pd.Categorical(rng.choice(["a", "b", "c"], ROWS)),
})
DOUBLED = FRAME["price"] * 2
KEYS = pd.Index(["key-%d" % i for i in range(20000)])


class Marker(object):
    pass


# A numpy array of objects: numpy has no traverse, only leaktop's reading
# of its items reaches them.
MARKERS = np.array([Marker() for _ in range(1000)], dtype=object)


class Cell(object):
    pass


GRID = np.empty((40, 50), dtype=object, order="F")
for i in range(40):
    for j in range(50):
        GRID[i, j] = Cell()
del i, j


class Tag(object):
    pass


# A DataFrame with a column of objects: its Block (a Cython class) keeps
# the column's ndarray in a C field, which only the conservative scan finds.
TAGGED = pd.DataFrame({"tag": [Tag() for _ in range(2000)]})


def python_sizeof(tp, memo={}):
    if tp not in memo:
        memo[tp] = isinstance(inspect.getattr_static(tp, "__sizeof__", None), types.FunctionType)
    return memo[tp]


CODE_PARTS = ("co_consts", "co_names", "co_varnames", "co_freevars", "co_cellvars", "co_filename",
              "co_name", "co_qualname", "co_code", "co_lnotab", "co_linetable",
              "co_exceptiontable")


def referents(o):
    """gc.get_referents(o), and what it leaves out: the items of numpy
    arrays of objects (numpy gives no traverse) and what code objects
    hold (no traverse either)."""
    out = gc.get_referents(o)
    if isinstance(o, np.ndarray) and o.dtype == object and o.base is None:
        out = out + list(o.ravel())
    elif isinstance(o, types.CodeType):
        out = out + [getattr(o, a) for a in CODE_PARTS if hasattr(o, a)]
    return out


def accounting():
    gc.collect()
    stack = gc.get_objects()
    seen = set(map(id, stack))
    total = count = 0
    while stack:
        o = stack.pop()
        count += 1
        size = sys.getsizeof(o)
        if python_sizeof(type(o)):
            size += object.__sizeof__(o) - type(o).__sizeof__(o)
        total += size
        for r in referents(o):
            if id(r) not in seen:
                seen.add(id(r))
                stack.append(r)
    return total, count


total, count = accounting()
publish(TRUTH, {"pandas": pd.__version__, "numpy": np.__version__, "bytes": total,
                "objects": count, "rows": ROWS, "markers": len(MARKERS), "cells": GRID.size,
                "tags": len(TAGGED)})
del total, count
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
