"""The process-wide registry of stores, by name.

A proxy resolved in a process that has no store of its name re-creates the store
from the config the proxy carries (`get_or_create_store`); such stores are
closed when the process exits, keeping shared data (``clear=False``) since the
process that created the data owns it.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import logging
import os
import sys
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING
from typing import Any

from proxystore.store.exceptions import StoreExistsError

if TYPE_CHECKING:
    from proxystore.store.base import Store
    from proxystore.store.config import ConnectorConfig
    from proxystore.store.config import StoreConfig

__all__ = [
    'get_or_create_store',
    'get_store',
    'register_store',
    'store_registration',
    'unregister_store',
]

logger = logging.getLogger(__name__)

_stores: dict[str, Store[Any]] = {}
_stores_lock = threading.RLock()
# Stores this process re-created from a config: closed at exit.
_implicit: dict[str, Store[Any]] = {}


def register_store(store: Store[Any], exist_ok: bool = False) -> None:
    """Register ``store`` under its name.

    Raises:
        StoreExistsError: If another store of that name is registered and not
            ``exist_ok``.
    """
    with _stores_lock:
        existing = _stores.get(store.name)
        if existing is not None and existing is not store and not exist_ok:
            raise StoreExistsError(f'A store named "{store.name}" already exists.')
        _stores[store.name] = store
    logger.info('Registered a store named "%s"', store.name)


def unregister_store(name_or_store: str | Store[Any]) -> None:
    """Remove a store from the registry (no-op when absent)."""
    name = name_or_store if isinstance(name_or_store, str) else name_or_store.name
    with _stores_lock:
        removed = _stores.pop(name, None)
        _implicit.pop(name, None)
    if removed is not None:
        logger.info('Unregistered a store named "%s"', name)


def get_store(val: Any) -> Store[Any] | None:
    """The registered store of a name, or the store of a store proxy.

    Given a proxy, its factory's store is returned, re-created from the proxy's
    config if this process has none of that name.

    Raises:
        ProxyStoreFactoryError: If ``val`` is a proxy whose factory is not a
            store factory.
    """
    from proxystore.proxy import Proxy

    if isinstance(val, Proxy):
        from proxystore.store.utils import get_factory_of_store_proxy

        return get_factory_of_store_proxy(val).get_store()
    with _stores_lock:
        return _stores.get(val)


def get_or_create_store(
    store_config: StoreConfig, *, register: bool = True
) -> Store[Any]:
    """The registered store named in the config, or a new one made from it.

    A store made here with ``register`` is registered and closed at exit.

    A registered store of that name whose connector differs from the config's
    (a long-lived worker that served an earlier store of the same name) is not
    used: a store this process made from a config is replaced, and one the
    application registered is left alone, the new store then staying
    unregistered.
    """
    from proxystore.store.base import Store

    stale: Store[Any] | None = None
    with _stores_lock:
        store = _stores.get(store_config.name)
        if store is not None:
            if _same_connector(store.config().connector, store_config.connector):
                return store
            if _implicit.get(store.name) is not store:
                return Store.from_config(store_config)
            logger.info(
                'Replacing the store "%s" made from an older config', store.name
            )
            unregister_store(store)
            stale = store
        store = Store.from_config(store_config)
        if register:
            register_store(store, exist_ok=True)
            _implicit[store.name] = store
    if stale is not None:
        close_keeping_data(stale)
    return store


def _same_connector(a: ConnectorConfig, b: ConnectorConfig) -> bool:
    if a == b:
        return True
    try:
        return a.normalized() == b.normalized()
    except ValueError:
        return False


@contextlib.contextmanager
def store_registration(*stores: Store[Any], exist_ok: bool = False) -> Generator[None]:
    """Register stores for the duration of a ``with`` block, even if it raises."""
    registered: list[Store[Any]] = []
    try:
        for store in stores:
            register_store(store, exist_ok=exist_ok)
            registered.append(store)
        yield
    finally:
        for store in registered:
            unregister_store(store)


def close_keeping_data(store: Store[Any]) -> None:
    """Close a store without clearing shared data its connector can clear."""
    close = store.connector.close
    try:
        keeps = 'clear' in inspect.signature(close).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signature
        keeps = False
    if keeps:
        store.close(clear=False)
    else:
        store.close()


_worker_hook_pid: int | None = None


def _close_at_worker_exit() -> None:
    """Also close re-created stores when a multiprocessing worker exits.

    Such workers leave through ``os._exit``, skipping `atexit`, but run the
    finalizers of ``multiprocessing.util`` first.
    """
    global _worker_hook_pid
    if 'multiprocessing' not in sys.modules or _worker_hook_pid == os.getpid():
        return
    from multiprocessing import util

    util.Finalize(None, _close_implicit_stores, exitpriority=10)
    _worker_hook_pid = os.getpid()


def _reset_in_child() -> None:
    global _stores_lock
    # Another thread may have held the lock at fork time; it is gone here.
    _stores_lock = threading.RLock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_reset_in_child)


@atexit.register
def _close_implicit_stores() -> None:
    with _stores_lock:
        stores = list(_implicit.values())
        _implicit.clear()
    for store in stores:
        try:
            close_keeping_data(store)
        except Exception:  # pragma: no cover - best effort at exit
            logger.exception('Failed to close store "%s" at exit', store.name)
