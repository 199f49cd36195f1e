"""Waiting for an object that does not exist yet: woken by the channel, or polling.

A connector that can notify (a `WaitableConnector`: Redis publishes on every
deferred set, the local connector signals a condition) is asked to `wait`, so a
consumer wakes as soon as the producer stores the result, whatever the polling
settings. Any other connector is polled: an interval that grows by a factor
after each poll, up to a limit, as ProxyStore 1.x's polling factory does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from proxystore.connectors.protocols import WaitableConnector

__all__ = ['MISSING', 'Polling', 'wait_for']

MISSING: Any = object()
"""What a fetch returns while there is no object."""


class Polling:
    """How often to look for an object on a connector that cannot notify.

    Args:
        interval: Seconds before the second look.
        backoff_factor: Multiplier of the interval after each look.
        interval_limit: Largest interval (``None``: no limit).
    """

    __slots__ = ('backoff_factor', 'interval', 'interval_limit')

    def __init__(
        self,
        interval: float,
        backoff_factor: float,
        interval_limit: float | None,
    ) -> None:
        self.interval = interval
        self.backoff_factor = backoff_factor
        self.interval_limit = interval_limit

    def intervals(self) -> Any:
        """The successive sleeps between looks (an endless generator)."""
        interval = self.interval
        while True:
            yield interval
            interval *= self.backoff_factor
            if self.interval_limit is not None:
                interval = min(interval, self.interval_limit)


def wait_for(
    fetch: Callable[[], Any],
    connector: object,
    key: Any,
    *,
    timeout: float | None,
    polling: Polling,
    timed_out: Callable[[float], BaseException],
) -> Any:
    """Fetch an object, waiting until it exists.

    Args:
        fetch: Returns the object, or `MISSING` while there is none.
        connector: The store's connector (waited on if it can notify).
        key: Key of the object in the connector.
        timeout: Most seconds to wait (``None``: no limit).
        polling: Polling settings, used when the connector cannot notify.
        timed_out: Makes the error raised when ``timeout`` passes (given it).

    Returns:
        What ``fetch`` returned once it was not `MISSING`.

    Raises:
        BaseException: ``timed_out(timeout)`` when the timeout passes.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    waiter = connector if isinstance(connector, WaitableConnector) else None
    sleeps = polling.intervals()
    while True:
        obj = fetch()
        if obj is not MISSING:
            return obj
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            assert timeout is not None
            raise timed_out(timeout)
        if waiter is not None:
            # Returns when the object is stored or the time is up; the loop then
            # fetches it (or finds it gone again: evicted by another consumer).
            waiter.wait(key, remaining)
        else:
            sleep = next(sleeps)
            time.sleep(sleep if remaining is None else min(sleep, remaining))
