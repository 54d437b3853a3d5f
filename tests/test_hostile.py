#!/usr/bin/env python3
"""A corrupt heap: leaktop answers, never crashes or hangs, target unharmed (TAP).

The target breaks its own heap with ctypes (a GC list back-link, a type
pointer, a dict's keys pointer, a string's length) and sleeps.  For each,
`leaktop dump --json` must exit 0 within its timeout with a census that says
what it could not walk (complete false and a note) or that simply leaves the
bad object out, and the target must keep running, untraced.  The full and the
GC-only census, the text dump and watch are all exercised.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

MODES = ("prev", "type", "dictkeys", "strlen")


def run_python(tap, py):
    for mode in MODES:
        desc = "hostile %s: dump, text and watch answer; target unharmed [%s]" % (mode, py.label)
        if py.skip_reason:
            tap.skip(desc, py.skip_reason)
            continue
        target = H.start_target(py, "hostile_target.py", mode, timeout=60)
        try:
            with tap.point(desc) as p:
                for args in (["dump", "--json", target.pid],
                             ["dump", "--json", "--gc-only", target.pid],
                             ["dump", target.pid],
                             ["watch", "--json", "--count", 2, "--interval", 0.2, target.pid]):
                    rc, out, err = H.run_leaktop(args, timeout=60)
                    if not p.check(rc == 0, "%s: exit %s" % (" ".join(map(str, args)), rc)):
                        p.diag("\n".join(H.describe_run(args, rc, out, err, limit=6)))
                        continue
                    if "--json" in args:
                        doc = json.loads(out.splitlines()[-1])
                        census = doc["census"]
                        leaky = [t for t in census["types"] if t["type"] == "__main__.Leaky"]
                        p.diag("%s: complete %s, Leaky %s, notes %s" % (
                            args[-2] if "--gc-only" in args else "full", census["complete"],
                            leaky and leaky[0]["count"], census["notes"][1:]))
                        if mode == "prev":
                            p.check(not census["complete"] and
                                    any("broken" in n for n in census["notes"]),
                                    "a broken GC list not reported: %r" % census["notes"])
                p.untraced(target.pid)
                target.assert_alive_progressing()
        finally:
            target.stop()


if __name__ == "__main__":
    H.run_each(run_python)
