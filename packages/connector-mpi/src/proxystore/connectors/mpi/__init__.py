"""MPI connector: objects held by the rank that put them, read by any rank.

For programs launched with ``mpiexec -n N python ...`` (or under
`mpi4py.futures`). ``put`` keeps the bytes in the putting rank's memory and the
key names that rank; ``get``, ``exists``, ``evict`` and ``set`` on a key of
another rank are requests to that rank's service thread, answered while the
rank's main thread goes on with its own work. Bytes move with mpi4py's buffer
API, never pickled. See the MPI guide of the docs for the mechanism and its
limits.

Creating a connector is not collective: each rank starts its service on first
use, so a connector made from a config inside a task works as well as one made
by every rank at start-up.

The modules: `connector` (`MPIConnector`, `MPIKey`, `close_service`),
`exceptions` (the errors), and the private ``_protocol`` (message headers,
operations, statuses, tags) and ``_service`` (the rank service thread).
"""

from __future__ import annotations

from proxystore.connectors.mpi.connector import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from proxystore.connectors.mpi.connector import MPIConnector
from proxystore.connectors.mpi.connector import MPIKey
from proxystore.connectors.mpi.connector import close_service
from proxystore.connectors.mpi.exceptions import MPIConnectorError
from proxystore.connectors.mpi.exceptions import MPIProtocolError
from proxystore.connectors.mpi.exceptions import MPIRankGoneError
from proxystore.connectors.mpi.exceptions import MPIStoreFullError
from proxystore.connectors.mpi.exceptions import MPITimeoutError

__all__ = [
    'MPIConnector',
    'MPIConnectorError',
    'MPIKey',
    'MPIProtocolError',
    'MPIRankGoneError',
    'MPIStoreFullError',
    'MPITimeoutError',
    'close_service',
]
