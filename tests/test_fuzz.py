"""Never a 500 for a caller's mistake (issue 12, items 7 and 9), on SQLite and PostgreSQL.

A live server per backend, seeded with real names and a 1000-deep container chain
(tools/fuzz/cases.py). The targeted cases of item 7 must each be a 4xx Rucio error that changes
nothing; recursive listings on the chain must answer; then a bounded, derandomized hypothesis
run over every operation of ``GET /openapi.json`` must give no 5xx (501 for the real API's
routes not served is the honest answer) and every error in Rucio form. The long run:
``PYTHONPATH=$PWD python tools/fuzz/run.py`` (docs/RELIABILITY.md).
"""
import time

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rucio_tornado.web import openapi, schemas
from rucio_tornado.web.base import BaseHandler
from rucio_tornado.web.routes import ROUTES
from rucio_tornado.web.rules import RuleCollectionHandler
from rucio_tornado.web.unsupported import UnsupportedHandler, handles
from tests.live import LiveServer
from tools.fuzz import cases

#: Examples of the hypothesis run per backend (10-25 s a backend on the development machine).
EXAMPLES = 300


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(request, tmp_path_factory):
    server = LiveServer(request.param, tmp_path_factory.mktemp("fuzz"),
                        extra_env={"RUCIO_TORNADO_ACCESS_LOG": "false",
                                   "RUCIO_TORNADO_PERIODIC_TASKS": "false"})
    session = requests.Session()
    token = cases.login(server.url)
    cases.seed(session, server.url, token)
    yield server, session, token
    session.close()
    server.stop()


def _problems(server, session, token, requests_):
    out = []
    for method, path, body in requests_:
        response = cases.send(session, server.url, method, path, body, token)
        why = cases.problem(response)
        if why is not None:
            out.append(f"{method} {path[:80]} -> {why}: {response.text[:150]}")
    return out


def test_the_openapi_document_is_generated_from_the_route_table(fuzzed):
    document = requests.get(fuzzed[0].url + "/openapi.json").json()
    assert document["openapi"].startswith("3.") and document == openapi.document(tuple(ROUTES))
    paths = document["paths"]
    rule = paths["/rules"]["post"]
    # request bodies: the schemas the handlers declare and check bodies against
    rule_schema = rule["requestBody"]["content"]["application/json"]["schema"]
    assert rule_schema == schemas.body_of(RuleCollectionHandler, "post").schema
    assert rule_schema["type"] == "object" and "rse_expression" in rule_schema["required"]
    new_dids = paths["/dids"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert new_dids["type"] == "array" and "meta" in new_dids["items"]["properties"]
    assert [p["name"] for p in paths["/dids/{scope}/{name}/meta/{key}"]["get"]["parameters"]
            if p["in"] == "path"] == ["scope", "name", "key"]
    assert "recursive" in [p["name"] for p in paths["/dids/{scope}/"]["get"]["parameters"]]
    assert paths["/accounts/{account}/usage"] and paths["/accounts/{account}/usage/local"]
    assert paths["/ping"]["get"]["security"] == [] and "security" not in rule
    assert "501" not in paths["/dids/new"]["get"]["responses"]     # served now (no 501 left)
    # every handler of the table, every verb it implements, is in the document
    operations = {op["operationId"] for item in paths.values() for op in item.values()}
    for route in ROUTES:
        handler = route[1]
        if isinstance(handler, type) and issubclass(handler, BaseHandler) and \
                handler is not UnsupportedHandler and "(.*)" not in route[0]:
            for verb in ("get", "post", "put", "delete"):
                if handles(handler, verb):
                    assert f"{handler.__name__}.{verb}" in operations, (route[0], verb)


def test_caller_mistakes_are_4xx_rucio_errors_that_change_nothing(fuzzed):
    server, session, token = fuzzed
    before = cases.fingerprint(session, server.url, token)
    failures = []
    for method, path, body in cases.targeted():
        response = cases.send(session, server.url, method, path, body, token)
        why = cases.problem(response) or (
            f"{response.status_code} accepted" if response.status_code < 400 else None)
        if why is not None:
            failures.append(f"{method} {path[:80]} {(body or b'')[:80]!r} -> {why}: "
                            f"{response.text[:150]}")
    assert not failures, "\n".join(failures)
    assert cases.fingerprint(session, server.url, token) == before


def test_deep_chains_and_big_numbers_are_answered(fuzzed):
    server, session, token = fuzzed
    # the suite's share of the long run's list (each walks the chain 1000 levels deep)
    assert not _problems(server, session, token, cases.CHAIN_LISTINGS[:8])
    lines = cases.send(session, server.url, "GET", f"/dids/{cases.SCOPE}/?name=chain0&"
                       "recursive=true", token=token).text.splitlines()
    assert len(lines) >= cases.CHAIN_DEPTH          # the whole chain, down to the file


def test_fuzz_every_operation_of_the_openapi_document(fuzzed):
    server, session, token = fuzzed
    document = session.get(server.url + "/openapi.json").json()
    operations = cases.operations(document)
    assert len(operations) > 200
    failures, started = [], time.monotonic()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def fuzz(data):
        operation = data.draw(st.sampled_from(operations))
        method, path, body = data.draw(cases.fuzz_request(operation))
        response = cases.send(session, server.url, method, path, body, token)
        why = cases.problem(response)
        if why is not None:
            failures.append(f"{method} {path[:120]} {(body or b'')[:120]!r} -> {why}: "
                            f"{response.text[:150]}")

    fuzz()
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:30])
    assert time.monotonic() - started < 60
