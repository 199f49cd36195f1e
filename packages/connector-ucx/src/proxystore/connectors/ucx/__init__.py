"""UCX connector: one in-memory data server per node, reached over UCX.

``put`` keeps an object in this node's data server and returns a key that
names the server; any process on any node that can reach it reads the object
with one request, the bytes moving over shared memory within a node and TCP or
RDMA between nodes (whichever UCX finds fastest, or the transports you name).
See the UCX guide of the documentation.
"""

from __future__ import annotations

from proxystore.connectors.ucx.connector import DEFAULT_PORT
from proxystore.connectors.ucx.connector import UCXConnector
from proxystore.connectors.ucx.connector import UCXKey
from proxystore.connectors.ucx.errors import UCXConnectorError
from proxystore.connectors.ucx.errors import UCXServerGoneError
from proxystore.connectors.ucx.errors import UCXServerNotRunningError
from proxystore.connectors.ucx.errors import UCXTimeoutError

__all__ = [
    'DEFAULT_PORT',
    'UCXConnector',
    'UCXConnectorError',
    'UCXKey',
    'UCXServerGoneError',
    'UCXServerNotRunningError',
    'UCXTimeoutError',
]
