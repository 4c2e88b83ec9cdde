"""Print the real Rucio server's (method, route) list, read from its Flask blueprints with ``ast``.

Usage: ``python tools/real_routes.py [SRC] > tests/data/real_routes.txt`` where SRC is the
unpacked ``rucio`` server package (default ``/work/scratch/rucio_src/rucio``). Nothing is
imported: every ``blueprint()`` / ``blueprint_legacy()`` function of
``web/rest/flaskapi/v1/*.py`` is read for its ``Blueprint(..., url_prefix=...)`` and its
``add_url_rule(rule, ..., methods=[...])`` calls, as the server registers them by default
(``with_doc=False``, not ``standalone``). One ``METHOD /route`` line per pair, sorted;
``OPTIONS`` (answered for every route here) is left out.
"""
import ast
import sys
from pathlib import Path

DEFAULT_SRC = "/work/scratch/rucio_src/rucio"
BLUEPRINT_FUNCTIONS = ("blueprint", "blueprint_legacy")


def _text(node):
    """A string constant, or the ``else`` branch of ``'/' if standalone else '/ping'``."""
    if isinstance(node, ast.IfExp):
        node = node.orelse
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _method(node):
    """``HTTPMethod.GET.value`` / ``'get'`` -> ``GET``."""
    if isinstance(node, ast.Attribute) and node.attr == "value" and \
            isinstance(node.value, ast.Attribute):
        return node.value.attr.upper()
    text = _text(node)
    return text.upper() if text else None


def _keyword(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def routes_of_function(function):
    """(method, route) pairs registered by one blueprint function."""
    prefixes, pairs = {}, []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            callee = node.value.func
            if isinstance(callee, ast.Name) and callee.id.endswith("Blueprint"):
                prefix = _text(_keyword(node.value, "url_prefix")) or ""
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        prefixes[target.id] = prefix.rstrip("/")
    for node in ast.walk(function):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_url_rule" and isinstance(node.func.value, ast.Name)):
            continue
        rule = _text(node.args[0]) if node.args else _text(_keyword(node, "rule"))
        methods = _keyword(node, "methods")
        names = [_method(m) for m in methods.elts] if isinstance(methods, ast.List) else ["GET"]
        route = prefixes.get(node.func.value.id, "") + rule
        pairs.extend((method, route or "/") for method in names if method and method != "OPTIONS")
    return pairs


def real_routes(src=DEFAULT_SRC):
    pairs = set()
    for path in sorted(Path(src, "web", "rest", "flaskapi", "v1").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in BLUEPRINT_FUNCTIONS:
                pairs.update(routes_of_function(node))
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def main(argv):
    src = argv[1] if len(argv) > 1 else DEFAULT_SRC
    for method, route in real_routes(src):
        print(f"{method} {route}")


if __name__ == "__main__":
    main(sys.argv)
