"""The catalog browser's static files at ``/ui/``: a read-only page over the REST API.

The page (``web/ui/``: HTML, one vanilla JS file, CSS) holds no data of its own: it logs in with
``GET /auth/userpass`` (or a pasted token), keeps the token in ``sessionStorage`` and calls the
same API routes as the client, reading big x-json-stream listings incrementally.
"""
from pathlib import Path

from tornado import web

from rucio_tornado import exceptions

UI_DIR = Path(__file__).resolve().parent / "ui"
#: Everything from this origin only; no inline scripts, no frames.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class BrowserFilesHandler(web.StaticFileHandler):
    """The files of ``web/ui/``, behind the same request checks as the API (TLS in production)."""

    def prepare(self):
        try:
            for check in self.application.settings.get("request_checks", ()):
                check(self)
        except exceptions.RucioException as exc:
            self.set_status(exc.status)
            self.set_header("ExceptionClass", exc.name)
            self.finish(exc.message)

    def set_extra_headers(self, path):
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)


ROUTE_ARGS = {"path": str(UI_DIR), "default_filename": "index.html"}
