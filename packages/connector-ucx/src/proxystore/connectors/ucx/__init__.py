"""UCX connector: one in-memory data server per node, reached over UCX.

``put`` keeps an object in this node's data server and returns a key that
names the server; any process on any node that can reach it reads the object
with one request, the bytes moving over shared memory within a node and TCP or
RDMA between nodes (whichever UCX finds fastest, or the transports you name).
See the UCX guide of the documentation.
"""

from __future__ import annotations

from proxystore.connectors.ucx._transport import ucxx as _ucxx
from proxystore.connectors.ucx.connector import DEFAULT_PORT
from proxystore.connectors.ucx.connector import TOKEN_ENV
from proxystore.connectors.ucx.connector import UCXConnector
from proxystore.connectors.ucx.connector import UCXKey
from proxystore.connectors.ucx.exceptions import UCXAuthenticationError
from proxystore.connectors.ucx.exceptions import UCXConnectorError
from proxystore.connectors.ucx.exceptions import UCXInsecureServerWarning
from proxystore.connectors.ucx.exceptions import UCXProtocolError
from proxystore.connectors.ucx.exceptions import UCXServerGoneError
from proxystore.connectors.ucx.exceptions import UCXServerNotRunningError
from proxystore.connectors.ucx.exceptions import UCXStoreFullError
from proxystore.connectors.ucx.exceptions import UCXTimeoutError

__all__ = [
    'DEFAULT_PORT',
    'TOKEN_ENV',
    'UCXAuthenticationError',
    'UCXConnector',
    'UCXConnectorError',
    'UCXInsecureServerWarning',
    'UCXKey',
    'UCXProtocolError',
    'UCXServerGoneError',
    'UCXServerNotRunningError',
    'UCXStoreFullError',
    'UCXTimeoutError',
    'load_ucx',
]


def load_ucx() -> None:
    """Import ucxx and its UCX libraries now (the connector does it on first use).

    Call it before importing mpi4py in a program that uses both with MPICH's
    wheel: that wheel brings an older UCX of its own, and whichever copy loads
    first serves both. With ucxx's first, both work.

    Raises:
        UCXConnectorError: If ucxx is not installed or will not load.
    """
    _ucxx()
