"""Single-flight resolution of a proxy's target.

Both proxy implementations (the C accelerator and the pure-Python base) keep the
fast path, "the target is already set", to themselves and call the resolver built
here only when the target is missing. The resolver guarantees that however many
threads touch an unresolved proxy at once, its factory runs exactly once: the first
thread runs it, the others wait for its outcome and share it, result or error.

A failed factory leaves the proxy unresolved, so a later access tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from typing import Protocol

__all__ = ['ProxyResolveError', 'make_resolver']


class ProxyResolveError(Exception):
    """The target of a proxy could not be resolved.

    Raised when the proxy's factory raises (the original exception is the
    ``cause`` and the ``__cause__``) or when the proxy was never initialised.

    Args:
        message: What went wrong.
        cause: The exception that made the resolution fail.
    """

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.cause))


class _SlotDescriptor(Protocol):
    """A ``__slots__`` or ``PyMemberDef`` descriptor: get, set and delete."""

    def __get__(self, instance: Any, owner: Any = None) -> Any: ...

    def __set__(self, instance: Any, value: Any) -> None: ...

    def __delete__(self, instance: Any) -> None: ...


class _Flight:
    """One resolution in progress: who runs the factory, who waits, how it ended."""

    __slots__ = ('error', 'finished', 'owner', 'waiters')

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.waiters = 0
        self.finished = False
        self.error: Exception | None = None


# One lock for the bookkeeping of every proxy: it is held only for a few attribute
# reads and writes, never while a factory runs, so it is never contended for long.
# Waiters sleep on the condition and re-check their own flight when woken.
_lock = threading.Lock()
_finished = threading.Condition(_lock)


def _factory_error(error: Exception) -> ProxyResolveError:
    return ProxyResolveError(
        f'The factory of this proxy raised an error: {type(error).__name__}: {error}',
        cause=error,
    )


def make_resolver(
    factory_slot: _SlotDescriptor,
    target_slot: _SlotDescriptor,
    flight_slot: _SlotDescriptor,
) -> Callable[[Any], Any]:
    """Build the slow-path resolver for one proxy implementation.

    Args:
        factory_slot: Descriptor of the slot holding the factory.
        target_slot: Descriptor of the slot holding the target (unset while
            unresolved).
        flight_slot: Descriptor of the private slot holding the resolution in
            progress, or ``None``.

    Returns:
        A function that takes an unresolved proxy, resolves it and returns its
        target; it raises `ProxyResolveError` when the factory fails.
    """
    get_target = target_slot.__get__
    set_target = target_slot.__set__
    set_flight = flight_slot.__set__

    def get_flight(proxy: Any) -> _Flight | None:
        try:
            return flight_slot.__get__(proxy)  # type: ignore[no-any-return]
        except AttributeError:  # never initialised
            return None

    def resolve(proxy: Any) -> Any:
        me = threading.get_ident()
        with _lock:
            try:
                return get_target(proxy)
            except AttributeError:
                pass
            flight: _Flight | None = get_flight(proxy)
            if flight is None:
                flight = _Flight(me)
                set_flight(proxy, flight)
            elif flight.owner == me:
                raise ProxyResolveError(
                    'The factory of this proxy accessed the proxy itself while '
                    'resolving it.',
                    cause=RecursionError('recursive proxy resolution'),
                )
            else:
                flight.waiters += 1
                while not flight.finished:
                    _finished.wait()
                if flight.error is not None:
                    raise _factory_error(flight.error) from flight.error
                try:
                    return get_target(proxy)
                except AttributeError:
                    # The owner was interrupted (KeyboardInterrupt, SystemExit) or
                    # the target was deleted at once: this thread resolves anew.
                    flight = None
        if flight is None:
            return resolve(proxy)
        return _run_factory(proxy, flight)

    def _run_factory(proxy: Any, flight: _Flight) -> Any:
        try:
            factory = factory_slot.__get__(proxy)
        except AttributeError as e:
            _finish(proxy, flight, error=e)
            raise ProxyResolveError(
                'Proxy is not initialized: __proxy_factory__ is missing.',
                cause=e,
            ) from e
        try:
            target = factory()
        except Exception as e:
            _finish(proxy, flight, error=e)
            raise _factory_error(e) from e
        except BaseException:
            _finish(proxy, flight)
            raise
        _finish(proxy, flight, target=(target,))
        return target

    def _finish(
        proxy: Any,
        flight: _Flight,
        *,
        error: Exception | None = None,
        target: tuple[Any] | None = None,
    ) -> None:
        with _lock:
            if target is not None:
                set_target(proxy, target[0])
            flight.error = error
            flight.finished = True
            if get_flight(proxy) is flight:
                set_flight(proxy, None)
            if flight.waiters:
                _finished.notify_all()

    return resolve
