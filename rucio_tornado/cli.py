"""``rucio-tornado``: serve, db init|reset, bootstrap, token, daemon."""
import argparse
import logging
import os
import sys
from pathlib import Path

from rucio_tornado import __version__, migrations
from rucio_tornado.config import Settings, safe_url, validate
from rucio_tornado.db import open_database

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
    return parser


def load_settings(args):
    settings = Settings.load(args.config)
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


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    settings = load_settings(args)
    handlers = {"serve": cmd_serve, "db": cmd_db, "bootstrap": cmd_bootstrap,
                "token": cmd_token, "daemon": cmd_daemon}
    try:
        return handlers[args.command](settings, args)
    except migrations.SchemaOutOfDate as exc:
        print(f"rucio-tornado: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
