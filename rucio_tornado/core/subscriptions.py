"""Subscriptions: CRUD (API §4.11) and the evaluator that turns new datasets and containers
matching a subscription's filter into replication rules (periodic task ``subscriptions``)."""
import datetime
import logging
import re
from collections.abc import Iterator

import ujson
from peewee import fn

from rucio_tornado import exceptions
from rucio_tornado.core import events, lookup, permissions
from rucio_tornado.core.bulk import by_scope
from rucio_tornado.core.common import rfc1123, validate
from rucio_tornado.core.rules.lifecycle import create_rule
from rucio_tornado.core.rules.listing import RULE_STATE_CODES, stream_rules
from rucio_tornado.core.rules.spec import (ACTIVITIES, GROUPINGS, RuleSpec, checked_int,
                                           is_number)
from rucio_tornado.db import atomic, database
from rucio_tornado.models import DID, DIDMeta, Rule, Subscription, utcnow

log = logging.getLogger(__name__)

#: Keys of a subscription's options.
OPTION_KEYS = ("filter", "replication_rules", "comments", "lifetime", "retroactive", "dry_run",
               "priority", "state")
RULE_OPTION_KEYS = ("copies", "rse_expression", "grouping", "weight", "lifetime", "locked",
                    "source_replica_expression", "activity", "notify", "purge_replicas",
                    "ignore_availability", "comment", "comments", "ask_approval",
                    "asynchronous", "priority", "split_container", "meta", "account",
                    "delay_injection")
#: Columns of a subscription as the API returns it.
SUBSCRIPTION_FIELDS = ("id", "name", "account", "filter", "replication_rules", "policyid",
                       "state", "last_processed", "lifetime", "comments", "retroactive",
                       "expired_at", "created_at", "updated_at")
#: Subscription states (letters and names) an update may name; only INACTIVE acts.
SUBSCRIPTION_STATES = ("A", "ACTIVE", "I", "INACTIVE", "N", "NEW", "U", "UPDATED", "B", "BROKEN")
SUBSCRIPTION_DATES = ("last_processed", "lifetime", "expired_at", "created_at", "updated_at")


MAX_NAME_LENGTH = 64
#: New datasets and containers evaluated per transaction.
NEW_DID_BATCH = 1000


def to_dict(row: Subscription) -> dict:
    """One subscription as the API returns it."""
    out = {key: getattr(row, key) for key in SUBSCRIPTION_FIELDS}
    for key in SUBSCRIPTION_DATES:
        out[key] = rfc1123(out[key])
    out["retroactive"] = bool(out["retroactive"])
    return out


# -- validation --------------------------------------------------------------------------------
def _check_filter(value):
    if not isinstance(value, dict):
        raise exceptions.InvalidObject("The subscription filter must be a dictionary")
    pattern = value.get("pattern")
    for key in ("pattern", "excluded_pattern"):
        if value.get(key) is not None:
            try:
                re.compile(value[key])
            except (re.error, TypeError):
                raise exceptions.InvalidObject(f"Invalid regular expression in {key}") from None
    if pattern is not None and not isinstance(pattern, str):
        raise exceptions.InvalidObject("pattern must be a string")
    return value


def _check_rules(value):
    if not isinstance(value, list) or not value:
        raise exceptions.InvalidObject("You must specify a rule")
    for rule in value:
        if not isinstance(rule, dict):
            raise exceptions.InvalidObject("Each replication rule must be a dictionary")
        unknown = set(rule) - set(RULE_OPTION_KEYS)
        if unknown:
            raise exceptions.InvalidObject(f"Unknown rule key(s): {', '.join(sorted(unknown))}")
        if rule.get("activity", "default") not in ACTIVITIES:
            raise exceptions.InvalidObject(
                f"Invalid activity {rule.get('activity', 'default')!r} in replication rule")
        copies = rule.get("copies", 1)
        checked_int(copies, "copies",
                    exceptions.InvalidObject(f"Invalid copies {copies!r} in replication rule"),
                    minimum=1)
        if not isinstance(rule.get("rse_expression"), str) or not rule["rse_expression"]:
            raise exceptions.InvalidObject("Each replication rule needs an rse_expression")
        _check_template_types(rule)
    return value


#: Typed optional keys of a rule template -> accepted JSON types (null is always accepted):
#: a mistyped one is refused when stored rather than failing every evaluation.
TEMPLATE_TYPES = {"priority": (int,), "lifetime": (int, float), "weight": (str,),
                  "grouping": (str,), "notify": (str,), "source_replica_expression": (str,),
                  "comment": (str,), "comments": (str,), "account": (str,)}


def _check_template_types(rule):
    for key, kinds in TEMPLATE_TYPES.items():
        value = rule.get(key)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise exceptions.InvalidObject(f"Invalid {key} {value!r} in replication rule")
    grouping = rule.get("grouping")
    if grouping is not None and grouping.upper() not in GROUPINGS:
        raise exceptions.InvalidObject(f"Invalid grouping {grouping!r} in replication rule")


def _lifetime(days, now):
    if days is None or days is False:
        return None
    if not is_number(days) or days < 0:
        raise exceptions.InvalidObject(f"Invalid lifetime {days!r}")
    return now + datetime.timedelta(days=days)


def _options(options):
    """The known options (Rucio's handlers read these and ignore the rest, such as the
    ``name`` some callers repeat in them), type-checked."""
    if not isinstance(options, dict):
        raise exceptions.InvalidJSONType("options must be a json dictionary")
    options = {key: value for key, value in options.items() if key in OPTION_KEYS}
    priority = options.get("priority")
    if priority is not None:
        checked_int(priority, "priority", exceptions.InvalidObject(f"Invalid priority {priority!r}"))
    comments = options.get("comments")
    if comments is not None and not isinstance(comments, str):
        raise exceptions.InvalidObject(f"Invalid comments {comments!r}")
    return options


# -- CRUD --------------------------------------------------------------------------------------
@atomic
def add_subscription(issuer, account: str, name: str, options: dict) -> str:
    """A new subscription; its id."""
    permissions.check(issuer, "add_subscription", account=account)
    options = _options(options)
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise exceptions.InvalidObject(f"Invalid subscription name {name!r}")
    validate("account", account)
    lookup.account(account, active_only=True)
    filter_ = _check_filter(options.get("filter") or {})
    rules = _check_rules(options.get("replication_rules"))
    if Subscription.select().where(Subscription.account == account,
                                   Subscription.name == name).exists():
        raise exceptions.SubscriptionDuplicate(
            f"Subscription '{name}' owned by '{account}' already exists!")
    now = utcnow()
    row = Subscription.create(
        name=name, account=account, filter=ujson.dumps(filter_),
        replication_rules=ujson.dumps(rules), policyid=options.get("priority") or 3,
        state="ACTIVE", lifetime=_lifetime(options.get("lifetime"), now),
        comments=options.get("comments"),
        retroactive=bool(options.get("retroactive")), created_at=now, updated_at=now)
    return row.id


@atomic
def update_subscription(issuer, account: str, name: str, options: dict) -> None:
    """Change the given (non-null) options; state becomes UPDATED, or INACTIVE with ``I``."""
    permissions.check(issuer, "update_subscription", account=account)
    options = _options(options)
    row = lookup.subscription(account, name)
    now = utcnow()
    # As in Rucio, an empty or false option is no change ({} rules, "" comments, 0 priority).
    if options.get("filter"):
        row.filter = ujson.dumps(_check_filter(options["filter"]))
    if options.get("replication_rules"):
        row.replication_rules = ujson.dumps(_check_rules(options["replication_rules"]))
    if options.get("comments"):
        row.comments = options["comments"]
    if options.get("lifetime"):
        row.lifetime = _lifetime(options["lifetime"], now)
    if options.get("retroactive"):
        row.retroactive = bool(options["retroactive"])
    if options.get("priority"):
        row.policyid = options["priority"]
    state = options.get("state")
    if state in ("I", "INACTIVE"):
        row.state, row.expired_at = "INACTIVE", now
    elif state is not None and state not in SUBSCRIPTION_STATES:
        raise exceptions.InvalidObject(f"Invalid subscription state: {state}")
    else:
        row.state = "UPDATED"
    row.updated_at = now
    row.save()


@atomic
def delete_subscription(issuer, subscription_id: str) -> None:
    """The seed's ``DELETE /subscriptions/{id}`` (its rules keep their ``subscription_id``)."""
    row = lookup.subscription_by_id(subscription_id)
    permissions.check(issuer, "delete_subscription", account=row.account)
    Subscription.delete().where(Subscription.id == row.id).execute()


def get_subscription_by_id(issuer, subscription_id: str) -> dict:
    """``GET /subscriptions/id/{id}``."""
    return to_dict(lookup.subscription_by_id(subscription_id))


def list_subscriptions(issuer, account: str | None = None, name: str | None = None) -> list:
    """Matching subscriptions (a short list); SubscriptionNotFound when none match."""
    query = Subscription.select()
    if account is not None:
        query = query.where(Subscription.account == account)
    if name is not None:
        query = query.where(Subscription.name == name)
    rows = [to_dict(row) for row in query.order_by(Subscription.account, Subscription.name)]
    if not rows:
        raise exceptions.SubscriptionNotFound("No subscriptions found")
    return rows


def _rule_filter(state):
    if state is None:
        return []
    value = RULE_STATE_CODES.get(state, str(state).upper())
    if value not in RULE_STATE_CODES.values():
        raise exceptions.InvalidObject(f"Invalid rule state {state!r}")
    return [Rule.state == value]


def _subscription_rules(row, state):
    return stream_rules(Rule.subscription_id == row.id, *_rule_filter(state))


def list_subscription_rules(issuer, account: str, name: str, state: str | None = None
                            ) -> Iterator[list[dict]]:
    """Batches of the rules a subscription created (in ``state`` if given)."""
    return _subscription_rules(lookup.subscription(account, name), state)


def list_subscription_rules_by_id(issuer, subscription_id: str, state: str | None = None
                                  ) -> Iterator[list[dict]]:
    """:func:`list_subscription_rules` of the subscription with this id."""
    return _subscription_rules(lookup.subscription_by_id(subscription_id), state)


def rule_states(issuer, account: str, name: str | None = None) -> list:
    """``[account, name, state, count]`` per subscription of ``account`` and rule state."""
    query = (Subscription.select(Subscription.account, Subscription.name, Rule.state,
                                 fn.COUNT(Rule.id))
             .join(Rule, on=(Rule.subscription_id == Subscription.id))
             .where(Subscription.account == account))
    if name is not None:
        query = query.where(Subscription.name == name)
    query = query.group_by(Subscription.account, Subscription.name, Rule.state).order_by(
        Subscription.name, Rule.state)
    return [list(row) for row in query.tuples()]


# -- the evaluator -----------------------------------------------------------------------------
DID_COLUMNS = ("project", "datatype", "run_number", "stream_name", "prod_step", "version",
               "campaign", "provenance", "phys_group", "task_id", "panda_id", "events",
               "transient", "is_open", "monotonic", "bytes", "length")
SPECIAL = ("scope", "pattern", "excluded_pattern", "account", "did_type", "split_rule",
           "grouping", "group")


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _scope_matches(scopes, scope):
    for item in _as_list(scopes):
        text = str(item)
        if text == scope or ("*" in text and re.fullmatch(
                re.escape(text).replace(r"\*", ".*"), scope)):
            return True
        if any(c in text for c in "^$[(|+\\") and re.fullmatch(text, scope):
            return True
    return False


class Matcher:
    """Does one DID match a subscription filter? (metadata read once per DID)"""

    def __init__(self, filter_):
        self.filter = filter_
        self.pattern = re.compile(filter_["pattern"]) if filter_.get("pattern") else None
        self.excluded = (re.compile(filter_["excluded_pattern"])
                         if filter_.get("excluded_pattern") else None)

    def matches(self, did, meta):
        f = self.filter
        if "scope" in f and not _scope_matches(f["scope"], did.scope):
            return False
        if self.pattern is not None and not self.pattern.match(did.name):
            return False
        if self.excluded is not None and self.excluded.match(did.name):
            return False
        if "account" in f and did.account not in _as_list(f["account"]):
            return False
        if "did_type" in f and did.did_type not in [str(t).upper() for t in
                                                    _as_list(f["did_type"])]:
            return False
        for key, wanted in f.items():
            if key in SPECIAL:
                continue
            value = getattr(did, key) if key in DID_COLUMNS else meta.get(key)
            if value is None or str(value) not in [str(w) for w in _as_list(wanted)]:
                return False
        return True


def _meta(did):
    return {key: ujson.loads(value) if value is not None else None for key, value in
            DIDMeta.select(DIDMeta.key, DIDMeta.value).where(
                DIDMeta.scope == did.scope, DIDMeta.name == did.name).tuples()}


def apply_subscriptions(subscriptions, dids, now) -> int:
    """Create the rules of every matching (subscription, DID); how many were created."""
    created = 0
    for did in dids:
        meta = None
        for subscription, matcher, rules in subscriptions:
            if meta is None:
                meta = _meta(did)
            if not matcher.matches(did, meta):
                continue
            for rule in rules:
                try:
                    with database.atomic():             # a savepoint per rule
                        create_rule(RuleSpec.from_subscription(subscription, rule), did, now)
                    created += 1
                except exceptions.DuplicateRule:
                    continue
                except exceptions.RucioException as exc:
                    log.warning("subscription %s: no rule for %s:%s: %s", subscription.id,
                                did.scope, did.name, exc.message)
    return created


def evaluate_subscriptions() -> int:
    """One pass: new datasets/containers against ACTIVE/UPDATED subscriptions (retroactive
    ones also cover existing DIDs once); marks the DIDs as seen. Returns rules created.

    One transaction per batch of DIDs (and per retroactive subscription), a savepoint per rule:
    a rule that cannot be created (quota, RSEs) is logged and skipped."""
    now = utcnow()
    live = [row for row in Subscription.select().where(Subscription.state.in_(("ACTIVE",
                                                                                "UPDATED")))
            if row.lifetime is None or row.lifetime > now]
    parsed = [(row, Matcher(ujson.loads(row.filter)), ujson.loads(row.replication_rules))
              for row in live]
    created = 0
    for row, matcher, rules in parsed:
        if row.retroactive and row.last_processed is None:
            with database.atomic():
                old = DID.select().where(DID.did_type.in_(("DATASET", "CONTAINER")),
                                         DID.is_new == False,  # noqa: E712
                                         DID.deleted_at.is_null())
                created += apply_subscriptions([(row, matcher, rules)], old, now)
    while True:
        with database.atomic():
            batch = list(DID.select().where(DID.is_new == True,  # noqa: E712
                                            DID.did_type.in_(("DATASET", "CONTAINER")))
                         .order_by(DID.scope, DID.name).limit(NEW_DID_BATCH))
            if not batch:
                break
            created += apply_subscriptions(parsed, batch, now)
            for scope, names in by_scope((d.scope, d.name) for d in batch):
                DID.update(is_new=False).where(DID.scope == scope, DID.name.in_(names)).execute()
    if live:
        with database.atomic():
            Subscription.update(last_processed=now).where(
                Subscription.id.in_([row.id for row in live])).execute()
    return created


def install() -> None:
    """The "subscriptions" periodic task."""
    events.add_task("subscriptions", evaluate_subscriptions)
