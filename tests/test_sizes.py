#!/usr/bin/env python3
"""Sizes of C types with a __sizeof__ of their own, against getsizeof (TAP).

sizes_target.py makes objects of such types and sums sys.getsizeof over
every instance it can see (its own and all that gc.get_objects() and their
referents reach).  Checked on every interpreter, from `dump --json`:
- array.array, _struct.Struct, the C ElementTree Element, mmap.mmap,
  decimal.Decimal, bytearray subclasses, ctypes' StgDict (3.8-3.12) and the classes of
  ctypes' metaclasses (their StgInfo from 3.13), and a subclass of each:
  each census row's count and bytes equal the truth exactly;
- buffer_bytes: an array's items, a bytearray's bytes and a long Decimal's
  words (getsizeof less that of an empty one or of Decimal 0); the census-level buffer_bytes is the rows' sum;
- mapped_bytes: the open mmaps' lengths, apart from bytes;
- "sizeof": "object only" on the rows of classes whose __sizeof__ is a
  Python function (and their subclasses), on no other row;
- numpy (Debian's python3-numpy on Debian's python3.11; skipped where the
  interpreter has no numpy): numpy.ndarray and a subclass, with arrays that
  own their data, views and arrays over bytes: bytes equal the sum of
  getsizeof, buffer_bytes the owned data's nbytes (plus, for ndarray, the
  few arrays numpy holds from C, measured by a dump right after the import:
  the target cannot see them);
- the target runs untraced afterwards.
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("array, Struct, Element, mmap, Decimal, ctypes rows: count and bytes equal getsizeof's",
          "buffer_bytes: array items, bytearray bytes, Decimal words; census's is the sum",
          "mapped_bytes: the open mmaps' lengths, apart from bytes",
          'sizeof "object only" exactly on classes with a Python __sizeof__',
          "numpy.ndarray: bytes equal getsizeof's sum, buffer_bytes the owned data",
          "target running and untraced afterwards")


def dump(p, pid):
    args = ["dump", "--json", "--top", "0", pid]
    rc, out, err = H.run_leaktop(args, timeout=120)
    doc = json.loads(out) if rc == 0 and out.strip() else None
    p.require(doc, "\n".join(H.describe_run(args, rc, out, err)))
    return doc


def rows_of(doc):
    return {r["type"]: r for r in doc["census"]["types"]}


def check_rows(p, rows, truth, names, what=("count", "bytes")):
    for name in names:
        want, got = truth[name], rows.get(name)
        if not want["count"]:
            p.check(got is None, "%s: no objects in the target, leaktop has %r" % (name, got))
            continue
        if not p.check(got, "no census row %s" % name):
            continue
        for k in what:
            key = {"buffer": "buffer_bytes", "mapped": "mapped_bytes"}.get(k, k)
            p.check(got.get(key, 0) == want[k], "%s: %s %d, the target says %d" % (
                name, key, got.get(key, 0), want[k]))


def run_python(tap, py):
    descs = ["sizes: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    with H.start_target(py, "sizes_target.py", "stdlib", timeout=300) as target:
        truth, pid = target.truth, target.pid
        doc = None
        with tap.point(descs[0]) as p:
            doc = dump(p, pid)
            rows = rows_of(doc)
            check_rows(p, rows, truth["types"], truth["exact"])
            p.diag("; ".join("%s %d B" % (n, truth["types"][n]["bytes"]) for n in truth["exact"]
                             if truth["types"][n]["count"]))
        with tap.point(descs[1]) as p:
            p.require(doc, "no dump")
            names = [n for n in truth["exact"] if truth["types"][n]["buffer"]]
            p.check(len(names) >= 3, "rows with buffers in the truth: %s" % names)
            check_rows(p, rows, truth["types"], names, ("buffer",))
            for n in truth["exact"]:
                if not truth["types"][n]["buffer"] and n in rows:
                    p.check("buffer_bytes" not in rows[n], "%s has buffer_bytes %r" % (
                        n, rows[n].get("buffer_bytes")))
            census = doc["census"]
            p.check(census.get("buffer_bytes") == sum(r.get("buffer_bytes", 0)
                                                      for r in census["types"]),
                    "census buffer_bytes %r is not the rows' sum" % census.get("buffer_bytes"))
            bytearray_row = rows.get("builtins.bytearray") or {}
            p.check(bytearray_row.get("buffer_bytes", 0) >=
                    truth["types"]["builtins.bytearray"]["buffer"],
                    "builtins.bytearray buffer_bytes %r < the target's own %d" % (
                        bytearray_row.get("buffer_bytes"),
                        truth["types"]["builtins.bytearray"]["buffer"]))
        with tap.point(descs[2]) as p:
            p.require(doc, "no dump")
            check_rows(p, rows, truth["types"], ["mmap.mmap"], ("mapped",))
            p.check(truth["types"]["mmap.mmap"]["mapped"] > 0, "no mapping in the truth")
            census = doc["census"]
            p.check(census.get("mapped_bytes") == sum(r.get("mapped_bytes", 0)
                                                      for r in census["types"]),
                    "census mapped_bytes %r is not the rows' sum" % census.get("mapped_bytes"))
        with tap.point(descs[3]) as p:
            p.require(doc, "no dump")
            marked = sorted(n for n, r in rows.items() if r.get("sizeof") == "object only")
            p.check(marked == sorted(truth["object_only"]),
                    'rows marked "object only": %s, want %s' % (marked, truth["object_only"]))
            for n in truth["not_object_only"]:
                p.check(n in rows, "no census row %s" % n)
            bad = [r for r in rows.values() if "sizeof" in r and r["sizeof"] != "object only"]
            p.check(not bad, "sizeof values: %r" % bad[:3])
        with tap.point(descs[5]) as p:
            p.untraced(pid)
            target.assert_alive_progressing()
    with tap.point(descs[4]) as p:
        numpy(p, py)


def numpy(p, py):
    with H.start_target(py, "sizes_target.py", "numpy", timeout=300) as target:
        truth = target.truth
        if not truth.get("numpy"):
            p.skip(H.missing_debian_module(py, "numpy", "python3-numpy"))
        # numpy's import leaves a few arrays held only from C: the target
        # cannot see them, leaktop finds them in the arenas.  Take them from
        # a dump before the target makes its arrays.
        before = rows_of(dump(p, target.pid)).get("numpy.ndarray") or {}
        base = truth["baseline"]["numpy.ndarray"]
        extra = {k: before.get(key, 0) - base[k] for k, key in
                 (("count", "count"), ("bytes", "bytes"), ("buffer", "buffer_bytes"))}
        p.check(extra["count"] >= 0 and extra["count"] <= 16, "after the import leaktop has %r, "
                "the target sees %r" % (before, base))
        with open(target.truth_path + ".go", "w"):
            pass
        deadline = time.time() + 60
        while truth.get("phase") != "arrays" and time.time() < deadline:
            time.sleep(0.05)
            try:
                with open(target.truth_path) as f:
                    truth = json.load(f)
            except (OSError, ValueError):
                pass
        p.require(truth.get("phase") == "arrays", "the target did not make its arrays:\n%s"
                  % "\n".join(target.stderr_tail()))
        p.require(target.wait_heartbeat(target.heartbeat() or 0, 10), "no heartbeat after")
        rows = rows_of(dump(p, target.pid))
        for k in ("count", "bytes", "buffer"):
            truth["types"]["numpy.ndarray"][k] += extra[k]
        check_rows(p, rows, truth["types"], truth["exact"], ("count", "bytes", "buffer"))
        nd = truth["types"]["numpy.ndarray"]
        p.check(nd["count"] - base["count"] - extra["count"] >= sum(truth["mine"].values()),
                "the target has %d ndarrays, made %r" % (nd["count"], truth["mine"]))
        p.diag("numpy %s: numpy.ndarray %d objects, %d B, %d B owned data (of which %d "
               "objects, %d B held from C since the import)" % (
                   truth["numpy"], nd["count"], nd["bytes"], nd["buffer"], extra["count"],
                   extra["bytes"]))
        p.untraced(target.pid)


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
