#!/usr/bin/env python3
"""Production leaks on Debian's real frameworks: the holder is named (TAP).

frameworks_target.py, on Debian's python3 with its python3-sqlalchemy,
-django, -flask, -aiohttp, -lxml and -requests, holds eight leaks at once:
an ORM Session with 3,000 unflushed Orders, an asyncio.Event 2,000 pending
tasks wait on (their registry is a WeakSet), a job-poller thread's Django
connection with 3,000 queries in its DEBUG query log, a Logger with 1,000
handlers added per request (logging's _handlerList keeps weak references),
a Flask signal with a receiver connected per request, an aiohttp
Application with a subscriber queue per request, an lru_cache on a method
holding parsed lxml elements, and requests Sessions never closed, each with
its socket.  For each holder the target computes what it alone holds.

- edges: leaktop's reference graph holds at least 99.9% of what
  gc.get_referents() reports for every object the GC tracks;
- dump --json: each holder is a retainer, named by the path a user would
  type (__main__.SESSION, __main__.shutdown_event, __main__.APP_LOG,
  flask.signals.template_rendered, __main__.WEB, __main__.Feed.item,
  __main__.CLIENTS, the connection through __main__.POLLER's thread-local
  storage, or the thread whose storage alone holds it), the largest the
  first retainer of the whole heap and the others in the target's order
  where their sizes differ by more than 20%; retained bytes within 10% of
  the target's;
- why: at least 95% of the leaked objects of each type end at a module or
  a thread, not held from C; each session's socket (why fd:N) is held
  through __main__.CLIENTS;
- then the target makes one holder at a time grow (SIGUSR1): that holder
  is the first growing holder of a three-snapshot watch --json, and the
  first holder row of diff --json against a snapshot saved when it began;
  the registries that grow with it but only watch (asyncio's WeakSet of
  tasks, logging's lists of weak references) are marked weak.
"""
import collections
import json
import os
import re
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402
from edges import check_recall, read_graph  # noqa: E402

GROUPS = ("edges: >= 99.9% of gc.get_referents() of every tracked object on the "
          "framework heap",
          "dump: the eight holders are retainers, by the path a user types, the largest "
          "first, each within 10% of what the target says it holds",
          "why: >= 95% of each leaked type ends at a module or thread",
          "why fd:N: each session's socket is held through __main__.CLIENTS",
          "watch: the one holder that grows is the first growing holder in three snapshots "
          "(and the tasks piling up on an Event its first task group)",
          "diff: the one holder that grows is the first holder row",
          "target running and untraced afterwards")
PATHS = {"SESSION": r"^__main__\.SESSION$", "shutdown_event": r"^__main__\.shutdown_event$",
         "APP_LOG": r"^__main__\.APP_LOG$",
         "flask.template_rendered": r"^flask(\.signals)?\.template_rendered$",
         "WEB": r"^__main__\.WEB$", "Feed.item": r"^__main__\.Feed\.item$",
         "CLIENTS": r"^__main__\.CLIENTS$",
         # the connection, or the thread whose storage alone holds it
         "POLLER.wrapper": r"^__main__\.POLLER(\..*\['default'\])?$"}
# registries that only watch: weak containers, marked so and ranked last
WEAK = ("_asyncio._all_tasks", "logging._handlerList", "logging._at_fork_reinit_lock_weakset")
TOLERANCE = 0.10
RECALL = 0.999


def run_python(tap, py):
    descs = ["frameworks: %s [%s]" % (g, py.label) for g in GROUPS]
    # Tiered: Debian's release python3 runs the frameworks; its debug
    # build (the same release, the same frameworks) adds minutes, not cover.
    reason = py.skip_reason or (
        "Debian's frameworks are installed for Debian's python3" if not
        py.path.startswith("/usr/bin/") or py.root else
        "tiered: Debian's release build of the same python3 runs the frameworks"
        if py.label.endswith("d") else None)
    if reason:
        for d in descs:
            tap.skip(d, reason)
        return
    with H.start_target(py, "frameworks_target.py", timeout=300) as target:
        truth = target.truth
        if truth.get("missing"):
            for d in descs:
                tap.skip(d, H.MissingTool("%s (scripts/check installs python3-django, "
                                          "-sqlalchemy, -flask, -blinker, -aiohttp, -lxml "
                                          "and -requests)" % truth["missing"]))
            return
        args = ["dump", "--json", target.pid]
        edges = os.path.join(target.tmpdir, "edges")
        rc, out, err = H.run_leaktop(args, timeout=300, env={"LEAKTOP_TEST_EDGES": edges})
        doc = json.loads(out) if rc == 0 else None
        with tap.point(descs[0]) as p:
            p.require(doc and os.path.exists(edges), "\n".join(H.describe_run(args, rc, out,
                                                                             err)))
            nodes, graph = read_graph(edges)
            check_recall(p, truth, nodes, graph, RECALL)
            del nodes, graph
            os.unlink(edges)
        descs = descs[1:]
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
            c = doc["held_from_c"]
            p.diag("held only from C: %d objects, %d B, under %d roots; %d objects under %d "
                   "classes defined in C" % (c["objects"], c["bytes"], c["roots"],
                                             c["types"]["objects"], c["types"]["roots"]))
            p.check(c["types"]["objects"] <= c["objects"] and
                    c["types"]["roots"] <= c["roots"], "held_from_c %r" % c)
            want = {n: h["bytes"] for n, h in truth["holders"].items()}
            largest = max(want, key=want.get)
            p.check(found.get(largest) == 0, "%s, the largest, is not the first retainer: "
                    "ranks %s" % (largest, found))
            for a in found:
                for b in found:
                    if want[a] > (1 + 2 * TOLERANCE) * want[b]:
                        p.check(found[a] < found[b], "%s (%d B) ranks after %s (%d B)" % (
                            a, want[a], b, want[b]))
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
            for fd in truth["session_fds"]:
                args = ["why", "--json", target.pid, "fd:%d" % fd]
                rc, out, err = H.run_leaktop(args, timeout=300)
                if not p.check(rc == 0, "\n".join(H.describe_run(args, rc, out, err))):
                    continue
                chains = json.loads(out)["chains"]
                vias = [[s.get("via") for s in ch["path"]] for ch in chains]
                p.check(len(chains) == 1 and chains[0]["root"]["name"] == "__main__" and
                        vias[0][1] == "CLIENTS", "fd %d: chains %s" % (fd, vias))
        growth(tap, descs[3:5], target)
        with tap.point(descs[5]) as p:
            p.untraced(target.pid)


def incomplete_free(out):
    """Every snapshot of a watch --json run complete, its retainers known."""
    docs = [json.loads(line) for line in out.splitlines() if line.strip()]
    return all(d["census"]["complete"] for d in docs)


def tasks_failure(doc):
    """The tasks that pile up on the Event: the first group of watch's
    tasks, growing, labelled by their coroutine and the Event's holder."""
    groups = (doc.get("tasks") or {}).get("groups") or []
    first = groups[0] if groups else {}
    if (first.get("label", "").startswith("notify_on_shutdown > Event.wait -> event "
                                          "__main__.shutdown_event") and
            first.get("delta", {}).get("count", 0) > 0):
        return None
    return "the growing tasks are not watch's first task group: %r" % groups[:2]


def growth(tap, descs, target):
    """One holder at a time grows: watch and diff name it first."""
    seen = {"watch": [], "diff": []}       # (name, failure or None, first rows)
    for name in target.truth["phases"]:
        os.kill(target.pid, signal.SIGUSR1)
        # two turns of the target's loop: the signal was handled, it grows
        target.wait_heartbeat(target.wait_heartbeat(target.heartbeat() or 0, 30) or 0, 30)
        saved = os.path.join(target.tmpdir, "before.snap")
        runs = {"diff": ["dump", "--save", saved, target.pid],
                "watch": ["watch", "--json", "--interval", "0.5", "--count", "3", target.pid]}
        for what in ("diff", "watch", "diff"):
            args = runs[what]
            rc, out, err = H.run_leaktop(args, timeout=300)
            if what == "watch" and rc == 0 and not incomplete_free(out):
                # A stop that landed in a collection (the flask phase
                # collects often) leaves a snapshot without retainers: the
                # point is about three complete snapshots, so once more.
                rc, out, err = H.run_leaktop(args, timeout=300)
            if rc != 0:
                seen[what].append((name, "\n".join(H.describe_run(args, rc, out, err)), []))
                break
            if args[0] == "dump":
                runs["diff"] = ["diff", "--json", saved, target.pid]
                continue
            doc = json.loads(out.splitlines()[-1] if what == "watch" else out)
            rows = [h["path"] for h in doc["holders"]]
            strong = [h["path"] for h in doc["holders"] if h["path"] in WEAK and not h["weak"]]
            seen[what].append((name, "%s grows, the first %s rows %s" % (name, what, rows[:4])
                               if not rows or not re.match(PATHS[name], rows[0]) else
                               "weak containers not marked weak: %s" % strong if strong else
                               tasks_failure(doc) if what == "watch" and name == "shutdown_event"
                               else None, rows[:3]))
        os.unlink(saved)
    for desc, what in zip(descs, ("watch", "diff")):
        with tap.point(desc) as p:
            for name, failure, rows in seen[what]:
                p.diag("%-22s grows: %s" % (name, ", ".join(rows)))
                p.check(failure is None, failure)
            p.check(len(seen[what]) == len(target.truth["phases"]), "%d of %d phases seen" % (
                len(seen[what]), len(target.truth["phases"])))


if __name__ == "__main__":
    H.run_each(run_python)
