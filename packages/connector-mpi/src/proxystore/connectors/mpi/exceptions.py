"""Errors of the MPI connector, all `ConnectorError` subclasses."""

from __future__ import annotations

from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.protocols import StoreFullError

__all__ = [
    'MPIConnectorError',
    'MPIProtocolError',
    'MPIRankGoneError',
    'MPIStoreFullError',
    'MPITimeoutError',
]

# The path users import them from (the package), for tracebacks and pickles.
_PUBLIC_MODULE = 'proxystore.connectors.mpi'


class MPIConnectorError(ConnectorError):
    """An MPI connector operation failed (wrong key, MPI setup, a peer's error)."""

    __module__ = _PUBLIC_MODULE


class MPIRankGoneError(MPIConnectorError):
    """The rank that holds an object has closed its service or left the job."""

    __module__ = _PUBLIC_MODULE


class MPIStoreFullError(MPIConnectorError, StoreFullError):
    """A rank refused an object that does not fit its ``capacity``.

    The message names the rank, its capacity, the object's size and what the
    rank holds. The connector waits its ``full_timeout`` for room before
    raising it.
    """

    __module__ = _PUBLIC_MODULE


class MPITimeoutError(MPIConnectorError, TimeoutError):
    """A rank did not answer a request in time."""

    __module__ = _PUBLIC_MODULE


class MPIProtocolError(MPIConnectorError):
    """A request or reply header that does not follow the connector's format.

    Its length, operation or status is unknown, or it announces a size this
    rank refuses (negative, or more than the rank's memory). The service drops
    such a request and keeps serving; a requester raises it for such a reply.
    """

    __module__ = _PUBLIC_MODULE
