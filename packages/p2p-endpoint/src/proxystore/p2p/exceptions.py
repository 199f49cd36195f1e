"""Errors of the peer-to-peer links between endpoints.

The peer errors are endpoint errors: `EndpointError`, their base, is defined
here, below the endpoint (the endpoint package builds on this one, never the
other way), and the endpoint's ``exceptions`` module re-exports the same
classes, so ``except EndpointError`` catches a failed peer request as it
always did. The relay's errors are in `proxystore.p2p.relay.exceptions`.
"""

from __future__ import annotations

__all__ = [
    'EndpointError',
    'ObjectSizeExceededError',
    'PeerMessageError',
    'PeerRequestError',
    'PeerTimeoutError',
    'PeerUnreachableError',
    'StorageFullError',
    'StunError',
    'SupersededError',
]


class EndpointError(Exception):
    """Base of the errors of an endpoint, its storage and its peering."""


class ObjectSizeExceededError(EndpointError):
    """An object is larger than the endpoint's per-object size limit."""


class StorageFullError(ObjectSizeExceededError):
    """Storing an object would exceed the endpoint's total storage cap.

    A kind of `ObjectSizeExceededError` (the object does not fit), so that a
    peer answers it as such.
    """


class PeerRequestError(EndpointError):
    """A request forwarded to a peer endpoint failed (on the peer or on the way)."""


class PeerUnreachableError(PeerRequestError):
    """No connection to the peer endpoint could be made, or it went away."""


class PeerTimeoutError(PeerRequestError, TimeoutError):
    """The peer endpoint did not answer within the timeout."""


class PeerMessageError(ValueError):
    """Bytes from a peer are not a valid message."""


class SupersededError(Exception):
    """This connection attempt gave way to the peer's (simultaneous offers)."""


class StunError(Exception):
    """A STUN URL is invalid, or a STUN server did not answer."""
