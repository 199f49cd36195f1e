"""Factories of store proxies: fetch an object from its store when called.

A `StoreFactory` pickles to its key, a compact blob of its store's config and two
flags, so a pickled store proxy stays a few hundred bytes at most. In the process
that resolves it, the store is found in the registry (by name) or re-created from
the config.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.store import _registry
from proxystore.store.config import StoreConfig
from proxystore.store.exceptions import ProxyResolveMissingKeyError
from proxystore.store.exceptions import StoreClosedError
from proxystore.store.timer import Timer
from proxystore.store.types import ConnectorKeyT
from proxystore.store.types import ConnectorT
from proxystore.store.types import DeserializerT

if TYPE_CHECKING:
    from proxystore.store.base import Store


__all__ = ['PollingStoreFactory', 'StoreFactory']


_located: Any = None


def _locate() -> Any:
    # The one cycle-breaker of the store package: _locate sits above base, which
    # makes factories, so a factory reaches it only when it resolves (kept in a
    # global: an import statement on every resolve costs a microsecond).
    global _located
    if _located is None:
        from proxystore.store import _locate

        _located = _locate
    return _located


T = TypeVar('T')
_MISSING = object()
_UNKNOWN: Any = object()

# The pool behind resolve_async, created on first use and re-created in a forked
# child (whose copy has no threads).
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _resolve_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                thread_name_prefix='proxystore-resolve',
            )
        return _pool


def _forget_pool_in_child() -> None:
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_forget_pool_in_child)


class StoreFactory(Generic[ConnectorT, T]):
    """Factory that fetches its object from a store.

    Args:
        key: Key of the object in the store's connector.
        store_config: Config of the store (re-creates it in other processes).
        evict: Evict the object from the store once resolved.
        deserializer: Custom deserializer for this object.
    """

    # The connector's key class, handed over by the store that made the
    # factory; unknown in a factory unpickled here (then the blob tells).
    _key_type: type | None = _UNKNOWN

    def __init__(
        self,
        key: ConnectorKeyT,
        store_config: StoreConfig,
        *,
        evict: bool = False,
        deserializer: DeserializerT | None = None,
    ) -> None:
        self._key: ConnectorKeyT = key
        self._key_compacted = False  # _key is the bare fields of the connector's Key
        self.evict = evict
        self.deserializer = deserializer
        self._config: StoreConfig | None = store_config
        self._blob: bytes | None = None
        self._store: weakref.ref[Store[Any]] | None = None
        self._obj_future: concurrent.futures.Future[T] | None = None

    def __repr__(self) -> str:
        return f'{type(self).__name__}(key={self.key!r}, evict={self.evict})'

    @property
    def key(self) -> ConnectorKeyT:
        """Key of the object in the store's connector."""
        key = self._key
        if self._key_compacted:  # see __reduce__
            key_type = self._key_type
            if key_type is _UNKNOWN:
                key_type = self._connector_key_type()
            assert key_type is not None
            key = self._key = key_type(*key)
            self._key_compacted = False
        return key

    @key.setter
    def key(self, value: ConnectorKeyT) -> None:
        self._key = value
        self._key_compacted = False

    def _connector_key_type(self) -> type | None:
        key_type = self._key_type
        if key_type is _UNKNOWN:
            key_type = self._key_type = _locate().key_type_of(self._compact())
        return key_type

    @property
    def store_config(self) -> StoreConfig:
        """The config of the factory's store."""
        if self._config is None:
            assert self._blob is not None
            self._config = _locate().config_of(self._blob)
        return self._config

    def _compact(self) -> bytes:
        if self._blob is None:
            self._blob = self.store_config.compact()
        return self._blob

    def _bind(self, store: Store[Any]) -> None:
        """Remember the store that made this factory (in this process)."""
        self._store = weakref.ref(store)
        self._key_type = store.key_type

    def get_store(self) -> Store[ConnectorT]:
        """The factory's store.

        The store that made the factory (in its process), else the registered
        store of its name, else a new one made from its config (registered).
        """
        if self._store is not None:
            store = self._store()
            if store is not None and not store.closed:
                return store
            if store is not None:
                # The store that made this proxy was closed in this process: a
                # live store of its name may replace it, but none is re-created.
                live = _registry.lookup(store.name)
                if live is None:
                    raise StoreClosedError(f'Store "{store.name}" is closed.')
                return live
        return _locate().store_for(self._compact())  # type: ignore[no-any-return]

    def __call__(self) -> T:
        """Return the object (waiting for `resolve_async`, if started)."""
        start = time.perf_counter_ns()
        future, self._obj_future = self._obj_future, None
        obj = future.result() if future is not None else self.resolve()
        store = self._store() if self._store is not None else None
        if store is None:
            store = _locate().cached_store(self._compact())
        if store is not None and store.metrics is not None:
            elapsed_ms = (time.perf_counter_ns() - start) / 1e6
            store.metrics.add_time('factory.call', self.key, elapsed_ms)
        return obj

    def with_evict(self, evict: bool) -> StoreFactory[ConnectorT, T]:
        """A copy of this factory (of the same object and store) with ``evict``."""
        factory: StoreFactory[ConnectorT, T] = StoreFactory(
            self.key,
            self.store_config,
            evict=evict,
            deserializer=self.deserializer,
        )
        factory._blob = self._blob
        factory._store = self._store
        factory._key_type = self._key_type
        return factory

    def __dask_tokenize__(self) -> tuple[str, Any]:
        """A token for Dask: the store's name and the key (the object's identity)."""
        return (self.store_config.name, tuple(self.key))

    def _fetch(self, store: Store[Any]) -> Any:
        return store.get(self.key, deserializer=self.deserializer, default=_MISSING)

    def resolve(self) -> T:
        """Fetch the object from the store.

        Raises:
            ProxyResolveMissingKeyError: If the key has no object.
        """
        start = time.perf_counter_ns()
        store = self.get_store()
        if self._key_type is _UNKNOWN:
            self._key_type = store.key_type  # the store tells; no blob look-up
        obj = self._fetch(store)
        if obj is _MISSING:
            raise ProxyResolveMissingKeyError(self.key, type(store), store.name)
        if self.evict:
            store.evict(self.key)
        if store.metrics is not None:
            elapsed_ms = (time.perf_counter_ns() - start) / 1e6
            store.metrics.add_time('factory.resolve', self.key, elapsed_ms)
        return obj  # type: ignore[no-any-return]

    def resolve_async(self) -> None:
        """Start fetching the object in a background thread.

        The next call of the factory (the proxy's first use) waits for it.
        """
        if self._obj_future is None:
            self._obj_future = _resolve_pool().submit(self.resolve)

    def __getstate__(self) -> dict[str, Any]:
        # Kept for code that pickles factories by state (1.x pickled __dict__).
        state = dict(self.__dict__)
        state['_key'] = self.key
        state['_key_compacted'] = False
        state['_obj_future'] = None
        state['_store'] = None
        state['_blob'] = self._compact()
        state['_config'] = None
        state.pop('_key_type', None)  # a class of this process: not sent
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # ProxyStore 1.x pickled its factories by __dict__: key, store_config,
        # evict, deserializer and _obj_future (and, for polling factories, the
        # polling options). Current pickles carry the attributes of this class.
        if 'store_config' in state and '_config' not in state:
            state = dict(state)
            self._key = state.pop('key')
            self._config = state.pop('store_config')
            state.pop('_obj_future', None)
            self._key_compacted = False
            self._blob = None
            self._store = None
            self._obj_future = None
        self.__dict__.update(state)

    def __reduce__(self) -> tuple[Any, ...]:
        blob = self._compact()
        key: Any = self.key
        if type(key) is self._connector_key_type():
            # The connector's own key type travels as bare fields: the one field
            # itself (a str) for single-field keys, else a tuple and a flag.
            fields: tuple[Any, ...] = tuple(self.key)
            key = fields[0] if len(fields) == 1 else (fields, True)
        args: tuple[Any, ...] = (key, blob)
        if self.evict or self.deserializer is not None:
            args += (self.evict, self.deserializer)
        return (_rebuild, args)


def _rebuild(
    key: Any,
    blob: bytes,
    evict: bool = False,
    deserializer: DeserializerT | None = None,
) -> StoreFactory[Any, Any]:
    compacted = False
    if type(key) is str:
        key, compacted = (key,), True
    elif (
        type(key) is tuple
        and len(key) == 2
        and key[1] is True
        and type(key[0]) is tuple
    ):
        key, compacted = key[0], True
    factory: StoreFactory[Any, Any] = StoreFactory.__new__(StoreFactory)
    factory._key = key
    factory._key_compacted = compacted
    factory.evict = evict
    factory.deserializer = deserializer
    factory._config = None
    factory._blob = blob
    factory._store = None
    factory._obj_future = None
    return factory


class PollingStoreFactory(StoreFactory[ConnectorT, T]):
    """Store factory that waits for its object to appear (for futures).

    Args:
        key: Key of the object in the store's connector.
        store_config: Config of the store.
        deserializer: Custom deserializer for this object.
        evict: Evict the object from the store once resolved.
        polling_interval: Seconds between the first polls.
        polling_backoff_factor: Multiplier of the interval after each poll.
        polling_interval_limit: Largest interval, in seconds.
        polling_timeout: Give up after this many seconds (``None``: never).

    Raises:
        ValueError: If an interval, factor or timeout is not positive.
    """

    def __init__(
        self,
        key: ConnectorKeyT,
        store_config: StoreConfig,
        *,
        deserializer: DeserializerT | None = None,
        evict: bool = False,
        polling_interval: float = 1,
        polling_backoff_factor: float = 1,
        polling_interval_limit: float | None = None,
        polling_timeout: float | None = None,
    ) -> None:
        if polling_interval <= 0 or polling_backoff_factor <= 0:
            raise ValueError('polling_interval and polling_backoff_factor must be > 0.')
        if polling_interval_limit is not None and polling_interval_limit <= 0:
            raise ValueError('polling_interval_limit must be > 0.')
        if polling_timeout is not None and polling_timeout <= 0:
            raise ValueError('polling_timeout must be > 0.')
        super().__init__(key, store_config, evict=evict, deserializer=deserializer)
        self.polling_interval = polling_interval
        self.polling_backoff_factor = polling_backoff_factor
        self.polling_interval_limit = polling_interval_limit
        self.polling_timeout = polling_timeout

    def resolve(self) -> T:
        """Poll the store until the object exists, then fetch it.

        Raises:
            ProxyResolveMissingKeyError: If ``polling_timeout`` passes first.
        """
        store = self.get_store()
        start = time.monotonic()
        interval = self.polling_interval
        with Timer() as timer:
            while True:
                obj = self._fetch(store)
                if obj is not _MISSING:
                    break
                waited = time.monotonic() - start
                if self.polling_timeout is not None and waited >= self.polling_timeout:
                    raise ProxyResolveMissingKeyError(self.key, type(store), store.name)
                sleep = interval
                if self.polling_timeout is not None:
                    sleep = min(sleep, self.polling_timeout - waited)
                time.sleep(sleep)
                interval *= self.polling_backoff_factor
                if self.polling_interval_limit is not None:
                    interval = min(interval, self.polling_interval_limit)
            if self.evict:
                store.evict(self.key)
        if store.metrics is not None:
            store.metrics.add_time(
                'factory.polling_resolve', self.key, timer.elapsed_ms
            )
        return obj  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_polling, (self._compact(), self.__getstate__()))


# Pickles name _rebuild by the shorter package path (fewer bytes per proxy).
_rebuild.__module__ = 'proxystore.store'


def _rebuild_polling(
    blob: bytes, state: dict[str, Any]
) -> PollingStoreFactory[Any, Any]:
    factory: PollingStoreFactory[Any, Any] = PollingStoreFactory.__new__(
        PollingStoreFactory,
    )
    factory.__dict__.update(state)
    factory._blob = blob
    return factory
