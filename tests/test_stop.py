#!/usr/bin/env python3
"""The stop: a consistent copy that costs the target nothing (TAP).

Against stop_target.py, on every interpreter:
- idle (a 1 GiB mapping it never touched, and a hostile list pointing
  into it): dump, why, stacks --native, dump --save and a 10-snapshot
  watch each leave the target's memory as it was: no page of any mapping
  becomes resident (the pagemap before and after), VmRSS does not grow
  (beyond what an equal wait without leaktop grows it: the control), not
  a page of the untouched mapping is resident afterwards; the dump reads
  no page late, says where the reads of untouched memory began (inside
  that mapping), counts the Markers exactly, and its memory.rss is the
  VmRSS read right after it within 1%;
- churn (eight threads allocating and freeing at full speed): 100
  consecutive snapshots (watch), every one complete, with no late page,
  no broken-list note and the Markers exact, and the pause's parts (JSON
  stop) adding up to it.  The churn runs on three interpreters (the oldest
  and the newest on the host, and Debian's python3): it is the same code on
  every one, and 100 snapshots cost half a minute each.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("stop: looking (dump, why, stacks --native, --save, watch) leaves no page and no "
          "RSS behind; untouched memory read without touching it",
          "stop: a churning target, 100 snapshots: complete, no late page, no broken list, "
          "Markers exact, the pause accounted")
MARKER = "__main__.Marker"
SNAPSHOTS = 100


def resident(pid):
    """Present pages per mapping, from the target's pagemap."""
    out = {}
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/pagemap" % pid, "rb") as pm:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            name = f[5] if len(f) > 5 else ""
            if name in ("[vvar]", "[vsyscall]") or name.startswith("[vvar"):
                continue
            pm.seek(lo // 4096 * 8)
            data = pm.read((hi - lo) // 4096 * 8)
            n = sum(1 for (e,) in struct.iter_unpack("<Q", data) if e >> 63)
            out["%s %s %s" % (f[0], f[1], name)] = n
    return out


def vmrss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def grown(before, after):
    return {k: (before.get(k, 0), v) for k, v in after.items() if v > before.get(k, 0)}


def looking(p, py, tmp):
    with H.start_target(py, "stop_target.py", "idle", timeout=120) as target:
        t = target.truth
        pid = target.pid
        lo, hi = t["mapping"], t["mapping"] + t["mapping_len"]
        # The control: the same wait without leaktop.
        r0, m0 = vmrss(pid), resident(pid)
        time.sleep(1.0)
        r1, m1 = vmrss(pid), resident(pid)
        drift = grown(m0, m1)
        p.check(not drift, "the idle target itself grew: %s" % drift)
        commands = (["dump", "--json", pid], ["why", pid, MARKER], ["stacks", "--native", pid],
                    ["dump", "--save", os.path.join(tmp, "s.lts"), pid],
                    ["watch", "--count", "10", "--interval", "0.1", pid])
        for args in commands:
            before_rss, before = vmrss(pid), resident(pid)
            rc, out, err = H.run_leaktop(args, timeout=300)
            after_rss, after = vmrss(pid), resident(pid)
            p.check(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
            g = grown(before, after)
            p.check(not g, "leaktop %s made pages of the target resident: %s" % (
                args[0], ", ".join("%s %d -> %d" % (k, a, b) for k, (a, b) in list(g.items())[:4])))
            p.check(after_rss <= before_rss + max(0, r1 - r0),
                    "leaktop %s grew the target's VmRSS from %d to %d kB (idle drift %d kB)"
                    % (args[0], before_rss, after_rss, r1 - r0))
            if args[0] == "dump" and rc == 0 and "--json" in args:
                d = json.loads(out)
                rss_now = vmrss(pid) * 1024
                c = d["census"]
                count = {x["type"]: x["count"] for x in c["types"]}.get(MARKER)
                p.check(count == t["markers"], "Markers: %s, the target %d" % (count, t["markers"]))
                p.check(d["late_pages"] == 0, "%d pages read late" % d["late_pages"])
                said = [n for n in c["notes"] if "never touched" in n]
                first = int(said[0].split("0x")[1].split(")")[0], 16) if said else None
                p.check(first is not None and lo <= first < hi,
                        "no note says the reads began in the untouched mapping [0x%x, 0x%x): %s"
                        % (lo, hi, c["notes"]))
                mem = d.get("memory") or {}
                p.check(mem.get("rss") and abs(mem["rss"] - rss_now) <= rss_now / 100,
                        "memory.rss %s, VmRSS right after %d" % (mem.get("rss"), rss_now))
        untouched = sum(v for k, v in resident(pid).items() if k.startswith("%x-%x " % (lo, hi)))
        p.check(untouched == 0, "%d pages of the untouched mapping are resident" % untouched)
        p.untraced(pid)
        target.assert_alive_progressing()


def churning(p, py):
    with H.start_target(py, "stop_target.py", "churn", timeout=120) as target:
        want = target.truth["markers"]
        args = ["watch", "--json", "--count", str(SNAPSHOTS), "--interval", "0.1",
                "--max-stopped", "100", "--top", "5", target.pid]
        rc, out, err = H.run_leaktop(args, timeout=600)
        p.require(rc == 0, "\n".join(H.describe_run(args, rc, out, err)))
        lines = [json.loads(x) for x in out.splitlines() if x.strip()]
        p.check(len(lines) == SNAPSHOTS, "%d snapshots, asked %d" % (len(lines), SNAPSHOTS))
        bad = []
        for k, d in enumerate(lines):
            c = d["census"]
            count = {x["type"]: x["count"] for x in c["types"]}.get(MARKER)
            st = d.get("stop") or {}
            parts = sum(st.get(f, 0) for f in ("interrupt_us", "wait_us", "plan_us", "copy_us",
                                                "unwind_us", "release_us", "other_us"))
            why = []
            if not c["complete"]:
                why.append("incomplete: %s" % [n[:80] for n in c["notes"]])
            if d["late_pages"]:
                why.append("%d late pages" % d["late_pages"])
            if any("broken" in n for n in c["notes"]):
                why.append("a broken list")
            if count != want:
                why.append("%s Markers" % count)
            if not st or parts != d["pause_us"]:
                why.append("stop %s does not add up to the pause %d" % (st, d["pause_us"]))
            if why:
                bad.append("snapshot %d: %s" % (k + 1, "; ".join(why)))
        p.check(not bad, "%d of %d snapshots: %s" % (len(bad), len(lines), " | ".join(bad[:3])))
        pauses = sorted(d["pause_us"] for d in lines)
        copies = sorted(d["stop"]["copy_us"] for d in lines if d.get("stop"))
        p.diag("pause median %.1f ms (copy %.1f ms), max %.1f ms" % (
            pauses[len(pauses) // 2] / 1000.0, copies[len(copies) // 2] / 1000.0 if copies else 0,
            pauses[-1] / 1000.0))
        p.untraced(target.pid)
        target.assert_alive_progressing()


def main(tap, pythons):
    pythons = H.in_one_mode(pythons)
    host = [x for x in pythons if not x.root and x.skip_reason is None]
    churned = set()
    if host:
        churned.update({host[0].label, host[-1].label})
        system = next((x for x in host if x.path.startswith("/usr/bin/")), None)
        if system:
            churned.add(system.label)
    for py in pythons:
        descs = ["%s [%s]" % (g, py.label) for g in GROUPS]
        if py.skip_reason:
            for d in descs:
                tap.skip(d, py.skip_reason)
            continue
        tmp = tempfile.mkdtemp(prefix="leaktop-stop-")
        try:
            with tap.point(descs[0]) as p:
                looking(p, py, tmp)
            if py.label not in churned:
                tap.skip(descs[1], "tiered: the churn runs on %s" % ", ".join(sorted(churned)))
                continue
            with tap.point(descs[1]) as p:
                churning(p, py)
        finally:
            subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    H.run_main(main)
