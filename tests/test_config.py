"""The configuration table: handler-level (both databases) and live with the real
ConfigClient and the ``rucio-admin config`` / ``rucio config`` command lines."""
import pytest
from rucio.common.exception import AccessDenied, ConfigNotFound

from rucio_tornado.core import config_table
from rucio_tornado.models import ConfigHistory, ConfigOption
from tests.conftest import count_rows


async def accounts(api):
    """jdoe (a user) and carol (an admin)."""
    for name in ("jdoe", "carol"):
        assert (await api.post(f"/accounts/{name}", {"type": "USER", "email": None})).status \
            == 201
    await api.post("/accounts/carol/attr/admin", {"key": "admin", "value": "True"})


@pytest.mark.gen_test
async def test_config_crud_and_auto_types(api, db):
    assert (await api.get("/config")).json() == {}
    body = {"quota": {"enabled": True, "limit": 10, "ratio": 0.5, "name": "x/y z",
                      "flag": "off"}, "transfers": {"mode": "fast"}}
    response = await api.post("/config", body)
    assert (response.status, response.text) == (201, "Created")
    assert (await api.get("/config/")).json() == {
        "quota": {"enabled": True, "flag": False, "limit": 10, "name": "x/y z", "ratio": 0.5},
        "transfers": {"mode": "fast"}}
    assert (await api.get("/config/quota")).json()["limit"] == 10
    response = await api.get("/config/quota/name")
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == "x/y z"
    # the older clients' PUT with the value in the path
    assert (await api.put("/config/quota/limit/20")).status == 201
    assert (await api.get("/config/quota/limit")).json() == 20
    assert count_rows(db, ConfigHistory) == 1           # 10 -> 20 kept
    assert (await api.put("/config/quota/limit/20")).status == 201
    assert count_rows(db, ConfigHistory) == 1           # unchanged: no history
    assert (await api.delete("/config/quota/limit")).status == 200
    missing = await api.get("/config/quota/limit")
    assert (missing.status, missing.exception_class) == (404, "ConfigNotFound")
    assert "section 'quota' option 'limit'" in missing.json()["ExceptionMessage"]
    assert (await api.delete("/config/quota/limit")).exception_class == "ConfigNotFound"
    assert (await api.delete("/config/quota")).status == 200
    assert (await api.get("/config/quota")).exception_class == "ConfigNotFound"
    assert (await api.delete("/config/quota")).status == 404
    assert (await api.get("/config")).json() == {"transfers": {"mode": "fast"}}
    assert count_rows(db, ConfigHistory) == 1 + 1 + 4   # the removed options too


@pytest.mark.gen_test
async def test_config_values_json_cannot_carry_stay_text(api, db):
    big = "9" * 30
    for value in ("nan", "inf", big):
        assert (await api.put(f"/config/odd/v/{value}")).status == 201
        assert (await api.get("/config/odd/v")).json() == value
    with db.peewee.connection_context():
        assert config_table.value("odd", "v") == big
        assert config_table.value("odd", "nothing", default=3) == 3


@pytest.mark.gen_test
@pytest.mark.parametrize("raw, status, name", [
    ("{not json", 400, "ValueError"),
    ("[1, 2]", 400, "TypeError"),
    ('{"s": 1}', 400, "ValueError"),
    ('{"s": {"o": [1]}}', 400, "ConfigurationError"),
    ('{"s": {"o": {"a": 1}}}', 400, "ConfigurationError"),
    ('{"s": {"o": null}}', 400, "ConfigurationError"),
    ('{"s": {"o": "' + "x" * 4001 + '"}}', 400, "ConfigurationError"),
    ('{"s": {"' + "o" * 129 + '": 1}}', 400, "ConfigurationError"),
    ('{"": {"o": 1}}', 400, "ConfigurationError"),
    ('{"good": {"o": 1}, "bad": {"o": [1]}}', 400, "ConfigurationError"),
])
async def test_config_bad_input_changes_nothing(api, db, raw, status, name):
    response = await api.post("/config", raw_body=raw)
    assert (response.status, response.exception_class) == (status, name), response
    assert count_rows(db, ConfigOption) == 0


@pytest.mark.gen_test
async def test_config_needs_root_or_admin(api, db):
    await accounts(api)
    assert (await api.put("/config/s/o/1")).status == 201
    user = api.as_("jdoe")
    for method, path in (("GET", "/config"), ("GET", "/config/s"), ("GET", "/config/s/o"),
                         ("POST", "/config"), ("PUT", "/config/s/o/2"),
                         ("DELETE", "/config/s/o"), ("DELETE", "/config/s")):
        body = {"s": {"o": 2}} if method == "POST" else None
        response = await user.request(method, path, body)
        assert (response.status, response.exception_class) == (401, "AccessDenied"), \
            (method, path, response)
    assert (await api.get("/config/s/o")).json() == 1
    admin = api.as_("carol")
    assert (await admin.post("/config", {"s": {"o": 3}})).status == 201
    assert (await admin.get("/config/s/o")).json() == 3
    assert (await api.as_(None).get("/config")).exception_class == "ValueError"  # no token


# -- live: the real ConfigClient and command lines ---------------------------------------------
@pytest.mark.integration
def test_live_config_client(live):
    client = live.client()
    assert client.set_config_option("live", "limit", 5) is True
    assert client.set_config_option("live", "mode", "on", use_body_for_params=False) is True
    assert client.get_config("live", "limit") == 5
    assert client.get_config("live") == {"limit": 5, "mode": True}
    assert client.get_config()["live"] == {"limit": 5, "mode": True}
    assert client.delete_config_option("live", "mode") is True
    with pytest.raises(ConfigNotFound):
        client.get_config("live", "mode")
    with pytest.raises(ConfigNotFound):
        client.delete_config_option("live", "mode")
    with pytest.raises(ConfigNotFound):
        client.get_config("nosuchsection")
    client.add_account("cfguser", "USER", "cfguser@example.org")
    client.add_identity("cfguser", "cfguser", "USERPASS", "cfguser@example.org",
                        password="pw-cfguser")
    user = live.client("cfguser", "cfguser", "pw-cfguser")
    with pytest.raises(AccessDenied):
        user.set_config_option("live", "limit", 6)
    with pytest.raises(AccessDenied):
        user.get_config()
    assert client.get_config("live", "limit") == 5


@pytest.mark.integration
def test_live_config_cli(live):
    set_ = live.cli("config", "set", "--section", "cli", "--option", "depth", "--value", "7",
                    program="rucio-admin")
    assert "Set configuration: cli.depth=7" in set_.stdout
    got = live.cli("config", "get", "--section", "cli", program="rucio-admin")
    assert "[cli]" in got.stdout and "depth=7" in got.stdout
    one = live.cli("config", "get", "--section", "cli", "--option", "depth",
                   program="rucio-admin")
    assert one.stdout.split() == ["[cli]", "depth=7"]
    assert "[cli]" in live.cli("config", "get", program="rucio-admin").stdout
    deleted = live.cli("config", "delete", "--section", "cli", "--option", "depth",
                       program="rucio-admin")
    assert "Deleted section 'cli' option 'depth'" in deleted.stdout
    missing = live.cli("config", "get", "--section", "cli", "--option", "depth",
                       program="rucio-admin", check=False)
    assert missing.returncode != 0
    assert "No configuration found for section 'cli' option 'depth'" in \
        missing.stdout + missing.stderr
    # the new command line
    assert "Set configuration: new.k=v" in live.cli(
        "config", "set", "--section", "new", "--key", "k", "--value", "v").stdout
    listed = live.cli("config", "list", "--section", "new").stdout
    assert listed.split() == ["[new]", "k=v"]
    assert "Deleted section 'new' option 'k'" in live.cli(
        "config", "unset", "--section", "new", "--key", "k").stdout
