"""The process-wide registry of stores, by name.

A leaf of the store package: it imports no store module but the exceptions. It
holds the names, their lock (re-made in a forked child, where another thread may
have held it), and the stores to close when the process exits: those that
`proxystore.store._locate` re-created from a config, closed keeping shared data
(``clear=False``) since the process that created the data owns it.
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

__all__ = [
    'is_registered',
    'register_store',
    'store_registration',
    'unregister_store',
]

logger = logging.getLogger(__name__)

_stores: dict[str, Store[Any]] = {}
_stores_lock = threading.RLock()
# Stores made from a config in this process, by name: closed at exit.
_closing_at_exit: dict[str, Store[Any]] = {}


def register_store(store: Store[Any], exist_ok: bool = False) -> None:
    """Register ``store`` under its name.

    Args:
        store: The store.
        exist_ok: Replace another store registered under the name.

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
    """Remove the store of a name (or of a store's name); absent is no error."""
    name = name_or_store if isinstance(name_or_store, str) else name_or_store.name
    with _stores_lock:
        removed = _stores.pop(name, None)
        _closing_at_exit.pop(name, None)
    if removed is not None:
        logger.info('Unregistered a store named "%s"', name)


def is_registered(name_or_store: str | Store[Any]) -> bool:
    """Whether a store is registered in this process.

    Args:
        name_or_store: A name (is any store registered under it?) or a store
            (is this very store the one registered under its name?).

    Raises:
        TypeError: If ``name_or_store`` is neither a string nor a store.
    """
    if isinstance(name_or_store, str):
        return name_or_store in _stores
    name = getattr(name_or_store, 'name', None)
    if not isinstance(name, str):
        raise TypeError(
            'is_registered() takes a store name or a Store, not '
            f'{type(name_or_store).__name__}.',
        )
    return _stores.get(name) is name_or_store


def lookup(name: str) -> Store[Any] | None:
    """The store registered under ``name``, if any."""
    return _stores.get(name)


def discard(store: Store[Any]) -> None:
    """Unregister ``store`` if it is the one registered under its name."""
    with _stores_lock:
        if _stores.get(store.name) is store:
            unregister_store(store.name)


def register_closing_at_exit(store: Store[Any]) -> None:
    """Register ``store`` (replacing any of its name) and close it at exit."""
    with _stores_lock:
        register_store(store, exist_ok=True)
        _closing_at_exit[store.name] = store
    _close_at_worker_exit()


def closes_at_exit(store: Store[Any]) -> bool:
    """Whether ``store`` is registered to be closed when the process exits."""
    with _stores_lock:
        return _closing_at_exit.get(store.name) is store


@contextlib.contextmanager
def store_registration(*stores: Store[Any], exist_ok: bool = False) -> Generator[None]:
    """Register stores for the duration of a ``with`` block, even if it raises.

    Raises:
        StoreExistsError: If a name is taken and not ``exist_ok`` (the stores
            registered before it are unregistered again).
    """
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
    """Also close the stores when a multiprocessing worker exits.

    Such workers leave through ``os._exit``, skipping `atexit`, but run the
    finalizers of ``multiprocessing.util`` first. Nothing is imported when the
    process does not use multiprocessing.
    """
    global _worker_hook_pid
    if 'multiprocessing' not in sys.modules or _worker_hook_pid == os.getpid():
        return
    util = sys.modules.get('multiprocessing.util')
    if util is None:  # pragma: no cover - multiprocessing imports its util
        return
    util.Finalize(None, _close_stores_at_exit, exitpriority=10)
    _worker_hook_pid = os.getpid()


def _reset_in_child() -> None:
    global _stores_lock
    # Another thread may have held the lock at fork time; it is gone here.
    _stores_lock = threading.RLock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_reset_in_child)


@atexit.register
def _close_stores_at_exit() -> None:
    with _stores_lock:
        stores = list(_closing_at_exit.values())
        _closing_at_exit.clear()
    for store in stores:
        try:
            close_keeping_data(store)
        except Exception:  # pragma: no cover - best effort at exit
            logger.exception('Failed to close store "%s" at exit', store.name)
