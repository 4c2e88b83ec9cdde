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




@pytest.mark.gen_test
async def test_unsupported_answers_501(api):
    response = await api.get("/dids/new")
    assert response.status == 501
    assert response.exception_class == "UnsupportedOperation"
    assert "GET /dids/new is not supported by this server" in response.json()["ExceptionMessage"]
    response = await api.get("/dids/resurrect")
    assert (response.status, response.exception_class) == (405, "MethodNotAllowed")
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
