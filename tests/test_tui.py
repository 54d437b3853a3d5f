#!/usr/bin/env python3
"""The interactive view under tmux (TAP).

leaktop runs in a detached 80x24 tmux session against a target that grows
one class; the test types keys with send-keys and reads the screen with
capture-pane: the growing type shows up first by growth, sort and filter
change the screen, help and the detail view open, t lists the threads with
their Python frames and Enter shows one's native stack, q quits, NO_COLOR
leaves no colour on screen, a target that exits is reported while the last
data stays, Ctrl-C quits with the terminal restored; afterwards the target
is running and not traced.  Against a target whose two holders grow
(holders_target.py), the faster one heads a GROWING HOLDERS section within
a few refreshes, and r lists the retainers, Enter showing one's chain and
what it holds.  (SIGTERM during a stop: test_tui_signal.py.)
"""
import os
import re
import signal
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("the growing type is shown first, sorted by growth",
          "s changes the sort column",
          "/ filters the types by name",
          "h opens the help, a key closes it",
          "Enter opens the detail view with a chart and sample instances",
          "t lists the threads, Enter shows the main thread's native stack",
          "q quits",
          "NO_COLOR: no colour on screen",
          "Ctrl-C quits cleanly and gives the terminal back",
          "target exits: the view says so and keeps the last data",
          "target running and untraced afterwards",
          "growing holders above the types, fastest first; r lists the retainers, "
          "Enter shows one's chain and contents",
          "a lists asyncio's pending tasks by group, most first; Enter shows one group's "
          "stack and what it waits on")


class Tmux(object):
    def __init__(self, name, cmd, env=None):
        self.name = name
        envs = []
        for k, v in (env or {}).items():
            envs += ["-e", "%s=%s" % (k, v)]
        # A server whose last session just closed is on its way out: a new
        # session that reaches it then fails ("server exited unexpectedly").
        # Try again: the next one starts a fresh server.
        for attempt in range(5):
            r = subprocess.run(["tmux", "-L", "leaktop-test", "new-session", "-d", "-s", name,
                                "-x", "80", "-y", "24"] + envs + [cmd],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("tmux new-session failed 5 times: %s"
                               % r.stderr.decode("utf-8", "replace").strip())

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", "leaktop-test"] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=10).stdout.decode("utf-8", "replace")

    def screen(self, escapes=False):
        return self.tmux("capture-pane", "-p", "-t", self.name, *(["-e"] if escapes else []))

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.name, *keys)
        time.sleep(0.4)

    def wait_for(self, pattern, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.screen()
            if re.search(pattern, s, re.M):
                return s
            time.sleep(0.2)
        return None

    def alive(self):
        return subprocess.run(["tmux", "-L", "leaktop-test", "has-session", "-t", self.name],
                              stderr=subprocess.DEVNULL).returncode == 0

    def kill(self):
        self.tmux("kill-session", "-t", self.name)


def type_rows(screen):
    """Type names of the rows of the types panel, top to bottom."""
    rows, inside = [], False
    for line in screen.splitlines():
        if line.lstrip().startswith("COUNT") and "TYPE" in line:
            inside = True
            continue
        if inside:
            if not line.strip() or "HANDLES" in line:
                break
            rows.append(line.split()[-1])
    return rows


def holder_rows(screen):
    """Rows of the GROWING HOLDERS section, top to bottom."""
    rows, inside = [], False
    for line in screen.splitlines():
        if "GROWING HOLDERS" in line:
            inside = True
        elif inside:
            if "TYPES (" in line:
                break
            rows.append(line.strip())
    return rows


def holders(tap, py, desc):
    with tap.point(desc) as p, H.start_target(py, "holders_target.py", timeout=60) as target:
        fast = target.truth["growing"][0]
        churn = target.truth["churning"]
        t = Tmux("holders-%d" % target.pid, "%s top --interval 0.5 %d"
                 % (H.leaktop_shell(), target.pid), {"TERM": "xterm-256color", "LANG": "C.UTF-8"})
        try:
            # Within five refreshes (0.5 s each) of the first, with room
            # for a slow machine: the section appears, the faster first.
            deadline = time.time() + 10
            while True:
                s = t.screen()
                rows = holder_rows(s)
                if (rows and rows[0].startswith(fast + " ")) or time.time() > deadline:
                    break
                time.sleep(0.2)
            p.require(rows and rows[0].startswith(fast + " "),
                      "no GROWING HOLDERS section headed by %s:\n%s" % (fast, s))
            p.check(not any(r.startswith(churn + " ") for r in rows),
                    "the churning cache %s is shown growing:\n%s" % (churn, s))
            p.diag("holders: %s" % "; ".join(rows))
            t.keys("r")
            # The largest retainer is selected first: FAST, once it
            # outgrows the interpreter's own tables (it does in seconds).
            first = r"^ *RETAINED +OBJECTS.*\n *\S+ \S+ +\d+ +[\d.]+% +.* " + re.escape(fast) + "$"
            s = t.wait_for(first, 10)
            p.require(s, "r: %s is not the first retainer:\n%s" % (fast, t.screen()))
            # The selection stays on its object: put it on the first row.
            t.keys("PPage", "PPage", "Enter")
            s = t.wait_for(r"^chain from its root", 5)
            p.require(s, "Enter: no chain of the retainer:\n%s" % t.screen())
            chain = s.split("chain from its root", 1)[1].split("what it holds", 1)[0]
            p.check("FAST" in chain, "the chain does not name FAST:\n%s" % s)
            p.check(re.search(r"^ +\d+ +\S+ \S+ +__main__\.Entry$", s, re.M),
                    "what %s holds does not list __main__.Entry:\n%s" % (fast, s))
            t.keys("Escape")
            p.check("RETAINERS (" in t.screen(), "Esc did not go back to the retainers")
            t.keys("Escape")
            p.check("TYPES (" in t.screen(), "Esc did not go back to the main view")
            t.keys("q")
        finally:
            t.kill()
        p.untraced(target.pid)


TASKS_ON = set()   # the interpreters the tasks screen runs on (main)


def tasks(tap, py, desc):
    with tap.point(desc) as p, H.start_target(py, "tasks_target.py", timeout=120) as target:
        t = Tmux("tasks-%d" % target.pid, "%s top --interval 0.5 %d"
                 % (H.leaktop_shell(), target.pid), {"TERM": "xterm-256color", "LANG": "C.UTF-8"})
        try:
            p.require(t.wait_for(r"TYPES \(", 30), "the view did not start:\n%s" % t.screen())
            t.keys("a")
            first = r"TASKS +CHANGE +RETAINED.*\n +7 +[-+]\d+ +\S+ \S+ +notify_on_shutdown > "
            s = t.wait_for(first, 10)
            p.require(s, "a: the seven notify_on_shutdown tasks are not the first group:\n%s"
                      % t.screen())
            p.check(re.search(r"loop 0x[0-9a-f]+ thread loop-c: 1 tasks, running blocker", s),
                    "the blocked loop and its running task are not shown:\n%s" % s)
            t.keys("Enter")
            s = t.wait_for(r"^waits on", 5)
            p.require(s, "Enter: no group detail:\n%s" % t.screen())
            p.check(re.search(r"^ +Event\.wait \(", s, re.M) and
                    re.search(r"^  held as __main__\.SHUTDOWN$", s, re.M) and
                    "7 pending tasks alike" in s,
                    "the group's stack, count or holder is missing:\n%s" % s)
            # waited for, not looked at once: a sanitizer build's view may be
            # walking a snapshot when the key comes (CI saw one there)
            t.keys("Escape")
            p.check(t.wait_for(r"COROUTINE STACK", 15), "Esc did not go back to the tasks:\n%s"
                    % t.screen())
            t.keys("Escape")
            p.check(t.wait_for(r"TYPES \(", 15), "Esc did not go back to the main view:\n%s"
                    % t.screen())
            t.keys("q")
        finally:
            t.kill()
        p.untraced(target.pid)


def run_python(tap, py):
    tag = "[%s]" % py.label
    descs = ["tui: %s %s" % (g, tag) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = H.start_target(py, "growth_target.py", 0, timeout=60)
    cmd = "%s top --interval 0.5 %d" % (H.leaktop_shell(), target.pid)
    t = Tmux("main-%d" % target.pid, cmd, {"TERM": "xterm-256color", "LANG": "C.UTF-8"})
    try:
        with tap.point(descs[0]) as p:
            s = t.wait_for(r"__main__\.Grower", 15)
            p.require(s, "Grower never shown:\n%s" % t.screen())
            time.sleep(2.5)       # a few refreshes so the growth signal settles
            s = t.screen()
            p.check("sorted by growth" in s, "not sorted by growth:\n%s" % s)
            rows = type_rows(s)
            p.check(rows[:1] == ["__main__.Grower"], "first row %r, want Grower:\n%s" % (rows[:1], s))
        with tap.point(descs[1]) as p:
            before = t.screen()
            t.keys("s")
            s = t.screen()
            p.check("sorted by count" in s and s != before, "s did not change the sort:\n%s" % s)
        with tap.point(descs[2]) as p:
            t.keys("/", "C", "h", "u", "r", "n", "Enter")
            # Churn alternates between 5,000 instances and none: a snapshot
            # taken while there are none (nor were, before) has no row.
            deadline = time.time() + 5
            while True:
                s = t.screen()
                rows = type_rows(s)
                if rows or time.time() > deadline:
                    break
                time.sleep(0.2)
            p.check(rows and all("Churn" in r for r in rows),
                    "filter 'Churn' left rows %r:\n%s" % (rows, s))
            p.check("TYPES (1)" in s, "the panel does not count 1 type:\n%s" % s)
            t.keys("Escape")
            p.check(len(type_rows(t.screen())) > 3, "Esc did not clear the filter")
        with tap.point(descs[3]) as p:
            t.keys("h")
            s = t.screen()
            p.check(s.startswith("Help") and "quit" in s, "no help screen:\n%s" % s)
            t.keys("x")
            p.check("TYPES" in t.screen(), "a key did not close the help")
        with tap.point(descs[4]) as p:
            t.keys("/", "G", "r", "o", "w", "Enter")
            t.keys("Enter")
            s = t.wait_for(r"0x[0-9a-f]+\s+\d+\s+<__main__\.Grower object>", 10)
            p.check(s is not None, "no sample instances:\n%s" % t.screen())
            s = t.screen()
            p.check("count over time" in s, "no chart:\n%s" % s)
            t.keys("Escape")
            p.check("TYPES" in t.screen(), "Esc did not go back")
        with tap.point(descs[5]) as p:
            # growth_target.py has one thread, running main() (threading is
            # not imported: MainThread is the name of the pid's thread).
            t.keys("t")
            s = t.wait_for(r"^Thread \d+ \(MainThread\)", 10)
            p.require(s, "no threads view:\n%s" % t.screen())
            p.check(re.search(r"^ +main \(\S*growth_target", s, re.M),
                    "main() is not on the main thread's stack:\n%s" % s)
            t.keys("Enter")
            s = t.wait_for(r"^ +\(C\) \S+\+0x[0-9a-f]+ \(", 10)
            p.require(s, "no native frame after Enter:\n%s" % t.screen())
            p.check(re.search(r"^ Thread \d+ \(MainThread\)", s, re.M) and
                    re.search(r"^ +\(Python\) main \(", s, re.M),
                    "not the main thread's merged stack:\n%s" % s)
            t.keys("Escape")
            p.check("THREADS" in t.screen(), "Esc did not go back to the threads")
            t.keys("Escape")
            p.check("TYPES" in t.screen(), "Esc did not go back to the main view")
        with tap.point(descs[6]) as p:
            t.keys("q")
            time.sleep(0.5)
            p.check(not t.alive(), "leaktop still running after q:\n%s" % t.screen())
        with tap.point(descs[7]) as p:
            nc = Tmux("nocolor-%d" % target.pid, cmd, {"TERM": "xterm-256color", "NO_COLOR": "1"})
            try:
                nc.wait_for(r"__main__\.Grower", 15)
                s = nc.screen(escapes=True)
                colours = re.findall(r"\x1b\[[0-9;]*(?:3[0-7]|4[0-7]|38;5;\d+|48;5;\d+)[0-9;]*m", s)
                p.check(not colours, "colour escapes with NO_COLOR: %r" % colours[:5])
                p.check("Grower" in s, "screen empty with NO_COLOR")
                nc.keys("q")
            finally:
                nc.kill()
        with tap.point(descs[8]) as p:
            cc = Tmux("ctrlc-%d" % target.pid, "%s; echo EXIT=$?; sleep 5" % cmd,
                      {"TERM": "xterm-256color"})
            try:
                cc.wait_for(r"__main__\.Grower", 15)
                cc.keys("C-c")
                s = cc.wait_for(r"^EXIT=", 5)
                p.check(s is not None and "EXIT=0" in s and "TYPES" not in s,
                        "after Ctrl-C the screen is:\n%s" % cc.screen())
            finally:
                cc.kill()
        with tap.point(descs[10]) as p:
            p.untraced(target.pid)
    finally:
        t.kill()
        target.stop()
    with tap.point(descs[9]) as p:
        # The target is killed once the view shows its data, not on a
        # timer: a slow (sanitizer) view's last snapshot could otherwise
        # catch the interpreter tearing its heap down.
        short = H.start_target(py, "growth_target.py", 600, timeout=60)
        ex = Tmux("exit-%d" % short.pid, "%s top --interval 0.5 %d" % (H.leaktop_shell(), short.pid),
                  {"TERM": "xterm-256color"})
        try:
            p.require(ex.wait_for(r"__main__\.Grower", 60), "no data:\n%s" % ex.screen())
            os.kill(short.pid, signal.SIGKILL)
            s = ex.wait_for(r"exited", 20)
            p.check(s is not None, "exit not reported:\n%s" % ex.screen())
            p.check(s and "__main__.Grower" in s, "last data not kept:\n%s" % s)
            ex.keys("q")
            time.sleep(0.5)
            p.check(not ex.alive(), "q did not quit after the exit")
        finally:
            ex.kill()
            short.stop()
    holders(tap, py, descs[11])
    if py.label in TASKS_ON:
        tasks(tap, py, descs[12])
    else:
        tap.skip(descs[12], "tiered: the tasks screen runs on %s (test_tasks reads the same "
                 "tasks on every interpreter)" % ", ".join(sorted(TASKS_ON)))


def main(tap, pythons):
    if not shutil.which("tmux"):
        for py in pythons:
            for g in GROUPS:
                tap.skip("tui: %s [%s]" % (g, py.label), H.missing_tool("tmux"))
        return
    pythons = H.in_one_mode(pythons)
    # The tasks screen: the oldest and newest host interpreters, Debian's
    # python3 and the newest of a root (the screen is the same C on all).
    ok = [x for x in pythons if x.skip_reason is None]
    host = [x for x in ok if not x.root]
    if host:
        TASKS_ON.update({host[0].label, host[-1].label})
        TASKS_ON.update(x.label for x in host if x.path.startswith("/usr/bin/") and
                        not x.label.endswith("d"))
    roots = [x for x in ok if x.root]
    if roots:
        TASKS_ON.add(roots[-1].label)
    for py in pythons:
        run_python(tap, py)


if __name__ == "__main__":
    H.run_main(main)
