"""How core modules react to each other's changes, and the periodic tasks: one registry.

Nothing registers itself on import: :func:`rucio_tornado.core.install` wires the reactions and
tasks explicitly, and the app, the CLI and the tools call it. A module that changes something
calls ``emit(EVENT, ...)`` inside its transaction; handlers run in the same transaction, so a
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

Periodic tasks are functions of no arguments that do one pass and return a count of what they
did; ``rucio-tornado daemon NAME`` runs them in production, a development server in-process.
"""
from collections import defaultdict

FILES_ATTACHED = "files_attached"
COLLECTIONS_ATTACHED = "collections_attached"
REPLICAS_AVAILABLE = "replicas_available"
REPLICAS_REMOVED = "replicas_removed"

_handlers = defaultdict(list)
#: name -> periodic task
TASKS = {}


def on(event, fn):
    """Call ``fn(**kwargs)`` on every ``emit(event, **kwargs)`` (registered once)."""
    if fn not in _handlers[event]:
        _handlers[event].append(fn)
    return fn


def off(event, fn):
    """Stop calling ``fn`` on ``event``."""
    if fn in _handlers[event]:
        _handlers[event].remove(fn)


def emit(event, **kwargs):
    for fn in _handlers[event]:
        fn(**kwargs)


def add_task(name, fn):
    """Register the periodic task ``name``."""
    TASKS[name] = fn
    return fn
