"""Replication rules: creation (placement, quotas, locks), update, delete, reduce, move, approval.

One rule creation is one transaction whatever the size of the DID: locks are written with
``INSERT ... SELECT`` per dataset and RSE (see :mod:`rule_locks`). Listings are in
:mod:`rule_listing`; reactions to replicas and attachments in :mod:`rule_events`.
"""
import datetime

import ujson
from peewee import SQL, fn

from rucio_tornado import exceptions
from rucio_tornado.core import accounts, permissions
from rucio_tornado.core.bulk import group_by_scope
from rucio_tornado.core.common import parse_date, reject_unknown
from rucio_tornado.core.rules.listing import rule_dict, rule_row
from rucio_tornado.core.rules.locks import (CHUNK, add_dataset_locks, apply_usage, chunks, history_row,
                                          insert_dataset_locks, insert_file_locks,
                                          refresh_rules, release_locks, settle_new_locks,
                                          write_history)
from rucio_tornado.core.rules.placement import Placer, Quota, candidate_rses, resolve
from rucio_tornado.db import atomic
from rucio_tornado.models import (DID, Content, DatasetLock, Replica, ReplicaLock, Rule,
                                  TransferRequest, utcnow)

ACTIVITIES = ("Data Brokering", "Data Consolidation", "Data Rebalancing", "Debug", "Express",
              "Functional Test", "Group Subscriptions", "Production Input", "Production Output",
              "Analysis Input", "Analysis Output", "Staging", "T0 Export", "T0 Tape",
              "Upload/Download (Job)", "Upload/Download (User)", "User Subscriptions",
              "Data Challenge")
DEFAULT_ACTIVITY = "User Subscriptions"
GROUPINGS = ("ALL", "DATASET", "NONE")
NOTIFY = {"Y": "YES", "N": "NO", "C": "CLOSE", "P": "PROGRESS"}
RULE_KEYS = ("dids", "account", "copies", "rse_expression", "grouping", "weight", "lifetime",
             "locked", "subscription_id", "source_replica_expression", "activity", "notify",
             "purge_replicas", "ignore_availability", "comment", "ask_approval", "asynchronous",
             "delay_injection", "priority", "split_container", "meta")
MANDATORY = ("dids", "account", "copies", "rse_expression")


def _invalid(message):
    """Schema violations of ``POST /rules/`` are 409 InvalidObject (API §2.3)."""
    return exceptions.InvalidRuleDefinition(message)


def _typed(body, key, kinds, default=None, label=None):
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in (
            kinds if isinstance(kinds, tuple) else (kinds,))):
        raise _invalid(f"Invalid value for {label or key}: {value!r}")
    return value


def activity_of(value):
    if value is None:
        return DEFAULT_ACTIVITY
    if value not in ACTIVITIES:
        raise _invalid(f"Invalid activity {value!r}")
    return value


def rule_spec(issuer, body):
    """Check a ``POST /rules/`` body; the normalised options of the rule(s) to create."""
    for key in MANDATORY:
        if key not in body:
            raise exceptions.MissingKey(f"'{key}' not defined")
    reject_unknown_409(body)
    dids = body["dids"]
    if not isinstance(dids, list) or not dids:
        raise _invalid("dids must be a non-empty list")
    for did in dids:
        if not isinstance(did, dict) or not isinstance(did.get("scope"), str) \
                or not isinstance(did.get("name"), str):
            raise _invalid(f"Invalid DID {did!r}")
    copies = body["copies"]
    if not isinstance(copies, int) or isinstance(copies, bool) or copies < 1:
        raise _invalid(f"Invalid number of copies {copies!r}")
    if not isinstance(body["rse_expression"], str) or not body["rse_expression"]:
        raise _invalid("rse_expression must be a non-empty string")
    account = _typed(body, "account", str, issuer.account)
    grouping = _typed(body, "grouping", str, "DATASET").upper()
    if grouping not in GROUPINGS:
        raise _invalid(f"Invalid grouping {grouping!r}")
    notify = _typed(body, "notify", str, "N")
    if notify not in NOTIFY:
        raise _invalid(f"Invalid notify {notify!r}")
    lifetime = _typed(body, "lifetime", (int, float))
    priority = _typed(body, "priority", int, 3)
    if not 0 <= priority <= 5:
        raise _invalid(f"Invalid priority {priority!r}")
    meta = body.get("meta")
    return {
        "dids": dids, "account": account, "copies": copies,
        "rse_expression": body["rse_expression"], "grouping": grouping,
        "weight": _typed(body, "weight", str), "lifetime": lifetime,
        "locked": _typed(body, "locked", bool, False),
        "subscription_id": _typed(body, "subscription_id", str),
        "source_replica_expression": _typed(body, "source_replica_expression", str),
        "activity": activity_of(body.get("activity")), "notification": NOTIFY[notify],
        "purge_replicas": _typed(body, "purge_replicas", bool, False),
        "ignore_availability": _typed(body, "ignore_availability", bool, False),
        "comments": _typed(body, "comment", str),
        "ask_approval": _typed(body, "ask_approval", bool, False),
        "priority": priority, "split_container": _typed(body, "split_container", bool, False),
        "meta": None if meta is None else (meta if isinstance(meta, str) else ujson.dumps(meta)),
    }


def reject_unknown_409(body):
    try:
        reject_unknown(body, RULE_KEYS, "rule")
    except exceptions.InvalidObject as exc:
        raise _invalid(exc.message) from None


@atomic
def add_rules(issuer, body):
    """``POST /rules/``: one rule per DID of the body; the list of new rule ids."""
    spec = rule_spec(issuer, body)
    permissions.check(issuer, "add_rule", account=spec["account"], locked=spec["locked"])
    accounts.get_row(spec["account"], active_only=True)
    now = utcnow()
    return [create_rule(spec, did_row(d["scope"], d["name"]), now) for d in spec["dids"]]


def did_row(scope, name):
    row = DID.get_or_none(DID.scope == scope, DID.name == name)
    if row is None or row.deleted_at is not None:
        raise exceptions.DataIdentifierNotFound(f"Data identifier '{scope}:{name}' not found")
    return row


def create_rule(spec, did, now):
    """Create one rule on ``did`` (a DID row) from a checked ``spec``; its id."""
    duplicate = Rule.select(Rule.id).where(
        Rule.scope == did.scope, Rule.name == did.name, Rule.account == spec["account"],
        Rule.rse_expression == spec["rse_expression"], Rule.copies == spec["copies"]).exists()
    if duplicate:
        raise exceptions.DuplicateRule(
            "A duplicate rule for this account, did, rse_expression, copies already exists")
    rses = candidate_rses(spec["rse_expression"], spec["copies"], spec["ignore_availability"])
    rule = Rule(
        subscription_id=spec["subscription_id"], account=spec["account"], scope=did.scope,
        name=did.name, did_type=did.did_type, rse_expression=spec["rse_expression"],
        copies=spec["copies"], weight=spec["weight"], locked=spec["locked"],
        source_replica_expression=spec["source_replica_expression"],
        activity=spec["activity"], grouping=spec["grouping"],
        notification=spec["notification"], purge_replicas=spec["purge_replicas"],
        ignore_availability=spec["ignore_availability"],
        ignore_account_limit=spec["ask_approval"], priority=spec["priority"],
        comments=spec["comments"], split_container=spec["split_container"], meta=spec["meta"],
        expires_at=(now + datetime.timedelta(seconds=spec["lifetime"])
                    if spec["lifetime"] is not None else None),
        created_at=now, updated_at=now)
    if spec["ask_approval"]:
        rule.state = "WAITING_APPROVAL"
        rule.save(force_insert=True)
        write_history([history_row(rule, now)])
        return rule.id
    plan = plan_placement(rule, rses, Quota(rule.account, rses))
    check_targets(rule, rses, plan, spec["lifetime"])
    rule.save(force_insert=True)
    apply_plan(rule, plan, now)           # counts the locks: writes the first history row
    return rule.id


def check_targets(rule, rses, plan, lifetime):
    """Staging areas need a lifetime; a TAPE target without lifetime locks the rule."""
    by_id = {rse["id"]: rse for rse in rses}
    chosen = {rse_id for step in plan for rse_id in step[-1]}
    for rse_id in chosen:
        rse = by_id[rse_id]
        if rse.get("staging_area") and lifetime is None:
            raise exceptions.StagingAreaRuleRequiresLifetime(
                f"Rules on the staging area {rse['rse']} require a lifetime")
        if rse.get("rse_type") == "TAPE" and lifetime is None:
            rule.locked = True


# -- placement ---------------------------------------------------------------------------------
def datasets_under(scope, name, did_type):
    """``[(scope, name)]`` of the datasets of a DID (itself, or all under a container)."""
    if did_type == "DATASET":
        return [(scope, name)]
    found, seen, level = [], {(scope, name)}, [(scope, name)]
    while level:
        nxt = []
        for s, n in level:
            for cs, cn, ct in (Content.select(Content.child_scope, Content.child_name,
                                              Content.child_type)
                               .where(Content.scope == s, Content.name == n,
                                      Content.child_type.in_(("DATASET", "CONTAINER"))).tuples()):
                if (cs, cn) in seen:
                    continue
                seen.add((cs, cn))
                (found if ct == "DATASET" else nxt).append((cs, cn))
        level = nxt
    return sorted(found)


def _files_join():
    return (DID.scope == Content.child_scope) & (DID.name == Content.child_name)


def dataset_size(scope, name):
    length, nbytes = (Content.select(fn.COUNT(SQL("*")), fn.SUM(DID.bytes))
                      .join(DID, on=_files_join())
                      .where(Content.scope == scope, Content.name == name,
                             Content.child_type == "FILE").tuples().get())
    return length or 0, nbytes or 0


def dataset_presence(scope, name, rse_ids):
    """``{rse_id: available bytes}`` of the dataset's files on ``rse_ids``."""
    query = (Replica.select(Replica.rse_id, fn.SUM(Replica.bytes))
             .join(Content, on=((Content.child_scope == Replica.scope)
                                & (Content.child_name == Replica.name)))
             .where(Content.scope == scope, Content.name == name, Content.child_type == "FILE",
                    Replica.state == "AVAILABLE", Replica.rse_id.in_(rse_ids))
             .group_by(Replica.rse_id))
    return {rse_id: nbytes or 0 for rse_id, nbytes in query.tuples()}


def file_presence(files, rse_ids):
    """``{(scope, name): {rse_id: bytes}}`` of AVAILABLE replicas of ``files`` on ``rse_ids``."""
    out = {}
    for scope, names in group_by_scope(files).items():
        for start in range(0, len(names), 900):
            for s, n, rse_id, nbytes in (Replica.select(Replica.scope, Replica.name,
                                                        Replica.rse_id, Replica.bytes)
                                         .where(Replica.scope == scope,
                                                Replica.name.in_(names[start:start + 900]),
                                                Replica.rse_id.in_(rse_ids),
                                                Replica.state == "AVAILABLE").tuples()):
                out.setdefault((s, n), {})[rse_id] = nbytes
    return out


def files_of_dataset(scope, name):
    return list(Content.select(Content.child_scope, Content.child_name, DID.bytes)
                .join(DID, on=_files_join())
                .where(Content.scope == scope, Content.name == name,
                       Content.child_type == "FILE").tuples())


def place_files(placer, files, rse_ids):
    """Per-file placement: ``[("files", rows)]`` with rows ``(scope, name, bytes, rse_id)``."""
    present = file_presence(files, rse_ids)
    rows = []
    for scope, name, nbytes in files:
        for rse_id in placer.choose(nbytes or 0, present.get((scope, name))):
            rows.append((scope, name, nbytes, rse_id))
    return ("files", rows, sorted({row[3] for row in rows}))


def plan_placement(rule, rses, quota=None):
    """Steps: ``("file", rows, rse_ids)`` or ``("datasets", [(s, n, length, bytes)], rse_ids)``."""
    placer = Placer(rses, rule.copies, rule.weight, quota)
    rse_ids = [rse["id"] for rse in rses]
    if rule.did_type == "FILE":
        return [place_files(placer, [(rule.scope, rule.name, did_row(rule.scope, rule.name).bytes)],
                            rse_ids)]
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


def apply_plan(rule, plan, now):
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
    rule.state = "REPLICATING" if rule.state == "WAITING_APPROVAL" else rule.state
    Rule.update(state=rule.state).where(Rule.id == rule.id).execute()
    retire_parents(refresh_rules([rule.id], now), now)


# -- reading one rule --------------------------------------------------------------------------
def get_rule(issuer, rule_id):
    return rule_dict(rule_row(rule_id))


# -- update ------------------------------------------------------------------------------------
UPDATE_OPTIONS = ("comment", "locked", "lifetime", "account", "state", "activity",
                  "source_replica_expression", "cancel_requests", "priority", "child_rule_id",
                  "eol_at", "meta", "purge_replicas", "boost_rule", "approve")


@atomic
def update_rule(issuer, rule_id, options):
    """``PUT /rules/{id}`` ``{"options": {...}}``; unknown option -> 409 InputValidationError."""
    if not isinstance(options, dict):
        raise exceptions.InvalidRuleOption("options must be a dictionary")
    unknown = sorted(set(options) - set(UPDATE_OPTIONS))
    if unknown:
        raise exceptions.InvalidRuleOption(
            f"{', '.join(unknown)} is not a valid option to set.")
    rule = rule_row(rule_id)
    permissions.check(issuer, "update_rule", account=rule.account, options=options)
    now = utcnow()
    if "approve" in options:
        return _approve(issuer, rule, options, now)
    changes = {}
    for key, value in options.items():
        changes.update(_option(rule, key, value, now))
    if changes:
        changes["updated_at"] = now
        Rule.update(**changes).where(Rule.id == rule.id).execute()
        write_history([history_row(Rule.get_by_id(rule.id), now)])


def _bad(key, value):
    return exceptions.InvalidRuleOption(f"Invalid value for {key}: {value!r}")


def _option(rule, key, value, now):
    """The column changes for one update option (some act at once: account, state)."""
    if key == "comment":
        if value is not None and not isinstance(value, str):
            raise _bad(key, value)
        return {"comments": value}
    if key in ("locked", "purge_replicas", "boost_rule", "cancel_requests"):
        if not isinstance(value, bool):
            raise _bad(key, value)
        if key == "boost_rule" and value and rule.state == "STUCK":
            return _state_option(rule, "REPLICATING", now)
        if key == "cancel_requests" and value:
            TransferRequest.update(state="FAILED", updated_at=now).where(
                TransferRequest.rule_id == rule.id, TransferRequest.state == "QUEUED").execute()
        return {key: value} if key in ("locked", "purge_replicas") else {}
    if key == "lifetime":
        if value is None:
            return {"expires_at": None}
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _bad(key, value)
        return {"expires_at": now + datetime.timedelta(seconds=value)}
    if key == "eol_at":
        return {"eol_at": None if value is None else parse_date(value, "eol_at")}
    if key == "activity":
        try:
            return {"activity": activity_of(value)}
        except exceptions.InvalidObject:
            raise _bad(key, value) from None
    if key == "priority":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad(key, value)
        return {"priority": value}
    if key in ("source_replica_expression", "child_rule_id"):
        if value is not None and not isinstance(value, str):
            raise _bad(key, value)
        if key == "child_rule_id" and value is not None:
            rule_row(value)
        return {key: value}
    if key == "meta":
        return {"meta": None if value is None else
                (value if isinstance(value, str) else ujson.dumps(value))}
    if key == "state":
        return _state_option(rule, value, now)
    return _account_option(rule, value, now)


def _state_option(rule, value, now):
    state = {"S": "STUCK", "U": "SUSPENDED", "R": "REPLICATING"}.get(value, value)
    if state not in ("STUCK", "SUSPENDED", "REPLICATING"):
        raise _bad("state", value)
    if state == "STUCK":
        ReplicaLock.update(state="STUCK").where(ReplicaLock.rule_id == rule.id,
                                                ReplicaLock.state == "REPLICATING").execute()
        Rule.update(state="REPLICATING").where(Rule.id == rule.id).execute()
        refresh_rules([rule.id], now)
        return {"stuck_at": now}
    if state == "REPLICATING":
        ReplicaLock.update(state="REPLICATING").where(ReplicaLock.rule_id == rule.id,
                                                      ReplicaLock.state == "STUCK").execute()
        Rule.update(state="REPLICATING").where(Rule.id == rule.id).execute()
        refresh_rules([rule.id], now)
        return {}
    return {"state": "SUSPENDED"}


def _account_option(rule, value, now):
    """Hand the rule (its locks and their usage) to another account."""
    if not isinstance(value, str):
        raise _bad("account", value)
    accounts.get_row(value, active_only=True)
    usage = {rse_id: (files, nbytes or 0) for rse_id, files, nbytes in (
        ReplicaLock.select(ReplicaLock.rse_id, fn.COUNT(SQL("*")), fn.SUM(ReplicaLock.bytes))
        .where(ReplicaLock.rule_id == rule.id).group_by(ReplicaLock.rse_id).tuples())}
    apply_usage(rule.account, {k: (-f, -b) for k, (f, b) in usage.items()}, now)
    apply_usage(value, usage, now)
    ReplicaLock.update(account=value).where(ReplicaLock.rule_id == rule.id).execute()
    DatasetLock.update(account=value).where(DatasetLock.rule_id == rule.id).execute()
    return {"account": value}


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
@atomic
def delete_rule(issuer, rule_id, purge_replicas=None):
    """Remove a rule at once: its locks are released, a history row remains."""
    rule = rule_row(rule_id)
    permissions.check(issuer, "delete_rule", account=rule.account)
    if rule.locked:
        raise exceptions.LockedRule(
            f"The replication rule {rule.id} is locked and has to be unlocked before it can be "
            f"deleted.")
    if purge_replicas is not None:
        rule.purge_replicas = bool(purge_replicas)
    remove_rule(rule, utcnow())


def retire_parents(ok_rule_ids, now):
    """Rules whose child rule (from a move) is OK are removed."""
    for part in chunks(ok_rule_ids, CHUNK):
        for parent in Rule.select().where(Rule.child_rule_id.in_(part)):
            remove_rule(parent, now)


def remove_rule(rule, now):
    release_locks(rule, now, purge=rule.purge_replicas)
    write_history([history_row(rule, now, deleted=True)])
    Rule.update(child_rule_id=None).where(Rule.child_rule_id == rule.id).execute()
    Rule.delete().where(Rule.id == rule.id).execute()


# -- reduce and move ---------------------------------------------------------------------------
def _copy_spec(rule, **override):
    spec = {"account": rule.account, "copies": rule.copies, "rse_expression": rule.rse_expression,
            "grouping": rule.grouping, "weight": rule.weight, "lifetime": None,
            "locked": rule.locked, "subscription_id": rule.subscription_id,
            "source_replica_expression": rule.source_replica_expression,
            "activity": rule.activity, "notification": rule.notification,
            "purge_replicas": rule.purge_replicas,
            "ignore_availability": rule.ignore_availability, "comments": rule.comments,
            "ask_approval": False, "priority": rule.priority,
            "split_container": rule.split_container, "meta": rule.meta}
    spec.update(override)
    return spec


def _lifetime_left(rule, now):
    if rule.expires_at is None:
        return None
    return max(1, int((rule.expires_at - now).total_seconds()))


@atomic
def reduce_rule(issuer, rule_id, copies, exclude_expression=None):
    """Replace a rule by one with fewer copies (keeping existing data); the new id in a list."""
    rule = rule_row(rule_id)
    permissions.check(issuer, "reduce_rule", account=rule.account)
    if not isinstance(copies, int) or isinstance(copies, bool) or not 0 < copies < rule.copies:
        raise exceptions.RuleReplaceFailed("Copies of the new rule must be fewer than the old")
    if exclude_expression is not None and not isinstance(exclude_expression, str):
        raise exceptions.RuleReplaceFailed("exclude_expression must be a string")
    now = utcnow()
    expression = rule.rse_expression if not exclude_expression else \
        f"({rule.rse_expression})\\({exclude_expression})"
    spec = _copy_spec(rule, copies=copies, rse_expression=expression,
                      lifetime=_lifetime_left(rule, now))
    new_id = _replace(rule, spec, now)
    remove_rule(rule, now)
    return [new_id]


MOVE_OVERRIDES = ("activity", "grouping", "weight", "lifetime", "locked", "comment", "priority",
                  "source_replica_expression", "purge_replicas", "ignore_availability",
                  "account", "copies", "meta")


@atomic
def move_rule(issuer, rule_id, rse_expression, override=None):
    """A child rule on ``rse_expression``; the parent goes once the child is OK."""
    rule = rule_row(rule_id)
    permissions.check(issuer, "move_rule", account=rule.account)
    if not isinstance(rse_expression, str) or not rse_expression:
        raise exceptions.RuleReplaceFailed("rse_expression must be a non-empty string")
    override = override or {}
    if not isinstance(override, dict) or set(override) - set(MOVE_OVERRIDES):
        raise exceptions.RuleReplaceFailed(f"Invalid override {override!r}")
    now = utcnow()
    changes = {("comments" if k == "comment" else k): v for k, v in override.items()}
    if "activity" in changes:
        changes["activity"] = activity_of(changes["activity"])
    changes.setdefault("lifetime", _lifetime_left(rule, now))
    spec = _copy_spec(rule, rse_expression=rse_expression, **changes)
    new_id = _replace(rule, spec, now)
    Rule.update(child_rule_id=new_id, updated_at=now).where(Rule.id == rule.id).execute()
    child = Rule.get_by_id(new_id)
    if child.state == "OK":
        retire_parents([new_id], now)
    return [new_id]


def _replace(rule, spec, now):
    try:
        return create_rule(spec, did_row(rule.scope, rule.name), now)
    except (exceptions.DuplicateRule, exceptions.InvalidRSEExpression,
            exceptions.InsufficientTargetRSEs, exceptions.RSEWriteBlocked) as exc:
        raise exceptions.RuleReplaceFailed(exc.message) from exc


# -- expiry ------------------------------------------------------------------------------------
def remove_expired_rules(limit=1000):
    """One pass of the expiry task: delete unlocked rules whose ``expires_at`` has passed."""
    now = utcnow()
    ids = [r for (r,) in Rule.select(Rule.id).where(Rule.expires_at < now, Rule.locked == False)  # noqa: E712
           .order_by(Rule.expires_at).limit(limit).tuples()]
    removed = 0
    for rule_id in ids:
        with Rule._meta.database.atomic():
            rule = Rule.get_or_none(Rule.id == rule_id)
            if rule is not None:
                remove_rule(rule, now)
                removed += 1
    return removed


def resolve_or_none(expression):
    try:
        return resolve(expression)
    except exceptions.InvalidRSEExpression:
        return None
