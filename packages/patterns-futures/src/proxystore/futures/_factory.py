"""The factory of a future's result: waits for it, or raises the producer's error."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from proxystore.futures._errors import FutureTimeoutError
from proxystore.futures._outcome import Failure
from proxystore.futures._outcome import raise_failure
from proxystore.futures._waiting import MISSING
from proxystore.futures._waiting import Polling
from proxystore.futures._waiting import wait_for
from proxystore.store.factory import PollingStoreFactory
from proxystore.store.factory import StoreFactory
from proxystore.store.types import ConnectorT

__all__ = ['FutureFactory']

T = TypeVar('T')


class FutureFactory(PollingStoreFactory[ConnectorT, T]):
    """Factory of a future's result, for `Future` and its proxies.

    A `proxystore.store.factory.PollingStoreFactory` (same arguments, same
    attributes) that waits better and fails better:

    - on a connector that can notify (a
      `proxystore.connectors.protocols.WaitableConnector`, such as Redis) it
      blocks until the result is stored instead of polling; on others it polls
      with the given interval, backoff factor and limit;
    - when the producer called `Future.set_exception`, resolving raises that
      exception (a proxy raises `proxystore.proxy.ProxyResolveError` caused by
      it);
    - when ``polling_timeout`` passes, it raises `FutureTimeoutError`.

    Args:
        key: Key of the result in the store's connector.
        store_config: Config of the store.
        deserializer: Custom deserializer of the result.
        evict: Evict the result from the store once resolved.
        polling_interval: Seconds between the first polls.
        polling_backoff_factor: Multiplier of the interval after each poll.
        polling_interval_limit: Largest interval, in seconds.
        polling_timeout: Give up after this many seconds (``None``: never).

    Raises:
        ValueError: If an interval, factor or timeout is not positive.
    """

    @classmethod
    def from_polling_factory(
        cls,
        factory: PollingStoreFactory[ConnectorT, T],
    ) -> FutureFactory[ConnectorT, T]:
        """The same factory (key, store, settings) as a `FutureFactory`."""
        if isinstance(factory, cls):
            return factory
        if not isinstance(factory, PollingStoreFactory):
            raise TypeError(
                'A Future needs a PollingStoreFactory (see Future.from_store), '
                f'not {type(factory).__name__}.',
            )
        new: FutureFactory[ConnectorT, T] = cls.__new__(cls)
        new.__dict__.update(factory.__dict__)
        return new

    def resolve(self) -> T:
        """Wait for the result (up to ``polling_timeout``) and return it.

        Raises:
            FutureTimeoutError: If ``polling_timeout`` passes first.
            BaseException: The producer's exception, if it set one.
        """
        return self.resolve_within(self.polling_timeout)

    def resolve_within(self, timeout: float | None) -> T:
        """Wait for the result up to ``timeout`` seconds and return it.

        Raises:
            FutureTimeoutError: If ``timeout`` passes first.
            BaseException: The producer's exception, if it set one.
        """
        outcome = self.outcome(timeout)
        if isinstance(outcome, Failure):
            raise_failure(outcome)
        return outcome  # type: ignore[no-any-return]

    def outcome(self, timeout: float | None) -> Any:
        """The result, or the `Failure` set by the producer, once stored.

        Raises:
            FutureTimeoutError: If ``timeout`` passes first.
        """
        start = time.perf_counter_ns()
        store = self.get_store()
        key = self.key

        def fetch() -> Any:
            return store.get(key, deserializer=self.deserializer, default=MISSING)

        def timed_out(waited: float) -> FutureTimeoutError:
            return FutureTimeoutError(key, type(store), store.name, waited)

        outcome = wait_for(
            fetch,
            store.connector,
            key,
            timeout=timeout,
            polling=Polling(
                self.polling_interval,
                self.polling_backoff_factor,
                self.polling_interval_limit,
            ),
            timed_out=timed_out,
        )
        if self.evict:
            store.evict(key)
        if store.metrics is not None:
            elapsed_ms = (time.perf_counter_ns() - start) / 1e6
            store.metrics.add_time('factory.polling_resolve', key, elapsed_ms)
        return outcome

    def __reduce__(self) -> tuple[Any, ...]:
        # The store factory's compact form (bare key fields, the config blob),
        # plus the four polling settings: no attribute dictionary on the wire.
        rebuild, args = StoreFactory.__reduce__(self)
        polling = (
            self.polling_interval,
            self.polling_backoff_factor,
            self.polling_interval_limit,
            self.polling_timeout,
        )
        return (_rebuild, (rebuild, args, polling))


def _rebuild(
    rebuild: Callable[..., StoreFactory[Any, Any]],
    args: tuple[Any, ...],
    polling: tuple[float, float, float | None, float | None],
) -> FutureFactory[Any, Any]:
    base = rebuild(*args)
    factory: FutureFactory[Any, Any] = FutureFactory.__new__(FutureFactory)
    factory.__dict__.update(base.__dict__)
    (
        factory.polling_interval,
        factory.polling_backoff_factor,
        factory.polling_interval_limit,
        factory.polling_timeout,
    ) = polling
    return factory
