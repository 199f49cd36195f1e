"""Proxies travel through real process pools (fork and spawn) and resolve there."""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import pickle
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.store import Store
from proxystore.testing import tasks

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')  # fork + threads


@pytest.fixture(params=['fork', 'spawn'])
def pool(request: pytest.FixtureRequest) -> Generator[ProcessPoolExecutor]:
    context = multiprocessing.get_context(request.param)
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        yield pool


@pytest.fixture(params=['file', 'shm'])
def store(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Generator[Store[Any]]:
    connector: Any
    if request.param == 'file':
        connector = FileConnector(str(tmp_path / 'data'))
    else:
        connector = SharedMemoryConnector()
    with Store(f'cross-{request.param}', connector, register=True) as store:
        yield store


def test_proxy_resolves_in_a_worker(
    pool: ProcessPoolExecutor, store: Store[Any]
) -> None:
    array = numpy.arange(1_000_000, dtype=numpy.float64)
    proxy = store.proxy(array)
    assert pool.submit(tasks.is_unresolved_proxy, proxy).result(timeout=60)
    assert pool.submit(tasks.total, proxy).result(timeout=60) == float(array.sum())
    facts = pool.submit(tasks.describe, store.proxy([1, 2, 3])).result(timeout=60)
    assert facts == {'type': 'list', 'len': 3, 'pid': facts['pid']}
    assert facts['pid'] != os.getpid()


def test_worker_puts_and_parent_gets(
    pool: ProcessPoolExecutor, store: Store[Any]
) -> None:
    key = pool.submit(tasks.put_in_store, store.config(), {'from': 'worker'}).result(
        timeout=60
    )
    assert store.get(key) == {'from': 'worker'}


def test_proxy_passes_through_unresolved(
    pool: ProcessPoolExecutor, store: Store[Any]
) -> None:
    proxy = store.proxy('text', populate_target=False)
    back = pool.submit(tasks.identity, proxy).result(timeout=60)
    assert back == 'text'


def test_authenticated_store_across_processes(
    pool: ProcessPoolExecutor,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Forked workers inherit the secret; spawned ones find it in the environment.
    monkeypatch.setenv('PROXYSTORE_SECRET', 'k' * 32)
    with Store(
        'secret',
        FileConnector(str(tmp_path / 's')),
        secret=b'k' * 32,
        register=True,
    ) as store:
        proxy = store.proxy(numpy.ones(10))
        assert pool.submit(tasks.total, proxy).result(timeout=60) == 10.0


def _shm_leftovers(name: str) -> list[str]:
    from proxystore.connectors.shm import default_directory

    return [p for p in os.listdir(default_directory()) if name in p]


def test_shared_memory_is_cleaned_after_close_even_when_a_worker_dies() -> None:
    context = multiprocessing.get_context('spawn')
    store = Store('shm-owner', SharedMemoryConnector(), register=True)
    name = store.connector.name
    try:
        config = store.config()
        process = context.Process(
            target=tasks.exit_without_cleanup,
            args=(config, numpy.ones(1000)),
        )
        process.start()
        process.join(timeout=60)
        assert process.exitcode == 0
        assert _shm_leftovers(name)  # the dead worker's object is there
        key = store.put(numpy.arange(10))
        assert store.get(key).sum() == 45
    finally:
        store.close()
    assert _shm_leftovers(name) == []


def test_shared_memory_evict_unlinks_the_segment() -> None:
    with Store('shm-evict', SharedMemoryConnector()) as store:
        key = store.put(b'x' * 1000)
        path = pathlib.Path(store.connector.directory) / key[0]
        assert path.exists()
        view = store.connector.get(key)
        store.evict(key)
        assert not path.exists()
        assert (
            view is not None and bytes(view[-3:]) == b'xxx'
        )  # mapped data stays valid


def test_workers_do_not_remove_the_owners_data(pool: ProcessPoolExecutor) -> None:
    with Store('shm-shared', SharedMemoryConnector(), register=True) as store:
        proxies = [store.proxy(numpy.ones(100) * i) for i in range(4)]
        totals = [pool.submit(tasks.total, p).result(timeout=60) for p in proxies]
        assert totals == [0.0, 100.0, 200.0, 300.0]
        pool.shutdown(wait=True)  # workers exit and close their copies of the store
        assert store.get(proxies[3].__proxy_factory__.key).sum() == 300.0


def test_pickled_proxy_size_in_a_workflow(store: Store[Any]) -> None:
    proxy = store.proxy(numpy.zeros(8 * 1024 * 1024 // 8))
    assert len(pickle.dumps(proxy)) < 400  # tmp paths in the file config add bytes
