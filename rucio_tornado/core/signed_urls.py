"""``GET /credentials/signurl``: signed URLs for object-store RSEs, as the real server's
``core/credential.get_signed_url`` for the ``s3`` service (AWS Signature V4 query presigning
by botocore).

The credentials are the real server's ``rse-accounts.cfg`` JSON, read from the file the
``rse_accounts`` setting names: ``{RSE id or RSE name: {"access_key", "secret_key",
"signature_version" (default "s3v4"), "region" (default "us-east-1")}}`` (the real server keys
it by RSE id only). The RSE attribute ``s3_url_style`` (``path``, the default, or ``host``)
says where the bucket is in the URL. Signing is root's, or an account's with the attribute
``sign-url``. The services ``gcs`` and ``swift`` answer 501 (this server holds no such
credentials).
"""
import json
from urllib.parse import urlparse

import botocore.session
from botocore.config import Config

from rucio_tornado import exceptions
from rucio_tornado.core import lookup, permissions
from rucio_tornado.core.permissions import Issuer
from rucio_tornado.core.rses.expression import decode_attribute
from rucio_tornado.models import AccountAttribute, RSEAttribute

SERVICES = ("gcs", "s3", "swift")
OPERATIONS = {"read": "get_object", "write": "put_object", "delete": "delete_object"}
DEFAULT_LIFETIME = 600


def _may_sign(account):
    value = AccountAttribute.select(AccountAttribute.value).where(
        AccountAttribute.account == account, AccountAttribute.key == "sign-url").scalar()
    return value is not None and str(value).strip('"').lower() in ("true", "1", "yes")


def read_credentials(path: str) -> dict:
    """The RSE credentials file; ErrorLoadingCredentials when it cannot be read."""
    if not path:
        raise exceptions.ErrorLoadingCredentials(
            "No RSE credentials are configured (setting rse_accounts)")
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise exceptions.ErrorLoadingCredentials(
            f"Cannot read the RSE credentials file: {exc}") from None
    if not isinstance(data, dict):
        raise exceptions.ErrorLoadingCredentials("The RSE credentials file is not an object")
    return data


def _bucket_and_key(url, style):
    components = urlparse(url)
    host, parts = components.netloc, components.path.split("/")
    if not host:
        raise exceptions.UnsupportedOperation(f"Not a valid S3 URL: {url}")
    if style == "path":
        if len(parts) < 3 or not parts[1]:
            raise exceptions.UnsupportedOperation("Not a valid Path-Style S3 URL")
        bucket, key = parts[1], "/".join(parts[2:])
        endpoint_host = host
    elif style == "host":
        if len(parts) < 2 or "." not in host:
            raise exceptions.UnsupportedOperation("Not a valid Host-Style S3 URL")
        bucket, key = host.split(".")[0], "/".join(parts[1:])
        endpoint_host = host.split(".", 1)[1]
    else:
        raise exceptions.UnsupportedOperation(
            "Not a valid RSE S3 URL style (allowed values: path|host)")
    if not key:
        raise exceptions.UnsupportedOperation(f"Not a valid S3 URL (no key): {url}")
    return bucket, key, endpoint_host


def presign_s3(url: str, operation: str, lifetime: int, credential: dict,
               style: str = "path") -> str:
    """The AWS Signature V4 presigned form of ``url`` (see the module's docstring)."""
    bucket, key, endpoint_host = _bucket_and_key(url, style)
    for name in ("access_key", "secret_key"):
        if not isinstance(credential.get(name), str):
            raise exceptions.ErrorLoadingCredentials(f"RSE credentials lack '{name}'")
    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=f"https://{endpoint_host}",
        aws_access_key_id=credential["access_key"],
        aws_secret_access_key=credential["secret_key"],
        config=Config(signature_version=credential.get("signature_version") or "s3v4",
                      region_name=credential.get("region") or "us-east-1",
                      s3={"addressing_style": "virtual" if style == "host" else "path"}))
    return client.generate_presigned_url(OPERATIONS[operation],
                                         Params={"Bucket": bucket, "Key": key},
                                         ExpiresIn=lifetime)


def get_signed_url(issuer: Issuer, rse: str, url: str, service: str = "gcs",
                   operation: str = "read", lifetime: int = DEFAULT_LIFETIME,
                   credentials_file: str = "") -> str:
    """A signed ``url`` on ``rse`` for ``operation``, valid ``lifetime`` seconds."""
    if not isinstance(rse, str) or not rse:
        raise exceptions.InvalidValue('Parameter "rse" not found')
    if not isinstance(url, str) or not url:
        raise exceptions.InvalidValue('Parameter "url" not found')
    if service not in SERVICES:
        raise exceptions.InvalidValue('Parameter "svc" must be either empty (which defaults to '
                                      '"gcs"), "gcs", "s3" or "swift"')
    if operation not in OPERATIONS:
        raise exceptions.InvalidValue('Parameter "op" must be either empty (which defaults to '
                                      '"read"), "read", "write", or "delete".')
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
        raise exceptions.InvalidValue(f"Invalid lifetime {lifetime!r}")
    permissions.check(issuer, "get_signed_url", sign_url=_may_sign(issuer.account))
    rse_row = lookup.rse(rse)
    if service != "s3":
        raise exceptions.NotServed(
            f"Signed URLs for {service} are not supported by this server (only s3)")
    credentials = read_credentials(credentials_file)
    credential = credentials.get(rse_row.id, credentials.get(rse_row.rse))
    if not isinstance(credential, dict):
        raise exceptions.UnsupportedOperation(f"RSE {rse} has no s3 credentials on this server")
    style = RSEAttribute.select(RSEAttribute.value).where(
        RSEAttribute.rse_id == rse_row.id, RSEAttribute.key == "s3_url_style").scalar()
    style = "path" if style is None else str(decode_attribute(style))
    return presign_s3(url, operation, lifetime, credential, style)
