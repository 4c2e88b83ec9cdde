"""The replica listing and bad-replica answers in the real server's shapes: the Metalink
document, protocols and priorities, blocklisted RSEs, declaration results and errors."""
import datetime

import pytest

from rucio_tornado.models import RSE, BadReplica, Content, DID, Replica, RSEProtocol
from tests.test_replicas import ADLER, add, did, files, listing
from tests.test_replicas import world as rses  # noqa: F401  (the RSEs MOCK, MOCK3, DISK1, ...)

pytestmark = pytest.mark.usefixtures("rses")
PFN = "file://localhost/rucio/user/jdoe/7f/2d/f1"
MD5 = "0123456789abcdef0123456789abcdef"
METALINK = {"Accept": "application/metalink4+xml"}


def make_dataset(db, name, children):
    with db.peewee.connection_context():
        DID.create(scope="user.jdoe", name=name, did_type="DATASET", account="jdoe")
        Content.insert_many([dict(scope="user.jdoe", name=name, child_scope="user.jdoe",
                                  child_name=child, did_type="DATASET", child_type="FILE",
                                  bytes=100) for child in children]).execute()


@pytest.mark.gen_test
async def test_the_metalink_document_element_by_element(api, db):
    await add(api, "MOCK", files("f1", md5=MD5))
    make_dataset(db, "ds1", ["f1"])
    response = await api.post("/replicas/list", {"dids": [did("ds1")], "resolve_parents": True},
                              headers=METALINK)
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/metalink4+xml"
    assert response.text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<metalink xmlns="urn:ietf:params:xml:ns:metalink">\n'
        ' <file name="f1">\n'
        '  <parents>\n'
        '   <did>user.jdoe:ds1</did>\n'
        '  </parents>\n'
        '  <identity>user.jdoe:f1</identity>\n'
        f'  <hash type="adler32">{ADLER}</hash>\n'
        f'  <hash type="md5">{MD5}</hash>\n'
        '  <size>100</size>\n'
        '  <glfn name="/generic/rucio/user.jdoe:f1"></glfn>\n'
        f'  <url location="MOCK" domain="wan" priority="1" client_extract="false">{PFN}</url>\n'
        ' </file>\n'
        '</metalink>\n')
    # GET /replicas/{scope}/{name}: the real server's short urls and "atlas" glfn
    response = await api.get("/replicas/user.jdoe/f1", headers=METALINK)
    text = response.text
    assert '  <glfn name="/atlas/rucio/user.jdoe:f1"></glfn>\n' in text
    assert f'  <url location="MOCK" priority="1">{PFN}</url>\n' in text
    assert "<parents>" not in text and '<hash type="md5">' in text
    # nothing found: head and tail only
    response = await api.post("/replicas/list", {"dids": [did("nosuch")]}, headers=METALINK)
    assert response.text == ('<?xml version="1.0" encoding="UTF-8"?>\n'
                               '<metalink xmlns="urn:ietf:params:xml:ns:metalink">\n'
                               '</metalink>\n')


@pytest.mark.gen_test
async def test_a_metalink_offers_every_supported_scheme(api):
    """MOCK3 has root (priority 2) and https (priority 1); JSON gives the best, Metalink
    both, ranked by priority."""
    await add(api, "MOCK3", files("f1"))
    [line] = await listing(api, [did("f1")])
    assert list(line["pfns"]) == ["https://web.example:443/data/user/jdoe/7f/2d/f1"]
    response = await api.post("/replicas/list", {"dids": [did("f1")]}, headers=METALINK)
    urls = [x.strip() for x in response.text.splitlines() if "<url" in x]
    assert urls == [
        '<url location="MOCK3" domain="wan" priority="1" client_extract="false">'
        'https://web.example:443/data/user/jdoe/7f/2d/f1</url>',
        '<url location="MOCK3" domain="wan" priority="2" client_extract="false">'
        'root://xrd.example:1094/data/user/jdoe/7f/2d/f1</url>']
    [line] = await listing(api, [did("f1")], schemes=["root", "https"])
    assert {pfn: d["priority"] for pfn, d in line["pfns"].items()} == {
        "https://web.example:443/data/user/jdoe/7f/2d/f1": 1,
        "root://xrd.example:1094/data/user/jdoe/7f/2d/f1": 2}
    assert line["rses"] == {"MOCK3": list(line["pfns"])}


@pytest.mark.gen_test
async def test_priority_zero_is_supported_and_domains(api, db):
    with db.peewee.connection_context():
        rse = RSE.get(RSE.rse == "MOCK")
        RSEProtocol.update(read_wan=0, read_lan=3).where(RSEProtocol.rse_id == rse.id).execute()
    await add(api, "MOCK", files("f1"))
    [line] = await listing(api, [did("f1")])
    assert line["rses"] == {"MOCK": [PFN]} and line["pfns"][PFN]["priority"] == 1
    [line] = await listing(api, [did("f1")], domain="lan")
    assert line["pfns"][PFN]["domain"] == "lan"
    # a protocol chosen for both domains is listed once, as lan
    [line] = await listing(api, [did("f1")], domain="all")
    assert {pfn: (d["domain"], d["priority"]) for pfn, d in line["pfns"].items()} == {
        PFN: ("lan", 1)}
    response = await api.post("/replicas/bad", {"replicas": [PFN], "reason": "lost"})
    assert (response.status, response.json()) == (201, {})


@pytest.mark.gen_test
async def test_several_replicas_ranked_and_blocklisted_rses(api, db):
    await add(api, "MOCK", files("f1"))
    await add(api, "MOCK3", files("f1"))
    [line] = await listing(api, [did("f1")])
    https = "https://web.example:443/data/user/jdoe/7f/2d/f1"
    # ranked by domain, protocol priority, then PFN; numbered from 1
    assert {pfn: d["priority"] for pfn, d in line["pfns"].items()} == {PFN: 1, https: 2}
    assert line["rses"] == {"MOCK": [PFN], "MOCK3": [https]}
    with db.peewee.connection_context():
        RSE.update(availability_read=False).where(RSE.rse == "MOCK3").execute()
    # POST /replicas/list leaves blocklisted RSEs out unless ignore_availability
    [line] = await listing(api, [did("f1")])
    assert list(line["states"]) == ["MOCK"]
    [line] = await listing(api, [did("f1")], ignore_availability=False)
    assert list(line["states"]) == ["MOCK"]
    [line] = await listing(api, [did("f1")], ignore_availability=True)
    assert set(line["states"]) == {"MOCK", "MOCK3"}
    [line] = await listing(api, [did("f1")], unavailable=True)
    assert set(line["states"]) == {"MOCK", "MOCK3"}


@pytest.mark.gen_test
async def test_a_collection_lists_only_files_with_replicas(api, db):
    await add(api, "MOCK", files("f1", "f2"))
    with db.peewee.connection_context():
        DID.create(scope="user.jdoe", name="f3", did_type="FILE", account="jdoe", bytes=1)
    make_dataset(db, "ds1", ["f1", "f2", "f3"])
    await api.put("/replicas", {"rse": "MOCK", "files": [dict(did("f2"), state="U")]})
    assert [x["name"] for x in await listing(api, [did("ds1")])] == ["f1"]
    assert [x["name"] for x in await listing(api, [did("ds1")], all_states=True)] == ["f1",
                                                                                     "f2"]
    # a file asked for directly is listed even without a replica
    [line] = await listing(api, [did("f3")])
    assert (line["pfns"], line["rses"], line["states"]) == ({}, {}, {})


@pytest.mark.gen_test
async def test_bad_declarations_answer_as_the_real_server(api, db):
    await add(api, "MOCK", files("f1", "f2"))
    other = "file://localhost/rucio/user/jdoe/00/00/nosuch"
    response = await api.post("/replicas/bad", {"replicas": [PFN, "root://nowhere/x"],
                                                "reason": "lost"})
    assert (response.status, response.exception_class) == (400, "InvalidType")
    response = await api.post("/replicas/bad", {"replicas": ["file://nowhere/x"],
                                                "reason": "lost"})
    assert (response.status, response.exception_class) == (404, "ReplicaNotFound")
    response = await api.post("/replicas/bad", {"replicas": [PFN, did("f2")], "reason": "x"})
    assert (response.status, response.exception_class) == (400, "InvalidType")
    response = await api.post("/replicas/bad", {"replicas": [did("f2")], "reason": "x"})
    assert (response.status, response.exception_class) == (400, "InvalidType")
    with db.peewee.connection_context():
        assert count_bad(db) == 0
    response = await api.post("/replicas/bad", {"replicas": [PFN, other], "reason": "lost"})
    assert (response.status, response.json()) == (201, {"DISK1": [f"{other} Unknown replica"]})
    response = await api.post("/replicas/bad", {"replicas": [PFN], "reason": "lost"})
    assert response.json() == {"MOCK": [f"{PFN} Already declared"]}
    response = await api.post("/replicas/bad", {"replicas": [PFN], "reason": "lost",
                                                "force": True})
    assert response.json() == {}
    response = await api.post("/replicas/bad", {"replicas": [dict(did("f9"), rse="MOCK")],
                                                "reason": "lost"})
    assert response.json() == {"MOCK": ["(user.jdoe, 'f9') Unknown replica"]}
    response = await api.post("/replicas/bad/dids", {"rse": "MOCK", "reason": "x",
                                                     "dids": [did("f1"), did("f9")]})
    assert response.json() == {"MOCK": ["user.jdoe:f1 Already declared",
                                        "user.jdoe:f9 Unknown replica"]}
    with db.peewee.connection_context():
        assert count_bad(db) == 1
        assert Replica.get(Replica.name == "f1").state == "BAD"


def count_bad(db):
    return BadReplica.select().where(BadReplica.state == "BAD").count()


@pytest.mark.gen_test
async def test_suspicious_declarations_and_listing(api, db):
    await add(api, "MOCK", files("f1", "f2"))
    other = "file://localhost/rucio/user/jdoe/00/00/nosuch"
    response = await api.post("/replicas/suspicious", {"pfns": [PFN, other, "file://x/y"],
                                                       "reason": "checksum"})
    assert (response.status, response.json()) == (
        201, {"unknown": ["file://x/y"], "DISK1": [f"{other} Unknown replica"]})
    [f2] = (await listing(api, [did("f2")]))[0]["rses"]["MOCK"]
    for _ in range(2):
        await api.post("/replicas/suspicious", {"pfns": [f2], "reason": "checksum"})
    response = await api.get("/replicas/suspicious")
    assert [(x["name"], x["rse"], x["cnt"]) for x in response.json()] == [
        ("f1", "MOCK", 1), ("f2", "MOCK", 2)]
    assert response.json()[0]["created_at"].endswith(" UTC")
    assert [x["name"] for x in (await api.get("/replicas/suspicious?nattempts=1")).json()] == \
        ["f2"]
    # a replica also declared BAD is no longer suspicious
    await api.post("/replicas/bad", {"replicas": [f2], "reason": "lost"})
    assert [x["name"] for x in (await api.get("/replicas/suspicious")).json()] == ["f1"]


@pytest.mark.gen_test
async def test_bad_pfn_expiry_rules(api):
    for state, expires_at in (("TEMPORARY_UNAVAILABLE", None),
                              ("TEMPORARY_UNAVAILABLE", "2999-01-01T00:00:00.000000"),
                              ("BAD", "2999-01-01T00:00:00.000000")):
        response = await api.post("/replicas/bad/pfns", {"pfns": [PFN], "reason": "r",
                                                         "state": state,
                                                         "expires_at": expires_at})
        assert (response.status, response.exception_class) == (400, "InputValidationError")
    soon = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")
    response = await api.post("/replicas/bad/pfns", {"pfns": [PFN], "reason": "r",
                                                     "state": "TEMPORARY_UNAVAILABLE",
                                                     "expires_at": soon})
    assert response.status == 201
