"""``rucio-tornado db dump FILE`` / ``db restore FILE``.

SQLite: the ``sqlite3`` online backup API, page by page, consistent while the server runs
(a dump is itself a SQLite database: ``sqlite3 FILE .tables`` opens it). PostgreSQL: ``pg_dump``
/ ``pg_restore`` in their custom format, run with the URL's host, port, user and password (the
commands are printed first, so they can be run by hand; docs/BACKUP.md).
"""
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from rucio_tornado.config import safe_url
from rucio_tornado.db import parse_postgres_url
from rucio_tornado.models import Account

SQLITE_PREFIX = "sqlite:///"
#: A table every rucio-tornado database has (to recognise a dump before restoring it).
MARKER_TABLE = Account._meta.table_name


class BackupError(Exception):
    """A reason a dump or restore cannot be done (one line, for the command line)."""


def dump(url, target, overwrite=False):
    """Write the database at ``url`` to ``target``; a one-line report."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists: add --yes to overwrite it")
    if url.startswith(SQLITE_PREFIX):
        source = _sqlite_path(url)
        if not source.is_file():
            raise BackupError(f"no SQLite database at {source}")
        target.unlink(missing_ok=True)
        _copy_sqlite(f"file:{source}?mode=ro", target)
        return f"dumped {source} to {target} ({target.stat().st_size} bytes)"
    _run_pg("pg_dump", url, ["--format=custom", "--no-owner", f"--file={target}"])
    return f"dumped {safe_url(url)} to {target} ({target.stat().st_size} bytes)"


def restore(url, source, overwrite=False):
    """Replace the database at ``url`` with the dump ``source``; a one-line report."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no such dump: {source}")
    if url.startswith(SQLITE_PREFIX):
        target = _sqlite_path(url)
        _check_sqlite_dump(source)
        if target.exists() and _sqlite_tables(target) and not overwrite:
            raise BackupError(f"{target} holds a database: add --yes to replace it "
                              f"(stop the server first)")
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_sqlite(f"file:{source}?mode=ro", target)
        return f"restored {source} into {target}"
    _run_pg("pg_restore", url, ["--clean", "--if-exists", "--no-owner", "--single-transaction",
                                str(source)] if overwrite else
            ["--no-owner", "--single-transaction", str(source)])
    return f"restored {source} into {safe_url(url)}"


def _sqlite_path(url):
    return Path(url[len(SQLITE_PREFIX):])


def _copy_sqlite(source_uri, target):
    source = sqlite3.connect(source_uri, uri=True)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source_uri}: {exc}") from None
    finally:
        destination.close()
        source.close()


def _sqlite_tables(path):
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: {exc}") from None
    finally:
        connection.close()


def _check_sqlite_dump(path):
    if MARKER_TABLE not in _sqlite_tables(path):
        raise BackupError(f"{path} is not a rucio-tornado SQLite dump (no {MARKER_TABLE} table)")


def pg_command(program, url, arguments):
    """(argv, environment) running ``program`` on the database of ``url``."""
    dbname, kwargs = parse_postgres_url(url)
    argv = [program, f"--dbname={dbname}"]
    for option, key in (("--host", "host"), ("--port", "port"), ("--username", "user")):
        if kwargs.get(key):
            argv.append(f"{option}={kwargs[key]}")
    env = dict(os.environ)
    if kwargs.get("password"):
        env["PGPASSWORD"] = kwargs["password"]
    return argv + arguments, env


def _run_pg(program, url, arguments):
    argv, env = pg_command(program, url, arguments)
    if shutil.which(program) is None:
        raise BackupError(f"{program} not found: install the PostgreSQL client "
                          f"(apt-get install postgresql-client) and run: {' '.join(argv)}")
    print("running: " + " ".join(argv), flush=True)
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["failed"])[0]
        raise BackupError(f"{program} exited {result.returncode}: {first}")
