#!/usr/bin/env python3
"""Who holds the memory: retained sizes and retainers against truth (TAP).

retain_target.py builds holders whose retained sets it computes itself (the
objects reachable from the holder that no root reaches without passing
through it, sized with sys.getsizeof).  Checked, on every interpreter:
- `dump --json` lists each holder as a retainer named __main__.NAME with
  its type, length, and exactly the truth's retained objects and bytes:
  a list of objects each owning a dict, bytes and a large int; a cache of
  large bytes; a closure over a list; two lists sharing their items, which
  neither retains;
- a local of the main loop's frame, which runs (it sleeps in a C call),
  retains its list: "thread PID (MainThread) serve.rows";
- the first retainer is the largest holder, in JSON and in the text dump;
- why: each step says what it retains, the REGISTRY step exactly the truth;
- the leak patterns (patterns_target.py: copies, a cache, self-referencing
  dicts, closures, generators holding files, unclosed files): each holder
  is a retainer named __main__.NAME retaining at least what it alone holds,
  and the largest is first;
- watch: of two holders that grow (holders_target.py) and a cache of the
  same type that churns, the two are named, faster first, the cache not;
- the target runs untraced afterwards.
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("each holder's retained objects and bytes equal the truth, named __main__.NAME",
          "two lists sharing their items retain only themselves",
          "the first retainer is the largest holder (JSON and text)",
          "target running and untraced afterwards",
          "a local of a running frame (in a C call) is a retainer: thread N (MainThread) serve.rows",
          "watch: the three growing holders (one no container) named, faster first; the "
          "churning cache not",
          "why: each step says what it retains, REGISTRY's as dump says",
          "the leak patterns: each holder a named retainer, the largest first")


def run_python(tap, py):
    descs = ["retain: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = H.start_target(py, "retain_target.py", timeout=120)
    truth, pid = target.truth["holders"], target.pid
    try:
        args = ["dump", "--json", "--top", "1", pid]
        rc, out, err = H.run_leaktop(args, timeout=120)
        doc = json.loads(out) if rc == 0 and out.strip() else None
        by_path = {r["path"]: r for r in (doc or {}).get("retainers") or []}
        with tap.point(descs[0]) as p:
            p.require(doc, "\n".join(H.describe_run(args, rc, out, err)))
            for name in ("REGISTRY", "CACHE", "HANDLER"):
                want, got = truth[name], by_path.get("__main__." + name)
                if not p.check(got, "no retainer __main__.%s among %s" % (name, sorted(by_path))):
                    continue
                p.check((got["retained_objects"], got["retained_bytes"]) ==
                        (want["retained_objects"], want["retained_bytes"]),
                        "%s retains %d objects, %d bytes; the target says %d, %d (%r)" % (
                            name, got["retained_objects"], got["retained_bytes"],
                            want["retained_objects"], want["retained_bytes"], want["types"]))
                p.check(got["type"] == want["type"] or name == "HANDLER",
                        "%s type %s, want %s" % (name, got["type"], want["type"]))
                p.check(got["len"] == want["len"], "%s len %s, want %s"
                        % (name, got["len"], want["len"]))
                p.check(got["chain"]["root"] == {"kind": "module", "name": "__main__"},
                        "%s chain root %r" % (name, got["chain"]["root"]))
        with tap.point(descs[4]) as p:
            p.require(doc, "no dump")
            want = truth["rows"]
            path = "thread %d (MainThread) serve.rows" % pid
            got = by_path.get(path)
            if p.check(got, "no retainer %r among %s" % (path, sorted(by_path))):
                p.check((got["retained_objects"], got["retained_bytes"]) ==
                        (want["retained_objects"], want["retained_bytes"]),
                        "rows retains %d objects, %d bytes; the target says %d, %d" % (
                            got["retained_objects"], got["retained_bytes"],
                            want["retained_objects"], want["retained_bytes"]))
        with tap.point(descs[6]) as p:
            args = ["why", "--json", pid, "__main__.Item"]
            rc, out, err = H.run_leaktop(args, timeout=120)
            wdoc = json.loads(out) if rc == 0 and out.strip() else None
            p.require(wdoc and wdoc["chains"], "\n".join(H.describe_run(args, rc, out, err)))
            steps = wdoc["chains"][0]["path"]
            reg = [st for st in steps if st.get("via") == "REGISTRY"]
            p.check(reg and reg[0].get("retained_bytes") == truth["REGISTRY"]["retained_bytes"],
                    "REGISTRY step %r, the target says it retains %d" % (
                        reg, truth["REGISTRY"]["retained_bytes"]))
            p.check(all(st.get("retained_bytes", 0) > 0 for st in steps[1:]),
                    "steps without retained_bytes: %r" % steps)
        with tap.point(descs[1]) as p:
            p.require(doc, "no dump")
            for name in ("SHARED_A", "SHARED_B"):
                want, got = truth[name], by_path.get("__main__." + name)
                if p.check(got, "no retainer __main__.%s" % name):
                    p.check((got["retained_objects"], got["retained_bytes"]) ==
                            (want["retained_objects"], want["retained_bytes"]) and
                            want["retained_objects"] == 1,
                            "%s retains %d objects, %d bytes; the target says %d, %d" % (
                                name, got["retained_objects"], got["retained_bytes"],
                                want["retained_objects"], want["retained_bytes"]))
        with tap.point(descs[2]) as p:
            p.require(doc, "no dump")
            largest = max((n for n in truth if n != "rows"), key=lambda n: truth[n]["retained_bytes"])
            first = doc["retainers"][0]["path"] if doc["retainers"] else None
            p.check(first == "__main__." + largest, "first retainer %s, want __main__.%s"
                    % (first, largest))
            rc, out, err = H.run_leaktop(["dump", pid], timeout=120)
            lines = out.splitlines()
            at = [i for i, line in enumerate(lines) if line.startswith("retainers:")]
            row = lines[at[0] + 2] if at and len(lines) > at[0] + 2 else ""
            p.check(rc == 0 and row.rstrip().endswith("__main__." + largest),
                    "text dump: first retainer row %r" % row)
        with tap.point(descs[3]) as p:
            p.untraced(pid)
            target.assert_alive_progressing()
    finally:
        target.stop()
    with tap.point(descs[5]) as p:
        growing_holders(p, py)
    with tap.point(descs[7]) as p:
        patterns(p, py)


def patterns(p, py):
    with H.start_target(py, "patterns_target.py", timeout=120) as target:
        args = ["dump", "--json", "--top", "1", target.pid]
        rc, out, err = H.run_leaktop(args, timeout=120)
        doc = json.loads(out) if rc == 0 and out.strip() else None
        p.require(doc, "\n".join(H.describe_run(args, rc, out, err)))
        by_path = {r["path"]: r for r in doc["retainers"]}
        for name, low in sorted(target.truth["payload"].items()):
            got = by_path.get("__main__." + name)
            if p.check(got, "no retainer __main__.%s among %s" % (name, sorted(by_path))):
                p.check(got["retained_bytes"] >= low, "%s retains %d bytes, less than the %d "
                        "it alone holds" % (name, got["retained_bytes"], low))
        first = doc["retainers"][0]["path"] if doc["retainers"] else None
        p.check(first == "__main__." + target.truth["largest"], "first retainer %s" % first)


def growing_holders(p, py):
    with H.start_target(py, "holders_target.py") as target:
        args = ["watch", "--json", "--interval", "0.5", "--count", "8", target.pid]
        t0, hb0 = time.time(), target.heartbeat()
        rc, out, err = H.run_leaktop(args, timeout=120)
        # the target's loop ticks every 0.1 s when it can: on a loaded
        # machine fewer times, and it adds that much less
        hb1 = target.heartbeat()
        ticks_per_s = (hb1 - hb0) / (time.time() - t0) if hb0 is not None and hb1 else 10.0
        docs = [json.loads(line) for line in out.splitlines() if line.strip()] if rc == 0 else []
        p.require(len(docs) == 8, "\n".join(H.describe_run(args, rc, out, err)))
        truth = target.truth
        holders = docs[-1]["holders"]
        paths = [h["path"] for h in holders]
        p.check(paths[:3] == truth["growing"], "growing holders %s, want %s first"
                % (paths, truth["growing"]))
        p.check(truth["churning"] not in paths, "the churning cache grows? %s" % holders)
        for h in holders[:2]:
            p.check(h["delta_len"] > 0 and h["delta_retained_bytes"] > 0 and h["growth"] > 0,
                    "%s: %r" % (h["path"], h))
            # The target's own rate (its nominal one at the ticks it made),
            # with room for the timing of its loop and of the snapshots
            # (tolerance: 35%).
            want = truth["per_s"].get(h["path"], 0) * min(ticks_per_s, 10.0) / 10.0
            p.check(abs(h["len_per_s"] - want) <= 0.35 * want,
                    "%s grows %.0f items/s, the target adds %.0f/s (%.1f ticks/s)"
                    % (h["path"], h["len_per_s"], want, ticks_per_s))
        p.diag("rates: %s" % ", ".join("%s %.0f/s (%.0f B/s)" % (
            h["path"], h["len_per_s"], h["retained_bytes_per_s"]) for h in holders[:3]))
        p.untraced(target.pid)


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
