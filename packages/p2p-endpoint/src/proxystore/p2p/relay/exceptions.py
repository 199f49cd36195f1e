"""Errors of the relay server and its client, and the client's warning."""

from __future__ import annotations

__all__ = [
    'RelayConfigError',
    'RelayError',
    'RelayInsecureTokenWarning',
    'RelayMessageError',
    'RelayNotConnectedError',
    'RelayRefusedError',
]


class RelayError(Exception):
    """Base of the relay's errors."""


class RelayConfigError(RelayError, ValueError):
    """The relay's configuration is invalid or unreadable."""


class RelayMessageError(RelayError, ValueError):
    """A relay message is not valid JSON or lacks a field, or a field is wrong."""


class RelayRefusedError(RelayError):
    """The relay refused this client for good (bad token, UUID taken, replaced).

    Attributes:
        code: The websocket close code.
        reason: The relay's reason.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f'the relay refused the connection ({code}): {reason}')
        self.code = code
        self.reason = reason


class RelayNotConnectedError(RelayError):
    """The relay could not be reached (or not registered with) in time."""


class RelayInsecureTokenWarning(UserWarning):
    """A relay client sends its token over plain ``ws://`` to another host.

    The token crosses the network unencrypted, in the websocket handshake:
    anyone on the path can read it and register as this user. Use a
    ``wss://`` relay address (TLS), or reach the relay over loopback (an SSH
    tunnel, a proxy on this host).
    """
