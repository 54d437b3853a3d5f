#!/usr/bin/env python3
"""leaktop error handling: exit status, one-line messages, target unharmed.

  exit 1: no such process, a zombie, not a CPython, a Python older than
          3.8 (named with its version), layout not available, permission
          denied (CAP_SYS_PTRACE), already traced by another PID, a target
          that dies right after the attach or (with threads) while stopped
  exit 2: usage errors (numbers in hex, inf, exponents included)
Every error is exactly one stderr line starting with "leaktop: ".  After
each run against a live process, that process must be running and untraced.
Interpreter-independent checks use one interpreter only.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402


# What the brief states: the cause (the target's death) reported within this.
DEATH_BOUND_S = 0.1


def check_error(p, args, res, want_rc, needles=(), pid=None):
    """rc, a single 'leaktop: ' stderr line containing every needle."""
    rc, out, err = res
    ok = p.check(rc == want_rc, "exit status %s, want %d" % (rc, want_rc))
    lines = err.splitlines()
    ok &= p.check(len(lines) == 1, "stderr has %d lines, want exactly 1" % len(lines))
    ok &= p.check(lines and lines[0].startswith("leaktop: "),
                  "stderr does not start with 'leaktop: '")
    for n in needles:
        ok &= p.check(n.lower() in err.lower(), "stderr does not mention %r" % n)
    if not ok:
        p.diag("\n".join(H.describe_run(args, rc, out, err, limit=10)))
    if pid is not None:
        p.untraced(pid)


def pick_target_python(pythons):
    """First interpreter leaktop should be able to inspect, its debug files
    in reach (the layout sources are all tried), else None."""
    ok = [py for py in pythons if py.skip_reason is None]
    for py in ok:
        if not py.hide_debug:
            return py
    return ok[0] if ok else None


def test_no_such_process(tap):
    with tap.point("no such process: PID above kernel.pid_max") as p:
        try:
            with open("/proc/sys/kernel/pid_max") as f:
                pid_max = int(f.read())
        except (OSError, ValueError):
            pid_max = 4194304
        pid = pid_max + 1
        args = ["dump", pid]
        check_error(p, args, H.run_leaktop(args), 1, ["no such process"])
    with tap.point("no such process: PID of a reaped child") as p:
        child = subprocess.Popen(["true"])
        child.wait()
        args = ["dump", "--json", child.pid]
        check_error(p, args, H.run_leaktop(args), 1, ["no such process"])
    with tap.point("no such process: stacks --native") as p:
        args = ["stacks", "--native", child.pid]
        check_error(p, args, H.run_leaktop(args), 1, ["no such process"])


def test_zombie(tap):
    with tap.point("a zombie: exit 1, says it has exited") as p:
        child = subprocess.Popen(["true"])
        deadline = time.time() + 5
        while time.time() < deadline and (H.target_state(child.pid) or {}).get("State") != "Z":
            time.sleep(0.01)
        args = ["dump", child.pid]
        check_error(p, args, H.run_leaktop(args), 1, ["zombie", "exited"])
        child.wait()


def old_pythons():
    """CPython interpreters older than 3.8 on this machine: (path, 'X.Y')."""
    found = {}
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    paths = glob.glob(os.path.join(pyenv, "versions", "*", "bin", "python[23].*")) + \
        glob.glob("/usr/bin/python[23].*")
    for path in sorted(paths):
        m = re.search(r"python([23])\.(\d+)$", path)
        if m and (int(m.group(1)), int(m.group(2))) < (3, 8) and os.access(path, os.X_OK):
            found.setdefault("%s.%s" % m.groups(), path)
    return sorted(found.items())


def test_old_pythons(tap):
    olds = old_pythons()
    if not olds:
        tap.skip("a Python older than 3.8: named, exit 1", "none on this machine")
    for version, path in olds:
        with tap.point("Python %s: says so and that 3.8+ is needed, exit 1" % version) as p:
            proc = H._track(subprocess.Popen([path, "-c", "import time; time.sleep(60)"],
                                             stdin=subprocess.DEVNULL))
            try:
                time.sleep(0.5)
                args = ["dump", proc.pid]
                check_error(p, args, H.run_leaktop(args), 1,
                            ["runs Python %s" % version, "3.8 and later"], pid=proc.pid)
            finally:
                H._reap(proc)


def test_dies_at_attach(tap, py):
    """Targets that exit a few milliseconds into the attach: whatever
    leaktop was doing, it says the target exited (or was never there)."""
    with tap.point("a target dying during the attach: 'exited', never a layout error") as p:
        outcomes = {}
        for i in range(20):
            delay = 0.005 * i
            proc = H._track(subprocess.Popen(
                py.command(["-c", "import sys, time; print(1, flush=True); time.sleep(%f)" % delay]),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE))
            proc.stdout.readline()   # started: it exits delay seconds from now
            args = ["dump", proc.pid]
            rc, out, err = H.run_leaktop(args)
            H._reap(proc)
            kind = "ok" if rc == 0 else \
                "exited" if re.search(r"exited|no such process", err) else "other"
            outcomes[kind] = outcomes.get(kind, 0) + 1
            if kind == "other" or (rc and len(err.splitlines()) != 1):
                p.fail("delay %.3f s: %s" % (delay, "; ".join(H.describe_run(args, rc, out, err))))
        p.diag("outcomes: %r" % outcomes)


def test_threads_die_in_stop(tap, py):
    """A target with threads killed while leaktop has it stopped: leaktop
    says so at once (no wait for stops that cannot come)."""
    with tap.point("target with 4 threads killed in the stop: exit 1, 'exited', within "
                   "%.0f ms" % (DEATH_BOUND_S * 1000)) as p:
        tmp = tempfile.mkdtemp(prefix="leaktop-test-")
        hold = os.path.join(tmp, "in-stop")
        proc = H._track(subprocess.Popen(py.command([
            "-c", "import threading, time\n"
            "for _ in range(4): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
            "time.sleep(600)"]), stdin=subprocess.DEVNULL))
        try:
            time.sleep(0.5)
            lt = subprocess.Popen([H.leaktop_path(), "dump", str(proc.pid)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=H.leaktop_env({"LEAKTOP_TEST_IN_STOP": hold}))
            deadline = time.time() + 20
            while not os.path.exists(hold) and time.time() < deadline and lt.poll() is None:
                time.sleep(0.01)
            if not os.path.exists(hold):
                lt.kill()
                p.require(False, "leaktop never reached the stop: %r" % (lt.communicate(),))
            os.kill(proc.pid, signal.SIGKILL)
            time.sleep(0.1)
            t0 = time.time()
            os.unlink(hold)
            # The bound is on saying it (a sanitizer build then spends a
            # while in its leak check before it exits).
            first = lt.stderr.readline()
            took = time.time() - t0
            out, rest = lt.communicate(timeout=30)
            err = (first + rest).decode("utf-8", "replace")
            p.diag("leaktop said it %.0f ms after the release: %s" % (took * 1000, err.strip()))
            p.check(lt.returncode == 1 and len(err.splitlines()) == 1 and "exited" in err,
                    "exit %s, stderr %r" % (lt.returncode, err))
            p.check(took <= DEATH_BOUND_S, "took %.0f ms" % (took * 1000))
        finally:
            H._reap(proc)
            shutil.rmtree(tmp, ignore_errors=True)


def test_not_python(tap):
    sleeper = H._track(subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL))
    try:
        time.sleep(0.1)
        with tap.point("not a CPython: sleep process, exit 1") as p:
            args = ["dump", sleeper.pid]
            check_error(p, args, H.run_leaktop(args), 1, ["not a CPython"],
                        pid=sleeper.pid)
        with tap.point("not a CPython: --json, and sleep still running untraced") as p:
            args = ["dump", "--json", sleeper.pid]
            check_error(p, args, H.run_leaktop(args), 1, ["not a CPython"],
                        pid=sleeper.pid)
            p.check(sleeper.poll() is None, "sleep exited with %s" % sleeper.returncode)
    finally:
        H._reap(sleeper)


def kernel_thread():
    """A kernel thread's PID (PF_KTHREAD in /proc/PID/stat), or None."""
    for name in sorted(os.listdir("/proc"), key=lambda n: int(n) if n.isdigit() else 1 << 30):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[6]) & 0x00200000:
            return int(name)
    return None


def test_kernel_thread(tap):
    with tap.point("a kernel thread: exit 1, named as one") as p:
        kt = kernel_thread()
        if kt is None:
            p.skip("no kernel thread in this PID namespace")
        args = ["dump", kt]
        check_error(p, args, H.run_leaktop(args), 1, ["kernel thread"])


def test_usage(tap, target):
    pid = target.pid
    cases = [
        ("usage: no arguments", []),
        ("usage: unknown option", ["dump", "--no-such-option", pid]),
        ("usage: dump without PID", ["dump"]),
        ("usage: --top abc", ["dump", "--top", "abc", pid]),
        ("usage: --layout bogus", ["dump", "--layout", "bogus", pid]),
        ("usage: PID not a number", ["dump", "notapid"]),
        ("usage: unknown command", ["frobnicate", pid]),
        ("usage: --interval 0x10", ["watch", "--interval", "0x10", pid]),
        ("usage: --interval inf", ["watch", "--interval", "inf", pid]),
        ("usage: --max-stopped 1e1", ["watch", "--max-stopped", "1e1", pid]),
        ("usage: --locals outside stacks", ["dump", "--locals", pid]),
        ("usage: --native on watch", ["watch", "--native", pid]),
        ("usage: serve without --listen", ["serve", pid]),
        ("usage: --listen without a port", ["serve", "--listen", "localhost", pid]),
        ("usage: --listen outside serve", ["dump", "--listen", "127.0.0.1:0", pid]),
        ("usage: --prometheus outside watch", ["dump", "--prometheus", "/tmp/x.prom", pid]),
    ]
    for desc, args in cases:
        with tap.point(desc + " exits 2") as p:
            check_error(p, args, H.run_leaktop(args), 2, pid=pid)
    with tap.point("usage: diff alone asks for two snapshots, exits 2") as p:
        check_error(p, ["diff"], H.run_leaktop(["diff"]), 2, ["two snapshots"])
    with tap.point("--help exits 0 and mentions dump") as p:
        rc, out, err = H.run_leaktop(["--help"])
        ok = p.check(rc == 0, "exit status %s, want 0" % rc)
        ok &= p.check("dump" in out, "stdout does not mention 'dump'")
        if not ok:
            p.diag("\n".join(H.describe_run(["--help"], rc, out, err)))
    with tap.point("--version exits 0 and prints a version") as p:
        rc, out, err = H.run_leaktop(["--version"])
        ok = p.check(rc == 0, "exit status %s, want 0" % rc)
        ok &= p.check(out.strip(), "nothing on stdout")
        if not ok:
            p.diag("\n".join(H.describe_run(["--version"], rc, out, err)))
    with tap.point("usage errors leave the target running and untraced") as p:
        target.assert_alive_progressing()


def test_layouts(tap, target):
    tag = "[%s]" % target.python.label
    if target.python.version < (3, 13):
        with tap.point("--layout debug-offsets: not available before 3.13, exit 1 %s" % tag) as p:
            args = ["dump", "--layout", "debug-offsets", target.pid]
            check_error(p, args, H.run_leaktop(args), 1, ["not available"],
                        pid=target.pid)
    else:
        with tap.point("--layout debug-offsets: works on 3.13+ %s" % tag) as p:
            rc, out, err = H.run_leaktop(["dump", "--json", "--layout", "debug-offsets",
                                          target.pid])
            p.check(rc == 0 and json.loads(out)["python"]["layout_source"] == "debug-offsets",
                    "exit %s: %s" % (rc, err.strip()))
    for layout in ("dwarf", "table", "auto"):
        with tap.point("--layout %s --json works %s" % (layout, tag)) as p:
            args = ["dump", "--json", "--layout", layout, target.pid]
            rc, out, err = H.run_leaktop(args)
            if not p.check(rc == 0, "exit status %s, want 0" % rc):
                p.diag("\n".join(H.describe_run(args, rc, out, err, limit=10)))
            else:
                try:
                    src = json.loads(out)["python"]["layout_source"]
                except (ValueError, KeyError, TypeError) as e:
                    p.fail("no python.layout_source in the JSON: %r" % e)
                else:
                    want = (layout,) if layout != "auto" else \
                        ("dwarf", "debug-offsets", "table")
                    p.check(src in want, "layout_source %r, want %s"
                            % (src, " or ".join(want)))
            p.untraced(target.pid)


def nobody_binary(prefix, tmpdirs):
    """A leaktop path user nobody can execute, or None."""
    binary = H.leaktop_path()
    rc, _o, _e = H.run_leaktop(["--version"], timeout=20, prefix=prefix)
    if rc == 0:
        return binary
    d = tempfile.mkdtemp(prefix="leaktop-nobody-")
    tmpdirs.append(d)
    os.chmod(d, 0o755)
    copy = os.path.join(d, "leaktop")
    shutil.copy2(binary, copy)
    os.chmod(copy, 0o755)
    rc, _o, _e = H.run_leaktop(["--version"], timeout=20, prefix=prefix, binary=copy)
    return copy if rc == 0 else None


def test_permission(tap, target):
    desc = "permission denied: user nobody vs a root-owned target, mentions CAP_SYS_PTRACE"
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        tap.skip(desc, "not running as root")
        return
    if not setpriv:
        tap.skip(desc, H.missing_tool("setpriv", "util-linux"))
        return
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    tmpdirs = []
    try:
        binary = nobody_binary(prefix, tmpdirs)
        if binary is None:
            tap.skip(desc, "user nobody cannot run leaktop --version")
            return
        with tap.point(desc) as p:
            args = ["dump", target.pid]
            res = H.run_leaktop(args, prefix=prefix, binary=binary)
            check_error(p, args, res, 1, ["permission denied", "CAP_SYS_PTRACE"],
                        pid=target.pid)
            target.assert_alive_progressing()
    finally:
        for d in tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


def test_already_traced(tap, target):
    desc = "already traced: strace attached, message names 'traced by' and its PID"
    desc2 = "already traced: target runs untraced once strace detached"
    strace = shutil.which("strace")
    if not strace:
        tap.skip(desc, H.missing_tool("strace"))
        tap.skip(desc2, H.missing_tool("strace"))
        return
    errf = tempfile.TemporaryFile()
    tracer = H._track(subprocess.Popen(
        [strace, "-p", str(target.pid), "-o", "/dev/null"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf))
    try:
        deadline = time.time() + 10
        while H.tracer_pid(target.pid) != tracer.pid:
            if tracer.poll() is not None or time.time() > deadline:
                errf.seek(0)
                msg = errf.read().decode("utf-8", "replace").strip().splitlines()
                why = "strace could not attach (%s)" % (
                    msg[-1] if msg else "no tracer seen in 10 s")
                tap.skip(desc, why)
                tap.skip(desc2, why)
                return
            time.sleep(0.02)
        with tap.point(desc) as p:
            args = ["dump", target.pid]
            rc, out, err = H.run_leaktop(args)
            check_error(p, args, (rc, out, err), 1, ["traced by", str(tracer.pid)])
            p.check(H.tracer_pid(target.pid) == tracer.pid,
                    "strace (pid %d) is no longer the tracer (TracerPid %d)"
                    % (tracer.pid, H.tracer_pid(target.pid)))
    finally:
        if tracer.poll() is None:
            tracer.send_signal(signal.SIGINT)       # strace detaches cleanly
            try:
                tracer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        H._reap(tracer)
        errf.close()
    with tap.point(desc2) as p:
        target.assert_alive_progressing()


def main(tap, pythons):
    test_no_such_process(tap)
    test_zombie(tap)
    test_not_python(tap)
    test_kernel_thread(tap)
    test_old_pythons(tap)

    py = pick_target_python(pythons)
    target = H.start_target(py or pythons[0], "census_target.py", "idle")
    try:
        test_usage(tap, target)
    finally:
        target.stop()

    rest = ["--layout debug-offsets", "--layout dwarf", "--layout table",
            "--layout auto", "permission denied", "already traced",
            "already traced: target untraced afterwards", "a target dying during the attach",
            "a target with threads killed in the stop"]
    if py is None:
        for d in rest:
            tap.skip(d, "no interpreter leaktop can inspect: "
                     + pythons[0].skip_reason)
        return
    with H.start_target(py, "census_target.py", "idle") as target:
        test_layouts(tap, target)
        test_permission(tap, target)
        test_already_traced(tap, target)
    test_dies_at_attach(tap, py)
    test_threads_die_in_stop(tap, py)


if __name__ == "__main__":
    H.run_main(main)
