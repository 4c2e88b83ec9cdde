"""Replication rules: placement, quotas, locks, state transitions, delete, expiry, listings."""
import datetime
import time

import pytest
import ujson

from rucio_tornado.core import events
from rucio_tornado.core.bulk import insert_rows
from rucio_tornado.core.rules.reactions import expire_rules
from rucio_tornado.models import (DID, RSE, Account, AccountAttribute, AccountGlobalLimit,
                                  AccountLimit, AccountUsage, AccountUsageHistory, Content,
                                  DatasetLock, Replica, ReplicaLock, RSEAttribute, Rule,
                                  RuleHistory, Scope, TransferRequest, utcnow)

pytestmark = pytest.mark.gen_test

GB = 10 ** 9


def make_rse(name, **extra):
    attributes = extra.pop("attributes", {})
    row = RSE.create(rse=name, **extra)
    RSEAttribute.create(rse_id=row.id, key=name, value="true")
    for key, value in attributes.items():
        RSEAttribute.create(rse_id=row.id, key=key, value=ujson.dumps(value))
    return row.id


def make_dataset(scope, name, nfiles, size=100, replicas=(), state="AVAILABLE", did_type="DATASET",
                 prefix=None):
    """A dataset of ``nfiles`` files (``size`` bytes each), with replicas on ``replicas``."""
    prefix = prefix or name
    DID.create(scope=scope, name=name, did_type=did_type, account="root", is_open=True)
    files = [f"{prefix}.f{i:06d}" for i in range(nfiles)]
    insert_rows(DID, ["scope", "name", "did_type", "account", "bytes", "is_new"],
                [(scope, f, "FILE", "root", size, False) for f in files])
    insert_rows(Content, ["scope", "name", "child_scope", "child_name", "did_type", "child_type",
                          "bytes"], [(scope, name, scope, f, did_type, "FILE", size) for f in files])
    for rse_id in replicas:
        insert_rows(Replica, ["rse_id", "scope", "name", "bytes", "state"],
                    [(rse_id, scope, f, size, state) for f in files])
    return files


def attach(scope, container, children, child_type="DATASET"):
    for child in children:
        Content.create(scope=scope, name=container, child_scope=scope, child_name=child,
                       did_type="CONTAINER", child_type=child_type)


@pytest.fixture
def world(db):
    """RSEs SITE-A/B/C (tier 1/1/2), a TAPE, a staging area, a MOCK-marked RSE, a read-only
    RSE; accounts jdoe (limits 1 GB on A, B, C) and boss (admin); scope user.jdoe."""
    with db.peewee.connection_context():
        rses = {
            "SITE-A": make_rse("SITE-A", attributes={"tier": "1", "w": "5"}),
            "SITE-B": make_rse("SITE-B", attributes={"tier": "1", "w": "1"}),
            "SITE-C": make_rse("SITE-C", attributes={"tier": "2", "w": "9"}),
            "TAPE1": make_rse("TAPE1", rse_type="TAPE"),
            "STAGE1": make_rse("STAGE1", staging_area=True),
            "FAKE1": make_rse("FAKE1", attributes={"mock": True}),
            "RO1": make_rse("RO1", availability_write=False),
        }
        Account.create(account="jdoe", account_type="USER")
        Account.create(account="boss", account_type="USER")
        AccountAttribute.create(account="boss", key="admin", value="true")
        Scope.create(scope="user.jdoe", account="jdoe")
        for name in ("SITE-A", "SITE-B", "SITE-C", "TAPE1", "STAGE1", "RO1"):
            AccountLimit.create(account="jdoe", rse_id=rses[name], bytes=GB)
    return rses


def rule_body(scope, name, expression, copies=1, **extra):
    body = {"dids": [{"scope": scope, "name": name}], "copies": copies,
            "rse_expression": expression, "account": "jdoe", "weight": None, "lifetime": None,
            "grouping": "DATASET", "locked": False, "source_replica_expression": None,
            "activity": None, "notify": "N", "purge_replicas": False,
            "ignore_availability": False, "comment": None, "ask_approval": False,
            "asynchronous": False, "delay_injection": None, "priority": 3, "meta": None}
    body.update(extra)
    return body


async def add_rule(api, *args, expect=201, **kwargs):
    response = await api.as_(kwargs.pop("as_", "jdoe")).post("/rules/",
                                                               rule_body(*args, **kwargs))
    assert response.status == expect, response
    return response.json()[0] if expect == 201 else response


def in_db(db, fn):
    with db.peewee.connection_context():
        return fn()


def locks_of(db, rule_id):
    return in_db(db, lambda: sorted(
        (lock.name, lock.rse_id, lock.state) for lock in
        ReplicaLock.select().where(ReplicaLock.rule_id == rule_id)))


def usage(db, account, rse_id):
    row = in_db(db, lambda: AccountUsage.get_or_none(account=account, rse_id=rse_id))
    return (row.files, row.bytes) if row else (0, 0)


# -- creation and placement --------------------------------------------------------------------
async def test_rule_on_available_data_is_ok_at_once(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds1", 3, replicas=[world["SITE-B"]]))
    rule_id = await add_rule(api, "user.jdoe", "ds1", "tier=1")
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert rule["state"] == "OK" and rule["locks_ok_cnt"] == 3
    assert rule["locks_replicating_cnt"] == 0 and "bytes" in rule
    assert rule["activity"] == "User Subscriptions" and rule["grouping"] == "DATASET"
    assert rule["created_at"].endswith("UTC") and rule["locked"] is False
    assert {rse for _, rse, _ in locks_of(db, rule_id)} == {world["SITE-B"]}
    assert in_db(db, lambda: [r.lock_cnt for r in Replica.select()]) == [1, 1, 1]
    assert usage(db, "jdoe", world["SITE-B"]) == (3, 300)
    assert in_db(db, lambda: AccountUsageHistory.select().count()) == 1
    assert in_db(db, lambda: DatasetLock.select().count()) == 1
    locks = (await api.get(f"/rules/{rule_id}/locks")).lines()
    assert locks[0] == {"scope": "user.jdoe", "name": "ds1.f000000", "rse_id": world["SITE-B"],
                        "rse": "SITE-B", "state": "OK", "rule_id": rule_id}


async def test_missing_data_is_copying_with_requests(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds1", 2))
    rule_id = await add_rule(api, "user.jdoe", "ds1", "SITE-A|SITE-B", copies=2)
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert rule["state"] == "REPLICATING" and rule["locks_replicating_cnt"] == 4
    replicas = in_db(db, lambda: sorted((r.rse_id, r.state, r.lock_cnt) for r in Replica.select()))
    assert {(state, cnt) for _, state, cnt in replicas} == {("COPYING", 1)} and len(replicas) == 4
    assert in_db(db, lambda: TransferRequest.select().where(
        TransferRequest.state == "QUEUED").count()) == 4


async def test_grouping_all_dataset_none(api, db, world):
    a, b, c = world["SITE-A"], world["SITE-B"], world["SITE-C"]

    def setup():
        make_dataset("user.jdoe", "d1", 2, replicas=[b])
        make_dataset("user.jdoe", "d2", 2, replicas=[c])
        make_dataset("user.jdoe", "d3", 1, replicas=[c])
        DID.create(scope="user.jdoe", name="cont", did_type="CONTAINER", account="root")
        attach("user.jdoe", "cont", ["d1", "d2", "d3"])
    in_db(db, setup)
    by_dataset = await add_rule(api, "user.jdoe", "cont", "SITE-A|SITE-B|SITE-C")
    placed = {name.split(".")[0]: rse for name, rse, _ in locks_of(db, by_dataset)}
    assert placed == {"d1": b, "d2": c, "d3": c}
    together = await add_rule(api, "user.jdoe", "cont", "SITE-C|SITE-B|SITE-A", grouping="ALL",
                              copies=1, comment="all")
    assert {rse for _, rse, _ in locks_of(db, together)} == {c}      # most bytes already there
    per_file = await add_rule(api, "user.jdoe", "cont", "*\\TAPE1\\STAGE1\\FAKE1\\RO1",
                              grouping="NONE")
    placed = {name: rse for name, rse, _ in locks_of(db, per_file)}
    assert placed["d1.f000000"] == b and placed["d2.f000001"] == c
    assert (await api.get(f"/rules/{per_file}")).json()["state"] == "OK"
    weighted = await add_rule(api, "user.jdoe", "d1", "SITE-A|SITE-C", weight="w")
    assert {rse for _, rse, _ in locks_of(db, weighted)} == {c}
    by_name = await add_rule(api, "user.jdoe", "d1", "SITE-C|SITE-A")
    assert {rse for _, rse, _ in locks_of(db, by_name)} == {a}   # no free space known: name


async def test_file_rule_and_two_copies(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1, replicas=[world["SITE-C"]]))
    rule_id = await add_rule(api, "user.jdoe", "ds.f000000", "tier=1|tier=2", copies=2)
    rses = {rse for _, rse, _ in locks_of(db, rule_id)}
    assert rses == {world["SITE-C"], world["SITE-A"]}
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert rule["did_type"] == "FILE" and rule["state"] == "REPLICATING"
    assert rule["locks_ok_cnt"] == 1 and rule["locks_replicating_cnt"] == 1


# -- quotas ------------------------------------------------------------------------------------
async def test_local_quota_under_exact_over_unlimited(api, db, world):
    a = world["SITE-A"]
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 10, size=100))

    def limit(value):
        in_db(db, lambda: AccountLimit.update(bytes=value).where(
            AccountLimit.account == "jdoe", AccountLimit.rse_id == a).execute())
    limit(999)
    response = await add_rule(api, "user.jdoe", "ds", "SITE-A", expect=409)
    assert response.exception_class == "InsufficientAccountLimit"
    assert in_db(db, lambda: Rule.select().count()) == 0
    limit(1000)
    first = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    assert usage(db, "jdoe", a) == (10, 1000)
    response = await add_rule(api, "user.jdoe", "ds", "(SITE-A)", expect=409)
    assert response.exception_class == "InsufficientAccountLimit"
    limit(-1)
    await add_rule(api, "user.jdoe", "ds", "SITE-A|SITE-A", grouping="ALL")
    assert usage(db, "jdoe", a) == (20, 2000)
    assert first


async def test_no_limit_is_zero_and_exemptions(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2))
    response = await add_rule(api, "user.jdoe", "ds", "SITE-A", expect=409, account="root",
                              as_="root")
    assert response.exception_class == "InsufficientAccountLimit"        # root not exempt
    await add_rule(api, "user.jdoe", "ds", "FAKE1", account="root", as_="root")  # mock RSE
    await add_rule(api, "user.jdoe", "ds", "SITE-A", account="boss", as_="root")  # admin
    waiting = await add_rule(api, "user.jdoe", "ds", "SITE-B", account="root", as_="root",
                             ask_approval=True)
    rule = (await api.get(f"/rules/{waiting}")).json()
    assert rule["state"] == "WAITING_APPROVAL" and locks_of(db, waiting) == []
    assert (await api.put(f"/rules/{waiting}", {"options": {"approve": True}})).status == 200
    assert (await api.get(f"/rules/{waiting}")).json()["state"] == "REPLICATING"
    assert len(locks_of(db, waiting)) == 2


async def test_global_limits(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 5, size=100))
    in_db(db, lambda: AccountGlobalLimit.create(account="jdoe", rse_expression="tier=1",
                                                bytes=600))
    await add_rule(api, "user.jdoe", "ds", "SITE-A")                 # 500 of 600
    response = await add_rule(api, "user.jdoe", "ds", "SITE-B", expect=409)
    assert response.exception_class == "InsufficientAccountLimit"
    await add_rule(api, "user.jdoe", "ds", "SITE-C")                 # not covered
    in_db(db, lambda: AccountGlobalLimit.update(bytes=-1).execute())
    await add_rule(api, "user.jdoe", "ds", "SITE-B")


# -- validation and special RSEs ---------------------------------------------------------------
async def test_rule_input_errors(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1))
    body = rule_body("user.jdoe", "ds", "SITE-A")
    del body["account"]
    response = await api.post("/rules/", body)
    assert response.status == 400 and response.exception_class == "KeyError"
    response = await api.post("/rules/", dict(rule_body("user.jdoe", "ds", "SITE-A"), bogus=1))
    assert response.status == 409 and response.exception_class == "InvalidObject"
    cases = [({"rse_expression": "NOPE"}, "InvalidRSEExpression"),
             ({"rse_expression": "SITE-A&"}, "InvalidRSEExpression"),
             ({"copies": 4, "rse_expression": "tier=1|tier=2"}, "InsufficientTargetRSEs"),
             ({"rse_expression": "RO1"}, "RSEWriteBlocked"),
             ({"rse_expression": "STAGE1"}, "StagingAreaRuleRequiresLifetime"),
             ({"grouping": "SOME"}, "InvalidObject"),
             ({"activity": "Nope"}, "InvalidObject"),
             ({"copies": 0}, "InvalidObject")]
    for extra, exception in cases:
        response = await add_rule(api, "user.jdoe", "ds", "SITE-A", expect=409,
                                  **{k: v for k, v in extra.items()})
        assert response.exception_class == exception, (extra, response)
    response = await add_rule(api, "user.jdoe", "nope", "SITE-A", expect=404)
    assert response.exception_class == "DataIdentifierNotFound"
    response = await add_rule(api, "user.jdoe", "ds", "SITE-A", account="root", expect=401)
    assert response.exception_class == "AccessDenied"
    response = await add_rule(api, "user.jdoe", "ds", "SITE-A", locked=True, expect=401)
    assert in_db(db, lambda: Rule.select().count()) == 0
    assert (await api.get("/rules/not-hex")).status == 404
    assert (await api.get("/rules/" + "0" * 32)).exception_class == "RuleNotFound"
    await add_rule(api, "user.jdoe", "ds", "RO1", ignore_availability=True)


async def test_duplicate_tape_and_staging(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1))
    await add_rule(api, "user.jdoe", "ds", "SITE-A")
    response = await add_rule(api, "user.jdoe", "ds", "SITE-A", expect=409)
    assert response.exception_class == "DuplicateRule"
    tape = await add_rule(api, "user.jdoe", "ds", "TAPE1")
    assert (await api.get(f"/rules/{tape}")).json()["locked"] is True
    staged = await add_rule(api, "user.jdoe", "ds", "STAGE1", lifetime=3600)
    expires = (await api.get(f"/rules/{staged}")).json()["expires_at"]
    assert expires.endswith("UTC")


# -- state transitions -------------------------------------------------------------------------
async def test_replicas_arriving_make_rules_ok(api, db, world):
    a = world["SITE-A"]
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 3))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    in_db(db, lambda: events.emit(events.REPLICAS_AVAILABLE, rse_id=a,
                                 dids=[("user.jdoe", "ds.f000000")]))
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert (rule["state"], rule["locks_ok_cnt"], rule["locks_replicating_cnt"]) == \
        ("REPLICATING", 1, 2)
    response = await api.put("/replicas", {"rse": "SITE-A", "files": [
        {"scope": "user.jdoe", "name": f"ds.f00000{i}", "state": "A"} for i in (1, 2)]})
    assert response.status == 200, response
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert (rule["state"], rule["locks_ok_cnt"]) == ("OK", 3)
    assert in_db(db, lambda: {r.state for r in TransferRequest.select()}) == {"DONE"}
    assert in_db(db, lambda: {d.state for d in DatasetLock.select()}) == {"OK"}
    history = (await api.get(f"/rules/{rule_id}/history")).lines()
    assert [h["state"] for h in history][-1] == "OK"
    assert (await api.get("/rules/user.jdoe/ds/history")).lines()


async def test_stuck_suspended_and_analysis(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    assert (await api.as_("jdoe").put(f"/rules/{rule_id}",
                                      {"options": {"state": "STUCK"}})).status == 401
    assert (await api.put(f"/rules/{rule_id}", {"options": {"state": "STUCK"}})).status == 200
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert rule["state"] == "STUCK" and rule["locks_stuck_cnt"] == 2 and rule["stuck_at"]
    analysis = (await api.get(f"/rules/{rule_id}/analysis")).json()
    assert len(analysis["transfers"]) == 2 and analysis["rule_error"]
    assert (await api.put(f"/rules/{rule_id}", {"options": {"state": "SUSPENDED"}})).status == 200
    assert (await api.get(f"/rules/{rule_id}")).json()["state"] == "SUSPENDED"
    response = await api.put(f"/rules/{rule_id}", {"options": {"colour": "red"}})
    assert response.status == 409 and response.exception_class == "InputValidationError"


async def test_update_options(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2, replicas=[world["SITE-A"]]))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    jdoe = api.as_("jdoe")
    options = {"comment": "hello", "lifetime": 600, "activity": "Debug"}
    assert (await jdoe.put(f"/rules/{rule_id}", {"options": options})).status == 200
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert rule["comments"] == "hello" and rule["expires_at"] and rule["activity"] == "Debug"
    assert (await jdoe.put(f"/rules/{rule_id}", {"options": {"locked": True}})).status == 401
    assert (await api.put(f"/rules/{rule_id}", {"options": {"locked": True}})).status == 200
    response = await jdoe.delete(f"/rules/{rule_id}", {"purge_replicas": False})
    assert response.status == 401 and response.exception_class == "UnsupportedOperation"
    assert (await api.put(f"/rules/{rule_id}", {"options": {"locked": False,
                                                            "account": "boss"}})).status == 200
    assert usage(db, "jdoe", world["SITE-A"]) == (0, 0)
    assert usage(db, "boss", world["SITE-A"]) == (2, 200)
    assert (await api.put(f"/rules/{rule_id}", {"options": {"activity": "x"}})).status == 409


# -- delete and expiry -------------------------------------------------------------------------
def expire_now(db, *rule_ids):
    """Time passes: the rules' (soft-deletion) expiry is reached; the expiry task runs."""
    past = utcnow() - datetime.timedelta(seconds=5)
    in_db(db, lambda: Rule.update(expires_at=past).where(Rule.id.in_(rule_ids)).execute())
    return db.run_sync(expire_rules)


async def test_delete_releases_and_tombstones(api, db, world):
    a, b = world["SITE-A"], world["SITE-B"]
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2, replicas=[a]))
    first = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    second = await add_rule(api, "user.jdoe", "ds", "SITE-A|SITE-B")
    assert in_db(db, lambda: {r.lock_cnt for r in Replica.select()}) == {2}
    assert usage(db, "jdoe", a) == (4, 400)
    assert (await api.as_("boss").delete(f"/rules/{first}", {"purge_replicas": None})).status \
        == 200      # boss is admin
    # Soft deletion: the rule and its locks stay until the expiry task removes them.
    assert in_db(db, lambda: {r.lock_cnt for r in Replica.select()}) == {2}
    assert expire_now(db, first) == 1
    assert in_db(db, lambda: {(r.lock_cnt, r.tombstone) for r in Replica.select()}) == {(1, None)}
    response = await api.as_("jdoe").delete(f"/rules/{second}", {"purge_replicas": True})
    assert response.status == 200
    rule = (await api.get(f"/rules/{second}")).json()
    assert rule["purge_replicas"] is True and rule["expires_at"]
    assert usage(db, "jdoe", a) == (2, 200)
    assert (await api.delete(f"/rules/{second}", {"purge_replicas": None})).status == 200
    assert expire_now(db, second) == 1
    assert (await api.get(f"/rules/{second}")).status == 404
    replicas = in_db(db, lambda: list(Replica.select()))
    assert {r.lock_cnt for r in replicas} == {0} and all(r.tombstone for r in replicas)
    assert usage(db, "jdoe", a) == (0, 0) and usage(db, "jdoe", b) == (0, 0)
    assert in_db(db, lambda: ReplicaLock.select().count()) == 0
    deleted = in_db(db, lambda: RuleHistory.select().where(RuleHistory.rule_id == second,
                                                           RuleHistory.deleted_at.is_null(False)))
    assert len(list(deleted)) == 1
    assert (await api.get(f"/rules/{second}/history")).lines()
    assert (await api.delete(f"/rules/{second}", {"purge_replicas": None})).status == 404
    assert (await api.delete("/rules/" + second, raw_body="{nope")).status == 400
    assert (await api.delete(f"/rules/{first}")).status == 404      # seed: no body needed


async def test_expired_rules_are_removed_by_the_task(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2, replicas=[world["SITE-A"]]))
    short = await add_rule(api, "user.jdoe", "ds", "SITE-A", lifetime=1)
    await add_rule(api, "user.jdoe", "ds", "SITE-B")
    assert "rules" in events.TASKS
    past = utcnow() - datetime.timedelta(seconds=5)
    in_db(db, lambda: Rule.update(expires_at=past).where(Rule.id == short).execute())
    assert db.run_sync(expire_rules) == 1
    assert (await api.get(f"/rules/{short}")).status == 404
    assert db.run_sync(expire_rules) == 0
    assert usage(db, "jdoe", world["SITE-A"]) == (0, 0)


# -- reduce, move, attach ----------------------------------------------------------------------
async def test_reduce_and_move(api, db, world):
    a, b, c = world["SITE-A"], world["SITE-B"], world["SITE-C"]
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2, replicas=[b]))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A|SITE-B", copies=2)
    response = await api.post(f"/rules/{rule_id}/reduce", {"copies": 1,
                                                          "exclude_expression": None})
    assert response.status == 200, response
    reduced = response.json()[0]
    assert {rse for _, rse, _ in locks_of(db, reduced)} == {b}
    assert (await api.get(f"/rules/{rule_id}")).status == 404
    response = await api.post(f"/rules/{reduced}/move", {"rule_id": reduced,
                                                        "rse_expression": "SITE-C",
                                                        "override": {}})
    assert response.status == 201, response
    child = response.json()
    assert (await api.get(f"/rules/{reduced}")).json()["child_rule_id"] == child
    in_db(db, lambda: events.emit(events.REPLICAS_AVAILABLE, rse_id=c,
                                 dids=[("user.jdoe", "ds.f000000"), ("user.jdoe", "ds.f000001")]))
    assert (await api.get(f"/rules/{child}")).json()["state"] == "OK"
    assert (await api.get(f"/rules/{reduced}")).json()["child_rule_id"] is None   # released
    assert db.run_sync(expire_rules) == 1                         # expired by the move
    assert (await api.get(f"/rules/{reduced}")).status == 404
    assert a


async def test_attached_files_get_locks(api, db, world):
    a = world["SITE-A"]
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1, replicas=[a]))
    in_db(db, lambda: (DID.create(scope="user.jdoe", name="cont", did_type="CONTAINER",
                                  account="root"), attach("user.jdoe", "cont", ["ds"])))
    on_ds = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    on_cont = await add_rule(api, "user.jdoe", "cont", "SITE-B")

    def add_file():
        DID.create(scope="user.jdoe", name="late", did_type="FILE", account="root", bytes=7)
        Content.create(scope="user.jdoe", name="ds", child_scope="user.jdoe", child_name="late",
                       did_type="DATASET", child_type="FILE", bytes=7)
        events.emit(events.FILES_ATTACHED, scope="user.jdoe", name="ds",
                   files=[("user.jdoe", "late", 7)])
    in_db(db, add_file)
    assert ("late", a, "REPLICATING") in locks_of(db, on_ds)
    assert ("late", world["SITE-B"], "REPLICATING") in locks_of(db, on_cont)
    rule = (await api.get(f"/rules/{on_ds}")).json()
    assert (rule["state"], rule["locks_ok_cnt"], rule["locks_replicating_cnt"]) == \
        ("REPLICATING", 1, 1)
    assert usage(db, "jdoe", a) == (2, 107)


# -- listings ----------------------------------------------------------------------------------
async def test_listings_and_filters(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2, replicas=[world["SITE-A"]]))
    ok = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    replicating = await add_rule(api, "user.jdoe", "ds", "SITE-B", activity="Debug")
    lines = (await api.get("/rules/")).lines()
    assert {line["id"] for line in lines} == {ok, replicating}
    assert all("bytes" in line for line in lines)
    assert [x["id"] for x in (await api.get("/rules/?state=O")).lines()] == [ok]
    assert [x["id"] for x in (await api.get("/rules/?state=REPLICATING")).lines()] == \
        [replicating]
    assert [x["id"] for x in (await api.get("/rules/?activity=Debug")).lines()] == [replicating]
    assert len((await api.get("/rules/?scope=user.*&name=d*&account=jdoe")).lines()) == 2
    assert (await api.get("/rules/?account=root")).lines() == []
    assert len((await api.get("/rules/?created_after=2000-01-01T00:00:00")).lines()) == 2
    assert (await api.get("/rules/?colour=red")).status == 400
    assert len((await api.get("/accounts/jdoe/rules")).lines()) == 2
    assert len((await api.get("/dids/user.jdoe/ds/rules")).lines()) == 2
    assert len((await api.get("/dids/user.jdoe/ds.f000000/associated_rules")).lines()) == 2
    assert (await api.get("/dids/user.jdoe/nope/rules")).status == 404


# -- scale -------------------------------------------------------------------------------------
@pytest.mark.gen_test(timeout=120)
async def test_rule_on_100000_files_is_one_fast_transaction(api, db, world):
    """The heaviest path per file: lock, new COPYING replica, queued request, usage."""
    def setup():
        with db.peewee.atomic():
            make_dataset("user.jdoe", "big", 100_000, size=10)
        AccountLimit.update(bytes=-1).execute()
    in_db(db, setup)
    start = time.perf_counter()
    rule_id = await add_rule(api, "user.jdoe", "big", "SITE-B")
    created = time.perf_counter() - start
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert (rule["locks_ok_cnt"], rule["locks_replicating_cnt"]) == (0, 100_000)
    assert usage(db, "jdoe", world["SITE-B"]) == (100_000, 1_000_000)
    assert in_db(db, lambda: TransferRequest.select().count()) == 100_000
    assert (await api.delete(f"/rules/{rule_id}", {"purge_replicas": False})).status == 200
    start = time.perf_counter()
    assert expire_now(db, rule_id) == 1              # the locks go with the expiry task
    deleted = time.perf_counter() - start
    print(f"\n100k-file rule on {db.kind}: create {created:.2f}s, delete {deleted:.2f}s")
    assert created < 60 and deleted < 60
    assert in_db(db, lambda: ReplicaLock.select().count()) == 0


async def test_post_replicas_on_a_copying_replica_makes_the_rule_ok(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    response = await api.post("/replicas", {"rse": "SITE-A", "files": [
        {"scope": "user.jdoe", "name": "ds.f000000", "bytes": 100, "adler32": "0cc737eb"}]})
    assert response.status == 201, response
    assert (await api.get(f"/rules/{rule_id}")).json()["state"] == "OK"


async def test_files_attached_through_the_did_endpoint(api, db, world):
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1, replicas=[world["SITE-A"]]))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    response = await api.post("/replicas", {"rse": "SITE-B", "files": [
        {"scope": "user.jdoe", "name": "new1", "bytes": 5, "adler32": "0cc737eb"}]})
    assert response.status == 201, response
    response = await api.post("/dids/user.jdoe/ds/dids",
                              {"dids": [{"scope": "user.jdoe", "name": "new1"}]})
    assert response.status == 201, response
    assert ("new1", world["SITE-A"], "REPLICATING") in locks_of(db, rule_id)
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert (rule["state"], rule["locks_ok_cnt"], rule["locks_replicating_cnt"]) == \
        ("REPLICATING", 1, 1)
    assert usage(db, "jdoe", world["SITE-A"]) == (2, 105)


async def test_dataset_attached_to_a_container_gets_the_container_rules_locks(api, db, world):
    in_db(db, lambda: DID.create(scope="user.jdoe", name="cont", did_type="CONTAINER",
                                 account="jdoe", is_open=True))
    in_db(db, lambda: make_dataset("user.jdoe", "first", 1, replicas=[world["SITE-A"]]))
    response = await api.post("/dids/user.jdoe/cont/dids",
                              {"dids": [{"scope": "user.jdoe", "name": "first"}]})
    assert response.status == 201, response
    rule_id = await add_rule(api, "user.jdoe", "cont", "SITE-A")
    assert locks_of(db, rule_id) == [("first.f000000", world["SITE-A"], "OK")]
    in_db(db, lambda: make_dataset("user.jdoe", "later", 2))
    response = await api.post("/dids/user.jdoe/cont/dids",
                              {"dids": [{"scope": "user.jdoe", "name": "later"}]})
    assert response.status == 201, response
    assert locks_of(db, rule_id) == [("first.f000000", world["SITE-A"], "OK"),
                                     ("later.f000000", world["SITE-A"], "REPLICATING"),
                                     ("later.f000001", world["SITE-A"], "REPLICATING")]
    rule = (await api.get(f"/rules/{rule_id}")).json()
    assert (rule["state"], rule["locks_ok_cnt"], rule["locks_replicating_cnt"]) == \
        ("REPLICATING", 1, 2)


async def test_one_usage_history_row_per_call_and_deny(api, db, world):
    in_db(db, lambda: (make_dataset("user.jdoe", "d1", 1), make_dataset("user.jdoe", "d2", 1)))
    body = rule_body("user.jdoe", "d1", "SITE-A")
    body["dids"].append({"scope": "user.jdoe", "name": "d2"})
    response = await api.as_("jdoe").post("/rules/", body)
    assert response.status == 201 and len(response.json()) == 2
    assert in_db(db, lambda: AccountUsageHistory.select().count()) == 1
    assert usage(db, "jdoe", world["SITE-A"]) == (2, 200)
    waiting = await add_rule(api, "user.jdoe", "d1", "SITE-B", ask_approval=True)
    assert (await api.as_("jdoe").put(f"/rules/{waiting}",
                                      {"options": {"approve": True}})).status == 401
    assert (await api.put(f"/rules/{waiting}", {"options": {"approve": False}})).status == 200
    assert (await api.get(f"/rules/{waiting}")).status == 404


async def test_replica_removed_and_registered_again(api, db, world):
    a = world["SITE-A"]
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1, replicas=[a]))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A")

    def remove():
        Replica.delete().execute()
        events.emit(events.REPLICAS_REMOVED, rse_id=a, dids=[("user.jdoe", "ds.f000000")])
    in_db(db, remove)
    assert (await api.get(f"/rules/{rule_id}")).json()["state"] == "REPLICATING"
    response = await api.post("/replicas", {"rse": "SITE-A", "files": [
        {"scope": "user.jdoe", "name": "ds.f000000", "bytes": 100, "adler32": "0cc737eb"}]})
    assert response.status == 201, response
    assert (await api.get(f"/rules/{rule_id}")).json()["state"] == "OK"
    assert in_db(db, lambda: [r.lock_cnt for r in Replica.select()]) == [1]


async def test_files_attached_twice_counts_once(api, db, world):
    a = world["SITE-A"]
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2, replicas=[a]))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    emit = lambda: events.emit(events.FILES_ATTACHED, scope="user.jdoe", name="ds",  # noqa: E731
                              files=[("user.jdoe", "ds.f000000", 100),
                                     ("user.jdoe", "ds.f000001", 100)])
    in_db(db, emit)
    in_db(db, emit)
    assert usage(db, "jdoe", a) == (2, 200)
    assert in_db(db, lambda: [r.lock_cnt for r in Replica.select()]) == [1, 1]
    assert (await api.get(f"/rules/{rule_id}")).json()["locks_ok_cnt"] == 2
