#!/usr/bin/env python3
"""leaktop dump --json --gc-only: census accuracy against in-process truth (TAP).

For every interpreter and every scenario (classes, cycles, generators) the
target computes its own census with gc.get_objects() + sys.getsizeof(), then
sleeps; leaktop must report the same.

Tolerances, and why:
  * Scenario types (Leaky, Slotted, Node, builtins.generator) must match the
    truth EXACTLY in count and bytes: nothing else creates or frees them.
  * Other types: the target builds a few bookkeeping objects after counting
    (the truth dict, json encoder state, frames on 3.8-3.10) and frees most of
    them before it sleeps; the target keeps GC disabled from the count on,
    so nothing is collected behind our back.  Measured drift is 0, but we
    allow: every type with >= 50 objects (in truth or census) within 1% in
    count (at least 2 objects) and 2% in bytes (at least the bytes of the
    allowed extra objects); census.gc_tracked within max(100, 0.5%) of the
    truth's object total; census.bytes within 2% of the truth's bytes.
  * Internal consistency (sort order, sums) is exact.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

SCENARIOS = ("classes", "cycles", "generators")
AT_LEAST = {"builtins.generator"}      # the truth may hold a few more
LAYOUT_SOURCES = ("dwarf", "debug-offsets", "table")
GROUPS = ("dump --json exits 0 with one JSON object",
          "metadata",
          "scenario types exact",
          "per-type counts and bytes",
          "totals",
          "type list sorted and consistent",
          "target running and untraced afterwards")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def need(p, doc):
    p.require(doc is not None, "no census from leaktop (see the dump --json test point)")


def check_metadata(p, doc, target):
    truth = target.truth
    p.check(doc.get("format") == "leaktop-dump/1",
            "format is %r, want 'leaktop-dump/1'" % doc.get("format"))
    p.check(doc.get("pid") == target.pid,
            "pid is %r, want %d" % (doc.get("pid"), target.pid))
    ta = doc.get("taken_at")
    p.check(isinstance(ta, str) and TIME_RE.match(ta),
            "taken_at %r is not an ISO-8601 UTC time like 2026-11-21T18:00:00Z" % ta)
    pu = doc.get("pause_us")
    p.check(is_int(pu) and pu > 0, "pause_us is %r, want an integer > 0" % pu)
    py = doc.get("python")
    p.require(isinstance(py, dict), "no 'python' object")
    want_versions = (truth["version"], truth.get("version_full"))
    p.check(py.get("version") in want_versions,
            "python.version is %r, want %r" % (py.get("version"), truth["version"]))
    p.check(py.get("free_threaded") is False,
            "python.free_threaded is %r, want false" % py.get("free_threaded"))
    exe = py.get("executable")
    p.check(isinstance(exe, str) and
            os.path.realpath(exe) == os.path.realpath(truth["executable"]),
            "python.executable is %r, want %r (same file)"
            % (exe, truth["executable"]))
    p.check(py.get("layout_source") in LAYOUT_SOURCES,
            "python.layout_source is %r, want one of %s"
            % (py.get("layout_source"), ", ".join(LAYOUT_SOURCES)))
    census = doc.get("census")
    p.require(isinstance(census, dict), "no 'census' object")
    p.check(census.get("complete") is True,
            "census.complete is %r on a quiescent target, want true (notes: %r)"
            % (census.get("complete"), census.get("notes")))
    notes = census.get("notes")
    p.check(isinstance(notes, list) and all(isinstance(n, str) for n in notes),
            "census.notes is %r, want a list of strings" % (notes,))


def census_types(p, doc):
    census = doc.get("census")
    p.require(isinstance(census, dict), "no 'census' object")
    types = census.get("types")
    p.require(isinstance(types, list), "census.types is not a list")
    by_name = {}
    for t in types:
        p.require(isinstance(t, dict) and isinstance(t.get("type"), str),
                  "malformed census.types entry %r" % (t,))
        by_name[t["type"]] = t
    return census, types, by_name


def check_exact(p, doc, target):
    truth = target.truth
    _c, _t, by_name = census_types(p, doc)
    for name, expect in sorted(truth["scenario"]["expect"].items()):
        tt = truth["types"].get(name, {"count": 0, "bytes": 0})
        if name in AT_LEAST:
            p.require(tt["count"] >= expect, "target bug: truth has %d %s, "
                      "expected at least %d" % (tt["count"], name, expect))
        else:
            p.require(tt["count"] == expect, "target bug: truth has %d %s, "
                      "expected %d" % (tt["count"], name, expect))
        ct = by_name.get(name)
        if not p.check(ct is not None, "%s missing from census (truth: count %d, "
                       "bytes %d)" % (name, tt["count"], tt["bytes"])):
            continue
        p.check(ct.get("count") == tt["count"],
                "%s count %r, want %d" % (name, ct.get("count"), tt["count"]))
        p.check(ct.get("bytes") == tt["bytes"],
                "%s bytes %r, want %d" % (name, ct.get("bytes"), tt["bytes"]))
        p.check(ct.get("gc_tracked") == tt["count"],
                "%s gc_tracked %r, want %d" % (name, ct.get("gc_tracked"), tt["count"]))


def check_per_type(p, doc, target):
    truth_types = target.truth["types"]
    _c, _t, by_name = census_types(p, doc)
    names = set(n for n, t in truth_types.items() if t["count"] >= 50)
    names |= set(n for n, t in by_name.items()
                 if is_int(t.get("count")) and t["count"] >= 50)
    bad = []
    small = []                  # informational: types under 50 that differ
    for name in sorted(set(truth_types) | set(by_name)):
        if name in names:
            continue
        tt = truth_types.get(name, {"count": 0, "bytes": 0})
        ct = by_name.get(name, {})
        if (ct.get("count", 0), ct.get("bytes", 0)) != (tt["count"], tt["bytes"]):
            small.append("  %-38s truth %8d obj %10d B   census %8s obj %10s B"
                         % (name, tt["count"], tt["bytes"], ct.get("count", "-"),
                            ct.get("bytes", "-")))
    for name in sorted(names):
        tt = truth_types.get(name, {"count": 0, "bytes": 0})
        ct = by_name.get(name)
        tc, tb = tt["count"], tt["bytes"]
        if ct is None:
            bad.append("%-40s truth %8d obj %10d B   census: missing" % (name, tc, tb))
            continue
        cc, cb = ct.get("count"), ct.get("bytes")
        if not (is_int(cc) and is_int(cb)):
            bad.append("%-40s census count/bytes not integers: %r" % (name, ct))
            continue
        cnt_tol = max(2.0, 0.01 * tc)
        byte_tol = max(0.02 * tb, cnt_tol * (float(tb) / tc if tc else 0.0))
        if abs(cc - tc) > cnt_tol or abs(cb - tb) > byte_tol:
            bad.append("%-40s truth %8d obj %10d B   census %8d obj %10d B"
                       % (name, tc, tb, cc, cb))
    p.diag("%d types with >= 50 objects compared" % len(names))
    if small:
        p.diag("info (not checked): %d type(s) with < 50 objects differ:" % len(small))
        for line in small[:15]:
            p.diag(line)
        if len(small) > 15:
            p.diag("  ... (%d more)" % (len(small) - 15))
    if bad:
        p.fail("%d type(s) outside tolerance (count 1%%, bytes 2%%):\n%s"
               % (len(bad), "\n".join(bad)))


def check_totals(p, doc, target):
    truth = target.truth
    p.require(truth.get("freeze_count") == truth.get("frozen"),
              "target bug: gc.get_freeze_count() %r, target froze %r objects"
              % (truth.get("freeze_count"), truth.get("frozen")))
    census, _t, _b = census_types(p, doc)
    objs, gct, byt = census.get("objects"), census.get("gc_tracked"), census.get("bytes")
    p.require(is_int(objs) and is_int(gct) and is_int(byt),
              "census objects/gc_tracked/bytes not integers: %r %r %r" % (objs, gct, byt))
    p.check(objs == gct, "census.objects %d != census.gc_tracked %d (the census "
            "--gc-only covers only GC-tracked objects)" % (objs, gct))
    tol = max(100, 0.005 * truth["objects"])
    p.check(abs(gct - truth["objects"]) <= tol,
            "census.gc_tracked %d vs truth %d: off by %d (tolerance %d)"
            % (gct, truth["objects"], gct - truth["objects"], tol))
    btol = 0.02 * truth["bytes"]
    p.check(abs(byt - truth["bytes"]) <= btol,
            "census.bytes %d vs truth %d: off by %d (tolerance %d)"
            % (byt, truth["bytes"], byt - truth["bytes"], btol))
    p.diag("gc_tracked %d (truth %d), bytes %d (truth %d)"
           % (gct, truth["objects"], byt, truth["bytes"]))


def check_consistency(p, doc):
    census, types, _b = census_types(p, doc)
    for t in types:
        p.require(all(is_int(t.get(k)) and t.get(k) >= 0
                      for k in ("count", "gc_tracked", "bytes")),
                  "entry without non-negative integer count/gc_tracked/bytes: %r" % (t,))
    names = [t["type"] for t in types]
    p.check(len(names) == len(set(names)), "duplicate type names in census.types")
    p.check(all(t["count"] > 0 for t in types), "census.types has entries with count 0")
    unsorted = [(a["type"], a["bytes"], b["type"], b["bytes"])
                for a, b in zip(types, types[1:]) if a["bytes"] < b["bytes"]]
    p.check(not unsorted, "types not sorted by bytes descending, first: %r"
            % (unsorted[:1],))
    for key in ("count", "gc_tracked", "bytes"):
        total_key = "objects" if key == "count" else key
        s = sum(t[key] for t in types)
        p.check(s == census.get(total_key),
                "sum of types[].%s is %d, census.%s is %r"
                % (key, s, total_key, census.get(total_key)))


def run_scenario(tap, py, scenario):
    tag = "[%s]" % py.label
    descs = ["census %s: %s %s" % (scenario, g, tag) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = None
    doc = None
    try:
        with tap.point(descs[0]) as p:
            target = H.start_target(py, "census_target.py", scenario)
            # The truth is what the GC tracks: compare the GC-only census
            # (the full census is test_untracked.py's).
            args = ["dump", "--json", "--gc-only", target.pid]
            rc, out, err = H.run_leaktop(args)
            run_diag = H.describe_run(args, rc, out, err, limit=8)
            if rc != 0:
                p.fail("exit status %s, want 0" % rc)
                p.diag("\n".join(run_diag))
            else:
                try:
                    doc = json.loads(out)
                except ValueError as e:
                    p.fail("stdout is not JSON: %s" % e)
                    p.diag("\n".join(run_diag))
                if doc is not None and not isinstance(doc, dict):
                    p.fail("JSON is a %s, want an object" % type(doc).__name__)
                    doc = None
            if err.strip() and rc == 0:
                p.diag("stderr: " + err.strip())
        with tap.point(descs[1]) as p:
            need(p, doc)
            check_metadata(p, doc, target)
        with tap.point(descs[2]) as p:
            need(p, doc)
            check_exact(p, doc, target)
        with tap.point(descs[3]) as p:
            need(p, doc)
            check_per_type(p, doc, target)
        with tap.point(descs[4]) as p:
            need(p, doc)
            check_totals(p, doc, target)
        with tap.point(descs[5]) as p:
            need(p, doc)
            check_consistency(p, doc)
        with tap.point(descs[6]) as p:
            p.require(target is not None, "target did not start")
            target.assert_alive_progressing()
    finally:
        if target is not None:
            target.stop()


def main(tap, pythons):
    for py in pythons:
        for scenario in SCENARIOS:
            run_scenario(tap, py, scenario)


if __name__ == "__main__":
    H.run_main(main)
