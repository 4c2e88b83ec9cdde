"""The ``rucio-tornado`` commands: db init|reset, bootstrap, token, settings precedence, serve."""
import pytest

import rucio_tornado
from rucio_tornado import cli
from rucio_tornado.db import Database
from rucio_tornado.models import Account
from tests.conftest import TEST_SECRET
from tests.prodtools import Server


@pytest.fixture
def url(tmp_path, monkeypatch):
    monkeypatch.setenv("RUCIO_TORNADO_DATA_DIR", str(tmp_path / "var"))
    return f"sqlite:///{tmp_path / 'cli.db'}"


def accounts(url):
    database = Database(url)
    try:
        return database.run_sync(lambda: [a.account for a in Account.select()])
    finally:
        database.close()


def test_db_init_creates_the_schema(url, capsys):
    assert cli.main(["--db", url, "db", "init"]) == 0
    assert "schema ready" in capsys.readouterr().out
    assert accounts(url) == []
    assert cli.main(["--db", url, "db", "init"]) == 0        # idempotent


def test_db_reset_needs_yes(url, capsys):
    assert cli.main(["--db", url, "bootstrap"]) == 0
    assert cli.main(["--db", url, "db", "reset"]) == 2
    assert "--yes" in capsys.readouterr().err
    assert accounts(url) == ["root"]
    assert cli.main(["--db", url, "db", "reset", "--yes"]) == 0
    assert accounts(url) == []


def test_bootstrap_is_idempotent(url, capsys):
    assert cli.main(["--db", url, "bootstrap"]) == 0
    assert capsys.readouterr().out.startswith("created")
    assert cli.main(["--db", url, "bootstrap"]) == 0
    assert capsys.readouterr().out.startswith("already present")
    assert accounts(url) == ["root"]


@pytest.mark.gen_test
async def test_token_is_accepted_by_the_server(api, monkeypatch, capsys):
    monkeypatch.setenv("RUCIO_TORNADO_JWT_SECRET", TEST_SECRET)
    assert cli.main(["token", "--account", "root"]) == 0
    token = capsys.readouterr().out.strip()
    whoami = await api.as_(None).get("/accounts/whoami", headers={"X-Rucio-Auth-Token": token})
    assert whoami.status == 200 and whoami.json()["account"] == "root"


def test_settings_precedence_file_env_flags(tmp_path, monkeypatch):
    config = tmp_path / "server.cfg"
    config.write_text("[server]\nport = 7001\nhost = 0.0.0.0\nstream_batch_size = 50\n")
    args = cli.build_parser().parse_args(["--config", str(config), "serve"])
    settings = cli.load_settings(args)
    assert (settings.port, settings.host, settings.stream_batch_size) == (7001, "0.0.0.0", 50)
    assert settings.config_file == str(config)
    monkeypatch.setenv("RUCIO_TORNADO_PORT", "7002")
    monkeypatch.setenv("RUCIO_TORNADO_PERIODIC_TASKS", "false")
    settings = cli.load_settings(args)
    assert settings.port == 7002 and settings.periodic_tasks is False
    args = cli.build_parser().parse_args(["--config", str(config), "serve", "--port", "7003",
                                          "--processes", "3"])
    settings = cli.load_settings(args)
    assert (settings.port, settings.processes) == (7003, 3)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="configuration file not found"):
        cli.main(["--config", str(tmp_path / "nope.cfg"), "db", "init"])


def test_serve_prints_url_database_and_client_config(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'serve.db'}"
    server = Server(tmp_path, {"db": db_url})
    try:
        output = server.output()
        assert f"development server at http://127.0.0.1:{server.port}" in output
        assert f"database: {db_url}" in output
        assert "[client]" in output and f"rucio_host = http://127.0.0.1:{server.port}" in output
        assert "username = ddmlab" in output and "account = root" in output
    finally:
        assert server.stop() == 0


def test_options_go_before_or_after_the_verb(url, tmp_path, capsys):
    """``rucio-tornado serve --db URL`` as the README writes it, and ``--db URL serve``."""
    assert cli.main(["db", "init", "--db", url]) == 0
    assert cli.main(["bootstrap", "--db", url, "--data-dir", str(tmp_path / "d")]) == 0
    assert accounts(url) == ["root"]
    args = cli.build_parser().parse_args(["--db", "sqlite:///a.db", "serve", "--port", "1"])
    assert (args.db, args.port) == ("sqlite:///a.db", 1)
    args = cli.build_parser().parse_args(["serve", "--db", "sqlite:///b.db", "--config", "c.cfg"])
    assert (args.db, args.config) == ("sqlite:///b.db", "c.cfg")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"rucio-tornado {rucio_tornado.__version__}"
