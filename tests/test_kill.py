#!/usr/bin/env python3
"""Interrupt a walk from either side: the target must carry on (TAP).

For every interpreter: start a target holding 1,000,000 objects, start
`leaktop dump --json PID`, wait until the target's TracerPid is leaktop,
SIGKILL leaktop, then within 2 s the target must be alive, untraced, not
stopped, and its sleep loop must keep writing its heartbeat.  Finally a
fresh dump of the same target must still work and count the million.

Then SIGINT and SIGTERM to leaktop mid-walk must leave the target running
and untraced too, and SIGKILL to the *target* mid-walk must make leaktop
say, in one line and with exit status 1, that the target exited.

If leaktop always finishes before we see it tracing (5 attempts), the
kill point passes with a diagnostic: the walk was too fast to catch.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

ATTEMPTS = 5
GROUPS = ("SIGKILL leaktop while it traces the target",
          "target alive, untraced, not stopped within 2 s of the kill",
          "target keeps running after the kill (heartbeat advances)",
          "a new dump after the kill counts all 1,000,000 objects",
          "SIGINT and SIGTERM mid-walk leave the target running, untraced",
          "target killed mid-walk: exit 1, one line saying it exited")


def traced_by(pid, leaktop_pid):
    """Is pid traced by leaktop (its main thread or any of its threads)?"""
    tp = H.tracer_pid(pid)
    if tp == 0:
        return False
    if tp == leaktop_pid:
        return True
    st = H.target_state(tp)
    return bool(st) and st.get("Tgid") == leaktop_pid


def try_kill(target, sig=signal.SIGKILL, victim="leaktop"):
    """One attempt: send sig to leaktop (or to the target) once leaktop is
    seen tracing.  Returns (caught, info): info is the kill time, or for a
    killed target leaktop's (returncode, stderr)."""
    cmd = [H.leaktop_path(), "dump", "--json", str(target.pid)]
    lt = H._track(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=H.leaktop_env(),
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE))
    try:
        deadline = time.time() + 20
        seen = False
        while time.time() < deadline:
            if traced_by(target.pid, lt.pid):
                seen = True
                break
            if lt.poll() is not None:
                break
            time.sleep(0.0005)
        if not seen:
            if lt.poll() is None:
                return False, "leaktop (pid %d) never seen tracing within 20 s" % lt.pid
            err = lt.stderr.read().decode("utf-8", "replace").strip()
            return False, "leaktop exited with %s before it was seen tracing%s" % (
                lt.returncode, (": " + err) if err else "")
        t_kill = time.time()
        if victim == "target":
            os.kill(target.pid, sig)
            lt.wait(timeout=20)
            err = lt.stderr.read().decode("utf-8", "replace")
            return True, (lt.returncode, err)
        os.kill(lt.pid, sig)
        lt.wait(timeout=10)
        if lt.returncode != -sig:
            return False, "leaktop exited by itself (%s) just before the signal" % (
                lt.returncode,)
        return True, t_kill
    finally:
        H._reap(lt)
        if lt.stderr:
            lt.stderr.close()


def settle_state(pid, t_kill, limit=2.0):
    """Wait up to `limit` s after the kill for a clean state; list problems."""
    deadline = t_kill + limit
    while True:
        st = H.target_state(pid)
        probs = []
        if st is None or st["State"] in ("Z", "X"):
            return ["target %d died (status %s)" % (pid, st and st["StateText"])]
        if st["State"] in ("t", "T"):
            probs.append("target %d stopped (State: %s)" % (pid, st["StateText"]))
        if st.get("TracerPid"):
            probs.append("target %d still traced by %d" % (pid, st["TracerPid"]))
        if not probs:
            # Clean now; make sure it stays clean (late SIGSTOP etc.).
            return H.untraced_problems(pid, settle=0.3)
        if time.time() >= deadline:
            return [p + " %.1f s after SIGKILL" % limit for p in probs]
        time.sleep(0.02)


def run_python(tap, py):
    tag = "[%s]" % py.label
    descs = ["kill: %s %s" % (g, tag) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = None
    t_kill = None
    try:
        with tap.point(descs[0]) as p:
            target = H.start_target(py, "census_target.py", "big", timeout=120)
            p.require(target.truth["types"]["__main__.Small"]["count"] == 1000000,
                      "target bug: truth does not hold 1,000,000 Small objects")
            misses = []
            for attempt in range(1, ATTEMPTS + 1):
                caught, info = try_kill(target)
                if caught:
                    t_kill = info
                    p.diag("killed leaktop while tracing (attempt %d)" % attempt)
                    break
                misses.append("attempt %d: %s" % (attempt, info))
                probs = H.untraced_problems(target.pid)
                p.require(not probs, "after %s:\n%s" % (info, "\n".join(probs)))
            if t_kill is None:
                p.diag("the walk was too fast to catch; kill not exercised")
                for m in misses:
                    p.diag(m)

        with tap.point(descs[1]) as p:
            p.require(target is not None, "target did not start")
            if t_kill is None:
                p.diag("leaktop was not killed mid-walk; checking the state anyway")
                t_kill = time.time()
            for prob in settle_state(target.pid, t_kill):
                p.fail(prob)

        with tap.point(descs[2]) as p:
            p.require(target is not None, "target did not start")
            hb = target.heartbeat() or 0
            later = target.wait_heartbeat(hb, timeout=2.0)
            p.check(later is not None, "heartbeat stuck at %d for 2 s (status %s)"
                    % (hb, (H.target_state(target.pid) or {}).get("StateText")))
            p.check(target.proc.poll() is None, "target exited with %s"
                    % target.proc.returncode)

        with tap.point(descs[3]) as p:
            p.require(target is not None, "target did not start")
            args = ["dump", "--json", target.pid]
            rc, out, err = H.run_leaktop(args, timeout=120)
            if not p.check(rc == 0, "exit status %s, want 0" % rc):
                p.diag("\n".join(H.describe_run(args, rc, out, err, limit=10)))
            else:
                try:
                    types = json.loads(out)["census"]["types"]
                    small = [t for t in types if t.get("type") == "__main__.Small"]
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    p.require(False, "bad JSON: %r" % e)
                want = target.truth["types"]["__main__.Small"]
                p.require(small, "__main__.Small missing from the census")
                p.check(small[0].get("count") == want["count"],
                        "__main__.Small count %r, want %d"
                        % (small[0].get("count"), want["count"]))
                p.check(small[0].get("bytes") == want["bytes"],
                        "__main__.Small bytes %r, want %d"
                        % (small[0].get("bytes"), want["bytes"]))
            p.untraced(target.pid)

        with tap.point(descs[4]) as p:
            p.require(target is not None, "target did not start")
            for sig in (signal.SIGINT, signal.SIGTERM):
                for attempt in range(ATTEMPTS):
                    caught, info = try_kill(target, sig)
                    if caught:
                        break
                if not caught:
                    p.diag("%s: the walk was too fast to catch (%s)" % (sig.name, info))
                    continue
                for prob in settle_state(target.pid, info):
                    p.fail("after %s: %s" % (sig.name, prob))
    finally:
        if target is not None:
            target.stop()

    # The target dies under leaktop: a fresh target, killed mid-walk.
    with tap.point(descs[5]) as p:
        victim = H.start_target(py, "census_target.py", "big", timeout=120)
        try:
            for attempt in range(ATTEMPTS):
                caught, info = try_kill(victim, signal.SIGKILL, victim="target")
                if caught:
                    break
            if not caught:
                p.diag("the walk was too fast to catch; target exit not exercised (%s)" % info)
            else:
                rc, err = info
                lines = err.strip().splitlines()
                p.check(rc == 1, "exit status %r, want 1 (stderr: %r)" % (rc, err))
                p.check(len(lines) == 1 and lines[0].startswith("leaktop: ") and
                        "exited" in lines[0],
                        "stderr %r, want one 'leaktop: ...exited...' line" % err)
        finally:
            victim.stop()


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
