"""``db upgrade`` to the rules' unique index (migration step 4): identical rules that concurrent
requests stored before it are reduced to the oldest, their locks and usage released, and the
index is built."""
import pytest

from rucio_tornado import migrations
from rucio_tornado.core.bootstrap import bootstrap
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.rules.lifecycle import add_rules
from rucio_tornado.db import Database
from rucio_tornado.models import (DID, RSE, AccountLimit, AccountUsage, Replica, ReplicaLock,
                                  RSEAttribute, Rule, RuleHistory, SchemaVersion)
from tests.pg import create_pg_database, drop_pg_database

INDEX = "rules_did_account_expression_copies"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'rules.db'}" if request.param == "sqlite"
           else create_pg_database("rt_rules_up"))
    db = Database(url, pool_size=2)
    migrations.create(db)
    yield db
    db.close()
    if request.param == "postgresql":
        drop_pg_database(url)


def _version_3_with_duplicates():
    """A database as version 3 left it after a race: two identical rules on one file."""
    bootstrap()
    rse = RSE.create(rse="SITE-A")
    RSEAttribute.create(rse_id=rse.id, key="SITE-A", value="true")
    AccountLimit.create(account="root", rse_id=rse.id, bytes=-1)
    DID.create(scope="root", name="f1", did_type="FILE", account="root", bytes=7)
    Rule._meta.database.execute_sql(f'DROP INDEX "{INDEX}"')
    SchemaVersion.delete().where(SchemaVersion.version == 4).execute()
    root = Issuer("root", True)
    body = {"dids": [{"scope": "root", "name": "f1"}], "copies": 1, "account": "root"}
    (first,) = add_rules(root, {**body, "rse_expression": "SITE-A"})
    (second,) = add_rules(root, {**body, "rse_expression": "SITE-A|SITE-A"})
    Rule.update(rse_expression="SITE-A").where(Rule.id == second).execute()
    return rse.id, first, second


def test_upgrade_keeps_the_oldest_of_identical_rules(database):
    rse_id, first, second = database.run_sync(_version_3_with_duplicates)
    assert migrations.version(database) == 3
    assert database.run_sync(lambda: AccountUsage.get().files) == 2
    assert [step.version for step in migrations.upgrade(database)] == [4]

    def state():
        return {"rules": [r.id for r in Rule.select()],
                "locks": [lock.rule_id for lock in ReplicaLock.select()],
                "usage": AccountUsage.select(AccountUsage.files, AccountUsage.bytes).where(
                    AccountUsage.rse_id == rse_id).tuples().get(),
                "lock_cnt": Replica.get(Replica.rse_id == rse_id).lock_cnt,
                "deleted": [h.rule_id for h in RuleHistory.select().where(
                    RuleHistory.deleted_at.is_null(False))],
                "indexes": {i.name for i in database.peewee.get_indexes("rule")}}
    found = database.run_sync(state)
    assert found["rules"] == [first] and found["locks"] == [first]
    assert found["usage"] == (1, 7) and found["lock_cnt"] == 1
    assert found["deleted"] == [second] and INDEX in found["indexes"]
    assert migrations.upgrade(database) == []                       # idempotent
