"""The raw limit: a bare Tornado handler streaming the dataset's replica join as x-json-stream.

Same driver, same ujson, DB work in a one-thread executor, 1000-row batches, the next batch
fetched while the current one is written (PERFORMANCE.md). No auth, no ORM, flat rows.

    python tools/bench/baseline_server.py --db URL --port 8999
    GET /replicas/{scope}/{name}
"""
import argparse
import asyncio
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor

import tornado.ioloop
import tornado.web
import ujson

SQL = ("SELECT c.child_scope, c.child_name, r.rse_id, r.bytes, r.md5, r.adler32, r.state "
       "FROM content c LEFT JOIN replica r ON r.scope = c.child_scope AND r.name = c.child_name "
       "AND r.state = 'AVAILABLE' WHERE c.scope = {p} AND c.name = {p} "
       "ORDER BY c.scope, c.name, c.child_scope, c.child_name")
NAMES = ("scope", "name", "rse_id", "bytes", "md5", "adler32", "state")


def encode(rows):
    out = bytearray()
    dumps = ujson.dumps
    for row in rows:
        out += dumps(dict(zip(NAMES, row))).encode()
        out += b"\n"
    return bytes(out)


def encoded_batches(cursor):
    """1000-row batches of an executed cursor, each encoded as one chunk."""
    while True:
        rows = cursor.fetchmany(1000)
        if not rows:
            return
        yield encode(rows)


def sqlite_batches(path, scope, name):
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        yield from encoded_batches(conn.execute(SQL.format(p="?"), (scope, name)))
    finally:
        conn.close()


def postgres_batches(dsn, scope, name):
    import psycopg2
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as setup:
            setup.execute("SET LOCAL jit = off")
        cursor = conn.cursor(name="b_" + uuid.uuid4().hex)
        cursor.execute(SQL.format(p="%s"), (scope, name))
        yield from encoded_batches(cursor)
    finally:
        conn.close()


class ListingHandler(tornado.web.RequestHandler):
    def initialize(self, source, executor):
        self.source, self.executor = source, executor

    async def get(self, scope, name):
        loop = asyncio.get_running_loop()
        batches = self.source(scope, name)
        chunk = await loop.run_in_executor(self.executor, next, batches, None)
        self.set_header("Content-Type", "application/x-json-stream")
        while chunk is not None:
            upcoming = loop.run_in_executor(self.executor, next, batches, None)
            self.write(chunk)
            await self.flush()
            chunk = await upcoming
        self.finish()


class PingHandler(tornado.web.RequestHandler):
    def get(self):
        self.finish({"version": "baseline"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    executor = ThreadPoolExecutor(1)
    if args.db.startswith("sqlite:///"):
        path = args.db[len("sqlite:///"):]

        def source(scope, name):
            return sqlite_batches(path, scope, name)
    else:
        def source(scope, name):
            return postgres_batches(args.db, scope, name)
    app = tornado.web.Application([(r"/ping", PingHandler), (r"/replicas/([^/]+)/([^/]+)", ListingHandler,
                                    {"source": source, "executor": executor})])
    app.listen(args.port, "127.0.0.1")
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
