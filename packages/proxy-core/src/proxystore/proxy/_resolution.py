"""Single-flight resolution: the parts both proxy implementations share.

However many threads touch an unresolved proxy at once, its factory runs exactly
once. The first thread becomes the *owner* and runs the factory; a thread that
arrives meanwhile registers a `Flight` on the proxy and waits for the owner to
`notify` it of the outcome: the target is then set, or the owner's error is raised
again in the waiter. A failed factory leaves the proxy unresolved, so a later
access tries again.

The owner protocol (who owns, registering waiters) lives next to each proxy base:
in C it is made atomic by the GIL, in the pure-Python base by `LOCK`. Waiting,
notifying and the errors are written once, here.

A resolution in flight when the process forks belongs to a thread that does not
exist in the child; the bases compare the `generation` recorded by the owner with
the current one and start afresh when they differ.
"""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = [
    'LOCK',
    'Flight',
    'ProxyResolveError',
    'end',
    'factory_error',
    'generation',
    'notify',
    'recursion_error',
    'uninitialized_error',
    'wait',
    'waiter_error',
]


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


class Flight:
    """What waiters of one resolution wait on: whether it ended, and its error."""

    __slots__ = ('error', 'finished')

    def __init__(self) -> None:
        self.finished = False
        self.error: ProxyResolveError | None = None


# Held only for a few attribute reads and writes, never while a factory runs.
LOCK = threading.Lock()
_finished = threading.Condition(LOCK)
_generation = 0

# A waiter re-checks its flight this often even without a wake-up, so that an
# owner interrupted between ending a flight and notifying cannot strand it.
_POLL_SECONDS = 0.5


def generation() -> int:
    """How many times this process's lineage has forked (see the module doc)."""
    return _generation


def _after_fork_in_child() -> None:
    global LOCK, _finished, _generation
    # Another thread may have held the lock at fork time; it does not exist here.
    LOCK = threading.Lock()
    _finished = threading.Condition(LOCK)
    _generation += 1


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def wait(flight: Flight) -> ProxyResolveError | None:
    """Block until the owner ends the flight; return its error, if any."""
    with LOCK:
        while not flight.finished:
            _finished.wait(_POLL_SECONDS)
    return flight.error


def notify(flight: Flight) -> None:
    """Wake the waiters of a flight whose outcome is already stored."""
    with LOCK:
        _finished.notify_all()


def end(flight: Flight, error: ProxyResolveError | None) -> None:
    """Store the outcome of a flight, then wake its waiters."""
    flight.error = error
    flight.finished = True
    notify(flight)


def _error(message: str, cause: BaseException) -> ProxyResolveError:
    error = ProxyResolveError(message, cause)
    error.__cause__ = cause
    return error


def factory_error(error: Exception) -> ProxyResolveError:
    """The error raised when a factory raises ``error``."""
    return _error(
        'The factory of this proxy raised an error while resolving the target '
        f'object: {type(error).__name__}: {error}',
        error,
    )


def uninitialized_error() -> ProxyResolveError:
    """The error raised when a proxy has no factory (``__init__`` never ran)."""
    return _error(
        'Proxy is not initialized: __proxy_factory__ is missing.',
        AttributeError('__proxy_factory__'),
    )


def recursion_error() -> ProxyResolveError:
    """The error raised when a factory touches the proxy it is resolving."""
    return _error(
        'The factory of this proxy accessed the proxy itself while resolving it.',
        RecursionError('recursive proxy resolution'),
    )


def waiter_error(error: ProxyResolveError) -> ProxyResolveError:
    """A fresh copy of the owner's error, to raise in a waiting thread."""
    return _error(error.message, error.cause)
