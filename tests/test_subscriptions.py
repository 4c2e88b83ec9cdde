"""Subscriptions: CRUD through HTTP (client and seed URLs) and the evaluator task."""
import pytest
import ujson

from rucio_tornado.core import events
from rucio_tornado.core.subscriptions import evaluate_subscriptions
from rucio_tornado.models import DID, AccountLimit, DIDMeta, Rule, Subscription
from tests.test_rules import in_db, make_dataset, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.gen_test

RULES = [{"copies": 1, "rse_expression": "SITE-A", "activity": "User Subscriptions",
          "lifetime": None}]


def options(**extra):
    body = {"filter": {"scope": ["user.jdoe"], "pattern": "^data.*"},
            "replication_rules": RULES, "comments": "c", "lifetime": None,
            "retroactive": False, "dry_run": False, "priority": 3}
    body.update(extra)
    return {"options": body}


async def test_subscription_crud(api, db, world):  # noqa: F811
    response = await api.post("/subscriptions/jdoe/sub1", options())
    assert response.status == 201, response
    sub_id = response.text
    assert len(sub_id) == 32
    assert (await api.post("/subscriptions/jdoe/sub1", options())).exception_class == \
        "SubscriptionDuplicate"
    line = (await api.get("/subscriptions/jdoe/sub1")).lines()[0]
    assert line["id"] == sub_id and line["policyid"] == 3 and line["state"] == "ACTIVE"
    assert ujson.loads(line["filter"]) == {"scope": ["user.jdoe"], "pattern": "^data.*"}
    assert ujson.loads(line["replication_rules"]) == RULES
    assert line["retroactive"] is False and line["created_at"].endswith("UTC")
    assert [x["id"] for x in (await api.get("/subscriptions/")).lines()] == [sub_id]
    assert [x["id"] for x in (await api.get("/subscriptions/jdoe")).lines()] == [sub_id]
    assert [x["id"] for x in (await api.get("/subscriptions/name/sub1")).lines()] == [sub_id]
    assert (await api.get(f"/subscriptions/id/{sub_id}")).json()["name"] == "sub1"
    assert (await api.get(f"/subscriptions/{sub_id}")).json()["name"] == "sub1"     # seed
    for path in ("/subscriptions/root", "/subscriptions/name/nope", "/subscriptions/jdoe/x",
                 "/subscriptions/id/" + "0" * 32):
        response = await api.get(path)
        assert (response.status, response.exception_class) == (404, "SubscriptionNotFound")

    response = await api.put("/subscriptions/jdoe/sub1", {"options": {"comments": "new",
                                                                      "filter": None}})
    assert response.status == 201
    line = (await api.get("/subscriptions/jdoe/sub1")).lines()[0]
    assert (line["state"], line["comments"]) == ("UPDATED", "new")
    assert ujson.loads(line["filter"])["pattern"] == "^data.*"
    await api.put("/subscriptions/jdoe/sub1", {"options": {"state": "I"}})
    line = (await api.get("/subscriptions/jdoe/sub1")).lines()[0]
    assert line["state"] == "INACTIVE" and line["expired_at"]
    assert (await api.put("/subscriptions/jdoe/nope", options())).status == 404

    response = await api.post("/subscriptions/jdoe/", dict(options()["options"], name="seed1"))
    assert response.status == 201                                               # seed form
    assert (await api.delete(f"/subscriptions/{response.text}")).status == 200
    assert (await api.get(f"/subscriptions/id/{response.text}")).status == 404


async def test_subscription_validation_and_permissions(api, db, world):  # noqa: F811
    cases = [(options(replication_rules=[]), "InvalidObject"),
             (options(replication_rules=[{"copies": 1, "rse_expression": "SITE-A"}]),
              "InvalidObject"),                                    # no activity -> "default"
             (options(replication_rules=[dict(RULES[0], activity="Nope")]), "InvalidObject"),
             (options(filter={"pattern": "("}), "InvalidObject")]
    for body, exception in cases:
        response = await api.post("/subscriptions/jdoe/bad", body)
        assert (response.status, response.exception_class) == (400, exception), body
    response = await api.as_("jdoe").post("/subscriptions/jdoe/mine", options())
    assert (response.status, response.exception_class) == (401, "AccessDenied")
    assert (await api.post("/subscriptions/nobody/x", options())).status == 404
    assert in_db(db, lambda: Subscription.select().count()) == 0
    # Options Rucio does not read are ignored, as there (the client may send "name").
    assert (await api.post("/subscriptions/jdoe/extra", options(bogus=1, name="extra"))
            ).status == 201


async def test_evaluator_creates_rules_for_matching_dids(api, db, world):  # noqa: F811
    assert "subscriptions" in events.TASKS
    in_db(db, lambda: AccountLimit.update(bytes=-1).execute())
    sub_id = (await api.post("/subscriptions/jdoe/sub1", options(filter={
        "scope": ["user.jdoe"], "pattern": "^data.*", "datatype": ["AOD"],
        "project": "mc"}))).text
    other = (await api.post("/subscriptions/jdoe/meta", options(filter={
        "scope": "user.*", "did_type": ["CONTAINER"], "campaign_x": ["c1"]},
        replication_rules=[dict(RULES[0], rse_expression="SITE-B")]))).text

    def setup():
        make_dataset("user.jdoe", "data.aod", 2)
        make_dataset("user.jdoe", "data.esd", 1)
        make_dataset("user.jdoe", "other.aod", 1)
        make_dataset("user.jdoe", "cont1", 0, did_type="CONTAINER")
        make_dataset("user.jdoe", "cont2", 0, did_type="CONTAINER")
        DID.update(datatype="AOD", project="mc").where(DID.name.in_(
            ["data.aod", "other.aod"])).execute()
        DID.update(datatype="ESD", project="mc").where(DID.name == "data.esd").execute()
        DIDMeta.create(scope="user.jdoe", name="cont1", key="campaign_x", value='"c1"')
    in_db(db, setup)
    assert db.run_sync(evaluate_subscriptions) == 2
    rules = in_db(db, lambda: sorted((r.name, r.subscription_id, r.account, r.rse_expression)
                                     for r in Rule.select()))
    assert rules == [("cont1", other, "jdoe", "SITE-B"), ("data.aod", sub_id, "jdoe", "SITE-A")]
    assert in_db(db, lambda: DID.select().where(DID.is_new == True,  # noqa: E712
                                                DID.did_type != "FILE").count()) == 0
    assert db.run_sync(evaluate_subscriptions) == 0

    lines = (await api.get("/subscriptions/jdoe/sub1/rules")).lines()
    assert [x["name"] for x in lines] == ["data.aod"] and "bytes" in lines[0]
    assert [x["name"] for x in (await api.get(f"/subscriptions/{sub_id}/rules")).lines()] == \
        ["data.aod"]
    assert (await api.get("/subscriptions/jdoe/sub1/rules?state=O")).lines() == []
    states = (await api.get("/subscriptions/jdoe/rules/states")).lines()
    assert sorted(states) == [["jdoe", "meta", "OK", 1],
                              ["jdoe", "sub1", "REPLICATING", 1]]
    assert (await api.get("/subscriptions/jdoe/sub1/rules/states")).lines() == \
        [["jdoe", "sub1", "REPLICATING", 1]]
    assert [x["name"] for x in (await api.get(f"/rules/?subscription_id={sub_id}")).lines()] \
        == ["data.aod"]


async def test_retroactive_and_inactive(api, db, world):  # noqa: F811
    in_db(db, lambda: AccountLimit.update(bytes=-1).execute())
    in_db(db, lambda: (make_dataset("user.jdoe", "data.old", 1),
                       DID.update(is_new=False).execute()))
    await api.post("/subscriptions/jdoe/inactive", options())
    await api.put("/subscriptions/jdoe/inactive", {"options": {"state": "I"}})
    assert db.run_sync(evaluate_subscriptions) == 0
    await api.post("/subscriptions/jdoe/retro", options(
        retroactive=True, replication_rules=[dict(RULES[0], rse_expression="SITE-C")]))
    assert db.run_sync(evaluate_subscriptions) == 1
    assert db.run_sync(evaluate_subscriptions) == 0
    assert in_db(db, lambda: [r.name for r in Rule.select()]) == ["data.old"]
