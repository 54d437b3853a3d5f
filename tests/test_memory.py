#!/usr/bin/env python3
"""Where the RSS goes: dump's memory parts (TAP).

Against memory_target.py (a 24 MiB bytes object, 100000 small tuples, an
8 MiB file mmap'd and read page by page, three threads parked on an event,
then idle), checked on every interpreter:
- `dump --json`'s memory: the seven named parts, none negative, add up
  exactly to memory.rss;
- that RSS is within 2% of VmRSS, read from /proc/PID/status right after
  leaktop ran (the target idle; after a first dump, whose reads of pages
  the target never touched map them);
- file mappings hold at least the mmap'd file; thread stacks hold more than
  the main thread's [stack] (its Rss read from smaps here), a page at least
  per parked thread;
- Python objects are the census's bytes less its buffer_bytes, owned
  buffers are buffer_bytes; the big bytes object is among them, and nothing
  was left out as not resident;
- `dump`'s text shows the block: "memory: RSS N bytes", a row per part,
  the rows adding up to N;
- the interactive view's header, 80 columns wide: the RSS bar of part
  letters on the line with objects, bytes, RSS and fds, fds still shown;
- the target runs untraced afterwards.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("dump --json: seven parts, none negative, adding up to memory.rss",
          "memory.rss within 2% of VmRSS read right after",
          "file mappings hold the mmap'd file; thread stacks hold the threads'",
          "Python objects = census bytes - buffer_bytes; the big bytes among them",
          "dump text: the memory block, its rows adding up to its RSS",
          "view header: the RSS bar within 80 columns, fds still shown",
          "target running and untraced afterwards")
PARTS = ["python_objects", "owned_buffers", "pymalloc_free", "malloc_unattributed",
         "file_mappings", "thread_stacks", "other_anonymous"]
LABELS = ["Python objects", "owned buffers", "pymalloc free", "malloc unattributed",
          "file mappings", "thread stacks", "other anonymous"]
ROW = re.compile(r"^  (.+?)\s+(\d+)\s+\S+ \S+\s+(\d+\.\d)%$")


def vmrss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def main_stack_rss(pid):
    """Rss of the [stack] mapping, from smaps, in bytes."""
    inside = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                inside = line.rstrip().endswith("[stack]")
            elif inside and line.startswith("Rss:"):
                return int(line.split()[1]) * 1024
    return 0


def text_block(out):
    """(rss, [(label, bytes, pct)], notes) of dump's memory block, or None."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^memory: RSS (\d+) bytes \(.*\) in (\d+) mappings$", line)
        if not m:
            continue
        rows, notes = [], []
        for l in lines[i + 1:]:
            if l.startswith("  note: "):
                notes.append(l)
                continue
            r = ROW.match(l)
            if not r:
                break
            rows.append((r.group(1), int(r.group(2)), float(r.group(3))))
        return int(m.group(1)), rows, notes
    return None


def header_bar(p, target):
    if not shutil.which("tmux"):
        p.skip(H.missing_tool("tmux"))
    sock = "leaktop-mem-%d" % os.getpid()
    name = "mem%d" % target.pid
    env = H.leaktop_env({})
    cmd = "%s --interval 0.5 %d" % (H.leaktop_path(), target.pid)
    try:
        r = subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", name, "-x", "80",
                            "-y", "24", cmd], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        p.require(r.returncode == 0, "tmux: %s" % r.stderr.decode("utf-8", "replace"))
        bar = re.compile(r"RSS [\d.]+ \S+ ([obpmfsa]{10,20})  fds \d+\s*$", re.M)
        deadline, screen, m = time.time() + 20, "", None
        while time.time() < deadline and not m:
            time.sleep(0.3)
            screen = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", name],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    timeout=10).stdout.decode("utf-8", "replace")
            line = screen.splitlines()[2] if len(screen.splitlines()) > 2 else ""
            m = bar.search(line) if line.startswith("objects ") else None
        p.require(m, "no bar on the header's third line:\n%s" % "\n".join(screen.splitlines()[:5]))
        cells = m.group(1)
        p.check(len(cells) == 10, "%d cells at 80 columns, want 10: %r" % (len(cells), cells))
        p.check("f" in cells, "no file mappings in the bar %r (8 MiB of 24+ are)" % cells)
        p.check(re.search(r"o+", cells) and cells == "".join(sorted(cells, key="obpmfsa".index)),
                "cells out of order or no objects: %r" % cells)
        p.check(len(screen.splitlines()[2]) <= 80, "line longer than 80 columns")
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)
        time.sleep(0.3)


def run_python(tap, py):
    descs = ["memory: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    with H.start_target(py, "memory_target.py") as target:
        pid, truth = target.pid, target.truth
        # The text dump first: leaktop's first look maps pages the target
        # never touched (reads of them get real pages on recent kernels, a
        # MiB or two), so VmRSS is compared after the second.
        targs = ["dump", "--top", "5", pid]
        trc, tout, terr = H.run_leaktop(targs, timeout=120)
        args = ["dump", "--json", "--top", "5", pid]
        rc, out, err = H.run_leaktop(args, timeout=120)
        after = vmrss(pid)
        doc = json.loads(out) if rc == 0 and out.strip() else None
        mem = doc.get("memory") if doc else None
        parts = {x["name"]: x["bytes"] for x in mem["parts"]} if mem else {}
        with tap.point(descs[0]) as p:
            p.require(mem, "no memory in the JSON\n" + "\n".join(H.describe_run(args, rc, out, err)))
            p.check([x["name"] for x in mem["parts"]] == PARTS,
                    "parts %r" % [x["name"] for x in mem["parts"]])
            p.check(all(isinstance(v, int) and v >= 0 for v in parts.values()), "parts %r" % parts)
            p.check(sum(parts.values()) == mem["rss"],
                    "parts add up to %d, rss %d" % (sum(parts.values()), mem["rss"]))
            p.diag("rss %d: %s; notes %s" % (mem["rss"], ", ".join(
                "%s %.1f%%" % (k, 100.0 * v / mem["rss"]) for k, v in parts.items()), mem["notes"]))
        with tap.point(descs[1]) as p:
            p.require(mem and after, "no memory, or no VmRSS")
            p.check(abs(mem["rss"] - after) <= 0.02 * after,
                    "rss %d, VmRSS %d right after (%.2f%%)"
                    % (mem["rss"], after, 100.0 * (mem["rss"] - after) / after))
        with tap.point(descs[2]) as p:
            p.require(mem, "no memory")
            p.check(parts["file_mappings"] >= truth["mapped_bytes"],
                    "file mappings %d < the mmap'd file's %d"
                    % (parts["file_mappings"], truth["mapped_bytes"]))
            main = main_stack_rss(pid)
            p.check(parts["thread_stacks"] >= main + truth["threads"] * 4096,
                    "thread stacks %d, the main [stack] %d alone, %d threads parked"
                    % (parts["thread_stacks"], main, truth["threads"]))
        with tap.point(descs[3]) as p:
            p.require(mem, "no memory")
            c = doc["census"]
            buffers = c.get("buffer_bytes", 0)
            p.check(parts["python_objects"] == c["bytes"] - buffers,
                    "Python objects %d, census bytes %d - buffer_bytes %d"
                    % (parts["python_objects"], c["bytes"], buffers))
            p.check(parts["owned_buffers"] == buffers,
                    "owned buffers %d, buffer_bytes %d" % (parts["owned_buffers"], buffers))
            p.check(parts["python_objects"] + parts["owned_buffers"] >= truth["big_bytes"],
                    "objects and buffers %d < the big bytes' %d"
                    % (parts["python_objects"] + parts["owned_buffers"], truth["big_bytes"]))
            p.check(not any("left out" in n for n in mem["notes"]), "notes: %s" % mem["notes"])
        with tap.point(descs[4]) as p:
            p.require(trc == 0, "\n".join(H.describe_run(targs, trc, tout, terr)))
            block = text_block(tout)
            p.require(block, "no 'memory: RSS N bytes ... in N mappings' line:\n" + tout[:3000])
            rss, rows, notes = block
            p.check([r[0] for r in rows] == LABELS, "rows %r" % [r[0] for r in rows])
            p.check(sum(r[1] for r in rows) == rss,
                    "rows add up to %d, RSS %d" % (sum(r[1] for r in rows), rss))
            p.check(abs(sum(r[2] for r in rows) - 100.0) < 0.5,
                    "percentages add up to %.1f" % sum(r[2] for r in rows))
        with tap.point(descs[5]) as p:
            header_bar(p, target)
        with tap.point(descs[6]) as p:
            p.untraced(pid)
            target.assert_alive_progressing()


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
