"""DID metadata and metadata keys (``/meta/`` and ``/meta_conventions/``), on both databases."""
import pytest

from rucio_tornado.core.dids.meta import METADATA_COLUMNS as DID_COLUMNS
from rucio_tornado.models import DIDMeta, MetaKey
from tests.conftest import count_rows
from tests.test_dids import SCOPE, add, add_files, jdoe  # noqa: F401

pytestmark = pytest.mark.gen_test
DS = f"/dids/{SCOPE}/ds1"


async def test_plugins(jdoe):  # noqa: F811
    await add(jdoe, "ds1", meta={"free": "x"})
    columns = (await jdoe.get(f"{DS}/meta")).json()
    assert tuple(columns) == DID_COLUMNS and "free" not in columns
    assert columns["did_type"] == "DATASET" and columns["created_at"].endswith("UTC")
    assert (await jdoe.get(f"{DS}/meta?plugin=JSON")).json() == {"free": "x"}
    both = (await jdoe.get(f"{DS}/meta?plugin=ALL")).json()
    assert both["free"] == "x" and both["name"] == "ds1"
    assert (await jdoe.get(f"{DS}/meta/")).json() == both          # seed: all keys
    bad = await jdoe.get(f"{DS}/meta?plugin=NOPE")
    assert (bad.status, bad.exception_class) == (400, "UnsupportedMetadataPlugin")
    assert (await jdoe.get(f"/dids/{SCOPE}/nosuch/meta")).status == 404


async def test_set_get_delete_single_keys(jdoe, db):  # noqa: F811
    await add(jdoe, "ds1")
    assert (await jdoe.post(f"{DS}/meta/energy", {"value": 13})).status == 201
    assert (await jdoe.put(f"{DS}/meta/stage", {"value": "raw"})).status == 200      # seed
    assert (await jdoe.post(f"{DS}/meta/run_number", {"value": "42"})).status == 201
    assert (await jdoe.get(f"{DS}/meta/energy")).json() == {"energy": 13}
    assert (await jdoe.get(f"{DS}/meta/run_number")).json() == {"run_number": 42}
    assert (await jdoe.get(f"{DS}/meta/nokey")).status == 404
    assert (await jdoe.delete(f"{DS}/meta?key=energy")).status == 200                # client
    assert (await jdoe.delete(f"{DS}/meta/stage")).status == 200                     # seed
    assert (await jdoe.delete(f"{DS}/meta?key=never_set")).status == 200
    missing = await jdoe.delete(f"{DS}/meta")
    assert (missing.status, missing.exception_class) == (404, "KeyNotFound")
    column = await jdoe.delete(f"{DS}/meta?key=run_number")
    assert column.status == 409
    assert count_rows(db, DIDMeta) == 0


async def test_column_types_lifetime_and_bad_keys(jdoe, db):  # noqa: F811
    await add(jdoe, "ds1")
    cases = [
        (await jdoe.post(f"{DS}/meta/run_number", {"value": "abc"}), 400, "InvalidValueForKey"),
        (await jdoe.post(f"{DS}/meta/hidden", {"value": "maybe"}), 400, "InvalidValueForKey"),
        (await jdoe.post(f"{DS}/meta/a.b", {"value": 1}), 400, "InvalidMetadata"),
        (await jdoe.post(f"{DS}/meta/did_type", {"value": "FILE"}), 400, "InvalidMetadata"),
        (await jdoe.post(f"{DS}/meta/x", {}), 400, "KeyError"),
        (await jdoe.as_("other").post(f"{DS}/meta/x", {"value": 1}), 401, "AccessDenied"),
    ]
    for response, status, cls in cases:
        assert (response.status, response.exception_class) == (status, cls), response
    assert (await jdoe.post(f"{DS}/meta/lifetime", {"value": 600})).status == 201
    assert (await jdoe.get(DS)).json()["expired_at"] is not None
    assert (await jdoe.post(f"{DS}/meta/lifetime", {"value": None})).status == 201
    assert (await jdoe.get(DS)).json()["expired_at"] is None
    assert (await jdoe.post(f"{DS}/meta/eol_at", {"value": "2030-01-01T00:00:00"})).status == 201
    assert (await jdoe.get(f"{DS}/meta")).json()["eol_at"] == "Tue, 01 Jan 2030 00:00:00 UTC"


async def test_bulk_set_and_get(jdoe, db):  # noqa: F811
    add_files(db, ["f1"])
    await add(jdoe, "ds1", dids=[{"scope": SCOPE, "name": "f1"}])
    await add(jdoe, "ds2")
    body = {"meta": {"project": "p1", "a": 1, "b": [1, 2]}, "recursive": True}
    assert (await jdoe.post(f"{DS}/meta", body)).status == 201
    assert (await jdoe.get(f"/dids/{SCOPE}/f1/meta?plugin=JSON")).json() == {"a": 1, "b": [1, 2]}
    many = {"dids": [{"scope": SCOPE, "name": "ds1", "meta": {"c": "x"}},
                     {"scope": SCOPE, "name": "ds2", "meta": {"c": "y", "project": "p2"}}]}
    assert (await jdoe.post("/dids/bulkdidsmeta", many)).status == 201
    bad = {"dids": [{"scope": SCOPE, "name": "ds1", "meta": {"d": 1}},
                    {"scope": SCOPE, "name": "nosuch", "meta": {"d": 1}}]}
    assert (await jdoe.post("/dids/bulkdidsmeta", bad)).status == 404
    response = await jdoe.post("/dids/bulkmeta", {"dids": [{"scope": SCOPE, "name": "ds1"},
                                                          {"scope": SCOPE, "name": "ds2"}]})
    assert response.headers["Content-Type"] == "application/x-json-stream"
    lines = {line["name"]: line for line in response.lines()}
    assert lines["ds1"]["c"] == "x" and "d" not in lines["ds1"]
    assert lines["ds2"]["c"] == "y"
    columns = await jdoe.post("/dids/bulkmeta", {"dids": [{"scope": SCOPE, "name": "ds2"}],
                                                 "plugin": "DID_COLUMN"})
    assert columns.lines()[0]["project"] == "p2"
    inherited = await jdoe.post("/dids/bulkmeta", {"dids": [{"scope": SCOPE, "name": "f1"}],
                                                   "inherit": True})
    assert inherited.lines()[0]["c"] == "x"


async def test_meta_conventions(api, jdoe):  # noqa: F811
    assert (await api.post("/meta_conventions/datatype2", {"key_type": "DATASET",
                                                           "value_type": "str",
                                                           "value_regexp": "^[A-Z]+$"})).status == 201
    dup = await api.post("/meta_conventions/datatype2", {"key_type": "ALL"})
    assert (dup.status, dup.exception_class) == (409, "Duplicate")
    bad_type = await api.post("/meta_conventions/k2", {"key_type": "NOPE"})
    assert (bad_type.status, bad_type.exception_class) == (400, "UnsupportedKeyType")
    bad_value = await api.post("/meta_conventions/k3", {"key_type": "ALL", "value_type": "blob"})
    assert (bad_value.status, bad_value.exception_class) == (400, "UnsupportedValueType")
    denied = await jdoe.post("/meta_conventions/k4", {"key_type": "ALL"})
    assert denied.status == 401
    assert (await api.get("/meta_conventions/")).json() == ["datatype2"]
    assert (await api.post("/meta_conventions/datatype2/", {"value": "AOD"})).status == 201
    assert (await api.post("/meta_conventions/datatype2/", {"value": "ESD"})).status == 201
    wrong = await api.post("/meta_conventions/datatype2/", {"value": "aod"})
    assert (wrong.status, wrong.exception_class) == (400, "InvalidValueForKey")
    nokey = await api.post("/meta_conventions/nokey/", {"value": "x"})
    assert (nokey.status, nokey.exception_class) == (404, "KeyNotFound")
    assert (await api.get("/meta_conventions/datatype2/")).json() == ["AOD", "ESD"]
    await add(jdoe, "ds1")
    assert (await jdoe.post(f"{DS}/meta/datatype2", {"value": "AOD"})).status == 201
    refused = await jdoe.post(f"{DS}/meta/datatype2", {"value": "RAW"})
    assert (refused.status, refused.exception_class) == (400, "InvalidValueForKey")
    refused = await jdoe.post(f"{DS}/meta/datatype2", {"value": "lower"})
    assert refused.exception_class == "InvalidValueForKey"
    await add(jdoe, "c1", kind="CONTAINER")
    wrong_type = await jdoe.post(f"/dids/{SCOPE}/c1/meta/datatype2", {"value": "AOD"})
    assert (wrong_type.status, wrong_type.exception_class) == (400, "InvalidMetadata")


async def test_seed_meta_key_routes(api, db):
    assert (await api.post("/meta/color")).status == 201
    assert (await api.post("/meta/shape", {"value": "round"})).status == 201
    keys = {k["key"]: k["default"] for k in (await api.get("/meta/")).json()}
    assert keys == {"color": None, "shape": "round"}
    assert (await api.delete("/meta/shape/square")).status == 404
    assert (await api.delete("/meta/shape/round")).status == 200
    assert {k["key"]: k["default"] for k in (await api.get("/meta")).json()}["shape"] is None
    assert (await api.delete("/meta/color")).status == 200
    assert (await api.delete("/meta/color")).status == 404
    assert count_rows(db, MetaKey) == 1


async def test_seed_default_value_routes(api):
    """``POST /meta/{key}/{default}`` sets a default (new key or existing), and
    ``DELETE /meta/{key}/{default}`` clears it."""
    assert (await api.post("/meta/colour/red")).status == 201          # a new key with a default
    assert (await api.post("/meta/size")).status == 201
    assert (await api.post("/meta/size/large")).status == 201          # an existing key
    keys = {k["key"]: k["default"] for k in (await api.get("/meta/")).json()}
    assert keys["colour"] == "red" and keys["size"] == "large"
    assert (await api.delete("/meta/colour/red")).status == 200
    keys = {k["key"]: k["default"] for k in (await api.get("/meta/")).json()}
    assert keys["colour"] is None and keys["size"] == "large"
    denied = await api.as_("jdoe").post("/meta/size/small")
    assert denied.status == 401 or denied.exception_class == "AccountNotFound"
    keys = {k["key"]: k["default"] for k in (await api.get("/meta/")).json()}
    assert keys["size"] == "large"


async def test_bulk_set_groups_identical_metadata_and_keeps_the_order(jdoe, db):  # noqa: F811
    names = [f"g{i}" for i in range(5)]
    add_files(db, names)
    same = {"project": "p9", "stage": "raw"}
    body = {"dids": [{"scope": SCOPE, "name": n, "meta": same} for n in names[:4]]
            + [{"scope": SCOPE, "name": "g4", "meta": {"stage": "cooked"}}]}
    assert (await jdoe.post("/dids/bulkdidsmeta", body)).status == 201
    for name in names[:4]:
        meta = (await jdoe.get(f"/dids/{SCOPE}/{name}/meta?plugin=ALL")).json()
        assert (meta["project"], meta["stage"]) == ("p9", "raw"), name
    assert (await jdoe.get(f"/dids/{SCOPE}/g4/meta?plugin=ALL")).json()["stage"] == "cooked"
    # a DID listed twice: the later item wins, as when each item is applied in turn
    twice = {"dids": [{"scope": SCOPE, "name": "g0", "meta": {"stage": "first"}},
                      {"scope": SCOPE, "name": "g1", "meta": {"stage": "first"}},
                      {"scope": SCOPE, "name": "g0", "meta": {"stage": "last"}}]}
    assert (await jdoe.post("/dids/bulkdidsmeta", twice)).status == 201
    assert (await jdoe.get(f"/dids/{SCOPE}/g0/meta?plugin=ALL")).json()["stage"] == "last"
    assert (await jdoe.get(f"/dids/{SCOPE}/g1/meta?plugin=ALL")).json()["stage"] == "first"
