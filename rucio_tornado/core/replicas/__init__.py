"""Replicas: what lives where.

- ``registration``: add, change the state of, delete and tombstone replicas (bulk, set-based).
- ``listing``: ``POST /replicas/list`` and friends, streamed as ready JSON lines; Metalink.
- ``datasets``: dataset replicas, computed on the fly from the file replicas.
- ``pfns``: the RSE/protocol catalog, lfn2pfn, and PFN -> replica resolution.
- ``bad``: bad, suspicious and temporarily unavailable replicas and PFNs: declarations and reads.
"""
