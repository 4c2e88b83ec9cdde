"""The DID-graph toolkit every DID module stands on: set-based fetch and insert, children,
descendants, ancestors, the datasets under a collection, the cycle check of nested attachments,
and the scope permission check.

It imports no other DID module (catalog, meta and search all import it).
"""
import peewee as pw

from rucio_tornado import db as dbmod
from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.bulk import by_scope, insert_rows, select_by_keys
from rucio_tornado.core.common import bulk_items, did_key, did_label
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
    """Every (scope, name) that contains one of ``keys``, at any depth: one recursive query
    per chunk of keys (``UNION`` drops repeats, so a cycle ends the walk)."""
    return {(row[0], row[1]) for row in _walk_up(keys, with_children=False)}


def ancestor_links(keys) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """``[(parent, child)]``: every attachment whose child is one of ``keys`` or one of their
    ancestors (the part of the graph above ``keys``), by the same recursive walk."""
    return [((row[0], row[1]), (row[2], row[3])) for row in _walk_up(keys, with_children=True)]


def _walk_up(keys, with_children):
    """Rows ``(scope, name[, child_scope, child_name])`` of the attachments above ``keys``."""
    rows = set()
    for scope, names in by_scope(keys):
        up = ancestors_cte(scope, names, with_children)
        rows.update(up.select_from(*[up.c[f] for f in _fields(with_children)]).tuples())
    return rows


def _fields(with_children):
    return ["scope", "name"] + (["child_scope", "child_name"] if with_children else [])


def ancestors_cte(scope: str, names: list, with_children: bool = False) -> pw.CTE:
    """The recursive query ``up(scope, name[, child_scope, child_name])`` of the attachments
    above ``scope:names`` (``up.select_from(up.c.scope, up.c.name)`` in a subquery: the
    ancestors, for a join in SQL)."""
    fields = _fields(with_children)
    up = (Content.select(*[getattr(Content, f) for f in fields])
          .where(Content.child_scope == scope, names_in(Content.child_name, names))
          .cte("up", recursive=True, columns=fields))
    above = Content.alias("above")
    step = (above.select(*[getattr(above, f) for f in fields])
            .join(up, on=(above.child_scope == up.c.scope) & (above.child_name == up.c.name)))
    return up.union(step)


class NestingCheck:
    """The cycle check of every container-into-container attachment of one call, against one
    read of the graph above the call's parents (:func:`ancestor_links`, taken once under
    :func:`lock_graph`) and the links the call adds, kept in memory: a call of 1000 nested
    attachments is one query, not a walk per attachment."""

    def __init__(self, parents):
        self.parents_of = {}
        for parent, child in ancestor_links(parents):
            self.parents_of.setdefault(child, set()).add(parent)
        self.holders = {p for ps in self.parents_of.values() for p in ps}

    def attach(self, parent, children) -> None:
        """UnsupportedOperation if a child already holds ``parent`` (at any depth); else the
        links count for the attachments after this one."""
        if any(child in self.holders for child in children):
            above = self._above(parent)
            for child in children:
                if child in above:
                    raise exceptions.UnsupportedOperation(
                        f"Circular attachment detected. {did_label(*child)} is already a "
                        f"parent of {did_label(*parent)}")
        for child in children:
            self.parents_of.setdefault(child, set()).add(parent)
        if children:
            self.holders.add(parent)

    def _above(self, key):
        seen, frontier = set(), [key]
        while frontier:
            found = {p for k in frontier for p in self.parents_of.get(k, ())} - seen
            seen |= found
            frontier = list(found)
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
