"""The DID-graph toolkit every DID module stands on: keys, set-based fetch and insert, children,
ancestors, the datasets under a collection, and the scope permission check."""
import peewee as pw

from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.core import permissions, scopes
from rucio_tornado.core.bulk import IN_CHUNK, chunks, group_by_scope, insert_rows, select_by_keys
from rucio_tornado.core.common import validate
from rucio_tornado.models import DID, Content

COLLECTIONS = ("DATASET", "CONTAINER")


# -- small set-based helpers ---------------------------------------------------------------------
def key_conditions(keys, scope_field, name_field, size=IN_CHUNK):
    """WHERE expressions covering ``keys`` ((scope, name) pairs), one per chunk, by scope."""
    for scope, names in group_by_scope(keys).items():
        for part in chunks(names, size):
            yield (scope_field == scope) & name_field.in_(_values(part))


def _values(values):
    """A parameter list ``(?, ?, ...)`` built once, skipping peewee's per-value rendering."""
    return pw.SQL("(" + ",".join([dbmod.database.param] * len(values)) + ")", values)


def fetch_dids(keys, *fields):
    """``{(scope, name): (field values...)}`` of the DIDs among ``keys`` that exist."""
    return {(r[0], r[1]): r[2:] for r in select_by_keys(DID, (DID.scope, DID.name) + fields, keys)}


def insert_chunked(model, rows):
    """Insert dict rows (all with the same keys); see :func:`insert_tuples`."""
    if rows:
        columns = list(rows[0])
        insert_tuples(model, columns, [tuple(r[c] for c in columns) for r in rows])


def insert_tuples(model, columns, tuples):
    """Multi-row INSERTs (SQLite) or one streamed COPY (PostgreSQL): :func:`bulk.insert_rows`."""
    insert_rows(model, columns, tuples)


def did_label(scope, name):
    return f"{scope}:{name}"


def did_key(item, label="DID"):
    """``(scope, name)`` of a ``{"scope", "name", ...}`` item, validated (400 otherwise)."""
    if not isinstance(item, dict) or "scope" not in item or "name" not in item:
        raise exceptions.InvalidObject(f"every {label} needs 'scope' and 'name'")
    return validate("scope", item["scope"]), validate("name", item["name"])


def get_row(scope, name):
    row = DID.get_or_none(DID.scope == scope, DID.name == name)
    if row is None:
        raise exceptions.DataIdentifierNotFound(f"Data identifier '{scope}:{name}' not found")
    return row


def check_scope_permission(issuer, action, scope_names):
    """Every scope must exist (ScopeNotFound) and allow ``action`` for the issuer."""
    for scope in sorted(set(scope_names)):
        row = scopes.get_row(scope)
        permissions.check(issuer, action, scope_owner=row.account, scope=scope)


def children_of(parents, child_types=None):
    """Direct children ``[(scope, name, child_type)]`` of the (scope, name) ``parents``."""
    out = []
    for cond in key_conditions(parents, Content.scope, Content.name):
        query = Content.select(Content.child_scope, Content.child_name, Content.child_type)
        query = query.where(cond)
        if child_types:
            query = query.where(Content.child_type.in_(child_types))
        out.extend(query.tuples())
    return out


def ancestors_of(keys):
    """Every (scope, name) that contains one of ``keys``, at any depth."""
    seen, frontier = set(), set(keys)
    while frontier:
        found = set()
        for cond in key_conditions(frontier, Content.child_scope, Content.child_name):
            found.update(Content.select(Content.scope, Content.name).where(cond).tuples())
        frontier = found - seen
        seen |= found
    return seen


def datasets_under(scope, name, did_type):
    """The datasets reachable from a collection (itself if it is one), in a stable order."""
    if did_type == "DATASET":
        return [(scope, name)]
    datasets, seen, frontier = [], {(scope, name)}, {(scope, name)}
    while frontier:
        nxt = set()
        for s, n, t in children_of(frontier, COLLECTIONS):
            if (s, n) in seen:
                continue
            seen.add((s, n))
            if t == "DATASET":
                datasets.append((s, n))
            else:
                nxt.add((s, n))
        frontier = nxt
    return sorted(datasets)


