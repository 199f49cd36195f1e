"""Alias of `proxystore.connectors.ucx.exceptions`, the errors' home since 2.0.

Kept so that code importing ``proxystore.connectors.ucx.errors`` keeps working;
import the errors from `proxystore.connectors.ucx` instead.
"""

from __future__ import annotations

from proxystore.connectors.ucx.exceptions import UCXConnectorError
from proxystore.connectors.ucx.exceptions import UCXServerGoneError
from proxystore.connectors.ucx.exceptions import UCXServerNotRunningError
from proxystore.connectors.ucx.exceptions import UCXTimeoutError

__all__ = [
    'UCXConnectorError',
    'UCXServerGoneError',
    'UCXServerNotRunningError',
    'UCXTimeoutError',
]
