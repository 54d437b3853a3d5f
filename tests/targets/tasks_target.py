#!/usr/bin/env python3
"""leaktop test target: asyncio tasks that never finish, on two loops.

usage: tasks_target.py TRUTH HEARTBEAT

Loop "loop-a" (a thread of its own) runs tasks that wait on an Event
(SHUTDOWN, never set), on a Queue's get (JOBS, never fed), on a sleep of an
hour, on another task, on a gather of two, in a TaskGroup (3.11+), on a
socket that never receives (the reader of a connected pair); and keeps a
task that failed (its exception never retrieved) and one cancelled, and a
pure-Python Task (asyncio.tasks._PyTask) waiting on the Event too.  Loop
"loop-b" (another thread) has tasks waiting on its own Event (IDLE).  Loop
"loop-c" is blocked: its one task, "blocker", calls time.sleep inside the
coroutine (the loop's thread runs that task now).

Once every task is suspended, the truth: each Task in gc.get_objects() (id,
name, state, exception type, the coroutine stack through cr_await /
gi_yieldfrom with qualname, file and line, the id and type of the future it
waits on (_fut_waiter), its loop and that loop's thread's native id), and
the number of Futures that are not Tasks.  Then the main thread's quiet
sleep loop of _common; the loops sleep in select.
"""
import asyncio
import gc
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1:3]

SHUTDOWN = None     # asyncio.Event of loop-a, never set
JOBS = None         # asyncio.Queue of loop-a, never fed
IDLE = None         # asyncio.Event of loop-b, never set
KEEP = []           # the done tasks, held so they stay
CONNECTIONS = []    # the socket's stream reader and writer
PAIR = socket.socketpair()


async def wait_for_shutdown():
    await SHUTDOWN.wait()


async def notify_on_shutdown(i):
    await wait_for_shutdown()


async def consume():
    while True:
        await JOBS.get()


async def nap():
    await asyncio.sleep(3600)


async def wait_for(task):
    await task


async def fan_out():
    await asyncio.gather(wait_for_shutdown(), wait_for_shutdown())


async def group():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(wait_for_shutdown(), name="grouped")


async def read_forever():
    reader, writer = await asyncio.open_connection(sock=PAIR[0])
    CONNECTIONS.append((reader, writer))  # the protocol holds its reader weakly
    await reader.read(100)


async def boom():
    raise KeyError("never retrieved")


async def idle():
    await IDLE.wait()


def qualname(co):
    code = getattr(co, "cr_code", None) or getattr(co, "gi_code", None) or \
        getattr(co, "ag_code", None)
    return getattr(code, "co_qualname", None) or co.__qualname__, code.co_filename


def stack(coro):
    """The coroutine chain as cr_await / gi_yieldfrom follow it."""
    out = []
    obj = coro
    while obj is not None and len(out) < 64:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or \
            getattr(obj, "ag_frame", None)
        if frame is None:
            break
        name, filename = qualname(obj)
        out.append({"qualname": name, "file": filename, "line": frame.f_lineno})
        nxt = getattr(obj, "cr_await", None)
        if nxt is None and hasattr(obj, "gi_yieldfrom"):
            nxt = obj.gi_yieldfrom
        if nxt is None and hasattr(obj, "ag_await"):
            nxt = obj.ag_await
        obj = nxt
    return out


def type_name(o):
    t = type(o)
    return "%s.%s" % (t.__module__, t.__qualname__)


def state(t):
    if not t.done():
        return "pending"
    return "cancelled" if t.cancelled() else "done"


LOOPS = {}
READY = {"loop-a": threading.Event(), "loop-b": threading.Event(), "loop-c": threading.Event()}
BLOCKER = []


def run_a():
    global SHUTDOWN, JOBS
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    LOOPS["loop-a"] = (loop, threading.get_native_id())

    async def main():
        global SHUTDOWN, JOBS
        SHUTDOWN = asyncio.Event()
        JOBS = asyncio.Queue()
        for i in range(7):
            loop.create_task(notify_on_shutdown(i), name="notify-%d" % i)
        for _ in range(3):
            loop.create_task(consume())
        for _ in range(2):
            loop.create_task(nap())
        blocker = loop.create_task(wait_for_shutdown())
        loop.create_task(wait_for(blocker))
        loop.create_task(fan_out())
        if hasattr(asyncio, "TaskGroup"):
            loop.create_task(group())
        loop.create_task(read_forever())
        asyncio.tasks._PyTask(wait_for_shutdown(), loop=loop, name="py-task")
        failed = loop.create_task(boom())
        cancelled = loop.create_task(nap())
        KEEP.extend((failed, cancelled))
        for _ in range(5):
            await asyncio.sleep(0)
        cancelled.cancel()
        for _ in range(5):
            await asyncio.sleep(0)
        READY["loop-a"].set()

    loop.create_task(main())
    loop.run_forever()


def run_b():
    global IDLE
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    LOOPS["loop-b"] = (loop, threading.get_native_id())

    async def main():
        global IDLE
        IDLE = asyncio.Event()
        for _ in range(2):
            loop.create_task(idle())
        for _ in range(5):
            await asyncio.sleep(0)
        READY["loop-b"].set()

    loop.create_task(main())
    loop.run_forever()


def run_c():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    LOOPS["loop-c"] = (loop, threading.get_native_id())

    async def block():
        READY["loop-c"].set()
        time.sleep(3600)   # the loop's thread blocked inside the task

    BLOCKER.append(loop.create_task(block(), name="blocker"))
    loop.run_forever()


def main():
    hb = open_heartbeat(HEARTBEAT)
    for name, fn in (("loop-a", run_a), ("loop-b", run_b), ("loop-c", run_c)):
        threading.Thread(target=fn, name=name, daemon=True).start()
    for ev in READY.values():
        ev.wait(60)
    # Every task is suspended now (the loops sleep in select), and the
    # main tasks have finished: what remains is what is asserted.
    gc.collect()
    loop_names = {id(lp): (name, tid) for name, (lp, tid) in LOOPS.items()}
    task_types = (asyncio.Task, asyncio.tasks._PyTask)
    future_types = (asyncio.Future, asyncio.futures._PyFuture)
    tasks, futures = [], 0
    for o in gc.get_objects():
        if isinstance(o, task_types):
            tasks.append(o)
        elif isinstance(o, future_types):
            futures += 1
    out = []
    for t in tasks:
        exc = None
        if state(t) == "done" and t._exception is not None:
            exc = type_name(t._exception)
        waiter = getattr(t, "_fut_waiter", None)
        loop = t._loop
        out.append({
            "id": "%x" % id(t), "type": type_name(t),
            "name": t.get_name(),
            "state": state(t), "exception": exc,
            "stack": stack(t._coro) if not t.done() else [],
            "coro": qualname(t._coro)[0],
            "waits": None if waiter is None else {"id": "%x" % id(waiter),
                                                  "type": type_name(waiter)},
            "loop": "%x" % id(loop), "loop_name": loop_names.get(id(loop), ("?", 0))[0],
            "thread": loop_names.get(id(loop), ("?", 0))[1], "loop_thread": loop._thread_id,
        })
    del tasks, t, loop, waiter
    loops = [{"name": name, "id": "%x" % id(lp), "tid": tid,
              "current": "%x" % id(BLOCKER[0]) if name == "loop-c" else None}
             for name, (lp, tid) in LOOPS.items()]
    publish(TRUTH, {"tasks": out, "futures": futures, "socket_fd": PAIR[0].fileno(),
                    "loops": loops,
                    "version": list(sys.version_info[:3])})
    sleep_until_orphaned(hb)


main()
