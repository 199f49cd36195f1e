"""`Endpoint`: an asyncio object store that forwards other endpoints' keys to them."""

from __future__ import annotations

import uuid as uuid_module
from typing import Protocol

from proxystore.endpoint.exceptions import BadRequestError
from proxystore.endpoint.exceptions import PeeringNotAvailableError
from proxystore.endpoint.storage import Blob
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import Storage

__all__ = ['Endpoint', 'Peering', 'parse_uuid']


def parse_uuid(
    value: str | uuid_module.UUID, what: str = 'endpoint'
) -> uuid_module.UUID:
    """A UUID from a string.

    Raises:
        BadRequestError: If ``value`` is not a UUID.
    """
    if isinstance(value, uuid_module.UUID):
        return value
    try:
        return uuid_module.UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise BadRequestError(f'{what} {value!r} is not a UUID') from None


class Peering(Protocol):
    """What an endpoint needs to reach its peers (see `proxystore.p2p`)."""

    async def get(self, peer: uuid_module.UUID, key: str) -> Blob | None:
        """The object under ``key`` on ``peer``."""
        ...

    async def set(self, peer: uuid_module.UUID, key: str, blob: Blob) -> None:
        """Store an object under ``key`` on ``peer``."""
        ...

    async def exists(self, peer: uuid_module.UUID, key: str) -> bool:
        """Whether ``peer`` holds an object under ``key``."""
        ...

    async def evict(self, peer: uuid_module.UUID, key: str) -> None:
        """Remove the object under ``key`` from ``peer``."""
        ...

    async def close(self) -> None:
        """Close every peer connection and the relay connection."""
        ...


class Endpoint:
    """An object store in this process that can reach other endpoints.

    Each operation takes an optional ``endpoint``: the UUID of the endpoint
    that owns the key. Operations on this endpoint's own UUID (or none) use its
    storage; the others are forwarded to that peer through ``peering``.

    Args:
        name: Human-readable name.
        uuid: This endpoint's UUID.
        storage: Where objects are kept (default: memory).
        peering: How to reach peers (default: none; remote keys then raise
            `PeeringNotAvailableError`).
    """

    def __init__(
        self,
        name: str,
        uuid: uuid_module.UUID,
        *,
        storage: Storage | None = None,
        peering: Peering | None = None,
    ) -> None:
        self.name = name
        self.uuid = uuid
        self.storage: Storage = DictStorage() if storage is None else storage
        self.peering = peering

    def __repr__(self) -> str:
        return f'Endpoint(name={self.name!r}, uuid={self.uuid})'

    async def __aenter__(self) -> Endpoint:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _peer(self, endpoint: uuid_module.UUID | str | None) -> uuid_module.UUID | None:
        if endpoint is None:
            return None
        peer = parse_uuid(endpoint)
        if peer == self.uuid:
            return None
        if self.peering is None:
            raise PeeringNotAvailableError(
                f'key belongs to endpoint {peer} but endpoint {self.name!r} '
                f'({self.uuid}) has no relay configured, so it cannot reach peers',
            )
        return peer

    @staticmethod
    def _check_key(key: str) -> str:
        if not isinstance(key, str) or not key:
            raise BadRequestError('the key must be a non-empty string')
        return key

    async def get(
        self, key: str, endpoint: uuid_module.UUID | str | None = None
    ) -> Blob | None:
        """The object under ``key`` on ``endpoint`` (default: this one), or ``None``."""
        self._check_key(key)
        peer = self._peer(endpoint)
        if peer is None:
            return await self.storage.get(key)
        assert self.peering is not None
        return await self.peering.get(peer, key)

    async def set(
        self, key: str, blob: Blob, endpoint: uuid_module.UUID | str | None = None
    ) -> None:
        """Store ``blob`` under ``key`` on ``endpoint`` (default: this one)."""
        self._check_key(key)
        peer = self._peer(endpoint)
        if peer is None:
            await self.storage.set(key, blob)
        else:
            assert self.peering is not None
            await self.peering.set(peer, key, blob)

    async def exists(
        self, key: str, endpoint: uuid_module.UUID | str | None = None
    ) -> bool:
        """Whether ``endpoint`` (default: this one) holds an object under ``key``."""
        self._check_key(key)
        peer = self._peer(endpoint)
        if peer is None:
            return await self.storage.exists(key)
        assert self.peering is not None
        return await self.peering.exists(peer, key)

    async def evict(
        self, key: str, endpoint: uuid_module.UUID | str | None = None
    ) -> None:
        """Remove the object under ``key`` from ``endpoint`` (default: this one)."""
        self._check_key(key)
        peer = self._peer(endpoint)
        if peer is None:
            await self.storage.evict(key)
        else:
            assert self.peering is not None
            await self.peering.evict(peer, key)

    async def close(self) -> None:
        """Close the peering and the storage (idempotent)."""
        if self.peering is not None:
            await self.peering.close()
        await self.storage.close()
