"""DIDs: creation, status, hierarchy and listings through HTTP, on both databases."""
import time
from urllib.parse import quote

import pytest

from rucio_tornado.core import accounts, scopes
from rucio_tornado.core.bulk import insert_rows
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.models import DID, Content, ContentHistory, Replica
from tests.conftest import count_rows

pytestmark = pytest.mark.gen_test

SCOPE = "user.jdoe"


def add_files(db, names, scope=SCOPE, size=10, adler32="0cc737eb"):
    """FILE DIDs registered set-based, as the replicas module does."""
    rows = [(scope, n, "FILE", "root", size, adler32) for n in names]
    db.run_sync(insert_rows, DID, ["scope", "name", "did_type", "account", "bytes", "adler32"],
                rows)


ROOT = Issuer("root", is_admin=True)


def make_owner(db):
    """Accounts jdoe (owning scope user.jdoe) and other."""
    db.run_sync(accounts.add_account, ROOT, "jdoe", "USER")
    db.run_sync(accounts.add_account, ROOT, "other", "USER")
    db.run_sync(scopes.add_scope, ROOT, "jdoe", SCOPE)


@pytest.fixture
def jdoe(api, db):
    """The API as jdoe, owner of scope user.jdoe."""
    make_owner(db)
    return api.as_("jdoe")


async def add(api, name, kind="DATASET", scope=SCOPE, **extra):
    return await api.post(f"/dids/{scope}/{quote(name, safe='')}", dict(type=kind, **extra))


async def attach(api, parent, children, scope=SCOPE, **extra):
    return await api.post(f"/dids/{scope}/{parent}/dids",
                          dict(dids=[{"scope": scope, "name": c} for c in children], **extra))


# -- creation -------------------------------------------------------------------------------------
async def test_create_and_get_dataset(jdoe):
    response = await add(jdoe, "ds1", statuses={"monotonic": True}, lifetime=3600,
                         meta={"project": "data18", "custom": 5})
    assert response.status == 201, response
    did = (await jdoe.get(f"/dids/{SCOPE}/ds1")).json()
    assert did["type"] == "DATASET" and did["account"] == "jdoe"
    assert did["open"] is True and did["monotonic"] is True
    assert did["expired_at"].endswith(" UTC")
    assert did["length"] is None and did["bytes"] is None
    meta = (await jdoe.get(f"/dids/{SCOPE}/ds1/meta?plugin=ALL")).json()
    assert meta["project"] == "data18" and meta["custom"] == 5


async def test_create_errors_change_nothing(jdoe, db):
    await add(jdoe, "ds1")
    cases = [
        (await add(jdoe, "ds1"), 409, "DataIdentifierAlreadyExists"),
        (await add(jdoe, "f1", kind="FILE"), 409, "UnsupportedOperation"),
        (await add(jdoe, "bad name"), 400, "InvalidObject"),
        (await add(jdoe, "x", kind="BOX"), 400, "InvalidObject"),
        (await add(jdoe, "ds2", scope="nosuch"), 404, "ScopeNotFound"),
        (await jdoe.post(f"/dids/{SCOPE}/ds3", {}), 400, "KeyError"),
        (await add(jdoe.as_("other"), "ds4"), 401, "AccessDenied"),
        (await add(jdoe, "ds5", meta={"a.b": 1}), 400, "InvalidMetadata"),
    ]
    for response, status, cls in cases:
        assert (response.status, response.exception_class) == (status, cls), response
    assert count_rows(db, DID) == 1


async def test_mock_scope_is_open_to_everybody(api, jdoe):
    assert (await api.post("/accounts/root/scopes/mock")).status == 201
    assert (await add(jdoe.as_("other"), "ds", scope="mock")).status == 201


async def test_bulk_create_all_or_nothing(jdoe, db):
    items = [{"scope": SCOPE, "name": f"c{i}", "type": "CONTAINER"} for i in range(3)]
    assert (await jdoe.post("/dids", items)).status == 201
    bad = [{"scope": SCOPE, "name": "new1", "type": "DATASET"},
           {"scope": SCOPE, "name": "c1", "type": "DATASET"}]
    response = await jdoe.post("/dids", bad)
    assert response.status == 409 and "c1" in response.json()["ExceptionMessage"]
    assert count_rows(db, DID) == 3
    assert (await jdoe.post("/dids", {"not": "a list"})).status == 400
    foreign = [{"scope": SCOPE, "name": "new2", "type": "DATASET", "account": "other"}]
    assert (await jdoe.post("/dids", foreign)).exception_class == "AccessDenied"
    assert count_rows(db, DID) == 3


async def test_create_with_content(jdoe, db):
    add_files(db, ["f1", "f2"])
    response = await add(jdoe, "ds1", dids=[{"scope": SCOPE, "name": "f1"},
                                            {"scope": SCOPE, "name": "f2"}])
    assert response.status == 201
    lines = (await jdoe.get(f"/dids/{SCOPE}/ds1/dids")).lines()
    assert sorted(line["name"] for line in lines) == ["f1", "f2"]


async def test_name_with_slash(jdoe):
    assert (await add(jdoe, "dir/ds")).status == 201
    did = (await jdoe.get(f"/dids/{SCOPE}/dir%2Fds")).json()
    assert did["name"] == "dir/ds"


# -- status ---------------------------------------------------------------------------------------
async def test_close_fixes_bytes_and_length(jdoe, db):
    add_files(db, ["f1", "f2", "f3"], size=7)
    await add(jdoe, "ds1")
    await attach(jdoe, "ds1", ["f1", "f2", "f3"])
    assert (await jdoe.put(f"/dids/{SCOPE}/ds1/status", {"open": False})).status == 200
    did = (await jdoe.get(f"/dids/{SCOPE}/ds1/status")).json()
    assert (did["open"], did["length"], did["bytes"]) == (False, 3, 21)
    again = await jdoe.put(f"/dids/{SCOPE}/ds1/status", {"open": False})
    assert (again.status, again.exception_class) == (409, "UnsupportedOperation")
    closed = await attach(jdoe, "ds1", ["f1"])
    assert closed.status == 409 and "closed" in closed.json()["ExceptionMessage"]
    bad = await jdoe.put(f"/dids/{SCOPE}/ds1/status", {"frozen": True})
    assert (bad.status, bad.exception_class) == (409, "UnsupportedStatus")
    assert (await jdoe.put(f"/dids/{SCOPE}/ds1/status", {"open": True})).status == 200
    opened = await jdoe.put(f"/dids/{SCOPE}/ds1/status", {"open": True})
    assert (opened.status, opened.exception_class) == (409, "UnsupportedOperation")


async def test_dynamic_depth(jdoe, db):
    add_files(db, ["f1", "f2"], size=5)
    await add(jdoe, "ds1")
    await add(jdoe, "c1", kind="CONTAINER")
    await attach(jdoe, "ds1", ["f1", "f2"])
    await attach(jdoe, "c1", ["ds1"])
    did = (await jdoe.get(f"/dids/{SCOPE}/c1?dynamic_depth=FILE")).json()
    assert (did["length"], did["bytes"]) == (2, 10)
    did = (await jdoe.get(f"/dids/{SCOPE}/c1?dynamic_depth=DATASET")).json()
    assert did["length"] == 1


# -- attach / detach ------------------------------------------------------------------------------
async def test_attachment_rules(jdoe, db):
    add_files(db, ["f1", "f2"])
    for name, kind in [("ds1", "DATASET"), ("ds2", "DATASET"), ("c1", "CONTAINER"),
                       ("c2", "CONTAINER"), ("c3", "CONTAINER")]:
        await add(jdoe, name, kind=kind)
    assert (await attach(jdoe, "ds1", ["f1"])).status == 201
    assert (await attach(jdoe, "c1", ["ds1", "ds2"])).status == 201
    assert (await attach(jdoe, "c2", ["c1"])).status == 201
    cases = [
        (await attach(jdoe, "c1", ["f2"]), 409, "UnsupportedOperation"),       # file in container
        (await attach(jdoe, "ds1", ["ds2"]), 409, "UnsupportedOperation"),     # dataset in dataset
        (await attach(jdoe, "f1", ["f2"]), 409, "UnsupportedOperation"),       # into a file
        (await attach(jdoe, "c3", ["ds2", "c1"]), 409, "UnsupportedOperation"),  # mixed
        (await attach(jdoe, "c1", ["c2"]), 409, "UnsupportedOperation"),       # cycle
        (await attach(jdoe, "c1", ["c1"]), 409, "UnsupportedOperation"),       # self
        (await attach(jdoe, "ds1", ["f1"]), 409, "FileAlreadyExists"),
        (await attach(jdoe, "c1", ["ds1"]), 409, "DuplicateContent"),
        (await attach(jdoe, "ds1", ["nosuch"]), 404, "DataIdentifierNotFound"),
        (await attach(jdoe, "nosuch", ["f1"]), 404, "DataIdentifierNotFound"),
        (await attach(jdoe.as_("other"), "ds1", ["f2"]), 401, "AccessDenied"),
        (await attach(jdoe, "ds2", ["f2", "f2"]), 409, "FileAlreadyExists"),
    ]
    for response, status, cls in cases:
        assert (response.status, response.exception_class) == (status, cls), response
    cycle = cases[4][0]
    assert "Circular" in cycle.json()["ExceptionMessage"]
    assert count_rows(db, Content) == 4


async def test_file_consistency_mismatch(jdoe, db):
    add_files(db, ["f1"], size=10, adler32="0cc737eb")
    await add(jdoe, "ds1")
    body = {"attachments": [{"scope": SCOPE, "name": "ds1",
                             "dids": [{"scope": SCOPE, "name": "f1", "bytes": 11}]}]}
    response = await jdoe.post("/dids/attachments", body)
    assert (response.status, response.exception_class) == (412, "FileConsistencyMismatch")
    body["attachments"][0]["dids"][0].update(bytes=10, adler32="0CC737EB")
    assert (await jdoe.post("/dids/attachments", body)).status == 201


async def test_attachments_bulk_forms(jdoe, db):
    add_files(db, ["f1", "f2"])
    await add(jdoe, "ds1")
    await add(jdoe, "ds2")
    bare = [{"scope": SCOPE, "name": "ds1", "dids": [{"scope": SCOPE, "name": "f1"}]},
            {"scope": SCOPE, "name": "ds2", "dids": [{"scope": SCOPE, "name": "f2"}]}]
    assert (await jdoe.post("/dids/attachments", bare)).status == 201
    again = await jdoe.post("/dids/attachments", {"attachments": bare})
    assert again.exception_class == "FileAlreadyExists"
    ok = await jdoe.post("/dids/attachments", {"attachments": bare, "ignore_duplicate": True})
    assert ok.status == 201
    assert count_rows(db, Content) == 2


async def test_one_bad_attachment_rolls_back_all(jdoe, db):
    add_files(db, ["f1", "f2"])
    await add(jdoe, "ds1")
    body = [{"scope": SCOPE, "name": "ds1", "dids": [{"scope": SCOPE, "name": "f1"}]},
            {"scope": SCOPE, "name": "ds1", "dids": [{"scope": SCOPE, "name": "nope"}]}]
    assert (await jdoe.post("/dids/attachments", body)).status == 404
    assert count_rows(db, Content) == 0


async def test_seed_attach_and_content(jdoe):
    await add(jdoe, "c1", kind="CONTAINER")
    await add(jdoe, "ds1")
    assert (await jdoe.post(f"/dids/{SCOPE}/c1/ds1")).status == 201
    lines = (await jdoe.get(f"/dids/{SCOPE}/c1/")).lines()
    assert lines == [{"scope": SCOPE, "name": "ds1", "type": "DATASET", "bytes": None,
                      "adler32": None, "md5": None}]


async def test_detach_and_history(jdoe, db):
    add_files(db, ["f1", "f2"])
    await add(jdoe, "ds1")
    await attach(jdoe, "ds1", ["f1", "f2"])
    body = {"dids": [{"scope": SCOPE, "name": "f1"}]}
    assert (await jdoe.delete(f"/dids/{SCOPE}/ds1/dids", body)).status == 200
    assert [x["name"] for x in (await jdoe.get(f"/dids/{SCOPE}/ds1/dids")).lines()] == ["f2"]
    history = (await jdoe.get(f"/dids/{SCOPE}/ds1/dids/history")).lines()
    assert [h["name"] for h in history] == ["f1"] and history[0]["deleted_at"].endswith("UTC")
    missing = await jdoe.delete(f"/dids/{SCOPE}/ds1/dids", body)
    assert missing.status == 404
    await add(jdoe, "mono", statuses={"monotonic": True})
    await attach(jdoe, "mono", ["f1"])
    refused = await jdoe.delete(f"/dids/{SCOPE}/mono/dids", body)
    assert (refused.status, refused.exception_class) == (409, "UnsupportedOperation")
    assert count_rows(db, ContentHistory) == 1


async def test_files_parents_and_bulkfiles(jdoe, db):
    add_files(db, ["f1", "f2", "f3"])
    await add(jdoe, "ds1")
    await add(jdoe, "ds2")
    await add(jdoe, "c1", kind="CONTAINER")
    await add(jdoe, "c2", kind="CONTAINER")
    await attach(jdoe, "ds1", ["f1", "f2"])
    await attach(jdoe, "ds2", ["f3"])
    await attach(jdoe, "c1", ["ds1"])
    await attach(jdoe, "c2", ["c1"])
    await jdoe.post(f"/dids/{SCOPE}/c2/dids", {"dids": []})
    files = (await jdoe.get(f"/dids/{SCOPE}/c2/files")).lines()
    assert sorted(f["name"] for f in files) == ["f1", "f2"]
    assert set(files[0]) == {"scope", "name", "bytes", "adler32", "guid", "events"}
    long = (await jdoe.get(f"/dids/{SCOPE}/ds1/files?long=True")).lines()
    assert "lumiblocknr" in long[0]
    itself = (await jdoe.get(f"/dids/{SCOPE}/f3/files")).lines()
    assert [f["name"] for f in itself] == ["f3"]
    parents = (await jdoe.get(f"/dids/{SCOPE}/ds1/parents")).lines()
    assert parents == [{"scope": SCOPE, "name": "c1", "type": "CONTAINER"}]
    bulk = (await jdoe.post("/dids/bulkfiles", {"dids": [{"scope": SCOPE, "name": "ds1"},
                                                         {"scope": SCOPE, "name": "ds2"}]}))
    assert sorted(f["name"] for f in bulk.lines()) == ["f1", "f2", "f3"]
    assert (await jdoe.get(f"/dids/{SCOPE}/nosuch/files")).status == 404


async def test_scope_listing(jdoe, db):
    add_files(db, ["f1"], size=3)
    await add(jdoe, "c1", kind="CONTAINER")
    await add(jdoe, "ds1")
    await attach(jdoe, "ds1", ["f1"])
    await attach(jdoe, "c1", ["ds1"])
    top = (await jdoe.get(f"/dids/{SCOPE}/")).lines()
    assert top == [{"scope": SCOPE, "name": "c1", "type": "CONTAINER", "parent": None,
                    "level": 0, "bytes": None}]
    tree = (await jdoe.get(f"/dids/{SCOPE}/?recursive=True")).lines()
    assert [(t["name"], t["level"]) for t in tree] == [("c1", 0), ("ds1", 1), ("f1", 2)]
    assert tree[2]["parent"] == {"scope": SCOPE, "name": "ds1"}
    one = (await jdoe.get(f"/dids/{SCOPE}/?name=f1")).lines()
    assert one[0]["bytes"] == 3
    assert (await jdoe.get(f"/dids/{SCOPE}/?name=nope")).status == 404
    assert (await jdoe.get("/dids/nosuch/")).exception_class == "ScopeNotFound"


async def test_obsolete_hides_and_tombstones(jdoe, db):
    add_files(db, ["f1"])
    await add(jdoe, "ds1")
    await attach(jdoe, "ds1", ["f1"])

    def add_replica():
        Replica.create(rse_id="x" * 32, scope=SCOPE, name="f1", bytes=10)
    db.run_sync(add_replica)
    assert (await jdoe.delete(f"/dids/{SCOPE}/ds1")).status == 200
    assert (await jdoe.get(f"/dids/{SCOPE}/")).lines() == []
    assert (await jdoe.get(f"/dids/{SCOPE}/ds1")).status == 200     # kept for history
    tombstone = db.run_sync(lambda: Replica.get().tombstone)
    assert tombstone is not None


async def test_attach_with_rse_registers_replicas(api, jdoe, db):
    pytest.importorskip("rucio_tornado.core.rses.catalog")
    assert (await api.post("/rses/MOCK", {})).status == 201
    await add(jdoe, "ds1")
    files = [{"scope": SCOPE, "name": f"f{i}", "bytes": 1, "adler32": "0000000a"}
             for i in range(3)]
    response = await jdoe.post(f"/dids/{SCOPE}/ds1/dids", {"dids": files, "rse": "MOCK"})
    assert response.status == 201, response
    assert count_rows(db, Replica) == 3
    created = await jdoe.post("/dids", [{"scope": SCOPE, "name": "ds2", "type": "DATASET",
                                         "rse": "MOCK", "dids": files}])
    assert created.status == 201, created
    assert len((await jdoe.get(f"/dids/{SCOPE}/ds2/files")).lines()) == 3


@pytest.mark.gen_test(timeout=90)
async def test_attach_100k_files_in_one_call(jdoe, db):
    names = [f"file_{i:06d}" for i in range(100_000)]
    add_files(db, names, size=1)
    await add(jdoe, "big")
    start = time.monotonic()
    response = await attach(jdoe, "big", names)
    took = time.monotonic() - start
    assert response.status == 201, response
    listed = (await jdoe.get(f"/dids/{SCOPE}/big/files")).lines()
    got = [f["name"] for f in listed]
    assert len(got) == len(set(got)) == 100_000 and set(got) == set(names)
    print(f"attach 100k files: {took:.2f}s")
    assert took < 30


async def test_create_with_rules(api, jdoe, db):
    from rucio_tornado.models import Rule
    assert (await api.post("/rses/MOCK", {})).status == 201
    assert (await api.post("/rses/MOCK/attr/mock", {"value": True})).status == 201
    rules = [{"copies": 1, "rse_expression": "MOCK", "grouping": "DATASET"}]
    response = await add(jdoe, "ds_rule", rules=rules)
    assert response.status == 201, response
    assert db.run_sync(lambda: [(r.scope, r.name, r.account) for r in Rule.select()]) == [
        (SCOPE, "ds_rule", "jdoe")]
    bad = await add(jdoe, "ds_rule2", rules=[{"copies": 1, "rse_expression": "NOPE"}])
    assert bad.status >= 400 and count_rows(db, DID) == 1


BAD_INPUT = [
    ("POST", "/dids", "not json"),
    ("POST", "/dids", '[{"scope": 5, "name": "x", "type": "DATASET"}]'),
    ("POST", "/dids", '[{"scope": "user.jdoe", "name": "x", "type": "DATASET", "lifetime": "soon"}]'),
    ("POST", "/dids/attachments", '"text"'),
    ("POST", "/dids/attachments", '[{"scope": null, "name": "ds1", "dids": []}]'),
    ("POST", "/dids/attachments", '[{"scope": "user.jdoe", "name": "ds1", "dids": [7]}]'),
    ("POST", "/dids/user.jdoe/ds1/dids", '{"dids": "f1"}'),
    ("POST", "/dids/user.jdoe/ds1/dids", "{}"),
    ("DELETE", "/dids/user.jdoe/ds1/dids", '{"dids": [{"scope": 1, "name": 2}]}'),
    ("PUT", "/dids/user.jdoe/ds1/status", "[]"),
    ("PUT", "/dids/user.jdoe/ds1/status", '{"open": "maybe"}'),
    ("POST", "/dids/bulkfiles", '{"dids": [{"name": "x"}]}'),
    ("POST", "/dids/bulkmeta", '{"dids": [{"scope": [], "name": "x"}]}'),
    ("POST", "/dids/bulkdidsmeta", '{"dids": [{"scope": "user.jdoe", "name": "ds1"}]}'),
    ("POST", "/dids/user.jdoe/ds1/meta", '{"meta": 5}'),
    ("GET", "/dids/user.jdoe/ds1?dynamic_depth=DEEP", None),
]


async def test_bad_input_is_a_clean_4xx(jdoe, db):
    add_files(db, ["f1"])
    await add(jdoe, "ds1")
    before = (count_rows(db, DID), count_rows(db, Content))
    for method, path, raw in BAD_INPUT:
        response = await jdoe.request(method, path, raw_body=raw)
        assert 400 <= response.status < 500, (method, path, raw, response)
        assert response.exception_class, response
    assert (count_rows(db, DID), count_rows(db, Content)) == before
