#!/usr/bin/env python3
"""Open handles: every descriptor decoded and joined to its Python owner (TAP).

The fd target opens files (plain, binary, unbuffered, held by suspended
generators), sockets (socketpair, a TCP listener and a connection, UDP), a
pipe, an epoll, an eventfd and an mmap, and records /proc/self/fd with the
owner it knows for each.  `leaktop dump --json` must list exactly those
descriptors with the same targets, kinds, decoded sockets and owner types.
A target that leaks files must show the growth in watch and in the TUI.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("dump --json lists exactly the target's descriptors",
          "targets and kinds as /proc says",
          "sockets decoded: proto, state, addresses",
          "owners: FileIO (with name and wrappers), sockets, epoll, mmap, sqlite3 "
          "databases; none for raw fds",
          "owners with no debug files: the same, through the built-in tables",
          "text dump has the FD MODE KIND TARGET OWNER section",
          "watch shows a file leak growing in its group",
          "TUI handles panel shows the leak and drills down to the owner",
          "target running and untraced afterwards")


def kind_of(target):
    if target.startswith("socket:"):
        return "SOCK"
    if target.startswith("pipe:"):
        return "FIFO"
    if target.startswith("anon_inode:"):
        return "anon_inode"
    if target.startswith("/dev/"):
        return "CHR"
    return "REG"


def check_owners(p, truth, got):
    for k, t in truth.items():
        f = got.get(int(k))
        if not f or t["owner"] == "unknown":
            continue
        o = f.get("owner")
        if t["owner"] is None:
            p.check(o is None, "fd %s owner %r, want none (%s)" % (k, o, t["target"]))
            continue
        if not p.check(o is not None and o.get("type") == t["owner"],
                       "fd %s owner %r, want %s (%s)" % (k, o and o.get("type"), t["owner"], t["target"])):
            continue
        p.check(re.match(r"^0x[0-9a-f]+$", o.get("address", "")), "fd %s address %r" % (k, o.get("address")))
        if "name" in t:
            p.check(o.get("name") == t["name"], "fd %s name %r, want %r" % (k, o.get("name"), t["name"]))
        if "wrapped_by" in t:
            w = [x["type"] for x in o.get("wrapped_by", [])]
            p.check(w == t["wrapped_by"], "fd %s wrapped by %r, want %r" % (k, w, t["wrapped_by"]))


def check_dump(tap, descs, target):
    args = ["dump", "--json", target.pid]
    rc, out, err = H.run_leaktop(args, timeout=60)
    truth = target.truth["fds"]
    got = {}
    with tap.point(descs[0]) as p:
        if not p.check(rc == 0, "exit status %s" % rc):
            p.diag("\n".join(H.describe_run(args, rc, out, err, limit=10)))
        doc = json.loads(out) if rc == 0 else {}
        fds = doc.get("fds") or []
        got = {f["fd"]: f for f in fds}
        p.check([f["fd"] for f in fds] == sorted(got), "fds not ascending")
        p.check(set(got) == set(int(k) for k in truth),
                "fds %s, truth %s" % (sorted(got), sorted(int(k) for k in truth)))
    with tap.point(descs[1]) as p:
        for k, t in truth.items():
            f = got.get(int(k))
            if not f:
                continue
            want_kind = kind_of(t["target"])
            p.check(f["kind"] == want_kind, "fd %s kind %r, want %r (%s)" % (k, f["kind"], want_kind, t["target"]))
            if want_kind != "SOCK":
                p.check(f["target"] == t["target"], "fd %s target %r, want %r" % (k, f["target"], t["target"]))
            p.check(f.get("mode") in ("r", "w", "u"), "fd %s mode %r" % (k, f.get("mode")))
            p.check(isinstance(f.get("flags"), str) and f["flags"].startswith("O_"),
                    "fd %s flags %r" % (k, f.get("flags")))
    with tap.point(descs[2]) as p:
        n = 0
        for k, t in truth.items():
            if "proto" not in t or int(k) not in got:
                continue
            n += 1
            s = got[int(k)].get("socket") or {}
            p.check(s.get("proto") == t["proto"], "fd %s proto %r, want %r" % (k, s.get("proto"), t["proto"]))
            p.check(s.get("state") == t["state"], "fd %s state %r, want %r" % (k, s.get("state"), t["state"]))
            if "local" in t:
                p.check(s.get("local") == t["local"], "fd %s local %r, want %r" % (k, s.get("local"), t["local"]))
            if "remote" in t:
                p.check(s.get("remote") == t["remote"], "fd %s remote %r, want %r" % (k, s.get("remote"), t["remote"]))
            elif t["proto"] != "unix":
                p.check(s.get("remote") is None, "fd %s remote %r, want null" % (k, s.get("remote")))
        p.check(n == 6, "%d sockets in the truth, want 6" % n)
    with tap.point(descs[3]) as p:
        check_owners(p, truth, got)
    with tap.point(descs[4]) as p:
        # Stripped interpreters (Debian's): the extension modules' layouts
        # come from leaktop's tables when no debug file can be found.
        os.environ["LEAKTOP_DEBUGINFO_PATH"] = "/nonexistent-debuginfo"
        try:
            rc, out, err = H.run_leaktop(args, timeout=60)
        finally:
            del os.environ["LEAKTOP_DEBUGINFO_PATH"]
        p.require(rc == 0, "exit status %s: %s" % (rc, err.strip()))
        doc = json.loads(out)
        p.diag("layout %s" % doc["python"]["layout_source"])
        check_owners(p, truth, {f["fd"]: f for f in doc.get("fds") or []})
    with tap.point(descs[5]) as p:
        rc, out, err = H.run_leaktop(["dump", "--top", "3", target.pid], timeout=60)
        p.check(rc == 0, "exit status %s" % rc)
        lines = out.splitlines()
        hdr = [i for i, l in enumerate(lines) if l.split() == ["FD", "MODE", "KIND", "TARGET", "OWNER"]]
        p.require(hdr, "no descriptor header in:\n%s" % out)
        rows = [l for l in lines[hdr[0] + 1:] if l.strip()]
        p.check(len(rows) == len(truth), "%d rows, want %d" % (len(rows), len(truth)))
        p.check(any("_io.FileIO" in l and "in _io.BufferedReader, _io.TextIOWrapper" in l for l in rows),
                "no FileIO row with its wrappers")
        p.check(any("(no Python owner)" in l for l in rows), "no unowned row")


def check_growth(tap, descs, py):
    leak = H.start_target(py, "growth_target.py", 0, "files", timeout=60)
    try:
        data_dir = os.path.dirname(leak.truth["data"])
        group = "REG %s/*.csv" % data_dir
        with tap.point(descs[6]) as p:
            args = ["watch", "--json", "--interval", "1", "--count", 3, leak.pid]
            rc, out, err = H.run_leaktop(args, timeout=60)
            p.check(rc == 0, "exit status %s" % rc)
            docs = [json.loads(l) for l in out.splitlines()]
            counts = []
            for d in docs[1:]:
                g = [x for x in d.get("fd_groups", []) if x["group"] == group]
                p.require(g, "group %r missing from %r" % (group, d.get("fd_groups")))
                p.check(g[0]["delta"] > 0, "group did not grow: %r" % g[0])
                counts.append(g[0]["count"])
                k = [x for x in d.get("fd_kinds", []) if x["kind"] == "REG"]
                p.check(k and k[0]["delta_total"] > 0, "REG kind did not grow: %r" % k)
            p.diag("%s counts: %s" % (group, counts))
            rc, out, err = H.run_leaktop(["watch", "--interval", "1", "--count", 2, leak.pid], timeout=60)
            p.check(re.search(r"handles \d+: .*\.csv \+\d+", out), "no handle growth line in:\n%s" % out)
        with tap.point(descs[7]) as p:
            if not shutil.which("tmux"):
                p.skip(H.missing_tool("tmux"))
            name = "fds-%d" % leak.pid
            tm = ["tmux", "-L", "leaktop-test"]
            subprocess.check_call(tm + ["new-session", "-d", "-s", name, "-x", "100", "-y", "30",
                                        "-e", "LANG=C.UTF-8",
                                        "%s top --interval 0.5 %d" % (H.leaktop_shell(), leak.pid)])
            try:
                def screen():
                    return subprocess.run(tm + ["capture-pane", "-p", "-t", name],
                                          stdout=subprocess.PIPE).stdout.decode("utf-8", "replace")
                # Until a snapshot after the first shows the growth (a loaded
                # machine grows the interval: --max-stopped).
                deadline = time.time() + 30
                while True:
                    s = screen()
                    row = [l for l in s.splitlines() if l.rstrip().endswith(group)]
                    if (row and int(row[0].split()[2]) > 0) or time.time() > deadline:
                        break
                    time.sleep(0.25)
                p.check(row and int(row[0].split()[2]) > 0,
                        "handles panel has no growing %r row:\n%s" % (group, s))
                subprocess.call(tm + ["send-keys", "-t", name, "Tab", "Enter"])
                time.sleep(0.8)
                s = screen()
                p.check(group in s and "_io.FileIO 0x" in s, "no drill-down to the owner:\n%s" % s)
                subprocess.call(tm + ["send-keys", "-t", name, "q"])
                time.sleep(0.5)
            finally:
                subprocess.call(tm + ["kill-session", "-t", name], stderr=subprocess.DEVNULL)
        with tap.point(descs[8]) as p:
            p.untraced(leak.pid)
    finally:
        leak.stop()


def run_python(tap, py):
    descs = ["fds: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = H.start_target(py, "fd_target.py", timeout=60)
    try:
        check_dump(tap, descs, target)
    finally:
        target.stop()
    check_growth(tap, descs, py)


if __name__ == "__main__":
    H.run_each(run_python)
