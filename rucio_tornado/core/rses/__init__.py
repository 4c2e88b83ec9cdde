"""Storage elements (RSEs).

- ``catalog``: RSEs (add, update, soft delete, list, the RSE document) and their attributes.
- ``expression``: the RSE expression language: parser, evaluator, RSE snapshots.
- ``protocols``: protocols of an RSE and distances between RSEs.
- ``usage``: space usage per source with its history, and RSE limits.
"""
