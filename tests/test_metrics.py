#!/usr/bin/env python3
"""Metrics for monitoring: `watch --prometheus FILE` (TAP).

Against holders_target.py (two holders grow, a cache churns), `leaktop watch
--json --prometheus FILE` writes, at each snapshot, the Prometheus text
format; checked on every interpreter:
- the file parses as the text exposition format (a strict parser here, and
  `promtool check metrics` when Debian's prometheus package is installed);
- it is the last snapshot's census: objects and bytes per type for the top
  types, the rest summed as type="other", the totals, descriptors by kind,
  garbage, pause and time, the RSS and its parts, labelled with pid,
  command and python version, equal to the JSON of the same snapshot;
- the growing holders are among leaktop_retained_bytes;
- no temporary file is left beside it; an unwritable path is one line on
  stderr and exit 1; the target runs untraced afterwards;
- `leaktop serve --listen 127.0.0.1:0 PID` answers a real HTTP client's
  GET /metrics with the same format (the holders among its series), 404
  elsewhere, and ends with status 0 on SIGTERM, the target untraced.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("the file parses as Prometheus text (and promtool accepts it when installed)",
          "its samples are the last snapshot's census, descriptors and holders",
          "an unwritable path: one line, exit 1; no temporary file left",
          "target running and untraced afterwards",
          "serve: /metrics over loopback for the target, 404 elsewhere, exit 0 on SIGTERM")
TOP_TYPES = 30
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)\{((?:%s,)*%s)\} (-?[0-9.eE+-]+|NaN|[+-]Inf)$" % (NAME, LABEL, LABEL))


def top_holders(target):
    """The growing holders big enough to be among the top 10 retainers the
    metrics carry (SESSION grows too slowly to outrank sys's tables)."""
    return target.truth["growing"][:2]


def parse(text):
    """{(name, frozenset(labels)): value}, and the problems found."""
    samples, problems, typed = {}, [], set()
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) != 4 or parts[3] not in ("gauge", "counter", "untyped"):
                problems.append("line %d: %r" % (n, line))
            typed.add(parts[2])
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append("line %d is not a sample: %r" % (n, line))
            continue
        if m.group(1) not in typed:
            problems.append("line %d: %s has no TYPE before it" % (n, m.group(1)))
        labels = frozenset((k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
                           for k, v in re.findall(LABEL, m.group(2)))
        key = (m.group(1), labels)
        if key in samples:
            problems.append("line %d repeats a series: %r" % (n, line))
        samples[key] = float(m.group(m.lastindex))
    return samples, problems


def series(samples, name, **want):
    return {dict(k[1]).get("type") or dict(k[1]).get("kind") or dict(k[1]).get("holder") or
            dict(k[1]).get("part"): v
            for k, v in samples.items()
            if k[0] == name and all(dict(k[1]).get(a) == b for a, b in want.items())}


def serve(p, target):
    """leaktop serve on a free loopback port: a real HTTP client's GET."""
    proc = H._track(subprocess.Popen(
        [H.leaktop_path(), "serve", "--listen", "127.0.0.1:0", "--interval", "0.5",
         str(target.pid)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=H.leaktop_env({})))
    try:
        line = proc.stdout.readline().decode()
        m = re.search(r"(http://\S+/metrics)", line)
        p.require(m, "no URL: %r %r" % (line, proc.stderr.read(2000) if proc.poll() is not None
                                         else ""))
        # The URL line is the readiness signal (printed after the first
        # snapshot): the timeouts only keep a broken server from hanging us.
        with urllib.request.urlopen(m.group(1), timeout=300) as r:
            body = r.read().decode()
            p.check(r.status == 200 and r.headers["Content-Type"].startswith("text/plain"),
                    "status %s, type %s" % (r.status, r.headers["Content-Type"]))
        samples, problems = parse(body)
        p.check(not problems, "; ".join(problems[:5]))
        held = series(samples, "leaktop_retained_bytes", pid=str(target.pid))
        p.check(all(h in held for h in top_holders(target)), "holders %s" % sorted(held))
        try:
            urllib.request.urlopen(m.group(1).replace("/metrics", "/nothing"), timeout=300)
            p.fail("/nothing answered 200")
        except urllib.error.HTTPError as e:
            p.check(e.code == 404, "/nothing: %d" % e.code)
        proc.send_signal(signal.SIGTERM)
        t0 = time.time()
        while proc.poll() is None and time.time() - t0 < 10:
            time.sleep(0.05)
        p.check(proc.returncode == 0, "serve ended with %r after SIGTERM" % proc.returncode)
        p.untraced(target.pid)
    finally:
        H._reap(proc)


def run_python(tap, py):
    descs = ["metrics: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    tmp = tempfile.mkdtemp(prefix="leaktop-test-")
    path = os.path.join(tmp, "leaktop.prom")
    try:
        with H.start_target(py, "holders_target.py") as target:
            pid = target.pid
            args = ["watch", "--json", "--prometheus", path, "--interval", "0.5", "--count", "4",
                    pid]
            rc, out, err = H.run_leaktop(args, timeout=120)
            docs = [json.loads(line) for line in out.splitlines() if line.strip()] if rc == 0 else []
            text = open(path).read() if os.path.exists(path) else ""
            samples, problems = parse(text)
            with tap.point(descs[0]) as p:
                p.require(len(docs) == 4 and text, "\n".join(H.describe_run(args, rc, out, err)))
                p.check(not problems, "; ".join(problems[:5]))
                if shutil.which("promtool"):
                    r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                    p.check(r.returncode == 0, "promtool: %s" % r.stdout.decode()[-500:])
                elif os.environ.get("CI") == "true":
                    p.fail(H.missing_tool("promtool", "prometheus") + ": in CI it must be there")
                else:
                    p.diag("promtool not installed: the format checked by this test's parser")
            with tap.point(descs[1]) as p:
                p.require(docs and samples, "no metrics")
                last = docs[-1]
                base = {"pid": str(pid), "python": last["python"]["version"]}
                objects = series(samples, "leaktop_objects", **base)
                nbytes = series(samples, "leaktop_bytes", **base)
                types = last["census"]["types"]
                top = [t for t in types if t["count"]][:TOP_TYPES]
                p.check({t["type"]: t["count"] for t in top} ==
                        {k: int(v) for k, v in objects.items() if k != "other"},
                        "objects per type differ from the JSON's")
                p.check({t["type"]: t["bytes"] for t in top} ==
                        {k: int(v) for k, v in nbytes.items() if k != "other"},
                        "bytes per type differ from the JSON's")
                p.check(sum(objects.values()) == last["census"]["objects"] and
                        series(samples, "leaktop_objects_all", **base).get(None) ==
                        last["census"]["objects"],
                        "objects: %d in the series, %d in all, the census %d" % (
                            sum(objects.values()),
                            series(samples, "leaktop_objects_all", **base).get(None, -1),
                            last["census"]["objects"]))
                kinds = series(samples, "leaktop_descriptors", **base)
                p.check(sum(kinds.values()) == len(last["fds"]),
                        "descriptors %r, the JSON lists %d" % (kinds, len(last["fds"])))
                parts = series(samples, "leaktop_memory_bytes", **base)
                rss = series(samples, "leaktop_rss_bytes", **base).get(None)
                mem = last.get("memory") or {}
                p.check(mem and rss == mem["rss"] and sum(parts.values()) == rss and
                        {q["name"]: q["bytes"] for q in mem["parts"]} ==
                        {k: int(v) for k, v in parts.items()},
                        "memory parts %r, rss %r, the JSON %r" % (parts, rss, mem.get("parts")))
                held = series(samples, "leaktop_retained_bytes", **base)
                p.check(all(h in held for h in top_holders(target)),
                        "holders %s lack %s" % (sorted(held), top_holders(target)))
                p.check(abs(series(samples, "leaktop_pause_seconds", **base).get(None, -1) -
                            last["pause_us"] / 1e6) < 1e-5, "pause differs")
            with tap.point(descs[2]) as p:
                p.check(os.listdir(tmp) == ["leaktop.prom"], "left beside it: %s" % os.listdir(tmp))
                bad = os.path.join(tmp, "no-such-dir", "x.prom")
                args = ["watch", "--prometheus", bad, "--count", "1", pid]
                rc, out, err = H.run_leaktop(args)
                p.check(rc == 1 and len(err.strip().splitlines()) == 1 and bad in err,
                        "\n".join(H.describe_run(args, rc, out, err)))
            with tap.point(descs[3]) as p:
                p.untraced(pid)
                target.assert_alive_progressing()
            with tap.point(descs[4]) as p:
                serve(p, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
