"""Where a rule's copies go: candidate RSEs, quotas, and the RSE choice per group of files.

A *group* is the unit that shares its RSEs (grouping ``ALL``: every file of the rule;
``DATASET``: one dataset; ``NONE``: one file). Candidates are ranked by the bytes of the group
already available on them, then by the rule's ``weight`` attribute (or free space), then by
name (deterministic). An RSE is taken only if the rule's account has quota for the group's
bytes there (local limit, and every global limit whose expression covers it).
"""
import ujson
from peewee import SQL, fn

from rucio_tornado import exceptions
from rucio_tornado.core import lookup
from rucio_tornado.core.account_limits import UNLIMITED
from rucio_tornado.core.bulk import by_scope
from rucio_tornado.core.dids.graph import datasets_under
from rucio_tornado.core.rses import expression as rse_expression
from rucio_tornado.core.rules.locks import lock_account_usage
from rucio_tornado.models import (DID, AccountAttribute, AccountGlobalLimit, AccountLimit,
                                  AccountUsage, Content, Replica, RSEUsage)


def resolve(expression: str) -> list[dict]:
    """The RSEs (dicts) an expression selects; InvalidRSEExpression."""
    return rse_expression.resolve(expression)


def resolve_or_none(expression: str) -> list[dict] | None:
    """:func:`resolve`, or None when the expression no longer resolves (reactions skip it)."""
    try:
        return resolve(expression)
    except exceptions.InvalidRSEExpression:
        return None


def rule_did(scope: str, name: str, *fields) -> DID:
    """The live DID a rule is (to be) on: a deleted DID is not found either (404)."""
    row = lookup.did(scope, name, *(fields + (DID.deleted_at,) if fields else ()))
    if row.deleted_at is not None:
        raise exceptions.DataIdentifierNotFound(f"Data identifier '{scope}:{name}' not found")
    return row


def candidate_rses(expression: str, copies: int, ignore_availability: bool = False
                   ) -> list[dict]:
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
    copies of one rule are counted together. Unless the account is exempt, the usage is read
    under :func:`.locks.lock_account_usage` (held until the transaction that books the rule's
    usage ends), so a concurrent rule of the account sees what this one books.
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
        covering = [] if self.exempt else self._global_limits(account, set(ids))
        if not self.exempt:
            lock_account_usage(account)         # the usage below is read under the lock
        self.usage = dict(AccountUsage.select(AccountUsage.rse_id, AccountUsage.bytes)
                          .where(AccountUsage.account == account).tuples())
        self.globals = [[limit, covered, sum(self.usage.get(rse_id, 0) for rse_id in covered)]
                        for limit, covered in covering]    # [limit, rse ids, used bytes]

    @staticmethod
    def _global_limits(account, ids):
        """``[(limit bytes, covered rse ids)]`` of the account's global limits that cover one
        of ``ids`` (all expressions resolved in one RSE snapshot)."""
        rows = list(AccountGlobalLimit.select(AccountGlobalLimit.rse_expression,
                                              AccountGlobalLimit.bytes)
                    .where(AccountGlobalLimit.account == account).tuples())
        snapshot = rse_expression.load_snapshot() if rows else {}
        covering = []
        for expression, limit in rows:
            try:
                covered = {rse["id"] for rse in rse_expression.resolve(expression, snapshot)}
            except exceptions.InvalidRSEExpression:
                continue
            if covered & ids:
                covering.append((limit, covered))
        return covering

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


def is_admin_account(account: str) -> bool:
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


# -- what is already where, and the plan of a rule ---------------------------------------------
def _files_join():
    return (DID.scope == Content.child_scope) & (DID.name == Content.child_name)


def dataset_size(scope: str, name: str) -> tuple[int, int]:
    """``(files, bytes)`` of a dataset."""
    length, nbytes = (Content.select(fn.COUNT(SQL("*")), fn.SUM(DID.bytes))
                      .join(DID, on=_files_join())
                      .where(Content.scope == scope, Content.name == name,
                             Content.child_type == "FILE").tuples().get())
    return length or 0, nbytes or 0


def dataset_presence(scope: str, name: str, rse_ids: list[str]) -> dict:
    """``{rse_id: available bytes}`` of the dataset's files on ``rse_ids``."""
    query = (Replica.select(Replica.rse_id, fn.SUM(Replica.bytes))
             .join(Content, on=((Content.child_scope == Replica.scope)
                                & (Content.child_name == Replica.name)))
             .where(Content.scope == scope, Content.name == name, Content.child_type == "FILE",
                    Replica.state == "AVAILABLE", Replica.rse_id.in_(rse_ids))
             .group_by(Replica.rse_id))
    return {rse_id: nbytes or 0 for rse_id, nbytes in query.tuples()}


def file_presence(files, rse_ids: list[str]) -> dict:
    """``{(scope, name): {rse_id: bytes}}`` of AVAILABLE replicas of ``files`` on ``rse_ids``."""
    out = {}
    for scope, names in by_scope(files):
        for s, n, rse_id, nbytes in (Replica.select(Replica.scope, Replica.name,
                                                    Replica.rse_id, Replica.bytes)
                                     .where(Replica.scope == scope, Replica.name.in_(names),
                                            Replica.rse_id.in_(rse_ids),
                                            Replica.state == "AVAILABLE").tuples()):
            out.setdefault((s, n), {})[rse_id] = nbytes
    return out


def files_of_dataset(scope: str, name: str) -> list[tuple]:
    """``[(scope, name, bytes)]`` of a dataset's files."""
    return list(Content.select(Content.child_scope, Content.child_name, DID.bytes)
                .join(DID, on=_files_join())
                .where(Content.scope == scope, Content.name == name,
                       Content.child_type == "FILE").tuples())


def place_files(placer: "Placer", files: list[tuple], rse_ids: list[str]) -> tuple:
    """Per-file placement: ``("files", rows, rse_ids)`` with rows ``(scope, name, bytes,
    rse_id)``."""
    present = file_presence(files, rse_ids)
    rows = []
    for scope, name, nbytes in files:
        for rse_id in placer.choose(nbytes or 0, present.get((scope, name))):
            rows.append((scope, name, nbytes, rse_id))
    return ("files", rows, sorted({row[3] for row in rows}))


def plan_placement(rule, rses: list[dict], quota: "Quota | None" = None) -> list[tuple]:
    """Steps: ``("files", rows, rse_ids)`` or ``("datasets", [(s, n, length, bytes)], rse_ids)``:
    computed before anything is written, so a rule that cannot be placed writes nothing."""
    placer = Placer(rses, rule.copies, rule.weight, quota)
    rse_ids = [rse["id"] for rse in rses]
    if rule.did_type == "FILE":
        nbytes = rule_did(rule.scope, rule.name, DID.bytes).bytes
        return [place_files(placer, [(rule.scope, rule.name, nbytes)], rse_ids)]
    datasets = datasets_under(rule.scope, rule.name, rule.did_type)
    if rule.grouping == "NONE":
        return [place_files(placer, files_of_dataset(s, n), rse_ids) for s, n in datasets]
    sized = [(s, n) + dataset_size(s, n) for s, n in datasets]
    if rule.grouping == "ALL":
        present, total = {}, 0
        for s, n, _, nbytes in sized:
            total += nbytes
            for rse_id, available in dataset_presence(s, n, rse_ids).items():
                present[rse_id] = present.get(rse_id, 0) + available
        return [("datasets", sized, placer.choose(total, present))]
    return [("datasets", [entry], placer.choose(entry[3], dataset_presence(*entry[:2], rse_ids)))
            for entry in sized]
