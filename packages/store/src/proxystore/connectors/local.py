"""In-process connector: objects live in a dictionary of this process."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from proxystore.connectors.protocols import StoredObject
from proxystore.connectors.protocols import check_key
from proxystore.serialize import BytesLike
from proxystore.serialize._fork import renew_after_fork

__all__ = ['LocalConnector', 'LocalKey']


def _new_condition() -> threading.Condition:
    return threading.Condition(threading.Lock())


class LocalKey(NamedTuple):
    """Key of an object in a `LocalConnector`."""

    id: str
    """Unique identifier of the object."""


class LocalConnector:
    """Connector that stores objects in a dictionary of the current process.

    A copy of the connector made from its config in another process starts empty,
    unless ``include_data_in_config`` puts the data into the config itself (useful
    for tests only).

    `wait` blocks until another thread stores an object under a key (through
    this connector): it is a `WaitableConnector`.

    Args:
        store_dict: The dictionary to use (a new one by default).
        include_data_in_config: Put the stored data into `config`.
    """

    Key = LocalKey

    def __init__(
        self,
        store_dict: dict[LocalKey, bytes] | None = None,
        *,
        include_data_in_config: bool = False,
    ) -> None:
        self._store: dict[LocalKey, bytes] = {} if store_dict is None else store_dict
        self._include_data = include_data_in_config
        # Notified on every set, so waiters wake at once instead of polling.
        self._stored = threading.Condition(threading.Lock())
        # A thread of the parent may hold it (in `set` or `wait`) at a fork.
        # A thread of the parent (a waiter, a setter) may hold it at a fork.
        renew_after_fork(self, '_stored', factory=_new_condition)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(objects={len(self._store)})'

    def __enter__(self) -> LocalConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release; the data stay until the connector is collected."""

    def config(self) -> dict[str, Any]:
        """The connector's options (and its data, if so configured)."""
        if not self._include_data:
            return {}
        return {'include_data_in_config': True, 'store_dict': dict(self._store)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LocalConnector:
        """Make a connector from the output of `config`."""
        return cls(**config)

    def evict(self, key: LocalKey) -> None:
        """Remove the object, if present."""
        check_key(self, key, LocalKey)
        self._store.pop(key, None)

    def evict_batch(self, keys: Sequence[LocalKey]) -> None:
        """Remove many objects."""
        for key in keys:
            self.evict(key)

    def list_objects(self) -> Iterator[StoredObject]:
        """The objects of this connector (sizes only: no age or owner is kept)."""
        for key, data in list(self._store.items()):
            yield StoredObject(key=key, size=len(data))

    def exists(self, key: LocalKey) -> bool:
        """Whether the object is present."""
        check_key(self, key, LocalKey)
        return key in self._store

    def get(self, key: LocalKey) -> bytes | None:
        """The stored bytes, or ``None``."""
        check_key(self, key, LocalKey)
        return self._store.get(key)

    def get_batch(self, keys: Sequence[LocalKey]) -> list[bytes | None]:
        """`get` for many keys."""
        return [self.get(key) for key in keys]

    def new_key(self, obj: BytesLike | None = None) -> LocalKey:
        """A new key; stores ``obj`` under it if given."""
        key = LocalKey(secrets.token_urlsafe(9))
        if obj is not None:
            self.set(key, obj)
        return key

    def put(self, obj: BytesLike) -> LocalKey:
        """Store a copy of the bytes under a new key."""
        return self.new_key(obj)

    def put_frames(self, buffers: Sequence[BytesLike]) -> LocalKey:
        """Store the joined buffers (one copy) under a new key."""
        return self.new_key(b''.join(buffers))

    def put_batch(self, objs: Sequence[BytesLike]) -> list[LocalKey]:
        """`put` for many objects."""
        return [self.new_key(obj) for obj in objs]

    def set(self, key: LocalKey, obj: BytesLike) -> None:
        """Store a copy of the bytes under ``key``."""
        check_key(self, key, LocalKey)
        # An immutable copy: readers get their own buffers from deserialization,
        # and the caller may reuse its buffer.
        data = obj if type(obj) is bytes else bytes(obj)
        with self._stored:
            self._store[key] = data
            self._stored.notify_all()

    def set_frames(self, key: LocalKey, buffers: Sequence[BytesLike]) -> None:
        """Store the joined buffers (one copy) under ``key``."""
        self.set(key, b''.join(buffers))

    def wait(self, key: LocalKey, timeout: float | None = None) -> bool:
        """Block until an object is stored under ``key`` or ``timeout`` passes.

        Args:
            key: Key of the object.
            timeout: Most seconds to wait (``None``: no limit; ``0``: look once).

        Returns:
            Whether an object exists under the key.
        """
        check_key(self, key, LocalKey)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._stored:
            while key not in self._store:
                if deadline is None:
                    self._stored.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._stored.wait(remaining)
            return True
