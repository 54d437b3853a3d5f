#!/usr/bin/env python3
"""The files leaktop writes, against another user on the host (TAP).

leaktop runs as root; the directory it writes to may be shared with users it
must not trust.  In a sticky, world-writable directory another user (nobody,
through setpriv) plants, before each run:

- symlinks at every name the old predictable temporaries would take
  (FILE.tmp-<pid> and FILE.tmp.<pid> for the next 300 PIDs the kernel will
  give) and at FILE itself, all pointing at a victim file: the victim is
  never written, FILE becomes a regular file of root's;
- a world-writable FILE it keeps open: after the save, what it reads through
  its descriptor is still its own content, never the heap.

A core (gcore) of decoy_target.py, whose type name points into a mapped
data file the core keeps no page of: once that file holds a secret line, no
dump or why of the core shows it (only ELF objects are taken from the disk).

A container (an overlay of a suite root, the target pivoted into it in a
mount namespace of its own) whose /usr/lib/debug is a link to a host
directory, and which left a link to that directory under the name of a
library it mapped and deleted ("... (deleted)"): dump and stacks --native
read it right (its Items, the target's count) and open nothing in the host
directory (inotify on it sees no open).

The planted links are tried with the kernel's own protections off
(fs.protected_symlinks and fs.protected_regular 0) and on (1), where the
test can set them: leaktop must not rely on them.

Modes whatever the umask (0): a snapshot file (a heap) 0600, the metrics
file 0644.  A destination that cannot be written is said in one line naming
it, before the target is stopped (the stop hook never fires).  Streams that
never end or lie about their sizes are said in one line at once.  These checks
do not depend on the interpreter: they run on one.
"""
import copy
import ctypes
import json
import os
import stat
import struct
import subprocess
import sys
import tempfile
import shutil

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

NOBODY = 65534
VICTIM = b"the victim's own line\n"
PLANTED = b"the other user's own content\n"
NEXT_PIDS = 300


def as_nobody(argv):
    return subprocess.call(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                            "--clear-groups", "--"] + argv)


def plant(shared, name, victim):
    """Symlinks, as nobody, at name, name.tmp-N and name.tmp.N for the next PIDs."""
    with open("/proc/sys/kernel/ns_last_pid") as f:
        last = int(f.read())
    links = [name] + ["%s.tmp%s%d" % (name, sep, pid) for pid in range(last + 1, last + NEXT_PIDS)
                      for sep in "-."]
    script = "import os, sys\nfor p in sys.argv[2:]:\n    os.symlink(sys.argv[1], p)\n"
    rc = as_nobody([sys.executable, "-I", "-c", script, victim] +
                   [os.path.join(shared, n) for n in links])
    return rc == 0


def check_written(p, shared, name, victim, mode):
    path = os.path.join(shared, name)
    with open(victim, "rb") as f:
        p.check(f.read() == VICTIM, "the victim file was written through a planted link")
    st = os.lstat(path)
    p.check(stat.S_ISREG(st.st_mode) and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == mode,
            "%s: mode %o uid %d, want a regular file of root's, mode %o"
            % (name, st.st_mode, st.st_uid, mode))
    left = [n for n in os.listdir(shared) if n.startswith(name + ".tmp") and
            not os.path.islink(os.path.join(shared, n))]
    p.check(not left, "temporaries left behind: %s" % left)


def streams(p, saved):
    """Each stream read as `dump -` (or the device as a file): exit 1 and one
    line saying what it is; the timeout only guards against a hang."""
    header = b"LTSNAP\r\n\x01\x00\x00\x00\x00\x00\x00\x00"
    with open(saved, "rb") as f:
        cut = f.read(100000)
    cases = [("/dev/zero", None, "does not start as one", ["dump", "/dev/zero"]),
             ("yes", b"y\n" * 100000, "does not start as one", None),
             ("endless empty sections", header, "sections and no end", "zeros"),
             ("a section larger than memory", header + b"MEM \0\0\0\0" + b"\xff" * 5 +
              b"\0\0\0", "more than this machine's memory", "zeros"),
             ("a file cut short", cut, "truncated", None)]
    for what, data, needle, how in cases:
        args = how if isinstance(how, list) else ["dump", "-"]
        if how is None or how == "zeros":
            feed = subprocess.Popen(["sh", "-c", "cat; exec cat /dev/zero" if how == "zeros"
                                     else "cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            proc = subprocess.Popen([H.leaktop_path()] + args, stdin=feed.stdout,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=H.leaktop_env(None))
            feed.stdout.close()
            try:
                feed.stdin.write(data)
                feed.stdin.close()
            except BrokenPipeError:
                pass
            try:
                out, err = proc.communicate(timeout=60)
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                rc = None
            feed.kill()
            feed.wait()
            out, err = out.decode(errors="replace"), err.decode(errors="replace")
        else:
            rc, out, err = H.run_leaktop(args, timeout=60)
        lines = err.splitlines()
        p.check(rc == 1 and len(lines) == 1 and needle in err,
                "%s: %s" % (what, "\n".join(H.describe_run(args, rc, out, err, limit=5))))


def decoy_core(p, py):
    """decoy_target.py points a type's name into a mapped data file; its
    core keeps none of the file's pages and names it.  The file then holds a
    secret: a dump of the core must never show it."""
    gcore = shutil.which("gcore")
    if not gcore:
        p.fail(str(H.missing_tool("gcore", "gdb")))
    with H.start_target(py, "decoy_target.py") as target:
        p.require(target.truth["name"] == "decoy_range_name", "the target's type name is %r"
                  % target.truth["name"])
        prefix = os.path.join(target.tmpdir, "core")
        r = subprocess.run([gcore, "-o", prefix, str(target.pid)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        core = "%s.%d" % (prefix, target.pid)
        p.require(r.returncode == 0 and os.path.isfile(core), "gcore failed: %s"
                  % H._decode(r.stdout)[-500:])
        secret = "SECRET-LINE-%d" % os.getpid()
        with open(target.truth["decoy"], "r+b") as f:
            f.write(secret.encode() + b"\0")
        for args in (["dump", "--core", core], ["dump", "--json", "--core", core],
                     ["why", "--core", core, "builtins.list"]):
            rc, out, err = H.run_leaktop(args, timeout=120)
            p.check(rc is not None and secret not in out + err,
                    "the secret is in the output of: leaktop %s" % " ".join(args))


IN_OPEN, IN_ACCESS = 0x20, 0x01


class Opens(object):
    """inotify on every directory under top: which files were opened."""

    def __init__(self, top):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.dirs = {}
        for d in [d for d, _subdirs, _files in os.walk(top)]:   # the walk opens them
            wd = self.libc.inotify_add_watch(self.fd, d.encode(), IN_OPEN | IN_ACCESS)
            if wd < 0:
                raise OSError(ctypes.get_errno(), "inotify_add_watch " + d)
            self.dirs[wd] = d

    def seen(self):
        out = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            at = 0
            while at + 16 <= len(buf):
                wd, _mask, _cookie, n = struct.unpack_from("iIII", buf, at)
                name = buf[at + 16:at + 16 + n].rstrip(b"\0").decode(errors="replace")
                out.append(os.path.join(self.dirs.get(wd, "?"), name))
                at += 16 + n

    def close(self):
        os.close(self.fd)


def container_links(p, pythons, base):
    """A container whose links lead to a host directory: nothing there is
    opened, and the census is right."""
    py = next((x for x in pythons if x.root and x.mode == "ns" and x.skip_reason is None), None)
    if not py:
        p.skip("no interpreter in a root file system (scripts/setup-pythons makes them)")
    lib = next((os.path.join(py.root, "usr/lib/x86_64-linux-gnu", n) for n in ("libz.so.1",
                "libbz2.so.1.0", "liblzma.so.5")
                if os.path.exists(os.path.join(py.root, "usr/lib/x86_64-linux-gnu", n))), None)
    p.require(lib, "no small library in %s to load" % py.root)
    ov = os.path.join(base, "overlay")
    upper, work, root = (os.path.join(ov, n) for n in ("upper", "work", "root"))
    for d in (upper, work, root):
        os.makedirs(d)
    r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,"
                        "workdir=%s" % (py.root, upper, work), root],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        p.skip("cannot mount an overlay of %s: %s" % (py.root, H._decode(r.stdout).strip()))
    hostdir = os.path.join(base, "hostdir")
    opens = None
    try:
        # The host directory holds a file at every name the root's links
        # could lead a reader to: the debug files' and the library's.
        debug = os.path.join(py.root, "usr/lib/debug")
        for d, _subdirs, files in os.walk(debug):
            there = os.path.join(hostdir, os.path.relpath(d, debug))
            os.makedirs(there, exist_ok=True)
            for f in files:
                open(os.path.join(there, f), "wb").close()
        shutil.copy(lib, os.path.join(hostdir, "libdecoy.so"))
        shutil.rmtree(os.path.join(root, "usr/lib/debug"))
        os.symlink(hostdir, os.path.join(root, "usr/lib/debug"))
        os.makedirs(os.path.join(root, "opt/leaktop"))
        shutil.copy(lib, os.path.join(root, "opt/leaktop/libdecoy.so"))
        box = copy.copy(py)
        box.root = root
        opens = Opens(hostdir)
        with H.start_target(box, "links_target.py", "/opt/leaktop/libdecoy.so", hostdir) as target:
            p.require(target.truth["mapped"], "the target did not map the library")
            for args in (["dump", "--json", target.pid], ["stacks", "--native", target.pid]):
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.check(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
                if rc == 0 and args[0] == "dump":
                    items = {t["type"]: t["count"] for t in json.loads(out)["census"]["types"]}
                    p.check(items.get("__main__.Item") == target.truth["items"],
                            "Items: %s, the target %d" % (items.get("__main__.Item"),
                                                          target.truth["items"]))
            seen = opens.seen()
            p.check(not seen, "leaktop opened the host's files through the container's links: %s"
                    % ", ".join(sorted(set(seen))[:5]))
            p.untraced(target.pid)
    finally:
        if opens:
            opens.close()
        subprocess.run(["umount", "-l", root], stderr=subprocess.DEVNULL)


def protections(values):
    """Set fs.protected_symlinks and fs.protected_regular; the old values,
    or None when they cannot be set here."""
    old = {}
    try:
        for name, v in values.items():
            path = "/proc/sys/fs/" + name
            with open(path) as f:
                old[name] = f.read().strip()
            with open(path, "w") as f:
                f.write(str(v))
    except OSError:
        protections_restore(old)
        return None
    return old


def protections_restore(old):
    for name, v in (old or {}).items():
        try:
            with open("/proc/sys/fs/" + name, "w") as f:
                f.write(v)
        except OSError:
            pass


def planted_files(tap, descs, shared, victim, target, k, skip):
    """The three points of planted names, with files of round k's own."""
    if skip:
        for d in descs:
            tap.skip(d, skip)
        return
    snap, prom, held = ("%s-%d.%s" % (n, k, e) for n, e in (("heap", "snap"), ("leaktop", "prom"),
                                                           ("held", "snap")))
    with tap.point(descs[0]) as p:
        p.require(plant(shared, snap, victim), "nobody could not plant links")
        args = ["dump", "--save", os.path.join(shared, snap), target.pid]
        rc, out, err = H.run_leaktop(args, timeout=120)
        p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
        check_written(p, shared, snap, victim, 0o600)
        p.untraced(target.pid)
    with tap.point(descs[1]) as p:
        p.require(plant(shared, prom, victim), "nobody could not plant links")
        args = ["watch", "--prometheus", os.path.join(shared, prom), "--count", "1", target.pid]
        rc, out, err = H.run_leaktop(args, timeout=120)
        p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
        check_written(p, shared, prom, victim, 0o644)
    with tap.point(descs[2]) as p:
        path = os.path.join(shared, held)
        script = ("import os, sys\nfd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, "
                  "0o666)\nos.write(fd, %r)\n" % PLANTED)
        p.require(as_nobody([sys.executable, "-I", "-c", script, path]) == 0,
                  "nobody could not create %s" % path)
        with open(path, "rb") as fh:     # the other user's descriptor
            args = ["dump", "--save", path, target.pid]
            rc, out, err = H.run_leaktop(args, timeout=120)
            p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
            p.check(fh.read() == PLANTED, "the held file now reads something else")
            st = os.stat(path)
            p.check(st.st_ino != os.fstat(fh.fileno()).st_ino and st.st_uid == 0 and
                    stat.S_IMODE(st.st_mode) == 0o600,
                    "the saved file is the other user's, or not 0600: %o uid %d"
                    % (st.st_mode, st.st_uid))


def main(tap, pythons):
    py = next((x for x in pythons if x.skip_reason is None and not x.root), None)
    planted = ["files: planted symlinks at every predictable name; dump --save writes 0600, "
               "never through a link",
               "files: planted symlinks; watch --prometheus writes 0644, never through a link",
               "files: a file another user pre-created and holds open never receives the heap"]
    kernel = [("the kernel's protections off", {"protected_symlinks": 0, "protected_regular": 0}),
              ("the kernel's protections on", {"protected_symlinks": 1, "protected_regular": 1})]
    descs = ["%s [%s]" % (d, k) for k, _v in kernel for d in planted] + [
             "files: an unwritable destination is one line naming it, before any stop",
             "files: streams that never end or lie (/dev/zero, yes, endless sections, a "
             "section larger than memory, a file cut short) are one line each",
             "files: a core's file notes name a data file now holding a secret: the secret "
             "never appears",
             "files: a container whose links lead to a host directory: read right, nothing "
             "there opened"]
    reason = (H.missing_tool("setpriv", "util-linux") or
              (None if os.geteuid() == 0 else "needs root (another user plants the files)") or
              (None if py else "no interpreter to run a target"))
    if reason:
        for d in descs:
            tap.skip(d, reason)
        return
    base = tempfile.mkdtemp(prefix="leaktop-files-")
    old_umask = os.umask(0)
    try:
        os.chmod(base, 0o755)
        shared = os.path.join(base, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)           # like /tmp
        victim = os.path.join(base, "victim")
        with open(victim, "wb") as f:
            f.write(VICTIM)
        os.chmod(victim, 0o644)
        with H.start_target(py, "snap_target.py") as target:
            for k, (label, values) in enumerate(kernel):
                old = protections(values)
                try:
                    planted_files(tap, descs[3 * k:3 * k + 3], shared, victim, target, k,
                                  None if old is not None else
                                  "cannot set fs.protected_symlinks here (%s)" % label)
                finally:
                    protections_restore(old)
            descs = descs[6:]
            with tap.point(descs[0]) as p:
                stop = os.path.join(base, "stopped")
                for args, name in ((["dump", "--save", "/nonexistent/dir/heap.snap", target.pid],
                                    "/nonexistent/dir/heap.snap"),
                                   (["watch", "--prometheus", "/nonexistent/dir/x.prom",
                                     "--count", "1", target.pid], "/nonexistent/dir/x.prom")):
                    rc, out, err = H.run_leaktop(args, timeout=60,
                                                 env={"LEAKTOP_TEST_IN_STOP": stop})
                    lines = err.splitlines()
                    p.check(rc == 1 and len(lines) == 1 and name in err and ".tmp" not in err,
                            "\n".join(H.describe_run(args, rc, out, err)))
                    p.check(not os.path.exists(stop), "%s stopped the target first" % args[0])
                p.untraced(target.pid)
            with tap.point(descs[1]) as p:
                streams(p, os.path.join(shared, "heap-0.snap"))
        with tap.point(descs[2]) as p:
            decoy_core(p, py)
        with tap.point(descs[3]) as p:
            container_links(p, pythons, base)
    finally:
        os.umask(old_umask)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    H.run_main(main)
