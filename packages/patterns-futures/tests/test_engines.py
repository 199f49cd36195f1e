"""Futures across real engines (threads, spawned processes, Dask) and channels.

Every test runs on each engine crossed with each channel (file, shared memory,
Redis): 9 combinations.
"""

from __future__ import annotations

import time
from typing import Any

import numpy
import pytest

from proxystore.futures import Future
from proxystore.store import Store
from proxystore.testing import futures as tasks
from proxystore.testing.engines import Engine

from .conftest import TIMEOUT

# Polling settings for channels that cannot notify (file, shm): short and bounded.
FAST = {'polling_interval': 0.01, 'polling_backoff_factor': 2}


def test_consumer_runs_before_the_data_exists(
    engine: Engine, store: Store[Any]
) -> None:
    data: Future[numpy.ndarray] = store.future(polling_interval_limit=0.05, **FAST)
    started: Future[int] = store.future(polling_interval_limit=0.05, **FAST)
    # The class lets Dask's client check the unresolved proxy without waiting.
    proxy = data.proxy(target_class=numpy.ndarray)
    consumer = engine.submit(tasks.consume_after_signal, proxy, started)
    # The consumer signals from inside the task, before it touches the data;
    # the producer is submitted only after that, so the data did not exist yet.
    started.result(timeout=TIMEOUT)
    assert not data.done()
    assert not consumer.done()
    producer = engine.submit(tasks.produce, data, numpy.arange(4.0))
    report = consumer.result(timeout=TIMEOUT)
    assert report['unresolved_at_start']
    assert report['total'] == 6.0
    assert producer.result(timeout=TIMEOUT) != report['pid'] or engine.name == 'threads'
    assert data.done()
    assert numpy.array_equal(data.result(timeout=TIMEOUT), numpy.arange(4.0))


def test_explicit_wait_for_a_result_set_elsewhere(
    engine: Engine, store: Store[Any]
) -> None:
    future: Future[dict[str, int]] = store.future(**FAST)
    consumer = engine.submit(tasks.result_with_timeout, future, TIMEOUT)
    producer = engine.submit(tasks.produce, future, {'answer': 42})
    assert consumer.result(timeout=TIMEOUT) == {'answer': 42}
    producer.result(timeout=TIMEOUT)


@pytest.mark.parametrize('via', ['result', 'proxy'])
def test_producer_exception_reaches_the_consumer(
    engine: Engine, store: Store[Any], via: str
) -> None:
    future: Future[Any] = store.future(**FAST)
    consumer = engine.submit(tasks.describe_error, future, via, TIMEOUT)
    engine.submit(tasks.fail, future, 'bad input 7').result(timeout=TIMEOUT)
    report = consumer.result(timeout=TIMEOUT)
    if via == 'result':
        assert report['caught'] == 'ValueError'
        notes = report['notes']
    else:
        assert report['caught'] == 'ProxyResolveError'
        assert report['cause'] == 'ValueError'
        notes = report['notes']
    assert report['message'] == 'bad input 7'
    # The producer's traceback travels as a note: it names the producer's frames.
    assert len(notes) == 1
    assert 'Raised by the producer of this future' in notes[0]
    assert '_raise_in_producer' in notes[0]
    assert 'ValueError: bad input 7' in notes[0]
    # The test process sees the same exception.
    with pytest.raises(ValueError, match='bad input 7') as caught:
        future.result(timeout=TIMEOUT)
    assert '_raise_in_producer' in caught.value.__notes__[0]


def test_timeout_in_a_task(engine: Engine, store: Store[Any]) -> None:
    future: Future[Any] = store.future(**FAST)
    start = time.monotonic()
    report = engine.submit(tasks.describe_error, future, 'result', 0.3).result(
        timeout=TIMEOUT
    )
    assert time.monotonic() - start < TIMEOUT
    assert report['caught'] == 'FutureTimeoutError'
    assert report['is_timeout']
    assert repr(future.key) in report['message']
    assert 'after waiting 0.3 s' in report['message']
