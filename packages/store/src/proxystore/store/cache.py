"""`LRUCache`: a thread-safe least-recently-used cache with O(1) operations."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic
from typing import TypeVar

from proxystore.serialize._fork import renew_after_fork

__all__ = ['LRUCache']

K = TypeVar('K')
V = TypeVar('V')
_MISSING = object()


class LRUCache(Generic[K, V]):
    """Least-recently-used cache; every operation is O(1) and thread-safe.

    Args:
        maxsize: Most entries kept; 0 disables caching.

    Raises:
        ValueError: If ``maxsize`` is negative.
    """

    def __init__(self, maxsize: int = 16) -> None:
        if maxsize < 0:
            raise ValueError(f'Cache size must be zero or more, not {maxsize}.')
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        renew_after_fork(self, '_lock')  # a store used in a forked child
        # Bumped by every eviction: a value read before an eviction must not be
        # cached after it (see `token`).
        self._generation = 0

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(maxsize={self.maxsize}, size={len(self)}, '
            f'hits={self.hits}, misses={self.misses})'
        )

    def token(self) -> int:
        """A token to pass to `set` for a value about to be fetched.

        If anything is evicted between taking the token and `set`, the value may
        be stale, and `set` drops it.
        """
        return self._generation

    def evict(self, key: K) -> None:
        """Remove ``key`` if cached."""
        with self._lock:
            self._generation += 1
            self._data.pop(key, None)

    def exists(self, key: K) -> bool:
        """Whether ``key`` is cached."""
        return key in self._data

    def get(self, key: K, default: V | None = None) -> V | None:
        """The cached value (now most recently used), or ``default``."""
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return value  # type: ignore[return-value]

    def set(self, key: K, value: V, token: int | None = None) -> None:
        """Cache ``value``, dropping the least recently used entry when full.

        With a ``token`` (from `token`), nothing is cached if an eviction happened
        since the token was taken.
        """
        if self.maxsize == 0:
            return
        with self._lock:
            if token is not None and token != self._generation:
                return
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._generation += 1
            self._data.clear()
