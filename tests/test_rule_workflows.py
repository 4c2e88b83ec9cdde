"""Rules as the real server has them (issue 11, item 6), through HTTP: soft deletion and the
expiry task, move, delayed injection, dataset replicas of rules, the rule dictionary; and the
subscription options of item 9."""
import datetime

import pytest
import ujson

from rucio_tornado.core.rules.reactions import expire_rules
from rucio_tornado.models import (AccountLimit, CollectionReplica, DID, ReplicaLock, Rule,
                                  utcnow)
from tests.test_rules import (add_rule, expire_now, in_db, locks_of, make_dataset, usage,
                              world)  # noqa: F401  (fixture)
from tests.test_subscriptions import RULES, options

pytestmark = pytest.mark.gen_test


def rule_of(db, rule_id):
    return in_db(db, lambda: Rule.get_by_id(rule_id))


async def test_soft_delete_keeps_the_rule_until_the_expiry_task(api, db, world):  # noqa: F811
    a = world["SITE-A"]
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2, replicas=[a]))
    forever = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    soon = await add_rule(api, "user.jdoe", "ds", "SITE-A|SITE-B", lifetime=60)
    before = utcnow()
    jdoe = api.as_("jdoe")
    assert (await jdoe.delete(f"/rules/{forever}", {"purge_replicas": True})).status == 200
    assert (await jdoe.delete(f"/rules/{soon}", {"purge_replicas": None})).status == 200
    kept = rule_of(db, forever)
    hour = datetime.timedelta(hours=1)
    assert before + hour <= kept.expires_at <= utcnow() + hour and kept.purge_replicas is True
    assert rule_of(db, soon).expires_at <= before + datetime.timedelta(seconds=61)  # the min
    assert rule_of(db, soon).purge_replicas is False
    line = (await api.get(f"/rules/{forever}")).json()
    assert line["expires_at"].endswith("UTC") and line["purge_replicas"] is True
    assert {x["id"] for x in (await api.get("/rules/")).lines()} == {forever, soon}
    # Until the expiry task: locks, replica lock counts and usage stay, the rule is a duplicate.
    assert len(locks_of(db, forever)) == 2 and usage(db, "jdoe", a) == (4, 400)
    response = await add_rule(api, "user.jdoe", "ds", "SITE-A", expect=409)
    assert response.exception_class == "DuplicateRule"
    history = (await api.get(f"/rules/{forever}/history")).lines()
    assert history[-1]["expires_at"] == line["expires_at"]
    assert db.run_sync(expire_rules) == 0                     # not yet expired
    assert expire_now(db, forever, soon) == 2
    assert (await api.get(f"/rules/{forever}")).status == 404
    assert in_db(db, lambda: ReplicaLock.select().count()) == 0
    assert usage(db, "jdoe", a) == (0, 0)
    await add_rule(api, "user.jdoe", "ds", "SITE-A")          # no longer a duplicate


async def test_locked_rules_and_parents_are_not_deleted(api, db, world):  # noqa: F811
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1, replicas=[world["SITE-A"]]))
    parent = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    child = (await api.post(f"/rules/{parent}/move", {"rse_expression": "SITE-B"})).json()
    response = await api.delete(f"/rules/{parent}", {"purge_replicas": None})
    assert (response.status, response.exception_class) == (401, "UnsupportedOperation")
    assert "child rule" in response.json()["ExceptionMessage"]
    assert expire_now(db, parent) == 0                        # it waits for its child
    assert (await api.put(f"/rules/{child}", {"options": {"locked": True}})).status == 200
    response = await api.delete(f"/rules/{child}", {"purge_replicas": None})
    assert (response.status, response.exception_class) == (401, "UnsupportedOperation")
    assert rule_of(db, child).expires_at is None


async def test_move_answers_the_new_id_and_retires_the_parent(api, db, world):  # noqa: F811
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 1, replicas=[world["SITE-A"]]))
    parent = await add_rule(api, "user.jdoe", "ds", "SITE-A", activity="Debug")
    response = await api.post(f"/rules/{parent}/move", {
        "rse_expression": "SITE-B", "override": {"activity": "Anything At All", "notify": "Y",
                                                 "comment": "moved"}})
    assert response.status == 201 and response.text.startswith('"')
    child = response.json()
    moved = (await api.get(f"/rules/{child}")).json()
    assert (moved["activity"], moved["notification"], moved["comments"]) == \
        ("Anything At All", "YES", "moved")
    waiting = rule_of(db, parent)
    assert waiting.child_rule_id == child and waiting.expires_at <= utcnow()
    again = await api.post(f"/rules/{parent}/move", {"rse_expression": "SITE-C"})
    assert (again.status, again.exception_class) == (409, "RuleReplaceFailed")
    for override, exception in (({"colour": 1}, "UnsupportedOperation"),
                                ({"dids": []}, "UnsupportedOperation"),
                                ({"priority": 1}, "UnsupportedOperation"),
                                ({"copies": "x"}, "RuleReplaceFailed")):
        response = await api.post(f"/rules/{child}/move", {"rse_expression": "SITE-C",
                                                           "override": override})
        assert response.exception_class == exception, override
    # The child goes (expired): the parent is released and no longer expires (Rucio).
    assert expire_now(db, child) == 1
    released = rule_of(db, parent)
    assert (released.child_rule_id, released.expires_at) == (None, None)
    # The older client's top-level activity; a child OK at once leaves no parent waiting.
    response = await api.post(f"/rules/{parent}/move", {"rse_expression": "SITE-A|SITE-C",
                                                        "activity": "Express"})
    ok_child = response.json()
    assert (await api.get(f"/rules/{ok_child}")).json()["activity"] == "Express"
    assert (await api.get(f"/rules/{ok_child}")).json()["state"] == "OK"
    assert rule_of(db, parent).child_rule_id is None
    assert db.run_sync(expire_rules) == 1
    assert (await api.get(f"/rules/{parent}")).status == 404


async def test_delayed_rules_get_their_locks_after_the_delay(api, db, world):  # noqa: F811
    in_db(db, lambda: make_dataset("user.jdoe", "ds", 2, replicas=[world["SITE-A"]]))
    delayed = await add_rule(api, "user.jdoe", "ds", "SITE-A|SITE-B", copies=2,
                             delay_injection=600)
    rule = (await api.get(f"/rules/{delayed}")).json()
    assert rule["state"] == "INJECT" and locks_of(db, delayed) == []
    assert rule_of(db, delayed).created_at > utcnow() + datetime.timedelta(seconds=590)
    assert usage(db, "jdoe", world["SITE-A"]) == (0, 0)
    db.run_sync(expire_rules)
    assert rule_of(db, delayed).state == "INJECT"              # not yet
    in_db(db, lambda: Rule.update(created_at=utcnow() - datetime.timedelta(seconds=1)).where(
        Rule.id == delayed).execute())
    db.run_sync(expire_rules)
    rule = (await api.get(f"/rules/{delayed}")).json()
    assert (rule["state"], rule["locks_ok_cnt"], rule["locks_replicating_cnt"]) == \
        ("REPLICATING", 2, 2)
    assert usage(db, "jdoe", world["SITE-A"]) == (2, 200)
    # Without quota at injection time the rule is suspended (Rucio's injector).
    poor = await add_rule(api, "user.jdoe", "ds", "SITE-C", delay_injection=1)
    in_db(db, lambda: (AccountLimit.update(bytes=0).execute(), Rule.update(
        created_at=utcnow() - datetime.timedelta(seconds=1)).where(Rule.id == poor).execute()))
    db.run_sync(expire_rules)
    assert rule_of(db, poor).state == "SUSPENDED" and locks_of(db, poor) == []
    for bad in (-1, "soon", True):
        response = await add_rule(api, "user.jdoe", "ds", "SITE-B", delay_injection=bad,
                                  expect=409)
        assert response.exception_class == "InvalidObject", bad


async def test_rules_write_their_dataset_replicas(api, db, world):  # noqa: F811
    a, b = world["SITE-A"], world["SITE-B"]
    in_db(db, lambda: (make_dataset("user.jdoe", "empty", 0),
                       make_dataset("user.jdoe", "full", 2, replicas=[a])))
    rule_id = await add_rule(api, "user.jdoe", "empty", "SITE-A|SITE-B", copies=2)
    assert (await api.get(f"/rules/{rule_id}")).json()["state"] == "OK"
    await add_rule(api, "user.jdoe", "full", "SITE-A", grouping="ALL")
    await add_rule(api, "user.jdoe", "empty", "SITE-A")         # the row exists already
    rows = in_db(db, lambda: sorted(
        (r.name, r.rse_id, r.did_type, r.state, r.length, r.bytes)
        for r in CollectionReplica.select()))
    assert rows == sorted([("empty", a, "DATASET", "UNAVAILABLE", 0, 0),
                           ("empty", b, "DATASET", "UNAVAILABLE", 0, 0),
                           ("full", a, "DATASET", "UNAVAILABLE", 0, 0)])


async def test_a_rule_reads_as_it_is_listed(api, db, world):  # noqa: F811
    in_db(db, lambda: (make_dataset("user.jdoe", "ds", 1, replicas=[world["SITE-A"]]),
                       DID.update(bytes=100).where(DID.name == "ds").execute()))
    rule_id = await add_rule(api, "user.jdoe", "ds", "SITE-A")
    rule = (await api.get(f"/rules/{rule_id}")).json()
    [line] = (await api.get(f"/rules/?id={rule_id}")).lines()
    assert rule == line and rule["bytes"] == 100
    assert {"locks_ok_cnt", "source_replica_expression", "meta", "split_container",
            "ignore_account_limit", "eol_at", "deleted_at", "child_rule_id"} <= set(rule)


async def test_subscription_options_as_the_real_server_reads_them(api, db, world):  # noqa: F811
    response = await api.post("/subscriptions/jdoe/sub1", options(name="sub1", extra=True))
    assert response.status == 201, response
    for empty in ({"replication_rules": {}}, {"replication_rules": []},
                  {"filter": {}, "comments": "", "priority": 0, "lifetime": None}):
        response = await api.put("/subscriptions/jdoe/sub1", {"options": dict(empty, name="x")})
        assert response.status == 201, (empty, response)
    line = (await api.get("/subscriptions/jdoe/sub1")).lines()[0]
    assert ujson.loads(line["replication_rules"]) == RULES and line["comments"] == "c"
    assert line["state"] == "UPDATED" and line["policyid"] == 3
    assert ujson.loads(line["filter"])["pattern"] == "^data.*"
    response = await api.put("/subscriptions/jdoe/sub1", {"options": {"state": "Z"}})
    assert (response.status, response.exception_class) == (400, "InvalidObject")
