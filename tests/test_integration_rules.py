"""Rules and subscriptions with the real rucio-clients (Python Client and CLI), live server."""
import re
import time

import pytest
from rucio.common.exception import (DuplicateRule, InsufficientAccountLimit, RuleNotFound,
                                    UnsupportedOperation)


pytestmark = pytest.mark.integration

ADLER = "0cc737eb"


def setup_catalog(client, prefix):
    """RSEs <prefix>-A/B with limits for root, a dataset of two files available on A."""
    a, b = f"{prefix}-A", f"{prefix}-B"
    for rse in (a, b):
        client.add_rse(rse)
        client.set_local_account_limit("root", rse, 10 ** 9)
    files = [{"scope": "mock", "name": f"{prefix.lower()}.f{i}", "bytes": 100, "adler32": ADLER}
             for i in range(2)]
    client.add_replicas(rse=a, files=files)
    dataset = f"{prefix.lower()}.ds"
    client.add_dataset("mock", dataset)
    client.attach_dids("mock", dataset, [{"scope": f["scope"], "name": f["name"]}
                                        for f in files])
    return a, b, dataset, files


def test_client_rule_lifecycle(live):
    client = live.client()
    if "mock" not in client.list_scopes():
        client.add_scope("root", "mock")
    a, b, dataset, files = setup_catalog(client, "RL")
    did = [{"scope": "mock", "name": dataset}]
    [ok_id] = client.add_replication_rule(did, 1, a)
    rule = client.get_replication_rule(ok_id)
    assert rule["state"] == "OK" and rule["locks_ok_cnt"] == 2 and rule["rse_expression"] == a
    [rep_id] = client.add_replication_rule(did, 1, b, lifetime=3600)
    assert client.get_replication_rule(rep_id)["state"] == "REPLICATING"
    with pytest.raises(DuplicateRule):
        client.add_replication_rule(did, 1, b)
    client.add_rse("RL-C")                           # no limit for root: refused
    with pytest.raises(InsufficientAccountLimit):
        client.add_replication_rule(did, 1, "RL-C")
    locks = list(client.list_replica_locks(rep_id))
    assert {lock["state"] for lock in locks} == {"REPLICATING"} and len(locks) == 2

    client.update_replicas_states(b, [{"scope": "mock", "name": f["name"], "state": "A"}
                                      for f in files])
    assert client.get_replication_rule(rep_id)["state"] == "OK"

    listed = list(client.list_replication_rules({"scope": "mock", "name": dataset}))
    assert {r["id"] for r in listed} == {ok_id, rep_id} and all("bytes" in r for r in listed)
    assert [r["id"] for r in client.list_replication_rules({"state": "O", "id": ok_id})] == \
        [ok_id]
    assert {r["id"] for r in client.list_did_rules("mock", dataset)} == {ok_id, rep_id}
    assert {r["id"] for r in client.list_account_rules("root")} >= {ok_id, rep_id}

    assert client.update_replication_rule(rep_id, {"lifetime": 7200, "comment": "x"}) is True
    assert client.get_replication_rule(rep_id)["comments"] == "x"
    assert client.update_replication_rule(rep_id, {"locked": True}) is True
    with pytest.raises(UnsupportedOperation):
        client.delete_replication_rule(rep_id)
    client.update_replication_rule(rep_id, {"locked": False})
    assert client.delete_replication_rule(rep_id) is True
    # Soft deletion (as Rucio): readable, expiring within the hour, its locks still counted.
    assert client.get_replication_rule(rep_id)["expires_at"] is not None
    history = list(client.list_replication_rule_full_history("mock", dataset))
    assert rep_id in {h["rule_id"] for h in history}
    usage = {u["rse"]: u for u in client.get_local_account_usage("root")}
    assert usage[a]["files"] == 2 and usage[b]["files"] == 2

    [short] = client.add_replication_rule(did, 1, f"{b}|{a}", lifetime=1)  # the periodic task
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            client.get_replication_rule(short)
        except RuleNotFound:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the expired rule was not removed")


def test_client_subscriptions(live):
    client = live.client()
    if "mock" not in client.list_scopes():
        client.add_scope("root", "mock")
    rules = [{"copies": 1, "rse_expression": "RL-A|SB-A", "activity": "User Subscriptions"}]
    if "SB-A" not in [r["rse"] for r in client.list_rses()]:
        client.add_rse("SB-A")
    client.set_local_account_limit("root", "SB-A", 10 ** 9)
    sub_id = client.add_subscription("subtest", "root", {"scope": ["mock"], "pattern": "^sub.*"},
                                     rules, "a comment", None, False, False)
    assert len(sub_id) == 32
    [sub] = list(client.list_subscriptions(name="subtest", account="root"))
    assert sub["id"] == sub_id and sub["state"] == "ACTIVE"
    assert sub_id in [s["id"] for s in client.list_subscriptions(account="root")]
    assert list(client.list_subscriptions(name="nosuch", account="root")) == []
    client.add_dataset("mock", "sub.ds1")
    client.add_dataset("mock", "nosub.ds1")
    deadline = time.time() + 20                      # the periodic task runs every second
    found = []
    while time.time() < deadline and not found:
        found = list(client.list_subscription_rules("root", "subtest"))
        time.sleep(0.5)
    assert [r["name"] for r in found] == ["sub.ds1"]
    assert found[0]["subscription_id"] == sub_id
    client.update_subscription("subtest", "root", comments="changed")
    [sub] = list(client.list_subscriptions(name="subtest", account="root"))
    assert (sub["state"], sub["comments"]) == ("UPDATED", "changed")
    states = list(client.list_subscription_rule_states("root"))
    assert states and states[0][:2] == ["root", "subtest"]
    listed = live.cli("rule", "list", "--subscription", "subtest").stdout
    assert found[0]["id"] in listed
    assert "subtest" in live.cli("subscription", "list", "--account", "root").stdout


def test_cli_rules(live):
    client = live.client()
    if "mock" not in client.list_scopes():
        client.add_scope("root", "mock")
    a, b, dataset, _ = setup_catalog(client, "CLI")
    out = live.cli("rule", "add", f"mock:{dataset}", "--copies", "1", "--rses", b).stdout
    rule_id = re.search(r"[0-9a-f]{32}", out).group(0)
    shown = live.cli("rule", "show", rule_id).stdout
    assert "REPLICATING" in shown and b in shown
    listed = live.cli("rule", "list", "--did", f"mock:{dataset}").stdout
    assert rule_id in listed
    assert rule_id in live.cli("rule", "list", "--account", "root").stdout
    assert "Updated Rule" in live.cli("rule", "update", rule_id, "--lifetime", "3600",
                                      "--comment", "via-cli").stdout
    assert client.get_replication_rule(rule_id)["comments"] == "via-cli"
    live.cli("rule", "update", rule_id, "--stuck")
    assert client.get_replication_rule(rule_id)["state"] == "STUCK"
    live.cli("rule", "update", rule_id, "--boost-rule")
    assert client.get_replication_rule(rule_id)["state"] == "REPLICATING"
    live.cli("rule", "remove", rule_id)
    # Soft deletion (as Rucio): still listed until the expiry within the hour removes it.
    assert rule_id in live.cli("rule", "list", "--did", f"mock:{dataset}").stdout
    assert client.get_replication_rule(rule_id)["expires_at"] is not None
