"""Space usage of RSEs per source (with a history row per update) and RSE limits.

Source ``rucio`` is computed from the replicas on the RSE unless one was reported explicitly.
"""
from peewee import fn

from rucio_tornado import exceptions
from rucio_tornado.core import permissions
from rucio_tornado.core.common import check_type, map_batches, rfc1123, row_mapper
from rucio_tornado.core.rses.catalog import get_rse_row
from rucio_tornado.db import atomic, current
from rucio_tornado.models import AccountUsage, Replica, RSELimit, RSEUsage, RSEUsageHistory, utcnow


def _count(value, label, nullable=True):
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise exceptions.InvalidObject(f"{label} must be a non-negative integer")
    return value


def _usage_line(rse, source, used, free, files, updated_at):
    return {"rse_id": rse.id, "rse": rse.rse, "source": source, "used": used, "free": free,
            "total": (used or 0) + (free or 0), "files": files,
            "updated_at": rfc1123(updated_at)}


@atomic
def set_rse_usage(issuer, rse, source, used, free, files=None):
    """Record the usage reported by ``source`` and append it to the history."""
    permissions.check(issuer, "set_rse_usage", rse=rse)
    source = check_type(source, str, "source")
    if not source:
        raise exceptions.InvalidObject("source must not be empty")
    used, free, files = _count(used, "used"), _count(free, "free"), _count(files, "files")
    row = get_rse_row(rse)
    now = utcnow()
    values = {"used": used, "free": free, "files": files, "updated_at": now}
    if not RSEUsage.update(**values).where(RSEUsage.rse_id == row.id,
                                           RSEUsage.source == source).execute():
        RSEUsage.create(rse_id=row.id, source=source, **values)
    RSEUsageHistory.create(rse_id=row.id, source=source, created_at=now, **values)


def get_rse_usage(issuer, rse, source=None, per_account=False):
    """One line per source (API.md §3.3); ``per_account`` adds the accounts' usage."""
    row = get_rse_row(rse)
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


def list_rse_usage_history(issuer, rse, source=None):
    """Every recorded usage update of the RSE, oldest first (batches)."""
    row = get_rse_row(rse)
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
def get_rse_limits(issuer, rse):
    row = get_rse_row(rse)
    return dict(RSELimit.select(RSELimit.name, RSELimit.value).where(RSELimit.rse_id == row.id)
                .order_by(RSELimit.name).tuples())


@atomic
def set_rse_limit(issuer, rse, name, value):
    permissions.check(issuer, "set_rse_limits", rse=rse)
    name = check_type(name, str, "name")
    if not name:
        raise exceptions.InvalidObject("The limit name must not be empty")
    if isinstance(value, bool) or not isinstance(value, int):
        raise exceptions.InvalidObject("The limit value must be an integer")
    row = get_rse_row(rse)
    if not RSELimit.update(value=value, updated_at=utcnow()).where(
            RSELimit.rse_id == row.id, RSELimit.name == name).execute():
        RSELimit.create(rse_id=row.id, name=name, value=value)


@atomic
def delete_rse_limit(issuer, rse, name):
    permissions.check(issuer, "delete_rse_limits", rse=rse)
    check_type(name, str, "name")
    row = get_rse_row(rse)
    RSELimit.delete().where(RSELimit.rse_id == row.id, RSELimit.name == name).execute()
