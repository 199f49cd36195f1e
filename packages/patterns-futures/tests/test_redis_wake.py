"""On Redis, consumers are woken by the producer's set, not by polling.

The futures poll every 30 s here: a result that arrives within seconds came by
the event (pub/sub), on a single server and on a cluster.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.redis import RedisConnector
from proxystore.futures import Future
from proxystore.store import Store
from proxystore.testing import futures as tasks
from proxystore.testing.engines import Engine

from .conftest import TIMEOUT

POLLING = 30.0  # what a polling consumer would wait between looks
WOKEN = 5.0  # a woken consumer gets the result well within this


@pytest.fixture(params=['single', 'cluster'])
def any_redis_store(request: pytest.FixtureRequest) -> Store[RedisConnector]:
    name = 'redis_store' if request.param == 'single' else 'cluster_store'
    store: Store[RedisConnector] = request.getfixturevalue(name)
    return store


def test_consumer_in_another_process_wakes_on_the_set(
    process_engine: Engine, any_redis_store: Store[Any]
) -> None:
    future: Future[str] = any_redis_store.future(polling_interval=POLLING)
    started: Future[int] = any_redis_store.future(polling_interval=POLLING)
    consumer = process_engine.submit(
        tasks.signal_then_timed_result, started, future, TIMEOUT
    )
    started.result(timeout=TIMEOUT)
    time.sleep(0.3)  # the consumer is waiting by now (it would be fine if not)
    set_at = time.time()
    future.set_result('now')
    result, arrived = consumer.result(timeout=TIMEOUT)
    assert result == 'now'
    assert arrived - set_at < WOKEN


def test_every_consumer_wakes(any_redis_store: Store[Any]) -> None:
    future: Future[list[int]] = any_redis_store.future(polling_interval=POLLING)
    proxies = [future.proxy() for _ in range(4)]
    with ThreadPoolExecutor(6) as pool:
        sums = [pool.submit(sum, p) for p in proxies]
        waits = [pool.submit(tasks.timed_result, future, TIMEOUT) for _ in range(2)]
        time.sleep(0.3)
        assert not any(s.done() for s in sums + waits)
        set_at = time.time()
        future.set_result([1, 2, 3])
        assert [s.result(timeout=TIMEOUT) for s in sums] == [6] * 4
        for wait in waits:
            result, arrived = wait.result(timeout=TIMEOUT)
            assert result == [1, 2, 3]
            assert arrived - set_at < WOKEN


def test_producer_exception_wakes_the_consumer(
    process_engine: Engine, any_redis_store: Store[Any]
) -> None:
    future: Future[int] = any_redis_store.future(polling_interval=POLLING)
    with ThreadPoolExecutor(1) as pool:
        consumer = pool.submit(tasks.describe_error, future, 'proxy', TIMEOUT)
        time.sleep(0.2)
        process_engine.submit(tasks.fail, future, 'no data').result(timeout=TIMEOUT)
        set_at = time.monotonic()
        report = consumer.result(timeout=TIMEOUT)
        assert time.monotonic() - set_at < WOKEN
    assert report['caught'] == 'ProxyResolveError'
    assert report['cause'] == 'ValueError'
    assert report['message'] == 'no data'
