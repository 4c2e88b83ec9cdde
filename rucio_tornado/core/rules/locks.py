"""Replica locks, set-based: creating them (with COPYING replicas and queued transfer
requests), releasing them, and keeping rule counters and account usage in step.

Locks are inserted with their final state (``INSERT ... SELECT`` from the dataset content
joined to the replicas, or ``insert_many`` in chunks): ``OK`` on an AVAILABLE replica, else
``REPLICATING``. :func:`settle_new_locks` then creates the missing replicas as COPYING, counts
the locks on the replicas, queues transfer requests and books the account usage: a handful of
statements per rule, whatever the number of files. The locks written by one call are told
apart by their ``created_at`` (the call's timestamp).

Account usage: every lock counts its file's bytes once for the rule's account on its RSE (as
Rucio does), so two rules of one account on the same file and RSE count it twice.
"""
import datetime

from peewee import JOIN, SQL, Case, Value, fn

from rucio_tornado.core.bulk import IN_CHUNK, chunks
from rucio_tornado.db import current
from rucio_tornado.models import (DID, AccountUsage, AccountUsageHistory, CollectionReplica,
                                  Content, DatasetLock, Replica, ReplicaLock, Rule, RuleHistory,
                                  TransferRequest)

#: Rows per multi-row ``INSERT`` (locks, dataset locks, history rows).
ROWS_PER_INSERT = 1000
OBSOLETE = datetime.datetime(1970, 1, 1)
LOCK_FIELDS = [ReplicaLock.rule_id, ReplicaLock.scope, ReplicaLock.name, ReplicaLock.rse_id,
               ReplicaLock.account, ReplicaLock.bytes, ReplicaLock.state,
               ReplicaLock.created_at, ReplicaLock.updated_at]
FIXED_STATES = ("SUSPENDED", "WAITING_APPROVAL", "INJECT")


# -- inserting locks ---------------------------------------------------------------------------
def _replica_on(lock_scope, lock_name, rse_id):
    return ((Replica.scope == lock_scope) & (Replica.name == lock_name)
            & (Replica.rse_id == rse_id))


def insert_dataset_locks(rule: Rule, scope: str, name: str, rse_id: str,
                         now: datetime.datetime) -> None:
    """Locks for every file of dataset ``scope:name`` on ``rse_id``, in one statement: OK where
    the replica is AVAILABLE, else REPLICATING (settled by :func:`settle_new_locks`)."""
    state = Case(None, [(Replica.state == "AVAILABLE", "OK")], "REPLICATING")
    files = (Content.select(Value(rule.id), Content.child_scope, Content.child_name, Value(rse_id),
                            Value(rule.account), DID.bytes, state, Value(now), Value(now))
             .join(DID, on=((DID.scope == Content.child_scope) & (DID.name == Content.child_name)))
             .join(Replica, JOIN.LEFT_OUTER,
                   on=_replica_on(Content.child_scope, Content.child_name, rse_id))
             .where(Content.scope == scope, Content.name == name, Content.child_type == "FILE"))
    ReplicaLock.insert_from(files, LOCK_FIELDS).on_conflict_ignore().execute()


def insert_file_locks(rule: Rule, rows: list[tuple], now: datetime.datetime) -> None:
    """Locks for ``rows`` of ``(scope, name, bytes, rse_id)``, in chunks, then their states."""
    values = [(rule.id, scope, name, rse_id, rule.account, nbytes, "NEW", now, now)
              for scope, name, nbytes, rse_id in rows]
    for chunk in chunks(values, ROWS_PER_INSERT):
        ReplicaLock.insert_many(chunk, LOCK_FIELDS).on_conflict_ignore().execute()
    available = Replica.select(SQL("1")).where(
        _replica_on(ReplicaLock.scope, ReplicaLock.name, ReplicaLock.rse_id),
        Replica.state == "AVAILABLE")
    ReplicaLock.update(state=Case(None, [(fn.EXISTS(available), "OK")], "REPLICATING")).where(
        ReplicaLock.rule_id == rule.id, ReplicaLock.state == "NEW").execute()


def add_dataset_locks(rule: Rule, datasets: list[tuple], rse_ids: list[str],
                      now: datetime.datetime) -> None:
    """DatasetLock rows for each dataset ``(scope, name, length, bytes)`` and RSE, and the
    dataset replicas there (:func:`add_dataset_replicas`)."""
    rows = [(rule.id, scope, name, rse_id, rule.account, "REPLICATING", length, nbytes, now, now)
            for scope, name, length, nbytes in datasets for rse_id in rse_ids]
    fields = [DatasetLock.rule_id, DatasetLock.scope, DatasetLock.name, DatasetLock.rse_id,
              DatasetLock.account, DatasetLock.state, DatasetLock.length, DatasetLock.bytes,
              DatasetLock.created_at, DatasetLock.updated_at]
    for chunk in chunks(rows, ROWS_PER_INSERT):
        DatasetLock.insert_many(chunk, fields).on_conflict_ignore().execute()
    add_dataset_replicas([(scope, name) for scope, name, _, _ in datasets], rse_ids)


def add_dataset_replicas(datasets: list[tuple], rse_ids: list[str]) -> None:
    """A CollectionReplica row per dataset ``(scope, name)`` and RSE a rule places it on,
    where none exists yet: UNAVAILABLE and empty, as Rucio's rules create them (so an empty
    dataset with a rule has its dataset replicas too)."""
    rows = [(scope, name, "DATASET", rse_id, 0, 0, 0, 0, "UNAVAILABLE")
            for scope, name in datasets if scope is not None for rse_id in rse_ids]
    fields = [CollectionReplica.scope, CollectionReplica.name, CollectionReplica.did_type,
              CollectionReplica.rse_id, CollectionReplica.bytes, CollectionReplica.length,
              CollectionReplica.available_bytes, CollectionReplica.available_replicas_cnt,
              CollectionReplica.state]
    for chunk in chunks(rows, ROWS_PER_INSERT):
        CollectionReplica.insert_many(chunk, fields).on_conflict_ignore().execute()


def settle_new_locks(rule: Rule, now: datetime.datetime) -> None:
    """After inserting locks (those of ``rule`` created at ``now``): COPYING replicas for the
    REPLICATING ones, replica lock counts, queued transfer requests, account usage."""
    new = (ReplicaLock.rule_id == rule.id) & (ReplicaLock.created_at == now)
    usage = {rse_id: (files, nbytes or 0) for rse_id, files, nbytes in (
        ReplicaLock.select(ReplicaLock.rse_id, fn.COUNT(SQL("*")), fn.SUM(ReplicaLock.bytes))
        .where(new).group_by(ReplicaLock.rse_id).tuples())}
    if not usage:
        return
    replicating = new & (ReplicaLock.state == "REPLICATING")
    # Existing replicas conflict and are skipped (reading the replica table here as well made
    # PostgreSQL probe the rows this very statement inserts: quadratic).
    missing = (ReplicaLock.select(ReplicaLock.rse_id, ReplicaLock.scope, ReplicaLock.name,
                                  fn.COALESCE(ReplicaLock.bytes, 0), Value("COPYING"), Value(1),
                                  Value(now), Value(now))
               .where(replicating))
    Replica.insert_from(missing, [Replica.rse_id, Replica.scope, Replica.name, Replica.bytes,
                                  Replica.state, Replica.lock_cnt, Replica.created_at,
                                  Replica.updated_at]).on_conflict_ignore().execute()
    (Replica.update(lock_cnt=Replica.lock_cnt + 1, tombstone=None, updated_at=now,
                    state=Case(None, [(Replica.state == "AVAILABLE", "AVAILABLE")], "COPYING"))
     .from_(ReplicaLock)
     .where(new, _replica_on(ReplicaLock.scope, ReplicaLock.name, ReplicaLock.rse_id),
            Replica.created_at != now)          # the COPYING replicas above start at 1
     .execute())
    requests = ReplicaLock.select(current().random_id_sql(), Value(rule.id), ReplicaLock.scope,
                                  ReplicaLock.name, ReplicaLock.rse_id,
                                  Value(rule.source_replica_expression), Value(rule.activity),
                                  ReplicaLock.bytes, Value("QUEUED"), Value(now), Value(now)
                                  ).where(replicating)
    TransferRequest.insert_from(requests, [
        TransferRequest.id, TransferRequest.rule_id, TransferRequest.scope, TransferRequest.name,
        TransferRequest.dest_rse_id, TransferRequest.source_replica_expression,
        TransferRequest.activity, TransferRequest.bytes, TransferRequest.state,
        TransferRequest.created_at, TransferRequest.updated_at]).execute()
    apply_usage(rule.account, usage, now)


# -- releasing locks ---------------------------------------------------------------------------
def release_locks(rule: Rule, now: datetime.datetime, purge: bool = False) -> None:
    """Remove all locks of ``rule``: replica lock counts, tombstones, requests, usage."""
    usage = {rse_id: (-files, -(nbytes or 0)) for rse_id, files, nbytes in (
        ReplicaLock.select(ReplicaLock.rse_id, fn.COUNT(SQL("*")), fn.SUM(ReplicaLock.bytes))
        .where(ReplicaLock.rule_id == rule.id).group_by(ReplicaLock.rse_id).tuples())}
    if usage:
        last = (Replica.lock_cnt <= 1) & Replica.tombstone.is_null()
        (Replica.update(lock_cnt=Replica.lock_cnt - 1, updated_at=now,
                        tombstone=Case(None, [(last, OBSOLETE if purge else now)],
                                       Replica.tombstone))
         .from_(ReplicaLock)
         .where(ReplicaLock.rule_id == rule.id,
                _replica_on(ReplicaLock.scope, ReplicaLock.name, ReplicaLock.rse_id))
         .execute())
        ReplicaLock.delete().where(ReplicaLock.rule_id == rule.id).execute()
        apply_usage(rule.account, usage, now)
    TransferRequest.delete().where(TransferRequest.rule_id == rule.id,
                                   TransferRequest.state == "QUEUED").execute()
    DatasetLock.delete().where(DatasetLock.rule_id == rule.id).execute()


# -- account usage -----------------------------------------------------------------------------
#: First key of the per-account PostgreSQL advisory locks (:func:`lock_account_usage`).
ACCOUNT_USAGE_LOCK = 72_74_2012


def lock_account_usage(account: str) -> None:
    """Serialise the writers of one account's usage until the transaction ends: a rule's
    quota check (:class:`.placement.Quota`) and the usage its locks book are one step, and
    every other booking waits for it (PostgreSQL: a transaction-level advisory lock on the
    account, taken before any of its usage rows, so global limits, which span RSEs, hold as
    well as local ones; SQLite runs one writer at a time anyway)."""
    database = current()
    if database is not None and database.is_postgresql:
        database.peewee.execute_sql("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                                    (ACCOUNT_USAGE_LOCK, account))


def apply_usage(account: str, deltas: dict, now: datetime.datetime) -> None:
    """Add ``{rse_id: (files, bytes)}`` to the account's usage; one history row per account,
    RSE and call (``now``), however many rules the call touches."""
    deltas = sorted((rse_id, delta) for rse_id, delta in deltas.items() if any(delta))
    if deltas:
        lock_account_usage(account)
    for rse_id, (files, nbytes) in deltas:              # rows locked in key order
        where = (AccountUsage.account == account) & (AccountUsage.rse_id == rse_id)
        # One upsert: concurrent first bookings on an RSE add up instead of colliding.
        (AccountUsage.insert(account=account, rse_id=rse_id, files=files, bytes=nbytes,
                             created_at=now, updated_at=now)
         .on_conflict(conflict_target=[AccountUsage.account, AccountUsage.rse_id],
                      update={AccountUsage.files: AccountUsage.files + files,
                              AccountUsage.bytes: AccountUsage.bytes + nbytes,
                              AccountUsage.updated_at: now})
         .execute())
        row = AccountUsage.get(where)
        same_call = ((AccountUsageHistory.account == account)
                     & (AccountUsageHistory.rse_id == rse_id)
                     & (AccountUsageHistory.updated_at == now))
        if not AccountUsageHistory.update(files=row.files, bytes=row.bytes).where(
                same_call).execute():
            AccountUsageHistory.create(account=account, rse_id=rse_id, files=row.files,
                                       bytes=row.bytes, created_at=now, updated_at=now)


# -- rule counters and states ------------------------------------------------------------------
def rule_state(stored: str, ok: int, replicating: int, stuck: int) -> str:
    """A rule's state from its lock counts (states set by hand or by approval stay)."""
    if stored in FIXED_STATES:
        return stored
    if stuck:
        return "STUCK"
    if replicating:
        return "REPLICATING"
    return "OK"


def refresh_rules(rule_ids, now: datetime.datetime) -> list[str]:
    """Recount the locks of ``rule_ids``; set counters, states, dataset locks, history.

    Returns the ids of the rules that are OK afterwards."""
    rule_ids = list(rule_ids)
    counts = {}
    for chunk in chunks(rule_ids, IN_CHUNK):
        for rule_id, state, count in (ReplicaLock.select(ReplicaLock.rule_id, ReplicaLock.state,
                                                         fn.COUNT(SQL("*")))
                                      .where(ReplicaLock.rule_id.in_(chunk))
                                      .group_by(ReplicaLock.rule_id, ReplicaLock.state).tuples()):
            counts.setdefault(rule_id, {})[state] = count
    now_ok, history = [], []
    for chunk in chunks(rule_ids, IN_CHUNK):
        for rule in Rule.select().where(Rule.id.in_(chunk)):
            by_state = counts.get(rule.id, {})
            ok, rep, stuck = (by_state.get("OK", 0), by_state.get("REPLICATING", 0),
                              by_state.get("STUCK", 0))
            state = rule_state(rule.state, ok, rep, stuck)
            if (state, ok, rep, stuck) == (rule.state, rule.locks_ok_cnt,
                                           rule.locks_replicating_cnt, rule.locks_stuck_cnt):
                if state == "OK":
                    now_ok.append(rule.id)
                continue
            Rule.update(state=state, locks_ok_cnt=ok, locks_replicating_cnt=rep,
                        locks_stuck_cnt=stuck, updated_at=now,
                        stuck_at=now if state == "STUCK" else rule.stuck_at
                        ).where(Rule.id == rule.id).execute()
            if state in ("OK", "REPLICATING", "STUCK"):
                DatasetLock.update(state=state, updated_at=now).where(
                    DatasetLock.rule_id == rule.id).execute()
            rule.state, rule.locks_ok_cnt, rule.locks_replicating_cnt = state, ok, rep
            rule.locks_stuck_cnt = stuck
            history.append(history_row(rule, now))
            if state == "OK":
                now_ok.append(rule.id)
    write_history(history)
    return now_ok


HISTORY_INSERT_FIELDS = [
    RuleHistory.rule_id, RuleHistory.account, RuleHistory.scope, RuleHistory.name,
    RuleHistory.did_type, RuleHistory.state, RuleHistory.rse_expression,
                  RuleHistory.copies, RuleHistory.locks_ok_cnt,
                  RuleHistory.locks_replicating_cnt, RuleHistory.locks_stuck_cnt,
                  RuleHistory.expires_at, RuleHistory.deleted_at, RuleHistory.created_at,
                  RuleHistory.updated_at]


def history_row(rule: Rule, now: datetime.datetime, deleted: bool = False) -> tuple:
    """A RuleHistory row (``HISTORY_INSERT_FIELDS`` order): the rule as it stands now."""
    return (rule.id, rule.account, rule.scope, rule.name, rule.did_type, rule.state,
            rule.rse_expression, rule.copies, rule.locks_ok_cnt, rule.locks_replicating_cnt,
            rule.locks_stuck_cnt, rule.expires_at, now if deleted else None, now, now)


def write_history(rows: list[tuple]) -> None:
    for chunk in chunks(rows, ROWS_PER_INSERT):
        RuleHistory.insert_many(chunk, HISTORY_INSERT_FIELDS).execute()
