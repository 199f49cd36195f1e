"""Errors of the UCX connector, all `ConnectorError` subclasses, and its warning."""

from __future__ import annotations

from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.protocols import StoreFullError

__all__ = [
    'UCXAuthenticationError',
    'UCXConnectorError',
    'UCXInsecureServerWarning',
    'UCXProtocolError',
    'UCXServerGoneError',
    'UCXServerNotRunningError',
    'UCXStoreFullError',
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


class UCXStoreFullError(UCXConnectorError, StoreFullError):
    """The data server refused a put that does not fit its ``--capacity``.

    Its message names the capacity, the put's size and what the server holds.
    The put stored nothing; the connector waits its ``full_timeout`` for room
    before raising it.
    """


class UCXProtocolError(UCXConnectorError):
    """A request or reply that does not follow the client-server format.

    The data server answers such a request as a bad request and keeps serving;
    a client raises it for such a reply (a truncated or corrupt one).
    """


class UCXAuthenticationError(UCXConnectorError):
    """The data server refused this client's token, or wants one it lacks.

    A server given a token serves only clients that prove they know it (see
    the UCX guide): give the connector the same token (``token=``, the
    ``PROXYSTORE_UCX_TOKEN`` environment variable, or the store's secret).
    """


class UCXInsecureServerWarning(UserWarning):
    """A data server without a token listens on an address other hosts reach.

    Anyone who can reach that address may read, overwrite and evict its
    objects: give the server a token, or bind it to loopback.
    """
