"""The OIDC login flows (/auth/oidc, /auth/oidc_redirect, /auth/oidc_code, /auth/oidc_refresh)
against a throw-away identity provider on 127.0.0.1, driven over plain HTTP as a browser and
the client would; on both databases."""
import datetime
from urllib.parse import urlsplit

import pytest
from tornado.httpclient import AsyncHTTPClient

from rucio_tornado.config import Settings
from rucio_tornado.core import accounts, identities
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.models import OIDCLogin
from tests.conftest import TEST_SECRET, Response, count_rows
from tests.oidc_idp import LoginProvider

pytestmark = pytest.mark.gen_test
ROOT = Issuer("root", is_admin=True)
FETCH = {"X-Rucio-Client-Fetch-Token": "True"}


@pytest.fixture(scope="module")
def provider():
    idp = LoginProvider().serve()
    yield idp
    idp.stop()


@pytest.fixture
def settings(tmp_path, provider):
    return Settings(data_dir=str(tmp_path), jwt_secret=TEST_SECRET, periodic_tasks=False,
                    **provider.settings())


@pytest.fixture
def jane(db, provider):
    db.run_sync(accounts.add_account, ROOT, "jane", "USER")
    db.run_sync(identities.add_identity, ROOT, "jane", provider.identity("jane"), "OIDC",
                "jane@example.org")


async def browse(url):
    """GET as a browser, one step (redirects not followed)."""
    return Response(await AsyncHTTPClient().fetch(url, follow_redirects=False,
                                                  raise_error=False))


async def browser_login(api, auth_url):
    """What a browser does with the URL the client got: on to the IdP, back to us."""
    response = await browse(auth_url)
    assert response.status == 303, response
    idp = await browse(response.headers["Location"])
    back = idp.headers.get("Location", "")
    assert idp.status == 302 and back.startswith(api.base_url + "/auth/oidc_code?"), idp
    return await browse(back)


async def start(api, polling=False, scope="openid profile", **headers):
    headers = {"X-Rucio-Client-Authorize-Polling": str(polling),
               "X-Rucio-Client-Authorize-Scope": scope,
               "X-Rucio-Client-Authorize-Refresh-Lifetime": "None", **headers}
    return await api.as_(None).get("/auth/oidc", headers=headers)


def fetch_path(auth_url, api, code=None):
    parts = urlsplit(auth_url)
    return f"{parts.path}?{code or parts.query}"


async def test_polling_login(api, jane):
    response = await start(api, polling=True, **{"X-Rucio-Account": "jane"})
    assert response.status == 200, response
    auth_url = response.headers["X-Rucio-OIDC-Auth-URL"]
    assert auth_url.startswith(api.base_url + "/auth/oidc_redirect?")
    assert auth_url.endswith("_polling")
    # the client polls before the user has logged in: nothing yet
    early = await api.as_(None).get(fetch_path(auth_url, api), headers=FETCH)
    assert (early.status, early.exception_class) == (401, "CannotAuthenticate")
    page = await browser_login(api, auth_url)
    assert page.status == 200 and "text/html" in page.headers["Content-Type"], page
    polled = await api.as_(None).get(fetch_path(auth_url, api), headers=FETCH)
    assert polled.status == 200, polled
    token = polled.headers["X-Rucio-Auth-Token"]
    whoami = await api.as_(None).get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token})
    assert whoami.json()["account"] == "jane"
    # the code is spent
    again = await api.as_(None).get(fetch_path(auth_url, api), headers=FETCH)
    assert again.status == 401


async def test_fetch_code_login_with_the_identity_s_default_account(api, jane):
    response = await start(api)
    auth_url = response.headers["X-Rucio-OIDC-Auth-URL"]
    page = await browser_login(api, auth_url)
    assert page.status == 200, page
    fetchcode = page.text.split("Rucio client: ")[1].split("<")[0]
    # the old code is not the fetch code
    wrong = await api.as_(None).get(fetch_path(auth_url, api), headers=FETCH)
    assert wrong.status == 401
    fetched = await api.as_(None).get(f"/auth/oidc_redirect?{fetchcode}", headers=FETCH)
    assert fetched.status == 200, fetched
    validate = await api.as_(None).get("/auth/validate", headers={
        "X-Rucio-Auth-Token": fetched.headers["X-Rucio-Auth-Token"]})
    assert validate.json()["account"] == "jane"


async def test_refresh_with_offline_access(api, jane, tokens, db):
    response = await start(api, polling=True, scope="openid profile offline_access",
                           **{"X-Rucio-Account": "jane"})
    auth_url = response.headers["X-Rucio-OIDC-Auth-URL"]
    assert (await browser_login(api, auth_url)).status == 200
    token = (await api.as_(None).get(fetch_path(auth_url, api), headers=FETCH)) \
        .headers["X-Rucio-Auth-Token"]
    # the login's own lifetime is over (and a later login cleans up): the refresh stays
    db.run_sync(lambda: OIDCLogin.update(expires_at=datetime.datetime(2020, 1, 1)).execute())
    assert (await start(api)).status == 200
    refreshed = await api.as_(None).get("/auth/oidc_refresh", headers={
        "X-Rucio-Auth-Token": token, "X-Rucio-Account": "jane"})
    assert refreshed.status == 200, refreshed
    new_token = refreshed.headers["X-Rucio-Auth-Token"]
    assert new_token and new_token != token
    assert int(refreshed.headers["X-Rucio-Auth-Token-Expires"]) > 0
    assert tokens.decode(new_token)["sub"] == "jane"
    # the old token's refresh is used up; a userpass token has nothing to refresh
    for old in (token, tokens.issue("jane")[0]):
        nothing = await api.as_(None).get("/auth/oidc_refresh", headers={
            "X-Rucio-Auth-Token": old, "X-Rucio-Account": "jane"})
        assert nothing.status == 200 and nothing.headers["X-Rucio-Auth-Token"] == ""
    refused = await api.as_(None).get("/auth/oidc_refresh", headers={
        "X-Rucio-Auth-Token": new_token, "X-Rucio-Account": "root"})
    assert (refused.status, refused.exception_class) == (401, "CannotAuthorize")
    refused = await api.as_(None).get("/auth/oidc_refresh")
    assert (refused.status, refused.exception_class) == (401, "CannotAuthorize")


async def test_refusals(api, jane, provider, db):
    # an unknown account, a scope without openid, another issuer
    response = await start(api, **{"X-Rucio-Account": "nobody"})
    assert (response.status, response.exception_class) == (401, "CannotAuthenticate")
    response = await start(api, scope="profile")
    assert (response.status, response.exception_class) == (401, "CannotAuthenticate")
    response = await start(api, **{"X-Rucio-Client-Authorize-Issuer": "https://other.org/"})
    assert (response.status, response.exception_class) == (401, "CannotAuthenticate")
    assert count_rows(db, OIDCLogin) == 0
    # an unknown state, a missing code, an unknown redirect code
    bad = await api.as_(None).get("/auth/oidc_code?code=x&state=nosuch")
    assert (bad.status, bad.headers["ExceptionClass"]) == (401, "CannotAuthenticate")
    bad = await api.as_(None).get("/auth/oidc_code?state=nosuch")
    assert bad.status == 400 and "code and state must be set" in bad.headers["ExceptionMessage"]
    bad = await api.as_(None).get("/auth/oidc_redirect?nosuch")
    assert bad.status == 401
    # a replayed ID token (wrong nonce) grants nothing
    auth_url = (await start(api, polling=True)).headers["X-Rucio-OIDC-Auth-URL"]
    provider.nonce_override = "forged"
    try:
        page = await browser_login(api, auth_url)
    finally:
        provider.nonce_override = None
    assert page.status == 401 and "text/html" in page.headers["Content-Type"]
    polled = await api.as_(None).get(fetch_path(auth_url, api), headers=FETCH)
    assert polled.status == 401


async def test_an_identity_without_an_account_gets_no_token(api, db):
    auth_url = (await start(api, polling=True)).headers["X-Rucio-OIDC-Auth-URL"]
    page = await browser_login(api, auth_url)
    assert (page.status, page.headers["ExceptionClass"]) == (401, "CannotAuthenticate")


async def test_not_configured(api, app):
    app.settings["oidc_provider"] = None
    response = await start(api)
    assert (response.status, response.exception_class) == (401, "CannotAuthenticate")
