"""Pure-Python base of `proxystore.proxy.Proxy`.

Same contract as the C accelerator in ``_cproxy.c`` and the same test suite: the
protocols forwarded here are exactly the slots forwarded there. It is used when the
accelerator is not built (no C compiler) or when ``PROXYSTORE_PROXY_IMPL=python``.
"""

from __future__ import annotations

import contextlib
import operator
import sys
import threading
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from proxystore.proxy import _resolution
from proxystore.proxy._names import owns

__all__ = ['ProxyBase']


class ProxyBase:
    """Forwards every protocol to the target, resolving it on first use."""

    __slots__ = (
        '__proxy_default_class__',
        '__proxy_default_hash__',
        '__proxy_factory__',
        '__proxy_hooked__',
        '__proxy_owner__',
        '__proxy_target__',
        '__proxy_waiting__',
        '__weakref__',
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> ProxyBase:
        self = super().__new__(cls)
        # A subclass that overrides __proxy_wrapped__ sees every use through it.
        hooked = cls.__proxy_wrapped__ is not ProxyBase.__proxy_wrapped__
        _slot('__proxy_hooked__').__set__(self, hooked)
        return self

    def __init__(
        self,
        factory: Callable[[], Any],
        *,
        cache_defaults: bool = False,
        target: Any = None,
    ) -> None:
        if not callable(factory):
            raise TypeError('Factory must be callable.')
        default_class: Any = None
        default_hash: Any = None
        if target is not None and cache_defaults:
            default_class = target.__class__
            try:
                default_hash = hash(target)
            except TypeError as e:
                # Without its traceback: the frames would hold this proxy in a
                # cycle, delaying its release (and finalizers) until a GC pass.
                default_hash = e.with_traceback(None)
        _set_factory(self, factory)
        _set_default_class(self, default_class)
        _set_default_hash(self, default_hash)
        _set_owner(self, None)
        _set_waiting(self, None)
        if target is not None:
            _set_target(self, target)
        else:
            _clear_target(self)

    # --- resolution state -------------------------------------------------

    @property
    def __proxy_wrapped__(self) -> Any:
        return _resolved(self)

    @__proxy_wrapped__.setter
    def __proxy_wrapped__(self, value: Any) -> None:
        _set_target(self, value)

    @__proxy_wrapped__.deleter
    def __proxy_wrapped__(self) -> None:
        _slot('__proxy_target__').__delete__(self)

    @property
    def __proxy_resolved__(self) -> bool:
        try:
            _get_target(self)
        except AttributeError:
            return False
        return True

    @property
    def __class__(self) -> type:
        try:
            _get_target(self)
        except AttributeError:
            default = _get_default(_get_default_class, self)
            if default is not None:
                return default  # type: ignore[no-any-return]
        return _target(self).__class__  # type: ignore[no-any-return]

    @__class__.setter
    def __class__(self, value: type) -> None:
        _target(self).__class__ = value

    # --- attributes -------------------------------------------------------

    def __getattribute__(self, name: str) -> Any:
        if owns(type(self), name):
            return object.__getattribute__(self, name)
        return getattr(_target(self), name)

    # --- object protocol --------------------------------------------------

    def __str__(self) -> str:
        return str(_target(self))

    def __hash__(self) -> int:
        try:
            _get_target(self)
        except AttributeError:
            default = _get_default(_get_default_hash, self)
            if isinstance(default, BaseException):
                # A fresh traceback each time, or it would grow on every call.
                raise default.with_traceback(None) from None
            if default is not None:
                return default  # type: ignore[no-any-return]
        return hash(_target(self))

    def __eq__(self, other: object) -> Any:
        return _target(self) == other

    def __ne__(self, other: object) -> Any:
        return _target(self) != other

    def __lt__(self, other: Any) -> Any:
        return _target(self) < other

    def __le__(self, other: Any) -> Any:
        return _target(self) <= other

    def __gt__(self, other: Any) -> Any:
        return _target(self) > other

    def __ge__(self, other: Any) -> Any:
        return _target(self) >= other

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _target(self)(*args, **kwargs)

    def __iter__(self) -> Iterator[Any]:
        return iter(_target(self))

    def __next__(self) -> Any:
        return next(_target(self))

    def __bool__(self) -> bool:
        return bool(_target(self))

    def __int__(self) -> int:
        return int(_target(self))

    def __float__(self) -> float:
        return float(_target(self))

    def __index__(self) -> int:
        return operator.index(_target(self))

    # --- containers -------------------------------------------------------

    def __len__(self) -> int:
        return len(_target(self))

    def __getitem__(self, key: Any) -> Any:
        return _target(self)[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        _target(self)[key] = value

    def __delitem__(self, key: Any) -> None:
        del _target(self)[key]

    def __contains__(self, value: object) -> bool:
        return value in _target(self)

    if sys.version_info >= (3, 12):  # pragma: no cover - exercised on 3.12+

        def __buffer__(self, flags: int) -> memoryview:
            target = _target(self)
            try:
                export = type(target).__buffer__
            except AttributeError:
                raise TypeError(
                    f"a bytes-like object is required, not '{type(target).__name__}'",
                ) from None
            return export(target, flags)  # type: ignore[no-any-return]

    # --- numbers ----------------------------------------------------------

    def __neg__(self) -> Any:
        return -_target(self)

    def __pos__(self) -> Any:
        return +_target(self)

    def __abs__(self) -> Any:
        return abs(_target(self))

    def __invert__(self) -> Any:
        return ~_target(self)

    def __add__(self, other: Any) -> Any:
        return _target(self) + other

    def __radd__(self, other: Any) -> Any:
        return other + _target(self)

    def __sub__(self, other: Any) -> Any:
        return _target(self) - other

    def __rsub__(self, other: Any) -> Any:
        return other - _target(self)

    def __mul__(self, other: Any) -> Any:
        return _target(self) * other

    def __rmul__(self, other: Any) -> Any:
        return other * _target(self)

    def __matmul__(self, other: Any) -> Any:
        return _target(self) @ other

    def __rmatmul__(self, other: Any) -> Any:
        return other @ _target(self)

    def __truediv__(self, other: Any) -> Any:
        return _target(self) / other

    def __rtruediv__(self, other: Any) -> Any:
        return other / _target(self)

    def __floordiv__(self, other: Any) -> Any:
        return _target(self) // other

    def __rfloordiv__(self, other: Any) -> Any:
        return other // _target(self)

    def __mod__(self, other: Any) -> Any:
        return _target(self) % other

    def __rmod__(self, other: Any) -> Any:
        return other % _target(self)

    def __divmod__(self, other: Any) -> Any:
        return divmod(_target(self), other)

    def __rdivmod__(self, other: Any) -> Any:
        return divmod(other, _target(self))

    def __pow__(self, other: Any, modulo: Any = None) -> Any:
        if modulo is None:
            return pow(_target(self), other)
        return pow(_target(self), other, modulo)

    def __rpow__(self, other: Any, modulo: Any = None) -> Any:
        if modulo is None:
            return pow(other, _target(self))
        return pow(other, _target(self), modulo)

    def __lshift__(self, other: Any) -> Any:
        return _target(self) << other

    def __rlshift__(self, other: Any) -> Any:
        return other << _target(self)

    def __rshift__(self, other: Any) -> Any:
        return _target(self) >> other

    def __rrshift__(self, other: Any) -> Any:
        return other >> _target(self)

    def __and__(self, other: Any) -> Any:
        return _target(self) & other

    def __rand__(self, other: Any) -> Any:
        return other & _target(self)

    def __xor__(self, other: Any) -> Any:
        return _target(self) ^ other

    def __rxor__(self, other: Any) -> Any:
        return other ^ _target(self)

    def __or__(self, other: Any) -> Any:
        return _target(self) | other

    def __ror__(self, other: Any) -> Any:
        return other | _target(self)

    # In place: the result becomes the new target and the proxy itself is
    # returned, so `p += 1` keeps `p` a proxy.

    def __iadd__(self, other: Any) -> Any:
        target = _target(self)
        target += other
        _set_target(self, target)
        return self

    def __isub__(self, other: Any) -> Any:
        target = _target(self)
        target -= other
        _set_target(self, target)
        return self

    def __imul__(self, other: Any) -> Any:
        target = _target(self)
        target *= other
        _set_target(self, target)
        return self

    def __imatmul__(self, other: Any) -> Any:
        target = _target(self)
        target @= other
        _set_target(self, target)
        return self

    def __itruediv__(self, other: Any) -> Any:
        target = _target(self)
        target /= other
        _set_target(self, target)
        return self

    def __ifloordiv__(self, other: Any) -> Any:
        target = _target(self)
        target //= other
        _set_target(self, target)
        return self

    def __imod__(self, other: Any) -> Any:
        target = _target(self)
        target %= other
        _set_target(self, target)
        return self

    def __ipow__(self, other: Any) -> Any:  # type: ignore[misc]
        target = _target(self)
        target **= other
        _set_target(self, target)
        return self

    def __ilshift__(self, other: Any) -> Any:
        target = _target(self)
        target <<= other
        _set_target(self, target)
        return self

    def __irshift__(self, other: Any) -> Any:
        target = _target(self)
        target >>= other
        _set_target(self, target)
        return self

    def __iand__(self, other: Any) -> Any:
        target = _target(self)
        target &= other
        _set_target(self, target)
        return self

    def __ixor__(self, other: Any) -> Any:
        target = _target(self)
        target ^= other
        _set_target(self, target)
        return self

    def __ior__(self, other: Any) -> Any:
        target = _target(self)
        target |= other
        _set_target(self, target)
        return self


def _slot(name: str) -> Any:
    return ProxyBase.__dict__[name]


_get_target = _slot('__proxy_target__').__get__
_set_target = _slot('__proxy_target__').__set__
_set_factory = _slot('__proxy_factory__').__set__
_get_default_class = _slot('__proxy_default_class__').__get__
_set_default_class = _slot('__proxy_default_class__').__set__
_get_default_hash = _slot('__proxy_default_hash__').__get__
_set_default_hash = _slot('__proxy_default_hash__').__set__
_get_factory = _slot('__proxy_factory__').__get__
_get_hooked = _slot('__proxy_hooked__').__get__
_set_owner = _slot('__proxy_owner__').__set__
_set_waiting = _slot('__proxy_waiting__').__set__


def _clear_target(proxy: ProxyBase) -> None:
    with contextlib.suppress(AttributeError):  # already unset
        _slot('__proxy_target__').__delete__(proxy)


def _get_default(getter: Callable[[Any], Any], proxy: ProxyBase) -> Any:
    try:
        return getter(proxy)
    except AttributeError:  # an uninitialised proxy has no defaults
        return None


def _get_or_none(name: str, proxy: ProxyBase) -> Any:
    try:
        return _slot(name).__get__(proxy)
    except AttributeError:  # an uninitialised proxy
        return None


def _resolved(proxy: ProxyBase) -> Any:
    try:
        return _get_target(proxy)
    except AttributeError:
        return _resolve(proxy)


def _target(proxy: ProxyBase) -> Any:
    """What every forwarding method uses (through an override, if any)."""
    try:
        if not _get_hooked(proxy):
            return _get_target(proxy)
    except AttributeError:  # unresolved, or never initialised
        return _resolved(proxy)
    return proxy.__proxy_wrapped__


# The single-flight protocol of _resolution.py, made atomic by its LOCK (the C
# base relies on the GIL instead). The owner is recorded as (generation, thread).


def _resolve(proxy: ProxyBase) -> Any:
    me = (_resolution.generation(), threading.get_ident())
    while True:  # repeats only after an owner was interrupted (see _cproxy.c)
        with _resolution.LOCK:
            try:
                return _get_target(proxy)
            except AttributeError:
                pass
            owner = _get_or_none('__proxy_owner__', proxy)
            if owner is not None and owner[0] != me[0]:
                owner = None  # a thread of the parent process, before a fork
            if owner is None:
                _set_owner(proxy, me)
                flight = None
            elif owner == me:
                raise _resolution.recursion_error()
            else:
                flight = _get_or_none('__proxy_waiting__', proxy)
                if flight is None:
                    flight = _resolution.Flight()
                    _set_waiting(proxy, flight)
        if flight is None:
            return _run_factory(proxy)
        error = _resolution.wait(flight)
        if error is not None:
            raise _resolution.waiter_error(error)


def _run_factory(proxy: ProxyBase) -> Any:
    try:
        factory = _get_factory(proxy)
    except AttributeError:
        error = _resolution.uninitialized_error()
        _finish(proxy, error)
        raise error from error.cause
    try:
        target = factory()
    except Exception as e:
        error = _resolution.factory_error(e)
        _finish(proxy, error)
        raise error from e
    except BaseException:
        _finish(proxy, None)
        raise
    _finish(proxy, None, (target,))
    return target


def _finish(
    proxy: ProxyBase,
    error: _resolution.ProxyResolveError | None,
    target: tuple[Any] | None = None,
) -> None:
    with _resolution.LOCK:
        if target is not None:
            _set_target(proxy, target[0])
        _set_owner(proxy, None)
        flight = _get_or_none('__proxy_waiting__', proxy)
        _set_waiting(proxy, None)
    if flight is not None:
        _resolution.end(flight, error)
