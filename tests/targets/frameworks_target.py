#!/usr/bin/env python3
"""leaktop test target: production leaks on Debian's real frameworks.

usage: frameworks_target.py TRUTH HEARTBEAT

- SESSION: a SQLAlchemy ORM Session holding 3,000 Orders added and never
  flushed (session._new, behind an identity map of weak references);
- shutdown_event: an asyncio.Event 2,000 pending tasks wait on, in a loop
  that is not running (the tasks' registry is a WeakSet);
- the Django DatabaseWrapper of thread "job-poller": DEBUG=True, 3,000
  queries in its queries_log (a deque), reached through the thread-local
  storage asgiref keeps on the Thread object (POLLER);
- APP_LOG: a logging.Logger with 1,000 handlers added per request (logging's
  _handlerList holds only weak references to them);
- flask.signals.template_rendered: 600 Flask requests (through the app's
  test client) each connected an audit receiver with weak=False, never
  disconnected (the views render no template: the signal is never sent, so
  no send's frame ever shares its receivers while a snapshot is taken);
- WEB: an aiohttp Application whose handler appends a subscriber
  asyncio.Queue to WEB["subscribers"] per request, never removed (400 real
  HTTP requests over loopback, with aiohttp's own client);
- Feed.item: a functools.lru_cache(maxsize=None) on a method, holding 1,500
  parsed lxml elements (Cython objects, each keeping its document);
- CLIENTS: 40 requests.Session objects made per call and never closed,
  each keeping its keep-alive socket in urllib3's pool (a LifoQueue).

The truth: the interpreter's traversal of every tracked object
(_common.traversal); for each holder, what it alone holds (reachable from it and
from no root, the modules and every thread's frames, without passing
through it), count and sys.getsizeof sum, and how many of the leaked
objects exist; the sessions' socket descriptors.

Then each SIGUSR1 makes the next holder of truth["phases"] grow every 0.1 s
(and the one before stop); the heartbeat counts the loop's turns.
Needs Debian's python3-sqlalchemy, -django, -flask, -aiohttp, -lxml and
-requests; without them the truth says what is missing.
"""
import asyncio
import functools
import gc
import http.server
import logging
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (open_heartbeat, publish, reach, sleep_until_orphaned,  # noqa: E402
                     traversal)

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]

try:
    import aiohttp
    from aiohttp import web
    import blinker  # noqa: F401 (without it Flask's signals connect nothing)
    import django
    from django.conf import settings
    import flask
    from flask import signals as flask_signals
    from lxml import etree
    import requests
    import sqlalchemy as sa
    from sqlalchemy.orm import Session
    try:
        from sqlalchemy.orm import declarative_base
    except ImportError:
        from sqlalchemy.ext.declarative import declarative_base
except ImportError as e:
    publish(TRUTH, {"missing": str(e)})
    sleep_until_orphaned(open_heartbeat(HEARTBEAT))

settings.configure(DEBUG=True, INSTALLED_APPS=[],
                   DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                                          "NAME": ":memory:"}})
django.setup()
from django.db import connection, connections  # noqa: E402

PHASE = [None]          # the holder that grows, set by SIGUSR1

# --- SQLAlchemy: an open session ------------------------------------------
Base = declarative_base()


class Order(Base):
    __tablename__ = "orders"
    id = sa.Column(sa.Integer, primary_key=True)
    note = sa.Column(sa.String)


ENGINE = sa.create_engine("sqlite://")
Base.metadata.create_all(ENGINE)
SESSION = Session(ENGINE)
NEXT_ORDER = [0]


def add_orders(n):
    for i in range(NEXT_ORDER[0], NEXT_ORDER[0] + n):
        SESSION.add(Order(id=i, note="order %d" % i))
    NEXT_ORDER[0] += n


add_orders(3000)

# --- logging: a handler per request ---------------------------------------
APP_LOG = logging.getLogger("app")


def add_handlers(n):
    for i in range(n):
        APP_LOG.addHandler(logging.StreamHandler(sys.stderr))


add_handlers(1000)

# --- Flask: a signal receiver connected per request -----------------------
APP = flask.Flask("shop")


@APP.route("/order/<int:n>")
def order(n):
    def audit(sender, template, context, n=n, **extra):
        return n
    flask_signals.template_rendered.connect(audit, APP, weak=False)
    return "order %d" % n


FLASK_CLIENT = APP.test_client()


def flask_requests(n):
    for i in range(n):
        FLASK_CLIENT.get("/order/%d" % i).close()


flask_requests(600)

# --- lxml behind an lru_cache on a method ---------------------------------


class Feed(object):
    @functools.lru_cache(maxsize=None)
    def item(self, n):
        return etree.fromstring("<item id='%d'><title>item %d</title><price>%d.99</price>"
                                "</item>" % (n, n, n))


FEED = Feed()
NEXT_ITEM = [0]


def feed_items(n):
    for i in range(NEXT_ITEM[0], NEXT_ITEM[0] + n):
        FEED.item(i)
    NEXT_ITEM[0] += n


feed_items(1500)

# --- asyncio: tasks waiting on an Event; aiohttp: a queue per request -----
shutdown_event = None


async def notify_on_shutdown(i):
    await shutdown_event.wait()


async def subscribe(request):
    request.app["subscribers"].append(asyncio.Queue())
    return web.Response(text="subscribed")


WEB = web.Application()
WEB["subscribers"] = []
WEB.router.add_get("/subscribe", subscribe)
WEB_URL = [None]
RUNNER = []


async def start():
    global shutdown_event
    shutdown_event = asyncio.Event()
    for i in range(2000):
        asyncio.ensure_future(notify_on_shutdown(i))
    runner = web.AppRunner(WEB)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    WEB_URL[0] = "http://127.0.0.1:%d/subscribe" % site._server.sockets[0].getsockname()[1]
    RUNNER.append(runner)
    await asyncio.sleep(0)


async def web_requests(n):
    async with aiohttp.ClientSession() as client:
        for i in range(n):
            async with client.get(WEB_URL[0]) as r:
                await r.read()


async def more_tasks(n):
    for i in range(n):
        asyncio.ensure_future(notify_on_shutdown(i))
    await asyncio.sleep(0)


LOOP = asyncio.new_event_loop()
LOOP.run_until_complete(start())
LOOP.run_until_complete(web_requests(400))

# --- requests: a session per call, never closed ---------------------------


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive: the client keeps its socket

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


HTTPD = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
HTTPD.daemon_threads = True
threading.Thread(target=HTTPD.serve_forever, name="httpd", daemon=True).start()
HELLO = "http://127.0.0.1:%d/" % HTTPD.server_address[1]
CLIENTS = []


def new_clients(n):
    for i in range(n):
        s = requests.Session()
        s.get(HELLO).close()
        CLIENTS.append(s)


new_clients(40)

# --- Django: a thread's DEBUG query log -----------------------------------
wrapper_box = []
ready = threading.Event()


def queries(n):
    for i in range(n):
        with connection.cursor() as c:
            c.execute("insert into t values (%s)", [i])


def poller():
    with connection.cursor() as c:
        c.execute("create table t (x int)")
    del c
    queries(3000)
    wrapper_box.append(connections["default"])
    ready.set()
    while True:
        if PHASE[0] == "POLLER.wrapper":
            queries(20)
        time.sleep(0.1)


POLLER = threading.Thread(target=poller, name="job-poller", daemon=True)
POLLER.start()
ready.wait()


def retained(holders):
    roots = list(sys.modules.values()) + list(sys._current_frames().values())
    out = {}
    for name, holder in holders:
        others = reach(roots, avoid=holder)
        kept = [o for i, o in reach([holder]).items() if i not in others]
        out[name] = {"objects": len(kept), "bytes": sum(sys.getsizeof(o) for o in kept),
                     "type": "%s.%s" % (type(holder).__module__, type(holder).__qualname__)}
        del others, kept
    return out


def count(cls):
    return sum(1 for o in gc.get_objects() if type(o) is cls)


def session_fds():
    out = []
    for s in CLIENTS:
        for pool in s.adapters["http://"].poolmanager.pools._container.values():
            for conn in list(pool.pool.queue):
                if conn is not None and conn.sock is not None:
                    out.append(conn.sock.fileno())
    return out


GROW = {"SESSION": lambda: add_orders(20),
        "shutdown_event": lambda: LOOP.run_until_complete(more_tasks(20)),
        "POLLER.wrapper": lambda: None,          # the poller thread grows it
        "APP_LOG": lambda: add_handlers(10),
        "flask.template_rendered": lambda: flask_requests(10),
        "WEB": lambda: LOOP.run_until_complete(web_requests(10)),
        "Feed.item": lambda: feed_items(20),
        "CLIENTS": lambda: new_clients(1)}
truth = traversal()
truth.update({
    "pid": os.getpid(),
    "holders": retained([("SESSION", SESSION), ("shutdown_event", shutdown_event),
                         ("POLLER.wrapper", wrapper_box.pop()), ("APP_LOG", APP_LOG),
                         ("flask.template_rendered", flask_signals.template_rendered),
                         ("WEB", WEB["subscribers"]), ("Feed.item", Feed.item),
                         ("CLIENTS", CLIENTS)]),
    "leaked": {"__main__.Order": count(Order), "_asyncio.Task":
               sum(1 for t in asyncio.all_tasks(LOOP)
                   if t.get_coro().__name__ == "notify_on_shutdown"),
               "logging.StreamHandler": len(APP_LOG.handlers),
               "lxml.etree._Element": NEXT_ITEM[0],
               "asyncio.queues.Queue": len(WEB["subscribers"]),
               "requests.sessions.Session": len(CLIENTS)},
    "session_fds": session_fds(),
    "thread": POLLER.native_id if hasattr(POLLER, "native_id") else None,
    "phases": list(GROW),
})
publish(TRUTH, truth)
del truth


def next_phase(signum, frame):
    phases = list(GROW)
    PHASE[0] = phases[(phases.index(PHASE[0]) + 1) % len(phases)] if PHASE[0] else phases[0]


signal.signal(signal.SIGUSR1, next_phase)


def main(hb):
    ppid, tick = os.getppid(), 0
    while os.getppid() == ppid:
        if PHASE[0]:
            GROW[PHASE[0]]()
        tick += 1
        os.pwrite(hb, b"%20d\n" % tick, 0)
        time.sleep(0.1)
    os._exit(0)


main(open_heartbeat(HEARTBEAT))
