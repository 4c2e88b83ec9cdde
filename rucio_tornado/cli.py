"""``rucio-tornado``: serve, db init|reset|dump|restore, bootstrap, token, daemon, load.

Everyday failures (port in use, unreadable configuration, bad or unreachable database, schema
out of date) are one line on stderr and an exit code (:func:`explain`), never a traceback.
"""
import argparse
import configparser
import errno
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path

import peewee

from rucio_tornado import __version__, migrations
from rucio_tornado.config import Settings, safe_url, validate
from rucio_tornado.db import open_database, parse_postgres_url
from rucio_tornado.exceptions import ConfigurationError

log = logging.getLogger("rucio_tornado")


def _common_options(parser, default):
    """The options every command takes, before the command (``--db URL serve``) or after it
    (``serve --db URL``, as the README writes them)."""
    parser.add_argument("--config", default=default, help="INI file (default: "
                        "conf/rucio-tornado.cfg)")
    parser.add_argument("--db", default=default,
                        help="sqlite:///path or postgresql://user@host:port/db")
    parser.add_argument("--data-dir", dest="data_dir", default=default,
                        help="folder for SQLite and dev keys")
    parser.add_argument("-v", "--verbose", action="store_true", default=default or False)


def build_parser():
    parser = argparse.ArgumentParser(prog="rucio-tornado",
                                     description="A Rucio REST API server on Tornado.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common_options(parser, None)
    after_the_verb = argparse.ArgumentParser(add_help=False)
    _common_options(after_the_verb, argparse.SUPPRESS)   # keeps a value given before the verb
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, help_text, parent=commands):
        return parent.add_parser(name, help=help_text, parents=[after_the_verb])

    serve = command("serve", "run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--processes", type=int, help="worker processes sharing the port")

    dbcmd = command("db", "schema management")
    dbsub = dbcmd.add_subparsers(dest="db_command", required=True)
    command("init", "create the schema in an empty database (idempotent)", dbsub)
    command("upgrade", "apply the schema migrations this release brings (idempotent)", dbsub)
    command("current", "print the database's schema version (exit 1 if out of date)", dbsub)
    reset = command("reset", "drop and recreate every table", dbsub)
    reset.add_argument("--yes", action="store_true", help="confirm: all data is lost")
    dump = command("dump", "write a backup (SQLite: online backup; PostgreSQL: pg_dump)", dbsub)
    restore = command("restore", "replace the database with a backup", dbsub)
    for backup in (dump, restore):
        backup.add_argument("file")
        backup.add_argument("--yes", action="store_true", help="overwrite what is there")

    boot = command("bootstrap", "create the root account and identity")
    boot.add_argument("--account")
    boot.add_argument("--username")
    boot.add_argument("--password")

    token = command("token", "print a token for an account")
    token.add_argument("--account", default="root")

    daemon = command("daemon", "run periodic tasks (production)")
    daemon.add_argument("name", help="a registered task (e.g. rules, subscriptions) or 'all'")
    daemon.add_argument("--interval", type=float, help="seconds between passes")
    daemon.add_argument("--once", action="store_true", help="one pass, then exit")

    from rucio_tornado.tools import loader
    loader.add_arguments(command("load", "register files and replicas from a CSV or JSON-lines "
                                 "list into a running server (resumable)"))
    return parser


def load_settings(args):
    path = args.config and Path(args.config)
    if path and path.exists() and (path.is_dir() or not os.access(path, os.R_OK)):
        reason = "it is a folder" if path.is_dir() else "permission denied"
        raise SystemExit(f"cannot read configuration file {path}: {reason}")
    try:
        settings = Settings.load(args.config)
    except (configparser.Error, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0]
        raise SystemExit(f"cannot read configuration file {args.config or ''}: {reason}") \
            from None
    settings.override(db=args.db, data_dir=args.data_dir,
                      host=getattr(args, "host", None), port=getattr(args, "port", None),
                      processes=getattr(args, "processes", None))
    return settings


def prepare_database(settings, reset=False, root=True):
    """Create the schema in an empty database (dropping every table first if ``reset``),
    refuse one whose schema is not this release's (SchemaOutOfDate), and, if ``root``,
    bootstrap the root account; safe when several processes or machines do it at once.
    True if root was created."""
    from rucio_tornado.core.bootstrap import bootstrap
    database = open_database(settings)
    try:
        if reset or migrations.version(database) is None:
            migrations.create(database, reset=reset)
        migrations.check(database)
        if not root:
            return False
        with database.peewee.connection_context(), database.schema_lock():
            return bootstrap(settings.root_account, settings.root_username,
                             settings.root_password, settings.root_email or None,
                             apply_password=settings.is_production)
    finally:
        database.close()


def cmd_db(settings, args):
    if args.db_command in ("upgrade", "current"):
        database = open_database(settings)
        try:
            return (_db_upgrade if args.db_command == "upgrade" else _db_current)(database)
        finally:
            database.close()
    if args.db_command in ("dump", "restore"):
        from rucio_tornado.tools import backup
        action = backup.dump if args.db_command == "dump" else backup.restore
        try:
            print(action(settings.db_url, args.file, overwrite=args.yes))
        except backup.BackupError as exc:
            print(f"rucio-tornado db {args.db_command}: {exc}", file=sys.stderr)
            return 2
        return 0
    reset = args.db_command == "reset"
    if reset and not args.yes:
        print("db reset drops every table: add --yes to confirm", file=sys.stderr)
        return 2
    prepare_database(settings, reset=reset, root=False)
    print(f"schema ready (version {migrations.LATEST}) in {safe_url(settings.db_url)}")
    return 0


def _db_upgrade(database):
    applied = migrations.upgrade(database)
    for step in applied:
        print(f"applied {step.version}: {step.description}")
    print(f"schema at version {migrations.LATEST}" + ("" if applied else " (nothing to do)"))
    return 0


def _db_current(database):
    current = migrations.version(database)
    print(f"schema version {current if current is not None else 'none (empty database)'}; "
          f"this server needs {migrations.LATEST}")
    return 0 if current == migrations.LATEST else 1


def cmd_bootstrap(settings, args):
    settings.override(root_account=args.account, root_username=args.username,
                      root_password=args.password)
    created = prepare_database(settings)
    print(("created" if created else "already present") +
          f": account {settings.root_account}, identity {settings.root_username}")
    return 0


def cmd_token(settings, args):
    from rucio_tornado.core.auth.tokens import TokenService
    print(TokenService.from_settings(settings).issue(args.account)[0])
    return 0


def cmd_serve(settings, args):
    problems = validate(settings)
    if problems:
        print(f"rucio-tornado: refusing to start in {settings.mode} mode:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    if settings.processes > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _prepare_multiprocess_metrics(settings)
    from rucio_tornado.core.auth.tokens import TokenService
    from rucio_tornado.server import run_server
    prepare_database(settings)            # closed again: workers open their own after forking
    TokenService.from_settings(settings)  # development: the key file exists before any fork
    return run_server(settings)


def _prepare_multiprocess_metrics(settings):
    """Several workers: prometheus_client's multiprocess mode, in a folder emptied at start
    (must happen before prometheus_client is imported)."""
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or
                  Path(settings.data_dir).resolve() / "prometheus")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def cmd_daemon(settings, args):
    from rucio_tornado.daemon import load_tasks, run_daemon
    tasks = load_tasks()
    names = sorted(tasks) if args.name == "all" else [args.name]
    unknown = [name for name in names if name not in tasks]
    if unknown or not names:
        print(f"unknown task {args.name!r}; registered: {', '.join(sorted(tasks)) or 'none'}",
              file=sys.stderr)
        return 2
    database = open_database(settings)
    try:
        migrations.check(database)
        return run_daemon(database, names, args.interval or settings.periodic_interval,
                          once=args.once)
    finally:
        database.close()


def cmd_load(settings, args):
    from rucio_tornado.tools import loader
    return loader.main(args)


def explain(exc, settings):
    """One line saying what went wrong and what to do, for the everyday failures (else None)."""
    url = settings.db_url if settings is not None else ""
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {settings.host}:{settings.port}: the port is in use "
                f"(another server?); choose another with --port")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EADDRNOTAVAIL) and \
            exc.filename is None:
        return f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
    if isinstance(exc, migrations.SchemaOutOfDate):
        return exc.message
    if isinstance(exc, ConfigurationError):
        return (f"{exc} (use sqlite:///path/to/file.db or "
                f"postgresql://user[:password]@host[:port]/dbname)")
    if isinstance(exc, (peewee.OperationalError, sqlite3.OperationalError)):
        return _database_problem(str(exc), url)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    return None


def _database_problem(message, url):
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    first = lines[0] if lines else "unknown error"
    if not url.startswith(("postgresql://", "postgres://")):
        return f"cannot open the SQLite database {safe_url(url)}: {first}"
    dbname, kwargs = parse_postgres_url(url)
    where = f"{kwargs['host']}:{kwargs['port']}"
    if f'database "{dbname}" does not exist' in message:
        return (f"PostgreSQL database {dbname!r} does not exist on {where}: create it with "
                f"createdb -h {kwargs['host']} -p {kwargs['port']} -U {kwargs['user']} {dbname}")
    reason = next((line for line in lines if "FATAL" in line or "refused" in line), first)
    return f"cannot connect to PostgreSQL at {where} ({safe_url(url)}): {reason}"


LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


class SecondsFormatter(logging.Formatter):
    """The standard format, its time text made once per second rather than once per record
    (``localtime`` and ``strftime`` were 40 % of the time to format an access line)."""

    _second, _text = None, ""

    def formatTime(self, record, datefmt=None):
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._second, self._text = second, time.strftime(
                self.default_time_format, self.converter(second))
        return self.default_msec_format % (self._text, record.msecs)


def main(argv=None):
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(SecondsFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        handlers=[handler])
    # one access line per request: skip what the format never shows (the logging HOWTO's
    # "Optimization": caller's file and line, thread and multiprocessing names)
    logging._srcfile = None
    logging.logThreads = logging.logMultiprocessing = False
    settings = None
    handlers = {"serve": cmd_serve, "db": cmd_db, "bootstrap": cmd_bootstrap,
                "token": cmd_token, "daemon": cmd_daemon, "load": cmd_load}
    try:
        settings = load_settings(args)
        return handlers[args.command](settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = explain(exc, settings)
        if message is None:
            raise
        if args.verbose:
            log.exception("details")
        print(f"rucio-tornado: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
