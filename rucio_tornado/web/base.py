"""The one base handler: token check, JSON bodies, Rucio errors, core calls off the IOLoop."""
import logging

import ujson
from tornado import escape, web
from tornado.ioloop import IOLoop

from rucio_tornado import exceptions
from rucio_tornado.core import bulk
from rucio_tornado.core.auth import resolve
from rucio_tornado.web.streaming import write_stream

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
ACCEPTABLE = ("*/*", "application/*", JSON_TYPE, "application/x-json-stream",
              "application/metalink4+xml", "text/*", "text/plain")
_MESSAGE_HEADER_LIMIT = 125


class BaseHandler(web.RequestHandler):
    """Every handler derives from this. Subclasses implement ``get``/``post``/... and:

    - call the core with ``await self.call(core_fn, *args)`` (issuer passed first, runs in the
      database executor), or ``await self.run(fn, *args)`` when no issuer is needed;
    - read bodies with :meth:`json_body`, query arguments with :meth:`arg` / :meth:`flag`;
    - answer with :meth:`send_json`, :meth:`created`, :meth:`ok` or ``await self.stream(...)``.
    Raising a :class:`RucioException` anywhere gives the Rucio error response.
    """

    #: Set False on routes that need no token (ping, auth).
    auth_required = True

    def initialize(self):
        self.issuer = None
        self.credentials = None         # what authenticate_token says of the request's token
        self.streamed_rows = 0
        self.bytes_sent = 0
        activity = self.application.settings.get("activity")
        if activity is not None:        # until log_function: shutdown waits for us
            activity.started(self)

    def on_finish(self):
        # a bulk body (100,000 files): its memory goes back to the system once the request
        # is done (the request and its parsed body are dropped within the next loop turns)
        if len(self.request.body or b"") >= bulk.RELEASE_BODY_BYTES:
            self.request.body = b""
            IOLoop.current().call_later(0.05, self.db.run, bulk.release_memory)

    # -- shortcuts to the application's services ---------------------------------------------
    @property
    def db(self):
        return self.application.settings["database"]

    @property
    def tokens(self):
        return self.application.settings["tokens"]

    @property
    def config(self):
        return self.application.settings["config"]

    # -- request lifecycle --------------------------------------------------------------------
    async def prepare(self):
        for hook in self.application.settings.get("request_checks", ()):
            hook(self)
        self._check_accept()
        if self.request.method == "OPTIONS" or not self.auth_required:
            return
        token = self.request.headers.get("X-Rucio-Auth-Token", "").strip()
        if not token:
            bearer = self.request.headers.get("Authorization", "")
            token = bearer[7:].strip() if bearer.lower().startswith("bearer ") else ""
        if not token:
            raise exceptions.InvalidValue("Token must be set.")
        self.issuer, self.credentials = await self.authenticate_token(token)

    async def authenticate_token(self, token):
        """``(Issuer, description)`` of one of our tokens or of an external (OIDC) token;
        CannotAuthenticate if it is neither. The account is read on every request, so a
        suspended account, or a removed identity of an external token, stops at once."""
        try:
            claims = self.tokens.decode(token)
        except exceptions.CannotAuthenticate:
            external = self.application.settings.get("external_tokens")
            if external is None or not external.recognises(token):
                raise
            claims = await external.validate(token)
            identity = external.identity(claims)
            issuer = await self.run(resolve.issuer_for_identity, "OIDC", identity,
                                    self.request.headers.get("X-Rucio-Account") or None)
            aud = claims["aud"]
            return issuer, {"account": issuer.account, "identity": identity,
                            "exp": claims["exp"], "audience": aud if isinstance(aud, str)
                            else " ".join(aud), "authz_scope": claims.get("scope")}
        issuer = await self.run(resolve.issuer_for_account, claims["sub"])
        return issuer, {"account": issuer.account, "identity": claims.get("identity"),
                        "exp": claims["exp"], "audience": None, "authz_scope": None}

    def options(self, *args, **kwargs):
        self.set_header("Allow", ", ".join(m for m in self.SUPPORTED_METHODS
                                           if getattr(type(self), m.lower(), None) is not
                                           getattr(BaseHandler, m.lower(), None)))
        self.finish()

    def _check_accept(self):
        accept = self.request.headers.get("Accept")
        if not accept:
            return
        offered = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        if not any(kind in ACCEPTABLE for kind in offered):
            raise exceptions.UnsupportedRequestedContentType(
                f"The requested content type {accept} is not supported")

    # -- calling the core ---------------------------------------------------------------------
    def run(self, fn, *args, **kwargs):
        """Run ``fn`` in the database executor; returns an awaitable."""
        return self.db.run(fn, *args, **kwargs)

    def call(self, fn, *args, **kwargs):
        """Run a core function as the issuer: ``fn(issuer, *args, **kwargs)``."""
        return self.db.run(fn, self.issuer, *args, **kwargs)

    async def stream(self, fn, *args, **kwargs):
        """Stream what the core call ``fn(issuer, *args)`` returns: a generator of batches
        (lists of rows) for big listings, or a plain list of rows for small ones."""
        source = await self.call(fn, *args, **kwargs)
        if isinstance(source, list):
            source = [source]
        return await write_stream(self, source)

    # -- input --------------------------------------------------------------------------------
    def json_body(self, kind=dict, default=None):
        """The body parsed as JSON whatever the Content-Type, checked to be a ``kind``.

        An empty body gives ``default`` when one is given, else a 400 ``ValueError``.
        """
        raw = self.request.body
        if not raw or not raw.strip():
            if default is not None:
                return default
            raise exceptions.InvalidValue("cannot decode json parameter dictionary")
        try:
            data = ujson.loads(raw)
        except (ValueError, TypeError):
            raise exceptions.InvalidValue("cannot decode json parameter dictionary") from None
        if kind is not None and not isinstance(data, kind):
            names = {dict: "dictionary", list: "list"}
            label = names.get(kind, "list or dictionary") if not isinstance(kind, tuple) else \
                " or ".join(names.get(k, k.__name__) for k in kind)
            raise exceptions.InvalidJSONType(f"body must be a json {label}")
        return data

    def arg(self, name, default=None):
        return self.get_query_argument(name, default)

    def flag(self, name, default=False):
        """A boolean query argument: ``True/true/1/yes``; present without value counts as true."""
        value = self.get_query_argument(name, None)
        if value is None:
            return default
        return value.strip().lower() in ("", "true", "1", "yes", "y")

    def query_filters(self, exclude=()):
        """All query arguments (last value of each) except ``exclude``, as a dict."""
        return {key: self.get_query_argument(key) for key in self.request.query_arguments
                if key not in exclude}

    # -- output -------------------------------------------------------------------------------
    def write(self, chunk):
        if isinstance(chunk, dict):
            chunk = escape.json_encode(chunk)
            self.set_header("Content-Type", "application/json; charset=UTF-8")
        chunk = escape.utf8(chunk)
        self.bytes_sent += len(chunk)       # for the access log
        super().write(chunk)

    def send_json(self, data, status=200):
        self.set_status(status)
        self.set_header("Content-Type", JSON_TYPE)
        self.finish(ujson.dumps(data))

    def created(self, text="Created"):
        self.set_status(201)
        self.finish(text)

    def ok(self):
        self.set_status(200)
        self.finish()

    def abort_connection(self):
        """Cut the connection after a failure mid-stream, so the client sees a broken response."""
        self.request.connection.stream.close()

    # -- errors -------------------------------------------------------------------------------
    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, exceptions.RucioException):
            status, name, message = exc.status, exc.name, exc.message
        elif isinstance(exc, web.HTTPError):
            status = exc.status_code
            name = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "RucioException")
            message = exc.log_message or self._reason
        else:
            status, name, message = 500, "RucioException", "An internal error occurred"
        self.send_rucio_error(status, name, message)

    def send_rucio_error(self, status, name, message):
        self.set_status(status)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("ExceptionClass", name)
        self.set_header("ExceptionMessage", _header_safe(message))
        self.finish(ujson.dumps({"ExceptionClass": name, "ExceptionMessage": message}))

    def log_exception(self, typ, value, tb):
        if isinstance(value, exceptions.RucioException) and value.status < 500:
            return
        if isinstance(value, web.HTTPError) and value.status_code < 500:
            return
        super().log_exception(typ, value, tb)


class NotFoundHandler(BaseHandler):
    """Unknown URLs: a Rucio-style 404 for every method."""
    auth_required = False

    def prepare(self):
        for hook in self.application.settings.get("request_checks", ()):
            hook(self)
        raise exceptions.NotFound(f"No route for {self.request.method} {self.request.path}")


def _header_safe(message):
    text = " ".join(str(message).replace("\r", " ").split("\n"))
    if len(text) > _MESSAGE_HEADER_LIMIT:
        text = text[:_MESSAGE_HEADER_LIMIT] + "..."
    return text.encode("latin-1", "replace").decode("latin-1")
