"""Space usage of RSEs per source (with a history row per update) and RSE limits.

Source ``rucio`` is computed from the replicas on the RSE unless one was reported explicitly.
"""
from collections.abc import Iterator

from peewee import fn

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import check_type, integer, map_batches, rfc1123, row_mapper
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.db import atomic, current
from rucio_tornado.models import AccountUsage, Replica, RSELimit, RSEUsage, RSEUsageHistory, utcnow


def _count(value, label):
    """A reported byte or file count: a non-negative integer, or None (not reported)."""
    return None if value is None else integer(value, label, minimum=0)


def _non_empty(value, key, label):
    """``value`` if it is a non-empty string: TypeError (400) naming ``key``, else InvalidObject."""
    if not check_type(value, str, key):
        raise exceptions.InvalidObject(f"{label} must not be empty")
    return value


def _usage_line(rse, source, used, free, files, updated_at):
    return {"rse_id": rse.id, "rse": rse.rse, "source": source, "used": used, "free": free,
            "total": (used or 0) + (free or 0), "files": files,
            "updated_at": rfc1123(updated_at)}


@atomic
def set_rse_usage(issuer: Issuer, rse: str, source: str, used: int, free: int | None,
                  files: int | None = None) -> None:
    """Record the usage reported by ``source`` and append it to the history."""
    permissions.check(issuer, "set_rse_usage", rse=rse)
    _non_empty(source, "source", "source")
    used, free, files = _count(used, "used"), _count(free, "free"), _count(files, "files")
    row = lookup.rse(rse)
    now = utcnow()
    values = {"used": used, "free": free, "files": files, "updated_at": now}
    if not RSEUsage.update(**values).where(RSEUsage.rse_id == row.id,
                                           RSEUsage.source == source).execute():
        RSEUsage.create(rse_id=row.id, source=source, **values)
    RSEUsageHistory.create(rse_id=row.id, source=source, created_at=now, **values)


def get_rse_usage(issuer: Issuer, rse: str, source: str | None = None,
                  per_account: bool = False) -> list[dict]:
    """One line per source (API.md §3.3); ``per_account`` adds the accounts' usage."""
    row = lookup.rse(rse)
    query = RSEUsage.select().where(RSEUsage.rse_id == row.id).order_by(RSEUsage.source)
    if source:
        query = query.where(RSEUsage.source == source)
    lines = [_usage_line(row, u.source, u.used, u.free, u.files, u.updated_at) for u in query]
    if source in (None, "rucio") and not any(line["source"] == "rucio" for line in lines):
        used, files = (Replica.select(fn.COALESCE(fn.SUM(Replica.bytes), 0), fn.COUNT(1))
                       .where(Replica.rse_id == row.id).tuples().get())
        lines.insert(0, _usage_line(row, "rucio", int(used), None, int(files), utcnow()))
    if per_account:
        accounts = [{"account": account, "used": used, "files": files} for account, used, files in
                    AccountUsage.select(AccountUsage.account, AccountUsage.bytes,
                                        AccountUsage.files)
                    .where(AccountUsage.rse_id == row.id).order_by(AccountUsage.account).tuples()]
        for line in lines:
            if line["source"] == "rucio":
                line["account_usages"] = accounts
    return lines


HISTORY_FIELDS = (RSEUsageHistory.id, RSEUsageHistory.source, RSEUsageHistory.used,
                  RSEUsageHistory.free, RSEUsageHistory.files, RSEUsageHistory.updated_at)
_history_row = row_mapper(["id", "source", "used", "free", "files", "updated_at"],
                          {"updated_at": rfc1123})


def list_rse_usage_history(issuer: Issuer, rse: str,
                           source: str | None = None) -> Iterator[list]:
    """Every recorded usage update of the RSE, oldest first (batches)."""
    row = lookup.rse(rse)
    query = RSEUsageHistory.select(*HISTORY_FIELDS).where(RSEUsageHistory.rse_id == row.id)
    if source:
        query = query.where(RSEUsageHistory.source == source)

    def line(raw):
        out = _history_row(raw)
        del out["id"]
        out.update(rse_id=row.id, rse=row.rse, total=(out["used"] or 0) + (out["free"] or 0))
        return out
    return map_batches(current().iter_query(query, key=(RSEUsageHistory.id,)), line)


# -- RSE limits --------------------------------------------------------------------------------
def get_rse_limits(issuer: Issuer, rse: str) -> dict:
    """``{name: value}`` of the RSE's limits."""
    row = lookup.rse(rse)
    return dict(RSELimit.select(RSELimit.name, RSELimit.value).where(RSELimit.rse_id == row.id)
                .order_by(RSELimit.name).tuples())


@atomic
def set_rse_limit(issuer: Issuer, rse: str, name: str, value: int) -> None:
    """Add or overwrite one named limit (upsert)."""
    permissions.check(issuer, "set_rse_limits", rse=rse)
    _non_empty(name, "name", "The limit name")
    integer(value, "The limit value")
    row = lookup.rse(rse)
    if not RSELimit.update(value=value, updated_at=utcnow()).where(
            RSELimit.rse_id == row.id, RSELimit.name == name).execute():
        RSELimit.create(rse_id=row.id, name=name, value=value)


@atomic
def delete_rse_limit(issuer: Issuer, rse: str, name: str) -> None:
    """Delete one named limit (no error if it is not set)."""
    permissions.check(issuer, "delete_rse_limits", rse=rse)
    check_type(name, str, "name")
    row = lookup.rse(rse)
    RSELimit.delete().where(RSELimit.rse_id == row.id, RSELimit.name == name).execute()
