"""Errors of endpoints, their storage and their peering."""

from __future__ import annotations

__all__ = [
    'BadRequestError',
    'EndpointConfigError',
    'EndpointError',
    'ObjectSizeExceededError',
    'PeerRequestError',
    'PeerTimeoutError',
    'PeerUnreachableError',
    'PeeringNotAvailableError',
]


class EndpointError(Exception):
    """Base of the errors of an endpoint."""


class BadRequestError(EndpointError, ValueError):
    """A request named a bad key, a bad endpoint UUID or had no body."""


class ObjectSizeExceededError(EndpointError):
    """An object is larger than the endpoint's per-object size limit."""


class EndpointConfigError(EndpointError, ValueError):
    """An endpoint's configuration is invalid, missing or unreadable."""


class PeeringNotAvailableError(EndpointError):
    """An operation named another endpoint but this one has no relay configured."""


class PeerRequestError(EndpointError):
    """A request forwarded to a peer endpoint failed (on the peer or on the way)."""


class PeerUnreachableError(PeerRequestError):
    """No connection to the peer endpoint could be made, or it went away."""


class PeerTimeoutError(PeerRequestError, TimeoutError):
    """The peer endpoint did not answer within the timeout."""
