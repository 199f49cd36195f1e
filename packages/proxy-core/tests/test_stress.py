"""Many threads resolving many proxies at once: each factory runs once or fails."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError

THREADS = 8
PROXIES = 2000
DEADLINE = 60.0


class Factory:
    def __init__(self, index: int, fail: bool) -> None:
        self.index = index
        self.fail = fail
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> list[int]:
        with self.lock:
            self.calls += 1
        time.sleep(random.random() / 10_000)  # widen the race window a little
        if self.fail:
            raise OSError(f'factory {self.index} failed')
        return [self.index]


@pytest.mark.parametrize('seed', range(5))
def test_concurrent_resolution_of_many_proxies(seed: int) -> None:
    rng = random.Random(seed)
    factories = [Factory(i, fail=rng.random() < 0.1) for i in range(PROXIES)]
    proxies = [Proxy(f) for f in factories]
    barrier = threading.Barrier(THREADS)
    start = time.monotonic()

    def worker(seed: int) -> int:
        order = list(range(PROXIES))
        random.Random(seed).shuffle(order)
        barrier.wait(timeout=10)
        errors = 0
        for i in order:
            assert time.monotonic() - start < DEADLINE
            try:
                assert proxies[i][0] == i
            except ProxyResolveError as e:
                assert isinstance(e.cause, OSError)  # noqa: PT017
                assert factories[i].fail
                errors += 1
        return errors

    with ThreadPoolExecutor(THREADS) as pool:
        errors = list(pool.map(worker, range(seed, seed + THREADS), timeout=DEADLINE))

    for factory in factories:
        if not factory.fail:
            assert factory.calls == 1
        else:
            # A failed flight is shared by its waiters; later accesses retry.
            assert 1 <= factory.calls <= THREADS
    assert sum(errors) == THREADS * sum(f.fail for f in factories)
