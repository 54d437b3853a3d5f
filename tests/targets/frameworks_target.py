#!/usr/bin/env python3
"""leaktop test target: four production leaks on Debian's real frameworks.

usage: frameworks_target.py TRUTH HEARTBEAT

- SESSION: a SQLAlchemy ORM Session holding 3,000 Orders added and never
  flushed (session._new, behind an identity map of weak references);
- shutdown_event: an asyncio.Event 2,000 pending tasks wait on, in a loop
  that is not running (the tasks' registry is a WeakSet);
- the Django DatabaseWrapper of thread "job-poller": DEBUG=True, 3,000
  queries in its queries_log (a deque), reached through the thread-local
  storage asgiref keeps on the Thread object (POLLER);
- APP_LOG: a logging.Logger with 1,000 handlers added per request (logging's
  _handlerList holds only weak references to them).

The truth, for each holder: what it alone holds (reachable from it and
from no root, the modules and every thread's frames, without passing
through it), count and sys.getsizeof sum, and how many of the leaked
objects exist.  Needs Debian's python3-sqlalchemy and python3-django;
without them the truth says so.
"""
import asyncio
import gc
import logging
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, reach, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]

try:
    import django
    from django.conf import settings
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

Base = declarative_base()


class Order(Base):
    __tablename__ = "orders"
    id = sa.Column(sa.Integer, primary_key=True)
    note = sa.Column(sa.String)


ENGINE = sa.create_engine("sqlite://")
Base.metadata.create_all(ENGINE)
SESSION = Session(ENGINE)
for i in range(3000):
    SESSION.add(Order(id=i, note="order %d" % i))

APP_LOG = logging.getLogger("app")
for i in range(1000):
    APP_LOG.addHandler(logging.StreamHandler(sys.stderr))

shutdown_event = None


async def notify_on_shutdown(i):
    await shutdown_event.wait()


async def start():
    global shutdown_event
    shutdown_event = asyncio.Event()
    for i in range(2000):
        asyncio.ensure_future(notify_on_shutdown(i))
    await asyncio.sleep(0)


LOOP = asyncio.new_event_loop()
LOOP.run_until_complete(start())

wrapper_box = []
ready = threading.Event()
done = threading.Event()


def poller():
    with connection.cursor() as c:
        c.execute("create table t (x int)")
    for i in range(3000):
        with connection.cursor() as c:
            c.execute("insert into t values (%s)", [i])
    del c                       # the storage alone holds the connection
    wrapper_box.append(connections["default"])
    ready.set()
    done.wait()


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


truth = {
    "pid": os.getpid(),
    "holders": retained([("SESSION", SESSION), ("shutdown_event", shutdown_event),
                         ("POLLER.wrapper", wrapper_box.pop()), ("APP_LOG", APP_LOG)]),
    "leaked": {"__main__.Order": count(Order), "_asyncio.Task":
               sum(1 for t in asyncio.all_tasks(LOOP) if not t.done()),
               "logging.StreamHandler": len(APP_LOG.handlers)},
    "thread": POLLER.native_id if hasattr(POLLER, "native_id") else None,
}
publish(TRUTH, truth)
del truth
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
