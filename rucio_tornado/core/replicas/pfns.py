"""Physical file names: the per-listing RSE/protocol catalog, lfn2pfn, and PFN -> replica.

A :class:`RSECatalog` reads every RSE and protocol once (a handful of rows) so a listing builds
each PFN with string operations only, never a query per row; the same catalog turns a PFN back
into the replica it names (:meth:`RSECatalog.replica_of`), for bad-replica declarations and
``POST /replicas/dids``.
"""
from typing import NamedTuple

try:    # CPython's own md5: for the short texts of PFNs about twice as fast as OpenSSL's
    from _md5 import md5
except ImportError:   # pragma: no cover - a build without it
    from hashlib import md5

from rucio_tornado.core import lookup
from rucio_tornado.core.common import check_type
from rucio_tornado.models import RSE, Replica, RSEProtocol


def hash_path(scope, name):
    """Rucio's default ``hash`` lfn2pfn: ``user/jdoe/7f/2d/f1`` for ``user.jdoe:f1``."""
    digest = md5(f"{scope}:{name}".encode()).hexdigest()
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


#: Schemes a Metalink listing offers when the client names none (the real server's list).
SUPPORTED_SCHEMES = ("root", "davs", "http", "https", "file", "storm", "srm+https", "scp",
                     "rsync", "rclone", "magnet")
#: Index of the read priority of each domain in a protocol tuple (see :class:`RSECatalog`).
READ_INDEX = {"wan": 4, "lan": 5}


class RSEInfo:
    """What a listing needs of one RSE: its name, type and the read protocols it offers.

    A read priority of ``None`` means "not supported"; every number, 0 included, is a
    priority (the lowest number first)."""
    __slots__ = ("id", "rse", "rse_type", "volatile", "deterministic", "available_read",
                 "lfn2pfn", "reads", "base", "protocols",
                 "json_rse", "json_base", "json_details")   # the JSON forms, per listing

    def __init__(self, row, protocols):
        (self.id, self.rse, self.rse_type, self.volatile, self.deterministic,
         self.available_read, algorithm) = row
        self.volatile, self.deterministic = bool(self.volatile), bool(self.deterministic)
        self.available_read = bool(self.available_read)
        self.lfn2pfn = LFN2PFN.get(algorithm or "hash", hash_path)
        self.protocols = protocols
        self.reads, self.base = [], None

    def _best(self, domain, scheme=None):
        index = READ_INDEX[domain]
        usable = [p for p in self.protocols
                  if p[index] is not None and (scheme is None or p[0] == scheme)]
        return min(usable, key=lambda p: p[index]) if usable else None

    def choose(self, schemes=None, domain="wan"):
        """The read protocols a listing builds PFNs with, as the real server picks them:
        without ``schemes`` the best protocol of each domain, else the best of each scheme
        in each domain. ``self.reads`` is ``[(domain, priority, base)]``, one entry per
        distinct base (a protocol chosen for both domains counts as ``lan``); ``self.base``
        is the only base when there is exactly one."""
        domains = ("wan", "lan") if domain == "all" else (domain,)
        if not schemes:
            best = self._best(domains[0])
            schemes = [best[0]] if best else []
            if best and len(domains) > 1:
                other = self._best(domains[1])
                schemes += [other[0]] if other and other[0] != best[0] else []
        reads = {}
        for scheme in schemes:
            for name in domains:
                proto = self._best(name, scheme)
                if proto is not None:
                    base = protocol_base(proto[0], proto[1], proto[2], proto[3])
                    reads[base] = (name, proto[READ_INDEX[name]], base)
        self.reads = list(reads.values())
        self.base = self.reads[0][2] if len(self.reads) == 1 else None
        return self

    def relative(self, scope, name, path=None):
        """The path of a replica here after a protocol's base (or a full PFN if stored so)."""
        if path:
            return path if "://" in path else path.lstrip("/")
        return self.lfn2pfn(scope, name)

    def pfn_details(self, priority, domain):
        """The ``pfns[pfn]`` dict for this RSE at ``priority`` in ``domain``."""
        return {"rse_id": self.id, "rse": self.rse, "type": self.rse_type,
                "volatile": self.volatile, "domain": domain, "priority": priority,
                "client_extract": False}


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
                RSEProtocol.prefix, RSEProtocol.read_wan, RSEProtocol.read_lan).tuples():
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
