"""The ``rucio-tornado`` commands: db init|reset, bootstrap, token, settings precedence, serve."""
import sys

import pytest
import requests

import rucio_tornado
from rucio_tornado import cli
from rucio_tornado.config import Settings, validate
from rucio_tornado.db import Database
from rucio_tornado.models import Account
from rucio_tornado.server import tune_process
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


# -- a command line that helps ------------------------------------------------------------------
def test_serve_output_redirected_is_a_valid_rucio_cfg(tmp_path):
    """``serve > rucio.cfg``: what goes to stdout is a client configuration the real client
    reads, naming the rucio-clients to install; ``rucio ping`` prints the API version."""
    import configparser
    import os
    import subprocess

    server = Server(tmp_path, {"db": f"sqlite:///{tmp_path / 'cfg.db'}"})
    try:
        cfg = tmp_path / "rucio.cfg"
        cfg.write_text(server.output())
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(cfg)
        assert parser.sections() == ["client"]
        assert parser.get("client", "rucio_host") == server.url
        assert "pip install 'rucio-clients>=41,<42'" in server.output()
        ping = requests.get(server.url + "/ping").json()
        assert ping == {"version": rucio_tornado.RUCIO_API_VERSION,
                        "server": f"rucio-tornado {rucio_tornado.__version__}"}
        env = dict(os.environ, RUCIO_CONFIG=str(cfg))
        for args, expected in ((["ping"], rucio_tornado.RUCIO_API_VERSION),
                               (["whoami"], "root")):
            result = subprocess.run(["rucio", *args], env=env, capture_output=True, text=True,
                                    timeout=60)
            assert result.returncode == 0 and expected in result.stdout, result.stderr
    finally:
        assert server.stop() == 0


def test_production_banner_is_an_https_client_configuration(tmp_path):
    from rucio_tornado.config import Settings
    from rucio_tornado.server import banner
    settings = Settings(mode="production", host="0.0.0.0", port=8443, trusted_proxies="127.0.0.1",
                        external_url="https://rucio.example.org/")
    text = banner(settings)
    assert "rucio_host = https://rucio.example.org\n" in text
    assert "auth_host = https://rucio.example.org\n" in text and "\nca_cert = " in text
    assert "password = <your password>" in text
    settings.external_url = ""
    assert "rucio_host = https://0.0.0.0\n" in banner(settings)
    assert "set external_url" in banner(settings)
    settings.ssl_certfile = settings.ssl_keyfile = "server.pem"
    assert "rucio_host = https://0.0.0.0:8443\n" in banner(settings)


def _fails_in_one_line(capsys, argv, *fragments):
    assert cli.main(argv) != 0
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rucio-tornado: "), captured.err
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_everyday_failures_are_one_line_and_an_exit_code(tmp_path, monkeypatch, capsys):
    import socket
    monkeypatch.setenv("RUCIO_TORNADO_DATA_DIR", str(tmp_path / "var"))
    # serve --processes 2 sets it in this process: undone after the test (metrics tests)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    _fails_in_one_line(capsys, ["serve", "--db", "mysql://x/y"], "unsupported database URL",
                       "postgresql://")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        for extra in ([], ["--processes", "2"]):
            _fails_in_one_line(capsys, ["serve", "--db", f"sqlite:///{tmp_path / 'p.db'}",
                                        "--port", port, *extra], "port is in use", port)
    _fails_in_one_line(capsys, ["db", "init", "--db", "sqlite:////proc/none/x.db"],
                       "/proc/none")


def test_unreadable_configuration_is_one_line(tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text("no section header\n")
    with pytest.raises(SystemExit, match="cannot read configuration file .*bad.cfg: File "
                                         "contains no section headers"):
        cli.main(["--config", str(bad), "serve"])
    with pytest.raises(SystemExit, match="cannot read configuration file .*: it is a folder"):
        cli.main(["serve", "--config", str(tmp_path)])
    bad.write_text("[server]\nport = eighty\n")
    with pytest.raises(SystemExit, match="setting port: 'eighty' is not a valid int"):
        cli.main(["serve", "--config", str(bad)])


def test_postgresql_unreachable_or_missing_says_what_to_do(capsys):
    from rucio_tornado.db import parse_postgres_url
    from tests.pg import create_pg_database, drop_pg_database
    missing = create_pg_database("rt_gone")       # skips (fails in CI) without PostgreSQL
    drop_pg_database(missing)
    name, kwargs = parse_postgres_url(missing)
    _fails_in_one_line(capsys, ["db", "init", "--db", missing], f"'{name}' does not exist",
                       f"createdb -h {kwargs['host']} -p {kwargs['port']} -U {kwargs['user']} "
                       f"{name}")
    _fails_in_one_line(capsys, ["serve", "--db", "postgresql://postgres@127.0.0.1:1/x"],
                       "cannot connect to PostgreSQL at 127.0.0.1:1")


def test_schema_out_of_date_is_a_clear_error(url, capsys):
    assert cli.main(["--db", url, "db", "init"]) == 0
    database = Database(url)
    try:
        database.run_sync(lambda: database.peewee.execute_sql(
            "ALTER TABLE account DROP COLUMN email"))
    finally:
        database.close()
    for argv in (["serve", "--db", url, "--port", "1"], ["bootstrap", "--db", url]):
        _fails_in_one_line(capsys, argv, "schema is out of date", "column account.email",
                           "docs/UPGRADING.md")


def test_server_process_sets_the_gil_switch_interval():
    """A stream's prefetched rows and the IOLoop wait at most ``gil_switch_interval_us`` for
    the GIL (docs/PERFORMANCE.md, issue 15); 0 keeps Python's default; negative is refused."""
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        tune_process(Settings(gil_switch_interval_us=0))
        assert sys.getswitchinterval() == pytest.approx(0.005)
        tune_process(Settings())
        assert sys.getswitchinterval() == pytest.approx(0.0002)
    finally:
        sys.setswitchinterval(before)
    assert any("gil_switch_interval_us" in problem
               for problem in validate(Settings(gil_switch_interval_us=-1)))


def test_server_process_limits_malloc_arenas():
    """glibc takes the arena limit (what bulk calls' threads fragment stays in one arena);
    negative is refused."""
    from rucio_tornado.core import bulk
    if bulk._mallopt is None:
        pytest.skip("not glibc")
    assert bulk.limit_malloc_arenas(Settings().malloc_arenas) is True
    assert any("malloc_arenas" in problem for problem in validate(Settings(malloc_arenas=-1)))


def test_log_lines_and_dates_read_as_the_standard_formatting_gives_them():
    """The per-second time text of the log format and the hand-made RFC 1123 dates are
    exactly what ``logging.Formatter`` and ``strftime`` write."""
    import datetime
    import logging

    from rucio_tornado.core.common import RFC1123, rfc1123

    standard, cached = logging.Formatter(cli.LOG_FORMAT), cli.SecondsFormatter(cli.LOG_FORMAT)
    for created in (1_700_000_000.25, 1_700_000_000.999, 1_700_000_001.0, 1_600_000_000.5):
        record = logging.LogRecord("rucio_tornado.access", logging.INFO, None, 0, "a line",
                                   None, None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert cached.format(record) == standard.format(record)
    for value in (datetime.datetime(2026, 11, 25, 17, 38, 27, 500), datetime.datetime(1, 1, 1),
                  datetime.datetime(2024, 2, 29, 23, 59, 59), "2026-03-01 07:05:09.123456"):
        parsed = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
        assert rfc1123(value) == parsed.strftime(RFC1123)
    assert rfc1123(None) is None
