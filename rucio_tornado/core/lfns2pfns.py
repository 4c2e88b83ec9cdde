"""``GET /rses/{rse}/lfns2pfns``: the PFNs of LFNs on an RSE for one operation and domain.

The protocol is the RSE's best (lowest non-zero priority) for the operation in the domain,
optionally of one scheme; the path is the RSE's lfn2pfn algorithm, as in replica listings
(:mod:`rucio_tornado.core.replicas.pfns`).
"""
from rucio_tornado import exceptions
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.replicas.pfns import LFN2PFN, hash_path, protocol_base
from rucio_tornado.core.rses.protocols import get_protocols


def parse_lfns(lfns: list[str]) -> list[tuple[str, str]]:
    """``["scope:name", ...]`` -> ``[(scope, name)]``; InvalidPath names the bad ones."""
    pairs = [lfn.split(":", 1) for lfn in lfns]
    invalid = [lfn for lfn, pair in zip(lfns, pairs) if len(pair) != 2 or not all(pair)]
    if invalid:
        raise exceptions.InvalidPath("LFN(s) in invalid format: " + ", ".join(invalid))
    return [tuple(pair) for pair in pairs]


def lfns2pfns(issuer: Issuer, rse: str, lfns: list[str], scheme: str | None = None,
              domain: str = "wan", operation: str = "write") -> dict:
    """``{"scope:name": pfn}``; no LFN -> ReplicaNotFound, no protocol -> 404 as the RSE's."""
    pairs = parse_lfns(lfns)
    if not pairs:
        raise exceptions.ReplicaNotFound("No replicas found")
    info = get_protocols(issuer, rse, scheme=scheme, domain=domain, operation=operation,
                         default=True)
    best = info["protocols"][0]
    base = protocol_base(best["scheme"], best["hostname"], best["port"], best["prefix"])
    path = LFN2PFN.get(info["lfn2pfn_algorithm"] or "hash", hash_path)
    return {f"{scope}:{name}": base + path(scope, name) for scope, name in pairs}
