#!/usr/bin/env python3
"""Core files: `dump|why|stacks --core CORE [--exe PYTHON]` (TAP).

core_target.py holds a heap it knows (N Leaky in __main__.REGISTRY, M
Slotted in a tuple), a worker thread parked on an Event and the main thread
asleep in wait_for_core(), and records the truth: each class's count and
sys.getsizeof sum, the worker's native id, the functions each thread sits
in.  The test takes a core with `gcore -o PREFIX PID` (gdb stops the target
briefly and lets it go) and checks, on every interpreter:
- dump --json --core: the two classes exactly as the truth says and as the
  live `dump --json PID` counts them, the census totals as the live one's
  (the heartbeat loop may hold an int or a bytes more or less), the pid,
  and a note saying it was read from a core file;
- why --json --core CORE __main__.Leaky: the chain from module __main__
  through REGISTRY, all of them selected;
- stacks --json --core: the main thread (tid = pid, MainThread) innermost in
  sleep_until_orphaned < wait_for_core < main < <module>, the worker (its
  native id, named worker) in Event.wait < worker_waits;
- the core cut in half, a file of random bytes, an executable (ELF, not a
  core), a missing path: one line on stderr, exit 1;
- the target runs untraced after gcore;
- a core the kernel dumps (SIGABRT with RLIMIT_CORE raised through
  prlimit, when core_pattern writes a file in the target's working
  directory): the same classes exactly.
Interpreters in a root: gcore run from here writes the paths of a chrooted
target as we see them, which open as they are; the paths of a target in a
mount namespace of its own (and the kernel's cores of both) are the
target's, so the test gives --exe ROOT/PATH-OF-ITS-PYTHON, from which
leaktop takes ROOT as the directory that holds the core's /.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("dump --json --core: Leaky and Slotted exactly as the truth and the live dump; "
          "totals as live; pid; the core file's note",
          "why --core: __main__.Leaky held from __main__ through REGISTRY",
          "stacks --json --core: MainThread in wait_for_core, the worker in Event.wait, by tid",
          "a truncated core, random bytes, an executable, a missing file: one line, exit 1",
          "target running and untraced after gcore",
          "a core the kernel dumped (SIGABRT): Leaky and Slotted exactly")
CLASSES = ("__main__.Leaky", "__main__.Slotted")
GCORE = shutil.which("gcore")


def run_json(p, args):
    rc, out, err = H.run_leaktop(args, timeout=120)
    doc = None
    if rc == 0 and out.strip():
        try:
            doc = json.loads(out)
        except ValueError as e:
            p.fail("%s: not JSON (%s)" % (" ".join(map(str, args)), e))
    if doc is None:
        p.fail("\n".join(H.describe_run(args, rc, out, err)))
    return doc


def types_of(doc):
    return {t["type"]: t for t in doc["census"]["types"]}


def exe_args(py, kernel=False):
    """--exe for a core whose paths are the target's own (see above)."""
    if py.root and (kernel or py.mode == "ns"):
        return ["--exe", py.realpath]
    return []


def take_gcore(target):
    prefix = os.path.join(target.tmpdir, "gcore")
    try:
        r = subprocess.run([GCORE, "-o", prefix, str(target.pid)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("gcore %d did not finish in 120 s" % target.pid)
    path = "%s.%d" % (prefix, target.pid)
    if r.returncode != 0 or not os.path.isfile(path):
        raise AssertionError("gcore %d failed (status %d):\n%s" % (
            target.pid, r.returncode, H._decode(r.stdout)[-2000:]))
    return path


def check_classes(p, doc, truth, what):
    got = types_of(doc)
    for name in CLASSES:
        want = truth["types"][name]
        have = got.get(name)
        if p.check(have, "%s: no %s in the census" % (what, name)):
            p.check((have["count"], have["bytes"]) == (want["count"], want["bytes"]),
                    "%s: %s %d objects, %d bytes; the target says %d, %d" % (
                        what, name, have["count"], have["bytes"], want["count"],
                        want["bytes"]))


def check_dump(p, py, target, core):
    truth = target.truth
    doc = run_json(p, ["dump", "--json", "--core", core] + exe_args(py))
    live = run_json(p, ["dump", "--json", target.pid])
    p.require(doc and live, "no dump")
    check_classes(p, doc, truth, "core")
    check_classes(p, live, truth, "live")
    p.check(doc["pid"] == target.pid, "pid %r, want %d" % (doc["pid"], target.pid))
    p.check(doc["python"]["version"] == truth["version"],
            "version %r, want %s" % (doc["python"]["version"], truth["version"]))
    p.check(any("core file" in n for n in doc["census"]["notes"]),
            "no note about the core file: %r" % doc["census"]["notes"])
    p.check(doc["census"]["complete"], "census incomplete: %r" % doc["census"]["notes"])
    c, l = doc["census"], live["census"]
    # the sleep loop's counter and its bytes come and go; nothing else does
    p.check(abs(c["objects"] - l["objects"]) <= 8 and abs(c["bytes"] - l["bytes"]) <= 1024,
            "core census %d objects, %d bytes; live %d, %d" % (
                c["objects"], c["bytes"], l["objects"], l["bytes"]))
    p.diag("core %d objects %d bytes (%s), live %d objects" % (
        c["objects"], c["bytes"], doc["python"]["layout_source"], l["objects"]))


def check_why(p, py, core):
    doc = run_json(p, ["why", "--json", "--core", core] + exe_args(py) + ["__main__.Leaky"])
    p.require(doc and doc.get("chains"), "no chain: %r" % doc)
    p.check(doc["selected"] == 5000, "selected %r, want 5000" % doc["selected"])
    ch = doc["chains"][0]
    vias = [s.get("via") for s in ch["path"][1:]]
    p.check(ch["root"] == {"kind": "module", "name": "__main__"}, "root %r" % ch["root"])
    p.check(vias[:1] == ["REGISTRY"] and ch["count"] == 5000,
            "chain via %r, count %r; want REGISTRY first, all 5000" % (vias, ch["count"]))


def check_stacks(p, py, target, core):
    truth = target.truth
    doc = run_json(p, ["stacks", "--json", "--core", core] + exe_args(py))
    p.require(doc, "no stacks")
    threads = {t["tid"]: t for t in doc["threads"]}

    def functions(th):
        # 3.11+ name them by qualified name: Event.wait
        return [f["function"].rsplit(".", 1)[-1] for f in th["frames"] if f["kind"] == "python"]

    main = threads.get(target.pid)
    if p.check(main, "no thread %d among %s" % (target.pid, sorted(threads))):
        p.check(main["name"] == "MainThread", "main thread named %r" % main["name"])
        want = truth["main"]["functions"]
        p.check(functions(main)[:len(want)] == want, "main thread in %r, want %r" % (
            functions(main), want))
    w = truth["worker"]
    worker = threads.get(w["tid"])
    if p.check(worker, "no worker thread %r among %s" % (w["tid"], sorted(threads))):
        p.check(worker["name"] == w["name"], "worker named %r" % worker["name"])
        p.check(functions(worker)[:len(w["functions"])] == w["functions"],
                "worker in %r, want %r" % (functions(worker), w["functions"]))


def one_line_error(p, args, words):
    rc, out, err = H.run_leaktop(args, timeout=60)
    lines = err.strip().splitlines()
    ok = rc == 1 and len(lines) == 1 and lines[0].startswith("leaktop: ") and \
        all(w in lines[0] for w in words)
    p.check(ok, "want one line with %r and exit 1:\n%s" % (
        words, "\n".join(H.describe_run(args, rc, out, err))))


def check_errors(p, py, target, core):
    half = os.path.join(target.tmpdir, "half.core")
    with open(core, "rb") as f, open(half, "wb") as g:
        g.write(f.read(os.path.getsize(core) // 2))
    one_line_error(p, ["dump", "--core", half] + exe_args(py), ["truncated"])
    garbage = os.path.join(target.tmpdir, "garbage.core")
    with open(garbage, "wb") as g:
        g.write(os.urandom(1 << 16))
    one_line_error(p, ["dump", "--core", garbage], ["not a core file"])
    one_line_error(p, ["stacks", "--core", py.realpath], ["not a core file (ELF type"])
    one_line_error(p, ["why", "--core", os.path.join(target.tmpdir, "none"), "__main__.Leaky"],
                   ["no such core file"])
    for path in (half, garbage):
        os.unlink(path)


def kernel_core(p, py, target):
    """SIGABRT the target with its core limit raised; the core it leaves."""
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        with open("/proc/sys/kernel/core_uses_pid") as f:
            uses_pid = f.read().strip() == "1"
    except OSError as e:
        p.skip("cannot read the kernel's core settings: %s" % e)
    if pattern != "core":
        p.skip("kernel.core_pattern is %r, not a file in the target's directory" % pattern)
    import resource
    resource.prlimit(target.pid, resource.RLIMIT_CORE,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    os.kill(target.pid, signal.SIGABRT)
    try:
        target.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.require(False, "the target did not die of SIGABRT in 60 s")
    path = os.path.join(target.tmpdir, "core.%d" % target.pid if uses_pid else "core")
    p.require(os.path.isfile(path), "no core at %s (the target ended with %r)" % (
        path, target.proc.returncode))
    return path


def run_python(tap, py):
    descs = ["core: %s [%s]" % (g, py.label) for g in GROUPS]
    skip = py.skip_reason or H.missing_tool("gcore", "gdb")
    if skip:
        for d in descs:
            tap.skip(d, skip)
        return
    target = H.start_target(py, "core_target.py", timeout=120)
    try:
        core = None
        with tap.point(descs[0]) as p:
            t0 = time.time()
            core = take_gcore(target)
            p.diag("gcore %.1f s, %.1f MiB" % (time.time() - t0, os.path.getsize(core) / 1048576.0))
            check_dump(p, py, target, core)
        for i, check in ((1, lambda p: check_why(p, py, core)),
                         (2, lambda p: check_stacks(p, py, target, core)),
                         (3, lambda p: check_errors(p, py, target, core))):
            with tap.point(descs[i]) as p:
                p.require(core, "no core")
                check(p)
        with tap.point(descs[4]) as p:
            p.untraced(target.pid)
            target.assert_alive_progressing()
        if core:
            os.unlink(core)
        with tap.point(descs[5]) as p:
            kcore = kernel_core(p, py, target)
            doc = run_json(p, ["dump", "--json", "--core", kcore] + exe_args(py, kernel=True))
            p.require(doc, "no dump")
            check_classes(p, doc, target.truth, "kernel core")
            p.check(doc["pid"] == target.truth["pid"], "pid %r, want %d (its own)" % (
                doc["pid"], target.truth["pid"]))
            os.unlink(kcore)
    finally:
        target.stop()


if __name__ == "__main__":
    H.run_each(run_python)
