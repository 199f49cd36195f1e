"""Errors of the UCX connector, all `ConnectorError` subclasses."""

from __future__ import annotations

from proxystore.connectors.protocols import ConnectorError

__all__ = [
    'UCXConnectorError',
    'UCXServerGoneError',
    'UCXServerNotRunningError',
    'UCXTimeoutError',
]


class UCXConnectorError(ConnectorError):
    """Base of the UCX connector's errors; also raised for bad keys and replies."""


class UCXServerNotRunningError(UCXConnectorError):
    """No UCX data server answers at the address and port asked for."""


class UCXServerGoneError(UCXConnectorError):
    """The data server went away during an operation (its objects are lost)."""


class UCXTimeoutError(UCXConnectorError, TimeoutError):
    """The data server did not answer within the connector's timeout."""
