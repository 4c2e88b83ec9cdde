"""Trace reports (``/traces/``, ``/nongrid_traces/``): kept in a table of bounded size.

The real server forwards traces to a message broker; this one stores them, newest
``retention`` rows (the ``trace_retention`` setting; 0 keeps all), so that operators can read
what clients report. Like the real server, a trace is accepted whatever its ``eventType``:
only its shape is checked (a JSON object, or a list of them).
"""
import datetime
import time
import uuid

import ujson

from rucio_tornado import exceptions
from rucio_tornado.db import atomic
from rucio_tornado.models import Trace, utcnow

TRACES, NONGRID = "traces", "nongrid"
#: Longest stored report (JSON text), so one client cannot fill the table with one trace.
MAX_TRACE_LENGTH = 65536


def _objects(reports):
    if isinstance(reports, dict):
        reports = [reports]
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        raise exceptions.InvalidJSONType(
            "Invalid JSON data. Please provide a single trace as a JSON object or a list of "
            "trace objects.")
    return reports


def add_traces(reports, trace_ip, retention):
    """Store ``reports`` (one JSON object or a list of them) as the real server stamps them
    (``traceIp``, ``traceTimeentry``, ``traceTimeentryUnix``, ``traceId``); their number."""
    reports = _objects(reports)
    now = datetime.datetime.now(datetime.UTC)
    stamped = [dict(report, traceIp=trace_ip, traceTimeentry=now.isoformat(),
                    traceTimeentryUnix=now.timestamp(), traceId=uuid.uuid4().hex)
               for report in reports]
    return _store(TRACES, stamped, retention)


def add_nongrid_trace(report, trace_ip, retention):
    """Store one non-grid report (a JSON object) stamped with ``timeentry`` and ``ip``."""
    if not isinstance(report, dict):
        raise exceptions.InvalidJSONType("body must be a json dictionary")
    return _store(NONGRID, [dict(report, timeentry=int(time.time()), ip=trace_ip)], retention)


@atomic
def _store(kind, reports, retention):
    rows = []
    for report in reports:
        text = ujson.dumps(report, escape_forward_slashes=False)
        if len(text) > MAX_TRACE_LENGTH:
            raise exceptions.InvalidObject(f"a trace is longer than {MAX_TRACE_LENGTH} bytes")
        event = report.get("eventType")
        rows.append({"kind": kind, "payload": text, "created_at": utcnow(),
                     "event_type": event[:64] if isinstance(event, str) else None})
    kept = rows[-retention:] if retention > 0 else rows
    if kept:
        Trace.insert_many(kept).execute()
        if retention > 0:
            prune(retention)
    return len(rows)


def prune(retention):
    """Delete the oldest traces beyond the newest ``retention`` (ids only grow, so this is one
    range delete on the primary key)."""
    newest = Trace.select(Trace.id).order_by(Trace.id.desc()).limit(1).scalar()
    if newest is not None and newest > retention:
        Trace.delete().where(Trace.id <= newest - retention).execute()


def list_traces(kind=None, limit=100):
    """The newest ``limit`` stored reports (decoded), newest first (for operators, tests)."""
    query = Trace.select(Trace.payload).order_by(Trace.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Trace.kind == kind)
    return [ujson.loads(text) for (text,) in query.tuples()]
