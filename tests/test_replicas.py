"""Replicas: registration, states, tombstones, bad replicas, listing shapes and PFNs."""
import pytest

from rucio_tornado.core import events as catalog_events
from rucio_tornado.models import (RSE, DID, Account, AccountAttribute, BadPFN, BadReplica,
                                  Content, DIDMeta, Replica, RSEAttribute, RSEProtocol, Scope)
from tests.conftest import count_rows

ADLER = "0cc737eb"


def make_rse(name, deterministic=True, protocols=(("file", "localhost", 0, "/rucio", 1),),
             **extra):
    row = RSE.create(rse=name, deterministic=deterministic, **extra)
    RSEAttribute.create(rse_id=row.id, key=name, value="true")   # what add_rse does
    for scheme, host, port, prefix, read_wan in protocols:
        RSEProtocol.create(rse_id=row.id, scheme=scheme, hostname=host, port=port,
                           prefix=prefix, impl="rucio.rse.protocols.posix.Default",
                           read_wan=read_wan, write_wan=1, delete_wan=1)
    return row


@pytest.fixture
def world(db):
    """RSEs MOCK (file://localhost/rucio), MOCK2 (no protocol), MOCK3 (two schemes),
    NONDET-MOCK (non-deterministic), DISK1 (closed to users); scope user.jdoe owned by jdoe."""
    with db.peewee.connection_context():
        rses = {
            "MOCK": make_rse("MOCK"),
            "MOCK2": make_rse("MOCK2", protocols=()),
            "MOCK3": make_rse("MOCK3", protocols=(("root", "xrd.example", 1094, "/data", 2),
                                                  ("https", "web.example", 443, "data", 1))),
            "NONDET-MOCK": make_rse("NONDET-MOCK", deterministic=False,
                                    protocols=(("srm", "se.example", 8443, "/pnfs", 1),)),
            "DISK1": make_rse("DISK1"),
        }
        Account.create(account="jdoe", account_type="USER")
        Scope.create(scope="user.jdoe", account="jdoe")
        Scope.create(scope="mock", account="root")
    return rses


def files(*names, scope="user.jdoe", size=100, **extra):
    return [dict(scope=scope, name=n, bytes=size, adler32=ADLER, **extra) for n in names]


async def add(api, rse, items, status=201):
    response = await api.post("/replicas", {"rse": rse, "files": items})
    assert response.status == status, response
    return response


async def listing(api, dids, **options):
    response = await api.post("/replicas/list", {"dids": dids, **options})
    assert response.status == 200, response
    assert response.headers["Content-Type"] == "application/x-json-stream"
    return response.lines()


def did(name, scope="user.jdoe"):
    return {"scope": scope, "name": name}


@pytest.mark.gen_test
async def test_the_api_example_pfn_and_line_shape(api, world, db):
    await add(api, "MOCK", files("f1", md5="0123456789abcdef0123456789abcdef"))
    [line] = await listing(api, [did("f1")])
    pfn = "file://localhost/rucio/user/jdoe/7f/2d/f1"
    assert line == {
        "scope": "user.jdoe", "name": "f1", "bytes": 100,
        "md5": "0123456789abcdef0123456789abcdef", "adler32": ADLER,
        "pfns": {pfn: {"rse_id": world["MOCK"].id, "rse": "MOCK", "type": "DISK",
                       "volatile": False, "domain": "wan", "priority": 1,
                       "client_extract": False}},
        "rses": {"MOCK": [pfn]}, "states": {"MOCK": "AVAILABLE"}}
    with db.peewee.connection_context():
        file_did = DID.get(DID.scope == "user.jdoe", DID.name == "f1")
    assert (file_did.did_type, file_did.account, file_did.bytes) == ("FILE", "root", 100)


@pytest.mark.gen_test
async def test_states_schemes_and_rses_without_protocols(api, world):
    await add(api, "MOCK", files("f1"))
    await add(api, "MOCK2", files("f1"))
    await add(api, "MOCK3", files("f1", state="U"))
    [line] = await listing(api, [did("f1")])
    assert line["states"] == {"MOCK": "AVAILABLE", "MOCK2": "AVAILABLE"}
    assert list(line["rses"]) == ["MOCK"]
    [line] = await listing(api, [did("f1")], all_states=True)
    assert line["states"]["MOCK3"] == "UNAVAILABLE"
    assert line["rses"]["MOCK3"] == ["https://web.example:443/data/user/jdoe/7f/2d/f1"]
    [line] = await listing(api, [did("f1")], all_states=True, schemes=["root"])
    assert line["rses"] == {"MOCK3": ["root://xrd.example:1094/data/user/jdoe/7f/2d/f1"]}
    assert set(line["states"]) == {"MOCK", "MOCK2", "MOCK3"}
    [line] = await listing(api, [did("f1")], unavailable=True, rse_expression="MOCK3")
    assert line["states"] == {"MOCK3": "UNAVAILABLE"}
    response = await api.post("/replicas/list", {"dids": [did("f1")], "rse_expression": "NOPE"})
    assert (response.status, response.exception_class) == (400, "InvalidRSEExpression")


@pytest.mark.gen_test
async def test_collections_expand_with_parents(api, world, db):
    await add(api, "MOCK", files("f1", "f2", "f3"))
    with db.peewee.connection_context():
        for name, kind in (("ds1", "DATASET"), ("ds2", "DATASET"), ("cont", "CONTAINER")):
            DID.create(scope="user.jdoe", name=name, did_type=kind, account="jdoe")
        Content.insert_many([
            dict(scope="user.jdoe", name=ds, child_scope="user.jdoe", child_name=f,
                 did_type="DATASET", child_type="FILE", bytes=100)
            for ds, f in (("ds1", "f1"), ("ds1", "f2"), ("ds2", "f2"), ("ds2", "f3"))]).execute()
        Content.insert_many([
            dict(scope="user.jdoe", name="cont", child_scope="user.jdoe", child_name=ds,
                 did_type="CONTAINER", child_type="DATASET") for ds in ("ds1", "ds2")]).execute()
    lines = await listing(api, [did("ds1")])
    assert [x["name"] for x in lines] == ["f1", "f2"] and "parents" not in lines[0]
    lines = await listing(api, [did("cont")], resolve_parents=True)
    assert sorted(x["name"] for x in lines) == ["f1", "f2", "f2", "f3"]
    f2 = next(x for x in lines if x["name"] == "f2")
    assert sorted(f2["parents"]) == ["user.jdoe:cont", "user.jdoe:ds1", "user.jdoe:ds2"]
    response = await api.get("/dids/user.jdoe/ds1/rses/")
    assert [x["name"] for x in response.lines()] == ["f1", "f2"]
    response = await api.get("/replicas/user.jdoe/ds2?schemes=file")
    assert [x["name"] for x in response.lines()] == ["f2", "f3"]
    assert await listing(api, [did("nosuch")]) == []
    response = await api.get("/replicas/user.jdoe/cont/datasets")
    rows = response.lines()
    assert [(r["name"], r["rse"], r["length"], r["available_length"], r["bytes"], r["state"])
            for r in rows] == [("ds1", "MOCK", 2, 2, 200, "AVAILABLE"),
                               ("ds2", "MOCK", 2, 2, 200, "AVAILABLE")]
    response = await api.post("/replicas/datasets_bulk", {"dids": [did("ds1")]})
    assert [r["name"] for r in response.lines()] == ["ds1"]
    response = await api.get("/replicas/rse/MOCK")
    assert [r["name"] for r in response.lines()] == ["ds1", "ds2"]
    assert (await api.get("/replicas/user.jdoe/nosuch/datasets")).status == 404


@pytest.mark.gen_test
async def test_files_without_replicas_and_metalink(api, world, db):
    await add(api, "MOCK", files("f1"))
    await api.put("/replicas", {"rse": "MOCK", "files": [dict(did("f1"), state="U")]})
    [line] = await listing(api, [did("f1")])
    assert (line["pfns"], line["states"], line["bytes"]) == ({}, {}, 100)
    await api.put("/replicas", {"rse": "MOCK", "files": [dict(did("f1"), state="A")]})
    response = await api.post("/replicas/list", {"dids": [did("f1")]},
                              headers={"Accept": "application/metalink4+xml"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/metalink4+xml"
    assert "<identity>user.jdoe:f1</identity>" in response.text
    assert "file://localhost/rucio/user/jdoe/7f/2d/f1</url>" in response.text


@pytest.mark.gen_test
async def test_non_deterministic_rse_stores_the_path(api, world, db):
    pfn = "srm://se.example:8443/pnfs/some/where/f9"
    await add(api, "NONDET-MOCK", files("f9", pfn=pfn))
    with db.peewee.connection_context():
        assert Replica.get(Replica.name == "f9").path == "some/where/f9"
    [line] = await listing(api, [did("f9")])
    assert line["rses"] == {"NONDET-MOCK": [pfn]}
    response = await api.post("/replicas", {"rse": "NONDET-MOCK", "files": files("f10")})
    assert (response.status, response.exception_class) == (400, "InvalidPath")


@pytest.mark.gen_test
async def test_registration_is_idempotent_and_checked(api, world, db):
    await add(api, "MOCK", files("f1", "f2"))
    await add(api, "MOCK", files("f1", "f2"))
    with db.peewee.connection_context():
        assert Replica.select().count() == 2
    cases = [
        ({"rse": "NOPE", "files": files("x")}, 404, "RSENotFound"),
        ({"rse": "MOCK", "files": files("x", scope="nosuch")}, 404, "ScopeNotFound"),
        ({"rse": "MOCK", "files": files("f1", size=5)}, 412, "FileConsistencyMismatch"),
        ({"rse": "MOCK", "files": files("ok1") + [{"scope": "user.jdoe", "name": "bad name",
                                                   "bytes": 1}]}, 400, "InvalidObject"),
        ({"rse": "MOCK", "files": files("ok2", state="Z")}, 400, "InvalidObject"),
        ({"rse": "MOCK", "files": [{"scope": "user.jdoe", "name": "ok3"}]}, 400,
         "InvalidObject"),
        ({"rse": "MOCK"}, 400, "KeyError"),
        ({"rse": "MOCK", "files": "x"}, 400, "TypeError"),
    ]
    for body, status, cls in cases:
        response = await api.post("/replicas", body)
        assert (response.status, response.exception_class) == (status, cls), body
    assert "file 1 (user.jdoe:bad name)" in (await api.post("/replicas", cases[3][0])).json()[
        "ExceptionMessage"]
    with db.peewee.connection_context():
        assert Replica.select().count() == 2 and DID.select().count() == 2


@pytest.mark.gen_test
async def test_permissions(api, world, db):
    jdoe = api.as_("jdoe")
    assert (await jdoe.post("/replicas", {"rse": "MOCK", "files": files("f1")})).status == 201
    response = await jdoe.post("/replicas", {"rse": "DISK1", "files": files("f2")})
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    response = await jdoe.delete("/replicas", {"rse": "MOCK", "files": [did("f1")]})
    assert response.status == 401
    response = await jdoe.post("/replicas/bad", {"replicas": [], "reason": "x"})
    assert response.status == 401
    with db.peewee.connection_context():
        AccountAttribute.create(account="jdoe", key="admin", value="true")
    assert count_rows(db, Replica) == 1


@pytest.mark.gen_test
async def test_state_changes_emit_hooks_and_delete(api, world, db):
    events = []

    def record_available(rse_id, dids):
        events.append(("available", rse_id, sorted(dids)))

    def record_removed(rse_id, dids):
        events.append(("removed", rse_id, sorted(dids)))
    catalog_events.on(catalog_events.REPLICAS_AVAILABLE, record_available)
    catalog_events.on(catalog_events.REPLICAS_REMOVED, record_removed)
    try:
        await add(api, "MOCK", files("f1") + files("f2", state="C"))
        response = await api.put("/replicas", {"rse": "MOCK", "files": [dict(did("f2"),
                                                                              state="A")]})
        assert response.status == 200
        response = await api.put("/replicas", {"rse": "MOCK", "files": [dict(did("zz"),
                                                                              state="A")]})
        assert (response.status, response.exception_class) == (404, "ReplicaNotFound")
        # the generic policy refuses DELETE /replicas to everyone, root included
        response = await api.delete("/replicas", {"rse": "MOCK", "files": [did("f1")]})
        assert (response.status, response.exception_class) == (401, "AccessDenied")
    finally:
        catalog_events.off(catalog_events.REPLICAS_AVAILABLE, record_available)
        catalog_events.off(catalog_events.REPLICAS_REMOVED, record_removed)
    rse_id = world["MOCK"].id
    assert events == [("available", rse_id, [("user.jdoe", "f1")]),
                      ("available", rse_id, [("user.jdoe", "f2")])]
    assert count_rows(db, Replica) == 2


@pytest.mark.gen_test
async def test_post_on_a_copying_replica_makes_it_available(api, world, db):
    events = []

    def record(rse_id, dids):
        events.append(sorted(dids))
    await add(api, "MOCK", files("f1", "f2", state="C") + [
        {"scope": "user.jdoe", "name": "f3", "bytes": 100, "state": "C"}])
    catalog_events.on(catalog_events.REPLICAS_AVAILABLE, record)
    try:
        response = await api.post("/replicas", {"rse": "MOCK", "files": files("f1", size=5)})
        assert (response.status, response.exception_class) == (412, "FileConsistencyMismatch")
        await add(api, "MOCK", files("f1", "f3") + files("new"))
        await add(api, "MOCK", files("f1", "f3", "new"))            # already AVAILABLE: no-op
    finally:
        catalog_events.off(catalog_events.REPLICAS_AVAILABLE, record)
    assert events == [[("user.jdoe", "f1"), ("user.jdoe", "f3"), ("user.jdoe", "new")]]
    with db.peewee.connection_context():
        rows = sorted(Replica.select(Replica.name, Replica.state, Replica.adler32).tuples())
    assert rows == [("f1", "AVAILABLE", ADLER), ("f2", "COPYING", ADLER),
                    ("f3", "AVAILABLE", ADLER), ("new", "AVAILABLE", ADLER)]


@pytest.mark.gen_test
async def test_big_registrations_all_or_nothing(api, world, db):
    """Calls of >= 1000 files (PostgreSQL streams them through COPY while checking)."""
    names = [f"big{i:05d}" for i in range(1500)]
    bad = files(*names)
    bad[1400] = dict(bad[1400], adler32="xyz")
    response = await api.post("/replicas", {"rse": "MOCK", "files": bad})
    assert (response.status, response.exception_class) == (400, "InvalidObject")
    assert "file 1400 (user.jdoe:big01400)" in response.json()["ExceptionMessage"]
    for body, status, cls in [
            (files(*names[:1200]) + files("x", scope="nosuch"), 404, "ScopeNotFound"),
            (files(*names, size=2 ** 63), 400, "InvalidObject")]:
        response = await api.post("/replicas", {"rse": "MOCK", "files": body})
        assert (response.status, response.exception_class) == (status, cls)
    assert count_rows(db, DID) == 0 and count_rows(db, Replica) == 0
    await add(api, "MOCK", files(*names[:10], state="C") + files(*names[10:20]))
    await add(api, "MOCK", files(*names) + files(names[0]) +
              files("withmeta", meta={"guid": "abc", "color": "red"}))
    with db.peewee.connection_context():
        states = dict(Replica.select(Replica.name, Replica.state).tuples())
        assert DIDMeta.select().where(DIDMeta.name == "withmeta").count() == 1
    assert len(states) == 1501 and set(states.values()) == {"AVAILABLE"}
    await add(api, "MOCK2", files(*names))          # DIDs exist: the general path
    assert count_rows(db, Replica) == 3001 and count_rows(db, DID) == 1501
    fresh = [f"new{i:05d}" for i in range(1000)]
    await add(api, "MOCK3", files(*fresh, state="C") + files(*fresh[:5]))   # first one wins
    with db.peewee.connection_context():
        assert Replica.select().where(Replica.state == "COPYING").count() == 1000
    assert count_rows(db, DID) == 2501


@pytest.mark.gen_test
async def test_tombstones(api, world, db):
    await add(api, "MOCK", files("f1", "f2"))
    with db.peewee.connection_context():
        Replica.update(lock_cnt=1).where(Replica.name == "f2").execute()
    response = await api.post("/replicas/tombstone", {"replicas": [dict(did("f1"), rse="MOCK")]})
    assert response.status == 201
    response = await api.post("/replicas/tombstone", {"replicas": [dict(did("f2"), rse="MOCK")]})
    assert (response.status, response.exception_class) == (423, "ReplicaIsLocked")
    response = await api.post("/replicas/tombstone", {"replicas": [dict(did("f3"), rse="MOCK")]})
    assert (response.status, response.exception_class) == (404, "ReplicaNotFound")
    with db.peewee.connection_context():
        assert Replica.get(Replica.name == "f1").tombstone is not None
        assert Replica.get(Replica.name == "f2").tombstone is None


@pytest.mark.gen_test
async def test_bad_replicas(api, world, db):
    await add(api, "MOCK", files("f1", "f2", "f3"))
    pfn = "file://localhost/rucio/user/jdoe/7f/2d/f1"
    response = await api.post("/replicas/dids", {"pfns": [pfn, "file://localhost/rucio/x/y"]})
    assert response.lines() == [{pfn: {"scope": "user.jdoe", "name": "f1"}}]
    response = await api.post("/replicas/bad", {"replicas": [pfn, "file://localhost/rucio/x/y"],
                                                "reason": "lost"})
    # as the real server: a PFN an RSE protocol fits, without a replica, is named per RSE
    assert (response.status, response.json()) == (
        201, {"DISK1": ["file://localhost/rucio/x/y Unknown replica"]})
    response = await api.post("/replicas/bad", {"replicas": [dict(did("f2"), rse="MOCK"),
                                                             dict(did("f9"), rse="MOCK")],
                                                "reason": "lost"})
    assert response.status == 201 and list(response.json()) == ["MOCK"]
    odd = "gone\tfor\ngood \\N \x01"      # survives PostgreSQL's COPY text format
    response = await api.post("/replicas/bad/dids", {"rse": "MOCK", "dids": [did("f3")],
                                                     "reason": odd})
    assert response.status == 201 and response.json() == {}
    with db.peewee.connection_context():
        states = dict(Replica.select(Replica.name, Replica.state).tuples())
        assert states == {"f1": "BAD", "f2": "BAD", "f3": "BAD"}
        assert BadReplica.select().where(BadReplica.reason == "lost").count() == 2
        assert BadReplica.get(BadReplica.name == "f3").reason == odd
    assert await listing(api, [did("f1")]) == [
        {"scope": "user.jdoe", "name": "f1", "bytes": 100, "md5": None, "adler32": ADLER,
         "pfns": {}, "rses": {}, "states": {}}]
    response = await api.post("/replicas/bad/pfns", {"pfns": [pfn], "reason": "r",
                                                     "state": "SUSPICIOUS", "expires_at": None})
    assert response.status == 201
    assert count_rows(db, BadPFN) == 1


@pytest.mark.gen_test
async def test_bad_states_summary_and_suspicious(api, world, db):
    await add(api, "MOCK", files("f1", "f2"))
    pfn = "file://localhost/rucio/user/jdoe/7f/2d/f1"
    response = await api.post("/replicas/suspicious", {"pfns": [pfn, pfn, "file://x/y"],
                                                       "reason": "checksum"})
    assert (response.status, response.json()) == (201, {"unknown": ["file://x/y"]})
    # a PFN given twice in one call is one declaration (as the real server); a second call
    # is a second one
    response = await api.post("/replicas/suspicious", {"pfns": [pfn], "reason": "checksum"})
    assert (response.status, response.json()) == (201, {})
    await api.post("/replicas/bad", {"replicas": [dict(did("f2"), rse="MOCK")],
                                     "reason": "lost"})
    with db.peewee.connection_context():
        assert Replica.get(Replica.name == "f1").state == "AVAILABLE"   # suspicious only
    response = await api.get("/replicas/bad/states?state=SUSPICIOUS")
    assert response.headers["Content-Type"] == "application/x-json-stream"
    lines = response.lines()
    assert [(x["name"], x["rse"], x["state"], x["reason"]) for x in lines] == \
        [("f1", "MOCK", "SUSPICIOUS", "checksum")] * 2
    assert lines[0]["created_at"].endswith(" UTC")
    assert len((await api.get("/replicas/bad/states")).lines()) == 3
    assert len((await api.get("/replicas/bad/states?rse=MOCK&limit=1")).lines()) == 1
    assert (await api.get("/replicas/bad/states?state=ZZZ")).status == 400
    assert (await api.get("/replicas/bad/states?rse=NOPE")).status == 404
    summary = (await api.get("/replicas/bad/summary")).lines()
    assert sorted((x["reason"], x["BAD"], x["SUSPICIOUS"]) for x in summary) == \
        [("checksum", 0, 2), ("lost", 1, 0)]
    response = await api.get("/replicas/suspicious")
    assert response.headers["Content-Type"] == "application/json"
    assert [(x["name"], x["rse"], x["cnt"]) for x in response.json()] == [("f1", "MOCK", 2)]
    assert (await api.get("/replicas/suspicious?nattempts=2")).json() == []
    assert (await api.get("/replicas/suspicious?nattempts=x")).status == 400


@pytest.mark.gen_test
async def test_listing_bad_input(api, world):
    for body, cls in [({}, "KeyError"), ({"dids": "x"}, "TypeError"),
                      ({"dids": [{"scope": 1}]}, "InvalidObject"),
                      ({"dids": [], "sort": "weird"}, "SortingAlgorithmNotSupported"),
                      ({"dids": [], "nrandom": 0}, "InvalidObject")]:
        response = await api.post("/replicas/list", body)
        assert (response.status, response.exception_class) == (400, cls), body


@pytest.mark.gen_test
async def test_nrandom_and_updated_after(api, world):
    await add(api, "MOCK", files(*[f"f{i}" for i in range(10)]))
    lines = await listing(api, [did(f"f{i}") for i in range(10)], nrandom=3)
    assert len(lines) == 3
    assert await listing(api, [did("f1")], updated_after="2999-01-01T00:00:00") == [
        {"scope": "user.jdoe", "name": "f1", "bytes": 100, "md5": None, "adler32": ADLER,
         "pfns": {}, "rses": {}, "states": {}}]


@pytest.mark.gen_test
async def test_attach_with_rse_registers_replicas_in_the_same_transaction(api, world, db):
    """The DIDs developer's attach calls add_replicas nested in its own transaction."""
    assert (await api.post("/dids/user.jdoe/ds9", {"type": "DATASET"})).status == 201
    response = await api.post("/dids/user.jdoe/ds9/dids", {"rse": "MOCK",
                                                           "dids": files("a1", "a2")})
    assert response.status == 201, response
    lines = await listing(api, [did("ds9")])
    assert [(x["name"], x["states"]) for x in lines] == [("a1", {"MOCK": "AVAILABLE"}),
                                                          ("a2", {"MOCK": "AVAILABLE"})]
    response = await api.post("/dids/user.jdoe/ds9/dids", {"rse": "MOCK",
                                                           "dids": files("a3", size=-1)})
    assert response.status == 400
    with db.peewee.connection_context():
        assert not DID.select().where(DID.name == "a3").exists()


@pytest.mark.gen_test
async def test_a_pfn_shared_by_two_rses_names_the_one_holding_the_replica(api, world):
    """MOCK and DISK1 have the same file://localhost/rucio protocol."""
    await add(api, "DISK1", files("f1"))
    pfn = "file://localhost/rucio/user/jdoe/7f/2d/f1"
    response = await api.post("/replicas/bad", {"replicas": [pfn], "reason": "lost"})
    assert response.status == 201 and response.json() == {}
    lines = await listing(api, [did("f1")], all_states=True)
    assert lines[0]["states"] == {"DISK1": "BAD"}
