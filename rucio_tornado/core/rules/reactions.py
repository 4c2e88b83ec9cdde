"""How rules follow the catalog: replicas arriving, files attached, replicas removed, expiry.

Wired by :func:`install` (called from :func:`rucio_tornado.core.install`).
"""
import datetime
import logging

from peewee import SQL, Tuple, fn

from rucio_tornado.core import events
from rucio_tornado.core.bulk import by_scope, chunks
from rucio_tornado.core.dids.graph import ancestors_cte, ancestors_of, datasets_under
from rucio_tornado import exceptions
from rucio_tornado.core.rules.lifecycle import inject_rule, release_parents, remove_expired_rules
from rucio_tornado.core.rules.locks import (add_dataset_locks, insert_file_locks, refresh_rules,
                                            settle_new_locks)
from rucio_tornado.core.rules.placement import Placer, file_presence, resolve_or_none
from rucio_tornado.models import (Content, DatasetLock, Replica, ReplicaLock, Rule,
                                  TransferRequest, utcnow)

log = logging.getLogger(__name__)

#: ``(scope, name)`` pairs per ``(scope, name) IN (...)`` lookup (two parameters each).
KEY_PAIRS_PER_QUERY = 400


def replicas_available(rse_id: str, dids) -> None:
    """REPLICATING/STUCK locks on these replicas become OK; requests DONE; rules follow.

    Without a waiting lock on the RSE (the usual case) this is one or two index probes."""
    if not _waiting_locks_on(rse_id):
        return
    now = utcnow()
    rule_ids = set()
    for scope, part in by_scope(dids):
        on_files = ((ReplicaLock.rse_id == rse_id) & (ReplicaLock.scope == scope)
                    & ReplicaLock.name.in_(part))
        found = list(ReplicaLock.select(ReplicaLock.rule_id, ReplicaLock.state)
                     .where(on_files).distinct().tuples())
        if not found:
            continue
        _recount_replica_locks(rse_id, scope, part)
        waiting = {rule_id for rule_id, state in found if state != "OK"}
        if not waiting:
            continue
        rule_ids.update(waiting)
        ReplicaLock.update(state="OK", updated_at=now).where(
            on_files, ReplicaLock.state != "OK").execute()
        TransferRequest.update(state="DONE", updated_at=now).where(
            TransferRequest.dest_rse_id == rse_id, TransferRequest.scope == scope,
            TransferRequest.name.in_(part), TransferRequest.state == "QUEUED").execute()
    if rule_ids:
        release_parents(refresh_rules(rule_ids, now), now)


def _waiting_locks_on(rse_id):
    """Whether any lock on the RSE is not OK: two index range probes on (rse_id, state)."""
    on_rse = ReplicaLock.select(ReplicaLock.rse_id).where(ReplicaLock.rse_id == rse_id)
    return (on_rse.where(ReplicaLock.state < "OK").exists()
            or on_rse.where(ReplicaLock.state > "OK").exists())


def _recount_replica_locks(rse_id, scope, names):
    """``lock_cnt`` of these replicas from the locks (a replica row may be new: re-registered
    after a deletion)."""
    count = ReplicaLock.select(fn.COUNT(SQL("*"))).where(
        ReplicaLock.scope == Replica.scope, ReplicaLock.name == Replica.name,
        ReplicaLock.rse_id == Replica.rse_id)
    Replica.update(lock_cnt=count).where(Replica.rse_id == rse_id, Replica.scope == scope,
                                         Replica.name.in_(names)).execute()


def replicas_removed(rse_id: str, dids) -> None:
    """Locks on deleted replicas go back to REPLICATING (the data has to come back)."""
    now = utcnow()
    rule_ids = set()
    for scope, part in by_scope(dids):
        where = ((ReplicaLock.rse_id == rse_id) & (ReplicaLock.scope == scope)
                 & ReplicaLock.name.in_(part) & (ReplicaLock.state == "OK"))
        rule_ids.update(r for (r,) in ReplicaLock.select(ReplicaLock.rule_id).where(where)
                        .distinct().tuples())
        ReplicaLock.update(state="REPLICATING", updated_at=now).where(where).execute()
    if rule_ids:
        refresh_rules(rule_ids, now)


def _ancestors(scope, name):
    """``{(scope, name)}`` of a collection and every collection above it."""
    return ancestors_of([(scope, name)]) | {(scope, name)}


def _on_keys(keys):
    """Rules on one of ``keys`` ((scope, name) pairs)."""
    if len(keys) == 1:
        return (Rule.scope == keys[0][0]) & (Rule.name == keys[0][1])
    return Tuple(Rule.scope, Rule.name).in_(keys)


def files_attached(scope: str, name: str, files) -> None:
    """Rules on the dataset (or above it) lock the newly attached files too."""
    now = utcnow()
    targets = list(_ancestors(scope, name))
    rules = []
    for part in chunks(targets, KEY_PAIRS_PER_QUERY):
        rules.extend(Rule.select().where(_on_keys(part)))
    touched = []
    for rule in rules:
        if rule.state in ("WAITING_APPROVAL", "INJECT"):
            continue                    # their locks come with the approval / the injection
        rows = _placement_for_new_files(rule, scope, name, files)
        if rows:
            insert_file_locks(rule, rows, now)
            settle_new_locks(rule, now)
            touched.append(rule.id)
    if touched:
        release_parents(refresh_rules(touched, now), now)


def collections_attached(scope: str, name: str, children) -> None:
    """Rules on a container (or above it) lock the files of datasets newly placed under it."""
    up = ancestors_cte(scope, [name])
    if not Rule.select(Rule.id).where(
            ((Rule.scope == scope) & (Rule.name == name))
            | Tuple(Rule.scope, Rule.name).in_(up.select_from(up.c.scope, up.c.name))).exists():
        return                          # one query, the walk up in SQL
    for child_scope, child_name, child_type in children:
        for ds_scope, ds_name in datasets_under(child_scope, child_name, child_type):
            files = list(Content.select(Content.child_scope, Content.child_name, Content.bytes)
                         .where(Content.scope == ds_scope, Content.name == ds_name,
                                Content.child_type == "FILE").tuples())
            if files:
                files_attached(ds_scope, ds_name, files)


def _placement_for_new_files(rule, scope, name, files):
    """``[(scope, name, bytes, rse_id)]``: the dataset's RSEs of the rule, else a new choice."""
    if rule.grouping != "NONE":
        rse_ids = [r for (r,) in DatasetLock.select(DatasetLock.rse_id).where(
            DatasetLock.rule_id == rule.id, DatasetLock.scope == scope,
            DatasetLock.name == name).tuples()]
        if not rse_ids and rule.grouping == "ALL":
            rse_ids = [r for (r,) in DatasetLock.select(DatasetLock.rse_id).where(
                DatasetLock.rule_id == rule.id).distinct().tuples()]
        if rse_ids:
            return [(s, n, b, rse_id) for s, n, b in files for rse_id in rse_ids]
    rses = resolve_or_none(rule.rse_expression)
    if not rses or len(rses) < rule.copies:
        log.warning("rule %s: cannot place new files of %s:%s", rule.id, scope, name)
        return []
    placer = Placer(rses, rule.copies, rule.weight)
    if rule.grouping == "NONE":
        present = file_presence(files, [r["id"] for r in rses])
        return [(s, n, b, rse_id) for s, n, b in files
                for rse_id in placer.choose(b or 0, present.get((s, n)))]
    total = sum(b or 0 for _, _, b in files)
    chosen = placer.choose(total)
    add_dataset_locks(rule, [(scope, name, None, None)], chosen, utcnow())
    return [(s, n, b, rse_id) for s, n, b in files for rse_id in chosen]


#: Delayed rules injected per pass; a rule that cannot be placed yet waits this long.
INJECT_BATCH = 100
INJECT_RETRY = datetime.timedelta(minutes=10)


def inject_rules(limit: int = INJECT_BATCH) -> int:
    """Delayed rules (``delay_injection``: state INJECT until ``created_at``) get their locks,
    one transaction per rule. Without quota a rule is SUSPENDED (as Rucio's injector does);
    other placement errors retry later. How many were injected."""
    now = utcnow()
    ids = [r for (r,) in Rule.select(Rule.id).where(Rule.state == "INJECT", Rule.created_at <= now)
           .order_by(Rule.created_at).limit(limit).tuples()]
    injected = 0
    for rule_id in ids:
        try:
            with Rule._meta.database.atomic():
                rule = Rule.get_or_none(Rule.id == rule_id, Rule.state == "INJECT")
                if rule is not None:
                    inject_rule(rule, now)
                    injected += 1
        except exceptions.InsufficientAccountLimit as exc:
            Rule.update(state="SUSPENDED", error=exc.message[:255], updated_at=now).where(
                Rule.id == rule_id).execute()
        except exceptions.RucioException as exc:
            log.warning("rule %s: injection failed: %s", rule_id, exc.message)
            Rule.update(created_at=now + INJECT_RETRY, error=exc.message[:255]).where(
                Rule.id == rule_id).execute()
    return injected


def expire_rules() -> int:
    """Periodic task "rules": inject delayed rules whose time has come, remove expired rules
    (returns how many were removed)."""
    inject_rules()
    return remove_expired_rules()


def install() -> None:
    """Rules follow replicas and attachments; expired rules go in the "rules" task."""
    events.on(events.REPLICAS_AVAILABLE, replicas_available)
    events.on(events.REPLICAS_REMOVED, replicas_removed)
    events.on(events.FILES_ATTACHED, files_attached)
    events.on(events.COLLECTIONS_ATTACHED, collections_attached)
    events.add_task("rules", expire_rules)
