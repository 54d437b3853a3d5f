#!/usr/bin/env python3
"""leaktop watch: growth over time, in JSON lines and text (TAP).

A target keeps 1,000 more Grower objects every second and flips a list of
3,000 Churn objects on and off every 0.35 s.  `leaktop watch --json` must
show Grower's count strictly rising, deltas that add up exactly, and Grower
ranked first by growth, ahead of the churning type; the text mode must list
Grower as growing; and when the target exits, watch must say so and end.
"""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

COUNT = 6
GROUPS = ("watch --json gives one leaktop-watch/1 line per snapshot",
          "Grower count strictly increases and deltas add up",
          "Grower ranks first by growth, ahead of the churning type",
          "text watch lists Grower as growing",
          "target exits: watch says so and ends with status 1",
          "target running and untraced afterwards")


def by_type(doc):
    return {t["type"]: t for t in doc["census"]["types"]}


def run_python(tap, py):
    tag = "[%s]" % py.label
    descs = ["watch: %s %s" % (g, tag) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = H.start_target(py, "growth_target.py", 0, timeout=60)
    docs = []
    try:
        with tap.point(descs[0]) as p:
            args = ["watch", "--json", "--interval", "1", "--count", COUNT, target.pid]
            rc, out, err = H.run_leaktop(args, timeout=60)
            if not p.check(rc == 0, "exit status %s, want 0" % rc):
                p.diag("\n".join(H.describe_run(args, rc, out, err, limit=10)))
            lines = out.splitlines()
            p.check(len(lines) == COUNT, "%d lines, want %d" % (len(lines), COUNT))
            for i, line in enumerate(lines):
                try:
                    d = json.loads(line)
                except ValueError as e:
                    p.fail("line %d is not JSON: %s" % (i, e))
                    continue
                p.check(d.get("format") == "leaktop-watch/1", "line %d format %r" % (i, d.get("format")))
                p.check(d.get("seq") == i, "line %d seq %r, want %d" % (i, d.get("seq"), i))
                p.check(d.get("pid") == target.pid, "line %d pid %r" % (i, d.get("pid")))
                docs.append(d)
        with tap.point(descs[1]) as p:
            p.require(len(docs) == COUNT, "not enough snapshots")
            grower = [by_type(d).get("__main__.Grower") for d in docs]
            p.require(all(grower), "__main__.Grower missing from a snapshot")
            counts = [g["count"] for g in grower]
            p.diag("Grower counts: %s" % counts)
            for a, b in zip(counts, counts[1:]):
                p.check(b > a, "Grower count did not rise: %s" % counts)
            for i in range(1, COUNT):
                g = grower[i]
                p.check(g["delta"]["count"] == counts[i] - counts[i - 1],
                        "snapshot %d delta %r != %d" % (i, g["delta"], counts[i] - counts[i - 1]))
                p.check(g["delta_total"]["count"] == counts[i] - counts[0],
                        "snapshot %d delta_total %r != %d"
                        % (i, g["delta_total"], counts[i] - counts[0]))
                c = docs[i]["census"]
                p.check(c["delta"]["count"] == c["objects"] - docs[i - 1]["census"]["objects"],
                        "snapshot %d census delta does not add up" % i)
        with tap.point(descs[2]) as p:
            p.require(docs, "no snapshots")
            last = docs[-1]["census"]["types"]
            ranked = sorted(last, key=lambda t: -t.get("growth", 0))
            p.diag("top growth: %s" % [(t["type"], t.get("growth")) for t in ranked[:3]])
            p.check(ranked[0]["type"] == "__main__.Grower",
                    "first by growth is %r, want __main__.Grower" % ranked[0]["type"])
            p.diag("Churn counts: %s" % [by_type(d).get("__main__.Churn", {}).get("count", 0)
                                         for d in docs])
            churn = [t for t in last if t["type"] == "__main__.Churn"]
            gg = [t for t in last if t["type"] == "__main__.Grower"]
            if churn and gg:
                p.check(gg[0]["growth"] > churn[0].get("growth", 0),
                        "Grower growth %r not above Churn %r" % (gg[0]["growth"], churn[0].get("growth")))
        with tap.point(descs[3]) as p:
            args = ["watch", "--interval", "0.7", "--count", 3, target.pid]
            rc, out, err = H.run_leaktop(args, timeout=60)
            p.check(rc == 0, "exit status %s, want 0" % rc)
            grew = [l for l in out.splitlines() if "__main__.Grower" in l]
            p.check(len(grew) == 2, "Grower in %d growth tables, want 2:\n%s" % (len(grew), out))
            for l in grew:
                fields = l.split()
                p.check(len(fields) == 4 and fields[2].startswith("+") and int(fields[2]) > 0,
                        "Grower line does not show growth: %r" % l)
        with tap.point(descs[5]) as p:
            p.untraced(target.pid)
    finally:
        target.stop()
    with tap.point(descs[4]) as p:
        # The target is killed once watch has printed a snapshot: on a
        # loaded machine (the sanitizer build) a timer could end it first.
        short = H.start_target(py, "growth_target.py", 0, timeout=60)
        watch = H._track(subprocess.Popen(
            [H.leaktop_path(), "watch", "--json", "--interval", "0.5", str(short.pid)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=H.leaktop_env()))
        try:
            first = watch.stdout.readline()
            short.stop()
            try:
                rest, err = watch.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                rest, err = b"", b"(still running 60 s after the target exited)"
            err = err.decode("utf-8", "replace")
            p.check(watch.returncode == 1, "exit status %s, want 1" % watch.returncode)
            p.check(first.strip(), "no snapshot before the exit")
            lines = err.strip().splitlines()
            p.check(len(lines) == 1 and "exited" in lines[0],
                    "stderr %r, want one line saying the target exited" % err)
        finally:
            H._reap(watch)
            short.stop()


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
