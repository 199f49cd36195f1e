"""`StoreExecutor`: any executor, with arguments and results passed by proxy.

Wraps an existing executor (a process pool, a Dask client, ...): arguments chosen
by ``should_proxy`` are replaced by proxies before submission, and results chosen
by it are returned as proxies, so only references travel through the engine.
Proxies of arguments are evicted once their task is done.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from concurrent.futures import Executor
from concurrent.futures import Future
from typing import Any
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable

from proxystore.proxy import Proxy
from proxystore.store._locate import get_or_create_store
from proxystore.store.base import Store
from proxystore.store.base import _pattern
from proxystore.store.config import StoreConfig
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.utils import get_factory_of_store_proxy
from proxystore.store.utils import get_key

__all__ = ['ProxyAlways', 'ProxyNever', 'ProxyType', 'StoreExecutor']

R = TypeVar('R')


class ProxyAlways:
    """Proxy every object."""

    def __call__(self, item: Any) -> bool:
        """Always ``True``."""
        return True


class ProxyNever:
    """Proxy nothing (the default)."""

    def __call__(self, item: Any) -> bool:
        """Always ``False``."""
        return False


class ProxyType:
    """Proxy objects of the given types.

    Args:
        types: The types (``isinstance``).
    """

    def __init__(self, *types: type) -> None:
        self.types = types

    def __call__(self, item: Any) -> bool:
        """Whether ``item`` is an instance of one of the types."""
        return isinstance(item, self.types)


@runtime_checkable
class _FutureProtocol(Protocol):
    def add_done_callback(self, fn: Callable[[Any], Any], /) -> None: ...

    def result(self, timeout: float | None = None) -> Any: ...


class _FunctionWrapper:
    """Runs the function on the worker, then proxies its result if chosen."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        store_config: StoreConfig,
        should_proxy: Callable[[Any], bool],
        return_owned_proxy: bool,
    ) -> None:
        self.function = function
        self.store_config = store_config
        self.should_proxy = should_proxy
        self.return_owned_proxy = return_owned_proxy
        # The executor's store, in the executor's process (not pickled).
        self._store: weakref.ref[Store[Any]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state['_store'] = None
        return state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.function(*args, **kwargs)
        if isinstance(result, Proxy) or not self.should_proxy(result):
            return result
        store = self._store() if self._store is not None else None
        if store is None or store.closed:
            store = get_or_create_store(self.store_config)
        if self.return_owned_proxy:
            return store.owned_proxy(result)
        # None and bools cannot be proxied: they are returned as themselves.
        return store.proxy(result, populate_target=False, skip_nonproxiable=True)


class StoreExecutor(Executor):
    """An executor that passes chosen arguments and results by proxy.

    Args:
        executor: The executor doing the work (anything with ``submit``
            returning futures, e.g. a Dask client).
        store: Store for the proxies.
        should_proxy: Which objects to proxy (default: `ProxyNever`).
        ownership: Return owned proxies of results (needs
            ``proxystore[ownership]``); with ``False``, plain proxies.
        close_store: Close the store on `shutdown`.

    Raises:
        ImportError: If ``ownership`` and proxystore-patterns-ownership is not
            installed.
    """

    def __init__(
        self,
        executor: Any,
        store: Store[Any],
        should_proxy: Callable[[Any], bool] | None = None,
        *,
        ownership: bool = True,
        close_store: bool = True,
    ) -> None:
        if ownership:
            _pattern('proxystore.ownership', 'ownership')
        self.executor = executor
        self.store = store
        self.should_proxy: Callable[[Any], bool] = (
            should_proxy if should_proxy is not None else ProxyNever()
        )
        self.ownership = ownership
        self.close_store = close_store
        self._wrappers: dict[Callable[..., Any], _FunctionWrapper] = {}

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(executor={self.executor!r}, store={self.store!r})'
        )

    def _wrap(self, function: Callable[..., Any]) -> _FunctionWrapper:
        wrapper = self._wrappers.get(function)
        if wrapper is None:
            wrapper = self._wrappers[function] = _FunctionWrapper(
                function,
                store_config=self.store.config(),
                should_proxy=self.should_proxy,
                return_owned_proxy=self.ownership,
            )
            wrapper._store = weakref.ref(self.store)
        return wrapper

    def _proxy_input(self, item: Any, proxied: list[Proxy[Any]]) -> Any:
        if isinstance(item, Proxy) or not self.should_proxy(item):
            return item
        proxy = self.store.proxy(item, populate_target=False, skip_nonproxiable=True)
        if isinstance(proxy, Proxy):
            proxied.append(proxy)
        return proxy

    def _evict_when_done(self, future: Any, proxied: list[Proxy[Any]]) -> None:
        if not proxied:
            return

        keys = [get_key(p) for p in proxied]

        def _evict(done: Any) -> None:
            if self.store.closed:
                return
            # A task that returns one of its proxied inputs hands that object to
            # the caller: it must not be evicted.
            returned = None
            try:
                result = done.result()
            except BaseException:
                result = None
            if isinstance(result, Proxy):
                try:
                    returned = get_factory_of_store_proxy(result).key
                except ProxyStoreFactoryError:
                    returned = None
            self.store.evict_batch([key for key in keys if key != returned])

        future.add_done_callback(_evict)

    def submit(
        self,
        function: Callable[..., R],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Future[R]:
        """Submit ``function(*args, **kwargs)``, passing chosen arguments by proxy."""
        proxied: list[Proxy[Any]] = []
        args = tuple(self._proxy_input(arg, proxied) for arg in args)
        kwargs = {k: self._proxy_input(v, proxied) for k, v in kwargs.items()}
        future = self.executor.submit(self._wrap(function), *args, **kwargs)
        self._evict_when_done(future, proxied)
        return future  # type: ignore[no-any-return]

    def map(
        self,
        function: Callable[..., R],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[R]:
        """``map`` with each chosen element (not each iterable) passed by proxy.

        Results come in order; the proxies of a task's inputs are evicted when
        that task is done.
        """
        futures = [
            self.submit(function, *items) for items in zip(*iterables, strict=False)
        ]

        def results() -> Iterator[R]:
            for future in futures:
                yield future.result(timeout)

        return results()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut down the executor, then close the store (if ``close_store``)."""
        if isinstance(self.executor, Executor):
            self.executor.shutdown(wait=wait, cancel_futures=cancel_futures)
        elif hasattr(self.executor, 'close'):
            self.executor.close()
        else:
            warnings.warn(
                f'{type(self.executor).__name__} has neither shutdown() nor '
                'close(); it was not shut down.',
                RuntimeWarning,
                stacklevel=2,
            )
        if self.close_store:
            self.store.close()
