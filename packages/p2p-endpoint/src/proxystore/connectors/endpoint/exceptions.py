"""Errors of the endpoint connector (every one a `ConnectorError`)."""

from __future__ import annotations

from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.protocols import StoreFullError

__all__ = [
    'EndpointAuthenticationError',
    'EndpointConnectorError',
    'EndpointIdentityError',
    'EndpointNotRunningError',
    'EndpointObjectTooLargeError',
    'EndpointPeerError',
    'EndpointStorageFullError',
    'EndpointTimeoutError',
]


class EndpointConnectorError(ConnectorError):
    """An endpoint refused an operation, or none could be reached."""


class EndpointNotRunningError(EndpointConnectorError):
    """None of the connector's endpoints runs on this host."""


class EndpointObjectTooLargeError(EndpointConnectorError):
    """The object exceeds the endpoint's per-object size limit (HTTP 413)."""


class EndpointStorageFullError(EndpointObjectTooLargeError, StoreFullError):
    """The object does not fit in the endpoint's total storage cap (HTTP 507).

    A `StoreFullError`, as every channel's budget error is. The connector
    waits its ``full_timeout`` for room before raising it.
    """


class EndpointPeerError(EndpointConnectorError):
    """The key's endpoint could not be reached or failed the operation (HTTP 502)."""


class EndpointTimeoutError(EndpointConnectorError, TimeoutError):
    """The endpoint, or the peer it forwarded to, did not answer in time."""


class EndpointAuthenticationError(EndpointConnectorError):
    """The endpoint refused the connector's token (HTTP 401).

    The token is read from the endpoint's ``config.toml``: the configuration
    changed since the endpoint started (restart it), or the connector reads
    another ``proxystore_dir`` than the endpoint.
    """


class EndpointIdentityError(EndpointConnectorError):
    """The server at a configured endpoint's address cannot prove it is that one.

    It does not answer the identity challenge with the token of the
    endpoint's configuration: another program (maybe another user's) holds
    the port, or the configuration was rewritten since the endpoint started.
    """
