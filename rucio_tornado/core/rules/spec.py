"""A rule's options as data: :class:`RuleSpec`.

Every way of making a rule (``POST /rules/``, reduce and move, a subscription's rule template)
builds one ``RuleSpec``, and :meth:`RuleSpec.new_rule` is the one mapping to a ``Rule`` row, so
the defaults and normalisations (activity, grouping, notification, meta) live here only.
"""
import dataclasses
import datetime

import ujson

from rucio_tornado import exceptions
from rucio_tornado.core.common import after, did_keys, integer, reject_unknown
from rucio_tornado.models import Rule, utcnow

ACTIVITIES = ("Data Brokering", "Data Consolidation", "Data Rebalancing", "Debug", "Express",
              "Functional Test", "Group Subscriptions", "Production Input", "Production Output",
              "Analysis Input", "Analysis Output", "Staging", "T0 Export", "T0 Tape",
              "Upload/Download (Job)", "Upload/Download (User)", "User Subscriptions",
              "Data Challenge")
DEFAULT_ACTIVITY = "User Subscriptions"
GROUPINGS = ("ALL", "DATASET", "NONE")
#: ``notify`` letter of a request -> ``notification`` value stored on the rule.
NOTIFY = {"Y": "YES", "N": "NO", "C": "CLOSE", "P": "PROGRESS"}
DEFAULT_PRIORITY = 3
PRIORITY_RANGE = (0, 5)
#: Keys a ``POST /rules/`` body may hold (the client's, some accepted and ignored).
RULE_KEYS = ("dids", "account", "copies", "rse_expression", "grouping", "weight", "lifetime",
             "locked", "subscription_id", "source_replica_expression", "activity", "notify",
             "purge_replicas", "ignore_availability", "comment", "ask_approval", "asynchronous",
             "delay_injection", "priority", "split_container", "meta")
MANDATORY_KEYS = ("dids", "account", "copies", "rse_expression")


def invalid(message: str) -> exceptions.InvalidRuleDefinition:
    """Schema violations of ``POST /rules/`` are 409 InvalidObject (API §2.3)."""
    return exceptions.InvalidRuleDefinition(message)


def checked_int(value, label: str, error: exceptions.RucioException, minimum: int | None = None,
                maximum: int | None = None) -> int:
    """:func:`common.integer`, answering with the caller's ``error`` (each site has its own
    class and status)."""
    try:
        return integer(value, label, minimum, maximum)
    except exceptions.InvalidObject:
        raise error from None


def is_number(value) -> bool:
    """An int or float that is not a boolean (lifetimes)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def activity_of(value) -> str:
    """The activity of a rule: the default for None, else one of :data:`ACTIVITIES`."""
    if value is None:
        return DEFAULT_ACTIVITY
    if value not in ACTIVITIES:
        raise invalid(f"Invalid activity {value!r}")
    return value


def meta_text(value) -> str | None:
    """The stored (JSON text) form of a rule's ``meta``."""
    return None if value is None else (value if isinstance(value, str) else ujson.dumps(value))


def _typed(body, key, kinds, default=None, label=None):
    """``body[key]`` of JSON type ``kinds`` (a bool is not an int), or ``default``."""
    value = body.get(key)
    if value is None:
        return default
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise invalid(f"Invalid value for {label or key}: {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class RuleSpec:
    """The checked, normalised options of one rule to create (everything but its DID)."""

    account: str
    copies: int
    rse_expression: str
    grouping: str = "DATASET"
    weight: str | None = None
    lifetime: float | None = None          # seconds
    locked: bool = False
    subscription_id: str | None = None
    source_replica_expression: str | None = None
    activity: str = DEFAULT_ACTIVITY
    notification: str = "NO"
    purge_replicas: bool = False
    ignore_availability: bool = False
    comments: str | None = None
    ask_approval: bool = False
    priority: int = DEFAULT_PRIORITY
    split_container: bool = False
    meta: str | None = None                 # JSON text
    delay_injection: int | None = None      # seconds: locks only then (state INJECT)

    @classmethod
    def from_body(cls, default_account: str, body: dict) -> tuple[list, "RuleSpec"]:
        """Check a ``POST /rules/`` body: its ``[(scope, name)]`` (in order, repeats kept: a
        repeated DID is a duplicate rule) and the spec of their rules."""
        for key in MANDATORY_KEYS:
            if key not in body:
                raise exceptions.MissingKey(f"'{key}' not defined")
        try:
            reject_unknown(body, RULE_KEYS, "rule")
            dids = body["dids"]
            if not isinstance(dids, list) or not dids:
                raise invalid("dids must be a non-empty list")
            did_keys(dids, "dids")
        except (exceptions.InvalidObject, exceptions.InvalidJSONType) as exc:
            raise invalid(exc.message) from None
        copies = checked_int(body["copies"], "copies",
                             invalid(f"Invalid number of copies {body['copies']!r}"), minimum=1)
        if not isinstance(body["rse_expression"], str) or not body["rse_expression"]:
            raise invalid("rse_expression must be a non-empty string")
        account = _typed(body, "account", str, default_account)
        grouping = _typed(body, "grouping", str, "DATASET").upper()
        if grouping not in GROUPINGS:
            raise invalid(f"Invalid grouping {grouping!r}")
        notify = _typed(body, "notify", str, "N")
        if notify not in NOTIFY:
            raise invalid(f"Invalid notify {notify!r}")
        lifetime = _typed(body, "lifetime", (int, float))
        if lifetime is not None:
            after(utcnow(), lifetime)       # a date, or InvalidObject before any work
        delay = _typed(body, "delay_injection", int)
        if delay is not None and delay < 0:
            raise invalid(f"Invalid value for delay_injection: {delay!r}")
        priority = body.get("priority")
        priority = DEFAULT_PRIORITY if priority is None else checked_int(
            priority, "priority", invalid(f"Invalid priority {priority!r}"), *PRIORITY_RANGE)
        spec = cls(
            account=account, copies=copies, rse_expression=body["rse_expression"],
            grouping=grouping, weight=_typed(body, "weight", str), lifetime=lifetime,
            locked=_typed(body, "locked", bool, False),
            subscription_id=_typed(body, "subscription_id", str),
            source_replica_expression=_typed(body, "source_replica_expression", str),
            activity=activity_of(body.get("activity")), notification=NOTIFY[notify],
            purge_replicas=_typed(body, "purge_replicas", bool, False),
            ignore_availability=_typed(body, "ignore_availability", bool, False),
            comments=_typed(body, "comment", str),
            ask_approval=_typed(body, "ask_approval", bool, False), priority=priority,
            split_container=_typed(body, "split_container", bool, False),
            meta=meta_text(body.get("meta")), delay_injection=delay or None)
        return [(did["scope"], did["name"]) for did in dids], spec

    @classmethod
    def from_rule(cls, rule: Rule, **changes) -> "RuleSpec":
        """The spec of a copy of ``rule`` (reduce, move) with ``changes``; no lifetime and no
        approval unless changed."""
        spec = cls(account=rule.account, copies=rule.copies, rse_expression=rule.rse_expression,
                   grouping=rule.grouping, weight=rule.weight, locked=rule.locked,
                   subscription_id=rule.subscription_id,
                   source_replica_expression=rule.source_replica_expression,
                   activity=rule.activity, notification=rule.notification,
                   purge_replicas=rule.purge_replicas,
                   ignore_availability=rule.ignore_availability, comments=rule.comments,
                   priority=rule.priority, split_container=rule.split_container, meta=rule.meta)
        return dataclasses.replace(spec, **changes)

    @classmethod
    def from_subscription(cls, subscription, template: dict) -> "RuleSpec":
        """The spec of a rule a subscription creates from one of its rule templates (checked
        when the subscription was stored)."""
        get = template.get
        return cls(
            account=subscription.account, copies=get("copies", 1),
            rse_expression=template["rse_expression"],
            grouping=str(get("grouping") or "DATASET").upper(), weight=get("weight"),
            lifetime=get("lifetime"), locked=bool(get("locked")),
            subscription_id=subscription.id,
            source_replica_expression=get("source_replica_expression"),
            activity=activity_of(get("activity")),
            notification=NOTIFY.get(get("notify") or "N", "NO"),
            purge_replicas=bool(get("purge_replicas")),
            ignore_availability=bool(get("ignore_availability")),
            comments=get("comment") or get("comments"), ask_approval=bool(get("ask_approval")),
            priority=get("priority", DEFAULT_PRIORITY),
            split_container=bool(get("split_container")))

    def new_rule(self, did, now: datetime.datetime) -> Rule:
        """The (unsaved) Rule row of this spec on ``did`` (a DID row)."""
        return Rule(
            subscription_id=self.subscription_id, account=self.account, scope=did.scope,
            name=did.name, did_type=did.did_type, rse_expression=self.rse_expression,
            copies=self.copies, weight=self.weight, locked=self.locked,
            source_replica_expression=self.source_replica_expression, activity=self.activity,
            grouping=self.grouping, notification=self.notification,
            purge_replicas=self.purge_replicas, ignore_availability=self.ignore_availability,
            ignore_account_limit=self.ask_approval, priority=self.priority,
            comments=self.comments, split_container=self.split_container, meta=self.meta,
            expires_at=(now + datetime.timedelta(seconds=self.lifetime)
                        if self.lifetime is not None else None),
            created_at=now, updated_at=now)
