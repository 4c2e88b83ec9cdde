"""Periodic tasks (the ``core/events.py`` registry): one pass of each, in the database executor.

Production runs them with ``rucio-tornado daemon NAME`` (one daemon per task, in one place);
a single development server runs all of them in-process with :func:`start_periodic`.
"""
import asyncio
import logging
import os
import signal
import socket
import threading

from rucio_tornado.core import heartbeats, install

log = logging.getLogger("rucio_tornado.daemon")


def load_tasks():
    """The periodic tasks ``{name: fn}`` the core registers (:func:`rucio_tornado.core.install`)."""
    return install()


def run_once(database, names):
    """Run each task of ``names`` once, synchronously; {name: result}. A failing task is
    logged and does not stop the others. Each pass records a heartbeat (``GET /heartbeats``)
    with the pass's result as payload."""
    tasks = load_tasks()
    results = {}
    for name in names:
        try:
            results[name] = database.run_sync(tasks[name])
            log.info("task %s: %s", name, results[name])
        except Exception:
            log.exception("task %s failed", name)
            results[name] = None
        _heartbeat(database, name, results[name])
    return results


def _heartbeat(database, name, result):
    payload = "failed" if result is None else f"last pass: {result}"
    try:
        database.run_sync(heartbeats.beat, f"rucio-tornado daemon {name}",
                          socket.gethostname()[:heartbeats.HOSTNAME_LENGTH], os.getpid(),
                          payload=payload[:heartbeats.PAYLOAD_LENGTH])
    except Exception:
        log.exception("heartbeat of task %s failed", name)


def run_daemon(database, names, interval, once=False):
    """``rucio-tornado daemon``: passes every ``interval`` seconds until SIGTERM/SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while True:
        results = run_once(database, names)
        if once:
            return 0 if all(value is not None for value in results.values()) else 1
        if stop.wait(interval):
            log.info("daemon stopping")
            return 0


def start_periodic(database, interval):
    """Development: run every registered task every ``interval`` seconds in this process's
    database executor; returns the started ``PeriodicCallback`` (or None without tasks)."""
    from tornado.ioloop import PeriodicCallback
    tasks = load_tasks()
    if not tasks:
        return None
    running = False

    async def tick():
        nonlocal running
        if running:                    # a slow pass is never run twice at once
            return
        running = True
        try:
            for name, fn in list(tasks.items()):
                try:
                    await database.run(fn)
                except Exception:
                    log.exception("periodic task %s failed", name)
                await asyncio.sleep(0)
        finally:
            running = False

    callback = PeriodicCallback(tick, interval * 1000.0)
    callback.start()
    return callback
