"""Ping, auth, tokens, errors, accounts, identities and scopes through HTTP, on both databases."""
import time

import jwt
import pytest

from rucio_tornado.models import Account, Identity, IdentityAccount, Scope
from tests.conftest import TEST_SECRET, count_rows

pytestmark = pytest.mark.gen_test


async def test_ping_needs_no_token(api):
    response = await api.as_(None).get("/ping")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert "version" in response.json()


async def test_userpass_gives_a_token_that_works(api):
    anon = api.as_(None)
    response = await anon.get("/auth/userpass", headers={
        "X-Rucio-Username": "ddmlab", "X-Rucio-Password": "secret", "X-Rucio-Account": "root"})
    assert response.status == 200
    token = response.headers["X-Rucio-Auth-Token"]
    assert response.headers["X-Rucio-Auth-Token-Expires"].endswith(" UTC")
    whoami = await anon.get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token})
    assert whoami.status == 200 and whoami.json()["account"] == "root"
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    assert {"sub", "iat", "exp", "jti"} <= set(claims)


async def test_userpass_without_account_picks_the_only_one(api):
    response = await api.as_(None).get("/auth/userpass", headers={
        "X-Rucio-Username": "ddmlab", "X-Rucio-Password": "secret"})
    assert response.status == 200
    assert response.headers["X-Rucio-Auth-Account"] == "root"


@pytest.mark.parametrize("headers, exception", [
    ({"X-Rucio-Username": "ddmlab", "X-Rucio-Password": "wrong", "X-Rucio-Account": "root"},
     "CannotAuthenticate"),
    ({"X-Rucio-Username": "ddmlab", "X-Rucio-Account": "root"}, "CannotAuthenticate"),
    ({"X-Rucio-Username": "nobody", "X-Rucio-Password": "x"}, "IdentityError"),
])
async def test_userpass_failures_are_401(api, headers, exception):
    response = await api.as_(None).get("/auth/userpass", headers=headers)
    assert response.status == 401
    assert response.exception_class == exception


async def test_post_auth_token_json(api):
    response = await api.as_(None).post("/auth/token", {
        "account": "root", "username": "ddmlab", "password": "secret"})
    assert response.status == 200
    token = response.json()["token"]
    check = await api.as_(None).get("/auth/validate", headers={"X-Rucio-Auth-Token": token})
    assert check.status == 200 and check.json()["account"] == "root"


@pytest.mark.parametrize("body", [{"account": "root", "username": 1, "password": "secret"},
                                  {"account": ["root"], "username": "ddmlab", "password": "x"},
                                  {"username": "ddmlab"}])
async def test_post_auth_token_bad_input_is_401(api, body):
    response = await api.as_(None).post("/auth/token", body)
    assert response.status == 401 and response.exception_class == "CannotAuthenticate"


async def test_missing_token_is_400_value_error(api):
    response = await api.as_(None).get("/accounts/root")
    assert response.status == 400
    assert response.exception_class == "ValueError"


def _forge(claims, key=TEST_SECRET, algorithm="HS256"):
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.mark.parametrize("make_token", [
    lambda: "not-a-token",
    lambda: _forge({"sub": "root", "iat": 0, "exp": int(time.time()) - 10, "jti": "x"}),
    lambda: _forge({"sub": "root", "iat": 0, "exp": int(time.time()) + 99, "jti": "x"},
                   key="another-key-entirely-different"),
    lambda: _forge({"sub": "root", "iat": 0, "exp": int(time.time()) + 99, "jti": "x"},
                   key=None, algorithm="none"),
    lambda: _forge({"sub": "root", "exp": int(time.time()) + 99}),
    lambda: _forge({"sub": "ghost", "iat": 0, "exp": int(time.time()) + 99, "jti": "x"}),
], ids=["garbage", "expired", "wrong-key", "alg-none", "missing-claims", "unknown-account"])
async def test_bad_tokens_are_401(api, make_token):
    response = await api.as_(None).get("/accounts/whoami",
                                       headers={"X-Rucio-Auth-Token": make_token()})
    assert response.status == 401
    assert response.exception_class == "CannotAuthenticate"


async def test_tampered_token_is_401(api):
    header, payload, signature = api.token.split(".")
    tampered = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA"
                                                             else "BBBB")])
    response = await api.as_(None).get("/accounts/whoami",
                                       headers={"X-Rucio-Auth-Token": tampered})
    assert response.status == 401


async def test_authorization_bearer_header_works(api):
    response = await api.as_(None).get("/accounts/whoami",
                                       headers={"Authorization": f"Bearer {api.token}"})
    assert response.status == 200


async def test_suspended_and_deleted_accounts_lose_their_tokens_at_once(api):
    assert (await api.post("/accounts/jdoe", {"type": "USER", "email": None})).status == 201
    jdoe = api.as_("jdoe")
    assert (await jdoe.get("/accounts/whoami")).status == 200
    assert (await api.put("/accounts/jdoe", {"status": "SUSPENDED"})).status == 200
    assert (await jdoe.get("/accounts/whoami")).status == 401
    assert (await api.put("/accounts/jdoe", {"status": "ACTIVE"})).status == 200
    assert (await jdoe.get("/accounts/whoami")).status == 200
    assert (await api.delete("/accounts/jdoe")).status == 200
    assert (await jdoe.get("/accounts/whoami")).status == 401


async def test_unknown_route_is_a_rucio_404(api):
    response = await api.get("/no/such/route")
    assert response.status == 404
    assert response.exception_class == "NotFound"
    assert response.json()["ExceptionClass"] == "NotFound"


async def test_wrong_method_is_405(api):
    response = await api.request("PATCH", "/accounts/root", body={})
    assert response.status == 405


async def test_explicit_unsupported_accept_is_406(api):
    response = await api.get("/accounts/root", headers={"Accept": "text/html"})
    assert response.status == 406
    assert response.exception_class == "UnsupportedRequestedContentType"


# -- accounts ---------------------------------------------------------------------------------
async def test_account_lifecycle(api, db):
    response = await api.post("/accounts/jdoe", {"type": "user", "email": "j@example.org"})
    assert response.status == 201
    account = (await api.get("/accounts/jdoe")).json()
    assert account["account"] == "jdoe" and account["account_type"] == "USER"
    assert account["status"] == "ACTIVE" and account["created_at"].endswith(" UTC")
    assert (await api.get("/accounts/jdoe")).headers["Content-Type"] == "application/json"
    assert (await api.put("/accounts/jdoe", {"email": "new@example.org"})).status == 200
    assert (await api.get("/accounts/jdoe")).json()["email"] == "new@example.org"
    listing = await api.get("/accounts/")
    assert listing.headers["Content-Type"] == "application/x-json-stream"
    assert {"account": "jdoe", "type": "USER", "email": "new@example.org"} in listing.lines()
    assert (await api.delete("/accounts/jdoe")).status == 200
    assert (await api.get("/accounts/jdoe")).json()["status"] == "DELETED"
    assert "jdoe" not in [a["account"] for a in (await api.get("/accounts")).lines()]
    second = await api.delete("/accounts/jdoe")
    assert second.status == 404 and second.exception_class == "AccountNotFound"


async def test_account_list_filters(api):
    for name, type_ in [("alice", "USER"), ("bob", "GROUP"), ("carol", "USER")]:
        await api.post(f"/accounts/{name}", {"type": type_, "email": None})
    await api.post("/accounts/carol/attr/admin", {"key": "admin", "value": "True"})
    names = lambda r: [a["account"] for a in r.lines()]  # noqa: E731
    assert names(await api.get("/accounts/?account_type=USER")) == ["alice", "carol"]
    assert names(await api.get("/accounts/?account=a*")) == ["alice"]
    assert names(await api.get("/accounts/?admin=True")) == ["carol"]
    assert names(await api.get("/accounts/?identity=ddmlab")) == ["root"]


@pytest.mark.parametrize("path, body, status, exception", [
    ("/accounts/Bad_Name", {"type": "USER", "email": None}, 400, "InvalidObject"),
    ("/accounts/" + "a" * 26, {"type": "USER", "email": None}, 400, "InvalidObject"),
    ("/accounts/okname", {"type": "ROBOT", "email": None}, 400, "InvalidAccountType"),
    ("/accounts/okname", {"email": None}, 400, "KeyError"),
    ("/accounts/okname", {"type": "USER"}, 400, "KeyError"),
    ("/accounts/okname", ["USER"], 400, "TypeError"),
    ("/accounts/root", {"type": "USER", "email": None}, 409, "Duplicate"),
])
async def test_bad_account_input_changes_nothing(api, db, path, body, status, exception):
    before = count_rows(db, Account)
    response = await api.post(path, body)
    assert (response.status, response.exception_class) == (status, exception)
    assert count_rows(db, Account) == before


async def test_non_json_body_is_400(api, db):
    response = await api.post("/accounts/okname", raw_body="{not json")
    assert response.status == 400 and response.exception_class == "ValueError"
    empty = await api.post("/accounts/okname", raw_body="")
    assert empty.status == 400 and empty.exception_class == "ValueError"
    assert count_rows(db, Account) == 1


async def test_unknown_update_key_is_refused(api):
    await api.post("/accounts/jdoe", {"type": "USER", "email": None})
    response = await api.put("/accounts/jdoe", {"colour": "blue"})
    assert response.status == 400 and response.exception_class == "InvalidObject"


async def test_only_admins_manage_accounts(api):
    await api.post("/accounts/jdoe", {"type": "USER", "email": None})
    jdoe = api.as_("jdoe")
    response = await jdoe.post("/accounts/other", {"type": "USER", "email": None})
    assert response.status == 401 and response.exception_class == "AccessDenied"
    assert (await jdoe.delete("/accounts/root")).status == 401
    await api.post("/accounts/jdoe/attr/admin", {"key": "admin", "value": "True"})
    # adding and deleting accounts is root's alone in the generic policy, admins included
    response = await jdoe.post("/accounts/other", {"type": "USER", "email": None})
    assert response.status == 401 and response.exception_class == "AccessDenied"
    assert (await jdoe.put("/accounts/root", {"email": "root@b.org"})).status == 200
    assert (await api.post("/accounts/other", {"type": "USER", "email": None})).status == 201


async def test_account_attributes(api):
    await api.post("/accounts/jdoe", {"type": "USER", "email": None})
    assert (await api.post("/accounts/jdoe/attr/admin", {"key": "admin", "value": "True"})
            ).status == 201
    assert (await api.post("/accounts/jdoe/attr/country", {"key": "country", "value": "ch"})
            ).status == 201
    attrs = (await api.get("/accounts/jdoe/attr/")).json()
    assert {"key": "admin", "value": True} in attrs and {"key": "country", "value": "ch"} in attrs
    dup = await api.post("/accounts/jdoe/attr/admin", {"key": "admin", "value": "False"})
    assert dup.status == 409
    bad = await api.post("/accounts/jdoe/attr/bad%20key", {"key": "bad key", "value": "x"})
    assert bad.status == 400
    assert (await api.delete("/accounts/jdoe/attr/country")).status == 200
    missing = await api.delete("/accounts/jdoe/attr/country")
    assert missing.status == 404 and missing.exception_class == "AccountNotFound"


# -- identities -------------------------------------------------------------------------------
async def test_identities_client_form(api, db):
    await api.post("/accounts/jdoe", {"type": "USER", "email": None})
    body = {"identity": "jdoe", "authtype": "USERPASS", "email": "j@x.org", "password": "pw1",
            "default": True}
    assert (await api.post("/accounts/jdoe/identities", body)).status == 201
    assert (await api.post("/accounts/jdoe/identities", body)).status == 409
    lines = (await api.get("/accounts/jdoe/identities")).lines()
    assert lines == [{"type": "USERPASS", "identity": "jdoe", "email": "j@x.org"}]
    token = await api.as_(None).get("/auth/userpass", headers={
        "X-Rucio-Username": "jdoe", "X-Rucio-Password": "pw1"})
    assert token.status == 200 and token.headers["X-Rucio-Auth-Account"] == "jdoe"
    nopw = await api.post("/accounts/jdoe/identities",
                          {"identity": "x", "authtype": "USERPASS", "email": None})
    assert nopw.status == 400 and nopw.exception_class == "IdentityError"
    gone = await api.delete("/accounts/jdoe/identities", {"identity": "jdoe",
                                                          "authtype": "USERPASS"})
    assert gone.status == 200
    assert (await api.get("/accounts/jdoe/identities")).lines() == []
    again = await api.delete("/accounts/jdoe/identities", {"identity": "jdoe",
                                                           "authtype": "USERPASS"})
    assert again.status == 404
    with db.peewee.connection_context():
        assert IdentityAccount.select().where(IdentityAccount.account == "jdoe").count() == 0


async def test_identities_seed_path_form(api):
    await api.post("/accounts/jdoe", {"type": "USER", "email": None})
    dn = "%2FDC%3Dch%2FCN%3Djdoe"
    assert (await api.post(f"/accounts/jdoe/identities/x509/{dn}",
                           {"email": "j@x.org"})).status == 201
    lines = (await api.get("/accounts/jdoe/identities")).lines()
    assert lines == [{"type": "X509", "identity": "/DC=ch/CN=jdoe", "email": "j@x.org"}]
    assert (await api.get(f"/identities/x509/{dn}/accounts/")).json() == ["jdoe"]
    assert (await api.get(f"/identities/{dn}/x509/accounts")).json() == ["jdoe"]
    assert (await api.get(f"/identities/accounts?identity_key={dn}&type=X509")).json() == [
        "jdoe"]
    assert (await api.delete(f"/accounts/jdoe/identities/X509/{dn}")).status == 200
    missing = await api.get(f"/identities/x509/{dn}/accounts/")
    assert missing.status == 200 and missing.json() == []


async def test_identity_for_unknown_account_is_404(api, db):
    before = count_rows(db, Identity)
    response = await api.post("/accounts/ghost/identities", {
        "identity": "g", "authtype": "USERPASS", "email": None, "password": "x"})
    assert response.status == 404 and response.exception_class == "AccountNotFound"
    assert count_rows(db, Identity) == before


# -- scopes -----------------------------------------------------------------------------------
async def test_scopes(api, db):
    await api.post("/accounts/jdoe", {"type": "USER", "email": None})
    missing = await api.get("/accounts/jdoe/scopes/")
    assert missing.status == 404 and missing.exception_class == "ScopeNotFound"
    assert (await api.post("/accounts/jdoe/scopes/user.jdoe")).status == 201
    assert (await api.post("/scopes/jdoe/mock")).status == 201
    dup = await api.post("/accounts/root/scopes/user.jdoe")
    assert dup.status == 409 and dup.exception_class == "Duplicate"
    assert (await api.get("/scopes/")).json() == ["mock", "user.jdoe"]
    assert (await api.get("/accounts/jdoe/scopes/")).json() == ["mock", "user.jdoe"]
    assert (await api.get("/scopes/jdoe/scopes")).json() == ["mock", "user.jdoe"]
    assert {"scope": "mock", "account": "jdoe"} in (await api.get("/scopes/owner")).json()
    assert (await api.put("/scopes/root/mock")).status == 201
    assert {"scope": "mock", "account": "root"} in (await api.get("/scopes/owner/")).json()
    bad = await api.post("/accounts/jdoe/scopes/bad%20scope%21")
    assert bad.status == 400 and bad.exception_class == "InvalidObject"
    ghost = await api.post("/accounts/ghost/scopes/ghostscope")
    assert ghost.status == 404 and ghost.exception_class == "AccountNotFound"
    denied = await api.as_("jdoe").post("/accounts/jdoe/scopes/user.other")
    assert denied.status == 401 and denied.exception_class == "AccessDenied"
    assert (await api.delete("/accounts/jdoe/scopes/user.jdoe")).status == 200
    assert (await api.get("/scopes/")).json() == ["mock"]
    with db.peewee.connection_context():
        assert Scope.select().where(Scope.status == "DELETED").count() == 1
