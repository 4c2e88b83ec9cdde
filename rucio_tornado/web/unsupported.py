"""The honest answer for the real API's routes this server does not serve (issue 14, item 11).

:data:`NOT_SERVED` lists them in the real server's Flask notation. :func:`place` turns each into
a route to :class:`UnsupportedHandler` (``UnsupportedOperation``, 501, "... is not supported by
this server") and puts it where it cannot hide a real handler: at the end of the table, or
just before the generic route that would otherwise catch its path (``/dids/{scope}/{name}``
catching ``/dids/{guid}/guid``). A path some route already serves gets no 501 entry, so a
handler added to the table later wins without anyone editing this list.
"""
import re

from rucio_tornado import exceptions
from rucio_tornado.web.base import BaseHandler

#: (methods, real route) pairs of the real API that no handler here serves (yet).
NOT_SERVED = [
]

_PART = "([^/]+)"
_PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")


def pattern_of(rule: str) -> str:
    """The route-table regex of a Flask rule: ``<x>`` is one part, ``<path:scope_name>`` the
    two parts scope/name (a ``/`` in a name travels as ``%2F``); trailing slash optional."""
    parts = []
    for part in rule.rstrip("/").split("/"):
        match = _PLACEHOLDER.fullmatch(part)
        if match is None:
            parts.append(re.escape(part))
        else:
            parts.append(f"{_PART}/{_PART}" if match.group(1) == "path" else _PART)
    return "/".join(parts) + "/?"


def sample_path(rule: str) -> tuple[str, list[str]]:
    """A concrete path for a Flask rule, and the values standing in for its placeholders."""
    parts, values = [], []
    for part in rule.split("/"):
        match = _PLACEHOLDER.fullmatch(part)
        if match is None:
            parts.append(part)
            continue
        for _ in range(2 if match.group(1) == "path" else 1):
            values.append(f"v{len(values)}")
            parts.append(values[-1])
    return "/".join(parts), values


def _regex(pattern):
    return re.compile(pattern if pattern.endswith("$") else pattern + "$")


def first_match(routes, rule: str):
    """``(index, route, serves)`` of the first route matching the rule's sample path, where
    ``serves`` says it captures exactly the placeholders (not a literal part of the rule);
    ``(None, None, False)`` when no route matches."""
    path, values = sample_path(rule)
    for index, route in enumerate(routes):
        match = _regex(route[0]).match(path)
        if match is not None:
            return index, route, [g for g in match.groups() if g is not None] == values
    return None, None, False


def handles(handler_class, method: str) -> bool:
    """Whether the handler class implements ``method`` itself (not the 405 default)."""
    if issubclass(handler_class, UnsupportedHandler):
        return False
    return getattr(handler_class, method.lower()) is not getattr(BaseHandler, method.lower())


class UnsupportedHandler(BaseHandler):
    """A real-API route not served here: 501 for its real methods, 405 for the others."""
    auth_required = False

    def initialize(self, methods=(), rule=""):
        super().initialize()
        self.methods, self.rule = methods, rule

    async def admit(self):
        """Refused before the body is read (a small body is still read, then the 501/405 is
        sent: BaseHandler.prepare), so the client reads the answer, not a reset."""
        for hook in self.application.settings.get("request_checks", ()):
            hook(self)
        if self.request.method == "OPTIONS":
            return
        if self.request.method not in self.methods:
            raise exceptions.MethodNotAllowed(
                f"{self.request.method} is not allowed on {self.request.path}")
        raise exceptions.NotServed(
            f"{self.request.method} {self.rule} is not supported by this server")

    def _refused(self, *args, **kwargs):     # admit refused: _after_body raises that first
        raise exceptions.NotServed(f"{self.request.method} {self.rule} is not supported")

    get = head = post = put = patch = delete = _refused

    def options(self, *args):
        self.set_header("Allow", ", ".join(self.methods))
        self.finish()


def place(routes: list, not_served=None) -> list:
    """``routes`` with a 501 route for each rule of ``not_served`` (default NOT_SERVED) that no
    route serves: before the generic route that would catch its path, else at the end."""
    table = list(routes)
    grouped = {}
    for methods, rule in NOT_SERVED if not_served is None else not_served:
        grouped.setdefault(rule, []).extend(methods.split())
    tail = []
    for rule, methods in grouped.items():
        index, _, serves = first_match(table, rule)
        if serves:
            continue            # a real handler took this path: it wins
        entry = (pattern_of(rule), UnsupportedHandler, {"methods": tuple(methods), "rule": rule})
        if index is None:
            tail.append(entry)
        else:
            table.insert(index, entry)
    return table + tail
