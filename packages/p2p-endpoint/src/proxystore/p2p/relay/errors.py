"""Errors of the relay: the names of `proxystore.p2p.relay.exceptions`, re-exported."""

from __future__ import annotations

from proxystore.p2p.relay.exceptions import RelayError
from proxystore.p2p.relay.exceptions import RelayMessageError
from proxystore.p2p.relay.exceptions import RelayNotConnectedError
from proxystore.p2p.relay.exceptions import RelayRefusedError

__all__ = [
    'RelayError',
    'RelayMessageError',
    'RelayNotConnectedError',
    'RelayRefusedError',
]
