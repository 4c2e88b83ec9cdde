"""The first-part index finds, for any path, the handler the route table's order gives."""
from pathlib import Path

import pytest
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

from rucio_tornado.web.dispatch import FirstPartRouter, first_part, literal_first_part
from rucio_tornado.web.routes import ROUTES
from rucio_tornado.web.unsupported import _regex, sample_path

REAL_ROUTES = Path(__file__).parent / "data" / "real_routes.txt"


def paths():
    """Sample paths of every real route, with and without a trailing slash, plus paths of
    this table's own routes and paths no route serves."""
    rules = {line.split()[1] for line in REAL_ROUTES.read_text().splitlines() if line.strip()}
    out = set()
    for rule in rules:
        path, _ = sample_path(rule)
        out |= {path, path + "/"}
    out |= {"/ping", "/ping/", "/openapi.json", "/openapijson", "/dids/user.jdoe/a%2Fb",
            "/dids/user.jdoe/a%2Fb/meta", "/accounts/whoami", "/nothing/here", "/",
            "/dids", "/DIDS/x/y", "/ui/", "/metrics", "/accounts/whoami/x/y/z"}
    return sorted(out)


def linear(path):
    for route in ROUTES:
        if _regex(route[0]).match(path):
            return route[1], route[2] if len(route) > 2 else {}
    return None


class _Recorder:
    """Stands for the application: records which handler the router picked."""

    def get_handler_delegate(self, request, target, target_kwargs=None, path_args=None,
                             path_kwargs=None):
        return target, target_kwargs or {}


@pytest.mark.parametrize("path", paths())
def test_the_index_picks_the_handler_the_table_order_picks(path):
    router = FirstPartRouter(ROUTES)
    router.application = _Recorder()
    line = RequestStartLine("GET", path, "HTTP/1.1")
    request = HTTPServerRequest(start_line=line, headers=HTTPHeaders({"Host": "localhost"}))
    found = router.find_handler(request)
    assert found == linear(path)


def test_first_parts():
    assert first_part("/dids/a/b") == "dids" and first_part("/ping") == "ping"
    assert first_part("/") == ""
    assert literal_first_part(r"/openapi\.json") == "openapi.json"
    assert literal_first_part(r"/(.*)") is None and literal_first_part(r"/x(?:y)?/?") is None
    assert literal_first_part(r"/accounts/([^/]+)/?") == "accounts"
