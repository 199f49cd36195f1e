"""What counts as a secret, and the strict mode that requires one.

A secret authenticates payloads (see `proxystore.serialize.codec`). The empty
secret authenticates nothing (anyone can compute its tags), so it is refused with
`EmptySecretError`; a secret shorter than `MIN_SECRET_BYTES` can be guessed from
the id that configs carry, so it is accepted with a `WeakSecretWarning`.

With ``PROXYSTORE_REQUIRE_SECRET=1`` (strict mode) every payload must be
authenticated: a reader without a secret refuses all payloads with
`UnauthenticatedPayloadError`, and the store refuses to be made without a secret.
"""

from __future__ import annotations

import os
import warnings

from proxystore.serialize.exceptions import EmptySecretError
from proxystore.serialize.exceptions import WeakSecretWarning

__all__ = [
    'MIN_SECRET_BYTES',
    'REQUIRE_SECRET_ENV',
    'check_secret',
    'secret_required',
]

MIN_SECRET_BYTES = 16
"""Secrets shorter than this (in bytes) are accepted with a `WeakSecretWarning`."""

REQUIRE_SECRET_ENV = 'PROXYSTORE_REQUIRE_SECRET'
"""Environment variable of strict mode (``1``: stores and payloads need a secret)."""

_TRUE = frozenset({'1', 'true', 'yes', 'on'})
_FALSE = frozenset({'', '0', 'false', 'no', 'off'})


def secret_required() -> bool:
    """Whether strict mode is on (``PROXYSTORE_REQUIRE_SECRET``).

    Read at each call, so a process can turn it on before it makes stores.

    Raises:
        ValueError: If the variable holds something other than ``1``/``0``,
            ``true``/``false``, ``yes``/``no``, ``on``/``off`` (or nothing).
    """
    value = os.environ.get(REQUIRE_SECRET_ENV)
    if value is None:
        return False
    normalized = value.strip().lower()
    if normalized in _TRUE:
        return True
    if normalized in _FALSE:
        return False
    raise ValueError(
        f'{REQUIRE_SECRET_ENV}={value!r} is not valid: expected 1 (refuse stores '
        'and payloads without a secret) or 0 (allow them).',
    )


def check_secret(
    secret: bytes | bytearray | str | None, *, stacklevel: int = 2
) -> bytes | None:
    """The secret as bytes, refusing the empty one and warning of short ones.

    Args:
        secret: The secret (a `str` is encoded as UTF-8); ``None``: no secret.
        stacklevel: Of the `WeakSecretWarning`, counted from the caller of
            this function (2: the caller's caller).

    Raises:
        TypeError: If ``secret`` is not bytes, bytearray or str.
        EmptySecretError: If ``secret`` is empty.
    """
    if secret is None:
        return None
    if isinstance(secret, str):
        value = secret.encode()
    elif isinstance(secret, (bytes, bytearray)):
        value = bytes(secret)
    else:
        raise TypeError(
            f'secret must be bytes or str, not {type(secret).__name__}.',
        )
    if not value:
        raise EmptySecretError(
            'The secret is empty: an empty key authenticates nothing (anyone can '
            'compute its tags). Give a random secret of at least '
            f'{MIN_SECRET_BYTES} bytes (secrets.token_urlsafe(32)), or secret=None '
            'for no authentication.',
        )
    if len(value) < MIN_SECRET_BYTES:
        warnings.warn(
            f'The secret is {len(value)} bytes long, shorter than '
            f'{MIN_SECRET_BYTES}: it can be guessed offline from the secret id '
            'that every config and proxy carries. Use a random secret of at '
            f'least {MIN_SECRET_BYTES} bytes (secrets.token_urlsafe(32)).',
            WeakSecretWarning,
            stacklevel=stacklevel + 1,
        )
    return value
