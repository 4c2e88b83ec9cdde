"""Database selection and access: SQLite (one dedicated thread) or pooled PostgreSQL.

Every database call made for a request runs in :attr:`Database.executor`, never on the IOLoop:
``await db.run(fn, *args)``. Listings stream through :meth:`Database.iter_query`, which yields
batches of raw rows: from a server-side cursor on a connection reserved for the stream
(PostgreSQL) or from keyset pages (SQLite). See docs/ARCHITECTURE.md.
"""
import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import queue
import re
import select
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

from rucio_tornado import exceptions, sqlwriters

log = logging.getLogger(__name__)

#: The one peewee database every model is bound to; :meth:`Database.activate` initialises it.
database = peewee.DatabaseProxy()

#: PostgreSQL advisory lock serialising schema creation and bootstrap between processes and
#: machines starting at the same time.
SCHEMA_LOCK = 72_74_2011

#: What the IOLoop's own connection waits for at most (:meth:`Database.read`): a busy SQLite
#: file, a PostgreSQL lock, a statement; then the read goes to the executor.
LOOP_READ_LIMITS = {"sqlite": {"busy_timeout": 20},
                    "postgresql": "-c lock_timeout=20ms -c statement_timeout=200ms"}

#: Seconds the short reads go to the executor after one failed on the IOLoop (a database
#: restart or outage costs the loop one failed attempt per pause, not one per request).
LOOP_READ_PAUSE = 1.0

#: ``cache_size``: SQLite's own page cache, 8 MB (negative: KiB). What a listing reads stays in
#: the OS page cache anyway; a larger private cache only grows the server's RSS with the data
#: read (64 MB showed as +64 MB after a 200k-file listing), with no measurable gain for
#: listings or registrations (docs/PERFORMANCE.md, issue 15).
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 30000,
    "synchronous": "normal",
    "foreign_keys": 1,
    "cache_size": -8000,
    "case_sensitive_like": 1,   # LIKE behaves as on PostgreSQL and can use indexes
}


def parse_postgres_url(url):
    """``postgresql://user:password@host:port/dbname`` -> (dbname, connect kwargs)."""
    parts = urlparse(url)
    kwargs = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432,
              "user": unquote(parts.username or "postgres")}
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    return parts.path.lstrip("/") or "postgres", kwargs


class _ConnectionPool(PooledPostgresqlDatabase):
    """peewee's pool without its round trip per checkout.

    peewee checks each idle connection it hands out with a ``SELECT 1``: a round trip on every
    request (≈ 80 µs of CPU here, as much as the request's own query). An idle connection
    receives nothing unless the server ended it (a restart, ``pg_terminate_backend``: the
    termination notice, then end of file), so a poll of its socket finds those as well, in
    microseconds (a connection that dies after the check fails its query, with either check);
    a non-idle or unknown transaction state is handled as peewee does."""

    def _is_closed(self, conn):
        if conn.closed:
            return True
        if conn.info.transaction_status != _TRANSACTION_IDLE:
            return super()._is_closed(conn)         # unknown: closed; else rolled back
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))


class StreamPool:
    """Raw psycopg2 connections reserved for streamed listings, one per running stream.

    A stream holds its connection across several executor calls (possibly on different
    threads), so it cannot use peewee's thread-local connections.
    """

    def __init__(self, dbname, connect_kwargs, size):
        self.size = size
        self._dbname, self._kwargs = dbname, connect_kwargs
        self._free = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.in_use = 0

    def acquire(self, timeout=30):
        if not self._slots.acquire(timeout=timeout):
            raise exceptions.ResourceTemporaryUnavailable("all streaming connections are busy")
        try:
            conn = self._free.get_nowait()
        except queue.Empty:
            conn = None
        try:
            if conn is None or conn.closed:
                conn = self.connect()
        except Exception:
            self._slots.release()
            raise
        with self._lock:
            self.in_use += 1
        return conn

    def connect(self):
        """A new connection (its slot already taken by :meth:`acquire`)."""
        import psycopg2
        return psycopg2.connect(dbname=self._dbname, **self._kwargs)

    def release(self, conn):
        try:
            conn.rollback()
            self._free.put(conn)
        except Exception:  # a broken connection is dropped, its slot is still returned
            conn.close()
        with self._lock:
            self.in_use -= 1
        self._slots.release()

    def close(self):
        while True:
            try:
                self._free.get_nowait().close()
            except queue.Empty:
                return


class Database:
    """The process's database handle: the peewee database, the executor and the stream pool."""

    def __init__(self, url, pool_size=8, stream_pool_size=8, batch_size=1000,
                 loop_reads="auto"):
        self.url = url
        self.batch_size = batch_size
        self.stream_pool = None
        self._bytewise = None
        self._loop_local = threading.local()     # the IOLoop thread's connection (read())
        if url.startswith("sqlite:///"):
            self.kind = "sqlite"
            path = url[len("sqlite:///"):]
            if path != ":memory:":
                _create_private(Path(path))
            self.peewee = peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS,
                                                check_same_thread=False, timeout=30)
            # SQLite: one dedicated thread; concurrent writers never see "database is locked".
            self.executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
            #: short reads on the IOLoop's own connection (:meth:`read`; a file: each
            #: connection to ``:memory:`` would be another, empty database)
            self.reads_on_loop = path != ":memory:" and loop_reads != "never"
        elif url.startswith(("postgresql://", "postgres://")):
            self.kind = "postgresql"
            dbname, kwargs = parse_postgres_url(url)
            # auto: when the server is on this machine (a round trip of microseconds)
            self.reads_on_loop = loop_reads == "always" or (
                loop_reads == "auto" and _is_local_host(kwargs["host"]))
            self.peewee = _ConnectionPool(dbname, max_connections=pool_size,
                                          stale_timeout=300, timeout=30, **kwargs)
            self.executor = ThreadPoolExecutor(pool_size, thread_name_prefix="pg")
            self.stream_pool = StreamPool(dbname, kwargs, stream_pool_size)
            #: runs each stream's next FETCH ahead (one at a time per stream)
            self.prefetcher = ThreadPoolExecutor(stream_pool_size, thread_name_prefix="pg-fetch")
        else:
            raise exceptions.ConfigurationError(f"unsupported database URL: {url}")
        self.activate()

    def activate(self):
        """Bind the models to this database and make it :func:`current`."""
        global _current
        database.initialize(self.peewee)
        _current = self

    # -- running work off the IOLoop -------------------------------------------------------
    def call(self, fn, *args, **kwargs):
        """Run ``fn`` on the current (executor) thread with a connection; map DB errors."""
        try:
            if self.is_postgresql:
                with self.peewee.connection_context():
                    return fn(*args, **kwargs)
            return fn(*args, **kwargs)
        except DRIVER_ERRORS as exc:
            raise database_error(exc) from exc

    def renew_connection(self):
        """SQLite, in the executor between two calls: close this thread's connection and open
        a new one, which frees what the old one kept (prepared statements of a bulk call, its
        page cache). Every call runs in a transaction of its own or in autocommit, and a stream
        reads each page with a query of its own, so nothing is cut. PostgreSQL: nothing (each
        executor call returns its pooled connection)."""
        if not self.is_postgresql and not self.peewee.is_closed() and \
                not self.peewee.in_transaction():
            self.peewee.close()
            self.peewee.connect()

    def run_sync(self, fn, *args, **kwargs):
        """Run ``fn`` in the executor and wait (for scripts and tests, never on the IOLoop)."""
        return self.executor.submit(self.call, fn, *args, **kwargs).result()

    def run(self, fn, *args, **kwargs):
        """``await db.run(fn, ...)``: ``fn`` in the executor, the IOLoop stays free.

        Returns a future that is already running (so it can be awaited later).
        """
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(
            self.executor, functools.partial(self.call, fn, *args, **kwargs))

    def read(self, fn, *args, **kwargs):
        """``await db.read(fn, ...)``: a short read made of :class:`~rucio_tornado.compiled.Compiled`
        statements (a few primary-key lookups, nothing written).

        Where the database answers in microseconds (:attr:`reads_on_loop`: a SQLite file, or
        PostgreSQL on this machine) it runs at once on the calling IOLoop thread, through the
        loop's own connection: the hand-off to an executor thread and back costs the request
        ≈ 0.3 ms of CPU, ten times the read (docs/PERFORMANCE.md, issue 15). The loop never
        waits long: that connection gives up on a busy SQLite file or a PostgreSQL lock
        within :data:`LOOP_READ_LIMITS`, and then, as on any database error, the read runs in
        the executor. Elsewhere this is :meth:`run`."""
        local = self._loop_local
        if not self.reads_on_loop or getattr(local, "resume_at", 0) > time.monotonic():
            return self.run(fn, *args, **kwargs)
        future = asyncio.get_running_loop().create_future()
        try:
            if getattr(local, "conn", None) is None:
                local.conn, local.prepared = self._loop_connect(), {}
            local.reading = True
            try:
                future.set_result(fn(*args, **kwargs))
            finally:
                local.reading = False
        except LOOP_ERRORS as exc:
            log.info("a read on the IOLoop failed (%s): reads go to the executor for %s s",
                     _first_line(exc), LOOP_READ_PAUSE)
            self._loop_disconnect()
            local.resume_at = time.monotonic() + LOOP_READ_PAUSE   # no reconnect per request
            return self.run(fn, *args, **kwargs)
        except Exception as exc:
            future.set_exception(exc)
        return future

    def execute_compiled(self, sql, params):
        """A cursor over ``sql``: on the loop's own connection inside :meth:`read`, else on the
        thread's peewee connection."""
        local = self._loop_local
        if getattr(local, "reading", False):
            cursor = local.conn.cursor()
            if self.is_postgresql:
                sql = local.prepared.get(sql) or _prepare(cursor, sql, local.prepared)
            cursor.execute(sql, params)
            return cursor
        return self.peewee.execute_sql(sql, params)

    def _loop_connect(self):
        """A connection of the driver's own, in autocommit, that waits at most
        :data:`LOOP_READ_LIMITS` (never one of peewee's: the thread's peewee connection may be
        used for anything, with no such limits)."""
        if self.is_postgresql:
            import psycopg2
            dbname, kwargs = parse_postgres_url(self.url)
            conn = psycopg2.connect(dbname=dbname, options=LOOP_READ_LIMITS["postgresql"],
                                    **{"connect_timeout": 2, **kwargs})
            conn.autocommit = True
            return conn
        conn = sqlite3.connect(self.peewee.database, isolation_level=None)
        for pragma, value in {**SQLITE_PRAGMAS, **LOOP_READ_LIMITS["sqlite"]}.items():
            conn.execute(f"PRAGMA {pragma} = {value}")
        return conn

    def _loop_disconnect(self):
        conn, self._loop_local.conn = getattr(self._loop_local, "conn", None), None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    # -- streaming -------------------------------------------------------------------------
    def iter_query(self, query, key, batch_size=None):
        """Yield lists of raw row tuples of ``query``, one batch at a time, in constant memory.

        ``key`` is a sequence of selected fields that is unique per row: SQLite pages on it
        (keyset pagination, never OFFSET) and both databases order by it.
        """
        batch_size = batch_size or self.batch_size
        query = query.order_by(*key)
        if self.kind == "postgresql":
            return self._iter_server_side(query, batch_size)
        return self._iter_keyset(query, key, batch_size)

    def _iter_server_side(self, query, batch_size):
        import psycopg2
        sql, params = query.sql()
        conn = self.stream_pool.acquire()
        cursor = pending = None
        try:
            try:
                _begin_stream(conn)     # a round trip anyway: finds a connection gone stale
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                log.info("a pooled stream connection was broken (database restarted?): "
                         "reconnecting once")
                conn.close()
                conn = self.stream_pool.connect()   # if this fails, release() frees the slot
                _begin_stream(conn)
            cursor = conn.cursor(name="rt_" + uuid.uuid4().hex)
            cursor.execute(sql, params)
            # the next FETCH runs (GIL released while PostgreSQL works) while the consumer
            # turns the current batch into lines
            pending = self.prefetcher.submit(cursor.fetchmany, batch_size)
            while True:
                rows = pending.result()
                pending = None
                if not rows:
                    return
                pending = self.prefetcher.submit(cursor.fetchmany, batch_size)
                yield rows
        finally:
            if pending is not None:
                try:
                    pending.result()
                except Exception:  # the connection is rolled back and released below anyway
                    log.debug("a prefetch failed while closing a stream", exc_info=True)
            if cursor is not None and not conn.closed:
                try:
                    cursor.close()
                except Exception:  # the connection is rolled back and released below anyway
                    log.debug("closing a stream cursor failed", exc_info=True)
            self.stream_pool.release(conn)

    def _iter_keyset(self, query, key, batch_size):
        selected = list(query.selected_columns)
        positions = []
        for field in key:
            matches = [i for i, col in enumerate(selected) if col is field]
            if not matches:
                raise ValueError(f"keyset field {field} must be selected")
            positions.append(matches[0])
        last = None
        while True:
            page = query if last is None else query.where(peewee.Tuple(*key) > peewee.Tuple(*last))
            sql, params = page.limit(batch_size).sql()
            rows = self.peewee.execute_sql(sql, params).fetchall()
            if not rows:
                return
            yield rows
            if len(rows) < batch_size:
                return
            tail = rows[-1]
            last = [tail[i] for i in positions]

    # -- what differs between the two databases ----------------------------------------------
    @property
    def is_postgresql(self):
        return self.kind == "postgresql"

    def random_id_sql(self):
        """SQL computing a 32-hex-digit id in the database (for ``INSERT ... SELECT``)."""
        if self.is_postgresql:
            return peewee.SQL("replace(gen_random_uuid()::text, '-', '')")
        return peewee.SQL("lower(hex(randomblob(16)))")

    def sorts_bytewise(self):
        """True when text columns compare byte-wise (SQLite; PostgreSQL with a C collation),
        so that a prefix bounds an index range."""
        if self._bytewise is None:
            if self.is_postgresql:
                (collation,) = self.peewee.execute_sql(
                    "SELECT datcollate FROM pg_database WHERE datname = current_database()"
                ).fetchone()
                self._bytewise = collation.split(".")[0] in ("C", "POSIX")
            else:
                self._bytewise = True
        return self._bytewise

    def stored_datetime(self, value):
        """``value`` as the database stores it: SQLite keeps text (converting once instead of
        once per row), PostgreSQL a timestamp."""
        return value if self.is_postgresql else str(value)

    def insert_rows(self, table, names, rows, tail=()):
        """Insert ``rows`` (tuples in ``names`` order, each followed by the constant ``tail``
        values) with multi-row VALUES statements (SQLite) or one streamed ``COPY``
        (PostgreSQL; there ``rows`` may be a generator, consumed while PostgreSQL inserts)."""
        if self.is_postgresql:
            sqlwriters.copy_rows(self.peewee, table, names, rows, tail)
        else:
            sqlwriters.insert_values(self.peewee, table, names, rows, tail)

    def refresh_statistics(self):
        """PostgreSQL: ``ANALYZE`` the tables of the schema whose heap is now more than twice
        (and 8 pages more than) what their last analysis saw; returns their names. SQLite:
        nothing.

        Run after bulk calls. Without statistics (autovacuum off, or not run yet: it wakes
        once a minute) the planner takes a freshly loaded dataset for a single row and streams
        its replica listing through a nested loop that costs PostgreSQL twice the CPU per row
        (200k files: ≈ 6.5 against ≈ 3 µs). The file size is current at once (the activity
        counters autovacuum reads lag by up to a second); doubling as the trigger keeps the
        estimates within 2× at a cost logarithmic in the growth (each ANALYZE samples at most
        30,000 rows and blocks neither readers nor writers); autovacuum, when on, refines."""
        if not self.is_postgresql:
            return []
        stale = [name for (name,) in self.peewee.execute_sql(
            "SELECT relname FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = current_schema()::regnamespace "
            "AND pg_relation_size(oid) / current_setting('block_size')::int > 2 * relpages + 8"
        ).fetchall()]
        for name in stale:
            quoted = name.replace('"', '""')
            self.peewee.execute_sql(f'ANALYZE "{quoted}"')
        return stale

    def ping(self):
        """One trivial round trip (for ``/health``)."""
        self.peewee.execute_sql("SELECT 1").fetchone()

    @contextlib.contextmanager
    def schema_lock(self):
        """Serialise schema creation and bootstrap between processes and machines starting at
        the same time (a PostgreSQL advisory lock; SQLite serialises writers anyway)."""
        if not self.is_postgresql:
            yield
            return
        self.peewee.execute_sql("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            self.peewee.execute_sql("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    def for_update(self, query):
        """``query`` locking the rows it reads until the transaction ends (PostgreSQL
        ``SELECT ... FOR UPDATE``; SQLite serialises writers, so the query is unchanged)."""
        return query.for_update() if self.is_postgresql else query

    def advisory_xact_lock(self, key):
        """Wait for the transaction-scoped PostgreSQL advisory lock ``key`` (a 64-bit integer),
        held until the transaction ends; SQLite serialises writers, so nothing to do."""
        if self.is_postgresql:
            self.peewee.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))

    # -- lifecycle ------------------------------------------------------------------------
    def close(self):
        self.executor.shutdown(wait=True, cancel_futures=True)
        if self.stream_pool is not None:
            self.prefetcher.shutdown(wait=True, cancel_futures=True)
            self.stream_pool.close()
        if self.kind == "postgresql":
            self.peewee.close_all()
        else:
            self.peewee.close()


_current = None
_TRANSACTION_IDLE = 0       # psycopg2.extensions.TRANSACTION_STATUS_IDLE (psycopg2 is optional)

#: What the client is told of a database error: never the driver's text, which names hosts,
#: ports, constraints, columns and SQL (that goes to the log).
INTEGRITY_MESSAGE = "Integrity error: the request conflicts with data already stored"
DATA_MESSAGE = "Invalid value: a value is out of range or not of the column's type"
UNAVAILABLE_MESSAGE = "The database is unavailable or failed; try again later"


def _driver_errors():
    errors = [peewee.DatabaseError, peewee.InterfaceError]   # not DoesNotExist
    try:
        import psycopg2
        errors.append(psycopg2.Error)   # raw connections (streams) raise the driver's own
    except ImportError:                 # pragma: no cover - SQLite-only installations
        pass
    return tuple(errors)


DRIVER_ERRORS = _driver_errors()
#: Errors after which a read on the IOLoop is made again in the executor.
LOOP_ERRORS = DRIVER_ERRORS + (sqlite3.Error,)


def _is_local_host(host):
    """A Unix socket directory or a loopback address."""
    if host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def database_error(exc):
    """The Rucio error a peewee or psycopg2 error becomes; the details go to the log only."""
    name = type(exc).__name__
    kinds = {type_.__name__ for type_ in type(exc).__mro__}
    if "IntegrityError" in kinds:
        log.info("integrity error answered as Duplicate: %s", _first_line(exc))
        return exceptions.Duplicate(INTEGRITY_MESSAGE)
    if "DataError" in kinds:
        log.info("data error answered as InvalidObject: %s", _first_line(exc))
        return exceptions.InvalidObject(DATA_MESSAGE)
    if kinds & {"OperationalError", "InterfaceError", "InternalError"}:
        log.error("database unavailable (%s): %s", name, _first_line(exc))
        return exceptions.DatabaseException(UNAVAILABLE_MESSAGE)
    log.error("database error %s: %s", name, _first_line(exc))
    return exceptions.DatabaseException("A database error occurred")


def open_database(settings):
    """The :class:`Database` the settings describe."""
    return Database(settings.db_url, pool_size=settings.db_pool_size,
                    stream_pool_size=settings.db_stream_pool_size,
                    batch_size=settings.stream_batch_size, loop_reads=settings.db_loop_reads)


def current():
    """The active :class:`Database` (for core code that streams with ``iter_query``)."""
    return _current


def atomic(fn):
    """Decorator: run ``fn`` in one transaction (one request = one transaction)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with database.atomic():
            return fn(*args, **kwargs)
    return wrapper


def _create_private(path):
    """Create the SQLite file readable by its owner only (0600; SQLite gives its -wal and -shm
    files the database file's mode). An existing file keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _begin_stream(conn):
    with conn.cursor() as setup:
        setup.execute("SET LOCAL jit = off")


def _prepare(cursor, sql, prepared):
    """PostgreSQL: ``sql`` made a prepared statement of the loop's connection, once; returns
    the ``EXECUTE`` that runs it. Parsing and planning were most of a point read's time in
    PostgreSQL (the account check 106 us per round trip, prepared 69 us:
    ``tools/bench/point_read_statements.py``).
    A statement PostgreSQL cannot prepare (a parameter of no inferable type) runs as it is."""
    import psycopg2
    count = 0

    def number(match):
        nonlocal count
        if match.group() == "%%":
            return "%"
        count += 1
        return f"${count}"

    name = f"rt_{len(prepared)}"
    try:
        cursor.execute(f"PREPARE {name} AS {re.sub('%%|%s', number, sql)}")
    except (psycopg2.ProgrammingError, psycopg2.DataError, psycopg2.NotSupportedError):
        prepared[sql] = sql
        return sql
    prepared[sql] = f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else \
        f"EXECUTE {name}"
    return prepared[sql]


def _first_line(exc):
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
