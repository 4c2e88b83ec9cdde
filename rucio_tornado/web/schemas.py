"""Request body schemas: declared once per handler verb (``@accepts(...)``), embedded as they
are in ``GET /openapi.json`` (JSON Schema 2020-12, the dialect of OpenAPI 3.1) and checked by
``BaseHandler.json_body`` with ``jsonschema`` (issue 12, item 9).

The vocabulary is small: :func:`obj` (an object: its keys, which are required, whether other
keys are allowed), :func:`array`, :func:`either` (an object or an array), :func:`bulk` (the
100,000-item arrays of the hot paths). Value types are given as Python types (``str``,
``int``, ``bool``, ``dict``, ``list``, a tuple of them) or ``ANY``; an optional key with a type
also takes ``null`` (the clients send ``None`` for what they leave out).

The checks only refuse what the handlers refused before (the same classes: a wrong type is
TypeError, a missing key KeyError, as the real server's ``json_parse``/``param_get``), plus an
unknown key: ``InvalidObject`` naming it, or the class the core already answers for that body.
Values are checked by the core, as before. A :func:`bulk` array's items are not walked by the
generic validator (too slow for 100,000 files): one pass checks that each is an object and one
set union that their keys are among the declared ones.
"""
import functools

from jsonschema import Draft202012Validator

from rucio_tornado import exceptions

ANY = {}
_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object",
          list: "array", type(None): "null"}
_ARTICLES = {"string": "a string", "integer": "an integer", "number": "a number",
             "boolean": "a boolean", "object": "an object", "array": "a list", "null": "null"}
_BODY_KINDS = {"object": "dictionary", "array": "list"}
#: The keyword marking a :func:`bulk` array (an OpenAPI ``x-`` extension, ignored by others).
BULK = "x-bulk"


def of(kind, nullable=False):
    """The schema of a value: a Python type, a tuple of them, ``ANY`` or a schema."""
    if isinstance(kind, dict):
        return kind
    names = [_TYPES[k] for k in (kind if isinstance(kind, tuple) else (kind,))]
    if nullable and "null" not in names:
        names.append("null")
    return {"type": names[0] if len(names) == 1 else names}


def obj(required=(), extra=False, unknown=None, **properties):
    """An object with ``properties`` (name: kind); ``required`` names the keys that must be
    there (typed ones then may not be null); ``extra``: other keys are allowed (metadata,
    options passed through as the real server does); ``unknown``: the exception class for
    another key where the core has answered one before (default InvalidObject)."""
    schema = {"type": "object", "properties": {
        name: of(kind, nullable=name not in required and kind is not ANY)
        for name, kind in properties.items()}}
    if required:
        schema["required"] = list(required)
    if not extra:
        schema["additionalProperties"] = False
    if unknown is not None:
        schema["x-unknown-key"] = unknown.__name__
    return schema


def array(items=ANY):
    return {"type": "array", "items": of(items)} if items is not ANY else {"type": "array"}


def either(an_object, an_array):
    """A body that is an object or an array (checked as the one its type says)."""
    return {"anyOf": [an_object, an_array]}


def bulk(*keys, **nested):
    """A bulk array of objects with ``keys`` (and ``nested`` bulk arrays by key); the keys'
    values are the core's to check."""
    properties = dict.fromkeys(keys, ANY)
    properties.update(nested)
    return {"type": "array", BULK: True, "items": {
        "type": "object", "properties": properties, "additionalProperties": False}}


# -- declaring and finding a verb's schema -----------------------------------------------------
def accepts(schema, empty=None):
    """Declare the body of a handler verb: ``schema``; ``empty``: what an empty body means
    (``{}`` or ``[]``), None when a body is required."""
    def declare(verb):
        verb.body = Body(schema, empty)
        return verb
    return declare


@functools.cache
def body_of(handler_class, verb):
    """The :class:`Body` declared for ``verb`` by the handler class or the nearest base that
    declares one (a verb delegating to its base's reads the base's body)."""
    for klass in handler_class.__mro__:
        method = vars(klass).get(verb)
        if method is not None and hasattr(method, "body"):
            return method.body
    return None


class Body:
    """A verb's body: its schema (for OpenAPI) and the check of a parsed body against it."""

    def __init__(self, schema, empty=None):
        self.schema, self.empty = schema, empty
        self._branches = {branch["type"]: _Check(branch)
                          for branch in schema.get("anyOf", [schema])}

    def kinds(self):
        return " or ".join(_BODY_KINDS[kind] for kind in self._branches)

    def check(self, data):
        check = self._branches.get("object" if isinstance(data, dict) else
                                   "array" if isinstance(data, list) else None)
        if check is None:
            raise exceptions.InvalidJSONType(f"body must be a json {self.kinds()}")
        check(data)
        return data


class _Check:
    """One object or array schema: the generic validator over all but its bulk arrays' items,
    and the fast check of those items."""

    def __init__(self, schema):
        self.bulk = {}      # property (None: the body itself) -> (allowed keys, nested)
        self.validator = Draft202012Validator(self._envelope(schema))
        self.order = {name: index for index, name in enumerate(schema.get("properties", {}))}

    def _rank(self, error):
        """The problem reported: the first in the order the keys are declared (the order the
        handler read them in before), a missing one as its place; unknown keys after those."""
        path, last = error.absolute_path, len(self.order)
        if not path and error.validator == "required":
            return self.order.get(next(k for k in error.validator_value
                                       if k not in error.instance), last), 0
        if not path:
            return (-1, 0) if error.validator == "type" else (last, 0)
        return self.order.get(path[0], last), len(path)

    def _envelope(self, schema):
        if schema.get(BULK):
            self.bulk[None] = _item_keys(schema)
            return {k: v for k, v in schema.items() if k != "items"}
        properties = dict(schema.get("properties", {}))
        for name, value in properties.items():
            if value.get(BULK):
                self.bulk[name] = _item_keys(value)
                properties[name] = {"type": "array"}
        return dict(schema, properties=properties) if "properties" in schema else schema

    def __call__(self, data):
        error = min(self.validator.iter_errors(data), key=self._rank, default=None)
        if error is not None:
            raise _refusal(error)
        for name, (allowed, nested) in self.bulk.items():
            items = data if name is None else data.get(name)
            if isinstance(items, list):
                _check_items(items, allowed, nested, "body" if name is None else name)


def _item_keys(schema):
    items = schema["items"]
    nested = {name: _item_keys(value) for name, value in items["properties"].items()
              if value.get(BULK)}
    return frozenset(items["properties"]), nested


def _check_items(items, allowed, nested, label):
    """Each item an object (else left to the core, which names it as before) whose keys are
    ``allowed``: one pass, one set union, the slow path only to name the first offender."""
    dicts = [item for item in items if type(item) is dict] \
        if not all(type(item) is dict for item in items) else items
    if set().union(*dicts) - allowed:
        for index, item in enumerate(items):
            if type(item) is dict and not allowed.issuperset(item):
                raise exceptions.InvalidObject(
                    f"Unknown key(s) in {label}[{index}]: {', '.join(sorted(set(item) - allowed))}")
    for key, (inner_allowed, inner_nested) in nested.items():
        for index, item in enumerate(dicts):
            inner = item.get(key)
            if isinstance(inner, list):
                _check_items(inner, inner_allowed, inner_nested, f"{label}[{index}].{key}")


def _where(path):
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "body"


def _refusal(error):
    where, instance = _where(error.absolute_path), error.instance
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in instance)
        name = missing if not error.absolute_path else f"{where}.{missing}"
        return exceptions.MissingKey(f"'{name}' not defined")
    if error.validator == "additionalProperties":
        unknown = sorted(set(instance) - set(error.schema.get("properties", {})))
        cls = getattr(exceptions, error.schema.get("x-unknown-key", "InvalidObject"))
        return cls(f"Unknown key(s) in {where}: {', '.join(map(str, unknown))}")
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) \
            else [error.validator_value]
        if not error.absolute_path:
            return exceptions.InvalidJSONType(
                f"body must be a json {' or '.join(_BODY_KINDS.get(k, k) for k in kinds)}")
        names = " or ".join(_ARTICLES[k] for k in kinds if k != "null")
        return exceptions.InvalidJSONType(f"{where} must be {names}")
    return exceptions.InvalidObject(f"{where}: {error.message[:200]}")
