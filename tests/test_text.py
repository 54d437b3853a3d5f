#!/usr/bin/env python3
"""leaktop dump (text output): header, table rows, --top, Total (TAP).

Expected layout:
  pid 1234  <command line>
  python 3.12.1  <executable>  layout dwarf
  objects 123456  gc-tracked 123456  bytes 45.2 MiB  pause 8.1 ms
  copied 98.2 MiB in 25.1 ms while stopped, walked after; 0 pages read late
  stop: interrupt 0.0 ms, wait 0.2, plan 1.7, copy 24.9, unwind 0.0, release 0.1, other 0.2
  note: ...                         (optional, any number)
  <blank>
   num    #objects      #bytes  type
     1:      50000     2800000  __main__.Leaky
  ...                               (at most --top N rows, default 30)
  Total     123456    47400000
"""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

ROW_RE = re.compile(r"^\s*(\d+):\s+(\d+)\s+(\d+)\s+(\S+)$")
HEADER_RE = re.compile(r"^\s*num\s+#objects\s+#bytes\s+type\s*$")
TOTAL_RE = re.compile(r"^Total\s+(\d+)\s+(\d+)(\s.*)?$")   # e.g. "(57 types)"
COPY_RE = re.compile(r"^copied [\d.]+ [KMGT]?i?B in [\d.]+ ms while stopped, walked after; \d+ pages read late$")
STOP_RE = re.compile(r"^stop: interrupt [\d.]+ ms, wait [\d.]+, plan [\d.]+, copy [\d.]+, "
                     r"unwind [\d.]+, release [\d.]+, other [\d.]+$")
LINE3_RE = re.compile(r"^objects\s+(\d+)\s+gc-tracked\s+(\d+)\s+bytes\s+\S+"
                      r"(\s+[KMGTP]?i?B)?\s+pause\s+[\d.]+\s*\S*\s*$")
LAYOUTS = ("dwarf", "debug-offsets", "table")
GROUPS = ("dump exits 0",
          "header lines",
          "row for __main__.Leaky with count 50000",
          "table layout, default at most 30 rows, Total line",
          "--top 5 gives exactly 5 rows",
          "target running and untraced afterwards")


def parse(out):
    """Split text output; returns dict, raises AssertionError on structure."""
    lines = out.splitlines()
    if len(lines) < 5:
        raise AssertionError("only %d lines of output" % len(lines))
    hdr = [i for i, l in enumerate(lines) if HEADER_RE.match(l)]
    if len(hdr) != 1:
        raise AssertionError("want exactly one table header line "
                             "' num    #objects      #bytes  type', found %d" % len(hdr))
    h = hdr[0]
    res = {"lines": lines, "head": lines[:3], "problems": [],
           "notes": [], "rows": [], "total": None}
    between = lines[3:h]
    if not between or between[-1].strip() != "":
        res["problems"].append("no blank line before the table header")
    else:
        between = between[:-1]
    if between and COPY_RE.match(between[0]):
        res["copy"] = between.pop(0)
    if between and STOP_RE.match(between[0]):
        res["stop"] = between.pop(0)
    for l in between:
        if l.startswith("note: "):
            res["notes"].append(l)
        else:
            res["problems"].append("unexpected line before the table: %r" % l)
    i = h + 1
    while i < len(lines) and ROW_RE.match(lines[i]):
        m = ROW_RE.match(lines[i])
        res["rows"].append((int(m.group(1)), int(m.group(2)), int(m.group(3)),
                            m.group(4)))
        i += 1
    if i < len(lines) and lines[i].startswith("Total"):
        res["total"] = lines[i]
        i += 1
    else:
        res["problems"].append("line after the rows is %r, want 'Total ...'"
                               % (lines[i] if i < len(lines) else "<end of output>"))
    # Then the descriptor section: "open descriptors: N", a header, N rows.
    rest = [l for l in lines[i:] if l.strip()]
    # Then the retainers, the cyclic garbage and the suspended generators, each a heading
    # and indented rows.
    res["sections"] = {}
    while rest and not rest[0].startswith("open descriptors"):
        m = re.match(r"^(memory|retainers|cyclic garbage|suspended generators)", rest[0])
        if not m:
            break
        body = []
        rest = rest[1:]
        while rest and rest[0].startswith(" "):
            body.append(rest.pop(0))
        res["sections"][m.group(1)] = body
    res["fd_rows"] = []
    if rest:
        m = re.match(r"^open descriptors: (\d+)$", rest[0])
        if not m:
            res["problems"].append("unexpected line after Total: %r" % rest[0])
        elif len(rest) < 2 or rest[1].split() != ["FD", "MODE", "KIND", "TARGET", "OWNER"]:
            res["problems"].append("descriptor header is %r" % rest[1:2])
        else:
            res["fd_rows"] = rest[2:]
            if len(res["fd_rows"]) != int(m.group(1)):
                res["problems"].append("%d descriptor rows, header says %s"
                                       % (len(res["fd_rows"]), m.group(1)))
            for l in res["fd_rows"]:
                if not re.match(r"^\s*\d+ [rwu?] +\S+ ", l):
                    res["problems"].append("bad descriptor row %r" % l)
    return res


def check_rows(p, rows, limit):
    p.check(len(rows) <= limit, "%d rows, want at most %d" % (len(rows), limit))
    p.check([r[0] for r in rows] == list(range(1, len(rows) + 1)),
            "row numbers are not 1..%d: %r" % (len(rows), [r[0] for r in rows]))
    p.check(all(a[2] >= b[2] for a, b in zip(rows, rows[1:])),
            "rows not sorted by #bytes descending: %r" % [r[2] for r in rows])


def run_python(tap, py):
    tag = "[%s]" % py.label
    descs = ["text: %s %s" % (g, tag) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    target = None
    full = top5 = None
    try:
        with tap.point(descs[0]) as p:
            target = H.start_target(py, "census_target.py", "classes")
            for args in (["dump", target.pid], ["dump", "--top", "5", target.pid]):
                rc, out, err = H.run_leaktop(args)
                if rc != 0:
                    p.fail("exit status %s, want 0" % rc)
                    p.diag("\n".join(H.describe_run(args, rc, out, err, limit=8)))
                elif "--top" in args:
                    top5 = out
                else:
                    full = out
        truth = target.truth if target else None

        with tap.point(descs[1]) as p:
            p.require(full is not None, "no output (see the 'dump exits 0' test point)")
            lines = full.splitlines() + ["", "", ""]
            l1, l2, l3 = lines[:3]
            p.check(re.match(r"^pid\s+%d(\s|$)" % target.pid, l1),
                    "line 1 %r does not start with 'pid %d'" % (l1, target.pid))
            p.check("census_target.py" in l1,
                    "line 1 %r does not show the target's command line" % l1)
            ver = re.escape(truth["version"])
            if truth.get("version_full") and truth["version_full"] != truth["version"]:
                ver = "(%s|%s)" % (ver, re.escape(truth["version_full"]))
            p.check(re.match(r"^python\s+%s\s" % ver, l2),
                    "line 2 %r does not start with 'python %s'" % (l2, truth["version"]))
            exes = (truth["executable"], os.path.realpath(truth["executable"]))
            p.check(any(e in l2 for e in exes),
                    "line 2 %r does not name the executable %s" % (l2, exes[0]))
            p.check(re.search(r"\slayout\s+(%s)\s*$" % "|".join(LAYOUTS), l2),
                    "line 2 %r does not end with 'layout dwarf|debug-offsets|table'" % l2)
            p.check(COPY_RE.match(lines[3]),
                    "line 4 %r does not say what the stop copied ('copied 98.2 MiB in 25.1 ms "
                    "while stopped, walked after; 0 pages read late')" % lines[3])
            p.check(STOP_RE.match(lines[4]),
                    "line 5 %r does not say where the pause went ('stop: interrupt 0.0 ms, "
                    "wait 0.2, plan 1.7, copy 24.9, unwind 0.0, release 0.1, other 0.2')"
                    % lines[4])
            m = LINE3_RE.match(l3)
            if p.check(m, "line 3 %r does not look like 'objects N  gc-tracked N  "
                       "bytes 45.2 MiB  pause 8.1 ms'" % l3):
                # The truth counts GC-tracked objects; the full census
                # adds the untracked ones (test_untracked.py checks those).
                objs, gct = int(m.group(1)), int(m.group(2))
                tol = max(100, 0.005 * truth["objects"])
                p.check(abs(gct - truth["objects"]) <= tol,
                        "line 3 gc-tracked %d vs truth %d (tolerance %d)"
                        % (gct, truth["objects"], tol))
                p.check(objs >= gct, "line 3 objects %d < gc-tracked %d" % (objs, gct))

        with tap.point(descs[2]) as p:
            p.require(full is not None, "no output")
            res = parse(full)
            leaky = [r for r in res["rows"] if r[3] == "__main__.Leaky"]
            p.require(len(leaky) == 1, "want one row for __main__.Leaky, found %d"
                      % len(leaky))
            want = truth["types"]["__main__.Leaky"]
            p.check(leaky[0][1] == 50000, "__main__.Leaky #objects %d, want 50000"
                    % leaky[0][1])
            p.check(leaky[0][2] == want["bytes"], "__main__.Leaky #bytes %d, want %d"
                    % (leaky[0][2], want["bytes"]))

        with tap.point(descs[3]) as p:
            p.require(full is not None, "no output")
            res = parse(full)
            for prob in res["problems"]:
                p.fail(prob)
            rows = res["rows"]
            p.check(rows, "no table rows")
            check_rows(p, rows, 30)
            ntypes = len(truth["types"])
            if ntypes >= 30:
                p.check(len(rows) == 30, "%d rows, want 30 (the target has %d types)"
                        % (len(rows), ntypes))
            if res["total"]:
                m = TOTAL_RE.match(res["total"])
                if p.check(m, "Total line %r does not hold '#objects #bytes'"
                           % res["total"]):
                    tot_o, tot_b = int(m.group(1)), int(m.group(2))
                    p.check(tot_o >= sum(r[1] for r in rows),
                            "Total objects %d < sum of the rows" % tot_o)
                    p.check(tot_b >= sum(r[2] for r in rows),
                            "Total bytes %d < sum of the rows" % tot_b)
                    m3 = LINE3_RE.match(res["head"][2])
                    if m3 and int(m3.group(1)) != tot_o:
                        p.diag("note: Total objects %d differ from line 3 objects %s"
                               % (tot_o, m3.group(1)))

        with tap.point(descs[4]) as p:
            p.require(top5 is not None, "no output for --top 5")
            res = parse(top5)
            for prob in res["problems"]:
                p.fail(prob)
            p.check(len(res["rows"]) == 5, "%d rows, want exactly 5" % len(res["rows"]))
            check_rows(p, res["rows"], 5)

        with tap.point(descs[5]) as p:
            p.require(target is not None, "target did not start")
            target.assert_alive_progressing()
    finally:
        if target is not None:
            target.stop()


if __name__ == "__main__":
    H.run_each(run_python)
