#!/usr/bin/env python3
"""Snapshot files and diff: `dump --save`, reading a FILE, `diff` (TAP).

Against snap_target.py (Items held in a module-level list, open files, a
second thread), on every interpreter:
- `dump --save FILE --json PID` prints the live census and writes FILE;
  `dump --json FILE` gives the same census, holders and descriptors
  exactly, and the Items the target counted;
- `--save -` writes the file to stdout, and `dump -` reads it from stdin;
- `why FILE __main__.Item` names STORE, as on the live target; `stacks
  --json FILE` shows both threads by the ids and names the target
  recorded, each in its function;
- after the target grew (its cue, its second truth), `diff --json OLD NEW`
  says Item grew by exactly what the target added, bytes too, STORE's
  length and the new log files' descriptors, with the new Items' chains
  through STORE; `diff OLD PID` says the same against the live process;
- the view opens a FILE read-only and shows the Items;
- truncated, damaged (every section has a CRC-32) and foreign files: one
  line on stderr, exit 1 (a name that is neither a PID nor a file: a
  usage error, 2); a file whose memory was
  damaged and its checksum made right (a hostile heap) is walked without
  a crash; `watch FILE` is a usage error (2);
- a file whose layout has one field moved by 8 (checksum right: a
  crafted file) is refused, or read with the census marked incomplete and
  a note naming the layout: never a complete census read through a wrong
  field (a sample of the fields per interpreter, all of them over the
  matrix);
- the target runs untraced afterwards.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import struct
import tempfile
import time
import zlib

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, HERE)
import harness as H  # noqa: E402
from test_tui import Tmux  # noqa: E402

GROUPS = ("save then read: the same census, holders and descriptors as live, the truth's Items",
          "--save - to stdout, and a FILE read from stdin (-)",
          "why and stacks read from the file: the chain through STORE, both threads",
          "diff OLD NEW and diff OLD PID: exactly what the target added, with the new Items' chains",
          "the view reads a FILE read-only",
          "truncated, damaged, foreign and missing files: one line, exit 1, no crash",
          "a crafted layout: refused, or incomplete with a note naming the layout",
          "target running and untraced afterwards")
ITEM = "__main__.Item"


def run_stdin(args, data, timeout=120):
    proc = H._track(subprocess.Popen([H.leaktop_path()] + [str(a) for a in args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=H.leaktop_env()))
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        H._reap(proc)
        return None, b"", b""
    return proc.returncode, out, err


def types(doc):
    return {t["type"]: (t["count"], t["bytes"]) for t in doc["census"]["types"]}


def holders(doc):
    return [(r["path"], r["type"], r["len"], r["retained_bytes"]) for r in doc["retainers"] or []]


def fds(doc):
    return [(f["fd"], f.get("target")) for f in doc["fds"]]


def one_line_error(rc, err):
    lines = err.strip().splitlines()
    return rc == 1 and len(lines) == 1 and lines[0].startswith("leaktop: ")


def damaged_files(good, tmp):
    """(label, path) of files cut or damaged in the ways that matter."""
    data = open(good, "rb").read()
    out = []

    def put(label, blob):
        path = os.path.join(tmp, "bad-%d.lts" % len(out))
        with open(path, "wb") as f:
            f.write(blob)
        out.append((label, path))
    put("empty", b"")
    put("garbage", b"not a snapshot at all\n" * 50)
    put("header only", data[:16])
    for frac in (0.01, 0.2, 0.5, 0.99):
        put("cut at %d%%" % (frac * 100), data[:int(len(data) * frac)])
    put("one byte short", data[:-1])
    put("a newer format", data[:8] + b"\x09\x00\x00\x00" + data[12:])
    rnd = random.Random(len(data))
    head = data.index(b"MEM ") + 64
    for k in range(3):
        blob = bytearray(data)
        # the sections before the memory: facts, layout, symbols, tables
        for _ in range(8):
            i = rnd.randrange(16, head)
            blob[i] = rnd.randrange(256)
        put("bytes changed before the memory (%d)" % k, bytes(blob))
    for k in range(2):
        blob = bytearray(data)
        for _ in range(2000):
            i = rnd.randrange(head, len(blob))
            blob[i] = rnd.randrange(256)
        put("bytes changed in the memory (%d)" % k, bytes(blob))
        # the same damage with its checksum made right: a hostile heap
        put("a hostile heap, checksum right (%d)" % k, resum(bytes(blob)))
    return out


FIELDS_PER_RUN = 24


def crafted_layouts(good, tmp, label):
    """(field, path) of files whose recorded layout has one field moved by
    8, each with its checksum right; the fields a sample that the label
    picks (every interpreter another), from those the layout has."""
    data = open(good, "rb").read()
    at = 16
    while at + 16 <= len(data):
        tag, _crc, n = struct.unpack_from("<4sIQ", data, at)
        if tag in (b"LAYT", b"END "):
            break
        at += 16 + n
    if tag != b"LAYT":
        return []
    lines = data[at + 16:at + 16 + n].decode().split("\n")
    fields = [i for i, ln in enumerate(lines) if "=" in ln and
              ln.split("=")[0] not in ("source", "minor", "table_version") and
              ln.split("=")[1] not in ("", "-1")]
    out = []
    for i in random.Random(zlib.crc32(label.encode())).sample(fields, min(FIELDS_PER_RUN, len(fields))):
        key, value = lines[i].split("=", 1)
        moved = list(lines)
        moved[i] = "%s=%d" % (key, int(value) + 8)
        body = "\n".join(moved).encode()
        path = os.path.join(tmp, "layout-%s.lts" % key)
        with open(path, "wb") as f:
            f.write(resum(data[:at] + struct.pack("<4sIQ", b"LAYT", 0, len(body)) + body +
                          data[at + 16 + n:]))
        out.append((key, path))
    return out


def resum(data):
    """The file with every section's CRC-32 made to match its payload."""
    out, at = bytearray(data[:16]), 16
    while at + 16 <= len(data):
        tag, _crc, n = struct.unpack_from("<4sIQ", data, at)
        body = data[at + 16:at + 16 + n]
        out += struct.pack("<4sIQ", tag, zlib.crc32(body), n) + body
        at += 16 + n
        if tag == b"END ":
            break
    return bytes(out)


def check_grown(p, d, t1, t2, new_source):
    row = {t["type"]: t for t in d["types"]}.get(ITEM)
    p.require(row, "no %s row in %s" % (ITEM, [t["type"] for t in d["types"]][:10]))
    p.check(row["count_old"] == t1["items"] and row["count_new"] == t2["items"] and
            row["delta"] == t2["items"] - t1["items"] == t1["grow"],
            "%s: %r, the target: %d -> %d" % (ITEM, row, t1["items"], t2["items"]))
    p.check(row["bytes_delta"] == t2["item_bytes"] - t1["item_bytes"],
            "bytes_delta %d, the target %d" % (row["bytes_delta"],
                                               t2["item_bytes"] - t1["item_bytes"]))
    store = [h for h in d["holders"] if h["path"] == "__main__.STORE"]
    p.check(store and store[0]["len_old"] == t1["store_len"] and
            store[0]["len_new"] == t2["store_len"], "holders %s" % d["holders"][:3])
    logs = [f for f in d["fds"] or [] if f["group"].endswith(".log")]
    p.check(len(logs) == 1 and logs[0]["delta"] == t1["more_files"] and
            logs[0]["count_old"] == t1["log_fds"] and logs[0]["count_new"] == t2["log_fds"],
            "fds %s, the target %d -> %d log files" % (d["fds"], t1["log_fds"], t2["log_fds"]))
    chains = row.get("chains") or []
    p.check(row.get("new_objects") == t1["grow"] and chains and
            chains[0]["count"] == t1["grow"] and
            [s.get("via") for s in chains[0]["path"][:2]] == [None, "STORE"],
            "new %r, chains %s" % (row.get("new_objects"), json.dumps(chains[:1])[:600]))
    p.check(d["new"]["source"] == new_source, "new side %r" % d["new"])


def run_python(tap, py):
    descs = ["snapfile: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    tmp = tempfile.mkdtemp(prefix="leaktop-test-")
    old, new = os.path.join(tmp, "old.lts"), os.path.join(tmp, "new.lts")
    try:
        with H.start_target(py, "snap_target.py") as target:
            pid, t1 = target.pid, target.truth
            with tap.point(descs[0]) as p:
                args = ["dump", "--json", "--save", old, pid]
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.require(rc == 0 and os.path.exists(old), "\n".join(H.describe_run(args, rc, out, err)))
                live = json.loads(out)
                args = ["dump", "--json", old]
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
                saved = json.loads(out)
                p.check(types(saved) == types(live), "the census differs: " +
                        H.census_difference(types(saved), types(live)))
                p.check(saved["census"]["objects"] == live["census"]["objects"] and
                        saved["census"]["complete"] == live["census"]["complete"],
                        "totals differ")
                p.check(types(saved).get(ITEM, (0, 0)) == (t1["items"], t1["item_bytes"]),
                        "%s: %s, the target %d objects, %d bytes" % (
                            ITEM, types(saved).get(ITEM), t1["items"], t1["item_bytes"]))
                p.check(holders(saved) == holders(live), "holders differ: %s / %s" % (
                    holders(saved)[:3], holders(live)[:3]))
                p.check(fds(saved) == fds(live) and len(live["fds"]) == t1["fds"],
                        "fds: saved %d, live %d, the target %d" % (
                            len(saved["fds"]), len(live["fds"]), t1["fds"]))
                p.check(saved["pid"] == live["pid"] == pid and
                        saved["pause_us"] == live["pause_us"], "pid or pause differ")
                p.check(any("snapshot file" in n for n in saved["census"]["notes"]),
                        "no note names the file: %s" % saved["census"]["notes"])
            with tap.point(descs[1]) as p:
                proc = subprocess.run([H.leaktop_path(), "dump", "--save", "-", str(pid)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env=H.leaktop_env(), timeout=120)
                p.require(proc.returncode == 0 and proc.stdout[:8] == b"LTSNAP\r\n",
                          "dump --save - %s: %r" % (proc.returncode, proc.stderr[-300:]))
                rc, out, err = run_stdin(["dump", "--json", "-"], proc.stdout)
                p.require(rc == 0, "dump - : %s" % err.decode(errors="replace")[-500:])
                # The same bytes read as a file: what was saved cannot move.
                piped = os.path.join(tmp, "piped.lts")
                with open(piped, "wb") as f:
                    f.write(proc.stdout)
                args = ["dump", "--json", piped]
                rc, fout, ferr = H.run_leaktop(args, timeout=120)
                p.require(rc == 0, "\n".join(H.describe_run(args, rc, fout, ferr)))
                p.check(types(json.loads(out)) == types(json.loads(fout)),
                        "stdin's census differs from the same file's: " +
                        H.census_difference(types(json.loads(out)), types(json.loads(fout))))
                p.check(types(json.loads(out)).get(ITEM, (0, 0)) == (t1["items"], t1["item_bytes"]),
                        "%s from stdin: %s, the target %d" % (
                            ITEM, types(json.loads(out)).get(ITEM), t1["items"]))
            with tap.point(descs[2]) as p:
                args = ["why", "--json", old, ITEM]
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
                w = json.loads(out)
                path = [s.get("via") for s in w["chains"][0]["path"]] if w["chains"] else []
                p.check(w["selected"] == t1["items"] and path[:2] == [None, "STORE"],
                        "selected %d (the target %d), path %s" % (w["selected"], t1["items"], path))
                args = ["stacks", "--json", old]
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
                th = {t["tid"]: t for t in json.loads(out)["threads"]}
                mt, wt = th.get(t1["main_tid"]), th.get(t1["worker_tid"])
                p.check(mt and wt, "threads %s, the target %d and %d" % (
                    sorted(th), t1["main_tid"], t1["worker_tid"]))
                if mt and wt:
                    funcs = lambda t: [f["function"].split(".")[-1] for f in t["frames"]]  # noqa
                    p.check("main" in funcs(mt) and "worker_loop" in funcs(wt) and
                            wt["name"] == t1["worker_name"],
                            "main %s, worker %s %r" % (funcs(mt), funcs(wt), wt["name"]))
            with tap.point(descs[3]) as p:
                open(target.truth_path + ".grow", "w").close()
                deadline = time.time() + 30
                while not os.path.exists(target.truth_path + ".2") and time.time() < deadline:
                    time.sleep(0.05)
                p.require(os.path.exists(target.truth_path + ".2"), "the target did not grow")
                t2 = json.load(open(target.truth_path + ".2"))
                target.wait_heartbeat(target.heartbeat())
                args = ["dump", "--save", new, pid]
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
                args = ["diff", "--json", old, new]
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
                check_grown(p, json.loads(out), t1, t2, new)
                args = ["diff", "--json", old, pid]
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
                check_grown(p, json.loads(out), t1, t2, "pid %d" % pid)
                args = ["diff", old, new]
                rc, out, err = H.run_leaktop(args, timeout=120)
                p.check(rc == 0 and ITEM in out and "__main__.STORE" in out,
                        "\n".join(H.describe_run(args, rc, out, err)))
            with tap.point(descs[4]) as p:
                if not shutil.which("tmux"):
                    p.skip(H.missing_tool("tmux"))
                name = "snapfile-%d" % os.getpid()
                tm = Tmux(name, "%s top %s" % (H.leaktop_shell(), new))
                try:
                    s = tm.wait_for(r"Item", timeout=30)
                    p.check(s and "snapshot file" in s and "read-only" in s,
                             "screen:\n%s" % (s or tm.screen()))
                    tm.keys("q")
                    deadline = time.time() + 5
                    while tm.alive() and time.time() < deadline:
                        time.sleep(0.1)
                    p.check(not tm.alive(), "q did not quit")
                finally:
                    tm.kill()
            with tap.point(descs[5]) as p:
                # dump reads a file as every reading command does (why too,
                # once: its chains walk a hostile heap further)
                files = damaged_files(old, tmp) + [("a directory", tmp)]
                for k, (label, path) in enumerate(files):
                    why = "hostile" in label and k == len(files) - 2
                    for args in [["dump", path]] + ([["why", path, ITEM]] if why else []):
                        rc, out, err = H.run_leaktop(args, timeout=120)
                        hostile = "hostile" in label
                        ok = (rc in (0, 1) if hostile else one_line_error(rc, err))
                        p.check(ok and rc is not None and rc >= 0,
                                "%s: %s" % (label, "\n".join(H.describe_run(args, rc, out, err))))
                args = ["dump", os.path.join(tmp, "no-such.lts")]
                rc, out, err = H.run_leaktop(args)
                p.check(rc == 2 and len(err.strip().splitlines()) == 1 and "neither" in err,
                        "a missing file: %s" % "\n".join(H.describe_run(args, rc, out, err)))
                args = ["watch", old]
                rc, out, err = H.run_leaktop(args)
                p.check(rc == 2 and len(err.strip().splitlines()) == 1,
                        "\n".join(H.describe_run(args, rc, out, err)))
            with tap.point(descs[6]) as p:
                crafted = crafted_layouts(old, tmp, py.label)
                p.require(crafted, "no layout section in %s" % old)
                for field, path in crafted:
                    args = ["dump", "--json", path]
                    rc, out, err = H.run_leaktop(args, timeout=120)
                    if rc == 1 and one_line_error(rc, err):
                        continue   # refused: the layout does not read back
                    p.require(rc == 0, "%s: %s" % (field, "\n".join(H.describe_run(args, rc, out, err))))
                    c = json.loads(out)["census"]
                    said = [n for n in c["notes"] if n.startswith("layout:")]
                    if any("no verified table" in n for n in said):
                        p.skip("leaktop has no table for this release to check a file against: %s"
                               % said[0])
                    p.check(not c["complete"] and any(field in n for n in said),
                            "%s moved by 8: complete %s, notes %s" % (field, c["complete"], c["notes"]))
            with tap.point(descs[7]) as p:
                p.untraced(pid)
                target.assert_alive_progressing()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
