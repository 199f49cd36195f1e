"""Tokens of the control connection: where they come from, when to warn.

See ``_protocol`` for the challenge and the proof.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import warnings

from proxystore.connectors.ucx.exceptions import UCXInsecureServerWarning

TOKEN_ENV = 'PROXYSTORE_UCX_TOKEN'
"""Environment variable of the token of servers and clients (UTF-8)."""

MAX_TOKEN = 4096
"""Most bytes a token may have (the store's secrets are far shorter)."""


def as_token(value: bytes | str | None, what: str) -> bytes | None:
    """A token option as bytes (``None``: no token).

    Raises:
        TypeError: If ``value`` is not bytes, a string or ``None``.
        ValueError: If it is empty or longer than `MAX_TOKEN` bytes.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        kind = type(value).__name__
        raise TypeError(f'{what} must be bytes or a string, not {kind}.')
    if not value:
        raise ValueError(f'{what} must not be empty (no token: leave it unset).')
    if len(value) > MAX_TOKEN:
        raise ValueError(f'{what} has {len(value)} bytes, more than {MAX_TOKEN}.')
    return value


def environment_token() -> bytes | None:
    """The token of `TOKEN_ENV`, if it is set (and not empty), as its raw bytes."""
    value = os.environb.get(TOKEN_ENV.encode())
    return as_token(value, TOKEN_ENV) if value else None


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP address or ``localhost``) is this host's only."""
    if address == 'localhost':
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: reachable from elsewhere, as far as we know


def warn_if_exposed(
    address: str, token: bytes | None, logger: logging.Logger | None = None
) -> None:
    """Warn (`UCXInsecureServerWarning`) of a token-less server beyond loopback.

    With ``logger``, the warning is also logged (a server's log says it).
    """
    if token is not None or is_loopback(address):
        return
    message = (
        f'the UCX data server on {address} has no token: anyone who reaches '
        'that address can read, overwrite and evict its objects. Give it one '
        f'({TOKEN_ENV}, UCXConnector(token=...) or a store secret), or bind '
        'it to 127.0.0.1.'
    )
    if logger is not None:
        logger.warning(message)
    warnings.warn(message, UCXInsecureServerWarning, stacklevel=3)
