"""Task functions for tests of futures: importable by any worker process.

Producers set a future's result or exception; consumers use a proxy or wait
explicitly, and report what they saw as plain data, so that the test process
can assert on it whatever engine ran the task.
"""

from __future__ import annotations

import os
import time
from typing import Any

from proxystore.futures import Future
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import is_resolved

__all__ = [
    'consume_after_signal',
    'describe_error',
    'fail',
    'produce',
    'result_with_timeout',
    'signal_then_timed_result',
    'timed_result',
]


def produce(future: Future[Any], value: Any) -> int:
    """Set the future's result; return the producer's process id."""
    future.set_result(value)
    return os.getpid()


def _raise_in_producer(message: str) -> None:
    raise ValueError(message)


def fail(future: Future[Any], message: str) -> int:
    """Raise a ValueError here and set it as the future's exception."""
    try:
        _raise_in_producer(message)
    except ValueError as e:
        future.set_exception(e)
    return os.getpid()


def consume_after_signal(data: Proxy[Any], started: Future[Any]) -> dict[str, Any]:
    """Signal that the task runs, then use the proxied data.

    The test sets ``data`` only after ``started`` is set, so the work done here
    before the first touch (the signal, the checks) happened before the data
    existed.
    """
    import numpy

    unresolved_at_start = not is_resolved(data)
    started.set_result(os.getpid())
    total = float(numpy.sum(data))  # the first touch: waits for the producer
    return {
        'pid': os.getpid(),
        'unresolved_at_start': unresolved_at_start,
        'total': total,
    }


def result_with_timeout(future: Future[Any], timeout: float | None) -> Any:
    """Wait explicitly for the result."""
    return future.result(timeout=timeout)


def timed_result(future: Future[Any], timeout: float) -> tuple[Any, float]:
    """The result and the wall-clock time (``time.time()``) when it arrived."""
    result = future.result(timeout=timeout)
    return result, time.time()


def signal_then_timed_result(
    started: Future[Any],
    future: Future[Any],
    timeout: float,
) -> tuple[Any, float]:
    """Signal that the task runs, then `timed_result` of ``future``."""
    started.set_result(os.getpid())
    return timed_result(future, timeout)


def describe_error(
    future: Future[Any],
    via: str,
    timeout: float | None = None,
) -> dict[str, Any]:
    """What a consumer catches, as data: ``via`` is 'result' or 'proxy'."""
    try:
        if via == 'result':
            future.result(timeout=timeout)
        else:
            len(future.proxy())
    except ProxyResolveError as e:
        cause = e.__cause__
        return {
            'caught': type(e).__name__,
            'cause': type(cause).__name__,
            'cause_is_timeout': isinstance(cause, TimeoutError),
            'message': str(cause),
            'notes': list(getattr(cause, '__notes__', [])),
        }
    except Exception as e:
        return {
            'caught': type(e).__name__,
            'is_timeout': isinstance(e, TimeoutError),
            'message': str(e),
            'notes': list(getattr(e, '__notes__', [])),
        }
    return {'caught': None}
