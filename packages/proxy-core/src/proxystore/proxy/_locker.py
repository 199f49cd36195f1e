"""`ProxyLocker`: carry a proxy through code that would otherwise resolve it."""

from __future__ import annotations

from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.proxy._proxy import Proxy

__all__ = ['ProxyLocker']

T = TypeVar('T')


class ProxyLocker(Generic[T]):
    """A box around a proxy that keeps the proxy from being resolved.

    Code that inspects its arguments (``isinstance`` checks, serializers that
    look at attributes) resolves a bare proxy. Passing a locker instead keeps the
    proxy out of reach until the receiver calls `unlock`.

    Args:
        proxy: The proxy to lock.
    """

    __module__ = 'proxystore.proxy'

    def __init__(self, proxy: Proxy[T]) -> None:
        self._proxy = proxy

    def __getattribute__(self, name: str) -> Any:
        if name == '_proxy':
            raise AttributeError('Cannot access proxy attribute of a Locker')
        return super().__getattribute__(name)

    def __repr__(self) -> str:
        return f'<{type(self).__name__} at {id(self):#x}>'

    def unlock(self) -> Proxy[T]:
        """Return the locked proxy."""
        return object.__getattribute__(self, '_proxy')  # type: ignore[no-any-return]
