"""Periodic tasks (expired rules, subscriptions): in-process in development, or run by
``rucio-tornado daemon NAME`` in production, so that they run in exactly one place.

Each task is a function of no arguments that does one pass and returns a count of what it
did; it is called in the database executor. Modules register theirs with :func:`task`.
"""
TASKS = {}


def task(name):
    """Decorator registering a periodic task under ``name``."""
    def register(fn):
        TASKS[name] = fn
        return fn
    return register
