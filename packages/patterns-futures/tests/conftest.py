"""Real engines and real channels for futures, started once and stopped at the end.

Engines: a thread pool, a process pool (spawn) and a Dask distributed cluster of
worker processes. Channels: a file folder, shared memory, and a Redis server
(and cluster) started here on 127.0.0.1.
"""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.store import Store
from proxystore.store import _registry
from proxystore.testing import engines
from proxystore.testing.engines import Engine
from proxystore.testing.redis import RedisCluster
from proxystore.testing.redis import RedisServer

TIMEOUT = 60.0  # seconds any single task may take in these tests


@pytest.fixture(autouse=True)
def _no_stores_left_registered() -> Generator[None]:
    before = set(_registry._stores)
    yield
    leaked = set(_registry._stores) - before
    for name in leaked:
        _registry.unregister_store(name)
    assert not leaked, f'tests left stores registered: {leaked}'


@pytest.fixture(scope='session')
def thread_engine() -> Generator[Engine]:
    with engines.thread_engine() as engine:
        yield engine


@pytest.fixture(scope='session')
def process_engine() -> Generator[Engine]:
    with engines.process_engine() as engine:
        yield engine


@pytest.fixture(scope='session')
def dask_engine() -> Generator[Engine]:
    with engines.dask_engine() as engine:
        yield engine


@pytest.fixture(params=['threads', 'processes', 'dask'])
def engine(request: pytest.FixtureRequest) -> Engine:
    engine: Engine = request.getfixturevalue(
        {'threads': 'thread_engine', 'processes': 'process_engine'}.get(
            request.param, 'dask_engine'
        )
    )
    return engine


@pytest.fixture(scope='session')
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp('redis')


@pytest.fixture(scope='session')
def redis_server(servers_dir: pathlib.Path) -> Generator[RedisServer]:
    with RedisServer(servers_dir / 'single') as server:
        yield server


@pytest.fixture(scope='session')
def redis_cluster(servers_dir: pathlib.Path) -> Generator[RedisCluster]:
    with RedisCluster(servers_dir / 'cluster', shards=3) as cluster:
        yield cluster


def _name() -> str:
    # Worker processes outlive a test and keep stores by name: never reuse one.
    return f'futures-{uuid.uuid4().hex[:12]}'


@pytest.fixture(params=['file', 'shm', 'redis'])
def store(
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
) -> Generator[Store[Any]]:
    connector: Any
    if request.param == 'file':
        connector = FileConnector(str(tmp_path / 'objects'))
    elif request.param == 'shm':
        connector = SharedMemoryConnector()  # in /dev/shm; removed on close
    else:
        server: RedisServer = request.getfixturevalue('redis_server')
        connector = RedisConnector('127.0.0.1', server.port, clear=True)
    with Store(_name(), connector) as store:
        yield store


@pytest.fixture
def redis_store(redis_server: RedisServer) -> Generator[Store[RedisConnector]]:
    connector = RedisConnector('127.0.0.1', redis_server.port, clear=True)
    with Store(_name(), connector) as store:
        yield store


@pytest.fixture
def cluster_store(redis_cluster: RedisCluster) -> Generator[Store[RedisConnector]]:
    connector = RedisConnector(
        '127.0.0.1', redis_cluster.port, clear=True, cluster=True
    )
    with Store(_name(), connector) as store:
        yield store


@pytest.fixture
def file_store(tmp_path: pathlib.Path) -> Generator[Store[FileConnector]]:
    with Store(_name(), FileConnector(str(tmp_path / 'objects'))) as store:
        yield store
