"""Lifetime exceptions (``/lifetime_exceptions``) and ``/redirect``: handlers on both databases."""
import datetime

import pytest
from tornado.httpclient import HTTPRequest

from rucio_tornado.models import DID, LifetimeException, RSEAttribute, RSEProtocol
from tests.test_rules import in_db, make_dataset, world  # noqa: F401

pytestmark = pytest.mark.gen_test

EOL = datetime.datetime(2026, 1, 1)


def lifetime_catalog(db):
    def create():
        make_dataset("user.jdoe", "old1", 1)
        make_dataset("user.jdoe", "old2", 1)
        make_dataset("user.jdoe", "fresh", 1)
        DID.update(eol_at=EOL, datatype="AOD").where(DID.name.in_(["old1", "old2"])).execute()
    in_db(db, create)


def request_body(*names, **extra):
    body = {"dids": [{"scope": "user.jdoe", "name": n} for n in names], "account": "jdoe",
            "pattern": "", "comments": "need it", "expires_at": "Sat, 01 Jan 2028 00:00:00 UTC"}
    body.update(extra)
    return body


# -- lifetime exceptions ---------------------------------------------------------------------
async def test_request_list_and_approve(api, db, world):  # noqa: F811
    lifetime_catalog(db)
    response = await api.as_("jdoe").post("/lifetime_exceptions/",
                                          request_body("old1", "old2", "fresh", "ghost"))
    assert response.status == 201 and response.headers["Content-Type"] == "application/json"
    result = response.json()
    [(exception_id, dids)] = result["exceptions"].items()
    assert sorted(d["name"] for d in dids) == ["old1", "old2"]
    assert dids[0]["did_type"] == "DATASET"
    assert result["not_affected"] == [{"scope": "user.jdoe", "name": "fresh",
                                       "did_type": "DATASET"}]
    assert result["unknown"] == [{"scope": "user.jdoe", "name": "ghost", "did_type": "DATASET"}]

    lines = (await api.as_("jdoe").get("/lifetime_exceptions/")).lines()
    assert sorted(line["name"] for line in lines) == ["old1", "old2"]
    assert {line["id"] for line in lines} == {exception_id}
    assert lines[0]["state"] == "WAITING" and lines[0]["account"] == "jdoe"
    assert lines[0]["comments"] == "need it" and lines[0]["expires_at"] == \
        "Sat, 01 Jan 2028 00:00:00 UTC"
    one = (await api.get(f"/lifetime_exceptions/{exception_id}")).lines()
    assert len(one) == 2
    assert len((await api.get(f"/lifetime_exceptions/?exception_id={exception_id}")).lines()) \
        == 2

    response = await api.as_("jdoe").put(f"/lifetime_exceptions/{exception_id}",
                                         {"state": "APPROVED"})
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    response = await api.as_("boss").put(f"/lifetime_exceptions/{exception_id}",
                                         {"state": "APPROVED"})
    assert response.status == 201 and response.text == "Created"
    states = {line["state"] for line in (await api.get("/lifetime_exceptions/")).lines()}
    assert states == {"APPROVED"}
    assert (await api.put(f"/lifetime_exceptions/{exception_id}", {"state": "R"})).status == 201
    assert in_db(db, lambda: {r.state for r in LifetimeException.select()}) == {"REJECTED"}


async def test_nothing_affected_creates_nothing(api, db, world):  # noqa: F811
    lifetime_catalog(db)
    response = await api.as_("jdoe").post("/lifetime_exceptions/", request_body("fresh"))
    assert response.status == 201 and response.json()["exceptions"] == {}
    assert in_db(db, lambda: LifetimeException.select().count()) == 0


async def test_lifetime_exception_errors(api, db, world):  # noqa: F811
    lifetime_catalog(db)
    cases = [(request_body(dids="x"), 400, "TypeError"),
             (request_body(dids=[{"scope": "user.jdoe"}]), 400, "InvalidObject"),
             (request_body("old1", comments=3), 400, "TypeError"),
             (request_body("old1", expires_at="someday"), 400, "InvalidObject"),
             (request_body("old1", pattern=[]), 400, "TypeError")]
    for body, status, name in cases:
        response = await api.post("/lifetime_exceptions/", body)
        assert (response.status, response.exception_class) == (status, name), body
    response = await api.post("/lifetime_exceptions/", raw_body="[]")
    assert (response.status, response.exception_class) == (400, "TypeError")
    assert in_db(db, lambda: LifetimeException.select().count()) == 0

    [exception_id] = (await api.post("/lifetime_exceptions/", request_body("old1"))
                      ).json()["exceptions"]
    for state in ("WAITING", None, 3, "BOGUS"):
        response = await api.put(f"/lifetime_exceptions/{exception_id}", {"state": state})
        assert (response.status, response.exception_class) == (400, "UnsupportedOperation")
    for unknown in ("0" * 32, "not-an-id"):
        response = await api.put(f"/lifetime_exceptions/{unknown}", {"state": "APPROVED"})
        assert (response.status, response.exception_class) == (404, "LifetimeExceptionNotFound")
        response = await api.get(f"/lifetime_exceptions/{unknown}")
        assert (response.status, response.exception_class) == (404, "LifetimeExceptionNotFound")
    assert in_db(db, lambda: {r.state for r in LifetimeException.select()}) == {"WAITING"}


# -- redirect --------------------------------------------------------------------------------
def redirect_catalog(db, world):  # noqa: F811
    def create():
        make_dataset("user.jdoe", "ds", 1, replicas=[world["SITE-A"], world["SITE-B"]])
        make_dataset("user.jdoe", "lost", 1)
        for rse, host in (("SITE-A", "a.example"), ("SITE-B", "b.example")):
            RSEProtocol.create(rse_id=world[rse], scheme="davs", hostname=host, port=443,
                               prefix="/data", impl="x", read_wan=1)
        RSEProtocol.create(rse_id=world["SITE-C"], scheme="root", hostname="c.example",
                           port=1094, prefix="/data", impl="x", read_wan=1)
        RSEAttribute.create(rse_id=world["SITE-B"], key="site", value='"CERN"')
    in_db(db, create)


async def fetch(http_client, base_url, path, **headers):
    return await http_client.fetch(HTTPRequest(base_url + path, headers=headers,
                                               follow_redirects=False), raise_error=False)


async def test_redirect_to_a_replica(api, db, world, http_client, base_url):  # noqa: F811
    redirect_catalog(db, world)
    response = await fetch(http_client, base_url, "/redirect/user.jdoe/ds.f000000")
    assert response.code == 303
    location = response.headers["Location"]
    assert location.startswith(("https://a.example:443/data/user/jdoe/",
                                "https://b.example:443/data/user/jdoe/"))
    assert location.endswith("/ds.f000000")
    assert response.headers["Link"].startswith(
        "</redirect/user.jdoe/ds.f000000/metalink?schemes=davs,https,s3&select=random>")
    pinned = await fetch(http_client, base_url, "/redirect/user.jdoe/ds.f000000?rse=SITE-B")
    assert pinned.code == 303 and pinned.headers["Location"].startswith("davs://b.example")
    site = await fetch(http_client, base_url, "/redirect/user.jdoe/ds.f000000/?site=CERN",
                       Origin="https://ui.example")
    assert site.code == 303 and site.headers["Location"].startswith("https://b.example")
    assert site.headers["Access-Control-Allow-Origin"] == "https://ui.example"
    rooted = await fetch(http_client, base_url, "/redirect/user.jdoe/ds.f000000?schemes=root")
    assert rooted.code == 404 and rooted.headers["ExceptionClass"] == "ReplicaNotFound"


async def test_redirect_errors(api, db, world, http_client, base_url):  # noqa: F811
    redirect_catalog(db, world)
    cases = [("/redirect/user.jdoe/lost.f000000", 404, "ReplicaNotFound"),
             ("/redirect/user.jdoe/ds.f000000?rse=SITE-C", 404, "ReplicaNotFound"),
             ("/redirect/user.jdoe/ds.f000000?site=NOWHERE", 404, "ReplicaNotFound"),
             ("/redirect/user.jdoe/ghost", 404, "DataIdentifierNotFound"),
             ("/redirect/user.jdoe/ds.f000000?select=bogus", 400,
              "SortingAlgorithmNotSupported"),
             ("/redirect/user.jdoe/ghost/metalink", 404, "DataIdentifierNotFound"),
             ("/redirect/user.jdoe/lost.f000000/metalink", 404, "ReplicaNotFound"),
             ("/redirect/bad%20scope/x", 400, "InvalidObject")]
    for path, status, name in cases:
        response = await fetch(http_client, base_url, path)
        assert (response.code, response.headers.get("ExceptionClass")) == (status, name), path


async def test_metalink(api, db, world, http_client, base_url):  # noqa: F811
    redirect_catalog(db, world)
    response = await fetch(http_client, base_url, "/redirect/user.jdoe/ds/metalink")
    assert response.code == 200
    assert response.headers["Content-Type"] == "application/metalink4+xml"
    body = response.body.decode()
    assert body.startswith('<?xml version="1.0"') and body.rstrip().endswith("</metalink>")
    assert "ds.f000000" in body and "davs://a.example:443/data/" in body
