"""The one base handler: token check, JSON bodies, Rucio errors, core calls off the IOLoop.

Limits before work: every handler streams its request body (``@stream_request_body``), so
``prepare`` (request checks, token, declared size) runs when the headers arrive and the body is
read only afterwards, into ``self.request.body``, up to ``max_body_size``; see
docs/RELIABILITY.md.
"""
import functools
import logging
import re

import ujson
from tornado import escape, web
from tornado.ioloop import IOLoop

from rucio_tornado import exceptions
from rucio_tornado.core import bulk
from rucio_tornado.core.auth import resolve
from rucio_tornado.web import schemas
from rucio_tornado.web.streaming import write_stream

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
ACCEPTABLE = ("*/*", "application/*", JSON_TYPE, "application/x-json-stream",
              "application/metalink4+xml", "text/*", "text/plain")
_MESSAGE_HEADER_LIMIT = 125
#: What Tornado accepts in a header value; anything else becomes "?" (the body keeps it).
_UNSAFE_HEADER_CHARS = re.compile(r"[^\x09\x20-\x7e\x80-\xff]")
#: A request refused in ``prepare`` whose declared body is at most this big is still read
#: (and dropped) before the error is sent, so that the client reads the answer instead of a
#: connection reset; a bigger or chunked one is answered at once and the connection closed.
_READ_REFUSED_BODY_UP_TO = 64 * 1024
_VERBS = ("get", "head", "post", "put", "patch", "delete", "options")
#: A JSON body that may hold a NUL or a lone surrogate (then, only then, its strings are read).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\x00|\xed[\xa0-\xbf]")


def _refuse_bad_text(value, where):
    """InvalidValue if a string in ``value`` (JSON: walked) has a NUL or a lone surrogate,
    which no database stores (PostgreSQL refuses NUL; surrogates are no UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value or not value.isascii() and _has_surrogate(value):
            raise exceptions.InvalidValue(f"{where} contains a NUL or a lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_bad_text(key, where)
            _refuse_bad_text(item, where)
    elif isinstance(value, list):
        for item in value:
            _refuse_bad_text(item, where)
    return value


def _may_hold_bad_text(raw):
    """Whether a JSON body may hold a NUL or a lone surrogate: three C-level substring tests
    first (a 15 MB bulk body without any ``\\u`` escape: 17 ms instead of the regex's 80)."""
    return (b"\\u" in raw or b"\x00" in raw or b"\xed" in raw) and \
        _SUSPECT_ESCAPE.search(raw) is not None


def _has_surrogate(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _after_body(method):
    """Wrap a handler verb: the body is joined into ``request.body`` (or the error found in
    ``prepare`` raised) before the verb runs."""
    @functools.wraps(method)
    def verb(self, *args, **kwargs):
        self._body_complete()
        return method(self, *args, **kwargs)
    verb.after_body = True
    return verb


def one_hop(method):
    """Mark a verb whose first database work is its core call (``self.call`` / ``self.stream``)
    and which reads ``self.issuer`` only after that call: the token's account is checked in the
    same executor call (``resolve.as_account``), not in one of its own in ``prepare``. Such a
    verb must make that call before it answers (``flush`` refuses otherwise)."""
    method.one_hop = True
    return method


@web.stream_request_body
class BaseHandler(web.RequestHandler):
    """Every handler derives from this. Subclasses implement ``get``/``post``/... and:

    - call the core with ``await self.call(core_fn, *args)`` (issuer passed first, runs in the
      database executor), or ``await self.run(fn, *args)`` when no issuer is needed;
    - read bodies with :meth:`json_body` (declared with ``@accepts``, web/schemas.py),
      query arguments with :meth:`arg` / :meth:`flag`;
    - answer with :meth:`send_json`, :meth:`created`, :meth:`ok` or ``await self.stream(...)``.
    Raising a :class:`RucioException` anywhere gives the Rucio error response.
    """

    #: Set False on routes that need no token (ping, auth).
    auth_required = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in _VERBS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "after_body", False):
                setattr(cls, name, _after_body(method))

    def initialize(self):
        self._body_chunks, self._body_size, self._refusal = [], 0, None
        self.issuer = None
        self.credentials = None         # what authenticate_token says of the request's token
        self._unchecked_account = None  # a one_hop verb's token account, checked in its call
        self.streamed_rows = 0
        self.bytes_sent = 0
        activity = self.application.settings.get("activity")
        if activity is not None:        # until log_function: shutdown waits for us
            activity.started(self)

    def on_connection_close(self):
        """The client went away (or a body timed out) before we finished: nothing more can be
        sent, so shutdown need not wait for this request."""
        super().on_connection_close()
        activity = self.application.settings.get("activity")
        if activity is not None:
            activity.finished(self)

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
        """Runs when the headers are in, before any of the body is read."""
        try:
            if getattr(self, "_bad_path", False):
                raise exceptions.InvalidValue("A path part is not UTF-8 or contains a NUL")
            await self.admit()
        except exceptions.RucioException as exc:
            if not self._small_body_declared():
                raise                   # answered now; Tornado closes instead of reading
            self._refusal = exc         # read the small body first, then answer (_after_body)

    async def admit(self):
        """Everything checked before the body is read: request checks, ``Accept``, the token,
        then the declared body size."""
        for hook in self.application.settings.get("request_checks", ()):
            hook(self)
        self._check_accept()
        if self.request.method != "OPTIONS" and self.auth_required:
            token = self.request.headers.get("X-Rucio-Auth-Token", "").strip()
            if not token:
                bearer = self.request.headers.get("Authorization", "")
                token = bearer[7:].strip() if bearer.lower().startswith("bearer ") else ""
            if not token:
                raise exceptions.InvalidValue("Token must be set.")
            verb = getattr(self, self.request.method.lower(), None)
            self.issuer, self.credentials = await self.authenticate_token(
                token, defer=getattr(verb, "one_hop", False))
        self._check_declared_size()

    # -- the request body, read after prepare -------------------------------------------------
    @property
    def max_body_size(self):
        config = self.application.settings.get("config")
        return config.max_body_size if config is not None else 64 * 1024 * 1024

    def _declared_length(self):
        length = self.request.headers.get("Content-Length", "").strip()
        return int(length) if length.isdigit() else None

    def _small_body_declared(self):
        if "Transfer-Encoding" in self.request.headers:
            return False
        length = self._declared_length()
        return length is None or length <= _READ_REFUSED_BODY_UP_TO

    def _check_declared_size(self):
        length = self._declared_length()
        if length is not None and length > self.max_body_size:
            raise self._too_large()

    def _too_large(self):
        return exceptions.RequestTooLarge(
            f"The request body is larger than the server accepts ({self.max_body_size} bytes)")

    def data_received(self, chunk):
        if self._finished:
            return
        self._body_size += len(chunk)
        if self._refusal is not None:
            if self._body_size > _READ_REFUSED_BODY_UP_TO:
                self._send_exception(self._refusal)     # it lied about its size
            return                                      # refused: read, never kept
        if self._body_size > self.max_body_size:         # chunked, or longer than declared
            self._body_chunks = []
            self._send_exception(self._too_large())
            return
        self._body_chunks.append(chunk)

    def _body_complete(self):
        """Called before each verb: the refusal found in ``prepare``, or the body joined."""
        if self._refusal is not None:
            raise self._refusal
        if self._body_chunks:
            self.request.body = b"".join(self._body_chunks)
            self._body_chunks = []

    def _send_exception(self, exc):
        self.send_rucio_error(exc.status, exc.name, exc.message)

    async def authenticate_token(self, token, defer=False):
        """``(Issuer, description)`` of one of our tokens or of an external (OIDC) token;
        CannotAuthenticate if it is neither. The account is read on every request, so a
        suspended account, or a removed identity of an external token, stops at once.

        ``defer`` (a :func:`one_hop` verb): for our tokens the Issuer is ``None`` until the
        verb's core call, which checks the account in the same executor call."""
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
        if defer:
            issuer, self._unchecked_account = None, claims["sub"]
        else:
            issuer = await self.db.read(resolve.issuer_for_account, claims["sub"])
        return issuer, {"account": claims["sub"], "identity": claims.get("identity"),
                        "exp": claims["exp"], "audience": None, "authz_scope": None}

    @_after_body
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
        """Run a core function as the issuer: ``fn(issuer, *args, **kwargs)``; in a
        :func:`one_hop` verb the first call also checks the token's account (same executor
        call) and sets ``self.issuer``."""
        return self._as_issuer(self.db.run, resolve.as_account, fn, args, kwargs)

    def read(self, fn, *args, **kwargs):
        """:meth:`call` for a short read (a few primary-key lookups, nothing written): through
        :meth:`Database.read`, on the IOLoop where the database is near; in a :func:`one_hop`
        verb on PostgreSQL the account check rides along the read's first statement."""
        return self._as_issuer(self.db.read, resolve.read_as_account, fn, args, kwargs)

    def _as_issuer(self, run, as_account, fn, args, kwargs):
        if self._unchecked_account is not None:
            return self._call_as_account(run, as_account, fn, args, kwargs)
        return run(fn, self.issuer, *args, **kwargs)

    async def _call_as_account(self, run, as_account, fn, args, kwargs):
        account, self._unchecked_account = self._unchecked_account, None
        self.issuer, result = await run(as_account, account, fn, *args, **kwargs)
        return result

    async def stream(self, fn, *args, **kwargs):
        """Stream what the core call ``fn(issuer, *args)`` returns: a generator of batches
        (lists of rows) for big listings, or a plain list of rows for small ones."""
        source = await self.call(fn, *args, **kwargs)
        if isinstance(source, list):
            source = [source]
        return await write_stream(self, source)

    # -- input --------------------------------------------------------------------------------
    def json_body(self):
        """The body parsed as JSON whatever the Content-Type, checked against the schema the
        verb declares with ``@accepts`` (web/schemas.py; the same one OpenAPI shows).

        An empty body is the declared ``empty`` value, or a 400 ``ValueError`` without one.
        """
        body = schemas.body_of(type(self), self.request.method.lower())
        if body is None:
            raise RuntimeError(f"{type(self).__name__}.{self.request.method.lower()} reads a "
                               "body but declares no schema (@accepts)")
        raw = self.request.body
        if not raw or not raw.strip():
            if body.empty is not None:
                return type(body.empty)(body.empty)
            raise exceptions.InvalidValue("cannot decode json parameter dictionary")
        try:
            data = ujson.loads(raw)
        except (ValueError, TypeError):
            raise exceptions.InvalidValue("cannot decode json parameter dictionary") from None
        if _may_hold_bad_text(raw):
            _refuse_bad_text(data, "the request body")
        return body.check(data)

    def decode_argument(self, value, name=None):
        """Path parts and query arguments: UTF-8 without NUL (bodies: json_body). A bad path
        part is refused in ``prepare``, which reads a small body first (no reset)."""
        try:
            text = super().decode_argument(value, name)
        except web.HTTPError:
            if name is not None:
                raise
            text = "\x00"
        if "\x00" in text:
            if name is None:
                self._bad_path = True
                return text
            raise exceptions.InvalidValue(f"{name!r} contains a NUL character")
        return text

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

    def flush(self, include_footers=False):
        if self._unchecked_account is not None and self._status_code < 400:
            raise RuntimeError(f"{type(self).__name__}.{self.request.method.lower()} is one_hop "
                               "but answered before its core call checked the token's account")
        return super().flush(include_footers)

    def compute_etag(self):
        """No ETag: the API's documents change with every write, the real server sends none
        and no client revalidates; hashing each body cost a small request ≈ 4 % of its CPU."""
        return None

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
            for header, value in getattr(exc, "headers", {}).items():     # e.g. Retry-After
                self.set_header(header, value)
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
        self.set_error_headers(name, message)
        self.finish(ujson.dumps({"ExceptionClass": name, "ExceptionMessage": message}))

    def set_error_headers(self, name, message):
        """``ExceptionClass`` and ``ExceptionMessage`` (made safe for a header line)."""
        self.set_header("ExceptionClass", name)
        self.set_header("ExceptionMessage", _header_safe(message))

    def log_exception(self, typ, value, tb):
        """A caller's mistake (a Rucio or HTTP error below 500) is in the access log only; a
        501 (a route or feature this server does not serve) is an expected answer too: one
        INFO line, no traceback. Real 5xx keep Tornado's ERROR line with the traceback."""
        if isinstance(value, exceptions.RucioException):
            status = value.status
        else:
            status = value.status_code if isinstance(value, web.HTTPError) else 500
        if status == 501:
            log.info("%s %s: 501 %s", self.request.method, self.request.uri,
                     _header_safe(getattr(value, "message", value)))
        if status < 500 or status == 501:
            return
        super().log_exception(typ, value, tb)


class NotFoundHandler(BaseHandler):
    """Unknown URLs: a Rucio-style 404 for every method."""
    auth_required = False

    async def admit(self):
        for hook in self.application.settings.get("request_checks", ()):
            hook(self)
        self._unreachable()

    def _unreachable(self, *args, **kwargs):    # admit refuses, so _after_body raises first
        raise exceptions.NotFound(f"No route for {self.request.method} {self.request.path}")

    get = head = post = put = patch = delete = options = _unreachable


def _header_safe(message):
    """``message`` as one header line: no line breaks or control characters (Tornado refuses
    them, which would lose the body too), at most 125 characters, latin-1."""
    text = " ".join(str(message).replace("\r", " ").split("\n"))
    if len(text) > _MESSAGE_HEADER_LIMIT:
        text = text[:_MESSAGE_HEADER_LIMIT] + "..."
    text = text.encode("latin-1", "replace").decode("latin-1")
    return _UNSAFE_HEADER_CHARS.sub("?", text)
