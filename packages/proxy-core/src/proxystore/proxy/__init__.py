"""Transparent, lazy object proxies.

A `Proxy` wraps a *factory*, a callable that returns the *target* object. The
factory runs the first time the proxy is used, and from then on the proxy behaves
as the target in every respect. A proxy pickles to its factory only, so it is
cheap to send anywhere; the data move only where the proxy is used.

The proxy's protocol slots are implemented by a C accelerator when it is built and
by an equivalent pure-Python base otherwise (see `IMPLEMENTATION`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar
from typing import Union

from proxystore.proxy._base import IMPLEMENTATION
from proxystore.proxy._base import IMPLEMENTATION_ENV
from proxystore.proxy._locker import ProxyLocker
from proxystore.proxy._proxy import DefaultClassType
from proxystore.proxy._proxy import DefaultHashType
from proxystore.proxy._proxy import FactoryType
from proxystore.proxy._proxy import Proxy

# Unpickling a proxy calls proxystore.proxy._proxy_trampoline.
from proxystore.proxy._proxy import _proxy_trampoline  # noqa: F401
from proxystore.proxy._resolution import ProxyResolveError

__all__ = [
    'IMPLEMENTATION',
    'IMPLEMENTATION_ENV',
    'DefaultClassType',
    'DefaultHashType',
    'FactoryType',
    'Proxy',
    'ProxyLocker',
    'ProxyOr',
    'ProxyResolveError',
    'extract',
    'get_factory',
    'is_resolved',
    'resolve',
]

T = TypeVar('T')

ProxyResolveError.__module__ = __name__

if TYPE_CHECKING:
    from typing import TypeAlias

    ProxyOr: TypeAlias = Union[Proxy[T], T]  # noqa: UP007
    """A value that is either a `Proxy` of ``T`` or a ``T`` itself."""


def __getattr__(name: str) -> Any:
    # ProxyOr is built on first use: on Python < 3.12 its TypeAliasType comes from
    # typing_extensions, whose import would triple the cost of importing this module.
    if name == 'ProxyOr':
        if sys.version_info >= (3, 12):  # pragma: no cover - version dependent
            from typing import TypeAliasType
        else:
            from typing_extensions import TypeAliasType

        # The alias records the calling module (this one) as its __module__.
        alias = TypeAliasType(  # type: ignore[misc]
            'ProxyOr',
            Union[Proxy[T], T],  # noqa: UP007
            type_params=(T,),  # type: ignore[arg-type]
        )
        globals()['ProxyOr'] = alias
        return alias
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def _check(proxy: object, function: str) -> None:
    if not isinstance(proxy, Proxy):
        raise TypeError(
            f'{function}() expects a Proxy, not {type(proxy).__name__!r}.',
        )


def get_factory(proxy: Proxy[T]) -> FactoryType[T]:
    """Return the factory of a proxy, without resolving it.

    Raises:
        TypeError: If ``proxy`` is not a `Proxy`.
    """
    _check(proxy, 'get_factory')
    return proxy.__proxy_factory__


def extract(proxy: Proxy[T]) -> T:
    """Return the target of a proxy, resolving it if needed.

    Raises:
        TypeError: If ``proxy`` is not a `Proxy`.
        ProxyResolveError: If the proxy's factory fails.
    """
    _check(proxy, 'extract')
    return proxy.__proxy_wrapped__


def is_resolved(proxy: Proxy[T]) -> bool:
    """Return whether the proxy's target has been resolved.

    Raises:
        TypeError: If ``proxy`` is not a `Proxy`.
    """
    _check(proxy, 'is_resolved')
    return proxy.__proxy_resolved__


def resolve(proxy: Proxy[T]) -> None:
    """Resolve the proxy's target now, if not already resolved.

    Raises:
        TypeError: If ``proxy`` is not a `Proxy`.
        ProxyResolveError: If the proxy's factory fails.
    """
    _check(proxy, 'resolve')
    proxy.__proxy_wrapped__  # noqa: B018
