"""DIRAC addfiles, quarantined replicas, the opendata catalog and s3 signed URLs: handlers on
both databases (status codes, bad input that changes nothing, permissions)."""
import datetime
import json
from urllib.parse import parse_qs, urlparse

import botocore.auth
import pytest

from rucio_tornado.config import Settings
from rucio_tornado.models import (DID, Account, AccountAttribute, AccountLimit, Content, OpenDataDID,
                                  QuarantinedReplica, Replica, RSEAttribute, Rule, Scope)
from tests.conftest import TEST_SECRET
from tests.test_replicas import make_rse
from tests.test_rules import in_db

pytestmark = pytest.mark.gen_test

#: AWS's documented presigned-URL example (Signature V4, query string).
AWS_KEY, AWS_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"


@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "rse-accounts.cfg"
    path.write_text(json.dumps({"S3-DISK": {"access_key": AWS_KEY, "secret_key": AWS_SECRET,
                                            "signature_version": "s3v4",
                                            "region": "us-east-1"}}))
    return Settings(data_dir=str(tmp_path), jwt_secret=TEST_SECRET, periodic_tasks=False,
                    rse_accounts=str(path))


@pytest.fixture
def site(db):
    def create():
        rse = make_rse("DIRAC-DISK")
        RSEAttribute.create(rse_id=rse.id, key="ANY", value="true")
        AccountLimit.create(account="root", rse_id=rse.id, bytes=10 ** 12)
        s3 = make_rse("S3-DISK", protocols=(("https", "s3.amazonaws.com", 443, "/", 1),))
        RSEAttribute.create(rse_id=s3.id, key="s3_url_style", value='"host"')
        for scope in ("belle", "mock"):
            Scope.create(scope=scope, account="root")
        Account.create(account="jdoe", account_type="USER")
        Account.create(account="signer", account_type="USER")
        AccountAttribute.create(account="signer", key="sign-url", value="true")
        Account.create(account="boss", account_type="USER")
        AccountAttribute.create(account="boss", key="admin", value="true")
        return rse.id
    return in_db(db, create)


def counts(db):
    return in_db(db, lambda: (DID.select().count(), Replica.select().count(),
                              Content.select().count(), Rule.select().count()))


def lfn(name="file1", dataset="ds1"):
    return {"lfn": f"/belle/mock/cont1/{dataset}/{name}", "rse": "DIRAC-DISK", "bytes": 12,
            "adler32": "0cc737eb", "guid": "2d4c3b1a0e9f4e8d9c7b6a5f4e3d2c1b"}


# -- DIRAC -------------------------------------------------------------------------------------
async def test_addfiles_creates_the_hierarchy(api, site, db):
    body = {"lfns": [lfn(), lfn("file2")],
            "parents_metadata": {"/belle/mock/cont1/ds1": {"project": "p1"}}}
    response = await api.post("/dirac/addfiles", body)
    assert (response.status, response.body) == (201, b"Created")
    types = in_db(db, lambda: {(d.scope, d.name): d.did_type for d in DID.select()})
    assert types == {("mock", "/belle/mock/cont1/ds1/file1"): "FILE",
                     ("mock", "/belle/mock/cont1/ds1/file2"): "FILE",
                     ("mock", "/belle/mock/cont1/ds1"): "DATASET",
                     ("mock", "/belle/mock/cont1"): "CONTAINER",
                     ("mock", "/belle/mock"): "CONTAINER",
                     ("belle", "/belle"): "CONTAINER"}
    children = in_db(db, lambda: {(c.name, c.child_name) for c in Content.select()})
    assert children == {("/belle/mock/cont1/ds1", "/belle/mock/cont1/ds1/file1"),
                        ("/belle/mock/cont1/ds1", "/belle/mock/cont1/ds1/file2"),
                        ("/belle/mock/cont1", "/belle/mock/cont1/ds1"),
                        ("/belle/mock", "/belle/mock/cont1"), ("/belle", "/belle/mock")}
    rules = in_db(db, lambda: {(r.name, r.rse_expression, r.grouping) for r in Rule.select()})
    assert ("/belle/mock/cont1/ds1", "ANY=true", "NONE") in rules
    assert ("/belle/mock/cont1/ds1/file1", "DIRAC-DISK", "DATASET") in rules
    meta = (await api.get("/dids/mock/%2Fbelle%2Fmock%2Fcont1%2Fds1/meta")).json()
    assert meta["project"] == "p1"
    guid = in_db(db, lambda: DID.get(name="/belle/mock/cont1/ds1/file1").guid)
    assert guid == "2d4c3b1a0e9f4e8d9c7b6a5f4e3d2c1b"
    # again, plus one new file in a new dataset: existing files are skipped
    before = counts(db)
    response = await api.post("/dirac/addfiles", {"lfns": [lfn(), lfn("file3", "ds2")]})
    assert response.status == 201
    assert counts(db)[0] == before[0] + 2


@pytest.mark.parametrize("body, status, exception", [
    ({}, 400, "KeyError"),
    ({"lfns": {}}, 400, "TypeError"),
    ({"lfns": [lfn(), {"lfn": "/belle/file", "rse": "DIRAC-DISK", "bytes": 1}]}, 400,
     "InvalidPath"),
    ({"lfns": [lfn(), dict(lfn("file2"), rse="NOWHERE")]}, 404, "RSENotFound"),
    ({"lfns": [lfn(), dict(lfn("file2"), bytes="big")]}, 400, None),
    ({"lfns": [lfn(), dict(lfn("file2"), colour="red")]}, 400, "InvalidObject"),
])
async def test_bad_addfiles_changes_nothing(api, site, db, body, status, exception):
    response = await api.post("/dirac/addfiles", body)
    assert response.status == status
    if exception:
        assert response.exception_class == exception
    assert counts(db) == (0, 0, 0, 0)


async def test_addfiles_refuses_a_container_as_dataset(api, site, db):
    assert (await api.post("/dids/mock/%2Fbelle%2Fmock%2Fcont1%2Fds1",
                           {"type": "CONTAINER"})).status == 201
    response = await api.post("/dirac/addfiles", {"lfns": [lfn()]})
    assert (response.status, response.exception_class) == (405, "UnsupportedOperation")
    assert counts(db)[0] == 1


async def test_addfiles_permissions(api, site, db):
    response = await api.as_("jdoe").post("/dirac/addfiles", {"lfns": [lfn()]})
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    assert counts(db) == (0, 0, 0, 0)
    # jdoe may register replicas on a SCRATCHDISK, but not files in root's scope belle
    in_db(db, lambda: make_rse("X-SCRATCHDISK"))
    belle = dict(lfn(), lfn="belle:/belle/mock/cont1/ds1/file1", rse="X-SCRATCHDISK")
    response = await api.as_("jdoe").post("/dirac/addfiles", {"lfns": [belle]})
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    assert counts(db) == (0, 0, 0, 0)
    response = await api.as_(None).post("/dirac/addfiles", {"lfns": [lfn()]})
    assert (response.status, response.exception_class) == (400, "ValueError")   # no token


# -- quarantined replicas ----------------------------------------------------------------------
async def test_quarantine(api, site, db):
    await api.post("/dirac/addfiles", {"lfns": [lfn()]})
    replicas = [{"path": "/data/orphan1"}, {"path": "/data/orphan1"},
                {"path": "/data/orphan2", "scope": "mock", "name": "orphan2"},
                {"path": "/data/known", "scope": "mock", "name": "/belle/mock/cont1/ds1/file1"}]
    response = await api.post("/replicas/quarantine", {"rse": "DIRAC-DISK", "replicas": replicas})
    assert (response.status, response.body) == (200, b"")
    rows = lambda: sorted(in_db(db, lambda: [r.path for r in QuarantinedReplica.select()]))  # noqa
    assert rows() == ["/data/orphan1", "/data/orphan2"]
    response = await api.post("/replicas/quarantine",
                              {"rse_id": site, "replicas": [{"path": "/data/orphan1"},
                                                            {"path": "/data/orphan3"}]})
    assert response.status == 200
    assert rows() == ["/data/orphan1", "/data/orphan2", "/data/orphan3"]
    assert (await api.post("/replicas/quarantine", {"replicas": []})).status == 200


@pytest.mark.parametrize("body, status, exception", [
    ({"rse": "DIRAC-DISK", "rse_id": "x", "replicas": [{"path": "/a"}]}, 400,
     "InputValidationError"),
    ({"replicas": [{"path": "/a"}]}, 400, "InputValidationError"),
    ({"rse": "NOWHERE", "replicas": [{"path": "/a"}]}, 404, "RSENotFound"),
    ({"rse_id": "0" * 32, "replicas": [{"path": "/a"}]}, 404, "RSENotFound"),
    ({"rse": "DIRAC-DISK", "replicas": [{"path": "/a"}, {"scope": "mock"}]}, 400,
     "InputValidationError"),
    ({"rse": "DIRAC-DISK", "replicas": [{"path": "/a"}, {"path": "/b", "bytes": -1}]}, 400,
     "InvalidObject"),
    ({"rse": "DIRAC-DISK", "replicas": "all"}, 400, "TypeError"),
])
async def test_bad_quarantine_changes_nothing(api, site, db, body, status, exception):
    response = await api.post("/replicas/quarantine", body)
    assert (response.status, response.exception_class) == (status, exception)
    assert in_db(db, lambda: QuarantinedReplica.select().count()) == 0


async def test_quarantine_is_for_admins(api, site, db):
    body = {"rse": "DIRAC-DISK", "replicas": [{"path": "/a"}]}
    response = await api.as_("jdoe").post("/replicas/quarantine", body)
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    assert (await api.as_("boss").post("/replicas/quarantine", body)).status == 200


# -- opendata ----------------------------------------------------------------------------------
OD = "/opendata/dids/mock/ds1"


async def opendata_dataset(api):
    assert (await api.post("/dids/mock/ds1", {"type": "DATASET"})).status == 201
    assert (await api.post(OD)).status == 201


async def test_opendata_life_cycle(api, site, db):
    await opendata_dataset(api)
    listed = (await api.get("/opendata/dids")).json()
    assert (listed["total"], listed["offset"]) == (1, 0)
    assert listed["dids"][0]["state"] == "DRAFT"
    entry = (await api.get(OD + "?meta=1")).json()
    assert (entry["state"], entry["doi"], entry["record_id"], entry["meta"], entry["rule"]) == \
        ("DRAFT", None, None, {}, None)
    response = await api.put(OD, {"meta": {"title": "T"}, "doi": "10.1234/abc.1",
                                  "record_id": 7})
    assert response.status == 200
    assert response.json()["doi_new"] == "10.1234/abc.1"
    # public needs a closed collection; then no way back to draft
    response = await api.put(OD, {"state": "public"})
    assert (response.status, response.exception_class) == (400, "OpenDataInvalidStateUpdate")
    assert (await api.put("/dids/mock/ds1/status", {"open": False})).status == 200
    result = (await api.put(OD, {"state": "PUBLIC"})).json()
    assert (result["state_old"], result["state_new"]) == ("DRAFT", "PUBLIC")
    response = await api.put(OD, {"state": "draft"})
    assert (response.status, response.exception_class) == (400, "OpenDataInvalidStateUpdate")
    # the public routes need no token
    anonymous = api.as_(None)
    public = (await anonymous.get("/opendata/public/dids")).json()
    assert [d["name"] for d in public["dids"]] == ["ds1"]
    entry = (await anonymous.get("/opendata/public/dids/mock/ds1?meta=1&files=1")).json()
    assert (entry["doi"], entry["record_id"], entry["meta"]) == ("10.1234/abc.1", 7,
                                                                 {"title": "T"})
    assert entry["files_summary"]["length"] == 0
    assert (await anonymous.get("/opendata/dids")).status == 400         # token must be set
    # a public entry cannot be deleted; suspended it is not public any more
    response = await api.delete(OD)
    assert (response.status, response.exception_class) == (400, "OpenDataInvalidState")
    assert (await api.put(OD, {"state": "suspended"})).status == 200
    response = await anonymous.get("/opendata/public/dids/mock/ds1")
    assert (response.status, response.exception_class) == (404, "OpenDataDataIdentifierNotFound")
    assert (await api.get("/opendata/dids?state=suspended")).json()["total"] == 1


async def test_opendata_delete_and_errors(api, site, db):
    await opendata_dataset(api)
    response = await api.post(OD)
    assert (response.status, response.exception_class) == (409,
                                                           "OpenDataDataIdentifierAlreadyExists")
    response = await api.post("/opendata/dids/mock/nothing")
    assert (response.status, response.exception_class) == (404, "DataIdentifierNotFound")
    for body in ({}, {"doi": "not-a-doi"}, {"record_id": -1}, {"state": "gone"},
                 {"meta": "{bad"}, {"meta": [1]}):
        response = await api.put(OD, body)
        assert response.status == 400, body
    entry = (await api.get(OD + "?meta=1")).json()
    assert (entry["doi"], entry["record_id"], entry["meta"]) == (None, None, {})
    assert (await api.get("/opendata/dids?state=gone")).status == 400
    assert (await api.get("/opendata/dids?limit=x")).status == 400
    assert (await api.delete(OD)).status == 204
    assert in_db(db, lambda: OpenDataDID.select().count()) == 0
    response = await api.delete(OD)
    assert (response.status, response.exception_class) == (404, "OpenDataDataIdentifierNotFound")


async def test_opendata_unique_doi_and_permissions(api, site, db):
    await opendata_dataset(api)
    assert (await api.post("/dids/mock/ds2", {"type": "DATASET"})).status == 201
    assert (await api.post("/opendata/dids/mock/ds2")).status == 201
    assert (await api.put(OD, {"doi": "10.1234/x"})).status == 200
    response = await api.put("/opendata/dids/mock/ds2", {"doi": "10.1234/x"})
    assert (response.status, response.exception_class) == (400, "OpenDataDuplicateDOI")
    jdoe = api.as_("jdoe")
    for method, body in (("post", None), ("put", {"doi": "10.1234/y"}), ("delete", None)):
        response = await getattr(jdoe, method)("/opendata/dids/mock/ds2", body)
        assert (response.status, response.exception_class) == (401, "AccessDenied")
    assert (await jdoe.get("/opendata/dids")).json()["total"] == 2


# -- signed URLs -------------------------------------------------------------------------------
@pytest.fixture
def frozen_2013(monkeypatch):
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda *args, **kwargs: datetime.datetime(2013, 5, 24))


SIGN = "/credentials/signurl?rse=S3-DISK&svc=s3&url=https://examplebucket.s3.amazonaws.com/test.txt"


async def test_signurl_known_answer(api, site, frozen_2013):
    response = await api.get(SIGN + "&lifetime=86400")
    assert response.status == 200
    url = urlparse(response.body.decode())
    query = parse_qs(url.query)
    assert (url.netloc, url.path) == ("examplebucket.s3.amazonaws.com", "/test.txt")
    assert query["X-Amz-Signature"] == [AWS_SIGNATURE]
    assert query["X-Amz-Credential"] == [f"{AWS_KEY}/20130524/us-east-1/s3/aws4_request"]
    assert query["X-Amz-Expires"] == ["86400"]
    signer = await api.as_("signer").get(SIGN + "&op=write")
    assert signer.status == 200 and "X-Amz-Signature" in signer.body.decode()


async def test_signurl_refusals(api, site, db):
    for account in ("jdoe", "boss"):     # root or sign-url only, as the real server
        response = await api.as_(account).get(SIGN)
        assert (response.status, response.exception_class) == (401, "AccessDenied")
    response = await api.get(SIGN.replace("S3-DISK", "DIRAC-DISK"))
    assert (response.status, response.exception_class) == (409, "UnsupportedOperation")
    response = await api.get(SIGN.replace("S3-DISK", "NOWHERE"))
    assert response.status == 404
    response = await api.get(SIGN + "&op=fly")
    assert (response.status, response.exception_class) == (400, "ValueError")
    response = await api.get(SIGN + "&lifetime=-5")
    assert (response.status, response.exception_class) == (400, "ValueError")


async def test_addfiles_lifetimes_from_the_config_table(api, site, db):
    from rucio_tornado.models import ConfigOption
    in_db(db, lambda: ConfigOption.insert_many([
        {"section": "dirac", "opt": "lifetime", "value": '{"mo.*": 3600}'},
        {"section": "dirac", "opt": "file_lifetime", "value": "7200"}]).execute())
    assert (await api.post("/dirac/addfiles", {"lfns": [lfn()]})).status == 201
    expiry = in_db(db, lambda: {r.name: r.expires_at - r.created_at for r in Rule.select()})
    assert round(expiry["/belle/mock/cont1/ds1"].total_seconds()) == 3600
    assert round(expiry["/belle/mock/cont1/ds1/file1"].total_seconds()) == 7200
    in_db(db, lambda: ConfigOption.update(value="{bad").where(
        ConfigOption.opt == "lifetime").execute())
    response = await api.post("/dirac/addfiles", {"lfns": [lfn("file2")]})
    assert (response.status, response.exception_class) == (400, "InvalidType")
