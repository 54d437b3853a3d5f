#!/usr/bin/env python3
"""Sockets in a crowded network namespace (TAP).

One helper, started under `unshare --net`, brings lo up and holds a listener
with NCONN loopback connections and NPAIRS unix socketpairs: tens of
thousands of lines in /proc/PID/net/tcp and unix.  Each interpreter's target
runs in that namespace (nsenter --net) with a few sockets of its own and
records what the socket API says of them.  leaktop runs in ours, under
strace, and must
  * list exactly the target's descriptors and decode each of its sockets
    (protocol, state, addresses, inode) as the target knows it;
  * open /proc/PID/net/* only after its last PTRACE_DETACH: the tables are
    read while the target runs, never during the stop;
  * leave the target running and untraced.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

NCONN = 10000        # loopback connections: twice as many TCP sockets
NPAIRS = 1500        # unix socketpairs
GROUPS = ("dump --json lists exactly the target's descriptors",
          "the target's sockets decoded among the namespace's",
          "socket tables opened only after the last PTRACE_DETACH",
          "target running and untraced afterwards")


# ---------------------------------------------------------------------------
# The namespace holder (run as: unshare --net python3 test_netns.py --hold ...)

def lo_up():
    """ip link set lo up, without iproute2: SIOCGIFFLAGS, SIOCSIFFLAGS."""
    import fcntl
    import struct
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifr = fcntl.ioctl(s, siocgifflags, struct.pack("16sh22x", b"lo", 0))
    flags = struct.unpack("16sh22x", ifr)[1]
    fcntl.ioctl(s, siocsifflags, struct.pack("16sh22x", b"lo", flags | iff_up))
    s.close()


def nofile(need):
    """Raise our descriptor limit towards need; returns what we got."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
        return need
    except (ValueError, OSError):
        # No CAP_SYS_RESOURCE (containers): the hard limit is the most.
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard


def sleep_while_parent(ppid):
    while os.getppid() == ppid:
        time.sleep(0.2)


def hold(ready, nconn, npairs):
    """Hold 1 + 2 * nconn TCP sockets and 2 * npairs unix sockets.  The
    client ends live in a child: one process may not be allowed them all."""
    batch = 500                     # under the backlog: connect never waits
    nconn = min(nconn, nofile(nconn + 2 * npairs + 64) - 2 * npairs - 64) // batch * batch
    lo_up()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2 * batch)
    keep = [listener]
    go_r, go_w = os.pipe()          # parent to child: accepted, connect more
    done_r, done_w = os.pipe()      # child to parent: connected a batch
    holder = os.getpid()
    if os.fork() == 0:
        nofile(nconn + 64)
        clients = []
        for _ in range(nconn // batch):
            for _ in range(batch):
                clients.append(socket.create_connection(listener.getsockname()))
            os.write(done_w, b"x")
            os.read(go_r, 1)
        sleep_while_parent(holder)
        os._exit(0)
    for _ in range(nconn // batch):
        if os.read(done_r, 1) != b"x":
            raise SystemExit("the connecting child died")
        keep += [listener.accept()[0] for _ in range(batch)]
        os.write(go_w, b"x")
    for _ in range(npairs):
        keep += socket.socketpair()
    with open(ready + ".tmp", "w") as f:
        f.write(json.dumps({"tcp": 1 + 2 * nconn, "unix": 2 * npairs}))
    os.rename(ready + ".tmp", ready)
    sleep_while_parent(os.getppid())


# ---------------------------------------------------------------------------
# The test

class Namespace(object):
    def __init__(self):
        self.proc = None
        self.skip = None
        self.counts = {}
        self.tmpdir = tempfile.mkdtemp(prefix="leaktop-netns-")

    def start(self):
        self.skip = H.missing_tool("unshare", "util-linux") or \
            H.missing_tool("nsenter", "util-linux")
        if self.skip:
            return
        r = subprocess.run(["unshare", "--net", "true"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            self.skip = "unshare --net not permitted here: %s" % \
                r.stderr.decode("utf-8", "replace").strip()
            return
        ready = os.path.join(self.tmpdir, "ready.json")
        err = open(os.path.join(self.tmpdir, "stderr"), "wb")
        self.proc = subprocess.Popen(["unshare", "--net", "--", sys.executable,
                                      os.path.abspath(__file__), "--hold", ready,
                                      str(NCONN), str(NPAIRS)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=err)
        err.close()
        deadline = time.time() + 60
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.time() > deadline:
                with open(os.path.join(self.tmpdir, "stderr"), "rb") as f:
                    raise AssertionError("namespace holder %s:\n%s" % (
                        "exited with status %s" % self.proc.returncode
                        if self.proc.returncode is not None else "not ready after 60 s",
                        f.read().decode("utf-8", "replace")[-2000:]))
            time.sleep(0.05)
        with open(ready) as f:
            self.counts = json.load(f)

    def prefix(self):
        return ["nsenter", "--net=/proc/%d/ns/net" % self.proc.pid, "--"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class InNamespace(object):
    """An interpreter whose commands run in the namespace: nsenter execs,
    so the target's pid is still the one start_target waits on."""

    def __init__(self, python, prefix):
        self._python = python
        self._prefix = prefix

    def __getattr__(self, name):
        return getattr(self._python, name)

    def command(self, argv, cwd=None):
        return self._prefix + self._python.command(argv, cwd)


def check_namespace(tap, ns):
    with tap.point("netns: a namespace crowded with TCP and unix sockets") as p:
        if ns.skip:
            p.skip(ns.skip)
        p.diag("%d TCP and %d unix sockets held" % (ns.counts["tcp"], ns.counts["unix"]))
        for table, want in (("tcp", ns.counts["tcp"]), ("unix", ns.counts["unix"])):
            with open("/proc/%d/net/%s" % (ns.proc.pid, table)) as f:
                lines = sum(1 for _ in f) - 1
            p.check(lines >= want, "/proc/%d/net/%s has %d sockets, want %d or more"
                    % (ns.proc.pid, table, lines, want))
        if ns.counts["tcp"] < 1 + 2 * NCONN:
            p.diag("RLIMIT_NOFILE allowed only %d TCP sockets" % ns.counts["tcp"])
        p.check(ns.counts["tcp"] >= 2000, "too few sockets to be a crowd")


def strace_order(path, pid):
    """Problems with the order of ptrace and /proc/PID/net opens."""
    with open(path, "r", errors="replace") as f:
        lines = f.read().splitlines()
    seize = [i for i, l in enumerate(lines) if "ptrace(PTRACE_SEIZE, %d," % pid in l]
    stops = [i for i, l in enumerate(lines) if "ptrace(PTRACE_INTERRUPT," in l]
    detach = [i for i, l in enumerate(lines) if "ptrace(PTRACE_DETACH," in l]
    net = "\"/proc/%d/net/" % pid
    opens = [i for i, l in enumerate(lines) if net in l and "open" in l]
    probs = []
    if not seize or not stops or not detach:
        probs.append("no PTRACE_SEIZE/INTERRUPT/DETACH of %d in the trace" % pid)
    if not any("/net/tcp\"" in lines[i] for i in opens):
        probs.append("/proc/%d/net/tcp never opened" % pid)
    early = [lines[i] for i in opens if detach and i < detach[-1]]
    if early:
        probs.append("opened before the last PTRACE_DETACH (line %d: %s):\n  %s"
                     % (detach[-1] + 1, lines[detach[-1]], "\n  ".join(early)))
    return probs, len(opens), len(detach)


def check_target(tap, descs, target):
    trace = os.path.join(target.tmpdir, "strace.out")
    args = ["dump", "--json", target.pid]
    prefix = None
    if shutil.which("strace"):
        prefix = ["strace", "-f", "-qq", "-s", "256", "-o", trace,
                  "-e", "trace=ptrace,?open,openat"]
    rc, out, err = H.run_leaktop(args, timeout=60, prefix=prefix)
    truth = target.truth["fds"]
    got = {}
    with tap.point(descs[0]) as p:
        p.check(target.truth["pid"] == target.pid,
                "target says pid %s, started as %d" % (target.truth["pid"], target.pid))
        if not p.check(rc == 0, "exit status %s" % rc):
            p.diag("\n".join(H.describe_run(args, rc, out, err, limit=10)))
        fds = (json.loads(out) if rc == 0 else {}).get("fds") or []
        got = dict((f["fd"], f) for f in fds)
        p.check(sorted(got) == sorted(int(k) for k in truth),
                "fds %s, truth %s" % (sorted(got), sorted(int(k) for k in truth)))
    with tap.point(descs[1]) as p:
        n = 0
        for k, t in sorted(truth.items()):
            want = t.get("socket")
            f = got.get(int(k))
            if not want or not f:
                continue
            n += 1
            s = f.get("socket") or {}
            for key in ("proto", "state", "local", "remote", "type", "inode"):
                if key in want:
                    p.check(s.get(key) == want[key], "fd %s %s %r, want %r"
                            % (k, key, s.get(key), want[key]))
        p.check(n == 6, "%d of the target's sockets listed, want 6" % n)
    with tap.point(descs[2]) as p:
        if prefix is None:
            p.skip(H.missing_tool("strace"))
        p.require(rc == 0 and os.path.exists(trace), "no trace (exit status %s)" % rc)
        probs, nopen, ndetach = strace_order(trace, target.pid)
        for prob in probs:
            p.fail(prob)
        p.diag("%d opens of /proc/%d/net/*, %d PTRACE_DETACH" % (nopen, target.pid, ndetach))
    with tap.point(descs[3]) as p:
        p.untraced(target.pid)
        target.assert_alive_progressing()


def run_python(tap, py, ns):
    descs = ["netns: %s [%s]" % (g, py.label) for g in GROUPS]
    reason = ns.skip or py.skip_reason
    if reason:
        for d in descs:
            tap.skip(d, reason)
        return
    target = H.start_target(InNamespace(py, ns.prefix()), "netns_target.py", timeout=60)
    try:
        check_target(tap, descs, target)
    finally:
        target.stop()


def main(tap, pythons):
    ns = Namespace()
    try:
        try:
            ns.start()
        except AssertionError as e:
            with tap.point("netns: the namespace holder starts") as p:
                p.fail(str(e))
            ns.skip = "no namespace to test in"
        check_namespace(tap, ns)
        for py in pythons:
            run_python(tap, py, ns)
    finally:
        ns.stop()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        H.run_main(main)
