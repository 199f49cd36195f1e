"""Errors of the endpoint connector: the names of its ``exceptions``, re-exported."""

from __future__ import annotations

from proxystore.connectors.endpoint.exceptions import EndpointAuthenticationError
from proxystore.connectors.endpoint.exceptions import EndpointConnectorError
from proxystore.connectors.endpoint.exceptions import EndpointIdentityError
from proxystore.connectors.endpoint.exceptions import EndpointNotRunningError
from proxystore.connectors.endpoint.exceptions import EndpointObjectTooLargeError
from proxystore.connectors.endpoint.exceptions import EndpointPeerError
from proxystore.connectors.endpoint.exceptions import EndpointStorageFullError
from proxystore.connectors.endpoint.exceptions import EndpointTimeoutError

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
