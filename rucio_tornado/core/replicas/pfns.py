"""Physical file names: the per-listing RSE/protocol catalog, lfn2pfn, and PFN -> replica.

A :class:`RSECatalog` reads every RSE and protocol once (a handful of rows) so a listing builds
each PFN with string operations only, never a query per row; the same catalog turns a PFN back
into the replica it names (:meth:`RSECatalog.replica_of`), for bad-replica declarations and
``POST /replicas/dids``.
"""
import hashlib
from typing import NamedTuple

from rucio_tornado.core import lookup
from rucio_tornado.core.common import check_type
from rucio_tornado.models import RSE, Replica, RSEProtocol


def hash_path(scope, name):
    """Rucio's default ``hash`` lfn2pfn: ``user/jdoe/7f/2d/f1`` for ``user.jdoe:f1``."""
    digest = hashlib.md5(f"{scope}:{name}".encode()).hexdigest()
    if scope.startswith(("user", "group")):
        scope = scope.replace(".", "/")
    return f"{scope}/{digest[0:2]}/{digest[2:4]}/{name}"


def identity_path(scope, name):
    return f"{scope}/{name}"


LFN2PFN = {"hash": hash_path, "identity": identity_path}


def protocol_base(scheme, hostname, port, prefix):
    """``scheme://host[:port]/prefix/``: what a relative path is appended to."""
    prefix = (prefix or "").strip("/")
    prefix = f"/{prefix}/" if prefix else "/"
    host = f"{hostname}:{port}" if port else (hostname or "")
    return f"{scheme}://{host}{prefix}"


class RSEInfo:
    """What a listing needs of one RSE: its name, type and best read protocol."""
    __slots__ = ("id", "rse", "rse_type", "volatile", "deterministic", "available_read",
                 "lfn2pfn", "base", "scheme", "details", "protocols",
                 "json_rse", "json_base", "json_details")   # the JSON forms, per listing

    def __init__(self, row, protocols):
        (self.id, self.rse, self.rse_type, self.volatile, self.deterministic,
         self.available_read, algorithm) = row
        self.volatile, self.deterministic = bool(self.volatile), bool(self.deterministic)
        self.available_read = bool(self.available_read)
        self.lfn2pfn = LFN2PFN.get(algorithm or "hash", hash_path)
        self.protocols = protocols
        self.base = self.scheme = None
        self.details = {}

    def choose(self, schemes=None, domain="wan"):
        """Pick the protocol with the best (lowest non-zero) read priority for ``domain``."""
        index = 6 if domain == "lan" else 5
        usable = [p for p in self.protocols if p[index] and (not schemes or p[0] in schemes)]
        self.base = self.scheme = None
        if usable:
            best = min(usable, key=lambda p: p[index])
            self.scheme = best[0]
            self.base = protocol_base(best[0], best[1], best[2], best[3])
        return self

    def pfn(self, scope, name, path=None):
        """The PFN of a replica here (None without a usable protocol)."""
        if path:
            if "://" in path:
                return path
            return None if self.base is None else self.base + path.lstrip("/")
        if self.base is None:
            return None
        return self.base + self.lfn2pfn(scope, name)

    def pfn_details(self, priority, domain):
        """The (shared, never mutated) ``pfns[pfn]`` dict for this RSE at ``priority``."""
        details = self.details.get(priority)
        if details is None:
            details = self.details[priority] = {
                "rse_id": self.id, "rse": self.rse, "type": self.rse_type,
                "volatile": self.volatile, "domain": domain, "priority": priority,
                "client_extract": False}
        return details


class PFNReplica(NamedTuple):
    """The replica a PFN points to."""
    rse: "RSEInfo"
    scope: str
    name: str


def rse_names() -> dict:
    """``{rse_id: rse}`` of every non-deleted RSE (one query)."""
    return dict(RSE.select(RSE.id, RSE.rse).where(RSE.deleted == False).tuples())  # noqa: E712


class RSECatalog:
    """Every non-deleted RSE with its protocols, read in two queries."""

    def __init__(self, schemes=None, domain="wan"):
        protocols = {}
        for row in RSEProtocol.select(
                RSEProtocol.rse_id, RSEProtocol.scheme, RSEProtocol.hostname, RSEProtocol.port,
                RSEProtocol.prefix, RSEProtocol.impl, RSEProtocol.read_wan,
                RSEProtocol.read_lan).tuples():
            protocols.setdefault(row[0], []).append(row[1:])
        self.by_id = {}
        for row in RSE.select(RSE.id, RSE.rse, RSE.rse_type, RSE.volatile, RSE.deterministic,
                              RSE.availability_read, RSE.lfn2pfn_algorithm).where(
                                  RSE.deleted == False).tuples():  # noqa: E712
            self.by_id[row[0]] = RSEInfo(row, protocols.get(row[0], [])).choose(schemes, domain)
        self.by_name = {info.rse: info for info in self.by_id.values()}

    def parse_pfn(self, pfn):
        """``pfn`` -> (RSEInfo, path after the protocol prefix) for every protocol it fits."""
        for info in self.by_id.values():
            for proto in info.protocols:
                base = protocol_base(proto[0], proto[1], proto[2], proto[3])
                if pfn.startswith(base):
                    yield info, pfn[len(base):]

    def replica_of(self, pfn: str) -> PFNReplica | None:
        """The replica ``pfn`` points to, or None.

        Several RSEs may share a protocol prefix: the PFN names the one that holds the
        replica (a hash path is checked against the replica rows, a stored path matched)."""
        for info, path in self.parse_pfn(pfn):
            if info.deterministic:
                did = did_from_hash_path(path)
                if did is not None and Replica.select().where(
                        Replica.rse_id == info.id, Replica.scope == did[0],
                        Replica.name == did[1]).exists():
                    return PFNReplica(info, *did)
            row = Replica.get_or_none(Replica.rse_id == info.id, Replica.path.in_([path, pfn]))
            if row is not None:
                return PFNReplica(info, row.scope, row.name)
        row = Replica.get_or_none(Replica.path == pfn)
        if row is not None and row.rse_id in self.by_id:
            return PFNReplica(self.by_id[row.rse_id], row.scope, row.name)
        return None


def did_from_hash_path(path):
    """Invert :func:`hash_path` (checking the digest); None when ``path`` is not one."""
    parts = path.split("/")
    for i in range(1, len(parts) - 2):
        first, second = parts[i], parts[i + 1]
        if len(first) != 2 or len(second) != 2:
            continue
        name = "/".join(parts[i + 2:])
        scope_path = "/".join(parts[:i])
        for scope in {scope_path, scope_path.replace("/", ".")}:
            if hash_path(scope, name) == path:
                return scope, name
    return None


def dids_from_pfns(issuer, pfns: list, rse: str | None = None) -> list:
    """``POST /replicas/dids``: ``[{pfn: {"scope", "name"}}]`` for the PFNs that point to a
    replica (on ``rse`` if given)."""
    pfns = check_type(pfns, list, "pfns")
    rse_id = lookup.rse(rse).id if rse else None
    catalog = RSECatalog()
    out = []
    for pfn in pfns:
        found = catalog.replica_of(pfn) if isinstance(pfn, str) else None
        if found is not None and (rse_id is None or found.rse.id == rse_id):
            out.append({pfn: {"scope": found.scope, "name": found.name}})
    return out
