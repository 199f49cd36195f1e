"""Secrets of authenticated stores, kept in this process and never sent anywhere.

A store's config (and so every proxy) carries only the *id* of its secret, a
one-way fingerprint. A process that re-creates the store looks the secret up by
id: among the secrets of the stores made in this process (a forked child
inherits them), then in the environment variable ``PROXYSTORE_SECRET``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading

__all__ = ['SECRET_ENV', 'add_secret', 'find_secret', 'secret_id']

SECRET_ENV = 'PROXYSTORE_SECRET'
"""Environment variable holding a secret (UTF-8) for processes that resolve proxies."""

_lock = threading.Lock()
_secrets: dict[str, bytes] = {}


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
