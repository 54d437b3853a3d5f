#!/usr/bin/env python3
"""Shared harness for the leaktop end-to-end tests.

Pieces:
  * find_pythons()        -- CPython >= 3.8 interpreters on this machine
  * start_target()        -- run tests/targets/<script> and wait for its truth
  * run_leaktop()         -- run the leaktop binary with a timeout
  * target_state() / assert_running_untraced()
  * TAP / Point / run_main() -- TAP output that never hangs and exits 0

Runs on Python 3.7+ (the harness side); target scripts run on the
interpreter under test.  Environment knobs:
  LEAKTOP            path of the leaktop binary (default <repo>/src/leaktop)
  LEAKTOP_PYTHONS    colon-separated interpreter paths (replaces discovery)
  LEAKTOP_ROOTS      where scripts/setup-pythons keeps the Debian sid/trixie
                     roots whose interpreters are tested too, each in a
                     chroot and in a private mount namespace
  LEAKTOP_TEST_ROOTS=0 leave the roots' interpreters out
  LEAKTOP_TEST_LABELS  a regular expression: test only interpreters whose
                     label matches (python3.14.10@sid-chroot, python3.12.1 ...)
  LEAKTOP_TEST_SAMPLE=N  at most N of them, spread from the oldest to the newest
  LEAKTOP_TEST_STRIPPED=1  do not skip builds without DWARF
  LEAKTOP_TEST_WATCHDOG    seconds before a test script bails out (1500)
"""

import atexit
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(TESTS_DIR)
TARGETS_DIR = os.path.join(TESTS_DIR, "targets")

SKIP_STRIPPED = "stripped build, no DWARF and no built-in layout table for its version"
SKIP_FREE_THREADED = "free-threaded builds not supported yet"


class MissingTool(str):
    """A skip reason naming something scripts/check installs: under CI=true
    the point fails instead, so a setup that misses a package is seen."""


def census_difference(a, b, limit=6):
    """'' when two censuses ({type: row}) agree, else their first differing
    rows, type by type, to say which types moved."""
    diff = sorted(t for t in set(a) | set(b) if a.get(t) != b.get(t))
    if not diff:
        return ""
    return "%d types differ, first: %s" % (len(diff), "; ".join(
        "%s %s vs %s" % (t, a.get(t), b.get(t)) for t in diff[:limit]))


def missing_tool(tool, package=None):
    """None when `tool` is on PATH, else the MissingTool reason to skip."""
    if shutil.which(tool):
        return None
    return MissingTool("%s is not installed (scripts/check installs %s)" % (tool, package or tool))


def missing_debian_module(py, module, package):
    """The reason to skip a point that needs `module`: a MissingTool for
    Debian's own interpreter (scripts/check installs `package` for it), a
    plain reason for the others, which have no such package."""
    if py.path.startswith("/usr/bin/") and not py.root:
        return MissingTool("%s is not installed for %s (scripts/check installs %s)"
                           % (module, py.path, package))
    return "%s is not installed for this interpreter" % module


# ---------------------------------------------------------------------------
# ELF: does a file carry DWARF?

def elf_section_names(path):
    """Section names of an ELF file, or None if it is not ELF/unreadable."""
    secs = elf_sections(path)
    return None if secs is None else [name for name, _off, _size in secs]


def elf_sections(path):
    """(name, offset, size) of each section of an ELF file, or None."""
    try:
        with open(path, "rb") as f:
            ident = f.read(16)
            if len(ident) < 16 or ident[:4] != b"\x7fELF":
                return None
            cls, data = ident[4], ident[5]
            end = "<" if data == 1 else ">"
            if cls == 2:
                ehdr = struct.Struct(end + "HHIQQQIHHHHHH")
                shdr = struct.Struct(end + "IIQQQQIIQQ")
            elif cls == 1:
                ehdr = struct.Struct(end + "HHIIIIIHHHHHH")
                shdr = struct.Struct(end + "IIIIIIIIII")
            else:
                return None
            hdr = f.read(ehdr.size)
            if len(hdr) < ehdr.size:
                return None
            (_t, _m, _v, _entry, _phoff, shoff, _fl, _ehs, _phes, _phn,
             shentsize, shnum, shstrndx) = ehdr.unpack(hdr)
            if shoff == 0:
                return []
            if shentsize < shdr.size:
                return None

            def section(i):
                f.seek(shoff + i * shentsize)
                raw = f.read(shdr.size)
                if len(raw) < shdr.size:
                    raise ValueError("truncated section header")
                # name, type, flags, addr, offset, size, link, info, ...
                return shdr.unpack(raw)

            if shnum == 0 or shstrndx == 0xFFFF:     # extended numbering
                s0 = section(0)
                if shnum == 0:
                    shnum = s0[5]
                if shstrndx == 0xFFFF:
                    shstrndx = s0[6]
            if shnum > 1 << 16 or shstrndx >= shnum:
                return None
            heads = [section(i) for i in range(shnum)]
            strtab_hdr = heads[shstrndx]
            f.seek(strtab_hdr[4])
            strtab = f.read(min(strtab_hdr[5], 1 << 24))
            secs = []
            for h in heads:
                off = h[0]
                nm = strtab[off:strtab.find(b"\0", off)] if off < len(strtab) else b""
                secs.append((nm.decode("latin-1"), h[4], h[5]))
            return secs
    except (OSError, ValueError, struct.error):
        return None


def elf_build_id(path):
    """The GNU build-id of an ELF file as hex, or None."""
    for name, off, size in elf_sections(path) or []:
        if name != ".note.gnu.build-id" or size < 16 or size > 4096:
            continue
        try:
            with open(path, "rb") as f:
                f.seek(off)
                raw = f.read(size)
            namesz, descsz, _type = struct.unpack("<III", raw[:12])
            start = 12 + ((namesz + 3) & ~3)
            return raw[start:start + descsz].hex() or None
        except (OSError, struct.error):
            return None
    return None


def _has_debug_info_section(path):
    names = elf_section_names(path)
    return bool(names) and (".debug_info" in names or ".zdebug_info" in names)


def has_dwarf(path, root=""):
    """DWARF in the file itself or in a separate debug file found by
    build-id (Debian's python3.X-dbg installs those for the stock build),
    under the file system root `root` ("" for ours)."""
    if _has_debug_info_section(path):
        return True
    bid = elf_build_id(path)
    if not bid or len(bid) < 4:
        return False
    for d in ("/usr/lib/debug", "/usr/local/lib/debug"):
        if _has_debug_info_section(os.path.join(root + d, ".build-id", bid[:2], bid[2:] + ".debug")):
            return True
    return False


def is_elf_executable(path):
    try:
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            return False
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


# ---------------------------------------------------------------------------
# Interpreter discovery

# Runs inside the candidate interpreter (any Python 3); keep it old-syntax.
_PROBE = r'''
import sys, json
try:
    import sysconfig
    gil = sysconfig.get_config_var("Py_GIL_DISABLED")
    dbg = sysconfig.get_config_var("Py_DEBUG")
except Exception:
    gil = dbg = None
libs = []
try:
    f = open("/proc/self/maps")
    for line in f:
        parts = line.split(None, 5)
        if len(parts) == 6:
            p = parts[5].strip()
            if p.rsplit("/", 1)[-1].startswith("libpython") and p not in libs:
                libs.append(p)
    f.close()
except Exception:
    pass
impl = getattr(getattr(sys, "implementation", None), "name", "unknown")
sys.stdout.write(json.dumps({
    "impl": impl, "version": list(sys.version_info[:3]),
    "version_full": sys.version.split()[0], "executable": sys.executable,
    "gil_disabled": gil, "debug": dbg, "libs": libs}))
'''

_NAME_RE = re.compile(r"^python3\.\d+[a-z]*(-dbg)?$")


class Python(object):
    """One interpreter under test.  With a root, it lives in that root file
    system (path is its path there) and runs there, as a container would:
    mode "chroot", or "ns" (a private mount namespace after pivot_root)."""

    def __init__(self, path, info, root=None, mode=None, hide_debug=False):
        self.path = path
        self.root = root
        self.mode = mode
        # leaktop is run with the separate debug files out of its reach
        # (LEAKTOP_DEBUGINFO_PATH): a stripped build read as if it had none.
        self.hide_debug = hide_debug
        self.realpath = os.path.realpath(path) if not root else \
            root + os.path.realpath(os.path.join(root, path.lstrip("/")))[len(os.path.realpath(root)):]
        self.version = tuple(info["version"])
        self.version_str = "%d.%d.%d" % self.version
        self.version_full = info.get("version_full") or self.version_str
        self.free_threaded = bool(info.get("gil_disabled"))
        self.debug = bool(info.get("debug"))
        self.libpython = list(info.get("libs") or [])
        self.label = "python" + self.version_str + \
            ("t" if self.free_threaded else "") + ("d" if self.debug else "")
        # The interpreter core (the part leaktop needs DWARF for) lives in
        # libpython when the executable links it dynamically, else in the
        # executable itself.
        if root:
            self.core_files = [root + l for l in self.libpython] or [self.realpath]
            self.label += "@%s-%s" % (os.path.basename(root), mode)
        else:
            self.core_files = self.libpython or [self.realpath]
        self.stripped = not any(_has_debug_info_section(p) for p in self.core_files)
        self.dwarf = any(has_dwarf(p, root or "") for p in self.core_files) and \
            not (hide_debug and self.stripped)
        if hide_debug:
            self.label += "-nodebug"
        self.tiered = None   # why run_each(one_mode=True) leaves this run out

    def same_but_mode(self):
        """The label without the container mode: one interpreter, one root."""
        return self.label.replace("-chroot", "").replace("-ns", "")

    def command(self, argv, cwd=None):
        """argv[0] replaced by this interpreter, run where it lives; cwd is
        a directory in its own view."""
        if not self.root:
            return [self.path] + list(argv)
        if self.mode == "chroot":
            return ["chroot", self.root, "sh", "-c", 'cd "$1" && shift && exec "$@"', "sh",
                    cwd or "/", self.path] + list(argv)
        # The target's root is not ours and not reachable: pivot_root in
        # its own mount namespace.  unshare and sh exec: same PID.
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _PIVOT, "sh",
                self.root, cwd or "/", self.path] + list(argv)

    def inner(self, host_path):
        """A host path under the root, as the interpreter sees it."""
        return host_path[len(self.root):] if self.root else host_path

    @property
    def skip_reason(self):
        """None if leaktop is expected to inspect this build."""
        if self.tiered:
            return self.tiered
        if self.free_threaded:
            return SKIP_FREE_THREADED
        if not self.dwarf and "%d.%d" % self.version[:2] not in table_versions() and \
                os.environ.get("LEAKTOP_TEST_STRIPPED") != "1":
            return SKIP_STRIPPED
        return None

    def __repr__(self):
        return "<Python %s %s%s>" % (self.label, self.path,
                                     "" if self.dwarf else " no-dwarf")


def _candidate_paths():
    env = os.environ.get("LEAKTOP_PYTHONS")
    if env is not None and env.strip():
        return [p for p in env.split(":") if p], True
    pats = []
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(os.environ["PYENV_ROOT"])
    roots.append(os.path.expanduser("~/.pyenv"))
    for r in roots:
        pats.append(os.path.join(r, "versions", "*", "bin", "python3.*"))
    pats += ["/usr/bin/python3.*", "/usr/local/bin/python3.*"]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or os.path.basename(os.path.normpath(d)) == "shims":
            continue
        pats.append(os.path.join(d, "python3.*"))
    paths = []
    for pat in pats:
        for p in sorted(glob.glob(pat)):
            if _NAME_RE.match(os.path.basename(p)):
                paths.append(p)
    return paths, False


_PYTHONS = None

_PIVOT = r'''root=$1 cwd=$2; shift 2
mount --bind "$root" "$root" && cd "$root" && mkdir -p .oldroot &&
pivot_root . .oldroot && cd / && mount -t proc proc /proc && umount -l /.oldroot &&
cd "$cwd" && exec "$@"'''


def _probe(cmd):
    """What the interpreter cmd says of itself, if it is a CPython 3.8+."""
    try:
        r = subprocess.run(cmd + ["-E", "-S", "-c", _PROBE], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20)
        info = json.loads(r.stdout.decode("utf-8", "replace"))
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if info.get("impl") != "cpython" or tuple(info["version"]) < (3, 8):
        return None
    return info


def interpreter_roots():
    """The Debian roots scripts/setup-pythons has made ready."""
    try:
        out = subprocess.run([os.path.join(REPO, "scripts", "setup-pythons"), "--print"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=20).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return []
    return [l for l in out.splitlines() if os.path.isdir(l)]


def _mount_proc(root):
    """/proc in the root, once: scripts/check mounts it before the suite and
    unmounts it after; a test run by hand mounts it here, under a lock so
    that tests started together do not mount it twice."""
    proc = os.path.join(root, "proc")
    if not os.path.isdir(proc) or os.path.ismount(proc):
        return
    with open(os.path.join(root, ".leaktop-proc.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.ismount(proc):
            subprocess.run(["mount", "-t", "proc", "proc", proc], stderr=subprocess.DEVNULL)


def _root_pythons():
    """Each interpreter of each root, once in a chroot, once in a mount
    namespace.  A chroot needs /proc inside for the targets' own truth."""
    found = []
    if os.geteuid() != 0 or os.environ.get("LEAKTOP_TEST_ROOTS") == "0":
        return found
    for root in interpreter_roots():
        _mount_proc(root)
        seen = set()
        for p in sorted(glob.glob(os.path.join(root, "usr", "bin", "python3.*"))):
            if not re.match(r"^python3\.\d+d?$", os.path.basename(p)):
                continue
            real = os.path.realpath(p)
            if real in seen or not is_elf_executable(real):
                continue
            seen.add(real)
            inner = p[len(root):]
            info = _probe(["chroot", root, inner])
            if not info:
                continue
            for mode in ("chroot", "ns"):
                found.append(Python(inner, info, root, mode))
                if found[-1].stripped:
                    found.append(Python(inner, info, root, mode, hide_debug=True))
    return found


def find_pythons():
    """All CPython >= 3.8 interpreters, deduplicated by realpath, by version."""
    global _PYTHONS
    if _PYTHONS is not None:
        return list(_PYTHONS)
    paths, _explicit = _candidate_paths()
    seen = set()
    found = []
    for p in paths:
        p = os.path.abspath(os.path.expanduser(p))
        real = os.path.realpath(p)
        if real in seen or not is_elf_executable(real):
            continue
        seen.add(real)
        info = _probe([p])
        if info:
            found.append(Python(p, info))
    if not _explicit:
        found += _root_pythons()
    want = os.environ.get("LEAKTOP_TEST_LABELS")
    if want:
        found = [py for py in found if re.search(want, py.label)]
    found.sort(key=lambda py: (py.version, py.free_threaded, py.debug, py.root or "",
                               py.mode or "", py.hide_debug, py.path))
    labels = {}
    for py in found:
        labels[py.label] = labels.get(py.label, 0) + 1
    for py in found:
        if labels[py.label] > 1:
            py.label += "@" + py.path
    found = _sample(found, os.environ.get("LEAKTOP_TEST_SAMPLE"))
    _PYTHONS = found
    return list(found)


def _sample(found, n):
    """At most n of the interpreters (sorted by version), spread over the
    versions: the oldest, the newest, and evenly between, so that a smaller
    run (the sanitizer suite) still spans the layouts."""
    if not n or int(n) >= len(found):
        return found
    n = max(int(n), 1)
    if n == 1:
        return found[:1]
    picks = sorted({round(i * (len(found) - 1) / (n - 1)) for i in range(n)})
    return [found[i] for i in picks]


# ---------------------------------------------------------------------------
# The leaktop binary

_TABLES = None


def table_versions():
    """Minor versions leaktop has built-in layout tables for (--version)."""
    global _TABLES
    if _TABLES is None:
        _TABLES = set()
        try:
            out = subprocess.run([leaktop_path(), "--version"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, timeout=10).stdout.decode()
            for line in out.splitlines():
                if line.startswith("built-in layout tables:"):
                    # "3.12", or exact ranges such as "3.14.5+": keep the minor
                    _TABLES = set(".".join(w.split(".")[:2])
                                  for w in line.split(":", 1)[1].split() if w[0].isdigit())
        except (OSError, subprocess.SubprocessError):
            pass
    return _TABLES


def leaktop_path():
    env = os.environ.get("LEAKTOP")
    if env:
        return os.path.abspath(env)
    cands = [os.path.join(REPO, "src", "leaktop"),
             os.path.join(os.getcwd(), "src", "leaktop")]   # VPATH builddir
    for c in cands:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return cands[0]


def leaktop_available():
    p = leaktop_path()
    return os.path.isfile(p) and os.access(p, os.X_OK)


_CHILDREN = set()          # Popen objects we must not leave behind


def _track(proc):
    _CHILDREN.add(proc)
    return proc


def _reap(proc, sig=signal.SIGKILL):
    try:
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(timeout=10)
    except Exception:
        pass
    _CHILDREN.discard(proc)


def _decode(b):
    return (b or b"").decode("utf-8", "replace")


_INSPECTED = None         # the interpreter of the target started last


def leaktop_env(extra=None):
    """The environment to run leaktop in for the target started last: its
    debug files hidden when its interpreter says so."""
    env = dict(os.environ)
    if _INSPECTED is not None and _INSPECTED.hide_debug:
        env["LEAKTOP_DEBUGINFO_PATH"] = "/nonexistent-debuginfo"
    env.update(extra or {})
    return env


def leaktop_shell():
    """leaktop as a shell command (tmux), in that environment."""
    if _INSPECTED is not None and _INSPECTED.hide_debug:
        return "env LEAKTOP_DEBUGINFO_PATH=/nonexistent-debuginfo " + leaktop_path()
    return leaktop_path()


def run_leaktop(args, timeout=60, prefix=None, binary=None, env=None):
    """Run leaktop (with `env` added to its environment); returns (rc,
    stdout, stderr).  rc is None on timeout."""
    cmd = list(prefix or []) + [binary or leaktop_path()] + [str(a) for a in args]
    env = leaktop_env(env)
    if prefix:
        # A prefix may trace leaktop (strace): LeakSanitizer cannot run
        # under ptrace, so a sanitizer build leaves leaks alone there.
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    try:
        proc = _track(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, env=env))
    except OSError as e:
        return None, "", "[harness] cannot run %s: %s" % (cmd[0], e)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        rc = None
        err = (err or b"") + ("\n[harness] leaktop killed after %d s timeout"
                              % timeout).encode()
    _CHILDREN.discard(proc)
    return rc, _decode(out), _decode(err)


def describe_run(cmdargs, rc, out, err, limit=30):
    """Diagnostic lines for a leaktop run."""
    lines = ["command: leaktop %s" % " ".join(str(a) for a in cmdargs),
             "exit status: %s" % ("TIMEOUT" if rc is None else rc)]
    for name, text in (("stderr", err), ("stdout", out)):
        tl = text.splitlines()
        if not tl:
            continue
        lines.append("%s (%d lines):" % (name, len(tl)))
        lines += ["  " + l for l in tl[:limit]]
        if len(tl) > limit:
            lines.append("  ... (%d more)" % (len(tl) - limit))
    return lines


# ---------------------------------------------------------------------------
# /proc helpers

def target_state(pid):
    """{'State': 'S', 'TracerPid': 0, 'Tgid': n} or None if pid is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except (OSError, IOError):
        return None
    st = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        v = v.strip()
        if k == "State":
            st["State"] = v[:1]
            st["StateText"] = v
        elif k in ("TracerPid", "Tgid", "PPid"):
            st[k] = int(v)
        elif k == "VmRSS":
            st["rss_bytes"] = int(v.split()[0]) * 1024
    return st


def tracer_pid(pid):
    st = target_state(pid)
    return st.get("TracerPid", 0) if st else 0


def untraced_problems(pid, settle=0.2):
    """List of problems: gone, zombie, stopped (t/T), traced.

    Checked twice, immediately and after `settle` seconds, so that a stop
    delivered late (e.g. a leftover SIGSTOP from PTRACE_ATTACH) is caught."""
    probs = []
    for i in range(2):
        if i:
            time.sleep(settle)
        st = target_state(pid)
        when = "" if i == 0 else " (after %.1f s)" % settle
        if st is None:
            return ["target %d has exited%s" % (pid, when)]
        if st["State"] in ("Z", "X"):
            return ["target %d is dead (State: %s)%s" % (pid, st["StateText"], when)]
        if st["State"] in ("t", "T"):
            probs.append("target %d is stopped (State: %s)%s"
                         % (pid, st["StateText"], when))
        if st.get("TracerPid", 0) != 0:
            probs.append("target %d is still traced by pid %d%s"
                         % (pid, st["TracerPid"], when))
        if probs:
            return probs
    return probs


def assert_running_untraced(pid, settle=0.2):
    probs = untraced_problems(pid, settle)
    if probs:
        raise AssertionError("\n".join(probs))


# ---------------------------------------------------------------------------
# Targets

class TargetError(AssertionError):
    pass


class Target(object):
    def __init__(self, python, script, args, proc, tmpdir, truth_path, hb_path,
                 err_path):
        self.python = python
        self.script = script
        self.args = args
        self.proc = proc
        self.pid = proc.pid
        self.tmpdir = tmpdir
        self.truth_path = truth_path
        self.heartbeat_path = hb_path
        self.stderr_path = err_path
        self.truth = None

    def stderr_tail(self, n=20):
        try:
            with open(self.stderr_path, "rb") as f:
                lines = _decode(f.read()).splitlines()
            return lines[-n:]
        except OSError:
            return []

    def heartbeat(self):
        """Counter the target's sleep loop writes every 0.1 s, or None."""
        try:
            with open(self.heartbeat_path, "rb") as f:
                return int(f.read().strip() or b"0")
        except (OSError, ValueError):
            return None

    def wait_heartbeat(self, after=0, timeout=2.0):
        """Wait until the heartbeat exceeds `after`; returns value or None."""
        deadline = time.time() + timeout
        while True:
            hb = self.heartbeat()
            if hb is not None and hb > after:
                return hb
            if time.time() >= deadline:
                return None
            time.sleep(0.02)

    def assert_alive_progressing(self, timeout=2.0):
        """Target is alive, untraced, not stopped and its loop still runs."""
        assert_running_untraced(self.pid)
        hb = self.heartbeat() or 0
        if self.wait_heartbeat(hb, timeout) is None:
            st = target_state(self.pid)
            raise AssertionError(
                "target %d heartbeat stuck at %s for %.1f s (status %s)"
                % (self.pid, hb, timeout, st and st.get("StateText")))

    def stop(self):
        _reap(self.proc)
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def start_target(python, script, *args, **kw):
    """Start tests/targets/<script> <truth> <args...> <heartbeat>.

    Returns a Target once the truth file exists and the target's sleep loop
    has written its first heartbeat (so it is quiescent)."""
    global _INSPECTED
    _INSPECTED = python
    timeout = kw.get("timeout", 60)
    tmpdir = tempfile.mkdtemp(prefix="leaktop-test-",
                              dir=os.path.join(python.root, "tmp") if python.root else None)
    truth_path = os.path.join(tmpdir, "truth.json")
    hb_path = os.path.join(tmpdir, "heartbeat")
    err_path = os.path.join(tmpdir, "stderr")
    script_path = os.path.join(TARGETS_DIR, script)
    if python.root:
        # The targets must be inside the root to run there.
        shutil.copytree(TARGETS_DIR, os.path.join(tmpdir, "targets"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        script_path = os.path.join(tmpdir, "targets", script)
    cmd = python.command(["-I", python.inner(script_path), python.inner(truth_path)] +
                         [str(a) for a in args] + [python.inner(hb_path)],
                         cwd=python.inner(tmpdir))
    with open(err_path, "wb") as errf:
        proc = _track(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL,
                                       stderr=errf, cwd=tmpdir))
    t = Target(python, script, args, proc, tmpdir, truth_path, hb_path, err_path)
    deadline = time.time() + timeout
    try:
        while not os.path.exists(truth_path) or t.heartbeat() in (None, 0):
            if proc.poll() is not None:
                raise TargetError(
                    "target %s %s exited with status %s before it was ready\n%s"
                    % (script, " ".join(args), proc.returncode,
                       "\n".join(t.stderr_tail())))
            if time.time() > deadline:
                raise TargetError(
                    "target %s %s not ready after %d s\n%s"
                    % (script, " ".join(args), timeout,
                       "\n".join(t.stderr_tail())))
            time.sleep(0.02)
        with open(truth_path) as f:
            t.truth = json.load(f)
    except BaseException:
        t.stop()
        raise
    return t


def _cleanup():
    for p in list(_CHILDREN):
        _reap(p)


atexit.register(_cleanup)


# ---------------------------------------------------------------------------
# TAP

class _Skip(Exception):
    pass


class _Watchdog(BaseException):
    pass


def _clean_desc(desc):
    return desc.replace("#", "no.").replace("\n", " ")


class Point(object):
    """One TAP test point: collect failures, then print ok / not ok."""

    def __init__(self, tap, desc):
        self.tap = tap
        self.desc = desc
        self.failures = []
        self.diags = []

    def check(self, cond, msg):
        if not cond:
            self.failures.append(msg)
        return bool(cond)

    def fail(self, msg):
        self.failures.append(msg)

    def require(self, cond, msg):
        """Like check, but abandons the rest of this test point."""
        if not cond:
            raise AssertionError(msg)

    def untraced(self, pid):
        """Fail for each way the target is stopped, traced or gone."""
        for prob in untraced_problems(pid):
            self.fail(prob)

    def diag(self, msg):
        self.diags.append(msg)

    def skip(self, reason):
        raise _Skip(reason)

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if etype is not None and not issubclass(etype, Exception):
            return False                      # KeyboardInterrupt, watchdog
        if etype is _Skip:
            self.tap.skip(self.desc, exc.args[0] if exc.args else "")
            return True
        if etype is not None:
            if issubclass(etype, AssertionError):
                self.failures.append(str(exc))
            else:
                self.failures.append("unexpected exception:\n" + "".join(
                    traceback.format_exception(etype, exc, tb)))
        if self.failures:
            self.tap.not_ok(self.desc, self.failures + self.diags)
        else:
            self.tap.ok(self.desc, self.diags)
        return True


class TAP(object):
    MAX_DIAG = 60

    def __init__(self):
        self.n = 0
        self.failed = 0

    def _emit(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def _diag(self, msgs):
        lines = []
        for m in msgs:
            lines += str(m).splitlines() or [""]
        if len(lines) > self.MAX_DIAG:
            extra = len(lines) - self.MAX_DIAG
            lines = lines[:self.MAX_DIAG] + ["... (%d more lines)" % extra]
        for l in lines:
            self._emit("# " + l)

    def comment(self, msg):
        self._diag([msg])

    def ok(self, desc, diags=()):
        self.n += 1
        self._emit("ok %d - %s" % (self.n, _clean_desc(desc)))
        self._diag(diags)

    def not_ok(self, desc, diags=()):
        self.n += 1
        self.failed += 1
        self._emit("not ok %d - %s" % (self.n, _clean_desc(desc)))
        self._diag(diags)

    def skip(self, desc, reason):
        if isinstance(reason, MissingTool) and os.environ.get("CI") == "true":
            return self.not_ok(desc, [reason + ": in CI a missing tool fails, not skips"])
        self.n += 1
        self._emit("ok %d - %s # SKIP %s" % (self.n, _clean_desc(desc),
                                             reason.replace("\n", " ")))

    def point(self, desc):
        return Point(self, desc)

    def plan(self):
        self._emit("1..%d" % self.n)


# The tests whose checks depend on how a root is entered run every
# interpreter of a root both ways (chroot and mount namespace); the others
# (one_mode=True) run each in one of the two, chosen per test and
# interpreter, so that every interpreter still runs both ways across the
# suite and the suite stays within its time.
CONTAINER_TESTS = ("test_census", "test_census_stripped", "test_layouts", "test_fds",
                   "test_core", "test_errors", "test_netns", "test_stacks", "test_text")


def _kept_mode(script, py):
    """The one container mode this test script runs py's root in."""
    return ("chroot", "ns")[zlib.crc32(("%s %s" % (script, py.same_but_mode())).encode()) % 2]


def in_one_mode(pythons):
    """Marks the runs of root interpreters this test script leaves to the
    other container mode (py.tiered, which skip_reason gives)."""
    script = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    for py in pythons:
        if py.root and py.mode != _kept_mode(script, py):
            py.tiered = ("tiered: %s runs this interpreter by %s; %s run both ways"
                         % (script, _kept_mode(script, py), ", ".join(CONTAINER_TESTS)))
    return pythons


def run_each(run_python, one_mode=False):
    """Entry point of a test script that checks each interpreter alike; with
    one_mode, an interpreter of a root runs in one container mode only."""
    def main(tap, pythons):
        for py in (in_one_mode(pythons) if one_mode else pythons):
            run_python(tap, py)
    run_main(main)


def run_main(main, need_leaktop=True, watchdog=None):
    """Entry point of every test script: main(tap, pythons).

    Prints the TAP plan at the end, kills every child, exits 0 unless the
    script bailed out (TAP drivers report that as an error anyway)."""
    sys.dont_write_bytecode = True
    if watchdog is None:
        watchdog = int(os.environ.get("LEAKTOP_TEST_WATCHDOG", "1500"))

    def on_alarm(_sig, _frm):
        raise _Watchdog()

    def on_term(_sig, _frm):
        raise SystemExit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    tap = TAP()
    pythons = find_pythons()
    if not pythons:
        tap._emit("1..0 # SKIP no CPython 3.8+ found")
        sys.exit(0)
    if need_leaktop and not leaktop_available():
        tap._emit("Bail out! leaktop binary not found or not executable: %s "
                  "(build it first, or set LEAKTOP=/path/to/leaktop)"
                  % leaktop_path())
        sys.exit(0)
    tap.comment("leaktop: %s" % leaktop_path())
    for py in pythons:
        tap.comment("interpreter %s: %s%s" % (
            py.label, py.path,
            "" if py.skip_reason is None else "  (skipped: %s)" % py.skip_reason))
    signal.alarm(watchdog)
    try:
        main(tap, pythons)
    except _Watchdog:
        _cleanup()
        tap._emit("Bail out! watchdog: test script ran longer than %d s" % watchdog)
        sys.exit(0)
    except Exception:
        tap.not_ok("test script finished without crashing",
                   [traceback.format_exc()])
    finally:
        signal.alarm(0)
        _cleanup()
    tap.plan()
    sys.exit(0)
