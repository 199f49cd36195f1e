"""Data management: pass by value, or by proxy through a store, with a filter.

A `DataPolicy` travels with every task. On the driver it replaces task
arguments by proxies (`DataPolicy.proxy_tree`); in the worker it replaces
proxies among the arguments by their objects (`resolve_tree`) and the task's
result by a proxy. Arguments are walked through lists, tuples and dicts; any
other object is a leaf, kept or proxied whole.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from proxystore.proxy import Proxy
from proxystore.proxy import extract
from proxystore.store import Store
from proxystore.store import StoreConfig
from proxystore.store import get_or_create_store
from proxystore_apps.config import FilterConfig

__all__ = ['DataPolicy', 'object_size', 'resolve_tree']


def object_size(obj: Any) -> int:
    """Bytes of an object's data: ``nbytes`` (arrays), ``len`` (bytes, str)."""
    nbytes = getattr(obj, 'nbytes', None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(obj, bytes | bytearray | str):
        return len(obj)
    return sys.getsizeof(obj)


def _type_names(obj: Any) -> set[str]:
    cls = type(obj)
    module = cls.__module__.split('.')[0]
    return {cls.__name__, cls.__qualname__, f'{module}.{cls.__qualname__}'}


def _map_tree(
    obj: list[Any] | tuple[Any, ...] | dict[Any, Any],
    function: Callable[[Any], tuple[Any, int]],
) -> tuple[Any, int]:
    """``function`` applied to a container's items, and the sum of its counts.

    The container is returned as it is if no item changed.
    """
    total = 0
    changed = False
    if isinstance(obj, dict):
        mapping = {}
        for key, value in obj.items():
            mapping[key], count = function(value)
            total += count
            changed = changed or mapping[key] is not value
        return (mapping if changed else obj), total
    items = []
    for item in obj:
        new, count = function(item)
        items.append(new)
        total += count
        changed = changed or new is not item
    if not changed:
        return obj, total
    if isinstance(obj, list):
        return items, total
    if hasattr(obj, '_fields'):  # a named tuple
        return type(obj)(*items), total
    return tuple(items), total


class DataPolicy:
    """What goes by proxy, and the store it goes through.

    Args:
        mode: ``value`` or ``proxy``.
        filter_: Which objects go by proxy.
        store_config: Config of the store (``None`` by value).
    """

    def __init__(
        self,
        mode: str,
        filter_: FilterConfig,
        store_config: StoreConfig | None,
    ) -> None:
        if mode == 'proxy' and store_config is None:
            raise ValueError('proxy mode needs a store config')
        self.mode = mode
        self.filter = filter_
        self.store_config = store_config

    @property
    def proxying(self) -> bool:
        """Whether objects go by proxy."""
        return self.mode == 'proxy'

    def __repr__(self) -> str:
        return f'DataPolicy(mode={self.mode!r}, filter={self.filter.kind!r})'

    def store(self) -> Store[Any]:
        """The store: the registered one of this process, or one made from its config.

        Raises:
            RuntimeError: If the policy passes data by value.
        """
        if self.store_config is None:
            raise RuntimeError('data passed by value: there is no store')
        return get_or_create_store(self.store_config, register=True)

    def wants(self, obj: Any) -> bool:
        """Whether ``obj`` should go by proxy (never a proxy, None or a bool)."""
        if not self.proxying or isinstance(obj, Proxy | bool | None):
            return False
        if self.filter.kind == 'all':
            return True
        if self.filter.kind == 'size':
            return object_size(obj) >= self.filter.min_bytes
        return bool(_type_names(obj) & set(self.filter.types))

    def proxy_tree(
        self,
        obj: Any,
        memo: dict[int, tuple[Any, Any]] | None = None,
    ) -> tuple[Any, int]:
        """``obj`` with the objects the filter wants replaced by proxies.

        Args:
            obj: An argument or a result.
            memo: Proxies already made, by ``id`` of their object (the object
                is kept alive beside its proxy): an object sent again reuses
                its proxy instead of being stored twice.

        Returns:
            The new object and the number of proxies made.
        """
        if not self.proxying:
            return obj, 0
        if isinstance(obj, list | tuple | dict):
            return _map_tree(obj, lambda item: self.proxy_tree(item, memo))
        if not self.wants(obj):
            return obj, 0
        if memo is not None and id(obj) in memo:
            return memo[id(obj)][1], 0
        proxy = self.store().proxy(obj)
        if memo is not None:
            memo[id(obj)] = (obj, proxy)
        return proxy, 1


def resolve_tree(obj: Any) -> tuple[Any, int]:
    """``obj`` with every proxy in it replaced by its object (resolving it).

    Returns:
        The new object and the number of proxies resolved.
    """
    if isinstance(obj, Proxy):
        return extract(obj), 1
    if isinstance(obj, list | tuple | dict):
        return _map_tree(obj, resolve_tree)
    return obj, 0
