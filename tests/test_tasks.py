#!/usr/bin/env python3
"""asyncio from outside: `leaktop tasks` against the target's truth (TAP).

tasks_target.py runs two loops in two threads with tasks waiting on an
Event, a Queue, a sleep, another task, a gather, a TaskGroup (3.11+), a
socket read, a pure-Python Task, and keeps a failed and a cancelled one;
it records every Task in gc.get_objects() (state, name, exception, the
coroutine stack through cr_await, the future it waits on), the Futures
that are not Tasks and each loop's thread.  Checked, on every interpreter:
- the tasks are exactly the target's (addresses), each with its type,
  name, state and exception type; the other Futures counted exactly; three
  loops, each task's loop thread as the loop records it, each loop's
  thread (tid and name), and the task the blocked loop's thread runs
  (a coroutine that calls time.sleep) as its current task;
- each pending task's coroutine stack (qualname, file, line) and the
  future it waits on (address and type) are exactly the target's;
- what each waits on is named: the Event and Queue by the global holding
  them, the sleep, the other task, the gather, the stream read with its
  socket's descriptor; the largest group is the seven notify_on_shutdown
  tasks waiting on __main__.SHUTDOWN, first in the text too;
- the same tasks from a snapshot file (dump --save, then tasks FILE), on
  one interpreter of each version (tiered, as the next);
- watch --json's "tasks": the counts per state and the seven waiting on
  the Event as its first group; its Prometheus file's
  leaktop_asyncio_tasks{coro,state} add up to the tasks of each state,
  seven for notify_on_shutdown;
- stacks: the three loop threads say they run a loop, the blocked one
  what it runs (block, at its line), the others that they wait; dump
  --json's threads carry each loop's tasks and the blocked one's task;
- 3.14+: every task `python -m asyncio ps` lists is leaktop's, with its
  name and coroutine stack, and each awaiter it names is a task leaktop
  lists (3.14.10's ps lists none of this target's tasks: loops in threads
  other than the main one; leaktop lists them all);
- the target runs untraced afterwards.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("tasks: every Task exactly (type, name, state, exception), the Futures counted, "
          "the loops, their threads and the task a blocked one runs",
          "tasks: each pending task's coroutine stack and awaited future exactly",
          "tasks: what each waits on named (Event, Queue, sleep, task, gather, socket fd); "
          "the largest group first",
          "tasks: the same from a snapshot file",
          "tasks: watch --json's tasks and the Prometheus series leaktop_asyncio_tasks",
          "tasks: stacks and dump's threads say which threads run loops, and what",
          "tasks: 3.14+: every task python -m asyncio ps lists, with its name and stack",
          "tasks: target running and untraced afterwards")

# What each coroutine's tasks wait on, and the holder that names it.
KINDS = {
    "notify_on_shutdown": ("event", "__main__.SHUTDOWN"),
    "wait_for_shutdown": ("event", "__main__.SHUTDOWN"),
    "idle": ("event", "__main__.IDLE"),
    "consume": ("queue get", "__main__.JOBS"),
    "nap": ("sleep", None),
    "wait_for": ("task", None),
    "fan_out": ("gather", None),
    "read_forever": ("stream read", "__main__.CONNECTIONS"),
}


def tasks_json(p, source):
    rc, out, err = H.run_leaktop(["tasks", "--json"] + source, timeout=120)
    p.require(rc == 0, "exit %s: %s" % (rc, err.strip()))
    d = json.loads(out)
    p.require(d.get("format") == "leaktop-tasks/1", "format %r" % d.get("format"))
    return d


def by_addr(doc):
    return {int(t["addr"], 16): t for t in doc["tasks"]}


def check_tasks(p, truth, doc):
    got = by_addr(doc)
    want = {int(t["id"], 16): t for t in truth["tasks"]}
    p.check(set(got) == set(want), "tasks %s, want %s: missing %s, extra %s" % (
        len(got), len(want), sorted(hex(a) for a in set(want) - set(got)),
        sorted(hex(a) for a in set(got) - set(want))))
    for addr in sorted(set(got) & set(want)):
        g, w = got[addr], want[addr]
        for key, wkey in (("type", "type"), ("name", "name"), ("state", "state"),
                          ("exception", "exception"), ("coro", "coro")):
            p.check(g[key] == w[wkey], "task %s (%s): %s %r, want %r" % (
                hex(addr), w["name"], key, g[key], w[wkey]))
        p.check(g["loop"] and int(g["loop"], 16) == int(w["loop"], 16) and
                g["loop_thread"] == w["loop_thread"],
                "task %s: loop %s thread %s, want %s %s" % (
                    w["name"], g["loop"], g["loop_thread"], w["loop"], w["loop_thread"]))
    p.check(doc["futures"] == truth["futures"], "futures %s, want %s" % (
        doc["futures"], truth["futures"]))
    p.check(doc["loops"] == 3, "loops %s, want 3" % doc["loops"])
    loops = {int(lp["addr"], 16): lp for lp in doc.get("event_loops") or []}
    for want in truth["loops"]:
        lp = loops.get(int(want["id"], 16)) or {}
        cur = lp.get("current_task")
        p.check(lp.get("tid") == want["tid"] and lp.get("thread_name") == want["name"] and
                (cur and int(cur, 16)) == (want["current"] and int(want["current"], 16)),
                "loop %s: %r, want tid %s, thread %s, current task %s" % (
                    want["name"], lp, want["tid"], want["name"], want["current"]))
        if want["current"]:
            blocker = got.get(int(want["current"], 16)) or {}
            p.check(blocker.get("running_in") == want["tid"], "blocker running_in %r, want %s" % (
                blocker.get("running_in"), want["tid"]))
    for key in ("pending", "done", "cancelled"):
        want_n = sum(1 for t in truth["tasks"] if t["state"] == key)
        p.check(doc[key] == want_n, "%s %s, want %d" % (key, doc[key], want_n))


def check_stacks(p, truth, doc):
    got = by_addr(doc)
    for w in truth["tasks"]:
        g = got.get(int(w["id"], 16))
        if g is None or w["state"] != "pending":
            continue
        stack = [(f["qualname"], f["file"], f["line"]) for f in g["stack"]]
        want = [(f["qualname"], f["file"], f["line"]) for f in w["stack"]]
        p.check(stack == want, "task %s: stack %s, want %s" % (w["name"], stack, want))
        waits = g["waits"] or {}
        if w["waits"] is None:   # running (the blocker), not waiting
            p.check(g["waits"] is None, "task %s: waits %s, want none" % (w["name"], waits))
            continue
        p.check(waits.get("addr") and int(waits["addr"], 16) == int(w["waits"]["id"], 16) and
                waits.get("type") == w["waits"]["type"],
                "task %s: waits %s, want %s" % (w["name"], waits, w["waits"]))


def check_kinds(p, truth, doc, text):
    got = by_addr(doc)
    for w in truth["tasks"]:
        g = got.get(int(w["id"], 16))
        if g is None or w["state"] != "pending" or w["coro"] not in KINDS:
            continue
        kind, holder = KINDS[w["coro"]]
        waits = g["waits"] or {}
        p.check(waits.get("kind") == kind, "task %s (%s): kind %r, want %r" % (
            w["name"], w["coro"], waits.get("kind"), kind))
        if holder:
            p.check((waits.get("holder") or "").startswith(holder),
                    "task %s (%s): holder %r, want %s..." % (
                        w["name"], w["coro"], waits.get("holder"), holder))
        if kind == "stream read":
            p.check(waits.get("fd") == truth["socket_fd"], "task %s: fd %r, want %d" % (
                w["name"], waits.get("fd"), truth["socket_fd"]))
    first = doc["groups"][0] if doc["groups"] else {}
    p.check(first.get("count") == 7 and first.get("kind") == "event" and
            first.get("holder") == "__main__.SHUTDOWN" and
            first.get("stack", "").startswith("notify_on_shutdown"),
            "first group %r, want the 7 notify_on_shutdown tasks on __main__.SHUTDOWN" % first)
    lines = [ln for ln in text.splitlines() if ln.strip()[:1].isdigit()]
    p.check(lines and "notify_on_shutdown" in lines[0] and "event __main__.SHUTDOWN" in lines[0],
            "first text row %r" % (lines[0] if lines else None))


def ps_rows(text):
    """The rows of `python -m asyncio ps`: its columns where its header
    puts them (each cut at 50 characters); the coroutine stack innermost
    first, joined by " -> "."""
    lines = text.splitlines()
    head = next((ln for ln in lines if ln.startswith("tid")), None)
    if head is None:
        return None
    names = ("tid", "task id", "task name", "coroutine stack", "awaiter chain",
             "awaiter name", "awaiter id")
    at = [head.index(n) for n in names] + [None]
    rows = []
    for ln in lines[lines.index(head) + 2:]:
        if not ln.strip():
            continue
        rows.append({n: ln[at[i]:at[i + 1]].strip() for i, n in enumerate(names)})
    return rows


def check_ps(p, py, target, doc):
    cmd = py.command(["-m", "asyncio", "ps", str(target.pid)])
    r = H.subprocess.run(cmd, stdin=H.subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=120)
    p.require(r.returncode == 0, "asyncio ps: exit %s: %s" % (r.returncode, r.stderr[-400:]))
    rows = ps_rows(r.stdout)
    p.require(rows is not None, "asyncio ps printed no table: %r" % r.stdout[:200])
    got = by_addr(doc)
    p.diag("python -m asyncio ps lists %d task rows, leaktop %d tasks" % (len(rows), len(got)))
    for row in rows:
        addr = int(row["task id"], 16)
        tk = got.get(addr)
        if not p.check(tk is not None, "ps lists task %s (%s), leaktop does not" % (
                row["task id"], row["task name"])):
            continue
        stack = " -> ".join(f["qualname"] for f in reversed(tk["stack"]))
        # ps cuts its columns at 50 characters
        same = stack == row["coroutine stack"] or (len(row["coroutine stack"]) >= 45 and
                                                  stack.startswith(row["coroutine stack"]))
        p.check(tk["name"] == row["task name"] and same,
                "task %s: leaktop %r %r, ps %r %r" % (row["task id"], tk["name"], stack,
                                                      row["task name"], row["coroutine stack"]))
        awaiter = int(row["awaiter id"] or "0", 16)
        p.check(not awaiter or awaiter in got, "task %s: its awaiter %s is not leaktop's" % (
            row["task id"], row["awaiter id"]))


def check_thread_loops(p, target):
    loops = {lp["tid"]: lp for lp in target.truth["loops"]}
    blocker = next(t for t in target.truth["tasks"] if t["name"] == "blocker")
    rc, out, err = H.run_leaktop(["stacks", target.pid], timeout=120)
    p.require(rc == 0, "stacks: exit %s: %s" % (rc, err.strip()))
    said = {}
    for block in out.split("\nThread ")[1:]:
        tid = int(block.split()[0])
        m = re.search(r"^    \(asyncio: (.*)\)$", block, re.M)
        said[tid] = m.group(1) if m else None
    for tid, lp in loops.items():
        line = said.get(tid) or ""
        # the function as stacks names it: block, or run_c.<locals>.block (3.11+)
        want = (re.compile(r"; running (run_c\.<locals>\.)?block \(") if lp["current"] else
                re.compile(r"; waiting for events$"))
        p.check(line.startswith("an event loop runs here") and want.search(line),
                "stacks, thread %s (%s): %r, want a loop %s" % (tid, lp["name"], line,
                                                                want.pattern))
        if lp["current"]:
            p.check(line.endswith(":%d)" % blocker["stack"][0]["line"]),
                    "stacks: %r, want block's line %d" % (line, blocker["stack"][0]["line"]))
    others = [t for t, line in said.items() if line and t not in loops]
    p.check(not others, "threads %s say they run a loop" % others)
    rc, out, err = H.run_leaktop(["dump", "--json", target.pid], timeout=120)
    p.require(rc == 0, "dump: exit %s: %s" % (rc, err.strip()))
    threads = {th["tid"]: th for th in json.loads(out)["threads"]}
    for tid, lp in loops.items():
        aio = (threads.get(tid) or {}).get("asyncio") or {}
        want_tasks = sum(1 for t in target.truth["tasks"] if t["loop_name"] == lp["name"])
        cur = aio.get("running_task")
        p.check(aio.get("loop") and int(aio["loop"], 16) == int(lp["id"], 16) and
                aio.get("tasks") == want_tasks and
                (cur and int(cur, 16)) == (lp["current"] and int(lp["current"], 16)),
                "dump threads, %s: asyncio %r, want loop %s with %d tasks, running %s" % (
                    lp["name"], aio, lp["id"], want_tasks, lp["current"]))


def run_python(tap, py, full):
    descs = [d + " [%s]" % py.label for d in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = None
    doc = None
    try:
        with tap.point(descs[0]) as p:
            target = H.start_target(py, "tasks_target.py", timeout=120)
            doc = tasks_json(p, [target.pid])
            check_tasks(p, target.truth, doc)
            p.diag("%d tasks, %d futures, pause %.1f ms" % (len(doc["tasks"]), doc["futures"],
                                                          doc["pause_us"] / 1e3))
        with tap.point(descs[1]) as p:
            p.require(doc, "no tasks")
            check_stacks(p, target.truth, doc)
        with tap.point(descs[2]) as p:
            p.require(doc, "no tasks")
            rc, text, err = H.run_leaktop(["tasks", target.pid], timeout=120)
            p.require(rc == 0, "exit %s: %s" % (rc, err.strip()))
            check_kinds(p, target.truth, doc, text)
        if py.label not in full:
            for d in descs[3:5]:
                tap.skip(d, "tiered: the snapshot file and watch run on one interpreter of each "
                         "version: %s" % ", ".join(sorted(full)))
        else:
            with tap.point(descs[3]) as p:
                p.require(target, "target did not start")
                path = os.path.join(target.tmpdir, "tasks.lts")
                rc, _out, err = H.run_leaktop(["dump", "--save", path, target.pid], timeout=120)
                p.require(rc == 0, "dump --save: exit %s: %s" % (rc, err.strip()))
                saved = tasks_json(p, [path])
                check_tasks(p, target.truth, saved)
                check_stacks(p, target.truth, saved)
            with tap.point(descs[4]) as p:
                p.require(target, "target did not start")
                prom = os.path.join(target.tmpdir, "tasks.prom")
                rc, out, err = H.run_leaktop(["watch", "--json", "--count", "1", "--prometheus", prom,
                                              target.pid], timeout=120)
                p.require(rc == 0, "watch: exit %s: %s" % (rc, err.strip()))
                tasks = json.loads(out.splitlines()[-1]).get("tasks") or {}
                for key in ("pending", "done", "cancelled"):
                    want_n = sum(1 for t in target.truth["tasks"] if t["state"] == key)
                    p.check(tasks.get(key) == want_n, "watch: %s %r, want %d" % (
                        key, tasks.get(key), want_n))
                first = (tasks.get("groups") or [{}])[0]
                p.check(first.get("count") == 7 and first.get("label", "").startswith(
                    "notify_on_shutdown > wait_for_shutdown > Event.wait -> event __main__.SHUTDOWN"),
                    "watch: first group %r" % first)
                per_state, notify = {}, None
                with open(prom) as f:
                    for line in f:
                        m = re.match(r'leaktop_asyncio_tasks\{.*coro="([^"]*)",state="([^"]*)"\} (\d+)$',
                                     line.strip())
                        if m:
                            per_state[m.group(2)] = per_state.get(m.group(2), 0) + int(m.group(3))
                            if m.group(1) == "notify_on_shutdown" and m.group(2) == "pending":
                                notify = int(m.group(3))
                want = {}
                for t in target.truth["tasks"]:
                    want[t["state"]] = want.get(t["state"], 0) + 1
                p.check(per_state == want and notify == 7,
                        "leaktop_asyncio_tasks by state %s (notify_on_shutdown %s), want %s and 7" % (
                            per_state, notify, want))
        with tap.point(descs[5]) as p:
            p.require(target, "target did not start")
            check_thread_loops(p, target)
        if tuple(target.truth["version"][:2]) < (3, 14):
            tap.skip(descs[6], "python -m asyncio ps reads tasks from outside from 3.14")
        else:
            with tap.point(descs[6]) as p:
                p.require(doc, "no tasks")
                check_ps(p, py, target, doc)
        with tap.point(descs[7]) as p:
            p.require(target, "target did not start")
            p.untraced(target.pid)
            target.assert_alive_progressing()
    finally:
        if target is not None:
            target.stop()


def main(tap, pythons):
    pythons = H.in_one_mode(pythons)
    # The snapshot file and watch points on the first interpreter of each
    # version and Debian's python3: the same C for every one.
    full, seen = set(), set()
    for py in pythons:
        version = py.label[len("python"):].split("@")[0].rstrip("d").rsplit(".", 1)[0]
        if py.skip_reason is None and (version not in seen or py.path == "/usr/bin/python3.11"):
            seen.add(version)
            full.add(py.label)
    for py in pythons:
        run_python(tap, py, full)


if __name__ == "__main__":
    H.run_main(main)
