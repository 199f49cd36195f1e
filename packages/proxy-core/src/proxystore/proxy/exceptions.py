"""The errors of `proxystore.proxy`, in one public module."""

from __future__ import annotations

from proxystore.proxy._resolution import ProxyResolveError

__all__ = ['ProxyResolveError']
