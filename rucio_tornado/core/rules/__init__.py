"""Replication rules.

- :mod:`.spec`: a rule's options as data (:class:`~.spec.RuleSpec`), their checks and defaults.
- :mod:`.lifecycle`: create, read, update, delete, reduce, move, approve and expire rules.
- :mod:`.placement`: candidate RSEs, quotas, and where each group of files goes (the plan).
- :mod:`.locks`: replica and dataset locks, set-based; rule counters, history, account usage.
- :mod:`.listing`: streamed rule listings and filters, locks, analysis, history.
- :mod:`.reactions`: rules following replicas and attachments; the expiry task (``install``).

Imports go one way: reactions -> lifecycle -> placement, locks, listing, spec.
"""
