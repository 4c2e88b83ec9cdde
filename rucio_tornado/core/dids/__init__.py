"""Data identifiers (DIDs), one module per concern; each imports only those listed above it.

- ``graph``: the toolkit under the others: set-based fetch and insert, children, descendants,
  ancestors (recursive queries), datasets under a collection, the cycle check of a call's
  nested attachments (``NestingCheck``), the scope permission check.
- ``meta``: DID metadata (columns and free-form keys) and the metadata key conventions.
- ``catalog``: creation, status, obsolete, attach/detach and the content listings (DIDs only;
  compositions with replicas and rules are in :mod:`rucio_tornado.core.workflows`).
- ``search``: the client's filters turned into one streamed query.
- ``extras``: new DIDs, resurrection, samples and followers (on ``catalog`` and ``graph``).
"""
