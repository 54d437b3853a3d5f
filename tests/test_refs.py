#!/usr/bin/env python3
"""Every reference the interpreter sees, weak ones held weakly (TAP).

refs_target.py builds objects of the standard library's C types that hold
references and records, for every object the GC tracks, what
gc.get_referents() reports (tp_traverse's edges).  leaktop's reference graph
(LEAKTOP_TEST_EDGES, a test hook that writes it) must hold at least 99.9%
of those edges, for every interpreter.  An edge counts as followed when
leaktop goes through an object the GC does not track that the
interpreter's traversal looks through (an lru_cache wrapper visits the
keys and results of its links; leaktop follows each link, which owns
them).  Edges leaktop has beyond the truth are allowed (str keys of dicts,
names of descriptors and types: real references tp_traverse skips).

Weak references: a weakref object's only edge is its callback; what it
refers to is never reached through it.  The holders, from dump --json's
retainers, what the target computes each alone holds (reachable from it
and from no root avoiding it; objects and bytes within 0.1%, the Items
exactly): QUEUE (a deque of 3,000 dicts),
STATES ({State(o): o}, each State with a weakref.ref(o, self.cleanup)),
bounded (an lru_cache of 2,000 Items) and WEAKLY_HELD (3,000 Items); the
weak containers over them (WEAKSET, WVD, WKD, REFS) retain no Item.

asyncio: values that one field of an _asyncio Future or Task alone holds
(its first callback and that callback's context, a second callback, a
result, an exception, a task's coroutine and name): each one's chain ends
in that field, by the name the pure-Python asyncio gives it.
"""
import collections
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402
from edges import check_recall, read_graph  # noqa: E402

GROUPS = ("edges: >= 99.9% of gc.get_referents() of every tracked object",
          "weak references: only the callback is an edge, never the referent",
          "holders: a deque, a dict of weakref callbacks, an lru_cache, a list retain "
          "exactly what the target says; weak containers no Item",
          "why: every Item ends at a module, none held from C",
          "asyncio: a Future's and a Task's C fields by name (_callback0, _context0, "
          "_callbacks, _result, _exception, _coro, _name)",
          "target running and untraced afterwards")
RECALL = 0.999
# Retained objects and bytes: the decorator's closure (lru_cache's
# cache_parameters lambda) shares a constant with the module's code, which
# leaktop follows from the running frame and gc.get_referents() may not.
SLACK = 0.001
WEAK_TYPES = ("weakref.ReferenceType", "builtins.weakref", "weakref.KeyedRef",
              "weakref.WeakMethod")


def run_python(tap, py):
    descs = ["refs: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    tmp = tempfile.mkdtemp(prefix="leaktop-test-")
    edges = os.path.join(tmp, "edges")
    try:
        with H.start_target(py, "refs_target.py", timeout=300) as target:
            truth = target.truth
            args = ["dump", "--json", target.pid]
            rc, out, err = H.run_leaktop(args, timeout=300, env={"LEAKTOP_TEST_EDGES": edges})
            doc = json.loads(out) if rc == 0 else None
            nodes, graph = read_graph(edges) if os.path.exists(edges) else ({}, {})
            with tap.point(descs[0]) as p:
                p.require(doc and nodes, "\n".join(H.describe_run(args, rc, out, err)))
                check_recall(p, truth, nodes, graph, RECALL)
            with tap.point(descs[1]) as p:
                p.require(nodes, "no graph")
                held = set(truth["weakly_held"])
                weak = [a for a, t in nodes.items() if t in WEAK_TYPES]
                p.check(len(weak) >= len(held), "%d weak references, want at least %d"
                        % (len(weak), len(held)))
                bad = [(a, nodes[a], sorted(graph.get(a, set()) - set(truth["edges"].get(a, ()))))
                       for a in weak if graph.get(a, set()) - set(truth["edges"].get(a, ()))]
                p.check(not bad, "%d weak references with edges beyond their callback: %s"
                        % (len(bad), bad[:3]))
                p.check(not any(graph.get(a, set()) & held for a in weak),
                        "a weak reference has an edge to what it refers to")
            with tap.point(descs[2]) as p:
                p.require(doc, "no dump")
                rows = {r["path"]: r for r in doc["retainers"]}
                for name, want in sorted(truth["holders"].items()):
                    r = rows.get("__main__." + name)
                    if name.startswith("W") and name != "WEAKLY_HELD" or name == "REFS":
                        # weak containers: whatever they retain, no Item
                        p.check(want["items"] == 0 and (not r or not any(
                            h["type"] == "__main__.Item" for h in r["holds"])),
                            "weak container __main__.%s retains Items: %s, the target %d"
                            % (name, r and r["holds"], want["items"]))
                        continue
                    if not p.check(r, "__main__.%s is not a retainer: %s" % (name, sorted(rows))):
                        continue
                    got = (r["retained_objects"], r["retained_bytes"])
                    p.diag("__main__.%s retains %d objects, %d bytes; the target %d, %d"
                           % (name, got[0], got[1], want["objects"], want["bytes"]))
                    p.check(abs(got[0] - want["objects"]) <= SLACK * want["objects"] and
                            abs(got[1] - want["bytes"]) <= SLACK * want["bytes"],
                            "__main__.%s: more than %.1f%% off the target's" % (name, 100 * SLACK))
                    items = {h["type"]: h["count"] for h in r["holds"]}.get("__main__.Item")
                    p.check(items in (None, want["items"]), "__main__.%s holds %s Items, the "
                            "target %d" % (name, items, want["items"]))
            with tap.point(descs[3]) as p:
                args = ["why", "--json", "--max", "1000", target.pid, "__main__.Item"]
                rc, out, err = H.run_leaktop(args, timeout=300)
                p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
                w = json.loads(out)
                roots = collections.Counter()
                for ch in w["chains"]:
                    roots[ch["root"]["kind"]] += ch["count"]
                p.check(w["selected"] == truth["items"] and roots["module"] == w["selected"],
                        "%d Items (the target %d), by root: %s" % (w["selected"], truth["items"],
                                                                 dict(roots)))
            with tap.point(descs[4]) as p:
                # each value is held by one field alone: its chain's last
                # step names that field, from the future or task
                for holder, label, addr in truth["aio_fields"]:
                    args = ["why", "--json", target.pid, "0x" + addr]
                    rc, out, err = H.run_leaktop(args, timeout=300)
                    if not p.check(rc == 0, "\n".join(H.describe_run(args, rc, out, err))):
                        continue
                    chains = json.loads(out)["chains"]
                    path = chains[0]["path"] if chains else []
                    steps = [(s["type"], s.get("via")) for s in path[-2:]]
                    p.check(len(steps) == 2 and steps[0][0] == holder and steps[1][1] == label,
                            "%s of %s: the chain ends %s" % (label, holder, steps))
            with tap.point(descs[5]) as p:
                p.untraced(target.pid)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
