"""Heartbeats: the last sign of life of every process of every executable on every host.

``POST /heartbeats`` (root/admin) and the ``rucio-tornado daemon`` passes record beats;
``GET /heartbeats`` (root only, as the real server) lists them.
"""
import hashlib

from rucio_tornado import exceptions
from rucio_tornado.core import permissions
from rucio_tornado.core.common import integer, rfc1123
from rucio_tornado.db import atomic
from rucio_tornado.models import Heartbeat, utcnow

PAYLOAD_LENGTH = 3000
HOSTNAME_LENGTH = 128


def list_heartbeats(issuer):
    """Every heartbeat, by executable, host and thread name."""
    permissions.check(issuer, "list_heartbeats")
    rows = Heartbeat.select(Heartbeat.readable, Heartbeat.hostname, Heartbeat.pid,
                            Heartbeat.thread_name, Heartbeat.updated_at, Heartbeat.created_at,
                            Heartbeat.payload).order_by(
        Heartbeat.readable, Heartbeat.hostname, Heartbeat.thread_name, Heartbeat.pid).dicts()
    return [dict(row, updated_at=rfc1123(row["updated_at"]),
                 created_at=rfc1123(row["created_at"])) for row in rows]


def send_heartbeat(issuer, executable, hostname, pid, older_than=None, payload=None):
    """A beat sent by a client (``POST /heartbeats``), checked. ``older_than`` (seconds) is
    checked but unused: the real server uses it to share work between live processes, which
    this server does not do."""
    permissions.check(issuer, "send_heartbeats")
    _text(executable, "executable")
    _text(hostname, "hostname", HOSTNAME_LENGTH)
    integer(pid, "pid", minimum=0, maximum=2 ** 31 - 1)
    if older_than is not None:
        integer(older_than, "older_than", minimum=0)
    if payload is not None:
        _text(payload, "payload", PAYLOAD_LENGTH)
    beat(executable, hostname, pid, payload=payload)


@atomic
def beat(executable, hostname, pid, thread_id=0, thread_name="thread", payload=None):
    """Record that ``executable`` (process ``pid`` on ``hostname``) is alive now."""
    key = hashlib.sha256(executable.encode("utf-8")).hexdigest()
    now = utcnow()
    where = (Heartbeat.executable == key, Heartbeat.hostname == hostname,
             Heartbeat.pid == pid, Heartbeat.thread_id == thread_id)
    if not Heartbeat.update(updated_at=now, payload=payload).where(*where).execute():
        Heartbeat.create(executable=key, readable=executable[:4000], hostname=hostname,
                         pid=pid, thread_id=thread_id, thread_name=thread_name,
                         payload=payload, created_at=now, updated_at=now)


def _text(value, label, length=None):
    if not isinstance(value, str) or not value:
        raise exceptions.InvalidObject(f"{label} must be a non-empty string")
    if length is not None and len(value) > length:
        raise exceptions.InvalidObject(f"{label} is longer than {length} characters")
    return value
