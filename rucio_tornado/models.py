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


def account_column(**options):
    """An account name (25 characters, as Rucio's)."""
    return pw.CharField(max_length=25, **options)


def scope_column(**options):
    """A scope name (25 characters, as Rucio's)."""
    return pw.CharField(max_length=25, **options)


def name_column(**options):
    """A DID name (250 characters, as Rucio's)."""
    return pw.CharField(max_length=250, **options)


def id_column(**options):
    """An id: 32 hex digits of a UUID (RSEs, rules, subscriptions, …)."""
    return pw.CharField(max_length=32, **options)


def enum_column(**options):
    """An enum stored by its name (``DATASET``, ``ACTIVE``, …), up to 10 characters."""
    return pw.CharField(max_length=10, **options)


def optional_text(length):
    """Text of at most ``length`` characters; NULL when not given."""
    return pw.CharField(max_length=length, null=True)


def flag(default=False):
    """A yes/no column, never NULL."""
    return pw.BooleanField(default=default)


def when(**options):
    """The time something happened or is due; NULL until then."""
    return pw.DateTimeField(null=True, **options)


def priority():
    """A protocol's priority for one operation: NULL = not supported, else 0 first."""
    return pw.IntegerField(null=True)


class BaseModel(pw.Model):
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        database = database
        legacy_table_names = False


def keyed_by(*columns, indexes=None):
    """The ``Meta`` of a table whose primary key is ``columns`` (and that has ``indexes``)."""
    options = {"primary_key": pw.CompositeKey(*columns)}
    if indexes is not None:
        options["indexes"] = indexes
    return type("Meta", (), options)


class DIDKeyed(BaseModel):
    """A table about one DID: its key comes first (no table of its own)."""
    scope = scope_column()
    name = name_column()


class ChildKeyed(DIDKeyed):
    """A table of DIDs inside other DIDs: the parent's key, then the child's (no table)."""
    child_scope = scope_column()
    child_name = name_column()


class Sized(BaseModel):
    """A file's size and checksums, copied where a listing needs them (no table)."""
    bytes = pw.BigIntegerField(null=True)
    adler32 = optional_text(8)
    md5 = optional_text(32)


# -- accounts, identities, scopes ----------------------------------------------------------
class Account(BaseModel):
    account = account_column(primary_key=True)
    account_type = enum_column()             # USER | GROUP | SERVICE
    status = enum_column(default="ACTIVE")  # ACTIVE | SUSPENDED | DELETED
    email = optional_text(255)
    suspended_at = when()
    deleted_at = when()


class AccountAttribute(BaseModel):
    account = account_column()
    key = pw.CharField(max_length=255)
    value = pw.TextField(null=True)                         # JSON-encoded (booleans stay booleans)

    Meta = keyed_by("account", "key")


class Identity(BaseModel):
    identity = pw.CharField(max_length=2048)
    identity_type = enum_column()             # USERPASS | X509 | GSS | SSH | OIDC
    password_hash = optional_text(512)
    email = optional_text(255)
    deleted = flag()

    Meta = keyed_by("identity", "identity_type")


class IdentityAccount(BaseModel):
    identity = pw.CharField(max_length=2048)
    identity_type = enum_column()
    account = account_column(index=True)
    is_default = flag()

    Meta = keyed_by("identity", "identity_type", "account")


class Scope(BaseModel):
    scope = scope_column(primary_key=True)
    account = account_column(index=True)
    is_default = flag()
    status = enum_column(default="OPEN")     # OPEN | CLOSED | DELETED
    closed_at = when()
    deleted_at = when()


# -- storage elements ----------------------------------------------------------------------
class RSE(BaseModel):
    id = id_column(primary_key=True, default=new_id)
    rse = pw.CharField(max_length=255, index=True)          # unique among non-deleted RSEs
    vo = pw.CharField(max_length=3, default="def")
    rse_type = pw.CharField(max_length=4, default="DISK")   # DISK | TAPE
    deterministic = flag(True)
    volatile = flag()
    staging_area = flag()
    longitude = pw.FloatField(null=True)
    latitude = pw.FloatField(null=True)
    city = optional_text(255)
    region_code = optional_text(2)
    country_name = optional_text(255)
    continent = optional_text(2)
    time_zone = optional_text(255)
    ISP = optional_text(255)
    ASN = optional_text(255)
    availability_read = flag(True)
    availability_write = flag(True)
    availability_delete = flag(True)
    qos_class = optional_text(64)
    lfn2pfn_algorithm = pw.CharField(max_length=64, default="hash")
    verify_checksum = flag(True)
    deleted = flag()
    deleted_at = when()


#: One RSE per name, deleted ones included (their names stay taken, as in the real server): a
#: unique index, so two concurrent ``add_rse`` of one name cannot both succeed.
RSE.add_index(RSE.index(RSE.rse, unique=True, name="rse_name_unique"))


class RSEAttribute(BaseModel):
    rse_id = id_column()
    key = pw.CharField(max_length=255, index=True)
    value = pw.TextField(null=True)                         # JSON-encoded: "2" -> '"2"', true -> 'true'

    Meta = keyed_by("rse_id", "key")


class RSEProtocol(BaseModel):
    rse_id = id_column(index=True)
    scheme = pw.CharField(max_length=255)
    hostname = pw.CharField(max_length=255, default="")
    port = pw.IntegerField(default=0)
    prefix = optional_text(1024)
    impl = pw.CharField(max_length=255)
    read_lan = priority()
    write_lan = priority()
    delete_lan = priority()
    read_wan = priority()
    write_wan = priority()
    delete_wan = priority()
    third_party_copy_read = priority()
    third_party_copy_write = priority()
    extended_attributes = pw.TextField(null=True)           # JSON

    class Meta:
        indexes = ((("rse_id", "scheme", "hostname", "port"), True),)


class RSEDistance(BaseModel):
    src_rse_id = id_column()
    dest_rse_id = id_column(index=True)
    distance = pw.IntegerField(null=True)

    Meta = keyed_by("src_rse_id", "dest_rse_id")


class RSEUsageColumns(BaseModel):
    """What one source (``storage``, ``rucio``, …) reports of an RSE's space (no table)."""
    rse_id = id_column()
    source = pw.CharField(max_length=255)
    used = pw.BigIntegerField(null=True)
    free = pw.BigIntegerField(null=True)
    files = pw.BigIntegerField(null=True)


class RSEUsage(RSEUsageColumns):
    Meta = keyed_by("rse_id", "source")


class RSEUsageHistory(RSEUsageColumns):
    class Meta:
        indexes = ((("rse_id", "source", "updated_at"), False),)


class RSELimit(BaseModel):
    rse_id = id_column()
    name = pw.CharField(max_length=255)
    value = pw.BigIntegerField()

    Meta = keyed_by("rse_id", "name")


class AccountBytesLimit(BaseModel):
    """How many bytes an account may have somewhere, -1 = unlimited (no table)."""
    account = account_column()
    bytes = pw.BigIntegerField()


class AccountLimit(AccountBytesLimit):
    """The local limit: on one RSE."""
    rse_id = id_column()
    Meta = keyed_by("account", "rse_id")


class AccountGlobalLimit(AccountBytesLimit):
    """The global limit: over the RSEs of an RSE expression."""
    rse_expression = pw.CharField(max_length=3000)
    Meta = keyed_by("account", "rse_expression")


class AccountUsageColumns(BaseModel):
    """Bytes and files locked by an account's rules on one RSE (no table)."""
    account = account_column()
    rse_id = id_column()
    files = pw.BigIntegerField(default=0)
    bytes = pw.BigIntegerField(default=0)


class AccountUsage(AccountUsageColumns):
    """The current usage (maintained by the rules)."""
    Meta = keyed_by("account", "rse_id", indexes=((("rse_id",), False),))


class AccountUsageHistory(AccountUsageColumns):
    class Meta:
        indexes = ((("account", "rse_id", "updated_at"), False),)


# -- data identifiers ----------------------------------------------------------------------
class DID(DIDKeyed, Sized):
    did_type = enum_column()                  # FILE | DATASET | CONTAINER
    account = account_column()
    is_open = pw.BooleanField(null=True)                    # collections only
    monotonic = flag()
    hidden = flag()
    obsolete = flag()
    complete = pw.BooleanField(null=True)
    is_new = flag(True)                  # not yet seen by the subscription evaluator
    availability = enum_column(default="AVAILABLE")
    suppressed = flag()
    length = pw.BigIntegerField(null=True)
    expired_at = when()
    purge_replicas = flag(True)
    deleted_at = when()
    events = pw.BigIntegerField(null=True)
    guid = pw.CharField(max_length=36, null=True, index=True)
    project = optional_text(50)
    datatype = optional_text(50)
    run_number = pw.IntegerField(null=True)
    stream_name = optional_text(70)
    prod_step = optional_text(50)
    version = optional_text(50)
    campaign = optional_text(50)
    task_id = pw.IntegerField(null=True)
    panda_id = pw.IntegerField(null=True)
    lumiblocknr = pw.IntegerField(null=True)
    provenance = optional_text(2)
    phys_group = optional_text(25)
    transient = flag()
    accessed_at = when()
    closed_at = when()
    eol_at = when()
    is_archive = pw.BooleanField(null=True)
    constituent = pw.BooleanField(null=True)
    access_cnt = pw.IntegerField(null=True)

    Meta = keyed_by("scope", "name",
                    indexes=((("scope", "did_type", "name"), False), (("is_new", "did_type"), False)))


class DIDMeta(DIDKeyed):
    """Free-form metadata: one row per (DID, key). ``value`` is JSON; ``number`` its float."""
    key = pw.CharField(max_length=255)
    value = pw.TextField(null=True)
    number = pw.DoubleField(null=True)                       # for .gt/.lt filters

    Meta = keyed_by("scope", "name", "key",
                    indexes=((("key", "value"), False), (("key", "number"), False)))


class Attachment(ChildKeyed, Sized):
    """The columns of an attachment, shared by :class:`Content` and its history (no table)."""
    did_type = enum_column()                  # the parent's type
    child_type = enum_column()


class Content(Attachment):
    """An attachment: child ``(child_scope, child_name)`` inside ``(scope, name)``."""
    guid = optional_text(36)
    events = pw.BigIntegerField(null=True)
    rule_evaluation = pw.BooleanField(null=True)

    Meta = keyed_by("scope", "name", "child_scope", "child_name",
                    indexes=((("child_scope", "child_name"), False),))


class ContentHistory(Attachment):
    """A detached attachment (``/dids/{s}/{n}/dids/history``)."""
    deleted_at = when()

    class Meta:
        indexes = ((("scope", "name"), False),)


class ArchiveContent(ChildKeyed, Sized):
    """A constituent file ``(child_scope, child_name)`` inside the archive file ``(scope, name)``."""
    guid = optional_text(36)
    length = pw.BigIntegerField(null=True)

    Meta = keyed_by("scope", "name", "child_scope", "child_name",
                    indexes=((("child_scope", "child_name"), False),))


class MetaKey(BaseModel):
    """Metadata conventions (``/meta/`` and ``/meta_conventions/`` share this table)."""
    key = pw.CharField(max_length=255, primary_key=True)
    key_type = enum_column(default="ALL")   # ALL|COLLECTION|CONTAINER|DATASET|FILE|DERIVED
    value_type = optional_text(255)
    value_regexp = optional_text(255)
    default_value = pw.TextField(null=True)


class MetaValue(BaseModel):
    key = pw.CharField(max_length=255)
    value = pw.CharField(max_length=255)

    Meta = keyed_by("key", "value")


# -- replicas ------------------------------------------------------------------------------
class Replica(BaseModel):
    rse_id = id_column()
    scope = scope_column()
    name = name_column()
    bytes = pw.BigIntegerField()
    md5 = optional_text(32)
    adler32 = optional_text(8)
    path = optional_text(1024)         # non-deterministic RSEs
    # AVAILABLE | UNAVAILABLE | COPYING | BEING_DELETED | BAD | TEMPORARY_UNAVAILABLE
    state = pw.CharField(max_length=24, default="AVAILABLE")
    lock_cnt = pw.IntegerField(default=0)
    tombstone = when()
    accessed_at = when()

    Meta = keyed_by("scope", "name", "rse_id",
                    indexes=((("rse_id", "scope", "name"), False), (("tombstone",), False)))


class BadReplica(DIDKeyed):
    rse_id = id_column()
    reason = pw.TextField(null=True)
    state = pw.CharField(max_length=24, default="BAD")      # BAD | SUSPICIOUS | RECOVERED | ...
    account = account_column(null=True)
    bytes = pw.BigIntegerField(null=True)
    expires_at = when()

    class Meta:
        indexes = ((("scope", "name", "rse_id"), False),)


class BadPFN(BaseModel):
    path = pw.CharField(max_length=2048)
    state = pw.CharField(max_length=24)
    reason = pw.TextField(null=True)
    account = account_column(null=True)
    expires_at = when()


class CollectionReplica(DIDKeyed):
    did_type = enum_column()
    rse_id = id_column(index=True)
    bytes = pw.BigIntegerField(default=0)
    length = pw.BigIntegerField(default=0)
    available_bytes = pw.BigIntegerField(default=0)
    available_replicas_cnt = pw.BigIntegerField(default=0)
    state = pw.CharField(max_length=24, default="UNAVAILABLE")
    accessed_at = when()

    Meta = keyed_by("scope", "name", "rse_id")


# -- rules, locks, transfer requests, subscriptions ------------------------------------------
class Rule(BaseModel):
    id = id_column(primary_key=True, default=new_id)
    subscription_id = id_column(null=True, index=True)
    account = account_column(index=True)
    scope = scope_column()
    name = name_column()
    did_type = enum_column()
    state = pw.CharField(max_length=20, default="REPLICATING")  # REPLICATING|OK|STUCK|SUSPENDED|WAITING_APPROVAL|INJECT
    error = optional_text(255)
    rse_expression = pw.CharField(max_length=3000)
    copies = pw.IntegerField(default=1)
    expires_at = when(index=True)
    weight = optional_text(255)
    locked = flag()
    locks_ok_cnt = pw.BigIntegerField(default=0)
    locks_replicating_cnt = pw.BigIntegerField(default=0)
    locks_stuck_cnt = pw.BigIntegerField(default=0)
    source_replica_expression = optional_text(255)
    activity = pw.CharField(max_length=50, default="User Subscriptions")
    grouping = enum_column(default="DATASET")  # ALL | DATASET | NONE
    notification = enum_column(default="NO")   # YES | NO | CLOSE | PROGRESS
    stuck_at = when()
    purge_replicas = flag()
    ignore_availability = flag()
    ignore_account_limit = flag()
    priority = pw.IntegerField(default=3)
    comments = optional_text(255)
    child_rule_id = id_column(null=True)
    eol_at = when()
    split_container = flag()
    meta = pw.TextField(null=True)                            # JSON
    deleted_at = when()

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
    rule_id = id_column(index=True)
    account = account_column()
    scope = scope_column()
    name = name_column()
    did_type = enum_column()
    state = pw.CharField(max_length=20)
    rse_expression = pw.CharField(max_length=3000)
    copies = pw.IntegerField()
    locks_ok_cnt = pw.BigIntegerField(default=0)
    locks_replicating_cnt = pw.BigIntegerField(default=0)
    locks_stuck_cnt = pw.BigIntegerField(default=0)
    expires_at = when()
    deleted_at = when()

    class Meta:
        indexes = ((("scope", "name"), False),)


class Lock(BaseModel):
    """The columns of a rule's lock on one DID at one RSE, shared by file and dataset locks
    (no table)."""
    rule_id = id_column()
    scope = scope_column()
    name = name_column()
    rse_id = id_column()
    account = account_column()
    bytes = pw.BigIntegerField(null=True)
    state = pw.CharField(max_length=12, default="REPLICATING")  # REPLICATING | OK | STUCK

    Meta = keyed_by("rule_id", "scope", "name", "rse_id")


class ReplicaLock(Lock):
    class Meta:
        indexes = ((("scope", "name", "rse_id"), False), (("rse_id", "state"), False))


class DatasetLock(Lock):
    length = pw.BigIntegerField(null=True)

    class Meta:
        indexes = ((("scope", "name"), False), (("rse_id",), False))


class TransferRequest(BaseModel):
    """A queued transfer for a replica a rule is waiting for (we never perform transfers)."""
    id = id_column(primary_key=True, default=new_id)
    rule_id = id_column(index=True)
    scope = scope_column()
    name = name_column()
    dest_rse_id = id_column()
    source_replica_expression = optional_text(255)
    activity = optional_text(50)
    bytes = pw.BigIntegerField(null=True)
    state = pw.CharField(max_length=12, default="QUEUED")   # QUEUED | DONE | FAILED

    class Meta:
        indexes = ((("scope", "name", "dest_rse_id"), False),)


class Subscription(BaseModel):
    id = id_column(primary_key=True, default=new_id)
    name = pw.CharField(max_length=64)
    account = account_column()
    filter = pw.TextField()                                  # JSON string, as the client sends it
    replication_rules = pw.TextField()                       # JSON string
    policyid = pw.IntegerField(default=3)
    state = pw.CharField(max_length=12, default="ACTIVE")    # ACTIVE | INACTIVE | NEW | UPDATED | BROKEN
    last_processed = when()
    lifetime = when()
    comments = optional_text(4000)
    retroactive = flag()
    expired_at = when()

    class Meta:
        indexes = ((("account", "name"), True),)


# -- lifetime exceptions, transfer limits -------------------------------------------------------
class LifetimeException(BaseModel):
    """One DID of a request to extend the lifetime model's end of life (``exception_id`` is
    shared by the DIDs requested together)."""
    exception_id = id_column(default=new_id)
    scope = scope_column()
    name = name_column()
    did_type = enum_column()
    account = account_column()
    pattern = optional_text(255)
    comments = optional_text(4000)
    state = enum_column(default="WAITING")   # WAITING | APPROVED | REJECTED
    expires_at = when()

    Meta = keyed_by("exception_id", "scope", "name", indexes=((("state",), False),))


class TransferLimit(BaseModel):
    """A limit on transfers to (or from) the RSEs of an expression, per activity."""
    id = id_column(primary_key=True, default=new_id)
    rse_expression = pw.CharField(max_length=3000)
    activity = optional_text(50)
    direction = pw.CharField(max_length=12, default="DESTINATION")   # DESTINATION | SOURCE
    max_transfers = pw.BigIntegerField(null=True)
    volume = pw.BigIntegerField(null=True)
    deadline = pw.BigIntegerField(null=True)
    strategy = optional_text(25)
    transfers = pw.BigIntegerField(null=True)
    waitings = pw.BigIntegerField(null=True)
# -- operations: configuration table, heartbeats, traces -----------------------------------
class ConfigOption(BaseModel):
    """One ``section``/``option`` of the database configuration (``/config``); values as text."""
    section = pw.CharField(max_length=128)
    opt = pw.CharField(max_length=128)
    value = pw.CharField(max_length=4000)

    Meta = keyed_by("section", "opt")


class ConfigHistory(BaseModel):
    """The value an option had before it was changed or removed."""
    id = pw.BigAutoField()
    section = pw.CharField(max_length=128)
    opt = pw.CharField(max_length=128)
    value = optional_text(4000)


class Heartbeat(BaseModel):
    """The last beat of one process (thread) of an executable on a host."""
    executable = pw.CharField(max_length=64)                # SHA-256 of the readable name
    readable = optional_text(4000)
    hostname = pw.CharField(max_length=128)
    pid = pw.IntegerField()
    thread_id = pw.BigIntegerField(default=0)
    thread_name = optional_text(64)
    payload = optional_text(3000)

    Meta = keyed_by("executable", "hostname", "pid", "thread_id")


class Trace(BaseModel):
    """A trace report (``/traces/``, ``/nongrid_traces/``), kept up to ``trace_retention``."""
    id = pw.BigAutoField()
    kind = pw.CharField(max_length=16)                       # traces | nongrid
    event_type = optional_text(64)
    payload = pw.TextField()                                 # the JSON report, as stored


# -- QoS policies of RSEs (core/qos_policies.py) ----------------------------------------------
class RSEQoSPolicy(BaseModel):
    rse_id = id_column()
    qos_policy = pw.CharField(max_length=64)

    Meta = keyed_by("rse_id", "qos_policy")


# -- authentication ---------------------------------------------------------------------------
class SSHChallenge(BaseModel):
    """A challenge of ``GET /auth/ssh_challenge_token``: signed once by the client's SSH key,
    deleted when used (in the database so that every process agrees)."""
    challenge = pw.CharField(max_length=128, primary_key=True)
    account = account_column()
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
class QuarantinedReplica(Sized):
    """A file found on an RSE that has no replica in the catalog (``/replicas/quarantine``)."""
    rse_id = id_column()
    path = pw.CharField(max_length=1024)
    scope = scope_column(null=True)
    name = name_column(null=True)

    Meta = keyed_by("rse_id", "path")


class OpenDataDID(DIDKeyed):
    """A DID in the opendata catalog; state D (draft), P (public) or S (suspended)."""
    state = pw.CharField(max_length=1, default="D")

    Meta = keyed_by("scope", "name", indexes=((("state", "updated_at"), False),))


class OpenDataDOI(DIDKeyed):
    doi = pw.CharField(max_length=255, unique=True)

    Meta = keyed_by("scope", "name")


class OpenDataRecord(DIDKeyed):
    record_id = pw.BigIntegerField(unique=True)

    Meta = keyed_by("scope", "name")


class OpenDataMeta(DIDKeyed):
    meta = pw.TextField()                                    # JSON object

    Meta = keyed_by("scope", "name")


ALL_MODELS.extend([QuarantinedReplica, OpenDataDID, OpenDataDOI, OpenDataRecord, OpenDataMeta])


# -- followers of DIDs (core/dids/extras.py) ---------------------------------------------------
class DIDFollower(DIDKeyed):
    """An account following a DID (``/dids/{scope}/{name}/follow``; Rucio's ``dids_followed``)."""
    account = account_column()
    did_type = enum_column()

    Meta = keyed_by("scope", "name", "account", indexes=((("account",), False),))


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
    account = account_column(null=True)
    polling = flag()
    auth_url = pw.TextField()
    token = pw.TextField(null=True)
    token_jti = id_column(null=True, index=True)
    refresh_token = pw.TextField(null=True)
    expires_at = pw.DateTimeField(index=True)
    refresh_expires_at = when()   # the refresh token kept until then


ALL_MODELS.append(OIDCLogin)


# -- failed password logins, shared by every server process (core/auth/throttle.py) -----------
class LoginFailure(BaseModel):
    """The failed logins of one identity or client address (``key``: ``identity:<sha256>`` /
    ``address:<ip>``) in the window that began with the first of them at ``window_start``."""
    key = pw.CharField(max_length=80, primary_key=True)
    window_start = pw.DateTimeField(index=True)
    failures = pw.IntegerField(default=0)


ALL_MODELS.append(LoginFailure)
