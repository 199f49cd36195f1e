"""`Future`: a result that a producer will store and consumers wait for."""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.connectors.protocols import DeferrableConnector
from proxystore.futures._errors import FutureTimeoutError
from proxystore.futures._factory import FutureFactory
from proxystore.futures._outcome import Failure
from proxystore.futures._outcome import raise_failure
from proxystore.futures._outcome import write_failure
from proxystore.proxy import Proxy
from proxystore.store.factory import PollingStoreFactory
from proxystore.store.timer import Timer
from proxystore.store.types import DeserializerT
from proxystore.store.types import SerializerT

if TYPE_CHECKING:
    from proxystore.store import Store

__all__ = ['Future']

T = TypeVar('T')
_UNKNOWN: Any = object()

# Every future of the process: a forked child gives each new locks. A thread of
# the parent may have held one when another thread forked: the waiting lock is
# held for a whole wait (forever, without a timeout), the setting lock while
# the result is stored.
_futures: weakref.WeakSet[Future[Any]] = weakref.WeakSet()


def _renew_locks_in_child() -> None:
    for future in list(_futures):
        future._lock = threading.Lock()
        future._setting = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_locks_in_child)


class Future(Generic[T]):
    """A result that does not exist yet, stored where consumers can wait for it.

    A future names a key of a store before its object exists. A *producer* (any
    process that has the future: it pickles to a few hundred bytes) stores the
    result with `set_result`, or its failure with `set_exception`. *Consumers*
    wait with `result`, or take a `proxy` of the result: a task can be
    submitted with it before the producer has run, and blocks only when it
    first touches the proxy.

    Make one with `Store.future()` (or `Future.from_store`). Compatible with
    ProxyStore 1.x's ``proxystore.store.future.Future``.

    Args:
        factory: Factory of the result (a `FutureFactory`; a 1.x
            `PollingStoreFactory` is converted to one).
        serializer: Custom serializer of the result, used by `set_result`.

    Raises:
        TypeError: If ``factory`` is not a `PollingStoreFactory`.
    """

    def __init__(
        self,
        factory: PollingStoreFactory[Any, T],
        *,
        serializer: SerializerT | None = None,
    ) -> None:
        self._factory: FutureFactory[Any, T] = FutureFactory.from_polling_factory(
            factory
        )
        self._serializer = serializer
        self._init_local()

    def _init_local(self) -> None:
        # State of this process only: never pickled.
        self._lock = threading.Lock()  # one wait for the outcome at a time
        self._setting = threading.Lock()  # one set at a time
        self._outcome: Any = _UNKNOWN  # the result or Failure, once fetched here
        self._set_here = False  # set_result/set_exception was called on this object
        _futures.add(self)

    @classmethod
    def from_store(
        cls,
        store: Store[Any],
        *,
        evict: bool = False,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        polling_interval: float = 1,
        polling_backoff_factor: float = 1,
        polling_interval_limit: float | None = None,
        polling_timeout: float | None = None,
    ) -> Future[Any]:
        """A new future whose result will be stored in ``store``.

        Args:
            store: The store; its connector must be deferrable (``new_key`` and
                ``set``).
            evict: Evict the result from the store once a consumer resolved it.
            serializer: Custom serializer of the result.
            deserializer: Custom deserializer of the result.
            polling_interval: Seconds between the first polls (connectors that
                cannot notify; see `FutureFactory`).
            polling_backoff_factor: Multiplier of the interval after each poll.
            polling_interval_limit: Largest interval, in seconds.
            polling_timeout: Default timeout of `result` and of proxies of the
                result, in seconds (``None``: wait forever).

        Raises:
            NotImplementedError: If the store's connector is not deferrable.
            ValueError: If an interval, factor or timeout is not positive.
        """
        connector = store.connector
        if not isinstance(connector, DeferrableConnector):
            raise NotImplementedError(
                f'A future needs a DeferrableConnector; {type(connector).__name__} '
                'is not one.',
            )
        with Timer() as timer:
            with Timer() as connector_timer:
                key = connector.new_key()
            factory: FutureFactory[Any, Any] = FutureFactory(
                key,
                store._config_for_proxies(),
                deserializer=deserializer,
                evict=evict,
                polling_interval=polling_interval,
                polling_backoff_factor=polling_backoff_factor,
                polling_interval_limit=polling_interval_limit,
                polling_timeout=polling_timeout,
            )
            # In this process the factory uses this very store (registered or
            # not); elsewhere it finds or re-creates it from the config.
            factory._bind(store)
            factory._blob = store._factory_blob
        store._record('store.future.connector', key, connector_timer)
        store._record('store.future', key, timer)
        return cls(factory, serializer=serializer)

    # --- identity ----------------------------------------------------------------

    @property
    def key(self) -> Any:
        """Key of the result in the store's connector."""
        return self._factory.key

    @property
    def factory(self) -> FutureFactory[Any, T]:
        """The factory of the result (shared by the proxies of this future)."""
        return self._factory

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(key={self.key!r}, '
            f"store='{self._factory.store_config.name}')"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # The factory and the serializer travel; what this process learned
        # (a fetched result, whether it set one) stays here.
        return (_rebuild, (self._factory, self._serializer))

    def __dask_tokenize__(self) -> tuple[str, Any]:
        """A token for Dask: the future's store and key."""
        return ('proxystore.futures.Future', self._factory.__dask_tokenize__())

    # --- consumers ---------------------------------------------------------------

    def done(self) -> bool:
        """Whether a result (or an exception) was set.

        Asks the store, so a result set in another process counts. A result
        evicted after it was resolved (``evict=True``) counts only in the
        processes that resolved it through this object.
        """
        if self._outcome is not _UNKNOWN:
            return True
        return self._factory.get_store().exists(self.key)

    def _wait(self, timeout: float | None) -> Any:
        if self._outcome is not _UNKNOWN:
            return self._outcome
        if timeout is None:
            timeout = self._factory.polling_timeout
        if timeout is not None:
            timeout = max(timeout, 0.0)
        deadline = None if timeout is None else time.monotonic() + timeout
        # One thread waits and fetches; others wait for it here, so that an
        # evicting future is fetched once.
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            assert timeout is not None
            store = self._factory.get_store()
            raise FutureTimeoutError(self.key, type(store), store.name, timeout)
        try:
            if self._outcome is _UNKNOWN:
                remaining = None
                if deadline is not None:
                    remaining = max(deadline - time.monotonic(), 0.0)
                try:
                    self._outcome = self._factory.outcome(remaining)
                except FutureTimeoutError as e:
                    # Name the whole wait, not what was left after the lock.
                    assert timeout is not None
                    raise FutureTimeoutError(
                        e.key, e.store_type, e.store_name, timeout
                    ) from None
            return self._outcome
        finally:
            self._lock.release()

    def result(self, timeout: float | None = None) -> T:
        """The result, once a producer has set it.

        Args:
            timeout: Most seconds to wait (``None``: the future's
                ``polling_timeout``, which is no limit unless it was given).

        Raises:
            FutureTimeoutError: If the timeout passes first.
            BaseException: The exception the producer set (`set_exception`), of
                its own type, with the producer's traceback as a note.
        """
        outcome = self._wait(timeout)
        if isinstance(outcome, Failure):
            raise_failure(outcome)
        return outcome  # type: ignore[no-any-return]

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The exception the producer set, or ``None`` if it set a result.

        Args:
            timeout: As for `result`.

        Raises:
            FutureTimeoutError: If the timeout passes first.
        """
        outcome = self._wait(timeout)
        return outcome.exception if isinstance(outcome, Failure) else None

    def proxy(self, *, target_class: type[T] | None = None) -> Proxy[T]:
        """A proxy of the result; it waits for the result when first used.

        Resolving it waits up to the future's ``polling_timeout``. If the
        producer set an exception, resolving raises
        `proxystore.proxy.ProxyResolveError` caused by that exception.

        Args:
            target_class: The class the result will have, if known: the
                unresolved proxy then answers ``isinstance`` from it instead of
                waiting for the result. Dask's client asks ``isinstance`` of
                every argument it submits, so give it to submit the proxy to
                Dask before the result exists (a class other than list, tuple,
                set and dict, which Dask looks inside).
        """
        outcome = self._outcome
        if outcome is not _UNKNOWN and not isinstance(outcome, Failure):
            # Already fetched here (and maybe evicted): start resolved.
            return Proxy(self._factory, cache_defaults=True, target=outcome)
        proxy: Proxy[T] = Proxy(self._factory)
        if target_class is not None:
            proxy.__proxy_default_class__ = target_class
        return proxy

    # --- producers ---------------------------------------------------------------

    def _check_unset(self) -> None:
        if self._set_here or self.done():
            raise concurrent.futures.InvalidStateError(
                f'The future with key={self.key!r} already has a result or an '
                'exception: it can be set once.',
            )

    def set_result(self, obj: T) -> None:
        """Store the result; consumers waiting for it wake.

        Raises:
            concurrent.futures.InvalidStateError: If a result or an exception
                was already set.
        """
        with self._setting:
            self._check_unset()
            store = self._factory.get_store()
            store._set(self.key, obj, serializer=self._serializer)
            self._set_here = True

    def set_exception(self, exception: BaseException) -> None:
        """Store the producer's failure: consumers raise ``exception``.

        `result` raises an exception of the same type with the producer's
        traceback as a note, and resolving a `proxy` raises
        `proxystore.proxy.ProxyResolveError` caused by it. An exception that
        cannot be pickled arrives as a `ProducerError` naming it.

        Raises:
            TypeError: If ``exception`` is not an exception.
            concurrent.futures.InvalidStateError: If a result or an exception
                was already set.
        """
        if not isinstance(exception, BaseException):
            raise TypeError(
                f'set_exception() expects an exception, not '
                f'{type(exception).__name__}.',
            )
        with self._setting:
            self._check_unset()
            write_failure(self._factory.get_store(), self.key, exception)
            self._set_here = True


def _rebuild(
    factory: FutureFactory[Any, Any],
    serializer: SerializerT | None,
) -> Future[Any]:
    future: Future[Any] = Future.__new__(Future)
    future._factory = factory
    future._serializer = serializer
    future._init_local()
    return future
