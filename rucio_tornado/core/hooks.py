"""Reactions of one core module to another's changes, without either importing the other.

A module that changes something calls ``emit(EVENT, ...)`` inside its transaction; a module that
cares registers with ``@on(EVENT)`` at import time. Handlers run in the same transaction, so a
failing handler rolls the whole request back. Events (keyword arguments):

- ``FILES_ATTACHED``: ``scope``, ``name`` (the dataset), ``files``: list of
  ``(scope, name, bytes)`` newly attached. (Rules create the missing locks.)
- ``COLLECTIONS_ATTACHED``: ``scope``, ``name`` (the container), ``children``: list of
  ``(scope, name, did_type)`` newly attached datasets/containers. (Rules above the container
  lock the files of the datasets now under it.)
- ``REPLICAS_AVAILABLE``: ``rse_id``, ``dids``: list of ``(scope, name)`` whose replica on that
  RSE became AVAILABLE. (Rules turn REPLICATING locks into OK.)
- ``REPLICAS_REMOVED``: ``rse_id``, ``dids``: list of ``(scope, name)`` whose replica row was
  deleted.
"""
from collections import defaultdict

FILES_ATTACHED = "files_attached"
COLLECTIONS_ATTACHED = "collections_attached"
REPLICAS_AVAILABLE = "replicas_available"
REPLICAS_REMOVED = "replicas_removed"

_handlers = defaultdict(list)


def on(event):
    """Decorator: call the function on ``event``."""
    def register(fn):
        if fn not in _handlers[event]:
            _handlers[event].append(fn)
        return fn
    return register


def emit(event, **kwargs):
    for fn in _handlers[event]:
        fn(**kwargs)
