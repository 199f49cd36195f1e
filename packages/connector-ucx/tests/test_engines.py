"""Proxies resolved in other processes: a process pool, and Dask workers."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import numpy
import pytest

from proxystore.store import Store
from proxystore.testing.engines import Engine
from proxystore.testing.engines import engine as start_engine
from proxystore.testing.tasks import describe
from proxystore.testing.tasks import put_in_store
from proxystore.testing.tasks import total
from proxystore.testing.ucx import UCXServer

TIMEOUT = 60


@pytest.fixture(scope='module', params=['processes', 'dask'])
def engine(request: pytest.FixtureRequest) -> Generator[Engine]:
    with start_engine(request.param) as engine:
        yield engine


@pytest.fixture
def store(server: UCXServer) -> Generator[Store[Any]]:
    with Store('ucx-engines', server.connector(), register=True) as store:
        yield store


def test_proxy_resolves_in_a_worker(engine: Engine, store: Store[Any]) -> None:
    array = numpy.arange(4_000_000, dtype=numpy.float64)  # 32 MB
    proxy = store.proxy(array)
    assert engine.submit(total, proxy).result(TIMEOUT) == float(array.sum())
    facts = engine.submit(describe, store.proxy(list(range(10)))).result(TIMEOUT)
    assert facts['type'] == 'list' and facts['len'] == 10
    assert facts['pid'] != os.getpid()


def test_a_worker_puts_and_the_driver_gets(engine: Engine, store: Store[Any]) -> None:
    key = engine.submit(put_in_store, store.config(), b'from a worker').result(TIMEOUT)
    assert store.get(key) == b'from a worker'
    assert (key.peer_host, key.peer_port) == (
        store.connector.address,
        store.connector.port,
    )
