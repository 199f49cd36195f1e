"""Brokers and stores for stream tests: real servers, started and stopped here."""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.store import Store
from proxystore.store.keyring import SECRET_ENV
from proxystore.stream._stores import ALLOWED_PATHS_ENV
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


SECRET = 'stream-tests-secret'


@pytest.fixture(scope='session', autouse=True)
def _secret_in_the_environment() -> Generator[None]:
    # Worker processes started from here inherit it, so consumers there may
    # make the (authenticated) stores that the broker describes.
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = SECRET
    yield
    if previous is None:
        del os.environ[SECRET_ENV]
    else:  # pragma: no cover
        os.environ[SECRET_ENV] = previous


@pytest.fixture
def file_store(tmp_path: pathlib.Path) -> Generator[Store[Any]]:
    """A store that processes share (a folder), authenticated by the secret."""
    connector = FileConnector(str(tmp_path / 'objects'), clear=True)
    name = f'stream-file-{uuid.uuid4().hex[:6]}'
    with Store(name, connector, secret=SECRET) as store:
        yield store


@pytest.fixture(scope='session', autouse=True)
def _temporary_paths_allowed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Generator[None]:
    # Stores of these tests live under pytest's temporary folder; consumers
    # here and in worker processes (which inherit it) may make stores there.
    # Tests of the path allow-list itself unset it.
    previous = os.environ.get(ALLOWED_PATHS_ENV)
    os.environ[ALLOWED_PATHS_ENV] = str(tmp_path_factory.getbasetemp())
    yield
    if previous is None:
        del os.environ[ALLOWED_PATHS_ENV]
    else:  # pragma: no cover
        os.environ[ALLOWED_PATHS_ENV] = previous
