"""What the peering needs from the endpoint it serves.

A `proxystore.p2p.manager.PeerManager` answers its peers' requests from the
storage of the endpoint it belongs to. It needs only the endpoint's identity
and that storage, described here as protocols so that `proxystore.p2p` never
imports the endpoint package above it (an ``Endpoint`` satisfies
`LocalEndpoint`, its storages satisfy `PeerStorage`).
"""

from __future__ import annotations

import uuid
from typing import Protocol
from typing import runtime_checkable

__all__ = ['Blob', 'LocalEndpoint', 'PeerStorage']

Blob = bytes | bytearray | memoryview
"""The bytes of one object, as stored and as sent to peers."""


@runtime_checkable
class PeerStorage(Protocol):
    """Async storage of bytes under string keys, which peers read and write."""

    @property
    def max_object_size(self) -> int | None:
        """Largest object in bytes (``None``: no limit)."""
        ...

    async def get(self, key: str) -> Blob | None:
        """The bytes under ``key``, or ``None``."""
        ...

    async def set(self, key: str, blob: Blob) -> None:
        """Store ``blob`` under ``key`` (replacing any object there).

        Raises:
            ObjectSizeExceededError: If the object is larger than
                `max_object_size` (`proxystore.p2p.exceptions`).
        """
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    async def evict(self, key: str) -> None:
        """Remove the object under ``key``; a missing key is not an error."""
        ...


@runtime_checkable
class LocalEndpoint(Protocol):
    """The endpoint a peer manager belongs to: its identity and its storage."""

    @property
    def uuid(self) -> uuid.UUID:
        """The endpoint's UUID (its address at the relay)."""
        ...

    @property
    def name(self) -> str:
        """The endpoint's human-readable name."""
        ...

    @property
    def storage(self) -> PeerStorage:
        """Where the objects the peers ask for are kept."""
        ...
