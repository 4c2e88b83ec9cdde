"""Authentication: every way to prove who you are, and the one way from that to an account.

- :mod:`.passwords`  USERPASS: salted scrypt hashes, the username/password login
- :mod:`.tokens`     our own tokens: JWTs (HS256 or RS256) issued after any login
- :mod:`.x509`       the DN normaliser (Rucio's slash form), certificate/proxy -> user DN
- :mod:`.oidc`       external OIDC / WLCG tokens: issuers, cached JWKS, claim checks
- :mod:`.ssh`        single-use SSH challenges (in the database) and signature checks
- :mod:`.resolve`    verified identity -> account (``X-Rucio-Account`` or the default),
                     account -> :class:`Issuer`, identity keys as stored (aliases, DN form)

The names below are re-exported for the modules that imported them from ``core.auth``.
"""
from rucio_tornado.core.auth.passwords import (  # noqa: F401
    authenticate_userpass,
    hash_password,
    verify_password,
)
from rucio_tornado.core.auth.resolve import (  # noqa: F401
    account_for_identity,
    issuer_for_account,
    issuer_for_identity,
)
from rucio_tornado.core.auth.tokens import TokenService, development_secret  # noqa: F401
