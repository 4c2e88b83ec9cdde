"""Dataset locks (``/locks``) and transfer requests (``/requests``): handlers on both databases."""
import pytest

from rucio_tornado.models import RSEDistance, TransferLimit, TransferRequest
from tests.test_rules import add_rule, attach, in_db, make_dataset, world  # noqa: F401

pytestmark = pytest.mark.gen_test


async def two_rules(api, db, world):  # noqa: F811
    """ds1 (2 files, available on SITE-B) with rules on SITE-B (OK) and SITE-A (replicating);
    ds2 (1 file, nowhere) in container cont with a rule on SITE-C."""
    def catalog():
        make_dataset("user.jdoe", "ds1", 2, replicas=[world["SITE-B"]])
        make_dataset("user.jdoe", "ds2", 1)
        make_dataset("user.jdoe", "cont", 0, did_type="CONTAINER")
        attach("user.jdoe", "cont", ["ds1", "ds2"])
    in_db(db, catalog)
    ok = await add_rule(api, "user.jdoe", "ds1", "SITE-B")
    replicating = await add_rule(api, "user.jdoe", "ds1", "SITE-A")
    other = await add_rule(api, "user.jdoe", "ds2", "SITE-C")
    return ok, replicating, other


# -- locks -----------------------------------------------------------------------------------
async def test_dataset_locks_by_did_and_rse(api, db, world):  # noqa: F811
    ok, replicating, _ = await two_rules(api, db, world)
    response = await api.as_("jdoe").get("/locks/user.jdoe/ds1?did_type=dataset")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/x-json-stream"
    lines = sorted(response.lines(), key=lambda line: line["rse"])
    assert [(line["rse"], line["rule_id"], line["state"]) for line in lines] == [
        ("SITE-A", replicating, "REPLICATING"), ("SITE-B", ok, "OK")]
    assert set(lines[0]) == {"rse_id", "rse", "scope", "name", "rule_id", "account", "state",
                             "length", "bytes", "accessed_at"}
    assert lines[0]["rse_id"] == world["SITE-A"] and lines[0]["account"] == "jdoe"
    assert lines[0]["length"] == 2 and lines[0]["bytes"] == 200
    by_rse = (await api.get("/locks/SITE-A?did_type=dataset")).lines()
    assert [(line["name"], line["rule_id"]) for line in by_rse] == [("ds1", replicating)]
    assert (await api.get("/locks/SITE-B/?did_type=dataset")).lines()[0]["rule_id"] == ok
    assert (await api.get("/locks/user.jdoe/nothing?did_type=dataset")).lines() == []


async def test_lock_listing_errors(api, db, world):  # noqa: F811
    await two_rules(api, db, world)
    for path in ("/locks/SITE-A", "/locks/SITE-A?did_type=file", "/locks/user.jdoe/ds1"):
        response = await api.get(path)
        assert (response.status, response.exception_class) == (400, "ValueError"), path
    response = await api.get("/locks/NOPE?did_type=dataset")
    assert (response.status, response.exception_class) == (404, "RSENotFound")
    response = await api.get("/locks/bad%20rse?did_type=dataset")
    assert (response.status, response.exception_class) == (400, "InvalidObject")
    assert (await api.get("/locks/SITE-A?did_type=dataset",
                          headers={"X-Rucio-Auth-Token": "x"})).status == 401


async def test_bulk_locks_for_datasets_and_containers(api, db, world):  # noqa: F811
    ok, replicating, other = await two_rules(api, db, world)
    body = {"dids": [{"scope": "user.jdoe", "name": "cont", "type": "container"},
                     {"scope": "user.jdoe", "name": "ds1"},
                     {"scope": "user.jdoe", "name": "missing"}]}
    response = await api.as_("jdoe").post("/locks/bulk_locks_for_dids", body)
    assert response.status == 200, response
    got = sorted((line["name"], line["rule_id"]) for line in response.lines())
    assert got == sorted([("ds1", ok), ("ds1", replicating), ("ds2", other)])


async def test_bulk_locks_bad_input(api, db, world):  # noqa: F811
    await two_rules(api, db, world)
    cases = [({}, 400, "KeyError"), ({"dids": "x"}, 400, "TypeError"),
             ({"dids": [{"scope": "user.jdoe"}]}, 400, "InvalidObject"),
             ({"dids": [{"scope": "user.jdoe", "name": "ds1", "type": "file"}]}, 400,
              "ValueError"),
             ({"dids": [{"scope": "user.jdoe", "name": "ds1.f000000"}]}, 400, "ValueError")]
    for body, status, name in cases:
        response = await api.post("/locks/bulk_locks_for_dids", body)
        assert (response.status, response.exception_class) == (status, name), body
    response = await api.post("/locks/bulk_locks_for_dids", raw_body="[1]")
    assert (response.status, response.exception_class) == (400, "TypeError")
    assert (await api.get("/locks/bulk_locks_for_dids")).status == 405


# -- requests --------------------------------------------------------------------------------
async def test_request_of_a_did(api, db, world):  # noqa: F811
    _, replicating, _ = await two_rules(api, db, world)
    response = await api.as_("jdoe").get("/requests/user.jdoe/ds1.f000000/SITE-A")
    assert response.status == 200 and response.headers["Content-Type"] == "application/json"
    request = response.json()
    assert request["state"] == "QUEUED" and request["rule_id"] == replicating
    assert request["dest_rse"] == "SITE-A" and request["dest_rse_id"] == world["SITE-A"]
    assert request["account"] == "jdoe" and request["request_type"] == "TRANSFER"
    assert request["bytes"] == 100 and request["created_at"].endswith("UTC")
    response = await api.get("/requests/user.jdoe/ds1.f000000/SITE-B")
    assert (response.status, response.exception_class) == (404, "RequestNotFound")
    response = await api.get("/requests/user.jdoe/ds1.f000000/NOPE")
    assert (response.status, response.exception_class) == (404, "RSENotFound")
    response = await api.get("/requests/history/user.jdoe/ds1.f000000/SITE-A")
    assert (response.status, response.exception_class) == (404, "RequestNotFound")
    response = await api.as_("jdoe").get("/requests/history/user.jdoe/ds1.f000000/SITE-A")
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    in_db(db, lambda: TransferRequest.update(state="DONE").where(
        TransferRequest.name == "ds1.f000000").execute())
    history = (await api.get("/requests/history/user.jdoe/ds1.f000000/SITE-A")).json()
    assert history["state"] == "DONE" and history["transferred_at"].endswith("UTC")


async def test_request_listings(api, db, world):  # noqa: F811
    await two_rules(api, db, world)
    response = await api.get("/requests/list?src_rse=SITE-B&dst_rse=SITE-A&request_states=Q")
    assert response.status == 200, response
    assert sorted(line["name"] for line in response.lines()) == ["ds1.f000000", "ds1.f000001"]
    everything = (await api.get("/requests/list?request_states=Q,D")).lines()
    assert sorted(line["dest_rse"] for line in everything) == ["SITE-A", "SITE-A", "SITE-C"]
    assert (await api.get("/requests/list?src_rse=SITE-C&dst_rse=SITE-A&request_states=Q")
            ).lines() == []
    assert (await api.get("/requests/list?request_states=DONE")).lines() == []
    in_db(db, lambda: TransferRequest.update(state="FAILED").where(
        TransferRequest.dest_rse_id == world["SITE-C"]).execute())
    history = await api.get("/requests/history/list?request_states=F,Q&offset=0&limit=10")
    assert [line["dest_rse"] for line in history.lines()] == ["SITE-C"]
    assert (await api.get("/requests/history/list?request_states=F&offset=1")).lines() == []


async def test_request_listing_errors(api, db, world):  # noqa: F811
    await two_rules(api, db, world)
    cases = [("/requests/list", 400, "MissingParameter"),
             ("/requests/list?request_states=X", 400, "Invalid"),
             ("/requests/list?request_states=Q&src_rse=SITE-A", 400, "MissingParameter"),
             ("/requests/list?request_states=Q&dst_rse=SITE-A", 400, "MissingParameter"),
             ("/requests/list?request_states=Q&src_site=x", 400, "MissingParameter"),
             ("/requests/list?request_states=Q&src_site=x&dst_site=y", 404, "NotFound"),
             ("/requests/list?request_states=Q&src_rse=NOPE&dst_rse=SITE-A", 404,
              "RSENotFound"),
             ("/requests/history/list?request_states=Q&limit=x", 400, "InvalidObject"),
             ("/requests/history/list?request_states=Q&offset=-1", 400, "InvalidObject")]
    for path, status, name in cases:
        response = await api.get(path)
        assert (response.status, response.exception_class) == (status, name), path
    for path in ("/requests/list?request_states=Q", "/requests/history/list?request_states=D",
                 "/requests/metrics", "/requests/transfer_limits"):
        response = await api.as_("jdoe").get(path)
        assert (response.status, response.exception_class) == (401, "AccessDenied"), path


async def test_request_metrics(api, db, world):  # noqa: F811
    await two_rules(api, db, world)
    in_db(db, lambda: RSEDistance.create(src_rse_id=world["SITE-B"],
                                         dest_rse_id=world["SITE-A"], distance=3))
    lines = (await api.get("/requests/metrics")).lines()
    assert len(lines) == 1
    [metric] = lines
    assert metric["src_rse"] == "SITE-B" and metric["dst_rse"] == "SITE-A"
    assert metric["files"]["queued-total"] == 2 and metric["bytes"]["queued-total"] == 200
    assert metric["files"]["queued"] == {"User Subscriptions": 2} and metric["distance"] == 3
    panda = (await api.get("/requests/metrics?format=panda&dst_rse=SITE-A")).json()
    assert list(panda) == ["SITE-B:SITE-A"]
    grouped = (await api.get("/requests/metrics?format=panda&group_by_rse_attribute=tier")
               ).json()
    assert list(grouped) == ["1:1"]
    in_db(db, lambda: TransferRequest.update(state="DONE").execute())
    [metric] = (await api.get("/requests/metrics?src_rse=SITE-B")).lines()
    assert metric["files"]["done-total-1h"] == 2 and "queued" not in metric["files"]
    response = await api.get("/requests/metrics?dst_rse=NOPE")
    assert (response.status, response.exception_class) == (404, "RSENotFound")


async def test_transfer_limits(api, db, world):  # noqa: F811
    body = {"rse_expression": "tier=1", "activity": None, "direction": "D",
            "max_transfers": 10, "volume": None, "deadline": None, "strategy": None,
            "transfers": None, "waitings": None}
    assert (await api.put("/requests/transfer_limits", body)).status == 201
    assert (await api.put("/requests/transfer_limits", dict(body, max_transfers=20))).status \
        == 201
    assert (await api.put("/requests/transfer_limits", dict(body, direction="S"))).status == 201
    limits = (await api.get("/requests/transfer_limits")).lines()
    assert sorted((x["direction"], x["max_transfers"]) for x in limits) == [
        ("DESTINATION", 20), ("SOURCE", 10)]
    assert limits[0]["rse_expression"] == "tier=1" and limits[0]["created_at"].endswith("UTC")
    response = await api.delete("/requests/transfer_limits",
                                {"rse_expression": "tier=1", "activity": None, "direction": "S"})
    assert response.status == 200
    assert [x["direction"] for x in (await api.get("/requests/transfer_limits")).lines()] == \
        ["DESTINATION"]


async def test_transfer_limit_errors_change_nothing(api, db, world):  # noqa: F811
    good = {"rse_expression": "tier=1", "max_transfers": 5}
    cases = [({"max_transfers": 1}, 400, "KeyError"), ({"rse_expression": "tier=1"}, 400,
                                                       "KeyError"),
             (dict(good, max_transfers="x"), 400, "TypeError"),
             (dict(good, max_transfers=-1), 400, "InvalidObject"),
             (dict(good, direction="X"), 400, "InvalidObject"),
             (dict(good, rse_expression="nothing=here"), 400, "InvalidRSEExpression"),
             (dict(good, rse_expression=3), 400, "TypeError")]
    for body, status, name in cases:
        response = await api.put("/requests/transfer_limits", body)
        assert (response.status, response.exception_class) == (status, name), body
    response = await api.as_("jdoe").put("/requests/transfer_limits", good)
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    response = await api.as_("jdoe").delete("/requests/transfer_limits", good)
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    response = await api.put("/requests/transfer_limits", raw_body="nope")
    assert (response.status, response.exception_class) == (400, "ValueError")
    assert in_db(db, lambda: TransferLimit.select().count()) == 0
