#!/usr/bin/env python3
"""The memory a pandas service holds, counted from outside (TAP).

pandas_target.py builds a 200,000-row DataFrame (integers, floats,
strings, a categorical), a derived Series and a string Index, then counts
what it holds itself: the closure over gc.get_referents() from every object
the collector lists (plus the items of numpy object arrays and what code
objects hold, which have no traverse), each sized by sys.getsizeof, a class
whose __sizeof__ is Python code by object.__sizeof__.  On interpreters with
pandas (Debian's python3-pandas on its python3.11; the others skip):
- leaktop's census total (objects and the buffers they own) is within 5%
  of the target's own accounting (leaktop also counts what only C holds:
  interned strings, objects found in pymalloc's arenas);
- numpy.ndarray carries its owned data as buffer_bytes, and pandas' own
  classes are marked sizeof "object only";
- the 1,000 objects in a numpy array of objects are reached through it
  (numpy has no traverse: leaktop reads the items), by MARKERS[i];
- the target runs untraced afterwards.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("objects and owned buffers within 5% of the target's own accounting",
          "ndarray data as buffer_bytes; pandas' classes sized 'object only'",
          "the items of numpy arrays of objects (1-D; 2-D in Fortran order) are reached "
          "through them",
          "a DataFrame's object column: every Tag reached through the frame's Cython Block",
          "target running and untraced afterwards")


def run_python(tap, py):
    descs = ["pandas: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    with H.start_target(py, "pandas_target.py", timeout=300) as target:
        truth = target.truth
        if not truth.get("pandas"):
            for d in descs:
                tap.skip(d, H.missing_debian_module(py, "pandas", "python3-pandas"))
            return
        args = ["dump", "--json", target.pid]
        rc, out, err = H.run_leaktop(args, timeout=300)
        census = json.loads(out)["census"] if rc == 0 else None
        with tap.point(descs[0]) as p:
            p.require(census, "\n".join(H.describe_run(args, rc, out, err, limit=10)))
            ratio = census["bytes"] / truth["bytes"]
            p.diag("pandas %s, numpy %s: leaktop %d objects, %d B (%d B owned buffers); the "
                   "target %d objects, %d B: %.3f" % (truth["pandas"], truth["numpy"],
                                                      census["objects"], census["bytes"],
                                                      census["buffer_bytes"], truth["objects"],
                                                      truth["bytes"], ratio))
            p.check(0.95 <= ratio <= 1.05, "leaktop %d B, the target %d B: %.3f"
                    % (census["bytes"], truth["bytes"], ratio))
        with tap.point(descs[1]) as p:
            p.require(census, "no census")
            rows = {t["type"]: t for t in census["types"]}
            nd = rows.get("numpy.ndarray", {})
            # the frame's columns: two 8-byte numbers per row at least
            p.check(nd.get("buffer_bytes", 0) >= 16 * truth["rows"],
                    "numpy.ndarray %r" % nd)
            frame = rows.get("pandas.core.frame.DataFrame", {})
            p.check(frame.get("sizeof") == "object only", "DataFrame %r" % frame)
        with tap.point(descs[2]) as p:
            for typ, n, holder in (("__main__.Marker", truth["markers"], "MARKERS"),
                                   ("__main__.Cell", truth.get("cells"), "GRID")):
                args = ["why", "--json", target.pid, typ]
                rc, out, err = H.run_leaktop(args, timeout=300)
                if not p.check(rc == 0, "\n".join(H.describe_run(args, rc, out, err,
                                                                limit=10))):
                    continue
                w = json.loads(out)
                ch = w["chains"][0] if w["chains"] else {"count": 0, "path": []}
                path = [st.get("via") for st in ch["path"]]
                p.check(w["selected"] == n and ch["count"] == n and path[1:2] == [holder] and
                        (path[-1] or "").startswith("["),
                        "%s: selected %d of %s, %d by the first chain, path %s"
                        % (typ, w["selected"], n, ch["count"], path))
        with tap.point(descs[3]) as p:
            args = ["why", "--json", target.pid, "__main__.Tag"]
            rc, out, err = H.run_leaktop(args, timeout=300)
            p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err, limit=10)))
            w = json.loads(out)
            ch = w["chains"][0] if w["chains"] else {"count": 0, "path": []}
            path = [st.get("via") for st in ch["path"]]
            p.check(w["selected"] == truth["tags"] and ch["count"] == w["selected"] and
                    path[1:2] == ["TAGGED"] and ch["root"]["kind"] == "module",
                    "selected %d of %d, %d by the first chain, path %s"
                    % (w["selected"], truth["tags"], ch["count"], path))
        with tap.point(descs[4]) as p:
            p.untraced(target.pid)
            target.assert_alive_progressing()


if __name__ == "__main__":
    H.run_each(run_python)
