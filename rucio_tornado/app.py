"""``make_app(settings, database)`` -> the Tornado application."""
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import tornado.web
from tornado.routing import AnyMatches, Rule

from rucio_tornado import metrics
from rucio_tornado.core import common, install
from rucio_tornado.core.auth.oidc import ExternalTokens
from rucio_tornado.core.auth.throttle import LoginThrottle
from rucio_tornado.core.auth.tokens import TokenService
from rucio_tornado.web import security
from rucio_tornado.web.base import NotFoundHandler
from rucio_tornado.web.dispatch import FirstPartRouter
from rucio_tornado.web.routes import ROUTES


class Activity:
    """Requests in progress in this process, so that shutdown can wait for them to finish."""

    def __init__(self):
        self.active = set()
        self.draining = False

    def started(self, handler):
        self.active.add(handler)
        if self.draining:           # a kept-alive connection: tell the client (or proxy) to go
            handler.set_header("Connection", "close")

    def finished(self, handler):
        self.active.discard(handler)

    async def drained(self, timeout):
        """Wait until no request is in progress or ``timeout`` seconds passed; True if idle."""
        self.draining = True
        deadline = time.monotonic() + timeout
        while self.active and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return not self.active


def make_app(settings, database, tokens=None, request_checks=()):
    """The application. ``request_checks`` are callables run first on every request, after
    the ones ``settings`` call for (forwarded headers from trusted proxies, production's
    TLS-only rule); each may raise a RucioException."""
    install()
    common.MAX_BULK_ITEMS = settings.max_bulk_items
    router = FirstPartRouter(ROUTES)
    app = tornado.web.Application(
        [Rule(AnyMatches(), router)],
        default_handler_class=NotFoundHandler,
        config=settings,
        database=database,
        tokens=tokens or TokenService.from_settings(settings),
        external_tokens=ExternalTokens.from_settings(settings),
        request_checks=tuple(security.request_checks(settings)) + tuple(request_checks),
        routes=tuple(ROUTES),
        route_patterns=metrics.route_patterns(ROUTES),
        activity=Activity(),
        login_throttle=LoginThrottle.from_settings(settings),
        password_hasher=ThreadPoolExecutor(settings.password_hash_threads,  # not the DB's
                                           thread_name_prefix="scrypt"),
        compress_response=False,
        log_function=metrics.observe,
    )
    router.application = app
    return app
