"""Who a relay client is: a bearer token names its user.

The relay keeps only SHA-256 digests of the tokens; endpoints send the token
in the ``Authorization: Bearer`` header of the websocket handshake. Endpoints
of one user can reach each other; those of different users cannot.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Protocol

__all__ = [
    'Authenticator',
    'NullAuthenticator',
    'TokenAuthenticator',
    'bearer_token',
    'hash_token',
    'new_token',
]


def new_token() -> str:
    """A new random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The digest the relay stores for ``token`` (``sha256:`` + hex)."""
    return 'sha256:' + hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(' ')
    if scheme.lower() != 'bearer' or not token.strip():
        return None
    return token.strip()


class Authenticator(Protocol):
    """Maps a client's token to its user."""

    def authenticate(self, token: str | None) -> str | None:
        """The user ``token`` belongs to, or ``None`` if it is not valid."""
        ...


class NullAuthenticator:
    """Everyone is the same anonymous user (for a relay on a trusted network)."""

    user = 'anonymous'

    def authenticate(self, token: str | None) -> str | None:
        """Always the anonymous user."""
        return self.user


class TokenAuthenticator:
    """Users and the digests of their tokens.

    Args:
        users: Each user's token digests (`hash_token`) or, for tokens given
            in the environment, plain tokens.
    """

    def __init__(self, users: Mapping[str, Sequence[str]]) -> None:
        self._digests: dict[str, str] = {}
        for user, tokens in users.items():
            for token in tokens:
                digest = token if token.startswith('sha256:') else hash_token(token)
                self._digests[digest] = user

    def __len__(self) -> int:
        return len(self._digests)

    def authenticate(self, token: str | None) -> str | None:
        """The user of ``token``, or ``None``."""
        if not token:
            return None
        digest = hash_token(token)
        for known, user in self._digests.items():
            if hmac.compare_digest(known, digest):
                return user
        return None
