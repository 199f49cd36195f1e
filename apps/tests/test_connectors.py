"""Proxy runs over other connectors: file, and Redis, UCX and endpoint servers."""

from __future__ import annotations

import pathlib
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.testing.endpoint import EndpointProcess
from proxystore.testing.redis import RedisServer
from proxystore.testing.ucx import TEST_DEVICES
from proxystore.testing.ucx import UCXServer
from proxystore_apps.runner import run_app

from .conftest import small_config


@pytest.fixture(scope='module')
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Generator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp('redis')) as server:
        yield server


@pytest.mark.parametrize('app', ['cholesky', 'pipeline', 'stream-inference'])
def test_file_connector(
    app: str, tmp_path: pathlib.Path, process_executor: Any
) -> None:
    config = small_config(
        app, 'process', 'proxy', tmp_path, connector='file',
        options={'store_dir': str(tmp_path / 'objects')},
    )  # fmt: skip
    result = run_app(config, executor=process_executor)
    assert result.ok, result.error
    assert not (tmp_path / 'objects').exists()  # the store cleared its folder


@pytest.mark.parametrize('app', ['cholesky', 'pipeline', 'stream-inference'])
def test_redis_connector(
    app: str, tmp_path: pathlib.Path, redis_server: RedisServer, dask_executor: Any
) -> None:
    options = {'hostname': '127.0.0.1', 'port': redis_server.port}
    config = small_config(
        app, 'dask', 'proxy', tmp_path, connector='redis', options=options
    )
    result = run_app(config, executor=dask_executor)
    assert result.ok, result.error
    if app == 'cholesky':
        assert sum(r['results_proxied'] for r in result.records) == 20


def test_file_connector_default_folder(
    tmp_path: pathlib.Path, thread_executor: Any
) -> None:
    config = small_config('synthetic', 'thread', 'proxy', tmp_path, connector='file')
    result = run_app(config, executor=thread_executor)
    assert result.ok, result.error


@pytest.fixture(scope='module')
def ucx_server() -> Generator[UCXServer]:
    with UCXServer() as server:
        yield server


@pytest.mark.parametrize('app', ['cholesky', 'synthetic'])
def test_ucx_connector(
    app: str, tmp_path: pathlib.Path, ucx_server: UCXServer, process_executor: Any
) -> None:
    options = {
        'port': ucx_server.port,
        'address': ucx_server.address,
        'devices': TEST_DEVICES,
        'spawn_server': False,
    }
    config = small_config(
        app, 'process', 'proxy', tmp_path, connector='ucx', options=options
    )
    result = run_app(config, executor=process_executor)
    assert result.ok, result.error
    assert sum(r['results_proxied'] for r in result.records) > 0


@pytest.fixture(scope='module')
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Generator[EndpointProcess]:
    home = tmp_path_factory.mktemp('proxystore-home')
    with EndpointProcess(home, 'apps', max_object_size=64 * 1024 * 1024) as endpoint:
        yield endpoint


@pytest.mark.parametrize('app', ['cholesky', 'synthetic'])
def test_endpoint_connector(
    app: str, tmp_path: pathlib.Path, endpoint: EndpointProcess, process_executor: Any
) -> None:
    options = {
        'endpoints': [str(endpoint.uuid)],
        'proxystore_dir': str(endpoint.home),
    }
    config = small_config(
        app, 'process', 'proxy', tmp_path, connector='endpoint', options=options
    )
    result = run_app(config, executor=process_executor)
    assert result.ok, result.error
    assert sum(r['results_proxied'] for r in result.records) > 0
