"""The `Proxy` class: a transparent, lazy reference to a target object."""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Generator
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.proxy._base import ProxyBase
from proxystore.proxy._names import owns

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = [
    'DefaultClassType',
    'DefaultHashType',
    'FactoryType',
    'Proxy',
    '_proxy_trampoline',
]

T = TypeVar('T')

FactoryType: TypeAlias = Callable[[], T]
"""A callable without arguments that returns the target of a proxy."""
DefaultClassType: TypeAlias = type | None
"""The class an unresolved proxy reports, if cached."""
DefaultHashType: TypeAlias = Exception | int | None
"""The hash an unresolved proxy reports (or the error to raise), if cached."""

_CO_ITERABLE_COROUTINE = 0x0100
_UNHASHABLE = -1  # hash() never returns -1, so it marks an unhashable target


class Proxy(ProxyBase, Generic[T]):
    """A transparent, lazy reference to a target object.

    The proxy is created from a *factory*, a callable without arguments that
    returns the *target*. The factory is not called until the proxy is first used
    (*resolved*); from then on every operation on the proxy (attributes,
    operators, containers, iteration, calls, comparisons, hashing, the buffer
    protocol, ``isinstance``) is forwarded to the target, so code that receives
    the proxy cannot tell it from the target. ``isinstance(p, Proxy)`` and
    ``repr(p)`` never resolve the proxy.

    Resolution is thread-safe: however many threads touch an unresolved proxy at
    once, the factory runs exactly once. If the factory raises, the access raises
    `ProxyResolveError` (the original exception is its ``cause``) and the proxy
    stays unresolved, so a later access tries again.

    Pickling a proxy pickles only its factory (and the cached defaults), never the
    target: the receiver gets an unresolved proxy. `copy.copy` and
    `copy.deepcopy` return a copy of the target.

    Example:
        ```python
        import numpy
        from proxystore.proxy import Proxy

        x = numpy.array([1, 2, 3])
        p = Proxy(lambda: x)
        assert isinstance(p, Proxy) and isinstance(p, numpy.ndarray)
        assert numpy.sum(p) == 6
        ```

    Args:
        factory: Callable without arguments that returns the target.
        cache_defaults: With ``target``, remember the target's class and hash so
            that ``isinstance`` and ``hash`` keep answering without resolving once
            the proxy is pickled and unpickled elsewhere.
        target: The target, if already at hand: the proxy starts resolved.

    Raises:
        TypeError: If ``factory`` is not callable.
    """

    __slots__ = ()
    __module__ = 'proxystore.proxy'

    if TYPE_CHECKING:
        __proxy_factory__: FactoryType[T]
        __proxy_default_class__: DefaultClassType
        __proxy_default_hash__: DefaultHashType

        def __init__(
            self,
            factory: FactoryType[T],
            *,
            cache_defaults: bool = False,
            target: T | None = None,
        ) -> None: ...

        @property
        def __proxy_wrapped__(self) -> T: ...

        @__proxy_wrapped__.setter
        def __proxy_wrapped__(self, value: T) -> None: ...

        @__proxy_wrapped__.deleter
        def __proxy_wrapped__(self) -> None: ...

    # --- never resolves ---------------------------------------------------

    def __repr__(self) -> str:
        name = type(self).__name__
        try:
            factory = repr(self.__proxy_factory__)
        except AttributeError:
            return f'<{name} at {id(self):#x} (uninitialized)>'
        if not self.__proxy_resolved__:
            return f'<{name} at {id(self):#x} with factory {factory}>'
        target = self.__proxy_wrapped__
        return (
            f'<{name} at {id(self):#x} wrapping {target!r} at {id(target):#x} '
            f'with factory {factory}>'
        )

    def __reduce__(self) -> tuple[Any, ...]:
        try:
            factory = self.__proxy_factory__
        except AttributeError:
            raise TypeError(
                'Cannot pickle an uninitialized proxy: it has no factory.',
            ) from None
        default_hash = self.__proxy_default_hash__
        if type(default_hash) is TypeError:
            # The usual "unhashable type" error travels as -1, which hash() never
            # returns, and is rebuilt from the default class: fewer bytes.
            default_hash = _UNHASHABLE
        return (
            _proxy_trampoline,
            (factory, self.__proxy_default_class__, default_hash),
        )

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return self.__reduce__()

    def __dask_tokenize__(self) -> tuple[str, Any]:
        # Dask tokenizes the arguments of every submitted task. Looked up on the
        # target, this name would resolve the proxy in the client (or block it on
        # a future that is not set yet). A factory that knows its target's
        # identity (a store key) gives a deterministic token; any other gets a
        # fresh one, which only costs Dask a chance to deduplicate.
        factory = self.__proxy_factory__
        token = getattr(type(factory), '__dask_tokenize__', None)
        if token is not None:
            return ('proxystore.proxy', token(factory))
        return ('proxystore.proxy', os.urandom(16).hex())

    @property
    def __dask_future__(self) -> bool:
        # Dask's client also asks getattr(x, '__dask_future__', False) of every
        # submitted argument (after isinstance). An unresolved proxy with a cached
        # class answers from the class (where Dask-like futures declare it), so a
        # proxy of a result that does not exist yet can be submitted.
        if not self.__proxy_resolved__:
            default = self.__proxy_default_class__
            if default is not None:
                return bool(getattr(default, '__dask_future__', False))
        return bool(getattr(self.__proxy_wrapped__, '__dask_future__', False))

    # --- attribute assignment ----------------------------------------------
    # Written here, not in the C base, so that object.__setattr__(proxy, ...)
    # keeps working on proxies (CPython refuses it past a C-level setattro).

    def __setattr__(self, name: str, value: Any) -> None:
        if owns(type(self), name):
            object.__setattr__(self, name, value)
        elif name == '__orig_class__' and not self.__proxy_resolved__:
            # typing's Proxy[T](...) tags the new instance; that must not resolve
            # it. typing ignores this AttributeError.
            raise AttributeError('an unresolved proxy does not store __orig_class__')
        else:
            setattr(self.__proxy_wrapped__, name, value)

    def __delattr__(self, name: str) -> None:
        if owns(type(self), name):
            object.__delattr__(self, name)
        else:
            delattr(self.__proxy_wrapped__, name)

    # --- protocols looked up on the type, forwarded to the target ----------

    def __copy__(self) -> T:
        import copy

        return copy.copy(self.__proxy_wrapped__)

    def __deepcopy__(self, memo: dict[int, Any]) -> T:
        import copy

        return copy.deepcopy(self.__proxy_wrapped__, memo)

    def __format__(self, format_spec: str) -> str:
        return format(_any(self), format_spec)

    def __round__(self, ndigits: int | None = None) -> Any:
        if ndigits is None:
            return round(_any(self))
        return round(_any(self), ndigits)

    def __trunc__(self) -> Any:
        import math

        return math.trunc(_any(self))

    def __floor__(self) -> Any:
        import math

        return math.floor(_any(self))

    def __ceil__(self) -> Any:
        import math

        return math.ceil(_any(self))

    def __complex__(self) -> complex:
        return complex(_any(self))

    def __bytes__(self) -> bytes:
        return bytes(_any(self))

    def __fspath__(self) -> Any:
        return os.fspath(_any(self))

    def __sizeof__(self) -> int:
        return _any(self).__sizeof__()  # type: ignore[no-any-return]

    def __length_hint__(self) -> Any:
        target: Any = self.__proxy_wrapped__
        hint = getattr(type(target), '__length_hint__', None)
        return NotImplemented if hint is None else hint(target)

    def __reversed__(self) -> Any:
        return reversed(_any(self))

    def __dir__(self) -> list[str]:
        return dir(_any(self))

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, _any(self))

    def __subclasscheck__(self, subclass: type) -> bool:
        return issubclass(subclass, _any(self))

    def __enter__(self) -> Any:
        target: Any = self.__proxy_wrapped__
        return _special(target, '__enter__', 'the context manager protocol')(target)

    def __exit__(self, *exc_info: Any) -> Any:
        target: Any = self.__proxy_wrapped__
        exit_ = _special(target, '__exit__', 'the context manager protocol')
        return exit_(target, *exc_info)

    def __aenter__(self) -> Any:
        target: Any = self.__proxy_wrapped__
        protocol = 'the asynchronous context manager protocol'
        return _special(target, '__aenter__', protocol)(target)

    def __aexit__(self, *exc_info: Any) -> Any:
        target: Any = self.__proxy_wrapped__
        protocol = 'the asynchronous context manager protocol'
        return _special(target, '__aexit__', protocol)(target, *exc_info)

    def __aiter__(self) -> Any:
        target: Any = self.__proxy_wrapped__
        return _special(target, '__aiter__', 'asynchronous iteration')(target)

    def __anext__(self) -> Any:
        target: Any = self.__proxy_wrapped__
        return _special(target, '__anext__', 'asynchronous iteration')(target)

    def __await__(self) -> Generator[Any, None, Any]:
        target: Any = self.__proxy_wrapped__
        code = getattr(target, 'gi_code', None)
        if code is not None and code.co_flags & _CO_ITERABLE_COROUTINE:
            # A generator-based coroutine (types.coroutine) awaits by iteration.
            return (yield from target)
        await_ = getattr(type(target), '__await__', None)
        if await_ is None:
            raise TypeError(
                f"object {type(target).__name__} can't be used in 'await' expression",
            )
        return (yield from await_(target))


def _any(proxy: Proxy[Any]) -> Any:
    """The target, typed as ``Any`` for the protocols that check it at run time."""
    return proxy.__proxy_wrapped__


def _special(target: Any, name: str, protocol: str) -> Callable[..., Any]:
    """Look up a special method on the target's type, as the interpreter does."""
    method = getattr(type(target), name, None)
    if method is None:
        raise TypeError(
            f"'{type(target).__name__}' object does not support {protocol}",
        )
    return method  # type: ignore[no-any-return]


def _proxy_trampoline(
    factory: FactoryType[T],
    default_class: DefaultClassType = None,
    default_hash: DefaultHashType = None,
) -> Proxy[T]:
    """Rebuild an unpickled proxy from its factory and cached defaults."""
    if type(default_hash) is int and default_hash == _UNHASHABLE:
        name = getattr(default_class, '__name__', 'object')
        default_hash = TypeError(f"unhashable type: '{name}'")
    proxy = Proxy(factory)
    # Straight to the slots: unpickling many proxies should be cheap.
    object.__setattr__(proxy, '__proxy_default_class__', default_class)
    object.__setattr__(proxy, '__proxy_default_hash__', default_hash)
    return proxy


# Pickles name the public module, so they stay short and independent of this layout.
_proxy_trampoline.__module__ = 'proxystore.proxy'
