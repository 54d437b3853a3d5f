#!/usr/bin/env python3
"""The interactive view and signals during a stop (TAP).

leaktop's view runs in a detached tmux session against a target whose
thread and frame lists loop (hostile_target.py bothloops); a test hook
(LEAKTOP_TEST_IN_STOP) holds the view's second snapshot inside its stop.
SIGTERM then must let the target go within the stated 50 ms, from the
signal handler itself, and end the view cleanly (exit 0, terminal given
back); the target keeps running, untraced.
"""
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402
from test_tui import Tmux  # noqa: E402

GROUP = "SIGTERM during a stop, looping heap: target let go within 50 ms, view ends"
RELEASE_BOUND_S = 0.05   # the stated bound for a signal to free a stopped target


def pane_leaktop(t):
    """The leaktop process in a tmux pane (the pane runs a shell around it)."""
    shell = t.tmux("list-panes", "-t", t.name, "-F", "#{pane_pid}").strip()
    for task in os.listdir("/proc/%s/task" % shell):
        with open("/proc/%s/task/%s/children" % (shell, task)) as f:
            for pid in f.read().split():
                return int(pid)
    return None


def stopped(pid):
    st = H.target_state(pid)
    return st is not None and st["State"] in ("t", "T")


def sigterm_in_stop(tap, py, desc):
    """The view's second snapshot is held inside its stop; SIGTERM then."""
    with tap.point(desc) as p:
        target = H.start_target(py, "hostile_target.py", "bothloops", timeout=60)
        hold = os.path.join(target.tmpdir, "in-stop")
        t = Tmux("sigterm-%d" % target.pid, "%s top --interval 0.5 %d; echo EXIT=$?; sleep 5" %
                 (H.leaktop_shell(), target.pid),
                 {"TERM": "xterm-256color", "LEAKTOP_TEST_IN_STOP": hold})
        try:
            for n in (1, 2):   # the first snapshot comes before the view starts
                deadline = time.time() + 120  # hang guards: a loaded machine walks slowly
                while not os.path.exists(hold) and time.time() < deadline:
                    time.sleep(0.01)
                p.require(os.path.exists(hold), "stop %d never reached:\n%s" % (n, t.screen()))
                if n == 1:
                    os.unlink(hold)
                    p.require(t.wait_for(r"__main__\.Leaky", 120),
                              "view not drawn:\n%s" % t.screen())
            p.require(stopped(target.pid), "the target is not stopped in the hook")
            leaktop = pane_leaktop(t)
            p.require(leaktop, "leaktop's pid not found")
            os.kill(leaktop, signal.SIGTERM)
            time.sleep(RELEASE_BOUND_S)
            p.check(not stopped(target.pid) and not H.tracer_pid(target.pid),
                    "the target is still stopped or traced %.0f ms after SIGTERM" %
                    (RELEASE_BOUND_S * 1000))
            s = t.wait_for(r"^EXIT=", 10)
            p.check(s is not None and "EXIT=0" in s and "TYPES" not in s,
                    "after SIGTERM the screen is:\n%s" % t.screen())
            p.untraced(target.pid)
            target.assert_alive_progressing()
        finally:
            t.kill()
            target.stop()


def main(tap, pythons):
    for py in H.in_one_mode(pythons):
        desc = "tui: %s [%s]" % (GROUP, py.label)
        if not shutil.which("tmux"):
            tap.skip(desc, H.missing_tool("tmux"))
        elif py.skip_reason:
            tap.skip(desc, py.skip_reason)
        else:
            sigterm_in_stop(tap, py, desc)


if __name__ == "__main__":
    H.run_main(main)
