"""ProxyStore endpoints: an object store per host, peered with other hosts' endpoints.

An `Endpoint` keeps objects in memory or SQLite and serves them over HTTP on
its host (`proxystore.endpoint.app`). Given a relay server, it reaches other
endpoints over WebRTC data channels (`proxystore.p2p`), so a key owned by any
peer can be read through the local endpoint. The ``proxystore-endpoint`` CLI
configures, starts and stops endpoints; `proxystore.connectors.endpoint`
is the connector for a Store.
"""

from __future__ import annotations

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import RelayConfig
from proxystore.endpoint.config import StorageConfig
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.exceptions import BadRequestError
from proxystore.endpoint.exceptions import ClientDisconnectedError
from proxystore.endpoint.exceptions import EndpointConfigError
from proxystore.endpoint.exceptions import EndpointError
from proxystore.endpoint.exceptions import HostNotAllowedError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeeringNotAvailableError
from proxystore.endpoint.exceptions import PeerRequestError
from proxystore.endpoint.exceptions import PeerTimeoutError
from proxystore.endpoint.exceptions import PeerUnreachableError
from proxystore.endpoint.exceptions import RequestBodyTimeoutError
from proxystore.endpoint.exceptions import StorageFullError
from proxystore.endpoint.exceptions import UnauthorizedError
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage

__all__ = [
    'BadRequestError',
    'ClientDisconnectedError',
    'DictStorage',
    'Endpoint',
    'EndpointConfig',
    'EndpointConfigError',
    'EndpointError',
    'HostNotAllowedError',
    'ObjectSizeExceededError',
    'PeerRequestError',
    'PeerTimeoutError',
    'PeerUnreachableError',
    'PeeringNotAvailableError',
    'RelayConfig',
    'RequestBodyTimeoutError',
    'SQLiteStorage',
    'StorageConfig',
    'StorageFullError',
    'UnauthorizedError',
]
