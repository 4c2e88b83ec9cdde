"""Account limits (local per RSE, global per RSE expression) and account usage.

Limits are bytes; ``-1`` is stored for "unlimited" and rendered as ``Infinity`` (float inf),
which the client's JSON parser and CLI understand. Usage is read from the ``AccountUsage``
counters that rules maintain with their locks; an account without counters uses 0 bytes.
"""
import math

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.common import integer, iso
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.rses import expression as rse_expression
from rucio_tornado.db import atomic
from rucio_tornado.models import (RSE, Account, AccountGlobalLimit, AccountLimit, AccountUsage,
                                  AccountUsageHistory, utcnow)

#: The stored byte limit meaning "no limit" (rule placement reads it too).
UNLIMITED = -1


def render(value: int | None) -> int | float | None:
    """Stored limit -> wire value: -1 becomes float inf (JSON ``Infinity``)."""
    if value is None:
        return None
    return math.inf if value == UNLIMITED else value


def _bytes(value):
    """A limit from a request: an integer >= -1 (integral floats such as 1e10 accepted)."""
    if isinstance(value, float) and (math.isinf(value) and value > 0):
        return UNLIMITED
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return integer(value, "bytes (-1 for unlimited)", minimum=UNLIMITED)


def _live_rse_names():
    return RSE.select(RSE.id, RSE.rse).where(RSE.deleted == False)  # noqa: E712


# -- local limits ------------------------------------------------------------------------------
def get_local_limits(issuer: Issuer, account: str) -> dict:
    """``{rse: bytes}`` of the account's local limits on non-deleted RSEs."""
    lookup.account(account)
    rows = (AccountLimit.select(RSE.rse, AccountLimit.bytes)
            .join(RSE, on=(RSE.id == AccountLimit.rse_id))
            .where(AccountLimit.account == account, RSE.deleted == False)  # noqa: E712
            .order_by(RSE.rse).tuples())
    return {rse: render(value) for rse, value in rows}


def get_local_limit(issuer: Issuer, account: str, rse: str) -> dict:
    """``{rse: bytes or None}``."""
    lookup.account(account)
    row = lookup.rse(rse)
    limit = AccountLimit.get_or_none(account=account, rse_id=row.id)
    return {rse: render(limit.bytes) if limit else None}


@atomic
def set_local_limit(issuer: Issuer, account: str, rse: str, value) -> None:
    """Set (upsert) the account's limit on the RSE; ``value`` in bytes, -1 or inf: unlimited."""
    permissions.check(issuer, "set_account_limit", account=account, rse=rse)
    value = _bytes(value)
    lookup.account(account, active_only=True)
    row = lookup.rse(rse)
    if not AccountLimit.update(bytes=value, updated_at=utcnow()).where(
            AccountLimit.account == account, AccountLimit.rse_id == row.id).execute():
        AccountLimit.create(account=account, rse_id=row.id, bytes=value)


@atomic
def delete_local_limit(issuer: Issuer, account: str, rse: str) -> None:
    permissions.check(issuer, "delete_account_limit", account=account, rse=rse)
    lookup.account(account)
    row = lookup.rse(rse)
    AccountLimit.delete().where(AccountLimit.account == account,
                                AccountLimit.rse_id == row.id).execute()


# -- global limits -----------------------------------------------------------------------------
def _resolved(expression, snapshot):
    """The RSEs of ``expression`` in ``snapshot``; an expression matching nothing gives []."""
    try:
        return rse_expression.resolve(expression, snapshot)
    except exceptions.InvalidRSEExpression:
        return []


def get_global_limits(issuer: Issuer, account: str) -> dict:
    """``{expr: {"resolved_rses", "resolved_rse_ids", "limit"}}`` (one RSE snapshot)."""
    lookup.account(account)
    rows = list(AccountGlobalLimit.select().where(AccountGlobalLimit.account == account)
                .order_by(AccountGlobalLimit.rse_expression))
    snapshot = rse_expression.load_snapshot() if rows else {}
    out = {}
    for row in rows:
        rses = _resolved(row.rse_expression, snapshot)
        out[row.rse_expression] = {"resolved_rses": [r["rse"] for r in rses],
                                   "resolved_rse_ids": [r["id"] for r in rses],
                                   "limit": render(row.bytes)}
    return out


def get_global_limit(issuer: Issuer, account: str, expression: str) -> dict:
    """``{expr: bytes or None}``."""
    lookup.account(account)
    row = AccountGlobalLimit.get_or_none(account=account, rse_expression=expression)
    return {expression: render(row.bytes) if row else None}


@atomic
def set_global_limit(issuer: Issuer, account: str, expression: str, value) -> None:
    """Set (upsert) the account's limit over an RSE expression (checked, not resolved)."""
    permissions.check(issuer, "set_account_limit", account=account, rse_expression=expression)
    value = _bytes(value)
    rse_expression.parse(expression)
    lookup.account(account, active_only=True)
    if not AccountGlobalLimit.update(bytes=value, updated_at=utcnow()).where(
            AccountGlobalLimit.account == account,
            AccountGlobalLimit.rse_expression == expression).execute():
        AccountGlobalLimit.create(account=account, rse_expression=expression, bytes=value)


@atomic
def delete_global_limit(issuer: Issuer, account: str, expression: str) -> None:
    permissions.check(issuer, "delete_account_limit", account=account,
                      rse_expression=expression)
    lookup.account(account)
    AccountGlobalLimit.delete().where(AccountGlobalLimit.account == account,
                                      AccountGlobalLimit.rse_expression == expression).execute()


# -- usage -------------------------------------------------------------------------------------
def _limit_and_remaining(limit, used):
    """The ``bytes_limit`` (0 when none is set) and ``bytes_remaining`` of a usage line."""
    if limit is None:
        return {"bytes_limit": 0, "bytes_remaining": -used}
    return {"bytes_limit": render(limit),
            "bytes_remaining": math.inf if limit == UNLIMITED else limit - used}


def get_local_usage(issuer: Issuer, account: str, rse: str | None = None) -> list[dict]:
    """One line per RSE where the account has a limit or usage (or just ``rse``)."""
    permissions.check(issuer, "get_account_usage", account=account)
    lookup.account(account)
    rses = dict(_live_rse_names().tuples()) if rse is None else {lookup.rse(rse).id: rse}
    limits = AccountLimit.select(AccountLimit.rse_id, AccountLimit.bytes).where(
        AccountLimit.account == account)
    usage = AccountUsage.select(AccountUsage.rse_id, AccountUsage.bytes, AccountUsage.files) \
        .where(AccountUsage.account == account)
    if rse is not None:
        limits = limits.where(AccountLimit.rse_id.in_(list(rses)))
        usage = usage.where(AccountUsage.rse_id.in_(list(rses)))
    limits = dict(limits.tuples())
    usage = {rse_id: (used, files) for rse_id, used, files in usage.tuples()}
    ids = set(rses) if rse is not None else (set(limits) | set(usage)) & set(rses)
    lines = []
    for rse_id in sorted(ids, key=rses.get):
        used, files = usage.get(rse_id, (0, 0))
        limit = limits.get(rse_id)
        lines.append({"rse_id": rse_id, "rse": rses[rse_id], "bytes": used, "files": files,
                      **_limit_and_remaining(limit, used)})
    return lines


def get_rse_account_usage(issuer: Issuer, rse: str) -> list[dict]:
    """``GET /rses/{rse}/accounts/usage``: one line per account, as the real server: its usage
    on the RSE (0 without counters) and its local limit there (None without one)."""
    row = lookup.rse(rse)
    limits = dict(AccountLimit.select(AccountLimit.account, AccountLimit.bytes)
                  .where(AccountLimit.rse_id == row.id).tuples())
    usage = {account: (used, files) for account, used, files in
             AccountUsage.select(AccountUsage.account, AccountUsage.bytes, AccountUsage.files)
             .where(AccountUsage.rse_id == row.id).tuples()}
    lines = []
    for (account,) in Account.select(Account.account).order_by(Account.account).tuples():
        used, files = usage.get(account, (0, 0))
        lines.append({"rse_id": row.id, "rse": row.rse, "account": account,
                      "used_files": files, "used_bytes": used,
                      "quota_bytes": render(limits.get(account))})
    return lines


def get_global_usage(issuer: Issuer, account: str,
                     expression: str | None = None) -> list[dict]:
    """One line per global limit of the account (or for ``expression``), summed over its RSEs."""
    permissions.check(issuer, "get_account_usage", account=account)
    lookup.account(account)
    if expression is not None:
        rse_expression.parse(expression)
    query = AccountGlobalLimit.select(AccountGlobalLimit.rse_expression,
                                      AccountGlobalLimit.bytes).where(
        AccountGlobalLimit.account == account).order_by(AccountGlobalLimit.rse_expression)
    if expression is not None:
        query = query.where(AccountGlobalLimit.rse_expression == expression)
    limits = dict(query.tuples())
    if expression is not None and expression not in limits:
        limits[expression] = None
    if not limits:
        return []
    snapshot = rse_expression.load_snapshot()
    usage = {rse_id: (used, files) for rse_id, used, files in
             AccountUsage.select(AccountUsage.rse_id, AccountUsage.bytes, AccountUsage.files)
             .where(AccountUsage.account == account).tuples()}
    lines = []
    for expr, limit in limits.items():
        ids = [r["id"] for r in _resolved(expr, snapshot)]
        used = sum(usage.get(i, (0, 0))[0] for i in ids)
        files = sum(usage.get(i, (0, 0))[1] for i in ids)
        lines.append({"rse_expression": expr, "bytes": used, "files": files,
                      **_limit_and_remaining(limit, used)})
    return lines


def get_usage_history(issuer: Issuer, account: str, rse: str) -> list[dict]:
    """``[{"bytes", "files", "updated_at" (ISO)}]`` of the account on the RSE, oldest first."""
    permissions.check(issuer, "get_account_usage", account=account)
    lookup.account(account)
    row = lookup.rse(rse)
    rows = (AccountUsageHistory.select(AccountUsageHistory.bytes, AccountUsageHistory.files,
                                       AccountUsageHistory.updated_at)
            .where(AccountUsageHistory.account == account,
                   AccountUsageHistory.rse_id == row.id)
            .order_by(AccountUsageHistory.updated_at, AccountUsageHistory.id).tuples())
    history = [{"bytes": b, "files": f, "updated_at": iso(u)} for b, f, u in rows]
    if not history:
        raise exceptions.CounterNotFound(f"No usage history for account '{account}' on '{rse}'")
    return history

