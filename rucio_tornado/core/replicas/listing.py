"""Replica listing (``POST /replicas/list`` and friends): one line per file, streamed.

Collections are expanded to their files set-based. For each dataset the files and their
replicas come from ONE ordered join of ``Content`` and ``Replica`` (a server-side cursor on
PostgreSQL; keyset queries of 5000 rows on SQLite); consecutive rows of a file are grouped into its
line, which is produced as ready JSON text (handlers write it with ``encode_text``). PFNs come
from an :class:`~rucio_tornado.core.replicas.pfns.RSECatalog` read once per listing. No query runs per
row.
"""
import heapq
import itertools
import random
from xml.sax.saxutils import escape, quoteattr

import peewee
import ujson
from ujson import dumps

from rucio_tornado import exceptions
from rucio_tornado.core.bulk import by_scope, chunks, lookup
from rucio_tornado.core.common import did_keys, parse_date, validate
from rucio_tornado.core.replicas.pfns import RSECatalog, hash_path, md5
from rucio_tornado.core.rses import expression as expressions
from rucio_tornado.db import current
from rucio_tornado.models import DID, Content, Replica

DEFAULT_STATES = ("AVAILABLE",)
UNAVAILABLE_STATES = ("AVAILABLE", "UNAVAILABLE", "COPYING")
SORTS = (None, "geoip", "closeness", "dynamic", "ranking", "random")
#: Names per query of the FILE DIDs asked for directly (a DID-Replica join per chunk).
FILE_CHUNK = 1000
#: Rows per query of a dataset's join on SQLite (handed on in ``batch_size`` batches).
SQLITE_PAGE_ROWS = 5000
#: Row layout shared by every source: file scope, name, bytes, md5, adler32 (from the DID or the
#: content row), then rse_id, bytes, md5, adler32, path, state of one replica (NULLs if none).
REPLICA_COLUMNS = (Replica.rse_id, Replica.bytes, Replica.md5, Replica.adler32, Replica.path,
                   Replica.state)


def did_type_map(keys) -> dict:
    """``{(scope, name): did_type}`` of the existing ones among ``keys``."""
    return {(s, n): t for s, n, t in lookup(
        lambda scope, names: DID.select(DID.scope, DID.name, DID.did_type).where(
            DID.scope == scope, DID.name.in_(names)), keys)}


def datasets_of(collections) -> list:
    """The datasets in ``collections`` (``[(scope, name, type)]``), containers expanded
    recursively, each once, in a stable order."""
    found, seen = {}, set()

    def containers(dids):
        """Record the datasets among ``dids``; the containers not seen yet, to expand."""
        out = []
        for scope, name, did_type in dids:
            if did_type == "DATASET":
                found[(scope, name)] = None
            elif (scope, name) not in seen:
                seen.add((scope, name))
                out.append((scope, name))
        return out

    frontier = containers(collections)
    while frontier:
        children = list(lookup(lambda scope, names: Content.select(
            Content.child_scope, Content.child_name, Content.child_type).where(
            Content.scope == scope, Content.name.in_(names),
            Content.child_type != "FILE"), frontier))
        frontier = containers(sorted(children))
    return list(found)


class Ancestors:
    """All ancestors of files, as ``"scope:name"`` strings: one set query per batch of files,
    collections' ancestors cached for the whole listing."""

    def __init__(self):
        self.cache = {}

    def _parents(self, keys):
        out = {}
        for cs, cn, s, n in lookup(lambda scope, names: Content.select(
                Content.child_scope, Content.child_name, Content.scope, Content.name).where(
                Content.child_scope == scope, Content.child_name.in_(names)), keys):
            out.setdefault((cs, cn), []).append((s, n))
        return out

    def _collection_ancestors(self, keys):
        missing = [k for k in keys if k not in self.cache]
        while missing:
            parents = self._parents(missing)
            for key in missing:
                self.cache[key] = parents.get(key, [])
            missing = list({p for key in missing for p in self.cache[key] if p not in self.cache})

    def expand(self, direct):
        out, queue = {}, list(direct)
        while queue:
            key = queue.pop(0)
            if key in out:
                continue
            out[key] = None
            queue.extend(self.cache.get(key) or ())
        return [f"{s}:{n}" for s, n in out]

    def of_files(self, keys):
        """``[[ "scope:name", ...], ...]``: all ancestors of each file of ``keys``."""
        direct = self._parents(keys)
        self._collection_ancestors({p for ps in direct.values() for p in ps})
        return [self.expand(direct.get(key, ())) for key in keys]


class LineBuilder:
    """Turns rows ordered by file into §3.3 lines, already encoded as JSON text.

    This is the hot loop of every replica listing. The usual file (one replica on a ``hash``
    RSE) is one md5 and one f-string; everything per RSE (the PFN prefix, the ``pfns``
    details, the RSE name) is encoded once per listing. Text instead of dicts halves the cost
    per line (nested dicts re-encode the same RSE details for every file); consumers that need
    dicts (Metalink) parse the line back.
    """

    def __init__(self, catalog, ancestors=None):
        self.by_id, self.ancestors = catalog.by_id, ancestors
        self.scope_paths, self.json_scopes = {}, {}
        #: ``{rse_id: (base, text up to the first PFN, up to the second, up to the state)}`` of
        #: the RSEs where a one-replica file's line is a fixed pattern (one read protocol,
        #: ``hash`` algorithm)
        self.fast = {}
        for info in self.by_id.values():
            info.json_rse = dumps(info.rse)
            #: ``[(domain, priority, base as JSON text)]`` of the read protocols
            info.json_base = [(domain, priority, dumps(base, escape_forward_slashes=False)[1:-1])
                              for domain, priority, base in info.reads]
            info.json_details = {}
            if info.base is not None and info.lfn2pfn is hash_path:
                rse, domain = info.json_rse, info.reads[0][0]
                self.fast[info.id] = (info.json_base[0][2], ',"pfns":{"',
                                      f'":{self.details(info, domain, 1)}}},"rses":{{{rse}:["',
                                      f'"]}},"states":{{{rse}:"')

    def scope_path(self, scope):
        """The scope part of the hash path (``user.jdoe`` -> ``user/jdoe``), cached."""
        path = dumps(hash_path(scope, "x").rsplit("/", 3)[0], escape_forward_slashes=False)
        path = self.scope_paths[scope] = path[1:-1]
        return path

    def details(self, info, domain, priority):
        text = info.json_details.get((domain, priority))
        if text is None:
            text = info.json_details[(domain, priority)] = dumps(
                info.pfn_details(priority, domain))
        return text

    def lines(self, row_batches):
        """Batches of rows (a file's rows consecutive, possibly split across batches) ->
        batches of JSON lines; the last file of a batch is held until it is complete."""
        carry = []
        for rows in row_batches:
            if carry:
                rows = carry + list(rows)
            last = rows[-1]
            cut = len(rows) - 1
            while cut and rows[cut - 1][1] == last[1] and rows[cut - 1][0] == last[0]:
                cut -= 1
            carry = rows[cut:]
            if cut:
                yield self._batch(rows[:cut])
        if carry:
            yield self._batch(carry)

    #: False: every batch goes through the per-row path (tests compare the two paths).
    uniform_batches = True

    def _batch(self, rows):
        """The lines of complete files' rows (one or more consecutive rows per file)."""
        out = self._uniform_batch(rows) if self.uniform_batches else None
        if out is not None:
            if self.ancestors is None:
                return out
            scope = rows[0][0]
            return self._with_parents(out, [(scope, row[1]) for row in rows])
        single, general, fast = self._single_line, self._general_line, self.fast
        out, group = [], []
        for row, following in zip(rows, rows[1:] + [(None, None)]):
            if following[1] == row[1] and following[0] == row[0]:
                group.append(row)                       # more rows of this file follow
                continue
            if group:
                group.append(row)
                out.append(general(group))
                group = []
            elif row[9] is None and row[5] in fast:
                out.append(single(row, fast[row[5]]))
            else:
                out.append(general([row]))
        if self.ancestors is None:
            return out
        keys = []
        for row in rows:
            if not keys or keys[-1] != (row[0], row[1]):
                keys.append((row[0], row[1]))
        return self._with_parents(out, keys)

    def _uniform_batch(self, rows):
        """The usual batch in one go: every row a file of one scope with its one replica,
        all on the same ``hash`` RSE without stored paths, names that need no escaping,
        integer sizes, each checksum column all text or all NULL. The checks are C-level
        operations on whole columns; the loop then does one md5 and one f-string per file,
        everything else is a per-batch constant. Gives exactly :meth:`_single_line`'s
        lines; None when the batch is not uniform (then each row takes the general path)."""
        count = len(rows)
        scopes, names, _, _, _, rse_ids, sizes, md5s, adlers, paths, states = zip(*rows)
        scope, rse_id = scopes[0], rse_ids[0]
        rse = self.fast.get(rse_id)
        if rse is None or scopes.count(scope) != count or rse_ids.count(rse_id) != count or \
                paths.count(None) != count or len(set(names)) != count or \
                set(map(type, sizes)) != {int}:
            return None
        joined = "".join(names)
        if '"' in joined or "\\" in joined or not joined.isprintable():
            return None
        md5_text, md5s = _checksum_column("md5", md5s)
        adler_text, adlers = _checksum_column("adler32", adlers)
        if md5_text is None or adler_text is None:
            return None
        scope_text = self.json_scopes.get(scope) or self.json_scope(scope)
        scope_path = self.scope_paths.get(scope) or self.scope_path(scope)
        head = f'{{"scope":{scope_text},"name":"'
        after_name, after_md5 = '","bytes":', md5_text[1] + ',' + adler_text[0]
        after_size = ',' + md5_text[0]
        base = f"{rse[0]}{scope_path}/"
        after_adler, between, before_state = adler_text[1] + rse[1], rse[2], rse[3]
        key = f"{scope}:"
        out = []
        append = out.append
        state = states[0]
        if states.count(state) == count:      # one state (the usual): part of the tail
            tail = f'{before_state}{state}"}}}}\n'
            for name, size, md5sum, adler32 in zip(names, sizes, md5s, adlers):
                digest = md5((key + name).encode()).hexdigest()
                pfn = f"{base}{digest[0:2]}/{digest[2:4]}/{name}"
                append(f'{head}{name}{after_name}{size}{after_size}{md5sum}{after_md5}'
                       f'{adler32}{after_adler}{pfn}{between}{pfn}{tail}')
            return out
        for name, size, md5sum, adler32, state in zip(names, sizes, md5s, adlers, states):
            digest = md5((key + name).encode()).hexdigest()
            pfn = f"{base}{digest[0:2]}/{digest[2:4]}/{name}"
            append(f'{head}{name}{after_name}{size}{after_size}{md5sum}{after_md5}{adler32}'
                   f'{after_adler}{pfn}{between}{pfn}{before_state}{state}"}}}}\n')
        return out

    def _head(self, scope, name, size, md5sum, adler32):
        """``{"scope":..,"name":..,"bytes":..,"md5":..,"adler32":..`` (no closing brace)."""
        if '"' in name or "\\" in name or not name.isprintable():
            name = dumps(name)[1:-1]
        return (f'{{"scope":{self.json_scope(scope)},"name":"{name}",'
                f'"bytes":{"null" if size is None else int(size)},'
                f'"md5":{_json_checksum(md5sum)},"adler32":{_json_checksum(adler32)}')

    def json_scope(self, scope):
        text = self.json_scopes.get(scope)
        if text is None:
            text = self.json_scopes[scope] = dumps(scope)
        return text

    def _single_line(self, row, rse):
        """The usual file: one replica on a deterministic RSE with the ``hash`` algorithm
        (the hot path: everything inline)."""
        scope, name, size, md5sum, adler32 = row[0], row[1], row[6], row[7], row[8]
        scope_text = self.json_scopes.get(scope) or self.json_scope(scope)
        scope_path = self.scope_paths.get(scope) or self.scope_path(scope)
        digest = md5(f"{scope}:{name}".encode()).hexdigest()
        if '"' in name or "\\" in name or not name.isprintable():
            name = dumps(name)[1:-1]
        pfn = f"{rse[0]}{scope_path}/{digest[0:2]}/{digest[2:4]}/{name}"
        return (f'{{"scope":{scope_text},"name":"{name}",'
                f'"bytes":{"null" if size is None else int(size)},'
                f'"md5":{"null" if md5sum is None else _json_checksum(md5sum)},'
                f'"adler32":{"null" if adler32 is None else _json_checksum(adler32)}'
                f'{rse[1]}{pfn}{rse[2]}{pfn}{rse[3]}{row[10]}"}}}}\n')

    def _general_line(self, rows):
        """Any file: no replica (the left join's NULLs), several replicas or protocols,
        stored paths."""
        first = rows[0]
        scope, name = first[0], first[1]
        if first[5] is None:      # no replica (left join): the file's own values
            return self._head(scope, name, first[2], first[3], first[4]) + \
                ',"pfns":{},"rses":{},"states":{}}\n'
        head = self._head(scope, name, first[6], first[7], first[8])
        states, pfns, relative = [], {}, None
        for row in rows:
            info = self.by_id.get(row[5])
            if info is None:
                continue
            states.append((info, row[10]))
            if not info.json_base:
                continue
            if row[9] or info.lfn2pfn is not hash_path:
                path = dumps(info.relative(scope, name, row[9]),
                             escape_forward_slashes=False)[1:-1]
            else:
                if relative is None:
                    scope_path = self.scope_paths.get(scope) or self.scope_path(scope)
                    digest = md5(f"{scope}:{name}".encode()).hexdigest()
                    name_text = dumps(name)[1:-1] if '"' in name or "\\" in name or \
                        not name.isprintable() else name
                    relative = f"{scope_path}/{digest[0:2]}/{digest[2:4]}/{name_text}"
                path = relative
            for domain, priority, base in info.json_base:
                pfn = path if "://" in path else base + path
                pfns[pfn] = (domain, priority, info)
        return self._finish(head, states, pfns)

    def _finish(self, head, states, pfns):
        """The line of one file from its encoded head, ``[(info, state)]`` and
        ``{pfn text: (domain, protocol priority, info)}``. As the real server, the PFNs are
        ranked by domain (``lan`` first), protocol priority and PFN, numbered from 1."""
        ranked = sorted(pfns.items(), key=lambda item: (item[1][0], item[1][1], item[0]))
        pfn_texts, by_rse = [], {}
        for priority, (pfn, (domain, _, info)) in enumerate(ranked, start=1):
            pfn_texts.append(f'"{pfn}":{self.details(info, domain, priority)}')
            by_rse.setdefault(info.json_rse, []).append(f'"{pfn}"')
        rses = ",".join(f'{rse}:[{",".join(items)}]' for rse, items in by_rse.items())
        state_texts = ",".join(f'{info.json_rse}:"{state}"' for info, state in states)
        return (f'{head},"pfns":{{{",".join(pfn_texts)}}},"rses":{{{rses}}},'
                f'"states":{{{state_texts}}}}}\n')

    def _with_parents(self, lines, keys):
        if self.ancestors is None:
            return lines
        return [f'{line[:-2]},"parents":{dumps(parents)}}}\n'
                for line, parents in zip(lines, self.ancestors.of_files(keys))]


def _checksum_column(key, values):
    """``((text before a value, text after it), values)`` of a batch's checksum column when
    all its values encode alike (all text needing no escaping, or all NULL), else
    ``(None, None)``."""
    nulls = values.count(None)
    if nulls == len(values):
        return (f'"{key}":null', ""), itertools.repeat("")
    joined = "".join(values) if nulls == 0 else ""
    # ASCII letters and digits only (bytes.isalnum is ten times faster than str.isalnum)
    if joined and joined.isascii() and joined.encode().isalnum() and all(values):
        return (f'"{key}":"', '"'), values
    return None, None


def _json_checksum(value):
    if value is None:
        return "null"
    return f'"{value}"' if value.isalnum() else dumps(value)


class ReplicaQuery:
    """The filters of one listing and the row sources that apply them."""

    def __init__(self, states, rse_ids, updated_after):
        cond = peewee.SQL("1 = 1")
        if states is not None:
            cond &= Replica.state.in_(list(states))
        if rse_ids is not None:
            cond &= Replica.rse_id.in_(list(rse_ids) or [""])
        if updated_after is not None:
            cond &= Replica.updated_at >= updated_after
        self.cond = cond

    def files(self, keys):
        """Rows of the FILE DIDs among ``keys`` (one query per chunk)."""
        database = current().peewee
        for scope, names in by_scope(keys, FILE_CHUNK):
            query = (DID.select(DID.scope, DID.name, DID.bytes, DID.md5, DID.adler32,
                                *REPLICA_COLUMNS)
                     .join(Replica, peewee.JOIN.LEFT_OUTER, on=(
                         (Replica.scope == DID.scope) & (Replica.name == DID.name) &
                         self.cond))
                     .where(DID.scope == scope, DID.name.in_(names), DID.did_type == "FILE")
                     .order_by(DID.scope, DID.name, Replica.rse_id))
            rows = database.execute_sql(*query.sql()).fetchall()
            if rows:
                yield rows

    def dataset(self, scope, name):
        """Rows of the files of one dataset, ordered by file then RSE, in batches."""
        db = current()
        if db.is_postgresql:
            # The content primary key's order: a fast-start plan without a sort. The rows of a
            # file are consecutive, which is all the grouping needs.
            return db.iter_query(self._join(scope, name), key=(
                Content.scope, Content.name, Content.child_scope, Content.child_name))
        return self._keyset_pages(db, scope, name)

    def _join(self, scope, name):
        """``Content JOIN Replica`` of one dataset's files, in the content primary key's
        order (no sort; the rows of a file are consecutive). As the real server, a
        collection lists only its files that have a replica the filters select."""
        # the file's own bytes and checksums only matter without a replica (the files
        # source's left join): here three NULLs, not three values read per row
        null = peewee.SQL("NULL")
        return (Content.select(Content.child_scope, Content.child_name, null, null, null,
                               *REPLICA_COLUMNS)
                .join(Replica, on=(
                    (Replica.scope == Content.child_scope) &
                    (Replica.name == Content.child_name) & self.cond))
                .where(Content.scope == scope, Content.name == name,
                       Content.child_type == "FILE"))

    def _keyset_pages(self, db, scope, name, rows_per_query=None):
        """SQLite: the join read ``rows_per_query`` rows per query (keyset on the file, never
        OFFSET), handed on in batches of ``db.batch_size`` rows. The LIMIT may cut a query's
        last file: its rows are dropped and the next query starts at that file. Each SQL text
        is built once; a query only changes the keyset parameters."""
        rows_per_query = rows_per_query or SQLITE_PAGE_ROWS
        join = self._join(scope, name)
        order = (Content.child_scope, Content.child_name)
        marks = ("\x00scope-mark", "\x00name-mark")

        def statement(query):
            sql, params = query.sql()
            return sql, params, [i for i, v in enumerate(params) if v in marks]

        execute, batch = db.peewee.execute_sql, db.batch_size
        # the first query reads one batch only: the first line goes out sooner
        first = statement(join.order_by(*order).limit(batch)), batch
        from_file = statement(join.where(peewee.Tuple(*order) >= peewee.Tuple(*marks))
                              .order_by(*order).limit(rows_per_query)), rows_per_query
        one_file = statement(join.where(Content.child_scope == marks[0],
                                        Content.child_name == marks[1])), None
        after_file = statement(join.where(peewee.Tuple(*order) > peewee.Tuple(*marks))
                               .order_by(*order).limit(rows_per_query)), rows_per_query

        def run(stmt, key=None):
            sql, params, positions = stmt
            if key is not None:
                params = list(params)
                params[positions[0]], params[positions[1]] = key
            return execute(sql, params).fetchall()

        (stmt, limit), key = first, None
        while True:
            rows = run(stmt, key)
            if limit is None or len(rows) < limit:        # a whole file, or the end
                yield from chunks(rows, batch)
                if limit is not None:
                    return
                stmt, limit = after_file
                continue
            key = rows[-1][:2]
            cut = len(rows) - 1
            while cut and rows[cut - 1][:2] == key:
                cut -= 1
            if cut:
                yield from chunks(rows[:cut], batch)
                stmt, limit = from_file
            else:                   # one file fills a whole query: read it alone
                stmt, limit = one_file


def _states(all_states, unavailable):
    if all_states:
        return None
    return UNAVAILABLE_STATES if unavailable else DEFAULT_STATES


def _rse_ids(catalog, rse_expression, ignore_availability):
    ids = None
    if rse_expression is not None:
        if not isinstance(rse_expression, str):
            raise exceptions.InvalidRSEExpression("rse_expression must be a string")
        ids = {rse["id"] for rse in expressions.resolve(rse_expression)}
    if not ignore_availability:
        readable = {rid for rid, info in catalog.by_id.items() if info.available_read}
        ids = readable if ids is None else ids & readable
    return ids


def _check_options(domain, sort, nrandom, schemes):
    if domain not in (None, "wan", "lan", "all"):
        raise exceptions.InvalidObject(f"Invalid domain {domain!r}")
    if sort not in SORTS:
        raise exceptions.SortingAlgorithmNotSupported(f"Sorting algorithm {sort!r} not supported")
    if nrandom is not None and (isinstance(nrandom, bool) or not isinstance(nrandom, int)
                                or nrandom < 1):
        raise exceptions.InvalidObject("nrandom must be a positive integer")
    if schemes is not None and (not isinstance(schemes, list) or
                                not all(isinstance(s, str) for s in schemes)):
        raise exceptions.InvalidObject("schemes must be a list of strings")


def list_replicas(issuer, dids: list, schemes: list | None = None,
                  ignore_availability: bool = True, all_states: bool = False,
                  unavailable: bool = False, rse_expression: str | None = None,
                  resolve_parents: bool = False, updated_after=None, nrandom: int | None = None,
                  domain: str | None = None, sort: str | None = None):
    """The replicas of ``dids`` (files; collections expanded): a generator of batches of
    JSON lines (text, each ending with a newline; see :class:`LineBuilder`).

    Argument checks and DID resolution happen here, before the first batch, so their errors
    are ordinary error responses.
    """
    keys = did_keys(dids)
    _check_options(domain, sort, nrandom, schemes)
    catalog = RSECatalog(schemes, domain or "wan")
    after = parse_date(updated_after, "updated_after") if updated_after is not None else None
    replicas = ReplicaQuery(_states(all_states, unavailable),
                            _rse_ids(catalog, rse_expression, ignore_availability), after)
    types = did_type_map(keys)
    files = [k for k in keys if types.get(k) == "FILE"]
    datasets = datasets_of([k + (types[k],) for k in keys
                            if types.get(k) in ("DATASET", "CONTAINER")])
    builder = LineBuilder(catalog, Ancestors() if resolve_parents else None)
    batches = _lines(replicas, files, datasets, builder)
    return _pick_random(batches, nrandom) if nrandom else batches


def _lines(replicas, files, datasets, builder):
    sources = [replicas.files(files)] if files else []
    sources += [replicas.dataset(scope, name) for scope, name in datasets]
    for source in sources:
        try:
            yield from builder.lines(source)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()


def _pick_random(batches, count):
    """``count`` lines chosen uniformly at random (reservoir sampling: memory of ``count``)."""
    reservoir = []
    seen = 0
    for lines in batches:
        for line in lines:
            seen += 1
            item = (random.random(), seen, line)
            if len(reservoir) < count:
                heapq.heappush(reservoir, item)
            elif item[0] > reservoir[0][0]:
                heapq.heapreplace(reservoir, item)
    yield [line for _, _, line in reservoir]


def list_did_replicas(issuer, scope: str, name: str, **options):
    """``GET /replicas/{scope}/{name}`` (also served at ``GET /dids/{scope}/{name}/rses/``)."""
    validate("scope", scope)
    validate("name", name)
    return list_replicas(issuer, [{"scope": scope, "name": name}], **options)


# -- metalink ----------------------------------------------------------------------------------
METALINK_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<metalink xmlns="urn:ietf:params:xml:ns:metalink">\n')
METALINK_TAIL = "</metalink>\n"
#: The ``glfn`` namespace: the real server's ``[policy] schema`` default (``POST /replicas/list``)
#: and the fixed one of ``GET /replicas/{scope}/{name}``.
POLICY_SCHEMA, DID_POLICY_SCHEMA = "generic", "atlas"


def _metalink_file(line, schema, detailed):
    """One ``<file>`` as the real server writes it: parents, identity, hashes, size, glfn,
    then one ``<url>`` per PFN in priority order."""
    scope, name = line["scope"], line["name"]
    did = f"{scope}:{name}"
    parts = [f" <file name={quoteattr(name)}>\n"]
    if line.get("parents"):
        parts.append("  <parents>\n")
        parts.extend(f"   <did>{escape(parent)}</did>\n" for parent in line["parents"])
        parts.append("  </parents>\n")
    parts.append(f"  <identity>{escape(did)}</identity>\n")
    for kind in ("adler32", "md5"):
        if line.get(kind) is not None:
            parts.append(f'  <hash type="{kind}">{escape(line[kind])}</hash>\n')
    parts.append(f"  <size>{line['bytes']}</size>\n")
    parts.append(f"  <glfn name={quoteattr(f'/{schema}/rucio/{did}')}></glfn>\n")
    for pfn, details in sorted(line["pfns"].items(), key=lambda item: item[1]["priority"]):
        extra = (f' domain="{details["domain"]}" priority="{details["priority"]}" '
                 f'client_extract="{str(details["client_extract"]).lower()}"' if detailed
                 else f' priority="{details["priority"]}"')
        parts.append(f"  <url location={quoteattr(details['rse'])}{extra}>{escape(pfn)}</url>\n")
    parts.append(" </file>\n")
    return "".join(parts)


def as_metalink(batches, schema=POLICY_SCHEMA, detailed=True):
    """Batches of JSON lines -> batches of Metalink 4 XML text (head, one ``<file>`` per
    line, tail). ``detailed``: the ``<url>`` also carries ``domain`` and ``client_extract``
    (``POST /replicas/list``; ``GET /replicas/{scope}/{name}`` writes location and
    priority only)."""
    try:
        yield [METALINK_HEAD]
        for lines in batches:
            yield ["".join(_metalink_file(ujson.loads(line), schema, detailed)
                           for line in lines)]
        yield [METALINK_TAIL]
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
