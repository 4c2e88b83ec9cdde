"""Issue 11 (items 3, 4, 7-11, RSE/account parts): the real rucio-clients and CLIs against a
live server, on SQLite and PostgreSQL, as the real Rucio 41.5.1 server answers them."""
import json

import pytest
from rucio.common.exception import (Duplicate, InvalidObject, InvalidRSEExpression,
                                    RSEOperationNotSupported, RSEProtocolDomainNotSupported,
                                    RSEProtocolNotSupported, RSEProtocolPriorityError)
from rucio.common.constants import HTTPMethod
from rucio.common.utils import build_url

pytestmark = pytest.mark.integration

POSIX = "rucio.rse.protocols.posix.Default"


def names(client, expression):
    return sorted(r["rse"] for r in client.list_rses(expression))


def test_rse_expressions_on_columns(live):
    client = live.client()
    client.add_rse("XDISK")
    client.add_rse("XTAPE", rse_type="TAPE", deterministic=False, volatile=True)
    assert names(client, "deterministic=0&XTAPE|XDISK") == ["XDISK", "XTAPE"]
    assert names(client, "(XDISK|XTAPE)&deterministic=0") == ["XTAPE"]
    assert names(client, "(XDISK|XTAPE)&deterministic=true") == ["XDISK"]
    assert names(client, "(XDISK|XTAPE)&rse_type=TAPE") == ["XTAPE"]
    assert names(client, "volatile") == ["XTAPE"]                  # a bare boolean column
    assert names(client, "(XDISK|XTAPE)\\deterministic") == ["XTAPE"]
    for bad in ("rse_type=tape", "rse_type=FOO", "deterministic=maybe"):
        with pytest.raises(InvalidObject):
            list(client.list_rses(bad))
    client.update_rse("XDISK", {"latitude": 46.2, "longitude": 6.1})
    with pytest.raises(InvalidRSEExpression):                      # < and >: attributes only
        list(client.list_rses("latitude>0"))
    listed = live.cli("rse", "list", "--rses", "volatile").stdout
    assert "XTAPE" in listed and "XDISK" not in listed


def test_protocol_priorities_and_null(live):
    client = live.client()
    client.add_rse("PROTO")
    client.add_protocol("PROTO", {
        "scheme": "file", "hostname": "localhost", "port": 0, "prefix": "/tmp/a", "impl": POSIX,
        "domains": {"lan": {"read": 0, "write": None}, "wan": {"read": 0, "delete": None}},
        "domain_json": {"ignored": True}})                         # the CLI's key: ignored
    (protocol,) = client.get_rse("PROTO")["protocols"]
    assert protocol["domains"]["lan"] == {"read": 0, "write": None, "delete": None}
    assert protocol["domains"]["wan"]["read"] == 0
    assert protocol["domains"]["wan"]["write"] is None             # left out: not supported
    assert protocol["domains"]["wan"]["third_party_copy_read"] is None
    # the domain is checked before impl; priorities before the duplicate check
    with pytest.raises(RSEProtocolDomainNotSupported):
        client.add_protocol("PROTO", {"scheme": "root", "domains": {"moon": {"read": 1}}})
    with pytest.raises(RSEProtocolPriorityError):
        client.add_protocol("PROTO", {"scheme": "root", "impl": POSIX,
                                      "domains": {"wan": {"read": -1}}})
    with pytest.raises(RSEOperationNotSupported):
        client.add_protocol("PROTO", {"scheme": "root", "impl": POSIX,
                                      "domains": {"wan": {"fly": 1}}})
    with pytest.raises(Duplicate):
        client.add_protocol("PROTO", {"scheme": "file", "hostname": "localhost", "port": 0,
                                      "impl": POSIX})
    client.add_protocol("PROTO", {"scheme": "root", "hostname": "xrd", "port": 1094,
                                  "prefix": "/b", "impl": POSIX,
                                  "domains": {"wan": {"read": 1, "write": 1}}})
    # get_protocols: priority 0 is a supported operation and comes first; null is left out
    readers = client.get_protocols("PROTO", protocol_domain="wan", operation="read")
    assert [p["scheme"] for p in readers["protocols"]] == ["file", "root"]
    writers = client.get_protocols("PROTO", protocol_domain="wan", operation="write",
                                   default=True)
    assert [p["scheme"] for p in writers["protocols"]] == ["root"]
    lan_readers = client.get_protocols("PROTO", protocol_domain="lan", operation="read")
    assert [p["scheme"] for p in lan_readers["protocols"]] == ["file"]
    with pytest.raises(RSEProtocolNotSupported):
        client.get_protocols("PROTO", protocol_domain="lan", operation="delete")
    with pytest.raises(RSEOperationNotSupported):
        client.get_protocols("PROTO", operation="fly")
    # /protocols/{scheme}: the RSE document with all protocols, so swap_protocols works
    by_scheme = client.get_protocols("PROTO", scheme="root")["protocols"]
    assert sorted(p["scheme"] for p in by_scheme) == ["file", "root"]
    assert client.swap_protocols("PROTO", "wan", "read", "file", "root") is True
    domains = {p["scheme"]: p["domains"]["wan"]["read"]
               for p in client.get_rse("PROTO")["protocols"]}
    assert domains == {"file": 1, "root": 0}
    # update: the protocol is looked up before the payload is checked
    with pytest.raises(RSEProtocolNotSupported):
        client.update_protocols("PROTO", "davs", {"domains": {"moon": {"read": 1}}},
                                "nohost", 443)
    assert client.update_protocols("PROTO", "root", {"domains": {"wan": {"write": None}}},
                                   "xrd", 1094) is True
    root = next(p for p in client.get_rse("PROTO")["protocols"] if p["scheme"] == "root")
    assert root["domains"]["wan"]["write"] is None


def test_protocol_cli(live):
    live.client().add_rse("CLIPROTO")
    domains = {"wan": {"read": 0, "write": 0, "delete": 0}}
    live.cli(
        "rse", "add-protocol", "--hostname", "h.example", "--scheme", "davs", "--prefix", "/p",
        "--port", "443", "--impl", POSIX, "--domain-json", json.dumps(domains), "CLIPROTO",
        program="rucio-admin")
    (protocol,) = live.client().get_rse("CLIPROTO")["protocols"]
    assert protocol["domains"]["wan"] == {"read": 0, "write": 0, "delete": 0,
                                          "third_party_copy_read": None,
                                          "third_party_copy_write": None}
    assert protocol["hostname"] == "h.example" and protocol["port"] == 443


def test_rse_properties_names_and_distances(live):
    client = live.client()
    # nullable properties are accepted (the test world's set-up passes them)
    assert client.add_rse("NULLS", staging_area=None, deterministic=None, volatile=None,
                          city=None, rse_type=None, latitude=None) is True
    info = client.get_rse("NULLS")
    assert info["staging_area"] is False and info["deterministic"] is True
    assert info["rse_type"] == "DISK"
    # location columns are mirrored into attributes (add and update)
    client.add_rse("WHERE", city="Geneva", country_name="CH")
    attributes = client.list_rse_attributes("WHERE")
    assert attributes["city"] == "Geneva" and attributes["country_name"] == "CH"
    assert client.update_rse("WHERE", {"city": "Bern", "continent": "EU"}) is True
    attributes = client.list_rse_attributes("WHERE")
    assert attributes["city"] == "Bern" and attributes["continent"] == "EU"
    assert names(client, "city=Bern") == ["WHERE"]
    # a deleted RSE's name stays taken
    client.delete_rse("NULLS")
    with pytest.raises(Duplicate):
        client.add_rse("NULLS")
    result = live.cli("rse", "add", "NULLS", program="rucio-admin", check=False)
    assert result.returncode == 14 and "RSE 'NULLS' already exists!" in result.stderr
    # distances: a missing one deletes fine, a duplicate says what the real server says
    assert client.delete_distance("WHERE", "PROTO") is True
    assert client.add_distance("WHERE", "PROTO", {"distance": 2}) is True
    with pytest.raises(Duplicate) as error:
        client.add_distance("WHERE", "PROTO", {"distance": 2})
    assert "Details: None" in str(error.value)
    assert client.delete_distance("WHERE", "PROTO") is True
    assert client.get_distance("WHERE", "PROTO") == []


def test_accounts_identities(live):
    client = live.client()
    assert client.whoami()["account"] == "root"                    # 303, followed
    response = client._send_request(build_url(live.url, path="accounts/whoami"), method=HTTPMethod.GET)
    assert response.history and response.history[0].status_code == 303
    assert [a["account"] for a in client.list_accounts(identity="ddmlab")] == ["root"]
    assert "root" in [a["account"] for a in client.list_accounts(account_type="SERVICE")]
    assert [a["account"] for a in client.list_accounts(filters={"account": "ro*"})] == ["root"]
    client.add_account("idle", "USER", "idle@example.org")
    client.add_account_attribute("idle", "admin", True)
    assert [a["account"] for a in client.list_accounts(filters={"admin": True})] == ["idle"]
    # PUT /identities/{account}/userpass (headers as the real server reads them)
    url = build_url(live.url, path="identities/idle/userpass")
    response = client._send_request(url, method=HTTPMethod.PUT, headers={
        "X-Rucio-Username": "idle-login", "X-Rucio-Password": "pw",
        "X-Rucio-Email": "idle@example.org"})
    assert response.status_code == 201
    assert [a["account"] for a in client.list_accounts(identity="idle-login")] == ["idle"]
    assert live.client("idle", "idle-login", "pw").whoami()["account"] == "idle"
    missing = client._send_request(url, method=HTTPMethod.PUT, headers={"X-Rucio-Username": "x"})
    assert missing.status_code == 400
    assert missing.headers["ExceptionClass"] == "ValueError"
    # /identities/accounts names the missing parameter
    for params, message in [({"type": "USERPASS"}, "identity_key parameter is required."),
                            ({"identity_key": "ddmlab"}, "type parameter is required.")]:
        answer = client._send_request(build_url(live.url, path="identities/accounts"),
                                      method=HTTPMethod.GET, params=params)
        assert answer.status_code == 400 and answer.headers["ExceptionMessage"] == message
    found = client._send_request(build_url(live.url, path="identities/accounts"), method=HTTPMethod.GET,
                                 params={"identity_key": "ddmlab", "type": "userpass"})
    assert found.json() == ["root"]
    # the seed's `proxy` identity type: an X509 identity
    proxy_url = build_url(live.url, path="accounts/idle/identities/proxy/%2FCN%3Didle")
    assert client._send_request(proxy_url, method=HTTPMethod.POST,
                                data=json.dumps({"email": "i@x"})).status_code == 201
    assert {"type": "X509", "identity": "/CN=idle", "email": "i@x"} in \
        list(client.list_identities("idle"))
    listed = live.cli("account", "list-identities", "idle", program="rucio-admin").stdout
    assert "/CN=idle" in listed and "idle-login" in listed


def test_usage_and_put_answers(live):
    client = live.client()
    client.add_rse("USAGE")
    assert client.set_rse_usage("USAGE", "srm", 80, 20) is True
    (srm,) = [u for u in client.get_rse_usage("USAGE") if u["source"] == "srm"]
    assert (srm["used"], srm["free"], srm["total"]) == (80, 20, 100)
    (srm,) = client.get_rse_usage("USAGE", filters={"source": "srm"})
    assert srm["used"] == 80
    client.set_local_account_limit("root", "USAGE", 1000)
    lines = [json.loads(line) for line in client._send_request(
        build_url(live.url, path="rses/USAGE/accounts/usage"), method=HTTPMethod.GET).text.splitlines()]
    root = next(line for line in lines if line["account"] == "root")
    assert root == {"rse_id": client.get_rse("USAGE")["id"], "rse": "USAGE", "account": "root",
                    "used_files": 0, "used_bytes": 0, "quota_bytes": 1000}
    # the seed's PUT updates answer 200
    put = client._send_request(build_url(live.url, path="rses/USAGE/attr/tier"), method=HTTPMethod.PUT,
                               data=json.dumps({"value": "1"}))
    assert put.status_code == 200
    assert client.list_rse_attributes("USAGE")["tier"] == "1"
    put = client._send_request(build_url(live.url, path="accounts/root/limits"), method=HTTPMethod.PUT,
                               data=json.dumps({"rse": "USAGE", "bytes": 5}))
    assert put.status_code == 200
    assert client.get_local_account_limit("root", "USAGE") == {"USAGE": 5}
