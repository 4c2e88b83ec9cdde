"""Prometheus metrics (``prometheus_client``) and the one structured access-log line per request.

With several processes, ``rucio-tornado serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before this
module is imported; every process then writes its samples there and ``/metrics`` (answered by
any process) aggregates all of them (prometheus_client's multiprocess mode).
"""
import logging
import os
import re
from urllib.parse import parse_qsl, urlencode

import ujson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

access_log = logging.getLogger("rucio_tornado.access")

REQUESTS = Counter("rucio_http_requests_total", "HTTP requests by route, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("rucio_http_request_duration_seconds", "Request latency by route",
                    ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
STREAMED_ROWS = Counter("rucio_streamed_rows_total", "Rows sent in x-json-stream responses",
                        ["route"])
OPEN_STREAMS = Gauge("rucio_open_streams", "Streamed responses in progress",
                     multiprocess_mode="livesum")
POOL_IN_USE = Gauge("rucio_db_pool_in_use", "PostgreSQL pool connections in use",
                    multiprocess_mode="livesum")
STREAM_POOL_IN_USE = Gauge("rucio_db_stream_pool_in_use",
                           "PostgreSQL stream pool connections in use (one per open stream)",
                           multiprocess_mode="livesum")
TRACES = Counter("rucio_traces_total", "Trace reports accepted (/traces/, /nongrid_traces/)",
                 ["kind"])

_PART = re.compile(r"\(\[\^/\]\+\)|\(\.\*\)|\(\.\+\)")


def pretty_pattern(pattern):
    """``/accounts/([^/]+)/attr/?`` -> ``/accounts/{}/attr``: a bounded, readable route label."""
    text = _PART.sub("{}", pattern.rstrip("$"))
    return text[:-2] if text.endswith("/?") else text


def route_label(handler):
    """The route pattern that matched ``handler``'s request (never the raw path)."""
    label = getattr(handler, "route_label", None)
    if label:
        return label
    rules = handler.application.settings.get("route_patterns", {}).get(type(handler), ())
    if len(rules) == 1:
        return rules[0][1]
    for regex, label in rules:
        if regex.match(handler.request.path):
            return label
    return "unmatched"


def route_patterns(routes):
    """{handler class: [(compiled regex, label), ...]} from the route table."""
    table = {}
    for pattern, handler_class, *_ in routes:
        table.setdefault(handler_class, []).append(
            (re.compile(pattern if pattern.endswith("$") else pattern + "$"),
             pretty_pattern(pattern)))
    return table


#: Query keys whose values never reach the log (compared lower-case, without - and _).
SENSITIVE_KEYS = ("token", "password", "passwd", "secret", "key", "signature", "credential",
                  "auth", "code")
REDACTED = "***"


def sanitised_path(request):
    """The request path with the values of sensitive query arguments replaced by ``***``."""
    if not request.query:
        return request.path
    pairs = []
    for key, value in parse_qsl(request.query, keep_blank_values=True):
        plain = key.lower().replace("-", "").replace("_", "")
        pairs.append((key, REDACTED if any(word in plain for word in SENSITIVE_KEYS) else value))
    return f"{request.path}?{urlencode(pairs, safe='/:,*')}"


def observe(handler):
    """Record one finished request: metrics and the access-log line (``log_function``)."""
    request = handler.request
    status = handler.get_status()
    duration = request.request_time()
    route = route_label(handler)
    rows = getattr(handler, "streamed_rows", 0)
    REQUESTS.labels(route, request.method, str(status)).inc()
    LATENCY.labels(route, request.method).observe(duration)
    if rows:
        STREAMED_ROWS.labels(route).inc(rows)
    settings = handler.application.settings
    activity = settings.get("activity")
    if activity is not None:
        activity.finished(handler)
    config = settings.get("config")
    if config is not None and not config.access_log:
        return
    issuer = getattr(handler, "issuer", None)
    line = {"method": request.method, "route": route, "path": sanitised_path(request),
            "status": status,
            "bytes": getattr(handler, "bytes_sent", 0),
            "duration_ms": round(duration * 1000.0, 1),
            "account": issuer.account if issuer is not None else None,
            "rows": rows, "remote_ip": request.remote_ip}
    level = logging.WARNING if status >= 500 else logging.INFO
    access_log.log(level, ujson.dumps(line, escape_forward_slashes=False))


def update_pool_gauges(database):
    """Set the pool gauges from ``database`` (called periodically and on each scrape)."""
    if database is None or database.kind != "postgresql":
        return
    POOL_IN_USE.set(len(getattr(database.peewee, "_in_use", ())))
    STREAM_POOL_IN_USE.set(database.stream_pool.in_use)


def exposition():
    """(content type, body) of the metrics of this process, or of all (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return CONTENT_TYPE_LATEST, generate_latest(registry)
