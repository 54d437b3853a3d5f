#!/usr/bin/env python3
"""Why is it alive: chains from a root, cyclic garbage, generators by line (TAP).

The target (why_target.py) builds the seed leaks and records the truth
itself: the fd of a file held by a generator sliced with islice, the line
that generator is suspended at, the addresses of a self-referencing dict in
a list, of a list a closure keeps and of a running function's local, and
the exact cyclic garbage it made (Node pairs and Finalized pairs with
__del__, unreachable with the collector disabled), per type, computed from
gc.get_referents before the last references were dropped.

Everything is exact: the chains must name the global, the index, the
generator with its line, the local and closure variables; the garbage must
match per type, in cycles and in objects with __del__.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("dump: cyclic garbage exact per type, cycles and __del__",
          "dump: suspended generators grouped by code and line",
          "why fd:N: global list -> generator (file:line) -> local -> TextIOWrapper -> raw FileIO",
          "why TYPE: 3,000 cache entries merged into one chain via the global",
          "why ADDR: self-referencing dict at its index in a global list",
          "why ADDR: list kept by a closure, named by its variable",
          "why ADDR: a running function's local, rooted at its thread's frame",
          "why ADDR: cyclic garbage has no chain and says so",
          "why: bad selectors are usage errors, unmatched ones say so",
          "target running and untraced afterwards")


def why(pid, selector, *extra):
    args = ["why", "--json"] + list(extra) + [pid, selector]
    rc, out, err = H.run_leaktop(args, timeout=120)
    doc = json.loads(out) if rc == 0 and out.strip() else None
    return rc, doc, H.describe_run(args, rc, out, err, limit=12)


def vias(chain):
    return [s.get("via") for s in chain["path"][1:]]


def check_chain(p, rc, doc, diag, want_root, want_vias):
    if not p.check(rc == 0 and doc and doc.get("chains"), "no chain"):
        p.diag("\n".join(diag))
        return None
    ch = doc["chains"][0]
    p.check(doc["format"] == "leaktop-why/1", "format %r" % doc.get("format"))
    p.check((ch["root"]["kind"], ch["root"].get("name")) == want_root,
            "root %r, want %r" % (ch["root"], want_root))
    p.check(vias(ch) == want_vias, "via %r, want %r" % (vias(ch), want_vias))
    return ch


def run_python(tap, py):
    descs = ["why: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = H.start_target(py, "why_target.py", timeout=120)
    truth, pid = target.truth, target.pid
    name = "csv_rows"
    try:
        with tap.point(descs[0]) as p:
            args = ["dump", "--json", pid]
            rc, out, err = H.run_leaktop(args, timeout=120)
            doc = json.loads(out) if rc == 0 else {}
            if not p.check(rc == 0 and doc.get("garbage"), "no garbage section"):
                p.diag("\n".join(H.describe_run(args, rc, out, err, limit=10)))
            g = doc.get("garbage") or {}
            got = {t["type"]: t["count"] for t in g.get("types", [])}
            p.check(got == truth["garbage_types"], "types %r, truth %r"
                    % (got, truth["garbage_types"]))
            p.check(g.get("objects") == truth["garbage_objects"], "objects %r, truth %r"
                    % (g.get("objects"), truth["garbage_objects"]))
            p.check(g.get("cycles") == truth["garbage_cycles"], "cycles %r, truth %r"
                    % (g.get("cycles"), truth["garbage_cycles"]))
            p.check(g.get("finalizers") == truth["garbage_finalizers"], "finalizers %r, truth %r"
                    % (g.get("finalizers"), truth["garbage_finalizers"]))
        with tap.point(descs[1]) as p:
            gens = [x for x in doc.get("generators", []) if x["name"] == name]
            p.check(len(gens) == 1, "generator groups for %s: %r" % (name, gens))
            if gens:
                x = gens[0]
                p.check((x["file"], x["line"], x["count"], x["started"]) ==
                        (truth["reader_file"], truth["reader_line"], truth["readers"], True),
                        "%r, truth %s:%d x %d" % (x, truth["reader_file"], truth["reader_line"],
                                                 truth["readers"]))
        with tap.point(descs[2]) as p:
            rc, d, diag = why(pid, "fd:%d" % truth["reader_fd"])
            ch = check_chain(p, rc, d, diag, ("module", "__main__"),
                             ["pending_readers", "[%d]" % truth["reader_index"], "f", "raw"])
            if ch:
                gen = ch["path"][2]
                p.check((gen["type"], gen.get("name"), gen.get("file"), gen.get("line")) ==
                        ("builtins.generator", name, truth["reader_file"], truth["reader_line"]),
                        "generator step %r" % gen)
                p.check([s["type"] for s in ch["path"][3:]] ==
                        ["_io.TextIOWrapper", "_io.FileIO"],
                        "types %r" % [s["type"] for s in ch["path"]])
        with tap.point(descs[3]) as p:
            rc, d, diag = why(pid, "__main__.Leaky")
            ch = check_chain(p, rc, d, diag, ("module", "__main__"), ["_cache", ch_via(d)])
            if ch:
                p.check(d["selected"] == truth["cache"] and ch["count"] == truth["cache"],
                        "selected %d, first chain %d, want %d both"
                        % (d["selected"], ch["count"], truth["cache"]))
                p.check(ch["path"][1]["type"] == "builtins.dict", "cache step %r" % ch["path"][1])
                p.check(re.match(r"^\[\d+\]$", ch_via(d)), "entry via %r: want its int key"
                        % ch_via(d))
        with tap.point(descs[4]) as p:
            rc, d, diag = why(pid, truth["self_dict"])
            check_chain(p, rc, d, diag, ("module", "__main__"), ["registry", "[7]"])
        with tap.point(descs[5]) as p:
            rc, d, diag = why(pid, truth["big_list"])
            ch = check_chain(p, rc, d, diag, ("module", "__main__"),
                             ["handlers", "['on_tick']", "big"])
            if ch:
                p.check(ch["path"][2].get("name", "").endswith("handler"),
                        "function step %r" % ch["path"][2])
        with tap.point(descs[6]) as p:
            rc, d, diag = why(pid, truth["local_rows"])
            ch = check_chain(p, rc, d, diag, ("thread", "MainThread"), ["local_rows"])
            if ch:
                fr = ch["path"][0]
                p.check((fr.get("name"), fr.get("file"), fr.get("line")) ==
                        ("main", truth["main_file"], truth["main_line"]),
                        "frame %r, truth main at %s:%d" % (fr, truth["main_file"],
                                                            truth["main_line"]))
        with tap.point(descs[7]) as p:
            rc, d, diag = why(pid, truth["garbage_node"])
            if p.check(rc == 0 and d, "exit %s" % rc):
                p.check((d["selected"], d["garbage"], d["chains"]) == (1, 1, []),
                        "selected %r garbage %r chains %r" % (d["selected"], d["garbage"],
                                                            d["chains"]))
            else:
                p.diag("\n".join(diag))
        with tap.point(descs[8]) as p:
            for bad in ("fd:x", "0xzz", "two words"):
                rc, out, err = H.run_leaktop(["why", pid, bad])
                p.check(rc == 2 and len(err.strip().splitlines()) == 1,
                        "selector %r: exit %s, stderr %r" % (bad, rc, err))
            rc, out, err = H.run_leaktop(["why", pid])
            p.check(rc == 2, "no selector: exit %s" % rc)
            rc, d, diag = why(pid, "__main__.NoSuchType")
            p.check(rc == 0 and d and d["selected"] == 0 and d["chains"] == [] and d["note"],
                    "unmatched type: %r" % (d,))
        with tap.point(descs[9]) as p:
            p.untraced(pid)
    finally:
        target.stop()


def ch_via(d):
    """The index of the example entry (any of the cache's int keys)."""
    try:
        return d["chains"][0]["path"][2]["via"]
    except (TypeError, KeyError, IndexError):
        return "[?]"


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
