"""Stores for the ownership tests: in-process, and shared across processes."""

from __future__ import annotations

import gc
import pathlib
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.redis import RedisConnector
from proxystore.store import Store
from proxystore.testing.redis import RedisServer


@pytest.fixture
def store() -> Generator[Store[Any]]:
    """An in-process store (the rules do not depend on the channel)."""
    with Store('ownership', LocalConnector(), cache_size=0, register=True) as store:
        yield store
        gc.collect()  # finalizers of this test's owners run while the store is open


@pytest.fixture(scope='session')
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Generator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp('ownership-redis')) as server:
        yield server


@pytest.fixture(params=['file', 'redis'])
def shared_store(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Generator[Store[Any]]:
    """A store that other processes reach: a folder, or a real Redis server."""
    if request.param == 'file':
        connector: Any = FileConnector(str(tmp_path / 'objects'), clear=True)
    else:
        server: RedisServer = request.getfixturevalue('redis_server')
        connector = RedisConnector('127.0.0.1', server.port, clear=True)
    name = f'shared-{request.param}'
    with Store(name, connector, cache_size=0, register=True) as store:
        yield store
        gc.collect()


def stored_keys(store: Store[Any]) -> int:
    """How many objects a store holds (for leak checks)."""
    connector = store.connector
    if isinstance(connector, FileConnector):
        return len(list(pathlib.Path(connector.store_dir).glob('*')))
    if isinstance(connector, RedisConnector):
        client = connector._client
        return len(list(client.scan_iter(match=f'{connector.prefix}*')))
    return len(connector._store)
