"""``make_app(settings, database)`` -> the Tornado application."""
import tornado.web

from rucio_tornado.core.auth import TokenService
from rucio_tornado.web.base import NotFoundHandler
from rucio_tornado.web.routes import ROUTES


def make_app(settings, database, tokens=None, request_checks=()):
    """The application. ``request_checks`` are callables run first on every request
    (e.g. production's TLS-only check); each may raise a RucioException."""
    return tornado.web.Application(
        ROUTES,
        default_handler_class=NotFoundHandler,
        config=settings,
        database=database,
        tokens=tokens or TokenService.from_settings(settings),
        request_checks=tuple(request_checks),
        compress_response=False,
        log_function=_quiet_log,
    )


def _quiet_log(handler):
    """Tornado's access log, minus the noise of successful requests at INFO level."""
    import logging
    status = handler.get_status()
    level = logging.WARNING if status >= 500 else logging.DEBUG
    logging.getLogger("tornado.access").log(
        level, "%d %s %.1fms", status, handler._request_summary(),
        1000.0 * handler.request.request_time())
