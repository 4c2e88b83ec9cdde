"""Rule listings (streamed, §3.3 line shape: every rule column + the DID's ``bytes``), locks,
analysis and history."""
from collections.abc import Iterator

import peewee as pw

from rucio_tornado import exceptions
from rucio_tornado.core import lookup
from rucio_tornado.core.common import like, map_batches, parse_date, rfc1123, row_mapper, to_bool
from rucio_tornado.core.rules.locks import HISTORY_INSERT_FIELDS
from rucio_tornado.db import current
from rucio_tornado.models import DID, RSE, ReplicaLock, Rule, RuleHistory

RULE_FIELDS = [f for f in Rule._meta.sorted_fields]
RULE_NAMES = [f.name for f in RULE_FIELDS]


def _converters(fields):
    out = {}
    for field in fields:
        if isinstance(field, pw.DateTimeField):
            out[field.name] = rfc1123
        elif isinstance(field, pw.BooleanField):
            out[field.name] = bool
    return out


_rule_line = row_mapper(RULE_NAMES + ["bytes"], _converters(RULE_FIELDS))


def rule_dict(row: Rule) -> dict:
    """One rule as ``GET /rules/{id}`` returns it: the line of the listings (every column and
    the DID's ``bytes``, which the client's ``rule list --traverse`` prints)."""
    did = DID.select(DID.bytes).where(DID.scope == row.scope, DID.name == row.name).first()
    return _rule_line([getattr(row, name) for name in RULE_NAMES]
                      + [did.bytes if did is not None else None])


#: Rule state letter -> state (filters accept either).
RULE_STATE_CODES = {"R": "REPLICATING", "O": "OK", "S": "STUCK", "U": "SUSPENDED",
                    "W": "WAITING_APPROVAL", "I": "INJECT"}
#: Enumerated filters of ``GET /rules/``: letter -> value.
CODES = {
    "state": RULE_STATE_CODES,
    "did_type": {"F": "FILE", "D": "DATASET", "C": "CONTAINER"},
    "grouping": {"A": "ALL", "D": "DATASET", "N": "NONE"},
    "notification": {"Y": "YES", "N": "NO", "C": "CLOSE", "P": "PROGRESS"},
}
# Filter keys of ``GET /rules/`` by how they compare.
WILDCARD = ("scope", "name", "account", "rse_expression", "activity", "comments")
TEXT = ("id", "subscription_id", "source_replica_expression", "child_rule_id", "error",
        "weight")
INTEGER = ("copies", "priority", "locks_ok_cnt", "locks_replicating_cnt", "locks_stuck_cnt")
BOOLEAN = ("locked", "purge_replicas", "ignore_availability", "ignore_account_limit",
           "split_container")
DATE_FILTERS = {"created_before": (Rule.created_at, "<="), "created_after": (Rule.created_at, ">="),
         "updated_before": (Rule.updated_at, "<="), "updated_after": (Rule.updated_at, ">="),
         "expires_before": (Rule.expires_at, "<="), "expires_after": (Rule.expires_at, ">=")}


def enum_value(key: str, value) -> str:
    """The value of an enumerated rule column from its name or letter; 400 otherwise."""
    codes = CODES[key]
    text = str(value)
    if text.upper() in codes.values():
        return text.upper()
    if text in codes:
        return codes[text]
    raise exceptions.InvalidObject(f"Invalid {key} filter: {value!r}")


def filter_conditions(filters: dict | None) -> list:
    """Peewee conditions for the ``GET /rules/`` query filters; unknown key -> 400."""
    conditions = []
    for key, value in (filters or {}).items():
        if key in CODES:
            conditions.append(getattr(Rule, key) == enum_value(key, value))
        elif key in WILDCARD:
            field = getattr(Rule, key)
            text = str(value)
            conditions.append(like(field, text) if "*" in text else field == text)
        elif key in TEXT:
            conditions.append(getattr(Rule, key) == str(value))
        elif key in INTEGER:
            try:
                conditions.append(getattr(Rule, key) == int(value))
            except (TypeError, ValueError):
                raise exceptions.InvalidObject(f"Invalid {key} filter: {value!r}") from None
        elif key in BOOLEAN:
            conditions.append(getattr(Rule, key) == to_bool(value, key))
        elif key in DATE_FILTERS:
            field, op = DATE_FILTERS[key]
            when = parse_date(value, key)
            conditions.append(field <= when if op == "<=" else field >= when)
        else:
            raise exceptions.InvalidObject(f"Unknown rule filter {key!r}")
    return conditions


def stream_rules(*conditions) -> Iterator[list[dict]]:
    """A generator of batches of rule lines matching ``conditions``."""
    query = (Rule.select(*RULE_FIELDS, DID.bytes)
             .join(DID, pw.JOIN.LEFT_OUTER, on=((DID.scope == Rule.scope) & (DID.name == Rule.name))))
    for condition in conditions:
        query = query.where(condition)
    return map_batches(current().iter_query(query, key=(Rule.id,)), _rule_line)


def list_rules(issuer, filters: dict | None = None) -> Iterator[list[dict]]:
    """``GET /rules/``: batches of rule lines."""
    return stream_rules(*filter_conditions(filters))


def list_account_rules(issuer, account: str, filters: dict | None = None
                       ) -> Iterator[list[dict]]:
    """``GET /accounts/{account}/rules``; AccountNotFound first."""
    lookup.account(account)
    return stream_rules(Rule.account == account, *filter_conditions(filters))


def list_did_rules(issuer, scope: str, name: str) -> Iterator[list[dict]]:
    """``GET /dids/{scope}/{name}/rules``; DataIdentifierNotFound first."""
    lookup.did(scope, name, DID.scope)
    return stream_rules(Rule.scope == scope, Rule.name == name)


def list_associated_rules(issuer, scope: str, name: str) -> Iterator[list[dict]]:
    """Rules on the DID itself and rules holding locks on it (a file in their datasets)."""
    lookup.did(scope, name, DID.scope)
    locking = ReplicaLock.select(ReplicaLock.rule_id).where(ReplicaLock.scope == scope,
                                                            ReplicaLock.name == name)
    return stream_rules(((Rule.scope == scope) & (Rule.name == name)) | Rule.id.in_(locking))


# -- locks, analysis, history ------------------------------------------------------------------
#: Stuck transfers an analysis lists at most.
MAX_STUCK_TRANSFERS = 1000
_lock_line = row_mapper(["scope", "name", "rse_id", "rse", "state", "rule_id"])


def list_locks(issuer, rule_id: str) -> Iterator[list[dict]]:
    """``GET /rules/{id}/locks``: batches of replica locks."""
    rule = lookup.rule(rule_id)
    query = (ReplicaLock.select(ReplicaLock.scope, ReplicaLock.name, ReplicaLock.rse_id, RSE.rse,
                                ReplicaLock.state, ReplicaLock.rule_id)
             .join(RSE, pw.JOIN.LEFT_OUTER, on=(RSE.id == ReplicaLock.rse_id))
             .where(ReplicaLock.rule_id == rule.id))
    return map_batches(current().iter_query(
        query, key=(ReplicaLock.scope, ReplicaLock.name, ReplicaLock.rse_id)), _lock_line)


def examine_rule(issuer, rule_id: str) -> dict:
    """``GET /rules/{id}/analysis``: the rule's error and its stuck transfers."""
    rule = lookup.rule(rule_id)
    if rule.state != "STUCK":
        return {"rule_error": f"This replication rule is not stuck (state {rule.state}).",
                "transfers": []}
    stuck = (ReplicaLock.select(ReplicaLock.scope, ReplicaLock.name, RSE.rse)
             .join(RSE, pw.JOIN.LEFT_OUTER, on=(RSE.id == ReplicaLock.rse_id))
             .where(ReplicaLock.rule_id == rule.id, ReplicaLock.state == "STUCK")
             .order_by(ReplicaLock.scope, ReplicaLock.name).limit(MAX_STUCK_TRANSFERS).tuples())
    return {"rule_error": rule.error or "Replication rule is STUCK.",
            "transfers": [{"scope": s, "name": n, "rse": r, "attempts": None, "last_error": None,
                           "last_source": None, "sources": [], "last_time": None}
                          for s, n, r in stuck]}


HISTORY_LINE_FIELDS = [RuleHistory.id, *HISTORY_INSERT_FIELDS]
_history_line = row_mapper([f.name for f in HISTORY_LINE_FIELDS], _converters(HISTORY_LINE_FIELDS))


def _history(condition):
    query = RuleHistory.select(*HISTORY_LINE_FIELDS).where(condition)

    def line(row):
        out = _history_line(row)
        del out["id"]
        return out
    return map_batches(current().iter_query(query, key=(RuleHistory.id,)), line)


def rule_history(issuer, rule_id: str) -> Iterator[list[dict]]:
    """``GET /rules/{id}/history``: kept after the rule is gone; RuleNotFound if it never was."""
    if not RuleHistory.select().where(RuleHistory.rule_id == str(rule_id).lower()).exists():
        lookup.rule(rule_id)
    return _history(RuleHistory.rule_id == str(rule_id).lower())


def did_rule_history(issuer, scope: str, name: str) -> Iterator[list[dict]]:
    """``GET /rules/{scope}/{name}/history``."""
    return _history((RuleHistory.scope == scope) & (RuleHistory.name == name))
