"""``/redirect``: the PFN of a file's best replica (for a 303), or its Metalink document.

As the real server: schemes ``davs, https, s3`` by default (``davs://`` and ``s3://`` PFNs are
given as ``https://``), ``rse`` picks that RSE's PFN as it is, ``site`` keeps the RSEs whose
``site`` attribute matches, ``select``/``sort`` chooses among the rest (``random`` by default;
we hold no client locations, so the other algorithms keep the protocol priority order).
"""
import random

import ujson

from rucio_tornado import exceptions
from rucio_tornado.core import lookup
from rucio_tornado.core.common import did_key
from rucio_tornado.core.replicas import listing
from rucio_tornado.models import DID, RSE, RSEAttribute

REDIRECT_SCHEMES = ["davs", "https", "s3"]
METALINK_SCHEMES = ["http", "https", "root", "davs"]
NO_RSE = "no redirection possible - no valid RSE for HTTP redirection found"


def _replicas(scope, name, schemes):
    """The listing's batches for one DID (DataIdentifierNotFound first)."""
    scope, name = did_key({"scope": scope, "name": name})
    lookup.did(scope, name, DID.did_type)
    return listing.list_replicas(None, [{"scope": scope, "name": name}], schemes=schemes)


def _site_rses(site):
    return {rse for (rse,) in RSE.select(RSE.rse).join(
        RSEAttribute, on=(RSEAttribute.rse_id == RSE.id)).where(
            RSEAttribute.key == "site", RSEAttribute.value == ujson.dumps(site),
            RSE.deleted == False).tuples()}  # noqa: E712


def _https(pfn):
    return pfn.replace("davs://", "https://").replace("s3://", "https://")


def redirect_url(issuer, scope, name, rse=None, site=None, schemes=None, select=None):
    """The URL to redirect to; NoRedirection (ReplicaNotFound, 404) when there is none."""
    select = select or "random"
    if select not in listing.SORTS:
        raise exceptions.SortingAlgorithmNotSupported(
            f"Sorting algorithm: {select} is not supported")
    schemes = schemes or REDIRECT_SCHEMES
    lines = [ujson.loads(line) for batch in _replicas(scope, name, schemes) for line in batch]
    chosen = None
    for line in lines:
        rses = line.get("rses") or {}
        if not rses:
            continue
        if rse:
            if not rses.get(rse):
                raise exceptions.NoRedirection(NO_RSE)
            chosen = rses[rse][0]
            continue
        candidates = {_https(pfn): rse_name for rse_name, pfns in rses.items() for pfn in pfns}
        if site:
            allowed = _site_rses(site)
            candidates = {pfn: r for pfn, r in candidates.items() if r in allowed}
        if not candidates:
            raise exceptions.NoRedirection(NO_RSE)
        pfns = list(candidates)
        chosen = random.choice(pfns) if select == "random" else pfns[0]
    if chosen is None:
        raise exceptions.NoRedirection("no redirection possible - file does not exist")
    return chosen


def metalink(issuer, scope, name, schemes=None):
    """Batches of Metalink 4 XML for ``/redirect/{scope}/{name}/metalink``: the files that have
    replicas (NoRedirection when none has)."""
    batches = _with_replicas(_replicas(scope, name, schemes or METALINK_SCHEMES))
    for first in batches:
        if first:
            return listing.as_metalink(_chained(first, batches))
    raise exceptions.NoRedirection("no redirection possible - cannot find the DID")


def _with_replicas(batches):
    """The listing's lines of files with at least one replica."""
    try:
        for batch in batches:
            yield [line for line in batch if ujson.loads(line).get("rses")]
    finally:
        batches.close()


def _chained(first, rest):
    try:
        yield first
        yield from rest
    finally:
        rest.close()
