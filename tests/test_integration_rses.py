"""The real rucio-clients against a live server: RSEs, attributes, protocols, limits, usage."""
import math

import pytest
from rucio.common.exception import (AccessDenied, Duplicate, InvalidRSEExpression,
                                    RSENotFound, RSEProtocolNotSupported)


pytestmark = pytest.mark.integration

PROTOCOL = {"scheme": "file", "hostname": "localhost", "port": 0, "prefix": "/rucio",
            "impl": "rucio.rse.protocols.posix.Default",
            "domains": {"lan": {"read": 1, "write": 1, "delete": 1},
                        "wan": {"read": 1, "write": 1, "delete": 1,
                                "third_party_copy_read": 1, "third_party_copy_write": 1}}}


def test_client_rses_attributes_protocols(live):
    client = live.client()
    assert client.add_rse("MOCK") is True
    assert client.add_rse("MOCK2", city="Geneva", rse_type="TAPE", deterministic=False) is True
    assert client.add_rse("MOCK3") is True
    with pytest.raises(Duplicate):
        client.add_rse("MOCK")
    info = client.get_rse("MOCK2")
    assert info["rse"] == "MOCK2" and info["rse_type"] == "TAPE"
    assert info["deterministic"] is False and info["availability"] == 7
    with pytest.raises(RSENotFound):
        client.get_rse("NOPE")

    assert client.add_rse_attribute("MOCK", "tier", "2") is True
    assert client.add_rse_attribute("MOCK2", "tier", "3") is True
    assert client.add_rse_attribute("MOCK2", "istape", True) is True
    assert client.list_rse_attributes("MOCK2") == {"MOCK2": True, "tier": "3", "istape": True,
                                                "city": "Geneva"}  # mirrored, as the real server
    assert client.delete_rse_attribute("MOCK2", "istape") is True

    assert [r["rse"] for r in client.list_rses()] == ["MOCK", "MOCK2", "MOCK3"]
    assert sorted(r["rse"] for r in client.list_rses("MOCK|MOCK2")) == ["MOCK", "MOCK2"]
    assert [r["rse"] for r in client.list_rses("tier>1&city=Geneva")] == ["MOCK2"]
    assert sorted(r["rse"] for r in client.list_rses("*\\MOCK")) == ["MOCK2", "MOCK3"]
    with pytest.raises(InvalidRSEExpression):
        list(client.list_rses("NOPE"))
    with pytest.raises(InvalidRSEExpression):
        list(client.list_rses("MOCK&"))

    with pytest.raises(RSEProtocolNotSupported):
        client.get_protocols("MOCK")
    assert client.add_protocol("MOCK", PROTOCOL) is True
    protocols = client.get_rse("MOCK")["protocols"]
    assert protocols[0]["scheme"] == "file" and protocols[0]["prefix"] == "/rucio"
    assert client.get_protocols("MOCK", scheme="file")["protocols"][0]["port"] == 0
    assert client.update_protocols("MOCK", "file", {"prefix": "/new"}, "localhost") is True
    assert client.get_rse("MOCK")["protocols"][0]["prefix"] == "/new"

    assert client.update_rse("MOCK3", {"availability_write": False}) is True
    assert client.get_rse("MOCK3")["availability_write"] is False
    assert client.set_rse_usage("MOCK", "srm", 10, 90) is True
    assert any(u["source"] == "srm" for u in client.get_rse_usage("MOCK"))
    assert client.set_rse_limits("MOCK", "MinFreeSpace", 100) is True
    assert client.get_rse_limits("MOCK") == {"MinFreeSpace": 100}
    assert client.add_distance("MOCK", "MOCK2", {"distance": 1}) is True
    assert client.get_distance("MOCK", "MOCK2")[0]["distance"] == 1
    assert client.delete_rse("MOCK3") is True
    with pytest.raises(RSENotFound):
        client.get_rse("MOCK3")


def test_client_account_limits_and_usage(live):
    client = live.client()
    client.add_rse("LIMITED")
    client.add_account("quota", "USER", None)
    assert client.set_local_account_limit("quota", "LIMITED", 1000) is True
    assert client.get_local_account_limits("quota") == {"LIMITED": 1000}
    assert client.get_local_account_limit("quota", "LIMITED") == {"LIMITED": 1000}
    assert client.set_local_account_limit("root", "LIMITED", -1) is True
    assert client.get_local_account_limits("root") == {"LIMITED": math.inf}
    assert client.set_global_account_limit("quota", "LIMITED|MOCK", 5000) is True
    assert client.get_global_account_limit("quota", "LIMITED|MOCK") == {"LIMITED|MOCK": 5000}
    assert client.get_global_account_limits("quota")["LIMITED|MOCK"]["limit"] == 5000
    usage = list(client.get_local_account_usage("quota"))
    assert usage == [{"rse_id": client.get_rse("LIMITED")["id"], "rse": "LIMITED", "bytes": 0,
                      "files": 0, "bytes_limit": 1000, "bytes_remaining": 1000}]
    assert list(client.get_local_account_usage("quota", "LIMITED")) == usage
    (global_usage,) = list(client.get_global_account_usage("quota"))
    assert global_usage["rse_expression"] == "LIMITED|MOCK" and global_usage["bytes"] == 0
    assert client.delete_local_account_limit("quota", "LIMITED") is True
    assert client.delete_global_account_limit("quota", "LIMITED|MOCK") is True
    assert client.get_local_account_limits("quota") == {}

    client.add_identity("quota", "quota-login", "USERPASS", None, password="pw")
    user = live.client("quota", "quota-login", "pw")
    with pytest.raises(AccessDenied):
        user.set_local_account_limit("quota", "LIMITED", 10)
    with pytest.raises(AccessDenied):
        list(user.get_local_account_usage("root"))
    assert list(user.get_local_account_usage("quota")) == []


def test_cli_rse_commands(live):
    result = live.cli("rse", "add", "CLI-RSE", program="rucio-admin")
    assert "CLI-RSE" in result.stdout
    live.cli("rse", "attribute", "set", "CLI-RSE", "--key", "tier", "--value", "7")
    assert live.cli("rse", "list", "--rses", "tier=7").stdout.split() == ["CLI-RSE"]
    assert "CLI-RSE" in live.cli("rse", "list").stdout.split()
    shown = live.cli("rse", "show", "CLI-RSE").stdout
    assert "Settings:" in shown and "tier: 7" in shown and "Usage:" in shown
    bad = live.cli("rse", "list", "--rses", "NOPE&", check=False)
    assert bad.returncode != 0


def test_cli_account_limits(live):
    live.cli("rse", "add", "CLI-LIMIT", program="rucio-admin")
    live.cli("account", "limit", "set", "root", "--rse", "CLI-LIMIT", "--bytes", "infinity")
    listed = live.cli("account", "limit", "list", "root")
    row = [line for line in listed.stdout.splitlines() if "CLI-LIMIT" in line]
    assert row and "inf" in row[0].lower()
    live.cli("account", "limit", "set", "root", "--rse", "CLI-LIMIT", "--bytes", "10GB")
    assert live.client().get_local_account_limit("root", "CLI-LIMIT") == {"CLI-LIMIT": 10 ** 10}
    assert "CLI-LIMIT" in live.cli("account", "limit", "list", "root").stdout
