"""``GET /openapi.json``: an OpenAPI 3 document generated from the one route table.

Nothing is written twice; everything is read from the code (issue 12, item 9):

- paths: each route pattern of ``web/routes.py`` becomes one or more templates (an optional
  part such as ``(?:/local)?`` gives one template with and one without it; the trailing ``/?``
  is dropped); path parameters are named after the handler verb's own parameters;
- methods: the verbs the handler class implements itself (``unsupported.handles``), and the
  real API's methods of a 501 route (``web/unsupported.py``);
- query parameters: the names the handler's methods read with ``self.arg``/``self.flag``/
  ``self.get_query_argument(s)`` (a handler that takes arbitrary filters through
  ``query_filters`` says so with ``x-arbitrary-query``);
- request bodies: the schema the verb declares with ``@accepts`` (web/schemas.py), the very
  one ``json_body`` checks bodies against (OpenAPI 3.1 embeds JSON Schema as it is);
- security: the ``X-Rucio-Auth-Token`` header unless the handler has ``auth_required = False``.
"""
import ast
import functools
import inspect
import re
import textwrap

from rucio_tornado import __version__
from rucio_tornado.web import schemas, unsupported
from rucio_tornado.web.base import BaseHandler

_VERBS = ("get", "head", "post", "put", "patch", "delete")
_PART = "([^/]+)"
_OPTIONAL_GROUP = re.compile(r"\(\?:([^()]*)\)\?")
_QUERY_READERS = {"arg", "flag", "get_query_argument", "get_query_arguments",
                  "get_argument", "get_arguments"}
_ERROR_REF = {"$ref": "#/components/responses/RucioError"}
_ERROR = {
    "description": "A Rucio error: ExceptionClass / ExceptionMessage headers and JSON body",
    "headers": {"ExceptionClass": {"schema": {"type": "string"}},
                "ExceptionMessage": {"schema": {"type": "string"}}},
    "content": {"application/octet-stream": {"schema": {
        "type": "object", "required": ["ExceptionClass", "ExceptionMessage"],
        "properties": {"ExceptionClass": {"type": "string"},
                       "ExceptionMessage": {"type": "string"}}}}},
}


def templates(pattern: str, names: list[str]) -> list[str]:
    """The OpenAPI path templates of a route pattern; ``names`` name its ``([^/]+)`` groups
    in order (``part{i}`` when there are fewer names). An empty list when the pattern holds
    something else (a catch-all ``(.*)``)."""
    pattern = pattern.rstrip("$")
    pattern = pattern[:-2] if pattern.endswith("/?") else pattern
    pattern = re.sub(r"(\w)\?", r"\1", pattern)         # "signurl?": the long spelling
    match = _OPTIONAL_GROUP.search(pattern)
    if match is not None:
        variants = [""] + match.group(1).split("|")
        return [t for variant in variants
                for t in templates(pattern[:match.start()] + variant + pattern[match.end():],
                                   names)]
    parts = pattern.split(_PART)
    if any("(" in part or "\\" in part.replace("\\.", "") for part in parts):
        return []
    out = parts[0]
    for index, part in enumerate(parts[1:]):
        out += "{" + (names[index] if index < len(names) else f"part{index}") + "}" + part
    return [(out or "/").replace("\\.", ".")]


def _function(handler_class, name):
    fn = getattr(handler_class, name, None)
    return inspect.unwrap(fn) if callable(fn) else None


def _parameter_names(handler_class, verb) -> list[str]:
    fn = _function(handler_class, verb)
    if fn is None:
        return []
    params = list(inspect.signature(fn).parameters.values())[1:]
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


@functools.cache
def _tree(fn):
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return ast.parse("")


def _self_uses(tree):
    """``(name, call node or None)`` of every ``self.name`` in ``tree``: the call when it is
    called there, None when it is only referenced (``self.run(self.json_body)``)."""
    calls = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls[id(node.func)] = node
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id == "self":
            yield node.attr, calls.get(id(node))


def _own_methods(handler_class):
    """The functions defined by the handler and its bases below BaseHandler."""
    seen = {}
    for klass in handler_class.__mro__:
        if klass is BaseHandler or not issubclass(klass, BaseHandler):
            break
        for name, value in vars(klass).items():
            if callable(value) and name not in seen:
                seen[name] = inspect.unwrap(value)
    return seen


def _reachable(handler_class, verb):
    """The verb's function and the handler's own methods it calls (transitively)."""
    methods = _own_methods(handler_class)
    todo, found = [verb], {}
    while todo:
        name = todo.pop()
        if name in found or name not in methods:
            continue
        found[name] = methods[name]
        todo.extend(used for used, _ in _self_uses(_tree(methods[name])))
    return list(found.values())


def _reads(handler_class, verb):
    """``(query parameter names, arbitrary query?, reads a body?)`` of one verb."""
    query, arbitrary, body = [], False, False
    for fn in _reachable(handler_class, verb):
        for name, call in _self_uses(_tree(fn)):
            if name == "json_body":
                body = True
            elif call is None:
                continue
            elif name in _QUERY_READERS and call.args and \
                    isinstance(call.args[0], ast.Constant):
                if call.args[0].value not in query:
                    query.append(call.args[0].value)
            elif name == "query_filters":
                arbitrary = True
    return query, arbitrary, body


def reads_body(handler_class, verb) -> bool:
    """Whether the verb (or a method of its class it calls) reads ``self.json_body``."""
    return _reads(handler_class, verb)[2]


def _operation(handler_class, verb, path_names, methods_of_501):
    operation = {"operationId": f"{handler_class.__name__}.{verb}",
                 "responses": {"default": _ERROR_REF}}
    doc = vars(handler_class).get("__doc__")
    if doc:
        operation["summary"] = inspect.cleandoc(doc).splitlines()[0][:200]
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in path_names]
    if methods_of_501 is not None:
        operation["responses"] = {"501": _ERROR_REF, "default": _ERROR_REF}
    else:
        query, arbitrary, _ = _reads(handler_class, verb)
        body = schemas.body_of(handler_class, verb)
        parameters += [{"name": name, "in": "query", "required": False,
                        "schema": {"type": "string"}} for name in query]
        if arbitrary:
            operation["x-arbitrary-query"] = True
        if body is not None:
            operation["requestBody"] = {"required": body.empty is None, "content": {
                "application/json": {"schema": body.schema}}}
        operation["responses"]["2XX"] = {"description": "success"}
    if parameters:
        operation["parameters"] = parameters
    if not handler_class.auth_required:
        operation["security"] = []
    return operation


def build(routes, title="rucio-tornado", version="0") -> dict:
    """The OpenAPI 3.1 document of ``routes`` (entries of web/routes.py's table)."""
    paths = {}
    for route in routes:
        pattern, handler_class = route[0], route[1]
        if not isinstance(handler_class, type) or not issubclass(handler_class, BaseHandler):
            continue
        if handler_class is unsupported.UnsupportedHandler:
            rule_methods = route[2]["methods"]
            verbs = [m.lower() for m in rule_methods]
            names = [name for m in unsupported._PLACEHOLDER.finditer(route[2]["rule"])
                     for name in (("scope", "name") if m.group(1) == "path" else (m.group(2),))]
        else:
            rule_methods = None
            verbs = [v for v in _VERBS if unsupported.handles(handler_class, v)]
            names = next((_parameter_names(handler_class, v) for v in verbs), [])
        for template in templates(pattern, names):
            item = paths.setdefault(template, {})
            for verb in verbs:
                if verb in item:
                    continue        # an earlier route serves this path and method
                item[verb] = _operation(handler_class, verb, re.findall(r"\{(\w+)\}", template),
                                        rule_methods)
            if not item:
                del paths[template]
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Generated from rucio_tornado/web/routes.py (issue 12, item 9)"},
        "components": {"securitySchemes": {"token": {
            "type": "apiKey", "in": "header", "name": "X-Rucio-Auth-Token"}},
            "responses": {"RucioError": _ERROR}},
        "security": [{"token": []}],
        "paths": paths,
    }


def document(routes) -> dict:
    """The document of a route table, with this server's version."""
    return build(routes, version=__version__)


class OpenAPIHandler(BaseHandler):
    """``GET /openapi.json``: the OpenAPI 3 document of the application's route table."""
    auth_required = False

    def get(self):
        settings = self.application.settings       # built once per application
        if "openapi_document" not in settings:
            settings["openapi_document"] = document(settings["routes"])
        self.send_json(settings["openapi_document"])
