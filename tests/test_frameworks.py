#!/usr/bin/env python3
"""Production leaks on Debian's real frameworks: the holder is named (TAP).

frameworks_target.py, on Debian's python3 with its python3-sqlalchemy and
python3-django, holds four leaks at once: an ORM Session with 3,000
unflushed Orders, an asyncio.Event 2,000 pending tasks wait on (their
registry is a WeakSet), a job-poller thread's Django connection with
3,000 queries in its DEBUG query log, a Logger with 1,000 handlers added per
request (logging's _handlerList keeps weak references).  For each holder
the target computes what it alone holds.

- dump --json: each holder is a retainer, named by the path a user would
  type (__main__.SESSION, __main__.shutdown_event, __main__.APP_LOG, the
  connection through __main__.POLLER's thread-local storage, or the
  thread whose storage alone holds it), in the
  order of what the target says they hold, the largest the first retainer
  of the whole heap; retained bytes within 10% of the target's;
- why: at least 95% of the leaked Orders, Tasks and handlers end at a
  module or a thread, not held from C.
"""
import collections
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("dump: the four holders are retainers, by the path a user types, the largest "
          "first, each within 10% of what the target says it holds",
          "why: >= 95% of the leaked Orders, Tasks and handlers end at a module or thread",
          "target running and untraced afterwards")
PATHS = {"SESSION": r"^__main__\.SESSION$", "shutdown_event": r"^__main__\.shutdown_event$",
         "APP_LOG": r"^__main__\.APP_LOG$",
         # the connection, or the thread whose storage alone holds it
         "POLLER.wrapper": r"^__main__\.POLLER(\..*\['default'\])?$"}
TOLERANCE = 0.10


def run_python(tap, py):
    descs = ["frameworks: %s [%s]" % (g, py.label) for g in GROUPS]
    reason = py.skip_reason or (None if py.path.startswith("/usr/bin/") and not py.root else
                                "Debian's frameworks are installed for Debian's python3")
    if reason:
        for d in descs:
            tap.skip(d, reason)
        return
    with H.start_target(py, "frameworks_target.py", timeout=300) as target:
        truth = target.truth
        if truth.get("missing"):
            for d in descs:
                tap.skip(d, H.MissingTool("%s (scripts/check installs python3-django and "
                                          "python3-sqlalchemy)" % truth["missing"]))
            return
        args = ["dump", "--json", target.pid]
        rc, out, err = H.run_leaktop(args, timeout=300)
        doc = json.loads(out) if rc == 0 else None
        with tap.point(descs[0]) as p:
            p.require(doc and doc["retainers"], "\n".join(H.describe_run(args, rc, out, err)))
            rows = doc["retainers"]
            found = {}
            for name, pat in PATHS.items():
                hit = [k for k, r in enumerate(rows) if re.match(pat, r["path"])]
                if not p.check(hit, "%s: no retainer matches %s: %s" % (
                        name, pat, [r["path"] for r in rows[:12]])):
                    continue
                r, want = rows[hit[0]], truth["holders"][name]
                found[name] = hit[0]
                p.diag("%-15s rank %d  %s retains %d B (the target %d B)" % (
                    name, hit[0] + 1, r["path"][:60], r["retained_bytes"], want["bytes"]))
                p.check(abs(r["retained_bytes"] - want["bytes"]) <= TOLERANCE * want["bytes"],
                        "%s retains %d bytes, the target %d" % (
                            name, r["retained_bytes"], want["bytes"]))
            order = sorted(truth["holders"], key=lambda n: -truth["holders"][n]["bytes"])
            p.check(sorted(found, key=found.get) == order and found.get(order[0]) == 0,
                    "ranks %s, the target's order %s" % (found, order))
        with tap.point(descs[1]) as p:
            for typ, n in sorted(truth["leaked"].items()):
                args = ["why", "--json", "--max", "1000", target.pid, typ]
                rc, out, err = H.run_leaktop(args, timeout=300)
                if not p.check(rc == 0, "\n".join(H.describe_run(args, rc, out, err))):
                    continue
                w = json.loads(out)
                roots = collections.Counter()
                for ch in w["chains"]:
                    roots[ch["root"]["kind"]] += ch["count"]
                named = roots["module"] + roots["thread"]
                p.diag("%s: %d of %d at a module or thread (the target made %d)"
                       % (typ, named, w["selected"], n))
                p.check(w["selected"] >= n and named >= 0.95 * w["selected"],
                        "%s: %d of %d end at a module or thread (%s), the target made %d"
                        % (typ, named, w["selected"], dict(roots), n))
        with tap.point(descs[2]) as p:
            p.untraced(target.pid)


if __name__ == "__main__":
    H.run_each(run_python)
