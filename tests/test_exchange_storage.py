"""Import/export, lfns2pfns, QoS policies, datasets_vp, signed URLs and X509/GSS identity PUTs:
handlers on both databases (status codes, bad input that changes nothing, permissions)."""
import pytest

from rucio_tornado.models import Account, AccountAttribute, RSEQoSPolicy
from tests.test_replicas import make_rse
from tests.test_rules import in_db

pytestmark = pytest.mark.gen_test


@pytest.fixture
def site(db):
    def create():
        make_rse("XS-DISK", protocols=(("root", "xrd.example.org", 1094, "/data", 1),))
        Account.create(account="jdoe", account_type="USER")
        Account.create(account="boss", account_type="USER")
        AccountAttribute.create(account="boss", key="admin", value="true")
    in_db(db, create)


# -- export / import ---------------------------------------------------------------------------
async def test_export_is_roots_alone(api, site):
    data = (await api.get("/export")).json()
    assert data["rses"]["XS-DISK"]["protocols"][0]["port"] == 1094
    assert data["distances"] == {}
    assert "distances" not in (await api.get("/export?distance=False")).json()
    for account in ("jdoe", "boss"):
        response = await api.as_(account).get("/export")
        assert (response.status, response.exception_class) == (401, "AccessDenied")


async def test_import_adds_and_updates(api, site):
    document = {"rses": {"XS-DISK": {"city": "Bern", "attributes": {"tier": 2}},
                         "XS-NEW": {"rse_type": "TAPE", "MinFreeSpace": 5,
                                    "lfn2pfn_algorithm": "identity"}},
                "distances": {"XS-DISK": {"XS-NEW": {"distance": 4}}}}
    response = await api.as_("boss").post("/import", document)
    assert (response.status, response.body) == (201, b"Created")
    exported = (await api.get("/export")).json()
    assert exported["rses"]["XS-DISK"]["city"] == "Bern"
    assert exported["rses"]["XS-DISK"]["attributes"]["tier"] == "2"
    new = exported["rses"]["XS-NEW"]
    assert (new["rse_type"], new["MinFreeSpace"], new["lfn2pfn_algorithm"]) == \
        ("TAPE", 5, "identity")
    assert exported["distances"]["XS-DISK"]["XS-NEW"]["ranking"] == 4
    response = await api.as_("jdoe").post("/import", document)
    assert (response.status, response.exception_class) == (401, "AccessDenied")


@pytest.mark.parametrize("document, status", [
    ([], 400),
    ({"rses": []}, 400),
    ({"rses": {"XS-BAD": {"rse_type": "FLOPPY"}}}, 400),
    ({"rses": {"XS-BAD": {}}, "distances": {"XS-BAD": {"NOWHERE": {"distance": 1}}}}, 404),
    ({"rses": {"XS-BAD": {"protocols": [{"scheme": "root"}]}}}, 400),
    ({"accounts": [{"account": "new1", "email": None,
                    "identities": [{"type": "USERPASS", "identity": "new1"}]}]}, 400),
])
async def test_bad_import_changes_nothing(api, site, document, status):
    before = (await api.get("/export")).json()
    response = await api.post("/import", document)
    assert response.status == status
    assert (await api.get("/export")).json() == before


async def test_import_accounts_and_identities(api, site, db):
    document = {"accounts": [
        {"account": "root", "email": "root@example.org", "identities": []},
        {"account": "jane", "email": "jane@example.org",
         "identities": [{"type": "x509", "identity": "/CN=Jane"},
                        {"type": "USERPASS", "identity": "jane", "password": "pw"}]}]}
    assert (await api.post("/import", document)).status == 201
    accounts = {a["account"]: a for a in (await api.get("/export")).json()["accounts"]}
    assert set(accounts) == {"root", "jane"}        # as the real server: the rest deleted
    assert {(i["type"], i["identity"]) for i in accounts["jane"]["identities"]} == \
        {("X509", "/CN=Jane"), ("USERPASS", "jane")}
    assert accounts["root"]["email"] == "root@example.org"
    assert in_db(db, lambda: Account.get(account="jdoe").status) == "DELETED"


# -- lfns2pfns ---------------------------------------------------------------------------------
async def test_lfns2pfns(api, site):
    response = await api.get("/rses/XS-DISK/lfns2pfns?lfn=user.jdoe:f1&lfn=mock:a/b")
    assert response.json() == {
        "user.jdoe:f1": "root://xrd.example.org:1094/data/user/jdoe/7f/2d/f1",
        "mock:a/b": response.json()["mock:a/b"]}
    assert response.json()["mock:a/b"].startswith("root://xrd.example.org:1094/data/mock/")
    response = await api.get("/rses/XS-DISK/lfns2pfns?lfn=nocolon")
    assert (response.status, response.exception_class) == (400, "InvalidPath")
    response = await api.get("/rses/XS-DISK/lfns2pfns?lfn=a:b&scheme=https")
    assert (response.status, response.exception_class) == (404, "RSEProtocolNotSupported")
    response = await api.get("/rses/XS-DISK/lfns2pfns?lfn=a:b&operation=fly")
    assert (response.status, response.exception_class) == (404, "RSEOperationNotSupported")
    response = await api.get("/rses/NOPE/lfns2pfns?lfn=a:b")
    assert (response.status, response.exception_class) == (404, "RSENotFound")
    response = await api.get("/rses/XS-DISK/lfns2pfns")
    assert (response.status, response.exception_class) == (404, "ReplicaNotFound")


# -- QoS policies ------------------------------------------------------------------------------
async def test_qos_policies(api, site, db):
    assert (await api.post("/rses/XS-DISK/qos_policy/FAST")).status == 201
    assert (await api.post("/rses/XS-DISK/qos_policy/CHEAP")).status == 201
    response = await api.post("/rses/XS-DISK/qos_policy/FAST")
    assert (response.status, response.exception_class) == (409, "Duplicate")
    assert (await api.get("/rses/XS-DISK/qos_policy")).json() == ["CHEAP", "FAST"]
    response = await api.as_("jdoe").post("/rses/XS-DISK/qos_policy/SLOW")
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    response = await api.post("/rses/NOPE/qos_policy/SLOW")
    assert (response.status, response.exception_class) == (404, "RSENotFound")
    response = await api.post("/rses/XS-DISK/qos_policy/" + "x" * 65)
    assert response.status == 400
    assert (await api.delete("/rses/XS-DISK/qos_policy/FAST")).status == 200
    assert (await api.delete("/rses/XS-DISK/qos_policy/GONE")).status == 200
    assert in_db(db, lambda: [p.qos_policy for p in RSEQoSPolicy.select()]) == ["CHEAP"]


# -- datasets_vp, signed URLs, identities from the connection ---------------------------------
async def test_datasets_vp_without_a_placement_service(api):
    assert (await api.get("/replicas/mock/ds1/datasets_vp")).lines() == ["other"]


async def test_signurl_checks_then_says_unsupported(api, site):
    """s3 signing: tests/test_catalogs.py; gcs and swift stay unsupported."""
    response = await api.get("/credentials/signurl?url=s3://b/k")
    assert (response.status, response.exception_class) == (400, "ValueError")
    response = await api.get("/credentials/signurl?rse=XS-DISK&url=s3://b/k&svc=ftp")
    assert (response.status, response.exception_class) == (400, "ValueError")
    for path in ("/credentials/signurl", "/credentials/signur"):
        response = await api.get(path + "?rse=XS-DISK&url=s3://b/k&svc=gcs")
        assert (response.status, response.exception_class) == (501, "UnsupportedOperation")
        assert "not supported by this server" in response.json()["ExceptionMessage"]


async def test_identity_puts_need_the_connection_identity(api, site):
    for kind, source in (("x509", "SSL_CLIENT_S_DN"), ("gss", "REMOTE_USER")):
        response = await api.put(f"/identities/jdoe/{kind}",
                                 headers={"X-Rucio-Email": "j@example.org"})
        assert (response.status, response.exception_class) == (400, "ValueError")
        assert source in response.json()["ExceptionMessage"]
