"""Real Redis servers, started once per test session and stopped at its end."""

from __future__ import annotations

import pathlib
import shutil
import tempfile
from collections.abc import Generator

import pytest

from proxystore.testing.redis import RedisCluster
from proxystore.testing.redis import RedisServer
from proxystore.testing.redis import TLSTerminator

PASSWORD = 'test-password'


@pytest.fixture(scope='session')
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp('redis')


@pytest.fixture(scope='session')
def redis_server(servers_dir: pathlib.Path) -> Generator[RedisServer]:
    with RedisServer(servers_dir / 'tcp') as server:
        yield server


@pytest.fixture(scope='session')
def unix_server(servers_dir: pathlib.Path) -> Generator[RedisServer]:
    # Unix socket paths are limited to ~100 bytes: keep it short.
    socket_dir = pathlib.Path(tempfile.mkdtemp(prefix='psr'))
    try:
        with RedisServer(
            servers_dir / 'unix', port=0, unix_socket=socket_dir / 's'
        ) as server:
            yield server
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.fixture(scope='session')
def password_server(servers_dir: pathlib.Path) -> Generator[RedisServer]:
    with RedisServer(servers_dir / 'password', password=PASSWORD) as server:
        yield server


@pytest.fixture(scope='session')
def tls_endpoint(
    servers_dir: pathlib.Path,
    redis_server: RedisServer,
) -> Generator[TLSTerminator]:
    assert redis_server.port is not None
    with TLSTerminator(servers_dir / 'tls', redis_server.port) as endpoint:
        yield endpoint


@pytest.fixture(scope='session')
def mtls_endpoint(
    servers_dir: pathlib.Path,
    redis_server: RedisServer,
) -> Generator[TLSTerminator]:
    assert redis_server.port is not None
    with TLSTerminator(
        servers_dir / 'mtls',
        redis_server.port,
        require_client_cert=True,
    ) as endpoint:
        yield endpoint


@pytest.fixture(scope='session')
def redis_cluster(servers_dir: pathlib.Path) -> Generator[RedisCluster]:
    with RedisCluster(servers_dir / 'cluster', shards=3) as cluster:
        yield cluster
