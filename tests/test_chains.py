#!/usr/bin/env python3
"""Long chains: `why` is linear in the graph (TAP).

The target holds lists nested 300,000 deep and a 60,000-node linked list
(chain_target.py).  Rebuilding each chain from its parents made these
quadratic (minutes); built step by step with shared prefixes, both answer
well within the run's timeout.  Checked against the target's truth: the
innermost list's chain is rooted at __main__.DEEP, holds the first and last
steps of its 300,000 with the middle elided, and every Node is selected.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("why ADDR: a 300,000-deep nested list, its chain rooted at DEEP, middle elided",
          "why TYPE: 60,000 linked nodes selected and grouped, the last one's chain through next",
          "target running and untraced afterwards")
WHY_MAX_STEPS = 64   # steps a chain shows: the first and last halves


def why(pid, selector):
    args = ["why", "--json", pid, selector]
    rc, out, err = H.run_leaktop(args, timeout=300)
    doc = json.loads(out) if rc == 0 and out.strip() else None
    return doc, H.describe_run(args, rc, out, err, limit=12)


def run_python(tap, py):
    descs = ["chains: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = H.start_target(py, "chain_target.py", timeout=180)
    truth, pid = target.truth, target.pid
    try:
        with tap.point(descs[0]) as p:
            doc, diag = why(pid, truth["innermost"])
            if not p.check(doc and doc.get("chains"), "no chain"):
                p.diag("\n".join(diag))
            else:
                ch = doc["chains"][0]
                path = ch["path"]
                p.check((ch["root"]["kind"], ch["root"].get("name")) == ("module", "__main__"),
                        "root %r" % ch["root"])
                p.check(path[1].get("via") == "DEEP", "first step %r" % path[1])
                p.check(path[-1]["address"] == truth["innermost"], "last step %r" % path[-1])
                # module, DEEP, then one list per level down to the innermost
                p.check(ch["elided"] + len(path) >= truth["depth"] and
                        len(path) <= WHY_MAX_STEPS + 1,
                        "%d steps shown, %d elided for depth %d" %
                        (len(path), ch["elided"], truth["depth"]))
        with tap.point(descs[1]) as p:
            doc, diag = why(pid, "__main__.Node")
            if not p.check(doc and doc.get("chains"), "no chain"):
                p.diag("\n".join(diag))
            else:
                p.check(doc["selected"] == truth["nodes"],
                        "selected %s, the target has %s" % (doc["selected"], truth["nodes"]))
                # a node's shape is the chain's length: one shape per node
                p.check(doc["shapes"] == truth["nodes"], "shapes %s" % doc["shapes"])
                doc, diag = why(pid, truth["last_node"])
                ch = doc and doc["chains"][0]
                p.check(ch and ch["path"][1].get("via") == "CHAIN" and
                        ch["path"][-1]["address"] == truth["last_node"] and
                        all(s.get("via") == "next" for s in ch["path"][2:]) and
                        ch["elided"] + len(ch["path"]) >= truth["nodes"],
                        "chain of the last node: %r" % (ch and ch["path"][:4]))
        with tap.point(descs[2]) as p:
            p.untraced(pid)
            target.assert_alive_progressing()
    finally:
        target.stop()


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
