"""Errors of endpoints, their storage and their peering.

The peer errors, `ObjectSizeExceededError` and their base `EndpointError` are
defined in `proxystore.p2p.exceptions` (the peering raises them, and it never
imports the endpoint) and re-exported here: they are the same classes.
"""

from __future__ import annotations

from proxystore.p2p.exceptions import EndpointError
from proxystore.p2p.exceptions import ObjectSizeExceededError
from proxystore.p2p.exceptions import PeerRequestError
from proxystore.p2p.exceptions import PeerTimeoutError
from proxystore.p2p.exceptions import PeerUnreachableError
from proxystore.p2p.exceptions import StorageFullError

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


class BadRequestError(EndpointError, ValueError):
    """A request named a bad key, a bad endpoint UUID or had no body."""


class ClientDisconnectedError(EndpointError, ConnectionError):
    """A client of the REST API went away before its request's body arrived.

    Nobody is left to answer: the endpoint logs it as one warning line (no
    traceback), drops the partial body and keeps serving.
    """


class EndpointConfigError(EndpointError, ValueError):
    """An endpoint's configuration is invalid, missing or unreadable."""


class PeeringNotAvailableError(EndpointError):
    """An operation named another endpoint but this one has no relay configured."""


class RequestBodyTimeoutError(BadRequestError, TimeoutError):
    """The body of a request stopped arriving (HTTP 408; the connection is closed)."""


class UnauthorizedError(EndpointError):
    """A request to the REST API had no token or a wrong one (HTTP 401)."""


class HostNotAllowedError(EndpointError):
    """A request named a ``Host`` the endpoint does not answer for (HTTP 403).

    Only loopback names, IP addresses and the configured host are answered, so
    that a web page cannot reach the endpoint through a DNS name it controls
    (DNS rebinding).
    """
