"""VOs, as the real server answers them in single-VO mode (this server has one VO).

The real server checks the permission first (root/admin), then refuses every VO operation,
the listing included, with ``UnsupportedOperation``: VOs exist only in multi-VO mode.
"""
from rucio_tornado import exceptions
from rucio_tornado.core import permissions

SINGLE_VO = "VO operations cannot be performed in single VO mode."


def _refuse(issuer, action):
    permissions.check(issuer, action)
    raise exceptions.UnsupportedOperation(SINGLE_VO)


def list_vos(issuer):
    _refuse(issuer, "list_vos")


def add_vo(issuer, vo, description=None, email=None):
    _refuse(issuer, "add_vo")


def update_vo(issuer, vo, description=None, email=None):
    _refuse(issuer, "update_vo")


def recover_vo_root_identity(issuer, vo, identity, authtype, email, password=None,
                             default=False):
    _refuse(issuer, "recover_vo_root_identity")
