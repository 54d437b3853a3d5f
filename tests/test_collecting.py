#!/usr/bin/env python3
"""leaktop dump while the target is collecting garbage non-stop (TAP).

A thread in the target runs gc.collect() over a 250,000-object heap in a
loop, so leaktop often stops it in the middle of a collection, when objects
sit on lists whose heads are on the C stack and _gc_prev holds gc_refs.
leaktop must let the collection finish and stop again (bounded retries), or
else report the census as incomplete with a note saying why; never crash,
never report a wrong count as complete, never leave the target stopped.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

DUMPS = 6
GROUPS = ("every dump exits 0 with valid JSON",
          "complete dumps count Leaky exactly, incomplete ones say why",
          "target running and untraced afterwards")


def run_python(tap, py):
    tag = "[%s]" % py.label
    descs = ["collecting: %s %s" % (g, tag) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = H.start_target(py, "census_target.py", "collecting", timeout=120)
    docs = []
    try:
        with tap.point(descs[0]) as p:
            for _ in range(DUMPS):
                args = ["dump", "--json", target.pid]
                rc, out, err = H.run_leaktop(args, timeout=60)
                if not p.check(rc == 0, "exit status %s, want 0" % rc):
                    p.diag("\n".join(H.describe_run(args, rc, out, err, limit=10)))
                    continue
                try:
                    docs.append(json.loads(out))
                except ValueError as e:
                    p.fail("bad JSON: %s" % e)
        with tap.point(descs[1]) as p:
            p.require(docs, "no dump to check")
            complete = 0
            for d in docs:
                census = d["census"]
                leaky = [t for t in census["types"] if t["type"] == "__main__.Leaky"]
                if census["complete"]:
                    complete += 1
                    p.check(leaky and leaky[0]["count"] == 50000,
                            "complete census has Leaky %r, want 50000"
                            % (leaky[0]["count"] if leaky else None))
                else:
                    p.check(any("collection" in n or "broken" in n for n in census["notes"]),
                            "incomplete census without a reason: %r" % census["notes"])
            p.diag("%d of %d dumps complete, %d stops waited for a collection to end"
                   % (complete, len(docs), sum(d.get("gc_retries", 0) for d in docs)))
        with tap.point(descs[2]) as p:
            p.untraced(target.pid)
    finally:
        target.stop()


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
