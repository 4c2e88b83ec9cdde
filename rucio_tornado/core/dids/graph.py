"""The DID-graph toolkit every DID module stands on: set-based fetch and insert, children,
descendants, ancestors, the datasets under a collection, and the scope permission check.

It imports no other DID module (catalog, meta and search all import it).
"""
import peewee as pw

from rucio_tornado import db as dbmod
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.bulk import by_scope, insert_rows, select_by_keys
from rucio_tornado.core.common import bulk_items, did_key
from rucio_tornado.models import DID, Content

COLLECTIONS = ("DATASET", "CONTAINER")
#: The PostgreSQL advisory lock held (until commit) by every transaction that attaches a
#: container into a container: the cycle check and the attachment are then one step for all
#: server processes. Only containers hold collections, so nothing else can close a cycle.
GRAPH_LOCK = 72_74_2012


# -- small set-based helpers ---------------------------------------------------------------------
def names_in(field: pw.Field, names: list) -> pw.Expression:
    """``field IN (?, ?, ...)`` with the parameter list built once: peewee's per-value
    rendering costs more than the query itself for thousands of names."""
    return field.in_(pw.SQL("(" + ",".join([dbmod.database.param] * len(names)) + ")", names))


def listed_keys(items: list) -> list[tuple[str, str]]:
    """``[(scope, name)]`` of a ``dids`` list, in order and duplicates kept: a listing answers
    every DID as often as it is asked for (:func:`common.did_keys` would merge them)."""
    return [did_key(item, f"dids[{index}]")
            for index, item in enumerate(bulk_items(items, "'dids'"))]


def fetch_dids(keys, *fields: pw.Field) -> dict[tuple[str, str], tuple]:
    """``{(scope, name): (field values...)}`` of the DIDs among ``keys`` that exist."""
    return {(r[0], r[1]): r[2:] for r in select_by_keys(DID, (DID.scope, DID.name) + fields, keys)}


def lock_dids(keys, *fields: pw.Field) -> dict[tuple[str, str], tuple]:
    """:func:`fetch_dids` taking a row lock on each DID found (``SELECT ... FOR UPDATE``, held
    until the transaction ends), in (scope, name) order so that two transactions locking
    overlapping sets never wait on each other crosswise. A locked row is read as last
    committed: what a writer checks after this is what it changes."""
    out = {}
    for scope, names in by_scope(sorted(set(keys))):
        query = DID.select(DID.scope, DID.name, *fields).where(
            DID.scope == scope, names_in(DID.name, names)).order_by(DID.scope, DID.name)
        out.update({(r[0], r[1]): r[2:] for r in dbmod.current().for_update(query).tuples()})
    return out


def lock_graph() -> None:
    """Serialise changes that could close a cycle (:data:`GRAPH_LOCK`); taken before any DID
    row lock, re-entrant within a transaction."""
    dbmod.current().advisory_xact_lock(GRAPH_LOCK)


def insert_dicts(model: type[pw.Model], rows: list[dict]) -> None:
    """Insert dict rows (all with the same keys) with :func:`bulk.insert_rows`."""
    if rows:
        columns = list(rows[0])
        insert_rows(model, columns, [tuple(r[c] for c in columns) for r in rows])


def check_scope_permission(issuer, action, scope_names) -> None:
    """Every scope must exist (ScopeNotFound) and allow ``action`` for the issuer."""
    for scope in sorted(set(scope_names)):
        row = lookup.scope(scope)
        permissions.check(issuer, action, scope_owner=row.account, scope=scope)


# -- walking the graph ---------------------------------------------------------------------------
def children_of(parents, child_types=None) -> list[tuple[str, str, str]]:
    """Direct children ``[(scope, name, child_type)]`` of the (scope, name) ``parents``."""
    out = []
    for scope, names in by_scope(parents):
        query = Content.select(Content.child_scope, Content.child_name, Content.child_type)
        query = query.where(Content.scope == scope, names_in(Content.name, names))
        if child_types:
            query = query.where(Content.child_type.in_(child_types))
        out.extend(query.tuples())
    return out


def descendants_of(scope: str, name: str) -> list[tuple[str, str]]:
    """Every (scope, name) below one collection, level by level, each level sorted."""
    seen, frontier, order = set(), {(scope, name)}, []
    while frontier:
        children = {(s, n) for s, n, _ in children_of(frontier)} - seen
        order.extend(sorted(children))
        seen |= children
        frontier = children
    return order


def ancestors_of(keys) -> set[tuple[str, str]]:
    """Every (scope, name) that contains one of ``keys``, at any depth."""
    seen, frontier = set(), set(keys)
    while frontier:
        found = set()
        for scope, names in by_scope(frontier):
            found.update(Content.select(Content.scope, Content.name).where(
                Content.child_scope == scope, names_in(Content.child_name, names)).tuples())
        frontier = found - seen
        seen |= found
    return seen


def datasets_under(scope: str, name: str, did_type: str) -> list[tuple[str, str]]:
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
