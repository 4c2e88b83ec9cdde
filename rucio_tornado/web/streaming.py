"""The one ``application/x-json-stream`` writer.

The core hands over an iterable of *batches* (lists of JSON-able rows). Each batch is fetched and
encoded in the database executor, then written as one chunk and flushed before the next one is
needed, so server memory stays at about two chunks whatever the listing's size, and a slow client
slows the producer down. The first batch is read before any header is sent: an error found there
is an ordinary Rucio error response. The next batch is fetched while the current one is written.
When the client goes away, the source is closed at once (its cursor and connection released).
"""
import logging

import ujson
from tornado.iostream import StreamClosedError

from rucio_tornado import metrics

log = logging.getLogger(__name__)

STREAM_TYPE = "application/x-json-stream"


def encode_json_lines(batch):
    """One batch of rows as one x-json-stream chunk."""
    dumps = ujson.dumps
    return ("\n".join([dumps(row) for row in batch]) + "\n").encode()


def encode_text(batch):
    """One batch of ready-made text pieces (e.g. XML) as one chunk."""
    return "".join(batch).encode()


def _encode_next(batches, encode=encode_json_lines):
    """Runs in the executor: the next batch as one ``bytes`` chunk, or None at the end."""
    for batch in batches:
        if batch:
            return encode(batch)
    return None


def _close(batches):
    close = getattr(batches, "close", None)
    if close is not None:
        close()


async def write_stream(handler, source, encode=encode_json_lines, content_type=STREAM_TYPE):
    """Stream ``source`` (an iterable of batches) to ``handler``'s client; returns rows written.

    ``encode`` turns one batch into one ``bytes`` chunk (default: JSON lines); ``content_type``
    is the response's type (e.g. Metalink XML with :func:`encode_text`).
    """
    db = handler.db
    batches = iter(source)
    rows = 0
    started = False
    metrics.OPEN_STREAMS.inc()
    try:
        chunk = await db.run(_encode_next, batches, encode)
        handler.set_header("Content-Type", content_type)
        while chunk is not None:
            upcoming = db.run(_encode_next, batches, encode)   # fetch the next batch while we write
            rows += chunk.count(b"\n")
            started = True
            handler.write(chunk)
            try:
                await handler.flush()
            except StreamClosedError:
                await _discard(upcoming)
                handler.streamed_rows = rows
                return rows
            chunk = await upcoming
        handler.streamed_rows = rows
        handler.finish()
        return rows
    except Exception:
        if not started:
            raise                              # nothing sent yet: an ordinary error response
        log.exception("error after the first line of a stream; aborting the response")
        handler.streamed_rows = rows
        handler.abort_connection()
        return rows
    finally:
        metrics.OPEN_STREAMS.dec()
        await db.run(_close, batches)


async def _discard(future):
    """Wait for a prefetch nobody will read (the client left); its error no longer matters."""
    try:
        await future
    except Exception:
        log.debug("prefetch failed after the client went away", exc_info=True)
