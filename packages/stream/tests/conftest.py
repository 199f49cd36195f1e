"""Brokers and stores for stream tests: real servers, started and stopped here."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.store import Store
from proxystore.testing.redis import RedisServer


@pytest.fixture(scope='session')
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Generator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp('stream-redis')) as server:
        yield server


@pytest.fixture
def redis_options(redis_server: RedisServer) -> dict[str, Any]:
    """Broker options of the Redis shims, with a fresh topic."""
    return {
        'hostname': '127.0.0.1',
        'port': redis_server.port,
        'topic': f'topic-{uuid.uuid4().hex[:8]}',
    }


@pytest.fixture
def store() -> Generator[Store[Any]]:
    """An in-process store, registered so that consumers here find it."""
    with Store(
        f'stream-{uuid.uuid4().hex[:6]}', LocalConnector(), register=True
    ) as store:
        yield store


@pytest.fixture
def file_store(tmp_path: pathlib.Path) -> Generator[Store[Any]]:
    """A store that processes share (a folder)."""
    connector = FileConnector(str(tmp_path / 'objects'), clear=True)
    with Store(f'stream-file-{uuid.uuid4().hex[:6]}', connector) as store:
        yield store
