"""RSEs, attributes, protocols, distances, usage, RSE and account limits over HTTP, both databases."""
import math

import pytest

from rucio_tornado.models import (RSE, AccountLimit, AccountUsage, AccountUsageHistory, Replica,
                                  RSEAttribute, RSEProtocol, RSEUsageHistory)
from tests.conftest import count_rows

pytestmark = pytest.mark.gen_test

PROTOCOL = {"scheme": "file", "hostname": "localhost", "port": 0, "prefix": "/rucio",
            "impl": "rucio.rse.protocols.posix.Default",
            "domains": {"lan": {"read": 1, "write": 1, "delete": 1},
                        "wan": {"read": 1, "write": 1, "delete": 1,
                                "third_party_copy_read": 1, "third_party_copy_write": 1}},
            "extended_attributes": {"x": 1}}


async def add_user(api, account="jdoe"):
    response = await api.post(f"/accounts/{account}", {"type": "USER", "email": None})
    assert response.status == 201
    return api.as_(account)


async def add_rse(api, name, body=None):
    response = await api.post(f"/rses/{name}", body)
    assert response.status == 201, response
    return response


# -- RSEs --------------------------------------------------------------------------------------
async def test_add_get_list_rse(api, db):
    await add_rse(api, "MOCK")
    await add_rse(api, "TAPE-1", {"rse_type": "tape", "deterministic": False, "volatile": True,
                                  "staging_area": True, "city": "Geneva", "region_code": "GE",
                                  "country_name": "CH", "continent": "EU", "time_zone": "UTC",
                                  "ISP": "CERN", "ASN": 513, "latitude": 46.2,
                                  "longitude": 6.1, "availability": 5})
    info = (await api.get("/rses/TAPE-1")).json()
    assert info["rse"] == "TAPE-1" and info["rse_type"] == "TAPE"
    assert info["deterministic"] is False and info["volatile"] is True
    assert info["availability"] == 5 and info["availability_write"] is False
    assert info["protocols"] == [] and info["domain"] == ["lan", "wan"]
    assert info["lfn2pfn_algorithm"] == "hash" and len(info["id"]) == 32
    response = await api.get("/rses/")
    assert response.headers["Content-Type"] == "application/x-json-stream"
    lines = response.lines()
    assert [line["rse"] for line in lines] == ["MOCK", "TAPE-1"]
    tape = lines[1]
    assert tape["city"] == "Geneva" and tape["ASN"] == "513" and tape["latitude"] == 46.2
    assert tape["deleted"] is False and tape["created_at"].endswith(" UTC")
    assert tape["availability"] == 5 and tape["staging_area"] is True
    assert (await api.get("/rses")).lines() == lines
    attrs = (await api.get("/rses/MOCK/attr/")).json()
    assert attrs == {"MOCK": True}


async def test_add_rse_errors(api, db):
    await add_rse(api, "MOCK")
    duplicate = await api.post("/rses/MOCK")
    assert (duplicate.status, duplicate.exception_class) == (409, "Duplicate")
    for name in ("mock", "MOCK__1", "MO%20CK", "-MOCK"):
        bad = await api.post(f"/rses/{name}")
        assert (bad.status, bad.exception_class) == (400, "InvalidObject"), name
    unknown = await api.post("/rses/NEW", {"colour": "red"})
    assert (unknown.status, unknown.exception_class) == (422, "InputValidationError")
    for body in ({"rse_type": "FLOPPY"}, {"availability": 9}, {"deterministic": "maybe"},
                 {"region_code": "TOOLONG"}, {"latitude": "north"}):
        bad = await api.post("/rses/NEW", body)
        assert bad.status == 400, (body, bad)
    bad_json = await api.post("/rses/NEW", raw_body="{not json")
    assert (bad_json.status, bad_json.exception_class) == (400, "ValueError")
    assert count_rows(db, RSE) == 1 and count_rows(db, RSEAttribute) == 1
    missing = await api.get("/rses/NOPE")
    assert (missing.status, missing.exception_class) == (404, "RSENotFound")


async def test_update_rse(api, db):
    await add_rse(api, "MOCK")
    response = await api.put("/rses/MOCK", {"availability_write": False, "city": "Bern",
                                            "rse_type": "TAPE"})
    assert response.status == 201
    info = (await api.get("/rses/MOCK")).json()
    assert info["availability"] == 5 and info["rse_type"] == "TAPE"
    assert (await api.put("/rses/MOCK", {"availability": 7})).status == 201
    assert (await api.get("/rses/MOCK")).json()["availability"] == 7
    unknown = await api.put("/rses/MOCK", {"ISP": "x"})
    assert (unknown.status, unknown.exception_class) == (400, "InputValidationError")
    assert (await api.put("/rses/NOPE", {"city": "x"})).exception_class == "RSENotFound"
    renamed = await api.put("/rses/MOCK", {"name": "MOCK-NEW"})
    assert renamed.status == 201
    assert (await api.get("/rses/MOCK")).status == 404
    assert (await api.get("/rses/MOCK-NEW/attr/")).json() == {"MOCK-NEW": True, "city": "Bern"}  # mirrored
    lines = (await api.get("/rses/?expression=MOCK-NEW")).lines()
    assert lines == [{"rse": "MOCK-NEW"}]


async def test_delete_rse_soft_and_reuse(api, db):
    await add_rse(api, "MOCK")
    first_id = (await api.get("/rses/MOCK")).json()["id"]
    with db.peewee.connection_context():
        Replica.create(rse_id=first_id, scope="s", name="f", bytes=1)
    refused = await api.delete("/rses/MOCK")
    assert (refused.status, refused.exception_class) == (404, "RSEOperationNotSupported")
    with db.peewee.connection_context():
        Replica.delete().execute()
    assert (await api.delete("/rses/MOCK")).status == 200
    assert (await api.get("/rses/MOCK")).status == 404
    assert (await api.delete("/rses/MOCK")).exception_class == "RSENotFound"
    assert (await api.get("/rses/")).lines() == []
    # issue 11 item 10: a deleted RSE's name stays taken, as in the real server
    again = await api.post("/rses/MOCK")
    assert (again.status, again.exception_class) == (409, "Duplicate")


async def test_list_rses_with_expression(api, db):
    for name in ("MOCK", "MOCK2", "MOCK3"):
        await add_rse(api, name)
    await api.post("/rses/MOCK/attr/tier", {"value": "2"})
    await api.post("/rses/MOCK2/attr/tier", {"value": "3"})
    response = await api.get("/rses/?expression=tier%3E1")
    assert response.headers["Content-Type"] == "application/x-json-stream"
    assert response.lines() == [{"rse": "MOCK"}, {"rse": "MOCK2"}]
    assert (await api.get("/rses/?expression=%2A%5CMOCK")).lines() == [
        {"rse": "MOCK2"}, {"rse": "MOCK3"}]
    for bad in ("NOPE", "MOCK%26", "%28MOCK"):
        response = await api.get(f"/rses/?expression={bad}")
        assert (response.status, response.exception_class) == (400, "InvalidRSEExpression")


async def test_rse_permissions(api, db):
    user = await add_user(api)
    await add_rse(api, "MOCK")
    await api.post("/rses/MOCK/attr/tier", {"value": "1"})
    before = (await api.get("/rses/MOCK")).json()
    for method, path, body in [
            ("POST", "/rses/NEW", None), ("PUT", "/rses/MOCK", {"city": "x"}),
            ("DELETE", "/rses/MOCK", None), ("POST", "/rses/MOCK/attr/k", {"value": "v"}),
            ("PUT", "/rses/MOCK/attr/k", {"value": "v"}), ("DELETE", "/rses/MOCK/attr/tier", None),
            ("POST", "/rses/MOCK/protocols/file", PROTOCOL),
            ("PUT", "/rses/MOCK/usage", {"source": "s", "used": 1, "free": 1}),
            ("PUT", "/rses/MOCK/limits", {"name": "MinFreeSpace", "value": 1}),
            ("DELETE", "/rses/MOCK/limits", {"name": "MinFreeSpace"}),
            ("POST", "/rses/MOCK/distances/MOCK", {"distance": 1}),
            ("POST", "/accounts/jdoe/limits/local/MOCK", {"bytes": 10}),
            ("PUT", "/accounts/jdoe/limits", {"rse": "MOCK", "bytes": 10}),
            ("POST", "/accounts/jdoe/limits/global/MOCK", {"bytes": 10}),
            ("DELETE", "/accounts/jdoe/limits/local/MOCK", None)]:
        response = await user.request(method, path, body)
        assert (response.status, response.exception_class) == (401, "AccessDenied"), path
    assert (await api.get("/rses/MOCK")).json() == before
    assert (await api.get("/rses/MOCK/attr/")).json() == {"MOCK": True, "tier": "1"}
    # reading is open to every account
    assert (await user.get("/rses/MOCK")).status == 200
    assert (await user.get("/rses/")).status == 200


# -- attributes --------------------------------------------------------------------------------
async def test_attributes(api, db):
    await add_rse(api, "MOCK")
    assert (await api.post("/rses/MOCK/attr/tier", {"value": "2"})).status == 201
    assert (await api.post("/rses/MOCK/attr/tier", {"value": "1"})).status == 201  # upsert
    assert (await api.post("/rses/MOCK/attr/istape", {"value": "FALSE"})).status == 201
    assert (await api.post("/rses/MOCK/attr/fast", {"value": True})).status == 201
    assert (await api.put("/rses/MOCK/attr/number", {"value": 7})).status == 200  # an update
    response = await api.get("/rses/MOCK/attr/")
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"MOCK": True, "tier": "1", "istape": False, "fast": True,
                               "number": "7"}
    assert (await api.get("/rses/MOCK/attr/tier")).json() == {"tier": "1"}
    missing = await api.get("/rses/MOCK/attr/nope")
    assert (missing.status, missing.exception_class) == (404, "RSEAttributeNotFound")
    assert (await api.delete("/rses/MOCK/attr/tier")).status == 200
    missing = await api.delete("/rses/MOCK/attr/tier")
    assert (missing.status, missing.exception_class) == (404, "RSEAttributeNotFound")
    for body in ({}, {"value": None}, {"value": {"a": 1}}, {"value": [1]}):
        bad = await api.post("/rses/MOCK/attr/bad", body)
        assert bad.status == 400, body
    assert (await api.post("/rses/MOCK/attr/bad%20key", {"value": "x"})).status == 400
    assert (await api.post("/rses/NOPE/attr/k", {"value": "x"})).status == 404
    assert (await api.get("/rses/NOPE/attr/")).exception_class == "RSENotFound"
    assert count_rows(db, RSEAttribute) == 4


# -- protocols ---------------------------------------------------------------------------------
async def test_protocols(api, db):
    await add_rse(api, "MOCK")
    none = await api.get("/rses/MOCK/protocols")
    assert (none.status, none.exception_class) == (404, "RSEProtocolNotSupported")
    assert (await api.post("/rses/MOCK/protocols/file", PROTOCOL)).status == 201
    dup = await api.post("/rses/MOCK/protocols/file", PROTOCOL)
    assert (dup.status, dup.exception_class) == (409, "Duplicate")
    second = dict(PROTOCOL, scheme="root", hostname="xrd.example.org", port=1094,
                  domains={"wan": {"read": 2, "write": 0}})
    assert (await api.post("/rses/MOCK/protocols/root", second)).status == 201
    listing = (await api.get("/rses/MOCK/protocols")).json()
    assert [p["scheme"] for p in listing["protocols"]] == ["file", "root"]
    file_protocol = listing["protocols"][0]
    assert file_protocol["domains"]["wan"]["third_party_copy_read"] == 1
    assert file_protocol["extended_attributes"] == {"x": 1} and file_protocol["prefix"] == "/rucio"
    root = listing["protocols"][1]
    assert root["domains"]["lan"] == {"read": None, "write": None, "delete": None}  # left out
    assert root["port"] == 1094 and root["domains"]["wan"]["read"] == 2
    assert (await api.get("/rses/MOCK")).json()["protocols"] == listing["protocols"]
    # the real server answers /protocols/{scheme} with all the RSE's protocols (issue 11)
    by_scheme = (await api.get("/rses/MOCK/protocols/root")).json()["protocols"]
    assert [p["hostname"] for p in by_scheme] == ["localhost", "xrd.example.org"]
    only_root = (await api.get("/rses/MOCK/protocols/root/xrd.example.org")).json()["protocols"]
    assert [p["hostname"] for p in only_root] == ["xrd.example.org"]
    readers = (await api.get("/rses/MOCK/protocols?protocol_domain=wan&operation=read"
                             "&default=true")).json()["protocols"]
    assert [p["scheme"] for p in readers] == ["file"]
    writers = (await api.get("/rses/MOCK/protocols?protocol_domain=wan&operation=write"))
    assert [p["scheme"] for p in writers.json()["protocols"]] == ["root", "file"]  # 0 is supported, ranks first
    assert (await api.put("/rses/MOCK/protocols/root/xrd.example.org/1094",
                          {"prefix": "/new", "domains": {"lan": {"read": 3}}})).status == 200
    updated = (await api.get("/rses/MOCK/protocols/root/xrd.example.org/1094")).json()
    assert updated["protocols"][0]["prefix"] == "/new"
    assert updated["protocols"][0]["domains"]["lan"]["read"] == 3
    for path, body in [("/rses/MOCK/protocols/root", {"hostname": "other"}),
                       ("/rses/MOCK/protocols/root", {"domains": {"moon": {"read": 1}}}),
                       ("/rses/MOCK/protocols/root", {"domains": {"lan": {"read": -1}}}),
                       ("/rses/MOCK/protocols/root", {"domains": {"lan": {"fly": 1}}})]:
        assert (await api.put(path, body)).status == 400, body
    missing = await api.put("/rses/MOCK/protocols/gsiftp", {"prefix": "/x"})
    assert (missing.status, missing.exception_class) == (404, "RSEProtocolNotSupported")
    for body in ({"scheme": "https"}, dict(PROTOCOL, scheme="https", port="x"),
                 dict(PROTOCOL, scheme="https", colour=1)):
        bad = await api.post("/rses/MOCK/protocols/https", body)
        assert bad.status == 400, body
    assert count_rows(db, RSEProtocol) == 2
    assert (await api.delete("/rses/MOCK/protocols/root/xrd.example.org")).status == 200
    assert (await api.delete("/rses/MOCK/protocols/root")).status == 404
    assert (await api.delete("/rses/MOCK/protocols/file")).status == 200
    assert (await api.get("/rses/MOCK/protocols")).status == 404


# -- distances ---------------------------------------------------------------------------------
async def test_distances(api, db):
    await add_rse(api, "MOCK")
    await add_rse(api, "MOCK2")
    assert (await api.get("/rses/MOCK/distances/MOCK2")).json() == []
    assert (await api.post("/rses/MOCK/distances/MOCK2", {"distance": 3})).status == 201
    dup = await api.post("/rses/MOCK/distances/MOCK2", {"distance": 3})
    assert (dup.status, dup.exception_class) == (409, "Duplicate")
    (distance,) = (await api.get("/rses/MOCK/distances/MOCK2")).json()
    assert distance["distance"] == 3 and distance["src_rse_id"] != distance["dest_rse_id"]
    assert (await api.get("/rses/MOCK2/distances/MOCK")).json() == []
    assert (await api.put("/rses/MOCK/distances/MOCK2", {"ranking": 5})).status == 200
    assert (await api.get("/rses/MOCK/distances/MOCK2")).json()[0]["distance"] == 5
    assert (await api.put("/rses/MOCK2/distances/MOCK", {"distance": 1})).status == 404
    assert (await api.post("/rses/MOCK/distances/MOCK2", {"distance": "far"})).status == 400
    assert (await api.post("/rses/MOCK/distances/NOPE", {"distance": 1})).status == 404
    assert (await api.delete("/rses/MOCK/distances/MOCK2")).status == 200
    assert (await api.delete("/rses/MOCK/distances/MOCK2")).status == 200  # no error (real server)
    assert (await api.post("/rses/MOCK/distances/MOCK2",
                           {"distance": 2, "bidirectional": True})).status == 201
    assert (await api.get("/rses/MOCK2/distances/MOCK")).json()[0]["distance"] == 2
    assert (await api.delete("/rses/MOCK/distances/MOCK2?bidirectional=true")).status == 200
    assert (await api.get("/rses/MOCK2/distances/MOCK")).json() == []


# -- RSE usage and limits ----------------------------------------------------------------------
async def test_rse_usage_and_history(api, db):
    await add_rse(api, "MOCK")
    rse_id = (await api.get("/rses/MOCK")).json()["id"]
    with db.peewee.connection_context():
        Replica.create(rse_id=rse_id, scope="s", name="f1", bytes=10)
        Replica.create(rse_id=rse_id, scope="s", name="f2", bytes=5)
    response = await api.get("/rses/MOCK/usage")
    assert response.headers["Content-Type"] == "application/x-json-stream"
    (rucio,) = response.lines()
    assert rucio["source"] == "rucio" and rucio["used"] == 15 and rucio["files"] == 2
    assert (await api.put("/rses/MOCK/usage", {"source": "srm", "used": 100, "free": 900,
                                               "files": 3})).status == 200
    assert (await api.put("/rses/MOCK/usage", {"source": "srm", "used": 200,
                                               "free": 800})).status == 200
    lines = (await api.get("/rses/MOCK/usage")).lines()
    assert [line["source"] for line in lines] == ["rucio", "srm"]
    srm = (await api.get("/rses/MOCK/usage?source=srm")).lines()
    assert len(srm) == 1 and srm[0]["used"] == 200 and srm[0]["total"] == 1000
    assert srm[0]["rse"] == "MOCK" and srm[0]["rse_id"] == rse_id
    history = (await api.get("/rses/MOCK/usage/history")).lines()
    assert [h["used"] for h in history] == [100, 200]
    assert history[0]["updated_at"].endswith(" UTC") and history[0]["source"] == "srm"
    assert (await api.get("/rses/MOCK/usage/history?source=other")).lines() == []
    for body in ({"used": 1}, {"source": "s", "used": -1}, {"source": "s", "used": "x"},
                 {"source": 5, "used": 1}):
        assert (await api.put("/rses/MOCK/usage", body)).status == 400, body
    assert count_rows(db, RSEUsageHistory) == 2
    assert (await api.get("/rses/NOPE/usage")).exception_class == "RSENotFound"
    with db.peewee.connection_context():
        AccountUsage.create(account="root", rse_id=rse_id, bytes=7, files=1)
    per_account = (await api.get("/rses/MOCK/usage?per_account=true")).lines()
    assert per_account[0]["account_usages"] == [{"account": "root", "used": 7, "files": 1}]


async def test_rse_limits(api, db):
    await add_rse(api, "MOCK")
    assert (await api.get("/rses/MOCK/limits")).json() == {}
    assert (await api.put("/rses/MOCK/limits", {"name": "MinFreeSpace",
                                                "value": 1000})).status == 200
    assert (await api.put("/rses/MOCK/limits", {"name": "MinFreeSpace",
                                                "value": 2000})).status == 200
    assert (await api.get("/rses/MOCK/limits")).json() == {"MinFreeSpace": 2000}
    assert (await api.put("/rses/MOCK/limits", {"name": "x", "value": "big"})).status == 400
    assert (await api.put("/rses/MOCK/limits", {"value": 1})).exception_class == "KeyError"
    assert (await api.delete("/rses/MOCK/limits", {"name": "MinFreeSpace"})).status == 200
    assert (await api.get("/rses/MOCK/limits")).json() == {}


# -- account limits and usage ------------------------------------------------------------------
async def test_local_account_limits(api, db):
    await add_user(api)
    await add_rse(api, "MOCK")
    await add_rse(api, "MOCK2")
    assert (await api.get("/accounts/jdoe/limits")).json() == {}
    assert (await api.post("/accounts/jdoe/limits/local/MOCK", {"bytes": 1000})).status == 201
    assert (await api.put("/accounts/jdoe/limits", {"rse": "MOCK2", "bytes": -1})).status == 200
    assert (await api.get("/accounts/jdoe/limits/local")).json() == {"MOCK": 1000,
                                                                     "MOCK2": math.inf}
    assert (await api.get("/accounts/jdoe/limits")).text.count("Infinity") == 1
    assert (await api.get("/accounts/jdoe/limits/local/MOCK")).json() == {"MOCK": 1000}
    assert (await api.get("/accounts/jdoe/limits/MOCK2")).json() == {"MOCK2": math.inf}
    assert (await api.post("/accounts/jdoe/limits/local/MOCK", {"bytes": 1e4})).status == 201
    assert (await api.get("/accounts/jdoe/limits/MOCK")).json() == {"MOCK": 10000}
    assert (await api.delete("/accounts/jdoe/limits/local/MOCK")).status == 200
    assert (await api.get("/accounts/jdoe/limits/local/MOCK")).json() == {"MOCK": None}
    for path, body, exception in [
            ("/accounts/jdoe/limits/local/MOCK", {"bytes": "lots"}, "InvalidObject"),
            ("/accounts/jdoe/limits/local/MOCK", {"bytes": -2}, "InvalidObject"),
            ("/accounts/jdoe/limits/local/MOCK", {}, "KeyError"),
            ("/accounts/jdoe/limits/local/NOPE", {"bytes": 1}, "RSENotFound"),
            ("/accounts/nobody/limits/local/MOCK", {"bytes": 1}, "AccountNotFound")]:
        response = await api.post(path, body)
        assert response.exception_class == exception, (path, body, response)
    assert (await api.get("/accounts/nobody/limits")).status == 404
    assert (await api.get("/accounts/jdoe/limits/local/NOPE")).status == 404
    assert count_rows(db, AccountLimit) == 1
    # legacy form
    assert (await api.post("/accountlimits/local/jdoe/MOCK", {"bytes": 5})).status == 201
    assert (await api.post("/accountlimits/jdoe/MOCK", {"bytes": 6})).status == 201
    assert (await api.get("/accounts/jdoe/limits/MOCK")).json() == {"MOCK": 6}
    # limits on a deleted RSE disappear from the listing
    assert (await api.delete("/rses/MOCK")).status == 200
    assert (await api.get("/accounts/jdoe/limits")).json() == {"MOCK2": math.inf}


async def test_global_account_limits(api, db):
    await add_user(api)
    for name in ("MOCK", "MOCK2"):
        await add_rse(api, name)
    await api.post("/rses/MOCK/attr/tier", {"value": "2"})
    assert (await api.post("/accounts/jdoe/limits/global/tier%3D2", {"bytes": 50})).status == 201
    assert (await api.post("/accounts/jdoe/limits/global/%2A", {"bytes": -1})).status == 201
    assert (await api.post("/accounts/jdoe/limits/global/NOPE", {"bytes": 1})).status == 201
    limits = (await api.get("/accounts/jdoe/limits/global")).json()
    assert limits["tier=2"]["resolved_rses"] == ["MOCK"] and limits["tier=2"]["limit"] == 50
    assert limits["*"]["resolved_rses"] == ["MOCK", "MOCK2"] and limits["*"]["limit"] == math.inf
    assert limits["NOPE"]["resolved_rse_ids"] == []
    assert (await api.get("/accounts/jdoe/limits/global/tier%3D2")).json() == {"tier=2": 50}
    assert (await api.get("/accounts/jdoe/limits/global/tier%3D3")).json() == {"tier=3": None}
    bad = await api.post("/accounts/jdoe/limits/global/MOCK%26", {"bytes": 1})
    assert (bad.status, bad.exception_class) == (400, "InvalidRSEExpression")
    assert (await api.delete("/accounts/jdoe/limits/global/NOPE")).status == 200
    assert set((await api.get("/accounts/jdoe/limits/global")).json()) == {"tier=2", "*"}


async def test_account_usage(api, db):
    user = await add_user(api)
    await add_user(api, "other")
    for name in ("MOCK", "MOCK2", "MOCK3"):
        await add_rse(api, name)
    ids = {n: (await api.get(f"/rses/{n}")).json()["id"] for n in ("MOCK", "MOCK2", "MOCK3")}
    assert (await user.get("/accounts/jdoe/usage")).lines() == []
    await api.post("/accounts/jdoe/limits/local/MOCK", {"bytes": 1000})
    await api.post("/accounts/jdoe/limits/local/MOCK2", {"bytes": -1})
    await api.post("/accounts/jdoe/limits/global/%2A", {"bytes": 2000})
    with db.peewee.connection_context():
        AccountUsage.create(account="jdoe", rse_id=ids["MOCK"], bytes=300, files=3)
        AccountUsage.create(account="jdoe", rse_id=ids["MOCK3"], bytes=50, files=1)
        AccountUsageHistory.create(account="jdoe", rse_id=ids["MOCK"], bytes=300, files=3)
    response = await user.get("/accounts/jdoe/usage/local")
    assert response.headers["Content-Type"] == "application/x-json-stream"
    lines = response.lines()
    assert [line["rse"] for line in lines] == ["MOCK", "MOCK2", "MOCK3"]
    assert lines[0] == {"rse_id": ids["MOCK"], "rse": "MOCK", "bytes": 300, "files": 3,
                        "bytes_limit": 1000, "bytes_remaining": 700}
    assert lines[1]["bytes_limit"] == math.inf and lines[1]["bytes_remaining"] == math.inf
    assert lines[2]["bytes_limit"] == 0 and lines[2]["bytes_remaining"] == -50
    assert (await user.get("/accounts/jdoe/usage")).lines() == lines
    for path in ("/accounts/jdoe/usage/local/MOCK", "/accounts/jdoe/usage/MOCK"):
        assert (await user.get(path)).lines() == lines[:1]
    (global_line,) = (await user.get("/accounts/jdoe/usage/global")).lines()
    assert global_line == {"rse_expression": "*", "bytes": 350, "files": 4,
                           "bytes_limit": 2000, "bytes_remaining": 1650}
    assert (await user.get("/accounts/jdoe/usage/global/%2A")).lines() == [global_line]
    history = (await user.get("/accounts/jdoe/usage/history/MOCK")).json()
    assert history[0]["bytes"] == 300 and "T" in history[0]["updated_at"]
    missing = await user.get("/accounts/jdoe/usage/history/MOCK2")
    assert (missing.status, missing.exception_class) == (404, "CounterNotFound")
    # only the account itself and root/admin may read it
    for path in ("/accounts/jdoe/usage", "/accounts/jdoe/usage/global",
                 "/accounts/jdoe/usage/history/MOCK"):
        denied = await api.as_("other").get(path)
        assert (denied.status, denied.exception_class) == (401, "AccessDenied"), path
    assert (await api.get("/accounts/jdoe/usage")).status == 200
    assert (await api.get("/accounts/nobody/usage")).exception_class == "AccountNotFound"
    assert (await api.get("/accounts/jdoe/usage/NOPE")).exception_class == "RSENotFound"


def test_live_rse_names_are_unique_in_the_database(db):
    """The database itself refuses a second live RSE of one name (no race between adds)."""
    import peewee

    from rucio_tornado.models import RSE
    with db.peewee.connection_context():
        first = RSE.create(rse="RACE")
        with pytest.raises(peewee.IntegrityError), db.peewee.atomic():
            RSE.create(rse="RACE")
        first.deleted = True
        first.save()
        with pytest.raises(peewee.IntegrityError), db.peewee.atomic():
            RSE.create(rse="RACE")      # a deleted RSE's name stays taken (issue 11 item 10)
