"""Database selection and access: SQLite (one dedicated thread) or pooled PostgreSQL.

Every database call made for a request runs in :attr:`Database.executor`, never on the IOLoop:
``await db.run(fn, *args)``. Listings stream through :meth:`Database.iter_query`, which yields
batches of raw rows: from a server-side cursor on a connection reserved for the stream
(PostgreSQL) or from keyset pages (SQLite). See docs/ARCHITECTURE.md.
"""
import asyncio
import contextlib
import functools
import logging
import queue
import threading
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

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 30000,
    "synchronous": "normal",
    "foreign_keys": 1,
    "cache_size": -64000,
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
        import psycopg2
        if not self._slots.acquire(timeout=timeout):
            raise exceptions.ResourceTemporaryUnavailable("all streaming connections are busy")
        try:
            conn = self._free.get_nowait()
        except queue.Empty:
            conn = None
        try:
            if conn is None or conn.closed:
                conn = psycopg2.connect(dbname=self._dbname, **self._kwargs)
        except Exception:
            self._slots.release()
            raise
        with self._lock:
            self.in_use += 1
        return conn

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

    def __init__(self, url, pool_size=8, stream_pool_size=8, batch_size=1000):
        self.url = url
        self.batch_size = batch_size
        self.stream_pool = None
        self._bytewise = None
        if url.startswith("sqlite:///"):
            self.kind = "sqlite"
            path = url[len("sqlite:///"):]
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.peewee = peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS,
                                                check_same_thread=False, timeout=30)
            # SQLite: one dedicated thread; concurrent writers never see "database is locked".
            self.executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        elif url.startswith(("postgresql://", "postgres://")):
            self.kind = "postgresql"
            dbname, kwargs = parse_postgres_url(url)
            self.peewee = PooledPostgresqlDatabase(dbname, max_connections=pool_size,
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
        except peewee.IntegrityError as exc:
            raise exceptions.Duplicate(f"Integrity error: {_first_line(exc)}") from exc
        except peewee.DataError as exc:
            raise exceptions.InvalidObject(f"Invalid value: {_first_line(exc)}") from exc
        except peewee.OperationalError as exc:
            log.exception("database operational error")
            raise exceptions.DatabaseException(_first_line(exc)) from exc

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
        sql, params = query.sql()
        conn = self.stream_pool.acquire()
        cursor = pending = None
        try:
            with conn.cursor() as setup:
                setup.execute("SET LOCAL jit = off")
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


def open_database(settings):
    """The :class:`Database` the settings describe."""
    return Database(settings.db_url, pool_size=settings.db_pool_size,
                    stream_pool_size=settings.db_stream_pool_size,
                    batch_size=settings.stream_batch_size)


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


def _first_line(exc):
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
