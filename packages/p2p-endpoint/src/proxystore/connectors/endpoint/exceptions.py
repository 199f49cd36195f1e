"""Errors of the endpoint connector (every one a `ConnectorError`)."""

from __future__ import annotations

from proxystore.connectors.protocols import ConnectorError

__all__ = [
    'EndpointConnectorError',
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


class EndpointStorageFullError(EndpointObjectTooLargeError):
    """The object does not fit in the endpoint's total storage cap (HTTP 507)."""


class EndpointPeerError(EndpointConnectorError):
    """The key's endpoint could not be reached or failed the operation (HTTP 502)."""


class EndpointTimeoutError(EndpointConnectorError, TimeoutError):
    """The endpoint, or the peer it forwarded to, did not answer in time."""
