"""Where a rule's copies go: candidate RSEs, quotas, and the RSE choice per group of files.

A *group* is the unit that shares its RSEs (grouping ``ALL``: every file of the rule;
``DATASET``: one dataset; ``NONE``: one file). Candidates are ranked by the bytes of the group
already available on them, then by the rule's ``weight`` attribute (or free space), then by
name (deterministic). An RSE is taken only if the rule's account has quota for the group's
bytes there (local limit, and every global limit whose expression covers it).
"""
import ujson
from peewee import fn

from rucio_tornado import exceptions
from rucio_tornado.core.rses import expression as rse_expression
from rucio_tornado.models import (AccountAttribute, AccountGlobalLimit, AccountLimit,
                                  AccountUsage, RSEUsage)

UNLIMITED = -1


def resolve(expression):
    return rse_expression.resolve(expression)


def candidate_rses(expression, copies, ignore_availability=False):
    """Matching RSEs for a rule: 409 InvalidRSEExpression / RSEWriteBlocked /
    InsufficientTargetRSEs."""
    try:
        rses = resolve(expression)
    except exceptions.InvalidRSEExpression as exc:
        raise exceptions.InvalidRuleExpression(exc.message) from exc
    if not ignore_availability:
        writable = [rse for rse in rses if rse.get("availability_write", True)]
        if rses and not writable:
            raise exceptions.RSEWriteBlocked(
                f"RSE expression {expression!r} matches only RSEs blocked for writing")
        rses = writable
    if len(rses) < copies:
        raise exceptions.InsufficientTargetRSEs(
            f"Not enough RSEs match {expression!r} for {copies} copies ({len(rses)} available)")
    return rses


def _attribute_true(value):
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _weights(rses, weight):
    """{rse_id: float} from the rule's ``weight`` attribute, else from free space."""
    if weight:
        out = {}
        for rse in rses:
            value = rse.get("attributes", {}).get(weight)
            try:
                out[rse["id"]] = float(value) if value is not None else 0.0
            except (TypeError, ValueError):
                raise exceptions.InvalidRuleWeight(
                    f"The weight {weight!r} of RSE {rse['rse']} is not a number") from None
        return out
    free = dict(RSEUsage.select(RSEUsage.rse_id, fn.MAX(RSEUsage.free))
                .where(RSEUsage.rse_id.in_([r["id"] for r in rses]), RSEUsage.free.is_null(False))
                .group_by(RSEUsage.rse_id).tuples())
    return {rse["id"]: float(free.get(rse["id"]) or 0) for rse in rses}


class Quota:
    """Room left for one account: local limits per RSE and global limits per expression.

    :meth:`take` checks and books the bytes of one group on one RSE, so several groups and
    copies of one rule are counted together.
    """

    def __init__(self, account, rses, exempt=False):
        self.account = account
        ids = [rse["id"] for rse in rses]
        self.exempt_rses = {rse["id"] for rse in rses
                            if _attribute_true(rse.get("attributes", {}).get("mock"))}
        self.exempt = exempt or is_admin_account(account)
        self.local = dict(AccountLimit.select(AccountLimit.rse_id, AccountLimit.bytes)
                          .where(AccountLimit.account == account, AccountLimit.rse_id.in_(ids))
                          .tuples())
        self.usage = dict(AccountUsage.select(AccountUsage.rse_id, AccountUsage.bytes)
                          .where(AccountUsage.account == account).tuples())
        self.globals = []                       # [limit bytes, set of rse ids, used bytes]
        if not self.exempt:
            for expression, limit in (AccountGlobalLimit
                                      .select(AccountGlobalLimit.rse_expression,
                                              AccountGlobalLimit.bytes)
                                      .where(AccountGlobalLimit.account == account).tuples()):
                try:
                    covered = {rse["id"] for rse in resolve(expression)}
                except exceptions.InvalidRSEExpression:
                    continue
                used = sum(self.usage.get(rse_id, 0) for rse_id in covered)
                self.globals.append([limit, covered, used])

    def fits(self, rse_id, nbytes):
        if self.exempt or rse_id in self.exempt_rses:
            return True
        limit = self.local.get(rse_id, 0)
        if limit != UNLIMITED:
            left = limit - self.usage.get(rse_id, 0)
            if left <= 0 or nbytes > left:
                return False
        for limit, covered, used in self.globals:
            if rse_id in covered and limit != UNLIMITED and (
                    limit - used <= 0 or nbytes > limit - used):
                return False
        return True

    def take(self, rse_id, nbytes):
        self.usage[rse_id] = self.usage.get(rse_id, 0) + nbytes
        for entry in self.globals:
            if rse_id in entry[1]:
                entry[2] += nbytes


def is_admin_account(account):
    row = AccountAttribute.get_or_none(account=account, key="admin")
    return row is not None and _attribute_true(ujson.loads(row.value))


class Placer:
    """Chooses ``copies`` RSEs per group among the rule's candidates."""

    def __init__(self, rses, copies, weight=None, quota=None):
        self.rses, self.copies, self.quota = rses, copies, quota
        self.weights = _weights(rses, weight)
        self.names = {rse["id"]: rse["rse"] for rse in rses}

    def choose(self, nbytes, present=None):
        """RSE ids for a group of ``nbytes`` whose available bytes per RSE are ``present``."""
        present = present or {}
        ranked = sorted(self.names, key=lambda rse_id: (
            -present.get(rse_id, 0), -self.weights[rse_id], self.names[rse_id]))
        chosen = []
        for rse_id in ranked:
            if self.quota is None or self.quota.fits(rse_id, nbytes):
                chosen.append(rse_id)
                if self.quota is not None:
                    self.quota.take(rse_id, nbytes)
                if len(chosen) == self.copies:
                    return chosen
        raise exceptions.InsufficientAccountLimit(
            f"There is insufficient quota on any of the target RSE's to fullfill the operation "
            f"({nbytes} bytes, {self.copies} copies)")
