#!/usr/bin/env python3
"""What every thread is doing: `leaktop stacks` against the target's truth (TAP).

stacks_target.py parks threads in known places (time.sleep, socket.accept,
a 50-deep recursion ending in Event.wait, the main thread inside sorted()
whose key blocks on a pipe) and records, before it signals ready, each
thread's threading.get_native_id() and the (function, line) pairs of
sys._current_frames().  Checked, on every interpreter:
- the Python frames of every thread, exactly, with its tid and name, and
  that none holds the GIL (each waits in a call that releases it);
- with --native: the libc call each waits in lies above the interpreter's
  frames, and the Python frames sit where the evaluation loops ran them
  (between native frames, in order, none left over);
- with --locals: each recurse() frame's n, 0 innermost;
- dump --json's threads carry the same Python frames, and with --native
  the same merge;
- the target runs untraced afterwards;
- the same target in a PID namespace of its own (unshare --pid, as a
  container runs it), for interpreters on the host's file system: the
  threads carry the host's ids (the target records its own; the test maps
  them through /proc/PID/task/*/status NSpid), and the same frames merge.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("Python frames, tids and names equal sys._current_frames(); no thread holds the GIL",
          "--native: each thread's libc wait above the interpreter, Python frames merged in place",
          "--locals: recurse() frames hold n = 0, 1, 2 ... from the innermost",
          "dump --json: threads with the same Python frames (merged with --native)",
          "target running and untraced afterwards",
          "in a PID namespace of its own: host tids, the same frames and merge")

# The libc function each kind of wait blocks in (3.8-3.10 sleep in select).
WAITS = {
    "sleep": r"^(__)?(clock_nanosleep|nanosleep|select|pselect6?)(64)?$",
    "accept": r"^(__libc_)?accept4?$",
    "futex": r"futex|sem_(clock|timed)?wait|pthread_cond_(clock|timed)?wait|lll_lock_wait|"
             r"^_PySemaphore_Wait$",
    "read": r"^(__libc_|__)?read$",
}


# The system calls each kind of wait blocks in (x86-64 numbers).
SYSCALLS = {"sleep": {23, 35, 230, 270}, "accept": {43, 288}, "futex": {202}, "read": {0}}


def kernel_wait(pid, tid):
    """(system call number, user pc) the kernel says thread tid blocks in."""
    try:
        with open("/proc/%d/task/%d/syscall" % (pid, tid)) as f:
            fields = f.read().split()
        return int(fields[0]), int(fields[-1], 16)
    except (OSError, ValueError, IndexError):
        return None


def wait_found(frames, names, wait, pid, tid):
    """The wait is named among the native frames above the Python ones, or,
    where libc has no symbols for it (no libc6-dbg: its futex helpers are
    not in .dynsym), the innermost frame is the very instruction the kernel
    says the thread waits at, in the right system call."""
    if any(re.search(WAITS[wait], n) for n in names):
        return True
    kw = kernel_wait(pid, tid)
    return bool(kw and kw[0] in SYSCALLS[wait] and frames and frames[0]["kind"] == "native" and
                int(frames[0].get("address") or "0", 16) == kw[1])


def leaktop_json(args, p):
    rc, out, err = H.run_leaktop(args)
    if rc != 0 or not out.strip():
        p.fail("\n".join(H.describe_run(args, rc, out, err)))
        return None
    return json.loads(out)


def python_frames(th):
    return [[f["function"], f["line"]] for f in th["frames"] if f["kind"] == "python"]


def by_tid(doc):
    return {t["tid"]: t for t in doc["threads"]}


def check_python(p, doc, truth):
    threads = by_tid(doc)
    p.check(truth["monitor"] in threads, "the monitor thread %d is missing" % truth["monitor"])
    for want in truth["threads"]:
        th = threads.get(want["native_id"])
        if not p.check(th is not None, "%s: no thread with tid %d (got %s)"
                       % (want["name"], want["native_id"], sorted(threads))):
            continue
        p.check(th["name"] == want["name"], "tid %d named %r, not %r"
                % (want["native_id"], th["name"], want["name"]))
        got = python_frames(th)
        p.check(got == want["frames"], "%s: Python frames\n  got  %s\n  want %s"
                % (want["name"], got, want["frames"]))
        p.check(th["gil"] is False, "%s: gil is %r; it waits without the GIL"
                % (want["name"], th["gil"]))


def check_native(p, doc, truth, pid):
    threads = by_tid(doc)
    for want in truth["threads"]:
        th = threads.get(want["native_id"])
        if not p.check(th is not None, "%s: no thread %d" % (want["name"], want["native_id"])):
            continue
        frames = th["frames"]
        kinds = "".join("P" if f["kind"] == "python" else "C" for f in frames)
        names = [f["function"] for f in frames]
        p.check(python_frames(th) == want["frames"], "%s: the merged Python frames differ "
                "from the truth:\n  got  %s\n  want %s" % (want["name"], python_frames(th),
                                                           want["frames"]))
        p.check(not th.get("native_error"), "%s: %s" % (want["name"], th.get("native_error")))
        # The libc call among the native frames above the Python ones (a
        # newer libc adds its cancellation helpers under it).
        first_py = kinds.find("P") if "P" in kinds else len(kinds)
        p.check(wait_found(frames, names[:first_py], want["wait"], int(pid), want["native_id"]),
                "%s: no %s wait above the Python frames: %s"
                % (want["name"], want["wait"], names[:first_py]))
        # native wait, interpreter frames, the Python frames, and the
        # thread's start below them: C+ P+ (C+ P+)* C+
        p.check(re.match(r"^C+P+(C+P+)*C+$", kinds),
                "%s: frames not merged in place: %s %s" % (want["name"], kinds, names))
        if want["name"] == "MainThread":
            # sorted() calls the key from C: native frames between them
            i = names.index("blocking_key") if "blocking_key" in names else -1
            p.check(i >= 0 and i + 1 < len(frames) and frames[i + 1]["kind"] == "native",
                    "MainThread: blocking_key's caller is not sorted's C code: %s" % names)


def check_locals(p, doc, truth):
    rec = next(t for t in truth["threads"] if t["name"] == "recursor")
    th = by_tid(doc).get(rec["native_id"])
    if not p.check(th is not None, "no recursor thread"):
        return
    ns = [f.get("locals") for f in th["frames"] if f["function"] == "recurse"]
    want = [[{"name": "n", "repr": str(i)}] for i in range(truth["depth"])]
    p.check(ns == want, "recurse locals: got %s ... want %s ..." % (ns[:3], want[:3]))


def host_ids(pid):
    """{id in the target's PID namespace: host id} for its threads."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    out[int(line.split()[-1])] = int(tid)
    return out


def in_pid_namespace(p, py):
    """stacks_target.py under unshare --pid: leaktop given its host PID."""
    tmp = tempfile.mkdtemp(prefix="leaktop-test-")
    truth_path, hb = os.path.join(tmp, "truth.json"), os.path.join(tmp, "hb")
    script = os.path.join(H.TARGETS_DIR, "stacks_target.py")
    outer = H._track(subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", py.path, "-I", script, truth_path, hb],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        deadline = time.time() + 60
        while not os.path.exists(truth_path) and time.time() < deadline and outer.poll() is None:
            time.sleep(0.05)
        p.require(os.path.exists(truth_path), "the target under unshare never got ready")
        with open("/proc/%d/task/%d/children" % (outer.pid, outer.pid)) as f:
            pid = int(f.read().split()[0])
        with open(truth_path) as f:
            truth = json.load(f)
        ids = host_ids(pid)
        p.require(ids.get(1) == pid, "pid %d is not the namespace's init: %r" % (pid, ids))
        for t in truth["threads"]:
            t["native_id"] = ids[t["native_id"]]
        truth["monitor"] = ids[truth["monitor"]]
        doc = leaktop_json(["stacks", "--json", "--native", pid], p)
        if doc:
            check_python(p, doc, truth)
            check_native(p, doc, truth, pid)
        p.untraced(pid)
    finally:
        H._reap(outer)
        shutil.rmtree(tmp, ignore_errors=True)


def run_python(tap, py):
    descs = ["stacks: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = H.start_target(py, "stacks_target.py")
    truth, pid = target.truth, target.pid
    try:
        with tap.point(descs[0]) as p:
            doc = leaktop_json(["stacks", "--json", pid], p)
            if doc:
                p.check(doc["format"] == "leaktop-stacks/1", "format %r" % doc["format"])
                check_python(p, doc, truth)
        with tap.point(descs[1]) as p:
            doc = leaktop_json(["stacks", "--json", "--native", pid], p)
            if doc:
                check_native(p, doc, truth, pid)
                p.diag("paused %.1f ms" % (doc["pause_us"] / 1000.0))
        with tap.point(descs[2]) as p:
            doc = leaktop_json(["stacks", "--json", "--locals", pid], p)
            if doc:
                check_locals(p, doc, truth)
        with tap.point(descs[3]) as p:
            doc = leaktop_json(["dump", "--json", "--top", "1", pid], p)
            if doc:
                check_python(p, doc, truth)
            # --native: unwound in the census's stop, merged after the walk
            doc = leaktop_json(["dump", "--json", "--native", "--top", "1", pid], p)
            if doc:
                check_native(p, doc, truth, pid)
        with tap.point(descs[4]) as p:
            p.untraced(pid)
            target.assert_alive_progressing()
    finally:
        target.stop()
    if py.root or not shutil.which("unshare"):
        tap.skip(descs[5], "runs in a root of its own already" if py.root else
                 H.missing_tool("unshare", "util-linux"))
        return
    with tap.point(descs[5]) as p:
        in_pid_namespace(p, py)


if __name__ == "__main__":
    H.run_each(run_python)
