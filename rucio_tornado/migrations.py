"""Versioned schema migrations, recorded in the database (table ``schema_version``).

Version 1 is the schema of the first release (0.1.0), which had no history table: a database
with tables but without ``schema_version`` is at version 1. :func:`upgrade` applies every later
step in order, each in its own transaction (PostgreSQL and SQLite both roll DDL back), then
creates the tables, columns and indexes the models have and the database lacks. Every step is
idempotent, so an interrupted or repeated upgrade is safe. A fresh database is created at the
latest version directly. ``serve`` refuses a database whose version is not :data:`LATEST`.

A step changes what already existed in a way the models alone cannot say: a column's meaning or
nullability, a replaced index. A new table, column (nullable or with a default) or index needs
no step of its own: the final synchronisation adds it.
"""
import datetime
from dataclasses import dataclass
from collections.abc import Callable

import peewee
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate

from rucio_tornado import exceptions
from rucio_tornado.core.rules.lifecycle import remove_rule
from rucio_tornado.models import ALL_MODELS, RSE, Rule, RSEProtocol, SchemaVersion, utcnow


class SchemaOutOfDate(exceptions.ConfigurationError):
    """The database's schema is not the one this code was written for."""


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable | None      # fn(database, migrator), inside a transaction


def _priorities_nullable(database, migrator):
    """0.1.0 stored 0 for "not supported"; now NULL says that and 0 is the first priority."""
    columns = {c.name: c for c in database.peewee.get_columns(RSEProtocol._meta.table_name)}
    names = [f.column_name for f in RSEProtocol._meta.sorted_fields
             if f.name in _PRIORITY_FIELDS and columns.get(f.column_name) is not None]
    table = RSEProtocol._meta.table_name
    changes = [migrator.drop_not_null(table, name) for name in names if not columns[name].null]
    if changes:
        migrate(*changes)
        for name in names:     # only a column that was NOT NULL held the old meaning of 0
            database.peewee.execute_sql(f'UPDATE "{table}" SET "{name}" = NULL WHERE "{name}" = 0')


_PRIORITY_FIELDS = ("read_lan", "write_lan", "delete_lan", "read_wan", "write_wan", "delete_wan",
                    "third_party_copy_read", "third_party_copy_write")


def _rse_names_stay_taken(database, migrator):
    """A deleted RSE's name stays taken (as in Rucio): the partial unique index on live names
    becomes a unique index on all names. A deleted RSE whose name a live one reused gets a
    ``-deleted-<id>`` suffix first, so the index can be built."""
    table = RSE._meta.table_name
    indexes = {i.name for i in database.peewee.get_indexes(table)}
    if "rse_live_name" in indexes:
        database.peewee.execute_sql('DROP INDEX "rse_live_name"')
    rows = database.peewee.execute_sql(
        f'SELECT "id", "rse" FROM "{table}" WHERE "deleted" = {database.peewee.param} AND "rse" IN '
        f'(SELECT "rse" FROM "{table}" GROUP BY "rse" HAVING COUNT(*) > 1)', (True,)).fetchall()
    for rse_id, name in rows:
        RSE.update(rse=f"{name}-deleted-{rse_id[:8]}").where(RSE.id == rse_id).execute()


def _rules_unique(database, migrator):
    """One rule per DID, account, RSE expression and copies (the unique index the final
    synchronisation builds): of identical rules stored by concurrent requests before it, the
    oldest stays; the others are removed as the expiry task removes a rule (their locks
    released, the usage they booked returned, a history row kept)."""
    key = (Rule.scope, Rule.name, Rule.account, Rule.rse_expression, Rule.copies)
    groups = (Rule.select(*key).group_by(*key).having(peewee.fn.COUNT(Rule.id) > 1).tuples())
    now = utcnow()
    for scope, name, account, expression, copies in list(groups):
        rules = list(Rule.select().where(
            Rule.scope == scope, Rule.name == name, Rule.account == account,
            Rule.rse_expression == expression, Rule.copies == copies)
            .order_by(Rule.created_at, Rule.id))
        for rule in rules[1:]:
            remove_rule(rule, now)


STEPS = [
    Step(1, "0.1.0: the first release's schema", None),
    Step(2, "protocol priorities: NULL is 'not supported', 0 the first priority",
         _priorities_nullable),
    Step(3, "RSE names stay taken after deletion", _rse_names_stay_taken),
    Step(4, "one rule per DID, account, RSE expression and copies", _rules_unique),
]
LATEST = STEPS[-1].version


def _migrator(database):
    cls = PostgresqlMigrator if database.is_postgresql else SqliteMigrator
    return cls(database.peewee)


def _tables(database):
    return set(database.peewee.get_tables())


def version(database) -> int | None:
    """The schema version of ``database``: None when it has no tables at all."""
    with database.peewee.connection_context():
        tables = _tables(database)
        if SchemaVersion._meta.table_name in tables:
            found = SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar()
            if found is not None:
                return found
        known = {model._meta.table_name for model in ALL_MODELS}
        return 1 if tables & known else None


def _record(step):
    SchemaVersion.insert(version=step.version, description=step.description,
                         applied_at=datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
                         ).on_conflict_ignore().execute()


def _synchronise(database):
    """Create the tables and indexes the models have and the database lacks, and add the
    missing columns (nullable or with a default)."""
    database.peewee.create_tables(ALL_MODELS, safe=True)
    migrator = _migrator(database)
    for model in ALL_MODELS:
        present = {c.name for c in database.peewee.get_columns(model._meta.table_name)}
        missing = [f for f in model._meta.sorted_fields if f.column_name not in present]
        for field in missing:
            if not field.null and field.default is None:
                raise SchemaOutOfDate(f"column {model._meta.table_name}.{field.column_name} "
                                      "needs a migration step (NOT NULL without a default)")
            migrate(migrator.add_column(model._meta.table_name, field.column_name, field))


def create(database, reset=False):
    """A fresh schema at :data:`LATEST` in an empty database (``reset``: drop every table
    first); a database that has tables is left as it is."""
    with database.peewee.connection_context(), database.schema_lock():
        if reset:
            database.peewee.drop_tables(ALL_MODELS + [SchemaVersion], safe=True,
                                        cascade=database.is_postgresql)
        elif _tables(database):
            return                      # another process created it first; check() decides
        with database.peewee.atomic():
            database.peewee.create_tables(ALL_MODELS + [SchemaVersion], safe=True)
            for step in STEPS:
                _record(step)


def upgrade(database) -> list[Step]:
    """Bring ``database`` to :data:`LATEST`; the steps applied (none when it already is)."""
    current = version(database)
    if current is None:
        create(database)
        return []
    if current > LATEST:
        raise SchemaOutOfDate(_newer(current))
    applied = []
    with database.peewee.connection_context(), database.schema_lock():
        database.peewee.create_tables([SchemaVersion], safe=True)
        _record(STEPS[0])                   # a 0.1.0 database has no history table yet
        for step in STEPS:
            if step.version <= current:
                continue
            with database.peewee.atomic():
                if step.apply is not None:
                    step.apply(database, _migrator(database))
                _record(step)
            applied.append(step)
        with database.peewee.atomic():
            _synchronise(database)
    return applied


def check(database):
    """SchemaOutOfDate unless ``database`` is at :data:`LATEST` with every table and column of
    the models (a fresh one counts as ready to be created)."""
    current = version(database)
    if current is None:
        return
    if current > LATEST:
        raise SchemaOutOfDate(_newer(current))
    missing = _missing(database)
    if current < LATEST or missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        what = f" ({', '.join(missing[:3])}{more} missing)" if missing else ""
        raise SchemaOutOfDate(f"the database schema is out of date: version {current}{what}, "
                              f"this server needs version {LATEST}: back it up (rucio-tornado "
                              "db dump FILE), then run rucio-tornado db upgrade (docs/UPGRADING.md)")


def _missing(database):
    """``["table t", "column t.c", ...]`` the models have and the database lacks."""
    missing = []
    with database.peewee.connection_context():
        tables = _tables(database)
        for model in ALL_MODELS:
            table = model._meta.table_name
            if table not in tables:
                missing.append(f"table {table}")
                continue
            present = {c.name for c in database.peewee.get_columns(table)}
            missing += [f"column {table}.{f.column_name}" for f in model._meta.sorted_fields
                        if f.column_name not in present]
    return missing


def _newer(current):
    return (f"the database schema is at version {current}, newer than this server's {LATEST}: "
            "run the release that upgraded it (or restore a backup)")
