"""Every (method, route) of the real server's API is answered by this route table: by a handler,
or by the honest 501 UnsupportedOperation (tests/data/real_routes.txt, from tools/real_routes.py).
"""
from pathlib import Path

import pytest

from rucio_tornado.web.routes import ROUTES
from rucio_tornado.web.unsupported import UnsupportedHandler, first_match, handles

REAL_ROUTES = Path(__file__).parent / "data" / "real_routes.txt"


def real_routes():
    return [tuple(line.split()) for line in REAL_ROUTES.read_text().splitlines() if line.strip()]


def answer(method, rule):
    """'served', 'unsupported', or why the table does not answer the pair."""
    _, route, serves = first_match(ROUTES, rule)
    if route is None:
        return "matched by no route"
    handler = route[1]
    if handler is UnsupportedHandler:
        return "unsupported" if method in route[2]["methods"] else \
            f"501 route lacks {method}"
    if not serves:
        return f"caught by the generic route {route[0]} ({handler.__name__})"
    return "served" if handles(handler, method) else f"{handler.__name__} lacks {method}"


def test_the_real_route_list_is_the_whole_api():
    pairs = real_routes()
    assert len(pairs) > 200 and ("GET", "/export") in pairs and ("POST", "/import") in pairs


def test_every_real_route_is_answered():
    failures = [f"{method} {rule}: {why}" for method, rule in real_routes()
                if (why := answer(method, rule)) not in ("served", "unsupported")]
    assert not failures, "routes of the real API this table does not answer:\n" + \
        "\n".join(failures)


def test_a_later_handler_wins_over_the_501():
    from rucio_tornado.web import unsupported
    from rucio_tornado.web.base import BaseHandler

    class ConfigHandler(BaseHandler):
        async def get(self):
            pass
    table = unsupported.place([(r"/config/?", ConfigHandler)], [("GET", "/config")])
    assert [route[1] for route in table] == [ConfigHandler]
    generic = [(r"/dids/([^/]+)/([^/]+)", ConfigHandler)]
    table = unsupported.place(generic, [("GET", "/dids/<guid>/guid")])
    assert table[0][1] is UnsupportedHandler and table[1] == generic[0]




async def _fetch(url, method="GET"):
    from tornado.httpclient import AsyncHTTPClient

    from rucio_tornado.testing import Response
    return Response(await AsyncHTTPClient().fetch(url, method=method, raise_error=False,
                                            body=b"" if method in ("POST", "PUT") else None))


@pytest.mark.gen_test
async def test_unsupported_answers_501():
    """The 501 route of a rule (served by a table of its own, since the real API's routes are
    all being served one by one): 501 for its methods, 405 for others, 404 off the table."""
    import tornado.httpserver
    import tornado.netutil
    import tornado.web

    from rucio_tornado.web import unsupported
    from rucio_tornado.web.base import NotFoundHandler
    table = unsupported.place([], [("GET", "/example/new"), ("POST", "/example/resurrect")])
    app = tornado.web.Application(table, default_handler_class=NotFoundHandler)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    try:
        response = await _fetch(base + "/example/new")
        assert response.status == 501
        assert response.exception_class == "UnsupportedOperation"
        assert "GET /example/new is not supported by this server" in \
            response.json()["ExceptionMessage"]
        response = await _fetch(base + "/example/resurrect")
        assert (response.status, response.exception_class) == (405, "MethodNotAllowed")
        response = await _fetch(base + "/example/new", "PUT")
        assert (response.status, response.exception_class) == (405, "MethodNotAllowed")
        response = await _fetch(base + "/no/such/route")
        assert (response.status, response.exception_class) == (404, "NotFound")
    finally:
        server.stop()


@pytest.mark.gen_test
async def test_the_routes_still_unserved_answer_501(api):
    from rucio_tornado.web.unsupported import NOT_SERVED, sample_path
    for methods, rule in NOT_SERVED:
        method = methods.split()[0]
        response = await api.request(method, sample_path(rule)[0],
                                     body={} if method in ("POST", "PUT") else None)
        assert (response.status, response.exception_class) == (501, "UnsupportedOperation"), \
            (method, rule, response)
    response = await api.put("/dids/new")
    assert (response.status, response.exception_class) == (405, "MethodNotAllowed")
    response = await api.get("/no/such/route")
    assert (response.status, response.exception_class) == (404, "NotFound")


def test_docs_api_is_generated_from_this_table():
    import subprocess
    import sys
    tool = Path(__file__).parent.parent / "tools" / "api_routes.py"
    result = subprocess.run([sys.executable, str(tool), "--check"])
    assert result.returncode == 0, "docs/API.md is stale: run python tools/api_routes.py"
