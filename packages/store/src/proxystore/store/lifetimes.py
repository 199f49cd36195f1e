"""Lifetimes: evict a group of objects together when the lifetime ends.

- `ContextLifetime`: ends when closed (or its ``with`` block ends);
- `LeaseLifetime`: ends at an expiry time, which can be extended;
- `StaticLifetime`: ends when the process exits.

Pass one as ``lifetime=`` to `Store.put`, `Store.proxy` and friends.
"""

from __future__ import annotations

import atexit
import datetime
import functools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable

from proxystore.proxy import Proxy
from proxystore.serialize._fork import renew_after_fork
from proxystore.store.types import ConnectorKeyT
from proxystore.store.utils import get_factory_of_store_proxy

if TYPE_CHECKING:
    from proxystore.store.base import Store

__all__ = [
    'ContextLifetime',
    'LeaseLifetime',
    'Lifetime',
    'StaticLifetime',
    'register_lifetime_atexit',
]

logger = logging.getLogger(__name__)

F = TypeVar('F', bound=Callable[..., Any])


@runtime_checkable
class Lifetime(Protocol):
    """What every lifetime provides."""

    def add_key(self, *keys: ConnectorKeyT, store: Store[Any] | None = None) -> None:
        """Evict these keys of ``store`` when the lifetime ends."""
        ...

    def add_proxy(self, *proxies: Proxy[Any]) -> None:
        """Evict the objects of these store proxies when the lifetime ends."""
        ...

    def close(self, *, close_stores: bool = False) -> None:
        """End the lifetime now."""
        ...

    def done(self) -> bool:
        """Whether the lifetime has ended."""
        ...


def _error_if_done(method: F) -> F:
    @functools.wraps(method)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.done():
            raise RuntimeError('Lifetime has ended. Cannot use this method.')
        return method(self, *args, **kwargs)

    return checked  # type: ignore[return-value]


def _key_and_store(proxy: Proxy[Any]) -> tuple[ConnectorKeyT, Store[Any]]:
    factory = get_factory_of_store_proxy(proxy)
    return factory.key, factory.get_store()


class ContextLifetime:
    """A lifetime that ends when closed; a context manager.

    Args:
        store: Store whose keys are added with `add_key` (by default).
        name: Name for logs (a random one by default).
    """

    def __init__(self, store: Store[Any], *, name: str | None = None) -> None:
        self.store = store
        self.name = name if name is not None else str(uuid.uuid4())
        self._keys: set[ConnectorKeyT] = set()
        # Ending: no more keys (set when close begins); done: keys evicted.
        self._ending = False
        self._done = False
        self._lock = threading.Lock()
        renew_after_fork(self, '_lock')

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name='{self.name}', store={self.store!r})"

    def __enter__(self) -> ContextLifetime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def done(self) -> bool:
        """Whether the lifetime has ended."""
        return self._done

    @_error_if_done
    def add_key(self, *keys: ConnectorKeyT, store: Store[Any] | None = None) -> None:
        """Evict these keys when the lifetime ends.

        Raises:
            RuntimeError: If the lifetime has ended.
            ValueError: If ``store`` is not this lifetime's store.
        """
        if store is not None and store is not self.store:
            raise ValueError(
                f'{type(self).__name__} holds keys of store "{self.store.name}" '
                f'only, not of "{store.name}".',
            )
        with self._lock:
            if self._ending:
                raise RuntimeError('Lifetime has ended. Cannot use this method.')
            self._keys.update(keys)

    @_error_if_done
    def add_proxy(self, *proxies: Proxy[Any]) -> None:
        """Evict the objects of these proxies when the lifetime ends.

        Raises:
            RuntimeError: If the lifetime has ended.
            ProxyStoreFactoryError: If a proxy is not a store proxy.
        """
        keys = []
        for proxy in proxies:
            factory = get_factory_of_store_proxy(proxy)
            name = factory.store_config.name
            if name != self.store.name:
                raise ValueError(
                    f'The proxy belongs to store "{name}", not to "{self.store.name}".',
                )
            keys.append(factory.key)
        with self._lock:
            if self._ending:
                raise RuntimeError('Lifetime has ended. Cannot use this method.')
            self._keys.update(keys)

    def close(self, *, close_stores: bool = False) -> None:
        """Evict every key and end the lifetime (idempotent).

        `done` turns true once the keys are evicted, not before.
        """
        with self._lock:
            if self._ending:
                return
            self._ending = True
            keys, self._keys = list(self._keys), set()
        try:
            if not self.store.closed:
                self.store.evict_batch(keys)
        finally:
            self._done = True
        logger.info('Closed %r (evicted %d objects)', self, len(keys))
        if close_stores:
            self.store.close()


class LeaseLifetime(ContextLifetime):
    """A lifetime that ends at an expiry, unless extended.

    Args:
        store: Store of the keys.
        expiry: When it ends: a datetime, or a number of seconds (or timedelta)
            from now.
        name: Name for logs.

    Raises:
        ValueError: If ``expiry`` is in the past.
    """

    def __init__(
        self,
        store: Store[Any],
        expiry: datetime.datetime | datetime.timedelta | float,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(store, name=name)
        self._expiry = self._absolute(expiry, time.time())
        if self._expiry <= time.time():
            raise ValueError('The lease expiry is in the past.')
        self._timer: threading.Timer | None = None
        self._arm()

    @staticmethod
    def _absolute(
        expiry: datetime.datetime | datetime.timedelta | float,
        base: float,
    ) -> float:
        if isinstance(expiry, datetime.datetime):
            return expiry.timestamp()
        if isinstance(expiry, datetime.timedelta):
            return base + expiry.total_seconds()
        return base + float(expiry)

    def _arm(self) -> None:
        delay = max(self._expiry - time.time(), 0)
        self._timer = threading.Timer(delay, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._ending:
                return
            extended = self._expiry > time.time()
        if extended:
            self._arm()
        else:
            self.close()

    @_error_if_done
    def extend(self, expiry: datetime.datetime | datetime.timedelta | float) -> None:
        """Move the expiry.

        A datetime replaces it (an earlier one too: the lease then ends at
        it); seconds or a timedelta are added to it.

        Raises:
            RuntimeError: If the lifetime has ended.
        """
        with self._lock:
            if isinstance(expiry, datetime.datetime):
                self._expiry = expiry.timestamp()
            else:
                self._expiry = self._absolute(expiry, self._expiry)
            timer = self._timer
        # An earlier expiry (a datetime may move it back) takes effect at once,
        # not when the timer armed for the old one fires.
        if timer is not None:
            timer.cancel()
        self._arm()

    def close(self, *, close_stores: bool = False) -> None:
        """End the lifetime now: cancel the timer and evict every key."""
        if self._timer is not None:
            self._timer.cancel()
        super().close(close_stores=close_stores)


def register_lifetime_atexit(
    lifetime: Lifetime,
    close_stores: bool = True,
) -> Callable[[], None]:
    """Close ``lifetime`` when the process exits.

    Returns:
        The registered callback (for ``atexit.unregister``).
    """

    def _close() -> None:
        lifetime.close(close_stores=close_stores)

    atexit.register(_close)
    return _close


class StaticLifetime:
    """The lifetime of the process, a singleton.

    Its objects are evicted (and their stores closed) at exit.
    """

    _instance: StaticLifetime | None = None
    _instance_lock = threading.Lock()

    def __new__(cls) -> StaticLifetime:
        """Return the one instance."""
        with cls._instance_lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                instance._setup()
                cls._instance = instance
            return cls._instance

    def _setup(self) -> None:
        self.name = 'static'
        self._keys: dict[Store[Any], set[ConnectorKeyT]] = {}
        self._done = False
        self._lock = threading.Lock()
        renew_after_fork(self, '_lock')
        self._atexit = register_lifetime_atexit(self, close_stores=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name='{self.name}')"

    def done(self) -> bool:
        """Whether the lifetime has ended (at exit)."""
        return self._done

    @_error_if_done
    def add_key(self, *keys: ConnectorKeyT, store: Store[Any] | None = None) -> None:
        """Evict these keys of ``store`` at exit.

        Raises:
            ValueError: If ``store`` is not given.
        """
        if store is None:
            raise ValueError('StaticLifetime.add_key() requires the store= argument.')
        with self._lock:
            self._keys.setdefault(store, set()).update(keys)

    @_error_if_done
    def add_proxy(self, *proxies: Proxy[Any]) -> None:
        """Evict the objects of these store proxies at exit."""
        for proxy in proxies:
            key, store = _key_and_store(proxy)
            self.add_key(key, store=store)

    def close(self, *, close_stores: bool = False) -> None:
        """Evict every key (and close the stores).

        Called at exit with ``close_stores=True``.
        """
        with self._lock:
            if self._done:
                return
            self._done = True
            keys, self._keys = self._keys, {}
        atexit.unregister(self._atexit)
        for store, store_keys in keys.items():
            if store.closed:
                continue
            store.evict_batch(list(store_keys))
            if close_stores:
                store.close()


def _renew_static_lock_in_child() -> None:
    # Another thread may have been making the singleton at fork time.
    StaticLifetime._instance_lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_static_lock_in_child)
