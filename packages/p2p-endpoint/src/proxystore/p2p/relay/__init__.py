"""The relay (signaling) server of ProxyStore endpoints, and its client.

Run one with ``proxystore-relay serve``; see the endpoints guide.
"""

from __future__ import annotations

from proxystore.p2p.relay.auth import NullAuthenticator
from proxystore.p2p.relay.auth import TokenAuthenticator
from proxystore.p2p.relay.client import RelayClient
from proxystore.p2p.relay.exceptions import RelayError
from proxystore.p2p.relay.exceptions import RelayInsecureTokenWarning
from proxystore.p2p.relay.exceptions import RelayMessageError
from proxystore.p2p.relay.exceptions import RelayRefusedError
from proxystore.p2p.relay.messages import CloseCode
from proxystore.p2p.relay.server import RelayServer

__all__ = [
    'CloseCode',
    'NullAuthenticator',
    'RelayClient',
    'RelayError',
    'RelayInsecureTokenWarning',
    'RelayMessageError',
    'RelayRefusedError',
    'RelayServer',
    'TokenAuthenticator',
]
