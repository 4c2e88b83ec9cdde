"""``rucio-tornado``: serve, db init|reset, bootstrap, token."""
import argparse
import logging
import sys

from rucio_tornado.config import Settings

log = logging.getLogger("rucio_tornado")


def build_parser():
    parser = argparse.ArgumentParser(prog="rucio-tornado",
                                     description="A Rucio REST API server on Tornado.")
    parser.add_argument("--config", help="INI file (default: conf/rucio-tornado.cfg)")
    parser.add_argument("--db", help="sqlite:///path or postgresql://user@host:port/db")
    parser.add_argument("--data-dir", dest="data_dir", help="folder for SQLite and dev keys")
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--processes", type=int, help="worker processes sharing the port")

    dbcmd = commands.add_parser("db", help="schema management")
    dbsub = dbcmd.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("init", help="create the tables (idempotent)")
    reset = dbsub.add_parser("reset", help="drop and recreate every table")
    reset.add_argument("--yes", action="store_true", help="confirm: all data is lost")

    boot = commands.add_parser("bootstrap", help="create the root account and identity")
    boot.add_argument("--account")
    boot.add_argument("--username")
    boot.add_argument("--password")

    token = commands.add_parser("token", help="print a token for an account")
    token.add_argument("--account", default="root")
    return parser


def load_settings(args):
    settings = Settings.load(args.config)
    settings.override(db=args.db, data_dir=args.data_dir,
                      host=getattr(args, "host", None), port=getattr(args, "port", None),
                      processes=getattr(args, "processes", None))
    return settings


def open_database(settings):
    from rucio_tornado.db import Database
    return Database(settings.db_url, pool_size=settings.db_pool_size,
                    stream_pool_size=settings.db_stream_pool_size,
                    batch_size=settings.stream_batch_size)


def cmd_db(settings, args):
    database = open_database(settings)
    if args.db_command == "reset":
        if not args.yes:
            print("db reset drops every table: add --yes to confirm", file=sys.stderr)
            return 2
        database.drop_schema()
    database.create_schema()
    print(f"schema ready in {safe_url(settings.db_url)}")
    database.close()
    return 0


def cmd_bootstrap(settings, args):
    from rucio_tornado.core.bootstrap import bootstrap
    settings.override(root_account=args.account, root_username=args.username,
                      root_password=args.password)
    database = open_database(settings)
    database.create_schema()
    with database.peewee.connection_context():
        created = bootstrap(settings.root_account, settings.root_username,
                            settings.root_password, settings.root_email or None)
    print(("created" if created else "already present") +
          f": account {settings.root_account}, identity {settings.root_username}")
    database.close()
    return 0


def cmd_token(settings, args):
    from rucio_tornado.core.auth import TokenService
    print(TokenService.from_settings(settings).issue(args.account)[0])
    return 0


def cmd_serve(settings, args):
    from rucio_tornado.core.bootstrap import bootstrap
    from rucio_tornado.server import run_server
    database = open_database(settings)
    database.create_schema()
    with database.peewee.connection_context():
        bootstrap(settings.root_account, settings.root_username, settings.root_password,
                  settings.root_email or None)
    database.close()
    return run_server(settings)


def safe_url(url):
    """The database URL without its password, for printing."""
    if "@" in url and ":" in url.split("@")[0].split("//")[-1]:
        scheme, rest = url.split("//", 1)
        creds, host = rest.split("@", 1)
        return f"{scheme}//{creds.split(':')[0]}:***@{host}"
    return url


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(args)
    handlers = {"serve": cmd_serve, "db": cmd_db, "bootstrap": cmd_bootstrap,
                "token": cmd_token}
    return handlers[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
