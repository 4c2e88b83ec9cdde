"""New DIDs, resurrection, samples and followers through HTTP, on both databases."""
import datetime

import pytest

from rucio_tornado.models import DID, Content, DIDFollower, Rule
from tests.conftest import count_rows
from tests.test_dids import SCOPE, add, add_files, attach, make_owner

pytestmark = pytest.mark.gen_test


@pytest.fixture
def jdoe(api, db):
    make_owner(db)
    return api.as_("jdoe")


def set_columns(db, name, scope=SCOPE, **columns):
    db.run_sync(lambda: DID.update(**columns).where(DID.scope == scope,
                                                    DID.name == name).execute())


def content_of(db, name, scope=SCOPE):
    return db.run_sync(lambda: sorted(r.child_name for r in Content.select().where(
        Content.scope == scope, Content.name == name)))


# -- GET /dids/new -------------------------------------------------------------------------------
async def test_new_dids_lists_the_unseen_ones_by_type(jdoe, db):
    add_files(db, ["f1", "f2"])
    assert (await add(jdoe, "ds1")).status == 201
    set_columns(db, "f2", is_new=False)
    response = await jdoe.get("/dids/new")
    assert response.status == 200, response
    assert response.headers["Content-Type"].startswith("application/x-json-stream")
    lines = response.lines()
    assert {(d["scope"], d["name"], d["did_type"]) for d in lines} == {
        (SCOPE, "f1", "FILE"), (SCOPE, "ds1", "DATASET")}
    files = (await jdoe.get("/dids/new?type=file")).lines()
    assert [d["name"] for d in files] == ["f1"]
    datasets = (await jdoe.get("/dids/new/?type=DATASET")).lines()
    assert [d["name"] for d in datasets] == ["ds1"]


async def test_new_dids_leave_out_rules_being_injected(jdoe, db):
    assert (await add(jdoe, "ds1")).status == 201
    assert (await add(jdoe, "ds2")).status == 201
    db.run_sync(lambda: Rule.insert(account="jdoe", scope=SCOPE, name="ds1", did_type="DATASET",
                                    state="INJECT", rse_expression="MOCK").execute())
    assert [d["name"] for d in (await jdoe.get("/dids/new")).lines()] == ["ds2"]


async def test_new_dids_bad_type_is_400(jdoe):
    response = await jdoe.get("/dids/new?type=BOGUS")
    assert (response.status, response.exception_class) == (400, "InvalidObject")


async def test_new_dids_needs_a_token(api):
    response = await api.as_(None).get("/dids/new")
    assert (response.status, response.exception_class) == (400, "ValueError")


# -- POST /dids/resurrect ------------------------------------------------------------------------
async def test_resurrect_expired_and_deleted_dids(api, jdoe, db):
    for name in ("expired", "deleted", "live"):
        assert (await add(jdoe, name)).status == 201
    past = datetime.datetime(2020, 1, 1)
    set_columns(db, "expired", expired_at=past)
    set_columns(db, "deleted", deleted_at=past, expired_at=past)
    set_columns(db, "live", expired_at=datetime.datetime(2999, 1, 1))
    response = await api.post("/dids/resurrect", [{"scope": SCOPE, "name": "expired"},
                                                  {"scope": SCOPE, "name": "deleted"}])
    assert response.status == 201, response
    assert response.text == "Created"
    rows = db.run_sync(lambda: {r.name: (r.expired_at, r.deleted_at) for r in DID.select()})
    assert rows["expired"] == (None, None) and rows["deleted"] == (None, None)
    assert rows["live"][0] is not None


async def test_resurrect_a_live_did_is_404_and_changes_nothing(api, jdoe, db):
    assert (await add(jdoe, "expired")).status == 201
    assert (await add(jdoe, "live")).status == 201
    set_columns(db, "expired", expired_at=datetime.datetime(2020, 1, 1))
    response = await api.post("/dids/resurrect", [{"scope": SCOPE, "name": "expired"},
                                                  {"scope": SCOPE, "name": "live"}])
    assert (response.status, response.exception_class) == (404, "DataIdentifierNotFound")
    assert f"Deleted Data identifier '{SCOPE}:live' not found" in response.text
    row = db.run_sync(lambda: DID.get(DID.scope == SCOPE, DID.name == "expired"))
    assert row.expired_at is not None            # the whole request rolled back
    response = await api.post("/dids/resurrect", [{"scope": SCOPE, "name": "nothing"}])
    assert response.status == 404


@pytest.mark.parametrize("body, status, exception", [
    ({"scope": SCOPE}, 400, "TypeError"),
    ([{"scope": SCOPE}], 400, "InvalidObject"),
    (["x"], 400, "InvalidObject"),
])
async def test_resurrect_bad_input(api, jdoe, body, status, exception):
    response = await api.post("/dids/resurrect", body)
    assert (response.status, response.exception_class) == (status, exception)


async def test_resurrect_is_for_root_and_admins(jdoe, db):
    assert (await add(jdoe, "expired")).status == 201
    set_columns(db, "expired", expired_at=datetime.datetime(2020, 1, 1))
    response = await jdoe.post("/dids/resurrect", [{"scope": SCOPE, "name": "expired"}])
    assert (response.status, response.exception_class) == (401, "AccessDenied")


# -- POST /dids/sample and the legacy path -----------------------------------------------------
async def _input_container(jdoe, db):
    add_files(db, [f"f{i}" for i in range(10)])
    for ds, files in (("dsA", range(0, 6)), ("dsB", range(4, 10))):   # f4, f5 in both
        assert (await add(jdoe, ds)).status == 201
        assert (await attach(jdoe, ds, [f"f{i}" for i in files])).status == 201
    assert (await add(jdoe, "cont", "CONTAINER")).status == 201
    assert (await attach(jdoe, "cont", ["dsA", "dsB"])).status == 201


async def test_sample_of_a_container(jdoe, db):
    await _input_container(jdoe, db)
    response = await jdoe.post("/dids/sample", {
        "input_scope": SCOPE, "input_name": "cont", "output_scope": SCOPE,
        "output_name": "sample1", "nbfiles": 4})
    assert response.status == 201, response
    picked = content_of(db, "sample1")
    assert len(picked) == 4 and set(picked) <= {f"f{i}" for i in range(10)}
    did = (await jdoe.get(f"/dids/{SCOPE}/sample1")).json()
    assert did["type"] == "DATASET" and did["account"] == "jdoe" and did["open"] is True
    # more files asked for than there are: every distinct file, once
    response = await jdoe.post("/dids/sample", {
        "input_scope": SCOPE, "input_name": "cont", "output_scope": SCOPE,
        "output_name": "sample2", "nbfiles": "50"})
    assert response.status == 201, response
    assert content_of(db, "sample2") == sorted(f"f{i}" for i in range(10))


async def test_sample_by_the_legacy_path(jdoe, db):
    await _input_container(jdoe, db)
    response = await jdoe.post(f"/dids/{SCOPE}/dsA/{SCOPE}/legacy/3/sample")
    assert response.status == 201, response
    picked = content_of(db, "legacy")
    assert len(picked) == 3 and set(picked) <= {f"f{i}" for i in range(6)}
    response = await jdoe.post(f"/dids/{SCOPE}/dsA/{SCOPE}/empty/0/sample")
    assert response.status == 201 and content_of(db, "empty") == []


async def test_sample_errors_change_nothing(api, jdoe, db):
    await _input_container(jdoe, db)
    before = count_rows(db, DID)
    body = {"input_scope": SCOPE, "input_name": "cont", "output_scope": SCOPE,
            "output_name": "dsA", "nbfiles": 2}
    response = await jdoe.post("/dids/sample", body)
    assert (response.status, response.exception_class) == (409, "DataIdentifierAlreadyExists")
    response = await jdoe.post("/dids/sample", dict(body, input_name="nothing", output_name="x"))
    assert (response.status, response.exception_class) == (404, "DataIdentifierNotFound")
    response = await jdoe.post("/dids/sample", dict(body, output_name="x", nbfiles="two"))
    assert (response.status, response.exception_class) == (400, "InvalidObject")
    response = await jdoe.post("/dids/sample", dict(body, output_name="x", nbfiles=-1))
    assert (response.status, response.exception_class) == (400, "InvalidObject")
    response = await jdoe.post("/dids/sample", dict(body, output_name="bad:name"))
    assert (response.status, response.exception_class) == (400, "InvalidObject")
    response = await jdoe.post("/dids/sample", {"input_scope": SCOPE})
    assert (response.status, response.exception_class) == (400, "KeyError")
    response = await jdoe.post(f"/dids/{SCOPE}/cont/{SCOPE}/x/many/sample")
    assert (response.status, response.exception_class) == (400, "InvalidObject")
    # another account's output scope
    response = await jdoe.as_("other").post("/dids/sample", dict(body, output_name="x"))
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    assert count_rows(db, DID) == before


# -- /dids/{scope}/{name}/follow -----------------------------------------------------------------
async def test_follow_list_and_unfollow(api, jdoe, db):
    assert (await add(jdoe, "ds1")).status == 201
    path = f"/dids/{SCOPE}/ds1/follow"
    response = await jdoe.post(path, {"account": "jdoe"})
    assert response.status == 201, response
    assert (await api.post(path, {"account": "other"})).status == 201      # root for other
    response = await jdoe.get(path)
    assert response.status == 200, response
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.lines() == [{"user": "jdoe"}, {"user": "other"}]
    stored = db.run_sync(lambda: DIDFollower.get(DIDFollower.account == "jdoe"))
    assert stored.did_type == "DATASET"
    response = await jdoe.post(path, {"account": "jdoe"})
    assert (response.status, response.exception_class) == (409, "Duplicate")
    response = await jdoe.delete(path, {"account": "jdoe"})
    assert response.status == 200, response
    assert (await jdoe.get(path)).lines() == [{"user": "other"}]
    # not following any more: nothing to do
    assert (await jdoe.delete(path, {"account": "jdoe"})).status == 200


async def test_follow_permissions_and_bad_input(api, jdoe, db):
    assert (await add(jdoe, "ds1")).status == 201
    path = f"/dids/{SCOPE}/ds1/follow"
    response = await jdoe.post(path, {"account": "other"})
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    assert (await api.post(path, {"account": "other"})).status == 201
    response = await jdoe.delete(path, {"account": "other"})
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    response = await jdoe.post(f"/dids/{SCOPE}/nothing/follow", {"account": "jdoe"})
    assert (response.status, response.exception_class) == (404, "DataIdentifierNotFound")
    response = await jdoe.get(f"/dids/{SCOPE}/nothing/follow")
    assert (response.status, response.exception_class) == (404, "DataIdentifierNotFound")
    response = await jdoe.delete(f"/dids/{SCOPE}/nothing/follow", {"account": "jdoe"})
    assert (response.status, response.exception_class) == (404, "DataIdentifierNotFound")
    response = await api.post(path, {"account": "nobody"})
    assert (response.status, response.exception_class) == (404, "AccountNotFound")
    response = await jdoe.post(path, {})
    assert (response.status, response.exception_class) == (400, "KeyError")
    response = await jdoe.post(path, {"account": 5})
    assert (response.status, response.exception_class) == (400, "TypeError")
    response = await jdoe.post(path, {"account": "Bad Name"})
    assert (response.status, response.exception_class) == (400, "InvalidObject")
    assert count_rows(db, DIDFollower) == 1
