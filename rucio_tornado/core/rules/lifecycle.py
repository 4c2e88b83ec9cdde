"""Replication rules: creation (placement, quotas, locks), update, delete, reduce, move, approval.

One rule creation is one transaction whatever the size of the DID: locks are written with
``INSERT ... SELECT`` per dataset and RSE (see :mod:`.locks`); where they go is
:mod:`.placement`; the options of a rule are a :class:`.spec.RuleSpec`.
"""
import datetime

from peewee import SQL, IntegrityError, fn

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.bulk import IN_CHUNK, chunks
from rucio_tornado.core.common import parse_date
from rucio_tornado.core.rules.listing import rule_dict
from rucio_tornado.core.rules.locks import (add_dataset_locks, apply_usage, history_row,
                                            insert_dataset_locks, insert_file_locks,
                                            refresh_rules, release_locks, settle_new_locks,
                                            write_history)
from rucio_tornado.core.rules.placement import Quota, candidate_rses, plan_placement, rule_did
from rucio_tornado.core.rules.spec import (DEFAULT_ACTIVITY, NOTIFY, RuleSpec, activity_of,
                                           checked_int, is_number, meta_text)
from rucio_tornado.db import atomic
from rucio_tornado.models import DatasetLock, ReplicaLock, Rule, TransferRequest, utcnow

#: Rules removed per transaction-free pass of the expiry task.
EXPIRY_BATCH = 1000


# -- creation ----------------------------------------------------------------------------------
@atomic
def add_rules(issuer, body: dict) -> list[str]:
    """``POST /rules/`` (and rules given with new DIDs): one rule per DID of the checked
    ``body``; the new rule ids."""
    dids, spec = RuleSpec.from_body(issuer.account, body)
    return create_rules(issuer, dids, spec)


def create_rules(issuer, dids: list[tuple[str, str]], spec: RuleSpec) -> list[str]:
    """One rule of ``spec`` per ``(scope, name)``, after the permission and account checks."""
    permissions.check(issuer, "add_rule", account=spec.account, locked=spec.locked)
    lookup.account(spec.account, active_only=True)
    now = utcnow()
    return [create_rule(spec, rule_did(scope, name), now) for scope, name in dids]


def create_rule(spec: RuleSpec, did, now: datetime.datetime) -> str:
    """Create one rule on ``did`` (a DID row) from a checked ``spec``; its id."""
    duplicate = Rule.select(Rule.id).where(
        Rule.scope == did.scope, Rule.name == did.name, Rule.account == spec.account,
        Rule.rse_expression == spec.rse_expression, Rule.copies == spec.copies).exists()
    if duplicate:
        raise _duplicate()
    rses = candidate_rses(spec.rse_expression, spec.copies, spec.ignore_availability)
    rule = spec.new_rule(did, now)
    if spec.ask_approval or spec.delay_injection:
        # Waiting for approval, or for its injection (created_at = when: the "rules" task).
        rule.state = "WAITING_APPROVAL" if spec.ask_approval else "INJECT"
        if not spec.ask_approval:
            check_staging(rses, spec.lifetime)
            rule.created_at = now + datetime.timedelta(seconds=spec.delay_injection)
        insert_rule(rule)
        write_history([history_row(rule, now)])
        return rule.id
    plan = plan_placement(rule, rses, Quota(rule.account, rses))
    check_targets(rule, rses, plan, spec.lifetime)
    insert_rule(rule)
    apply_plan(rule, plan, now)           # counts the locks: writes the first history row
    return rule.id


def _duplicate():
    return exceptions.DuplicateRule(
        "A duplicate rule for this account, did, rse_expression, copies already exists")


def insert_rule(rule: Rule) -> None:
    """Store a new rule; DuplicateRule when the unique index already holds its DID, account,
    RSE expression and copies. A concurrent identical rule waits for the first one's
    transaction; its insert then does nothing (``ON CONFLICT DO NOTHING``: the transaction
    stays usable for callers that skip duplicates)."""
    if not Rule.insert(rule.__data__).on_conflict_ignore().as_rowcount().execute():
        raise _duplicate()


def check_staging(rses: list[dict], lifetime) -> None:
    """Rules on a staging area need a lifetime."""
    for rse in rses:
        if rse.get("staging_area") and lifetime is None:
            raise exceptions.StagingAreaRuleRequiresLifetime(
                f"Rules on the staging area {rse['rse']} require a lifetime")


def inject_rule(rule: Rule, now: datetime.datetime) -> None:
    """Place a delayed rule (state INJECT) whose time has come: its locks, as at creation."""
    rses = candidate_rses(rule.rse_expression, rule.copies, rule.ignore_availability)
    plan = plan_placement(rule, rses, Quota(rule.account, rses, exempt=rule.ignore_account_limit))
    check_targets(rule, rses, plan, None if rule.expires_at is None else 0)
    Rule.update(locked=rule.locked).where(Rule.id == rule.id).execute()
    apply_plan(rule, plan, now)


def check_targets(rule: Rule, rses: list[dict], plan: list[tuple], lifetime) -> None:
    """Staging areas need a lifetime; a TAPE target without lifetime locks the rule."""
    by_id = {rse["id"]: rse for rse in rses}
    chosen = [by_id[rse_id] for rse_id in {rse_id for step in plan for rse_id in step[-1]}]
    check_staging(chosen, lifetime)
    if lifetime is None and any(rse.get("rse_type") == "TAPE" for rse in chosen):
        rule.locked = True


def apply_plan(rule: Rule, plan: list[tuple], now: datetime.datetime) -> None:
    """Write the locks of a plan, settle them, and count them on the rule."""
    for kind, items, rse_ids in plan:
        if kind == "files":
            insert_file_locks(rule, items, now)
            continue
        for scope, name, _, _ in items:
            for rse_id in rse_ids:
                insert_dataset_locks(rule, scope, name, rse_id, now)
        add_dataset_locks(rule, items, rse_ids, now)
    settle_new_locks(rule, now)
    rule.state = "REPLICATING" if rule.state in ("WAITING_APPROVAL", "INJECT") else rule.state
    Rule.update(state=rule.state).where(Rule.id == rule.id).execute()
    release_parents(refresh_rules([rule.id], now), now)


# -- reading one rule --------------------------------------------------------------------------
def get_rule(issuer, rule_id: str) -> dict:
    """``GET /rules/{id}``: every column, and the DID's ``bytes`` as in the listings."""
    return rule_dict(lookup.rule(rule_id))


# -- update ------------------------------------------------------------------------------------
@atomic
def update_rule(issuer, rule_id: str, options: dict) -> None:
    """``PUT /rules/{id}`` ``{"options": {...}}``; unknown option -> 409 InputValidationError."""
    if not isinstance(options, dict):
        raise exceptions.InvalidRuleOption("options must be a dictionary")
    unknown = sorted(set(options) - set(UPDATE_OPTIONS))
    if unknown:
        raise exceptions.InvalidRuleOption(
            f"{', '.join(unknown)} is not a valid option to set.")
    rule = lookup.rule(rule_id)
    permissions.check(issuer, "approve_rule" if "approve" in options else "update_rule",
                      account=rule.account, options=options)
    now = utcnow()
    if "approve" in options:
        return _approve(issuer, rule, options, now)
    changes = {}
    for key, value in options.items():
        changes.update(OPTION_SETTERS[key](rule, key, value, now))
    if changes:
        changes["updated_at"] = now
        try:
            Rule.update(**changes).where(Rule.id == rule.id).execute()
        except IntegrityError:      # the new account has this rule already (unique index)
            raise _duplicate() from None
        write_history([history_row(Rule.get_by_id(rule.id), now)])


def _bad(key, value):
    return exceptions.InvalidRuleOption(f"Invalid value for {key}: {value!r}")


# Each setter checks one update option and returns the column changes (some act at once).
def _text_setter(column):
    def set_text(rule, key, value, now):
        if value is not None and not isinstance(value, str):
            raise _bad(key, value)
        return {column: value}
    return set_text


def _flag_setter(column=None, act=None):
    """A boolean option stored in ``column`` (if any); ``act(rule, now)`` runs when True."""
    def set_flag(rule, key, value, now):
        if not isinstance(value, bool):
            raise _bad(key, value)
        acted = act(rule, now) if value and act is not None else None
        if acted is not None:
            return acted
        return {column: value} if column else {}
    return set_flag


def _boost(rule, now):
    return _set_state(rule, "REPLICATING", now) if rule.state == "STUCK" else None


def _cancel_requests(rule, now):
    TransferRequest.update(state="FAILED", updated_at=now).where(
        TransferRequest.rule_id == rule.id, TransferRequest.state == "QUEUED").execute()


def _set_lifetime(rule, key, value, now):
    if value is None:
        return {"expires_at": None}
    if not is_number(value):
        raise _bad(key, value)
    return {"expires_at": now + datetime.timedelta(seconds=value)}


def _set_eol(rule, key, value, now):
    return {"eol_at": None if value is None else parse_date(value, "eol_at")}


def _set_activity(rule, key, value, now):
    try:
        return {"activity": activity_of(value)}
    except exceptions.InvalidObject:
        raise _bad(key, value) from None


def _set_priority(rule, key, value, now):
    return {"priority": checked_int(value, key, _bad(key, value))}


def _set_child_rule(rule, key, value, now):
    changes = _text_setter("child_rule_id")(rule, key, value, now)
    if value is not None:
        lookup.rule(value)
    return changes


def _set_meta(rule, key, value, now):
    return {"meta": meta_text(value)}


RULE_STATES_BY_CODE = {"S": "STUCK", "U": "SUSPENDED", "R": "REPLICATING"}


def _set_state(rule, value, now):
    state = RULE_STATES_BY_CODE.get(value, value) if isinstance(value, str) else None
    if state not in RULE_STATES_BY_CODE.values():
        raise _bad("state", value)
    if state == "SUSPENDED":
        return {"state": "SUSPENDED"}
    # STUCK: the replicating locks are stuck; REPLICATING: the stuck ones are retried.
    old, new = ("REPLICATING", "STUCK") if state == "STUCK" else ("STUCK", "REPLICATING")
    ReplicaLock.update(state=new).where(ReplicaLock.rule_id == rule.id,
                                        ReplicaLock.state == old).execute()
    Rule.update(state="REPLICATING").where(Rule.id == rule.id).execute()
    refresh_rules([rule.id], now)
    return {"stuck_at": now} if state == "STUCK" else {}


def _set_account(rule, key, value, now):
    """Hand the rule (its locks and their usage) to another account."""
    if not isinstance(value, str):
        raise _bad(key, value)
    lookup.account(value, active_only=True)
    usage = {rse_id: (files, nbytes or 0) for rse_id, files, nbytes in (
        ReplicaLock.select(ReplicaLock.rse_id, fn.COUNT(SQL("*")), fn.SUM(ReplicaLock.bytes))
        .where(ReplicaLock.rule_id == rule.id).group_by(ReplicaLock.rse_id).tuples())}
    apply_usage(rule.account, {k: (-f, -b) for k, (f, b) in usage.items()}, now)
    apply_usage(value, usage, now)
    ReplicaLock.update(account=value).where(ReplicaLock.rule_id == rule.id).execute()
    DatasetLock.update(account=value).where(DatasetLock.rule_id == rule.id).execute()
    return {"account": value}


#: ``PUT /rules/{id}`` option -> its setter ``(rule, key, value, now) -> column changes``.
OPTION_SETTERS = {
    "comment": _text_setter("comments"),
    "locked": _flag_setter("locked"),
    "lifetime": _set_lifetime,
    "account": _set_account,
    "state": lambda rule, key, value, now: _set_state(rule, value, now),
    "activity": _set_activity,
    "source_replica_expression": _text_setter("source_replica_expression"),
    "cancel_requests": _flag_setter(act=_cancel_requests),
    "priority": _set_priority,
    "child_rule_id": _set_child_rule,
    "eol_at": _set_eol,
    "meta": _set_meta,
    "purge_replicas": _flag_setter("purge_replicas"),
    "boost_rule": _flag_setter(act=_boost),
}
UPDATE_OPTIONS = (*OPTION_SETTERS, "approve")


def _approve(issuer, rule, options, now):
    permissions.check(issuer, "approve_rule", account=rule.account)
    if rule.state != "WAITING_APPROVAL":
        raise exceptions.UnsupportedOperation(f"Rule {rule.id} is not waiting for approval")
    if not options["approve"]:
        remove_rule(rule, now)
        return
    if options.get("comment") is not None:
        rule.comments = options["comment"]
        Rule.update(comments=rule.comments).where(Rule.id == rule.id).execute()
    rses = candidate_rses(rule.rse_expression, rule.copies, rule.ignore_availability)
    plan = plan_placement(rule, rses)
    apply_plan(rule, plan, now)


# -- delete ------------------------------------------------------------------------------------
#: A deleted rule stays (readable, listed, its locks held) at most this long: then the
#: "rules" task removes it (``expires_at = min(now + SOFT_DELETE_GRACE, expires_at)``).
SOFT_DELETE_GRACE = datetime.timedelta(hours=1)


@atomic
def delete_rule(issuer, rule_id: str, purge_replicas: bool | None = None) -> None:
    """``DELETE /rules/{id}``, soft as in Rucio: the rule expires within the hour (with
    ``purge_replicas`` recorded); the expiry task releases its locks and removes it."""
    rule = lookup.rule(rule_id)
    permissions.check(issuer, "delete_rule", account=rule.account)
    if rule.locked:
        raise exceptions.LockedRule(
            f"The replication rule {rule.id} is locked and has to be unlocked before it can be "
            f"deleted.")
    if rule.child_rule_id is not None:
        raise exceptions.LockedRule(
            "The replication rule has a child rule and thus cannot be deleted.")
    now = utcnow()
    if purge_replicas is not None:
        rule.purge_replicas = bool(purge_replicas)
    latest = now + SOFT_DELETE_GRACE
    rule.expires_at = latest if rule.expires_at is None else min(latest, rule.expires_at)
    rule.updated_at = now
    Rule.update(expires_at=rule.expires_at, purge_replicas=rule.purge_replicas,
                updated_at=now).where(Rule.id == rule.id).execute()
    write_history([history_row(rule, now)])


def release_parents(ok_rule_ids, now: datetime.datetime) -> None:
    """Rules whose child rule (from a move) is OK are released: their expiry (set by the
    move) then lets the "rules" task remove them."""
    for part in chunks(list(ok_rule_ids), IN_CHUNK):
        parents = list(Rule.select().where(Rule.child_rule_id.in_(part)))
        if not parents:
            continue
        Rule.update(child_rule_id=None, updated_at=now).where(
            Rule.id.in_([parent.id for parent in parents])).execute()
        write_history([history_row(parent, now) for parent in parents])


def remove_rule(rule: Rule, now: datetime.datetime) -> None:
    """Release the rule's locks, keep a history row, delete it; a parent rule waiting for it
    (a move) is released and no longer expires."""
    release_locks(rule, now, purge=rule.purge_replicas)
    write_history([history_row(rule, now, deleted=True)])
    Rule.update(child_rule_id=None, expires_at=None, updated_at=now).where(
        Rule.child_rule_id == rule.id).execute()
    Rule.delete().where(Rule.id == rule.id).execute()


# -- reduce and move ---------------------------------------------------------------------------
def _lifetime_left(rule, now):
    if rule.expires_at is None:
        return None
    return max(1, int((rule.expires_at - now).total_seconds()))


@atomic
def reduce_rule(issuer, rule_id: str, copies: int, exclude_expression: str | None = None
                ) -> list[str]:
    """Replace a rule by one with fewer copies (keeping existing data); the new id in a list."""
    rule = lookup.rule(rule_id)
    permissions.check(issuer, "reduce_rule", account=rule.account)
    checked_int(copies, "copies",
                exceptions.RuleReplaceFailed("Copies of the new rule must be fewer than the old"),
                minimum=1, maximum=rule.copies - 1)
    if exclude_expression is not None and not isinstance(exclude_expression, str):
        raise exceptions.RuleReplaceFailed("exclude_expression must be a string")
    now = utcnow()
    expression = rule.rse_expression if not exclude_expression else \
        f"({rule.rse_expression})\\({exclude_expression})"
    spec = RuleSpec.from_rule(rule, copies=copies, rse_expression=expression,
                              lifetime=_lifetime_left(rule, now))
    new_id = _replace(rule, spec, now)
    remove_rule(rule, now)
    return [new_id]


_TEXT, _FLAG = (str, type(None)), (bool,)
#: ``POST /rules/{id}/move`` override -> (RuleSpec field, accepted JSON types): the options
#: Rucio's move copies from the rule (``rse_expression`` is the move's own argument).
MOVE_OVERRIDES = {
    "account": ("account", (str,)), "copies": ("copies", (int,)),
    "rse_expression": ("rse_expression", (str,)), "grouping": ("grouping", _TEXT),
    "weight": ("weight", _TEXT), "lifetime": ("lifetime", (int, float, type(None))),
    "locked": ("locked", _FLAG), "subscription_id": ("subscription_id", _TEXT),
    "source_replica_expression": ("source_replica_expression", _TEXT),
    "activity": ("activity", _TEXT), "notify": ("notification", _TEXT),
    "purge_replicas": ("purge_replicas", _FLAG),
    "ignore_availability": ("ignore_availability", _FLAG), "comment": ("comments", _TEXT),
}


def _move_changes(override):
    """RuleSpec changes of a move's ``override``: UnsupportedOperation for keys Rucio does not
    override, RuleReplaceFailed (409) for values of the wrong JSON type. The activity is taken
    as given (Rucio's move does not check it); an unknown grouping is DATASET, as there."""
    if not isinstance(override, dict):
        raise exceptions.RuleReplaceFailed(f"Invalid override {override!r}")
    changes = {}
    for key, value in override.items():
        if key in ("dids", "session"):
            raise exceptions.UnsupportedOperation(f"Not allowed to override option {key}")
        if key not in MOVE_OVERRIDES:
            raise exceptions.UnsupportedOperation(f"Non-valid override option {key}")
        field, kinds = MOVE_OVERRIDES[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise exceptions.RuleReplaceFailed(f"Invalid override {key}: {value!r}")
        changes[field] = value
    if "activity" in changes:
        changes["activity"] = changes["activity"] or DEFAULT_ACTIVITY
    if "grouping" in changes:
        grouping = str(changes["grouping"]).upper()
        changes["grouping"] = grouping if grouping in ("ALL", "NONE") else "DATASET"
    if "notification" in changes:
        changes["notification"] = NOTIFY.get(changes["notification"], "NO")
    if changes.get("copies", 1) < 1:
        raise exceptions.RuleReplaceFailed(f"Invalid override copies: {changes['copies']!r}")
    return changes


@atomic
def move_rule(issuer, rule_id: str, rse_expression: str, override: dict | None = None) -> str:
    """``POST /rules/{id}/move``: a child rule on ``rse_expression`` (its id). The parent
    expires at once but stays while its child replicates (the child's id in
    ``child_rule_id``); released when the child is OK, the "rules" task removes it."""
    rule = lookup.rule(rule_id)
    permissions.check(issuer, "move_rule", account=rule.account)
    if rule.child_rule_id:
        raise exceptions.RuleReplaceFailed("The rule must not have a child rule.")
    if not isinstance(rse_expression, str) or not rse_expression:
        raise exceptions.RuleReplaceFailed("rse_expression must be a non-empty string")
    changes = {"rse_expression": rse_expression, **_move_changes(override or {})}
    now = utcnow()
    changes.setdefault("lifetime", _lifetime_left(rule, now))
    spec = RuleSpec.from_rule(rule, **changes)
    new_id = _replace(rule, spec, now)
    child_state = Rule.select(Rule.state).where(Rule.id == new_id).scalar()
    Rule.update(child_rule_id=None if child_state == "OK" else new_id, expires_at=now,
                updated_at=now).where(Rule.id == rule.id).execute()
    write_history([history_row(Rule.get_by_id(rule.id), now)])
    return new_id


def _replace(rule, spec, now):
    try:
        return create_rule(spec, rule_did(rule.scope, rule.name), now)
    except (exceptions.DuplicateRule, exceptions.InvalidRSEExpression,
            exceptions.InsufficientTargetRSEs, exceptions.RSEWriteBlocked) as exc:
        raise exceptions.RuleReplaceFailed(exc.message) from exc


# -- expiry ------------------------------------------------------------------------------------
def remove_expired_rules(limit: int = EXPIRY_BATCH) -> int:
    """One pass of the expiry task: delete unlocked rules whose ``expires_at`` has passed and
    that wait for no child rule (deleted rules, moved ones), one transaction per rule (a
    failure leaves the others removed); how many were removed."""
    now = utcnow()
    ids = [r for (r,) in Rule.select(Rule.id).where(
        Rule.expires_at < now, Rule.locked == False, Rule.child_rule_id.is_null())  # noqa: E712
        .order_by(Rule.expires_at).limit(limit).tuples()]
    removed = 0
    for rule_id in ids:
        with Rule._meta.database.atomic():
            rule = Rule.get_or_none(Rule.id == rule_id)
            if rule is not None:
                remove_rule(rule, now)
                removed += 1
    return removed
