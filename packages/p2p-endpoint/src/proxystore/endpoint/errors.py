"""Errors of endpoints: the names of `proxystore.endpoint.exceptions`, re-exported."""

from __future__ import annotations

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

__all__ = [
    'BadRequestError',
    'ClientDisconnectedError',
    'EndpointConfigError',
    'EndpointError',
    'HostNotAllowedError',
    'ObjectSizeExceededError',
    'PeerRequestError',
    'PeerTimeoutError',
    'PeerUnreachableError',
    'PeeringNotAvailableError',
    'RequestBodyTimeoutError',
    'StorageFullError',
    'UnauthorizedError',
]
