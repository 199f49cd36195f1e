"""Resolution is single-flight: N threads, one factory call."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import is_resolved

THREADS = 16


class SlowFactory:
    """Blocks until released, so that every thread meets an unresolved proxy."""

    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self.value = value
        self.error = error
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> Any:
        self.calls += 1
        self.started.set()
        assert self.release.wait(timeout=10)
        if self.error is not None:
            raise self.error
        return self.value


def _hammer(proxy: Proxy[Any], factory: SlowFactory, op: Any) -> list[Any]:
    barrier = threading.Barrier(THREADS)

    def task() -> Any:
        barrier.wait(timeout=10)
        try:
            return op(proxy)
        except ProxyResolveError as e:
            return e

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(task) for _ in range(THREADS)]
        assert factory.started.wait(timeout=10)
        time.sleep(0.05)  # let the other threads reach the proxy and wait
        factory.release.set()
        return [f.result(timeout=10) for f in futures]


@pytest.mark.parametrize(
    'op',
    [len, lambda p: p[0], lambda p: p.count(1), str, lambda p: p.__proxy_wrapped__],
    ids=['len', 'getitem', 'attribute', 'str', 'extract'],
)
def test_factory_runs_once_under_contention(op: Any) -> None:
    factory = SlowFactory(value=[1, 2, 3])
    proxy = Proxy(factory)
    results = _hammer(proxy, factory, op)
    assert factory.calls == 1
    assert len({repr(r) for r in results}) == 1
    assert is_resolved(proxy)


def test_waiters_share_the_error_then_a_later_access_retries() -> None:
    factory = SlowFactory(error=OSError('disk gone'))
    proxy = Proxy(factory)
    results = _hammer(proxy, factory, len)
    assert factory.calls == 1
    assert all(isinstance(r, ProxyResolveError) for r in results)
    assert all(isinstance(r.cause, OSError) for r in results)
    assert not is_resolved(proxy)

    factory.error = None
    factory.value = [1]
    assert len(proxy) == 1
    assert factory.calls == 2


def test_many_proxies_resolve_concurrently() -> None:
    # A slow factory of one proxy must not block the resolution of another.
    slow = SlowFactory(value='slow')
    slow_proxy = Proxy(slow)
    with ThreadPoolExecutor(2) as pool:
        pending = pool.submit(str, slow_proxy)
        assert slow.started.wait(timeout=10)
        fast = Proxy(lambda: 'fast')
        assert str(fast) == 'fast'
        assert not pending.done()
        slow.release.set()
        assert pending.result(timeout=10) == 'slow'


class SlowMessageError(Exception):
    def __str__(self) -> str:
        time.sleep(0.2)  # the owner formats this while building its error
        return 'slow message'


def test_thread_arriving_while_the_error_is_built_shares_it() -> None:
    calls = []
    started = threading.Event()

    def factory() -> Any:
        calls.append(1)
        started.set()
        raise SlowMessageError

    proxy = Proxy(factory)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(len, proxy)
        assert started.wait(timeout=10)
        time.sleep(0.05)
        second = pool.submit(len, proxy)
        for future in (first, second):
            with pytest.raises(ProxyResolveError, match='slow message'):
                future.result(timeout=10)
    assert len(calls) == 1
