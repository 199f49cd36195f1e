"""Deprecated alias of `proxystore.serialize.buffers` (internal; do not use).

The pooled receive buffers moved to `proxystore.serialize.buffers`, beside the
serialization that reads them. This module re-exports the same objects (one
pool, not two) for code written against its old path, and will be removed in a
later release.
"""

from __future__ import annotations

from proxystore.serialize.buffers import POOL_FROM
from proxystore.serialize.buffers import BufferPool
from proxystore.serialize.buffers import allocate

__all__ = ['POOL_FROM', 'BufferPool', 'allocate']
