"""SSH keys: single-use challenges kept in the database, and the client's signature of one.

``GET /auth/ssh_challenge_token`` stores a random challenge for the account (so that every
process and machine agrees on it); the client signs it with its private key
(``rsa-sha2-256`` with the real client; ``rsa-sha2-512`` and ``ssh-ed25519`` are accepted too)
and sends the SSH signature blob, base64, in ``X-Rucio-SSH-Signature``. The first challenge of
the account that verifies against one of its SSH public keys is deleted in the same
transaction, so a signature can be used once, and only before the challenge expires.
"""
import base64
import datetime
import secrets
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from rucio_tornado import exceptions
from rucio_tornado.core.auth.resolve import account_for_identity
from rucio_tornado.db import atomic
from rucio_tornado.models import Account, Identity, IdentityAccount, SSHChallenge, utcnow


#: the RSA signature algorithms accepted (``ssh-rsa``, i.e. SHA-1, is not)
RSA_HASHES = {"rsa-sha2-256": hashes.SHA256, "rsa-sha2-512": hashes.SHA512}


def load_public_key(line):
    """The public key of an ``authorized_keys``-style line (ValueError if it is none)."""
    fields = line.split() if isinstance(line, str) else []
    if len(fields) < 2:
        raise ValueError("not an SSH public key line")
    try:
        return load_ssh_public_key(f"{fields[0]} {fields[1]}".encode())
    except Exception as exc:             # cryptography raises ValueError or UnsupportedAlgorithm
        raise ValueError(str(exc)) from None


def _ssh_strings(blob):
    """The SSH wire-format strings (uint32 length + bytes) of ``blob``."""
    strings, offset = [], 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            raise ValueError("truncated")
        (length,) = struct.unpack(">I", blob[offset:offset + 4])
        offset += 4
        if offset + length > len(blob):
            raise ValueError("truncated")
        strings.append(blob[offset:offset + length])
        offset += length
    return strings


def parse_signature(text):
    """``X-Rucio-SSH-Signature`` -> ``(algorithm, signature bytes)`` (ValueError if malformed)."""
    try:
        blob = base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4), validate=True)
        algorithm, signature = _ssh_strings(blob)
        return algorithm.decode("ascii"), signature
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise ValueError(f"malformed SSH signature: {exc}") from None


def signature_matches(public_key, algorithm, signature, message):
    """True if ``signature`` (of ``algorithm``) over ``message`` verifies with ``public_key``."""
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and algorithm in RSA_HASHES:
            public_key.verify(signature, message, padding.PKCS1v15(), RSA_HASHES[algorithm]())
        elif isinstance(public_key, ed25519.Ed25519PublicKey) and algorithm == "ssh-ed25519":
            public_key.verify(signature, message)
        else:
            return False
    except InvalidSignature:
        return False
    return True


@atomic
def new_challenge(account, lifetime):
    """A challenge for ``account`` valid ``lifetime`` seconds: ``(challenge, expires_at)``."""
    if not isinstance(account, str) or not account:
        raise exceptions.InvalidValue("Account must be set.")
    row = Account.get_or_none(Account.account == account)
    if row is None or row.status != "ACTIVE":
        raise exceptions.CannotAuthenticate(f"Cannot generate challenge for account {account}")
    now = utcnow().replace(microsecond=0)
    SSHChallenge.delete().where(SSHChallenge.expires_at < now).execute()
    expires = now + datetime.timedelta(seconds=lifetime)
    challenge = f"challenge-{secrets.token_urlsafe(32)}-{account}"
    SSHChallenge.create(challenge=challenge, account=account, expires_at=expires)
    return challenge, expires


@atomic
def authenticate_ssh(account, signature):
    """Verify the signature of one of the account's live challenges with one of its SSH keys
    and use that challenge up: ``(account, public key line)``. CannotAuthenticate otherwise."""
    if not isinstance(account, str) or not account or not isinstance(signature, str) \
            or not signature:
        raise exceptions.InvalidValue("Account and SSH signature must be set.")
    refused = exceptions.CannotAuthenticate(
        f"Cannot authenticate to account {account} with given credentials")
    try:
        algorithm, raw = parse_signature(signature)
    except ValueError:
        raise refused from None
    challenges = [c for (c,) in SSHChallenge.select(SSHChallenge.challenge).where(
        SSHChallenge.account == account, SSHChallenge.expires_at >= utcnow()).tuples()]
    keys = (IdentityAccount.select(IdentityAccount.identity)
            .join(Identity, on=((Identity.identity == IdentityAccount.identity) &
                                (Identity.identity_type == IdentityAccount.identity_type)))
            .where(IdentityAccount.account == account, IdentityAccount.identity_type == "SSH",
                   Identity.deleted == False))  # noqa: E712
    for (line,) in keys.tuples():
        try:
            public_key = load_public_key(line)
        except ValueError:
            continue
        for challenge in challenges:
            if signature_matches(public_key, algorithm, raw, challenge.encode()):
                used = SSHChallenge.delete().where(
                    SSHChallenge.challenge == challenge).execute()
                if used != 1:           # another request used it first
                    raise refused
                return account_for_identity("SSH", line, account), line
    raise refused
