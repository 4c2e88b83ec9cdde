"""Lifetime exceptions and /redirect with the real rucio-clients and plain HTTP, live."""
import datetime

import pytest
import requests

pytestmark = pytest.mark.integration
ADLER = "0cc737eb"


def datasets(client, prefix, eol_names):
    if "mock" not in client.list_scopes():
        client.add_scope("root", "mock")
    names = []
    for suffix in ("old1", "old2", "fresh"):
        name = f"{prefix}.{suffix}"
        client.add_dataset("mock", name)
        if suffix in eol_names:
            client.set_metadata("mock", name, "eol_at", "2026-01-01T00:00:00")
        names.append(name)
    return names


def test_client_lifetime_exceptions(live):
    client = live.client()
    old1, old2, fresh = datasets(client, "lt", ("old1", "old2"))
    dids = [{"scope": "mock", "name": n} for n in (old1, old2, fresh, "lt.ghost")]
    result = client.add_exception(dids, account="root", pattern="", comments="analysis",
                                  expires_at=datetime.datetime(2028, 1, 1))
    [(exception_id, excepted)] = result["exceptions"].items()
    assert sorted(d["name"] for d in excepted) == [old1, old2]
    assert [d["name"] for d in result["not_affected"]] == [fresh]
    assert [d["name"] for d in result["unknown"]] == ["lt.ghost"]
    listed = [e for e in client.list_exceptions() if e["id"] == exception_id]
    assert sorted(e["name"] for e in listed) == [old1, old2]
    assert {e["state"] for e in listed} == {"WAITING"}
    assert listed[0]["expires_at"] == datetime.datetime(2028, 1, 1)
    assert len(list(client.list_exceptions(exception_id=exception_id))) == 2

    client.add_account("ltjoe", "USER", "ltjoe@example.org")
    client.add_identity("ltjoe", "ltjoe", "USERPASS", "ltjoe@example.org", password="pw")
    joe = live.client("ltjoe", "ltjoe", "pw")
    mine = joe.add_exception([{"scope": "mock", "name": old1}], account="ltjoe", pattern="",
                             comments="mine", expires_at=None)
    assert len(mine["exceptions"]) == 1
    # approving has no client method: the web UI's PUT, as root and as a plain account
    headers = {"X-Rucio-Auth-Token": client.auth_token}
    url = f"{live.url}/lifetime_exceptions/{exception_id}"
    assert requests.put(url, json={"state": "APPROVED"}, headers=headers).status_code == 201
    refused = requests.put(url, json={"state": "REJECTED"},
                           headers={"X-Rucio-Auth-Token": joe.auth_token})
    assert (refused.status_code, refused.headers["ExceptionClass"]) == (401, "AccessDenied")
    assert {e["state"] for e in client.list_exceptions(exception_id=exception_id)} == \
        {"APPROVED"}


def lifetime_cli(live, tmp_path, *args, check=True):
    """``rucio lifetime-exception ...``: the CLI offers the command only when the client
    configuration adds it (``[cli] endpoints_add``)."""
    config = tmp_path / "rucio-cli.cfg"
    config.write_text(live.config.read_text() + "\n[cli]\nendpoints_add = lifetime-exception\n")
    saved = live.env["RUCIO_CONFIG"]
    live.env["RUCIO_CONFIG"] = str(config)
    try:
        return live.cli("lifetime-exception", *args, check=check)
    finally:
        live.env["RUCIO_CONFIG"] = saved


def test_cli_lifetime_exception_add(live, tmp_path):
    client = live.client()
    old1, old2, fresh = datasets(client, "cli", ("old1",))
    listing = tmp_path / "dids.txt"
    listing.write_text(f"mock:{old1}\n\nmock:{fresh}\nmock:{old1}\n")
    result = lifetime_cli(live, tmp_path, "add", "-f", str(listing), "--reason", "keep",
                          "-x", "2028-06-01")
    assert "DID successfully submitted" in result.stdout, result.stdout + result.stderr
    mine = [e for e in client.list_exceptions() if e["name"] == old1]
    assert [(e["comments"], e["state"]) for e in mine] == [("keep", "WAITING")]
    assert mine[0]["expires_at"] == datetime.datetime(2028, 6, 1)
    assert not [e for e in client.list_exceptions() if e["name"] == fresh]
    bad = lifetime_cli(live, tmp_path, "add", "-f", str(listing), "--reason", "keep",
                       "-x", "someday", check=False)
    assert "Cannot parse expiration date" in bad.stderr      # refused by the CLI itself
    assert len([e for e in client.list_exceptions() if e["name"] == old1]) == 1


def test_redirect_without_token(live):
    client = live.client()
    if "mock" not in client.list_scopes():
        client.add_scope("root", "mock")
    client.add_rse("RD-A")
    client.add_protocol("RD-A", {"scheme": "davs", "hostname": "dav.example", "port": 443,
                                 "prefix": "/store", "impl": "rucio.rse.protocols.gfal.Default",
                                 "domains": {"wan": {"read": 1, "write": 1, "delete": 1}}})
    client.add_rse_attribute("RD-A", "site", "RDSITE")
    client.add_replicas("RD-A", [{"scope": "mock", "name": "rd.f1", "bytes": 10,
                                  "adler32": ADLER}])
    [line] = client.list_replicas([{"scope": "mock", "name": "rd.f1"}], schemes=["davs"])
    [pfn] = line["rses"]["RD-A"]
    response = requests.get(f"{live.url}/redirect/mock/rd.f1", allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["Location"] == pfn.replace("davs://", "https://")
    assert "metalink" in response.headers["Link"]
    pinned = requests.get(f"{live.url}/redirect/mock/rd.f1?rse=RD-A", allow_redirects=False)
    assert pinned.headers["Location"] == pfn
    by_site = requests.get(f"{live.url}/redirect/mock/rd.f1?site=RDSITE&select=random",
                           allow_redirects=False)
    assert by_site.status_code == 303
    missing = requests.get(f"{live.url}/redirect/mock/rd.f1?site=ELSEWHERE",
                           allow_redirects=False)
    assert (missing.status_code, missing.headers["ExceptionClass"]) == (404, "ReplicaNotFound")
    unknown = requests.get(f"{live.url}/redirect/mock/rd.none", allow_redirects=False)
    assert (unknown.status_code, unknown.headers["ExceptionClass"]) == \
        (404, "DataIdentifierNotFound")
    metalink = requests.get(f"{live.url}/redirect/mock/rd.f1/metalink?schemes=davs")
    assert metalink.status_code == 200 and pfn in metalink.text
    assert metalink.headers["Content-Type"] == "application/metalink4+xml"
