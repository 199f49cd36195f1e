"""Endpoint connector: objects kept by ProxyStore endpoints, peer to peer.

An endpoint is a small object store that runs on each host
(``proxystore-endpoint start NAME``). The connector talks to the one on its
host; keys name the endpoint that owns the object, and the local endpoint
forwards operations on other endpoints' keys to them over WebRTC. See the
endpoints guide of the documentation.
"""

from __future__ import annotations

from proxystore.connectors.endpoint.connector import EndpointConnector
from proxystore.connectors.endpoint.connector import EndpointKey
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
    'EndpointConnector',
    'EndpointConnectorError',
    'EndpointIdentityError',
    'EndpointKey',
    'EndpointNotRunningError',
    'EndpointObjectTooLargeError',
    'EndpointPeerError',
    'EndpointStorageFullError',
    'EndpointTimeoutError',
]
