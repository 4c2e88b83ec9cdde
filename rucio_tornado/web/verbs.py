"""Handler verbs that are one core call and a fixed answer, declared instead of written out
in every resource module (``delete = action(scopes.delete_scope)``).

A declared verb takes the path parts Tornado passes and hands them to the core function
after the issuer; its signature is that function's (so ``GET /openapi.json`` names the path
parameters after the core's arguments).
"""
import inspect

from rucio_tornado.web.schemas import accepts


def _signature(fn, from_body=0):
    """``(self, <fn's arguments after the issuer, without defaults>)``, less the last
    ``from_body`` (those the body gives)."""
    params = [p for p in list(inspect.signature(fn).parameters.values())[1:]
              if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return inspect.Signature([self, *params[:len(params) - from_body]])


def action(fn, created=False, body=None, keys=()):
    """A verb: ``fn(issuer, *path parts)``, then an empty 201 when ``created``, else an empty
    200. With ``body`` (its schema) the JSON body follows the path parts: whole, or the values
    of its ``keys`` (which the schema requires)."""
    if body is None:
        async def verb(self, *parts):
            await self.call(fn, *parts)
            (self.created if created else self.ok)()
    else:
        @accepts(body)
        async def verb(self, *parts):
            data = self.json_body()
            await self.call(fn, *parts, *([data[key] for key in keys] if keys else [data]))
            (self.created if created else self.ok)()
    verb.__signature__ = _signature(fn, 0 if body is None else len(keys) or 1)
    return verb


def reader(fn, short=False):
    """A verb: the JSON document ``fn(issuer, *path parts)`` returns; ``short``: ``fn`` is a
    short read (``BaseHandler.read``)."""
    async def verb(self, *parts):
        self.send_json(await (self.read if short else self.call)(fn, *parts))
    verb.__signature__ = _signature(fn)
    return verb
