"""Secrets of authenticated stores, kept in this process and never sent anywhere.

A store's config (and so every proxy) carries only the *id* of its secret, a
one-way fingerprint. A process that re-creates the store looks the secret up by
id: among the secrets of the stores made in this process (a forked child
inherits them), then in the environment variable ``PROXYSTORE_SECRET``.

Connector *credentials* (a Redis password) are kept the same way: a connector's
config carries `credential_id` of the credential, never the credential, and a
process that re-creates the connector finds it by id with `find_credential`:
among the credentials given to connectors made here (or inherited at fork), then
in an environment variable the connector names (``PROXYSTORE_REDIS_PASSWORD``).
A credential id is derived slowly (PBKDF2, 100,000 rounds), since passwords are
often short enough to be guessed from a fast fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading

__all__ = [
    'SECRET_ENV',
    'add_credential',
    'add_secret',
    'credential_id',
    'find_credential',
    'find_secret',
    'secret_id',
]

SECRET_ENV = 'PROXYSTORE_SECRET'
"""Environment variable holding a secret (UTF-8) for processes that resolve proxies."""

_lock = threading.Lock()


def _renew_lock_in_child() -> None:
    global _lock
    # Another thread may have held the lock at fork time; it is gone here.
    _lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_lock_in_child)
_secrets: dict[str, bytes] = {}
_credentials: dict[str, bytes] = {}
# credential -> id: the derivation is slow, and is made once per value.
_credential_ids: dict[bytes, str] = {}
_CREDENTIAL_SALT = b'proxystore credential id'
_CREDENTIAL_ROUNDS = 100_000


def secret_id(secret: bytes) -> str:
    """The fingerprint of a secret that configs carry instead of the secret."""
    return hmac.new(secret, b'proxystore secret id', hashlib.sha256).hexdigest()[:16]


def add_secret(secret: bytes | str) -> str:
    """Make a secret known to this process; return its id."""
    value = secret.encode() if isinstance(secret, str) else bytes(secret)
    ident = secret_id(value)
    with _lock:
        _secrets[ident] = value
    return ident


def find_secret(ident: str) -> bytes | None:
    """The secret with this id, if this process has it.

    A secret of a store made here, else ``PROXYSTORE_SECRET`` if it matches.
    """
    with _lock:
        known = _secrets.get(ident)
    if known is not None:
        return known
    value = os.environ.get(SECRET_ENV)
    if value and secret_id(value.encode()) == ident:
        add_secret(value)
        return value.encode()
    return None


def credential_id(credential: bytes | str) -> str:
    """The id of a connector credential, which configs carry instead of it.

    A one-way fingerprint (PBKDF2-HMAC-SHA256, 100,000 rounds, 64 bits shown),
    slow to compute so that a short password is slow to guess from it.
    """
    value = credential.encode() if isinstance(credential, str) else bytes(credential)
    with _lock:
        known = _credential_ids.get(value)
    if known is not None:
        return known
    digest = hashlib.pbkdf2_hmac(
        'sha256', value, _CREDENTIAL_SALT, _CREDENTIAL_ROUNDS
    ).hex()[:16]
    with _lock:
        _credential_ids[value] = digest
    return digest


def add_credential(credential: bytes | str) -> str:
    """Make a connector credential known to this process; return its id."""
    value = credential.encode() if isinstance(credential, str) else bytes(credential)
    ident = credential_id(value)
    with _lock:
        _credentials[ident] = value
    return ident


def find_credential(ident: str, env: str) -> bytes | None:
    """The credential with this id, if this process has it.

    One given to a connector made here (`add_credential`), else the value of the
    environment variable ``env`` if its id matches.
    """
    with _lock:
        known = _credentials.get(ident)
    if known is not None:
        return known
    value = os.environ.get(env)
    if value and credential_id(value) == ident:
        add_credential(value)
        return value.encode()
    return None
