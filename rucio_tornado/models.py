"""The whole schema, as peewee models.

Conventions: names as Rucio spells them; enums stored by *name* (``"DATASET"``,
``"AVAILABLE"``) so rows stream without translation; ids are 32-hex-digit UUID strings;
datetimes are naive UTC; free-form values are stored as JSON text.
"""
import datetime
import uuid

import peewee as pw

from rucio_tornado.db import database


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def new_id():
    return uuid.uuid4().hex


class BaseModel(pw.Model):
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        database = database
        legacy_table_names = False


# -- accounts, identities, scopes ----------------------------------------------------------
class Account(BaseModel):
    account = pw.CharField(max_length=25, primary_key=True)
    account_type = pw.CharField(max_length=10)             # USER | GROUP | SERVICE
    status = pw.CharField(max_length=10, default="ACTIVE")  # ACTIVE | SUSPENDED | DELETED
    email = pw.CharField(max_length=255, null=True)
    suspended_at = pw.DateTimeField(null=True)
    deleted_at = pw.DateTimeField(null=True)


class AccountAttribute(BaseModel):
    account = pw.CharField(max_length=25)
    key = pw.CharField(max_length=255)
    value = pw.TextField(null=True)                         # JSON-encoded (booleans stay booleans)

    class Meta:
        primary_key = pw.CompositeKey("account", "key")


class Identity(BaseModel):
    identity = pw.CharField(max_length=2048)
    identity_type = pw.CharField(max_length=10)             # USERPASS | X509 | GSS | SSH | OIDC
    password_hash = pw.CharField(max_length=512, null=True)
    email = pw.CharField(max_length=255, null=True)
    deleted = pw.BooleanField(default=False)

    class Meta:
        primary_key = pw.CompositeKey("identity", "identity_type")


class IdentityAccount(BaseModel):
    identity = pw.CharField(max_length=2048)
    identity_type = pw.CharField(max_length=10)
    account = pw.CharField(max_length=25, index=True)
    is_default = pw.BooleanField(default=False)

    class Meta:
        primary_key = pw.CompositeKey("identity", "identity_type", "account")


class Scope(BaseModel):
    scope = pw.CharField(max_length=25, primary_key=True)
    account = pw.CharField(max_length=25, index=True)
    is_default = pw.BooleanField(default=False)
    status = pw.CharField(max_length=10, default="OPEN")     # OPEN | CLOSED | DELETED
    closed_at = pw.DateTimeField(null=True)
    deleted_at = pw.DateTimeField(null=True)


# -- storage elements ----------------------------------------------------------------------
class RSE(BaseModel):
    id = pw.CharField(max_length=32, primary_key=True, default=new_id)
    rse = pw.CharField(max_length=255, index=True)          # unique among non-deleted RSEs
    vo = pw.CharField(max_length=3, default="def")
    rse_type = pw.CharField(max_length=4, default="DISK")   # DISK | TAPE
    deterministic = pw.BooleanField(default=True)
    volatile = pw.BooleanField(default=False)
    staging_area = pw.BooleanField(default=False)
    city = pw.CharField(max_length=255, null=True)
    region_code = pw.CharField(max_length=2, null=True)
    country_name = pw.CharField(max_length=255, null=True)
    continent = pw.CharField(max_length=2, null=True)
    time_zone = pw.CharField(max_length=255, null=True)
    ISP = pw.CharField(max_length=255, null=True)
    ASN = pw.CharField(max_length=255, null=True)
    longitude = pw.FloatField(null=True)
    latitude = pw.FloatField(null=True)
    availability_read = pw.BooleanField(default=True)
    availability_write = pw.BooleanField(default=True)
    availability_delete = pw.BooleanField(default=True)
    qos_class = pw.CharField(max_length=64, null=True)
    lfn2pfn_algorithm = pw.CharField(max_length=64, default="hash")
    verify_checksum = pw.BooleanField(default=True)
    deleted = pw.BooleanField(default=False)
    deleted_at = pw.DateTimeField(null=True)


#: One RSE per name, deleted ones included (their names stay taken, as in the real server): a
#: unique index, so two concurrent ``add_rse`` of one name cannot both succeed.
RSE.add_index(RSE.index(RSE.rse, unique=True, name="rse_name_unique"))


class RSEAttribute(BaseModel):
    rse_id = pw.CharField(max_length=32)
    key = pw.CharField(max_length=255, index=True)
    value = pw.TextField(null=True)                         # JSON-encoded: "2" -> '"2"', true -> 'true'

    class Meta:
        primary_key = pw.CompositeKey("rse_id", "key")


class RSEProtocol(BaseModel):
    rse_id = pw.CharField(max_length=32, index=True)
    scheme = pw.CharField(max_length=255)
    hostname = pw.CharField(max_length=255, default="")
    port = pw.IntegerField(default=0)
    prefix = pw.CharField(max_length=1024, null=True)
    impl = pw.CharField(max_length=255)
    read_lan = pw.IntegerField(null=True)          # NULL = not supported, else priority (0 first)
    write_lan = pw.IntegerField(null=True)
    delete_lan = pw.IntegerField(null=True)
    read_wan = pw.IntegerField(null=True)
    write_wan = pw.IntegerField(null=True)
    delete_wan = pw.IntegerField(null=True)
    third_party_copy_read = pw.IntegerField(null=True)
    third_party_copy_write = pw.IntegerField(null=True)
    extended_attributes = pw.TextField(null=True)           # JSON

    class Meta:
        indexes = ((("rse_id", "scheme", "hostname", "port"), True),)


class RSEDistance(BaseModel):
    src_rse_id = pw.CharField(max_length=32)
    dest_rse_id = pw.CharField(max_length=32, index=True)
    distance = pw.IntegerField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("src_rse_id", "dest_rse_id")


class RSEUsage(BaseModel):
    rse_id = pw.CharField(max_length=32)
    source = pw.CharField(max_length=255)
    used = pw.BigIntegerField(null=True)
    free = pw.BigIntegerField(null=True)
    files = pw.BigIntegerField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("rse_id", "source")


class RSEUsageHistory(BaseModel):
    rse_id = pw.CharField(max_length=32)
    source = pw.CharField(max_length=255)
    used = pw.BigIntegerField(null=True)
    free = pw.BigIntegerField(null=True)
    files = pw.BigIntegerField(null=True)

    class Meta:
        indexes = ((("rse_id", "source", "updated_at"), False),)


class RSELimit(BaseModel):
    rse_id = pw.CharField(max_length=32)
    name = pw.CharField(max_length=255)
    value = pw.BigIntegerField()

    class Meta:
        primary_key = pw.CompositeKey("rse_id", "name")


class AccountLimit(BaseModel):
    """Local limit of an account on one RSE, in bytes (-1 = unlimited)."""
    account = pw.CharField(max_length=25)
    rse_id = pw.CharField(max_length=32)
    bytes = pw.BigIntegerField()

    class Meta:
        primary_key = pw.CompositeKey("account", "rse_id")


class AccountGlobalLimit(BaseModel):
    """Global limit of an account over the RSEs of an RSE expression (-1 = unlimited)."""
    account = pw.CharField(max_length=25)
    rse_expression = pw.CharField(max_length=3000)
    bytes = pw.BigIntegerField()

    class Meta:
        primary_key = pw.CompositeKey("account", "rse_expression")


class AccountUsage(BaseModel):
    """Bytes and files locked by an account's rules on one RSE (maintained by the rules)."""
    account = pw.CharField(max_length=25)
    rse_id = pw.CharField(max_length=32, index=True)
    files = pw.BigIntegerField(default=0)
    bytes = pw.BigIntegerField(default=0)

    class Meta:
        primary_key = pw.CompositeKey("account", "rse_id")


class AccountUsageHistory(BaseModel):
    account = pw.CharField(max_length=25)
    rse_id = pw.CharField(max_length=32)
    files = pw.BigIntegerField(default=0)
    bytes = pw.BigIntegerField(default=0)

    class Meta:
        indexes = ((("account", "rse_id", "updated_at"), False),)


# -- data identifiers ----------------------------------------------------------------------
class DID(BaseModel):
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    did_type = pw.CharField(max_length=10)                  # FILE | DATASET | CONTAINER
    account = pw.CharField(max_length=25)
    is_open = pw.BooleanField(null=True)                    # collections only
    monotonic = pw.BooleanField(default=False)
    hidden = pw.BooleanField(default=False)
    obsolete = pw.BooleanField(default=False)
    complete = pw.BooleanField(null=True)
    is_new = pw.BooleanField(default=True)                  # not yet seen by the subscription evaluator
    availability = pw.CharField(max_length=10, default="AVAILABLE")
    suppressed = pw.BooleanField(default=False)
    bytes = pw.BigIntegerField(null=True)
    length = pw.BigIntegerField(null=True)
    md5 = pw.CharField(max_length=32, null=True)
    adler32 = pw.CharField(max_length=8, null=True)
    expired_at = pw.DateTimeField(null=True)
    purge_replicas = pw.BooleanField(default=True)
    deleted_at = pw.DateTimeField(null=True)
    events = pw.BigIntegerField(null=True)
    guid = pw.CharField(max_length=36, null=True, index=True)
    project = pw.CharField(max_length=50, null=True)
    datatype = pw.CharField(max_length=50, null=True)
    run_number = pw.IntegerField(null=True)
    stream_name = pw.CharField(max_length=70, null=True)
    prod_step = pw.CharField(max_length=50, null=True)
    version = pw.CharField(max_length=50, null=True)
    campaign = pw.CharField(max_length=50, null=True)
    task_id = pw.IntegerField(null=True)
    panda_id = pw.IntegerField(null=True)
    lumiblocknr = pw.IntegerField(null=True)
    provenance = pw.CharField(max_length=2, null=True)
    phys_group = pw.CharField(max_length=25, null=True)
    transient = pw.BooleanField(default=False)
    accessed_at = pw.DateTimeField(null=True)
    closed_at = pw.DateTimeField(null=True)
    eol_at = pw.DateTimeField(null=True)
    is_archive = pw.BooleanField(null=True)
    constituent = pw.BooleanField(null=True)
    access_cnt = pw.IntegerField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("scope", "name")
        indexes = ((("scope", "did_type", "name"), False), (("is_new", "did_type"), False))


class DIDMeta(BaseModel):
    """Free-form metadata: one row per (DID, key). ``value`` is JSON; ``number`` its float."""
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    key = pw.CharField(max_length=255)
    value = pw.TextField(null=True)
    number = pw.DoubleField(null=True)                       # for .gt/.lt filters

    class Meta:
        primary_key = pw.CompositeKey("scope", "name", "key")
        indexes = ((("key", "value"), False), (("key", "number"), False))


class Attachment(BaseModel):
    """The columns of an attachment, shared by :class:`Content` and its history (no table)."""
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    child_scope = pw.CharField(max_length=25)
    child_name = pw.CharField(max_length=250)
    did_type = pw.CharField(max_length=10)                  # the parent's type
    child_type = pw.CharField(max_length=10)
    bytes = pw.BigIntegerField(null=True)
    adler32 = pw.CharField(max_length=8, null=True)
    md5 = pw.CharField(max_length=32, null=True)


class Content(Attachment):
    """An attachment: child ``(child_scope, child_name)`` inside ``(scope, name)``."""
    guid = pw.CharField(max_length=36, null=True)
    events = pw.BigIntegerField(null=True)
    rule_evaluation = pw.BooleanField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("scope", "name", "child_scope", "child_name")
        indexes = ((("child_scope", "child_name"), False),)


class ContentHistory(Attachment):
    """A detached attachment (``/dids/{s}/{n}/dids/history``)."""
    deleted_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("scope", "name"), False),)


class ArchiveContent(BaseModel):
    """A constituent file ``(child_scope, child_name)`` inside the archive file ``(scope, name)``."""
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    child_scope = pw.CharField(max_length=25)
    child_name = pw.CharField(max_length=250)
    bytes = pw.BigIntegerField(null=True)
    adler32 = pw.CharField(max_length=8, null=True)
    md5 = pw.CharField(max_length=32, null=True)
    guid = pw.CharField(max_length=36, null=True)
    length = pw.BigIntegerField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("scope", "name", "child_scope", "child_name")
        indexes = ((("child_scope", "child_name"), False),)


class MetaKey(BaseModel):
    """Metadata conventions (``/meta/`` and ``/meta_conventions/`` share this table)."""
    key = pw.CharField(max_length=255, primary_key=True)
    key_type = pw.CharField(max_length=10, default="ALL")   # ALL|COLLECTION|CONTAINER|DATASET|FILE|DERIVED
    value_type = pw.CharField(max_length=255, null=True)
    value_regexp = pw.CharField(max_length=255, null=True)
    default_value = pw.TextField(null=True)


class MetaValue(BaseModel):
    key = pw.CharField(max_length=255)
    value = pw.CharField(max_length=255)

    class Meta:
        primary_key = pw.CompositeKey("key", "value")


# -- replicas ------------------------------------------------------------------------------
class Replica(BaseModel):
    rse_id = pw.CharField(max_length=32)
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    bytes = pw.BigIntegerField()
    md5 = pw.CharField(max_length=32, null=True)
    adler32 = pw.CharField(max_length=8, null=True)
    path = pw.CharField(max_length=1024, null=True)         # non-deterministic RSEs
    # AVAILABLE | UNAVAILABLE | COPYING | BEING_DELETED | BAD | TEMPORARY_UNAVAILABLE
    state = pw.CharField(max_length=24, default="AVAILABLE")
    lock_cnt = pw.IntegerField(default=0)
    tombstone = pw.DateTimeField(null=True)
    accessed_at = pw.DateTimeField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("scope", "name", "rse_id")
        indexes = ((("rse_id", "scope", "name"), False), (("tombstone",), False))


class BadReplica(BaseModel):
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    rse_id = pw.CharField(max_length=32)
    reason = pw.TextField(null=True)
    state = pw.CharField(max_length=24, default="BAD")      # BAD | SUSPICIOUS | RECOVERED | ...
    account = pw.CharField(max_length=25, null=True)
    bytes = pw.BigIntegerField(null=True)
    expires_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("scope", "name", "rse_id"), False),)


class BadPFN(BaseModel):
    path = pw.CharField(max_length=2048)
    state = pw.CharField(max_length=24)
    reason = pw.TextField(null=True)
    account = pw.CharField(max_length=25, null=True)
    expires_at = pw.DateTimeField(null=True)


class CollectionReplica(BaseModel):
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    did_type = pw.CharField(max_length=10)
    rse_id = pw.CharField(max_length=32, index=True)
    bytes = pw.BigIntegerField(default=0)
    length = pw.BigIntegerField(default=0)
    available_bytes = pw.BigIntegerField(default=0)
    available_replicas_cnt = pw.BigIntegerField(default=0)
    state = pw.CharField(max_length=24, default="UNAVAILABLE")
    accessed_at = pw.DateTimeField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("scope", "name", "rse_id")


# -- rules, locks, transfer requests, subscriptions ------------------------------------------
class Rule(BaseModel):
    id = pw.CharField(max_length=32, primary_key=True, default=new_id)
    subscription_id = pw.CharField(max_length=32, null=True, index=True)
    account = pw.CharField(max_length=25, index=True)
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    did_type = pw.CharField(max_length=10)
    state = pw.CharField(max_length=20, default="REPLICATING")  # REPLICATING|OK|STUCK|SUSPENDED|WAITING_APPROVAL|INJECT
    error = pw.CharField(max_length=255, null=True)
    rse_expression = pw.CharField(max_length=3000)
    copies = pw.IntegerField(default=1)
    expires_at = pw.DateTimeField(null=True, index=True)
    weight = pw.CharField(max_length=255, null=True)
    locked = pw.BooleanField(default=False)
    locks_ok_cnt = pw.BigIntegerField(default=0)
    locks_replicating_cnt = pw.BigIntegerField(default=0)
    locks_stuck_cnt = pw.BigIntegerField(default=0)
    source_replica_expression = pw.CharField(max_length=255, null=True)
    activity = pw.CharField(max_length=50, default="User Subscriptions")
    grouping = pw.CharField(max_length=10, default="DATASET")  # ALL | DATASET | NONE
    notification = pw.CharField(max_length=10, default="NO")   # YES | NO | CLOSE | PROGRESS
    stuck_at = pw.DateTimeField(null=True)
    purge_replicas = pw.BooleanField(default=False)
    ignore_availability = pw.BooleanField(default=False)
    ignore_account_limit = pw.BooleanField(default=False)
    priority = pw.IntegerField(default=3)
    comments = pw.CharField(max_length=255, null=True)
    child_rule_id = pw.CharField(max_length=32, null=True)
    eol_at = pw.DateTimeField(null=True)
    split_container = pw.BooleanField(default=False)
    meta = pw.TextField(null=True)                            # JSON
    deleted_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("scope", "name"), False),)


class _RuleExpressionKey(pw.Node):
    """``rse_expression`` in the rules' unique index: its md5 on PostgreSQL, whose index
    entries must stay under ~2.7 kB (the column holds 3000 characters); the text on SQLite."""

    def __sql__(self, ctx):
        column = pw.Entity("rse_expression")
        return ctx.sql(pw.fn.md5(column) if ctx.state.for_update else column)


#: One rule per DID, account, RSE expression and copies, deleted (expiring) rules included,
#: as the real server's RULES_SC_NA_AC_RS_CO_UQ_IDX: concurrent identical rules cannot both
#: be stored (the loser gets DuplicateRule).
Rule.add_index(Rule.index(Rule.scope, Rule.name, Rule.account, _RuleExpressionKey(),
                          Rule.copies, unique=True, name="rules_did_account_expression_copies"))


class RuleHistory(BaseModel):
    """A snapshot of a rule written on every change (``/rules/.../history``)."""
    rule_id = pw.CharField(max_length=32, index=True)
    account = pw.CharField(max_length=25)
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    did_type = pw.CharField(max_length=10)
    state = pw.CharField(max_length=20)
    rse_expression = pw.CharField(max_length=3000)
    copies = pw.IntegerField()
    locks_ok_cnt = pw.BigIntegerField(default=0)
    locks_replicating_cnt = pw.BigIntegerField(default=0)
    locks_stuck_cnt = pw.BigIntegerField(default=0)
    expires_at = pw.DateTimeField(null=True)
    deleted_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("scope", "name"), False),)


class Lock(BaseModel):
    """The columns of a rule's lock on one DID at one RSE, shared by file and dataset locks
    (no table)."""
    rule_id = pw.CharField(max_length=32)
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    rse_id = pw.CharField(max_length=32)
    account = pw.CharField(max_length=25)
    bytes = pw.BigIntegerField(null=True)
    state = pw.CharField(max_length=12, default="REPLICATING")  # REPLICATING | OK | STUCK

    class Meta:
        primary_key = pw.CompositeKey("rule_id", "scope", "name", "rse_id")


class ReplicaLock(Lock):
    class Meta:
        indexes = ((("scope", "name", "rse_id"), False), (("rse_id", "state"), False))


class DatasetLock(Lock):
    length = pw.BigIntegerField(null=True)

    class Meta:
        indexes = ((("scope", "name"), False), (("rse_id",), False))


class TransferRequest(BaseModel):
    """A queued transfer for a replica a rule is waiting for (we never perform transfers)."""
    id = pw.CharField(max_length=32, primary_key=True, default=new_id)
    rule_id = pw.CharField(max_length=32, index=True)
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    dest_rse_id = pw.CharField(max_length=32)
    source_replica_expression = pw.CharField(max_length=255, null=True)
    activity = pw.CharField(max_length=50, null=True)
    bytes = pw.BigIntegerField(null=True)
    state = pw.CharField(max_length=12, default="QUEUED")   # QUEUED | DONE | FAILED

    class Meta:
        indexes = ((("scope", "name", "dest_rse_id"), False),)


class Subscription(BaseModel):
    id = pw.CharField(max_length=32, primary_key=True, default=new_id)
    name = pw.CharField(max_length=64)
    account = pw.CharField(max_length=25)
    filter = pw.TextField()                                  # JSON string, as the client sends it
    replication_rules = pw.TextField()                       # JSON string
    policyid = pw.IntegerField(default=3)
    state = pw.CharField(max_length=12, default="ACTIVE")    # ACTIVE | INACTIVE | NEW | UPDATED | BROKEN
    last_processed = pw.DateTimeField(null=True)
    lifetime = pw.DateTimeField(null=True)
    comments = pw.CharField(max_length=4000, null=True)
    retroactive = pw.BooleanField(default=False)
    expired_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("account", "name"), True),)


# -- lifetime exceptions, transfer limits -------------------------------------------------------
class LifetimeException(BaseModel):
    """One DID of a request to extend the lifetime model's end of life (``exception_id`` is
    shared by the DIDs requested together)."""
    exception_id = pw.CharField(max_length=32, default=new_id)
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    did_type = pw.CharField(max_length=10)
    account = pw.CharField(max_length=25)
    pattern = pw.CharField(max_length=255, null=True)
    comments = pw.CharField(max_length=4000, null=True)
    state = pw.CharField(max_length=10, default="WAITING")   # WAITING | APPROVED | REJECTED
    expires_at = pw.DateTimeField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("exception_id", "scope", "name")
        indexes = ((("state",), False),)


class TransferLimit(BaseModel):
    """A limit on transfers to (or from) the RSEs of an expression, per activity."""
    id = pw.CharField(max_length=32, primary_key=True, default=new_id)
    rse_expression = pw.CharField(max_length=3000)
    activity = pw.CharField(max_length=50, null=True)
    direction = pw.CharField(max_length=12, default="DESTINATION")   # DESTINATION | SOURCE
    max_transfers = pw.BigIntegerField(null=True)
    volume = pw.BigIntegerField(null=True)
    deadline = pw.BigIntegerField(null=True)
    strategy = pw.CharField(max_length=25, null=True)
    transfers = pw.BigIntegerField(null=True)
    waitings = pw.BigIntegerField(null=True)
# -- operations: configuration table, heartbeats, traces -----------------------------------
class ConfigOption(BaseModel):
    """One ``section``/``option`` of the database configuration (``/config``); values as text."""
    section = pw.CharField(max_length=128)
    opt = pw.CharField(max_length=128)
    value = pw.CharField(max_length=4000)

    class Meta:
        primary_key = pw.CompositeKey("section", "opt")


class ConfigHistory(BaseModel):
    """The value an option had before it was changed or removed."""
    id = pw.BigAutoField()
    section = pw.CharField(max_length=128)
    opt = pw.CharField(max_length=128)
    value = pw.CharField(max_length=4000, null=True)


class Heartbeat(BaseModel):
    """The last beat of one process (thread) of an executable on a host."""
    executable = pw.CharField(max_length=64)                # SHA-256 of the readable name
    readable = pw.CharField(max_length=4000, null=True)
    hostname = pw.CharField(max_length=128)
    pid = pw.IntegerField()
    thread_id = pw.BigIntegerField(default=0)
    thread_name = pw.CharField(max_length=64, null=True)
    payload = pw.CharField(max_length=3000, null=True)

    class Meta:
        primary_key = pw.CompositeKey("executable", "hostname", "pid", "thread_id")


class Trace(BaseModel):
    """A trace report (``/traces/``, ``/nongrid_traces/``), kept up to ``trace_retention``."""
    id = pw.BigAutoField()
    kind = pw.CharField(max_length=16)                       # traces | nongrid
    event_type = pw.CharField(max_length=64, null=True)
    payload = pw.TextField()                                 # the JSON report, as stored


# -- QoS policies of RSEs (core/qos_policies.py) ----------------------------------------------
class RSEQoSPolicy(BaseModel):
    rse_id = pw.CharField(max_length=32)
    qos_policy = pw.CharField(max_length=64)

    class Meta:
        primary_key = pw.CompositeKey("rse_id", "qos_policy")


# -- authentication ---------------------------------------------------------------------------
class SSHChallenge(BaseModel):
    """A challenge of ``GET /auth/ssh_challenge_token``: signed once by the client's SSH key,
    deleted when used (in the database so that every process agrees)."""
    challenge = pw.CharField(max_length=128, primary_key=True)
    account = pw.CharField(max_length=25)
    expires_at = pw.DateTimeField()

    class Meta:
        indexes = ((("account", "expires_at"), False),)


ALL_MODELS = [
    Account, AccountAttribute, Identity, IdentityAccount, Scope,
    RSE, RSEAttribute, RSEProtocol, RSEDistance, RSEUsage, RSEUsageHistory, RSELimit,
    AccountLimit, AccountGlobalLimit, AccountUsage, AccountUsageHistory,
    DID, DIDMeta, Content, ContentHistory, ArchiveContent, MetaKey, MetaValue,
    Replica, BadReplica, BadPFN, CollectionReplica,
    Rule, RuleHistory, ReplicaLock, DatasetLock, TransferRequest, Subscription,
    LifetimeException, TransferLimit,
    ConfigOption, ConfigHistory, Heartbeat, Trace,
    RSEQoSPolicy,
    SSHChallenge,
]


class SchemaVersion(BaseModel):
    """One applied schema migration (``rucio_tornado.migrations``); not a catalog table."""
    version = pw.IntegerField(primary_key=True)
    description = pw.CharField(max_length=255)
    applied_at = pw.DateTimeField()


# -- quarantined replicas and the opendata catalog (core/quarantine.py, core/opendata.py) ------
class QuarantinedReplica(BaseModel):
    """A file found on an RSE that has no replica in the catalog (``/replicas/quarantine``)."""
    rse_id = pw.CharField(max_length=32)
    path = pw.CharField(max_length=1024)
    bytes = pw.BigIntegerField(null=True)
    md5 = pw.CharField(max_length=32, null=True)
    adler32 = pw.CharField(max_length=8, null=True)
    scope = pw.CharField(max_length=25, null=True)
    name = pw.CharField(max_length=250, null=True)

    class Meta:
        primary_key = pw.CompositeKey("rse_id", "path")


class OpenDataDID(BaseModel):
    """A DID in the opendata catalog; state D (draft), P (public) or S (suspended)."""
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    state = pw.CharField(max_length=1, default="D")

    class Meta:
        primary_key = pw.CompositeKey("scope", "name")
        indexes = ((("state", "updated_at"), False),)


class OpenDataDOI(BaseModel):
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    doi = pw.CharField(max_length=255, unique=True)

    class Meta:
        primary_key = pw.CompositeKey("scope", "name")


class OpenDataRecord(BaseModel):
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    record_id = pw.BigIntegerField(unique=True)

    class Meta:
        primary_key = pw.CompositeKey("scope", "name")


class OpenDataMeta(BaseModel):
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    meta = pw.TextField()                                    # JSON object

    class Meta:
        primary_key = pw.CompositeKey("scope", "name")


ALL_MODELS.extend([QuarantinedReplica, OpenDataDID, OpenDataDOI, OpenDataRecord, OpenDataMeta])


# -- followers of DIDs (core/dids/extras.py) ---------------------------------------------------
class DIDFollower(BaseModel):
    """An account following a DID (``/dids/{scope}/{name}/follow``; Rucio's ``dids_followed``)."""
    scope = pw.CharField(max_length=25)
    name = pw.CharField(max_length=250)
    account = pw.CharField(max_length=25)
    did_type = pw.CharField(max_length=10)

    class Meta:
        primary_key = pw.CompositeKey("scope", "name", "account")
        indexes = ((("account",), False),)


ALL_MODELS.append(DIDFollower)


# -- OIDC browser and polling logins (core/auth/oidc_flows.py) -------------------------------
class OIDCLogin(BaseModel):
    """One login through the identity provider (Rucio's ``oauth_requests``): ``state`` and
    ``nonce`` tie the IdP's answer to it; ``access_msg`` is the code in the URL the client is
    given (and later the fetch code); ``token`` is our token once granted, kept until
    ``expires_at``; ``refresh_token`` (the IdP's, when it gave one) serves /auth/oidc_refresh
    of the token whose ``token_jti`` it holds, until ``refresh_expires_at``."""
    state = pw.CharField(max_length=64, primary_key=True)
    nonce = pw.CharField(max_length=64)
    access_msg = pw.CharField(max_length=80, unique=True)
    account = pw.CharField(max_length=25, null=True)
    polling = pw.BooleanField(default=False)
    auth_url = pw.TextField()
    token = pw.TextField(null=True)
    token_jti = pw.CharField(max_length=32, null=True, index=True)
    refresh_token = pw.TextField(null=True)
    expires_at = pw.DateTimeField(index=True)
    refresh_expires_at = pw.DateTimeField(null=True)   # the refresh token kept until then


ALL_MODELS.append(OIDCLogin)


# -- failed password logins, shared by every server process (core/auth/throttle.py) -----------
class LoginFailure(BaseModel):
    """The failed logins of one identity or client address (``key``: ``identity:<sha256>`` /
    ``address:<ip>``) in the window that began with the first of them at ``window_start``."""
    key = pw.CharField(max_length=80, primary_key=True)
    window_start = pw.DateTimeField(index=True)
    failures = pw.IntegerField(default=0)


ALL_MODELS.append(LoginFailure)
