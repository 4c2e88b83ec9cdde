"""Running the HTTP server: one process, or several sharing one port; TLS; graceful shutdown.

Shutdown (SIGTERM/SIGINT): stop accepting, let running requests and streams finish for up to
``shutdown_timeout`` seconds, close the connections and the database pools, exit 0. With
``processes > 1`` the parent binds the port, forks the workers (each opens its own database
pools after the fork), forwards SIGTERM/SIGINT to them and exits 0 once they all have.
"""
import asyncio
import logging
import os
import signal
import ssl
import sys

import tornado.netutil
from tornado.ioloop import PeriodicCallback

from rucio_tornado import metrics
from rucio_tornado.app import make_app
from rucio_tornado.core import bulk
from rucio_tornado.config import safe_url
from rucio_tornado.daemon import start_periodic
from rucio_tornado.db import open_database
from rucio_tornado.httpserver import HTTPServer, server_options

log = logging.getLogger("rucio_tornado")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
MAX_RESTARTS = 10

CLIENT_CFG = """[client]
rucio_host = {url}
auth_host = {url}
auth_type = userpass
username = {username}
password = {password}
account = {account}"""


#: The client release this server is tested with (the Rucio API version it speaks).
CLIENT_REQUIREMENT = "rucio-clients>=41,<42"


def banner(settings):
    """What ``serve`` prints on stdout: a valid ``rucio.cfg`` (``serve > rucio.cfg`` works),
    everything that is not client configuration being ``#`` comments. Production prints the
    https configuration clients need (the server's own TLS, or the proxy in front of it)."""
    url = settings.client_url
    shown_password = settings.root_password if not settings.is_production else "<your password>"
    comments = [
        f"rucio-tornado {settings.mode} server at {settings.public_url}"
        + (f" ({settings.processes} processes)" if settings.processes > 1 else ""),
        f"database: {safe_url(settings.db_url)}",
        f"client: pip install '{CLIENT_REQUIREMENT}', then save this output as rucio.cfg "
        "and export RUCIO_CONFIG=$PWD/rucio.cfg",
    ]
    if settings.is_production and not settings.external_url and not settings.terminates_tls:
        comments.append("set external_url to the https address of the TLS proxy "
                        "(rucio_host below is a guess)")
    lines = [f"# {line}" for line in comments]
    lines.append(CLIENT_CFG.format(url=url, username=settings.root_username,
                                   password=shown_password, account=settings.root_account))
    if url.startswith("https://"):
        lines += ["# the CA bundle that signed the server certificate:",
                  "ca_cert = /etc/ssl/certs/ca-certificates.crt"]
    return "\n".join(lines)


def ssl_context(settings):
    """The server's TLS context, or None when TLS is terminated by a proxy (or not at all)."""
    if not settings.terminates_tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile)
    if settings.ssl_client_ca or settings.ssl_client_ca_path:
        # Optional at the TLS level: userpass and tokens work on the same port; a presented
        # certificate must verify (RFC 3820 proxies included), /auth/x509 maps its DN.
        context.load_verify_locations(cafile=settings.ssl_client_ca or None,
                                      capath=settings.ssl_client_ca_path or None)
        context.verify_mode = ssl.CERT_OPTIONAL
        context.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    return context


def tune_process(settings):
    """Per-process interpreter settings of a server process. glibc's malloc arenas
    (:func:`~rucio_tornado.core.bulk.limit_malloc_arenas`). The GIL switch interval: with
    Python's 5 ms, a stream's prefetch thread, whose rows have arrived, waited for the thread
    building lines to give the GIL up; PostgreSQL listings ran at 0.73-0.76 of the limit
    server, at 200 us 0.94-0.98 (docs/PERFORMANCE.md, issue 15)."""
    if settings.gil_switch_interval_us > 0:
        sys.setswitchinterval(settings.gil_switch_interval_us / 1e6)
    if settings.malloc_arenas > 0:
        bulk.limit_malloc_arenas(settings.malloc_arenas)


async def serve(settings, sockets=None, announce=True):
    """Serve until SIGTERM/SIGINT, then shut down gracefully. ``sockets``: already bound."""
    tune_process(settings)
    database = open_database(settings)
    app = make_app(settings, database)
    server = HTTPServer(app, ssl_options=ssl_context(settings), **server_options(settings))
    if sockets:
        server.add_sockets(sockets)
    else:
        server.listen(settings.port, settings.host)
    if announce:
        print(banner(settings), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    background = [PeriodicCallback(lambda: metrics.update_pool_gauges(database), 1000)]
    background[0].start()
    if settings.runs_periodic_tasks:
        background.append(start_periodic(database, settings.periodic_interval))
    await stop.wait()

    log.info("shutting down: waiting up to %ss for running requests", settings.shutdown_timeout)
    server.stop()
    for callback in filter(None, background):
        callback.stop()
    if not await app.settings["activity"].drained(settings.shutdown_timeout):
        log.warning("shutdown timeout: closing %d running requests",
                    len(app.settings["activity"].active))
    await server.close_all_connections()
    database.close()
    log.info("stopped")


def run_server(settings):
    if settings.processes <= 1:
        asyncio.run(serve(settings))
        return 0
    sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
    print(banner(settings), flush=True)
    return supervise(settings, sockets)


def supervise(settings, sockets):
    """Fork ``settings.processes`` workers on ``sockets``; restart crashed ones; forward
    SIGTERM/SIGINT; return 0 when every worker exited cleanly."""
    children = {}
    stopping = False
    restarts = 0

    def spawn():
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            os._exit(_worker(settings, sockets))
        children[pid] = True
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def forward(sig, _frame):
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    for sig in STOP_SIGNALS:
        signal.signal(sig, forward)
    for _ in range(settings.processes):
        spawn()
    clean = True
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if children.pop(pid, None) is None:
            continue
        _mark_dead(pid)
        code = os.waitstatus_to_exitcode(status)
        if stopping and -code in STOP_SIGNALS:
            code = 0                    # stopped by the forwarded signal before it could serve
        if code != 0 and not stopping and restarts < MAX_RESTARTS:
            restarts += 1
            log.warning("worker %d exited with %d: restarting it", pid, code)
            spawn()
        elif code != 0:
            clean = False
            log.warning("worker %d exited with %d", pid, code)
    for sock in sockets:
        sock.close()
    return 0 if clean else 1


def _worker(settings, sockets):
    try:
        asyncio.run(serve(settings, sockets, announce=False))
        code = 0
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _mark_dead(pid):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)
