"""Helpers on store proxies."""

from __future__ import annotations

from typing import Any

from proxystore.proxy import Proxy
from proxystore.proxy import get_factory
from proxystore.proxy import is_resolved
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.factory import StoreFactory
from proxystore.store.types import ConnectorKeyT

__all__ = ['get_factory_of_store_proxy', 'get_key', 'resolve_async']


def get_factory_of_store_proxy(proxy: Proxy[Any]) -> StoreFactory[Any, Any]:
    """The `StoreFactory` of a store proxy, without resolving it.

    Raises:
        ProxyStoreFactoryError: If the proxy's factory is not a store factory.
    """
    factory = get_factory(proxy)
    if not isinstance(factory, StoreFactory):
        raise ProxyStoreFactoryError(
            f'The proxy must have a StoreFactory, not {type(factory).__name__}.',
        )
    return factory


def get_key(proxy: Proxy[Any]) -> ConnectorKeyT:
    """The key of a store proxy's object, without resolving the proxy.

    Raises:
        ProxyStoreFactoryError: If the proxy's factory is not a store factory.
    """
    return get_factory_of_store_proxy(proxy).key


def resolve_async(proxy: Proxy[Any]) -> None:
    """Start resolving a store proxy in the background; its first use waits for it.

    Raises:
        ProxyStoreFactoryError: If the proxy's factory is not a store factory.
    """
    factory = get_factory_of_store_proxy(proxy)
    if not is_resolved(proxy):
        factory.resolve_async()
