"""Rule and quota invariants under concurrent writers (issue 12 item 1), raced through the HTTP
API of a real server: on PostgreSQL two server processes (each with its pool of connections),
on SQLite one (which runs one writer at a time: the same checks must hold there too).

Every race runs ROUNDS rounds (20 on PostgreSQL) of CONCURRENT requests; threads meet at a ``threading.Barrier``
and send their request at once, each on its own connection. Every round is checked for a
violated invariant; every answer for a 5xx or an error text naming database internals.
"""
import uuid

import pytest

from tests.racing import Client, race, racing_server

pytestmark = pytest.mark.concurrency

#: Rounds per race: SQLite runs one writer at a time, so a few rounds show its answers.
ROUNDS = {"postgresql": 20, "sqlite": 5}
CONCURRENT = 20
SIZE = 1000


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def server(request, tmp_path_factory):
    with racing_server(request.param, tmp_path_factory.mktemp("rules-race-" + request.param),
                       processes=2) as server:
        server.rounds = ROUNDS[request.param]
        yield server


def outcome(response):
    """``201``, the exception class of a Rucio error, or what went wrong otherwise."""
    if isinstance(response, Exception):
        return repr(response)
    if response.status_code == 201:
        return 201
    return response.headers.get("ExceptionClass") or f"{response.status_code} {response.text}"


@pytest.fixture
def client(server):
    """Root's client; a fresh scope, a source RSE, and an account ``jdoe...`` of its own."""
    api = Client(server)
    tag = uuid.uuid4().hex[:8]
    api.scope, api.source, api.account = "race" + tag, "SRC" + tag.upper(), "jdoe" + tag
    api.ok("POST", f"/accounts/root/scopes/{api.scope}")
    api.ok("POST", f"/rses/{api.source}", {})
    api.ok("POST", f"/accounts/{api.account}", {"type": "USER", "email": None})
    yield api
    api.close()
    assert not api.problems, "\n".join(api.problems[:5])


def add_files(api, names):
    api.ok("POST", "/replicas", {"rse": api.source, "files": [
        {"scope": api.scope, "name": n, "bytes": SIZE, "adler32": "0cc737eb"} for n in names]})


def add_rse(api, name):
    api.ok("POST", f"/rses/{name}", {})
    return name


def rule(api, name, expression, account="root"):
    return ("POST", "/rules/", {"dids": [{"scope": api.scope, "name": name}], "copies": 1,
                                "rse_expression": expression, "account": account})


def usage(api, rse):
    (line,) = api.lines(f"/accounts/{api.account}/usage/local/{rse}")
    return line["files"], line["bytes"]


def test_identical_rules_at_once_store_one(client):
    """20 identical ``POST /rules/``: one rule, the others DuplicateRule; a deleted (expiring)
    rule still counts, as in Rucio. Even rounds: an admin account (no quota, so only the
    unique index decides); odd rounds: an account with an unlimited local limit."""
    target = add_rse(client, client.source + "T")
    admin = "adm" + client.account[4:]
    client.ok("POST", f"/accounts/{admin}", {"type": "USER", "email": None})
    client.ok("POST", f"/accounts/{admin}/attr/admin", {"value": True})
    client.ok("POST", f"/accounts/{client.account}/limits/local/{target}", {"bytes": -1})
    names = [f"f{i:03d}" for i in range(client.server.rounds)]
    add_files(client, names)
    violations = []
    for round_, name in enumerate(names):
        account = admin if round_ % 2 == 0 else client.account
        results = race(client, [rule(client, name, target, account)] * CONCURRENT)
        outcomes = [outcome(r) for r in results]
        stored = client.lines(f"/dids/{client.scope}/{name}/rules")
        if (len(stored) != 1 or outcomes.count(201) != 1
                or outcomes.count("DuplicateRule") != CONCURRENT - 1):
            violations.append((name, len(stored), sorted(map(str, outcomes))))
    assert not violations, violations[:3]
    # a soft-deleted rule is still a duplicate: nothing new is stored
    (first,) = client.lines(f"/dids/{client.scope}/{names[0]}/rules")
    client.ok("DELETE", f"/rules/{first['id']}")
    results = race(client, [rule(client, names[0], target, admin)] * CONCURRENT)
    assert [outcome(r) for r in results] == ["DuplicateRule"] * CONCURRENT
    assert len(client.lines(f"/dids/{client.scope}/{names[0]}/rules")) == 1


def test_rules_at_once_never_exceed_a_local_limit(client):
    """20 rules on 20 files at once under a local limit of 5 files' bytes: exactly 5 placed,
    15 InsufficientAccountLimit, and the usage is what the placed rules lock."""
    quota_files = 5
    names = [f"q{r:02d}.{i:02d}" for r in range(client.server.rounds) for i in range(CONCURRENT)]
    add_files(client, names)
    violations = []
    for round_ in range(client.server.rounds):
        target = add_rse(client, f"{client.source}L{round_:02d}")
        client.ok("POST", f"/accounts/{client.account}/limits/local/{target}",
                  {"bytes": quota_files * SIZE})
        batch = names[round_ * CONCURRENT:(round_ + 1) * CONCURRENT]
        outcomes = [outcome(r) for r in race(
            client, [rule(client, name, target, client.account) for name in batch])]
        placed = outcomes.count(201)
        refused = outcomes.count("InsufficientAccountLimit")
        booked = usage(client, target)
        if (placed, refused, booked) != (quota_files, CONCURRENT - quota_files,
                                         (quota_files, quota_files * SIZE)):
            violations.append((round_, placed, refused, booked, sorted(map(str, outcomes))))
    assert not violations, violations[:3]


def test_rules_at_once_never_exceed_a_global_limit(client):
    """20 rules at once, alternating between two RSEs, under a global limit over both (local
    limits unlimited): the global limit holds across RSEs."""
    quota_files = 6
    names = [f"g{r:02d}.{i:02d}" for r in range(client.server.rounds) for i in range(CONCURRENT)]
    add_files(client, names)
    violations = []
    for round_ in range(client.server.rounds):
        tag = f"G{round_:02d}"
        pair = [add_rse(client, f"{client.source}{tag}{side}") for side in "AB"]
        for rse in pair:
            client.ok("POST", f"/rses/{rse}/attr/{tag.lower()}", {"value": True})
            client.ok("POST", f"/accounts/{client.account}/limits/local/{rse}", {"bytes": -1})
        client.ok("POST", f"/accounts/{client.account}/limits/global/{tag.lower()}%3Dtrue",
                  {"bytes": quota_files * SIZE})
        batch = names[round_ * CONCURRENT:(round_ + 1) * CONCURRENT]
        outcomes = [outcome(r) for r in race(client, [
            rule(client, name, pair[i % 2], client.account) for i, name in enumerate(batch)])]
        (line,) = client.lines(
            f"/accounts/{client.account}/usage/global/{tag.lower()}%3Dtrue")
        placed = outcomes.count(201)
        if (placed, outcomes.count("InsufficientAccountLimit"), line["bytes"]) != (
                quota_files, CONCURRENT - quota_files, quota_files * SIZE):
            violations.append((round_, placed, line, sorted(map(str, outcomes))))
    assert not violations, violations[:3]
