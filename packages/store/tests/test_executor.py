"""StoreExecutor over real executors."""

from __future__ import annotations

import multiprocessing
import pathlib
import sys
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.store.executor import ProxyAlways
from proxystore.store.executor import ProxyNever
from proxystore.store.executor import ProxyType
from proxystore.store.executor import StoreExecutor
from proxystore.store.utils import get_key
from proxystore.testing import tasks


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Generator[Store[Any]]:
    with Store('executor', FileConnector(str(tmp_path)), register=True) as store:
        yield store


def test_predicates() -> None:
    assert ProxyAlways()(None)
    assert not ProxyNever()(1)
    assert ProxyType(int, str)('x')
    assert not ProxyType(int)(1.0)


def test_submit_with_threads(store: Store[Any]) -> None:
    executor = StoreExecutor(
        ThreadPoolExecutor(2),
        store,
        should_proxy=ProxyType(numpy.ndarray),
        ownership=False,
        close_store=False,
    )
    with executor:
        array = numpy.ones(1000)
        future = executor.submit(tasks.is_unresolved_proxy, array)
        assert future.result(timeout=60)
        result = executor.submit(numpy.multiply, array, 2).result(timeout=60)
        assert isinstance(result, Proxy)
        assert result.sum() == 2000
    assert not store.closed


def test_inputs_are_evicted_when_done(store: Store[Any]) -> None:
    seen: list[Any] = []

    def capture(data: Any) -> int:
        seen.append(get_key(data))
        return 1

    with StoreExecutor(
        ThreadPoolExecutor(1),
        store,
        should_proxy=ProxyAlways(),
        ownership=False,
        close_store=False,
    ) as executor:
        executor.submit(capture, [1, 2]).result(timeout=60)
    assert seen and not store.exists(seen[0])


def test_returned_input_proxy_is_not_evicted(store: Store[Any]) -> None:
    with StoreExecutor(
        ThreadPoolExecutor(1),
        store,
        should_proxy=ProxyAlways(),
        ownership=False,
        close_store=False,
    ) as executor:
        echoed = executor.submit(tasks.identity, [1, 2]).result(timeout=60)
        other = executor.submit(tasks.describe, [3]).result(timeout=60)
    assert isinstance(echoed, Proxy)
    assert echoed == [1, 2]
    assert other['len'] == 1


def test_map_proxies_each_element(store: Store[Any]) -> None:
    with StoreExecutor(
        ThreadPoolExecutor(2),
        store,
        should_proxy=ProxyType(int),
        ownership=False,
        close_store=False,
    ) as executor:
        flags = list(executor.map(tasks.is_unresolved_proxy, [1, 'a', 3], timeout=60))
    assert flags == [True, False, True]


def test_submit_with_a_spawned_process_pool(store: Store[Any]) -> None:
    context = multiprocessing.get_context('spawn')
    with StoreExecutor(
        ProcessPoolExecutor(1, mp_context=context),
        store,
        should_proxy=ProxyType(numpy.ndarray, list),
        ownership=False,
        close_store=False,
    ) as executor:
        total = executor.submit(tasks.total, numpy.arange(100)).result(timeout=120)
        assert total == 4950.0
        echoed = executor.submit(tasks.identity, numpy.arange(3)).result(timeout=120)
        assert isinstance(echoed, Proxy)
        assert list(echoed) == [0, 1, 2]


def test_shutdown_closes_the_store(store: Store[Any]) -> None:
    executor = StoreExecutor(ThreadPoolExecutor(1), store, ownership=False)
    executor.shutdown()
    assert store.closed


def test_shutdown_of_something_that_cannot_shut_down(store: Store[Any]) -> None:
    class Client:
        def submit(self, fn: Any, *args: Any) -> Any:  # pragma: no cover
            raise NotImplementedError

    executor = StoreExecutor(Client(), store, ownership=False, close_store=False)
    with pytest.warns(RuntimeWarning, match='has neither shutdown'):
        executor.shutdown()


def test_ownership_needs_its_package(
    store: Store[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, 'proxystore.ownership', None)
    pool = ThreadPoolExecutor(1)
    with pytest.raises(ImportError, match=r'proxystore\[ownership\]'):
        StoreExecutor(pool, store)
    pool.shutdown()
