"""How a proxy finds its store: by name, by config blob, or made from the config.

A pickled store proxy carries its store's config as a compact blob. In the process
that resolves it, the blob is parsed once and its store looked up once: the
registered store of the config's name when its connector is the config's, else
one made from the config (registered, and closed at exit by
`proxystore.store._registry`). Both are remembered by blob, with the connector's
key class, which rebuilds the keys that travelled as bare fields.

This module owns the map of blobs; the registry owns the map of names.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from proxystore.proxy import Proxy
from proxystore.store import _registry
from proxystore.store.base import Store
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.store.utils import get_factory_of_store_proxy

__all__ = ['get_or_create_store', 'get_store']

logger = logging.getLogger(__name__)

_UNKNOWN: Any = object()


class _Located:
    """What this process knows of one config blob."""

    __slots__ = ('config', 'key_type', 'store')

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.store: Store[Any] | None = None
        self.key_type: type | None = _UNKNOWN


# Config blob -> what was found for it (parsed config, store, key class).
_by_blob: dict[bytes, _Located] = {}
_by_blob_lock = threading.Lock()


def _reset_in_child() -> None:
    global _by_blob_lock
    # Another thread may have held the lock at fork time; it is gone here.
    _by_blob_lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_reset_in_child)


def _entry(blob: bytes) -> _Located:
    located = _by_blob.get(blob)
    if located is None:
        config = StoreConfig.from_compact(blob)
        with _by_blob_lock:
            located = _by_blob.setdefault(blob, _Located(config))
    return located


def config_of(blob: bytes) -> StoreConfig:
    """The config of a blob, parsed once per process."""
    return _entry(blob).config


def key_type_of(blob: bytes) -> type | None:
    """The key class of the connector of a blob's config (``None``: it has none).

    The store found for the blob tells it; before any store is found, the
    connector class is looked up (importing its module, not making a store).
    """
    located = _entry(blob)
    store = located.store
    if store is not None:
        return store.key_type
    if located.key_type is _UNKNOWN:
        connector_type = located.config.connector.get_connector_type()
        located.key_type = getattr(connector_type, 'Key', None)
    return located.key_type


def cached_store(blob: bytes) -> Store[Any] | None:
    """The store already found for a blob in this process, if any."""
    located = _by_blob.get(blob)
    return None if located is None else located.store


def store_for(blob: bytes) -> Store[Any]:
    """The store of a config blob: found or made once, then remembered.

    Raises:
        MissingSecretError: If the config names a secret this process lacks.
        UnknownConnectorError: If the config's connector is not installed.
    """
    located = _by_blob.get(blob) or _entry(blob)
    store = located.store
    if store is not None and not store.closed:
        registered = _registry.lookup(store.name)
        if registered is store:
            return store
        # A store left unregistered (its name is taken by the application's
        # store of another channel) stays this blob's store while it is open;
        # a store of the name registered since over the same channel replaces
        # it (the application made a new one).
        if registered is not None and not _same_connector(
            registered.config().connector, located.config.connector
        ):
            return store
    store = get_or_create_store(located.config, register=True)
    located.store = store
    return store


def get_store(val: Any) -> Store[Any] | None:
    """The registered store of a name, or the store of a store proxy.

    Given a proxy, its factory's store is returned, re-created from the proxy's
    config if this process has none of that name.

    Args:
        val: A store name or a store proxy.

    Raises:
        ProxyStoreFactoryError: If ``val`` is a proxy whose factory is not a
            store factory.
    """
    if isinstance(val, Proxy):
        return get_factory_of_store_proxy(val).get_store()
    return _registry.lookup(val)


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

    Args:
        store_config: The config of the store.
        register: Register a store made here (and close it at exit).

    Raises:
        MissingSecretError: If the config names a secret this process lacks.
        UnknownConnectorError: If the config's connector is not installed.
    """
    stale: Store[Any] | None = None
    with _registry._stores_lock:
        store = _registry.lookup(store_config.name)
        if store is not None:
            if _same_connector(store.config().connector, store_config.connector):
                return store
            if not _registry.closes_at_exit(store):
                return Store.from_config(store_config)
            logger.info(
                'Replacing the store "%s" made from an older config', store.name
            )
            _registry.unregister_store(store)
            stale = store
        store = Store.from_config(store_config)
        if register:
            _registry.register_closing_at_exit(store)
    if stale is not None:
        _registry.close_keeping_data(stale)
    return store


def _same_connector(a: ConnectorConfig, b: ConnectorConfig) -> bool:
    # 1.x configs name connectors by path and leave out defaults (normalized()).
    if a == b:
        return True
    try:
        return a.normalized() == b.normalized()
    except ValueError:
        return False
