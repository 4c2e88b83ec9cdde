"""Issue 11 handler- and core-level checks of the RSE/account items, both databases."""
import pytest

from rucio_tornado.core.bootstrap import bootstrap
from rucio_tornado.models import Identity, IdentityAccount

X509_DN = ("/C=CH/ST=Geneva/O=CERN/OU=PH-ADP-CO/CN=DDMLAB Client Certificate/"
           "emailAddress=ph-adp-ddm-lab@cern.ch")


def test_bootstrap_gives_root_the_configured_identities(db):
    configured = [("X509", X509_DN), ("GSS", "ddmlab@CERN.CH"), ("SSH", "ssh-rsa AAAA ddmlab")]

    def run():
        created = bootstrap("root", "ddmlab", "secret", None, identities=configured)
        again = bootstrap("root", "ddmlab", "secret", None, identities=configured)
        links = sorted((link.identity_type, link.identity, link.is_default)
                       for link in IdentityAccount.select().where(
                           IdentityAccount.account == "root"))
        emails = {row.identity_type: row.email for row in Identity.select()}
        return created, again, links, emails
    created, again, links, emails = db.run_sync(run)
    assert created is True and again is False       # idempotent
    assert ("X509", X509_DN, True) in links and ("GSS", "ddmlab@CERN.CH", True) in links
    assert ("SSH", "ssh-rsa AAAA ddmlab", True) in links and ("USERPASS", "ddmlab", True) in links
    assert emails["X509"] == "ph-adp-ddm-lab@cern.ch"


@pytest.mark.gen_test
async def test_handler_answers(api, db):
    assert (await api.post("/rses/MOCK", {"staging_area": None, "rse_type": None})).status == 201
    whoami = await api.get("/accounts/whoami")         # 303 to /accounts/root, followed
    assert whoami.status == 200 and whoami.json()["account"] == "root"
    missing = await api.get("/identities/accounts?type=USERPASS")
    assert (missing.status, missing.exception_class) == (400, "ValueError")
    assert missing.headers["ExceptionMessage"] == "identity_key parameter is required."
    bad_type = await api.get("/identities/accounts?identity_key=ddmlab&type=PIGEON")
    assert (bad_type.status, bad_type.exception_class) == (400, "ValueError")
    usage = await api.get("/rses/MOCK/accounts/usage")
    assert usage.status == 200 and [line["account"] for line in usage.lines()] == ["root"]
    assert (await api.get("/rses/NOPE/accounts/usage")).exception_class == "RSENotFound"
    assert (await api.delete("/rses/MOCK/distances/MOCK")).status == 200
    body = {"impl": "x", "domains": {"moon": {"read": 1}}}
    wrong = await api.post("/rses/MOCK/protocols/file", {"domains": {"moon": {}}})
    assert wrong.exception_class == "RSEProtocolDomainNotSupported"    # before the impl check
    missing = await api.put("/rses/MOCK/protocols/file", body)
    assert missing.exception_class == "RSEProtocolNotSupported"         # looked up first
