#!/usr/bin/env python3
"""A corrupt heap: leaktop answers, never crashes or hangs, target unharmed (TAP).

The target breaks its own heap with ctypes (a GC list back-link, a NULL
forward link, a type pointer, a dict's keys pointer, a string's length, a
thread list and a frame chain that loop, lists whose lengths claim more
references than the heap has words) and sleeps.  For each, `leaktop dump
--json`, `why`, `watch` and (for the loops) `stacks` must exit 0 within their timeout with a census
that says what it could not walk (complete false and a note naming the
structure) or that simply leaves the bad object out; the stop stays within
--max-pause; a GC list found broken has the stop taken again once (stop
retries: it may have been caught mid-link) before it is called damaged;
the target keeps running, untraced.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

MODES = ("prev", "gcnull", "objects", "counts", "tsloop", "frameloop", "bothloops", "multiply")
# The note each damage must bring (a regular expression), with complete false.
NOTES = {
    "prev": r"list is broken",
    "gcnull": r"list is broken",
    "tsloop": r"thread list of interpreter 0x[0-9a-f]+ loops back",
    "frameloop": r"frame chain of thread \d+ loops back",
    "bothloops": r"(thread list|frame chain).* loops back",
    "multiply": r"the walk stopped in .* after \d+ reads",
    "objects": r"objects could not be read",
    "counts": r"objects could not be read",
}
REFERENCE_DAMAGE = ("tsloop", "frameloop", "bothloops", "multiply")
MAX_PAUSE_MS = 1000
# Detaching every thread after a cut copy: what the stated bound allows on top.
RELEASE_SLACK_MS = 250


def commands(mode, pid):
    """Every damage meets the full census and why; the GC-only census the
    GC lists' damage; the text dump and watch one damage of each kind."""
    yield ["dump", "--json", "--max-pause", MAX_PAUSE_MS, pid]
    yield ["why", "--json", pid, "__main__.Leaky"]
    if mode in ("prev", "gcnull", "objects"):
        yield ["dump", "--json", "--gc-only", pid]
    if mode in ("tsloop", "frameloop", "bothloops"):
        yield ["stacks", "--json", "--native", "--locals", pid]
    if mode in ("prev", "bothloops"):
        yield ["dump", pid]
        yield ["watch", "--json", "--count", 2, "--interval", 0.2, pid]


def run_python(tap, py):
    for mode in MODES:
        desc = "hostile %s: leaktop answers with a note, in its bounds; target unharmed [%s]" % (
            mode, py.label)
        if py.skip_reason:
            tap.skip(desc, py.skip_reason)
            continue
        target = H.start_target(py, "hostile_target.py", mode, timeout=60)
        try:
            with tap.point(desc) as p:
                p.require(target.truth.get("damaged", True),
                          "the target could not find the link to damage")
                for args in commands(mode, target.pid):
                    rc, out, err = H.run_leaktop(args, timeout=60)
                    if not p.check(rc == 0, "%s: exit %s" % (" ".join(map(str, args)), rc)):
                        p.diag("\n".join(H.describe_run(args, rc, out, err, limit=6)))
                        continue
                    if "--json" not in args:
                        continue
                    doc = json.loads(out.splitlines()[-1])
                    if args[0] == "stacks":
                        p.check(any(re.search(r"loops back", n) for n in doc["notes"]),
                                "stacks: no note that a list loops back: %r" % doc["notes"])
                        continue
                    # why carries the census's completeness and notes
                    census = doc["census"] if args[0] != "why" else \
                        {"complete": doc["complete"], "notes": doc["notes"], "types": []}
                    leaky = [t for t in census["types"] if t["type"] == "__main__.Leaky"]
                    p.diag("%s: complete %s, Leaky %s, pause %.1f ms, notes %s" % (
                        args[-2] if "--gc-only" in args else args[0], census["complete"],
                        leaky and leaky[0]["count"], doc["pause_us"] / 1000.0,
                        census["notes"][1:]))
                    p.check(doc["pause_us"] <= (MAX_PAUSE_MS + RELEASE_SLACK_MS) * 1000,
                            "stopped %.1f ms, past --max-pause" % (doc["pause_us"] / 1000.0))
                    want = NOTES.get(mode)
                    # --gc-only follows no references, threads or frames.
                    if want and not ("--gc-only" in args and mode in REFERENCE_DAMAGE):
                        p.check(not census["complete"] and
                                any(re.search(want, n) for n in census["notes"]),
                                "no note matching %r: %r" % (want, census["notes"]))
                    # A list broken in the walk: the stop was taken again
                    # once (it may have been caught mid-link), broken twice.
                    if want == NOTES["prev"] and args[0] == "dump":
                        p.check((doc.get("stop") or {}).get("retries", 0) >= 1,
                                "a broken list, and the stop was not taken again: %r"
                                % doc.get("stop"))
                p.untraced(target.pid)
                target.assert_alive_progressing()
        finally:
            target.stop()


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
