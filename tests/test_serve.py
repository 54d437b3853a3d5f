#!/usr/bin/env python3
"""leaktop serve against clients that do not play fair (TAP).

`leaktop serve --listen 127.0.0.1:0 --interval 0.5 PID` on a target, with:

- 100 idle connections (more than the 64 it serves at once), a client that
  sends one byte every 100 ms, and garbage and oversized requests sent in a
  loop, while a real client scrapes every 200 ms for 3 s: every scrape is
  answered 200 within 1 s (one idle client used to hold the server for its
  whole 2 s, 30 of them a scrape for 39 s);
- a request with a NUL, a request line that is not METHOD PATH HTTP/x.y, a
  header line with no colon, 9,000 bytes with no line end: 400 at once;
  HEAD /metrics answers its headers, POST 405, another path 404;
- a snapshot held in the stop (the LEAKTOP_TEST_IN_STOP hook holds the
  second one): a scrape is answered at once from the last completed one;
- SIGTERM ends it with 0, the target untraced.
These do not depend on the interpreter: they run on one.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import shutil
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

ANSWER_S = 1.0    # the bound for a scrape among hostile clients


def start_serve(target, env):
    proc = H._track(subprocess.Popen(
        [H.leaktop_path(), "serve", "--listen", "127.0.0.1:0", "--interval", "0.5",
         str(target.pid)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=H.leaktop_env(env)))
    return proc


def url_of(proc):
    line = proc.stdout.readline().decode()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
    return int(m.group(1)) if m else None


def raw(port, data, timeout=5):
    """Send data, read until the server closes; the status line ('' if none)."""
    s = socket.create_connection(("127.0.0.1", port))
    resp = b""
    try:
        s.sendall(data)
        s.settimeout(timeout)
        while True:
            d = s.recv(65536)
            if not d:
                break
            resp += d
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return resp.split(b"\r\n", 1)[0].decode(errors="replace")


def scrape(port):
    t = time.time()
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        r.read()
        return r.status, time.time() - t


def stop(p, proc, target):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    p.check(proc.returncode == 0, "serve ended with %r after SIGTERM" % proc.returncode)
    p.untraced(target.pid)


def hostile(p, port):
    """Idle, slow, garbage and oversized clients while a real one scrapes."""
    done = threading.Event()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]

    def slow():
        while not done.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", port))
                for b in b"GET /metrics HTTP/1.1\r\n":
                    if done.is_set():
                        break
                    s.send(bytes([b]))
                    time.sleep(0.1)
                s.close()
            except OSError:
                pass

    def garbage():
        while not done.is_set():
            raw(port, b"\x00\x01garbage\r\n\r\n", timeout=1)
            raw(port, b"A" * 9000, timeout=1)

    workers = [threading.Thread(target=f, daemon=True) for f in (slow, garbage)]
    for w in workers:
        w.start()
    times = []
    try:
        t_end = time.time() + 3
        while time.time() < t_end:
            status, took = scrape(port)
            times.append(took)
            p.check(status == 200, "a scrape got %d" % status)
            time.sleep(0.2)
    finally:
        done.set()
        for w in workers:
            w.join(5)
        for s in idle:
            s.close()
    p.diag("%d scrapes among 100 idle, a slow and garbage clients: the slowest %.3f s"
           % (len(times), max(times)))
    p.check(times and max(times) < ANSWER_S, "scrapes took %s s" % ["%.2f" % t for t in times])


def malformed(p, port):
    cases = [(b"GET /metrics\x00 HTTP/1.1\r\n", "400"),
             (b"garbage\r\n", "400"),
             (b"GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n", "400"),
             (b"A" * 9000, "400"),
             (b"HEAD /metrics HTTP/1.0\r\n\r\n", "200"),
             (b"POST /metrics HTTP/1.0\r\n\r\n", "405"),
             (b"GET /elsewhere HTTP/1.0\r\n\r\n", "404")]
    for data, want in cases:
        t = time.time()
        line = raw(port, data)
        p.check(line.split(" ")[1:2] == [want] and time.time() - t < ANSWER_S,
                "%r: %r after %.2f s, want %s at once" % (data[:40], line, time.time() - t, want))


def held(p, target, tmp):
    """A scrape while the next snapshot is held in its stop."""
    hook = os.path.join(tmp, "in-stop")
    proc = start_serve(target, {"LEAKTOP_TEST_IN_STOP": hook})
    try:
        deadline = time.time() + 120
        while not os.path.exists(hook) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        os.unlink(hook)                 # the first snapshot goes on
        port = url_of(proc)
        p.require(port, "no URL line")
        while not os.path.exists(hook) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        p.require(os.path.exists(hook), "the second snapshot never reached its stop")
        status, took = scrape(port)
        p.diag("a scrape during a held snapshot: %d in %.3f s" % (status, took))
        p.check(status == 200 and took < ANSWER_S, "status %d after %.2f s" % (status, took))
        os.unlink(hook)
        stop(p, proc, target)
    finally:
        if os.path.exists(hook):
            os.unlink(hook)
        H._reap(proc)


def main(tap, pythons):
    py = next((x for x in pythons if x.skip_reason is None and not x.root), None)
    descs = ["serve: 100 idle, a slow, garbage and oversized clients; every scrape within 1 s",
             "serve: malformed requests 400 at once; HEAD 200, POST 405, elsewhere 404",
             "serve: a scrape during a snapshot held in its stop is answered at once"]
    if not py:
        for d in descs:
            tap.skip(d, "no interpreter to run a target")
        return
    tmp = tempfile.mkdtemp(prefix="leaktop-serve-")
    try:
        with H.start_target(py, "snap_target.py") as target:
            proc = start_serve(target, {})
            try:
                port = url_of(proc)
                with tap.point(descs[0]) as p:
                    p.require(port, "no URL line: %r" % proc.stderr.read(2000)
                              if proc.poll() is not None else "no URL line")
                    hostile(p, port)
                with tap.point(descs[1]) as p:
                    p.require(port, "no server")
                    malformed(p, port)
                    stop(p, proc, target)
            finally:
                H._reap(proc)
            with tap.point(descs[2]) as p:
                held(p, target, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    H.run_main(main)
