"""The HTTP server with our limits and timeouts, and an accept loop that survives ``EMFILE``.

Tornado's accept handler (``tornado.netutil.add_accept_handler``) lets ``OSError(EMFILE)`` from
``accept()`` escape to the IOLoop, which logs it with a traceback and calls the handler again at
once, because the listening socket stays readable: at the open-files limit the process spins
(64 % CPU, 42,753 log lines in 15 s) and answers nothing. :class:`HTTPServer` replaces only
that handler (``add_sockets``): on a resource error it stops accepting for a back-off (0.05 s
doubling to 1 s, reset by the next successful accept), logs at most one line per
:data:`LOG_EVERY` seconds with the count of failures in between, and keeps serving the
connections it has, which free descriptors as they finish.

With ``proxy_protocol`` (a TLS passthrough in front), each connection first sends a PROXY
header naming the client: it is read (``proxy_header.py``) only from a peer in
``trusted_proxies`` (others are closed at once), within :data:`PROXY_HEADER_TIMEOUT`, and TLS
starts after it. Everything else is Tornado's.
"""
import asyncio
import errno
import logging
import ssl
import time

import tornado.httpserver
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError

from rucio_tornado.proxy_header import BadHeader, read_client_address
from rucio_tornado.web.security import ForwardedHeaders

log = logging.getLogger(__name__)

#: accept() errors that mean "no resources now" (not a broken socket): back off and retry.
RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
BACKOFF_FIRST, BACKOFF_MAX = 0.05, 1.0
LOG_EVERY = 10.0
ACCEPTS_PER_EVENT = 128             # as Tornado's loop: then let other callbacks run
PROXY_HEADER_TIMEOUT = 10.0         # seconds from accept to the end of the PROXY header


def server_options(settings):
    """``HTTPServer`` keyword arguments from the settings (docs/RELIABILITY.md).

    Tornado's own limits are the transport's backstop, above ours so that a request just
    over one of ours still gets its Rucio error (``web/security.RequestSize``, the base
    handler's body limit): a request line plus headers above ``max_url_size +
    max_header_size`` (+4 KiB) or a chunked body declaring over twice ``max_body_size`` is
    dropped by Tornado itself (connection closed, or a bare 400)."""
    return {
        "xheaders": False,                      # web/security.py decides whom to believe
        "max_header_size": settings.max_url_size + settings.max_header_size + 4096,
        "max_body_size": 2 * settings.max_body_size,
        "idle_connection_timeout": settings.idle_connection_timeout,
        "body_timeout": settings.body_timeout,
        "proxy_protocol": ForwardedHeaders(settings.trusted_proxies).is_trusted
        if settings.proxy_protocol else None,
    }


class HTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's HTTPServer with :func:`add_accept_handler` as its accept loop and, given
    ``proxy_protocol`` (address -> whether its PROXY header is believed), the client's address
    from that header."""

    def initialize(self, *args, proxy_protocol=None, ssl_options=None, **kwargs):
        self.believes_proxy_header, self.tls = proxy_protocol, None
        if proxy_protocol is not None:      # TLS starts after the header, not at accept
            self.tls, ssl_options = ssl_options, None
        super().initialize(*args, ssl_options=ssl_options, **kwargs)

    async def handle_stream(self, stream, address):
        if self.believes_proxy_header is not None:
            try:
                stream, address = await asyncio.wait_for(self._after_proxy_header(stream, address),
                                                         PROXY_HEADER_TIMEOUT)
            except (BadHeader, TimeoutError, StreamClosedError, ssl.SSLError, OSError) as exc:
                log.info("connection from %s closed: %s", address[0], exc or type(exc).__name__)
                if stream.socket is not None:   # else start_tls took it and closed it
                    stream.close()
                return
        super().handle_stream(stream, address)

    async def _after_proxy_header(self, stream, address):
        if not self.believes_proxy_header(address[0]):
            raise BadHeader("not one of trusted_proxies")
        address = await read_client_address(stream.socket, address)
        if self.tls is not None:
            stream = await stream.start_tls(server_side=True, ssl_options=self.tls)
        return stream, address

    def add_sockets(self, sockets):
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = add_accept_handler(sock, self._handle_connection)


class _RateLimitedLog:
    def __init__(self, every=LOG_EVERY):
        self.every, self.last, self.suppressed = every, float("-inf"), 0

    def __call__(self, message, *args):
        now = time.monotonic()
        if now - self.last < self.every:
            self.suppressed += 1
            return
        if self.suppressed:
            message += " (%d more since the last report)"
            args += (self.suppressed,)
        log.error(message, *args)
        self.last, self.suppressed = now, 0


def add_accept_handler(sock, callback):
    """``tornado.netutil.add_accept_handler`` plus a back-off on resource errors; returns the
    function that stops accepting."""
    io_loop = IOLoop.current()
    state = {"removed": False, "listening": True, "backoff": BACKOFF_FIRST, "timer": None}
    report = _RateLimitedLog()

    def resume():
        state["timer"] = None
        if not state["removed"]:
            io_loop.add_handler(sock, accept_handler, IOLoop.READ)
            state["listening"] = True

    def pause(exc):
        report("accept() failed on %s: %s; not accepting for %.2fs",
               _name(sock), exc, state["backoff"])
        io_loop.remove_handler(sock)
        state["listening"] = False
        state["timer"] = io_loop.call_later(state["backoff"], resume)
        state["backoff"] = min(state["backoff"] * 2, BACKOFF_MAX)

    def accept_handler(fd, events):
        for _ in range(ACCEPTS_PER_EVENT):
            if state["removed"]:
                return
            try:
                connection, address = sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in RESOURCE_ERRORS:
                    raise
                pause(exc)
                return
            state["backoff"] = BACKOFF_FIRST
            callback(connection, address)

    def remove_handler():
        if state["timer"] is not None:
            io_loop.remove_timeout(state["timer"])
        if state["listening"]:
            io_loop.remove_handler(sock)
        state["removed"] = True

    io_loop.add_handler(sock, accept_handler, IOLoop.READ)
    return remove_handler


def _name(sock):
    try:
        host, port = sock.getsockname()[:2]
        return f"{host}:{port}"
    except (OSError, TypeError, ValueError):
        return "the listening socket"
