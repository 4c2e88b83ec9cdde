"""The domain: plain values in, dicts or generators of batches out; no HTTP here.

Flat modules are the small resources (accounts, identities, scopes, account limits,
subscriptions) and the shared toolkit (common, bulk, lookup, permissions, events, auth);
``dids/``, ``replicas/``, ``rses/`` and ``rules/`` are the resources with several modules.
"""


def install():
    """Wire the core together: the rules' reactions to catalog events and every periodic task.

    Explicit and idempotent: the application, the CLI, the daemon and the tools call it, so a
    script that uses the core without the web layer gets the same behaviour. Returns the
    registered periodic tasks ``{name: fn}``.
    """
    from rucio_tornado.core import events, subscriptions
    from rucio_tornado.core.rules import reactions
    reactions.install()
    subscriptions.install()
    return events.TASKS
