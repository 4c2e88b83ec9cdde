"""Subscriptions: CRUD (API §4.11) and the evaluator that turns new datasets and containers
matching a subscription's filter into replication rules (periodic task ``subscriptions``)."""
import datetime
import logging
import re

import ujson
from peewee import fn

from rucio_tornado import exceptions
from rucio_tornado.core import accounts, events, permissions
from rucio_tornado.core.bulk import group_by_scope
from rucio_tornado.core.common import rfc1123, validate
from rucio_tornado.core.rules.listing import STATES, stream_rules
from rucio_tornado.core.rules.lifecycle import ACTIVITIES, NOTIFY, activity_of, create_rule
from rucio_tornado.db import atomic, database
from rucio_tornado.models import DID, DIDMeta, Rule, Subscription, utcnow

log = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[0-9a-fA-F]{32}$")
OPTION_KEYS = ("filter", "replication_rules", "comments", "lifetime", "retroactive", "dry_run",
               "priority", "state")
RULE_OPTION_KEYS = ("copies", "rse_expression", "grouping", "weight", "lifetime", "locked",
                    "source_replica_expression", "activity", "notify", "purge_replicas",
                    "ignore_availability", "comment", "comments", "ask_approval",
                    "asynchronous", "priority", "split_container", "meta", "account",
                    "delay_injection")
FIELDS = ("id", "name", "account", "filter", "replication_rules", "policyid", "state",
          "last_processed", "lifetime", "comments", "retroactive", "expired_at", "created_at",
          "updated_at")
DATES = ("last_processed", "lifetime", "expired_at", "created_at", "updated_at")


def is_id(text):
    return bool(ID_PATTERN.match(text or ""))


def to_dict(row):
    out = {key: getattr(row, key) for key in FIELDS}
    for key in DATES:
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
        if not isinstance(copies, int) or isinstance(copies, bool) or copies < 1:
            raise exceptions.InvalidObject(f"Invalid copies {copies!r} in replication rule")
        if not isinstance(rule.get("rse_expression"), str) or not rule["rse_expression"]:
            raise exceptions.InvalidObject("Each replication rule needs an rse_expression")
    return value


def _lifetime(days, now):
    if days is None or days is False:
        return None
    if not isinstance(days, (int, float)) or isinstance(days, bool) or days < 0:
        raise exceptions.InvalidObject(f"Invalid lifetime {days!r}")
    return now + datetime.timedelta(days=days)


def _options(options):
    if not isinstance(options, dict):
        raise exceptions.InvalidJSONType("options must be a json dictionary")
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise exceptions.InvalidObject(f"Unknown option(s): {', '.join(sorted(unknown))}")
    priority = options.get("priority")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise exceptions.InvalidObject(f"Invalid priority {priority!r}")
    return options


# -- CRUD --------------------------------------------------------------------------------------
@atomic
def add_subscription(issuer, account, name, options):
    """A new subscription; its id."""
    permissions.check(issuer, "add_subscription", account=account)
    options = _options(options)
    if not isinstance(name, str) or not name or len(name) > 64:
        raise exceptions.InvalidObject(f"Invalid subscription name {name!r}")
    validate("account", account)
    accounts.get_row(account, active_only=True)
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


def _get(account, name):
    row = Subscription.get_or_none(Subscription.account == account, Subscription.name == name)
    if row is None:
        raise exceptions.SubscriptionNotFound(
            f"Subscription for account '{account}' named '{name}' not found")
    return row


def _get_by_id(subscription_id):
    row = Subscription.get_or_none(Subscription.id == str(subscription_id).lower()) \
        if is_id(subscription_id) else None
    if row is None:
        raise exceptions.SubscriptionNotFound(f"Subscription with id {subscription_id} not found")
    return row


@atomic
def update_subscription(issuer, account, name, options):
    """Change the given (non-null) options; state becomes UPDATED, or INACTIVE with ``I``."""
    permissions.check(issuer, "update_subscription", account=account)
    options = _options(options)
    row = _get(account, name)
    now = utcnow()
    if options.get("filter") is not None:
        row.filter = ujson.dumps(_check_filter(options["filter"]))
    if options.get("replication_rules") is not None:
        row.replication_rules = ujson.dumps(_check_rules(options["replication_rules"]))
    if options.get("comments") is not None:
        row.comments = options["comments"]
    if options.get("lifetime") is not None:
        row.lifetime = _lifetime(options["lifetime"], now)
    if options.get("retroactive") is not None:
        row.retroactive = bool(options["retroactive"])
    if options.get("priority") is not None:
        row.policyid = options["priority"]
    state = options.get("state")
    if state in ("I", "INACTIVE"):
        row.state, row.expired_at = "INACTIVE", now
    elif state is not None and state not in ("A", "ACTIVE", "U", "UPDATED"):
        raise exceptions.InvalidObject(f"Invalid subscription state {state!r}")
    else:
        row.state = "UPDATED"
    row.updated_at = now
    row.save()


@atomic
def delete_subscription(issuer, subscription_id):
    """The seed's ``DELETE /subscriptions/{id}`` (its rules keep their ``subscription_id``)."""
    row = _get_by_id(subscription_id)
    permissions.check(issuer, "delete_subscription", account=row.account)
    Subscription.delete().where(Subscription.id == row.id).execute()


def get_subscription_by_id(issuer, subscription_id):
    return to_dict(_get_by_id(subscription_id))


def list_subscriptions(issuer, account=None, name=None):
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
    value = STATES.get(state, str(state).upper())
    if value not in STATES.values():
        raise exceptions.InvalidObject(f"Invalid rule state {state!r}")
    return [Rule.state == value]


def list_subscription_rules(issuer, account, name, state=None):
    row = _get(account, name)
    return stream_rules(Rule.subscription_id == row.id, *_rule_filter(state))


def list_subscription_rules_by_id(issuer, subscription_id, state=None):
    row = _get_by_id(subscription_id)
    return stream_rules(Rule.subscription_id == row.id, *_rule_filter(state))


def rule_states(issuer, account, name=None):
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


def _rule_spec(subscription, rule):
    return {
        "account": subscription.account, "copies": rule.get("copies", 1),
        "rse_expression": rule["rse_expression"],
        "grouping": str(rule.get("grouping") or "DATASET").upper(),
        "weight": rule.get("weight"), "lifetime": rule.get("lifetime"),
        "locked": bool(rule.get("locked")), "subscription_id": subscription.id,
        "source_replica_expression": rule.get("source_replica_expression"),
        "activity": activity_of(rule.get("activity")),
        "notification": NOTIFY.get(rule.get("notify") or "N", "NO"),
        "purge_replicas": bool(rule.get("purge_replicas")),
        "ignore_availability": bool(rule.get("ignore_availability")),
        "comments": rule.get("comment") or rule.get("comments"),
        "ask_approval": bool(rule.get("ask_approval")), "priority": rule.get("priority", 3),
        "split_container": bool(rule.get("split_container")), "meta": None,
    }


def apply_subscriptions(subscriptions, dids, now):
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
                        create_rule(_rule_spec(subscription, rule), did, now)
                    created += 1
                except exceptions.DuplicateRule:
                    continue
                except exceptions.RucioException as exc:
                    log.warning("subscription %s: no rule for %s:%s: %s", subscription.id,
                                did.scope, did.name, exc.message)
    return created


BATCH = 1000


def evaluate_subscriptions():
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
                         .order_by(DID.scope, DID.name).limit(BATCH))
            if not batch:
                break
            created += apply_subscriptions(parsed, batch, now)
            for scope, names in group_by_scope((d.scope, d.name) for d in batch).items():
                DID.update(is_new=False).where(DID.scope == scope, DID.name.in_(names)).execute()
    if live:
        with database.atomic():
            Subscription.update(last_processed=now).where(
                Subscription.id.in_([row.id for row in live])).execute()
    return created


def install():
    """The "subscriptions" periodic task."""
    events.add_task("subscriptions", evaluate_subscriptions)
