#!/usr/bin/env python3
"""Layout sources agree, stripped builds work, wrong layouts are refused (TAP).

For every interpreter, the census of a quiescent target (50,000 Leaky) is
taken with --layout dwarf and --layout table: the GC-only and the full
census must be identical type by type.  With its debug info hidden
(LEAKTOP_DEBUGINFO_PATH pointing nowhere), a stripped build (Debian's
python3.X) must still be read, through the built-in table, with the exact
Leaky count.  A deliberately wrong layout (LEAKTOP_LAYOUT_OVERRIDE, a test
hook) must be refused with one line naming the version, exit 1, the target
running and untraced.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("--layout table reports layout_source table",
          "GC-only census: dwarf and table identical",
          "full census: dwarf and table identical",
          "no separate debug info: auto still reads it (debug offsets, DWARF or table), Leaky exact",
          "a wrong layout is refused: one line, exit 1, target untraced",
          "3.13+: debug offsets give the same census as DWARF; a bad blob is refused")


def census(args, env=None):
    old = {}
    for k, v in (env or {}).items():
        old[k] = os.environ.get(k)
        os.environ[k] = v
    try:
        rc, out, err = H.run_leaktop(args, timeout=120)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    doc = json.loads(out) if rc == 0 else None
    return rc, doc, err


def rows(doc):
    return {t["type"]: (t["count"], t["gc_tracked"], t["bytes"]) for t in doc["census"]["types"]}


def run_python(tap, py):
    descs = ["layouts: %s [%s]" % (g, py.label) for g in GROUPS]
    reason = py.skip_reason or (py.hide_debug and "its debug files are hidden: no DWARF to "
                                "compare the other sources with")
    if reason:
        for d in descs:
            tap.skip(d, reason)
        return
    target = H.start_target(py, "census_target.py", "classes")
    try:
        pid = target.pid
        with tap.point(descs[0]) as p:
            rc, doc, err = census(["dump", "--json", "--layout", "table", pid])
            p.require(rc == 0, "exit %s: %s" % (rc, err.strip()))
            p.check(doc["python"]["layout_source"] == "table",
                    "layout_source %r" % doc["python"]["layout_source"])
        for desc, extra in ((descs[1], ["--gc-only"]), (descs[2], [])):
            with tap.point(desc) as p:
                rc1, d1, e1 = census(["dump", "--json", "--layout", "dwarf"] + extra + [pid])
                rc2, d2, e2 = census(["dump", "--json", "--layout", "table"] + extra + [pid])
                p.require(rc1 == 0 and rc2 == 0, "exit %s/%s: %s %s" % (rc1, rc2, e1, e2))
                diff = H.census_difference(rows(d1), rows(d2))
                p.check(not diff, "dwarf vs table: " + diff)
        with tap.point(descs[3]) as p:
            rc, doc, err = census(["dump", "--json", "--gc-only", pid],
                                  {"LEAKTOP_DEBUGINFO_PATH": "/nonexistent-debuginfo"})
            p.require(rc == 0, "exit %s: %s" % (rc, err.strip()))
            src = doc["python"]["layout_source"]
            # 3.13+ publish debug offsets; builds with DWARF inside the binary
            # still use it; the others (stripped, debug info in a separate
            # file) must use the table.
            p.check(src in ("debug-offsets", "dwarf", "table"), "layout_source %r" % src)
            p.diag("without separate debug files: layout %s" % src)
            leaky = [t for t in doc["census"]["types"] if t["type"] == "__main__.Leaky"]
            p.check(leaky and leaky[0]["count"] == 50000, "Leaky %r" % leaky)
        with tap.point(descs[4]) as p:
            # Each wrong for every version (3.15 keeps its generations at 8).
            for override in ("tp_name=48", "gcs_generations=0", "ob_type=16"):
                rc, doc, err = census(["dump", "--layout", "table", pid],
                                      {"LEAKTOP_LAYOUT_OVERRIDE": override})
                lines = err.strip().splitlines()
                p.check(rc == 1, "%s: exit %s, want 1" % (override, rc))
                p.check(len(lines) == 1 and "%d.%d" % py.version[:2] in lines[0] and
                        ("does not fit" in lines[0] or "not usable" in lines[0]),
                        "%s: stderr %r" % (override, err))
            p.untraced(pid)
        with tap.point(descs[5]) as p:
            if py.version < (3, 13):
                p.skip("no _Py_DebugOffsets before 3.13")
            rc1, d1, e1 = census(["dump", "--json", "--layout", "dwarf", pid])
            rc2, d2, e2 = census(["dump", "--json", "--layout", "debug-offsets", pid])
            p.require(rc1 == 0 and rc2 == 0, "exit %s/%s: %s %s" % (rc1, rc2, e1, e2))
            p.check(d2["python"]["layout_source"] == "debug-offsets", "layout_source %r"
                    % d2["python"]["layout_source"])
            diff = H.census_difference(rows(d1), rows(d2))
            p.check(not diff, "dwarf vs debug offsets: " + diff)
            rc, doc, err = census(["dump", "--layout", "debug-offsets", pid],
                                  {"LEAKTOP_LAYOUT_OVERRIDE": "dbg_version=0"})
            p.check(rc == 1 and "_Py_DebugOffsets" in err, "bad blob: exit %s, %r" % (rc, err))
    finally:
        target.stop()


if __name__ == "__main__":
    H.run_each(run_python)
