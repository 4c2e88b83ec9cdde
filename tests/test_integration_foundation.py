"""The real rucio-clients (Python Client and CLI) against a real server subprocess."""
import pytest
from rucio.common.exception import AccessDenied, AccountNotFound, Duplicate


pytestmark = pytest.mark.integration


def test_client_accounts_identities_scopes(live):
    client = live.client()
    assert client.ping()["version"]
    assert client.whoami()["account"] == "root"
    assert client.add_account("jdoe", "USER", "jdoe@example.org") is True
    with pytest.raises(Duplicate):
        client.add_account("jdoe", "USER", None)
    account = client.get_account("jdoe")
    assert account["account"] == "jdoe" and account["account_type"] == "USER"
    assert "jdoe" in [a["account"] for a in client.list_accounts()]
    assert client.update_account("jdoe", "email", "new@example.org") is True
    assert client.get_account("jdoe")["email"] == "new@example.org"
    assert client.add_account_attribute("jdoe", "country", "ch") is True
    assert {"key": "country", "value": "ch"} in next(client.list_account_attributes("jdoe"))

    assert client.add_identity("jdoe", "jdoe-login", "USERPASS", "jdoe@example.org",
                               password="pw") is True
    assert [i["identity"] for i in client.list_identities("jdoe")] == ["jdoe-login"]
    assert [a["account"] for a in client.list_accounts(identity="jdoe-login")] == ["jdoe"]
    assert client.del_identity("jdoe", "jdoe-login", "USERPASS") is True

    assert client.add_scope("jdoe", "user.jdoe") is True
    assert "user.jdoe" in client.list_scopes()
    assert client.list_scopes_for_account("jdoe") == ["user.jdoe"]
    assert {"scope": "user.jdoe", "account": "jdoe"} in client.list_scope_owners()

    assert client.delete_account("jdoe") is True
    assert client.get_account("jdoe")["status"] == "DELETED"
    with pytest.raises(AccountNotFound):
        client.get_account("nosuch")


def test_client_permission_error_is_access_denied(live):
    client = live.client()
    client.add_account("limited", "USER", None)
    client.add_identity("limited", "limited-login", "USERPASS", None, password="pw")
    other = live.client("limited", "limited-login", "pw")
    assert other.whoami()["account"] == "limited"
    with pytest.raises(AccessDenied):
        other.add_account("another", "USER", None)


def test_cli_ping_whoami_account_add(live):
    assert live.cli("ping").stdout.strip()
    assert "root" in live.cli("whoami").stdout
    added = live.cli("account", "add", "Bad_Name", "USER", check=False)
    assert added.returncode != 0
    result = live.cli("account", "add", "clinew", "--type", "USER", "--email", "c@x.org",
                      program="rucio-admin")
    assert "clinew" in result.stdout
    assert "clinew" in live.cli("account", "list").stdout
